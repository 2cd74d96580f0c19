"""Shortlists: top-k accuracy, the in-list rate and MRR per group, against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn.metrics import label_ranking_average_precision_score, top_k_accuracy_score

import fairaudit
from fairaudit.report.json import to_dict
from tests.cli_support import invoke, read_report

ITEMS = 12  # every row ranks 12 items; a rank of 12 stands for "not in the list" below


def _frame(seed: int, n: int = 1500, missing: float = 0.15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["en-US", "en-IN", "en-GB"], size=n, p=[0.5, 0.3, 0.2])
    # the en-IN group's true skill sits lower in the list
    rank = np.where(g == "en-IN", rng.integers(1, 9, n), rng.integers(1, 6, n)).astype(float)
    rank[rng.random(n) < missing] = np.nan
    return pd.DataFrame({"dialect": g, "rank": rank})


def _scores(rank: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels and score matrices that put each row's true item at its rank (last if unlisted)."""
    positions = rank.fillna(ITEMS).astype(int).to_numpy()
    y = np.zeros(len(rank), dtype=int)  # the true item is item 0
    scores = np.empty((len(rank), ITEMS))
    for i, r in enumerate(positions):
        others = [s for s in range(ITEMS, 0, -1) if s != ITEMS + 1 - r]
        scores[i, 0] = ITEMS + 1 - r
        scores[i, 1:] = others
    return y, scores


def _audit(df: pd.DataFrame, ks=(1, 3, 5), bootstrap: int = 0) -> fairaudit.AuditResult:
    return fairaudit.audit(df, rank="rank", k=ks, groups=["dialect"], bootstrap=bootstrap)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), missing=st.floats(0.0, 0.5))
def test_top_k_accuracy_equals_scikit_learn_per_group(seed, missing):
    df = _frame(seed, n=400, missing=missing)
    result = _audit(df)
    for group in result.grouping("dialect").groups:
        rows = df[df.dialect == group.label]
        y, scores = _scores(rows["rank"])
        for k in (1, 3, 5):
            want = top_k_accuracy_score(y, scores, k=k, labels=range(ITEMS))
            assert group.metrics[f"top_{k}_accuracy"].value == pytest.approx(want, abs=1e-12)
        assert group.metrics["in_list_rate"].value == pytest.approx(
            rows["rank"].notna().mean(), abs=1e-12)


def test_mrr_equals_scikit_learns_ranking_precision_when_every_item_is_listed():
    # with one relevant item a row, label ranking average precision is 1 / its rank
    df = _frame(3, missing=0.0)
    result = _audit(df)
    for group in result.grouping("dialect").groups:
        rows = df[df.dialect == group.label]
        _, scores = _scores(rows["rank"])
        truth = np.zeros_like(scores, dtype=int)
        truth[:, 0] = 1
        want = label_ranking_average_precision_score(truth, scores)
        assert group.metrics["mrr"].value == pytest.approx(want, abs=1e-12)


def test_mrr_counts_an_unlisted_item_as_zero_and_gets_a_normal_interval():
    df = _frame(5)
    result = _audit(df)
    z = norm.ppf(0.975)
    for group in result.grouping("dialect").groups:
        rr = (1.0 / df.loc[df.dialect == group.label, "rank"]).fillna(0.0)
        mrr = group.metrics["mrr"]
        assert mrr.value == pytest.approx(rr.mean(), abs=1e-12)
        assert (mrr.numerator, mrr.denominator) == (int((rr > 0).sum()), len(rr))
        half = z * rr.std(ddof=1) / math.sqrt(len(rr))
        assert mrr.ci == pytest.approx((rr.mean() - half, rr.mean() + half), abs=1e-9)


def test_top_k_rates_get_wilson_intervals_and_gaps_with_bootstrap_intervals():
    df = _frame(9)
    result = _audit(df, ks=(3,), bootstrap=300)
    grouping = result.grouping("dialect")
    z = norm.ppf(0.975)
    shares = {}
    for group in grouping.groups:
        rate = group.metrics["top_3_accuracy"]
        k = int((df.loc[df.dialect == group.label, "rank"] <= 3).sum())
        n = int((df.dialect == group.label).sum())
        assert (rate.numerator, rate.denominator) == (k, n)
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        assert rate.ci == pytest.approx((centre - half, centre + half), abs=1e-9)
        shares[group.label] = p
    gap = grouping.criteria["top_3_accuracy"]
    assert gap.difference == pytest.approx(max(shares.values()) - min(shares.values()),
                                           abs=1e-12)
    assert gap.ci_difference[0] <= gap.difference <= gap.ci_difference[1]
    doc = to_dict(result)["groupings"][0]
    assert doc["groups"][0]["metrics"]["top_3_accuracy"]["ci"] == list(
        grouping.groups[0].metrics["top_3_accuracy"].ci)


