"""The classes of a multiclass audit in every report: each group's confusion matrix and its
macro averages (the per-class rates and the criteria are in the per-group and criteria
tables, as every metric's are).

Every string stays plain text here; each reporter escapes it its own way.
"""

from __future__ import annotations

from typing import Any

from ..kinds.classes import MACRO, OTHER
from ..result import AuditResult, ClassGroup, ClassReport, Interval
from . import view

MACRO_NAMES = tuple(f"macro_{m}" for m in MACRO)
MACRO_TITLES = {"macro_tpr": "Macro TPR", "macro_fpr": "Macro FPR",
                "macro_precision": "Macro precision"}


def headers(report: ClassReport) -> list[str]:
    """The classes as the matrices' rows and columns read them (the pool last)."""
    return [*report.classes, *([OTHER] if report.pooled else [])]


def macro_cell(g: ClassGroup, name: str) -> tuple[str, str]:
    """A group's macro figure and its interval, as text (a dash when undefined)."""
    value = g.macro[name]
    ci: Interval | None = g.macro_ci[name]
    return view.number(value), view.interval(ci) if value is not None else ""


def matrix_rows(report: ClassReport, g: ClassGroup) -> list[tuple[str, list[str]]]:
    """Per true class, its row of the matrix; the pool's right rows are noted on its row."""
    names = headers(report)
    out = []
    for t, row in enumerate(g.confusion):
        cells = [f"{n:,}" for n in row]
        if report.pooled and t == len(names) - 1:
            cells[-1] = f"{row[-1] + g.pooled_right:,}"
        out.append((names[t], cells))
    return out


def intro(report: ClassReport) -> str:
    text = (f"{len(report.classes)} classes audited one-vs-rest: "
            + ", ".join(report.classes) + ".")
    if report.pooled:
        text += (f" Every other class is pooled as {OTHER}: a negative of each class named, "
                 "right when the prediction is the row's own class (the pool's cell counts "
                 "rows predicted as some other class of the pool too).")
    return text


def terminal_tables(result: AuditResult) -> list[Any]:
    """The terminal's tables: per grouping, the macro figures, then the matrices."""
    from rich.text import Text

    from .layout import Column, Pair, ReportTable, clean

    report = result.classes
    if report is None:
        return []
    names = headers(report)
    out = []
    for name, groups in report.groupings.items():
        t = ReportTable(Text("macro averages across ", style="italic").append(
            clean(name), style="bold"), [
            Column("group", kind="label", max_width=40, repeat=True),
            Column("rows", "right", "numbers"),
            *(Column(MACRO_TITLES[m], "right", "numbers") for m in MACRO_NAMES)])
        for g in groups:
            t.add_row(Text(clean(g.label) + (" (small)" if g.small else "")), f"{g.count:,}",
                      *(Pair(*macro_cell(g, m)) for m in MACRO_NAMES))
        out.append(t)
        m = ReportTable(Text("confusion matrices across ", style="italic").append(
            clean(name), style="bold").append(" (rows: true class; columns: predicted)"), [
            Column("group", kind="label", max_width=40, repeat=True),
            Column("true class", kind="label", max_width=24, repeat=True),
            *(Column(clean(n), "right", "numbers") for n in names)])
        for g in groups:
            rows = matrix_rows(report, g)
            for i, (true, cells) in enumerate(rows):
                m.add_row(Text(clean(g.label) if i == 0 else ""), Text(clean(true)), *cells,
                          end_section=i == len(rows) - 1)
        out.append(m)
    return out


def markdown_lines(result: AuditResult, escape: Any) -> list[str]:
    """The Markdown report's section: the classes, and per grouping the macro figures."""
    report = result.classes
    if report is None:
        return []
    lines = ["", "### Classes", "", escape(intro(report))]
    for name, groups in report.groupings.items():
        lines += ["", f"**Macro averages across {escape(name)}**", "",
                  "| Group | Rows | " + " | ".join(MACRO_TITLES[m] for m in MACRO_NAMES) + " |",
                  "| --- | ---: |" + " ---: |" * len(MACRO_NAMES)]
        for g in groups:
            cells = [" ".join(x for x in macro_cell(g, m) if x) for m in MACRO_NAMES]
            label = escape(g.label) + (" (small)" if g.small else "")
            lines.append(f"| {label} | {g.count:,} | " + " | ".join(escape(c) for c in cells)
                         + " |")
    return lines


def html_context(result: AuditResult) -> dict[str, Any] | None:
    """Plain values for the HTML template's classes section (the template escapes them)."""
    report = result.classes
    if report is None:
        return None
    return {
        "intro": intro(report),
        "classes": headers(report),
        "macro": [MACRO_TITLES[m] for m in MACRO_NAMES],
        "groupings": [
            {"name": name, "groups": [
                {"label": g.label, "rows": f"{g.count:,}", "small": g.small,
                 "macro": [macro_cell(g, m) for m in MACRO_NAMES],
                 "matrix": matrix_rows(report, g)} for g in groups]}
            for name, groups in report.groupings.items()],
    }


def json_section(report: ClassReport) -> dict[str, Any]:
    """The JSON report's ``classes`` section."""
    return {
        "classes": list(report.classes),
        "pooled": OTHER if report.pooled else None,
        "groupings": {
            name: [{"group": g.label, "rows": g.count, "small": g.small,
                    "confusion": g.confusion, "pooled_right": g.pooled_right,
                    "metrics": {m: {"value": g.macro[m],
                                    "ci": list(ci) if (ci := g.macro_ci[m]) else None}
                                for m in MACRO_NAMES}}
                   for g in groups]
            for name, groups in report.groupings.items()},
    }
