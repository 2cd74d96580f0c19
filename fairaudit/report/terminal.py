"""Terminal tables with rich: per-group figures, criteria, gates and the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..metrics import METRIC_BY_NAME
from ..ranges import RangeGrouping, RangeReport
from ..result import AuditResult, GateResult, GroupingResult, GroupResult, Interval, Rate

# FNR is 1 - TPR (and its interval TPR's mirrored), so the table leaves it to the JSON
KEY_METRICS = ("base_rate", "selection_rate", "tpr", "fpr", "precision", "accuracy")
SHORT = {"base_rate": "base", "selection_rate": "selected", "precision": "PPV",
         "accuracy": "acc"}
DASH = "-"


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{x:.3f}"


def _ci(ci: Interval | None) -> str:
    return "" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _with_ci(x: float | None, ci: Interval | None) -> str:
    """``0.397 [0.371, 0.424]``; a dash when undefined."""
    return _pct(x) if x is None or ci is None else f"{_pct(x)} {_ci(ci)}"


def _rate_cell(r: Rate) -> Text:
    """The value, and its interval on a second line, so the table stays narrow."""
    text = Text(_pct(r.value))
    if r.value is not None and r.ci is not None:
        text.append("\n" + _ci(r.ci), style="dim")
    return text


def _p(x: float | None) -> str:
    if x is None:
        return DASH
    return "<0.001" if x < 0.001 else f"{x:.3f}"


# A grouping with more groups (a store or zip-code column) shows the ones that matter
# in the terminal; the JSON and HTML reports list every group.
MAX_GROUPS = 30
MAX_SMALL_LINES = 20


def shown_groups(g: GroupingResult, metrics: Sequence[str], minimum: int
                 ) -> list[GroupResult]:
    """At most :data:`MAX_GROUPS` groups, in table order: the reference group, the
    highest and lowest group of each metric among the groups that are judged, then
    the largest groups."""
    groups = g.groups
    if len(groups) <= MAX_GROUPS:
        return list(groups)
    keep = {i for i, grp in enumerate(groups) if grp.is_reference}
    for m in metrics:
        judged = [(r.value, i) for i, grp in enumerate(groups)
                  if not grp.small and (r := grp.metrics[m]).value is not None
                  and r.denominator >= minimum]
        if judged:
            keep.update((min(judged)[1], max(judged)[1]))
    for i in sorted(range(len(groups)), key=lambda i: -groups[i].count):
        if len(keep) >= MAX_GROUPS:
            break
        keep.add(i)
    return [groups[i] for i in sorted(keep)]


def _grouping_table(g: GroupingResult, metrics: tuple[str, ...], minimum: int,
                    subset: str = "") -> Table:
    shown = [m for m in KEY_METRICS if m in metrics]
    rows = shown_groups(g, shown, minimum)
    title = f"{subset}[bold]{g.name}[/bold]  (reference: {g.reference}, {g.reference_rule})"
    if len(rows) < len(g.groups):
        title += (f"\n{len(rows)} of {len(g.groups):,} groups: the reference, the highest and "
                  "lowest of each rate, the largest (--json and --html list every group)")
    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("group", max_width=48)
    t.add_column("rows", justify="right", no_wrap=True, min_width=5)
    t.add_column("share", justify="right", no_wrap=True, min_width=5)
    for m in shown:
        t.add_column(SHORT.get(m, METRIC_BY_NAME[m].title), justify="right", no_wrap=True,
                     min_width=14)
    for grp in rows:
        name = Text(grp.label)
        if grp.is_reference:
            name.append(" (ref)", style="cyan")
        if grp.small:
            name.append(" (small)", style="yellow")
        t.add_row(name, f"{grp.count:,}", f"{grp.share:.1%}",
                  *[_rate_cell(grp.metrics[m]) for m in shown],
                  style="dim" if grp.small else None)
    t.add_row(Text("overall", style="bold"), f"{sum(x.count for x in g.groups):,}", "100.0%",
              *[_rate_cell(g.overall[m]) for m in shown], end_section=True)
    return t


def _criteria_table(g: GroupingResult) -> Table:
    t = Table(title=f"criteria across {g.name}", title_justify="left", header_style="bold")
    t.add_column("criterion")
    t.add_column("difference", justify="right")
    t.add_column("ratio", justify="right")
    t.add_column("p adj.", justify="right")
    t.add_column("groups", justify="right")
    for name, gap in g.criteria.items():
        t.add_row(name, _with_ci(gap.difference, gap.ci_difference),
                  _with_ci(gap.ratio, gap.ci_ratio), _p(gap.p_adjusted), str(gap.groups_used))
    return t


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
    counts = {grp.label: grp.count for grp in g.groups}
    ordered = sorted(by_group.items(), key=lambda kv: counts.get(kv[0], 0))
    lines = [f"  {group} ({counts.get(group, 0):,} rows): {'; '.join(reasons)}"
             for group, reasons in ordered[:MAX_SMALL_LINES]]
    if len(ordered) > MAX_SMALL_LINES:
        lines.append(f"  ... and {len(ordered) - MAX_SMALL_LINES:,} more groups "
                     "(--json and --html list every one)")
    return lines


_STATUS = {"pass": "[green]PASS[/green]", "fail": "[bold red]FAIL[/bold red]",
           "inconclusive": "[yellow]INCONCLUSIVE[/yellow]",
           "skipped": "[yellow]SKIPPED[/yellow]"}


def _gate_table(gates: tuple[GateResult, ...]) -> Table:
    t = Table(title="gates", title_justify="left", header_style="bold")
    for col in ("grouping", "criterion", "gate", "value", "interval", "threshold", "rule",
                "status"):
        t.add_column(col, justify="right" if col in ("value", "interval", "threshold")
                     else "left")
    for g in gates:
        criterion = g.criterion if g.feature is None else f"{g.feature} out of range"
        note = g.reason or (f"worst: {g.group}" if g.group and g.status == "fail" else None)
        status = Text.from_markup(_STATUS[g.status])
        if note:
            status.append(f" ({note})")
        t.add_row(g.grouping, criterion, g.kind, _pct(g.value), _ci(g.ci) or DASH,
                  f"{g.threshold:g}", g.rule, status)
    return t


def _range_table(r: RangeGrouping, numeric: set[str]) -> Table:
    t = Table(title=f"ranges across [bold]{r.name}[/bold]", title_justify="left",
              header_style="bold")
    t.add_column("group", no_wrap=True, max_width=40, overflow="ellipsis")
    t.add_column("rows", justify="right")
    t.add_column("in all ranges", justify="right")
    t.add_column("feature")
    for col in ("below", "above", "not allowed", "missing"):
        t.add_column(col, justify="right")
    for grp in r.groups:
        name = Text(grp.label)
        if grp.small:
            name.append(" (small)", style="yellow")
        for i, (feature, c) in enumerate(grp.features.items()):
            bounded = feature in numeric
            first = i == 0
            t.add_row(name if first else "", f"{grp.rows:,}" if first else "",
                      _rate_cell(grp.coverage) if first else "", feature,
                      _rate_cell(c.below_share) if bounded else "",
                      _rate_cell(c.above_share) if bounded else "",
                      "" if bounded else _rate_cell(c.not_allowed_share),
                      _rate_cell(c.missing_share),
                      end_section=i == len(grp.features) - 1,
                      style="dim" if grp.small else None)
    return t


def _compare_table(all_rows: GroupingResult, trusted: GroupingResult) -> Table:
    t = Table(title=f"criteria across {all_rows.name}: all rows and trusted rows",
              title_justify="left", header_style="bold")
    t.add_column("criterion")
    for col in ("difference", "difference, trusted", "ratio", "ratio, trusted"):
        t.add_column(col, justify="right")
    for name, gap in trusted.criteria.items():
        full = all_rows.criteria[name]
        t.add_row(name, _pct(full.difference), _pct(gap.difference), _pct(full.ratio),
                  _pct(gap.ratio))
    return t


def _ranges_section(console: Console, result: AuditResult, ranges: RangeReport) -> None:
    numeric = {s.feature for s in ranges.specs if s.kind == "numeric"}
    specs = ", ".join(f"{s.feature} {s.describe()}" for s in ranges.specs)
    o = ranges.overall
    console.print(f"ranges: {specs}")
    console.print(f"{o.trusted:,} of {o.rows:,} rows inside every range (trusted rows), "
                  f"{o.outside:,} outside one or more, {o.unknown:,} missing a value")
    console.print("shares: below, above, not allowed of known values; missing of all rows; "
                  "in all ranges of rows known inside or outside")
    for r in ranges.groupings:
        console.print()
        console.print(_range_table(r, numeric))
    for full, trusted in zip(result.groupings, result.trusted, strict=True):
        console.print()
        console.print(_grouping_table(trusted, result.metrics, result.min_group_size,
                                      subset="trusted rows: "))
        console.print(_compare_table(full, trusted))


def render(result: AuditResult, out: TextIO, *, width: int | None = None,
           color: bool | None = None) -> None:
    if width is None and not out.isatty():
        # wide enough for seven rates with their intervals next to a group name
        width = 160
    console = Console(file=out, width=width, no_color=color is False,
                      force_terminal=color if color else None, highlight=False)
    p = result.provenance
    files = f"{len(p.files)} file{'s' if len(p.files) != 1 else ''}"
    dropped = sum(p.dropped.values())
    line = f"{files}, {p.rows_read:,} rows read, {p.rows_used:,} audited"
    if dropped:
        parts = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in p.dropped.items() if n)
        line += f", {dropped:,} dropped ({parts})"
    console.print(line)
    for g in result.groupings:
        console.print()
        console.print(_grouping_table(g, result.metrics, result.min_group_size))
        console.print(_criteria_table(g))
        small = _too_small(g)
        if small:
            console.print(f"too small to judge across {g.name} (left out of gaps and gates):",
                          markup=False)
            for line in small:
                console.print(line, markup=False)
    if result.ranges is not None:
        console.print()
        _ranges_section(console, result, result.ranges)
    if result.gates:
        console.print()
        console.print(_gate_table(result.gates))
    console.print()
    if any(grp.small for g in result.groupings for grp in g.groups):
        console.print(f"(small): fewer than {result.min_group_size} rows; shown, but left out "
                      "of gaps and gates")
    console.print(verdict_line(result))


def verdict_line(result: AuditResult) -> str:
    n = len(result.gates)
    failed = len(result.failed)
    unsure = len(result.inconclusive)
    skipped = sum(1 for g in result.gates if g.status == "skipped")
    if n == 0:
        return "verdict: PASS (no gates set; report only)"
    text = (f"verdict: {result.verdict.upper()} ({n - failed - unsure - skipped} of {n} "
            "gates passed")
    if failed:
        text += f", {failed} failed"
    if unsure:
        text += f", {unsure} inconclusive"
    if skipped:
        text += f", {skipped} skipped"
    return text + ")"
