"""Many audits in one call: batch specs, dated inputs ({date}) and --partition-by."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import fairaudit
from fairaudit import batch
from fairaudit.history import History
from tests.cli_support import assert_cannot_audit, invoke, read_report
from tests.history_support import AUDIT_ARGS, SETTINGS, day, write_days
from tests.test_history_drift import EXAMPLE, generator

SPEC = """
history = "h.db"
label = "y"
prediction = "p"
groups = ["region"]
bootstrap = 200

[gates.max_gap]
false_positive_parity = 0.15

[[audit]]
name = "north"
inputs = ["data/2024-01-01.parquet"]
run_label = "north"

[[audit]]
name = "broken"
inputs = ["broken.parquet"]
run_label = "broken"

[[audit]]
name = "south"
inputs = ["data/2024-01-02.parquet"]
run_label = "south"
[audit.gates.max_gap]
false_positive_parity = 0.5     # merged into the shared gates table, key by key
"""


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    write_days(tmp_path / "data", 2)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"\0" * 64)
    path = tmp_path / "batch.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_batch_with_one_corrupt_file_reports_that_audit_as_error_and_runs_the_rest(tmp_path):
    spec = _spec(tmp_path)
    result = invoke("batch", spec)
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["audit", "as", "of", "label", "verdict", "gates", "history"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert rows["north"][3:] == ["PASS", "1", "of", "1", "passed", "run", "1"]
    assert rows["broken"][3] == "ERROR"
    assert rows["south"][3:5] == ["PASS", "1"]
    assert "errors" in lines
    broken_line = next(line for line in lines if line.startswith("  broken"))
    assert str(tmp_path / "broken.parquet") in broken_line
    assert lines[-1] == "3 runs: 2 pass, 1 error"
    # progress, one line per audit, on stderr
    assert [x.split("]")[0] for x in result.stderr.splitlines()] == [
        "fairaudit: [1/3", "fairaudit: [2/3", "fairaudit: [3/3"]
    with History.open(tmp_path / "h.db") as h:
        runs = {r.label: r for r in h.runs()}
    assert runs["north"].verdict == "pass" and runs["south"].verdict == "pass"
    assert runs["broken"].verdict == "error" and "broken.parquet" in (runs["broken"].error or "")
    # the shared settings reached every audit; the south's gate overrides its threshold
    assert runs["south"].config is not None and runs["north"].config is not None
    assert runs["south"].config["gates"]["max_gap"] == {"false_positive_parity": 0.5}
    assert runs["north"].config["gates"]["max_gap"] == {"false_positive_parity": 0.15}
    assert runs["south"].config["bootstrap"] == 200
    # inputs are read relative to the spec
    assert runs["north"].inputs[0].path == str(tmp_path / "data" / "2024-01-01.parquet")


def test_the_exit_code_is_the_worst_audits(tmp_path):
    # no broken input; a demographic parity ratio of at least 0.99 fails every audit
    spec = _spec(tmp_path, SPEC.replace('inputs = ["broken.parquet"]',
                                        'inputs = ["data/2024-01-01.parquet"]')
                 .replace("[gates.max_gap]", "[gates.min_ratio]\ndemographic_parity = 0.99\n\n"
                          "[gates.max_gap]", 1))
    result = invoke("batch", spec)
    assert result.exit_code == 1, result.output  # a failed gate, no error
    assert invoke("batch", spec, "--exit-zero").exit_code == 0
    assert invoke("batch", spec, "--only", "north", "--quiet").stderr == ""


def test_an_audit_that_crashes_exits_3_and_the_others_still_run(tmp_path, monkeypatch):
    spec = _spec(tmp_path, SPEC.replace('inputs = ["broken.parquet"]',
                                        'inputs = ["data/2024-01-01.parquet"]'))
    real = batch.judge

    def judge(table, config, files=(), timestamp=None):
        if config.gates[0].threshold == 0.5:
            raise RuntimeError("a bug")
        return real(table, config, files, timestamp)

    monkeypatch.setattr(batch, "judge", judge)
    result = invoke("batch", spec)
    assert result.exit_code == 3
    assert "south: internal error (traceback saved to" in result.stderr
    assert "internal error: RuntimeError: a bug" in result.stdout
    with History.open(tmp_path / "h.db") as h:
        assert sorted(r.label for r in h.runs() if r.current) == ["broken", "north"]


@pytest.mark.parametrize(("change", "fragments"), [
    (("run_label = \"south\"", "run_lable = \"south\""),
     ["unknown key 'audit[3].run_lable'", "did you mean 'run_label'?"]),
    (("groups = [\"region\"]", "groups = \"region\""),
     ["key 'audit[1].groups' must be a list of column names"]),
    (("name = \"south\"", "name = \"north\""), ["two audits are named 'north'"]),
    (("[[audit]]", "[[audits]]"), ["unknown key 'audits'"]),
    (("history = \"h.db\"", "history = 3"), ["key 'history' must be text"]),
    (("label = \"y\"", "label = y"), ["not valid TOML"]),
])
def test_a_bad_spec_is_one_line_error_before_anything_runs(tmp_path, change, fragments):
    spec = _spec(tmp_path, SPEC.replace(*change))
    assert_cannot_audit(invoke("batch", spec), str(spec), *fragments)
    assert not (tmp_path / "h.db").exists()


def test_a_spec_without_audits_and_a_missing_spec(tmp_path):
    spec = tmp_path / "b.toml"
    spec.write_text('label = "y"\n')
    assert_cannot_audit(invoke("batch", spec), "no audits; add one [[audit]] table")
    assert_cannot_audit(invoke("batch", tmp_path / "none.toml"), "no such batch spec")
    assert_cannot_audit(invoke("batch", _spec(tmp_path), "--only", "west"),
                        "no audit named 'west'; audits: north, broken, south")


def test_per_run_reports_named_by_their_run(tmp_path):
    spec = _spec(tmp_path, SPEC.replace('history = "h.db"',
                                        'history = "h.db"\njson = "out/{label}-{as_of}.json"'))
    (tmp_path / "out").mkdir()
    result = invoke("batch", spec, "--as-of", "2024-02-01")
    assert result.exit_code == 2, result.output
    doc = read_report(tmp_path / "out" / "north-2024-02-01.json")
    assert doc["groupings"][0]["name"] == "region"
    assert not (tmp_path / "out" / "broken-2024-02-01.json").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "north-2024-02-01.json", "south-2024-02-01.json"]  # no temporary file left behind


# -- dated inputs -----------------------------------------------------------------------


@pytest.fixture
def nightly(tmp_path) -> Path:
    shutil.copy(EXAMPLE / "nightly.toml", tmp_path / "nightly.toml")
    generator().write(tmp_path / "data", days=4, rows=1500)
    return tmp_path


def test_the_example_spec_backfills_every_night_and_a_second_backfill_replaces(nightly):
    result = invoke("batch", nightly / "nightly.toml")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "8 runs: 8 pass"
    again = invoke("batch", nightly / "nightly.toml")
    assert again.exit_code == 0
    assert "run 9 (replaces 1)" in again.stdout
    with History.open(nightly / "history.db") as h:
        runs = h.runs()
    current = [(r.label, r.as_of) for r in runs if r.current]
    assert len(runs) == 16 and len(current) == 8 == len(set(current))
    assert sorted({a for _, a in current}) == ["2024-05-01", "2024-05-02", "2024-05-03",
                                              "2024-05-04"]
    # a cron job's night alone
    one = invoke("batch", nightly / "nightly.toml", "--as-of", "2024-05-04", "--only", "model-b")
    assert one.exit_code == 0 and one.stdout.splitlines()[-1] == "1 run: 1 pass"
    missing = invoke("batch", nightly / "nightly.toml", "--as-of", "2024-06-01")
    assert missing.exit_code == 2
    assert "2024-06-01.parquet: no such file or folder" in missing.stdout


def test_run_with_a_date_placeholder_records_a_run_per_date(nightly):
    pattern = str(nightly / "data" / "{date}.parquet")
    db = nightly / "h.db"
    args = ["--label", "repaid_late", "--prediction", "model_a", "-g", "region",
            "--bootstrap", "0", "--history", db]
    result = invoke("run", pattern, *args)
    assert result.exit_code == 0, result.output
    with History.open(db) as h:
        runs = h.runs()
    assert [r.as_of for r in runs] == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]
    for r in runs:
        assert [f.path for f in r.inputs] == [str(nightly / "data" / f"{r.as_of}.parquet")]
    assert invoke("run", pattern, *args, "--as-of", "2024-05-02").stdout.count("PASS") == 1
    none = invoke("run", str(nightly / "nothing" / "{date}.parquet"), *args)
    assert none.exit_code == 2 and "no file matches for any date" in none.stdout
    assert_cannot_audit(invoke("run", pattern, *args, "--json", nightly / "a.json"),
                        "--json writes the report of one audit")


def test_date_patterns():
    m = batch._pattern("data/{date}/part-*.parquet").match("data/2024-05-01/part-0.parquet")
    assert m is not None and m.group("date") == "2024-05-01"
    assert batch._pattern("d/{date}.csv").match("d/2024-05-01x.csv") is None
    assert batch._pattern("a{date}/b{date}.pq").match("a2024-01-01/b2024-01-02.pq") is None


# -- partitions -------------------------------------------------------------------------


def test_partition_by_a_date_column_equals_an_audit_of_each_days_rows(nightly):
    db = nightly / "h.db"
    folder = nightly / "data"
    result = invoke("run", folder, "--label", "repaid_late", "--prediction", "model_a",
                    "-g", "region", "--bootstrap", "200", "--max-gap",
                    "false_positive_parity=0.25", "--history", db, "--partition-by", "day")
    assert result.exit_code == 0, result.output
    assert "4 runs: 4 pass" in result.stdout
    with History.open(db) as h:
        runs = h.runs()
        assert [r.as_of for r in runs] == ["2024-05-01", "2024-05-02", "2024-05-03",
                                           "2024-05-04"]
        for r in runs:
            live = fairaudit.audit(folder / f"{r.as_of}.parquet", label="repaid_late",
                                   prediction="model_a", groups=["region"], bootstrap=200,
                                   max_gap={"false_positive_parity": 0.25})
            stored = {(c.grouping, c.criterion): c for c in h.criteria([r.run_id])}
            for name, gap in live.grouping("region").criteria.items():
                mine = stored[("region", name)]
                assert (mine.difference, mine.ratio) == (gap.difference, gap.ratio)
                assert mine.difference_ci == gap.ci_difference
            assert r.rows_used == live.provenance.rows_used
            # the counts are the day's, by pandas
            df = pd.read_parquet(folder / f"{r.as_of}.parquet")
            assert int(h.table(r.run_id).total[:4].sum()) == len(df)


def test_partition_by_other_values_labels_the_runs_and_a_missing_value_is_an_error(tmp_path):
    frames = []
    for i, shop in enumerate(["x", "y", None]):
        df = day(i, rows=400)
        df["shop"] = shop
        frames.append(df)
    data = tmp_path / "all.parquet"
    pd.concat(frames).to_parquet(data)
    db = tmp_path / "h.db"
    result = invoke("run", data, *AUDIT_ARGS, "--history", db, "--partition-by", "shop",
                    "--run-label", "m", "--as-of", "2024-01-01")
    assert result.exit_code == 2, result.output
    assert "400 rows have no value in the partition column 'shop'" in result.stdout
    with History.open(db) as h:
        runs = {r.label: r for r in h.runs()}
    assert runs["m/x"].verdict in ("pass", "fail") and runs["m/y"].rows_used == 400
    assert runs["m/(missing)"].verdict == "error"
    live = fairaudit.audit(frames[1], **SETTINGS)
    with History.open(db) as h:
        fpr = next(c for c in h.criteria([runs["m/y"].run_id])
                   if c.criterion == "false_positive_parity")
    assert fpr.difference == live.grouping("region").criteria["false_positive_parity"].difference
    assert_cannot_audit(invoke("run", data, *AUDIT_ARGS, "--partition-by", "shop"),
                        "--partition-by records into a history")
    grouped = invoke("run", data, *AUDIT_ARGS, "--history", db, "--partition-by", "region")
    assert grouped.exit_code == 2 and "partition column 'region' is a group column" in \
        grouped.stdout


def test_the_summary_json_free_contract_of_outcomes(tmp_path):
    # the library returns outcomes, prints nothing
    spec = _spec(tmp_path)
    outcomes = batch.run(batch.load_spec(str(spec)))
    assert [(o.name, o.verdict, o.code) for o in outcomes] == [
        ("north", "pass", 0), ("broken", "error", 2), ("south", "pass", 0)]
    assert batch.worst(outcomes) == 2
    assert outcomes[0].recorded is not None and outcomes[0].recorded.run_id == 1
    assert json.dumps([o.error for o in outcomes])  # errors are plain text


def test_a_report_that_cannot_be_written_fails_that_run_only(tmp_path):
    spec = _spec(tmp_path, SPEC.replace('name = "south"', 'name = "south"\n'
                                        'json = "missing/folder/{name}.json"')
                 .replace('history = "h.db"', 'history = "h.db"\njson = "{name}.json"'))
    result = invoke("batch", spec)
    assert result.exit_code == 2
    assert (tmp_path / "north.json").is_file()
    assert "reports not written\n  " in result.stdout
    assert "missing/folder/south.json: cannot write the report" in result.stdout
    with History.open(tmp_path / "h.db") as h:
        assert {r.label for r in h.runs() if r.current} == {"north", "south"}


def test_a_run_whose_json_fails_still_gets_its_html(tmp_path):
    spec = _spec(tmp_path, SPEC.replace('history = "h.db"', 'history = "h.db"\n'
                                        'json = "missing/folder/{name}.json"\n'
                                        'html = "{name}.html"'))
    result = invoke("batch", spec)
    assert result.exit_code == 2
    # every run that audited has its page, though none has its JSON
    assert (tmp_path / "north.html").is_file() and (tmp_path / "south.html").is_file()
    assert not list(tmp_path.glob("missing*"))
    assert "missing/folder/north.json: cannot write the report" in result.stdout
