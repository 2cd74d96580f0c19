"""The terminal report: per-group figures, criteria, gates and the verdict, as text tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.text import Text

from ..counts import MANY_GROUPS
from ..result import (
    AuditResult,
    ComparisonReport,
    GateResult,
    GroupingComparison,
    GroupingResult,
    GroupResult,
    Interval,
    RangeGrouping,
    RangeReport,
    Rate,
)
from . import class_section, comparison, distribution_section, score_section, strata_section, view
from .layout import Column, Pair, ReportTable, clean

SHORT = {"base_rate": "base", "selection_rate": "selected", "precision": "PPV",
         "accuracy": "acc"}
DASH = "-"
# the width of a report that does not go to a terminal: seven rates with their
# intervals next to a group name
PIPE_WIDTH = 160


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{x:.3f}"


def _ci(ci: Interval | None) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _rate_cell(r: Rate) -> Text:
    """The value, and its interval on a second line, so the table stays narrow."""
    text = Text(_pct(r.value))
    if r.value is not None and r.ci is not None:
        text.append("\n").append(_ci(r.ci), style="dim")
    return text


def _with_ci(x: float | None, ci: Interval | None) -> Pair:
    """``0.397 [0.371, 0.424]``, a dash when undefined; a narrow table puts the
    interval under the value, and breaks neither."""
    return Pair(_pct(x), _ci(ci) if x is not None else "")


def _p(x: float | None) -> str:
    if x is None:
        return DASH
    return "<0.001" if x < 0.001 else f"{x:.3f}"


MAX_SMALL_LINES = 20


def _title(result: AuditResult, name: str) -> str:
    m = result.catalog.metric(name)
    return m.title if m else name


def shown_groups(g: GroupingResult, metrics: Sequence[str]) -> list[GroupResult]:
    """The groups the table shows (:func:`view.shown`); only those are built."""
    f = g.figures
    return [f.group(i) for i in view.shown(g, metrics)]


def _grouping_table(g: GroupingResult, result: AuditResult, subset: str = ""
                    ) -> ReportTable:
    # the metrics each outcome kind says the terminal shows, those this grouping has
    shown = [m for m in result.catalog.terminal if m in g.gaps]
    rows = shown_groups(g, shown)
    title = Text(subset, style="italic").append(clean(g.name), style="bold").append(
        f"  (reference: {clean(g.reference)}, {g.reference_rule})")
    if len(rows) < len(g.figures):
        title.append(f"\n{len(rows)} of {len(g.figures):,} groups: the reference, the highest "
                     "and lowest of each rate, the largest (--json and --html list every group)")
    columns = [Column("group", max_width=48, repeat=True),
               Column("rows", "right", "numbers", min_width=5),
               Column("share", "right", "numbers", min_width=5)]
    columns += [Column(SHORT.get(m, _title(result, m)), "right", "numbers", min_width=14)
                for m in shown]
    t = ReportTable(title, columns)
    for grp in rows:
        name = Text(clean(grp.label))
        if grp.is_reference:
            name.append(" (ref)", style="cyan")
        if grp.small:
            name.append(" (small)", style="yellow")
        t.add_row(name, f"{grp.count:,}", f"{grp.share:.1%}",
                  *[_rate_cell(grp.metrics[m]) for m in shown],
                  style="dim" if grp.small else "")
    t.add_row(Text().append("overall", style="bold"), f"{sum(g.figures.counts):,}", "100.0%",
              *[_rate_cell(g.overall[m]) for m in shown], end_section=True)
    return t


def _criteria_table(g: GroupingResult) -> ReportTable:
    t = ReportTable(f"criteria across {clean(g.name)}", [
        Column("criterion", repeat=True), Column("difference", "right", "numbers"),
        Column("ratio", "right", "numbers"), Column("p adj.", "right", "numbers"),
        Column("groups", "right", "numbers"),
        Column("to overall", "right", "numbers"), Column("ratio", "right", "numbers")])
    for name, gap in g.criteria.items():
        whole = g.to_overall.get(name)
        t.add_row(name, _with_ci(gap.difference, gap.ci_difference),
                  _with_ci(gap.ratio, gap.ci_ratio), _p(gap.p_adjusted),
                  str(gap.groups_used), _pct(whole.difference) if whole else "",
                  _pct(whole.ratio) if whole else "")
    return t


def _peer_lines(g: GroupingResult) -> list[str]:
    """The share of positive decisions and the benefit's inequality indices, one line each."""
    lines = []
    if g.ppr is not None:
        gap = g.ppr.gap
        lines.append(f"share of positive decisions (ppr) across {clean(g.name)}: difference "
                     f"{_pct(gap.difference)}, ratio {_pct(gap.ratio)}")
    q = g.inequality
    if q is not None:
        lines.append(f"benefit inequality across {clean(g.name)}: generalized entropy "
                     f"(alpha {q.alpha:g}) {_pct(q.generalized_entropy_index)}, Theil "
                     f"{_pct(q.theil_index)}; between groups "
                     f"{_pct(q.between_group_generalized_entropy_index)}, Theil "
                     f"{_pct(q.between_group_theil_index)}")
    return lines


