"""The Dask engine gives exactly the in-process engine's counts and figures, on real clusters.

Every test here runs a real ``LocalCluster`` of worker processes: one shared by
most tests (the audits name it with ``scheduler=``, as a real cluster is named),
one whose workers are killed on purpose, and those the command line starts
itself with ``--workers``. The dataset is a folder of parquet files of random
sizes (one empty, one of a single row, some of many row groups) with missing
values in every role, a 10,000-level column and range-checked features.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dask
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster

import fairaudit
from fairaudit import engine
from fairaudit.backends import dask as on_dask
from fairaudit.errors import ConfigError, EngineError, InputError, UsageError
from fairaudit.report.json import to_dict
from tests.cli_support import ROOT, assert_cannot_audit, invoke, read_report, schema

pytestmark = pytest.mark.slow

STAMP = "2026-12-03T00:00:00+00:00"
SIZES = (0, 1, 17, 2_500, 31_000, 64_000, 90_000)
STORES = [f"store-{i:05d}" for i in range(10_000)]

# the audits compared: groupings and intersections, the 10,000-level column, ranges and
# their gates, a score with a threshold (and its figures, more thresholds and a top-N
# cutoff), a text label with --positive-label, a baseline
AUDITS: dict[str, dict[str, Any]] = {
    "groups": dict(label="y", prediction="yhat", groups=["region", "band", "sex"],
                   reference={"region": "north"}, max_gap={"equalized_odds": 0.1},
                   min_ratio={"demographic_parity": 0.8}, bootstrap=200),
    # its intersection with sex holds some 25,000 groups: judged without it, to keep the
    # test short, but counted and compared with it all the same
    "stores": dict(label="y", prediction="yhat", groups=["store", "sex"], bootstrap=0,
                   intersections=False, min_group_size=5),
    "ranges": dict(label="y", score="score", threshold=0.4, groups=["region", "sex"],
                   ranges={"income": {"min": 1_000, "max": 150_000},
                           "channel": {"allowed": ["web", "branch"]}},
                   max_out_of_range={"income": 0.05}, max_gap={"range_coverage": 0.05},
                   bootstrap=200, interval="clopper-pearson", decide="confident-fail",
                   thresholds=[0.3, 0.7], select_top=["10%"]),
    "text label": dict(label="outcome", prediction="decision", positive_label="approve",
                       groups=["band"], intersections=False, bootstrap=100),
    # a baseline model (a score with missing values) compared with the decision
    "baseline": dict(label="y", prediction="yhat", baseline_score="score",
                     baseline_threshold=0.6, groups=["region", "sex"], bootstrap=100,
                     max_increase={"equalized_odds": 0.02}, max_drop={"region:tpr": 0.05}),
    # groups compared within strata: the stratum is a key column of the counts
    "strata": dict(label="y", prediction="yhat", groups=["region", "sex"], strata=["band"],
                   bootstrap=100),
}


def _file(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)

    def text(values: list[str], p: list[float] | None = None, missing: float = 0.0
             ) -> pa.Array:
        chosen = rng.choice(np.array(values, dtype=object), n, p=p)
        chosen[rng.random(n) < missing] = None
        return pa.array(chosen, type=pa.string())

    def binary(missing: float) -> pa.Array:
        return pa.array(rng.integers(0, 2, n), mask=rng.random(n) < missing, type=pa.int8())

    weights = 1.0 / np.arange(1, len(STORES) + 1) ** 0.7
    score = rng.random(n)
    income = np.round(rng.lognormal(10.5, 0.8, n))
    return pa.table({
        "region": text(["north", "south", "east", "west", "isles"],
                       list(rng.dirichlet(np.ones(5)))),
        "band": text(["18-25", "26-40", "41-60", "60+"], missing=0.01),
        "sex": text(["f", "m", "x"], [0.49, 0.49, 0.02], missing=0.03),
        "store": text(STORES, list(weights / weights.sum()), missing=0.002),
        "y": binary(0.02),
        "yhat": binary(0.01),
        "score": pa.array(score, mask=rng.random(n) < 0.01),
        "income": pa.array(income, mask=rng.random(n) < 0.05),
        "channel": text(["web", "branch", "phone"], [0.6, 0.35, 0.05], missing=0.02),
        "outcome": text(["approve", "deny"], missing=0.01),
        "decision": text(["approve", "deny"]),
    })


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(2026)
    for i, n in enumerate(SIZES):
        pq.write_table(_file(n, i), folder / f"part-{i:02d}.parquet",
                       row_group_size=int(rng.integers(4_000, 20_000)))
    return folder


@pytest.fixture(scope="module")
def cluster() -> Any:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL,
                      scheduler_kwargs={"dashboard_address": on_dask.LOOPBACK}) as running:
        yield running


def _cells(table: fairaudit.CountTable) -> dict[tuple[Any, ...], list[int]]:
    keys, cells = table.project(table.columns)
    return {k: row.tolist() for k, row in zip(keys, cells, strict=True)}


def _figures(result: fairaudit.AuditResult) -> dict[str, Any]:
    doc = to_dict(result)
    for key in ("config", "config_sources"):  # the engine's settings, and only them, differ
        del doc["provenance"][key]
    return doc


def _both(data: Any, settings: dict[str, Any], address: str
          ) -> tuple[engine.Counted, engine.Counted, on_dask.Traffic]:
    here = engine.config_from(**settings)
    there = engine.config_from(**settings, engine="dask", scheduler=address)
    local = engine.count(data, here)
    table, files, traffic = on_dask.count([str(data)], there)
    remote = engine.Counted(table, files)
    assert (remote.table.columns, remote.table.cell_names) == \
        (local.table.columns, local.table.cell_names)
    assert _cells(remote.table) == _cells(local.table)
    assert remote.files == local.files
    assert _figures(engine.judge(remote.table, there, remote.files, STAMP)) == \
        _figures(engine.judge(local.table, here, local.files, STAMP))
    return local, remote, traffic


@pytest.mark.parametrize("name", AUDITS)
def test_the_dask_engine_gives_the_in_process_counts_and_figures(dataset, cluster, name):
    local, remote, traffic = _both(dataset, AUDITS[name], cluster.scheduler_address)
    assert [f.rows for f in remote.files] == list(SIZES)
    assert all(len(f.sha256) == 64 for f in remote.files)  # taken on the workers
    assert traffic.files == traffic.parts == len(SIZES)
    assert traffic.tasks < traffic.parts  # the small files are counted a run a task
    assert traffic.count_bytes > 0
    if name == "stores":
        assert len(local.table.levels[0]) > 9_900  # nearly every store, and a missing one
    else:  # what came back: a small count table a part (groups x cells); a score's
        # histogram adds 2,001 cells a group (and a top-N cutoff as many), compressed
        histograms = 2 if "select_top" in AUDITS[name] else 1 if "score" in AUDITS[name] else 0
        assert traffic.largest_count < (32 << 10) * (1 + 2 * histograms)


def _with_sums(dataset: Path, address: str, settings: dict[str, Any]
               ) -> tuple[fairaudit.CountTable, fairaudit.AuditResult, fairaudit.AuditResult]:
    """Count with sum cells here and on the workers: the integer cells equal exactly, the
    sums (added in another order there) and the first grouping's figures to 1e-12."""
    here = engine.config_from(**settings)
    there = engine.config_from(**settings, engine="dask", scheduler=address)
    local = engine.count(dataset, here)
    table, files, _ = on_dask.count([str(dataset)], there)
    assert table.sum_names == local.table.sum_names
    assert _cells(table) == _cells(local.table)
    keys, _, sums = table.projected(table.columns)
    here_keys, _, here_sums = local.table.projected(table.columns)
    assert sorted(keys, key=repr) == sorted(here_keys, key=repr)
    order = [here_keys.index(k) for k in keys]
    np.testing.assert_allclose(sums, here_sums[order], rtol=1e-12)
    a = engine.judge(table, there, files, STAMP)
    b = engine.judge(local.table, here, local.files, STAMP)
    fa, fb = a.groupings[0].figures, b.groupings[0].figures
    assert fa.labels == fb.labels and fa.dropped == fb.dropped
    np.testing.assert_allclose(np.array(fa.value, dtype=float), np.array(fb.value, dtype=float),
                               rtol=1e-12)
    return table, a, b


