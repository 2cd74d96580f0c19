"""The HTML report's comparison with a baseline, as plain values for the template.

Per criterion, a before/after chart of every grouping's gap under the
baseline and the candidate, with the change and its paired interval; per
grouping, the table of gaps under both models and each group's change per
metric; the changes in words. Every string stays plain text here; the
template escapes it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ..result import AuditResult, Change, GroupingComparison
from . import comparison, view
from .view import Cell


def _cell(c: Change | None) -> Cell:
    if c is None or c.change is None:
        return Cell(view.DASH)
    rel = comparison.percent(c.relative_change)
    note = (f"candidate {view.number(c.candidate.value)}, baseline "
            f"{view.number(c.baseline.value)}")
    return Cell(comparison.signed(c.change) + (f" ({rel})" if rel else ""),
                view.interval(c.ci, 2), note)


def _grouping(result: AuditResult, g: GroupingComparison, shown: list[str]) -> dict[str, Any]:
    groups = sorted(g.groups, key=lambda x: -x.rows)[:view.MAX_SHOWN]
    chosen = {id(x) for x in groups}
    return {
        "name": g.name,
        "criteria": [{"name": view.criterion_title(n), "candidate": view.number(x.candidate),
                      "baseline": view.number(x.baseline),
                      "change": Cell(comparison.signed(x.change), view.interval(x.ci, 2)),
                      "relative": comparison.percent(x.relative_change),
                      "groups": x.groups_used, "reason": x.reason}
                     for n, x in g.criteria.items()],
        "rows": [{"label": x.label, "rows": f"{x.rows:,}", "small": x.small,
                  "without": f"{x.without_baseline:,}" if x.without_baseline else "",
                  "cells": [_cell(x.metrics.get(m)) for m in shown]}
                 for x in (*[x for x in g.groups if id(x) in chosen], g.overall)],
        "more": len(g.groups) - len(groups),
        "told": [line for m in comparison.TOLD if m in shown or m in g.overall.metrics
                 if (line := comparison.sentence(g, m, view.metric_title(m)))],
    }


def section(result: AuditResult) -> dict[str, Any] | None:
    """The section's values, or None without a baseline."""
    report = result.comparison
    if report is None:
        return None
    from .change_chart import change_chart

    failed = {(g.grouping, g.criterion) for g in result.gates
              if g.kind == "max_increase" and g.status == "fail"}
    charts = []
    for k, name in enumerate(report.criteria, 1):
        rows = [(g.name, g.criteria[name], (g.name, name) in failed) for g in report.groupings]
        charts.append({"name": view.criterion_title(name), "svg": Markup(change_chart(
            view.criterion_title(name), rows, f"b{k}"))})
    shown = [m for m in comparison.SHOWN if m in report.metrics]
    return {
        "rows_line": comparison.rows_line(report),
        "charts": charts,
        "metrics": [view.metric_title(m) for m in shown],
        "groupings": [_grouping(result, g, shown) for g in report.groupings],
    }
