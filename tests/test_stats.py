"""Intervals, tests and adjustments against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import fairaudit
from fairaudit import stats
from fairaudit.metrics import CRITERIA, METRIC_BY_NAME, METRICS, fractions, rates, spread
from fairaudit.report.json import to_dict
from fairaudit.stats import resampling

GRID = [(0, 1), (1, 1), (0, 20), (1, 20), (7, 20), (19, 20), (20, 20), (3, 31), (250, 1000),
        (999, 1000), (4321, 9876)]


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_the_closed_form(confidence):
    z = sps.norm.ppf(0.5 + confidence / 2)
    k = np.array([g[0] for g in GRID], dtype=float)
    n = np.array([g[1] for g in GRID], dtype=float)
    lo, hi = stats.wilson(k, n, confidence)
    for i, (ki, ni) in enumerate(GRID):
        # Wilson (1927): the p whose score statistic |p_hat - p| / sqrt(p(1-p)/n) equals z
        p = ki / ni
        centre = (p + z * z / (2 * ni)) / (1 + z * z / ni)
        half = z / (1 + z * z / ni) * math.sqrt(p * (1 - p) / ni + z * z / (4 * ni * ni))
        assert lo[i] == pytest.approx(max(centre - half, 0.0), abs=1e-12)
        assert hi[i] == pytest.approx(min(centre + half, 1.0), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_clopper_pearson_matches_beta_quantiles(confidence):
    a = 1 - confidence
    k = np.array([g[0] for g in GRID])
    n = np.array([g[1] for g in GRID])
    lo, hi = stats.clopper_pearson(k, n, confidence)
    for i, (ki, ni) in enumerate(GRID):
        expected_lo = 0.0 if ki == 0 else sps.beta.ppf(a / 2, ki, ni - ki + 1)
        expected_hi = 1.0 if ki == ni else sps.beta.ppf(1 - a / 2, ki + 1, ni - ki)
        assert lo[i] == pytest.approx(expected_lo, abs=1e-10)
        assert hi[i] == pytest.approx(expected_hi, abs=1e-10)


def test_an_empty_denominator_has_no_interval():
    for method in stats.INTERVALS:
        lo, hi = stats.proportion_interval(np.array([0.0]), np.array([0.0]), method, 0.95)
        assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_chi_square_matches_scipy_contingency():
    rng = np.random.default_rng(3)
    groups, m = 5, 3
    den = rng.integers(30, 400, size=(groups, m)).astype(float)
    num = np.floor(den * rng.uniform(0.1, 0.9, size=(groups, m)))
    eligible = np.ones((groups, m), dtype=bool)
    eligible[4, 1] = False  # one group left out of the second metric's test
    stat, dof, p = stats.homogeneity(num, den, eligible)
    for j in range(m):
        rows = eligible[:, j]
        table = np.stack([num[rows, j], den[rows, j] - num[rows, j]])
        chi2, expected_p, expected_dof, _ = sps.chi2_contingency(table, correction=False)
        assert stat[j] == pytest.approx(chi2, rel=1e-10)
        assert dof[j] == expected_dof
        assert p[j] == pytest.approx(expected_p, rel=1e-8, abs=1e-300)


def test_chi_square_is_undefined_when_every_rate_is_zero_or_one_group_is_left():
    num = np.array([[0.0, 5.0], [0.0, 7.0]])
    den = np.array([[40.0, 50.0], [60.0, 70.0]])
    _, _, p = stats.homogeneity(num, den, np.array([[True, True], [True, False]]))
    assert np.isnan(p).all()


def test_holm_and_benjamini_hochberg_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
    # running maximum 0.02, 0.03, 0.06, 0.06
    assert stats.adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: sorted p * 4 / rank = 0.02, 0.02, 0.04, 0.04; running minimum from the top
    assert stats.adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert stats.adjust([0.5, 0.9], "holm") == pytest.approx([1.0, 1.0])


def test_benjamini_hochberg_matches_scipy():
    p = np.random.default_rng(5).uniform(0, 0.2, size=40)
    assert stats.adjust(list(p), "bh") == pytest.approx(sps.false_discovery_control(p))


def test_quantile_matches_numpy_and_drops_an_undefined_figure():
    x = np.random.default_rng(1).normal(size=(999, 3))
    for q in (0.025, 0.5, 0.975):
        assert stats.quantile(x, q) == pytest.approx(np.quantile(x, q, axis=0), abs=1e-12)
    x[:10, 1] = np.nan  # 1% undefined: left out
    x[:100, 2] = np.nan  # 10% undefined: no interval
    got = stats.quantile(x, 0.5)
    assert got[1] == pytest.approx(np.quantile(x[10:, 1], 0.5))
    assert np.isnan(got[2])


def test_running_extremes_give_what_spread_gives_on_all_groups():
    rng = np.random.default_rng(11)
    for _ in range(20):
        g, b, m = int(rng.integers(1, 7)), 50, 4
        values = rng.uniform(0, 1, size=(g, b, m))
        values[rng.uniform(size=values.shape) < 0.2] = np.nan
        values[..., 3] = 0.0  # every group at 0: the ratio is 0/0
        mask = rng.uniform(size=(g, m)) < 0.7
        ext = resampling._Extremes(b, m)
        for start in range(0, g, 2):
            ext.add(values[start:start + 2], mask[start:start + 2])
        diff, ratio = ext.spread()
        expected_diff, expected_ratio = spread(np.moveaxis(values, 0, 1),
                                               np.broadcast_to(mask, (b, g, m)))
        np.testing.assert_allclose(diff, expected_diff, equal_nan=True)
        np.testing.assert_allclose(ratio, expected_ratio, equal_nan=True)


def _boot(confusion, replicates=400, seed=(1, 2)):
    _, den = fractions(confusion, METRICS)
    eligible = (confusion.sum(axis=1) >= 30)[:, None] & (den >= 30)
    names = [m.name for m in METRICS]
    criteria = [[names.index(n) for n in c.metrics] for c in CRITERIA]
    return stats.bootstrap(confusion, METRICS, eligible, 0, criteria, replicates, 0.95, seed)


CONFUSION = np.array([[300, 80, 60, 200], [40, 25, 10, 35], [900, 100, 200, 500],
                      [5, 3, 2, 4], [70, 20, 20, 60]])


def test_bootstrap_is_seeded_and_does_not_depend_on_chunking(monkeypatch):
    first, again = _boot(CONFUSION), _boot(CONFUSION)
    monkeypatch.setattr(resampling, "_CHUNK_VALUES", 1)  # one group at a time
    chunked = _boot(CONFUSION)
    other = _boot(CONFUSION, seed=(1, 3))
    for field in ("difference", "ratio", "criteria_difference", "versus_difference"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
        np.testing.assert_array_equal(getattr(first, field), getattr(chunked, field))
    assert not np.array_equal(first.difference, other.difference, equal_nan=True)


def test_gap_interval_holds_the_point_and_is_never_narrower_than_the_percentile():
    got = _boot(CONFUSION, replicates=2000)
    _, den = fractions(CONFUSION, METRICS)
    eligible = (CONFUSION.sum(axis=1) >= 30)[:, None] & (den >= 30)
    diff, ratio = spread(rates(CONFUSION, METRICS), eligible)
    assert (got.difference[:, 0] <= diff).all() and (diff <= got.difference[:, 1]).all()
    assert (got.ratio[:, 0] <= ratio).all() and (ratio <= got.ratio[:, 1]).all()
    assert (got.difference[:, 0] <= got.difference_percentile[:, 0] + 1e-12).all()
    assert (got.ratio[:, 1] >= got.ratio_percentile[:, 1] - 1e-12).all()


def test_pairs_keep_only_groups_that_could_be_the_extremes():
    # rates 0.50, 0.49, 0.30, 0.31, 0.40 of 10,000 each: standard errors about 0.005
    point = np.array([[0.50], [0.49], [0.30], [0.31], [0.40]])
    den = np.full_like(point, 10_000.0)
    pairs = resampling._Pairs(point, den, np.ones_like(point, dtype=bool),
                         (METRIC_BY_NAME["selection_rate"],), [[0]])
    assert pairs.top[0].tolist() == [0, 1] and pairs.bottom[0].tolist() == [2, 3]
    kept = pairs.sets[("d", (0,))]
    # 0.50 - 0.30 = 0.20 could be the largest gap, and so could 0.49 - 0.30 and 0.50 - 0.31
    assert sorted(zip(kept["i"].tolist(), kept["j"].tolist(), strict=True)) == \
        [(0, 2), (0, 3), (1, 2), (1, 3)]
    # with 30 rows a group, every group could be the largest or the smallest
    wide = resampling._Pairs(point, np.full_like(point, 30.0), np.ones_like(point, dtype=bool),
                        (METRIC_BY_NAME["selection_rate"],), [[0]])
    assert len(wide.top[0]) == len(wide.bottom[0]) == 5


def test_too_many_pairs_fall_back_to_wider_bounds(monkeypatch):
    exact = _boot(CONFUSION, replicates=1000)
    monkeypatch.setattr(resampling, "_MAX_PAIRS", 0)
    projected = _boot(CONFUSION, replicates=1000)
    ok = ~np.isnan(exact.difference[:, 0])
    assert (projected.difference[ok, 0] <= exact.difference[ok, 0] + 1e-12).all()
    assert (projected.ratio[ok, 1] >= exact.ratio[ok, 1] - 1e-12).all()
    # the safe ends: bounds on the candidate groups' rates at alpha / 4 each
    assert (projected.difference[ok, 1] >= exact.difference[ok, 1] - 1e-12).all()
    assert (projected.ratio[ok, 0] <= exact.ratio[ok, 0] + 1e-12).all()


def test_two_groups_far_apart_the_safe_end_is_the_comparison_with_the_reference():
    # group 1 (rate 0.7) far above the reference group 0 (0.3): one pair can be the
    # extremes, so the gap's upper end is that pair's studentized bound, which is the
    # upper end of group 1 minus the reference; and the ratio's lower end (0 over 1)
    # is one over the upper end of group 1 over the reference
    confusion = np.array([[700, 300, 0, 0], [300, 700, 0, 0]])
    got = _boot(confusion, replicates=2000)
    sr = [m.name for m in METRICS].index("selection_rate")
    assert got.difference[sr, 1] == pytest.approx(got.versus_difference[1, sr, 1], abs=1e-12)
    assert got.ratio[sr, 0] == pytest.approx(1 / got.versus_ratio[1, sr, 1], abs=1e-12)
    # and both are about the normal-approximation ends (Monte Carlo error ~0.1 se)
    se = np.sqrt(2 * 0.3 * 0.7 / 1000)
    assert got.difference[sr, 1] == pytest.approx(0.4 + 1.96 * se, abs=0.3 * se)


def test_bootstrap_from_counts_is_the_stratified_row_bootstrap():
    """Redrawing a group's counts is redrawing its rows: the same distribution."""
    rng = np.random.default_rng(7)
    sizes, p = [40, 60], [0.3, 0.55]
    rows = [rng.uniform(size=n) < q for n, q in zip(sizes, p, strict=True)]
    confusion = np.array([[0, r.sum(), 0, 0] for r in rows]) + \
        np.array([[n - r.sum(), 0, 0, 0] for n, r in zip(sizes, rows, strict=True)])
    b = 20_000
    drawn = stats.resample(confusion, b, np.random.default_rng(1))
    from_counts = (drawn[1, :, 1] / sizes[1]) - (drawn[0, :, 1] / sizes[0])
    by_rows = [rng.choice(r, size=(b, len(r))).mean(axis=1) for r in rows]
    from_rows = by_rows[1] - by_rows[0]
    # with 20,000 replicates a 2.5% quantile is known to about 0.003 here (sd of the
    # difference about 0.1); 0.015 is five of those
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert np.quantile(from_counts, q) == pytest.approx(np.quantile(from_rows, q), abs=0.015)
    assert from_counts.std() == pytest.approx(from_rows.std(), rel=0.03)


