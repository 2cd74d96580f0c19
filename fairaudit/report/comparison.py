"""The candidate against a baseline, as every reporter shows it: JSON fields and plain words.

The JSON puts a ``comparison`` section at the top (which baseline, which
rows) and one in each grouping (per group and metric both models' rates, the
change and the relative change with their paired intervals; per metric and
criterion the change of the gap). The words ("TPR up 40% in
African-American, 78% in Caucasian") are shared by the terminal, Markdown and
HTML reports.
"""

from __future__ import annotations

from typing import Any

from ..result import Change, ComparisonReport, GapChange, GroupChange, GroupingComparison, Rate

# the metrics the tables of changes show, those the audit has, in this order
SHOWN = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
# the metrics described in words, one line each
TOLD = ("selection_rate", "tpr")


def _f(x: float | None) -> float | None:
    return x if x == x else None


def _ci(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else list(ci)


def _rate(r: Rate) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _f(r.value), "numerator": r.numerator,
                           "denominator": r.denominator, "ci": _ci(r.ci)}
    if r.reason:
        out["reason"] = r.reason
    return out


def _change(c: Change) -> dict[str, Any]:
    return {"candidate": _f(c.candidate.value), "baseline": _f(c.baseline.value),
            "change": _f(c.change), "relative_change": _f(c.relative_change),
            "ci": _ci(c.ci), "relative_ci": _ci(c.relative_ci), "eligible": c.eligible,
            "candidate_rate": _rate(c.candidate), "baseline_rate": _rate(c.baseline)}


def _group(g: GroupChange) -> dict[str, Any]:
    return {"key": dict(g.key), "label": g.label, "rows": g.rows,
            "without_baseline": g.without_baseline, "small": g.small,
            "metrics": {name: _change(c) for name, c in g.metrics.items()}}


def _gap(g: GapChange) -> dict[str, Any]:
    out: dict[str, Any] = {"candidate": _f(g.candidate), "baseline": _f(g.baseline),
                           "change": _f(g.change), "relative_change": _f(g.relative_change),
                           "ci": _ci(g.ci), "groups_used": g.groups_used}
    if g.reason:
        out["reason"] = g.reason
    return out


def grouping_json(g: GroupingComparison) -> dict[str, Any]:
    """``groupings[].comparison``: one grouping's groups, overall, gaps and criteria."""
    return {"groups": [_group(x) for x in g.groups], "overall": _group(g.overall),
            "gaps": {k: _gap(v) for k, v in g.gaps.items()},
            "criteria": {k: _gap(v) for k, v in g.criteria.items()}}


def summary_json(c: ComparisonReport) -> dict[str, Any]:
    """The top-level ``comparison``: which baseline, and the rows compared."""
    return {"baseline": c.baseline, "source": c.source, "threshold": c.threshold,
            "rows_compared": c.rows_compared, "rows_without_baseline": c.rows_without_baseline,
            "change": "candidate minus baseline", "metrics": list(c.metrics),
            "criteria": list(c.criteria)}


# -- words ------------------------------------------------------------------------------


def signed(x: float | None, digits: int = 3) -> str:
    """``+0.206``, ``-0.031``; an en dash when undefined."""
    return "\u2013" if x is None else f"{x:+.{digits}f}"


def percent(x: float | None) -> str:
    """A relative change as a signed whole percent: ``+40%``; empty when undefined."""
    return "" if x is None else f"{x * 100:+.0f}%"


def rows_line(c: ComparisonReport) -> str:
    """Which rows the comparison uses, and which it leaves out."""
    what = (f"'{c.baseline}'" if c.source == "prediction"
            else f"'{c.baseline}' >= {c.threshold:g}")
    line = (f"candidate (the audit's decision) against baseline {what}, on the "
            f"{c.rows_compared:,} rows with both decisions")
    if c.rows_without_baseline:
        n = c.rows_without_baseline
        line += (f"; {n:,} audited row{'s have' if n != 1 else ' has'} no baseline decision "
                 f"and {'are' if n != 1 else 'is'} left out of the comparison")
    return line


def sentence(g: GroupingComparison, metric: str, title: str) -> str | None:
    """``TPR up 40% in African-American, 78% in Caucasian; down 3% in Other``.

    Groups eligible for the metric under both models, each with its relative
    change; None when no group has one.
    """
    up: list[str] = []
    down: list[str] = []
    same: list[str] = []
    for grp in g.groups:
        c = grp.metrics.get(metric)
        if c is None or not c.eligible or c.relative_change is None:
            continue
        pct = abs(c.relative_change) * 100
        if round(pct) == 0:
            same.append(grp.label)
        else:
            (up if c.relative_change > 0 else down).append(f"{pct:.0f}% in {grp.label}")
    parts = ([f"up {', '.join(up)}"] if up else []) + \
        ([f"down {', '.join(down)}"] if down else []) + \
        ([f"unchanged in {', '.join(same)}"] if same else [])
    if not parts:
        return None
    return f"{title} across {g.name}: " + "; ".join(parts) + " (candidate against baseline)"

