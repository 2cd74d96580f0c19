"""The uncertainty of an audit's figures: intervals, the bootstrap of gaps, tests, adjustments.

- A group's rate gets a Wilson score interval (or Clopper-Pearson on request).
- Gaps get a percentile bootstrap interval resampled from the counts: each
  group's four confusion counts are a multinomial sample of the group's size,
  so a replicate is drawn per group from its counts and every figure is
  recomputed from the drawn counts. The cost depends on groups and
  replicates, never on rows.
- Each metric gets a chi-square test that its rate is the same in every
  eligible group, and the p-values of one audit are adjusted together (Holm, or
  Benjamini-Hochberg).

docs/statistics.md gives the formulas and when each choice fits. scipy is
imported only inside the functions that need the beta quantile or the
chi-square tail, so importing fairaudit stays cheap.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from .metrics import (
    CRITERION_BY_NAME,
    METRIC_BY_NAME,
    FloatArray,
    Metric,
    fractions,
    safe_divide,
    spread,
)

if TYPE_CHECKING:
    from .result import GroupingResult

IntervalMethod = Literal["wilson", "clopper-pearson"]
Adjustment = Literal["holm", "bh"]
Decision = Literal["point", "confident-fail", "confident-pass"]
INTERVALS: tuple[IntervalMethod, ...] = ("wilson", "clopper-pearson")
ADJUSTMENTS: tuple[Adjustment, ...] = ("holm", "bh")
DECISIONS: tuple[Decision, ...] = ("point", "confident-fail", "confident-pass")

# A bootstrap figure undefined in more than this share of its replicates (a
# rate whose denominator was drawn empty, say) gets no interval: the defined
# replicates alone would describe a selected subset, not the figure.
MAX_UNDEFINED_SHARE = 0.05

# Replicate-by-group-by-metric values held at once; more groups are processed
# in chunks of groups so memory stays bounded whatever the number of groups.
_CHUNK_VALUES = 4_000_000


# -- intervals for one proportion ---------------------------------------------


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(k: npt.ArrayLike, n: npt.ArrayLike, confidence: float
           ) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of ``k`` successes in ``n`` trials; NaN where ``n`` is 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = z_value(confidence) ** 2
    safe_n = np.where(n > 0, n, 1.0)
    centre = (k + z2 / 2.0) / (safe_n + z2)
    half = np.sqrt(z2) / (safe_n + z2) * np.sqrt(np.maximum(k * (safe_n - k) / safe_n, 0.0)
                                                 + z2 / 4.0)
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # at k = 0 (k = n) the lower (upper) end is exactly 0 (1); keep rounding out of it
    lo = np.where(k == 0, np.where(n > 0, 0.0, np.nan), lo)
    hi = np.where(k == n, np.where(n > 0, 1.0, np.nan), hi)
    return lo, hi


def clopper_pearson(k: npt.ArrayLike, n: npt.ArrayLike, confidence: float
                    ) -> tuple[FloatArray, FloatArray]:
    """Clopper-Pearson (exact) interval from beta quantiles; NaN where ``n`` is 0."""
    from scipy.special import betaincinv

    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = betaincinv(np.maximum(k, 1.0), np.maximum(n - k + 1.0, 1.0), alpha / 2.0)
        hi = betaincinv(np.maximum(k + 1.0, 1.0), np.maximum(n - k, 1.0), 1.0 - alpha / 2.0)
    lo = np.where(k == 0, 0.0, lo)
    hi = np.where(k == n, 1.0, hi)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def proportion_interval(k: npt.ArrayLike, n: npt.ArrayLike, method: IntervalMethod,
                        confidence: float) -> tuple[FloatArray, FloatArray]:
    if method == "wilson":
        return wilson(k, n, confidence)
    if method == "clopper-pearson":
        return clopper_pearson(k, n, confidence)
    raise ValueError(f"unknown interval method {method!r}")


# -- percentile intervals -------------------------------------------------------


def quantile(samples: FloatArray, q: float, axis: int = 0) -> FloatArray:
    """The ``q`` quantile of ``samples`` along ``axis``, leaving NaN replicates out.

    A figure undefined in more than ``MAX_UNDEFINED_SHARE`` of its replicates
    gets NaN. Quantiles interpolate linearly between order statistics (numpy's
    default definition).
    """
    x = np.moveaxis(np.asarray(samples, dtype=np.float64), axis, 0)
    total = x.shape[0]
    if total == 0:
        return np.full(x.shape[1:], np.nan)
    x = np.sort(x, axis=0)  # NaN sorts last
    valid = (~np.isnan(x)).sum(axis=0)
    enough = (valid >= 1) & (total - valid <= MAX_UNDEFINED_SHARE * total)
    pos = q * (np.maximum(valid, 1) - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(valid - 1, 0))
    lo = np.take_along_axis(x, below[None], axis=0)[0]
    hi = np.take_along_axis(x, above[None], axis=0)[0]
    return np.where(enough, lo + (pos - below) * (hi - lo), np.nan)


def percentile_interval(samples: FloatArray, confidence: float, axis: int = 0
                        ) -> FloatArray:
    """The central ``confidence`` percentile interval along ``axis``, (low, high) last."""
    alpha = 1.0 - confidence
    return np.stack([quantile(samples, alpha / 2.0, axis),
                     quantile(samples, 1.0 - alpha / 2.0, axis)], axis=-1)


# -- the bootstrap of gaps from counts ----------------------------------------------


@dataclass(frozen=True)
class GapIntervals:
    """Bootstrap intervals of one grouping's gaps; every last axis is (low, high)."""

    difference: FloatArray  # (metrics, 2)
    ratio: FloatArray  # (metrics, 2)
    criteria_difference: FloatArray  # (criteria, 2)
    criteria_ratio: FloatArray  # (criteria, 2)
    versus_difference: FloatArray  # (groups, metrics, 2)
    versus_ratio: FloatArray  # (groups, metrics, 2)

    @staticmethod
    def empty(groups: int, metrics: int, criteria: int) -> GapIntervals:
        def nan(*shape: int) -> FloatArray:
            return np.full((*shape, 2), np.nan)
        return GapIntervals(nan(metrics), nan(metrics), nan(criteria), nan(criteria),
                            nan(groups, metrics), nan(groups, metrics))


