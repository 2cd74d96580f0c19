"""A gate may name any metric: its gap across groups is judged like a criterion's."""

from __future__ import annotations

import pandas as pd
import pytest

import fairaudit
from tests.conftest import ROOT

COMPAS = ROOT / "examples" / "compas" / "compas.parquet"


@pytest.mark.parametrize(("metric", "numerator", "denominator"), [
    ("fdr", [(0, 1)], [(0, 1), (1, 1)]),       # FP / (FP + TP)
    ("npv", [(0, 0)], [(0, 0), (1, 0)]),       # TN / (TN + FN)
    ("base_rate", [(1, 0), (1, 1)], None),      # (FN + TP) / n
])
def test_a_gate_on_a_metric_judges_its_gap(metric, numerator, denominator):
    df = pd.read_parquet(COMPAS)
    result = fairaudit.audit(COMPAS, label="two_year_recid", prediction="prediction",
                             groups=["sex"], max_gap={metric: 0.01}, min_ratio={metric: 0.99},
                             bootstrap=0)
    pair = list(zip(df.two_year_recid, df.prediction, strict=True))
    df = df.assign(cell=pair)
    rates = df.groupby("sex").cell.apply(
        lambda s: s.isin(numerator).sum() / (s.isin(denominator).sum() if denominator
                                             else len(s)))
    gap_gate, ratio_gate = result.gates
    assert (gap_gate.criterion, gap_gate.kind) == (metric, "max_gap")
    assert gap_gate.value == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert ratio_gate.value == pytest.approx(rates.min() / rates.max(), abs=1e-12)
    assert gap_gate.status == "fail"


def test_a_gate_on_an_unknown_metric_names_the_closest():
    with pytest.raises(fairaudit.ConfigError, match="unknown criterion 'fdrr'; did you mean"):
        fairaudit.audit(COMPAS, label="two_year_recid", prediction="prediction",
                        groups=["sex"], max_gap={"fdrr": 0.1})
