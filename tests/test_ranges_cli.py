"""Ranges from the command line and config files: exit codes, messages, JSON, derive."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import fairaudit
from fairaudit.cli import app
from fairaudit.config import build, load_file
from fairaudit.rangespec import parse_range
from fairaudit.reference import derive

ROOT = Path(__file__).resolve().parent.parent


def _invoke(args, cwd=None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(app, args)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, args)
    finally:
        os.chdir(old)


@pytest.fixture
def rows(tmp_path):
    """Forty rows: income 0..39 (one null), employment a/b/c, groups F (even) and M (odd)."""
    n = 40
    income = [float(i) for i in range(n)]
    income[5] = None
    table = pa.table({
        "sex": ["F" if i % 2 == 0 else "M" for i in range(n)],
        "income": pa.array(income, pa.float64()),
        "employment": [("a", "b", "c")[i % 3] for i in range(n)],
        "y": [i % 2 for i in range(n)],
        "p": [(i // 2) % 2 for i in range(n)],
    })
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path)
    return path


def _wilson(k, n, z=1.959963984540054):
    """The Wilson score interval by its textbook formula (z for 95%)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _write_config(tmp_path, ranges_text, gates_text=""):
    (tmp_path / "fairaudit.toml").write_text(
        'inputs = ["rows.parquet"]\nlabel = "y"\nprediction = "p"\ngroups = ["sex"]\n'
        "min_group_size = 1\n\n[ranges]\n" + ranges_text + "\n" + gates_text)


@pytest.mark.parametrize(("ranges_text", "message"), [
    ("income = { min = 10, max = 5 }", "fairaudit.toml: ranges.income: min 10 > max 5"),
    ("employment = { allowed = [] }", "fairaudit.toml: ranges.employment: allowed is empty; "
                                      "list at least one value"),
    ('income = { min = "ten" }', "fairaudit.toml: ranges.income: min 'ten' is not a number"),
    ("incme = { max = 5 }", "fairaudit.toml: ranges.incme: no column 'incme' in rows.parquet; "
                            "did you mean 'income'?"),
    ("employment = { min = 0 }", "fairaudit.toml: ranges.employment: column 'employment' in "
                                 "rows.parquet holds text values; min/max needs numbers"),
    ('income = { allowed = ["x"] }', "fairaudit.toml: ranges.income: allowed values 'x' cannot "
                                     "be compared with column 'income'"),
    ("income = { mn = 0 }", "fairaudit.toml: ranges.income: unknown key 'mn'; "
                            "did you mean 'min'?"),
    ("income = 5", "fairaudit.toml: ranges.income: write { min = ..., max = ... }"),
])
def test_bad_ranges_in_the_config_exit_2_naming_the_key(rows, tmp_path, ranges_text, message):
    _write_config(tmp_path, ranges_text)
    result = _invoke(["run"], cwd=tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("flags", "message"), [
    (["--range", "income=9:1"], "--range income=9:1: min 9 > max 1"),
    (["--range", "income=x:1"], "--range income=x:1: min 'x' is not a number"),
    (["--range", "income"], "--range income: write FEATURE=MIN:MAX"),
    (["--max-out-of-range", "debt=0.1"], "--max-out-of-range debt=0.1: no ranges are declared"),
    (["--range", "income=0:", "--max-out-of-range", "incom=0.1"],
     "--max-out-of-range incom=0.1: no range declared for 'incom'; did you mean 'income'?"),
    (["--max-out-of-range", "many"], "--max-out-of-range many: 'many' is not a number"),
    (["--max-gap", "range_coverage=0.1", "--range", "income=0:"], None),
])
def test_bad_range_flags_exit_2(rows, tmp_path, flags, message):
    args = ["run", str(rows), "--label", "y", "--prediction", "p", "--group", "sex", *flags]
    result = _invoke(args)
    if message is None:  # the control: a good flag set runs
        assert result.exit_code in (0, 1), result.output
        return
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_range_coverage_gate_without_ranges_exits_2(rows):
    result = _invoke(["run", str(rows), "--label", "y", "--prediction", "p", "--group", "sex",
                      "--max-gap", "range_coverage=0.1"])
    assert result.exit_code == 2
    assert "range_coverage needs ranges" in result.stderr


