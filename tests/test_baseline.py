"""A candidate against a baseline on the same rows: figures, changes, paired intervals, gates.

References: fairlearn's MetricFrame on each prediction column (both models'
per-group rates, COMPAS); pandas on the rows (changes, relative changes, the
change of every gap, on COMPAS and on random data with hypothesis); a
row-level paired bootstrap done here with numpy (the paired intervals), and an
unpaired one (wider, on correlated models); a hand-computed fixture (figures
and gates at their boundaries).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score

import fairaudit
from fairaudit.engine import config_from, count, judge
from fairaudit.errors import FairauditError, UsageError
from fairaudit.report import markdown, terminal
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, assert_cannot_audit, invoke, read_report, validate_report

TOL = 1e-12
RATES = {"selection_rate": selection_rate, "tpr": true_positive_rate,
         "fpr": false_positive_rate, "accuracy": accuracy_score,
         "precision": partial(precision_score, zero_division=0)}


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    df = pd.read_parquet(COMPAS)
    df["baseline"] = (df["score"] >= 0.7).astype(int)
    return df


@pytest.fixture(scope="module")
def compas_result() -> fairaudit.AuditResult:
    return fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                           groups=["race", "sex"], baseline_score="score",
                           baseline_threshold=0.7, bootstrap=200)


# -- both models' figures -----------------------------------------------------------------


@pytest.mark.parametrize("column", ["race", "sex"])
def test_both_models_equal_metricframe_on_compas(compas, compas_result, column):
    comparison = compas_result.comparison.grouping(column)
    for side, pred in (("candidate", "prediction"), ("baseline", "baseline")):
        frame = MetricFrame(metrics=RATES, y_true=compas["two_year_recid"],
                            y_pred=compas[pred], sensitive_features=compas[column])
        for group in comparison.groups:
            for metric in RATES:
                got = getattr(group.metrics[metric], side)
                expected = frame.by_group.loc[group.label, metric]
                if got.denominator == 0:
                    assert got.value is None and expected == 0
                else:
                    assert abs(got.value - expected) < TOL, (side, group.label, metric)
    assert compas_result.comparison.rows_compared == len(compas)
    assert compas_result.comparison.rows_without_baseline == 0


def _rates(frame: pd.DataFrame, pred: str) -> dict[str, tuple[float, int]]:
    """Each rate and its denominator, from the rows."""
    y, d = frame["y"], frame[pred]
    pairs = {"selection_rate": (d == 1, np.ones(len(frame), bool)),
             "tpr": (d == 1, y == 1), "fpr": (d == 1, y == 0),
             "precision": (y == 1, d == 1), "accuracy": (d == y, np.ones(len(frame), bool))}
    out = {}
    for name, (hit, among) in pairs.items():
        n = int(np.sum(among))
        out[name] = (float(np.sum(hit & among)) / n if n else float("nan"), n)
    return out


def _expected_gaps(df: pd.DataFrame, groups: str, minimum: int
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, float | None]]:
    """Per group each model's rates and the change; per metric the change of the gap, over
    the groups with ``minimum`` rows and as many in both models' denominators."""
    per_group: dict[str, dict[str, Any]] = {}
    for key, rows in df.groupby(groups, dropna=False):
        c, b = _rates(rows, "cand"), _rates(rows, "base")
        per_group[str(key)] = {m: (c[m], b[m], len(rows) >= minimum and c[m][1] >= minimum
                                   and b[m][1] >= minimum) for m in c}
    gaps: dict[str, float | None] = {}
    for m in RATES:
        ok = [v[m] for v in per_group.values() if v[m][2]]
        if len(ok) < 2:
            gaps[m] = None
            continue
        cand = [x[0][0] for x in ok]
        base = [x[1][0] for x in ok]
        gaps[m] = (max(cand) - min(cand)) - (max(base) - min(base))
    return per_group, gaps


