"""The bootstrap of gaps from counts: each group's counts drawn again, every figure recomputed.

A group's metric cells are a multinomial sample of its rows, so a replicate is
drawn per group from its counts; the cost depends on groups and replicates,
never on rows. A group against the reference group gets a studentized
interval; a largest-minus-smallest gap gets ends built from the pairs of
groups that could be its extremes (docs/statistics.md).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..metrics import (
    FloatArray,
    IntArray,
    Metric,
    fractions,
    raw_fractions,
    safe_divide,
    second_moments,
    spread,
)
from .intervals import percentile_interval, quantile, quantiles
from .testing import test_key

if TYPE_CHECKING:
    from collections.abc import Callable

    # how one outcome kind's cells are drawn again (fairaudit.kinds.base.Resampler)
    Resampler = Callable[[IntArray, int, np.random.Generator], IntArray]


# Replicate-by-group-by-metric values held at once; more groups are processed
# in chunks of groups so memory stays bounded whatever the number of groups.
_CHUNK_VALUES = 4_000_000


@dataclass(frozen=True)
class GapIntervals:
    """Bootstrap intervals of one grouping's gaps; every last axis is (low, high)."""

    difference: FloatArray  # (metrics, 2)
    ratio: FloatArray  # (metrics, 2)
    criteria_difference: FloatArray  # (criteria, 2)
    criteria_ratio: FloatArray  # (criteria, 2)
    versus_difference: FloatArray  # (groups, metrics, 2)
    versus_ratio: FloatArray  # (groups, metrics, 2)
    # the plain percentile intervals of the metrics' gaps, for cross-checks
    difference_percentile: FloatArray  # (metrics, 2)
    ratio_percentile: FloatArray  # (metrics, 2)
    # percentile intervals of each metric's, then each criterion's, comparison with the
    # whole population: the largest |group - whole| and the smallest of group / whole
    # and its reciprocal (comparisons.to_overall), the whole redrawn with its groups
    to_overall_difference: FloatArray  # (metrics + criteria, 2)
    to_overall_ratio: FloatArray  # (metrics + criteria, 2)

    @staticmethod
    def empty(groups: int, metrics: int, criteria: int) -> GapIntervals:
        def nan(*shape: int) -> FloatArray:
            return np.full((*shape, 2), np.nan)
        return GapIntervals(nan(metrics), nan(metrics), nan(criteria), nan(criteria),
                            nan(groups, metrics), nan(groups, metrics), nan(metrics),
                            nan(metrics), nan(metrics + criteria), nan(metrics + criteria))


def seed_for(seed: int, name: str) -> list[int]:
    """Entropy for one grouping's stream: the audit's seed and the grouping's name.

    Naming the grouping keeps its numbers the same when other groupings are
    added to or dropped from the audit.
    """
    return [int(seed), zlib.crc32(name.encode("utf-8"))]


