"""The range examples: the bank generator and config, and COMPAS with ranges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import fairaudit
from fairaudit.config import build, load_file
from fairaudit.reference import derive

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "examples" / "bank"
COMPAS = ROOT / "examples" / "compas"


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_generator_reproduces_the_committed_files(tmp_path):
    proc = _run([str(BANK / "generate.py"), "--out", str(tmp_path)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("bank.parquet", "train.parquet"):
        fresh = pq.read_table(tmp_path / name)
        committed = pq.read_table(BANK / name)
        assert fresh.schema == committed.schema, name
        assert fresh.equals(committed), name
    assert pq.read_metadata(BANK / "bank.parquet").num_rows == 20_000


def test_bank_ranges_are_what_derive_gives_on_the_reference_set():
    declared = load_file(str(BANK / "fairaudit.toml"))["ranges"]
    derived = derive([str(BANK / "train.parquet")], list(declared))
    assert {s.feature: s.as_dict() for s in derived.specs} == {
        k: (v if "allowed" in v else {"min": v.get("min"), "max": v.get("max")})
        for k, v in declared.items()}


def test_bank_config_fails_on_the_youngest_group(tmp_path):
    proc = _run(["-m", "fairaudit", "run", "--json", str(tmp_path / "audit.json")], cwd=BANK)
    assert proc.returncode == 1, proc.stderr
    failed = [line for line in proc.stderr.splitlines() if "gate fail" in line]
    out_of_range = [line for line in failed if "out of range" in line]
    # only the 18-25 band (alone, or with either sex) is out of range too often
    assert out_of_range and all("18-25" in line for line in out_of_range)
    assert any("range coverage gap across age_band" in line for line in failed)
    assert not any("across sex:" in line for line in failed)
    data = json.loads((tmp_path / "audit.json").read_text())
    assert data["verdict"] == "fail"


def test_bank_figures_equal_pandas():
    cfg = build(load_file(str(BANK / "fairaudit.toml")), str(BANK / "fairaudit.toml"),
                {"inputs": [str(BANK / "bank.parquet")]})
    result = fairaudit.audit(config=cfg)
    df = pd.read_parquet(BANK / "bank.parquet")
    r = {s.feature: s for s in cfg.ranges}
    inside = pd.Series(True, index=df.index)
    outside = pd.Series(False, index=df.index)
    for name in ("income", "debt", "age"):
        col = df[name]
        out = (col < r[name].min) | (col > r[name].max)
        inside &= col.notna() & ~out
        outside |= out
    job_out = df["employment"].notna() & ~df["employment"].isin(r["employment"].allowed)
    inside &= df["employment"].notna() & ~job_out
    outside |= job_out
    for grp in result.ranges.grouping("age_band").groups:
        rows = df["age_band"] == grp.key["age_band"]
        assert grp.rows == int(rows.sum())
        assert grp.trusted == int((inside & rows).sum())
        assert grp.coverage.value == pytest.approx(
            (inside & rows).sum() / ((inside | outside) & rows).sum(), abs=1e-15)
        income = df.loc[rows, "income"]
        assert grp.features["income"].below == int((income < r["income"].min).sum())
        assert grp.features["income"].missing == int(income.isna().sum())
    # the trusted figures: selection rates of the rows inside every range, label known
    kept = df[inside & df["good_standing"].notna()]
    trusted = next(g for g in result.trusted if g.name == "age_band")
    for grp in trusted.groups:
        rows = kept[kept["age_band"] == grp.key["age_band"]]
        assert grp.count == len(rows)
        assert grp.metrics["selection_rate"].value == pytest.approx(rows["approved"].mean(),
                                                                    abs=1e-12)
    young = next(g for g in result.ranges.grouping("age_band").groups if g.label == "18-25")
    others = [g for g in result.ranges.grouping("age_band").groups if g.label != "18-25"]
    assert all(young.coverage.value < g.coverage.value - 0.3 for g in others)


def test_compas_ranges_config():
    proc = _run(["-m", "fairaudit", "run", "--config", str(COMPAS / "ranges.toml"), "--json",
                 "-"], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    df = pd.read_parquet(COMPAS / "compas.parquet")
    race = data["ranges"]["groupings"][0]
    assert race["name"] == "race"
    for grp in race["groups"]:
        rows = df[df["race"] == grp["key"]["race"]]
        age, priors = grp["features"]["age"], grp["features"]["priors_count"]
        assert (age["below"], age["above"]) == (int((rows["age"] < 19).sum()),
                                                int((rows["age"] > 69).sum()))
        assert priors["above"] == int((rows["priors_count"] > 26).sum())
        inside = rows["age"].between(19, 69) & rows["priors_count"].between(0, 26)
        assert grp["trusted"] == int(inside.sum())
    statuses = {g["status"] for g in data["gates"]}
    assert statuses == {"pass"}
