"""A baseline model, a kind: the candidate against the baseline's decisions on the same rows.

The audit's decision (``prediction`` or ``score``) is the candidate; the
baseline's decision comes from ``baseline_prediction``, or from
``baseline_score`` thresholded at ``baseline_threshold`` (default: the audit's
threshold), with the same positive label. A row's cell crosses its base cell
(confusion or drop) with the baseline's decision: 0, 1 or missing. Those
cells stream, merge and project like every other count.

From the counts, per grouping and group, on the rows where both decisions
are present: every rate of both models, the change (candidate minus baseline)
and the relative change, with paired bootstrap intervals; per metric and
criterion, both models' gaps over the same groups and the change of the gap
(:mod:`fairaudit.stats.paired`). Rows the audit uses whose baseline decision is
missing are counted per group and left out of the comparison only. Gates:
``max_increase`` (a gap may not grow by more than a value) and ``max_drop`` (a
group's rate may not fall by more than a value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from .. import stats
from ..decode import CELLS, CONFUSION, Decoder, Roles, Where
from ..errors import UsageError
from ..metrics import CRITERIA, METRICS, Metric, criteria_for, metrics_for
from ..numbers import interval, scalar
from ..result import (
    Change,
    ComparisonReport,
    GapChange,
    GroupChange,
    GroupingComparison,
    rate,
    show_value,
)
from ..stats.paired import Paired, compare
from .base import CellIndex, Context, Figures, OutcomeKind, Settings

if TYPE_CHECKING:
    import pyarrow as pa

    from ..counts import CountTable

STATES = ("0", "1", "missing")
MISSING_STATE = 2
OWN_CELLS = tuple(f"baseline:{c}:{s}" for c in CELLS for s in STATES)

ComparisonKind = Literal["max_increase", "max_drop"]
COMPARISON_KINDS: tuple[ComparisonKind, ...] = ("max_increase", "max_drop")
_METRIC_NAMES = tuple(m.name for m in METRICS)
_CRITERION_NAMES = tuple(c.name for c in CRITERIA)


@dataclass(frozen=True)
class ComparisonGate:
    """A bound on a change from the baseline to the candidate.

    ``max_increase`` bounds how much a criterion's (or a metric's) gap may grow;
    ``max_drop`` how much a metric's rate may fall in any group. ``grouping``
    names one grouping (``race``, ``race&sex``); None applies to every grouping.
    """

    kind: ComparisonKind
    name: str
    threshold: float
    grouping: str | None = None

    @property
    def key(self) -> str:
        return f"{self.grouping}:{self.name}" if self.grouping else self.name


def gate_problems(gate: ComparisonGate, where: str, groupings: Sequence[tuple[str, ...]],
                  has_baseline: bool) -> list[str]:
    """What is wrong with one comparison gate (empty: nothing); ``where`` names its source."""
    from ..errors import closest

    out = []
    if gate.kind == "max_increase":
        known, what = (*_CRITERION_NAMES, *_METRIC_NAMES), "criterion or metric"
    else:
        known, what = _METRIC_NAMES, "metric"
    if gate.name not in known:
        near = closest(gate.name, list(known))
        hint = f"did you mean '{near}'?" if near else "known: " + ", ".join(known)
        out.append(f"{where}: unknown {what} '{gate.name}'; {hint}")
    t = gate.threshold
    if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t):
        out.append(f"{where}: threshold {t!r} is not a number")
    elif not 0 <= t <= 1:
        out.append(f"{where}: threshold {t:g} must be in [0, 1] (a change of a rate or a gap; "
                   f"write a share, such as 0.02 for 2 points)")
    if gate.grouping is not None:
        wanted = set(gate.grouping.split("&"))
        if not any(set(g) == wanted for g in groupings):
            shown = ", ".join("&".join(g) for g in groupings) or "none"
            out.append(f"{where}: no grouping '{gate.grouping}' (groupings: {shown}; an "
                       "intersection is written race&sex, its columns in any order)")
    if not has_baseline:
        out.append(f"{where}: a comparison gate needs a baseline; give "
                   "--baseline-prediction COLUMN or --baseline-score COLUMN")
    return out


def settings_problems(settings: Any, origin: Any) -> list[str]:
    """The baseline settings that cannot mean what they say (``origin(name)`` words a key)."""
    prediction = getattr(settings, "baseline_prediction", None)
    score = getattr(settings, "baseline_score", None)
    threshold = getattr(settings, "baseline_threshold", None)
    out = []
    if prediction is not None and score is not None:
        out.append(f"{origin('baseline_prediction')} and {origin('baseline_score')} both name a "
                   "baseline; give one")
    column = prediction if prediction is not None else score
    if threshold is not None:
        if score is None:
            out.append(f"{origin('baseline_threshold')} thresholds a baseline score; give "
                       "--baseline-score COLUMN, or leave it out")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or \
                not 0.0 <= threshold <= 1.0:
            out.append(f"{origin('baseline_threshold')} {threshold!r} is not a number in "
                       "[0, 1]; give a decision threshold such as 0.5")
    if column is None:
        return out
    if settings.prediction is None and settings.score is None:
        out.append("a baseline is compared with the audit's decision; give --prediction "
                   "COLUMN or --score COLUMN")
    if column in (settings.prediction, settings.score) and (
            threshold is None or column == settings.prediction):
        out.append(f"the baseline column '{column}' is the audit's own decision; name the "
                   "column of the model in production")
    if column in settings.groups or column == settings.label or column == getattr(
            settings, "rank", None):
        out.append(f"column '{column}' cannot be both the baseline and a group, label or rank")
    return out


def gates_from_table(kind: str, table: Any, where: str) -> list[ComparisonGate]:
    """The gates of a ``max_increase`` or ``max_drop`` table (a config file, ``audit()``)."""
    if kind not in COMPARISON_KINDS:
        raise UsageError(f"{where}: unknown gate kind {kind!r}")
    if not isinstance(table, dict):
        raise UsageError(f"{where}: {kind} must map names to thresholds, such as "
                         f"{{'equalized_odds': 0.02}}, not {table!r}")
    out = []
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{where}: {kind}[{key!r}] must be a number, not {value!r}")
        grouping, _, name = str(key).rpartition(":")
        out.append(ComparisonGate(kind, name, float(value), grouping or None))
    return out


class _Baseline(Decoder):
    """Decodes the baseline's column as the base kind decodes the audit's decision."""

    def decision(self, batch: pa.RecordBatch, where: Where) -> npt.NDArray[np.uint8]:
        """0 or 1 per row, or :data:`MISSING_STATE` where the baseline has no decision."""
        r = self.roles
        if r.score is not None:
            decided, absent = self._score(batch.column(r.score), r.score, where)
        else:
            assert r.prediction is not None
            decided, absent = self._binary(batch.column(r.prediction), r.prediction,
                                           "baseline prediction", where)
        out = np.array(decided, dtype=np.uint8)
        if absent is not None:
            out[absent] = MISSING_STATE
        return out


class BaselineComparison(OutcomeKind):
    """The kind an audit with a baseline counts: base cells x the baseline's decision."""

    name: ClassVar[str] = "baseline"

    def __init__(self, settings: Settings, column: str, source: Literal["prediction", "score"],
                 threshold: float | None) -> None:
        self.column = column
        self.source = source
        self.threshold = threshold
        self.columns = (column,)
        self.cells = OWN_CELLS
        has_label = settings.label is not None
        self.compared = metrics_for(has_label)
        self.compared_criteria = criteria_for(has_label)
        roles = settings.roles
        self.decoder = _Baseline(Roles(
            groups=(), prediction=column if source == "prediction" else None,
            score=column if source == "score" else None,
            threshold=float(threshold if threshold is not None else 0.5),
            positive_label=roles.positive_label))

    @classmethod
    def from_settings(cls, settings: Settings) -> BaselineComparison | None:
        prediction = getattr(settings, "baseline_prediction", None)
        score = getattr(settings, "baseline_score", None)
        if prediction is not None:
            return cls(settings, prediction, "prediction", None)
        if score is None:
            return None
        threshold = getattr(settings, "baseline_threshold", None)
        if threshold is None:
            threshold = settings.roles.threshold
        return cls(settings, score, "score", float(threshold))

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        assert base is not None  # the joint cells cross the base cells
        cell = np.asarray(base, dtype=np.int64) * len(STATES)
        cell += self.decoder.decision(batch, where)
        return cell

    def seen(self) -> Any:
        return self.decoder.seen() or None

    def absorb(self, seen: Any, file: str) -> None:
        if seen:
            self.decoder.absorb(seen, file)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        return Figures({}, report(table, self, groupings, context))


