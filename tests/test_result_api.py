"""The result from Python: to_dict() is the JSON report, by_group() a table, a short repr."""

from __future__ import annotations

import json
import sys

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from scipy.stats import binomtest

import fairaudit
from fairaudit.report.json import encode
from tests.conftest import COMPAS_PARQUET

ROLES = {"label": "two_year_recid", "prediction": "prediction"}


@pytest.fixture(scope="module")
def compas() -> fairaudit.AuditResult:
    return fairaudit.audit(str(COMPAS_PARQUET), **ROLES, groups=["race", "sex"],
                           max_gap={"equalized_odds": 0.1}, min_ratio={"demographic_parity": 0.8},
                           reference={"race": "Caucasian"})


def test_to_dict_is_the_json_report(compas):
    assert json.loads(json.dumps(compas.to_dict())) == json.loads(encode(compas))


def _wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def test_by_group_matches_pandas_on_compas(compas):
    df = pd.read_parquet(COMPAS_PARQUET)
    table = compas.by_group("sex&race")  # the intersection, columns in either order
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:5]) == ["group", "rows", "share", "small", "reference"]
    want = df.groupby(["race", "sex"]).agg(rows=("prediction", "size"),
                                           selected=("prediction", "sum"))
    want.index = [f"{r} & {s}" for r, s in want.index]
    got = table.set_index("group")
    assert sorted(got.index) == sorted(want.index)
    got = got.loc[want.index]
    assert got["rows"].tolist() == want["rows"].tolist()
    assert got["share"].to_numpy() == pytest.approx((want["rows"] / len(df)).to_numpy())
    assert got["small"].tolist() == (want["rows"] < 30).tolist()
    assert got["selection_rate"].to_numpy() == pytest.approx(
        (want["selected"] / want["rows"]).to_numpy(), abs=1e-12)
    assert got["selection_rate_numerator"].tolist() == want["selected"].tolist()
    assert got["selection_rate_denominator"].tolist() == want["rows"].tolist()
    for (k, n), lo, hi in zip(zip(want["selected"], want["rows"], strict=True),
                              got["selection_rate_ci_low"], got["selection_rate_ci_high"],
                              strict=True):
        assert (lo, hi) == pytest.approx(_wilson(int(k), int(n)), abs=1e-9)
    # the true positive rate: selected among the reoffenders
    pos = df[df["two_year_recid"] == 1].groupby(["race", "sex"])["prediction"].agg(["sum", "size"])
    pos.index = [f"{r} & {s}" for r, s in pos.index]
    assert got.loc[pos.index, "tpr_numerator"].tolist() == pos["sum"].tolist()
    assert got.loc[pos.index, "tpr_denominator"].tolist() == pos["size"].tolist()
    ref = compas.by_group("race").set_index("group")["reference"]
    assert ref[ref].index.tolist() == ["Caucasian"]


def test_by_group_on_a_hand_computed_fixture():
    df = pd.DataFrame({"y": [1, 1, 0, 0, 1, 0, 0, 0], "p": [1, 0, 1, 0, 1, 1, 1, 1],
                       "g": ["a", "a", "a", "a", "b", "b", "b", "b"]})
    table = fairaudit.audit(df, label="y", prediction="p", groups=["g"],
                            min_group_size=1).by_group("g").set_index("group")
    # a: selected 2 of 4, TPR 1 of 2, FPR 1 of 2; b: selected 4 of 4, TPR 1 of 1, FPR 3 of 3
    assert table.loc["a", ["selection_rate", "tpr", "fpr"]].tolist() == [0.5, 0.5, 0.5]
    assert table.loc["b", ["selection_rate", "tpr", "fpr"]].tolist() == [1.0, 1.0, 1.0]
    assert table.loc["b", ["fpr_numerator", "fpr_denominator"]].tolist() == [3, 3]
    assert table.loc["a", "rows"] == 4


def test_an_undefined_rate_has_no_interval():
    df = pd.DataFrame({"y": [0, 0, 1, 1], "p": [0, 1, 1, 0], "g": ["a", "a", "b", "b"]})
    table = fairaudit.audit(df, label="y", prediction="p", groups=["g"],
                            min_group_size=1).by_group("g").set_index("group")
    # group a has no positives: its TPR is undefined, never 0
    assert table.loc["a", "tpr"] is None or np.isnan(table.loc["a", "tpr"])
    assert table.loc["a", "tpr_denominator"] == 0
    assert table.loc["a", ["tpr_ci_low", "tpr_ci_high"]].isna().all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from("xyz")),
                min_size=2, max_size=60))
def test_by_group_matches_pandas_on_random_data(rows):
    df = pd.DataFrame(rows, columns=["y", "p", "g"])
    table = fairaudit.audit(df, label="y", prediction="p", groups=["g"], min_group_size=1,
                            intersections=False).by_group("g").set_index("group")
    want = df.groupby("g")["p"].agg(["sum", "size"])
    assert table.loc[want.index, "selection_rate_numerator"].tolist() == want["sum"].tolist()
    assert table.loc[want.index, "rows"].tolist() == want["size"].tolist()
    assert table.loc[want.index, "selection_rate"].to_numpy() == pytest.approx(
        (want["sum"] / want["size"]).to_numpy())


def test_by_group_without_pandas_is_a_list_of_dicts(compas, monkeypatch):
    frame = compas.by_group("race")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    rows = compas.by_group("race")
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
    assert [r["group"] for r in rows] == frame["group"].tolist()
    assert [r["tpr_denominator"] for r in rows] == frame["tpr_denominator"].tolist()


def test_by_group_of_an_unknown_grouping_names_the_groupings(compas):
    with pytest.raises(fairaudit.UsageError, match=r"'age'.*groupings: race, sex, race&sex"):
        compas.by_group("age")


def test_repr_is_short(compas):
    text = repr(compas)
    assert "\n" not in text and len(text) < 200
    statuses = [g.status for g in compas.gates]
    fails, passes = statuses.count("fail"), statuses.count("pass")
    assert fails and passes and fails + passes == len(statuses)
    assert text == ("<AuditResult fail: 7,214 rows used of 7,214; groupings race, sex, "
                    f"race&sex; gates: {fails} fail, {passes} pass>")
