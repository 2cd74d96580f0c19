"""Shortlists given as candidate lists (--candidates with --label): the true item's first
position becomes its rank; checked against pandas on the lists and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import top_k_accuracy_score

import fairaudit
from tests.cli_support import assert_cannot_audit, invoke, read_report

ITEMS = 10


def _lists(seed: int, n: int, repeats: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["en-US", "en-IN"], size=n)
    lists: list[list[int] | None] = []
    for i in range(n):
        size = int(rng.integers(0, 6))
        if repeats:
            lists.append([int(x) for x in rng.integers(0, ITEMS, size)])
        else:
            lists.append([int(x) for x in rng.permutation(ITEMS)[:size]])
        if rng.random() < 0.05:
            lists[i] = None  # no list at all
    truth = rng.integers(0, ITEMS, n).astype(float)
    truth[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"dialect": g, "shortlist": lists,
                         "skill": pd.array(truth, dtype="Float64").astype("Int64")})


def _first_position(row: pd.Series) -> float:
    items = row.shortlist
    if items is None or pd.isna(row.skill):
        return np.nan
    items = list(items)
    return float(items.index(row.skill) + 1) if row.skill in items else np.nan


def _write(df: pd.DataFrame, path) -> str:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return str(path)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), repeats=st.booleans())
def test_the_first_position_of_the_true_item_is_its_rank(seed, repeats):
    df = _lists(seed, 300, repeats)
    result = fairaudit.audit(df, candidates="shortlist", label="skill", groups=["dialect"],
                             k=[1, 3], bootstrap=0, min_group_size=1)
    rank = df.apply(_first_position, axis=1)
    kept = df.skill.notna()
    assert result.provenance.dropped == {"missing_label": int((~kept).sum())}
    for group in result.grouping("dialect").groups:
        mine = rank[kept & (df.dialect == group.label)]
        for k in (1, 3):
            rate = group.metrics[f"top_{k}_accuracy"]
            assert (rate.numerator, rate.denominator) == (int((mine <= k).sum()), len(mine))
        assert group.metrics["in_list_rate"].value == pytest.approx(mine.notna().mean())
        assert group.metrics["mrr"].value == pytest.approx((1 / mine).fillna(0).mean())
    # the same figures as an audit of the ranks themselves (--rank)
    ranked = fairaudit.audit(pd.DataFrame({"dialect": df.dialect[kept], "rank": rank[kept]}),
                             rank="rank", groups=["dialect"], k=[1, 3], bootstrap=0,
                             min_group_size=1)
    assert ranked.grouping("dialect").figures.value == \
        result.grouping("dialect").figures.value


def test_top_k_accuracy_equals_scikit_learn_on_full_rankings():
    # each list ranks every item, so scores that follow the list have no ties
    rng = np.random.default_rng(7)
    n = 400
    lists = [list(rng.permutation(ITEMS)) for _ in range(n)]
    truth = rng.integers(0, ITEMS, n)
    g = rng.choice(["a", "b"], n)
    df = pd.DataFrame({"g": g, "c": lists, "y": truth})
    result = fairaudit.audit(df, candidates="c", label="y", groups=["g"], k=[1, 3, 5],
                             bootstrap=0)
    for group in result.grouping("g").groups:
        rows = df[df.g == group.label]
        scores = np.zeros((len(rows), ITEMS))
        for i, items in enumerate(rows.c):
            scores[i, items] = np.arange(ITEMS, 0, -1)
        for k in (1, 3, 5):
            want = top_k_accuracy_score(rows.y, scores, k=k, labels=range(ITEMS))
            assert group.metrics[f"top_{k}_accuracy"].value == pytest.approx(want, abs=1e-12)


def test_a_list_holding_the_true_item_twice_counts_its_first_position():
    df = pd.DataFrame({"g": ["a"] * 4, "c": [["x", "y", "x"], ["y", "x", "x"], ["y", "z"], []],
                       "y": ["x", "x", "x", "x"]})
    result = fairaudit.audit(df, candidates="c", label="y", groups=["g"], k=[1, 2],
                             min_group_size=1, bootstrap=0)
    (group,) = result.grouping("g").groups
    assert group.metrics["top_1_accuracy"].numerator == 1
    assert group.metrics["top_2_accuracy"].numerator == 2
    assert group.metrics["mrr"].value == pytest.approx((1 + 1 / 2) / 4)


def test_the_cli_audits_candidate_lists_from_parquet(tmp_path):
    df = _lists(3, 600, False)
    path = _write(df, tmp_path / "lists.parquet")
    out = tmp_path / "a.json"
    result = invoke("run", path, "--candidates", "shortlist", "--label", "skill", "-g",
                    "dialect", "--max-gap", "top_3_accuracy=0.5", "--json", out)
    assert result.exit_code == 0, result.stderr
    doc = read_report(out)
    assert doc["provenance"]["config"]["candidates"] == "shortlist"
    assert doc["gates"][0]["status"] == "pass"


def test_a_csv_cannot_hold_lists(tmp_path):
    path = tmp_path / "lists.csv"
    pd.DataFrame({"g": ["a", "b"], "c": ["[1, 2]", "[3]"], "y": [1, 3]}).to_csv(path,
                                                                             index=False)
    assert_cannot_audit(invoke("run", path, "--candidates", "c", "--label", "y", "-g", "g"),
                        "candidates column 'c' holds string values, not lists",
                        "which needs parquet (a CSV cannot hold lists)")


def test_items_written_otherwise_than_the_label_are_refused(tmp_path):
    path = _write(pd.DataFrame({"g": ["a", "b"], "c": [[1, 2], [3]], "y": ["x", "y"]}),
                  tmp_path / "mixed.parquet")
    assert_cannot_audit(invoke("run", path, "--candidates", "c", "--label", "y", "-g", "g"),
                        "candidates column 'c' lists int64 items and label 'y' holds",
                        "the true item must be written as the candidates are")


@pytest.mark.parametrize(("args", "fragment"), [
    (["--candidates", "c"], "--candidates needs --label COLUMN"),
    (["--candidates", "c", "--label", "y", "--rank", "r"], "give one"),
    (["--candidates", "c", "--label", "y", "--prediction", "p"],
     "audit the decision in a run of its own"),
])
def test_candidates_settings_that_contradict_are_refused(tmp_path, args, fragment):
    path = _write(pd.DataFrame({"g": ["a"], "c": [[1]], "y": [1], "r": [1], "p": [1]}),
                  tmp_path / "x.parquet")
    assert_cannot_audit(invoke("run", path, "-g", "g", *args), fragment)
