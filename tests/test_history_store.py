"""The history store: counts kept exactly, re-runs superseded, concurrent writers, versions."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import fairaudit
from fairaudit.engine import config_from, count, judge
from fairaudit.history import History, HistoryError, config_digest, config_from_dict
from fairaudit.history import store as store_module
from fairaudit.report.json import to_dict
from tests.cli_support import assert_cannot_audit, invoke
from tests.history_support import AUDIT_ARGS, PYTHON, SETTINGS, day, env, write_days


def _comparable(result: fairaudit.AuditResult) -> dict:
    doc = to_dict(result)
    doc["provenance"].pop("config_sources")
    doc["provenance"]["config"].pop("inputs")
    return doc


def _record(h: History, data, as_of: str, label: str = "", on_conflict="replace", **kw):
    cfg = config_from(**{**SETTINGS, **kw})
    counted = count(data, cfg)
    result = judge(counted.table, cfg, counted.files)
    return h.record(result, counted.table, cfg, as_of=as_of, label=label,
                    on_conflict=on_conflict), result, counted.table


# -- counts, kept exactly ---------------------------------------------------------------


def _typed_table() -> pa.Table:
    rng = np.random.default_rng(3)
    n = 400
    # one column per type (a column has one type), with missing values in two of them
    cols = {
        "num": pa.array([int(x) if x < 3 else None for x in rng.integers(0, 4, n)], pa.int64()),
        "txt": pa.array([["1", "x", "<script>", None][x] for x in rng.integers(0, 4, n)]),
        "flt": pa.array([[0.5, float("inf"), -0.0][x] for x in rng.integers(0, 3, n)]),
        "flag": pa.array([bool(x) for x in rng.integers(0, 2, n)]),
        "day": pa.array([dt.date(2024, 5, 1 + int(x)) for x in rng.integers(0, 3, n)]),
        "dec": pa.array([decimal.Decimal(["1.50", "2.00"][x]) for x in rng.integers(0, 2, n)]),
        "raw": pa.array([[b"\x00<b>", b"ok"][x] for x in rng.integers(0, 2, n)]),
        "y": pa.array(rng.integers(0, 2, n)),
        "p": pa.array(rng.integers(0, 2, n)),
    }
    return pa.table(cols)


@pytest.mark.parametrize("column", ["num", "txt", "flt", "flag", "day", "dec", "raw"])
def test_a_stored_count_table_reads_back_as_it_was_counted(tmp_path, column):
    data = _typed_table()
    groups = [column, "txt"] if column != "txt" else [column, "num"]
    cfg = config_from(label="y", prediction="p", groups=groups, min_group_size=1,
                      bootstrap=50, max_gap={"demographic_parity": 0.5})
    counted = count(data, cfg)
    result = judge(counted.table, cfg, counted.files)
    with History.open(tmp_path / "h.db", create=True) as h:
        h.record(result, counted.table, cfg, as_of="2024-05-01")
        back = h.table(1)
        run = h.runs()[0]
    original = counted.table
    assert back.columns == original.columns and back.cell_names == original.cell_names
    # every level keeps its value and its type (1 and "1", None, a date, bytes ...)
    assert [[(type(v), v) for v in col] for col in back.levels] == \
        [[(type(v), v) for v in col] for col in original.levels]
    assert np.array_equal(back.keys, original.keys)
    assert np.array_equal(back.cells, original.cells)
    # judged again with the stored config, the figures are the live audit's, exactly
    again = judge(back, config_from_dict(run.config), counted.files,
                  timestamp=result.provenance.timestamp)
    assert _comparable(again) == _comparable(result)


def test_one_value_typed_as_a_number_in_one_file_and_as_text_in_another(tmp_path):
    # a parquet file types the column as integers, a CSV export as text: the merged
    # table holds both levels, which the audit counts as one group
    cfg = config_from(label="y", prediction="p", groups=["g"], bootstrap=0, min_group_size=1)
    typed = count(pa.table({"g": [1, 1, 2] * 40, "y": [0, 1, 1] * 40, "p": [1, 0, 1] * 40}),
                  cfg).table
    text = count(pa.table({"g": ["1", "3"] * 30, "y": [1, 0] * 30, "p": [1, 1] * 30}),
                 cfg).table
    merged = typed.merge(text)
    result = judge(merged, cfg)
    with History.open(tmp_path / "h.db", create=True) as h:
        h.record(result, merged, cfg, as_of="2024-01-01")
        back = h.table(1)
    assert [(type(v).__name__, v) for v in back.levels[0]] == \
        [(type(v).__name__, v) for v in merged.levels[0]]
    assert {(type(v).__name__, v) for v in back.levels[0]} >= {("int", 1), ("str", "1")}
    assert [g.label for g in judge(back, cfg).grouping("g").groups] == ["1", "2", "3"]
    assert _comparable(judge(back, cfg, timestamp=result.provenance.timestamp)) == \
        _comparable(result)


def test_a_group_value_of_an_unknown_type_is_refused_in_one_line():
    from fairaudit.history.codec import CodecError, encode_value

    with pytest.raises(CodecError, match="cannot be stored in a history; cast the group"):
        encode_value(object())


# -- the config digest --------------------------------------------------------------------


def test_the_config_digest_is_the_sha256_of_the_documented_canonical_json():
    cfg = config_from(**SETTINGS, inputs=["a.parquet"])
    values = cfg.as_dict()
    for key in ("inputs", "digest", "fail_on_inconclusive"):
        values.pop(key)
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert config_digest(cfg) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    docs = (Path(__file__).resolve().parent.parent / "docs" / "history.md").read_text()
    assert "SHA-256" in docs and "sort_keys" in docs.replace("sorted keys", "sort_keys")


def test_the_digest_names_what_decides_the_figures_and_nothing_else():
    base = config_digest(config_from(**SETTINGS))
    # the data of a night, hashing the files and the exit code change nothing
    assert config_digest(config_from(**SETTINGS, inputs=["x.parquet"], digest=False,
                                     fail_on_inconclusive=True)) == base
    # a threshold given as a whole number is the same setting
    assert config_digest(config_from(**SETTINGS, threshold=1)) == \
        config_digest(config_from(**SETTINGS, threshold=1.0))
    # a gate, the seed, a decision rule, a minimum group size, a range do
    for change in ({"seed": 1}, {"max_gap": {"false_positive_parity": 0.2}},
                   {"decide": "confident-fail"}, {"min_group_size": 31},
                   {"ranges": {"p": {"max": 1}}}):
        assert config_digest(config_from(**{**SETTINGS, **change})) != base


def test_a_config_read_back_has_the_same_digest():
    cfg = config_from(**SETTINGS, reference=[("region", "a")], ranges={"x": {"max": 3}},
                      max_out_of_range=0.1)
    assert config_digest(config_from_dict(cfg.as_dict())) == config_digest(cfg)


# -- re-runs ------------------------------------------------------------------------------


def test_a_rerun_replaces_the_run_and_keeps_it_marked_superseded(tmp_path):
    data = day(1)
    with History.open(tmp_path / "h.db", create=True) as h:
        first, _, _ = _record(h, data, "2024-01-01")
        other_day, _, _ = _record(h, data, "2024-01-02")
        other_label, _, _ = _record(h, data, "2024-01-01", label="model-b")
        again, _, _ = _record(h, day(2), "2024-01-01")
        runs = {r.run_id: r for r in h.runs()}
        assert (first.run_id, other_day.run_id, other_label.run_id, again.run_id) == (1, 2, 3, 4)
        assert again.superseded == (1,)
        assert runs[1].superseded_by == 4 and runs[1].superseded
        assert runs[1].superseded_at is not None
        assert sorted(r.run_id for r in runs.values() if r.current) == [2, 3, 4]
        # the superseded run keeps its counts; the new one has the new day's
        assert h.table(1).total.sum() == 600 and h.table(4).total.sum() == 600
        assert not np.array_equal(h.table(1).cells, h.table(4).cells)
        # a third recording supersedes the second, and only it
        third, _, _ = _record(h, data, "2024-01-01")
        assert third.superseded == (4,)
        assert sum(1 for r in h.runs() if r.current and r.as_of == "2024-01-01"
                   and r.label == "") == 1


def test_on_conflict_skip_keeps_the_recorded_run_and_error_refuses(tmp_path):
    with History.open(tmp_path / "h.db", create=True) as h:
        _record(h, day(1), "2024-01-01")
        skipped, _, _ = _record(h, day(2), "2024-01-01", on_conflict="skip")
        assert skipped.skipped and skipped.kept == 1
        with pytest.raises(HistoryError, match=r"run 1 is recorded already for as-of "
                                               r"2024-01-01.*--on-conflict replace"):
            _record(h, day(2), "2024-01-01", on_conflict="error")
        assert [r.run_id for r in h.runs()] == [1]
        # a different config is a different key
        done, _, _ = _record(h, day(2), "2024-01-01", on_conflict="error", seed=7)
        assert done.run_id == 2


def test_the_store_refuses_a_second_current_run_of_one_key(tmp_path):
    # the natural key is held by the file itself, not only by the code that writes it
    with History.open(tmp_path / "h.db", create=True) as h:
        _record(h, day(1), "2024-01-01")
    con = sqlite3.connect(tmp_path / "h.db")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO runs (run_id, as_of, label, config_digest, recorded_at, "
                    "fairaudit_version, verdict) SELECT 9, as_of, label, config_digest, "
                    "recorded_at, fairaudit_version, verdict FROM runs WHERE run_id = 1")
    con.close()


def test_rerun_on_the_command_line(tmp_path):
    data = tmp_path / "day.parquet"
    day(1).to_parquet(data)
    db = tmp_path / "h.db"
    args = ["run", data, *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert f"history {db}: recorded run 1 (as of 2024-01-01)" in first.stderr
    second = invoke(*args)
    assert second.exit_code == 0
    assert "recorded run 2 (as of 2024-01-01), superseding run 1" in second.stderr
    skip = invoke(*args, "--on-conflict", "skip")
    assert skip.exit_code == 0
    assert "run 2 (as of 2024-01-01) is recorded already; this run was not recorded" in \
        skip.stderr
    refused = invoke(*args, "--on-conflict", "error")
    assert_cannot_audit(refused, str(db), "run 2 is recorded already for as-of 2024-01-01",
                        "--on-conflict replace")
    with History.open(db) as h:
        runs = h.runs()
    assert [(r.run_id, r.superseded_by) for r in runs] == [(1, 2), (2, None)]
    assert runs[1].inputs[0].path == str(data) and len(runs[1].inputs[0].sha256) == 64


# -- concurrent writers ---------------------------------------------------------------------


def test_two_audit_processes_writing_one_history_at_once_both_keep_their_run(tmp_path):
    files = write_days(tmp_path / "data", 2, rows=20_000)
    db = tmp_path / "h.db"
    procs = [subprocess.Popen(
        [PYTHON, "-m", "fairaudit", "run", str(f), *AUDIT_ARGS, "--history", str(db),
         "--as-of", f.stem, "--no-progress"], env=env(), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode in (0, 1), err
        assert "recorded run" in err
    with History.open(db) as h:
        runs = h.runs()
        assert sorted(r.as_of for r in runs) == ["2024-01-01", "2024-01-02"]
        assert all(r.current for r in runs)
        for r in runs:
            live = fairaudit.audit(tmp_path / "data" / f"{r.as_of}.parquet",
                                   **SETTINGS)
            assert h.table(r.run_id).total.sum() == 20_000
            stored = {(c.grouping, c.criterion): c.difference for c in h.criteria([r.run_id])}
            assert stored[("region", "false_positive_parity")] == \
                live.grouping("region").criteria["false_positive_parity"].difference


_WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from fairaudit.engine import config_from, count, judge
    from fairaudit.history import History
    from tests.history_support import SETTINGS, day
    who, db, go = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = config_from(**{{**SETTINGS, "bootstrap": 0}})
    work = []
    for i in range(12):
        c = count(day(int(who) * 100 + i, rows=300), cfg)
        work.append((judge(c.table, cfg, c.files), c.table))
    while not os.path.exists(go):
        time.sleep(0.005)
    for i, (result, table) in enumerate(work):
        # every writer opens the file anew, as separate nightly jobs would
        with History.open(db, create=True) as h:
            h.record(result, table, cfg, as_of=f"2024-02-{{i + 1:02d}}", label="w" + who)
        # and one key both writers record: one of them must supersede the other
        with History.open(db, create=True) as h:
            h.record(result, table, cfg, as_of="2024-03-01", label="shared")
""")


