"""What the human-facing reports (HTML, Markdown, JUnit) read from a result, in one place.

Fields that only some results carry (intervals, p-values, gate rules, range
checks) are read here with ``getattr`` so that every reporter shows them when
they are present and works unchanged when they are not. This module also
holds the few judgements the reports share: how a number is written, which
metrics matter most, and which groups are worst off.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..kinds import registered
from ..kinds.numeric import numeric_title
from ..kinds.strata import PREFIX as STRATIFIED
from ..metrics import Criterion, Metric
from ..rangespec import RangeSpec
from ..result import (
    AuditResult,
    Gap,
    GateResult,
    GroupingResult,
    GroupResult,
    RangeGroup,
    RangeGrouping,
    RangeReport,
)

DASH = "\u2013"  # an en dash: an undefined number, never a zero

# Shape and word for every status, so that no reader depends on colour alone.
MARK = {"pass": "✓", "fail": "✗", "inconclusive": "?", "skipped": "○"}
WORD = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "SKIPPED"}

# The per-group rates of binary decisions a person reads first; the charts draw these
# (each outcome kind says which of its metrics the tables and charts show).
CHART_METRICS = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
# Without gates, "worst off" is judged on these criteria.
DEFAULT_FOCUS = ("demographic_parity", "equalized_odds")

Interval = tuple[float, float]


@dataclass(frozen=True)
class Cell:
    """A number as a table shows it: the value, its interval, and a note for its tooltip."""

    text: str
    ci: str = ""
    note: str = ""


# -- optional fields --------------------------------------------------------------


def _interval(value: Any) -> Interval | None:
    if value is None:
        return None
    try:
        lo, hi = value
        return float(lo), float(hi)
    except (TypeError, ValueError):
        return None


def rate_ci(rate: Any) -> Interval | None:
    """The interval of a per-group rate, when the audit computed one."""
    return _interval(getattr(rate, "ci", None))


def gap_ci(gap: Gap, kind: str) -> Interval | None:
    """The interval of a gap's difference (``max_gap``) or ratio (``min_ratio``)."""
    name = "ci_difference" if kind in ("max_gap", "difference") else "ci_ratio"
    return _interval(getattr(gap, name, None))


def gap_p(gap: Gap) -> tuple[float | None, float | None]:
    """The p-value of a gap and the one adjusted for multiple comparisons, when present."""
    return getattr(gap, "p_value", None), getattr(gap, "p_adjusted", None)


def gate_ci(gate: GateResult) -> Interval | None:
    return _interval(getattr(gate, "ci", None))


def gate_rule(gate: GateResult) -> str | None:
    rule = getattr(gate, "rule", None)
    return None if rule is None else str(rule)


def status(gate: GateResult) -> str:
    return str(gate.status)


def verdict(result: AuditResult) -> str:
    return str(result.verdict)


def ranges(result: AuditResult) -> Any:
    """The range checks, when the audit was given ranges (else ``None``)."""
    return getattr(result, "ranges", None)


def trusted(result: AuditResult) -> Any:
    """Figures on the rows inside every range, when the audit computed them."""
    return getattr(result, "trusted", None) or None


def has_intervals(result: AuditResult) -> bool:
    for g in result.groupings:
        for grp in g.groups:
            if any(rate_ci(r) for r in grp.metrics.values()):
                return True
    return any(gate_ci(g) for g in result.gates)


# -- words and numbers ------------------------------------------------------------


