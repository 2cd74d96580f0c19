"""Markdown, JUnit and --quiet: golden files, parsed XML, exact CLI output."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

import fairaudit
from fairaudit.cli import app
from fairaudit.report import junit, markdown
from fairaudit.result import GateResult
from tests.conftest import ROOT

COMPAS = "examples/compas/compas.parquet"
EPOCH = "1700000000"  # 2023-11-14T22:13:20+00:00
GOLDEN = ROOT / "tests" / "golden" / "compas.md"
ARGS = [COMPAS, "--label", "two_year_recid", "--prediction", "prediction", "-g", "race",
        "-g", "sex", "--reference", "race=Caucasian", "--max-gap", "equalized_odds=0.1",
        "--min-ratio", "demographic_parity=0.8"]


def _compas() -> fairaudit.AuditResult:
    return fairaudit.audit(COMPAS, label="two_year_recid", prediction="prediction",
                           groups=["race", "sex"], reference=[("race", "Caucasian")],
                           max_gap={"equalized_odds": 0.1},
                           min_ratio={"demographic_parity": 0.8})


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def _golden(text: str) -> str:
    if os.environ.get("FAIRAUDIT_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    return GOLDEN.read_text(encoding="utf-8")


def test_markdown_golden(at_root):
    text = markdown.render(_compas())
    assert text == _golden(text)


def test_markdown_golden_from_the_cli(at_root, tmp_path):
    # a real process: SOURCE_DATE_EPOCH must reach the engine through the environment
    out = tmp_path / "audit.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": EPOCH}
    proc = subprocess.run([sys.executable, "-m", "fairaudit", "run", *ARGS, "--markdown",
                           str(out), "--quiet"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert out.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")


def test_markdown_tables_are_well_formed(at_root):
    # every table row has as many cells as its header (a stray "|" would add one)
    lines = markdown.render(_compas()).splitlines()
    tables: list[list[str]] = []
    for i, line in enumerate(lines):
        if line.startswith("|"):
            if not lines[i - 1].startswith("|"):
                tables.append([])
            tables[-1].append(line)
    assert len(tables) == 3  # gates, widest gaps, beside the gaps
    for t in tables:
        widths = {len(row.replace("\\|", "").split("|")) for row in t}
        assert len(widths) == 1
        assert set(t[1].replace("|", "").split()) <= {"---", "---:"}
    gates = tables[0]
    assert len(gates) == 2 + 6  # header, rule, six gates
    assert sum("✗ FAIL" in r for r in gates) == 4


def test_markdown_escapes_user_strings():
    import pandas as pd

    n = 40
    df = pd.DataFrame({
        "y": [0, 1] * n, "p": [1, 1, 0, 1] * (n // 2),
        "g|*": ["a|b", "<script>alert(1)</script>"] * n,
    })
    text = markdown.render(fairaudit.audit(df, label="y", prediction="p", groups=["g|*"],
                                           max_gap={"demographic_parity": 0.01}))
    assert "<script>" not in text
    assert "&lt;script&gt;alert\\(1\\)" not in text  # parentheses are left alone
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a\\|b (0.500)" in text and "| g\\|\\* |" in text
    assert "- ✗ Demographic parity gap across g\\|\\*: 0.500" in text


def test_junit_counts_and_schema_attributes(at_root):
    root = ET.fromstring(junit.render(_compas()).encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    for el in (root, suite):
        assert {"tests", "failures", "errors", "skipped", "time"} <= set(el.attrib)
        assert (el.get("tests"), el.get("failures"), el.get("errors"), el.get("skipped")) == \
            ("6", "4", "0", "0")
    cases = suite.findall("testcase")
    assert len(cases) == 6
    for case in cases:
        assert {"classname", "name", "time"} <= set(case.attrib)
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert names[0] == ("fairaudit.race", "max_gap equalized_odds")
    assert names[5] == ("fairaudit.race&sex", "min_ratio demographic_parity")
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("classname") for c in failed] == ["fairaudit.race", "fairaudit.race&sex"] * 2
    msg = failed[0].find("failure").get("message")
    assert "0.397" in msg and "threshold 0.1" in msg
    assert suite.get("timestamp") == "2023-11-14T22:13:20+00:00"


@dataclass(frozen=True)
class _Gate(GateResult):
    """A gate as results with intervals carry it (interval, rule, inconclusive status)."""

    ci: tuple[float, float] | None = None
    rule: str | None = None


def _with_gates(result, gates):
    import dataclasses

    return dataclasses.replace(result, gates=tuple(gates))


def test_junit_inconclusive_and_skipped_are_skipped(at_root):
    base = _compas()
    g = base.gates[0]
    gates = [
        _Gate(g.grouping, g.criterion, g.kind, 0.4, 0.397, "inconclusive", None,
              ci=(0.35, 0.44), rule="interval"),
        _Gate("sex", g.criterion, g.kind, 0.1, None, "skipped", "1 group with at least 30 rows"),
        _Gate("race", "demographic_parity", "min_ratio", 0.3, 0.356, "pass"),
    ]
    root = ET.fromstring(junit.render(_with_gates(base, gates)))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "0", "2")
    cases = root.find("testsuite").findall("testcase")
    skipped = [c.find("skipped") for c in cases]
    assert skipped[0] is not None and skipped[0].get("message").startswith("inconclusive: ")
    assert "[0.350, 0.440]" in skipped[0].get("message")
    assert skipped[1] is not None and skipped[2] is None


def test_markdown_shows_interval_and_rule_when_present(at_root):
    base = _compas()
    g = base.gates[0]
    gate = _Gate(g.grouping, g.criterion, g.kind, 0.4, 0.397, "inconclusive", None,
                 ci=(0.35, 0.44), rule="interval")
    text = markdown.render(_with_gates(base, [gate]))
    assert "| Rule |" in text
    assert "| ? INCONCLUSIVE | race | Equalized odds | largest allowed gap | " \
           "0.397 \\[0.350, 0.440\\] | 0.4 | interval |" in text
    assert "- ? Equalized odds gap across race" in text


def test_junit_writes_characters_xml_cannot_hold_as_escapes():
    import pandas as pd

    df = pd.DataFrame({"y": [0, 1] * 40, "p": [1, 0, 0, 1] * 20,
                       "g\x01": ["a\x02", "b"] * 40})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g\x01"],
                             max_gap={"demographic_parity": 0.5})
    root = ET.fromstring(junit.render(result))
    # shown as every report shows them, so that \x01 and \x02 stay apart
    assert root.find("testsuite/testcase").get("classname") == "fairaudit.g\\x01"


runner = CliRunner()


def test_quiet_prints_the_verdict_and_failing_gates_only(at_root):
    res = runner.invoke(app, ["run", *ARGS, "--quiet"])
    assert res.exit_code == 1
    assert res.stdout == "verdict: FAIL (2 of 6 gates passed, 4 failed)\n"
    failing = [line for line in res.stderr.splitlines() if line]
    assert len(failing) == 4
    assert all(line.startswith("fairaudit: gate fail: ") for line in failing)


def test_step_summary_is_written_only_when_asked(at_root, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    md = tmp_path / "audit.md"
    res = runner.invoke(app, ["run", *ARGS, "-q", "--markdown", str(md)])
    assert res.exit_code == 1
    assert summary.read_text() == "earlier step\n"
    res = runner.invoke(app, ["run", *ARGS, "-q", "--github-summary"])
    assert res.exit_code == 1
    assert summary.read_text() == "earlier step\n\n" + GOLDEN.read_text(encoding="utf-8")


def test_github_summary_without_the_variable_says_so(at_root):
    res = runner.invoke(app, ["run", *ARGS, "-q", "--github-summary"])
    assert res.exit_code == 1
    assert "GITHUB_STEP_SUMMARY is not set" in res.stderr


def test_unwritable_report_path_exits_2(at_root, tmp_path):
    res = runner.invoke(app, ["run", *ARGS, "-q", "--junit", str(tmp_path / "no" / "x.xml")])
    assert res.exit_code == 2
    assert res.stderr == (f"fairaudit: error: --junit {tmp_path / 'no' / 'x.xml'}: the folder "
                          f"{tmp_path / 'no'} does not exist; create it or choose another "
                          "path\n")


def test_bad_source_date_epoch_exits_2(at_root, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    res = runner.invoke(app, ["run", *ARGS, "-q"])
    assert res.exit_code == 2
    assert res.stderr.startswith("fairaudit: error: SOURCE_DATE_EPOCH='yesterday'")
