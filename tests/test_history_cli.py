"""`fairaudit history`: the series of a history in the terminal and as JSON, and pooling."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

import fairaudit
from fairaudit.history import History
from fairaudit.history.series import pooled
from fairaudit.report.json import to_dict
from tests.cli_support import ROOT, assert_cannot_audit, invoke, undocumented
from tests.history_support import AUDIT_ARGS, SETTINGS, write_days

SCHEMA = ROOT / "docs" / "history.schema.json"


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def _validate(doc: dict[str, Any]) -> dict[str, Any]:
    cls = jsonschema.validators.validator_for(_schema())
    cls(_schema(), format_checker=cls.FORMAT_CHECKER).validate(doc)
    return doc


def _history_json(*args: Any) -> dict[str, Any]:
    result = invoke("history", *args, "--json", "-")
    assert result.exit_code == 0, result.output
    return _validate(json.loads(result.stdout))


@pytest.fixture(scope="module")
def nightly(tmp_path_factory) -> tuple[Path, list[Path]]:
    """Five nights recorded; the third night recorded twice (a re-run)."""
    tmp = tmp_path_factory.mktemp("nightly")
    files = write_days(tmp / "data", 5)
    db = tmp / "h.db"
    for f in [*files, files[2]]:
        result = invoke("run", f, *AUDIT_ARGS, "--history", db, "--as-of", f.stem)
        assert result.exit_code in (0, 1), result.output
    return db, files


def _fpr_gap(frames: list[pd.DataFrame]) -> float:
    """The false positive rate gap across regions, by pandas (every region is large)."""
    df = pd.concat(frames)
    negatives = df[df.y == 0]
    fpr = negatives.groupby("region").p.mean()
    return float(fpr.max() - fpr.min())


def test_the_json_lists_runs_and_series_as_published(nightly):
    db, files = nightly
    doc = _history_json(db)
    assert doc["schema_version"] == 1 and doc["history"]["schema_version"] == 1
    assert [(r["run_id"], r["as_of"], r["superseded"]) for r in doc["runs"]] == [
        (1, "2024-01-01", False), (2, "2024-01-02", False), (3, "2024-01-03", True),
        (6, "2024-01-03", False), (4, "2024-01-04", False), (5, "2024-01-05", False)]
    run3 = doc["runs"][2]
    assert run3["superseded_by"] == 6 and run3["label"] is None and run3["verdict"] in (
        "pass", "fail")
    assert run3["inputs"][0]["path"] == str(files[2])
    assert [(s["grouping"], s["criterion"], s["kind"]) for s in doc["series"]] == [
        ("region", "false_positive_parity", "max_gap"),
        ("region", "demographic_parity", "min_ratio")]
    fpr = doc["series"][0]
    assert [p["run_id"] for p in fpr["points"]] == [1, 2, 6, 4, 5]  # superseded run 3 is out
    assert fpr["threshold"] == 0.15
    for point, f in zip(fpr["points"], files, strict=True):
        # the point is the night's own audit: computed here independently by pandas, its
        # interval and status as a live audit of that file gives them
        assert point["difference"] == pytest.approx(_fpr_gap([pd.read_parquet(f)]), abs=1e-12)
        live = fairaudit.audit(f, **SETTINGS)
        gap = live.grouping("region").criteria["false_positive_parity"]
        assert point["difference"] == gap.difference
        assert point["ci"] == list(gap.ci_difference) == point["difference_ci"]
        assert point["ratio"] == gap.ratio and point["ratio_ci"] == list(gap.ci_ratio)
        assert point["status"] == next(g.status for g in live.gates
                                       if g.criterion == "false_positive_parity")
        assert point["runs"] == [point["run_id"]]
    dp = doc["series"][1]
    assert all(p["ci"] == p["ratio_ci"] for p in dp["points"])  # a ratio gate's interval
    assert doc["drift"] == [] and doc["verdict"] == "none"


def test_the_terminal_shows_each_series_with_values_intervals_and_statuses(nightly):
    db, _ = nightly
    result = invoke("history", db, "--last", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"history {db}: 4 runs, 2024-01-03 to 2024-01-05 (1 superseded)\n")
    assert "region: false_positive_parity (largest allowed difference 0.15)" in out
    assert "region: demographic_parity (smallest allowed ratio 0.5)" in out
    doc = _history_json(db, "--last", "3")
    for s in doc["series"]:
        assert [p["as_of"] for p in s["points"]] == ["2024-01-03", "2024-01-04", "2024-01-05"]
        for p in s["points"]:
            d, (lo, hi) = p["difference"], p["difference_ci"]
            status = {"pass": "✓ PASS", "fail": "✗ FAIL"}[p["status"]]
            assert f"{p['as_of']}  {p['run_id']:>3}  {d:.3f} [{lo:.3f}, {hi:.3f}]" in out
            assert status in out
    assert "2024-01-02" not in out
    assert result.stderr == ""


def test_a_superseded_run_is_listed_apart(nightly):
    db, _ = nightly
    out = invoke("history", db).stdout
    assert "superseded runs (kept, not in the series)\n  run 3 (2024-01-03): replaced by " \
           "run 6" in out


def test_pooled_figures_equal_one_audit_of_the_concatenated_files_exactly(nightly):
    db, files = nightly
    doc = _history_json(db, "--pool", "3")
    assert doc["pool"] == 3
    fpr = doc["series"][0]
    last = fpr["points"][-1]
    assert last["runs"] == [6, 4, 5]  # the newest night and the two before it
    concatenated = fairaudit.audit([str(f) for f in files[2:]], **SETTINGS)
    gap = concatenated.grouping("region").criteria["false_positive_parity"]
    assert last["difference"] == gap.difference
    assert last["ci"] == list(gap.ci_difference)
    assert last["ratio"] == gap.ratio and last["ratio_ci"] == list(gap.ci_ratio)
    assert last["difference"] == pytest.approx(
        _fpr_gap([pd.read_parquet(f) for f in files[2:]]), abs=1e-12)
    # the first points pool what there is before them
    assert [p["runs"] for p in fpr["points"][:2]] == [[1], [1, 2]]
    # and the whole pooled audit, every group's every figure, is the concatenated audit's
    with History.open(db) as h:
        runs = {r.run_id: r for r in h.runs()}
        result = pooled(h, [runs[6], runs[4], runs[5]])
    mine, theirs = to_dict(result), to_dict(concatenated)
    for doc_ in (mine, theirs):
        doc_.pop("provenance")
    assert mine == theirs
    assert [f.path for f in result.provenance.files] == [str(f) for f in files[2:]]


def test_pooling_refuses_runs_judged_with_different_configs(tmp_path):
    files = write_days(tmp_path / "data", 2)
    db = tmp_path / "h.db"
    invoke("run", files[0], *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01")
    invoke("run", files[1], *AUDIT_ARGS, "--seed", "3", "--history", db, "--as-of",
           "2024-01-02")
    result = invoke("history", db, "--pool", "2")
    assert_cannot_audit(result, "runs 1 and 2 cannot be pooled: judged with different configs")


def test_pooling_refuses_count_tables_of_different_layouts(tmp_path):
    from fairaudit.engine import config_from, count, judge
    from fairaudit.history.series import pool_table

    files = write_days(tmp_path / "data", 2)
    with History.open(tmp_path / "h.db", create=True) as h:
        for f, ranges in ((files[0], None), (files[1], {"p": {"max": 1}})):
            cfg = config_from(**SETTINGS, ranges=ranges)
            c = count(f, cfg)
            h.record(judge(c.table, cfg, c.files), c.table, cfg, as_of=f.stem)
        with pytest.raises(fairaudit.FairauditError, match="counted in different cells"):
            pool_table(h, h.runs())


def test_labels_are_series_of_their_own(tmp_path):
    files = write_days(tmp_path / "data", 2)
    db = tmp_path / "h.db"
    for label in ("model-a", "model-b"):
        for f in files:
            invoke("run", f, *AUDIT_ARGS, "--history", db, "--as-of", f.stem, "--run-label",
                   label)
    doc = _history_json(db)
    assert [(s["label"], s["criterion"]) for s in doc["series"]] == [
        ("model-a", "false_positive_parity"), ("model-a", "demographic_parity"),
        ("model-b", "false_positive_parity"), ("model-b", "demographic_parity")]
    assert all(len(s["points"]) == 2 for s in doc["series"])
    only = _history_json(db, "--label", "model-b")
    assert {r["label"] for r in only["runs"]} == {"model-b"}
    assert "[label model-a]" in invoke("history", db).stdout


def test_an_error_run_is_listed_with_its_message(tmp_path):
    files = write_days(tmp_path / "data", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("region,y,p\na,1,2\n")
    db = tmp_path / "h.db"
    invoke("run", files[0], *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-01")
    assert invoke("run", bad, *AUDIT_ARGS, "--history", db, "--as-of", "2024-01-02"
                  ).exit_code == 2
    doc = _history_json(db)
    err = doc["runs"][-1]
    assert err["verdict"] == "error" and err["error"] and not err["superseded"]
    assert all(len(s["points"]) == 1 for s in doc["series"])
    out = invoke("history", db).stdout
    assert f"runs that could not be audited\n  run 2 (2024-01-02): {err['error']}" in out


# -- the schema -------------------------------------------------------------------------


def test_the_history_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_every_field_written_is_described_in_the_schema(nightly):
    db, _ = nightly
    doc = _history_json(db, "--max-increase", "false_positive_parity=0.1", "--cusum",
                        "--baseline-runs", "2", "--decide", "confident-fail")
    assert doc["drift"]
    assert undocumented(doc, _schema(), "$", _schema()) == []


@pytest.mark.parametrize(("path", "new"), [
    (("runs", 0, "superseded"), "replaced"),
    (("runs", 0, "run_id"), "id"),
    (("series", 0, "points", 0, "ci"), "interval"),
    (("series", 0, "points"), "values"),
    (("series", 0, "grouping"), "group"),
])
def test_a_renamed_field_is_rejected(nightly, path, new):
    db, _ = nightly
    doc = copy.deepcopy(_history_json(db))
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[new] = parent.pop(path[-1])
    with pytest.raises(jsonschema.ValidationError, match=f"'{path[-1]}' is a required"):
        _validate(doc)


def test_the_trend_page_is_self_contained_and_escapes_what_it_shows(tmp_path):
    files = write_days(tmp_path / "data", 2)
    db = tmp_path / "h.db"
    label = "<script>alert(1)</script>"
    for f in files:
        invoke("run", f, *AUDIT_ARGS, "--history", db, "--as-of", f.stem, "--run-label", label)
    out = tmp_path / "trend.html"
    result = invoke("history", db, "--html", out, "--quiet")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "default-src 'none'" in page
    assert page.count('<svg class="chart"') == 2  # a chart per gated criterion
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