def _too_small(g: GroupingResult) -> list[str]:
    """Each group left out of some gap, with its counts and the metrics it was left out of."""
    left: dict[tuple[str, str], list[str]] = {}
    for metric, gap in g.gaps.items():
        for e in gap.excluded:
            left.setdefault((e.group, e.reason), []).append(metric)
    by_group: dict[str, list[str]] = {}
    every = len(g.gaps)
    for (group, reason), metrics in left.items():
        which = "every metric" if len(metrics) == every else ", ".join(metrics)
        by_group.setdefault(group, []).append(f"{reason} ({which})")
    counts = dict(zip(g.figures.labels, g.figures.counts, strict=True))
    ordered = sorted(by_group.items(), key=lambda kv: counts.get(kv[0], 0))
    lines = [f"  {group} ({counts.get(group, 0):,} rows): {'; '.join(reasons)}"
             for group, reasons in ordered[:MAX_SMALL_LINES]]
    if len(ordered) > MAX_SMALL_LINES:
        lines.append(f"  ... and {len(ordered) - MAX_SMALL_LINES:,} more groups "
                     "(--json and --html list every one)")
    return lines


_STATUS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"),
           "inconclusive": ("INCONCLUSIVE", "yellow"), "skipped": ("SKIPPED", "yellow")}


def _gate_table(gates: tuple[GateResult, ...]) -> ReportTable:
    numbers = ("value", "interval", "threshold")
    t = ReportTable("gates", [Column(col, "right", "numbers") if col in numbers
                              else Column(col, repeat=col in ("grouping", "criterion"))
                              for col in ("grouping", "criterion", "gate", *numbers, "rule",
                                          "status")])
    for g in gates:
        criterion = g.criterion if g.feature is None else f"{g.feature} out of range"
        note = g.reason or (f"worst: {g.group}" if g.group and g.status == "fail" else None)
        status = Text().append(*_STATUS[g.status])
        if note:
            status.append(f" ({clean(note)})")
        t.add_row(clean(g.grouping), clean(criterion), g.kind, _pct(g.value),
                  _ci(g.ci) or DASH, f"{g.threshold:g}", g.rule, status)
    return t


def _range_table(r: RangeGrouping, numeric: set[str]) -> ReportTable:
    t = ReportTable(Text("ranges across ", style="italic").append(clean(r.name), style="bold"), [
        Column("group", kind="label", max_width=40, repeat=True),
        Column("rows", "right", "numbers"), Column("in all ranges", "right", "numbers"),
        Column("feature", repeat=True),
        *[Column(col, "right", "numbers")
          for col in ("below", "above", "not allowed", "missing")]])
    for grp in r.groups:
        name = Text(clean(grp.label))
        if grp.small:
            name.append(" (small)", style="yellow")
        for i, (feature, c) in enumerate(grp.features.items()):
            bounded = feature in numeric
            first = i == 0
            t.add_row(name if first else "", f"{grp.rows:,}" if first else "",
                      _rate_cell(grp.coverage) if first else "", clean(feature),
                      _rate_cell(c.below_share) if bounded else "",
                      _rate_cell(c.above_share) if bounded else "",
                      "" if bounded else _rate_cell(c.not_allowed_share),
                      _rate_cell(c.missing_share),
                      end_section=i == len(grp.features) - 1,
                      style="dim" if grp.small else "")
    return t


