"""The trend HTML in a real headless Chromium: it draws a chart per criterion, loads nothing,
and runs no injected code (hostile group, column, label and file names).

``FAIRAUDIT_REFRESH_SCREENSHOT=1`` also writes ``docs/nightly-trend.png``, the
screenshot the README shows, from the examples/nightly history.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fairaudit.engine import config_from, count, judge
from fairaudit.history import History
from tests.conftest import ROOT
from tests.history_support import day
from tests.test_history_drift import record_example
from tests.test_html import COLUMN, SCRIPT
from tests.test_html_browser import Visit, _drawn, _keep, _svg_text, browser  # noqa: F401

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "nightly-trend.png"
LABEL = "<img src=y onerror=alert(3)>"


def _trend(db: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # from the history's folder, as a cron job would run it: the page names h.db
    return subprocess.run([sys.executable, "-m", "fairaudit", "history", db.name, "--html",
                           str(out), "--quiet", *args], env=env, capture_output=True,
                          text=True, timeout=300, cwd=db.parent)


def test_the_example_trend_renders_one_chart_per_criterion(browser, tmp_path):  # noqa: F811
    db, _ = record_example(tmp_path, bootstrap=100)
    out = tmp_path / "trend.html"
    proc = _trend(db, out, "--max-increase", "false_positive_parity=0.05",
                  "--baseline-runs", "7", "--cusum")
    assert proc.returncode == 1, proc.stderr  # model A's creep fails the drift gate
    v = Visit(browser, out)
    try:
        assert v.errors == []
        assert v.requests == [v.url]  # the file itself, nothing else
        banner = v.page.inner_text("#verdict")
        assert "DRIFT FAIL" in banner
        assert re.search(r"false positive parity gap across region \(model-a\): grew by "
                         r"\+0\.\d{4} against the mean of 7 earlier runs", banner), banner
        # two models, two gated criteria each: four charts, one panel (region) each
        _drawn(v.page.locator("figure svg.chart"), 4)
        titles = v.page.locator("#trends h3").all_inner_texts()
        assert titles == ["False positive parity · model-a", "Demographic parity · model-a",
                          "False positive parity · model-b", "Demographic parity · model-b"]
        assert _svg_text(v.page).count("region") == 4
        rows = v.page.locator("table.drift tbody tr").all_inner_texts()
        assert "FAIL" in rows[0] and "model-a" in rows[0] and "PASS" in rows[1]
        assert v.page.locator("table.runs tbody tr").count() == 60
        assert v.page.evaluate("document.documentElement.scrollWidth") <= 1200
        shot = tmp_path / "trend.png"
        box = v.page.locator("#chart-1").bounding_box()
        assert box is not None
        v.page.screenshot(path=str(shot), full_page=True, clip={
            "x": 0, "y": 0, "width": 1200, "height": box["y"] + box["height"] + 16})
        assert shot.stat().st_size > 30_000
        if os.environ.get("FAIRAUDIT_REFRESH_SCREENSHOT"):
            _keep(shot, SCREENSHOT)
    finally:
        v.close()


def test_hostile_names_stay_text_in_the_trend(browser, tmp_path):  # noqa: F811
    db = tmp_path / "h.db"
    data = tmp_path / "<img src=z onerror=alert(4)>.parquet"
    with History.open(db, create=True) as h:
        for i in range(4):
            frame = day(10 + i, rows=900, creep=0.08 * i)
            frame = frame.rename(columns={"region": COLUMN})
            frame[COLUMN] = frame[COLUMN].map({"a": SCRIPT, "b": "plain",
                                               "c": "$x^2$ & <b>bold</b>"})
            frame.to_parquet(data)
            cfg = config_from(label="y", prediction="p", groups=[COLUMN], bootstrap=100,
                              max_gap={"false_positive_parity": 0.12})
            c = count(data, cfg)
            h.record(judge(c.table, cfg, c.files), c.table, cfg, as_of=f"2024-01-0{i + 1}",
                     label=LABEL)
    with History.open(db) as h:
        statuses = {g.status for g in h.gates()}
    assert statuses == {"pass", "fail"}  # both shapes are drawn
    out = tmp_path / "hostile.html"
    proc = _trend(db, out, "--max-increase", "false_positive_parity=0.01")
    assert proc.returncode == 1, proc.stderr
    v = Visit(browser, out)
    try:
        v.page.wait_for_timeout(300)  # time for an injected handler to fire, if there were one
        assert v.dialogs == [] and v.errors == [] and v.requests == [v.url]
        assert v.page.locator("img").count() == 0
        assert v.page.locator("script").count() == 0
        assert v.page.locator("b:text-is('bold')").count() == 0
        _drawn(v.page.locator("figure svg.chart"), 1)  # one gated criterion, one chart
        assert v.page.get_by_text(LABEL, exact=False).first.is_visible()
        assert v.page.get_by_text(COLUMN, exact=False).first.is_visible()
        assert any(COLUMN in t for t in _svg_text(v.page))  # the panel's title, as SVG text
    finally:
        v.close()


def test_a_trend_without_gates_says_so(browser, tmp_path):  # noqa: F811
    data = tmp_path / "d.parquet"
    pd.DataFrame(day(1)).to_parquet(data)
    db = tmp_path / "h.db"
    with History.open(db, create=True) as h:
        cfg = config_from(label="y", prediction="p", groups=["region"], bootstrap=0)
        c = count(data, cfg)
        h.record(judge(c.table, cfg, c.files), c.table, cfg, as_of="2024-01-01")
    out = tmp_path / "t.html"
    assert _trend(db, out).returncode == 0
    v = Visit(browser, out)
    try:
        assert v.errors == [] and v.requests == [v.url]
        assert "NO DRIFT GATES" in v.page.inner_text("#verdict")
        assert v.page.locator("figure svg.chart").count() == 0
        assert "No run of this history has a gate" in v.page.inner_text("#trends")
    finally:
        v.close()
