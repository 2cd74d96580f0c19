"""The score figures (AUC, KS, calibration) and the top-N cutoffs' ties, for every reporter.

:func:`tables` gives each grouping's per-group table as plain text cells (header, rows),
which the terminal, Markdown and HTML reporters lay out, each escaping them its
way. The JSON's ``scores`` and ``select_top`` sections are each section's own
``document()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..kinds.cutoffs import TopReport
from ..kinds.scores import MEAN_BOUND, GroupingScores, ScoreReport
from ..result import AuditResult, Gap, Interval
from .view import MAX_SHOWN

DASH = "-"


class Distances(Protocol):
    """A grouping's distances between distributions (the scores', the predictions')."""

    @property
    def name(self) -> str: ...
    @property
    def reference(self) -> str: ...
    @property
    def groups(self) -> Sequence[Any]: ...
    @property
    def ks(self) -> Gap: ...
    @property
    def ks_bound(self) -> float | None: ...
    @property
    def ks_pair(self) -> tuple[str, str] | None: ...


def scores(result: AuditResult) -> ScoreReport | None:
    section = result.sections.get("scores")
    return section if isinstance(section, ScoreReport) else None


def tops(result: AuditResult) -> TopReport | None:
    section = result.sections.get("select_top")
    return section if isinstance(section, TopReport) else None


def _num(x: float | None) -> str:
    return DASH if x is None else f"{x:.3f}"


def _with(x: float | None, ci: Interval | None) -> str:
    if x is None:
        return DASH
    return _num(x) + ("" if ci is None else f" [{ci[0]:.3f}, {ci[1]:.3f}]")


def _bound(x: float | None) -> str:
    return DASH if x is None else f"{x:.4f}"


HEADER = ("group", "rows", "AUC", "AUC ±", "KS vs ref.", "KS ≤", "mean score", "observed",
          "calibration")


def chosen(g: Distances, limit: int | None, figures: Sequence[str] = ("auc", "ks", "calibration")
           ) -> list[Any]:
    """At most ``limit`` groups of a grouping, in table
    order: the reference, the highest and lowest of each of ``figures`` (by default AUC,
    KS distance and calibration) among the groups judged, then the largest."""
    groups = list(g.groups)
    if limit is None or len(groups) <= limit:
        return groups
    keep = {i for i, x in enumerate(groups) if x.label == g.reference}
    for name in figures:
        judged = [(v, i) for i, x in enumerate(groups)
                  if not x.small and (v := getattr(x, name)) is not None]
        if judged:
            keep |= {min(judged)[1], max(judged)[1]}
    for i in sorted(range(len(groups)), key=lambda i: -groups[i].rows):
        if len(keep) >= limit:
            break
        keep.add(i)
    return [groups[i] for i in sorted(keep)]


def table(g: GroupingScores, has_label: bool, limit: int | None = None
          ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One grouping's score figures: the header and one row of text cells per group
    (at most ``limit`` groups: :func:`chosen`).

    ``AUC ±`` is the binning bound (the exact AUC is within it); ``KS ≤`` the
    exact distance's upper bound; a group's label gets ``(ref)`` or ``(small)``.
    """
    rows: list[tuple[str, ...]] = []
    for x in chosen(g, limit):
        label = x.label + (" (ref)" if x.label == g.reference else "") + \
            (" (small)" if x.small else "")
        rows.append((label, f"{x.rows:,}", _with(x.auc, x.auc_ci), _bound(x.auc_bound),
                     _num(x.ks), _num(x.ks_bound), _num(x.mean_score), _num(x.observed_rate),
                     _with(x.calibration, x.calibration_ci)))
    if not has_label:
        keep = [0, 1, 4, 5, 6]
        return (tuple(HEADER[i] for i in keep),
                [tuple(r[i] for i in keep) for r in rows])
    return HEADER, rows


def shown_note(g: Distances, limit: int,
               which: str = "the highest and lowest of each figure") -> str | None:
    """What a table limited to ``limit`` groups leaves out, in words (None: nothing)."""
    if len(g.groups) <= limit:
        return None
    return (f"{limit} of {len(g.groups):,} groups: the reference, {which}, the largest "
            "(--json and --html list every group)")


def summary(g: Distances, what: str = "KS", between: str = "KS distance") -> str:
    """The largest distance between two groups' scores, in words (``what`` and ``between``
    name the distance, for another kind's distances: the predictions')."""
    if g.ks.difference is None or g.ks_pair is None:
        return f"{what} across {g.name}: {g.ks.reason or 'undefined'}"
    return (f"largest {between} across {g.name}: {g.ks.difference:.3f} (at most "
            f"{_num(g.ks_bound)} unbinned), between {g.ks_pair[0]} and {g.ks_pair[1]}")


EXPLAIN = ("Per group, from the scores counted in {bins:,} equal bins of [0, 1] per label: "
           "the AUC with its DeLong interval and the binning bound (the exact AUC is within "
           "AUC ± of the value shown); the Kolmogorov-Smirnov distance of the group's scores "
           "from the reference group's at the bin edges, and the most the exact distance "
           "can be (KS ≤); the mean score, the observed rate of positives and their "
           "difference, calibration in the large (mean scores within {mean:g} of exact).")


def html(result: AuditResult) -> dict[str, Any] | None:
    """The values the HTML template's score section shows (it escapes them), or None."""
    report, top = scores(result), tops(result)
    if report is None and top is None:
        return None
    groupings = []
    header: tuple[str, ...] = HEADER
    for g in report.groupings if report else ():
        header, rows = table(g, report.has_label if report else False)
        groupings.append({"name": g.name, "summary": summary(g), "rows": rows})
    return {"explain": EXPLAIN.format(bins=report.bins if report else 0, mean=MEAN_BOUND),
            "header": header, "groupings": groupings,
            "top": top_lines(top) if top else []}


def markdown(result: AuditResult, escape: Callable[[str], str]) -> list[str]:
    """The Markdown lines of the score tables, every cell through ``escape``."""
    report = scores(result)
    lines: list[str] = []
    for g in report.groupings if report else ():
        lines += markdown_table(f"**Scores across {escape(g.name)}**",
                                table(g, report.has_label if report else False, MAX_SHOWN),
                                shown_note(g, MAX_SHOWN), summary(g), escape)
    top = tops(result)
    if top is not None:
        lines += [""] + [f"- {escape(line)}" for line in top_lines(top)]
    return lines


def markdown_table(title: str, cells: tuple[tuple[str, ...], list[tuple[str, ...]]],
                   note: str | None, summary: str, escape: Callable[[str], str]) -> list[str]:
    """A per-group table of text cells in Markdown under its title (given escaped), with
    its note and summary line; every cell through ``escape``."""
    header, rows = cells
    return ["", title, "", *([escape(note), ""] if note else []),
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
            *("| " + " | ".join(escape(c) for c in r) + " |" for r in rows),
            "", escape(summary)]


def top_lines(top: TopReport) -> list[str]:
    """One line per top-N cutoff: rows selected and rows tied in its bin."""
    return [f"{c.cutoff}: {c.selected:,} rows selected; {c.tied:,} rows in the cutoff's "
            f"score bin (of {top.bins:,}) split in proportion" for c in top.cutoffs]