def test_sums_of_a_numeric_measure_come_back_from_the_workers(dataset, cluster):
    table, _, _ = _with_sums(dataset, cluster.scheduler_address, dict(
        measures=["income", "score"], groups=["region", "sex"], bootstrap=100))
    assert table.sum_names == ("income:sum", "income:sum^2", "score:sum", "score:sum^2")


def test_a_regression_comes_back_from_the_workers(dataset, cluster):
    # sums of values beside the counts, and the predictions' 4,099 bins (integer counts:
    # the distances equal exactly)
    _, a, b = _with_sums(dataset, cluster.scheduler_address, dict(
        task="regression", label="income", prediction="score", groups=["region", "band"],
        bootstrap=100))
    assert a.sections["prediction_distribution"].document() == \
        b.sections["prediction_distribution"].document()


def test_files_are_split_by_row_group(dataset, cluster, monkeypatch):
    monkeypatch.setattr(on_dask, "TASK_ROWS", 10_000)
    settings = dict(AUDITS["groups"], bootstrap=0, digest=False)
    _, remote, traffic = _both(dataset, settings, cluster.scheduler_address)
    expected = sum(len(on_dask.readers.parts(f, ("y",), 10_000))
                   for f in on_dask.readers.resolve([str(dataset)]))
    assert traffic.parts == expected > 2 * len(SIZES)
    assert [f.rows for f in remote.files] == list(SIZES)
    assert [f.sha256 for f in remote.files] == [""] * len(SIZES)


