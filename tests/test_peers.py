"""Figures fairlearn, AIF360 and Aequitas report that fairaudit reports too.

Oracles: fairlearn's ``MetricFrame.difference/ratio(method="to_overall")`` and
``equalized_odds_difference/ratio(agg="mean")``; AIF360's ``ClassificationMetric``
(``average_odds_difference``, ``average_abs_odds_difference``, ``theil_index``,
``generalized_entropy_index``, ``between_all_groups_*``, ``between_group_*``) and
its per-row ``generalized_entropy_index(b)`` / ``theil_index(b)``; Aequitas' ``ppr``
(not installable beside this project's pandas) computed from the rows with pandas.
Each is checked on COMPAS, on random data (hypothesis) and on a fixture computed by
hand.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairaudit
from tests.cli_support import error_line, invoke, read_report
from tests.conftest import COMPAS_PARQUET

TOL = 1e-12
RATES = {"selection_rate": selection_rate, "tpr": true_positive_rate,
         "fpr": false_positive_rate}


def _same(ours: float | None, theirs: float) -> None:
    """fairaudit's None is a peer's NaN (0/0); any other value must agree to TOL."""
    if math.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=TOL)


def _aif360():
    logging.getLogger().setLevel(logging.ERROR)  # its optional extras announce themselves
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import ClassificationMetric
        from aif360.sklearn import metrics as skm
    return BinaryLabelDataset, ClassificationMetric, skm


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    return pd.read_parquet(COMPAS_PARQUET)


def _audit(df: pd.DataFrame, groups: list[str], **kw):
    kw.setdefault("min_group_size", 1)
    kw.setdefault("bootstrap", 0)
    return fairaudit.audit(df, label="y", prediction="p", groups=groups, **kw)


# -- a fixture computed by hand -------------------------------------------------------------

# A: TP 2, FN 1, FP 1, TN 2 (6 rows, the reference: the largest); B: TP 1, FN 1, FP 2, TN 1
HAND = pd.DataFrame({
    "g": ["A"] * 6 + ["B"] * 5,
    "y": [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0],
    "p": [1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0],
})


def test_hand_fixture():
    result = _audit(HAND, ["g"])
    g = result.grouping("g")
    # selection A 1/2, B 3/5, overall 6/11; TPR A 2/3, B 1/2, overall 3/5;
    # FPR A 1/3, B 2/3, overall 1/2
    dp = g.to_overall["demographic_parity"]
    assert dp.difference == pytest.approx(3 / 55, abs=TOL)
    assert dp.ratio == pytest.approx(10 / 11, abs=TOL)
    assert g.to_overall["tpr"].difference == pytest.approx(1 / 10, abs=TOL)
    assert g.to_overall["fpr"].difference == pytest.approx(1 / 6, abs=TOL)
    assert g.to_overall["equalized_odds"].difference == pytest.approx(1 / 6, abs=TOL)
    assert g.to_overall["equalized_odds_mean"].difference == pytest.approx(2 / 15, abs=TOL)
    mean = g.criteria["equalized_odds_mean"]
    assert (mean.difference, mean.ratio) == (pytest.approx(1 / 4, abs=TOL),
                                            pytest.approx(5 / 8, abs=TOL))
    # B against A: ((1/2 - 2/3) + (2/3 - 1/3)) / 2 = 1/12; absolute: (1/6 + 1/3) / 2 = 1/4
    assert g.criteria["average_odds_difference"].difference == pytest.approx(1 / 12, abs=TOL)
    assert g.criteria["average_abs_odds_difference"].difference == pytest.approx(1 / 4,
                                                                                 abs=TOL)
    assert g.criteria["average_odds_difference"].ratio is None
    per_group = g.figures.versus_criteria["average_odds_difference"]
    assert per_group[0] == 0.0 and per_group[1] == pytest.approx(1 / 12, abs=TOL)
    # each group's own comparison with the whole population
    j = g.figures.metrics.index("selection_rate")
    assert g.figures.versus_overall_difference[1][j] == pytest.approx(3 / 5 - 6 / 11, abs=TOL)
    assert g.figures.versus_overall_ratio[0][j] == pytest.approx(11 / 12, abs=TOL)
    # ppr: three positive decisions each, of six
    assert [r.value for r in g.ppr.rates] == [0.5, 0.5]
    assert (g.ppr.gap.difference, g.ppr.gap.ratio) == (0.0, 1.0)
    # benefits: 0 x2, 1 x6, 2 x3; mean 12/11; group means A 1, B 6/5
    q = g.inequality
    assert q.generalized_entropy_index == pytest.approx(3 / 16, abs=TOL)
    assert q.theil_index == pytest.approx(0.5 * math.log(121 / 72), abs=TOL)
    assert q.between_group_generalized_entropy_index == pytest.approx(1 / 240, abs=TOL)
    assert q.between_group_theil_index == pytest.approx(0.5 * math.log(121 / 120), abs=TOL)
    # alpha 3: (mean((b/mu)^3) - 1) / 6, mean(b^3) = (6 + 24) / 11
    cubed = _audit(HAND, ["g"], entropy_alpha=3).grouping("g").inequality
    assert cubed.generalized_entropy_index == pytest.approx(
        ((30 / 11) / (12 / 11) ** 3 - 1) / 6, abs=TOL)


def test_hand_fixture_in_the_json(tmp_path):
    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    out = tmp_path / "audit.json"
    result = invoke("run", path, "--label", "y", "--prediction", "p", "-g", "g",
                    "--min-group-size", "1", "--bootstrap", "0", "--json", out)
    assert result.exit_code == 0, result.output
    doc = read_report(out)  # against docs/audit.schema.json
    (g,) = doc["groupings"]
    assert g["to_overall"]["demographic_parity"]["difference"] == pytest.approx(3 / 55)
    assert g["inequality"]["theil_index"] == pytest.approx(0.5 * math.log(121 / 72))
    assert g["ppr"]["gap"]["ratio"] == 1.0
    b = g["groups"][1]
    assert b["versus_reference_criteria"]["average_abs_odds_difference"] == pytest.approx(1 / 4)
    assert b["versus_overall"]["fpr"]["difference"] == pytest.approx(1 / 6)


# -- fairlearn: to_overall and agg="mean" --------------------------------------------------


def _fairlearn_checks(df: pd.DataFrame, column: str) -> int:
    g = _audit(df, [column]).grouping(column)
    y, p, sf = df["y"], df["p"], df[column].astype(str)
    frame = MetricFrame(metrics=RATES, y_true=y, y_pred=p, sensitive_features=sf)
    diff, ratio = frame.difference(method="to_overall"), frame.ratio(method="to_overall")
    checked = 0
    for name in RATES:
        _same(g.to_overall[name].difference, diff[name])
        _same(g.to_overall[name].ratio, ratio[name])
        checked += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for method in ("between_groups", "to_overall"):
            figures = g.criteria if method == "between_groups" else g.to_overall
            _same(figures["equalized_odds_mean"].difference, equalized_odds_difference(
                y, p, sensitive_features=sf, method=method, agg="mean"))
            fl_ratio = equalized_odds_ratio(y, p, sensitive_features=sf, method=method,
                                            agg="mean")
            parts = [(g.gaps if method == "between_groups" else g.to_overall)[n].ratio
                     for n in ("tpr", "fpr")]
            if None in parts:
                # one ratio is 0/0 (every group at 0): fairaudit calls the mean undefined,
                # pandas' mean in fairlearn skips the NaN and reports the other ratio
                assert figures["equalized_odds_mean"].ratio is None
                known = [x for x in parts if x is not None]
                _same(known[0] if known else None, fl_ratio)
            else:
                _same(figures["equalized_odds_mean"].ratio, fl_ratio)
            _same(figures["equalized_odds"].difference, equalized_odds_difference(
                y, p, sensitive_features=sf, method=method))
        _same(g.to_overall["demographic_parity"].difference, demographic_parity_difference(
            y, p, sensitive_features=sf, method="to_overall"))
        _same(g.to_overall["demographic_parity"].ratio, demographic_parity_ratio(
            y, p, sensitive_features=sf, method="to_overall"))
    return checked + 5


def _compas_rows(compas: pd.DataFrame) -> pd.DataFrame:
    return compas.rename(columns={"two_year_recid": "y", "prediction": "p"})


@pytest.mark.parametrize("column", ["race", "sex"])
def test_fairlearn_on_compas(compas, column):
    df = _compas_rows(compas)
    # every group of these columns has positives and negatives: no undefined rate
    assert (df.groupby(column)["y"].agg(["min", "max"]).values == [0, 1]).all()
    assert _fairlearn_checks(df, column) == 8


def frames(groups: int = 4):
    return st.integers(20, 120).flatmap(lambda n: st.tuples(
        st.lists(st.sampled_from("abcd"[:groups]), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )).map(lambda t: pd.DataFrame({"g": t[0], "y": t[1], "p": t[2]}))


def _defined(df: pd.DataFrame) -> bool:
    """Every group has positives, negatives, and two groups at least: fairlearn's rates
    are then fairaudit's, none undefined."""
    per = df.groupby("g")["y"].agg(["min", "max"])
    return len(per) >= 2 and bool((per.values == [0, 1]).all())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_fairlearn_on_random_data(df):
    if not _defined(df):
        return
    _fairlearn_checks(df, "g")