def test_changes_and_gap_changes_equal_pandas_on_compas(compas, compas_result):
    df = compas.rename(columns={"two_year_recid": "y", "prediction": "cand",
                                "baseline": "base"})
    per_group, gaps = _expected_gaps(df, "race", 30)
    got = compas_result.comparison.grouping("race")
    for group in got.groups:
        for metric in RATES:
            (cv, _), (bv, _), eligible = per_group[group.label][metric]
            change = group.metrics[metric]
            assert change.eligible == eligible
            if np.isnan(cv) or np.isnan(bv):
                assert change.change is None
                continue
            assert abs(change.change - (cv - bv)) < TOL
            assert abs(change.relative_change - (cv - bv) / bv) < 1e-9
    for metric, expected in gaps.items():
        assert got.gaps[metric].change is not None and expected is not None
        assert abs(got.gaps[metric].change - expected) < TOL, metric
    # equalized odds: the larger of the TPR and FPR gaps, under each model
    eo = got.criteria["equalized_odds"]
    assert abs(eo.candidate - max(got.gaps["tpr"].candidate, got.gaps["fpr"].candidate)) < TOL
    assert abs(eo.baseline - max(got.gaps["tpr"].baseline, got.gaps["fpr"].baseline)) < TOL
    assert abs(eo.change - (eo.candidate - eo.baseline)) < TOL


# -- a hand-computed fixture ----------------------------------------------------------------

# group a: TPR 2/2 (candidate) against 1/2 (baseline), selection 3/4 against 1/4; one more
# row of a has no baseline decision. Group b: TPR 1/2 against 2/2, selection 1/4 against 2/4.
HAND = pa.table({
    "g": ["a"] * 5 + ["b"] * 4,
    "y": [1, 1, 0, 0, 1, 1, 1, 0, 0],
    "cand": [1, 1, 1, 0, 1, 1, 0, 0, 0],
    "base": pa.array([1, 0, 0, 0, None, 1, 1, 0, 0], pa.int64()),
})


def _hand(**gates: Any) -> fairaudit.AuditResult:
    return fairaudit.audit(HAND, label="y", prediction="cand", groups=["g"],
                           baseline_prediction="base", min_group_size=1, bootstrap=400,
                           **gates)


def test_hand_computed_figures():
    c = _hand().comparison
    assert (c.rows_compared, c.rows_without_baseline) == (8, 1)
    a, b = c.grouping("g").groups
    assert (a.label, a.rows, a.without_baseline) == ("a", 4, 1)
    assert a.metrics["tpr"].candidate.value == 1.0 and a.metrics["tpr"].baseline.value == 0.5
    assert a.metrics["tpr"].change == 0.5 and a.metrics["tpr"].relative_change == 1.0
    assert a.metrics["selection_rate"].change == 0.5
    assert a.metrics["selection_rate"].relative_change == 2.0
    assert b.metrics["tpr"].change == -0.5 and b.metrics["tpr"].relative_change == -0.5
    assert b.metrics["selection_rate"].change == -0.25
    gaps = c.grouping("g").gaps
    assert (gaps["tpr"].candidate, gaps["tpr"].baseline, gaps["tpr"].change) == (0.5, 0.5, 0.0)
    dp = c.grouping("g").criteria["demographic_parity"]
    assert (dp.candidate, dp.baseline, dp.change) == (0.5, 0.25, 0.25)
    assert dp.relative_change == 1.0
    # the overall figures pool both groups' compared rows: TPR 3/4 against 3/4
    overall = c.grouping("g").overall
    assert overall.rows == 8 and overall.metrics["tpr"].change == 0.0


def test_gates_at_the_boundary():
    at = _hand(max_increase={"demographic_parity": 0.25}, max_drop={"tpr": 0.5})
    assert [(g.kind, g.status, g.value) for g in at.gates] == [
        ("max_increase", "pass", 0.25), ("max_drop", "pass", 0.5)]
    assert at.gates[1].group == "b"
    past = _hand(max_increase={"g:demographic_parity": 0.2499}, max_drop={"tpr": 0.4999})
    assert [g.status for g in past.gates] == ["fail", "fail"] and past.verdict == "fail"
    # a metric's own gap can be gated too
    assert _hand(max_increase={"tpr": 0.0}).gates[0].status == "pass"