def seed_for(seed: int, name: str) -> list[int]:
    """Entropy for one grouping's stream: the audit's seed and the grouping's name.

    Naming the grouping keeps its numbers the same when other groupings are
    added to or dropped from the audit.
    """
    return [int(seed), zlib.crc32(name.encode("utf-8"))]


def resample(confusion: npt.NDArray[np.integer], replicates: int,
             rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``replicates`` multinomial redraws of each group's counts, shaped (groups, replicates, 4).

    Group-major: drawing a few groups at a time from one generator gives the
    same numbers as drawing them all at once.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    n = counts.sum(axis=1)
    probs = np.where(n[:, None] > 0, counts / np.maximum(n, 1)[:, None], 0.25)
    return np.asarray(rng.multinomial(n[:, None], probs[:, None, :],
                                      size=(len(counts), replicates)), dtype=np.int64)


class _Extremes:
    """Running largest and smallest eligible value per replicate, over chunks of groups."""

    def __init__(self, replicates: int, metrics: int) -> None:
        self.hi = np.full((replicates, metrics), -np.inf)
        self.lo = np.full((replicates, metrics), np.inf)
        self.used = np.zeros((replicates, metrics), dtype=np.int64)

    def add(self, values: FloatArray, eligible: npt.NDArray[np.bool_]) -> None:
        ok = eligible[:, None, :] & ~np.isnan(values)  # values: (groups, replicates, metrics)
        self.hi = np.maximum(self.hi, np.where(ok, values, -np.inf).max(axis=0))
        self.lo = np.minimum(self.lo, np.where(ok, values, np.inf).min(axis=0))
        self.used += ok.sum(axis=0)

    def spread(self) -> tuple[FloatArray, FloatArray]:
        """Difference and ratio per replicate, through the same ``spread`` as the point.

        The largest and smallest eligible value stand in for all the groups:
        ``spread`` over those two gives what it gives over all of them (the
        smallest counts only when at least two groups were eligible).
        """
        values = np.stack([np.where(self.used >= 1, self.hi, np.nan),
                           np.where(self.used >= 2, self.lo, np.nan)], axis=-2)
        return spread(values, np.ones(values.shape, dtype=bool))


def bootstrap(confusion: npt.NDArray[np.integer], metrics: tuple[Metric, ...],
              eligible: npt.NDArray[np.bool_], ref_index: int,
              criteria: Sequence[Sequence[int]], replicates: int, confidence: float,
              seed: Sequence[int]) -> GapIntervals:
    """Bootstrap intervals of every gap of one grouping, resampled from its counts.

    ``confusion`` is (groups, 4); ``eligible`` (groups, metrics) is the point
    estimate's mask, kept fixed in every replicate; ``criteria`` lists, per
    criterion, the indices of its metrics. A replicate's difference and ratio
    per metric are :func:`fairaudit.metrics.spread` of the drawn rates, a
    criterion's the largest difference and smallest ratio of its metrics.

    Comparisons with the reference group get percentile intervals. A gap is a
    largest-minus-smallest (or smallest-over-largest), which the bootstrap
    overstates when groups are close to tied for the extreme: the percentile
    interval keeps its safe end (the upper end of a difference, the lower end
    of a ratio), and the other end comes from replicates in which the groups
    within ``KAPPA`` standard errors of the extreme are moved onto it (see
    docs/statistics.md).
    """
    groups, m, c = len(confusion), len(metrics), len(criteria)
    if replicates <= 0 or groups == 0:
        return GapIntervals.empty(groups, m, c)
    alpha = 1.0 - confidence
    rng = np.random.default_rng(list(seed))
    # the reference group is drawn first, so each chunk can be compared with it
    order = np.array([ref_index, *[i for i in range(groups) if i != ref_index]])
    confusion = np.asarray(confusion)[order]
    mask = np.asarray(eligible, dtype=bool)[order]
    num0, den0 = fractions(confusion, metrics)
    point = safe_divide(num0, den0)
    var = _plus_four_variance(num0, den0)
    tied = _tied(point, var, mask)
    chunk = max(1, _CHUNK_VALUES // (replicates * max(m, 1)))

    raw, recentred = _Extremes(replicates, m), _Extremes(replicates, m)
    vs_diff = np.empty((groups, m, 2))
    vs_ratio = np.empty((groups, m, 2))
    ref_values: FloatArray | None = None
    for start in range(0, groups, chunk):
        stop = min(groups, start + chunk)
        num, den = fractions(resample(confusion[start:stop], replicates, rng), metrics)
        values = safe_divide(num, den)  # (chunk, replicates, metrics)
        if ref_values is None:
            ref_values = values[0]
        raw.add(values, mask[start:stop])
        shifted = tied[start:stop, None, :] + (values - point[start:stop, None, :])
        recentred.add(np.clip(shifted, 0.0, 1.0), mask[start:stop])
        ref = np.broadcast_to(ref_values, values.shape)
        vs_diff[start:stop] = percentile_interval(values - ref, confidence, axis=1)
        vs_ratio[start:stop] = percentile_interval(safe_divide(values, ref), confidence, axis=1)

    diff, ratio = raw.spread()  # (replicates, metrics)
    tdiff, tratio = recentred.spread()
    point_diff, point_ratio = spread(point, mask)
    tied_diff, tied_ratio = spread(tied, mask)
    # each gap's sampling error, as the tied replicates show it
    diff_err = tdiff - tied_diff
    ratio_err = tratio - tied_ratio
    se_diff, se_ratio = _gap_standard_errors(point, var, mask)

    crit_diff = _by_criterion(diff, criteria, np.max)
    crit_ratio = _by_criterion(ratio, criteria, np.min)
    crit_diff_err = np.stack([_criterion_error(point_diff, se_diff, diff_err, list(ix), +1)
                              for ix in criteria], axis=1) if c else np.zeros((replicates, 0))
    crit_ratio_err = np.stack([_criterion_error(point_ratio, se_ratio, ratio_err, list(ix), -1)
                               for ix in criteria], axis=1) if c else np.zeros((replicates, 0))
    crit_point_diff = np.array([point_diff[list(ix)].max() for ix in criteria])
    crit_point_ratio = np.array([point_ratio[list(ix)].min() for ix in criteria])

    def difference_interval(samples: FloatArray, error: FloatArray, point_value: FloatArray
                            ) -> FloatArray:
        low = np.maximum(np.fmin(quantile(samples, alpha / 2.0),
                                 point_value - quantile(error, 1.0 - alpha / 2.0)), 0.0)
        high = quantile(samples, 1.0 - alpha / 2.0)
        return np.stack([low, high], axis=-1)

    def ratio_interval(samples: FloatArray, error: FloatArray, point_value: FloatArray
                       ) -> FloatArray:
        low = quantile(samples, alpha / 2.0)
        high = np.minimum(np.fmax(quantile(samples, 1.0 - alpha / 2.0),
                                  point_value - quantile(error, alpha / 2.0)), 1.0)
        return np.stack([low, high], axis=-1)

    back = np.argsort(order)
    return GapIntervals(
        difference=difference_interval(diff, diff_err, point_diff),
        ratio=ratio_interval(ratio, ratio_err, point_ratio),
        criteria_difference=difference_interval(crit_diff, crit_diff_err, crit_point_diff),
        criteria_ratio=ratio_interval(crit_ratio, crit_ratio_err, crit_point_ratio),
        versus_difference=vs_diff[back],
        versus_ratio=vs_ratio[back],
    )


# Groups (or a criterion's metrics) within this many standard errors of the
# largest or smallest value count as tied with it when the bootstrap sizes how
# much the extreme overstates the truth. Larger is safer and wider.
KAPPA = 2.5


def _plus_four_variance(num: FloatArray, den: FloatArray) -> FloatArray:
    """Variance of each rate with two successes and two failures added: never 0."""
    p = (num + 2.0) / (den + 4.0)
    return p * (1.0 - p) / np.maximum(den, 1.0)


def _tied(point: FloatArray, var: FloatArray, mask: npt.NDArray[np.bool_]) -> FloatArray:
    """Rates with every group near the largest moved onto it, and near the smallest onto it.

    When the largest and smallest are themselves near each other, every
    eligible group moves onto their mean: the groups may all be equal.
    """
    ok = mask & ~np.isnan(point)
    top = np.argmax(np.where(ok, point, -np.inf), axis=0)
    bottom = np.argmin(np.where(ok, point, np.inf), axis=0)
    cols = np.arange(point.shape[1])
    hi, lo = point[top, cols], point[bottom, cols]
    var_hi, var_lo = var[top, cols], var[bottom, cols]
    near_hi = hi - point <= KAPPA * np.sqrt(var + var_hi)
    near_lo = point - lo <= KAPPA * np.sqrt(var + var_lo)
    closer_hi = hi - point <= point - lo
    out = np.where(near_hi & (closer_hi | ~near_lo), hi,
                   np.where(near_lo, lo, point))
    all_tied = hi - lo <= KAPPA * np.sqrt(var_hi + var_lo)
    out = np.where(all_tied, (hi + lo) / 2.0, out)
    return np.where(ok, out, point)


def _gap_standard_errors(point: FloatArray, var: FloatArray, mask: npt.NDArray[np.bool_]
                         ) -> tuple[FloatArray, FloatArray]:
    """Rough standard errors of each metric's difference and ratio (largest vs smallest)."""
    ok = mask & ~np.isnan(point)
    top = np.argmax(np.where(ok, point, -np.inf), axis=0)
    bottom = np.argmin(np.where(ok, point, np.inf), axis=0)
    cols = np.arange(point.shape[1])
    v_hi, v_lo = var[top, cols], var[bottom, cols]
    se_diff = np.sqrt(v_hi + v_lo)
    p_hi = np.maximum(point[top, cols], 1e-9)
    p_lo = point[bottom, cols]
    se_ratio = (p_lo / p_hi) * np.sqrt(v_hi / p_hi**2 + v_lo / np.maximum(p_lo, 1e-9) ** 2)
    return se_diff, se_ratio


def _by_criterion(per_metric: FloatArray, criteria: Sequence[Sequence[int]],
                  reduce: np.ufunc | object) -> FloatArray:
    if not criteria:
        return np.zeros((per_metric.shape[0], 0))
    return np.stack([reduce(per_metric[:, list(ix)], axis=1)  # type: ignore[operator]
                     for ix in criteria], axis=1)


def _criterion_error(point: FloatArray, se: FloatArray, error: FloatArray, ix: list[int],
                     sign: int) -> FloatArray:
    """Replicate error of a criterion: its metrics near the extreme count as tied with it.

    ``sign`` +1 takes the largest of the metrics' differences, -1 the smallest
    of their ratios.
    """
    values = sign * point[ix]
    best = int(np.nanargmax(values)) if not np.all(np.isnan(values)) else 0
    near = values[best] - values <= KAPPA * np.sqrt(se[ix] ** 2 + se[ix][best] ** 2)
    lifted = np.where(near, values[best], values)  # (metrics,)
    worst = (lifted[None, :] + sign * error[:, ix]).max(axis=1) - values[best]
    return np.asarray(sign * worst, dtype=np.float64)



# -- tests of homogeneity and their adjustment ---------------------------------------


def homogeneity(num: FloatArray, den: FloatArray, eligible: npt.NDArray[np.bool_]
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pearson chi-square test that a rate is the same in every eligible group.

    ``num`` and ``den`` are (groups, metrics): each metric's table is 2 x G
    (numerator, and denominator minus numerator, per eligible group). Returns
    the statistic, degrees of freedom and p-value per metric, NaN when fewer
    than two groups are eligible or every eligible group's rate is 0 (or 1),
    where the statistic is 0/0. No continuity correction.
    """
    from scipy.special import chdtrc

    w = np.asarray(eligible, dtype=bool)
    k = np.where(w, num, 0.0).sum(axis=0)
    n = np.where(w, den, 0.0).sum(axis=0)
    groups = w.sum(axis=0)
    pooled = safe_divide(k, n)
    var = pooled * (1.0 - pooled)
    rate = safe_divide(np.where(w, num, 0.0), np.where(w, den, 0.0))
    dev = np.where(w & (den > 0), den * (np.nan_to_num(rate) - pooled) ** 2, 0.0)
    stat = np.where((groups >= 2) & (var > 0), safe_divide(dev.sum(axis=0), var), np.nan)
    dof = np.where(groups >= 2, groups - 1.0, np.nan)
    with np.errstate(invalid="ignore"):
        p = np.where(np.isnan(stat), np.nan, chdtrc(np.nan_to_num(dof, nan=1.0),
                                                    np.nan_to_num(stat)))
    return stat, dof, p


def adjust(p_values: Sequence[float], method: Adjustment) -> list[float]:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) adjusted p-values."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        scaled = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        scaled = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(scaled, 1.0)
    return [float(x) for x in out]


def test_key(metric: Metric) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What a metric's test compares: complementary rates (FPR and TNR) are one test."""
    den = tuple(sorted(metric.denominator))
    num = tuple(sorted(metric.numerator))
    rest = tuple(sorted(set(den) - set(num)))
    return den, min(num, rest)


def adjust_groupings(groupings: Sequence[GroupingResult], method: Adjustment
                     ) -> tuple[GroupingResult, ...]:
    """Fill ``p_adjusted`` across every test of the audit.

    The family is every distinct test the audit makes: one per grouping and
    metric, counting complementary metrics (FPR and TNR, TPR and FNR, ...)
    once since their tables are the same. A criterion over several metrics
    takes the smallest adjusted p of its metrics.
    """
    family: dict[tuple[str, object], float] = {}
    for g in groupings:
        for name, gap in g.gaps.items():
            if gap.p_value is not None:
                family.setdefault((g.name, test_key(METRIC_BY_NAME[name])), gap.p_value)
    adjusted = dict(zip(family, adjust(list(family.values()), method), strict=True))
    out = []
    for g in groupings:
        gaps = {
            name: dataclasses.replace(
                gap, p_adjusted=adjusted.get((g.name, test_key(METRIC_BY_NAME[name]))))
            for name, gap in g.gaps.items()
        }
        criteria = {}
        for name, gap in g.criteria.items():
            parts = [gaps[m] for m in CRITERION_BY_NAME[name].metrics if m in gaps]
            ps = [p.p_value for p in parts if p.p_value is not None]
            qs = [p.p_adjusted for p in parts if p.p_adjusted is not None]
            criteria[name] = dataclasses.replace(gap, p_value=min(ps) if ps else None,
                                                 p_adjusted=min(qs) if qs else None)
        out.append(dataclasses.replace(g, gaps=gaps, criteria=criteria))
    return tuple(out)