# the joint cells of rows used by the audit: confusion x baseline 0/1, and baseline missing
_OWN = len(CELLS)
_COMPARED = [_OWN + c * len(STATES) + s for c in range(len(CONFUSION)) for s in (0, 1)]
_WITHOUT = [_OWN + c * len(STATES) + MISSING_STATE for c in range(len(CONFUSION))]


def report(table: CountTable, kind: BaselineComparison, groupings: Sequence[tuple[str, ...]],
           context: Context) -> ComparisonReport:
    """Both models' figures per grouping and group, the changes and their paired intervals."""
    metrics = kind.compared
    names = [m.name for m in metrics]
    criteria = kind.compared_criteria
    members = [[names.index(n) for n in c.metrics] for c in criteria]
    total = table.total
    out = []
    for columns in groupings:
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: context.sort_key(keys[i]))
        keys, cells = [keys[i] for i in order], cells[order]
        name = "&".join(columns)
        paired = compare(cells[:, _COMPARED], metrics, members, context.min_group_size,
                         context.bootstrap, context.confidence,
                         stats.seed_for(context.seed, f"baseline:{name}"))
        groups = _groups(paired, metrics, [dict(zip(columns, k, strict=True)) for k in keys],
                         [" & ".join(show_value(v) for v in k) for k in keys],
                         cells[:, _COMPARED].sum(axis=1), cells[:, _WITHOUT].sum(axis=1),
                         context)
        whole = compare(total[None, _COMPARED], metrics, members, context.min_group_size,
                        context.bootstrap, context.confidence,
                        stats.seed_for(context.seed, f"baseline:{name}:overall"))
        (overall,) = _groups(whole, metrics, [{}], ["overall"], total[None, _COMPARED].sum(1),
                             total[None, _WITHOUT].sum(1), context)
        gaps = _gaps(paired, [m.name for m in metrics], [(j,) for j in range(len(metrics))],
                     context.min_group_size)
        crits = _gaps(paired, [c.name for c in criteria], members, context.min_group_size,
                      offset=len(metrics))
        out.append(GroupingComparison(name, tuple(columns), groups, overall, gaps, crits))
    return ComparisonReport(kind.column, kind.source, kind.threshold,
                            int(total[_COMPARED].sum()), int(total[_WITHOUT].sum()),
                            tuple(names), tuple(c.name for c in criteria), tuple(out))


