"""The engine on small tables whose every figure is counted by hand in the test."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_ratio,
    true_positive_rate,
)

import fairaudit
from fairaudit.metrics import METRICS

# Ten rows in two groups.
#
#   row  g  y  p   cell
#    1   A  1  1   TP
#    2   A  1  1   TP
#    3   A  1  0   FN
#    4   A  0  1   FP
#    5   A  0  0   TN
#    6   A  0  0   TN      A: TP 2, FN 1, FP 1, TN 2 (6 rows)
#    7   B  1  1   TP
#    8   B  0  1   FP
#    9   B  0  1   FP
#   10   B  0  0   TN      B: TP 1, FN 0, FP 2, TN 1 (4 rows)
#
# overall: TP 3, FN 1, FP 3, TN 3 (10 rows)
TEN = pd.DataFrame({
    "g": ["A"] * 6 + ["B"] * 4,
    "y": [1, 1, 1, 0, 0, 0, 1, 0, 0, 0],
    "p": [1, 1, 0, 1, 0, 0, 1, 1, 1, 0],
})

# (numerator, denominator) per metric, from the cell counts above
EXPECTED = {
    "A": {
        "base_rate": (3, 6),        # FN + TP = 1 + 2 of 6 rows
        "selection_rate": (3, 6),   # FP + TP = 1 + 2
        "tpr": (2, 3),              # TP / (FN + TP)
        "fpr": (1, 3),              # FP / (TN + FP)
        "tnr": (2, 3),              # TN / (TN + FP)
        "fnr": (1, 3),              # FN / (FN + TP)
        "precision": (2, 3),        # TP / (FP + TP)
        "npv": (2, 3),              # TN / (TN + FN)
        "fdr": (1, 3),              # FP / (FP + TP)
        "for": (1, 3),              # FN / (TN + FN)
        "accuracy": (4, 6),         # TN + TP
        "error_rate": (2, 6),       # FP + FN
    },
    "B": {
        "base_rate": (1, 4),
        "selection_rate": (3, 4),
        "tpr": (1, 1),
        "fpr": (2, 3),
        "tnr": (1, 3),
        "fnr": (0, 1),
        "precision": (1, 3),
        "npv": (1, 1),
        "fdr": (2, 3),
        "for": (0, 1),
        "accuracy": (2, 4),
        "error_rate": (2, 4),
    },
    "overall": {
        "base_rate": (4, 10),
        "selection_rate": (6, 10),
        "tpr": (3, 4),
        "fpr": (3, 6),
        "tnr": (3, 6),
        "fnr": (1, 4),
        "precision": (3, 6),
        "npv": (3, 4),
        "fdr": (3, 6),
        "for": (1, 4),
        "accuracy": (6, 10),
        "error_rate": (4, 10),
    },
}


def _audit(df: pd.DataFrame = TEN, **kw):
    kw.setdefault("label", "y")
    kw.setdefault("prediction", "p")
    kw.setdefault("groups", ["g"])
    return fairaudit.audit(df, **kw)


def _by_label(grouping):
    return {g.label: g for g in grouping.groups}


def test_rates_counted_by_hand():
    result = _audit(min_group_size=1)
    assert result.metrics == tuple(m.name for m in METRICS)
    grouping = result.grouping("g")
    groups = _by_label(grouping)
    assert [g.label for g in grouping.groups] == ["A", "B"]
    assert (groups["A"].count, groups["B"].count) == (6, 4)
    assert (groups["A"].share, groups["B"].share) == (0.6, 0.4)
    for name in ("A", "B", "overall"):
        rates = grouping.overall if name == "overall" else groups[name].metrics
        assert set(rates) == set(EXPECTED[name])
        for metric, (num, den) in EXPECTED[name].items():
            rate = rates[metric]
            assert (rate.numerator, rate.denominator) == (num, den), (name, metric)
            assert rate.value == num / den
            assert rate.reason is None


def test_gaps_and_criteria_by_hand():
    grouping = _audit(min_group_size=1).grouping("g")
    # selection rate: A 3/6 = 0.5, B 3/4 = 0.75
    sel = grouping.gaps["selection_rate"]
    assert sel.difference == 0.75 - 0.5
    assert sel.ratio == 0.5 / 0.75
    assert (sel.groups_used, sel.excluded, sel.reason) == (2, (), None)
    assert grouping.criteria["demographic_parity"] == sel
    # TPR: A 2/3, B 1; FPR: A 1/3, B 2/3
    assert grouping.gaps["tpr"].difference == pytest.approx(1 / 3, abs=1e-15)
    assert grouping.gaps["tpr"].ratio == pytest.approx(2 / 3, abs=1e-15)
    assert grouping.gaps["fpr"].difference == pytest.approx(1 / 3, abs=1e-15)
    assert grouping.gaps["fpr"].ratio == pytest.approx(1 / 2, abs=1e-15)
    # equalized odds: the larger difference, the smaller ratio
    eo = grouping.criteria["equalized_odds"]
    assert eo.difference == max(grouping.gaps["tpr"].difference, grouping.gaps["fpr"].difference)
    assert eo.ratio == grouping.gaps["fpr"].ratio
    assert grouping.criteria["equal_opportunity"] == grouping.gaps["tpr"]
    # precision: A 2/3, B 1/3
    assert grouping.criteria["predictive_parity"].difference == pytest.approx(1 / 3, abs=1e-15)
    assert grouping.criteria["predictive_parity"].ratio == pytest.approx(1 / 2, abs=1e-15)
    # accuracy: A 4/6, B 2/4
    assert grouping.criteria["accuracy_parity"].difference == pytest.approx(4 / 6 - 2 / 4,
                                                                            abs=1e-15)
    assert grouping.criteria["false_positive_parity"] == grouping.gaps["fpr"]
    # FNR: A 1/3, B 0/1: the ratio is 0 over 1/3
    fnp = grouping.criteria["false_negative_parity"]
    assert (fnp.difference, fnp.ratio) == (pytest.approx(1 / 3, abs=1e-15), 0.0)
    assert set(grouping.criteria) == {
        "demographic_parity", "equalized_odds", "equal_opportunity", "predictive_parity",
        "accuracy_parity", "false_positive_parity", "false_negative_parity",
        # the aggregates beside the worst case (tests/test_peers.py checks their values)
        "equalized_odds_mean", "average_odds_difference", "average_abs_odds_difference"}


def test_reference_defaults_to_the_largest_group():
    grouping = _audit(min_group_size=1).grouping("g")
    assert (grouping.reference, grouping.reference_rule) == ("A", "largest group")
    groups = _by_label(grouping)
    assert groups["A"].is_reference and not groups["B"].is_reference
    # B against A: selection 0.75 - 0.5 and 0.75 / 0.5
    vs = groups["B"].versus_reference["selection_rate"]
    assert (vs.difference, vs.ratio) == (0.25, 1.5)
    assert groups["A"].versus_reference["selection_rate"].difference == 0.0
    assert groups["A"].versus_reference["selection_rate"].ratio == 1.0
    # FNR against A (1/3): B is 0/1
    assert groups["B"].versus_reference["fnr"].ratio == 0.0


def test_reference_given():
    grouping = _audit(min_group_size=1, reference={"g": "B"}).grouping("g")
    assert (grouping.reference, grouping.reference_rule) == ("B", "given")
    groups = _by_label(grouping)
    assert groups["B"].is_reference and not groups["A"].is_reference
    # A against B: selection 0.5 - 0.75 and 0.5 / 0.75; TPR 2/3 over 1
    vs = groups["A"].versus_reference
    assert (vs["selection_rate"].difference, vs["selection_rate"].ratio) == (-0.25, 0.5 / 0.75)
    assert vs["tpr"].ratio == 2 / 3


def test_reference_ties_go_to_the_first_group_in_order():
    df = pd.DataFrame({"g": ["b", "b", "a", "a", "c"], "y": [1, 0, 1, 0, 1],
                       "p": [1, 0, 0, 0, 1]})
    grouping = _audit(df, min_group_size=1).grouping("g")
    assert [g.label for g in grouping.groups] == ["a", "b", "c"]
    assert grouping.reference == "a"


def test_reference_to_a_group_that_is_not_there():
    with pytest.raises(fairaudit.InputError,
                       match=r"^audit\(\): reference=\{'g': 'Z'\}: no such group .*'A', 'B'"):
        _audit(reference={"g": "Z"})


def test_versus_reference_is_undefined_where_the_reference_rate_is_zero():
    # reference A (largest) has no positive decision: selection 0/3
    df = pd.DataFrame({"g": ["A", "A", "A", "B", "B"], "y": [1, 0, 0, 1, 0],
                       "p": [0, 0, 0, 1, 0]})
    groups = _by_label(_audit(df, min_group_size=1).grouping("g"))
    vs = groups["B"].versus_reference["selection_rate"]
    assert vs.difference == 0.5  # 1/2 - 0/3
    assert vs.ratio is None  # 1/2 over 0


def test_small_groups_are_reported_and_left_out_of_gaps():
    grouping = _audit(min_group_size=5).grouping("g")
    groups = _by_label(grouping)
    # B has 4 rows < 5: still reported, with its rates, but marked
    assert groups["B"].small and not groups["A"].small
    assert groups["B"].metrics["selection_rate"].value == 0.75
    sel = grouping.gaps["selection_rate"]
    assert (sel.difference, sel.ratio, sel.groups_used) == (None, None, 1)
    assert [(e.group, e.reason) for e in sel.excluded] == [("B", "small group: 4 rows < 5")]
    assert sel.reason == "1 group with at least 5 rows; a gap needs two"
    dp = grouping.criteria["demographic_parity"]
    assert (dp.difference, dp.ratio) == (None, None)
    assert dp.reason


def test_groups_with_too_few_rows_in_a_denominator_are_left_out():
    # with a minimum of 2, B (4 rows) is not small, but it has 1 actual positive
    grouping = _audit(min_group_size=2).grouping("g")
    assert not any(g.small for g in grouping.groups)
    tpr = grouping.gaps["tpr"]
    assert (tpr.difference, tpr.groups_used) == (None, 1)
    assert [(e.group, e.reason) for e in tpr.excluded] == [
        ("B", "too few actual positives: 1 < 2")]
    assert tpr.reason == "1 group with at least 2 actual positives; a gap needs two"
    # FPR: A and B have 3 actual negatives each, so both count
    assert grouping.gaps["fpr"].groups_used == 2
    assert grouping.gaps["fpr"].difference == pytest.approx(1 / 3, abs=1e-15)
    # a criterion is undefined when one of its metrics is, and says why
    eo = grouping.criteria["equalized_odds"]
    assert (eo.difference, eo.ratio) == (None, None)
    assert eo.reason == tpr.reason
    assert ("B", "too few actual positives: 1 < 2") in [(e.group, e.reason) for e in eo.excluded]


def test_undefined_rates_have_a_reason_and_no_value():
    # group C: two rows, both actual negatives decided negative
    df = pd.concat([TEN, pd.DataFrame({"g": ["C", "C"], "y": [0, 0], "p": [0, 0]})])
    grouping = _audit(df, min_group_size=1).grouping("g")
    c = _by_label(grouping)["C"].metrics
    for name, reason in (("tpr", "no actual positives"), ("fnr", "no actual positives"),
                         ("precision", "no positive decisions"),
                         ("fdr", "no positive decisions")):
        assert (c[name].value, c[name].numerator, c[name].denominator) == (None, 0, 0)
        assert c[name].reason == reason
    assert (c["fpr"].value, c["npv"].value, c["selection_rate"].value) == (0.0, 1.0, 0.0)
    tpr = grouping.gaps["tpr"]
    assert tpr.groups_used == 2
    assert [(e.group, e.reason) for e in tpr.excluded] == [
        ("C", "undefined: no actual positives")]
    # over A (2/3) and B (1) only
    assert tpr.difference == pytest.approx(1 / 3, abs=1e-15)


def test_a_gap_with_every_group_at_zero_has_no_ratio():
    df = pd.DataFrame({"g": ["A", "A", "B"], "y": [1, 0, 1], "p": [0, 0, 0]})
    sel = _audit(df, min_group_size=1).grouping("g").gaps["selection_rate"]
    assert (sel.difference, sel.ratio) == (0.0, None)  # 0 - 0, and 0/0


def test_where_fairlearn_gives_zero_fairaudit_gives_null():
    """The example in docs/metrics.md, checked against fairlearn itself."""
    df = pd.DataFrame({
        "g": ["A"] * 4 + ["B"] * 3 + ["C"] * 3,
        "y": [1, 1, 0, 0, 0, 0, 0, 1, 1, 0],
        "p": [1, 0, 0, 0, 1, 0, 0, 1, 1, 1],
    })
    # TPR: A 1/2, B 0/0 (no actual positives), C 2/2
    mf = MetricFrame(metrics=true_positive_rate, y_true=df["y"], y_pred=df["p"],
                     sensitive_features=df["g"])
    assert mf.by_group.to_dict() == {"A": 0.5, "B": 0.0, "C": 1.0}
    fl_diff = equal_opportunity_difference(df["y"], df["p"], sensitive_features=df["g"])
    fl_ratio = equal_opportunity_ratio(df["y"], df["p"], sensitive_features=df["g"])
    assert (fl_diff, fl_ratio) == (1.0, 0.0)

    grouping = _audit(df, min_group_size=1).grouping("g")
    b = _by_label(grouping)["B"].metrics["tpr"]
    assert (b.value, b.numerator, b.denominator, b.reason) == (None, 0, 0, "no actual positives")
    eop = grouping.criteria["equal_opportunity"]
    assert (eop.difference, eop.ratio) == (0.5, 0.5)  # 1 - 1/2 and (1/2) / 1 over A and C
    assert [(e.group, e.reason) for e in eop.excluded] == [("B", "undefined: no actual positives")]


def test_equalized_odds_ratio_is_undefined_when_either_part_is():
    """fairlearn's equalized_odds_ratio is min() of the TPR and FPR ratios, NaN or not."""
    # no false positive anywhere: FPR ratio 0/0. TPR: A 1/2, B 1/1
    no_fp = pd.DataFrame({"g": ["A", "A", "A", "B", "B"], "y": [1, 1, 0, 1, 0],
                          "p": [1, 0, 0, 1, 0]})
    # no true positive anywhere: TPR ratio 0/0. FPR: A 1/1, B 1/2
    no_tp = pd.DataFrame({"g": ["A", "A", "B", "B", "B"], "y": [1, 0, 1, 0, 0],
                          "p": [0, 1, 0, 1, 0]})
    for df, fairlearn_ratio in ((no_fp, 0.5), (no_tp, None)):
        got = equalized_odds_ratio(df["y"], df["p"], sensitive_features=df["g"])
        if fairlearn_ratio is None:
            assert math.isnan(got)
        else:
            assert got == fairlearn_ratio
        eo = _audit(df, min_group_size=1).grouping("g").criteria["equalized_odds"]
        assert eo.ratio is None
        assert eo.difference == 0.5  # 1 - 1/2 in TPR, or in FPR


