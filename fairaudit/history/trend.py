"""What `fairaudit history` reports, as data: the runs, their series and the drift gates.

:func:`trend` reads a history and returns a :class:`Trend`; it prints nothing
and exits nowhere (a failed drift gate is data, like a failed audit gate).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .digest import config_from_dict
from .drift import CUSUM_LIMIT, DriftResult, DriftSpec, Tables, evaluate
from .series import Selection, Series, build, pool_table, select
from .store import History, Run

LAST = 30


@dataclass(frozen=True)
class Trend:
    path: str
    label: str | None
    last: int | None
    pool: int
    selection: Selection
    series: tuple[Series, ...]
    drift: tuple[DriftResult, ...] = ()
    schema_version: int = 1

    @property
    def runs(self) -> tuple[Run, ...]:
        return self.selection.runs

    @property
    def verdict(self) -> str:
        """Of the drift gates: fail, inconclusive, pass, or none (no drift gate)."""
        if not self.drift:
            return "none"
        statuses = {d.status for d in self.drift}
        return next(s for s in ("fail", "inconclusive", "pass") if s in statuses)

    @property
    def failed(self) -> tuple[DriftResult, ...]:
        return tuple(d for d in self.drift if d.status == "fail")


def trend(path: str | os.PathLike[str], *, label: str | None = None, last: int | None = LAST,
          pool: int = 1, drift: Sequence[DriftSpec] = (), window: int | None = None,
          baseline_runs: int | None = None, decide: str = "point", cusum: bool = False,
          cusum_limit: float = CUSUM_LIMIT) -> Trend:
    """The series of a history (per label, grouping and gated criterion) and its drift gates.

    ``last`` keeps the last dates of each label (``None``: every date); a drift
    gate's ``window`` reads further back when it is longer. ``pool`` > 1 makes
    each point the audit of its run's counts and those of the ``pool - 1``
    runs before it.
    """
    if pool < 1:
        raise ValueError("pool must be at least 1")
    with History.open(path) as history:
        # a drift gate reads its whole window (by default, every run), whatever is shown
        reach = None if last is None or (drift and window is None) else max(last, window or 0)
        selection = select(history, label, reach)
        series = build(history, selection, pool, [(d.grouping, d.criterion) for d in drift])
        tables: Tables = {}
        if drift and decide == "confident-fail":
            tables = _tables(history, selection, pool)
        results = evaluate(drift, series, window=window, baseline_runs=baseline_runs,
                           decide=decide, cusum=cusum, cusum_limit=cusum_limit, tables=tables)
        if reach != last:  # read further back for the drift gates; show the last dates only
            selection = _trim(selection, last)
            series = [_cut(s, selection) for s in series]
        return Trend(os.fspath(path), label, last, pool, selection, tuple(series),
                     tuple(results))


def _tables(history: History, selection: Selection, pool: int) -> Tables:
    out: Tables = {}
    for label, runs in selection.points.items():
        every = selection.all_current[label]
        at = {r.run_id: i for i, r in enumerate(every)}
        for r in runs:
            i = at[r.run_id]
            window = every[max(0, i - pool + 1): i + 1]
            out[r.run_id] = (pool_table(history, window),
                             config_from_dict(r.config or {}, f"{history.path} run {r.run_id}"))
    return out


def _trim(selection: Selection, last: int | None) -> Selection:
    points = {k: (v[-last:] if last else v) for k, v in selection.points.items()}
    start = {k: v[0].as_of for k, v in points.items() if v}
    runs = tuple(r for r in selection.runs if r.label not in start or r.as_of >= start[r.label])
    return Selection(runs, points, selection.all_current)


def _cut(s: Series, selection: Selection) -> Series:
    keep = {r.run_id for r in selection.points.get(s.key.label, ())}
    return Series(s.key, tuple(p for p in s.points if p.run_id in keep))