def test_confident_rules_use_the_paired_interval():
    result = _hand(max_increase={"demographic_parity": 0.2}, decide="confident-fail")
    gate = result.gates[0]
    assert gate.ci is not None and gate.ci[0] < 0.2 < gate.value
    assert gate.status == "inconclusive"
    passed = _hand(max_increase={"demographic_parity": 0.3}, decide="confident-pass")
    assert passed.gates[0].status == "inconclusive"  # inside, but the interval straddles


def test_an_identical_baseline_changes_nothing():
    table = HAND.append_column("same", HAND.column("cand"))
    c = fairaudit.audit(table, label="y", prediction="cand", groups=["g"],
                        baseline_prediction="same", min_group_size=1).comparison
    for group in c.grouping("g").groups:
        for change in group.metrics.values():
            assert change.change in (0.0, None)
            # the redraws are smoothed by half a row a cell, so an interval has room around
            # 0 even when no row differs (docs/statistics.md)
            assert change.ci is None or change.ci[0] <= 0.0 <= change.ci[1]
    criteria = c.grouping("g").criteria
    assert all(g.change == 0.0 for g in criteria.values())


def test_counts_add_up_across_parts():
    config = config_from(label="y", prediction="cand", groups=["g"],
                                   baseline_prediction="base", min_group_size=1)
    whole = count(HAND, config).table
    halves = count(HAND.slice(0, 4), config).table.merge(count(HAND.slice(4), config).table)
    assert np.array_equal(whole.cells, halves.cells)
    assert judge(halves, config).comparison == judge(whole, config).comparison


# -- the paired bootstrap -------------------------------------------------------------------


def _correlated(seed: int, n: int = 600) -> pd.DataFrame:
    """Two groups; the baseline is the candidate with one decision in ten flipped."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, "u", "s")
    y = (rng.random(n) < 0.5).astype(int)
    cand = (rng.random(n) < np.where(y == 1, 0.7, 0.3)).astype(int)
    flip = rng.random(n) < np.where(g == "u", 0.15, 0.05)
    base = np.where(flip, 1 - cand, cand)
    return pd.DataFrame({"g": g, "y": y, "cand": cand, "base": base})


def _row_bootstrap(df: pd.DataFrame, replicates: int, paired: bool, seed: int
                   ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """TPR change per group and the change of the TPR gap, resampling rows within groups.

    Paired: each drawn row brings its label and both decisions. Unpaired: the
    candidate's rows and the baseline's rows are drawn apart.
    """
    rng = np.random.default_rng(seed)
    groups = {k: v[["y", "cand", "base"]].to_numpy() for k, v in df.groupby("g")}
    change = {k: np.empty(replicates) for k in groups}
    gap = np.empty(replicates)

    def tpr(y: np.ndarray, d: np.ndarray) -> float:
        return float(d[y == 1].mean())

    for r in range(replicates):
        c_rates, b_rates = [], []
        for k, rows in groups.items():
            i = rng.integers(0, len(rows), len(rows))
            j = i if paired else rng.integers(0, len(rows), len(rows))
            c, b = tpr(rows[i, 0], rows[i, 1]), tpr(rows[j, 0], rows[j, 2])
            change[k][r] = c - b
            c_rates.append(c)
            b_rates.append(b)
        gap[r] = (max(c_rates) - min(c_rates)) - (max(b_rates) - min(b_rates))
    return change, gap


def _percentile(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)


def test_paired_intervals_equal_a_row_level_paired_bootstrap():
    df = _correlated(1)
    result = fairaudit.audit(df, label="y", prediction="cand", groups=["g"],
                             baseline_prediction="base", bootstrap=4000, seed=3)
    got = result.comparison.grouping("g")
    change, gap = _row_bootstrap(df, 4000, paired=True, seed=5)
    for group in got.groups:
        expected = _percentile(change[group.label])
        assert np.allclose(group.metrics["tpr"].ci, expected, atol=0.012), group.label
    assert np.allclose(got.gaps["tpr"].ci, _percentile(gap), atol=0.015)


def test_paired_intervals_are_narrower_than_unpaired_on_correlated_models():
    df = _correlated(2)
    got = fairaudit.audit(df, label="y", prediction="cand", groups=["g"],
                          baseline_prediction="base", bootstrap=2000).comparison.grouping("g")
    unpaired, _ = _row_bootstrap(df, 2000, paired=False, seed=7)
    for group in got.groups:
        lo, hi = group.metrics["tpr"].ci
        u_lo, u_hi = _percentile(unpaired[group.label])
        assert hi - lo < 0.75 * (u_hi - u_lo), group.label


def test_paired_coverage_by_simulation():
    """benchmarks/paired_coverage.py, small: the paired intervals cover near 95%, also where
    the models disagree on fewer than ten rows (docs/statistics.md has the full run)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from paired_coverage import simulate

    for design in ("alike", "different"):
        hits = simulate(design, 60, 300, 7)
        for key in ("group change, eligible", "gap change (criterion)"):
            share, n = float(np.mean(hits[key])), len(hits[key])
            se = (0.95 * 0.05 / n) ** 0.5
            assert 0.95 - 4 * se - 0.01 < share < 0.99, (design, key, share, n)


