"""docs/coming-from.md: every figure it quotes, run again against fairaudit and the peer.

fairlearn and AIF360 are the oracles where installed; Aequitas (it needs pandas
below 3) by its rule computed here: a group's rate over the reference's, an
infinite quotient replaced by its fill value 10.
"""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    true_positive_rate,
)

import fairaudit
from tests.conftest import COMPAS_PARQUET, ROOT

DOC = (ROOT / "docs" / "coming-from.md").read_text(encoding="utf-8")
TEXT = " ".join(DOC.split())  # sentences as one line, whatever the wrapping
AEQUITAS_FILL = 10.0


def _says(phrase: str) -> None:
    assert " ".join(phrase.split()) in TEXT, phrase


def _audit(df: pd.DataFrame, **kw):
    kw.setdefault("bootstrap", 0)
    return fairaudit.audit(df, label="y", prediction="p", groups=["g"], **kw).grouping("g")


def _rows(**groups: tuple[list[int], list[int]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"g": name, "y": y, "p": p})
                      for name, (y, p) in groups.items()], ignore_index=True)


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    return pd.read_parquet(COMPAS_PARQUET).rename(
        columns={"two_year_recid": "y", "prediction": "p", "race": "g"})


def test_the_table_of_rows_is_the_example():
    table = [line for line in DOC.splitlines() if re.match(r"\| [gyp] \|", line)]
    cells = {row.split("|")[1].strip(): row.strip("| ").split(" | ")[1:] for row in table}
    df = pd.DataFrame({"g": cells["g"], "y": [int(v) for v in cells["y"]],
                       "p": [int(v) for v in cells["p"]]})
    frame = MetricFrame(metrics=true_positive_rate, y_true=df["y"], y_pred=df["p"],
                        sensitive_features=df["g"])
    assert frame.by_group["B"] == 0.0 and frame.difference() == 1.0
    _says("fairlearn's `true_positive_rate` for B is 0.0, and `MetricFrame.difference()` of it "
          "1.0 (C's 1.0 minus B's 0.0)")
    g = _audit(df, min_group_size=1)
    b = g.figures.labels.index("B")
    assert g.figures.group(b).metrics["tpr"].value is None
    assert g.figures.group(b).metrics["tpr"].reason == "no actual positives"
    assert [e.reason for e in g.gaps["tpr"].excluded] == ["undefined: no actual positives"]
    assert g.gaps["tpr"].difference == 0.5
    _says("reports B's TPR as null with the reason `no actual positives`")
    _says("(`excluded`: `undefined: no actual positives`), and the gap is 0.5")


def test_no_gap_over_one_eligible_group(compas):
    sub = compas[compas["g"].isin(["Caucasian", "Native American"])]
    fl = demographic_parity_difference(sub["y"], sub["p"], sensitive_features=sub["g"])
    _says(f"fairlearn's `demographic_parity_difference` is {fl:.3f}")
    gap = _audit(sub).criteria["demographic_parity"]
    assert gap.difference is None
    assert [e.reason for e in gap.excluded] == ["small group: 18 rows < 30"]
    _says(f"(`small group: 18 rows < 30`) and reports the gap as null: `{gap.reason}`")


def test_to_overall_on_compas(compas):
    g = _audit(compas)
    dp = g.to_overall["demographic_parity"]
    fl = demographic_parity_difference(compas["y"], compas["p"], sensitive_features=compas["g"],
                                       method="to_overall")
    fl_ratio = demographic_parity_ratio(compas["y"], compas["p"],
                                        sensitive_features=compas["g"], method="to_overall")
    # at the default minimum the small group is left out: still the same figure here
    assert dp.difference == pytest.approx(fl, abs=1e-12)
    assert dp.ratio == pytest.approx(fl_ratio, abs=1e-12)
    other = g.figures.labels.index("Other")
    j = g.figures.metrics.index("selection_rate")
    _says(f"`demographic_parity_to_overall` is {dp.difference:.3f} (the selection rate of race "
          f"Other, {g.figures.value[other][j]:.3f}, against "
          f"{g.overall['selection_rate'].value:.3f} over every row) and its ratio "
          f"{dp.ratio:.3f}")


