"""The figures peers of fairaudit report beside its gaps, for one grouping of the engine.

Each group against the whole population (per metric and criterion), the
criteria that aggregate other than by the worst case (the mean of equalized
odds, the average odds difference and its absolute form), each group's share of
every positive decision (``ppr``), and the inequality indices of the per-row
benefit. All are pure functions of the grouping's counts; the engine hands them
the arrays it computed the rates and gaps from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from . import stats
from .comparisons import aggregate, average_odds, to_overall, versus_overall
from .inequality import indices
from .metrics import FP, TP, Criterion, Metric, safe_divide, spread
from .numbers import floats, scalar
from .result import Exclusion, Gap, GroupingResult, Inequality, Rate, Shares
from .stats.intervals import IntervalMethod


@dataclass(frozen=True)
class Arrays:
    """What the engine computed one grouping's figures from (groups in report order)."""

    confusion: npt.NDArray[Any]  # (groups, metric cells), the base kind's first (sums too)
    values: npt.NDArray[np.float64]  # (groups, metrics)
    overall: npt.NDArray[np.float64]  # (metrics,)
    versus: npt.NDArray[np.float64]  # (groups, metrics): group minus reference
    eligible: npt.NDArray[np.bool_]  # (groups, metrics)
    small: npt.NDArray[np.bool_]
    counts: npt.NDArray[np.int64]
    labels: list[str]
    ref_index: int
    metrics: tuple[Metric, ...]
    criteria: tuple[Criterion, ...]
    binary: bool  # the base kind is binary decisions: the first four cells are TN FP FN TP


Intervals = tuple[tuple[float, float] | None, tuple[float, float] | None]


def extend(g: GroupingResult, a: Arrays, *, minimum: int, interval: str, confidence: float,
           alpha: float, to_whole: dict[str, Intervals] | None = None) -> GroupingResult:
    """``g`` with its comparisons to the whole population, aggregate criteria, ``ppr`` and
    inequality indices. ``to_whole`` gives, per metric and criterion, the bootstrap
    intervals of the comparison with the whole population (difference, ratio)."""
    names = [m.name for m in a.metrics]
    whole = to_whole or {}
    vo_diff, vo_ratio = versus_overall(a.values, a.overall)
    t_diff, t_ratio = to_overall(a.values, a.overall, a.eligible)

    def cis(name: str, difference: float | None, ratio: float | None) -> dict[str, Any]:
        d_ci, r_ci = whole.get(name, (None, None))
        return {"ci_difference": d_ci if difference is not None else None,
                "ci_ratio": r_ci if ratio is not None else None}

    overall = {}
    for j, n in enumerate(names):
        difference, ratio = scalar(t_diff[j]), scalar(t_ratio[j])
        overall[n] = replace(g.gaps[n], difference=difference, ratio=ratio,
                             **cis(n, difference, ratio), p_value=None, p_adjusted=None)
    criteria = dict(g.criteria)
    per_group: dict[str, list[float | None]] = {}
    for c in a.criteria:
        if c.name not in criteria or c.agg == "max":
            continue
        gap = criteria[c.name]
        if c.agg == "mean":
            d, r = aggregate("mean", [g.gaps[n].difference for n in c.metrics],
                             [g.gaps[n].ratio for n in c.metrics])
            criteria[c.name] = replace(gap, difference=d, ratio=r, ci_difference=None,
                                       ci_ratio=None)
            continue
        cols = [names.index(n) for n in c.metrics]
        values, worst = average_odds(a.versus[:, cols], a.eligible[:, cols], a.ref_index,
                                     absolute=c.agg == "versus_abs_mean")
        per_group[c.name] = floats(values)
        used = int((~np.isnan(values)).sum())
        reason = None if worst is not None else (
            f"the reference group {a.labels[a.ref_index]} is not eligible for "
            f"{' and '.join(c.metrics)}" if not a.eligible[a.ref_index, cols].all()
            else "no group other than the reference is eligible for "
            f"{' and '.join(c.metrics)}")
        criteria[c.name] = replace(gap, difference=worst, ratio=None, groups_used=used,
                                   reason=reason, ci_difference=None, ci_ratio=None)
    for c in a.criteria:  # a criterion over the whole population aggregates as it does
        if c.name in criteria and c.has_ratio:
            parts = [overall[n] for n in c.metrics]
            d, r = aggregate(c.agg, [p.difference for p in parts], [p.ratio for p in parts])
            # the bootstrap takes a criterion's worst metric in every replicate, not a mean
            ends = cis(c.name, d, r) if c.agg == "max" else {"ci_difference": None,
                                                              "ci_ratio": None}
            overall[c.name] = replace(g.criteria[c.name], difference=d, ratio=r, **ends,
                                      p_value=None, p_adjusted=None)
    figures = replace(g.figures, versus_overall_difference=floats(vo_diff),
                      versus_overall_ratio=floats(vo_ratio), versus_criteria=per_group)
    shares = _shares(a, minimum, interval, confidence) if a.binary else None
    inequality = None
    if a.binary and "tpr" in names:  # the benefit needs a label
        base = a.confusion[:, :4]
        ge, theil, bge, btheil = indices(base, alpha)
        inequality = Inequality(alpha, ge, theil, bge, btheil, int(base.sum()), len(base))
    return replace(g, figures=figures, criteria=criteria, to_overall=overall, ppr=shares,
                   inequality=inequality)


def _shares(a: Arrays, minimum: int, interval: str, confidence: float) -> Shares:
    positive = (a.confusion[:, FP] + a.confusion[:, TP]).astype(np.float64)
    total = np.full_like(positive, positive.sum())
    value = safe_divide(positive, total)
    lo, hi = stats.proportion_interval(positive, total, cast(IntervalMethod, interval),
                                       confidence)
    rates = tuple(
        Rate(None, int(n), int(d), "no positive decisions") if np.isnan(v)
        else Rate(float(v), int(n), int(d), None,
                  None if np.isnan(low) else (float(low), float(high)))
        for n, d, v, low, high in zip(positive, total, value, lo, hi, strict=True))
    ref = value[a.ref_index]
    eligible = ~a.small & (total >= minimum)
    diff, ratio = spread(value[:, None], eligible[:, None])
    used = int(eligible.sum())
    excluded = tuple(
        Exclusion(a.labels[i], f"small group: {int(a.counts[i]):,} rows < {minimum}"
                  if a.small[i] else f"too few positive decisions: {int(total[i]):,} < "
                  f"{minimum}", int(a.counts[i]), int(total[i]))
        for i in np.flatnonzero(~eligible).tolist())
    reason = None if used >= 2 else (
        f"{used} group{'s' if used != 1 else ''} with at least {minimum} rows; a gap needs two")
    gap = Gap(scalar(diff[0]), scalar(ratio[0]), used, excluded, reason)
    versus = safe_divide(positive, np.full_like(positive, positive[a.ref_index]))
    return Shares(rates, tuple(floats(value - ref)), tuple(floats(versus)), gap)