def test_a_single_group_has_no_gap():
    df = pd.DataFrame({"g": ["A", "A", "A"], "y": [1, 0, 1], "p": [1, 1, 0]})
    # fairlearn gives 0 for the spread of one group
    assert demographic_parity_difference(df["y"], df["p"], sensitive_features=df["g"]) == 0
    dp = _audit(df, min_group_size=1).grouping("g").criteria["demographic_parity"]
    assert (dp.difference, dp.ratio, dp.groups_used) == (None, None, 1)
    assert dp.reason == "1 group with at least 1 rows; a gap needs two"


def test_no_label_audits_selection_rate_and_demographic_parity_only():
    result = fairaudit.audit(TEN[["g", "p"]], prediction="p", groups=["g"], min_group_size=1,
                             max_gap={"demographic_parity": 0.25, "equalized_odds": 0.1})
    assert result.metrics == ("selection_rate",)
    grouping = result.grouping("g")
    groups = _by_label(grouping)
    for label, (num, den) in (("A", (3, 6)), ("B", (3, 4))):
        rates = groups[label].metrics
        assert set(rates) == {"selection_rate"}
        assert (rates["selection_rate"].numerator, rates["selection_rate"].denominator) == (num,
                                                                                              den)
    assert set(grouping.gaps) == {"selection_rate"}
    assert set(grouping.criteria) == {"demographic_parity"}
    assert grouping.criteria["demographic_parity"].difference == 0.25
    # a gate on a criterion that needs a label is skipped, not failed; the gap
    # exactly at its threshold passes
    gates = {g.criterion: g for g in result.gates}
    assert (gates["demographic_parity"].status, gates["demographic_parity"].value) == ("pass",
                                                                                      0.25)
    assert gates["equalized_odds"].status == "skipped"
    assert result.verdict == "pass"


