"""Every output channel, fed the same hostile group values (tests/hostile.py).

Each value must be shown visibly, apart from every other value, and never acted
on: terminal, stderr messages, GitHub annotations, Markdown (rendered by
markdown-it, a CommonMark parser), HTML (in headless Chromium), JUnit XML (read
by a real XML parser) and JSON. The expected forms are written out by hand
(``_EXPECTED``), not taken from the program.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fairaudit
from fairaudit.report import junit, markdown, terminal
from fairaudit.report.annotations import Annotations, gate_lines
from tests.cli_support import invoke, read_report
from tests.hostile import GITHUB_REFERENCE, HOSTILE, invisible
from tests.test_annotations import commands_in, runner_parse
from tests.test_html_browser import browser as browser  # the fixture

# how each value is shown, written by hand: quoted where it could be misread,
# invisible and control characters as escapes
_EXPECTED = {
    "two\nlines": '"two\\nlines"',
    "back\rover": '"back\\rover"',
    "\x1b[2Jclear": '"\\x1b[2Jclear"',
    "\x1b]0;title\x07osc": '"\\x1b]0;title\\x07osc"',
    "\u202eevil.exe": '"\\u202eevil.exe"',
    "zero\u200bwidth": '"zero\\u200bwidth"',
    "\ufeffbom": '"\\ufeffbom"',
    "@octocat": "@octocat",
    "#123": "#123",
    "::error file=x::injected": "::error file=x::injected",
    "</script><script>alert(1)</script>": "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(2)>": "<img src=x onerror=alert(2)>",
    "\uffff": '"\\uffff"',
    "nul\x00byte": '"nul\\x00byte"',
    "vt\x0bff\x0c": '"vt\\x0bff\\x0c"',
    "tab\there": '"tab\\there"',
    "": '""',
    "(missing)": '"(missing)"',
    None: "(missing)",
    "Case": "Case",
    "case": "case",
    "case ": '"case "',
    " case": '" case"',
    "a & b": '"a & b"',
    "$x^2$ *bold* `code` |pipe|": "$x^2$ *bold* `code` |pipe|",
}
COLUMN = "col\x1b[31m @user #7\u202e"
SHOWN_COLUMN = "col\\x1b[31m @user #7\\u202e"


def test_every_hostile_value_has_a_hand_written_form():
    assert list(_EXPECTED) == HOSTILE
    assert len(set(_EXPECTED.values())) == len(HOSTILE)  # all apart


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = n * len(HOSTILE)
    return pd.DataFrame({
        "y": rng.integers(0, 2, rows),
        "p": rng.integers(0, 2, rows),
        "grp": pd.Series([v for v in HOSTILE for _ in range(n)], dtype=object),
        COLUMN: rng.choice(["u", "v"], rows),
    })


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the command line on every hostile value, with every report."""
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data.parquet"
    _frame().to_parquet(data)
    out = {k: folder / f"audit.{k}" for k in ("json", "html", "md", "xml")}
    res = invoke("run", data, "--label", "y", "--prediction", "p", "-g", "grp", "-g", COLUMN,
                 "--no-intersections", "--bootstrap", "0", "--no-progress",
                 "--max-gap", "demographic_parity=0.01", "--json", out["json"],
                 "--html", out["html"], "--markdown", out["md"], "--junit", out["xml"])
    assert res.exit_code == 1, res.output  # the gate fails: every report was written
    return res, out