def test_the_api_audits_on_dask_with_the_same_result(dataset, cluster):
    settings = AUDITS["groups"]
    here = fairaudit.audit(str(dataset), **settings)
    there = fairaudit.audit(str(dataset), **settings, engine="dask",
                            scheduler=cluster.scheduler_address)
    assert there.verdict == here.verdict == "fail"
    assert [g.sentence for g in there.gates] == [g.sentence for g in here.gates]
    config = there.provenance.config
    assert (config["engine"], config["scheduler"], config["workers"]) == \
        ("dask", cluster.scheduler_address, None)
    assert "engine" not in here.provenance.config  # in-process reports are as they were
    with pytest.raises(UsageError, match="engine 'dask' counts files where they are stored"):
        fairaudit.audit(pa.table({"g": ["a"], "y": [1], "yhat": [1]}), label="y",
                        prediction="yhat", groups=["g"], engine="dask",
                        scheduler=cluster.scheduler_address)


def test_file_urls_are_read_by_the_workers(dataset, cluster):
    url = dataset.as_uri() + "/part-0[3-5].parquet"
    _local, remote, _ = _both(url, AUDITS["groups"], cluster.scheduler_address)
    assert [f.path for f in remote.files] == \
        [f"{dataset.as_uri()}/part-0{i}.parquet" for i in (3, 4, 5)]
    assert [f.rows for f in remote.files] == list(SIZES[3:6])


def test_a_new_outcome_kind_counts_on_the_workers(dataset, cluster, tmp_path):
    from test_kind_plugin import PositiveShare

    from fairaudit.kinds import register, unregister

    folder = tmp_path / "kind"
    folder.mkdir()
    for i, n in enumerate((500, 2_000, 7)):
        t = _file(n, 40 + i)
        value = np.random.default_rng(i).normal(0, 1, n)
        pq.write_table(t.append_column("value", pa.array(value, mask=value > 1.5)),
                       folder / f"k{i}.parquet")
    register(PositiveShare)
    try:
        _local, remote, _ = _both(folder, dict(label="y", prediction="yhat", groups=["band"],
                                              bootstrap=50), cluster.scheduler_address)
    finally:
        unregister(PositiveShare)
    assert "value:missing" in remote.table.cell_names


