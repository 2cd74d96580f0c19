"""Drift gates on a history: a creeping false positive rate fails, a flat series passes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fairaudit.engine import config_from, count, judge
from fairaudit.history import History, config_from_dict
from fairaudit.history.drift import parse_drift, replicate_differences
from tests.cli_support import ROOT, assert_cannot_audit, invoke

EXAMPLE = ROOT / "examples" / "nightly"
GATES = dict(max_gap={"false_positive_parity": 0.25}, min_ratio={"demographic_parity": 0.6})


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("nightly_generate", EXAMPLE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_example(folder: Path, bootstrap: int = 300) -> tuple[Path, list[Path]]:
    """The example's 30 nights, both models, recorded as a nightly job would."""
    files = generator().write(folder / "data")
    db = folder / "h.db"
    with History.open(db, create=True) as h:
        for model in ("model_a", "model_b"):
            cfg = config_from(label="repaid_late", prediction=model, groups=["region"],
                              bootstrap=bootstrap, **GATES)
            for f in files:
                c = count(f, cfg)
                h.record(judge(c.table, cfg, c.files), c.table, cfg, as_of=f.stem,
                         label=model.replace("_", "-"))
    return db, files


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> tuple[Path, list[Path]]:
    return record_example(tmp_path_factory.mktemp("nightly"))


def _gaps(files: list[Path], model: str) -> list[float]:
    """Each night's false positive rate gap across regions, by pandas."""
    out = []
    for f in files:
        df = pd.read_parquet(f)
        fpr = df[df.repaid_late == 0].groupby("region", observed=True)[model].mean()
        out.append(float(fpr.max() - fpr.min()))
    return out


def _json(*args: Any) -> tuple[int, dict[str, Any], str]:
    result = invoke("history", *args, "--json", "-")
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_every_night_passes_its_gate_yet_the_creep_fails_the_drift_gate(example):
    db, files = example
    code, doc, err = _json(db, "--label", "model-a", "--max-increase",
                           "false_positive_parity=0.05")
    fpr = next(s for s in doc["series"] if s["criterion"] == "false_positive_parity")
    assert len(fpr["points"]) == 30
    assert {p["status"] for p in fpr["points"]} == {"pass"}  # each night alone passes
    assert code == 1 and doc["verdict"] == "fail"
    (drift,) = doc["drift"]
    gaps = _gaps(files, "model_a")
    expected = gaps[-1] - float(np.mean(gaps[:-1]))
    assert drift["increase"] == pytest.approx(expected, abs=1e-12)
    assert drift["increase"] > 0.05 and drift["status"] == "fail"
    assert drift["current"] == {"run_id": 30, "as_of": "2024-05-30",
                                "difference": pytest.approx(gaps[-1], abs=1e-12)}
    assert drift["baseline"]["runs"] == list(range(1, 30))
    assert (f"fairaudit: drift fail: false positive parity gap across region (model-a): grew "
            f"by +{drift['increase']:.4f} against the mean of 29 earlier runs, may grow by at "
            "most 0.05") in err


def test_the_flat_series_passes(example):
    db, files = example
    for args in ([], ["--decide", "confident-fail"], ["--baseline-runs", "7", "--cusum"]):
        code, doc, _ = _json(db, "--label", "model-b", "--max-increase",
                             "false_positive_parity=0.05", *args)
        assert code == 0, doc["drift"]
        assert [d["status"] for d in doc["drift"]] == ["pass"]
    gaps = _gaps(files, "model_b")
    assert doc["drift"][0]["baseline"]["mean"] == pytest.approx(np.mean(gaps[:7]), abs=1e-12)


def test_a_baseline_of_the_first_runs(example):
    db, files = example
    _, doc, _ = _json(db, "--label", "model-a", "--max-increase",
                      "region:false_positive_parity=0.05", "--baseline-runs", "7")
    (drift,) = doc["drift"]
    gaps = _gaps(files, "model_a")
    assert drift["baseline"]["runs"] == list(range(1, 8))
    assert drift["increase"] == pytest.approx(gaps[-1] - np.mean(gaps[:7]), abs=1e-12)
    # a window of the last 10 runs: its first 7 are the baseline
    _, doc, _ = _json(db, "--label", "model-a", "--max-increase",
                      "false_positive_parity=0.05", "--window", "10", "--baseline-runs", "7")
    assert doc["drift"][0]["baseline"]["runs"] == list(range(21, 28))
    assert doc["drift"][0]["increase"] == pytest.approx(gaps[-1] - np.mean(gaps[20:27]),
                                                        abs=1e-12)