def _one_value(value: str | None) -> fairaudit.AuditResult:
    """An audit where ``value`` is the group most often out of range, and the lower rate."""
    n = 60
    df = pd.DataFrame({
        "y": [0, 1] * n,
        "p": [1, 1] * (n // 2) + [0, 1] * (n // 2),
        "grp": pd.Series(["ok"] * n + [value] * n, dtype=object),
        "feat": [1.0] * n + [1.0, 500.0] * (n // 2),
    })
    return fairaudit.audit(df, label="y", prediction="p", groups=["grp"], bootstrap=0,
                           max_gap={"demographic_parity": 0.01},
                           ranges={"feat": {"min": 0, "max": 10}}, max_out_of_range=0.01)


@pytest.fixture(scope="module")
def each():
    return [(v, _one_value(v)) for v in HOSTILE]


# -- JSON: the exact value as the key, the shown form as the label --------------------


def test_json_keeps_the_raw_value_and_shows_the_label(run):
    _, out = run
    doc = read_report(out["json"])
    grouping = next(g for g in doc["groupings"] if g["name"] == "grp")
    by_key = {g["key"]["grp"]: g["label"] for g in grouping["groups"]}
    assert by_key == {v: _EXPECTED[v] for v in HOSTILE}
    assert any(g["name"] == COLUMN for g in doc["groupings"])  # the column's own name


# -- terminal --------------------------------------------------------------------


def test_terminal_shows_every_value_and_acts_on_none(run):
    res, _ = run
    result = fairaudit.audit(_frame(), label="y", prediction="p", groups=["grp", COLUMN],
                             intersections=False, bootstrap=0)
    buf = io.StringIO()
    terminal.render(result, buf, width=250, color=False)
    for text in (buf.getvalue(), res.stdout):
        assert invisible(text) == []  # no escape, bidi, zero-width, carriage return...
        assert SHOWN_COLUMN in text
    lines = buf.getvalue().splitlines()
    for v in HOSTILE:
        assert any(f"│ {_EXPECTED[v]} " in line for line in lines), v
    assert "\r" not in res.stdout


# -- stderr messages -------------------------------------------------------------


@pytest.mark.parametrize("value", [v for v in HOSTILE if v], ids=range(len(HOSTILE) - 2))
def test_an_error_message_shows_a_hostile_name_on_one_line(value, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("y,p,g\n0,1,a\n")
    res = invoke("run", data, "--label", "y", "--prediction", "p", "-g", value)
    assert res.exit_code == 2
    assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith("fairaudit: error: ")
    assert invisible(res.stderr.rstrip("\n")) == []
    assert commands_in(res.stderr) == []


def test_gate_lines_show_the_value_and_start_no_command(each):
    for value, result in each:
        plain = list(gate_lines(result, Annotations.NONE))
        assert len(plain) == 2, value
        assert all(line.startswith("fairaudit: gate fail: ") for line in plain)
        assert all(invisible(line) == [] for line in plain)
        assert f"in grp = {_EXPECTED[value]}: " in plain[1]


# -- GitHub annotations ----------------------------------------------------------


def test_annotations_carry_the_shown_value_as_github_reads_it(each):
    for value, result in each:
        lines = list(gate_lines(result, Annotations.GITHUB))
        assert commands_in("\n".join(lines)) == lines  # one command a line, no more
        name, _, message = runner_parse(lines[1])
        assert name == "error"
        assert f"in grp = {_EXPECTED[value]}: " in message, value
        assert invisible(message) == []


def test_a_hostile_column_name_in_gate_lines_and_annotations(run):
    res, _ = run
    assert invisible(res.stderr.replace("\n", "")) == []
    assert f"across {SHOWN_COLUMN}: " in res.stderr
    result = fairaudit.audit(_frame(), label="y", prediction="p", groups=[COLUMN],
                             bootstrap=0, max_gap={"demographic_parity": 0.0001})
    lines = list(gate_lines(result, Annotations.GITHUB))
    assert len(lines) == 1 and commands_in(lines[0]) == lines
    _, props, message = runner_parse(lines[0])
    assert props["title"].endswith(f"across {SHOWN_COLUMN}")
    assert f"across {SHOWN_COLUMN}: " in message
    assert invisible(message + props["title"]) == []


# -- Markdown --------------------------------------------------------------------


def _markdown_text(text: str) -> tuple[str, set[str]]:
    """The text a CommonMark renderer shows, and the kinds of token it made (the
    report's own ``<sub>`` footer aside)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text)
    kinds: set[str] = set()
    shown = []
    for t in tokens:
        kinds.add(t.type)
        for child in t.children or ():
            if child.type == "html_inline" and child.content in ("<sub>", "</sub>"):
                continue
            kinds.add(child.type)
            if child.type in ("text", "code_inline"):
                shown.append(child.content)
    return "\n".join(shown), kinds


def test_markdown_shows_values_and_neither_marks_up_nor_mentions(each):
    for value, result in each:
        text, kinds = _markdown_text(markdown.render(result))
        # nothing but text and the report's own table and list: no HTML, link, code, emphasis
        assert not kinds & {"html_inline", "html_block", "link_open", "image", "code_inline",
                            "em_open", "strong_open", "s_open"}, (value, kinds)
        assert GITHUB_REFERENCE.search(text) is None, value
        assert _EXPECTED[value] in text.replace(markdown.JOINER, ""), value
        assert invisible(text.replace(markdown.JOINER, "")) == []


def test_markdown_of_the_whole_run(run):
    _, out = run
    text, kinds = _markdown_text(out["md"].read_text(encoding="utf-8"))
    assert "html_inline" not in kinds and "link_open" not in kinds
    assert GITHUB_REFERENCE.search(text) is None
    assert SHOWN_COLUMN in text.replace(markdown.JOINER, "")


# -- JUnit -----------------------------------------------------------------------


def test_junit_parses_and_shows_each_value(each, run):
    for value, result in each:
        root = ET.fromstring(junit.render(result))
        messages = [f.get("message") for f in root.iter("failure")]
        assert any(f"] in {_EXPECTED[value]}, threshold" in m for m in messages), value
        assert all(invisible(m) == [] for m in messages)
    _, out = run
    root = ET.parse(out["xml"]).getroot()
    classes = {c.get("classname") for c in root.iter("testcase")}
    assert classes == {"fairaudit.grp", f"fairaudit.{SHOWN_COLUMN}"}


# -- HTML, in a real browser -----------------------------------------------------


def test_html_shows_every_value_in_tables_and_charts(run, browser):
    from tests.test_html_browser import Visit, _svg_text

    _, out = run
    v = Visit(browser, Path(out["html"]))
    try:
        v.page.wait_for_timeout(300)  # time for an injected handler to fire, if there were one
        assert v.dialogs == [] and v.errors == [] and v.requests == [v.url]
        assert v.page.locator("img").count() == 0
        assert v.page.locator("script").count() == 0
        assert v.page.title() == v.page.evaluate("() => document.title")
        labels = v.page.eval_on_selector_all("span.label", "els => els.map(e => e.textContent)")
        for value in HOSTILE:
            assert _EXPECTED[value] in labels, value
        charted = " ".join(_svg_text(v.page))
        for value in ("\x1b[2Jclear", "\uffff", "nul\x00byte", "vt\x0bff\x0c",
                      "\u202eevil.exe"):
            assert _EXPECTED[value] in charted, value
        body = v.page.evaluate("() => document.body.innerText")
        assert invisible(body.replace("\t", "")) == []
        assert SHOWN_COLUMN in body
    finally:
        v.close()


def test_html_with_a_hostile_feature_name_and_range_values():
    from fairaudit.report import html

    n = 60
    feature = "f\x00\x1b[2J\u202e"
    df = pd.DataFrame({
        "y": [0, 1] * n, "p": [1, 0, 0, 1] * (n // 2),
        "grp": ["a", "\x0bb"] * n,
        feature: ["ok", "nul\x00", "vt\x0b", "\uffff"] * (n // 2),
    })
    result = fairaudit.audit(df, label="y", prediction="p", groups=["grp"], bootstrap=0,
                             ranges={feature: {"allowed": ["ok", "vt\x0b"]}})
    page = html.render(result)  # the charts' SVG is parsed as XML on the way
    assert "f\\x00\\x1b[2J\\u202e" in page and '"\\x0bb"' in page
    assert invisible(page.replace("\n", "")) == []
