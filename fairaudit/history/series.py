"""Series over a history: per label, grouping and gated criterion, one point per as-of date.

A point's figures are those the run's audit found (stored when it was
recorded, from its counts, by :func:`fairaudit.engine.judge`). With pooling
(``pool`` > 1) each point is instead the audit of the counts of that run and
the ``pool - 1`` runs before it, merged (exact, since counts add up) and judged
again with the runs' config: the figures a single audit of all their rows
would give.

When one as-of date holds more than one current run of a label (runs judged
with different configs), the last one recorded stands for the date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..counts import Accumulator, CountTable
from ..engine import judge
from ..result import AuditResult, FileInfo, Interval
from .digest import config_from_dict
from .store import CriterionRow, GateRow, History, HistoryError, Run


@dataclass(frozen=True)
class Point:
    """One run (or pool of runs) in a series.

    ``value`` and ``ci`` are the gated figure: the difference for a
    ``max_gap`` gate (and for a criterion no gate names), the ratio for a
    ``min_ratio`` gate, the worst group's share for a ``max_out_of_range``
    gate, the change from the baseline for a ``max_increase`` or ``max_drop``
    gate. ``status`` and ``threshold`` are the gate's in that run, ``None``
    when the run had no such gate. ``runs`` lists the runs pooled into it.
    """

    run_id: int
    as_of: str
    difference: float | None
    ratio: float | None
    difference_ci: Interval | None
    ratio_ci: Interval | None
    value: float | None
    ci: Interval | None
    status: str | None
    threshold: float | None
    runs: tuple[int, ...]
    groups_used: int | None = None


@dataclass(frozen=True)
class SeriesKey:
    label: str
    grouping: str
    criterion: str
    kind: str | None  # the gate kind; None for a criterion only a drift gate names
    feature: str | None = None


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    points: tuple[Point, ...]

    @property
    def threshold(self) -> float | None:
        return next((p.threshold for p in reversed(self.points) if p.threshold is not None),
                    None)


@dataclass(frozen=True)
class Selection:
    """The runs a trend reads: per label, the last ``last`` dates' runs.

    ``runs`` holds every run of those dates (superseded and failed ones too);
    ``points`` per label the run that stands for each date, oldest first.
    """

    runs: tuple[Run, ...]
    points: dict[str, tuple[Run, ...]]
    all_current: dict[str, tuple[Run, ...]] = field(default_factory=dict)


def select(history: History, label: str | None = None, last: int | None = 30) -> Selection:
    runs = history.runs(label)
    by_label: dict[str, dict[str, Run]] = {}
    for r in runs:  # by as-of date, then run id: the last recorded run wins its date
        if r.current:
            by_label.setdefault(r.label, {})[r.as_of] = r
    points: dict[str, tuple[Run, ...]] = {}
    everything: dict[str, tuple[Run, ...]] = {}
    start: dict[str, str] = {}
    for name, dates in by_label.items():
        ordered = tuple(dates[d] for d in sorted(dates))
        everything[name] = ordered
        points[name] = ordered[-last:] if last else ordered
        if points[name]:
            start[name] = points[name][0].as_of
    shown = tuple(r for r in runs if r.label not in start or r.as_of >= start[r.label])
    return Selection(shown, points, everything)


def pool_table(history: History, runs: Sequence[Run]) -> CountTable:
    """The counts of several runs merged into one table; refuses different layouts."""
    tables = [history.table(r.run_id) for r in runs]
    first = tables[0]
    for r, t in zip(runs[1:], tables[1:], strict=True):
        if t.columns != first.columns:
            raise HistoryError(
                f"{history.path}: runs {runs[0].run_id} and {r.run_id} cannot be pooled: "
                f"counted by different group columns ({', '.join(first.columns)} against "
                f"{', '.join(t.columns)})")
        if t.cell_names != first.cell_names:
            raise HistoryError(
                f"{history.path}: runs {runs[0].run_id} and {r.run_id} cannot be pooled: "
                f"counted in different cells ({', '.join(first.cell_names)} against "
                f"{', '.join(t.cell_names)}); the runs' outcome kinds or ranges differ")
    acc = Accumulator(first.columns, first.cell_names)
    for t in tables:
        acc.add_table(t)
    return acc.table()


def pooled(history: History, runs: Sequence[Run]) -> AuditResult:
    """One audit of the counts of ``runs`` together, judged with their (one) config."""
    if not runs:
        raise ValueError("no runs to pool")
    for r in runs:
        if not r.current or r.config is None:
            raise HistoryError(f"{history.path}: run {r.run_id} cannot be pooled: "
                               + ("it was superseded" if r.superseded else "it has no counts"))
    digests = {r.config_digest for r in runs}
    if len(digests) > 1:
        a, b = runs[0], next(r for r in runs if r.config_digest != runs[0].config_digest)
        raise HistoryError(
            f"{history.path}: runs {a.run_id} and {b.run_id} cannot be pooled: judged with "
            f"different configs (digest {a.config_digest[:12]} against "
            f"{b.config_digest[:12]}); pool runs of one config (--label, --last)")
    latest = runs[-1]
    config = config_from_dict(latest.config or {}, f"{history.path} run {latest.run_id}")
    files: list[FileInfo] = [f for r in runs for f in r.inputs]
    return judge(pool_table(history, runs), config, files, timestamp=latest.audit_time)


def _gate_value(kind: str | None, c: CriterionRow | None, g: GateRow | None
                ) -> tuple[float | None, Interval | None]:
    if kind in ("max_out_of_range", "max_increase", "max_drop"):  # the gate's own figure
        return (g.value, g.ci) if g is not None else (None, None)
    if c is None:
        return None, None
    if kind == "min_ratio":
        return c.ratio, c.ratio_ci
    return c.difference, c.difference_ci


def _rows(result: AuditResult, run_id: int) -> tuple[list[CriterionRow], list[GateRow]]:
    """A pooled audit's figures as the store's rows."""
    crit = [CriterionRow(run_id, g.name, name, gap.difference, gap.ci_difference, gap.ratio,
                         gap.ci_ratio, gap.groups_used, gap.p_value, gap.p_adjusted, gap.reason)
            for g in result.groupings for name, gap in g.criteria.items()]
    gates = [GateRow(run_id, g.grouping, g.criterion, g.kind, g.threshold, g.value, g.ci,
                     g.rule, g.status, g.reason, g.feature, g.group) for g in result.gates]
    return crit, gates


def build(history: History, selection: Selection, pool: int = 1,
          extra: Sequence[tuple[str | None, str]] = ()) -> list[Series]:
    """Every series of the selection: one per gate of its runs, and per ``extra``
    (grouping or None for every grouping, criterion) not gated."""
    out: list[Series] = []
    for label, runs in selection.points.items():
        if not runs:
            continue
        figures: dict[int, tuple[list[CriterionRow], list[GateRow]]] = {}
        if pool > 1:
            every = selection.all_current[label]
            at = {r.run_id: i for i, r in enumerate(every)}
            for r in runs:
                i = at[r.run_id]
                window = every[max(0, i - pool + 1): i + 1]
                figures[r.run_id] = _rows(pooled(history, window), r.run_id)
            pooled_ids = {r.run_id: tuple(x.run_id for x in
                                          every[max(0, at[r.run_id] - pool + 1):
                                                at[r.run_id] + 1]) for r in runs}
        else:
            ids = [r.run_id for r in runs]
            crit_rows, gate_rows = history.criteria(ids), history.gates(ids)
            for r in runs:
                figures[r.run_id] = ([], [])
            for row in crit_rows:
                figures[row.run_id][0].append(row)
            for gate in gate_rows:
                figures[gate.run_id][1].append(gate)
            pooled_ids = {r.run_id: (r.run_id,) for r in runs}
        keys: dict[SeriesKey, None] = {}
        for r in reversed(runs):  # the newest run's gates first, in its order
            for gated in figures[r.run_id][1]:
                keys.setdefault(SeriesKey(label, gated.grouping, gated.criterion, gated.kind,
                                          gated.feature if gated.kind == "max_out_of_range"
                                          else None))
        named = {(k.grouping, k.criterion) for k in keys}
        groupings = list(dict.fromkeys(c.grouping for r in runs for c in figures[r.run_id][0]))
        for grouping, criterion in extra:
            for name in [grouping] if grouping else groupings:
                if (name, criterion) not in named:
                    keys.setdefault(SeriesKey(label, name, criterion, None))
        for key in keys:
            points = []
            for r in runs:
                crit_rows, gate_rows = figures[r.run_id]
                c: CriterionRow | None = next((x for x in crit_rows if x.grouping == key.grouping
                          and x.criterion == key.criterion), None)
                g: GateRow | None = next((x for x in gate_rows if x.grouping == key.grouping
                          and x.criterion == key.criterion and x.kind == key.kind
                          and (key.feature is None or x.feature == key.feature)), None)
                if c is None and g is None:
                    continue
                value, ci = _gate_value(key.kind, c, g)
                points.append(Point(
                    run_id=r.run_id, as_of=r.as_of,
                    difference=None if c is None else c.difference,
                    ratio=None if c is None else c.ratio,
                    difference_ci=None if c is None else c.difference_ci,
                    ratio_ci=None if c is None else c.ratio_ci,
                    value=value, ci=ci,
                    status=None if g is None else g.status,
                    threshold=None if g is None else g.threshold,
                    runs=pooled_ids[r.run_id],
                    groups_used=None if c is None else c.groups_used))
            out.append(Series(key, tuple(points)))
    return out
