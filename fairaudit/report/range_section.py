"""The HTML report's range-check section, as plain values for the template.

For each grouping: how often each group's inputs fall outside the declared
trusted ranges (below and above apart, values not allowed, values missing),
the share of its rows inside every range and the gap of that share across
groups (``range_coverage``), a chart of the out-of-range shares that names the
group most often out of range, and the fairness criteria and rates on the
trusted rows beside those on all rows. Every string stays plain text here;
the template escapes it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ..rangespec import RANGE_COVERAGE
from ..result import (
    AuditResult,
    FeatureCheck,
    GateResult,
    GroupingResult,
    RangeGroup,
    RangeGrouping,
    RangeReport,
    Rate,
)
from . import view
from .view import Cell

# The per-feature states a table column can show, and their headings.
STATE_TITLES = {"below": "below", "above": "above", "not_allowed": "not allowed",
                "missing": "missing"}


def share(x: float | None) -> str:
    """A share to three places, but never a non-zero share written as 0.000 (or 1.000)."""
    if x is not None and 0 < x < 0.0005:
        return "<0.001"
    if x is not None and 0.9995 <= x < 1:
        return ">0.999"
    return view.number(x)


def _state(check: FeatureCheck, state: str) -> Rate:
    rate: Rate = getattr(check, f"{state}_share")
    return rate


def _columns(report: RangeReport) -> list[dict[str, Any]]:
    """Per feature, the states worth a column: a bound that exists, missing values that occur."""
    out = []
    for spec in report.specs:
        states = []
        if spec.kind == "categorical":
            states.append("not_allowed")
        else:
            states += ["below"] if spec.min is not None else []
            states += ["above"] if spec.max is not None else []
        if report.overall.features[spec.feature].missing:
            states.append("missing")
        out.append({"feature": spec.feature, "range": view.range_text(spec), "states": states,
                    "heads": [STATE_TITLES[s] for s in states]})
    return out


def _specs(report: RangeReport) -> list[dict[str, Any]]:
    return [{
        "feature": spec.feature,
        "kind": "number" if spec.kind == "numeric" else "category",
        "range": view.range_text(spec),
        "outside": _cell(report.overall.features[spec.feature].outside_share),
        "missing": _cell(report.overall.features[spec.feature].missing_share),
        "source": spec.source,
    } for spec in report.specs]


def _cell(rate: Rate, cls: str = "") -> dict[str, str]:
    """A share for a dense table: its interval, when there is one, goes to the tooltip."""
    note = rate.reason or f"{rate.numerator:,} of {rate.denominator:,}"
    ci = view.rate_ci(rate)
    if ci is not None and rate.value is not None:
        note += f"; interval {view.interval(ci)}"
    zero = rate.value == 0
    return {"text": share(rate.value), "note": note,
            "cls": " ".join(c for c in (*cls.split(), "zero" if zero else "") if c)}


def _judged(group: RangeGroup, check: FeatureCheck, state: str, minimum: int) -> bool:
    """Whether a group's share counts when the largest share of a column is marked."""
    if group.small:
        return False
    return state == "missing" or check.known >= minimum


def _order(grouping: RangeGrouping) -> list[RangeGroup]:
    """Single columns in their own order; intersections lowest share inside first."""
    if len(grouping.columns) == 1:
        return list(grouping.groups)
    return sorted(grouping.groups, key=lambda g: (
        not view.covered(grouping, g), g.coverage.value if g.coverage.value is not None else 1.0,
        -g.rows, g.label))