def test_a_multiclass_audit_counts_on_the_workers(cluster, tmp_path):
    # the classes are key columns of the counts: the workers' tables merge, then settle
    folder = tmp_path / "classes"
    folder.mkdir()
    for i, n in enumerate((800, 3_000, 5)):
        rng = np.random.default_rng(60 + i)
        y = rng.choice(["cat", "dog", "fox", None], n)
        p = np.where(rng.random(n) < 0.6, y, rng.choice(["cat", "dog", "fox"], n))
        pq.write_table(pa.table({"band": rng.choice(["a", "b"], n), "y": y, "p": p}),
                       folder / f"c{i}.parquet")
    _local, remote, _ = _both(folder, dict(task="multiclass", label="y", prediction="p",
                                          groups=["band"], bootstrap=50),
                              cluster.scheduler_address)
    assert remote.table.columns == ("band", "y", "p")


def test_checks_across_files_hold_across_workers(cluster, tmp_path):
    # each file alone has two classes; together they have three, which no worker sees
    for i, other in enumerate(("deny", "refer")):
        pq.write_table(pa.table({"g": ["a", "b"] * 20, "outcome": ["approve", other] * 20,
                                 "decision": ["approve"] * 40}), tmp_path / f"{i}.parquet")
    settings = dict(label="outcome", prediction="decision", positive_label="approve",
                    groups=["g"])
    with pytest.raises(InputError) as here:
        fairaudit.audit(str(tmp_path), **settings)
    with pytest.raises(InputError) as there:
        fairaudit.audit(str(tmp_path), **settings, engine="dask",
                        scheduler=cluster.scheduler_address)
    message = ("label column 'outcome' has more than two classes: 'approve' (positive) and "
               "'deny', 'refer'; a label must take two values")
    assert str(here.value).endswith(message) and str(there.value).endswith(message)


def test_progress_reaches_every_byte(dataset, cluster):
    seen: list[tuple[int, int, int]] = []
    cfg = engine.config_from(**AUDITS["groups"], engine="dask",
                             scheduler=cluster.scheduler_address)
    on_dask.count([str(dataset)], cfg, on_progress=lambda *a: seen.append(a))
    total = sum(p.stat().st_size for p in dataset.iterdir())
    assert seen[-1] == (sum(SIZES), total, total)
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(seen))


def test_the_command_line_on_a_scheduler_writes_the_same_report(dataset, cluster, tmp_path):
    args = ["run", dataset, "--label", "y", "--prediction", "yhat", "--group", "region",
            "--group", "sex", "--max-gap", "equalized_odds=0.1", "--bootstrap", "100"]
    here = invoke(*args, "--json", tmp_path / "here.json")
    there = invoke(*args, "--engine", "dask", "--scheduler", cluster.scheduler_address,
                   "--json", tmp_path / "there.json")
    assert here.exit_code == there.exit_code == 1, there.output
    assert there.stdout == here.stdout
    assert there.stderr == here.stderr
    from tests.cli_support import undocumented

    a, b = read_report(tmp_path / "here.json"), read_report(tmp_path / "there.json")
    assert sorted(set(undocumented(b, schema(), "$"))) == []
    assert b["provenance"]["config"]["engine"] == "dask"
    assert b["provenance"]["config_sources"]["scheduler"] == "command line"
    for doc in (a, b):
        del doc["provenance"]["timestamp"], doc["provenance"]["config"]
        del doc["provenance"]["config_sources"]
    assert a == b


