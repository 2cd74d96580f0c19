"""One group against another within strata: pooled differences, their tests, the decomposition.

Every function here takes, per stratum ``k``, a comparison's four counts: the
group's numerator ``a[k]`` out of ``n1[k]`` and the reference's ``c[k]`` out of
``n0[k]`` (the 2 x 2 table ``[[a, n1 - a], [c, n0 - c]]``). Strata where either
side has no row carry no within-stratum comparison: the caller leaves them out
of the pooled figures (:func:`pooled`), and :func:`kitagawa` and
:func:`standardised` say what they do with them. docs/statistics.md gives the
formulas and why each was chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .intervals import z_value
from .testing import chi2_sf

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pooled:
    """The Mantel-Haenszel figures of one comparison over its strata (NaN: undefined)."""

    strata: int  # strata with both sides present
    risk_difference: float
    risk_difference_se: float  # Sato's
    odds_ratio: float
    log_odds_ratio_se: float  # Robins, Breslow and Greenland's
    cmh_statistic: float  # Cochran-Mantel-Haenszel, no continuity correction, 1 dof
    cmh_p: float
    breslow_day_statistic: float  # with Tarone's adjustment
    breslow_day_dof: int
    breslow_day_p: float

    def difference_ci(self, confidence: float) -> tuple[float, float] | None:
        if not math.isfinite(self.risk_difference_se):
            return None
        h = z_value(confidence) * self.risk_difference_se
        return (self.risk_difference - h, self.risk_difference + h)

    def odds_ratio_ci(self, confidence: float) -> tuple[float, float] | None:
        if not (math.isfinite(self.log_odds_ratio_se) and 0 < self.odds_ratio < math.inf):
            return None
        h = z_value(confidence) * self.log_odds_ratio_se
        log = math.log(self.odds_ratio)
        return (math.exp(log - h), math.exp(log + h))


def _f(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def pooled(a: npt.ArrayLike, n1: npt.ArrayLike, c: npt.ArrayLike, n0: npt.ArrayLike
           ) -> Pooled:
    """Mantel-Haenszel risk difference and odds ratio, the CMH test and the Breslow-Day test.

    Only strata with ``n1 > 0`` and ``n0 > 0`` count; the others are dropped
    here (their Mantel-Haenszel weights are 0 anyway).
    """
    a, n1, c, n0 = _f(a), _f(n1), _f(c), _f(n0)
    keep = (n1 > 0) & (n0 > 0)
    a, n1, c, n0 = a[keep], n1[keep], c[keep], n0[keep]
    b, d = n1 - a, n0 - c
    n = n1 + n0
    nan = math.nan
    if len(n) == 0:
        return Pooled(0, nan, nan, nan, nan, nan, nan, nan, 0, nan)
    # risk difference (Mantel-Haenszel weights n1 n0 / N) and Sato's variance
    w = float((n1 * n0 / n).sum())
    rd = float(((a * n0 - c * n1) / n).sum()) / w
    p = float(((n1 ** 2 * c - n0 ** 2 * a + n1 * n0 * (n0 - n1) / 2) / n ** 2).sum())
    q = float(((a * (n0 - c) + c * (n1 - a)) / (2 * n)).sum())
    var = (rd * p + q) / w ** 2
    rd_se = math.sqrt(var) if var >= 0 else nan
    # odds ratio and the Robins-Breslow-Greenland variance of its logarithm
    r, s = a * d / n, b * c / n
    pr, qr = (a + d) / n, (b + c) / n
    sr, ss = float(r.sum()), float(s.sum())
    odds = sr / ss if ss > 0 else (math.inf if sr > 0 else nan)
    if sr > 0 and ss > 0:
        log_var = (float((pr * r).sum()) / (2 * sr ** 2)
                   + float((pr * s + qr * r).sum()) / (2 * sr * ss)
                   + float((qr * s).sum()) / (2 * ss ** 2))
        log_se = math.sqrt(log_var)
    else:
        log_se = nan
    # Cochran-Mantel-Haenszel: the group's numerators against their expectation
    m1, m0 = a + c, b + d
    expected = n1 * m1 / n
    v = n1 * n0 * m1 * m0 / (n ** 2 * (n - 1))
    total_v = float(v.sum())
    if total_v > 0:
        cmh = float((a - expected).sum()) ** 2 / total_v
        cmh_p = float(chi2_sf(cmh, 1)[()])
    else:
        cmh, cmh_p = nan, nan
    bd, dof, bd_p = breslow_day(a, n1, c, n0, odds)
    return Pooled(len(n), rd, rd_se, odds, log_se, cmh, cmh_p, bd, dof, bd_p)


def breslow_day(a: FloatArray, n1: FloatArray, c: FloatArray, n0: FloatArray, odds: float
                ) -> tuple[float, int, float]:
    """The Breslow-Day statistic (with Tarone's adjustment), its dof and p-value.

    A stratum with no numerator or no non-numerator on both sides together (a
    zero margin) has one possible table: it adds nothing to the statistic and
    is not counted in the degrees of freedom.
    """
    nan = math.nan
    m1 = a + c
    n = n1 + n0
    informative = (m1 > 0) & (m1 < n)
    a, n1, n0, m1 = a[informative], n1[informative], n0[informative], m1[informative]
    k = len(a)
    if k < 2 or not 0 < odds < math.inf:
        return nan, max(k - 1, 0), nan
    fitted = _fitted(n1, n0, m1, odds)
    var = 1.0 / (1.0 / fitted + 1.0 / (n1 - fitted) + 1.0 / (m1 - fitted)
                 + 1.0 / (n0 - m1 + fitted))
    stat = float(((a - fitted) ** 2 / var).sum())
    stat -= float((a - fitted).sum()) ** 2 / float(var.sum())  # Tarone
    return stat, k - 1, float(chi2_sf(max(stat, 0.0), k - 1)[()])


def _fitted(n1: FloatArray, n0: FloatArray, m1: FloatArray, odds: float) -> FloatArray:
    """The group's expected numerator in each stratum under a common odds ratio ``odds``.

    The root, between max(0, m1 - n0) and min(n1, m1), of
    ``odds (n1 - x)(m1 - x) = x (n0 - m1 + x)``.
    """
    if odds == 1.0:
        return n1 * m1 / (n1 + n0)
    qa = odds - 1.0
    qb = -(odds * (n1 + m1) + n0 - m1)
    qc = odds * n1 * m1
    root = np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0))
    # the stable form of the smaller-magnitude root, then the other as c / (a x)
    big = (-qb + np.sign(-qb) * root) / (2 * qa)
    small = qc / (qa * big)
    lo, hi = np.maximum(0.0, m1 - n0), np.minimum(n1, m1)
    inside = (small >= lo - 1e-9) & (small <= hi + 1e-9)
    return np.asarray(np.where(inside, small, big), dtype=np.float64)


@dataclass(frozen=True)
class Decomposition:
    """Kitagawa's split of a crude difference: ``crude = rate_part + composition_part``."""

    crude: float
    rate_part: float  # the gap within strata, weighted by the two sides' mean mix
    composition_part: float  # the sides' different mix, weighted by their mean rates
    filled: int  # strata where one side is absent, whose rate was taken as the other's

    @property
    def share_explained(self) -> float | None:
        """The share of the crude difference the composition accounts for."""
        return self.composition_part / self.crude if self.crude != 0 else None


def kitagawa(a: npt.ArrayLike, n1: npt.ArrayLike, c: npt.ArrayLike, n0: npt.ArrayLike
             ) -> Decomposition:
    """The crude difference ``sum w1 r1 - sum w0 r0`` as a rate part and a composition part.

    ``w`` is a side's share of its rows (denominators) in each stratum, ``r``
    its rate there. A stratum where one side has no row has no rate for it:
    the other side's rate stands in, so that stratum adds to the composition
    part only (any stand-in keeps the sum exact; this one claims no gap where
    none was seen).
    """
    a, n1, c, n0 = _f(a), _f(n1), _f(c), _f(n0)
    seen = (n1 > 0) | (n0 > 0)  # a stratum neither side has adds nothing
    a, n1, c, n0 = a[seen], n1[seen], c[seen], n0[seen]
    t1, t0 = float(n1.sum()), float(n0.sum())
    if t1 == 0 or t0 == 0:
        return Decomposition(math.nan, math.nan, math.nan, 0)
    w1, w0 = n1 / t1, n0 / t0
    with np.errstate(invalid="ignore", divide="ignore"):
        r1, r0 = a / n1, c / n0
    r1 = np.where(n1 > 0, r1, r0)
    r0 = np.where(n0 > 0, r0, r1)
    crude = float(a.sum()) / t1 - float(c.sum()) / t0
    rate = float(((w1 + w0) / 2 * (r1 - r0)).sum())
    composition = float(((r1 + r0) / 2 * (w1 - w0)).sum())
    filled = int(((n1 > 0) != (n0 > 0)).sum())
    return Decomposition(crude, rate, composition, filled)


@dataclass(frozen=True)
class Standardised:
    """Both sides' rates directly standardised to one stratum mix, over their common strata."""

    group: float
    reference: float
    coverage: float  # the share of the standard mix in strata both sides have

    @property
    def difference(self) -> float:
        return self.group - self.reference


def standardised(a: npt.ArrayLike, n1: npt.ArrayLike, c: npt.ArrayLike, n0: npt.ArrayLike,
                 standard: npt.ArrayLike) -> Standardised:
    """Rates weighted by ``standard`` (the overall mix's denominators per stratum).

    A rate exists only where its side has rows: both sides are standardised
    over the strata they share, with the standard renormalised there.
    """
    a, n1, c, n0, std = _f(a), _f(n1), _f(c), _f(n0), _f(standard)
    both = (n1 > 0) & (n0 > 0)
    total = float(std.sum())
    weight = float(std[both].sum())
    if weight == 0:
        return Standardised(math.nan, math.nan, 0.0)
    w = std[both] / weight
    return Standardised(float((w * a[both] / n1[both]).sum()),
                        float((w * c[both] / n0[both]).sum()), weight / total)
