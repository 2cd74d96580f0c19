"""The audit a person reads: one self-contained HTML file.

Everything is inline (CSS, charts as SVG); the page runs no script and loads
nothing, and its Content-Security-Policy forbids both, so it opens the same
offline, from a mail attachment or in an archive years later. Every string
from the data or the config passes through Jinja's autoescaping; the charts
are SVG text escaped by matplotlib and checked element by element.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..rangespec import RANGE_COVERAGE
from ..result import AuditResult, GroupingResult, GroupResult
from ..text import printable
from . import (
    class_section,
    comparison_section,
    distribution_section,
    range_section,
    score_section,
    strata_section,
    view,
)
from .view import Cell


def environment() -> Environment:
    """The Jinja environment of the HTML reports: autoescaped, strict, with their filters."""
    env = Environment(loader=PackageLoader("fairaudit", "report/templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, finalize=_visible)
    env.filters["num"] = view.number
    env.filters["ci"] = view.interval
    env.globals["MARK"] = view.MARK
    env.globals["WORD"] = view.WORD
    return env


def _visible(value: Any) -> Any:
    """Every value a page shows: text with control and invisible characters as escapes
    (``\\x1b``, ``\\u202e``), which a browser would drop or let reorder the line; a
    whole number with thousands separators."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    if isinstance(value, int) and not isinstance(value, bool):  # a count: 12,345
        return f"{value:,}"
    return value


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _cells(grp: GroupResult, metrics: tuple[str, ...]) -> list[Cell]:
    out = []
    for m in metrics:
        rate = grp.metrics[m]
        note = rate.reason or f"{rate.numerator:,} / {rate.denominator:,}"
        out.append(Cell(view.number(rate.value), view.interval(view.rate_ci(rate), 2), note))
    return out


def _coverage_pair(result: AuditResult, g: GroupingResult) -> dict[str, str] | None:
    """For range coverage, the groups with the lowest and highest share inside every range."""
    report = view.ranges(result)
    if report is None:
        return None
    r = next((x for x in report.groupings if x.name == g.name), None)
    groups = [x for x in r.groups if view.covered(r, x)] if r else []
    if len(groups) < 2:
        return None
    ordered = sorted(groups, key=lambda x: x.coverage.value or 0.0)
    return {"metric": "In all ranges", "low": ordered[0].label,
            "low_value": view.number(ordered[0].coverage.value), "high": ordered[-1].label,
            "high_value": view.number(ordered[-1].coverage.value)}