def test_confident_fail_needs_the_whole_interval_of_the_increase_past_the_limit(example):
    db, _ = example
    code, doc, _ = _json(db, "--label", "model-a", "--max-increase",
                         "false_positive_parity=0.05", "--decide", "confident-fail",
                         "--baseline-runs", "7")
    (drift,) = doc["drift"]
    low, high = drift["ci"]
    assert low < drift["increase"] < high and low > 0.05
    assert code == 1 and drift["status"] == "fail" and drift["rule"] == "confident-fail"
    # a limit inside the interval: the point is past it, the interval straddles it
    limit = round((low + drift["increase"]) / 2, 4)
    code, doc, err = _json(db, "--label", "model-a", "--max-increase",
                           f"false_positive_parity={limit}", "--decide", "confident-fail",
                           "--baseline-runs", "7")
    (drift,) = doc["drift"]
    assert drift["status"] == "inconclusive" and code == 0
    assert "grown past the limit, but the interval of the increase straddles it" in \
        drift["reason"]
    assert "fairaudit: drift inconclusive:" in err
    assert invoke("history", db, "--label", "model-a", "--max-increase",
                  f"false_positive_parity={limit}", "--decide", "confident-fail",
                  "--baseline-runs", "7", "--fail-on-inconclusive").exit_code == 1
    # the point rule fails it
    assert invoke("history", db, "--label", "model-a", "--max-increase",
                  f"false_positive_parity={limit}", "--baseline-runs", "7").exit_code == 1


def test_the_bootstrap_redraws_the_stored_counts_around_the_audits_own_figure(example):
    db, _ = example
    with History.open(db) as h:
        run = h.runs("model-a")[-1]
        table, cfg = h.table(run.run_id), config_from_dict(run.config)
        stored = next(c for c in h.criteria([run.run_id])
                      if c.criterion == "false_positive_parity")
    point, reps = replicate_differences(table, cfg, "region", "false_positive_parity", 2000,
                                        np.random.default_rng(0))
    assert point == stored.difference
    assert reps.shape == (2000,) and not np.isnan(reps).any()
    # the replicates spread as the audit's own interval says, about
    low, high = np.quantile(reps, [0.025, 0.975])
    assert stored.difference_ci is not None
    assert abs(low - stored.difference_ci[0]) < 0.03 and abs(high - stored.difference_ci[1]) < 0.03
    # a criterion over two metrics takes the larger difference, replicate by replicate
    p_eo, r_eo = replicate_differences(table, cfg, "region", "equalized_odds", 500,
                                       np.random.default_rng(1))
    _, r_tpr = replicate_differences(table, cfg, "region", "equal_opportunity", 500,
                                     np.random.default_rng(1))
    eo = next(c for c in h_criteria(db, run.run_id) if c.criterion == "equalized_odds")
    assert p_eo == eo.difference
    assert (r_eo >= r_tpr - 1e-15).all()


def h_criteria(db: Path, run_id: int) -> list[Any]:
    with History.open(db) as h:
        return h.criteria([run_id])


def test_cusum_accumulates_standardised_changes_after_the_baseline(example):
    db, files = example
    code, doc, err = _json(db, "--label", "model-a", "--max-increase",
                           "false_positive_parity=0.05", "--baseline-runs", "7", "--cusum")
    (drift,) = doc["drift"]
    cusum = drift["cusum"]
    gaps = _gaps(files, "model_a")
    mu, sigma = float(np.mean(gaps[:7])), float(np.std(gaps[:7], ddof=1))
    k = 0.05 / (2 * sigma)
    s, top, alarm = 0.0, 0.0, None
    for day, d in enumerate(gaps[7:], start=8):
        s = max(0.0, s + (d - mu) / sigma - k)
        top = max(top, s)
        if alarm is None and s > 5:
            alarm = day
    assert cusum["mean"] == pytest.approx(mu, abs=1e-12)
    assert cusum["sigma"] == pytest.approx(sigma, abs=1e-12)
    assert cusum["statistic"] == pytest.approx(top, rel=1e-9)
    assert cusum["status"] == "fail" and alarm is not None
    assert cusum["alarm"] == {"run_id": alarm, "as_of": f"2024-05-{alarm:02d}"}
    assert code == 1 and f"CUSUM {top:.2f} passed 5 on 2024-05-{alarm:02d}" in err
    # a slow creep the increase alone lets through: the last night is not far enough above
    # the baseline, the accumulated changes are
    limit = round(gaps[-1] - mu + 0.01, 3)
    code, doc, _ = _json(db, "--label", "model-a", "--max-increase",
                         f"false_positive_parity={limit}", "--baseline-runs", "7", "--cusum",
                         "--cusum-limit", "3")
    (drift,) = doc["drift"]
    assert drift["increase"] < limit and drift["cusum"]["status"] == "fail" and code == 1


