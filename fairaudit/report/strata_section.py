"""The figures within strata as every reporter shows them: plain text cells, escaped by each.

The terminal and Markdown show one summary row per group and metric (crude and
pooled differences, the decomposition, the tests); the HTML page adds, per
comparison, the per-stratum table. The metrics shown are those the per-group
charts show (selection rate, TPR, FPR, precision, accuracy); the JSON holds
every proportion metric.
"""

from __future__ import annotations

from typing import Any

from ..result import AuditResult, StrataComparison, StrataGrouping, StrataReport
from . import view

HEADS = ("Group", "Metric", "Crude", "Pooled (MH)", "Within strata", "Composition",
         "Explained", "Odds ratio (MH)", "CMH p", "Breslow-Day p", "Note")


def report(result: AuditResult) -> StrataReport | None:
    return getattr(result, "strata", None)


def shown(result: AuditResult, r: StrataReport) -> tuple[str, ...]:
    charted = [m for m in result.catalog.charted if m in r.metrics]
    return tuple(charted) or r.metrics


def comparisons(result: AuditResult, g: StrataGrouping) -> list[StrataComparison]:
    r = report(result)
    metrics = shown(result, r) if r is not None else ()
    return sorted((c for c in g.comparisons if c.metric in metrics),
                  key=lambda c: (metrics.index(c.metric), g.comparisons.index(c)))


def _p(p: float | None, q: float | None) -> str:
    text = view.p_text(p) or view.DASH
    if p is not None and q is not None:
        text += f" (adj. {view.p_text(q)})"
    return text


def note(c: StrataComparison) -> str:
    parts = []
    if c.simpson:
        ci = c.ci_mh_difference
        noise = ci is not None and ci[0] <= 0 <= ci[1]
        parts.append("Simpson: pooled and crude differ in sign"
                     + (" (the pooled interval holds 0)" if noise else ""))
    if c.small:
        parts.append("small: left out of gates")
    sparse = sum(1 for s in c.cells if s.sparse)
    if sparse:
        parts.append(f"{sparse} sparse strat{'um' if sparse == 1 else 'a'}")
    if c.reason:
        parts.append(c.reason)
    return "; ".join(parts)


def cells(c: StrataComparison) -> list[str]:
    """One summary row, as plain text (each reporter escapes it)."""
    pooled = view.number(c.mh_difference)
    if c.mh_difference is not None and c.ci_mh_difference is not None:
        pooled += " " + view.interval(c.ci_mh_difference)
    odds = view.number(c.mh_odds_ratio, 2)
    if c.mh_odds_ratio is not None and c.ci_mh_odds_ratio is not None:
        odds += " " + view.interval(c.ci_mh_odds_ratio, 2)
    share = view.DASH if c.share_explained is None else f"{c.share_explained:.0%}"
    return [c.group, view.metric_title(c.metric), view.number(c.crude_difference), pooled,
            view.number(c.rate_part), view.number(c.composition_part), share, odds,
            _p(c.cmh_p_value, c.cmh_p_adjusted),
            _p(c.breslow_day_p_value, c.breslow_day_p_adjusted), note(c)]


def intro(r: StrataReport) -> str:
    columns = ", ".join(r.columns)
    text = (f"Within strata of {columns}: {r.rows:,} rows with a known stratum")
    if r.rows_missing:
        text += f"; {r.rows_missing:,} rows with a missing stratum value left out"
    return text


def title(g: StrataGrouping, r: StrataReport) -> str:
    return f"within strata of {', '.join(r.columns)} across {g.name}, against {g.reference}"


def section(result: AuditResult) -> dict[str, Any] | None:
    """The values the HTML template's strata section shows, or None without strata."""
    r = report(result)
    if r is None:
        return None
    out = []
    for i, g in enumerate(r.groupings, 1):
        chosen = comparisons(result, g)
        out.append({
            "id": f"strata-{i}", "name": g.name, "reference": g.reference,
            "rows": [cells(c) for c in chosen],
            "tables": [{
                "title": f"{view.metric_title(c.metric)}: {c.group} against {c.reference}",
                "decomposition": _decomposition(c),
                "standardised": _standardised(c),
                "strata": [[s.label, _rate(s.group), _rate(s.reference),
                            view.number(s.difference) + (
                                " " + view.interval(s.ci_difference)
                                if s.ci_difference is not None else ""),
                            "sparse" if s.sparse else ""] for s in c.cells]}
                for c in chosen],
        })
    return {"intro": intro(r), "columns": ", ".join(r.columns), "heads": HEADS,
            "sparse_below": f"{r.sparse_below:,}", "groupings": out}


def _rate(rate: Any) -> str:
    if rate.value is None:
        return f"{view.DASH} (0 rows)"
    return f"{view.number(rate.value)} ({rate.numerator:,}/{rate.denominator:,})"


def _decomposition(c: StrataComparison) -> str:
    if c.crude_difference is None or c.rate_part is None or c.composition_part is None:
        return "no decomposition: a side has no row with a known stratum"
    text = (f"crude difference {view.number(c.crude_difference)} = within strata "
            f"{view.number(c.rate_part)} + composition {view.number(c.composition_part)}")
    if c.share_explained is not None:
        text += f"; the stratum mix accounts for {c.share_explained:.0%} of the crude gap"
    if c.strata_filled:
        text += (f" ({c.strata_filled} strat{'um' if c.strata_filled == 1 else 'a'} with one "
                 "side only: composition only)")
    return text


def _standardised(c: StrataComparison) -> str:
    if c.standardised_group is None:
        return "no standardised rates: no stratum has both sides"
    text = (f"standardised to the overall mix: {view.number(c.standardised_group)} against "
            f"{view.number(c.standardised_reference)} "
            f"(difference {view.number(c.standardised_difference)})")
    if c.standard_coverage < 1:
        text += f", over the strata both have ({c.standard_coverage:.0%} of the mix)"
    return text
