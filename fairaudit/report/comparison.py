"""The candidate against a baseline in plain words, as the terminal, Markdown and HTML say it.

"TPR across race: up 40% in African-American, 78% in Caucasian"; which rows
the comparison uses; changes written with their sign.
"""

from __future__ import annotations

from ..result import ComparisonReport, GroupingComparison

# the metrics the tables of changes show, those the audit has, in this order
SHOWN = ("selection_rate", "tpr", "fpr", "precision", "accuracy")
# the metrics described in words, one line each
TOLD = ("selection_rate", "tpr")


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