def test_cusum_needs_a_baseline_and_runs_after_it(example):
    db, _ = example
    _, doc, _ = _json(db, "--label", "model-b", "--max-increase",
                      "false_positive_parity=0.05", "--cusum")
    (drift,) = doc["drift"]
    # every earlier run is the baseline by default: CUSUM has the newest run alone
    assert drift["cusum"]["status"] == "pass"
    _, doc, _ = _json(db, "--label", "model-b", "--max-increase",
                      "false_positive_parity=0.05", "--cusum", "--baseline-runs", "1")
    assert doc["drift"][0]["cusum"]["status"] == "inconclusive"
    assert doc["drift"][0]["reason"] == "CUSUM needs two baseline runs or more"


def test_drift_on_pooled_points(example):
    db, _ = example
    code, doc, _ = _json(db, "--label", "model-a", "--pool", "3", "--max-increase",
                         "false_positive_parity=0.05", "--baseline-runs", "3", "--window", "30")
    (drift,) = doc["drift"]
    fpr = next(s for s in doc["series"] if s["criterion"] == "false_positive_parity")
    assert fpr["points"][-1]["runs"] == [28, 29, 30]
    assert drift["current"]["difference"] == fpr["points"][-1]["difference"]
    assert code == 1


def test_a_drift_gate_needs_two_runs(tmp_path):
    db, _ = record_example_short(tmp_path)
    code, doc, _ = _json(db, "--max-increase", "false_positive_parity=0.05")
    assert code == 0 and doc["drift"][0]["status"] == "inconclusive"
    assert "a drift gate needs two" in doc["drift"][0]["reason"]


def record_example_short(folder: Path) -> tuple[Path, list[Path]]:
    files = generator().write(folder / "data", days=1, rows=500)
    db = folder / "h.db"
    assert invoke("run", files[0], "--label", "repaid_late", "--prediction", "model_a",
                  "-g", "region", "--bootstrap", "0", "--history", db, "--as-of",
                  files[0].stem).exit_code == 0
    return db, files


@pytest.mark.parametrize(("args", "fragments"), [
    (["--max-increase", "false_positive_parity"], ["--max-increase 'false_positive_parity'",
                                                   "write CRITERION=VALUE"]),
    (["--max-increase", "false_positive_parity=much"], ["'much' is not a number"]),
    (["--max-increase", "false_positive_parity=-0.1"], ["must be a number >= 0"]),
    (["--max-increase", "false_positive_party=0.1"], ["unknown criterion",
                                                      "did you mean 'false_positive_parity'"]),
    (["--max-increase", "false_positive_parity=0.1", "--decide", "confident-pass"],
     ["--decide 'confident-pass'", "point, confident-fail"]),
    (["--pool", "0"], ["--pool 0: must be a whole number >= 1"]),
    (["--window", "-2"], ["--window -2"]),
])
def test_bad_drift_flags_are_one_line_errors(tmp_path, args, fragments):
    db, _ = record_example_short(tmp_path)
    assert_cannot_audit(invoke("history", db, *args), *fragments)


def test_parse_drift_reads_a_grouping():
    spec = parse_drift("region&band:equalized_odds=0.02")
    assert (spec.grouping, spec.criterion, spec.value) == ("region&band", "equalized_odds", 0.02)


def test_the_library_reads_a_trend_and_prints_nothing(example, capsys):
    from fairaudit.history import DriftSpec, trend

    db, _ = example
    t = trend(db, label="model-a", drift=[DriftSpec("false_positive_parity", 0.05)],
              baseline_runs=7)
    assert t.verdict == "fail" and len(t.failed) == 1
    assert t.failed[0].sentence.startswith("false positive parity gap across region "
                                           "(model-a): grew by +0.17")
    assert [s.key.criterion for s in t.series] == ["false_positive_parity",
                                                   "demographic_parity"]
    assert capsys.readouterr() == ("", "")