def _groups(p: Paired, metrics: tuple[Metric, ...], keys: Sequence[dict[str, Any]],
            labels: Sequence[str], rows: npt.NDArray[np.int64],
            without: npt.NDArray[np.int64], context: Context) -> tuple[GroupChange, ...]:
    level, method = context.confidence, context.interval
    c_lo, c_hi = stats.proportion_interval(p.candidate_num, p.candidate_den, method,  # type: ignore[arg-type]
                                           level)
    b_lo, b_hi = stats.proportion_interval(p.baseline_num, p.baseline_den, method,  # type: ignore[arg-type]
                                           level)
    c_ci, b_ci = np.stack([c_lo, c_hi], axis=-1).tolist(), np.stack([b_lo, b_hi], axis=-1).tolist()
    out = []
    for i in range(len(keys)):
        figures = {}
        for j, m in enumerate(metrics):
            why = f"no {m.denominator_name}"
            cand = rate(scalar(p.candidate[i, j]), int(p.candidate_num[i, j]),
                        int(p.candidate_den[i, j]), c_ci[i][j], why)
            base = rate(scalar(p.baseline[i, j]), int(p.baseline_num[i, j]),
                        int(p.baseline_den[i, j]), b_ci[i][j], why)
            figures[m.name] = Change(cand, base, scalar(p.change[i, j]),
                                     scalar(p.relative[i, j]), interval(p.change_ci[i, j]),
                                     interval(p.relative_ci[i, j]), bool(p.eligible[i, j]))
        out.append(GroupChange(dict(keys[i]), labels[i], int(rows[i]), int(without[i]),
                               bool(rows[i] < context.min_group_size), figures))
    return tuple(out)


def _gaps(p: Paired, names: Sequence[str], members: Sequence[Sequence[int]], minimum: int,
          offset: int = 0) -> dict[str, GapChange]:
    out = {}
    for t, (name, _) in enumerate(zip(names, members, strict=True)):
        at = offset + t
        used = int(p.groups_used[at])
        reason = None if used >= 2 else (
            f"{used} group{'s' if used != 1 else ''} with at least {minimum} rows under both "
            "models; a gap needs two")
        change, base = scalar(p.gap_change[at]), scalar(p.gap_baseline[at])
        relative = change / base if change is not None and base else None
        out[name] = GapChange(scalar(p.gap_candidate[at]), base, change, relative,
                              interval(p.gap_ci[at]), used, reason)
    return out