def resample(confusion: npt.NDArray[np.integer], replicates: int,
             rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``replicates`` multinomial redraws of each group's counts: (groups, replicates, cells).

    Group-major: drawing a few groups at a time from one generator gives the
    same numbers as drawing them all at once.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    # a cell empty in every group stays empty in every replicate; leaving it out of the
    # draw changes no number drawn (the generator draws nothing for a share of 0) and
    # saves its binomial draws: a shortlist's 102 positions are mostly empty. The last
    # cell stays: it takes what the others leave without a draw, and so would another
    used = _drawn(counts)
    if not used.all() and used.any():
        out = np.zeros((len(counts), replicates, counts.shape[1]), dtype=np.int64)
        out[:, :, used] = resample(counts[:, used], replicates, rng)
        return out
    n = counts.sum(axis=1)
    probs = np.where(n[:, None] > 0, counts / np.maximum(n, 1)[:, None], 1.0 / counts.shape[1])
    return np.asarray(rng.multinomial(n[:, None], probs[:, None, :],
                                      size=(len(counts), replicates)), dtype=np.int64)


def _draw(cells: npt.NDArray[np.integer[Any]], replicates: int,
          rngs: Sequence[np.random.Generator], parts: Sequence[tuple[int, Resampler]]
          ) -> FloatArray:
    """Replicates of every kind's block of cells, side by side, each kind from its own stream.

    The base kind draws from the grouping's stream as it does alone, so that
    adding a kind leaves the base kind's intervals as they were.
    """
    # float64: a kind's block may hold sums of values beside its counts
    counts: FloatArray = np.asarray(cells, dtype=np.float64)
    if len(parts) <= 1:
        one = (parts[0][1] if parts else resample)(counts, replicates, rngs[0])  # type: ignore[arg-type]
        return np.asarray(one, dtype=np.float64)
    drawn, start = [], 0
    for (width, redraw), rng in zip(parts, rngs, strict=True):
        block = counts[:, start:start + width]
        drawn.append(np.asarray(redraw(block, replicates, rng),  # type: ignore[arg-type]
                                dtype=np.float64))
        start += width
    return np.concatenate(drawn, axis=-1)


def _drawn(counts: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """The cells a multinomial redraw of ``counts`` (groups, cells) needs: those some group
    has, and the last one (which takes the rest without a draw of its own)."""
    used: npt.NDArray[np.bool_] = np.asarray(np.asarray(counts).any(axis=0), dtype=bool)
    if used.size:
        used[-1] = True
    return used


def _compact(confusion: npt.NDArray[Any], metrics: tuple[Metric, ...],
             parts: Sequence[tuple[int, Resampler]]
             ) -> tuple[npt.NDArray[Any], tuple[Metric, ...], Sequence[tuple[int, Resampler]]]:
    """The counts without the cells empty in every group, where that changes no figure.

    A cell drawn by the plain multinomial (:func:`resample`) that no group has
    stays empty in every replicate and adds nothing to any metric; the
    generator draws nothing for it either, so leaving it out changes no
    number. What it saves is carrying it through every replicate: a
    shortlist's 102 positions are mostly empty. Blocks a kind draws its own way
    are kept whole.
    """
    blocks = list(parts) or [(confusion.shape[1], resample)]
    keep: list[int] = []
    compacted: list[tuple[int, Resampler]] = []
    start = 0
    for width, redraw in blocks:
        cols = np.arange(start, start + width)
        if redraw is resample:
            cols = cols[_drawn(confusion[:, start:start + width])]
        keep += cols.tolist()
        compacted.append((len(cols), redraw))
        start += width
    if len(keep) == confusion.shape[1]:
        return confusion, metrics, parts
    at = {old: new for new, old in enumerate(keep)}

    def moved(m: Metric) -> Metric:
        pairs = [(at[i], w) for i, w in zip(
            m.numerator, m.weights if m.weights is not None else [None] * len(m.numerator),
            strict=True) if i in at]
        return replace(m, numerator=tuple(i for i, _ in pairs),
                       denominator=tuple(at[i] for i in m.denominator if i in at),
                       weights=None if m.weights is None else tuple(
                           float(w) for _, w in pairs if w is not None),
                       squares=None if m.squares is None else at[m.squares])

    return (confusion[:, keep], tuple(moved(m) for m in metrics),
            compacted if parts else ())


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

    def to_overall(self, whole: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per replicate, :func:`fairaudit.comparisons.to_overall` from the extremes.

        ``whole`` is the replicate's value over every row (replicates, metrics). The
        largest ``|group - whole|`` is at the largest or the smallest group, and so is
        the smallest ``min(group, whole) / max(group, whole)``.
        """
        enough = self.used >= 2
        hi = np.where(enough, self.hi, np.nan)
        lo = np.where(enough, self.lo, np.nan)
        difference = np.fmax(hi - whole, whole - lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            near = np.fmin(safe_divide(lo, whole), safe_divide(whole, hi))
        signed = (lo < 0) | (whole < 0)  # a mean below 0 has no ratio to the whole
        return (np.where(enough, difference, np.nan),
                np.where(enough & ~signed, near, np.nan))

    def spread(self) -> tuple[FloatArray, FloatArray]:
        """Difference and ratio per replicate, through the same ``spread`` as the point.

        The largest and smallest eligible value stand in for all the groups:
        ``spread`` over those two gives what it gives over all of them (the
        smallest counts only when at least two groups were eligible).
        """
        values = np.stack([np.where(self.used >= 1, self.hi, np.nan),
                           np.where(self.used >= 2, self.lo, np.nan)], axis=-2)
        return spread(values, np.ones(values.shape, dtype=bool))


def bootstrap(confusion: npt.NDArray[Any], metrics: tuple[Metric, ...],
              eligible: npt.NDArray[np.bool_], ref_index: int,
              criteria: Sequence[Sequence[int]], replicates: int, confidence: float,
              seed: Sequence[int], parts: Sequence[tuple[int, Resampler]] = ()
              ) -> GapIntervals:
    """Bootstrap intervals of every gap of one grouping, resampled from its counts.

    ``confusion`` is (groups, cells); ``parts`` splits the cells into the blocks of
    the outcome kinds, each with how it is resampled (none: one multinomial over
    every cell); ``eligible`` (groups, metrics) is the point
    estimate's mask, kept fixed in every replicate; ``criteria`` lists, per
    criterion, the indices of its metrics. A replicate's difference and ratio
    per metric are :func:`fairaudit.metrics.spread` of the drawn rates, a
    criterion's the largest difference and smallest ratio of its metrics.

    Comparisons with the reference group get studentized intervals. A gap is
    a largest-minus-smallest (or smallest-over-largest), which the bootstrap
    overstates when groups are close to tied for the extreme, so its ends come
    from the pairs of groups that could be the extremes, with critical values
    from the same replicates: the cautious end (a difference's lower, a
    ratio's upper) bounds every such pair at once and is at least as cautious
    as the percentile end; the safe end is the largest of the pairs' own
    bounds (docs/statistics.md). The percentile intervals of the metrics'
    gaps are kept too, for cross-checks with tools that report those.
    """
    groups, m, c = len(confusion), len(metrics), len(criteria)
    if replicates <= 0 or groups == 0:
        return GapIntervals.empty(groups, m, c)
    alpha = 1.0 - confidence
    confusion, metrics, parts = _compact(np.asarray(confusion), metrics, parts)
    rng = np.random.default_rng(list(seed))
    rngs = [rng, *(np.random.default_rng([*seed, k]) for k in range(1, len(parts)))]
    # the reference group is drawn first, so each chunk can be compared with it
    order = np.array([ref_index, *[i for i in range(groups) if i != ref_index]])
    confusion = np.asarray(confusion)[order]
    mask = np.asarray(eligible, dtype=bool)[order]
    num0, den0 = fractions(confusion, metrics)
    point = safe_divide(num0, den0)
    fixed = value_errors(confusion, metrics)
    targets = [[j] for j in range(m)] + [list(ix) for ix in criteria]
    pairs = _Pairs(point, den0, mask, metrics, targets, fixed)
    chunk = max(1, _CHUNK_VALUES // (replicates * max(m, 1)))

    raw = _Extremes(replicates, m)
    kept = pairs.stored_groups(replicates)
    slot = np.full(groups, -1)
    slot[kept] = np.arange(len(kept))
    stored = np.empty((len(kept), replicates, m))
    vs_diff = np.empty((groups, m, 2))
    vs_ratio = np.empty((groups, m, 2))
    ref_values: FloatArray | None = None
    whole: FloatArray | None = None  # every group's drawn cells added up, per replicate
    for start in range(0, groups, chunk):
        stop = min(groups, start + chunk)
        drawn = _draw(confusion[start:stop], replicates, rngs, parts)
        whole = drawn.sum(axis=0) if whole is None else whole + drawn.sum(axis=0)
        num, den = fractions(drawn, metrics)
        values = safe_divide(num, den)  # (chunk, replicates, metrics)
        if ref_values is None:
            ref_values = values[0]
        raw.add(values, mask[start:stop])
        here = slot[start:stop]
        stored[here[here >= 0]] = values[here >= 0]
        vs_diff[start:stop], vs_ratio[start:stop] = _versus(
            values, ref_values, point[start:stop], point[0], den0[start:stop], den0[0],
            confidence, fixed[start:stop], fixed[0])

    diff, ratio = raw.spread()  # (replicates, metrics)
    assert whole is not None
    to_d, to_r = raw.to_overall(safe_divide(*fractions(whole, metrics)))
    to_d = np.concatenate([to_d, _by_criterion(to_d, criteria, np.max)], axis=1)
    to_r = np.concatenate([to_r, _by_criterion(to_r, criteria, np.min)], axis=1)
    # every target (each metric, then each criterion) as one column
    diffs = np.concatenate([diff, _by_criterion(diff, criteria, np.max)], axis=1)
    ratios = np.concatenate([ratio, _by_criterion(ratio, criteria, np.min)], axis=1)
    # per target, (cautious, safe) ends: a difference's (lower, upper), a ratio's (upper, lower)
    # each stored replicate rate smoothed once, for every pair and target that reads it
    smoothed = _smoothed(stored, den0[kept][:, None, :], fixed[kept][:, None, :])
    d_ends = np.array([pairs.bounds(t, "d", stored, smoothed, slot, alpha)
                       for t in range(len(targets))])
    r_ends = np.array([pairs.bounds(t, "r", stored, smoothed, slot, alpha)
                       for t in range(len(targets))])
    d_ends = d_ends.reshape(len(targets), 2)
    r_ends = r_ends.reshape(len(targets), 2)
    # where a pair's replicates give no safe end, the percentile end stands in
    d_q_low, d_q_high = quantiles(diffs, (alpha / 2.0, 1.0 - alpha / 2.0))
    r_q_low, r_q_high = quantiles(ratios, (alpha / 2.0, 1.0 - alpha / 2.0))
    d_high = np.where(np.isnan(d_ends[:, 1]), d_q_high, d_ends[:, 1])
    r_low = np.where(np.isnan(r_ends[:, 1]), r_q_low, r_ends[:, 1])
    # a difference of rates is at most 1; one of means of numbers has no upper bound
    cap = np.array([1.0 if all(metrics[j].bounded for j in t) else np.inf for t in targets])
    d_interval = np.stack([np.maximum(np.fmin(d_q_low, d_ends[:, 0]), 0.0),
                           np.minimum(d_high, cap)], axis=-1)
    r_interval = np.stack([np.maximum(r_low, 0.0),
                           np.minimum(np.fmax(r_q_high, r_ends[:, 0]), 1.0)], axis=-1)
    # a figure with no point estimate has no interval
    point_diff = spread(point, mask)[0]
    point_diff = np.concatenate([point_diff, _by_criterion(point_diff[None], criteria,
                                                           np.max)[0]])
    d_interval[np.isnan(point_diff) | np.isnan(d_interval).any(axis=-1)] = np.nan
    r_interval[np.isnan(r_interval).any(axis=-1)] = np.nan
    back = np.argsort(order)
    return GapIntervals(
        difference=d_interval[:m],
        ratio=r_interval[:m],
        criteria_difference=d_interval[m:],
        criteria_ratio=r_interval[m:],
        versus_difference=vs_diff[back],
        versus_ratio=vs_ratio[back],
        difference_percentile=percentile_interval(diff, confidence),
        ratio_percentile=percentile_interval(ratio, confidence),
        to_overall_difference=_bounded(percentile_interval(to_d, confidence), 0.0, cap),
        to_overall_ratio=_bounded(percentile_interval(to_r, confidence), 0.0, 1.0),
    )


def _bounded(ends: FloatArray, low: float, high: FloatArray | float) -> FloatArray:
    """Intervals (targets, 2) clipped to what the figure can be; NaN where an end is."""
    out = np.stack([np.maximum(ends[:, 0], low), np.minimum(ends[:, 1], high)], axis=-1)
    out[np.isnan(ends).any(axis=-1)] = np.nan
    return out


# A group counts as possibly the largest when its rate plus this many standard
# errors reaches the largest rate minus as many (and likewise for the
# smallest); a pair of groups counts when its gap plus this many standard
# errors reaches the largest gap minus as many. Larger is safer and wider.
KAPPA = 2.5

# Above this many pairs (or stored replicate values), a bound is taken from
# simultaneous intervals of the groups' rates instead (wider, and cheap).
_MAX_PAIRS = 1_000
_STORE_VALUES = 16_000_000


def _versus(values: FloatArray, ref: FloatArray, point: FloatArray, ref_point: FloatArray,
            den: FloatArray, ref_den: FloatArray, confidence: float,
            fixed: FloatArray, ref_fixed: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Studentized bootstrap intervals of groups minus, and over, the reference group.

    ``values`` is (groups, replicates, metrics) and ``ref`` (replicates,
    metrics). Each replicate's error is divided by that replicate's own
    standard error; the quantiles of that ratio, times the estimate's standard
    error, give the interval (ratios on the log scale). Where that is not
    finite (a rate of 0), the percentile interval stands in.
    """
    alpha = 1.0 - confidence
    _, sd = _smoothed(point, den, fixed)
    _, ref_sd = _smoothed(ref_point, ref_den, ref_fixed)
    sm_d, sd_d = _smoothed(values, den[:, None, :], fixed[:, None, :])
    sm_r, sd_r = _smoothed(ref[None], ref_den[None, None, :], ref_fixed[None, None, :])
    sm, _ = _smoothed(point, den, fixed)
    ref_sm, _ = _smoothed(ref_point, ref_den, ref_fixed)
    est = point - ref_point
    se = np.sqrt(sd**2 + ref_sd**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (values - ref[None] - est[:, None, :]) / np.sqrt(sd_d**2 + sd_r**2)
        upper, lower = quantiles(t, (1.0 - alpha / 2.0, alpha / 2.0), axis=1)
        diff = np.stack([est - upper * se, est - lower * se], axis=-1)
        log_est = np.log(point) - np.log(ref_point)
        log_se = np.sqrt((sd / sm) ** 2 + (ref_sd / ref_sm) ** 2)
        t = (np.log(values) - np.log(ref[None]) - log_est[:, None, :]) / np.sqrt(
            (sd_d / sm_d) ** 2 + (sd_r / sm_r) ** 2)
        upper, lower = quantiles(t, (1.0 - alpha / 2.0, alpha / 2.0), axis=1)
        ratio = np.exp(np.stack([log_est - upper * log_se, log_est - lower * log_se], axis=-1))
        # the percentile interval, only where it stands in (each figure's own replicates)
        group, metric = np.nonzero(~np.isfinite(ratio).all(axis=-1))
        if len(group):
            ratio[group, metric] = percentile_interval(
                safe_divide(values[group, :, metric], ref[:, metric].T), confidence, axis=1)
    return diff, ratio


def _smoothed(rate: FloatArray, den: FloatArray, fixed: FloatArray | None = None
              ) -> tuple[FloatArray, FloatArray]:
    """A rate with two successes and two failures added, and its standard error: never 0.

    Where ``fixed`` is a number (a mean of per-row numbers), the figure is
    taken as it is and ``fixed`` is its standard error: the point estimate's,
    the same in every replicate.
    """
    smooth = (rate * den + 2.0) / (den + 4.0)
    sd = np.sqrt(np.maximum(smooth * (1.0 - smooth), 0.0) / np.maximum(den, 1.0))
    if fixed is None:
        return smooth, sd
    given = ~np.isnan(fixed)
    return np.where(given, rate, smooth), np.where(given, fixed, sd)


def value_errors(counts: npt.NDArray[np.generic], metrics: Sequence[Metric]) -> FloatArray:
    """Each group's standard error of each mean of per-row numbers (NaN for the others).

    From the sums of values and of squares: ``s / sqrt(n)``; a root mean
    square's by the delta method, ``se(mean square) / (2 * rms)``. Never 0 (a
    group whose values are all equal gets a tiny error), so studentized
    replicates stay finite.
    """
    chosen = tuple(metrics)
    num, den = raw_fractions(counts, chosen)
    second = second_moments(counts, chosen)
    out = np.full(num.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = num / den
        var = np.maximum(second - den * mean**2, 0.0) / (den - 1.0)
        se = np.sqrt(var / den)
        for j, m in enumerate(chosen):
            if m.bounded:
                continue
            e = se[..., j]
            if m.root:
                e = e / (2.0 * np.sqrt(np.maximum(mean[..., j], 0.0)))
            tiny = 1e-12 * np.maximum(np.abs(mean[..., j]), 1.0)
            out[..., j] = np.where(np.isfinite(e), np.maximum(e, tiny), tiny)
    return out


class _Pairs:
    """The ordered pairs of groups that could be a gap's extremes, per target.

    A target is a metric or a criterion (a set of metrics). For a difference
    the functionals are ``rate_i - rate_j``, for a ratio ``log(rate_j / rate_i)``,
    over groups ``i`` that could be the largest and ``j`` that could be the
    smallest, kept when they could be the largest functional. Complementary
    metrics (FPR and TNR) have the same differences, so they share one set.
    """

    def __init__(self, point: FloatArray, den: FloatArray, mask: npt.NDArray[np.bool_],
                 metrics: Sequence[Metric], targets: Sequence[Sequence[int]],
                 fixed: FloatArray | None = None) -> None:
        self.point = point
        self.den = den
        self.smooth, self.sd = _smoothed(point, den, fixed)
        self.floor = [0.0 if m.bounded else -np.inf for m in metrics]
        ok = mask & ~np.isnan(point)
        self.top: list[IntArray] = []  # per metric: groups that could be the largest
        self.bottom: list[IntArray] = []  # and the smallest
        for j in range(point.shape[1]):
            g = np.flatnonzero(ok[:, j])
            if len(g) < 2:
                g = g[:0]
            p, s = point[g, j], self.sd[g, j]
            self.top.append(g[p + KAPPA * s >= (p - KAPPA * s).max(initial=-np.inf)])
            self.bottom.append(g[p - KAPPA * s <= (p + KAPPA * s).min(initial=np.inf)])
        first: dict[object, int] = {}
        canonical = [first.setdefault(test_key(m), j) for j, m in enumerate(metrics)]
        self.keys = {"d": [tuple(sorted({canonical[j] for j in t})) for t in targets],
                     "r": [tuple(sorted(set(t))) for t in targets]}
        self.sets: dict[tuple[str, tuple[int, ...]], dict[str, npt.NDArray[Any]] | None] = {
            (kind, key): self._select(key, kind)
            for kind, keys in self.keys.items() for key in set(keys)}
        self._bounds: dict[tuple[str, tuple[int, ...]], tuple[float, float]] = {}

    def _select(self, metrics: tuple[int, ...], kind: str
                ) -> dict[str, npt.NDArray[Any]] | None:
        """The kept functionals with estimates and standard errors; None: too many pairs."""
        if sum(len(self.top[j]) * len(self.bottom[j]) for j in metrics) > _MAX_PAIRS:
            return None
        parts = []
        for j in metrics:
            a, b = np.meshgrid(self.top[j], self.bottom[j], indexing="ij")
            off = a != b
            parts.append((np.full(int(off.sum()), j), a[off], b[off]))
        metric, i, k = (np.concatenate(x).astype(np.int64) for x in zip(*parts, strict=True))
        pi, pk = self.point[i, metric], self.point[k, metric]
        si, sk = self.smooth[i, metric], self.smooth[k, metric]
        vi, vk = self.sd[i, metric] ** 2, self.sd[k, metric] ** 2
        if kind == "d":
            est, se = pi - pk, np.sqrt(vi + vk)
        else:
            # the log scale, where a standard error does not depend on which of
            # the two rates is the larger; a rate of 0 has no log (its pair is
            # left out, which only widens the bound)
            with np.errstate(divide="ignore", invalid="ignore"):
                est = np.where((pi > 0) & (pk > 0), np.log(pi) - np.log(pk), np.nan)
            se = np.sqrt(vi / si**2 + vk / sk**2)
        # a functional counts when it could be the largest
        finite = ~np.isnan(est)
        keep = finite & (est + KAPPA * se >= np.where(finite, est - KAPPA * se, -np.inf)
                         .max(initial=-np.inf))
        # a pair with a rate of 0 (no log) could be the largest: no safe end from pairs
        return {"metric": metric[keep], "i": i[keep], "j": k[keep], "est": est[keep],
                "se": se[keep], "complete": bool(finite.all())}

    def stored_groups(self, replicates: int) -> IntArray:
        """Groups whose replicates the bounds need (none when there would be too many)."""
        used = [np.concatenate([f["i"], f["j"]]) for f in self.sets.values() if f is not None]
        kept = np.unique(np.concatenate(used)) if used else np.zeros(0, dtype=np.int64)
        if len(kept) * replicates * self.point.shape[1] > _STORE_VALUES:
            self.sets = dict.fromkeys(self.sets)
            return np.zeros(0, dtype=np.int64)
        return np.asarray(kept, dtype=np.int64)

    def bounds(self, target: int, kind: str, stored: FloatArray,
               smoothed: tuple[FloatArray, FloatArray], slot: IntArray, alpha: float
               ) -> tuple[float, float]:
        """A target's (cautious, safe) ends: a difference's (lower, upper), a ratio's reverse.

        Each kept functional's replicate error is studentized by the
        replicate's own standard error (a gap and its standard error move
        together). The cautious end needs every kept functional bounded at
        once, so its critical value is the quantile of the largest
        studentized error per replicate. The safe end needs only the true
        largest functional bounded, so it is the largest of the functionals'
        own studentized bounds. NaN when the target has no pair (or, for the
        safe end, when some kept functional's replicates give no bound).
        """
        key = (kind, self.keys[kind][target])
        if key in self._bounds:
            return self._bounds[key]
        f = self.sets[key]
        if f is None:
            cautious, safe = self._projected(key[1], kind, alpha)
        elif len(f["i"]) == 0:
            cautious = safe = np.nan
        else:
            si, sj = slot[f["i"]], slot[f["j"]]
            pi = stored[si, :, f["metric"]]  # (pairs, replicates)
            pj = stored[sj, :, f["metric"]]
            sm_i, sd_i = smoothed[0][si, :, f["metric"]], smoothed[1][si, :, f["metric"]]
            sm_j, sd_j = smoothed[0][sj, :, f["metric"]], smoothed[1][sj, :, f["metric"]]
            with np.errstate(divide="ignore", invalid="ignore"):
                if kind == "d":
                    drawn, drawn_se = pi - pj, np.sqrt(sd_i**2 + sd_j**2)
                else:  # a replicate rate of 0 gives an infinite log ratio: a wide bound
                    drawn = np.log(pi) - np.log(pj)
                    drawn_se = np.sqrt((sd_i / sm_i) ** 2 + (sd_j / sm_j) ** 2)
                t = (drawn - f["est"][:, None]) / drawn_se
                worst = np.fmax.reduce(t, axis=0)
                crit = float(quantile(worst, 1.0 - alpha / 2.0))
                lowest = float(np.max(f["est"] - crit * f["se"]))
                own = quantile(t, alpha / 2.0, axis=1)  # each functional's own lower quantile
                highest = float(np.max(f["est"] - own * f["se"])) if f["complete"] else np.nan
            with np.errstate(over="ignore"):
                if kind == "d":
                    cautious, safe = lowest, highest
                else:
                    cautious, safe = float(np.exp(-lowest)), float(np.exp(-highest))
        self._bounds[key] = (cautious, safe)
        return cautious, safe

    def _projected(self, metrics: tuple[int, ...], kind: str, alpha: float
                   ) -> tuple[float, float]:
        """(cautious, safe) ends from bounds of the candidate groups' rates.

        The cautious end needs every candidate group bounded at once
        (Bonferroni over them); the safe end only the true largest and
        smallest groups (each at ``alpha / 4``).
        """
        count = sum(len(self.top[j]) + len(self.bottom[j]) for j in metrics)
        z = NormalDist().inv_cdf(1.0 - alpha / (2.0 * max(count, 1)))
        z_safe = NormalDist().inv_cdf(1.0 - alpha / 4.0)
        cautious, safe = [], []
        for j in metrics:
            top, bottom = self.top[j], self.bottom[j]
            if not len(top):
                continue
            p_top, s_top = self.point[top, j], self.sd[top, j]
            p_bottom, s_bottom = self.point[bottom, j], self.sd[bottom, j]
            top_low, bottom_high = (p_top - z * s_top).max(), (p_bottom + z * s_bottom).min()
            top_high = (p_top + z_safe * s_top).max()
            bottom_low = max((p_bottom - z_safe * s_bottom).min(), self.floor[j])
            if kind == "d":
                cautious.append(top_low - bottom_high)
                safe.append(top_high - bottom_low)
            else:
                cautious.append(min(bottom_high / top_low, 1.0) if top_low > 0 else 1.0)
                safe.append(bottom_low / top_high if top_high > 0 else 0.0)
        if not cautious:
            return np.nan, np.nan
        if kind == "d":
            return float(max(cautious)), float(max(safe))
        return float(min(cautious)), float(min(safe))


def _by_criterion(per_metric: FloatArray, criteria: Sequence[Sequence[int]],
                  reduce: np.ufunc | object) -> FloatArray:
    if not criteria:
        return np.zeros((per_metric.shape[0], 0))
    return np.stack([reduce(per_metric[:, list(ix)], axis=1)  # type: ignore[operator]
                     for ix in criteria], axis=1)