def _table(order: list[RangeGroup], columns: list[dict[str, Any]], worst: RangeGroup | None,
           overall: RangeGroup, minimum: int) -> dict[str, Any]:
    top: dict[tuple[str, str], float] = {}
    for col in columns:
        for state in col["states"]:
            values = [v for g in order
                      if _judged(g, check := g.features[col["feature"]], state, minimum)
                      and (v := _state(check, state).value) is not None]
            if len(values) > 1 and max(values) > 0:
                top[(col["feature"], state)] = max(values)
    rows = []
    for g in order:
        cells = []
        for col in columns:
            check = g.features[col["feature"]]
            for k, state in enumerate(col["states"]):
                rate = _state(check, state)
                mark = (rate.value is not None and _judged(g, check, state, minimum)
                        and top.get((col["feature"], state)) == rate.value)
                cells.append(_cell(rate, ("top " if mark else "") + ("fs" if k == 0 else "")))
        rows.append({"label": g.label, "rows": f"{g.rows:,}", "small": g.small,
                     "worst": g is worst, "coverage": _coverage_cell(g), "cells": cells})
    total = {"label": "All rows", "rows": f"{overall.rows:,}",
             "coverage": _coverage_cell(overall),
             "cells": [_cell(_state(overall.features[col["feature"]], state),
                             "fs" if k == 0 else "")
                       for col in columns for k, state in enumerate(col["states"])]}
    return {"rows": rows, "overall": total}


def _coverage_cell(g: RangeGroup) -> Cell:
    c = g.coverage
    note = c.reason or (f"{c.numerator:,} of {c.denominator:,} rows inside every range "
                        f"({g.unknown:,} more miss a value)")
    return Cell(share(c.value), view.interval(view.rate_ci(c)), note)


def _is_range_gate(gate: GateResult) -> bool:
    return gate.criterion == RANGE_COVERAGE or gate.kind == "max_out_of_range"


def _gate_items(gates: list[GateResult]) -> list[dict[str, str]]:
    """Each range gate of a grouping in a few words: what, value (where), threshold."""
    out = []
    for gate in gates:
        value = view.number(gate.value)
        ci = view.gate_ci(gate)
        if ci is not None:
            value += f" {view.interval(ci)}"
        if gate.kind == "max_out_of_range" and gate.group is not None:
            value += f" in {gate.group}"
        out.append({"status": view.status(gate), "feature": gate.feature or "",
                    "what": view.kind_words(gate.kind)[0], "value": value,
                    "threshold": view.threshold(gate.threshold), "reason": gate.reason or ""})
    return out


def _gap(r: RangeGrouping) -> dict[str, Any]:
    gap = r.coverage
    p, p_adj = view.gap_p(gap)
    groups = [g for g in r.groups if view.covered(r, g)]
    pair = None
    if len(groups) >= 2:
        ordered = sorted(groups, key=lambda g: g.coverage.value or 0.0)
        pair = {"low": ordered[0].label, "low_value": share(ordered[0].coverage.value),
                "high": ordered[-1].label, "high_value": share(ordered[-1].coverage.value)}
    return {"difference": view.number(gap.difference),
            "difference_ci": view.interval(view.gap_ci(gap, "max_gap")),
            "ratio": view.number(gap.ratio),
            "ratio_ci": view.interval(view.gap_ci(gap, "min_ratio")),
            "p_adjusted": view.p_text(p_adj),
            "p": view.p_text(p),
            "groups": gap.groups_used, "reason": gap.reason, "pair": pair}


def _compare(full: GroupingResult, trusted: GroupingResult, gated: set[tuple[str, str]]
             ) -> list[dict[str, Any]]:
    rows = []
    for name, gap in trusted.criteria.items():
        before = full.criteria.get(name)
        if before is None:
            continue
        rows.append({
            "name": view.criterion_title(name),
            "gated": (full.name, name) in gated,
            "difference": Cell(view.number(before.difference),
                               view.interval(view.gap_ci(before, "max_gap"), 2)),
            "difference_trusted": Cell(view.number(gap.difference),
                                       view.interval(view.gap_ci(gap, "max_gap"), 2)),
            "difference_change": _change(before.difference, gap.difference),
            "ratio": Cell(view.number(before.ratio),
                          view.interval(view.gap_ci(before, "min_ratio"), 2)),
            "ratio_trusted": Cell(view.number(gap.ratio),
                                  view.interval(view.gap_ci(gap, "min_ratio"), 2)),
            "ratio_change": _change(before.ratio, gap.ratio),
            "groups": f"{before.groups_used} → {gap.groups_used}",
        })
    return rows


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return view.DASH
    d = after - before
    return "±0.000" if round(d, 3) == 0 else f"{d:+.3f}".replace("-", "\u2212")


