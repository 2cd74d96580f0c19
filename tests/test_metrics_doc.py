"""docs/metrics.md lists every metric and criterion with the formula the code uses."""

from __future__ import annotations

import re

from fairaudit.metrics import AGGREGATE_CRITERIA, CONFUSION_CELLS, CRITERIA, METRICS
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


def _rows() -> dict[str, list[str]]:
    out = {}
    for line in DOC.splitlines():
        match = re.match(r"\| `(\w+)` \|(.*)\|$", line)
        if match:
            out[match.group(1)] = [c.strip() for c in match.group(2).split("|")]
    return out


def _sum(cells: tuple[int, ...]) -> str:
    if len(cells) == 4:
        return "n"
    text = " + ".join(CONFUSION_CELLS[c].upper() for c in cells)
    return f"({text})" if len(cells) > 1 else text


def test_every_metric_is_documented_with_its_formula():
    rows = _rows()
    for m in METRICS:
        title, formula, denominator, better, description = rows[m.name]
        assert title == m.title
        assert formula == f"{_sum(m.numerator)} / {_sum(m.denominator)}"
        assert (denominator, better, description) == (m.denominator_name, m.better,
                                                       m.description)


def test_every_criterion_is_documented_with_its_metrics():
    rows = _rows()
    for c in (*CRITERIA, *AGGREGATE_CRITERIA):
        metrics, description = rows[c.name]
        assert metrics == ", ".join(f"`{n}`" for n in c.metrics)
        assert description == c.description


def test_nothing_documented_that_the_code_lacks():
    criteria = (*CRITERIA, *AGGREGATE_CRITERIA)
    assert set(_rows()) == {m.name for m in METRICS} | {c.name for c in criteria}
