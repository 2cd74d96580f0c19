"""Figures within strata, cross-checked against statsmodels' StratifiedTable, pandas and by hand.

Every comparison is one group against the reference on one metric; its
tables are built here from the rows with pandas, independently of the count
table, so a wrong projection fails these tests as surely as a wrong formula.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

import fairaudit
from fairaudit.metrics import METRIC_BY_NAME
from fairaudit.stats.strata import kitagawa, pooled, standardised

CARDIAC = Path(__file__).resolve().parent.parent / "examples" / "cardiac" / "cardiac.parquet"
TOL = 1e-9


def _tables(a, n1, c, n0):  # type: ignore[no-untyped-def]
    """statsmodels' 2 x 2 x K layout: rows group, reference; columns numerator, the rest."""
    a, n1, c, n0 = (np.asarray(x, dtype=float) for x in (a, n1, c, n0))
    return np.array([[a, n1 - a], [c, n0 - c]])


def _check_against_statsmodels(a, n1, c, n0) -> None:  # type: ignore[no-untyped-def]
    got = pooled(a, n1, c, n0)
    a, n1, c, n0 = (np.asarray(x, dtype=float) for x in (a, n1, c, n0))
    both = (n1 > 0) & (n0 > 0)
    a, n1, c, n0 = a[both], n1[both], c[both], n0[both]
    assert got.strata == len(a)
    ref = StratifiedTable(_tables(a, n1, c, n0))
    r = (a * (n0 - c) / (n1 + n0)).sum()
    s = ((n1 - a) * c / (n1 + n0)).sum()
    if r > 0 and s > 0:
        assert got.odds_ratio == pytest.approx(ref.oddsratio_pooled, rel=TOL, abs=TOL)
        assert got.log_odds_ratio_se == pytest.approx(ref.logodds_pooled_se, rel=TOL)
        lo, hi = ref.oddsratio_pooled_confint(alpha=0.05)
        assert got.odds_ratio_ci(0.95) == pytest.approx((lo, hi), rel=TOL)
    m1 = a + c
    n = n1 + n0
    if (n1 * n0 * m1 * (n - m1)).sum() > 0:
        cmh = ref.test_null_odds(correction=False)
        assert got.cmh_statistic == pytest.approx(cmh.statistic, rel=TOL, abs=TOL)
        assert got.cmh_p == pytest.approx(cmh.pvalue, rel=1e-7, abs=TOL)
    # Breslow-Day: strata with a zero margin hold one possible table and are left out
    # (statsmodels gives NaN for them); a common odds ratio of exactly 1 has its own form
    informative = (m1 > 0) & (m1 < n)
    if informative.sum() >= 2 and 0 < got.odds_ratio < math.inf and got.odds_ratio != 1:
        keep = informative
        bd_ref = StratifiedTable(_tables(a[keep], n1[keep], c[keep], n0[keep]))
        # the common odds ratio is the Mantel-Haenszel one of every stratum (margins of 0
        # add nothing to it), so the reference is given the same
        assert bd_ref.oddsratio_pooled == pytest.approx(got.odds_ratio, rel=TOL)
        bd = bd_ref.test_equal_odds(adjust=True)
        assert got.breslow_day_dof == int(keep.sum()) - 1
        assert got.breslow_day_statistic == pytest.approx(bd.statistic, rel=1e-8, abs=1e-8)
        if bd.pvalue > 1e-12:
            assert got.breslow_day_p == pytest.approx(bd.pvalue, rel=1e-6, abs=1e-9)