def _frame(spec):
    """Rows from ``{group: (tn, fp, fn, tp)}``."""
    out = []
    for group, cells in spec.items():
        for (label, pred), n in zip([(0, 0), (0, 1), (1, 0), (1, 1)], cells, strict=True):
            out += [{"g": group, "y": label, "p": pred}] * n
    return pd.DataFrame(out)


def test_two_audits_with_one_seed_give_identical_numbers():
    df = _frame({"a": (50, 30, 20, 40), "b": (60, 10, 30, 35), "c": (20, 15, 10, 25)})
    kw = dict(label="y", prediction="p", groups=["g"], bootstrap=300, seed=42)
    one = to_dict(fairaudit.audit(df, **kw))
    two = to_dict(fairaudit.audit(df, **kw))
    other = to_dict(fairaudit.audit(df, **{**kw, "seed": 43}))
    for d in (one, two, other):
        d["provenance"].pop("timestamp")
    assert one == two
    assert one["groupings"][0]["gaps"] != other["groupings"][0]["gaps"]


def test_json_carries_intervals_and_p_values():
    df = _frame({"a": (50, 30, 20, 40), "b": (60, 10, 30, 35), "c": (20, 15, 10, 25)})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=200)
    data = to_dict(result)
    grouping = data["groupings"][0]
    rate = grouping["groups"][0]["metrics"]["selection_rate"]
    low, high = stats.wilson(70, 140, 0.95)
    assert rate["ci"] == pytest.approx([float(low), float(high)], abs=1e-12)
    gap = grouping["gaps"]["selection_rate"]
    assert len(gap["difference_ci"]) == 2 and len(gap["ratio_ci"]) == 2
    table = [[70, 70], [45, 90], [40, 30]]  # selected, not selected per group
    assert gap["p_value"] == pytest.approx(sps.chi2_contingency(
        np.array(table).T, correction=False)[1])
    assert gap["p_adjusted"] >= gap["p_value"]
    eo = grouping["criteria"]["equalized_odds"]
    tpr, fpr = grouping["gaps"]["tpr"], grouping["gaps"]["fpr"]
    assert eo["p_adjusted"] == min(tpr["p_adjusted"], fpr["p_adjusted"])
    vs = grouping["groups"][1]["versus_reference"]["selection_rate"]
    assert set(vs) >= {"difference", "ratio", "difference_ci", "ratio_ci"}


