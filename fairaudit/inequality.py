"""Inequality indices of the per-row benefit, exactly from the confusion counts.

A row's benefit is ``b = decision - label + 1``: 0 for a false negative, 1 for a
right decision, 2 for a false positive (the benefit of a positive decision the
row did not earn). Since ``b`` takes only those three values, the counts of
each value (FN; TN + TP; FP) are all the generalized entropy index needs:

    GE(alpha) = (mean((b / mu) ** alpha) - 1) / (alpha * (alpha - 1))

with ``mu`` the mean benefit; alpha 1 is the Theil index ``mean((b / mu) * ln(b / mu))``
(``0 ln 0 = 0``) and alpha 0 the mean log deviation ``-mean(ln(b / mu))``. Between
groups, each row's benefit is replaced by its group's mean benefit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .metrics import FN, FP, TN, TP

#: the benefit of each confusion cell, in the order TN, FP, FN, TP
BENEFIT = {TN: 1, FP: 2, FN: 0, TP: 1}
DEFAULT_ALPHA = 2.0
#: the indices' names, as gates and the JSON name them
INDICES = ("generalized_entropy_index", "theil_index", "between_group_generalized_entropy_index",
           "between_group_theil_index")


def benefit_counts(confusion: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """Rows with benefit 0, 1 and 2 per group: (groups, 4) confusion -> (groups, 3)."""
    c = np.asarray(confusion, dtype=np.float64)
    return np.stack([c[..., FN], c[..., TN] + c[..., TP], c[..., FP]], axis=-1)


def entropy_index(values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64],
                  alpha: float) -> float | None:
    """The generalized entropy index of ``values`` taken ``weights`` times each.

    None when it is undefined: no rows, a mean of 0, or alpha 0 (or below) with a
    value of 0, whose log (or negative power) is infinite.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    keep = w > 0
    v, w = v[keep], w[keep]
    n = w.sum()
    if n <= 0:
        return None
    mu = float((w * v).sum() / n)
    if mu <= 0:
        return None
    x = v / mu
    share = w / n
    if alpha == 1:
        return float((share * np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)).sum())
    if alpha <= 0 and (x == 0).any():
        return None
    if alpha == 0:
        return float(-(share * np.log(x)).sum())
    return float(((share * x ** alpha).sum() - 1.0) / (alpha * (alpha - 1.0)))


def indices(confusion: npt.NDArray[np.generic], alpha: float
            ) -> tuple[float | None, float | None, float | None, float | None]:
    """Generalized entropy (``alpha``) and Theil indices, over every row and between groups.

    ``confusion`` is (groups, 4). Returns (entropy, theil, between entropy, between theil).
    """
    per_group = benefit_counts(confusion)
    levels = np.array([0.0, 1.0, 2.0])
    rows = per_group.sum(axis=0)
    n_g = per_group.sum(axis=1)
    means = np.divide(per_group @ levels, n_g, out=np.zeros(len(n_g)), where=n_g > 0)
    return (entropy_index(levels, rows, alpha), entropy_index(levels, rows, 1.0),
            entropy_index(means, n_g, alpha), entropy_index(means, n_g, 1.0))


def valid_alpha(alpha: object) -> bool:
    """A finite number (not a bool)."""
    return isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and \
        math.isfinite(alpha)