def test_a_gate_just_past_its_threshold_fails():
    result = _audit(min_group_size=1, max_gap={"demographic_parity": 0.24},
                    min_ratio={"demographic_parity": 0.67})
    statuses = {(g.kind, g.status, g.value) for g in result.gates}
    # 0.25 > 0.24, and 0.5 / 0.75 = 0.666... < 0.67
    assert statuses == {("max_gap", "fail", 0.25), ("min_ratio", "fail", 0.5 / 0.75)}
    assert result.verdict == "fail"


def test_score_and_threshold_decide_score_at_least_threshold():
    # decision = score >= 0.5: 0.5 exactly is positive, 0.4999 is not
    df = pd.DataFrame({
        "g": ["A", "A", "A", "A", "B", "B"],
        "y": [1, 1, 0, 0, 1, 0],
        "s": [0.5, 0.4999, 0.9, 0.0, 1.0, 0.5],
    })
    # A: (y1, 0.5 -> 1) TP, (y1, 0.4999 -> 0) FN, (y0, 0.9 -> 1) FP, (y0, 0.0 -> 0) TN
    # B: (y1, 1.0 -> 1) TP, (y0, 0.5 -> 1) FP
    groups = _by_label(_audit(df, prediction=None, score="s", threshold=0.5,
                              min_group_size=1).grouping("g"))
    a, b = groups["A"].metrics, groups["B"].metrics
    assert (a["tpr"].numerator, a["tpr"].denominator) == (1, 2)
    assert (a["fpr"].numerator, a["fpr"].denominator) == (1, 2)
    assert (b["selection_rate"].numerator, b["selection_rate"].denominator) == (2, 2)
    assert (b["fpr"].numerator, b["fpr"].denominator) == (1, 1)
    # at threshold 0.9: A selects only 0.9 (an FP), B only 1.0 (a TP)
    groups = _by_label(_audit(df, prediction=None, score="s", threshold=0.9,
                              min_group_size=1).grouping("g"))
    a, b = groups["A"].metrics, groups["B"].metrics
    assert (a["selection_rate"].numerator, a["fpr"].numerator, a["tpr"].numerator) == (1, 1, 0)
    assert (b["selection_rate"].numerator, b["tpr"].numerator) == (1, 1)