def number(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    return f"{x:.{digits}f}"


def p_text(p: float | None) -> str | None:
    """A p-value to three places; one below 0.001 is "<0.001", never "0.000"."""
    if p is None:
        return None
    return "<0.001" if p < 0.001 else number(p)


def interval(ci: Interval | None, digits: int = 3) -> str:
    return "" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def threshold(x: float) -> str:
    return f"{x:g}"


def _metric(name: str) -> Metric | None:
    return next((m for k in registered() for m in k.declared_metrics if m.name == name), None)


def _criterion(name: str) -> Criterion | None:
    return next((c for k in registered() for c in k.declared_criteria if c.name == name), None)


def metric_title(name: str) -> str:
    m = _metric(name)
    return m.title if m else (numeric_title(name) or name)


def criterion_title(name: str) -> str:
    from ..kinds.classes import title

    within = name.startswith(STRATIFIED)
    name = name[len(STRATIFIED):] if within else name
    text = title(name) or numeric_title(name) or name.replace("_", " ").capitalize()
    return f"{text} within strata" if within else text


def kind_words(kind: str) -> tuple[str, str]:
    """What a gate bounds and how: ``("gap", "largest allowed")``."""
    if kind == "max_out_of_range":
        return "share", "largest allowed"
    if kind == "max_increase":
        return "growth of the gap", "largest allowed"
    if kind == "max_drop":
        return "fall of a group's rate", "largest allowed"
    return ("gap", "largest allowed") if kind == "max_gap" else ("ratio", "smallest allowed")


def gate_title(gate: GateResult) -> str:
    """What a gate judges: the criterion, or for a range gate the feature."""
    if gate.kind == "max_out_of_range":
        return f"Out of range: {gate.feature}"
    if gate.kind == "max_drop":
        return metric_title(gate.criterion)
    return criterion_title(gate.criterion)


def gate_sentence(gate: GateResult) -> str:
    """One line: "Equalized odds gap across race: 0.397, threshold 0.1 (largest allowed)".

    A range gate names its feature and the group furthest out of range:
    "Share of income out of range across age_band: 0.413 in 18-25, threshold 0.2
    (largest allowed)".
    """
    what, bound = kind_words(gate.kind)
    value = number(gate.value)
    ci = gate_ci(gate)
    if ci:
        value += f" {interval(ci)}"
    if gate.kind == "max_out_of_range":
        where = f" in {gate.group}" if gate.group is not None else ""
        text = (f"Share of {gate.feature} out of range across {gate.grouping}: {value}{where}, "
                f"threshold {threshold(gate.threshold)} ({bound})")
    elif gate.kind == "max_increase":
        text = (f"{criterion_title(gate.criterion)} gap across {gate.grouping}, candidate "
                f"minus baseline: {value}, threshold {threshold(gate.threshold)} ({bound})")
    elif gate.kind == "max_drop":
        where = f" (most in {gate.group})" if gate.group is not None else ""
        text = (f"Fall of {metric_title(gate.criterion)} across {gate.grouping}, baseline "
                f"minus candidate: {value}{where}, threshold {threshold(gate.threshold)} "
                f"({bound})")
    else:
        text = (f"{criterion_title(gate.criterion)} {what} across {gate.grouping}: {value}, "
                f"threshold {threshold(gate.threshold)} ({bound})")
    return text + (f"; {gate.reason}" if gate.reason else "")


def verdict_summary(result: AuditResult) -> str:
    n = len(result.gates)
    if n == 0:
        return "No gates were set: this audit reports and does not judge."
    counts: dict[str, int] = {}
    for g in result.gates:
        counts[status(g)] = counts.get(status(g), 0) + 1
    done = {"fail": "failed", "inconclusive": "inconclusive", "skipped": "skipped",
            "pass": "passed"}
    parts = [f"{counts[s]} {word}" for s, word in done.items() if counts.get(s)]
    return f"{n:,} gate{'s' if n != 1 else ''}: " + ", ".join(parts) + "."


def files_line(result: AuditResult) -> str:
    p = result.provenance
    files = f"{len(p.files):,} file{'s' if len(p.files) != 1 else ''}"
    line = f"{p.rows_read:,} rows read from {files}, {p.rows_used:,} audited"
    dropped = {r: n for r, n in p.dropped.items() if n}
    if dropped:
        parts = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in dropped.items())
        line += f", {sum(dropped.values()):,} dropped ({parts})"
    return line + skipped_text(result)