def test_the_adjustment_family_counts_complementary_metrics_once():
    assert stats.test_key(METRIC_BY_NAME["fpr"]) == stats.test_key(METRIC_BY_NAME["tnr"])
    assert stats.test_key(METRIC_BY_NAME["accuracy"]) == \
        stats.test_key(METRIC_BY_NAME["error_rate"])
    assert stats.test_key(METRIC_BY_NAME["tpr"]) != stats.test_key(METRIC_BY_NAME["fpr"])
    df = _frame({"a": (50, 30, 20, 40), "b": (60, 10, 30, 35)})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0)
    gaps = result.grouping("g").gaps
    raw: dict[object, float] = {}
    for n, g in gaps.items():
        # complementary rates give the same statistic, up to rounding
        key = stats.test_key(METRIC_BY_NAME[n])
        assert g.p_value == pytest.approx(raw.setdefault(key, g.p_value), rel=1e-9)
    holm = stats.adjust(list(raw.values()), "holm")
    assert len(raw) == 7
    for key, q in zip(raw, holm, strict=True):
        for n, g in gaps.items():
            if stats.test_key(METRIC_BY_NAME[n]) == key:
                assert g.p_adjusted == pytest.approx(q)


@pytest.mark.parametrize("dof", [*range(1, 12), 99, 100, 999, 1000, 9999])
def test_chi_square_tail_matches_scipy(dof):
    xs = np.array([0.0, 1e-9, 0.01, 0.5, 1.0, dof / 2, dof, 1.5 * dof, dof + 50, 3 * dof + 100])
    got = stats.chi2_sf(xs, np.full(len(xs), dof))
    want = sps.chi2.sf(xs, dof)
    assert got == pytest.approx(want, rel=1e-8, abs=1e-300)