# -- random data ----------------------------------------------------------------------------


@st.composite
def _frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    bits = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    base = draw(st.lists(st.one_of(st.none(), st.integers(0, 1)), min_size=n, max_size=n))
    return pd.DataFrame({"g": draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n)),
                         "y": draw(bits), "cand": draw(bits),
                         "base": pd.array(base, dtype="Int64")})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_frames(), minimum=st.integers(1, 8))
def test_random_data_equals_pandas(df, minimum):
    try:
        result = fairaudit.audit(df, label="y", prediction="cand", groups=["g"],
                                 baseline_prediction="base", min_group_size=minimum,
                                 bootstrap=0)
    except FairauditError:
        return  # no row to audit: refused, and that is tested elsewhere
    c = result.comparison
    both = df[df["base"].notna()].astype({"base": int})
    assert c.rows_compared == len(both) and c.rows_without_baseline == len(df) - len(both)
    per_group, gaps = _expected_gaps(both, "g", minimum)
    got = c.grouping("g")
    for group in got.groups:
        assert group.without_baseline == int(df[df["g"] == group.label]["base"].isna().sum())
        for metric in RATES:
            change = group.metrics[metric]
            if group.rows == 0:
                assert change.change is None
                continue
            (cv, _), (bv, _), eligible = per_group[group.label][metric]
            assert change.eligible == eligible
            for side, value in (("candidate", cv), ("baseline", bv)):
                v = getattr(change, side).value
                assert (v is None) == bool(np.isnan(value))
                assert v is None or abs(v - value) < TOL
            if change.change is not None:
                assert abs(change.change - (cv - bv)) < TOL
    for metric, expected in gaps.items():
        value = got.gaps[metric].change
        assert (value is None) == (expected is None), metric
        assert value is None or abs(value - expected) < TOL


# -- settings, command line, reports ------------------------------------------------------


@pytest.mark.parametrize(("settings_", "fragment"), [
    ({"baseline_prediction": "base", "baseline_score": "base"}, "give one"),
    ({"baseline_threshold": 0.3}, "thresholds a baseline score"),
    ({"baseline_prediction": "cand"}, "is the audit's own decision"),
    ({"baseline_prediction": "g"}, "cannot be both the baseline and a group"),
    ({"max_increase": {"equalized_odds": 0.1}}, "needs a baseline"),
    ({"baseline_prediction": "base", "max_drop": {"demographic_parity": 0.1}},
     "unknown metric 'demographic_parity'"),
    ({"baseline_prediction": "base", "max_increase": {"equalized_odd": 0.1}},
     "did you mean 'equalized_odds'"),
    ({"baseline_prediction": "base", "max_increase": {"region:tpr": 0.1}},
     "no grouping 'region'"),
    ({"baseline_prediction": "base", "max_drop": {"tpr": 1.5}}, "must be in [0, 1]"),
    ({"baseline_prediction": "base", "max_drop": {"tpr": "x"}}, "must be a number"),
    ({"baseline_prediction": "base", "max_drop": {"tpr": 0.1}, "decide": "confident-fail",
      "bootstrap": 0}, "judges gates by their bootstrap interval"),
])
def test_the_api_refuses_settings_that_cannot_mean_what_they_say(settings_, fragment):
    with pytest.raises(FairauditError, match=None) as err:
        fairaudit.audit(HAND, label="y", prediction="cand", groups=["g"], **settings_)
    assert fragment in str(err.value)