def skipped(result: AuditResult) -> list[tuple[str, int]]:
    """Rows audited but skipped by one outcome (an empty or non-finite measure), per cell.

    These rows count in the group sizes; only the outcome that needs the
    missing value leaves them out. Every grouping sums to the same totals.
    """
    if not result.groupings:
        return []
    f = result.groupings[0].figures
    base = set(result.provenance.dropped)
    totals = [sum(row[i] for row in f.dropped) for i in range(len(f.drop_reasons))]
    return [(r, n) for r, n in zip(f.drop_reasons, totals, strict=True)
            if r not in base and n]


def skipped_text(result: AuditResult) -> str:
    """``; skipped: 79 rows without a finite wer`` (empty when nothing was skipped)."""
    parts = [f"{n:,} rows without a finite {r.removesuffix(':skipped')}"
             for r, n in skipped(result)]
    return "; skipped: " + ", ".join(parts) if parts else ""


def formula(name: str, result: AuditResult) -> str:
    """A metric's formula over its cells, e.g. ``FP / (TN + FP)``."""
    cells = result.catalog.cells
    m = result.catalog.metric(name)
    assert m is not None

    def side(idx: tuple[int, ...]) -> str:
        if [cells[i] for i in idx] == ["tn", "fp", "fn", "tp"]:
            return "all rows"
        text = " + ".join(cells[i].upper() for i in idx)
        return f"({text})" if len(idx) > 1 else text

    return f"{side(m.numerator)} / {side(m.denominator)}"


# -- which metrics, which groups ------------------------------------------------


def focus_metrics(result: AuditResult) -> tuple[str, ...]:
    """The metrics behind the gated criteria (or the default criteria when none is gated)."""
    names = [g.criterion for g in result.gates] or list(DEFAULT_FOCUS)
    wanted = {m for c in names if (found := result.catalog.criterion(c)) for m in found.metrics}
    out = tuple(m for m in result.metrics if m in wanted)
    return out or tuple(m for m in ("selection_rate",) if m in result.metrics)


def judged(grouping: GroupingResult, metric: str) -> list[int]:
    """The positions of the groups that count in this metric's gap (big enough, and
    defined), read from the grouping's columns of figures."""
    f = grouping.figures
    if metric not in grouping.gaps:
        return []
    j = f.metrics.index(metric)
    return [i for i, (ok, values) in enumerate(zip(f.eligible, f.value, strict=True))
            if ok[j] and values[j] is not None]


def left_out(grouping: GroupingResult) -> dict[str, dict[str, str]]:
    """For each group left out of some metric's gap: the metrics, each with its reason
    (too small a group, too few rows in the metric's denominator, or none at all)."""
    out: dict[str, dict[str, str]] = {}
    for metric, gap in grouping.gaps.items():
        for e in gap.excluded:
            out.setdefault(e.group, {})[metric] = e.reason
    return out