def _compare_table(all_rows: GroupingResult, trusted: GroupingResult) -> ReportTable:
    t = ReportTable(f"criteria across {clean(all_rows.name)}: all rows and trusted rows", [
        Column("criterion", repeat=True),
        *[Column(col, "right", "numbers")
          for col in ("difference", "difference, trusted", "ratio", "ratio, trusted")]])
    for name, gap in trusted.criteria.items():
        full = all_rows.criteria[name]
        t.add_row(name, _pct(full.difference), _pct(gap.difference), _pct(full.ratio),
                  _pct(gap.ratio))
    return t


def _scores_section(p: _Report, result: AuditResult) -> None:
    report, top = score_section.scores(result), score_section.tops(result)
    for g in report.groupings if report else ():
        _figure_table(p, "scores across ", g.name, score_section.table(
            g, report.has_label if report else False, view.MAX_SHOWN),
            score_section.shown_note(g, view.MAX_SHOWN), score_section.summary(g))
    if top is not None:
        p.print()
        for line in score_section.top_lines(top):
            p.print(clean(line))


def _distribution_section(p: _Report, result: AuditResult) -> None:
    report = distribution_section.report(result)
    for g in report.groupings if report else ():
        _figure_table(p, "predictions across ", g.name,
                      distribution_section.table(g, view.MAX_SHOWN),
                      distribution_section.shown_note(g, view.MAX_SHOWN),
                      distribution_section.summary(g))


def _figure_table(p: _Report, what: str, name: str,
                  table: tuple[tuple[str, ...], list[tuple[str, ...]]], note: str | None,
                  summary: str) -> None:
    """A kind's per-group table of figures (text cells), its note and its summary line."""
    header, rows = table
    title = Text(what, style="italic").append(clean(name), style="bold")
    if note:
        title.append("\n" + note)
    t = ReportTable(title, [Column(header[0], kind="label", max_width=40),
                            *[Column(h, "right", "numbers") for h in header[1:]]])
    for r in rows:
        t.add_row(*(clean(c) for c in r))
    p.print()
    p.table(t)
    p.print(clean(summary))


def _ranges_section(p: _Report, result: AuditResult, ranges: RangeReport) -> None:
    numeric = {s.feature for s in ranges.specs if s.kind == "numeric"}
    specs = ", ".join(f"{s.feature} {s.describe()}" for s in ranges.specs)
    o = ranges.overall
    p.print(clean(f"ranges: {specs}"))
    p.print(f"{o.trusted:,} of {o.rows:,} rows inside every range (trusted rows), "
            f"{o.outside:,} outside one or more, {o.unknown:,} missing a value")
    p.print("shares: below, above, not allowed of known values; missing of all rows; "
            "in all ranges of rows known inside or outside")
    for r in ranges.groupings:
        p.print()
        p.table(_range_table(r, numeric))
    for full, trusted in zip(result.groupings, result.trusted, strict=True):
        p.print()
        p.table(_grouping_table(trusted, result, subset="trusted rows: "))
        p.table(_compare_table(full, trusted))