def _rate(rate: Rate | None) -> Cell:
    if rate is None:
        return Cell(view.DASH, "", "no trusted rows in this group")
    note = rate.reason or f"{rate.numerator:,} / {rate.denominator:,}"
    return Cell(view.number(rate.value), view.interval(view.rate_ci(rate), 2), note)


def _beside(result: AuditResult, full: GroupingResult, trusted: GroupingResult
            ) -> dict[str, Any]:
    focus = view.focus_metrics(result)
    by_label = {x.label: x for x in trusted.groups}
    rows = []
    for grp in full.groups:
        t = by_label.get(grp.label)
        rows.append({
            "label": grp.label,
            "small": grp.small,
            # big enough on all rows, too small among its trusted rows
            "small_trusted": not grp.small and (t is None or t.small),
            "rows": f"{grp.count:,}",
            "trusted": f"{t.count:,}" if t else "0",
            "share": f"{t.count / grp.count:.1%}" if t and grp.count else view.DASH,
            "cells": [{"all": _rate(grp.metrics[m]),
                       "trusted": _rate(t.metrics[m] if t else None)} for m in focus],
        })
    return {"metrics": [view.metric_title(m) for m in focus], "rows": rows}


def section(result: AuditResult, gated: set[tuple[str, str]]) -> dict[str, Any] | None:
    """The values the template's range section shows, or None without declared ranges."""
    from . import chart

    report: RangeReport | None = view.ranges(result)
    if report is None:
        return None
    minimum = result.min_group_size
    columns = _columns(report)
    trusted = {g.name: g for g in view.trusted(result) or ()}
    o = report.overall
    blocks = []
    for i, r in enumerate(report.groupings, 1):
        worst = view.least_covered(r)
        order = _order(r)
        full = next((g for g in result.groupings if g.name == r.name), None)
        subset = trusted.get(r.name)
        gates = [g for g in result.gates if g.grouping == r.name and _is_range_gate(g)]
        # the worst group is drawn as an alarm only when a range gate on it failed
        alarm = any(view.status(g) == "fail" for g in gates)
        thresholds = {g.feature: g.threshold for g in gates
                      if g.kind == "max_out_of_range" and g.feature is not None}
        svg = chart.range_chart(order, report.specs, o, thresholds, worst, alarm,
                                f"r{i}") if order else ""
        blocks.append({
            "id": f"ranges-{i}",
            "name": r.name,
            "intersection": len(r.columns) > 1,
            "chart": Markup(svg),
            "thresholds": [view.threshold(t) for t in sorted(set(thresholds.values()))],
            "alarm": alarm,
            "has_ci": any(view.rate_ci(g.coverage) or any(
                view.rate_ci(c.outside_share) for c in g.features.values()) for g in r.groups),
            "worst": None if worst is None else {
                "label": worst.label,
                "outside": f"{worst.coverage.denominator - worst.coverage.numerator:,}",
                "known": f"{worst.coverage.denominator:,}",
                "share": share(1 - (worst.coverage.value or 0.0))},
            "gap": _gap(r),
            "gates": _gate_items(gates),
            "table": _table(order, columns, worst, o, minimum),
            "excluded": [{"group": e.group, "reason": e.reason} for e in r.coverage.excluded],
            "compare": _compare(full, subset, gated) if full and subset else [],
            "beside": _beside(result, full, subset) if full and subset else None,
        })
    return {
        "specs": _specs(report),
        "columns": columns,
        "rows": f"{o.rows:,}",
        "trusted": f"{o.trusted:,}",
        "outside": f"{o.outside:,}",
        "unknown": f"{o.unknown:,}",
        "coverage": share(o.coverage.value),
        "min_group_size": f"{minimum:,}",
        "groupings": blocks,
    }