def left_out_reasons(grouping: GroupingResult) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each group left out of a gap, with every reason and the metrics it applies to
    (``every metric`` when it applies to all of them), in the order the gaps name them."""
    out = []
    for group, reasons in left_out(grouping).items():
        by_reason: dict[str, list[str]] = {}
        for metric, reason in reasons.items():
            by_reason.setdefault(reason, []).append(metric)
        out.append((group, [
            (reason, "every metric" if len(metrics) == len(grouping.gaps)
             else ", ".join(metric_title(m) for m in metrics))
            for reason, metrics in by_reason.items()]))
    return out


# A grouping with more groups (a store or zip-code column) shows the ones that matter
# in the terminal table and the HTML chart; the JSON and the HTML table list every group.
MAX_SHOWN = 30


def shown(grouping: GroupingResult, metrics: Sequence[str], limit: int = MAX_SHOWN
          ) -> list[int]:
    """The positions of at most ``limit`` groups, in table order: the reference group,
    the highest and lowest group of each metric among the groups that are judged,
    then the largest groups.

    Ties go to the first group for the lowest value and to the last for the
    highest; among groups of one size, to the first. The choice is made on the
    grouping's columns of figures, without building any group.
    """
    f = grouping.figures
    n = len(f)
    if n <= limit:
        return list(range(n))
    keep = {f.reference} if 0 <= f.reference < n else set()
    for m in metrics:
        j = f.metrics.index(m)
        values = np.array([row[j] for row in f.value], dtype=float)  # None is NaN
        ok = np.array([row[j] for row in f.eligible], dtype=bool) & ~np.isnan(values)
        where = np.flatnonzero(ok)
        if where.size:
            v = values[where]
            keep.add(int(where[np.argmin(v)]))
            keep.add(int(where[where.size - 1 - np.argmax(v[::-1])]))
    if len(keep) < limit:
        for i in np.argsort(-np.array(f.counts, dtype=np.int64), kind="stable"):
            keep.add(int(i))
            if len(keep) >= limit:
                break
    return sorted(keep)


@dataclass(frozen=True)
class Extremes:
    metric: str
    low: GroupResult
    high: GroupResult
    difference: float
    ratio: float | None


def extremes(grouping: GroupingResult, metric: str) -> Extremes | None:
    """The lowest and highest eligible groups on a metric: the pair that makes its gap."""
    groups = [grouping.groups[i] for i in judged(grouping, metric)]
    if len(groups) < 2:
        return None
    ordered = sorted(groups, key=lambda g: g.metrics[metric].value or 0.0)
    low, high = ordered[0], ordered[-1]
    lo, hi = low.metrics[metric].value or 0.0, high.metrics[metric].value or 0.0
    return Extremes(metric, low, high, hi - lo, lo / hi if hi > 0 else None)


def criterion_extremes(grouping: GroupingResult, criterion: str) -> Extremes | None:
    """For a criterion over several metrics, the pair behind its largest difference."""
    c = _criterion(criterion)
    if c is None:
        return None
    found = [e for m in c.metrics if (e := extremes(grouping, m)) is not None]
    return max(found, key=lambda e: e.difference) if found else None


def worst_gaps(result: AuditResult, limit: int = 5) -> list[tuple[GroupingResult, Extremes]]:
    """The widest gaps on the focus metrics, over every grouping, widest first."""
    found = [(g, e) for g in result.groupings for m in focus_metrics(result)
             if (e := extremes(g, m)) is not None]
    found.sort(key=lambda ge: -ge[1].difference)
    return found[:limit]


@dataclass(frozen=True)
class Standing:
    """A group's place in the worst-off order."""

    group: GroupResult
    distance: float | None  # largest |value - reference value| on the focus metrics
    metric: str | None  # the metric that distance is on
    difference: float | None  # signed: group minus reference


def worst_off(grouping: GroupingResult, metrics: Sequence[str]) -> list[Standing]:
    """Groups sorted worst off first.

    A group's distance is its largest absolute difference from the reference
    group over ``metrics``, counting only metrics on which the group is
    eligible (big enough and defined). Larger distances come first; groups with
    no eligible metric (too small to judge) come last, largest first; ties go
    to the larger group.
    """
    out = []
    counted = {m: set(judged(grouping, m)) for m in metrics}
    for i, grp in enumerate(grouping.groups):
        best: tuple[float, str, float] | None = None
        for m in metrics:
            d = grp.versus_reference.get(m)
            if d is None or d.difference is None or i not in counted[m]:
                continue
            if best is None or abs(d.difference) > best[0]:
                best = (abs(d.difference), m, d.difference)
        out.append(Standing(grp, *(best if best else (None, None, None))))
    out.sort(key=lambda s: (s.distance is None, -(s.distance or 0.0), -s.group.count,
                            s.group.label))
    return out


# -- shapes the reports do not know in advance -------------------------------------


