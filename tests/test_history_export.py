"""`fairaudit history PATH --export parquet DIR`: the tables, for BI tools, read back."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq

from fairaudit.history import History
from tests.cli_support import assert_cannot_audit, invoke
from tests.history_support import AUDIT_ARGS, write_days


def test_the_export_holds_every_run_and_the_counts_of_every_group(tmp_path):
    files = write_days(tmp_path / "data", 3)
    db = tmp_path / "h.db"
    for f in [*files, files[0]]:  # the first night twice: one run superseded
        invoke("run", f, *AUDIT_ARGS, "--history", db, "--as-of", f.stem)
    out = tmp_path / "export"
    result = invoke("history", db, "--export", "parquet", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "counts.parquet", "criteria.parquet", "gates.parquet", "inputs.parquet",
        "runs.parquet"]
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    assert list(runs.run_id) == [1, 4, 2, 3] and list(runs.superseded) == [
        True, False, False, False]
    assert runs.superseded_by.tolist()[0] == 4
    assert json.loads(runs.config[1])["gates"]["max_gap"] == {"false_positive_parity": 0.15}
    counts = pq.read_table(out / "counts.parquet").to_pandas()
    assert set(counts.grouping) == {"region"}
    # run 3 is the third night: its counts per region, by pandas
    df = pd.read_parquet(files[2])
    mine = counts[counts.run_id == 3].set_index("group")
    for region, rows in df.groupby("region"):
        assert mine.loc[region, "tp"] == ((rows.y == 1) & (rows.p == 1)).sum()
        assert mine.loc[region, "fp"] == ((rows.y == 0) & (rows.p == 1)).sum()
        assert mine.loc[region, "tn"] == ((rows.y == 0) & (rows.p == 0)).sum()
        assert mine.loc[region, "fn"] == ((rows.y == 1) & (rows.p == 0)).sum()
        assert json.loads(mine.loc[region, "key"]) == [["str", region]]
    assert (mine.missing_label == 0).all()
    criteria = pq.read_table(out / "criteria.parquet").to_pandas()
    with History.open(db) as h:
        stored = h.criteria([3])
    mine_c = criteria[criteria.run_id == 3]
    assert list(mine_c.difference) == [c.difference for c in stored]
    assert set(mine_c.as_of) == {"2024-01-03"}
    gates = pq.read_table(out / "gates.parquet").to_pandas()
    assert set(gates.kind) == {"max_gap", "min_ratio"} and len(gates) == 8
    inputs = pq.read_table(out / "inputs.parquet").to_pandas()
    assert list(inputs.path) == [str(f) for f in [files[0], files[1], files[2], files[0]]]


def test_export_errors_are_one_line(tmp_path):
    files = write_days(tmp_path / "data", 1)
    db = tmp_path / "h.db"
    invoke("run", files[0], *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01")
    assert_cannot_audit(invoke("history", db, "--export", "csv", tmp_path / "x"),
                        "--export 'csv': the format is parquet")
    # a folder inside a file cannot be made
    assert_cannot_audit(invoke("history", db, "--export", "parquet", files[0] / "x", "--quiet"),
                        f"{files[0] / 'x'}: cannot make the export folder")
