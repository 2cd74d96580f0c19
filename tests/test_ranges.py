"""Range checks: hand-computed fixtures for every kind of range, gates, and the trusted subset."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairaudit
from fairaudit.errors import ConfigError, UsageError
from fairaudit.rangespec import RangeSpec, parse_gate, parse_range

NAN = float("nan")

# Eleven rows in two groups. Ranges: x closed [0, 10], y open below (at most 5),
# z open above (at least 2), c allowed {u, v}. Each row's states, by hand:
#
# row g  x     y     z     c     label pred | x       y       z       c        standing
#  1  a  0     5     2     u     1     1    | in      in      in      in       trusted tp
#  2  a  10    -100  1e9   v     0     1    | in      in      in      in       trusted fp
#  3  a  -0.5  6     2     u     1     0    | below   above   in      in       outside
#  4  a  NaN   3     5     u     0     0    | missing in      in      in       unknown
#  5  a  null  null  1.99  w     null  1    | missing missing below   not_all. outside
#  6  b  10.5  0     3     v     1     1    | above   in      in      in       outside
#  7  b  5     5     2     v     0     0    | in      in      in      in       trusted tn
#  8  b  5     null  null  null  1     1    | in      missing missing missing  unknown
#  9  b  1     1     10    u     1     null | in      in      in      in       trusted, dropped
# 10  b  2     2     2     U     0     1    | in      in      in      not_all. outside
# 11  b  7     4     2.5   u     1     0    | in      in      in      in       trusted fn
ROWS = [
    ("a", 0.0, 5, 2.0, "u", 1, 1),
    ("a", 10.0, -100, 1e9, "v", 0, 1),
    ("a", -0.5, 6, 2.0, "u", 1, 0),
    ("a", NAN, 3, 5.0, "u", 0, 0),
    ("a", None, None, 1.99, "w", None, 1),
    ("b", 10.5, 0, 3.0, "v", 1, 1),
    ("b", 5.0, 5, 2.0, "v", 0, 0),
    ("b", 5.0, None, None, None, 1, 1),
    ("b", 1.0, 1, 10.0, "u", 1, None),
    ("b", 2.0, 2, 2.0, "U", 0, 1),
    ("b", 7.0, 4, 2.5, "u", 1, 0),
]
RANGES = {"x": {"min": 0, "max": 10}, "y": {"max": 5}, "z": {"min": 2},
          "c": {"allowed": ["u", "v"]}}
# (in, below, above, not_allowed, missing) per group and feature
EXPECTED = {
    "a": {"x": (2, 1, 0, 0, 2), "y": (3, 0, 1, 0, 1), "z": (4, 1, 0, 0, 0),
          "c": (4, 0, 0, 1, 0)},
    "b": {"x": (5, 0, 1, 0, 0), "y": (5, 0, 0, 0, 1), "z": (5, 0, 0, 0, 1),
          "c": (4, 0, 0, 1, 1)},
}
# trusted rows, outside rows, unknown rows
STANDING = {"a": (2, 2, 1), "b": (3, 2, 1)}


def _table(dictionary_c: bool = False) -> pa.Table:
    cols = list(zip(*ROWS, strict=True))
    c = pa.array(cols[4], pa.string())
    return pa.table({
        "g": pa.array(cols[0], pa.string()),
        "x": pa.array(cols[1], pa.float64(), from_pandas=False),
        "y": pa.array(cols[2], pa.int64()),
        "z": pa.array(cols[3], pa.float64()),
        "c": c.dictionary_encode() if dictionary_c else c,
        "label": pa.array(cols[5], pa.int64()),
        "pred": pa.array(cols[6], pa.int64()),
    })


def _audit(data, **kw):
    settings_ = dict(label="label", prediction="pred", groups=["g"], min_group_size=1,
                     ranges=RANGES)
    settings_.update(kw)
    return fairaudit.audit(data, **settings_)


def _check_fixture(result):
    r = result.ranges
    assert r is not None
    grouping = r.grouping("g")
    assert [g.label for g in grouping.groups] == ["a", "b"]
    for grp in grouping.groups:
        for feature, (inside, below, above, not_allowed, missing) in EXPECTED[grp.label].items():
            c = grp.features[feature]
            assert (c.inside, c.below, c.above, c.not_allowed, c.missing) == \
                (inside, below, above, not_allowed, missing), (grp.label, feature)
        assert (grp.trusted, grp.outside, grp.unknown) == STANDING[grp.label]
        assert grp.rows == (5 if grp.label == "a" else 6)
    a, b = grouping.groups
    # outside shares are over known values, missing shares over all rows
    assert a.features["x"].below_share.value == 1 / 3
    assert a.features["x"].outside_share.value == 1 / 3
    assert a.features["x"].missing_share.value == 2 / 5
    assert a.features["y"].above_share.value == 1 / 4
    assert a.features["z"].below_share.value == 1 / 5
    assert a.features["c"].not_allowed_share.value == 1 / 5
    assert b.features["x"].above_share.value == 1 / 6
    assert b.features["c"].not_allowed_share.value == 1 / 5
    assert b.features["c"].missing_share.value == 1 / 6
    # coverage: trusted / (trusted + outside)
    assert (a.coverage.value, a.coverage.numerator, a.coverage.denominator) == (0.5, 2, 4)
    assert (b.coverage.value, b.coverage.numerator, b.coverage.denominator) == (0.6, 3, 5)
    gap = result.grouping("g").criteria["range_coverage"]
    assert gap.difference == pytest.approx(0.1, abs=1e-15)
    assert gap.ratio == pytest.approx(0.5 / 0.6, abs=1e-15)
    o = r.overall
    assert (o.rows, o.trusted, o.outside, o.unknown) == (11, 5, 4, 2)
    # the trusted subset: a has rows 1 (tp) and 2 (fp); b has 7 (tn), 11 (fn), and 9 dropped
    ta, tb = result.trusted[0].groups
    assert (ta.metrics["tpr"].numerator, ta.metrics["tpr"].denominator) == (1, 1)
    assert (ta.metrics["fpr"].numerator, ta.metrics["fpr"].denominator) == (1, 1)
    assert ta.count == 2 and tb.count == 2
    assert tb.dropped == {"missing_label": 0, "missing_prediction": 1, "missing_score": 0}
    assert (tb.metrics["tpr"].numerator, tb.metrics["tpr"].denominator) == (0, 1)
    assert (tb.metrics["fpr"].numerator, tb.metrics["fpr"].denominator) == (0, 1)
    # the rows the metrics use are unchanged by the range checks
    assert result.provenance.rows_read == 11
    assert result.provenance.rows_used == 9


@pytest.mark.parametrize("dictionary_c", [False, True])
def test_fixture_from_a_table(dictionary_c):
    _check_fixture(_audit(_table(dictionary_c)))


def test_fixture_from_parquet_and_csv(tmp_path):
    pq.write_table(_table(), tmp_path / "rows.parquet")
    _check_fixture(_audit(str(tmp_path / "rows.parquet")))
    pacsv.write_csv(_table(), tmp_path / "rows.csv")
    _check_fixture(_audit(str(tmp_path / "rows.csv")))


def test_fixture_from_pandas_split_into_batches(monkeypatch):
    from fairaudit import readers

    monkeypatch.setattr(readers, "BATCH_ROWS", 3)  # batches of 3 rows must add up the same
    _check_fixture(_audit(_table().to_pandas()))


def test_ranges_from_flags_equal_ranges_from_a_table():
    flags = [parse_range("x=0:10"), parse_range("y=:5"), parse_range("z=2:"),
             RangeSpec("c", allowed=("u", "v"))]
    _check_fixture(_audit(_table(), ranges=flags))


def test_no_ranges_leaves_the_result_as_before():
    plain = fairaudit.audit(_table(), label="label", prediction="pred", groups=["g"],
                            min_group_size=1)
    ranged = _audit(_table())
    assert plain.ranges is None and plain.trusted == ()
    assert "range_coverage" not in plain.grouping("g").criteria
    for p, r in zip(plain.grouping("g").groups, ranged.grouping("g").groups, strict=True):
        assert p.metrics == r.metrics and p.count == r.count and p.dropped == r.dropped


# -- gates ------------------------------------------------------------------------------


def test_bare_out_of_range_gate_checks_every_feature_in_every_group():
    result = _audit(_table(), max_out_of_range=0.3)
    by_feature = {g.feature: g for g in result.gates}
    assert set(by_feature) == {"x", "y", "z", "c"}
    x = by_feature["x"]
    assert (x.status, x.value, x.group) == ("fail", 1 / 3, "a")
    assert (by_feature["y"].status, by_feature["y"].value) == ("pass", 0.25)
    assert (by_feature["z"].status, by_feature["z"].value) == ("pass", 0.2)
    assert (by_feature["c"].status, by_feature["c"].value) == ("pass", 0.2)
    assert result.verdict == "fail"
    assert "share of x values out of range in g = a: 0.3333" in x.sentence


def test_a_feature_gate_overrides_the_bare_gate():
    result = _audit(_table(), max_out_of_range={"*": 0.3, "x": 0.34})
    assert {g.feature: g.status for g in result.gates} == \
        {"x": "pass", "y": "pass", "z": "pass", "c": "pass"}
    only_y = _audit(_table(), max_out_of_range={"y": 0.2})
    assert [(g.feature, g.status) for g in only_y.gates] == [("y", "fail")]


def test_out_of_range_gate_leaves_out_small_groups():
    # min_group_size 5: a's x has 3 known values, too few, so only b's 1/6 counts;
    # c has 5 known values in both groups, 1/5 outside in each (the first group is named)
    result = _audit(_table(), min_group_size=5, max_out_of_range=0.19)
    status = {g.feature: (g.status, g.value, g.group) for g in result.gates}
    assert status["x"] == ("pass", 1 / 6, "b")
    assert status["c"] == ("fail", 1 / 5, "a")
    # min_group_size 6: a (5 rows) is small; b has 6 known x values but 5 known c values
    result = _audit(_table(), min_group_size=6, max_out_of_range=0.19)
    status = {g.feature: (g.status, g.value, g.group) for g in result.gates}
    assert status["x"] == ("pass", 1 / 6, "b")
    assert status["c"] == ("skipped", None, None)
    assert result.verdict == "pass"
    skipped = _audit(_table(), min_group_size=7, max_out_of_range=0.5)
    assert {g.status for g in skipped.gates} == {"skipped"}


def test_range_coverage_gates():
    assert _audit(_table(), max_gap={"range_coverage": 0.1}).verdict == "pass"
    assert _audit(_table(), max_gap={"range_coverage": 0.09}).verdict == "fail"
    assert _audit(_table(), min_ratio={"range_coverage": 0.83}).verdict == "pass"
    assert _audit(_table(), min_ratio={"range_coverage": 0.84}).verdict == "fail"


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "message"), [
    ({"x": {"min": 10, "max": 5}}, "audit(): ranges.x: min 10 > max 5"),
    ({"c": {"allowed": []}}, "audit(): ranges.c: allowed is empty"),
    ({"x": {"min": "low"}}, "audit(): ranges.x: min 'low' is not a number"),
    ({"x": {}}, "audit(): ranges.x: give min, max (or both), or allowed"),
    ({"x": {"min": 0, "maxx": 3}}, "audit(): ranges.x: unknown key 'maxx'; did you mean 'max'?"),
    ({"x": {"min": 0, "allowed": [1]}}, "audit(): ranges.x: give either min/max or allowed"),
    ({"x": {"max": float("nan")}}, "audit(): ranges.x: max nan is not a finite number"),
])
def test_invalid_ranges_name_the_key(spec, message):
    with pytest.raises(ConfigError) as err:
        _audit(_table(), ranges=spec)
    assert message in str(err.value)


def test_every_bad_range_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        _audit(_table(), ranges={"x": {"min": 3, "max": 1}, "c": {"allowed": []}})
    assert "ranges.x: min 3 > max 1" in str(err.value)
    assert "ranges.c: allowed is empty" in str(err.value)


@pytest.mark.parametrize(("text", "message"), [
    ("x=10:5", "--range x=10:5: min 10 > max 5"),
    ("x=a:5", "--range x=a:5: min 'a' is not a number"),
    ("x=0-5", "--range x=0-5: write FEATURE=MIN:MAX"),
    ("x=:", "--range x=:: give min, max"),
    ("=0:5", "--range =0:5: write FEATURE=MIN:MAX"),
])
def test_invalid_range_flags(text, message):
    with pytest.raises(UsageError) as err:
        parse_range(text)
    assert message in str(err.value)


def test_range_flag_bounds():
    assert parse_range("debt=:50000") == RangeSpec("debt", None, 50000)
    assert parse_range("x=-2.5:1e3") == RangeSpec("x", -2.5, 1000.0)
    assert parse_gate("0.05").feature is None
    assert parse_gate("income=0.05").feature == "income"
    with pytest.raises(UsageError):
        parse_gate("income=lots")


def test_a_range_on_a_column_that_is_not_there(tmp_path):
    pq.write_table(_table(), tmp_path / "rows.parquet")
    with pytest.raises(ConfigError) as err:
        _audit(str(tmp_path / "rows.parquet"), ranges={"xx": {"max": 1}})
    assert str(err.value) == (f"audit(): ranges.xx: no column 'xx' in {tmp_path / 'rows.parquet'}"
                              "; did you mean 'x'?")
    with pytest.raises(ConfigError, match=r"ranges\.zz: no column 'zz' in <table>"):
        _audit(_table(), ranges={"zz": {"max": 1}})


def test_bounds_on_a_text_column_and_text_on_a_number_column():
    with pytest.raises(ConfigError, match=r"ranges\.c: column 'c' in <table> holds text values"):
        _audit(_table(), ranges={"c": {"min": 0, "max": 1}})
    with pytest.raises(ConfigError, match=r"ranges\.y: allowed values 'one', 'two' cannot be "
                                          "compared with column 'y'"):
        _audit(_table(), ranges={"y": {"allowed": ["one", "two"]}})


def test_allowed_numbers_on_a_number_column():
    # y in {5, 6}: a rows 1 and 3 in, b rows 6..11 but 7 out; nulls missing
    result = _audit(_table(), ranges={"y": {"allowed": [5, 6]}})
    a, b = result.ranges.grouping("g").groups
    assert (a.features["y"].inside, a.features["y"].not_allowed, a.features["y"].missing) == \
        (2, 2, 1)
    assert (b.features["y"].inside, b.features["y"].not_allowed, b.features["y"].missing) == \
        (1, 4, 1)


def test_gate_problems():
    with pytest.raises(ConfigError, match="no range declared for 'xx'; did you mean 'x'"):
        _audit(_table(), max_out_of_range={"xx": 0.1})
    with pytest.raises(ConfigError, match=r"share 1\.5 must be a number in \[0, 1\]"):
        _audit(_table(), max_out_of_range=1.5)
    with pytest.raises(ConfigError, match="range_coverage needs ranges"):
        fairaudit.audit(_table(), label="label", prediction="pred", groups=["g"],
                        max_gap={"range_coverage": 0.1})
    with pytest.raises(ConfigError, match="no ranges are declared"):
        fairaudit.audit(_table(), label="label", prediction="pred", groups=["g"],
                        max_out_of_range=0.1)


# -- the trusted subset equals fairlearn on the rows filtered with pandas -------------------


def test_trusted_subset_equals_fairlearn_on_filtered_rows():
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    rng = np.random.default_rng(7)
    n = 5000
    df = pd.DataFrame({
        "race": rng.choice(["p", "q", "r"], n, p=[0.5, 0.3, 0.2]),
        "sex": rng.choice(["F", "M"], n),
        "income": np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(7.5, 0.8, n)),
        "age": rng.integers(16, 90, n),
        "job": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "y": rng.integers(0, 2, n),
        "p": rng.integers(0, 2, n),
    })
    df.loc[rng.random(n) < 0.03, "job"] = None
    ranges = {"income": {"min": 600, "max": 8000}, "age": {"min": 18, "max": 75},
              "job": {"allowed": ["a", "b", "c"]}}
    result = fairaudit.audit(df, label="y", prediction="p", groups=["race", "sex"],
                             ranges=ranges, min_group_size=1)

    inside = (df["income"].between(600, 8000) & df["age"].between(18, 75)
              & df["job"].isin(["a", "b", "c"]))
    kept = df[inside]
    metrics = {"tpr": true_positive_rate, "fpr": false_positive_rate,
               "selection_rate": selection_rate, "accuracy": accuracy_score,
               "precision": lambda y, p: precision_score(y, p, zero_division=np.nan)}
    for grouping, columns in (("race", ["race"]), ("sex", ["sex"]),
                              ("race&sex", ["race", "sex"])):
        sf = kept[columns] if len(columns) > 1 else kept[columns[0]]
        mf = MetricFrame(metrics=metrics, y_true=kept["y"], y_pred=kept["p"],
                         sensitive_features=sf)
        trusted = next(g for g in result.trusted if g.name == grouping)
        for grp in trusted.groups:
            key = tuple(grp.key.values()) if len(columns) > 1 else grp.key[columns[0]]
            for name in metrics:
                assert math.isclose(grp.metrics[name].value, mf.by_group.loc[key, name],
                                    abs_tol=1e-12), (grouping, key, name)
        crit = trusted.criteria
        assert math.isclose(crit["demographic_parity"].difference,
                            demographic_parity_difference(kept["y"], kept["p"],
                                                          sensitive_features=sf), abs_tol=1e-12)
        assert math.isclose(crit["equalized_odds"].difference,
                            equalized_odds_difference(kept["y"], kept["p"],
                                                      sensitive_features=sf), abs_tol=1e-12)
        # and the range counts per group equal pandas' counts
        ranged = result.ranges.grouping(grouping)
        for grp in ranged.groups:
            rows = df
            for col, value in grp.key.items():
                rows = rows[rows[col] == value]
            income = rows["income"]
            check = grp.features["income"]
            assert (check.below, check.above, check.missing) == (
                int((income < 600).sum()), int((income > 8000).sum()), int(income.isna().sum()))
            assert grp.features["job"].not_allowed == int(
                (rows["job"].notna() & ~rows["job"].isin(["a", "b", "c"])).sum())
            assert grp.trusted == int(inside[rows.index].sum())


# -- a property: counts equal an independent pandas computation on random data --------------


@st.composite
def _frames(draw):
    n = draw(st.integers(1, 60))
    values = st.one_of(st.none(), st.integers(-5, 5).map(float), st.just(NAN))
    xs = draw(st.lists(values, min_size=n, max_size=n))
    cs = draw(st.lists(st.sampled_from(["u", "v", "w", None]), min_size=n, max_size=n))
    gs = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    lo = draw(st.one_of(st.none(), st.integers(-5, 5)))
    hi = draw(st.one_of(st.none(), st.integers(-5, 5)))
    if lo is None and hi is None:
        hi = 0
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    allowed = draw(st.lists(st.sampled_from(["u", "v", "w"]), min_size=1, max_size=3,
                            unique=True))
    return gs, xs, cs, lo, hi, allowed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_counts_equal_pandas(frame):
    gs, xs, cs, lo, hi, allowed = frame
    n = len(gs)
    table = pa.table({"g": pa.array(gs), "x": pa.array(xs, pa.float64(), from_pandas=False),
                      "c": pa.array(cs, pa.string()), "p": pa.array([1] * n)})
    spec = {"min": lo, "max": hi}
    result = fairaudit.audit(table, prediction="p", groups=["g"], min_group_size=1,
                             ranges={"x": {k: v for k, v in spec.items() if v is not None},
                                     "c": {"allowed": allowed}})
    df = pd.DataFrame({"g": gs, "x": [NAN if v is None else v for v in xs], "c": cs})
    for grp in result.ranges.grouping("g").groups:
        rows = df[df["g"] == grp.label]
        x = rows["x"]
        below = (x < lo) if lo is not None else pd.Series(False, index=x.index)
        above = (x > hi) if hi is not None else pd.Series(False, index=x.index)
        missing = x.isna()
        check = grp.features["x"]
        assert (check.below, check.above, check.missing) == \
            (int(below.sum()), int(above.sum()), int(missing.sum()))
        assert check.inside == int((~below & ~above & ~missing).sum())
        c_missing = rows["c"].isna()
        c_out = ~c_missing & ~rows["c"].isin(allowed)
        assert (grp.features["c"].not_allowed, grp.features["c"].missing) == \
            (int(c_out.sum()), int(c_missing.sum()))
        outside = below | above | c_out
        inside_all = ~outside & ~missing & ~c_missing
        assert (grp.trusted, grp.outside, grp.unknown) == (
            int(inside_all.sum()), int(outside.sum()), len(rows) - int(inside_all.sum())
            - int(outside.sum()))


def test_range_counts_merge_like_every_other_count():
    from fairaudit.config import build
    from fairaudit.engine import count_batches, judge

    cfg = build({}, None, {"label": "label", "prediction": "pred", "groups": ["g"],
                           "min_group_size": 1,
                           "ranges": fairaudit.engine.config_from(
                               groups=["g"], prediction="pred", ranges=RANGES).ranges})
    table = _table()
    halves = [count_batches([[part]], ["<table>"], cfg.roles, cfg.ranges)[0]
              for part in (table.slice(0, 4).to_batches()[0], table.slice(4).to_batches()[0])]
    whole = count_batches([table.to_batches()], ["<table>"], cfg.roles, cfg.ranges)[0]
    merged = halves[0].merge(halves[1])
    assert merged.cell_names == whole.cell_names
    _, merged_cells = merged.project(["g"])
    _, whole_cells = whole.project(["g"])
    assert (merged_cells == whole_cells).all()
    _check_fixture(judge(merged, cfg))
