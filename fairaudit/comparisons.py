"""Comparisons beyond largest-minus-smallest: each group against the whole population,
and the criteria that aggregate metrics other than by the worst case.

Pure functions of per-group values (``(groups, metrics)`` arrays, NaN where undefined),
as :func:`fairaudit.metrics.spread` is. The whole population's value of a metric is
its rate over every row of the grouping, small groups included.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .metrics import Aggregation, FloatArray, safe_divide

BoolArray = npt.NDArray[np.bool_]

#: a gate or JSON name ending so compares each group with the whole population
TO_OVERALL = "_to_overall"


def versus_overall(values: FloatArray, overall: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each group minus, and over, the whole population's value (``overall``: (metrics,))."""
    whole = np.broadcast_to(overall, values.shape)
    ratio = safe_divide(values, whole.copy())
    # a value below 0 (a mean error) has no ratio
    return values - whole, np.where((values < 0) | (whole < 0), np.nan, ratio)


def to_overall(values: FloatArray, overall: FloatArray, eligible: BoolArray
               ) -> tuple[FloatArray, FloatArray]:
    """The largest ``|group - overall|`` and the smallest of ``group / overall`` and its
    reciprocal, over the eligible, defined groups (fairlearn's ``method="to_overall"``).

    As with :func:`fairaudit.metrics.spread`, fewer than two eligible groups give NaN
    (one group is most of the population, and its distance to it says little), and a
    ratio with a 0 on both sides (every group at 0) is NaN.
    """
    ok = eligible & ~np.isnan(values)
    enough = ok.sum(axis=0) >= 2
    dist = np.where(ok, np.abs(values - overall), -np.inf).max(axis=0)
    up = safe_divide(values, np.broadcast_to(overall, values.shape).copy())
    down = safe_divide(np.broadcast_to(overall, values.shape).copy(), values)
    # a group at 0 below a positive whole: the ratio is 0 (its reciprocal is infinite)
    down = np.where((values == 0) & (overall > 0), np.inf, down)
    near = np.fmin(up, down)
    defined = ok & ~np.isnan(near)
    low = np.where(defined, near, np.inf).min(axis=0)
    diff = np.where(enough, dist, np.nan)
    # a value below 0 (a mean error) has no ratio to the whole, as it has none between groups
    signed = (np.where(ok, values, 0.0) < 0).any(axis=0) | (np.asarray(overall) < 0)
    ratio = np.where(enough & (defined.sum(axis=0) == ok.sum(axis=0)) & ~signed, low, np.nan)
    return diff, ratio


def aggregate(agg: Aggregation, differences: list[float | None], ratios: list[float | None]
              ) -> tuple[float | None, float | None]:
    """A criterion's difference and ratio from its metrics' (``max`` or ``mean``).

    Undefined (None) if any part is: a criterion over two rates is judged on both.
    """
    def combine(parts: list[float | None], worst: str) -> float | None:
        if any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        if agg == "mean":
            return float(sum(known) / len(known))
        return max(known) if worst == "max" else min(known)

    return combine(differences, "max"), combine(ratios, "min")


def average_odds(versus: FloatArray, eligible: BoolArray, ref_index: int, absolute: bool
                 ) -> tuple[FloatArray, float | None]:
    """Per group, the mean of its differences from the reference (``versus``: (groups,
    metrics), the TPR and FPR columns), signed or absolute; and the criterion's value,
    the largest magnitude over the eligible groups other than the reference.

    A group counts when it and the reference are eligible for every metric; with
    none, the value is None.
    """
    parts = np.abs(versus) if absolute else versus
    per_group = parts.mean(axis=1)
    both = eligible.all(axis=1) & ~np.isnan(per_group)
    per_group = np.where(both & both[ref_index], per_group, np.nan)
    others = both.copy()
    others[ref_index] = False
    if not both[ref_index] or not others.any():
        return per_group, None
    return per_group, float(np.abs(per_group[others]).max())