# -- AIF360 ---------------------------------------------------------------------------------


def _benefit(df: pd.DataFrame) -> np.ndarray:
    return (df["p"] - df["y"] + 1).to_numpy(dtype=float)


def _classification_metric(df: pd.DataFrame, codes: pd.Series, privileged: int,
                           unprivileged: int):
    dataset, metric, _ = _aif360()
    truth = pd.DataFrame({"a": codes.astype(float), "y": df["y"].astype(float)})
    decided = truth.assign(y=df["p"].astype(float).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = dataset(df=truth, label_names=["y"], protected_attribute_names=["a"])
        d = dataset(df=decided, label_names=["y"], protected_attribute_names=["a"])
        return metric(t, d, unprivileged_groups=[{"a": float(unprivileged)}],
                      privileged_groups=[{"a": float(privileged)}])


def test_aif360_on_compas(compas):
    df = _compas_rows(compas)
    result = _audit(df, ["race", "sex"], reference=[("race", "Caucasian")],
                    entropy_alpha=2)
    race = result.grouping("race")
    labels = race.figures.labels
    codes = df["race"].map({v: i for i, v in enumerate(labels)})
    ref = labels.index("Caucasian")
    aods, abs_aods = [], []
    for i, label in enumerate(labels):
        if i == ref:
            continue
        m = _classification_metric(df, codes, ref, i)
        aods.append(m.average_odds_difference())
        abs_aods.append(m.average_abs_odds_difference())
        assert race.figures.versus_criteria["average_odds_difference"][i] == pytest.approx(
            aods[-1], abs=TOL), label
        assert race.figures.versus_criteria["average_abs_odds_difference"][i] == \
            pytest.approx(abs_aods[-1], abs=TOL), label
    assert race.criteria["average_odds_difference"].difference == pytest.approx(
        max(abs(a) for a in aods), abs=TOL)
    assert race.criteria["average_abs_odds_difference"].difference == pytest.approx(
        max(abs_aods), abs=TOL)
    # the indices over every row, and between all groups, for each alpha
    for alpha in (2, 1, 0.5, 3):
        q = _audit(df, ["race"], entropy_alpha=alpha).grouping("race").inequality
        assert q.generalized_entropy_index == pytest.approx(
            m.generalized_entropy_index(alpha), abs=TOL)
        assert q.between_group_generalized_entropy_index == pytest.approx(
            m.between_all_groups_generalized_entropy_index(alpha), abs=TOL)
    q = race.inequality
    assert q.theil_index == pytest.approx(m.theil_index(), abs=TOL)
    assert q.between_group_theil_index == pytest.approx(m.between_all_groups_theil_index(),
                                                        abs=TOL)
    # with two groups, AIF360's privileged-against-unprivileged index is the same figure
    sex = result.grouping("sex")
    codes = (df["sex"] == "Male").astype(int)
    m = _classification_metric(df, codes, 1, 0)
    assert sex.inequality.between_group_theil_index == pytest.approx(
        m.between_group_theil_index(), abs=TOL)
    assert sex.inequality.between_group_generalized_entropy_index == pytest.approx(
        m.between_group_generalized_entropy_index(2), abs=TOL)
    assert sex.criteria["average_odds_difference"].difference == pytest.approx(
        abs(m.average_odds_difference()), abs=TOL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.sampled_from([2.0, 1.0, 0.5, 3.0]))
def test_aif360_indices_on_random_data(df, alpha):
    _, _, skm = _aif360()
    q = _audit(df, ["g"], entropy_alpha=alpha).grouping("g").inequality
    b = _benefit(df)
    if b.mean() == 0:
        assert q.theil_index is None
        return
    assert q.generalized_entropy_index == pytest.approx(
        skm.generalized_entropy_index(b, alpha=alpha), abs=1e-10)
    assert q.theil_index == pytest.approx(skm.theil_index(b), abs=1e-10)
    between = df.assign(b=b).groupby("g")["b"].transform("mean").to_numpy()
    assert q.between_group_generalized_entropy_index == pytest.approx(
        skm.generalized_entropy_index(between, alpha=alpha), abs=1e-10)
    assert q.between_group_theil_index == pytest.approx(skm.theil_index(between), abs=1e-10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(groups=2))
def test_aif360_average_odds_on_random_data(df):
    if not _defined(df):
        return
    _, _, skm = _aif360()
    g = _audit(df, ["g"], reference=[("g", "a")]).grouping("g")
    b = g.figures.labels.index("b")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = skm.average_odds_difference(df["y"], df["p"], prot_attr=df["g"], priv_group="a")
    assert g.figures.versus_criteria["average_odds_difference"][b] == pytest.approx(
        want, abs=1e-12)
    assert g.criteria["average_odds_difference"].difference == pytest.approx(abs(want),
                                                                              abs=1e-12)


# -- Aequitas' ppr, from the rows -----------------------------------------------------------


def _ppr_checks(df: pd.DataFrame, column: str, reference: str) -> None:
    g = _audit(df, [column], reference=[(column, reference)]).grouping(column)
    positives = df[df["p"] == 1].groupby(df[column].astype(str)).size()
    ppr = positives / positives.sum()
    for label, rate, ratio in zip(g.figures.labels, g.ppr.rates, g.ppr.versus_ratio,
                                  strict=True):
        assert rate.value == pytest.approx(ppr.get(label, 0.0), abs=TOL)
        assert rate.denominator == positives.sum()
        # Aequitas' ppr_disparity: the group's ppr over the reference group's
        assert ratio == pytest.approx(ppr.get(label, 0.0) / ppr[reference], abs=TOL)
    if len(g.figures.labels) < 2:  # no gap over one group
        assert g.ppr.gap.difference is None and g.ppr.gap.reason is not None
        return
    assert g.ppr.gap.difference == pytest.approx(ppr.max() - ppr.min(), abs=TOL)
    assert g.ppr.gap.ratio == pytest.approx(ppr.min() / ppr.max(), abs=TOL)


def test_ppr_on_compas(compas):
    _ppr_checks(_compas_rows(compas), "race", "Caucasian")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_ppr_on_random_data(df):
    if df["p"].sum() == 0 or df[df["p"] == 1]["g"].nunique() < df["g"].nunique():
        return
    _ppr_checks(df, "g", sorted(df["g"].unique())[0])


# -- gates and bad input --------------------------------------------------------------------


def _run(*extra):
    return invoke("run", COMPAS_PARQUET, "--label", "two_year_recid", "--prediction",
                  "prediction", "-g", "race", "--bootstrap", "0", *extra)


def test_gates_on_the_new_figures():
    passing = _run("--max-gap", "sex:demographic_parity_to_overall=0.1", "-g", "sex",
                   "--max-gap", "race:theil_index=0.3",
                   "--min-ratio", "sex:tpr_to_overall=0.9",
                   "--max-gap", "sex:average_odds_difference=0.05")
    assert passing.exit_code == 0, passing.output
    df = pd.read_parquet(COMPAS_PARQUET)
    rates = df.groupby("race")["prediction"].agg(["mean", "size"])
    eligible = rates[rates["size"] >= 30]["mean"]  # the default minimum group size
    to_overall = (eligible - df["prediction"].mean()).abs().max()
    failing = _run("--max-gap", "demographic_parity_to_overall=0.2")
    assert failing.exit_code == 1
    assert f"demographic parity to overall gap across race: {to_overall:.4f}" in failing.output
    b = (df["prediction"] - df["two_year_recid"] + 1).astype(float)
    means = b.groupby(df["race"]).transform("mean") / b.mean()
    theil = float((means * np.log(means)).mean())
    index = _run("--max-gap", "between_group_theil_index=0.001")
    assert index.exit_code == 1
    assert f"between group theil index over race: {theil:.4f}" in index.output
    assert _run("--min-ratio", "ppr=0.01").exit_code == 1


@pytest.mark.parametrize(("flags", "message"), [
    (["--min-ratio", "average_odds_difference=0.8"],
     "'average_odds_difference' has no ratio form; bound it with --max-gap"),
    (["--min-ratio", "theil_index=0.8"], "'theil_index' has no ratio form"),
    (["--max-gap", "average_odds_difference_to_overall=0.1"],
     "unknown criterion 'average_odds_difference_to_overall'"),
    (["--max-gap", "demografic_parity_to_overall=0.1"], "unknown criterion"),
    (["--entropy-alpha", "nan"], "--entropy-alpha nan must be a finite number"),
])
def test_bad_gates_and_settings_exit_2(flags, message):
    line = error_line(_run(*flags))
    assert message in line, line
