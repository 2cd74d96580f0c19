"""The HTML report in a real headless Chromium: it draws, loads nothing, and runs no injected code.

Needs the ``playwright`` package (the ``test`` extra) and a Chromium binary,
Debian's ``/usr/bin/chromium`` unless ``FAIRAUDIT_CHROMIUM`` names another. It
never downloads a browser. Without one the tests skip, except under CI (``CI``
set), where they fail: CI must run them.

``FAIRAUDIT_REFRESH_SCREENSHOT=1`` also writes the COMPAS screenshot to
``docs/compas-audit.png``, the one the README shows, and the bank example's
range checks across age bands to ``docs/bank-audit.png`` (docs/ranges.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fairaudit.report import html
from tests.conftest import ROOT
from tests.test_html import COLUMN, SCRIPT, _wide, hostile_frame

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FAIRAUDIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = ROOT / "docs" / "compas-audit.png"
BANK_SCREENSHOT = ROOT / "docs" / "bank-audit.png"
BANK = ROOT / "examples" / "bank"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A page opened on a file, with everything it tried to do recorded."""

    def __init__(self, browser, path: Path, width: int = 1200) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)
        self.url = path.resolve().as_uri()
        start = time.perf_counter()
        self.page.goto(self.url, wait_until="load")
        self.seconds = time.perf_counter() - start

    def close(self) -> None:
        self.page.close()


def _keep(shot: Path, target: Path) -> None:
    """Store a screenshot in 256 colours: a third of the bytes, the same look."""
    from PIL import Image  # installed with matplotlib

    target.parent.mkdir(exist_ok=True)
    with Image.open(shot) as im:
        small = im.convert("RGB").quantize(256, dither=Image.Dither.NONE)
        small.save(target, optimize=True)


def _print_timing(v, what: str, size: int) -> None:
    """The page's size and load times, printed for the record (never asserted)."""
    timing = v.page.evaluate(
        "() => { const t = performance.getEntriesByType('navigation')[0];"
        " return [t.domContentLoadedEventEnd, t.loadEventEnd]; }")
    print(f"\n{what}: HTML {size:,} bytes; load event at {timing[1]:.0f} ms "
          f"(DOMContentLoaded {timing[0]:.0f} ms); goto() returned after "
          f"{v.seconds * 1000:.0f} ms")


def _drawn(charts, n: int) -> None:
    """Exactly ``n`` charts, each laid out at a readable size."""
    assert charts.count() == n
    for i in range(n):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60


def _svg_text(page) -> list[str]:
    # SVG text has no innerText; textContent is what the page shows
    return page.eval_on_selector_all("svg.chart text", "els => els.map(e => e.textContent)")


