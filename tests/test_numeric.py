"""Numeric outcomes (--task regression, --measure): means per group from sums of values.

Every figure is checked against an independent reference computed on the rows:
scikit-learn's mean_absolute_error and mean_squared_error, pandas groupby means,
scipy.stats' t interval, math.fsum; on COMPAS, on random data (hypothesis) and
on a fixture small enough to compute by hand.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_squared_error

import fairaudit
from fairaudit import engine, readers
from fairaudit.counts import Accumulator
from fairaudit.errors import ConfigError, InputError
from fairaudit.history import History
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, assert_cannot_audit, invoke, read_report, schema, undocumented

REGRESSION = ("mean_prediction", "mean_label", "mean_error", "mae", "rmse")


def _figures(result: fairaudit.AuditResult, grouping: int = 0) -> dict[str, dict[str, Any]]:
    """Per group label: metric -> (value, ci, numerator, denominator)."""
    f = result.groupings[grouping].figures
    return {label: {m: (f.value[i][j], f.ci[i][j], f.numerator[i][j], f.denominator[i][j])
                    for j, m in enumerate(f.metrics)} for i, label in enumerate(f.labels)}


def _t_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    lo, hi = scipy.stats.t.interval(confidence, len(x) - 1, loc=np.mean(x),
                                    scale=scipy.stats.sem(x))
    return float(lo), float(hi)


def _compas() -> pd.DataFrame:
    """COMPAS with numeric columns: priors predicted from the decile score (a toy regression)."""
    df = pd.read_parquet(COMPAS)
    df["priors_predicted"] = 0.9 * df["decile_score"] - 0.5
    return df


# -- a fixture computed by hand ------------------------------------------------------------


def test_a_hand_computed_regression():
    df = pd.DataFrame({"g": ["a", "a", "a", "b", "b"],
                       "y": [1.0, 2.0, 3.0, 0.0, 4.0],
                       "p": [2.0, 2.0, 5.0, 1.0, 1.0]})
    r = fairaudit.audit(df, groups=["g"], label="y", prediction="p", task="regression",
                        min_group_size=1, bootstrap=0)
    got = _figures(r)
    # a: errors 1, 0, 2; b: errors 1, -3
    assert got["a"]["mean_prediction"][0] == pytest.approx(3.0)
    assert got["a"]["mean_label"][0] == pytest.approx(2.0)
    assert got["a"]["mean_error"][0] == pytest.approx(1.0)
    assert got["a"]["mae"][0] == pytest.approx(1.0)
    assert got["a"]["rmse"][0] == pytest.approx(math.sqrt(5 / 3))
    assert got["b"]["mean_error"][0] == pytest.approx(-1.0)
    assert got["b"]["mae"][0] == pytest.approx(2.0)
    assert got["b"]["rmse"][0] == pytest.approx(math.sqrt(5.0))
    # the t interval of a's errors (mean 1, s = 1, n = 3): 1 +- t(0.975, 2) / sqrt(3)
    half = 4.302652729911275 / math.sqrt(3)
    assert got["a"]["mean_error"][1] == pytest.approx([1 - half, 1 + half])
    assert got["a"]["mae"][2:] == (3, 3)  # numerator and denominator: the rows it is over
    gap = r.groupings[0].gaps["mae"]
    assert gap.difference == pytest.approx(1.0) and gap.ratio == pytest.approx(0.5)


def test_a_hand_computed_measure_skips_empty_nan_and_infinite_values():
    df = pd.DataFrame({"env": ["seen", "seen", "seen", "unseen", "unseen", "unseen"],
                       "success": [1.0, 0.0, np.nan, 0.0, np.inf, 1.0]})
    r = fairaudit.audit(df, groups=["env"], measures=["success"], min_group_size=1,
                        bootstrap=0)
    got = _figures(r)
    assert got["seen"]["mean_success"][0] == pytest.approx(0.5)
    assert got["unseen"]["mean_success"][0] == pytest.approx(0.5)
    f = r.groupings[0].figures
    assert f.drop_reasons == ("success:skipped",)
    assert f.dropped == [[1], [1]]
    assert f.counts == [3, 3]  # the group sizes count every row
    assert r.provenance.rows_used == 6


# -- COMPAS ------------------------------------------------------------------------------


def test_regression_on_compas_equals_scikit_learn_and_pandas():
    df = _compas()
    r = fairaudit.audit(df, groups=["race", "sex"], label="priors_count",
                        prediction="priors_predicted", task="regression", bootstrap=0)
    for grouping, column in ((0, "race"), (1, "sex")):
        got = _figures(r, grouping)
        for value, rows in df.groupby(column):
            y, p = rows["priors_count"], rows["priors_predicted"]
            g = got[str(value)]
            assert g["mae"][0] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
            assert g["rmse"][0] == pytest.approx(
                math.sqrt(mean_squared_error(y, p)), rel=1e-12)
            assert g["mean_prediction"][0] == pytest.approx(p.mean(), rel=1e-12)
            assert g["mean_label"][0] == pytest.approx(y.mean(), rel=1e-12)
            assert g["mean_error"][0] == pytest.approx((p - y).mean(), rel=1e-12)
            if len(rows) >= 2:
                assert g["mean_error"][1] == pytest.approx(_t_interval((p - y).to_numpy()),
                                                           rel=1e-9)
                assert g["mae"][1] == pytest.approx(_t_interval((p - y).abs().to_numpy()),
                                                    rel=1e-9)
                lo, hi = _t_interval(((p - y) ** 2).to_numpy())
                assert g["rmse"][1] == pytest.approx([math.sqrt(max(lo, 0)), math.sqrt(hi)],
                                                     rel=1e-9)


def test_measures_on_compas_equal_pandas_groupby_means():
    df = _compas()
    r = fairaudit.audit(df, groups=["race"], measures=["age", "decile_score"], bootstrap=0)
    got = _figures(r)
    means = df.groupby("race")[["age", "decile_score"]].mean()
    for race, row in means.iterrows():
        assert got[race]["mean_age"][0] == pytest.approx(row["age"], rel=1e-12)
        assert got[race]["mean_decile_score"][0] == pytest.approx(row["decile_score"],
                                                                  rel=1e-12)
        x = df.loc[df.race == race, "age"].to_numpy(dtype=float)
        assert got[race]["mean_age"][1] == pytest.approx(_t_interval(x), rel=1e-9)


def test_a_measure_beside_binary_decisions_on_compas():
    df = _compas()
    r = fairaudit.audit(df, groups=["race"], label="two_year_recid", prediction="prediction",
                        measures=["decile_score"], bootstrap=0)
    names = r.groupings[0].figures.metrics
    assert "fpr" in names and "mean_decile_score" in names
    got = _figures(r)
    for race, x in df.groupby("race")["decile_score"]:
        assert got[race]["mean_decile_score"][0] == pytest.approx(x.mean(), rel=1e-12)


# -- random data -------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 400),
       scale=st.sampled_from([1e-3, 1.0, 1e4]), missing=st.floats(0.0, 0.3))
def test_random_regressions_equal_scikit_learn_and_scipy(seed, n, scale, missing):
    rng = np.random.default_rng(seed)
    g = rng.choice(["x", "y", "z"], n)
    y = rng.normal(3.0, 2.0, n) * scale
    p = y + rng.standard_t(4, n) * scale
    m = rng.random(n) * scale
    m[rng.random(n) < missing] = np.nan
    df = pd.DataFrame({"g": g, "y": y, "p": p, "m": m})
    r = fairaudit.audit(df, groups=["g"], label="y", prediction="p", task="regression",
                        measures=["m"], min_group_size=1, bootstrap=0)
    got = _figures(r)
    for value, rows in df.groupby("g"):
        fig = got[value]
        yy, pp = rows["y"].to_numpy(), rows["p"].to_numpy()
        assert fig["mae"][0] == pytest.approx(mean_absolute_error(yy, pp), rel=1e-9)
        assert fig["rmse"][0] == pytest.approx(math.sqrt(mean_squared_error(yy, pp)), rel=1e-9)
        assert fig["mean_error"][0] == pytest.approx(np.mean(pp - yy), rel=1e-9, abs=1e-12 * scale)
        mm = rows["m"].dropna().to_numpy()
        if len(mm):
            assert fig["mean_m"][0] == pytest.approx(rows["m"].mean(), rel=1e-9)
        assert fig["mean_m"][3] == len(mm)
        if len(yy) >= 2:
            assert fig["mean_prediction"][1] == pytest.approx(_t_interval(pp), rel=1e-6,
                                                              abs=1e-9 * scale)
        else:
            assert fig["mean_prediction"][1] is None  # one value has no interval


# -- sums: exact enough in any order -----------------------------------------------------


def test_sums_agree_across_batch_orders_and_partitions_and_with_fsum():
    rng = np.random.default_rng(7)
    n = 200_000
    x = rng.lognormal(0.0, 3.0, n) * rng.choice([-1.0, 1.0], n)  # wide range, both signs
    g = rng.choice(["a", "b"], n)
    table = pa.table({"g": g, "x": x})
    config = engine.config_from(groups=["g"], measures=["x"], bootstrap=0)

    def counted(batches: list[pa.RecordBatch]) -> np.ndarray:
        t, _ = engine.count_batches([batches], ["<t>"], config.roles, (),
                                    fairaudit.kinds.kinds_for(config))
        keys, _, sums = t.projected(["g"])
        return sums[np.argsort([k[0] for k in keys])]

    forward = table.to_batches(max_chunksize=7_919)
    backward = list(reversed(table.to_batches(max_chunksize=50_000)))
    one, two = counted(forward), counted(backward)
    # two partitions counted apart, then merged
    a, b = table.slice(0, 123_457), table.slice(123_457)
    ta, _ = engine.count_batches([a.to_batches()], ["a"], config.roles, (),
                                 fairaudit.kinds.kinds_for(config))
    tb, _ = engine.count_batches([b.to_batches()], ["b"], config.roles, (),
                                 fairaudit.kinds.kinds_for(config))
    keys, _, merged = tb.merge(ta).projected(["g"])
    merged = merged[np.argsort([k[0] for k in keys])]
    for level, row in enumerate(("a", "b")):
        rows = x[g == row]
        exact = np.array([math.fsum(rows), math.fsum(rows * rows)])
        for got in (one[level], two[level], merged[level]):
            scale = np.array([math.fsum(np.abs(rows)), exact[1]])
            assert np.all(np.abs(got - exact) <= 1e-12 * scale), (got, exact)
    np.testing.assert_allclose(one, two, rtol=1e-12)
    np.testing.assert_allclose(one, merged, rtol=1e-12)


def test_merging_many_small_tables_keeps_the_sum_compensated():
    # 1 + 1e-16 * 10,000 times: plain float64 addition loses every small part
    acc = Accumulator(("g",), ("n",), ("s",))
    groups = [pa.array(["a"])]
    acc.add(groups, np.zeros(1, dtype=np.int64), [(np.zeros(1, dtype=np.int64), 0,
                                                  np.array([1.0]))])
    for _ in range(10_000):
        other = Accumulator(("g",), ("n",), ("s",))
        other.add(groups, np.zeros(1, dtype=np.int64),
                  [(np.zeros(1, dtype=np.int64), 0, np.array([1e-16]))])
        acc.add_table(other.table())
    total = acc.table()
    assert total.cells.tolist() == [[10_001]]
    assert total.sum_cells[0, 0] == math.fsum([1.0] + [1e-16] * 10_000)
    assert total.sum_cells[0, 0] != 1.0


def test_projection_carries_the_sums_of_every_intersection_group():
    df = _compas()
    r_table = engine.count(df, engine.config_from(groups=["race", "sex"],
                                                  measures=["age"], bootstrap=0)).table
    keys, _cells, sums = r_table.projected(["sex"])
    by = df.groupby("sex")["age"]
    for key, row in zip(keys, sums, strict=True):
        ages = by.get_group(key[0]).to_numpy(dtype=float)
        assert row.tolist() == [math.fsum(ages), math.fsum(ages * ages)]


# -- the history keeps the sums ----------------------------------------------------------


def test_a_history_stores_and_pools_the_sums_unchanged(tmp_path):
    df = _compas()
    config = engine.config_from(groups=["race"], label="priors_count",
                                prediction="priors_predicted", task="regression",
                                measures=["age"], bootstrap=0)
    counted = engine.count(df, config)
    result = engine.judge(counted.table, config, counted.files)
    with History.open(tmp_path / "h.sqlite", create=True) as h:
        first = h.record(result, counted.table, config, as_of="2026-01-01").run_id
        second = h.record(result, counted.table, config, as_of="2026-01-02").run_id
        back = h.table(first)
        assert back.sum_names == counted.table.sum_names
        assert back.sum_cells.tolist() == counted.table.sum_cells.tolist()  # bit for bit
        assert back.cells.tolist() == counted.table.cells.tolist()
        from fairaudit.history.series import pool_table
        runs = [r for r in h.runs() if r.run_id in (first, second)]
        pooled = pool_table(h, runs)
    np.testing.assert_array_equal(pooled.sum_cells, 2 * counted.table.sum_cells)
    again = engine.judge(pooled, config, ())
    assert _figures(again)["African-American"]["mae"][0] == pytest.approx(
        _figures(result)["African-American"]["mae"][0], rel=1e-12)


# -- gates, reports and the schema -------------------------------------------------------


def _reg_file(tmp_path, n: int = 2_000, seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    env = rng.choice(["seen", "unseen"], n)
    success = (rng.random(n) < np.where(env == "seen", 0.8, 0.6)).astype(float)
    y = rng.normal(50, 10, n)
    p = y + rng.normal(np.where(env == "seen", 0.0, 2.0), 3.0, n)
    path = tmp_path / "runs.parquet"
    pq.write_table(pa.table({"env": env, "success": success, "y": y, "p": p}), path)
    return str(path)


def test_gates_name_the_numeric_metrics_and_fail_on_them(tmp_path):
    path = _reg_file(tmp_path)
    out = tmp_path / "audit.json"
    result = invoke("run", path, "--group", "env", "--measure", "success",
                    "--min-ratio", "mean_success=0.9", "--max-gap", "mean_error=5",
                    "--json", out, "--bootstrap", "200")
    assert result.exit_code == 1, result.output
    doc = read_report(out)
    gates = {(g["criterion"], g["kind"]): g["status"] for g in doc["gates"]}
    assert gates[("mean_success", "min_ratio")] == "fail"  # 0.6 / 0.8 = 0.75 < 0.9
    # mean_error needs --task regression: this audit does not compute it
    assert gates[("mean_error", "max_gap")] == "skipped"
    df = pd.read_parquet(path)
    means = df.groupby("env")["success"].mean()
    g = doc["groupings"][0]
    assert {x["label"]: x["metrics"]["mean_success"]["value"] for x in g["groups"]} == \
        pytest.approx(means.to_dict(), rel=1e-12)
    criterion = g["criteria"]["mean_success"]
    assert criterion["ratio"] == pytest.approx(means.min() / means.max(), rel=1e-12)
    assert undocumented(doc, schema(), "$") == []


def test_a_regression_reaches_every_reporter(tmp_path):
    path = _reg_file(tmp_path)
    out, page, md = tmp_path / "a.json", tmp_path / "a.html", tmp_path / "a.md"
    result = invoke("run", path, "--group", "env", "--task", "regression", "--label", "y",
                    "--prediction", "p", "--max-gap", "mae=0.3", "--max-gap", "mean_error=10",
                    "--json", out, "--html", page, "--markdown", md, "--bootstrap", "200")
    assert result.exit_code == 1, result.output  # unseen environments' bias is 2
    doc = read_report(out)
    assert undocumented(doc, schema(), "$") == []
    group = doc["groupings"][0]["groups"][0]
    assert set(REGRESSION) <= set(group["metrics"])
    text = result.stdout
    for title in ("Mean prediction", "Mean error", "MAE", "RMSE"):
        assert title in text
        assert title in page.read_text(encoding="utf-8")
    assert "mae" in md.read_text(encoding="utf-8").lower()
    gaps = {(g["criterion"], g["status"]) for g in doc["gates"]}
    assert ("mean_error", "pass") in gaps  # a gap above 1 is a fine bound for a mean


def test_a_gap_bootstrap_interval_matches_a_bootstrap_of_the_rows(tmp_path):
    rng = np.random.default_rng(11)
    n = 3_000
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x = rng.gamma(2.0, np.where(g == "c", 1.3, 1.0))
    df = pd.DataFrame({"g": g, "x": x})
    config = engine.config_from(groups=["g"], measures=["x"], bootstrap=2_000)
    counted = engine.count(df, config)
    from fairaudit import stats
    from fairaudit.kinds import kinds_for

    layout = engine._Layout.of(kinds_for(config))
    keys, cells, sums = counted.table.projected(["g"])
    conf = engine._side_by_side(cells, sums)[:, layout.metric_columns()]
    metrics = layout.catalog.metrics
    boot = stats.bootstrap(conf, metrics, np.ones((3, 1), bool), 0, [], 2_000, 0.95,
                           [5, 6], layout.parts())
    # the reference: every group's rows drawn again with replacement
    groups = [x[g == k[0]] for k in keys]
    gaps = []
    for _ in range(2_000):
        means = [rng.choice(v, len(v)).mean() for v in groups]
        gaps.append(max(means) - min(means))
    lo, hi = np.quantile(gaps, [0.025, 0.975])
    got_lo, got_hi = boot.difference_percentile[0]
    width = hi - lo
    assert abs(got_lo - lo) < 0.1 * width and abs(got_hi - hi) < 0.1 * width


# -- bad input ---------------------------------------------------------------------------


def test_text_in_a_measure_column_is_one_line_naming_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("env,wer\nquiet,0.1\nquiet,0.2\nnoisy,high\n", encoding="utf-8")
    result = invoke("run", path, "--group", "env", "--measure", "wer")
    assert_cannot_audit(result, str(path), "row 3", "'wer'", "'high'", "not a number")


def test_a_missing_measure_column_and_bad_settings_are_refused(tmp_path):
    path = _reg_file(tmp_path)
    assert_cannot_audit(invoke("run", path, "--group", "env", "--measure", "wer"), "wer")
    assert_cannot_audit(invoke("run", path, "--group", "env", "--task", "regression",
                               "--label", "y"), "--task regression needs")
    assert_cannot_audit(invoke("run", path, "--group", "env", "--task", "ordinal",
                               "--label", "y", "--prediction", "p"), "task 'ordinal'")
    assert_cannot_audit(invoke("run", path, "--group", "env", "--measure", "success",
                               "--min-ratio", "mean_wer=0.9"), "no measure 'wer'")
    assert_cannot_audit(invoke("run", path, "--group", "env", "--measure", "env"),
                        "cannot be both a group")


def test_the_api_is_as_strict_as_the_command_line():
    df = pd.DataFrame({"g": ["a", "b"], "m": ["1", "x"]})
    with pytest.raises(InputError, match="row 2: measure column 'm' holds 'x'"):
        fairaudit.audit(df, groups=["g"], measures=["m"])
    with pytest.raises(ConfigError, match="--task regression needs"):
        fairaudit.audit(df, groups=["g"], task="regression", prediction="m")
    with pytest.raises(fairaudit.UsageError, match="measures= must be a list"):
        fairaudit.audit(df, groups=["g"], measures="m")


def test_the_config_file_takes_task_and_measures(tmp_path):
    path = _reg_file(tmp_path)
    (tmp_path / "fairaudit.toml").write_text(
        'groups = ["env"]\nmeasures = ["success"]\n[gates.min_ratio]\nmean_success = 0.5\n',
        encoding="utf-8")
    out = tmp_path / "a.json"
    result = invoke("run", path, "--config", tmp_path / "fairaudit.toml", "--json", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["provenance"]["config"]["measures"] == ["success"]
    assert to_dict  # the JSON reporter is the one the API uses too


def test_many_groups_and_threads_give_pandas_sums(tmp_path):
    # 20,000 store levels: the accumulator's sparse path, over row groups on two threads
    rng = np.random.default_rng(5)
    n = 120_000
    df = pd.DataFrame({"store": rng.integers(0, 20_000, n).astype(str),
                       "x": rng.normal(5.0, 3.0, n)})
    path = tmp_path / "many.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=15_000)
    config = engine.config_from(groups=["store"], measures=["x"], bootstrap=0,
                                min_group_size=1)
    files = readers.resolve([str(path)])
    table, _ = engine.count_files(files, config.roles, threads=2,
                                  kinds=fairaudit.kinds.kinds_for(config))
    keys, cells, sums = table.projected(["store"])
    want = df.groupby("store")["x"].agg(["sum", "count"])
    got = pd.DataFrame(sums[:, :1], index=[k[0] for k in keys], columns=["sum"])
    assert cells[:, table.cell_names.index("x:n")].tolist() == \
        want.loc[got.index, "count"].tolist()
    np.testing.assert_allclose(got["sum"], want.loc[got.index, "sum"], rtol=1e-12, atol=1e-12)


def test_a_measure_beside_a_shortlist_and_in_the_history_export(tmp_path):
    rng = np.random.default_rng(9)
    n = 3_000
    df = pd.DataFrame({"dialect": rng.choice(["a", "b"], n),
                       "rank": rng.integers(1, 6, n).astype(float),
                       "latency": rng.gamma(2.0, 0.1, n)})
    config = engine.config_from(groups=["dialect"], rank="rank", measures=["latency"],
                                bootstrap=0)
    counted = engine.count(df, config)
    result = engine.judge(counted.table, config, counted.files)
    got = _figures(result)
    for value, rows in df.groupby("dialect"):
        assert got[value]["top_1_accuracy"][0] == pytest.approx((rows["rank"] == 1).mean())
        assert got[value]["mean_latency"][0] == pytest.approx(rows["latency"].mean(),
                                                              rel=1e-12)
    with History.open(tmp_path / "h.db", create=True) as h:
        h.record(result, counted.table, config, as_of="2026-02-01")
    out = tmp_path / "export"
    assert invoke("history", tmp_path / "h.db", "--export", "parquet", out).exit_code == 0
    counts = pd.read_parquet(out / "counts.parquet")
    by = counts.set_index("group")
    assert by.loc["a", "latency:sum"] == pytest.approx(
        df.loc[df.dialect == "a", "latency"].sum(), rel=1e-12)


def test_a_count_table_keeps_its_sums_when_sent_to_another_process():
    import pickle

    from fairaudit.counts import CountTable

    table = CountTable(("g",), ("rows",), (("a", "b"),), np.array([[0], [1]]),
                       np.array([[3], [4]]), ("v:sum",), np.array([[0.1 + 0.2], [1e-300]]))
    back = pickle.loads(pickle.dumps(table))
    assert back.sum_names == ("v:sum",)
    assert back.sums.tobytes() == table.sums.tobytes()  # bit for bit
    assert (back.cells == table.cells).all()


def test_regression_on_compas_equals_fairlearn_metricframe_by_group():
    from fairlearn.metrics import MetricFrame

    df = _compas()
    r = fairaudit.audit(df, groups=["race", "sex"], label="priors_count",
                        prediction="priors_predicted", task="regression", bootstrap=0)
    frame = MetricFrame(
        metrics={"mae": mean_absolute_error,
                 "rmse": lambda y, p: math.sqrt(mean_squared_error(y, p)),
                 "mean_error": lambda y, p: float(np.mean(np.asarray(p) - np.asarray(y)))},
        y_true=df["priors_count"], y_pred=df["priors_predicted"],
        sensitive_features=df[["race", "sex"]])
    got = _figures(r, [g.name for g in r.groupings].index("race&sex"))
    compared = 0
    for (race, sex), row in frame.by_group.iterrows():
        g = got[f"{race} & {sex}"]
        for name in ("mae", "rmse", "mean_error"):
            assert g[name][0] == pytest.approx(row[name], rel=1e-12, abs=1e-12), (race, sex)
            compared += 1
    assert compared == 3 * len(frame.by_group)


@pytest.mark.parametrize(("column", "role"), [("y", "label"), ("p", "prediction"),
                                              ("m", "measure")])
def test_a_value_whose_powers_would_overflow_is_refused_naming_the_row(tmp_path, column, role):
    # 1e70 is the largest magnitude kept: its error's fourth power and their sums fit
    df = pd.DataFrame({"g": ["a", "b", "a"], "y": [1.0, -1e70, 3.0], "p": [1e70, 2.0, 3.0],
                       "m": [0.5, 1e70, 0.1]})
    ok = tmp_path / "ok.parquet"
    df.to_parquet(ok)
    result = invoke("run", ok, "-g", "g", "--task", "regression", "--label", "y",
                    "--prediction", "p", "--measure", "m", "--min-group-size", "1")
    assert result.exit_code == 0, result.output
    df.loc[2, column] = -2.5e71
    bad = tmp_path / "bad.parquet"
    df.to_parquet(bad)
    assert_cannot_audit(
        invoke("run", bad, "-g", "g", "--task", "regression", "--label", "y",
               "--prediction", "p", "--measure", "m", "--min-group-size", "1"),
        f"{bad}: row 3: {role} column '{column}' holds -2.5e+71, beyond +-1e+70")