def test_flags_replace_the_file_range_per_feature(rows, tmp_path):
    _write_config(tmp_path, 'income = { min = 0, max = 9 }\nemployment = { allowed = ["a"] }')
    cfg = build(load_file(str(tmp_path / "fairaudit.toml")), "fairaudit.toml",
                {"ranges": [parse_range("income=0:19")]})
    assert [(r.feature, r.min, r.max, r.allowed) for r in cfg.ranges] == \
        [("income", 0, 19, None), ("employment", None, None, ("a",))]
    assert cfg.sources["ranges.income"] == "command line"
    assert cfg.sources["ranges.employment"] == "fairaudit.toml"
    assert cfg.as_dict()["ranges"] == {"income": {"min": 0, "max": 19},
                                       "employment": {"allowed": ["a"]}}


def test_gates_from_the_config_file_and_exit_codes(rows, tmp_path):
    # income 0..39 with 5 missing; range [0, 19]: outside 20..39 = 20 of 39 known values.
    # F holds the even incomes 0..38: 10 of 20 above; M the odd ones but 5: 10 of 19 above.
    _write_config(tmp_path, "income = { min = 0, max = 19 }",
                  "[gates]\nmax_out_of_range = { income = 0.53 }\n")
    result = _invoke(["run", "--json", "out.json"], cwd=tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    (gate,) = data["gates"]
    assert gate["kind"] == "max_out_of_range" and gate["feature"] == "income"
    assert gate["group"] == "M" and gate["value"] == pytest.approx(10 / 19, abs=1e-15)
    assert gate["status"] == "pass"
    # the gate's interval: the largest lower and upper Wilson ends of the groups' shares
    # (M's 10/19 is above F's 10/20 at both ends)
    assert gate["ci"] == pytest.approx(list(_wilson(10, 19)), abs=1e-12)
    assert _wilson(10, 19)[0] > _wilson(10, 20)[0] and _wilson(10, 19)[1] > _wilson(10, 20)[1]
    result = _invoke(["run", "--max-out-of-range", "income=0.5"], cwd=tmp_path)
    assert result.exit_code == 1
    low, high = _wilson(10, 19)
    assert (f"share of income values out of range in sex = M: 0.5263 [{low:.4f}, {high:.4f}], "
            "must be at most 0.5") in result.stderr
    assert _invoke(["run", "--max-out-of-range", "0.5", "--exit-zero"],
                   cwd=tmp_path).exit_code == 0


def test_json_ranges_and_trusted_sections(rows, tmp_path):
    _write_config(tmp_path, 'income = { max = 19 }\nemployment = { allowed = ["a", "b"] }')
    result = _invoke(["run", "--json", "-"], cwd=tmp_path)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    specs = data["ranges"]["specs"]
    assert specs[0] == {"feature": "income", "kind": "numeric", "min": None, "max": 19,
                        "source": "./fairaudit.toml"}
    assert specs[1]["allowed"] == ["a", "b"]
    sex = data["ranges"]["groupings"][0]
    f = next(g for g in sex["groups"] if g["label"] == "F")
    # F: incomes 0, 2, ..., 38 (20 rows, 10 above 19); employment c at i = 2, 8, ..., 38
    assert f["features"]["income"]["above"] == 10
    above = f["features"]["income"]["above_share"]
    assert set(above) == {"value", "numerator", "denominator", "ci"}
    assert (above["value"], above["numerator"], above["denominator"]) == (0.5, 10, 20)
    assert above["ci"] == pytest.approx(list(_wilson(10, 20)), abs=1e-12)
    # missing income: row 5 of F's 20 rows is odd, so F misses none; M misses 1 of 20
    m = next(g for g in sex["groups"] if g["label"] == "M")
    assert f["features"]["income"]["missing_share"]["ci"] == [0.0, pytest.approx(
        _wilson(0, 20)[1], abs=1e-12)]
    assert m["features"]["income"]["missing_share"]["ci"] == pytest.approx(
        list(_wilson(1, 20)), abs=1e-12)
    assert f["features"]["employment"]["not_allowed"] == len(range(2, 40, 6))
    assert "range_coverage" in data["groupings"][0]["criteria"]
    assert [g["name"] for g in data["trusted"]] == ["sex"]
    trusted_rows = sum(g["count"] for g in data["trusted"][0]["groups"])
    assert trusted_rows == data["ranges"]["overall"]["trusted"]
    assert data["provenance"]["config"]["ranges"]["income"] == {"min": None, "max": 19}
    assert "ranges across sex" in result.stderr  # the terminal tables go to stderr here


def test_no_ranges_means_no_range_sections(rows):
    result = _invoke(["run", str(rows), "--label", "y", "--prediction", "p", "--group", "sex",
                      "--json", "-"])
    data = json.loads(result.stdout)
    assert "ranges" not in data and "trusted" not in data
    assert "ranges" not in data["provenance"]["config"]


# -- derive -------------------------------------------------------------------------------


def test_derive_writes_a_ranges_table_that_loads(rows, tmp_path):
    out = tmp_path / "ranges.toml"
    result = _invoke(["ranges", "derive", str(rows), "-c", "income", "-c", "employment",
                      "--quantiles", "0.1,0.9", "--min-frequency", "0.3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    # 39 known incomes 0..39 but 5: the 0.1 quantile is the ceil(3.9) = 4th smallest, 3;
    # the 0.9 quantile the ceil(35.1) = 36th smallest, 36. Employment: a, b, c make up
    # 14, 13 and 13 of 40 rows, each at least 0.3.
    assert "income = { min = 3.0, max = 36.0 }  # 39 known values, 1 missing" in text
    assert 'employment = { allowed = ["a", "b", "c"] }' in text
    specs = {s.feature: s for s in build(load_file(str(out)), str(out), {"groups": ["x"],
                                                                        "prediction": "p"}).ranges}
    assert (specs["income"].min, specs["income"].max) == (3.0, 36.0)
    high = _invoke(["ranges", "derive", str(rows), "-c", "employment", "--min-frequency",
                    "0.34"])
    assert high.exit_code == 0
    assert 'employment = { allowed = ["a"] }' in high.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["-c", "incme"], "no column 'incme'; did you mean 'income'?"),
    (["-c", "income", "--quantiles", "0.9,0.1"], "--quantiles '0.9,0.1': need 0 <= LOW < HIGH"),
    (["-c", "income", "--quantiles", "low"], "--quantiles 'low': write LOW,HIGH"),
    (["-c", "employment", "--min-frequency", "0.5"], "no value of column 'employment' makes "
                                                     "up --min-frequency 0.5"),
])
def test_derive_errors_exit_2(rows, args, message):
    result = _invoke(["ranges", "derive", str(rows), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_derive_round_trip_no_more_outside_than_the_quantiles_imply(tmp_path):
    rng = np.random.default_rng(11)
    n = 9_973
    df = pd.DataFrame({
        "g": rng.choice(["a", "b"], n),
        "income": np.round(rng.lognormal(7, 1, n), 2),
        "count": rng.poisson(2, n),  # many ties
        "kind": rng.choice(["x", "y", "z", "rare"], n, p=[0.5, 0.3, 0.197, 0.003]),
        "p": rng.integers(0, 2, n),
    })
    df.loc[rng.random(n) < 0.02, "income"] = np.nan
    path = tmp_path / "ref.parquet"
    df.to_parquet(path)
    for lo, hi in ((0.005, 0.995), (0.1, 0.8), (0.0, 1.0), (0.25, 0.26)):
        derived = derive([str(path)], ["income", "count", "kind"], (lo, hi), 0.01)
        cfg_text = 'prediction = "p"\ngroups = ["g"]\n' + derived.to_toml()
        (tmp_path / "fairaudit.toml").write_text(cfg_text)
        cfg = build(load_file(str(tmp_path / "fairaudit.toml")), "fairaudit.toml", {})
        result = fairaudit.audit(str(path), config=cfg)
        overall = result.ranges.overall.features
        for col in ("income", "count"):
            known = int(df[col].notna().sum())
            assert overall[col].below <= math.floor(lo * known)
            assert overall[col].above <= math.floor((1 - hi) * known + 1e-9)
        assert overall["kind"].not_allowed == int((df["kind"] == "rare").sum())


def test_subprocess_run_with_ranges(rows, tmp_path):
    _write_config(tmp_path, "income = { min = 0, max = 19 }", "[gates]\nmax_out_of_range = 0.1\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "fairaudit", "run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "fairaudit: gate fail: share of income values out of range in sex = M" in proc.stderr