def test_aequitas_fill_for_a_zero_reference():
    df = _rows(R=([0, 0, 0, 1], [0, 0, 0, 1]), S=([0, 0, 0, 0, 1], [1, 0, 0, 0, 1]))
    _says("rows y 0, 0, 0, 1 and p 0, 0, 0, 1) and a group S at 0.25 (y 0, 0, 0, 0, 1 and "
          "p 1, 0, 0, 0, 1)")
    fpr = df[df["y"] == 0].groupby("g")["p"].mean()
    with np.errstate(divide="ignore"):
        disparity = np.float64(fpr["S"]) / np.float64(fpr["R"])
    aequitas = AEQUITAS_FILL if np.isinf(disparity) else float(disparity)
    assert aequitas == 10.0
    _says(f"Aequitas reports S's `fpr_disparity` as {aequitas:.1f}")
    g = _audit(df, min_group_size=1, reference=[("g", "R")])
    s = g.figures.group(g.figures.labels.index("S"))
    assert s.versus_reference["fpr"].ratio is None
    assert s.versus_reference["fpr"].difference == 0.25
    assert g.gaps["fpr"].ratio == 0.0
    _says("its difference as 0.25, and the FPR ratio across the groups as 0.0 (0 over 0.25)")


def test_equalized_odds_when_one_part_is_undefined():
    df = _rows(U=([1, 1, 0, 0], [1, 0, 1, 0]), V=([1, 1], [1, 0]))
    _says("groups U (y 1, 1, 0, 0; p 1, 0, 1, 0) and V (y 1, 1; p 1, 0, no actual negative)")
    g = _audit(df, min_group_size=1)
    assert g.gaps["tpr"].difference == 0.0 and g.gaps["tpr"].groups_used == 2
    assert g.gaps["fpr"].difference is None
    eo = g.criteria["equalized_odds"]
    assert eo.difference is None
    _says(f"`equalized_odds` is null with the reason `{eo.reason}`")


def test_aif360_figures_on_compas(compas):
    logging.getLogger().setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import ClassificationMetric
    g = _audit(compas, reference=[("g", "Caucasian")])
    labels = g.figures.labels
    codes = compas["g"].map({v: float(i) for i, v in enumerate(labels)})
    truth = pd.DataFrame({"a": codes, "y": compas["y"].astype(float)})
    decided = truth.assign(y=compas["p"].astype(float).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = BinaryLabelDataset(df=truth, label_names=["y"], protected_attribute_names=["a"])
        d = BinaryLabelDataset(df=decided, label_names=["y"], protected_attribute_names=["a"])
    ref = float(labels.index("Caucasian"))
    shown = {}
    for name in ("African-American", "Hispanic", "Other"):
        m = ClassificationMetric(t, d, unprivileged_groups=[{"a": float(labels.index(name))}],
                                 privileged_groups=[{"a": ref}])
        ours = g.figures.versus_criteria["average_odds_difference"][labels.index(name)]
        assert ours == pytest.approx(m.average_odds_difference(), abs=1e-12)
        shown[name] = f"{ours:.3f}"
    _says(f"the average odds difference of African-American defendants is "
          f"{shown['African-American']}, that of Hispanic defendants {shown['Hispanic']} and of "
          f"race Other {shown['Other']}; the criterion is "
          f"{g.criteria['average_odds_difference'].difference:.3f}")
    q = g.inequality
    assert q.generalized_entropy_index == pytest.approx(m.generalized_entropy_index(2), abs=1e-12)
    assert q.theil_index == pytest.approx(m.theil_index(), abs=1e-12)
    assert q.between_group_theil_index == pytest.approx(m.between_all_groups_theil_index(),
                                                        abs=1e-12)
    _says(f"generalized entropy index (alpha 2) is {q.generalized_entropy_index:.3f} and its "
          f"Theil index {q.theil_index:.3f}; between the races they are "
          f"{q.between_group_generalized_entropy_index:.4f} and "
          f"{q.between_group_theil_index:.4f}")


def test_readme_links_here():
    assert "docs/coming-from.md" in (ROOT / "README.md").read_text(encoding="utf-8")