def _compas_html(tmp_path: Path) -> Path:
    out = tmp_path / "compas-audit.html"
    # a fixed time, so that the committed screenshot changes only when the report does
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1700000000"}
    proc = subprocess.run(
        [sys.executable, "-m", "fairaudit", "run", "examples/compas/compas.parquet",
         "--label", "two_year_recid", "--prediction", "prediction", "-g", "race", "-g", "sex",
         "--reference", "race=Caucasian", "--max-gap", "equalized_odds=0.1",
         "--min-ratio", "demographic_parity=0.8", "--html", str(out), "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    return out


def test_compas_audit_renders(browser, tmp_path):
    path = _compas_html(tmp_path)
    v = Visit(browser, path)
    try:
        assert v.errors == []
        assert v.requests == [v.url]  # the file itself, nothing else
        banner = v.page.inner_text("#verdict")
        assert "FAIL" in banner
        assert re.search(r"Equalized odds gap across race: 0\.397 \[0\.\d{3}, 0\.\d{3}\], "
                         r"threshold 0\.1 \(largest allowed\)", banner), banner
        assert "Demographic parity ratio across race&sex: 0.257" in banner
        # one chart per grouping (race, sex, race&sex), five metric panels each
        _drawn(v.page.locator("figure svg.chart"), 3)
        titles = _svg_text(v.page)
        for metric in ("Selection rate", "TPR", "FPR", "Precision", "Accuracy"):
            assert titles.count(metric) == 3
        # status reads by word and shape, not colour alone
        first = v.page.locator("table.gates tbody tr").first.inner_text()
        assert "✗" in first and "FAIL" in first
        shot = tmp_path / "compas-audit.png"
        v.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        if os.environ.get("FAIRAUDIT_REFRESH_SCREENSHOT"):
            _keep(shot, SCREENSHOT)
    finally:
        v.close()


def _bank_html(tmp_path: Path) -> Path:
    out = tmp_path / "bank-audit.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1700000000"}
    # the example's own config: ranges, range gates and two fairness gates
    proc = subprocess.run([sys.executable, "-m", "fairaudit", "run", "--html", str(out),
                           "--quiet"],
                          cwd=BANK, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    return out


def test_bank_audit_with_ranges_renders(browser, tmp_path):
    path = _bank_html(tmp_path)
    size = path.stat().st_size
    v = Visit(browser, path)
    try:
        _print_timing(v, "bank example with ranges", size)
        assert v.errors == []
        assert v.requests == [v.url]
        banner = v.page.inner_text("#verdict")
        assert "FAIL" in banner
        # each figure with its interval, when the audit has one
        ci = r"( \[[0-9.]+, [0-9.]+\])?"
        assert re.search(rf"Share of income out of range across age_band: 0\.413{ci} in 18-25",
                         banner)
        assert "Range coverage gap across age_band: 0.677" in banner
        # three groupings (sex, age_band, sex&age_band): a metric chart each, and in the
        # range section an out-of-range chart each
        assert v.page.locator("figure svg.chart").count() == 6
        _drawn(v.page.locator("#ranges figure svg.chart"), 3)
        titles = _svg_text(v.page)
        for feature in ("Outside any range", "income", "debt", "age", "employment"):
            assert titles.count(feature) == 3
        block = v.page.locator("#ranges-2")
        text = block.inner_text()
        assert "Most often out of range: 18-25" in text
        assert "Range coverage gap across age_band: difference 0.677" in text
        # range gates by word and shape
        assert re.search(rf"✗ FAIL income out of range: 0\.413{ci} in 18-25, threshold 0\.2", text)
        assert "✓ PASS debt out of range" in text
        rows = v.page.locator("#ranges-2 table.ranges tbody tr")
        assert rows.count() == 5  # four age bands and all rows
        assert "most often out of range" in rows.first.inner_text()
        # nothing spills out of the page sideways
        assert v.page.evaluate("document.documentElement.scrollWidth") <= 1200
        shot = tmp_path / "bank-audit.png"
        box = block.bounding_box()
        assert box is not None
        # the block with a margin, as it sits on the page
        v.page.screenshot(path=str(shot), full_page=True, clip={
            "x": box["x"] - 28, "y": box["y"] - 20, "width": box["width"] + 56,
            "height": box["height"] + 36})
        assert shot.stat().st_size > 50_000
        if os.environ.get("FAIRAUDIT_REFRESH_SCREENSHOT"):
            _keep(shot, BANK_SCREENSHOT)
    finally:
        v.close()


def test_hostile_names_stay_text(browser, tmp_path):
    import fairaudit

    # the file name is markup too
    data = tmp_path / "<img src=y onerror=alert(2)>.parquet"
    hostile_frame().to_parquet(data)
    result = fairaudit.audit(str(data), label="y", prediction="p", groups=[COLUMN, "sex"],
                             max_gap={"demographic_parity": 0.01})
    path = tmp_path / "hostile.html"
    path.write_text(html.render(result), encoding="utf-8")
    v = Visit(browser, path)
    try:
        v.page.wait_for_timeout(300)  # time for an injected handler to fire, if there were one
        assert v.dialogs == []
        assert v.errors == []
        assert v.requests == [v.url]
        assert v.page.locator("img").count() == 0
        assert v.page.locator("script").count() == 0
        assert v.page.locator("b:text-is('bold')").count() == 0
        group = v.page.get_by_text(SCRIPT, exact=True).first
        assert group.is_visible()
        assert v.page.get_by_text(COLUMN, exact=True).first.is_visible()
        assert v.page.get_by_text(data.name, exact=False).first.is_visible()
        # and in the charts, as SVG text
        assert any(SCRIPT in t for t in _svg_text(v.page))
    finally:
        v.close()


def test_size_and_load_time_for_sixty_intersections(browser, tmp_path):
    path = tmp_path / "wide.html"
    path.write_text(html.render(_wide()), encoding="utf-8")
    size = path.stat().st_size
    v = Visit(browser, path)
    try:
        _print_timing(v, "3 group columns, 60 intersection groups", size)
        assert size < 2_000_000
        assert v.errors == [] and v.requests == [v.url]
        assert v.page.locator("figure svg.chart").count() == 4
    finally:
        v.close()


def test_multiclass_audit_renders_its_classes(browser, tmp_path):
    from tests.test_multiclass import compas_multiclass

    data = tmp_path / "compas3.parquet"
    compas_multiclass().to_parquet(data)
    out = tmp_path / "classes.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "fairaudit", "run", str(data), "--task", "multiclass",
         "--label", "y", "--prediction", "p", "-g", "race", "-g", "sex",
         "--max-gap", "worst_class_fpr=0.1", "--html", str(out), "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    v = Visit(browser, out)
    try:
        assert v.errors == []
        assert "Worst-class FPR gap across race: 0.397" in v.page.inner_text("#verdict")
        _drawn(v.page.locator("figure svg.chart"), 3)
        section = v.page.locator("#classes")
        assert section.is_visible()
        # race has 6 groups, sex 2, race&sex 12: a matrix row per group and true class
        assert section.locator("tbody tr").count() == (6 + 2 + 12) * (1 + 3)
        text = section.inner_text().lower()  # headings may be drawn in capitals
        assert "macro tpr" in text and "confusion matrices across" in text
    finally:
        v.close()