def test_leaving_out_cells_empty_in_every_group_changes_no_interval(monkeypatch):
    # empty cells spread among the counts (a shortlist's unused positions), the last one
    # too: the bootstrap leaves them out of the draws, and every interval is what the
    # draws over every cell give
    rng = np.random.default_rng(11)
    wide = np.zeros((5, 10), dtype=np.int64)
    where = [1, 4, 5, 8]
    wide[:, where] = rng.integers(0, 400, size=(5, 4))
    from dataclasses import replace

    moved = tuple(replace(m, numerator=tuple(where[i] for i in m.numerator),
                          denominator=tuple(where[i] for i in m.denominator))
                  for m in METRICS)
    eligible = np.ones((5, len(METRICS)), dtype=bool)
    criteria = [[METRICS.index(METRIC_BY_NAME[n]) for n in c.metrics] for c in CRITERIA]
    left_out = stats.bootstrap(wide, moved, eligible, 2, criteria, 300, 0.95, [7])
    monkeypatch.setattr(resampling, "_drawn", lambda c: np.ones(np.shape(c)[1], dtype=bool))
    every = stats.bootstrap(wide, moved, eligible, 2, criteria, 300, 0.95, [7])
    for name in ("difference", "ratio", "criteria_difference", "criteria_ratio",
                 "versus_difference", "versus_ratio", "difference_percentile"):
        np.testing.assert_array_equal(getattr(left_out, name), getattr(every, name),
                                      err_msg=name)
    assert not np.isnan(left_out.difference).all()