def test_concurrent_writers_interleave_whole_transactions(tmp_path):
    root = str(Path(__file__).resolve().parent.parent)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=root))
    db, go = tmp_path / "h.db", tmp_path / "go"
    procs = [subprocess.Popen([PYTHON, str(script), w, str(db), str(go)], env=env(),
                              stderr=subprocess.PIPE, text=True) for w in ("1", "2")]
    time.sleep(0.5)
    go.touch()  # both start writing together, on a file neither has made yet
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with History.open(db) as h:
        runs = h.runs()
        mine = [r for r in runs if r.label in ("w1", "w2")]
        shared = [r for r in runs if r.label == "shared"]
        assert len(mine) == 24 and all(r.current for r in mine)
        assert len({r.run_id for r in runs}) == len(runs) == 48
        # the shared key: exactly one current run, the other 23 superseded in a chain
        assert sum(1 for r in shared if r.current) == 1
        for r in mine:
            assert h.table(r.run_id).total.sum() == 300
            assert len(h.criteria([r.run_id])) > 0
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


# -- versions and files that are not histories ------------------------------------------


def test_a_history_of_a_newer_schema_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    with History.open(db, create=True) as h:
        _record(h, day(1), "2024-01-01")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 2")
    con.close()
    with pytest.raises(HistoryError, match=r"written by a newer fairaudit \(history schema 2; "
                                           r"this fairaudit .* reads schema 1\); upgrade"):
        History.open(db)
    result = invoke("history", db)
    assert_cannot_audit(result, str(db), "history schema 2", "upgrade fairaudit")
    data = tmp_path / "d.parquet"
    day(1).to_parquet(data)
    result = invoke("run", data, *AUDIT_ARGS, "--history", db)
    assert_cannot_audit(result, "history schema 2")