def plain(value: Any) -> str:
    """Any value as one line of text (numbers rounded, collections joined)."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value) if abs(value) < 1e6 else f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items()) or DASH
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(plain(v) for v in value) or DASH
    return str(value)


def table_of(value: Any) -> tuple[list[str], list[list[str]]]:
    """A generic table: a list of records becomes rows; a mapping or record, key/value rows."""
    def record(v: Any) -> Mapping[str, Any] | None:
        if isinstance(v, Mapping):
            return v
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
        return None

    if isinstance(value, (list, tuple)) and value and all(record(v) is not None for v in value):
        recs = [record(v) or {} for v in value]
        heads: list[str] = []
        for r in recs:
            heads += [k for k in r if k not in heads]
        return heads, [[plain(r.get(h)) for h in heads] for r in recs]
    rec = record(value)
    if rec is not None:
        return ["item", "value"], [[str(k), plain(v)] for k, v in rec.items()]
    if isinstance(value, (list, tuple)):
        return ["item"], [[plain(v)] for v in value]
    return ["value"], [[plain(value)]]


def config_rows(result: AuditResult) -> list[tuple[str, str, str]]:
    """Every resolved config value with where it came from (flattened gates and ranges)."""
    p = result.provenance
    rows = []
    for key, value in p.config.items():
        if key == "gates":
            for kind, table in value.items():
                for gkey, t in table.items():
                    name = f"gates.{kind}.{gkey}"
                    rows.append((name, threshold(t), p.sources.get(name, DASH)))
            continue
        if key == "ranges" and isinstance(value, Mapping):
            for feature, spec in value.items():
                name = f"ranges.{feature}"
                rows.append((name, _declared(spec), p.sources.get(name, DASH)))
            continue
        shown = f"{value:g}" if isinstance(value, float) else plain(value)
        rows.append((key, shown, p.sources.get(key, DASH)))
    return rows


def _declared(spec: Any) -> str:
    """A ``[ranges]`` entry as it would be written in the config file."""
    if not isinstance(spec, Mapping):
        return plain(spec)
    if spec.get("allowed") is not None:
        return "allowed = [" + ", ".join(repr(v) for v in spec["allowed"]) + "]"
    return ", ".join(f"{k} = {bound(spec[k])}" for k in ("min", "max")
                     if spec.get(k) is not None) or DASH


# -- range checks -------------------------------------------------------------------


def bound(x: float) -> str:
    """A range bound as declared: 701.79, 93628 (never rounded, never 93628.0)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def range_text(spec: RangeSpec) -> str:
    """A trusted range in words: "701.79 to 12307.73", "at most 50000", "one of a, b"."""
    if spec.allowed is not None:
        return "one of " + ", ".join(str(v) for v in spec.allowed)
    if spec.min is not None and spec.max is not None:
        return f"{bound(spec.min)} to {bound(spec.max)}"
    if spec.min is not None:
        return f"at least {bound(spec.min)}"
    return f"at most {bound(spec.max)}" if spec.max is not None else DASH


def covered(grouping: RangeGrouping, group: RangeGroup) -> bool:
    """Whether the group counts in the coverage gap (big enough, and defined)."""
    return group.coverage.value is not None and all(
        e.group != group.label for e in grouping.coverage.excluded)


def least_covered(grouping: RangeGrouping) -> RangeGroup | None:
    """The group most often out of range: the lowest share inside every range.

    Only groups the coverage gap compares are candidates, and only when some
    group is out of range at all; ties go to the first group.
    """
    groups = [g for g in grouping.groups if covered(grouping, g)]
    if len(groups) < 2:
        return None
    worst = min(groups, key=lambda g: g.coverage.value if g.coverage.value is not None else 1.0)
    return worst if (worst.coverage.value or 0.0) < 1.0 else None


@dataclass(frozen=True)
class OutOfRange:
    """The group with the largest share of a feature's known values out of range."""

    feature: str
    grouping: str
    group: RangeGroup
    share: float


def worst_out_of_range(report: RangeReport, minimum: int) -> list[OutOfRange]:
    """Per declared feature, over every grouping, the group furthest out of range.

    Groups are judged as the out-of-range gates judge them: a group under
    ``minimum`` rows, or with fewer known values, is left out.
    """
    out = []
    for spec in report.specs:
        best: OutOfRange | None = None
        for grouping in report.groupings:
            for g in grouping.groups:
                check = g.features[spec.feature]
                share = check.outside_share.value
                if g.small or check.known < minimum or share is None:
                    continue
                if best is None or share > best.share:
                    best = OutOfRange(spec.feature, grouping.name, g, share)
        if best is not None:
            out.append(best)
    return out