def test_to_overall_intervals_are_the_row_bootstrap_of_the_largest_distance_to_the_whole():
    # three groups of rows; the whole population redrawn as its redrawn groups: the
    # percentile interval of max |group rate - whole rate| over replicates, from rows
    rng = np.random.default_rng(5)
    sizes, p = [300, 500, 200], [0.30, 0.42, 0.55]
    rows = [rng.uniform(size=n) < q for n, q in zip(sizes, p, strict=True)]
    confusion = np.array([[n - r.sum(), r.sum(), 0, 0] for n, r in zip(sizes, rows,
                                                                         strict=True)])
    j = [m.name for m in METRICS].index("selection_rate")
    eligible = np.ones((3, len(METRICS)), dtype=bool)
    got = stats.bootstrap(confusion, METRICS, eligible, 0, [], 4_000, 0.95, [3])
    b = 4_000
    drawn = [rng.choice(r, size=(b, len(r))) for r in rows]
    rates = np.stack([d.mean(axis=1) for d in drawn], axis=1)  # (b, groups)
    whole = np.stack([d.sum(axis=1) for d in drawn], axis=1).sum(axis=1) / sum(sizes)
    distance = np.abs(rates - whole[:, None]).max(axis=1)
    ratio = np.minimum(rates, whole[:, None]) / np.maximum(rates, whole[:, None])
    want_d = np.quantile(distance, [0.025, 0.975])
    want_r = np.quantile(ratio.min(axis=1), [0.025, 0.975])
    # 4,000 replicates know a 2.5% quantile of these to about 0.003; 0.012 is four of those
    np.testing.assert_allclose(got.to_overall_difference[j], want_d, atol=0.012)
    np.testing.assert_allclose(got.to_overall_ratio[j], want_r, atol=0.02)
    point = max(abs(r.mean() - np.concatenate(rows).mean()) for r in rows)
    lo, hi = got.to_overall_difference[j]
    assert lo < point < hi


def test_a_confident_gate_on_a_comparison_with_the_whole_is_decided():
    from tests.cli_support import COMPAS

    df = pd.read_parquet(COMPAS)
    result = fairaudit.audit(df, label="two_year_recid", prediction="prediction",
                             groups=["race"], bootstrap=500, decide="confident-fail",
                             max_gap={"demographic_parity_to_overall": 0.01,
                                      "equalized_odds_mean_to_overall": 0.01})
    gap = result.grouping("race").to_overall["demographic_parity"]
    assert gap.ci_difference is not None and gap.ci_ratio is not None
    assert gap.ci_difference[0] <= gap.difference <= gap.ci_difference[1]
    status = {g.criterion: g.status for g in result.gates}
    assert status["demographic_parity_to_overall"] == "fail"  # its interval is above 0.01
    # a mean of criteria has no interval yet: inconclusive under a confident rule
    assert status["equalized_odds_mean_to_overall"] == "inconclusive"
    doc = result.to_dict()["groupings"][0]["to_overall"]["demographic_parity"]
    assert doc["difference_ci"] == list(gap.ci_difference)