def test_positive_label_as_text():
    words = TEN.assign(y=TEN["y"].map({1: "approved", 0: "denied"}),
                       p=TEN["p"].map({1: "approved", 0: "denied"}))
    grouping = _audit(words, positive_label="approved", min_group_size=1).grouping("g")
    _assert_ten(grouping)


def test_positive_label_flips_booleans():
    flags = TEN.assign(y=TEN["y"].astype(bool), p=TEN["p"].astype(bool))
    # booleans need no positive label: True is positive
    _assert_ten(_audit(flags, min_group_size=1).grouping("g"))
    _assert_ten(_audit(flags, positive_label="true", min_group_size=1).grouping("g"))
    # False as the positive class swaps TP with TN and FP with FN: B (TP 1, FP 2,
    # TN 1, FN 0) becomes TP 1, FP 0, TN 1, FN 2, so it selects 1 row of 4
    flipped = _by_label(_audit(flags, positive_label="false", min_group_size=1).grouping("g"))
    b = flipped["B"].metrics
    assert (b["selection_rate"].numerator, b["selection_rate"].denominator) == (1, 4)
    assert (b["fnr"].numerator, b["fnr"].denominator) == (2, 3)
    assert (b["fpr"].numerator, b["fpr"].denominator) == (0, 1)


