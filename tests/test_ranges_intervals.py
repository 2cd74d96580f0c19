"""Intervals on range figures: shares, the coverage gap's bootstrap and test, gate rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, chi2_contingency
from typer.testing import CliRunner

import fairaudit
from fairaudit.cli import app
from fairaudit.report.json import to_dict

Z95 = 1.959963984540054  # the standard normal quantile at 0.975
RULES = ("point", "confident-fail", "confident-pass")


def _wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval by its textbook formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _rows(group: str, n: int, **states: int) -> list[dict]:
    """``n`` rows of ``group``: income below (-1), above (99), missing (None) or inside (5)."""
    values = ([-1.0] * states.get("below", 0) + [99.0] * states.get("above", 0)
              + [None] * states.get("missing", 0))
    values += [5.0] * (n - len(values))
    employment = ["student"] * states.get("not_allowed", 0)
    employment += ["salaried"] * (n - len(employment))
    return [{"g": group, "income": v, "employment": e, "p": i % 2}
            for i, (v, e) in enumerate(zip(values, employment, strict=True))]


# group a: 50 rows, income 7 below, 3 above, 5 missing; employment 4 not allowed (rows 0-3,
# which are also the first below-range incomes). group b: 200 rows, income 40 above, 10 missing.
SHARES = pd.DataFrame(_rows("a", 50, below=7, above=3, missing=5, not_allowed=4)
                      + _rows("b", 200, above=40, missing=10))
RANGES = {"income": {"min": 0, "max": 10}, "employment": {"allowed": ["salaried"]}}
# (numerator, denominator) per group, feature and share, by hand
EXPECTED = {
    "a": {"income": {"outside": (10, 45), "below": (7, 45), "above": (3, 45),
                     "not_allowed": (0, 45), "missing": (5, 50)},
          "employment": {"outside": (4, 50), "below": (0, 50), "above": (0, 50),
                         "not_allowed": (4, 50), "missing": (0, 50)}},
    "b": {"income": {"outside": (40, 190), "below": (0, 190), "above": (40, 190),
                     "not_allowed": (0, 190), "missing": (10, 200)},
          "employment": {"outside": (0, 200), "below": (0, 200), "above": (0, 200),
                         "not_allowed": (0, 200), "missing": (0, 200)}},
}
# coverage: rows inside every range / rows inside every range or outside one.
# a: outside = 10 income rows (employment's 4 are among the below-range incomes),
# unknown = 5 missing incomes, trusted = 35. b: outside 40, unknown 10, trusted 150.
COVERAGE = {"a": (35, 45), "b": (150, 190)}


def _audit(data=SHARES, **kw):
    settings = dict(prediction="p", groups=["g"], min_group_size=1, ranges=RANGES)
    settings.update(kw)
    return fairaudit.audit(data, **settings)


def _share(check, name):
    return getattr(check, f"{name}_share")


def test_every_share_and_coverage_has_its_wilson_interval():
    result = _audit(confidence=0.9)
    z90 = 1.6448536269514722
    for grp in result.ranges.grouping("g").groups:
        for feature, shares in EXPECTED[grp.label].items():
            check = grp.features[feature]
            for name, (k, n) in shares.items():
                rate = _share(check, name)
                assert (rate.numerator, rate.denominator) == (k, n), (grp.label, feature, name)
                low, high = _wilson(k, n, z90)
                # at k = 0 the lower end is exactly 0
                assert rate.ci == pytest.approx((0.0 if k == 0 else low, high), abs=1e-12), \
                    (grp.label, feature, name)
        k, n = COVERAGE[grp.label]
        assert (grp.coverage.numerator, grp.coverage.denominator) == (k, n)
        assert grp.coverage.ci == pytest.approx(_wilson(k, n, z90), abs=1e-12)
    # the overall row: both groups together
    overall = result.ranges.overall
    assert overall.features["income"].above_share.ci == pytest.approx(_wilson(43, 235, z90),
                                                                      abs=1e-12)
    assert overall.coverage.ci == pytest.approx(_wilson(185, 235, z90), abs=1e-12)


def test_clopper_pearson_on_request_matches_scipy():
    result = _audit(interval="clopper-pearson")
    for grp in result.ranges.grouping("g").groups:
        for feature, shares in EXPECTED[grp.label].items():
            for name, (k, n) in shares.items():
                exact = binomtest(k, n).proportion_ci(0.95, method="exact")
                assert _share(grp.features[feature], name).ci == pytest.approx(
                    (exact.low, exact.high), abs=1e-9), (grp.label, feature, name)
        k, n = COVERAGE[grp.label]
        exact = binomtest(k, n).proportion_ci(0.95, method="exact")
        assert grp.coverage.ci == pytest.approx((exact.low, exact.high), abs=1e-9)


def test_json_carries_a_ci_on_every_share_and_the_coverage_gap_its_intervals():
    data = to_dict(_audit())
    grouping = data["ranges"]["groupings"][0]
    for grp in grouping["groups"]:
        for feature, shares in EXPECTED[grp["label"]].items():
            for name, (k, n) in shares.items():
                share = grp["features"][feature][f"{name}_share"]
                low, high = _wilson(k, n)
                assert share["ci"] == pytest.approx([0.0 if k == 0 else low, high], abs=1e-12)
        assert grp["coverage"]["ci"] == pytest.approx(list(_wilson(*COVERAGE[grp["label"]])),
                                                      abs=1e-12)
    gap = grouping["coverage"]
    for key in ("difference_ci", "ratio_ci", "p_value", "p_adjusted"):
        assert gap[key] is not None, key
    # the same gap, adjusted, among the grouping's criteria
    assert data["groupings"][0]["criteria"]["range_coverage"] == gap


def test_a_share_with_no_known_value_has_no_interval():
    frame = pd.DataFrame(_rows("a", 40, missing=40) + _rows("b", 40, above=4))
    grp = _audit(frame).ranges.grouping("g").groups[0]
    assert grp.features["income"].outside_share.value is None
    assert grp.features["income"].outside_share.ci is None
    assert grp.coverage.value is None and grp.coverage.ci is None
    assert to_dict(_audit(frame))["ranges"]["groupings"][0]["groups"][0]["coverage"]["ci"] is None


# -- the coverage gap: bootstrap, test, adjustment ----------------------------------------


def _coverage_frame(spec: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """``{group: (inside, outside)}`` rows with one feature ``x`` in [0, 1]."""
    rows = []
    for group, (inside, outside) in spec.items():
        rows += [{"g": group, "x": 0.5}] * inside + [{"g": group, "x": 2.0}] * outside
    frame = pd.DataFrame(rows)
    frame["p"] = np.arange(len(frame)) % 2  # predictions unrelated to the ranges
    return frame


def _coverage_audit(spec, **kw):
    settings = dict(prediction="p", groups=["g"], ranges={"x": {"min": 0, "max": 1}})
    settings.update(kw)
    return fairaudit.audit(_coverage_frame(spec), **settings)


FAR = {"a": (1800, 200), "b": (1200, 800)}  # coverage 0.9 and 0.6 in 2,000 rows each


def test_coverage_gap_intervals_agree_with_the_normal_approximation_for_large_groups():
    # two large groups far apart: the bootstrap of binomial counts gives about the
    # Wald interval d +- z se, and for the ratio the delta-method interval on the log scale
    gap = _coverage_audit(FAR, bootstrap=4000).ranges.grouping("g").coverage
    assert gap.difference == pytest.approx(0.3, abs=1e-12)
    se = math.sqrt(0.9 * 0.1 / 2000 + 0.6 * 0.4 / 2000)
    # a 2.5% quantile of 4,000 replicates is known to about 0.06 se
    assert gap.ci_difference == pytest.approx((0.3 - Z95 * se, 0.3 + Z95 * se), abs=0.3 * se)
    log_se = math.sqrt(0.1 / (2000 * 0.9) + 0.4 / (2000 * 0.6))
    ratio = 0.6 / 0.9
    low, high = (ratio * math.exp(-Z95 * log_se), ratio * math.exp(Z95 * log_se))
    assert gap.ci_ratio == pytest.approx((low, high), abs=0.3 * log_se * ratio)


def test_coverage_gap_p_value_is_the_chi_square_test_and_is_adjusted_with_the_audit():
    spec = {"a": (60, 40), "b": (75, 25), "c": (70, 30)}
    result = _coverage_audit(spec)
    gap = result.grouping("g").criteria["range_coverage"]
    table = [[60, 75, 70], [40, 25, 30]]
    assert gap.p_value == pytest.approx(chi2_contingency(table, correction=False)[1],
                                        rel=1e-9)
    # without a label the audit tests two things: the selection rate and the coverage.
    # Holm over two p-values: the smaller times 2, the larger at least that.
    p_sel = result.grouping("g").gaps["selection_rate"].p_value
    low, high = sorted([p_sel, gap.p_value])
    adjusted = {low: min(1.0, 2 * low), high: max(min(1.0, 2 * low), high)}
    assert gap.p_adjusted == pytest.approx(adjusted[gap.p_value], rel=1e-12)
    assert result.grouping("g").gaps["selection_rate"].p_adjusted == pytest.approx(
        adjusted[p_sel], rel=1e-12)
    # the range report carries the adjusted gap too
    assert result.ranges.grouping("g").coverage == gap
    # Benjamini-Hochberg: the larger stays, the smaller is min(2 p, larger)
    bh = _coverage_audit(spec, adjust="bh").grouping("g").criteria["range_coverage"]
    expected_bh = {low: min(2 * low, high), high: high}
    assert bh.p_adjusted == pytest.approx(expected_bh[gap.p_value], rel=1e-12)


def test_coverage_gap_is_reproducible_under_a_seed_and_off_with_bootstrap_0():
    spec = {"a": (60, 40), "b": (75, 25), "c": (70, 30)}
    one = _coverage_audit(spec, seed=3).grouping("g").criteria["range_coverage"]
    two = _coverage_audit(spec, seed=3).grouping("g").criteria["range_coverage"]
    other = _coverage_audit(spec, seed=4).grouping("g").criteria["range_coverage"]
    assert one.ci_difference == two.ci_difference and one.ci_ratio == two.ci_ratio
    assert one.ci_difference != other.ci_difference
    off = _coverage_audit(spec, bootstrap=0).grouping("g").criteria["range_coverage"]
    assert off.ci_difference is None and off.ci_ratio is None
    assert off.p_value == one.p_value  # the test needs no bootstrap


def test_seed_flag_on_the_command_line(tmp_path):
    path = tmp_path / "rows.csv"
    _coverage_frame({"a": (60, 40), "b": (75, 25), "c": (70, 30)}).to_csv(path, index=False)

    def run(seed):
        r = CliRunner().invoke(app, ["run", str(path), "--prediction", "p", "--group", "g",
                                     "--range", "x=0:1", "--seed", str(seed), "--json", "-"])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)["ranges"]["groupings"][0]["coverage"]

    first, again, other = run(11), run(11), run(12)
    assert first == again
    assert first["difference_ci"] != other["difference_ci"]


def test_coverage_gap_leaves_small_groups_out_with_their_counts():
    spec = {"a": (60, 40), "b": (75, 25), "c": (5, 5)}
    gap = _coverage_audit(spec).grouping("g").criteria["range_coverage"]
    assert gap.groups_used == 2
    assert [(e.group, e.count, e.denominator) for e in gap.excluded] == [("c", 10, 10)]
    assert gap.p_value == pytest.approx(
        chi2_contingency([[60, 75], [40, 25]], correction=False)[1], rel=1e-9)


# -- decision rules on range gates ----------------------------------------------------------


def _coverage_gate(rule, threshold):
    result = _coverage_audit(FAR, decide=rule, max_gap={"range_coverage": threshold})
    (gate,) = result.gates
    return gate


@pytest.mark.parametrize(("threshold", "expected"), [
    # the gap 0.3 has an interval of about 0.3 +- 0.025 (normal approximation above)
    (0.2, ("fail", "fail", "fail")),  # wholly past
    (0.29, ("fail", "inconclusive", "fail")),  # point past, interval straddles
    (0.31, ("pass", "pass", "inconclusive")),  # point inside, interval straddles
    (0.4, ("pass", "pass", "pass")),  # wholly inside
])
def test_each_rule_on_a_range_coverage_gate(threshold, expected):
    gates = [_coverage_gate(rule, threshold) for rule in RULES]
    assert tuple(g.status for g in gates) == expected
    se = math.sqrt(0.9 * 0.1 / 2000 + 0.6 * 0.4 / 2000)
    for g in gates:  # the gate judges the gap's own interval
        assert g.ci == pytest.approx((0.3 - Z95 * se, 0.3 + Z95 * se), abs=0.3 * se)


# outside shares of income: a 30/100, b 10/100, c 8/30
OUT = pd.DataFrame(_rows("a", 100, above=30) + _rows("b", 100, above=10)
                   + _rows("c", 30, above=8))


def _out_gate(rule, threshold):
    result = fairaudit.audit(OUT, prediction="p", groups=["g"], min_group_size=30,
                             ranges={"income": {"min": 0, "max": 10}}, decide=rule,
                             max_out_of_range={"income": threshold})
    (gate,) = result.gates
    return gate


def test_the_out_of_range_gate_interval_is_the_largest_ends_of_the_groups():
    a, b, c = _wilson(30, 100), _wilson(10, 100), _wilson(8, 30)
    # a has the largest share and the largest lower end; c, smaller, the largest upper end
    assert a[0] > c[0] > b[0] and c[1] > a[1] > b[1]
    gate = _out_gate("point", 0.5)
    assert gate.value == 0.3 and gate.group == "a"
    assert gate.ci == pytest.approx((a[0], c[1]), abs=1e-12)


@pytest.mark.parametrize(("threshold", "expected"), [
    (0.2, ("fail", "fail", "fail")),  # a's whole interval [0.219, 0.396] is past 0.2
    (0.25, ("fail", "inconclusive", "fail")),  # a's interval straddles 0.25
    (0.42, ("pass", "pass", "inconclusive")),  # every share inside, but c's upper end 0.44 past
    (0.45, ("pass", "pass", "pass")),  # every group's whole interval inside
])
def test_each_rule_on_an_out_of_range_gate(threshold, expected):
    a, c = _wilson(30, 100), _wilson(8, 30)
    assert a[0] > 0.2 and a[0] < 0.25 < a[1] and a[1] < 0.42 < c[1] < 0.45
    gates = [_out_gate(rule, threshold) for rule in RULES]
    assert tuple(g.status for g in gates) == expected
    assert all(g.rule == rule for g, rule in zip(gates, RULES, strict=True))


def test_out_of_range_gate_sentence_shows_the_interval_and_the_rule():
    gate = _out_gate("confident-fail", 0.25)
    low, high = _wilson(30, 100)[0], _wilson(8, 30)[1]
    assert gate.sentence == (
        f"share of income values out of range in g = a: 0.3000 [{low:.4f}, {high:.4f}], "
        "must be at most 0.25 (rule confident-fail: past the threshold, but the interval "
        "straddles it)")


def test_terminal_range_table_shows_share_intervals():
    from io import StringIO

    from fairaudit.report.terminal import render

    out = StringIO()
    render(_audit(), out)
    text = out.getvalue()
    low, high = _wilson(40, 190)
    assert f"[{low:.3f}, {high:.3f}]" in text  # b's above-range income share
    low, high = _wilson(*COVERAGE["a"])
    assert f"[{low:.3f}, {high:.3f}]" in text  # a's coverage