@pytest.mark.parametrize("content", [b"not a database, just text\n" * 10, None])
def test_a_file_that_is_not_a_history_is_refused(tmp_path, content):
    path = tmp_path / "h.db"
    if content is None:  # an SQLite file of some other program
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.close()
    else:
        path.write_bytes(content)
    data = tmp_path / "d.parquet"
    day(1).to_parquet(data)
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--history", path), str(path),
                        "not a fairaudit history")
    assert_cannot_audit(invoke("history", path), str(path), "not a fairaudit history")


def test_history_flags_are_checked(tmp_path):
    data = tmp_path / "d.parquet"
    day(1).to_parquet(data)
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--history", tmp_path / "h.db",
                               "--as-of", "2024-02-30"), "--as-of '2024-02-30': not a date",
                        "YYYY-MM-DD")
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--as-of", "2024-02-01"),
                        "--as-of records into a history; give --history PATH")
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--history", tmp_path / "h.db",
                               "--on-conflict", "overwrite"),
                        "--on-conflict 'overwrite'", "replace, skip, error")
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--history", tmp_path / "no" / "h.db"),
                        "does not exist")
    assert_cannot_audit(invoke("history", tmp_path / "missing.db"), "no such history")


def test_the_as_of_date_defaults_to_the_audit_date_in_utc(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    data = tmp_path / "d.parquet"
    day(1).to_parquet(data)
    assert invoke("run", data, *AUDIT_ARGS, "--history", tmp_path / "h.db").exit_code == 0
    with History.open(tmp_path / "h.db") as h:
        (run,) = h.runs()
    assert run.as_of == "2023-11-14" and run.recorded_at == "2023-11-14T22:13:20+00:00"


def test_an_input_that_cannot_be_audited_is_recorded_with_its_error(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    db = tmp_path / "h.db"
    result = invoke("run", bad, *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01",
                    "--run-label", "m")
    line = assert_cannot_audit(result, str(bad))
    with History.open(db) as h:
        (run,) = h.runs()
    assert run.verdict == "error" and run.label == "m" and run.as_of == "2024-01-01"
    assert run.error == line.removeprefix("fairaudit: error: ")
    assert not run.current
    # a later good run of the key supersedes the error; an error never supersedes counts
    good = tmp_path / "good.parquet"
    day(1).to_parquet(good)
    assert invoke("run", good, *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01",
                  "--run-label", "m").exit_code == 0
    assert invoke("run", bad, *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01",
                  "--run-label", "m").exit_code == 2
    with History.open(db) as h:
        runs = {r.run_id: r for r in h.runs()}
    assert runs[1].superseded_by == 2 and runs[2].current and runs[3].verdict == "error"
    assert runs[3].superseded_by is None


def test_the_schema_written_is_the_one_documented():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "history.md").read_text()
    for table in store_module.TABLES:
        assert f"`{table}`" in docs, f"table {table} is not in docs/history.md"
    for column in ("superseded_by", "config_digest", "as_of", "group_counts", "cell_names",
                   "levels", "difference_low"):
        assert column in docs
