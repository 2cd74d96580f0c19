"""Sample weights (--weight): weighted rates against fairlearn's sample_weight, Kish intervals.

References: fairlearn's MetricFrame with sample_weight (COMPAS and random data),
the Wilson interval at Kish's effective size computed in the test, and the
unweighted audit itself for weights that are all 1 (or all the same number).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score

import fairaudit
from fairaudit.errors import ConfigError, InputError
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, assert_cannot_audit, invoke, read_report, schema, undocumented

METRICS = {"selection_rate": selection_rate, "tpr": true_positive_rate,
           "fpr": false_positive_rate, "precision": precision_score, "accuracy": accuracy_score}


def _frame(df: pd.DataFrame, w: pd.Series, group: str, label: str = "two_year_recid",
           prediction: str = "prediction") -> MetricFrame:
    return MetricFrame(metrics=METRICS, y_true=df[label], y_pred=df[prediction],
                       sensitive_features=df[group],
                       sample_params={m: {"sample_weight": w} for m in METRICS})


def _values(result: fairaudit.AuditResult, grouping: int = 0) -> dict[str, dict[str, float]]:
    f = result.groupings[grouping].figures
    return {label: dict(zip(f.metrics, f.value[i], strict=True))
            for i, label in enumerate(f.labels)}


def test_weighted_rates_and_gaps_on_compas_equal_fairlearn():
    df = pd.read_parquet(COMPAS)
    df["w"] = np.random.default_rng(0).gamma(2.0, 1.0, len(df))
    r = fairaudit.audit(df, groups=["race", "sex"], label="two_year_recid",
                        prediction="prediction", weight="w", min_group_size=1, bootstrap=0)
    for k, column in enumerate(("race", "sex")):
        mf = _frame(df, df["w"], column)
        got = _values(r, k)
        for group, row in mf.by_group.iterrows():
            for m in METRICS:
                assert got[str(group)][m] == pytest.approx(row[m], rel=1e-12, abs=1e-15)
        diff = mf.difference()
        gaps = r.groupings[k].gaps
        for m in METRICS:
            assert gaps[m].difference == pytest.approx(diff[m], rel=1e-12, abs=1e-15)
        assert r.groupings[k].criteria["equalized_odds"].difference == pytest.approx(
            max(diff["tpr"], diff["fpr"]), rel=1e-12)
        # group sizes count rows, not weights
        assert r.groupings[k].figures.counts == df.groupby(column).size().sort_index().tolist()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(40, 400))
def test_random_weighted_rates_equal_fairlearn(seed, n):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "y": rng.integers(0, 2, n),
                       "p": rng.integers(0, 2, n)})
    w = pd.Series(rng.exponential(1.0, n) * (rng.random(n) > 0.1))  # some weights are 0
    df["w"] = w
    r = fairaudit.audit(df, groups=["g"], label="y", prediction="p", weight="w",
                        min_group_size=1, bootstrap=0)
    got = _values(r)
    mf = _frame(df, w, "g", "y", "p")
    for group, row in mf.by_group.iterrows():
        for m in ("selection_rate", "accuracy"):
            assert got[group][m] == pytest.approx(row[m], rel=1e-9, abs=1e-12)
        wsum = w[(df.g == group) & (df.y == 1)].sum()
        if wsum > 0:  # fairlearn gives 0 where fairaudit says undefined
            assert got[group]["tpr"] == pytest.approx(row["tpr"], rel=1e-9, abs=1e-12)


def test_intervals_are_wilson_at_kish_effective_size():
    df = pd.read_parquet(COMPAS)
    df["w"] = np.random.default_rng(1).lognormal(0.0, 0.8, len(df))
    r = fairaudit.audit(df, groups=["race"], label="two_year_recid", prediction="prediction",
                        weight="w", bootstrap=0)
    f = r.groupings[0].figures
    z = 1.959963984540054
    for i, race in enumerate(f.labels):
        rows = df[df.race == race]
        n_eff_group = rows.w.sum() ** 2 / (rows.w ** 2).sum()
        positives = rows[rows.two_year_recid == 1]
        # the group's design effect applies to the rate's denominator
        n = positives.w.sum() * n_eff_group / rows.w.sum()
        p = positives.w[positives.prediction == 1].sum() / positives.w.sum()
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        j = f.metrics.index("tpr")
        assert f.ci[i][j] == pytest.approx([centre - half, centre + half], rel=1e-9)


def test_weights_of_one_or_of_one_constant_give_the_unweighted_audit():
    df = pd.read_parquet(COMPAS)
    settings_ = dict(groups=["race", "sex"], label="two_year_recid", prediction="prediction",
                     bootstrap=300)
    plain = to_dict(fairaudit.audit(df, **settings_))
    for w in (1.0, 7.5):
        weighted = to_dict(fairaudit.audit(df.assign(w=w), weight="w", **settings_))
        for doc in (plain, weighted):
            doc["provenance"].pop("config", None)
            doc["provenance"].pop("config_sources", None)
            doc["provenance"].pop("timestamp", None)
            doc["provenance"]["roles"].pop("weight", None)
        a, b = plain["groupings"], weighted["groupings"]
        for ga, gb in zip(a, b, strict=True):
            assert [g["count"] for g in ga["groups"]] == [g["count"] for g in gb["groups"]]
            for xa, xb in zip(ga["groups"], gb["groups"], strict=True):
                for m, rate in xa["metrics"].items():
                    if rate["value"] is None:
                        assert xb["metrics"][m]["value"] is None
                        continue
                    assert xb["metrics"][m]["value"] == pytest.approx(rate["value"], rel=1e-12)
                    if rate["ci"] is not None:
                        assert xb["metrics"][m]["ci"] == pytest.approx(rate["ci"], rel=1e-9)
            for c, gap in ga["criteria"].items():
                other = gb["criteria"][c]
                if gap["difference"] is None:
                    assert other["difference"] is None
                    continue
                assert other["difference"] == pytest.approx(gap["difference"], rel=1e-12)
                if gap.get("difference_ci") and w == 1.0:  # the same draws at n_eff = rows
                    assert other["difference_ci"] == pytest.approx(gap["difference_ci"],
                                                                   rel=1e-9)


def test_the_command_line_weighs_and_the_schema_covers_it(tmp_path):
    df = pd.read_parquet(COMPAS)
    df["w"] = np.random.default_rng(2).gamma(2.0, 1.0, len(df))
    path = tmp_path / "w.parquet"
    df.to_parquet(path)
    out = tmp_path / "a.json"
    result = invoke("run", path, "--group", "race", "--label", "two_year_recid",
                    "--prediction", "prediction", "--weight", "w",
                    "--max-gap", "equalized_odds=0.1", "--json", out, "--bootstrap", "100")
    assert result.exit_code == 1, result.output
    doc = read_report(out)
    assert undocumented(doc, schema(), "$") == []
    assert doc["provenance"]["config"]["weight"] == "w"
    mf = _frame(df, df["w"], "race")
    mf_small = mf.by_group.drop(index=["Asian", "Native American"])  # under 30 rows
    want = max(mf_small["tpr"].max() - mf_small["tpr"].min(),
               mf_small["fpr"].max() - mf_small["fpr"].min())
    (gate,) = doc["gates"]
    assert gate["value"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("values", "shown"), [
    ("1,-2,1,1", "row 2: weight column 'w' holds -2"),
    ("1,,1,1", "row 2: weight column 'w' holds no number (empty or NaN)"),
    ("1,nan,1,1", "row 2: weight column 'w' holds no number (empty or NaN)"),
    ("1,1,inf,1", "row 3: weight column 'w' holds inf"),
    ("0,0,0,0", "every weight of the 4 rows audited is 0"),
    ("1,a,1,1", "row 2: weight column 'w' holds 'a', not a number"),
])
def test_bad_weights_are_one_line_naming_the_file_and_row(tmp_path, values, shown):
    path = tmp_path / "w.csv"
    rows = [f"g{i % 2},{i % 2},1,{v}" for i, v in enumerate(values.split(","))]
    path.write_text("g,y,p,w\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = invoke("run", path, "--group", "g", "--label", "y", "--prediction", "p",
                    "--weight", "w")
    line = assert_cannot_audit(result, shown)
    if "every weight" not in shown:
        assert str(path) in line


def test_weights_beside_other_outcomes_are_refused_for_now():
    df = pd.DataFrame({"g": ["a"], "y": [1], "p": [1], "w": [1.0], "m": [0.5]})
    with pytest.raises(ConfigError, match="--weight applies to binary decisions only"):
        fairaudit.audit(df, groups=["g"], label="y", prediction="p", weight="w",
                        measures=["m"])
    with pytest.raises(ConfigError, match="cannot be both a group"):
        fairaudit.audit(df, groups=["w"], label="y", prediction="p", weight="w")
    with pytest.raises(InputError, match="no column 'x'"):
        fairaudit.audit(df, groups=["g"], label="y", prediction="p", weight="x")