def _strata_section(p: _Report, result: AuditResult) -> None:
    r = strata_section.report(result)
    if r is None:
        return
    p.print()
    p.print(clean(strata_section.intro(r)))
    p.print("crude = within strata + composition (Kitagawa); pooled: Mantel-Haenszel "
            "difference [interval]")
    for g in r.groupings:
        t = ReportTable(clean(strata_section.title(g, r)), [
            Column("group", kind="label", max_width=30, repeat=True),
            Column("metric", repeat=True),
            *[Column(h.lower(), "right", "numbers")
              for h in ("crude", "pooled", "within", "composition", "explained")],
            Column("CMH p", "right", "numbers"), Column("note")])
        for c in strata_section.comparisons(result, g):
            cells = strata_section.cells(c)
            pooled = _with_ci(c.mh_difference, c.ci_mh_difference)
            t.add_row(clean(cells[0]), cells[1], cells[2], pooled, *cells[4:7],
                      _p(c.cmh_p_value), clean(cells[10]))
        p.table(t)


def _change_cell(c: Any) -> Pair:
    """``+0.206 (+40%)`` with the paired interval of the change; a dash when undefined."""
    if c is None or c.change is None:
        return Pair(DASH, "")
    rel = comparison.percent(c.relative_change)
    return Pair(comparison.signed(c.change) + (f" ({rel})" if rel else ""), _ci(c.ci))


def _comparison_section(p: _Report, result: AuditResult, report: ComparisonReport) -> None:
    p.print(clean(comparison.rows_line(report)))
    shown = [m for m in comparison.SHOWN if m in report.metrics]
    for g in report.groupings:
        p.print()
        if len(g.columns) == 1:  # an intersection's changes are in the JSON and the pages
            p.table(_changes_table(result, g, shown))
        t = ReportTable(f"gaps across {clean(g.name)}: candidate against baseline", [
            Column("criterion", repeat=True), Column("candidate", "right", "numbers"),
            Column("baseline", "right", "numbers"), Column("change", "right", "numbers"),
            Column("groups", "right", "numbers")])
        for criterion, gap in g.criteria.items():
            t.add_row(criterion, _pct(gap.candidate), _pct(gap.baseline), _change_cell(gap),
                      str(gap.groups_used))
        p.table(t)
        for metric in comparison.TOLD:
            line = comparison.sentence(g, metric, _title(result, metric))
            if line and metric in report.metrics:
                p.print(clean(line))


def _changes_table(result: AuditResult, g: GroupingComparison, shown: Sequence[str]
                   ) -> ReportTable:
    """Each group's change per metric; the largest groups when there are many."""
    groups = sorted(g.groups, key=lambda x: -x.rows)[:view.MAX_SHOWN]
    t = ReportTable(f"change per group across {clean(g.name)} (candidate minus baseline)",
                    [Column("group", kind="label", max_width=40, repeat=True),
                     Column("rows", "right", "numbers"),
                     *[Column(SHORT.get(m, _title(result, m)), "right", "numbers")
                       for m in shown]])
    chosen = {id(x) for x in groups}
    kept = [x for x in g.groups if id(x) in chosen]  # in the grouping's order
    for grp in (*kept, g.overall):
        name = Text(clean(grp.label))
        if grp.small:
            name.append(" (small)", style="yellow")
        t.add_row(name, f"{grp.rows:,}", *[_change_cell(grp.metrics.get(m)) for m in shown],
                  style="dim" if grp.small else "", end_section=bool(kept) and grp is kept[-1])
    if len(g.groups) > len(kept):
        t.add_row(f"... {len(g.groups) - len(kept):,} smaller groups (--json lists every one)",
                  "", *[""] * len(shown))
    return t


