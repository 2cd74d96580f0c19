"""The distances between the groups' predictions (``--task regression``), for every reporter.

As with the score figures (:mod:`fairaudit.report.score_section`), :func:`table`
gives each grouping's per-group table as plain text cells, which the terminal,
Markdown and HTML reporters lay out, each escaping them its way; the JSON's
``prediction_distribution`` section is the section's own ``document()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kinds.distribution import BINS, DistributionReport, GroupDistribution, GroupingDistribution
from ..result import AuditResult
from . import score_section
from .score_section import markdown_table
from .view import MAX_SHOWN, number

HEADER = ("group", "rows", "KS vs ref.", "KS ≤")


def report(result: AuditResult) -> DistributionReport | None:
    section = result.sections.get("prediction_distribution")
    return section if isinstance(section, DistributionReport) else None


def chosen(g: GroupingDistribution, limit: int | None) -> list[GroupDistribution]:
    """At most ``limit`` groups, in table order: the reference, the nearest and farthest
    from it among the groups judged, then the largest."""
    return score_section.chosen(g, limit, ("ks",))


def table(g: GroupingDistribution, limit: int | None = None
          ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One grouping's distances: the header and one row of text cells per group (at most
    ``limit`` groups); ``KS ≤`` is the most the exact distance can be."""
    rows: list[tuple[str, ...]] = []
    for x in chosen(g, limit):
        label = x.label + (" (ref)" if x.label == g.reference else "") + \
            (" (small)" if x.small else "")
        rows.append((label, f"{x.rows:,}", number(x.ks), number(x.ks_bound)))
    return HEADER, rows


def shown_note(g: GroupingDistribution, limit: int) -> str | None:
    """What a table limited to ``limit`` groups leaves out, in words (None: nothing)."""
    return score_section.shown_note(g, limit, "the nearest and farthest from it")


def summary(g: GroupingDistribution) -> str:
    """The largest distance between two groups' predictions, in words."""
    return score_section.summary(g, "prediction KS",
                                 "KS distance between predictions")


EXPLAIN = ("Per group, the Kolmogorov-Smirnov distance of its predictions from the reference "
           "group's (rows with a finite label and prediction), from the predictions counted "
           f"in {BINS:,} fixed bins of the real line, each at most 1/32 of its values wide "
           "(docs/regression.md): the distance at the bin edges, never more than the exact "
           "distance, and the most the exact distance can be (KS ≤).")


def html(result: AuditResult) -> dict[str, Any] | None:
    """The values the HTML template's prediction section shows (it escapes them), or None."""
    r = report(result)
    if r is None:
        return None
    groupings = []
    for g in r.groupings:
        _, rows = table(g)
        groupings.append({"name": g.name, "summary": summary(g), "rows": rows})
    return {"explain": EXPLAIN, "header": HEADER, "groupings": groupings}


def markdown(result: AuditResult, escape: Callable[[str], str]) -> list[str]:
    """The Markdown lines of the distance tables, every cell through ``escape``."""
    r = report(result)
    lines: list[str] = []
    for g in r.groupings if r else ():
        lines += markdown_table(f"**Predictions across {escape(g.name)}**",
                                table(g, MAX_SHOWN), shown_note(g, MAX_SHOWN), summary(g),
                                escape)
    return lines