def _assert_ten(grouping):
    groups = _by_label(grouping)
    for label in ("A", "B"):
        for metric, (num, den) in EXPECTED[label].items():
            rate = groups[label].metrics[metric]
            assert (rate.numerator, rate.denominator) == (num, den), (label, metric)


def test_missing_group_values_form_their_own_group_and_dropped_rows_are_counted():
    df = pd.DataFrame({
        "g": ["A", None, "A", None, "B", "B"],
        "y": [1, 0, None, 1, 0, None],
        "p": [1, 1, 0, 0, 0, None],
    })
    result = _audit(df, min_group_size=1)
    groups = _by_label(result.grouping("g"))
    assert list(groups) == ["A", "B", "(missing)"]
    missing = groups["(missing)"]
    assert missing.key == {"g": None}
    # rows 2 (y0 p1: FP) and 4 (y1 p0: FN)
    assert missing.count == 2
    assert (missing.metrics["fpr"].numerator, missing.metrics["fpr"].denominator) == (1, 1)
    assert (missing.metrics["fnr"].numerator, missing.metrics["fnr"].denominator) == (1, 1)
    # row 3 lacks a label; row 6 lacks both, and counts under its label
    assert groups["A"].dropped == {"missing_label": 1, "missing_prediction": 0,
                                   "missing_score": 0}
    assert groups["B"].dropped == {"missing_label": 1, "missing_prediction": 0,
                                   "missing_score": 0}
    assert (groups["A"].count, groups["B"].count) == (1, 1)
    prov = result.provenance
    assert (prov.rows_read, prov.rows_used) == (6, 4)
    assert prov.dropped == {"missing_label": 2, "missing_prediction": 0, "missing_score": 0}