def _terminal_width(out: TextIO) -> int:
    """The width of the terminal ``out`` writes to: ``COLUMNS`` if set, else as it reports."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(out.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        import shutil

        return shutil.get_terminal_size().columns


class _Report:
    """The console the report goes to and its width: lines of text, and tables."""

    def __init__(self, console: Console, width: int) -> None:
        self.console = console
        self.width = width

    def print(self, text: str = "") -> None:
        # a Text, never a str, which rich would read as markup and emoji codes
        self.console.print(Text(text))

    def table(self, table: ReportTable) -> None:
        table.print(self.console, self.width)


def _report(out: TextIO, width: int | None, color: bool | None) -> _Report:
    """Escape codes when ``color`` is set, or left unset and ``out`` is a terminal (or
    ``FORCE_COLOR`` is set) that is not ``TERM=dumb``; ``NO_COLOR`` then drops the colours
    and keeps bold, dim and italic. rich reads those variables itself."""
    try:
        tty = out.isatty()
    except ValueError:  # closed
        tty = False
    if width is None:
        width = _terminal_width(out) if tty else PIPE_WIDTH
    # the colours used are the 16 standard ones, the same in every colour system
    system: Literal["auto", "standard"] | None = "auto" if color is None else \
        "standard" if color else None
    # rich takes a dumb terminal to be 80 columns wide unless given a height too; the
    # report has no use for the height
    console = Console(file=out, width=width, height=25, color_system=system,
                      force_terminal=color,
                      no_color=None if color is None else not color, highlight=False,
                      markup=False, emoji=False, force_jupyter=False, soft_wrap=False)
    return _Report(console, width)


def render(result: AuditResult, out: TextIO, *, width: int | None = None,
           color: bool | None = None) -> None:
    """Write the report to ``out``: ``width`` cells wide (the terminal's, or
    :data:`PIPE_WIDTH` when ``out`` is not a terminal), in colour on a terminal."""
    p = _report(out, width, color)
    prov = result.provenance
    files = f"{len(prov.files):,} file{'s' if len(prov.files) != 1 else ''}"
    dropped = sum(prov.dropped.values())
    line = f"{files}, {prov.rows_read:,} rows read, {prov.rows_used:,} audited"
    if dropped:
        parts = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in prov.dropped.items() if n)
        line += f", {dropped:,} dropped ({parts})"
    p.print(line + view.skipped_text(result))
    for g in result.groupings:
        p.print()
        p.table(_grouping_table(g, result))
        p.table(_criteria_table(g))
        for line in _peer_lines(g):
            p.print(line)
        small = _too_small(g)
        if small:
            p.print(f"too small to judge across {clean(g.name)} (left out of gaps and gates):")
            for line in small:
                p.print(clean(line))
    _scores_section(p, result)
    _distribution_section(p, result)
    if result.ranges is not None:
        p.print()
        _ranges_section(p, result, result.ranges)
    _strata_section(p, result)
    if result.classes is not None:
        p.print()
        p.print(clean(class_section.intro(result.classes)))
        for table in class_section.terminal_tables(result):
            p.table(table)
    if result.comparison is not None:
        p.print()
        _comparison_section(p, result, result.comparison)
    if result.gates:
        p.print()
        p.table(_gate_table(result.gates))
    p.print()
    if any(any(g.figures.small) for g in result.groupings):
        p.print(f"(small): fewer than {result.min_group_size:,} rows; shown, but left out "
                "of gaps and gates")
    p.print(verdict_line(result))


def verdict_line(result: AuditResult) -> str:
    n = len(result.gates)
    failed = len(result.failed)
    unsure = len(result.inconclusive)
    skipped = sum(1 for g in result.gates if g.status == "skipped")
    if n == 0:
        return "verdict: PASS (no gates set; report only)"
    text = (f"verdict: {result.verdict.upper()} ({n - failed - unsure - skipped:,} of {n:,} "
            "gates passed")
    if failed:
        text += f", {failed:,} failed"
    if unsure:
        text += f", {unsure:,} inconclusive"
    if skipped:
        text += f", {skipped:,} skipped"
    return text + ")"


def many_groups(result: AuditResult) -> list[str]:
    """A warning line for each group column with more than ``MANY_GROUPS`` distinct values:
    an id given as a group, most likely, with a report of one row a person."""
    out = []
    for g in result.groupings:
        n = len(g.figures.labels)
        if len(g.columns) == 1 and n > MANY_GROUPS:
            out.append(clean(f"fairaudit: warning: group column '{g.name}' has {n:,} distinct "
                             f"values (more than {MANY_GROUPS:,}); is it an id rather than a "
                             "group? max_groups refuses a column above its limit"))
    return out