def test_api_keywords_are_named_in_errors():
    with pytest.raises(UsageError, match=r"max_drop\['tpr'\] must be a number"):
        config_from(groups=["g"], prediction="cand", baseline_prediction="base",
                              max_drop={"tpr": True})


def test_cli_gates_json_and_exit_codes(tmp_path):
    out = tmp_path / "audit.json"
    args = [COMPAS, "--label", "two_year_recid", "--prediction", "prediction", "--group",
            "race", "--baseline-score", "score", "--baseline-threshold", "0.7",
            "--bootstrap", "100", "--no-digest", "--json", out]
    failed = invoke("run", *args, "--max-increase", "race:equalized_odds=0.02")
    assert failed.exit_code == 1, failed.output
    assert "must grow by at most 0.02" in failed.stderr
    doc = read_report(out)
    assert doc["comparison"]["baseline"] == "score" and doc["comparison"]["threshold"] == 0.7
    assert doc["gates"][0]["kind"] == "max_increase"
    eo = doc["groupings"][0]["comparison"]["criteria"]["equalized_odds"]
    assert doc["gates"][0]["value"] == eo["change"]
    passed = invoke("run", *args, "--max-drop", "tpr=0.05", "--max-increase",
                    "race:equalized_odds=0.1")
    assert passed.exit_code == 0, passed.output
    assert "candidate against baseline" in passed.stdout


@pytest.mark.parametrize(("flags", "fragments"), [
    (["--baseline-prediction", "prediction"], ["the audit's own decision"]),
    (["--baseline-score", "score", "--baseline-threshold", "7"],
     ["--baseline-threshold 7", "outside [0, 1]"]),
    (["--baseline-score", "score", "--max-increase", "race:equalized_odd=0.02",
      "--max-drop", "tpx=0.1"], ["--max-increase race:equalized_odd", "'equalized_odds'",
                                 "--max-drop tpx", "'tpr'"]),
    (["--baseline-score", "score", "--max-drop", "tpr"], ["--max-drop 'tpr'", "tpr=0.05"]),
    (["--baseline-prediction", "age"], ["baseline prediction column 'age'"]),
    (["--baseline-prediction", "nosuch"], ["no column 'nosuch'"]),
])
def test_cli_refuses_bad_baseline_flags(flags, fragments):
    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "--group", "race", "--no-digest", *flags)
    assert_cannot_audit(result, *fragments)


def test_config_file_keys(tmp_path):
    config = tmp_path / "fairaudit.toml"
    config.write_text(f"""inputs = ["{COMPAS}"]
label = "two_year_recid"
prediction = "prediction"
groups = ["race"]
baseline_score = "score"
baseline_threshold = 0.7
bootstrap = 0

[gates.max_increase]
"race:equalized_odds" = 0.02

[gates.max_drop]
tpr = 0.05
""")
    result = invoke("run", "--config", config, "--no-digest", "--json", tmp_path / "a.json")
    assert result.exit_code == 1, result.output
    doc = read_report(tmp_path / "a.json")
    assert doc["provenance"]["config"]["gates"]["max_increase"] == {"race:equalized_odds": 0.02}
    assert doc["provenance"]["config_sources"]["gates.max_drop.tpr"] == str(config)
    config.write_text(config.read_text().replace("tpr = 0.05", "tpx = 0.05"))
    assert_cannot_audit(invoke("run", "--config", config, "--no-digest"),
                        "gates.max_drop.tpx", "unknown metric 'tpx'")


