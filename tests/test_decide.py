"""Decision rules for gates, inconclusive verdicts, and groups too small to judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import fairaudit
from fairaudit.cli import app
from fairaudit.gates import decision
from fairaudit.report.json import to_dict

ROOT = Path(__file__).resolve().parent.parent

# (value, interval) -> status under point, confident-fail, confident-pass; threshold 0.1
MAX_GAP_CASES = {
    "exactly at the threshold, interval straddling": (0.1, (0.05, 0.15),
                                                      ("pass", "pass", "inconclusive")),
    "past, interval straddling": (0.12, (0.08, 0.16), ("fail", "inconclusive", "fail")),
    "past, interval ending at the threshold": (0.12, (0.1, 0.16),
                                               ("fail", "inconclusive", "fail")),
    "wholly past": (0.2, (0.15, 0.25), ("fail", "fail", "fail")),
    "inside, interval straddling": (0.08, (0.04, 0.13), ("pass", "pass", "inconclusive")),
    "inside, interval ending at the threshold": (0.08, (0.05, 0.1), ("pass", "pass", "pass")),
    "wholly inside": (0.05, (0.02, 0.08), ("pass", "pass", "pass")),
}
RULES = ("point", "confident-fail", "confident-pass")


@pytest.mark.parametrize("case", list(MAX_GAP_CASES))
def test_each_rule_on_a_max_gap(case):
    value, ci, expected = MAX_GAP_CASES[case]
    got = tuple(decision(value, ci, 0.1, "max_gap", rule)[0] for rule in RULES)
    assert got == expected


@pytest.mark.parametrize("case", list(MAX_GAP_CASES))
def test_each_rule_on_a_min_ratio_mirrors_the_max_gap(case):
    # a ratio of 1 - x against a threshold of 0.9 is the gap x against 0.1, mirrored
    value, (low, high), expected = MAX_GAP_CASES[case]
    got = tuple(decision(1 - value, (1 - high, 1 - low), 1 - 0.1, "min_ratio", rule)[0]
                for rule in RULES)
    assert got == expected


def test_a_rule_that_needs_an_interval_without_one_is_inconclusive():
    assert decision(0.05, None, 0.1, "max_gap", "confident-pass") == \
        ("inconclusive", "no interval for the value; the rule needs one")
    assert decision(0.05, None, 0.1, "max_gap", "point") == ("pass", None)


def _frame(spec: dict[str, tuple[int, int, int, int]], column: str = "g") -> pd.DataFrame:
    """Rows from ``{group: (tn, fp, fn, tp)}``."""
    rows = []
    for group, cells in spec.items():
        for (label, pred), n in zip([(0, 0), (0, 1), (1, 0), (1, 1)], cells, strict=True):
            rows += [{column: group, "y": label, "p": pred}] * n
    return pd.DataFrame(rows)


def _gate(spec, rule, threshold=0.1, **kw):
    result = fairaudit.audit(_frame(spec), label="y", prediction="p", groups=["g"],
                             decide=rule, max_gap={"demographic_parity": threshold}, **kw)
    (gate,) = result.gates
    return result, gate


def test_engine_gap_exactly_at_the_threshold():
    # selection rates 50/100 and 40/100: a gap of exactly 0.1 (0.09999999999999998 in floats)
    spec = {"a": (25, 25, 25, 25), "b": (30, 20, 30, 20)}
    statuses = {rule: _gate(spec, rule)[1] for rule in RULES}
    assert statuses["point"].value == pytest.approx(0.1, abs=1e-15)
    assert statuses["point"].status == "pass"
    assert statuses["confident-fail"].status == "pass"
    low, high = statuses["confident-pass"].ci
    assert low < 0.1 < high
    assert statuses["confident-pass"].status == "inconclusive"
    assert statuses["confident-pass"].rule == "confident-pass"
    result, _ = _gate(spec, "confident-pass")
    assert result.verdict == "inconclusive"
    assert to_dict(result)["verdict"] == "inconclusive"


def test_engine_interval_straddling_a_threshold_the_point_is_past():
    spec = {"a": (20, 30, 20, 30), "b": (28, 22, 27, 23)}  # 60/100 and 45/100
    gates = {rule: _gate(spec, rule)[1] for rule in RULES}
    assert gates["point"].value == pytest.approx(0.15)
    assert gates["point"].ci[0] < 0.1 < gates["point"].ci[1]
    assert [gates[r].status for r in RULES] == ["fail", "inconclusive", "fail"]


def test_engine_wholly_past_and_wholly_inside():
    past = {"a": (10, 40, 10, 40), "b": (40, 10, 40, 10)}  # 80/100 and 20/100
    inside = {"a": (2500, 2500, 2500, 2500), "b": (2505, 2495, 2505, 2495)}
    assert [_gate(past, r)[1].status for r in RULES] == ["fail"] * 3
    assert [_gate(inside, r)[1].status for r in RULES] == ["pass"] * 3


def test_a_group_under_the_minimum_size_is_left_out_and_named_with_its_counts():
    spec = {"a": (25, 25, 25, 25), "b": (30, 20, 30, 20), "c": (0, 5, 0, 5)}  # c: 10 rows
    result, gate = _gate(spec, "point")
    gap = result.grouping("g").criteria["demographic_parity"]
    # c alone (selection rate 1.0) would make the gap 0.6; it is left out
    assert gap.difference == pytest.approx(0.1)
    assert gap.groups_used == 2
    (excluded,) = gap.excluded
    assert (excluded.group, excluded.count, excluded.denominator) == ("c", 10, 10)
    assert "10 rows < 30" in excluded.reason
    data = to_dict(result)
    assert data["groupings"][0]["gaps"]["selection_rate"]["excluded"] == [
        {"group": "c", "reason": "small group: 10 rows < 30", "count": 10, "denominator": 10}]
    assert gate.status == "pass"


def test_a_grouping_with_one_group_big_enough_is_too_small_to_judge():
    spec = {"a": (25, 25, 25, 25), "c": (4, 4, 4, 4)}
    for rule in RULES:
        result, gate = _gate(spec, rule)
        assert gate.status == "inconclusive"
        assert gate.value is None and gate.ci is None
        assert gate.reason.startswith("too small to judge: 1 group with at least 30 rows")
        assert "c (small group: 16 rows < 30)" in gate.reason
        assert result.verdict == "inconclusive"


def test_a_metric_undefined_for_one_group_is_never_a_zero_gap():
    # b has no actual positives: its TPR is undefined, not 0
    spec = {"a": (40, 10, 20, 30), "b": (60, 40, 0, 0)}
    result = fairaudit.audit(_frame(spec), label="y", prediction="p", groups=["g"],
                             max_gap={"equal_opportunity": 0.1}, bootstrap=200)
    grouping = result.grouping("g")
    b = next(g for g in grouping.groups if g.label == "b")
    assert b.metrics["tpr"].value is None and b.metrics["tpr"].ci is None
    tpr = grouping.gaps["tpr"]
    assert tpr.difference is None and tpr.ratio is None
    assert tpr.ci_difference is None and tpr.p_value is None
    assert [(e.group, e.reason, e.denominator) for e in tpr.excluded] == [
        ("b", "undefined: no actual positives", 0)]
    (gate,) = result.gates
    assert gate.status == "inconclusive"
    assert "b (undefined: no actual positives)" in gate.reason
    # with a third group, the gap is taken over the two defined groups only
    spec["c"] = (30, 20, 10, 40)
    three = fairaudit.audit(_frame(spec), label="y", prediction="p", groups=["g"],
                            bootstrap=200).grouping("g").gaps["tpr"]
    assert three.difference == pytest.approx(40 / 50 - 30 / 50)
    assert three.groups_used == 2


# -- the command line ----------------------------------------------------------

STRADDLE = {"a": (20, 30, 20, 30), "b": (28, 22, 27, 23)}


@pytest.fixture
def straddle_csv(tmp_path):
    path = tmp_path / "preds.csv"
    _frame(STRADDLE).to_csv(path, index=False)
    return path


def _cli(*args, cwd=None):
    runner = CliRunner()
    base = ["run", "--label", "y", "--prediction", "p", "--group", "g"]
    if cwd is None:
        return runner.invoke(app, [*base, *map(str, args)])
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, [*base, *map(str, args)])
    finally:
        os.chdir(old)


def test_cli_inconclusive_exits_zero_with_a_warning(straddle_csv, tmp_path):
    out = tmp_path / "audit.json"
    r = _cli(straddle_csv, "--max-gap", "demographic_parity=0.1", "--decide", "confident-fail",
             "--json", out)
    assert r.exit_code == 0, r.output
    assert "fairaudit: gate inconclusive: demographic parity gap across g: 0.1500 [" in r.stderr
    assert "(rule confident-fail: past the threshold, but the interval straddles it)" \
        in r.stderr
    assert "verdict: INCONCLUSIVE (0 of 1 gates passed, 1 inconclusive)" in r.stdout
    data = json.loads(out.read_text())
    assert data["verdict"] == "inconclusive"
    (gate,) = data["gates"]
    assert gate["status"] == "inconclusive" and gate["rule"] == "confident-fail"
    assert gate["ci"][0] < 0.1 < gate["ci"][1]


def test_cli_fail_on_inconclusive_exits_one(straddle_csv):
    r = _cli(straddle_csv, "--max-gap", "demographic_parity=0.1", "--decide", "confident-fail",
             "--fail-on-inconclusive")
    assert r.exit_code == 1
    r = _cli(straddle_csv, "--max-gap", "demographic_parity=0.1", "--decide", "confident-fail",
             "--fail-on-inconclusive", "--exit-zero")
    assert r.exit_code == 0


def test_cli_point_rule_fails_the_same_gate(straddle_csv):
    r = _cli(straddle_csv, "--max-gap", "demographic_parity=0.1")
    assert r.exit_code == 1
    assert "fairaudit: gate fail:" in r.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--interval", "wald"], "interval 'wald' is not one of: wilson, clopper-pearson"),
    (["--adjust", "bonferroni"], "adjust 'bonferroni' is not one of: holm, bh"),
    (["--decide", "vote"], "decide 'vote' is not one of: point, confident-fail, confident-pass"),
    (["--confidence", "95"], "confidence 95.0 must be a number between 0 and 1"),
    (["--bootstrap", "-1"], "bootstrap -1 must be a whole number >= 0"),
    (["--decide", "confident-pass", "--bootstrap", "0", "--max-gap", "demographic_parity=0.1"],
     "decide 'confident-pass' judges gates by their bootstrap interval"),
])
def test_cli_bad_statistics_settings_exit_two(straddle_csv, args, message):
    r = _cli(straddle_csv, *args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_config_file_sets_the_statistics(straddle_csv, tmp_path):
    (tmp_path / "fairaudit.toml").write_text(
        'interval = "clopper-pearson"\nconfidence = 0.9\nbootstrap = 200\nseed = 7\n'
        'adjust = "bh"\ndecide = "confident-pass"\nfail_on_inconclusive = true\n'
        '[gates.max_gap]\ndemographic_parity = 0.3\n')
    out = tmp_path / "audit.json"
    r = _cli(straddle_csv, "--json", out, cwd=tmp_path)
    data = json.loads(out.read_text())
    config = data["provenance"]["config"]
    assert {k: config[k] for k in ("interval", "confidence", "bootstrap", "seed", "adjust",
                                   "decide", "fail_on_inconclusive")} == {
        "interval": "clopper-pearson", "confidence": 0.9, "bootstrap": 200, "seed": 7,
        "adjust": "bh", "decide": "confident-pass", "fail_on_inconclusive": True}
    from scipy.stats import beta

    rate = data["groupings"][0]["groups"][0]["metrics"]["selection_rate"]  # a: 60 of 100
    assert rate["ci"] == pytest.approx([beta.ppf(0.05, 60, 41), beta.ppf(0.95, 61, 40)])
    # gap 0.15 [~0.04, ~0.27] under 0.3: wholly inside, so confident-pass passes
    assert data["gates"][0]["status"] == "pass"
    assert r.exit_code == 0


def test_subprocess_run_reports_inconclusive(straddle_csv):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "fairaudit", "run", str(straddle_csv), "--label", "y",
         "--prediction", "p", "--group", "g", "--max-gap", "demographic_parity=0.1",
         "--decide", "confident-fail", "--json", "-"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "inconclusive"
    assert "gate inconclusive" in proc.stderr
