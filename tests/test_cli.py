"""`fairaudit run`: every exit code, the JSON it writes, where output goes, and gate scoping."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

import fairaudit.engine
from tests.cli_support import (
    COMPAS,
    COMPAS_ARGS,
    ROOT,
    assert_cannot_audit,
    invoke,
    read_report,
    validate_report,
)

# -- an independent computation of the COMPAS figures, with pandas ------------------

MIN_GROUP = 30  # the default --min-group-size


def _cells(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    y, p = df["two_year_recid"], df["prediction"]
    out = pd.DataFrame({
        "tp": (y == 1) & (p == 1), "fp": (y == 0) & (p == 1),
        "fn": (y == 1) & (p == 0), "tn": (y == 0) & (p == 0),
    })
    out[by] = df[by]
    return out.groupby(by).sum()


def _spread(rate: pd.Series, eligible: pd.Series) -> tuple[float, float]:
    """Largest minus smallest, and smallest over largest, over the eligible groups."""
    kept = rate[eligible]
    return float(kept.max() - kept.min()), float(kept.min() / kept.max())


def _expected_compas(by: list[str]) -> dict[str, float]:
    """Equalized-odds difference and demographic-parity ratio as the docs define them:
    groups with fewer than 30 rows are left out, and so is a group from a rate whose
    denominator (actual positives, actual negatives) is below 30."""
    c = _cells(pd.read_parquet(COMPAS), by)
    n = c.sum(axis=1)
    pos, neg = c.tp + c.fn, c.fp + c.tn
    big = n >= MIN_GROUP
    tpr_diff, _ = _spread(c.tp / pos, big & (pos >= MIN_GROUP))
    fpr_diff, _ = _spread(c.fp / neg, big & (neg >= MIN_GROUP))
    _, dp_ratio = _spread((c.tp + c.fp) / n, big)
    return {"equalized_odds": max(tpr_diff, fpr_diff), "demographic_parity": dp_ratio}


def _gates(doc: dict) -> dict[tuple[str, str, str], dict]:
    return {(g["grouping"], g["criterion"], g["kind"]): g for g in doc["gates"]}


# -- exit codes -------------------------------------------------------------------------


def test_exit_0_when_every_gate_passes(tmp_path):
    expected = _expected_compas(["sex"])["equalized_odds"]
    assert expected < 0.1  # the premise, computed without fairaudit
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "--group", "sex", "--max-gap", "equalized_odds=0.1", "--json", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "verdict: PASS (1 of 1 gates passed)" in result.stdout
    doc = read_report(out)
    assert doc["verdict"] == "pass"
    (gate,) = doc["gates"]
    assert gate["status"] == "pass"
    assert gate["value"] == pytest.approx(expected, abs=1e-12)


def test_exit_1_on_the_compas_command_of_the_readme(tmp_path):
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, *COMPAS_ARGS, "--json", out)
    assert result.exit_code == 1, result.output
    assert "verdict: FAIL (2 of 6 gates passed, 4 failed)" in result.stdout
    # each failing gate: its value, its bootstrap interval (checked in test_stats), threshold
    ci = r" \[\d\.\d{4}, \d\.\d{4}\]"
    expected = [
        r"equalized odds gap across race: 0\.3968" + ci + r", must be at most 0\.1",
        r"equalized odds gap across race&sex: 0\.4504" + ci + r", must be at most 0\.1",
        r"demographic parity ratio across race: 0\.3563" + ci + r", must be at least 0\.8",
        r"demographic parity ratio across race&sex: 0\.2574" + ci + r", must be at least 0\.8",
    ]
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch("fairaudit: gate fail: " + pattern, line), line
    doc = read_report(out)
    assert doc["verdict"] == "fail"
    gates = _gates(doc)
    assert len(gates) == 6
    for grouping, by in (("race", ["race"]), ("sex", ["sex"]), ("race&sex", ["race", "sex"])):
        expected = _expected_compas(by)
        eo = gates[(grouping, "equalized_odds", "max_gap")]
        dp = gates[(grouping, "demographic_parity", "min_ratio")]
        assert eo["value"] == pytest.approx(expected["equalized_odds"], abs=1e-12)
        assert dp["value"] == pytest.approx(expected["demographic_parity"], abs=1e-12)
        assert eo["status"] == ("pass" if expected["equalized_odds"] <= 0.1 else "fail")
        assert dp["status"] == ("pass" if expected["demographic_parity"] >= 0.8 else "fail")
    race = doc["groupings"][0]
    assert race["name"] == "race"
    assert race["reference"] == {"group": "Caucasian", "rule": "given"}
    aa = next(g for g in race["groups"] if g["key"] == {"race": "African-American"})
    fpr = dict(aa["metrics"]["fpr"])
    low, high = fpr.pop("ci")  # the Wilson interval itself is checked in test_stats
    assert fpr == {"value": 805 / 1795, "numerator": 805, "denominator": 1795}
    assert low < 805 / 1795 < high
    p = doc["provenance"]
    assert p["rows_read"] == p["rows_used"] == 7214
    assert p["files"][0]["path"] == str(COMPAS)
    assert p["files"][0]["size"] == COMPAS.stat().st_size


def test_exit_2_when_it_cannot_audit(tmp_path):
    assert_cannot_audit(invoke("run", tmp_path / "absent.csv", *COMPAS_ARGS),
                        "absent.csv: no such file or folder")


def test_exit_3_on_an_internal_error_saves_the_traceback(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(fairaudit.engine, "audit", crash)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = invoke("run", COMPAS, *COMPAS_ARGS)
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    (saved,) = tmp_path.glob("fairaudit-crash-*.txt")
    assert line == (f"fairaudit: internal error: RuntimeError: the engine broke (traceback "
                    f"saved to {saved}; rerun with --debug to show it)")
    text = saved.read_text()
    assert text.startswith("Traceback (most recent call last):")
    assert "in crash" in text
    assert text.rstrip().endswith("RuntimeError: the engine broke")


def test_exit_3_with_debug_shows_the_traceback(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(fairaudit.engine, "audit", crash)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = invoke("run", COMPAS, *COMPAS_ARGS, "--debug")
    assert result.exit_code == 3
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1] == \
        "fairaudit: internal error: RuntimeError: the engine broke"
    assert list(tmp_path.iterdir()) == []  # nothing saved: it was shown


def test_exit_zero_turns_a_failed_gate_into_0(tmp_path):
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, *COMPAS_ARGS, "--exit-zero", "--json", out)
    assert result.exit_code == 0
    assert "fairaudit: gate fail:" in result.stderr  # still reported
    assert read_report(out)["verdict"] == "fail"


def test_exit_zero_does_not_hide_bad_input(tmp_path):
    assert_cannot_audit(invoke("run", tmp_path / "absent.csv", *COMPAS_ARGS, "--exit-zero"),
                        "no such file or folder")


# -- output streams ----------------------------------------------------------------------


def test_json_to_stdout_moves_the_tables_to_stderr():
    result = invoke("run", COMPAS, *COMPAS_ARGS, "--json", "-")
    assert result.exit_code == 1
    doc = validate_report(json.loads(result.stdout))
    assert doc["verdict"] == "fail"
    assert "verdict: FAIL" in result.stderr
    assert "criteria across race" in result.stderr


def test_tables_go_to_stdout_and_diagnostics_to_stderr():
    result = invoke("run", COMPAS, *COMPAS_ARGS)
    assert "criteria across race" in result.stdout
    assert "criteria across race" not in result.stderr
    assert all(line.startswith("fairaudit: gate fail:") for line in result.stderr.splitlines())


# -- gates --------------------------------------------------------------------------------

# Group a: 2 of 4 selected (0.5); group b: 1 of 4 (0.25). Both rates and their difference
# (0.25) and ratio (0.5) are exact binary fractions, so "at the threshold" is exact.
AT_THRESHOLD = "p,g\n1,a\n1,a\n0,a\n0,a\n1,b\n0,b\n0,b\n0,b\n"


@pytest.mark.parametrize(("gate", "code"), [
    (("--max-gap", "demographic_parity=0.25"), 0),
    (("--min-ratio", "demographic_parity=0.5"), 0),
    (("--max-gap", "demographic_parity=0.2499"), 1),
    (("--min-ratio", "demographic_parity=0.5001"), 1),
])
def test_a_value_exactly_at_the_threshold_passes(tmp_path, gate, code):
    data = tmp_path / "at.csv"
    data.write_text(AT_THRESHOLD)
    out = tmp_path / "audit.json"
    result = invoke("run", data, "--prediction", "p", "--group", "g", "--min-group-size", "1",
                    *gate, "--json", out)
    assert result.exit_code == code, result.output
    (g,) = read_report(out)["gates"]
    assert g["value"] == (0.25 if gate[0] == "--max-gap" else 0.5)
    assert g["status"] == ("pass" if code == 0 else "fail")


def test_a_gate_key_can_name_one_grouping(tmp_path):
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "--group", "race", "--group", "sex",
                    "--max-gap", "race:equalized_odds=0.1",
                    "--min-ratio", "race&sex:demographic_parity=0.8",
                    "--max-gap", "sex:equalized_odds=0.1", "--json", out)
    doc = read_report(out)
    assert [(g["grouping"], g["criterion"], g["kind"], g["status"]) for g in doc["gates"]] == [
        ("race", "equalized_odds", "max_gap", "fail"),
        ("sex", "equalized_odds", "max_gap", "pass"),
        ("race&sex", "demographic_parity", "min_ratio", "fail"),
    ]
    assert result.exit_code == 1
    gates = doc["provenance"]["config"]["gates"]
    assert gates == {"max_gap": {"race:equalized_odds": 0.1, "sex:equalized_odds": 0.1},
                     "min_ratio": {"race&sex:demographic_parity": 0.8}}


def test_only_a_gate_on_a_passing_grouping_exits_0(tmp_path):
    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "--group", "race", "--group", "sex", "--max-gap", "sex:equalized_odds=0.1")
    assert result.exit_code == 0, result.output


def test_an_intersection_gate_needs_intersections(tmp_path):
    assert_cannot_audit(
        invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
               "--group", "race", "--group", "sex", "--no-intersections",
               "--max-gap", "race&sex:equalized_odds=0.1"),
        "no grouping 'race&sex'")


def test_a_gate_that_cannot_be_judged_is_skipped_not_failed(tmp_path):
    """With no label, equalized odds is undefined: the gate is skipped and the run passes."""
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, "--prediction", "prediction", "--group", "sex",
                    "--max-gap", "equalized_odds=0.1", "--json", out)
    assert result.exit_code == 0
    (g,) = read_report(out)["gates"]
    assert (g["status"], g["value"], g["reason"]) == \
        ("skipped", None, "this audit does not compute it: it needs a column the audit was "
                          "not given (a label, a rank)")
    assert "fairaudit: gate skipped: equalized odds gap across sex" in result.stderr


# -- a real process -----------------------------------------------------------------------


def test_real_subprocess_run_on_compas(tmp_path):
    out = tmp_path / "audit.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "fairaudit", "run", str(COMPAS), *COMPAS_ARGS, "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "verdict: FAIL (2 of 6 gates passed, 4 failed)" in proc.stdout
    assert len(proc.stderr.splitlines()) == 4
    doc = read_report(out)
    assert doc["verdict"] == "fail"
    gates = _gates(doc)
    assert gates[("race", "equalized_odds", "max_gap")]["value"] == pytest.approx(
        _expected_compas(["race"])["equalized_odds"], abs=1e-12)