def test_reports_show_the_comparison(compas_result):
    doc = validate_report(to_dict(compas_result))
    race = doc["groupings"][0]["comparison"]
    black = next(g for g in race["groups"] if g["label"] == "African-American")
    assert black["metrics"]["tpr"]["change"] == pytest.approx(1369 / 1901 - 978 / 1901)
    text = _terminal(compas_result)
    assert "candidate against baseline" in text
    assert "TPR across race: up 40% in African-American, 78% in Caucasian" in text
    md = markdown.render(compas_result)
    assert "### Candidate against baseline" in md
    assert "| race | Equalized odds | 0.397 | 0.326 | +0.070" in md


def _terminal(result: fairaudit.AuditResult) -> str:
    import io

    buf = io.StringIO()
    terminal.render(result, buf, width=160, color=False)
    return buf.getvalue()


def test_schema_documents_every_comparison_field(compas_result):
    from tests.cli_support import schema, undocumented

    doc = to_dict(compas_result)
    assert undocumented(doc, schema(), "$") == []
    assert json.loads(json.dumps(doc))["comparison"]["rows_compared"] == 7214


def test_example_readme_output_is_real():
    """examples/compas/README.md quotes the run of baseline.toml: every line of its output
    blocks is in that run's output, and the figures of its prose are the run's."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "examples" / "compas" / "README.md").read_text(encoding="utf-8")
    config = root / "examples" / "compas" / "baseline.toml"
    run = invoke("run", "--config", config, "--no-digest")
    assert run.exit_code == 1, run.output
    shown = {line.rstrip() for line in run.stdout.splitlines()}
    blocks = text.split("```")[1::2]
    outputs = [b for b in blocks if not b.strip().startswith("fairaudit run")]
    assert len(outputs) == 2
    for block in outputs:
        for line in block.strip("\n").splitlines():
            assert line in shown, line
    flags = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                   "--baseline-score", "score", "--baseline-threshold", "0.7", "--group", "race",
                   "--group", "sex", "--reference", "race=Caucasian", "--max-increase",
                   "race:equalized_odds=0.02", "--max-drop", "tpr=0.05", "--no-digest")
    assert flags.stdout == run.stdout  # "which is the same as"
    race = json.loads(invoke("run", "--config", config, "--no-digest", "--json", "-").stdout)
    eo = race["groupings"][0]["comparison"]["criteria"]["equalized_odds"]
    sex = race["groupings"][1]["comparison"]["criteria"]["equalized_odds"]
    for figure in (f"grows by {eo['change']:.3f}", f"from {eo['baseline']:.3f} to "
                   f"{eo['candidate']:.3f}", f"[{eo['ci'][0]:.3f}, {eo['ci'][1]:.3f}]",
                   f"shrinks ({sex['change']:.3f})", "same 7,214 rows"):
        assert figure in " ".join(text.split()), figure
    top = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    assert (f"grows by {eo['change']:.3f} [{eo['ci'][0]:.3f}, {eo['ci'][1]:.3f}]" in top)


def test_a_recorded_run_keeps_the_comparison_gates(tmp_path):
    """A run with a baseline, recorded: the history's JSON (docs/history.schema.json) carries
    each comparison gate's change as its series' value."""
    import jsonschema

    store = tmp_path / "h.db"
    run = invoke("run", "--config", Path(COMPAS).parent / "baseline.toml", "--no-digest",
                 "--bootstrap", "100", "--history", store, "--quiet", "--exit-zero")
    assert run.exit_code == 0, run.output
    shown = invoke("history", store, "--json", tmp_path / "h.json", "--quiet")
    assert shown.exit_code == 0, shown.output  # no drift gate: it shows, and does not judge
    doc = json.loads((tmp_path / "h.json").read_text())
    root = Path(__file__).resolve().parent.parent
    jsonschema.validate(doc, json.loads((root / "docs" / "history.schema.json").read_text()))
    gated = {(s["grouping"], s["kind"]): s for s in doc["series"]}
    eo = gated[("race", "max_increase")]["points"][0]
    result = fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                             groups=["race", "sex"], reference=[("race", "Caucasian")],
                             baseline_score="score", baseline_threshold=0.7, bootstrap=100)
    assert eo["value"] == pytest.approx(
        result.comparison.grouping("race").criteria["equalized_odds"].change, abs=1e-12)