def test_the_cli_gates_a_top_k_gap_by_its_name(tmp_path):
    df = _frame(11)
    path = tmp_path / "shortlist.parquet"
    df.to_parquet(path)
    out = tmp_path / "audit.json"
    result = invoke("run", path, "--rank", "rank", "--k", "1,3", "-g", "dialect",
                    "--max-gap", "top_3_accuracy=0.02", "--json", out)
    assert result.exit_code == 1, result.stderr
    (gate,) = read_report(out)["gates"]
    by_group = df.assign(hit=df["rank"] <= 3).groupby("dialect").hit.mean()
    assert gate["criterion"] == "top_3_accuracy"
    assert gate["value"] == pytest.approx(by_group.max() - by_group.min(), abs=1e-12)
    assert gate["status"] == "fail"


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (-2, "-2"), (1.5, "1.5")])
def test_a_rank_that_is_not_a_position_is_refused_naming_the_row(tmp_path, value, shown):
    df = pd.DataFrame({"dialect": ["a", "b", "a"], "rank": [1.0, value, 2.0]})
    path = tmp_path / "bad.parquet"
    df.to_parquet(path)
    result = invoke("run", path, "--rank", "rank", "-g", "dialect")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"fairaudit: error: {path}: row 2: rank column 'rank' holds {shown}; a rank is a "
        "whole number >= 1 (empty: not in the list)")


def test_cutoffs_outside_the_counted_positions_are_refused():
    with pytest.raises(fairaudit.ConfigError,
                       match=r"audit\(\): k= \[0, 3\] must be whole numbers from 1"):
        _audit(_frame(1), ks=(0, 3))


def test_the_shortlist_example_is_reproduced_and_fails_its_gates(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    example = ROOT / "examples" / "shortlist"
    subprocess.run([sys.executable, str(example / "generate.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    made = pd.read_parquet(tmp_path / "shortlist.parquet")
    committed = pd.read_parquet(example / "shortlist.parquet")
    pd.testing.assert_frame_equal(made, committed)
    out = tmp_path / "audit.json"
    result = invoke("run", "--config", example / "fairaudit.toml", "--json", out)
    assert result.exit_code == 1
    doc = read_report(out)
    hit = committed.assign(hit=committed["rank"] <= 3)
    top3 = hit.groupby("dialect", observed=True).hit.mean()
    gates = {(g["grouping"], g["criterion"]): g for g in doc["gates"]}
    assert gates[("dialect", "top_3_accuracy")]["value"] == pytest.approx(
        top3.max() - top3.min(), abs=1e-12)
    assert {g["status"] for g in doc["gates"]} == {"fail"}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), dtype=st.sampled_from(["Int16", "Int64", "UInt32"]))
def test_whole_number_ranks_count_as_the_same_positions_as_floats(seed, dtype):
    df = _frame(seed, n=300)
    df.loc[df.index[:5], "rank"] = [150.0, 101.0, 100.0, 1.0, np.nan]  # beyond the cells too
    as_ints = df.assign(rank=df["rank"].astype(dtype))
    floats, ints = (_audit(x, ks=(1, 3, 100)).to_dict()["groupings"][0]["groups"]
                    for x in (df, as_ints))
    assert floats == ints
    listed = df["rank"].notna()
    result = _audit(as_ints, ks=(1, 3, 100))
    for group in result.grouping("dialect").groups:
        rows = df[df.dialect == group.label]["rank"]
        assert group.metrics["top_100_accuracy"].numerator == int((rows <= 100).sum())
        assert group.metrics["in_list_rate"].numerator == int(rows.notna().sum())
    assert listed.sum() < len(df)


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (-2, "-2")])
def test_a_whole_number_rank_below_1_is_refused_naming_the_row(tmp_path, value, shown):
    df = pd.DataFrame({"dialect": ["a", "b", "a", "b"],
                       "rank": pd.array([1, None, value, 2], dtype="Int32")})
    path = tmp_path / "bad.parquet"
    df.to_parquet(path)
    result = invoke("run", path, "--rank", "rank", "-g", "dialect")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"fairaudit: error: {path}: row 3: rank column 'rank' holds {shown}; a rank is a "
        "whole number >= 1 (empty: not in the list)")


def test_top_k_accuracy_equals_fairlearn_metricframe_with_scikit_learn_by_group():
    from fairlearn.metrics import MetricFrame

    df = _frame(5, n=900).assign(lang=lambda d: np.where(np.arange(len(d)) % 3, "x", "y"))
    y, scores = _scores(df["rank"])

    def top(k: int):
        # fairlearn hands each group's rows; the row numbers pick their score rows
        return lambda truth, rows: top_k_accuracy_score(
            truth, scores[np.asarray(rows)], k=k, labels=range(ITEMS))

    frame = MetricFrame(metrics={f"top_{k}_accuracy": top(k) for k in (1, 3, 5)},
                        y_true=y, y_pred=np.arange(len(df)),
                        sensitive_features=df[["dialect", "lang"]])
    result = fairaudit.audit(df, rank="rank", k=(1, 3, 5), groups=["dialect", "lang"],
                             bootstrap=0)
    groups = {g.label: g for g in result.grouping("dialect&lang").groups}
    for (dialect, lang), row in frame.by_group.iterrows():
        for k in (1, 3, 5):
            name = f"top_{k}_accuracy"
            assert groups[f"{dialect} & {lang}"].metrics[name].value == pytest.approx(
                row[name], abs=1e-12)
    assert len(groups) == len(frame.by_group) == 6
