"""The HTML report's range-check section, as plain values for the template.

For each grouping: how often each group's inputs fall outside the declared
trusted ranges (below and above apart, values not allowed, values missing),
the share of its rows inside every range with a chart that names the group
most often out of range, and the fairness criteria on the trusted rows beside
those on all rows. Every string stays plain text here; the template escapes it.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from ..ranges import RANGE_COVERAGE, FeatureCheck, RangeGroup, RangeGrouping, RangeReport
from ..result import AuditResult, GateResult, GroupingResult, Rate
from . import view

# The per-feature states a table column can show, and their headings.
STATE_TITLES = {"below": "below", "above": "above", "not_allowed": "not allowed",
                "missing": "missing"}


def _share(check: FeatureCheck, state: str) -> Rate:
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
    rows = []
    for spec in report.specs:
        c = report.overall.features[spec.feature]
        numeric = spec.kind == "numeric"
        rows.append({
            "feature": spec.feature,
            "kind": "number" if numeric else "category",
            "range": view.range_text(spec),
            "outside": _cell(c.outside_share),
            "below": _cell(c.below_share) if numeric and spec.min is not None else None,
            "above": _cell(c.above_share) if numeric and spec.max is not None else None,
            "missing": _cell(c.missing_share),
            "source": spec.source,
        })
    return rows


def _cell(rate: Rate, cls: str = "") -> dict[str, str]:
    note = rate.reason or f"{rate.numerator:,} of {rate.denominator:,}"
    zero = rate.value == 0
    return {"text": view.number(rate.value), "note": note,
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


def _table(grouping: RangeGrouping, order: list[RangeGroup], columns: list[dict[str, Any]],
           worst: RangeGroup | None, overall: RangeGroup, minimum: int) -> dict[str, Any]:
    top: dict[tuple[str, str], float] = {}
    for col in columns:
        for state in col["states"]:
            values = [v for g in order
                      if _judged(g, check := g.features[col["feature"]], state, minimum)
                      and (v := _share(check, state).value) is not None]
            if len(values) > 1 and max(values) > 0:
                top[(col["feature"], state)] = max(values)
    rows = []
    for g in order:
        cells = []
        for col in columns:
            check = g.features[col["feature"]]
            for k, state in enumerate(col["states"]):
                rate = _share(check, state)
                mark = (rate.value is not None and _judged(g, check, state, minimum)
                        and top.get((col["feature"], state)) == rate.value)
                cells.append(_cell(rate, ("top " if mark else "") + ("fs" if k == 0 else "")))
        rows.append({"label": g.label, "rows": f"{g.rows:,}", "small": g.small,
                     "worst": g is worst, "coverage": _coverage_cell(g), "cells": cells})
    total = {"label": "All rows", "rows": f"{overall.rows:,}",
             "coverage": _coverage_cell(overall),
             "cells": [_cell(_share(overall.features[col["feature"]], state),
                             "fs" if k == 0 else "")
                       for col in columns for k, state in enumerate(col["states"])]}
    return {"rows": rows, "overall": total}


def _coverage_cell(g: RangeGroup) -> dict[str, str]:
    c = g.coverage
    note = c.reason or (f"{c.numerator:,} of {c.denominator:,} rows inside every range "
                        f"({g.unknown:,} more miss a value)")
    return {"text": view.number(c.value), "note": note}


def _gate_line(gates: list[GateResult]) -> list[dict[str, str]]:
    out = []
    for gate in gates:
        value = view.number(gate.value)
        if gate.group is not None:
            value += f" in {gate.group}"
        out.append({"status": view.status(gate), "feature": gate.feature or "",
                    "value": value, "threshold": view.threshold(gate.threshold),
                    "reason": gate.reason or ""})
    return out


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
            "difference": view.number(before.difference),
            "difference_trusted": view.number(gap.difference),
            "difference_change": _change(before.difference, gap.difference),
            "ratio": view.number(before.ratio),
            "ratio_trusted": view.number(gap.ratio),
            "ratio_change": _change(before.ratio, gap.ratio),
            "groups": f"{before.groups_used} → {gap.groups_used}",
        })
    return rows


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return view.DASH
    d = after - before
    return "±0.000" if round(d, 3) == 0 else f"{d:+.3f}".replace("-", "−")


def _beside(result: AuditResult, full: GroupingResult, trusted: GroupingResult
            ) -> dict[str, Any]:
    focus = view.focus_metrics(result)
    by_label = {x.label: x for x in trusted.groups}
    rows = []
    for grp in full.groups:
        t = by_label.get(grp.label)
        rows.append({
            "label": grp.label, "small": grp.small,
            "rows": f"{grp.count:,}",
            "trusted": f"{t.count:,}" if t else "0",
            "share": f"{t.count / grp.count:.1%}" if t and grp.count else view.DASH,
            "cells": [{"all": view.number(grp.metrics[m].value),
                       "trusted": view.number(t.metrics[m].value) if t else view.DASH}
                      for m in focus],
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
        coverage_gates = [g for g in result.gates
                          if g.grouping == r.name and g.criterion == RANGE_COVERAGE]
        range_gates = [g for g in result.gates
                       if g.grouping == r.name and g.kind == "max_out_of_range"]
        blocks.append({
            "id": f"ranges-{i}",
            "name": r.name,
            "intersection": len(r.columns) > 1,
            "chart": Markup(chart.coverage_chart(order, worst, o.coverage.value, f"r{i}")),
            "worst": None if worst is None else {
                "label": worst.label, "coverage": view.number(worst.coverage.value),
                "outside": view.number(1 - (worst.coverage.value or 0.0))},
            "gap": {"difference": view.number(r.coverage.difference),
                    "ratio": view.number(r.coverage.ratio),
                    "groups": r.coverage.groups_used, "reason": r.coverage.reason},
            "coverage_gates": [
                {"status": view.status(g),
                 "text": f"range coverage {view.kind_words(g.kind)[0]} "
                         f"{view.number(g.value)}, threshold {view.threshold(g.threshold)}"}
                for g in coverage_gates],
            "range_gates": _gate_line(range_gates),
            "table": _table(r, order, columns, worst, o, minimum),
            "excluded": [{"group": e.group, "reason": e.reason} for e in r.coverage.excluded],
            "compare": _compare(full, subset, gated) if full and subset else [],
            "beside": _beside(result, full, subset) if full and subset else None,
        })
    return {
        "specs": _specs(report),
        "columns": columns,
        "width": sum(len(c["states"]) for c in columns),
        "rows": f"{o.rows:,}",
        "trusted": f"{o.trusted:,}",
        "outside": f"{o.outside:,}",
        "unknown": f"{o.unknown:,}",
        "coverage": view.number(o.coverage.value),
        "groupings": blocks,
    }
