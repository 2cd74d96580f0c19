"""A compact Markdown report for pull-request comments and CI job summaries.

GitHub-flavoured Markdown: the verdict, the gates as a table, and the widest
gaps. Every string from the data is escaped so that a group name cannot break
a table, start a link, or inject HTML.
"""

from __future__ import annotations

import re

from ..result import AuditResult
from ..text import printable
from . import class_section, comparison, distribution_section, score_section, strata_section, view

_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
# GitHub links "@name" to a user (and notifies them) and "#123" to an issue; a word
# joiner (U+2060, zero-width) after the sign keeps the text and breaks the reference
_REFERENCE = re.compile(r"([@#])(?=\w)")
JOINER = "\u2060"


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell: nothing in it marks up, links or mentions.

    Control and invisible characters are shown as escapes (``\\n``, ``\\u202e``),
    HTML is escaped, markup characters (``|``, backticks, ``*``, ``$``...) are
    quoted, and ``@name`` and ``#123`` are kept from mentioning or linking.
    """
    text = printable(str(text))
    # "&" only where it would start an entity, so that race&sex stays readable
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _REFERENCE.sub(r"\1" + JOINER, text)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _peers(result: AuditResult) -> list[str]:
    """Per grouping: the headline criteria against the whole population, the average odds
    difference, the spread of ppr and the benefit's Theil indices (the JSON has them all)."""
    columns = [("demographic_parity", "Demographic parity to overall"),
               ("equalized_odds", "Equalized odds to overall")]
    rows = []
    for g in result.groupings:
        aod = g.criteria.get("average_odds_difference")
        q = g.inequality
        rows.append(_row([escape(g.name)]
                         + [view.number(g.to_overall[c].difference) if c in g.to_overall
                            else view.DASH for c, _ in columns]
                         + [view.number(aod.difference) if aod else view.DASH,
                            view.number(g.ppr.gap.ratio) if g.ppr else view.DASH,
                            view.number(q.theil_index) if q else view.DASH,
                            view.number(q.between_group_theil_index) if q else view.DASH]))
    if not rows:
        return []
    head = ["Grouping", *(t for _, t in columns), "Average odds difference", "ppr ratio",
            "Theil index", "Theil between groups"]
    return ["", "### Beside the gaps", "", _row(head), _row(["---"] + ["---:"] * 6), *rows]


def _strata(result: AuditResult) -> list[str]:
    r = strata_section.report(result)
    if r is None:
        return []
    lines = ["", "### Within strata", "", escape(strata_section.intro(r)) + ". Crude = within "
             "strata + composition (Kitagawa); pooled: the Mantel-Haenszel difference."]
    for g in r.groupings:
        lines += ["", f"**{escape(strata_section.title(g, r))}**", "",
                  _row(list(strata_section.HEADS)),
                  _row(["---", "---"] + ["---:"] * 8 + ["---"])]
        lines += [_row([escape(x) for x in strata_section.cells(c)])
                  for c in strata_section.comparisons(result, g)]
    return lines


def render(result: AuditResult, worst: int = 5) -> str:
    """The Markdown text, ending in a newline."""
    verdict = view.verdict(result)
    lines = []
    if result.gates:
        mark, word = view.MARK.get(verdict, ""), view.WORD.get(verdict, verdict)
        lines.append(f"## fairaudit: {mark} {word}")
    else:
        lines.append("## fairaudit: report only (no gates)")
    lines += ["", escape(view.verdict_summary(result)) + " " + escape(view.files_line(result))
              + "."]
    headline = [g for g in result.gates if view.status(g) in ("fail", "inconclusive")]
    if headline:
        lines.append("")
        lines += [f"- {view.MARK[view.status(g)]} {escape(view.gate_sentence(g))}"
                  for g in headline]

    if result.gates:
        with_rule = any(view.gate_rule(g) for g in result.gates)
        lines += ["", "### Gates", ""]
        head = ["Status", "Grouping", "Criterion", "Gate", "Value", "Threshold"]
        head += ["Rule"] if with_rule else []
        lines += [_row(head), _row(["---"] * 4 + ["---:"] * 2 + (["---"] if with_rule else []))]
        for g in result.gates:
            s = view.status(g)
            what, bound = view.kind_words(g.kind)
            value = view.number(g.value)
            ci = view.gate_ci(g)
            if ci:
                value += " " + view.interval(ci)
            cells = [f"{view.MARK[s]} {view.WORD[s]}", escape(g.grouping),
                     escape(view.metric_title(g.criterion) if g.kind == "max_drop"
                            else view.criterion_title(g.criterion)), f"{bound} {what}",
                     escape(value), view.threshold(g.threshold)]
            cells += [escape(view.gate_rule(g) or view.DASH)] if with_rule else []
            lines.append(_row(cells))

    gaps = view.worst_gaps(result, worst)
    if gaps:
        lines += ["", "### Widest gaps", ""]
        lines += [_row(["Grouping", "Metric", "Lowest group", "Highest group", "Difference",
                        "Ratio"]),
                  _row(["---", "---", "---", "---", "---:", "---:"])]
        for grouping, e in gaps:
            lo = e.low.metrics[e.metric].value
            hi = e.high.metrics[e.metric].value
            lines.append(_row([
                escape(grouping.name), escape(view.metric_title(e.metric)),
                f"{escape(e.low.label)} ({view.number(lo)})",
                f"{escape(e.high.label)} ({view.number(hi)})",
                view.number(e.difference), view.number(e.ratio),
            ]))
        small = sum(1 for x in result.groupings for grp in x.groups if grp.small)
        note = (f"Gaps compare groups with at least {result.min_group_size:,} rows (and as "
                "many in the rate's denominator)"
                + (f"; {small:,} smaller group{'s' if small != 1 else ''} left out." if small
                   else "."))
        lines += ["", note]

    lines += _strata(result)
    lines += class_section.markdown_lines(result, escape)
    if result.comparison is not None:
        lines += ["", *comparison_lines(result)]
    lines += _peers(result)
    lines += score_section.markdown(result, escape)
    lines += distribution_section.markdown(result, escape)

    p = result.provenance
    shown = ", ".join(escape(f.path) + (f" (sha256 {f.sha256[:12]})" if f.sha256 else "")
                      for f in p.files[:3])
    if len(p.files) > 3:
        shown += f" and {len(p.files) - 3} more"
    lines += ["", f"<sub>fairaudit {escape(p.version)} · {escape(p.timestamp)}"
              + (f" · {shown}" if shown else "") + "</sub>", ""]
    return "\n".join(lines)



def comparison_lines(result: AuditResult) -> list[str]:
    """The candidate against the baseline: each criterion's gap under both, and in words."""
    report = result.comparison
    assert report is not None
    lines = ["### Candidate against baseline", "", escape(comparison.rows_line(report)) + ".", "",
             _row(["Grouping", "Criterion", "Candidate gap", "Baseline gap", "Change"]),
             _row(["---", "---", "---:", "---:", "---:"])]
    for g in report.groupings:
        for name, gap in g.criteria.items():
            change = comparison.signed(gap.change)
            if gap.change is not None and gap.ci is not None:
                change += " " + view.interval(gap.ci)
            lines.append(_row([escape(g.name), escape(view.criterion_title(name)),
                               view.number(gap.candidate), view.number(gap.baseline),
                               escape(change)]))
    told = [line for g in report.groupings for m in comparison.TOLD if m in report.metrics
            if (line := comparison.sentence(g, m, view.metric_title(m)))]
    if told:
        lines += ["", *[f"- {escape(line)}" for line in told]]
    return lines