def _scheduler_tasks(address: str) -> list[str]:
    with Client(address, set_as_default=False) as client:
        deadline = time.monotonic() + 10
        while True:
            keys = client.run_on_scheduler(
                lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
            if not keys or time.monotonic() > deadline:
                return [k for k in keys if k.startswith("fairaudit-")]
            time.sleep(0.1)


def _with_a_bad_file(dataset: Path, folder: Path) -> Path:
    for p in dataset.iterdir():
        (folder / p.name).symlink_to(p)
    (folder / "part-03b.parquet").write_bytes(b"PAR1" + bytes(100) + b"PAR1")
    return folder / "part-03b.parquet"


def test_an_unreadable_file_fails_the_audit_and_leaves_the_scheduler_clean(
        dataset, cluster, tmp_path):
    bad = _with_a_bad_file(dataset, tmp_path)
    result = invoke("run", tmp_path, "--label", "y", "--prediction", "yhat", "--group",
                    "region", "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert_cannot_audit(result, f"{bad}: ", "parquet")
    assert _scheduler_tasks(cluster.scheduler_address) == []
    assert len(cluster.scheduler_info["workers"]) == 2


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _settle(before: set[int]) -> set[int]:
    """Processes started since ``before`` that are still running (after a few seconds)."""
    deadline = time.monotonic() + 10
    while (left := _children() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_a_local_cluster_is_shut_down_after_a_failed_audit(dataset, tmp_path):
    bad = _with_a_bad_file(dataset, tmp_path)
    before = _children()
    result = invoke("run", tmp_path, "--label", "y", "--prediction", "yhat", "--group",
                    "region", "--engine", "dask", "--workers", "2")
    assert_cannot_audit(result, f"{bad}: ", "parquet")
    assert _settle(before) == set()


def test_a_real_run_on_a_local_cluster_prints_only_the_audit(dataset, tmp_path):
    args = [str(dataset), "--label", "y", "--prediction", "yhat", "--group", "band",
            "--min-ratio", "demographic_parity=0.5", "--bootstrap", "100"]
    proc = subprocess.run([sys.executable, "-m", "fairaudit", "run", *args, "--engine", "dask",
                           "--workers", "2", "--json", str(tmp_path / "a.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == invoke("run", *args).stdout
    assert read_report(tmp_path / "a.json")["provenance"]["config"]["workers"] == 2


# -- a worker that dies -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fragile() -> Any:
    """A cluster that tolerates one death per task (Dask's default tolerates three)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.CRITICAL,
                         scheduler_kwargs={"dashboard_address": on_dask.LOOPBACK}) as running:
        yield running


def _die_once(marker: str, target: str, part: Any, work: Any, acc: Any) -> int:
    """Count the part, but first kill this worker the first time it counts ``target``."""
    if part.src.path.endswith(target) and part.first_row == 1:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os._exit(1)  # the worker process dies mid-task, as one killed by the OS would
    return on_dask._count_into(part, work, acc)  # on the worker: the engine's own


def _die_always(deaths: str, target: str, part: Any, work: Any, acc: Any) -> int:
    if part.src.path.endswith(target):
        with open(deaths, "a") as f:
            f.write(f"{os.getpid()}\n")
        os._exit(1)
    return on_dask._count_into(part, work, acc)


def test_a_worker_killed_mid_audit_leaves_the_figures_exact(dataset, fragile, tmp_path,
                                                             monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setattr(on_dask, "TASK_ROWS", 10_000)  # many parts, some done before
    monkeypatch.setattr(on_dask, "_count_into",
                        functools.partial(_die_once, str(marker), "part-05.parquet"))
    settings = dict(AUDITS["ranges"], bootstrap=0, decide="point")
    _local, remote, traffic = _both(dataset, settings, fragile.scheduler_address)
    killed = int(marker.read_text())
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"
    # no part lost, none counted twice: each file's rows are its own
    assert [f.rows for f in remote.files] == list(SIZES)
    assert traffic.parts > len(SIZES)


def test_a_part_that_kills_every_worker_fails_the_audit_in_one_line(dataset, fragile,
                                                                     tmp_path, monkeypatch):
    deaths = tmp_path / "deaths"
    monkeypatch.setattr(on_dask, "_count_into",
                        functools.partial(_die_always, str(deaths), "part-04.parquet"))
    result = invoke("run", dataset, "--label", "y", "--prediction", "yhat", "--group", "band",
                    "--engine", "dask", "--scheduler", fragile.scheduler_address)
    # the file's task, or one queued beside it on the same workers, is the one given up on
    line = assert_cannot_audit(result, ": Dask workers died each time they ran the task ",
                               "(out of memory, or killed)")
    assert str(dataset / "part-0") in line
    assert len(deaths.read_text().split()) == 2  # the first run and its one retry
    assert _scheduler_tasks(fragile.scheduler_address) == []


# -- settings and missing pieces ----------------------------------------------------------


def test_without_dask_the_error_names_the_extra(monkeypatch, dataset):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError, match=r'install them with: pip install "fairaudit\[dask\]"'):
        fairaudit.audit(str(dataset), label="y", prediction="yhat", groups=["band"],
                        engine="dask")
    result = invoke("run", dataset, "--label", "y", "--prediction", "yhat", "--group", "band",
                    "--engine", "dask")
    assert_cannot_audit(result, "the Dask engine needs dask and distributed",
                        'pip install "fairaudit[dask]"')


def test_an_unreachable_scheduler_is_one_line(dataset):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = invoke("run", dataset, "--label", "y", "--prediction", "yhat", "--group",
                        "band", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert_cannot_audit(result, "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
                        "--scheduler")


BASE = dict(label="y", prediction="yhat", groups=["g"])


def test_engine_settings_are_checked():
    # each message names the setting as it was given (a flag, a key, a keyword argument)
    with pytest.raises(ConfigError, match=r"engine=? 'spark' is not one of: in-process, dask$"):
        engine.config_from(**BASE, engine="spark")
    with pytest.raises(ConfigError, match=r"workers=? 0 must be a whole number >= 1"):
        engine.config_from(**BASE, engine="dask", workers=0)
    with pytest.raises(ConfigError, match=r"scheduler=? 'tcp://a b' is not an address"):
        engine.config_from(**BASE, engine="dask", scheduler="tcp://a b")
    with pytest.raises(ConfigError, match=r"scheduler=? is a setting of the Dask engine"):
        engine.config_from(**BASE, scheduler="tcp://host:8786")
    with pytest.raises(ConfigError, match=r"workers=? sets the size of the local cluster"):
        engine.config_from(**BASE, engine="dask", scheduler="tcp://host:8786", workers=2)


def test_engine_settings_from_a_file_the_flags_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fairaudit.toml").write_text('engine = "dask"\nscheduler = "tcp://a:1"\n'
                                             'groups = ["g"]\n')
    result = invoke("run", "x.parquet", "--engine", "spark", "--prediction", "p")
    assert_cannot_audit(result, "--engine 'spark' is not one of: in-process, dask")
    (tmp_path / "fairaudit.toml").write_text('engine = "dusk"\n')
    assert_cannot_audit(invoke("run", "x.parquet"),
                        "fairaudit.toml: engine 'dusk' is not one of: in-process, dask")
    (tmp_path / "fairaudit.toml").write_text("workers = true\n")
    assert_cannot_audit(invoke("run", "x.parquet"),
                        "key 'workers' must be a whole number of worker processes")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://scheduler:8786")
    cfg = engine.config_from(**BASE, engine="dask")
    assert (cfg.scheduler, cfg.sources["scheduler"]) == \
        ("tcp://scheduler:8786", "DASK_SCHEDULER_ADDRESS")
    assert engine.config_from(**BASE, engine="dask", workers=3).scheduler is None
    assert engine.config_from(**BASE).scheduler is None  # only the Dask engine reads it


def test_engine_errors_are_fairaudit_errors():
    assert issubclass(EngineError, fairaudit.FairauditError)