def test_a_hand_fixture_equals_statsmodels_and_the_sato_variance_by_hand():
    # stratum 1: group 3 of 10, reference 1 of 8; stratum 2: group 5 of 6, reference 2 of 9
    a, n1, c, n0 = [3, 5], [10, 6], [1, 2], [8, 9]
    _check_against_statsmodels(a, n1, c, n0)
    got = pooled(a, n1, c, n0)
    # by hand, in exact fractions: weights n1 n0 / N, Sato's P and Q terms
    w = Fraction(10 * 8, 18) + Fraction(6 * 9, 15)
    rd = (Fraction(3 * 8 - 1 * 10, 18) + Fraction(5 * 9 - 2 * 6, 15)) / w
    p = Fraction(100 * 1 - 64 * 3 + 80 * (8 - 10) // 2, 18 ** 2) + \
        Fraction(36 * 2 - 81 * 5 + 54 * (9 - 6) // 2, 15 ** 2)  # 54 * 3 is even: exact
    q = Fraction(3 * (8 - 1) + 1 * (10 - 3), 2 * 18) + Fraction(5 * (9 - 2) + 2 * (6 - 5), 2 * 15)
    var = (rd * p + q) / w ** 2
    assert float(rd) == pytest.approx(0.37016574585635365, rel=1e-12)
    assert got.risk_difference == pytest.approx(float(rd), rel=1e-12)
    assert got.risk_difference_se == pytest.approx(math.sqrt(float(var)), rel=1e-12)
    # the pooled difference is the stratum differences weighted by n1 n0 / N
    d = np.array([3 / 10 - 1 / 8, 5 / 6 - 2 / 9])
    weights = np.array([80 / 18, 54 / 15])
    assert got.risk_difference == pytest.approx(float((d * weights).sum() / weights.sum()))


def test_strata_with_zero_cells_and_absent_groups():
    # a zero cell (no numerator in a side), a zero margin (no numerator at all), and a
    # stratum the group is absent from: that one is left out of the pooled figures
    a, n1, c, n0 = [0, 4, 0, 7, 3], [12, 9, 5, 20, 0], [3, 2, 0, 4, 6], [10, 11, 7, 15, 8]
    _check_against_statsmodels(a, n1, c, n0)
    got = pooled(a, n1, c, n0)
    assert got.strata == 4
    assert got.breslow_day_dof == 2  # four strata, one with a zero margin


_COUNTS = st.integers(0, 40)


@st.composite
def _strata(draw):  # type: ignore[no-untyped-def]
    k = draw(st.integers(1, 7))
    out = []
    for _ in range(k):
        n1, n0 = draw(_COUNTS), draw(_COUNTS)
        out.append((draw(st.integers(0, n1)), n1, draw(st.integers(0, n0)), n0))
    return [list(x) for x in zip(*out, strict=True)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strata())
def test_random_tables_equal_statsmodels(tables):  # type: ignore[no-untyped-def]
    _check_against_statsmodels(*tables)


@settings(max_examples=300, deadline=None)
@given(_strata())
def test_kitagawa_parts_add_up_exactly(tables):  # type: ignore[no-untyped-def]
    a, n1, c, n0 = tables
    parts = kitagawa(a, n1, c, n0)
    if sum(n1) == 0 or sum(n0) == 0:
        assert math.isnan(parts.crude)
        return
    assert parts.crude == pytest.approx(sum(a) / sum(n1) - sum(c) / sum(n0), abs=1e-12)
    assert parts.rate_part + parts.composition_part == pytest.approx(parts.crude, abs=1e-12)


def _rows(tables) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Rows whose selection rates per group and stratum are the tables'."""
    a, n1, c, n0 = tables
    parts = []
    for s, (ka, na, kc, nc) in enumerate(zip(a, n1, c, n0, strict=True)):
        for group, k, n in (("g", ka, na), ("ref", kc, nc)):
            parts.append(pd.DataFrame({"group": group, "stratum": f"s{s}",
                                       "yhat": [1] * k + [0] * (n - k)}))
    df = pd.concat(parts, ignore_index=True)
    df["y"] = np.arange(len(df)) % 2
    return df


def _pandas_kitagawa(df: pd.DataFrame, metric: str = "yhat") -> tuple[float, float, float]:
    """Kitagawa from the rows: a side absent from a stratum takes the other's rate there."""
    t = df.groupby(["stratum", "group"])[metric].agg(["sum", "count"]).unstack("group")
    k, n = t["sum"].fillna(0), t["count"].fillna(0)
    w = n / n.sum()
    r = k / n.where(n > 0)
    r["g"] = r["g"].fillna(r["ref"])
    r["ref"] = r["ref"].fillna(r["g"])
    crude = k["g"].sum() / n["g"].sum() - k["ref"].sum() / n["ref"].sum()
    rate = ((w["g"] + w["ref"]) / 2 * (r["g"] - r["ref"])).sum()
    composition = ((r["g"] + r["ref"]) / 2 * (w["g"] - w["ref"])).sum()
    return float(crude), float(rate), float(composition)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strata().filter(lambda t: sum(t[1]) >= 1 and sum(t[3]) >= 1))
def test_the_audit_on_rows_equals_pandas_and_statsmodels(tables):  # type: ignore[no-untyped-def]
    df = _rows(tables)
    result = fairaudit.audit(df, label="y", prediction="yhat", groups=["group"],
                             strata=["stratum"], reference=[("group", "ref")], bootstrap=0,
                             min_group_size=1)
    (c,) = [c for c in result.strata.grouping("group").comparisons
            if c.metric == "selection_rate"]
    crude, rate, composition = _pandas_kitagawa(df)
    assert c.crude_difference == pytest.approx(crude, abs=1e-12)
    assert c.rate_part == pytest.approx(rate, abs=1e-12)
    assert c.composition_part == pytest.approx(composition, abs=1e-12)
    # the tables the audit pooled are the rows' tables: the same figures as statsmodels'
    t = df.groupby(["stratum", "group"])["yhat"].agg(["sum", "count"]).unstack("group")
    t = t.fillna(0)
    both = (t["count"]["g"] > 0) & (t["count"]["ref"] > 0)
    assert c.strata_used == int(both.sum())
    ref = pooled(t["sum"]["g"], t["count"]["g"], t["sum"]["ref"], t["count"]["ref"])
    odds = math.nan if c.mh_odds_ratio is None else c.mh_odds_ratio
    assert odds == pytest.approx(ref.odds_ratio, nan_ok=True)
    _check_against_statsmodels(t["sum"]["g"], t["count"]["g"], t["sum"]["ref"],
                               t["count"]["ref"])


def _cardiac() -> pd.DataFrame:
    return pd.read_parquet(CARDIAC)


@pytest.fixture(scope="module")
def cardiac():  # type: ignore[no-untyped-def]
    df = _cardiac()
    result = fairaudit.audit(df, label="complication", prediction="flagged", groups=["race"],
                             strata=["hospital"], bootstrap=200)
    return df, result


@pytest.mark.parametrize("metric", ["selection_rate", "tpr", "fpr", "precision", "accuracy"])
def test_the_cardiac_example_equals_statsmodels(cardiac, metric):  # type: ignore[no-untyped-def]
    df, result = cardiac
    m = METRIC_BY_NAME[metric]
    df = df[df["hospital"].notna()].copy()
    cells = df["complication"] * 2 + df["flagged"]
    df["num"] = cells.isin(m.numerator).astype(int)
    df["den"] = cells.isin(m.denominator).astype(int)
    for c in result.strata.grouping("race").comparisons:
        if c.metric != metric:
            continue
        assert c.reference == "White"
        tables = []
        for race in (c.group, "White"):
            side = df[df["race"] == race].groupby("hospital")[["num", "den"]].sum()
            tables.append(side.reindex(sorted(df["hospital"].unique()), fill_value=0))
        (g, r) = tables
        a, c0 = g["num"], r["num"]
        ref = StratifiedTable(_tables(a, g["den"], c0, r["den"]))
        assert c.mh_odds_ratio == pytest.approx(ref.oddsratio_pooled, rel=TOL)
        assert c.ci_mh_odds_ratio == pytest.approx(ref.oddsratio_pooled_confint(), rel=TOL)
        assert c.cmh_p_value == pytest.approx(ref.test_null_odds().pvalue, rel=1e-7, abs=1e-15)
        assert c.breslow_day_p_value == pytest.approx(
            ref.test_equal_odds(adjust=True).pvalue, rel=1e-6, abs=1e-12)
        # the crude difference on these rows, and the rows' rates per hospital
        rates = a / g["den"], c0 / r["den"]
        crude = a.sum() / g["den"].sum() - c0.sum() / r["den"].sum()
        assert c.crude_difference == pytest.approx(crude, abs=1e-12)
        assert c.rate_part + c.composition_part == pytest.approx(c.crude_difference, abs=1e-12)
        # directly standardised to the overall mix (every race's denominators per hospital)
        standard = df.groupby("hospital")["den"].sum().reindex(g.index)
        w = standard / standard.sum()
        assert c.standardised_group == pytest.approx(float((w * rates[0]).sum()), abs=1e-12)
        assert c.standardised_reference == pytest.approx(float((w * rates[1]).sum()),
                                                         abs=1e-12)
        # each hospital's difference interval: Newcombe's hybrid score interval
        for cell, k1, m1, k0, m0 in zip(c.cells, a, g["den"], c0, r["den"], strict=True):
            lo, hi = confint_proportions_2indep(k1, m1, k0, m0, method="newcomb")
            assert cell.ci_difference == pytest.approx((lo, hi), abs=1e-12)


def test_the_cardiac_gap_is_mostly_composition(cardiac):  # type: ignore[no-untyped-def]
    # the figures docs/sources.md and examples/cardiac/README.md quote
    _, result = cardiac
    report = result.strata
    assert (report.rows, report.rows_missing) == (29_838, 162)
    (c,) = [c for c in report.grouping("race").comparisons
            if c.metric == "selection_rate" and c.group == "Black"]
    assert round(c.crude_difference, 3) == 0.256
    assert round(c.composition_part, 3) == 0.176
    assert round(c.rate_part, 3) == 0.079
    assert round(c.share_explained, 2) == 0.69
    assert round(c.mh_difference, 3) == 0.082
    assert [round(x, 3) for x in c.ci_mh_difference] == [0.066, 0.098]
    assert round(c.mh_odds_ratio, 2) == 1.58
    assert [round(x, 2) for x in c.ci_mh_odds_ratio] == [1.46, 1.72]
    assert (round(c.breslow_day_p_value, 3), round(c.breslow_day_p_adjusted, 3)) == (
        0.004, 0.099)
    assert c.cmh_p_adjusted < 0.001
    assert not c.simpson
    (h,) = [c for c in report.grouping("race").comparisons
            if c.metric == "selection_rate" and c.group == "Hispanic"]
    assert (round(h.crude_difference, 3), round(h.mh_difference, 3)) == (0.055, -0.005)
    assert [round(x, 3) for x in h.ci_mh_difference] == [-0.017, 0.006]
    assert h.simpson


def test_the_tests_join_the_audits_holm_family(cardiac):  # type: ignore[no-untyped-def]
    _, result = cardiac
    family = {}
    for g in result.groupings:  # one test per grouping and table (complements are one)
        for name, gap in g.gaps.items():
            if gap.p_value is not None:
                m = METRIC_BY_NAME[name]
                den = tuple(sorted(m.denominator))
                num = tuple(sorted(m.numerator))
                key = (g.name, den, min(num, tuple(sorted(set(den) - set(num)))))
                family.setdefault(key, gap.p_value)
    tests = {}
    for g in result.strata.groupings:
        for c in g.comparisons:
            m = METRIC_BY_NAME[c.metric]
            den = tuple(sorted(m.denominator))
            num = tuple(sorted(m.numerator))
            table = (den, min(num, tuple(sorted(set(den) - set(num)))))
            for test, p, q in (("cmh", c.cmh_p_value, c.cmh_p_adjusted),
                               ("bd", c.breslow_day_p_value, c.breslow_day_p_adjusted)):
                tests[(g.name, c.group, table, test)] = (p, q)
    keys = list(family) + list(tests)
    ps = list(family.values()) + [p for p, _ in tests.values()]
    holm = dict(zip(keys, multipletests(ps, method="holm")[1], strict=True))
    for key, (_, q) in tests.items():
        assert q == pytest.approx(holm[key], rel=1e-12)
    gap = result.grouping("race").gaps["tpr"]
    assert gap.p_adjusted == pytest.approx(holm[next(k for k in family if k[0] == "race" and
                                                     k[1] == (2, 3))], rel=1e-12)


def test_simpsons_paradox_is_flagged():
    # the group does better than the reference in each stratum, worse overall: it is
    # mostly in the stratum where everyone does worse
    parts = [("g", "easy", 90, 100), ("g", "hard", 300, 1000),
             ("ref", "easy", 800, 1000), ("ref", "hard", 25, 100)]
    df = pd.concat([pd.DataFrame({"group": g, "stratum": s, "yhat": [1] * k + [0] * (n - k)})
                    for g, s, k, n in parts], ignore_index=True)
    result = fairaudit.audit(df, prediction="yhat", groups=["group"], strata=["stratum"],
                             reference=[("group", "ref")], bootstrap=0)
    (c,) = result.strata.grouping("group").comparisons
    assert c.crude_difference == pytest.approx(390 / 1100 - 825 / 1100)
    assert c.mh_difference > 0 > c.crude_difference
    assert c.simpson
    assert all(cell.difference > 0 for cell in c.cells)


def test_standardised_rates_by_hand():
    got = standardised([1, 3, 0], [2, 4, 0], [1, 1, 5], [4, 2, 5], [6, 6, 12])
    assert got.coverage == pytest.approx(0.5)
    assert got.group == pytest.approx(0.5 * 1 / 2 + 0.5 * 3 / 4)
    assert got.reference == pytest.approx(0.5 * 1 / 4 + 0.5 * 1 / 2)


def test_a_shortlist_is_compared_within_strata_on_its_proportions():
    # the base kind's proportion metrics, whatever the kind: top-k accuracy and the
    # in-list rate of a shortlist (its mean reciprocal rank is a mean, not compared)
    path = Path(__file__).resolve().parent.parent / "examples" / "shortlist" / "shortlist.parquet"
    df = pd.read_parquet(path)
    df["dialect"] = df["dialect"].astype(str)
    df["linked"] = df["linked"].astype(str)
    result = fairaudit.audit(df, rank="rank", k=[1, 3], groups=["dialect"], strata=["linked"],
                             reference=[("dialect", "en-US")], bootstrap=0)
    report = result.strata
    assert report.metrics == ("top_1_accuracy", "top_3_accuracy", "in_list_rate")
    df["hit"] = (df["rank"] <= 3).astype(int)
    t = df.groupby(["linked", "dialect"])["hit"].agg(["sum", "count"]).unstack("dialect")
    for c in report.grouping("dialect").comparisons:
        if c.metric != "top_3_accuracy":
            continue
        a, n1 = t["sum"][c.group], t["count"][c.group]
        r, n0 = t["sum"]["en-US"], t["count"]["en-US"]
        ref = StratifiedTable(_tables(a, n1, r, n0))
        assert c.mh_odds_ratio == pytest.approx(ref.oddsratio_pooled, rel=TOL)
        assert c.cmh_p_value == pytest.approx(ref.test_null_odds().pvalue, rel=1e-7, abs=1e-15)
        assert c.crude_difference == pytest.approx(a.sum() / n1.sum() - r.sum() / n0.sum())
    with pytest.raises(fairaudit.ConfigError, match="unknown criterion 'stratified:mrr'"):
        fairaudit.audit(df, rank="rank", groups=["dialect"], strata=["linked"],
                        max_gap={"stratified:mrr": 0.1})
    with pytest.raises(fairaudit.ConfigError, match="stratified:range_coverage"):
        fairaudit.audit(df, rank="rank", groups=["dialect"], strata=["linked"],
                        max_gap={"stratified:range_coverage": 0.1})


def test_a_history_keeps_the_strata_and_two_nights_pool_them(tmp_path: Path) -> None:
    # the stratum is a key column of the stored counts: a night read back is judged to the
    # same comparisons, and two nights pooled give those of the rows twice over
    from fairaudit import engine
    from fairaudit.history import History
    from fairaudit.history.series import pool_table

    df = _cardiac()
    config = engine.config_from(label="complication", prediction="flagged", groups=["race"],
                                strata=["hospital"], bootstrap=0)
    counted = engine.count(df, config)
    result = engine.judge(counted.table, config, counted.files)
    with History.open(tmp_path / "h.sqlite", create=True) as h:
        first = h.record(result, counted.table, config, as_of="2026-01-01").run_id
        second = h.record(result, counted.table, config, as_of="2026-01-02").run_id
        back = h.table(first)
        assert back.columns == counted.table.columns == ("race", "hospital")
        assert back.cells.tolist() == counted.table.cells.tolist()
        pooled = pool_table(h, [r for r in h.runs() if r.run_id in (first, second)])
    once = engine.judge(back, config, ())
    twice = engine.judge(pooled, config, ())
    doubled = fairaudit.audit(pd.concat([df, df]), label="complication", prediction="flagged",
                              groups=["race"], strata=["hospital"], bootstrap=0)

    def figures(r: fairaudit.AuditResult) -> list[tuple[object, ...]]:
        return [(c.group, c.metric, c.crude_difference, c.mh_difference, c.mh_odds_ratio,
                 c.cmh_p_value, c.rate_part) for c in r.strata.grouping("race").comparisons]

    assert figures(once) == figures(result)
    assert [f[:2] for f in figures(twice)] == [f[:2] for f in figures(doubled)]
    assert len(figures(twice)) > 0
    for a, b in zip(figures(twice), figures(doubled), strict=True):
        assert a[2:] == pytest.approx(b[2:], rel=1e-12, abs=1e-15)
