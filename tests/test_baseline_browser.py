"""The comparison with a baseline in a real headless Chromium: a before/after chart per
criterion, drawn at a readable size, the changes as written in the JSON, nothing loaded or run.

Uses the browser helpers of tests/test_html_browser.py (Debian's Chromium; skipped without
one, except under CI).
"""

from __future__ import annotations

import pandas as pd
import pytest

import fairaudit
from fairaudit.report import html
from fairaudit.report.chart import FAIL
from tests.cli_support import COMPAS
from tests.test_html_browser import Visit, _drawn, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_a_before_after_chart_per_criterion(browser, tmp_path):  # noqa: F811
    result = fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                             groups=["race", "sex"], baseline_score="score",
                             baseline_threshold=0.7, bootstrap=200,
                             max_increase={"race:equalized_odds": 0.02})
    assert result.gates[0].status == "fail"
    path = tmp_path / "audit.html"
    path.write_text(html.render(result), encoding="utf-8")
    v = Visit(browser, path)
    try:
        assert v.errors == [] and v.dialogs == []
        assert all(u.startswith("file:") for u in v.requests)
        charts = v.page.locator("#comparison figure.change-chart svg.chart")
        _drawn(charts, len(result.comparison.criteria))
        eo = result.comparison.grouping("race").criteria["equalized_odds"]
        texts = charts.nth(1).evaluate("s => [...s.querySelectorAll('text')]"
                                       ".map(e => [e.textContent, getComputedStyle(e).fill])")
        by_text = {t.strip(): fill for t, fill in texts}
        assert f"{eo.change:+.3f} [{eo.ci[0]:+.3f}, {eo.ci[1]:+.3f}]" in by_text
        # the grouping whose max_increase gate failed is named in red, the others are not
        red = "rgb(180, 35, 24)"
        assert FAIL == "#b42318" and by_text["race"] == red and by_text["sex"] != red
        rows = v.page.locator("#comparison table.change-groups").first.locator("tbody tr")
        assert rows.count() == len(result.comparison.grouping("race").groups) + 1
        assert "TPR across race: up 40% in African-American" in v.page.inner_text("#comparison")
    finally:
        v.close()


def test_hostile_group_names_stay_text(browser, tmp_path):  # noqa: F811
    name = "<img src=x onerror=alert(1)>"
    df = pd.DataFrame({"g": [name] * 40 + ["b"] * 40, "y": [0, 1] * 40,
                       "cand": [1, 0, 1, 1] * 20, "base": [0, 1, 0, 1] * 20})
    result = fairaudit.audit(df, label="y", prediction="cand", groups=["g"],
                             baseline_prediction="base", bootstrap=100)
    path = tmp_path / "hostile.html"
    path.write_text(html.render(result), encoding="utf-8")
    v = Visit(browser, path)
    try:
        assert v.errors == [] and v.dialogs == []
        assert v.page.locator("#comparison img").count() == 0
        assert name in v.page.inner_text("#comparison table.change-groups")
    finally:
        v.close()
