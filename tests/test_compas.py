"""The COMPAS reference case: ProPublica's published rates, and fairlearn's figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
)

import fairaudit
from tests.conftest import COMPAS_CSV, COMPAS_PARQUET


def _compas(path=COMPAS_PARQUET, **kw):
    return fairaudit.audit(str(path), label="two_year_recid", prediction="prediction",
                           groups=["race", "sex"], **kw)


def _group(result, grouping, label):
    return next(g for g in result.grouping(grouping).groups if g.label == label)


@pytest.mark.parametrize("path", [COMPAS_PARQUET, COMPAS_CSV])
def test_propublica_rates(path):
    result = _compas(path)
    aa = _group(result, "race", "African-American")
    wh = _group(result, "race", "Caucasian")
    assert (aa.metrics["fpr"].numerator, aa.metrics["fpr"].denominator) == (805, 1795)
    assert aa.metrics["fpr"].value == pytest.approx(0.448468, abs=5e-7)
    assert aa.metrics["fnr"].value == pytest.approx(0.279853, abs=5e-7)
    assert wh.metrics["fpr"].value == pytest.approx(0.234543, abs=5e-7)
    assert wh.metrics["fnr"].value == pytest.approx(0.477226, abs=5e-7)


def test_criteria_equal_fairlearn_on_compas():
    df = pd.read_parquet(COMPAS_PARQUET)
    result = _compas(min_group_size=1)
    y, p = df["two_year_recid"], df["prediction"]
    for grouping, sf in (("race", df["race"]), ("sex", df["sex"]),
                         ("race&sex", df[["race", "sex"]])):
        crit = result.grouping(grouping).criteria
        assert crit["demographic_parity"].difference == pytest.approx(
            demographic_parity_difference(y, p, sensitive_features=sf), abs=1e-12)
        assert crit["demographic_parity"].ratio == pytest.approx(
            demographic_parity_ratio(y, p, sensitive_features=sf), abs=1e-12)
        assert crit["equalized_odds"].difference == pytest.approx(
            equalized_odds_difference(y, p, sensitive_features=sf), abs=1e-12)
        assert crit["equalized_odds"].ratio == pytest.approx(
            equalized_odds_ratio(y, p, sensitive_features=sf), abs=1e-12)
        mf = MetricFrame(metrics={"fpr": false_positive_rate}, y_true=y, y_pred=p,
                         sensitive_features=sf)
        for g in result.grouping(grouping).groups:
            key = tuple(g.key.values()) if len(g.key) > 1 else next(iter(g.key.values()))
            expected = mf.by_group.loc[key, "fpr"]
            got = g.metrics["fpr"].value
            if got is None:
                assert g.metrics["fpr"].denominator == 0
            else:
                assert math.isclose(got, expected, abs_tol=1e-12)


def test_compas_fails_both_gates():
    result = _compas(reference=[("race", "Caucasian")],
                     max_gap={"equalized_odds": 0.1}, min_ratio={"demographic_parity": 0.8})
    assert result.verdict == "fail"
    race = {(g.criterion, g.kind): g for g in result.gates if g.grouping == "race"}
    assert race[("equalized_odds", "max_gap")].status == "fail"
    assert race[("demographic_parity", "min_ratio")].status == "fail"