def test_intersections_hold_the_combinations_present():
    df = TEN.assign(h=["x", "y", "x", "y", "x", "y", "x", "x", "x", "x"])
    result = _audit(df, groups=["g", "h"], min_group_size=1)
    assert [g.name for g in result.groupings] == ["g", "h", "g&h"]
    inter = result.grouping("g&h")
    assert inter.columns == ("g", "h")
    # A rows 1-6 alternate x, y; B rows are all x, so (B, y) is absent
    assert [(g.key, g.count) for g in inter.groups] == [
        ({"g": "A", "h": "x"}, 3), ({"g": "A", "h": "y"}, 3), ({"g": "B", "h": "x"}, 4)]
    # A&x: rows 1 (TP), 3 (FN), 5 (TN); A&y: rows 2 (TP), 4 (FP), 6 (TN)
    ax, ay = inter.groups[0].metrics, inter.groups[1].metrics
    assert (ax["tpr"].numerator, ax["tpr"].denominator) == (1, 2)
    assert (ay["fpr"].numerator, ay["fpr"].denominator) == (1, 2)
    assert inter.groups[0].label == "A & x"
    # the largest intersection is the default reference
    assert inter.reference == "B & x"
    h = _by_label(result.grouping("h"))
    assert (h["x"].count, h["y"].count) == (7, 3)

    alone = _audit(df, groups=["g", "h"], intersections=False, min_group_size=1)
    assert [g.name for g in alone.groupings] == ["g", "h"]


def test_the_default_minimum_group_size_is_30():
    result = _audit()
    assert result.min_group_size == 30
    assert all(g.small for g in result.grouping("g").groups)


def test_the_json_groups_read_from_columns_match_the_group_results():
    """The JSON writer reads the columns; the group results are built from them on first
    use. Both must say the same, undefined rates, intervals and the reference included."""
    from fairaudit.report.json import to_dict

    df = pd.DataFrame({
        "g": ["a"] * 40 + ["b"] * 35 + ["c"] * 5,
        "y": [1] * 20 + [0] * 20 + [0] * 35 + [1] * 5,  # b has no positives: TPR undefined
        "p": [1, 0] * 20 + [1] * 10 + [0] * 25 + [1] * 5,
    })
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=200)
    grouping = result.grouping("g")
    written = to_dict(result)["groupings"][0]["groups"]
    assert len(written) == len(grouping.groups) == 3
    for row, grp in zip(written, grouping.groups, strict=True):
        assert (row["label"], row["count"], row["small"], row["reference"]) == \
            (grp.label, grp.count, grp.small, grp.is_reference)
        for name, r in grp.metrics.items():
            expected = {"value": r.value, "numerator": r.numerator,
                        "denominator": r.denominator, "ci": None if r.ci is None else list(r.ci)}
            if r.reason:
                expected["reason"] = r.reason
            assert row["metrics"][name] == expected
        for name, c in grp.versus_reference.items():
            assert row["versus_reference"][name] == {
                "difference": c.difference, "ratio": c.ratio,
                "difference_ci": None if c.ci_difference is None else list(c.ci_difference),
                "ratio_ci": None if c.ci_ratio is None else list(c.ci_ratio)}
    b = grouping.groups[1]
    assert b.metrics["tpr"].value is None and b.metrics["tpr"].reason == "no actual positives"
    assert b.metrics["tpr"].ci is None
    assert grouping.groups[0].is_reference  # the largest group
    assert grouping.groups[0].metrics["tpr"].value == 10 / 20


@pytest.mark.parametrize("at_once", [1, 2, 5, 2_000])
def test_the_streamed_json_is_the_one_shot_encoding(monkeypatch, at_once):
    """Groups written a few at a time give the bytes of the whole document encoded at
    once: every grouping, the trusted groupings of a range check, markup in labels."""
    import orjson

    from fairaudit.report import json as report_json
    from tests.test_html import ranged

    result = ranged()
    assert result.trusted and len(result.groupings) == 3
    whole = orjson.dumps(report_json.to_dict(result), default=str,
                         option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    monkeypatch.setattr(report_json, "GROUPS_AT_ONCE", at_once)
    streamed = io.BytesIO()
    report_json.write(result, streamed)
    assert streamed.getvalue() == whole == report_json.encode(result)
    assert b"fairaudit-groups-" not in whole
    parsed = orjson.loads(whole)
    assert [len(g["groups"]) for g in parsed["groupings"]] == \
        [len(g.groups) for g in result.groupings]