def _criteria(result: AuditResult, g: GroupingResult,
              gated: set[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for name, gap in g.criteria.items():
        pair = view.criterion_extremes(g, name)
        p, p_adj = view.gap_p(gap)
        whole = g.to_overall.get(name)
        rows.append({
            "to_overall": None if whole is None else (
                Cell(view.number(whole.difference)), Cell(view.number(whole.ratio))),
            "name": view.criterion_title(name),
            "gated": (g.name, name) in gated,
            "difference": Cell(view.number(gap.difference),
                               view.interval(view.gap_ci(gap, "max_gap"), 2)),
            "ratio": Cell(view.number(gap.ratio), view.interval(view.gap_ci(gap, "min_ratio"), 2)),
            "p": view.p_text(p),
            "p_adjusted": view.p_text(p_adj),
            "groups_used": gap.groups_used,
            "pair": _coverage_pair(result, g) if name == RANGE_COVERAGE else (
                None if pair is None else {
                    "metric": view.metric_title(pair.metric),
                    "low": pair.low.label,
                    "low_value": view.number(pair.low.metrics[pair.metric].value),
                    "high": pair.high.label,
                    "high_value": view.number(pair.high.metrics[pair.metric].value),
                }),
            "reason": gap.reason,
        })
    return rows


def _grouping(result: AuditResult, g: GroupingResult, index: int,
              gated: set[tuple[str, str]]) -> dict[str, Any]:
    from . import chart

    table_metrics = result.catalog.shown
    chart_metrics = result.catalog.charted
    intersection = len(g.columns) > 1
    focus = view.focus_metrics(result)
    standings = view.worst_off(g, focus) if intersection else [
        view.Standing(grp, None, None, None) for grp in g.groups]
    ordered = [s.group for s in standings]
    # a chart of every group of a 10,000-level column would be metres tall and take
    # minutes to draw: it shows the groups that matter, the table lists them all
    charted = {id(g.groups[i]) for i in view.shown(g, chart_metrics)}
    in_chart = [grp for grp in ordered if id(grp) in charted]
    rows = []
    for rank, s in enumerate(standings, 1):
        grp = s.group
        rows.append({
            "rank": rank,
            "label": grp.label,
            "reference": grp.is_reference,
            "small": grp.small,
            "count": f"{grp.count:,}",
            "share": f"{grp.share:.1%}",
            "cells": _cells(grp, table_metrics),
            "distance": None if s.distance is None else {
                "metric": view.metric_title(s.metric or ""),
                "difference": f"{s.difference:+.3f}",
            },
        })
    return {
        "id": f"grouping-{index}",
        "name": g.name,
        "columns": list(g.columns),
        "intersection": intersection,
        "reference": g.reference,
        "reference_rule": g.reference_rule,
        "chart": Markup(chart.metric_chart(g, in_chart, chart_metrics, f"c{index}")),
        "charted": len(in_chart),
        "chart_metrics": [view.metric_title(m) for m in chart_metrics],
        "table_metrics": [view.metric_title(m) for m in table_metrics],
        "rows": rows,
        "overall": [Cell(view.number(g.overall[m].value)) for m in table_metrics],
        "total": f"{sum(x.count for x in g.groups):,}",
        "criteria": _criteria(result, g, gated),
        "peers": _peers(g),
        "excluded": [{"group": group, "reasons": [{"reason": r, "metrics": m}
                                                  for r, m in reasons]}
                     for group, reasons in view.left_out_reasons(g)],
        "focus": [view.metric_title(m) for m in focus],
        "small": sum(1 for x in g.groups if x.small),
    }


def _peers(g: GroupingResult) -> dict[str, Any] | None:
    """Each group's share of the positive decisions, and the benefit's inequality indices."""
    if g.ppr is None and g.inequality is None:
        return None
    shares = []
    if g.ppr is not None:
        for grp, r, vr in zip(g.figures.labels, g.ppr.rates, g.ppr.versus_ratio, strict=True):
            shares.append({"label": grp, "ppr": Cell(view.number(r.value),
                                                     view.interval(r.ci, 2)),
                           "ratio": Cell(view.number(vr))})
    q = g.inequality
    return {
        "shares": shares,
        "ppr_gap": None if g.ppr is None else (Cell(view.number(g.ppr.gap.difference)),
                                               Cell(view.number(g.ppr.gap.ratio))),
        "inequality": None if q is None else {
            "alpha": f"{q.alpha:g}",
            "rows": [("Generalized entropy index", Cell(view.number(q.generalized_entropy_index)),
                      Cell(view.number(q.between_group_generalized_entropy_index))),
                     ("Theil index", Cell(view.number(q.theil_index)),
                      Cell(view.number(q.between_group_theil_index)))]},
    }


def _gates(result: AuditResult) -> list[dict[str, Any]]:
    rows = []
    for gate in result.gates:
        what, bound = view.kind_words(gate.kind)
        rows.append({
            "status": view.status(gate),
            "grouping": gate.grouping,
            "criterion": view.gate_title(gate),
            "worst": gate.group if gate.kind in ("max_out_of_range", "max_drop") else None,
            "kind": f"{bound} {what}",
            "value": Cell(view.number(gate.value), view.interval(view.gate_ci(gate))),
            "threshold": view.threshold(gate.threshold),
            "rule": view.gate_rule(gate),
            "reason": gate.reason,
        })
    return rows


def _facts(result: AuditResult) -> list[tuple[str, str]]:
    """The few settings a reader needs before any number: what was audited, against what."""
    p = result.provenance
    roles = p.roles
    names = [f.path for f in p.files]
    data = names[0] if len(names) == 1 else f"{len(names):,} files"
    decision = roles.get("prediction") or (
        f"{roles.get('score')} >= {roles.get('threshold')}" if roles.get("score") else None)
    refs = ", ".join(f"{g.name} = {g.reference}" for g in result.groupings
                     if len(g.columns) == 1)
    out = [("Data", data), ("Outcome", view.plain(roles.get("label"))),
           ("Decision", view.plain(decision)),
           ("Groups", ", ".join(str(x) for x in roles.get("groups") or ())),
           ("Reference groups", refs),
           ("Smallest group judged", f"{result.min_group_size:,} rows")]
    if result.comparison is not None:
        c = result.comparison
        shown = c.baseline if c.source == "prediction" else f"{c.baseline} >= {c.threshold:g}"
        out.append(("Baseline", f"{shown}; {c.rows_compared:,} rows compared"))
    report = view.ranges(result)
    if report is not None:
        o = report.overall
        out.append(("Trusted ranges", f"{len(report.specs)} feature"
                    f"{'s' if len(report.specs) != 1 else ''}; {o.trusted:,} of {o.rows:,} "
                    "rows inside all"))
    return out


def render(result: AuditResult) -> str:
    """The report as one HTML document."""
    p = result.provenance
    gated = {(g.grouping, g.criterion) for g in result.gates}
    groupings = [_grouping(result, g, i, gated) for i, g in enumerate(result.groupings, 1)]
    verdict = view.verdict(result)
    headline = [g for g in result.gates if view.status(g) in ("fail", "inconclusive")]
    context = {
        "verdict": verdict if result.gates else "none",
        "summary": view.verdict_summary(result),
        "headline": [{"status": view.status(g), "text": view.gate_sentence(g)}
                     for g in headline],
        "files_line": view.files_line(result),
        "facts": _facts(result),
        "has_note": any(g.reason for g in result.gates),
        "gates": _gates(result),
        "has_rule": any(view.gate_rule(g) for g in result.gates),
        "has_ci": view.has_intervals(result),
        "singles": [g for g in groupings if not g["intersection"]],
        "intersections": [g for g in groupings if g["intersection"]],
        "ranges": range_section.section(result, gated),
        "strata": strata_section.section(result),
        "classes": class_section.html_context(result),
        "comparison": comparison_section.section(result),
        "scores": score_section.html(result),
        "predictions": distribution_section.html(result),
        "files": [{"path": f.path, "format": f.format, "size": _size(f.size),
                   "bytes": f"{f.size:,}", "rows": f"{f.rows:,}", "sha256": f.sha256 or view.DASH}
                  for f in p.files],
        "rows_read": f"{p.rows_read:,}",
        "rows_used": f"{p.rows_used:,}",
        "dropped": [(r.replace("_", " "), f"{n:,}") for r, n in p.dropped.items()]
        + [(r.replace(":", " "), f"{n:,}") for r, n in view.skipped(result)],
        "roles": [(k.replace("_", " "), view.plain(v)) for k, v in p.roles.items()],
        "config": view.config_rows(result),
        "metrics": [{"title": m.title, "name": m.name, "formula": view.formula(m.name, result),
                     "description": m.description, "better": m.better}
                    for m in result.catalog.metrics],
        "criteria": [{"name": c.name, "metrics": ", ".join(view.metric_title(m)
                                                          for m in c.metrics)
                      or ("per group, the mean over the classes (below)"
                          if c.name.startswith("macro_") else "figures of their own (below)"),
                      "description": c.description} for c in result.catalog.criteria],
        "focus": [view.metric_title(m) for m in view.focus_metrics(result)],
        "min_group_size": f"{result.min_group_size:,}",
        "version": p.version,
        "timestamp": p.timestamp,
    }
    return environment().get_template("audit.html.j2").render(**context)

