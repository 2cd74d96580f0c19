"""Strata, a kind: every group against the reference within strata (hospitals, regions).

With ``--stratum COLUMN`` (repeatable; several columns: their combinations are
the strata) the count table is keyed by the stratum too (:attr:`keys`), so the
kind counts no cell of its own: its figures read the base kind's cells per
group and stratum (``table.project((*grouping, *strata))``). Every grouping's
own figures sum over the strata, unchanged. Rows with a missing value in a
stratum column are left out of the stratified figures, and counted.

For each grouping, each group against the reference and each proportion metric
of the base kind (:mod:`fairaudit.stats.strata` computes):

- the crude difference and the per-stratum rates and differences with their
  intervals (a stratum is sparse when a side has fewer rows in the metric's
  denominator than the audit's minimum group size);
- the Mantel-Haenszel pooled risk difference (Sato's variance) and odds ratio
  (Robins-Breslow-Greenland variance), the Cochran-Mantel-Haenszel test and the
  Breslow-Day test (Tarone's adjustment), both in the audit's family of tests;
- Kitagawa's decomposition of the crude difference, both sides' rates directly
  standardised to the overall stratum mix, and a flag when the pooled and
  crude differences have opposite signs (Simpson's paradox).

Gates name the pooled figures ``stratified:CRITERION`` or ``stratified:METRIC``:
the largest absolute pooled difference of a group against the reference, with
an interval that holds for every group and metric of it at once (Bonferroni).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .. import stats
from ..counts import CountTable
from ..decode import Where
from ..metrics import Criterion, Metric
from ..result import (
    Exclusion,
    Gap,
    Rate,
    StrataComparison,
    StrataGrouping,
    StrataReport,
    StratumCell,
    show_value,
)
from ..stats.strata import kitagawa, pooled, standardised
from .base import CellIndex, Context, Figures, OutcomeKind, Settings, reference_index, registered

PREFIX = "stratified:"
FloatArray = npt.NDArray[np.float64]


def _number(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _interval(lo: float, hi: float) -> tuple[float, float] | None:
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


class Strata(OutcomeKind):
    """The kind an audit with ``--stratum`` counts: no cells, one more key column or more."""

    name: ClassVar[str] = "strata"

    def __init__(self, columns: Sequence[str], base: OutcomeKind,
                 reference: Mapping[str, str], gated: Sequence[str]) -> None:
        self.keys = tuple(columns)
        self.base = base
        self.reference = dict(reference)
        self.compared = tuple(m for m in base.metrics if not m.is_mean)
        names = {m.name for m in self.compared}
        over = [c for c in base.criteria if c.metrics and all(n in names for n in c.metrics)]
        self.over: dict[str, tuple[str, ...]] = {
            f"{PREFIX}{c.name}": c.metrics for c in over}
        for name in gated:  # a metric's pooled gap is computed when a gate names it
            if name.startswith(PREFIX) and name[len(PREFIX):] in names:
                self.over.setdefault(name, (name[len(PREFIX):],))
        self.criteria = tuple(
            Criterion(n, (), f"within strata: {', '.join(ms)} pooled against the reference")
            for n, ms in self.over.items())

    @classmethod
    def knows(cls, name: str) -> bool:
        if not name.startswith(PREFIX):
            return False
        rest = name[len(PREFIX):]
        others = [k for k in registered() if k is not cls]
        means = {m.name for k in others for m in k.declared_metrics if m.is_mean}
        # a criterion of its own test (range_coverage) is no rate of the base kind
        own = {c.name for k in others for c in k.declared_criteria if not c.metrics}
        return rest not in means | own and any(k.knows(rest) for k in others)

    @classmethod
    def from_settings(cls, settings: Settings) -> Strata | None:
        columns = tuple(getattr(settings, "strata", ()))
        if not columns:
            return None
        base = next((k for c in registered() if c is not cls
                     if (k := c.from_settings(settings)) is not None), None)
        if base is None:
            return None
        gated = [g.criterion for g in getattr(settings, "gates", ())]
        return cls(columns, base, dict(getattr(settings, "reference", ())), gated)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        return np.zeros((0, batch.num_rows), dtype=np.uint8)  # no cell: the key is the count

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        base = self.base
        cols = [base.cells.index(c) for c in base.metric_cells]
        out: list[StrataGrouping] = []
        criteria: dict[str, dict[str, Gap]] = {}
        tests: dict[Any, float] = {}
        rows = missing = 0
        for columns in groupings:
            grouping, known, unknown = self._grouping(table, columns, cols, context)
            rows, missing = known, unknown
            out.append(grouping)
            criteria[grouping.name] = {
                n: _gate_gap(grouping, ms, context) for n, ms in self.over.items()}
            for c in grouping.comparisons:
                key = stats.test_key(next(m for m in self.compared if m.name == c.metric))
                for test, p in (("cmh", c.cmh_p_value), ("breslow_day", c.breslow_day_p_value)):
                    if p is not None:
                        tests[(grouping.name, c.group, key, test)] = p
        section = StrataReport(self.keys, tuple(m.name for m in self.compared), rows, missing,
                               context.min_group_size, tuple(out))
        return Figures(criteria, section, tests=tests)

    def _grouping(self, table: CountTable, columns: tuple[str, ...], cols: list[int],
                  context: Context) -> tuple[StrataGrouping, int, int]:
        # the groups and the reference exactly as the audit's grouping has them
        gkeys, gcells = table.project(columns)
        order = sorted(range(len(gkeys)), key=lambda i: context.sort_key(gkeys[i]))
        gkeys = [gkeys[i] for i in order]
        sizes = gcells[order][:, cols].sum(axis=1)
        ref, _ = reference_index(gkeys, columns, sizes, self.reference)
        labels = [" & ".join(show_value(v) for v in k) for k in gkeys]
        keys, cells = table.project((*columns, *self.keys))
        n = len(columns)
        known = [all(v is not None for v in k[n:]) for k in keys]
        skeys = sorted({k[n:] for k, ok in zip(keys, known, strict=True) if ok},
                       key=context.sort_key)
        where_group = {k: i for i, k in enumerate(gkeys)}
        where_stratum = {k: i for i, k in enumerate(skeys)}
        grid = np.zeros((len(gkeys), len(skeys), len(cols)), dtype=np.int64)
        for k, row, ok in zip(keys, cells, known, strict=True):
            if ok:
                grid[where_group[k[:n]], where_stratum[k[n:]]] = row[cols]
        counted = int(grid.sum())
        unknown = int(cells[:, cols].sum()) - counted
        small = sizes < context.min_group_size
        slabels = [" & ".join(show_value(v) for v in k) for k in skeys]
        sdicts = [dict(zip(self.keys, k, strict=True)) for k in skeys]
        comparisons = []
        for metric in self.compared:
            num = grid[..., list(metric.numerator)].sum(axis=-1)
            den = grid[..., list(metric.denominator)].sum(axis=-1)
            lo, hi = stats.proportion_interval(num, den, context.interval,  # type: ignore[arg-type]
                                               context.confidence)
            standard = den.sum(axis=0)
            for g in range(len(gkeys)):
                if g == ref:
                    continue
                comparisons.append(self._comparison(
                    metric, labels[g], labels[ref], bool(small[g] or small[ref]),
                    (num[g], den[g], lo[g], hi[g]), (num[ref], den[ref], lo[ref], hi[ref]),
                    standard, sdicts, slabels, context))
        name = "&".join(columns)
        return (StrataGrouping(name, tuple(columns), labels[ref], tuple(slabels),
                               tuple(comparisons)), counted, unknown)

    def _comparison(self, metric: Metric, group: str, reference: str, small: bool,
                    side: tuple[Any, ...], other: tuple[Any, ...], standard: Any,
                    keys: list[dict[str, Any]], labels: list[str], context: Context
                    ) -> StrataComparison:
        a, n1, lo1, hi1 = side
        c, n0, lo0, hi0 = other
        minimum = context.min_group_size
        cells = []
        for s, label in enumerate(labels):
            mine = _rate(int(a[s]), int(n1[s]), lo1[s], hi1[s], metric)
            theirs = _rate(int(c[s]), int(n0[s]), lo0[s], hi0[s], metric)
            diff = ci = None
            if mine.value is not None and theirs.value is not None:
                diff = mine.value - theirs.value
                # MOVER (Newcombe's method with Wilson intervals): the two rates' intervals
                ci = (diff - math.hypot(mine.value - lo1[s], hi0[s] - theirs.value),
                      diff + math.hypot(hi1[s] - mine.value, theirs.value - lo0[s]))
            cells.append(StratumCell(keys[s], label, mine, theirs, diff, ci,
                                     bool(min(n1[s], n0[s]) < minimum)))
        mh = pooled(a, n1, c, n0)
        parts = kitagawa(a, n1, c, n0)
        std = standardised(a, n1, c, n0, standard)
        crude = _number(parts.crude)
        rd = _number(mh.risk_difference)
        odds = mh.odds_ratio if mh.odds_ratio == mh.odds_ratio else None
        reason = None
        if mh.strata == 0:
            reason = f"no stratum has both groups' {metric.denominator_name}"
        simpson = bool(crude is not None and rd is not None and crude * rd < 0)
        return StrataComparison(
            group=group, reference=reference, metric=metric.name, small=small,
            crude_difference=crude, mh_difference=rd,
            ci_mh_difference=mh.difference_ci(context.confidence),
            mh_odds_ratio=odds, ci_mh_odds_ratio=mh.odds_ratio_ci(context.confidence),
            cmh_p_value=_number(mh.cmh_p), breslow_day_p_value=_number(mh.breslow_day_p),
            breslow_day_dof=mh.breslow_day_dof,
            rate_part=_number(parts.rate_part), composition_part=_number(parts.composition_part),
            share_explained=parts.share_explained if crude is not None else None,
            standardised_group=_number(std.group), standardised_reference=_number(std.reference),
            standard_coverage=std.coverage, simpson=simpson, strata_used=mh.strata,
            strata_filled=parts.filled, cells=tuple(cells), reason=reason)

    def tested(self, section: Any, adjusted: Mapping[Any, float]) -> Any:
        report: StrataReport = section
        keys = {m.name: stats.test_key(m) for m in self.compared}
        return replace(report, groupings=tuple(
            replace(g, comparisons=tuple(
                replace(c, cmh_p_adjusted=adjusted.get((g.name, c.group, keys[c.metric], "cmh")),
                        breslow_day_p_adjusted=adjusted.get(
                            (g.name, c.group, keys[c.metric], "breslow_day")))
                for c in g.comparisons))
            for g in report.groupings))


def _rate(k: int, n: int, lo: float, hi: float, metric: Metric) -> Rate:
    if n == 0:
        return Rate(None, k, 0, f"no {metric.denominator_name}")
    return Rate(k / n, k, n, ci=_interval(float(lo), float(hi)))


def _gate_gap(grouping: StrataGrouping, metrics: tuple[str, ...], context: Context) -> Gap:
    """The largest absolute pooled difference against the reference over ``metrics``.

    Its interval holds for every (group, metric) pair at once: each pair's
    interval at confidence ``1 - (1 - c) / pairs`` (Bonferroni), folded to
    absolute values, and the largest low and high ends taken.
    """
    chosen = [c for c in grouping.comparisons if c.metric in metrics]
    used = [c for c in chosen if not c.small and c.mh_difference is not None]
    excluded: dict[str, Exclusion] = {}
    for c in chosen:
        if c.small:
            excluded.setdefault(c.group, Exclusion(c.group, f"small group (or reference): "
                                                   f"fewer than {context.min_group_size} rows"))
        elif c.mh_difference is None:
            excluded.setdefault(c.group, Exclusion(c.group, c.reason or "undefined"))
    groups = len({c.group for c in used})
    if not used:
        return Gap(None, None, groups, tuple(excluded.values()),
                   "no group with a pooled difference against a reference of enough rows")
    value = max(abs(c.mh_difference) for c in used if c.mh_difference is not None)
    confidence = 1.0 - (1.0 - context.confidence) / len(used)
    ends: list[tuple[float, float]] = []
    for c in used:
        se = _se(c, context.confidence)
        if se is None:
            ends = []
            break
        d = c.mh_difference or 0.0
        h = stats.z_value(confidence) * se
        lo, hi = d - h, d + h
        ends.append((0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi))))
    ci = (max(e[0] for e in ends), max(e[1] for e in ends)) if ends else None
    return Gap(value, None, groups + 1, tuple(excluded.values()), None, ci_difference=ci)


def _se(c: StrataComparison, confidence: float) -> float | None:
    """The pooled difference's standard error, back from its interval."""
    if c.ci_mh_difference is None:
        return None
    lo, hi = c.ci_mh_difference
    return (hi - lo) / (2 * stats.z_value(confidence))
