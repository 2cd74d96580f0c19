"""The Dask engine against the in-process engine, on one folder of parquet files.

    python benchmarks/generate.py --sizes --no-files --split 1e7x100    # once
    python benchmarks/dask_scale.py --rows 1e7 --files 100
    python benchmarks/generate.py --sizes --no-files --split 1e8x100    # 2.6 GB
    python benchmarks/dask_scale.py --rows 1e8 --files 100

The audit: three group columns and their intersection, the point figures
(``--bootstrap 0``, as benchmarks/run.py), without the digest unless
``--digest``. Two measures:

- **counting**, the pass that differs between engines, on clusters already
  running: ``engine.count`` in this process (its threads on every core)
  against ``backends.dask.count`` on a ``LocalCluster`` of 1 and of 2 worker
  processes (one thread each), round by round in a rotating order, each
  cluster warmed by one audit first. Reported: median wall time, rows a
  second (and a second per worker), the ratio to the in-process pass taken
  round by round, and what came back to the client: the pickled bytes of the
  count tables (one a part) and of the rest (parts' descriptions, digests).
- **whole process**: ``fairaudit run`` with ``--engine dask --workers N``
  (starting and stopping its local cluster) against ``fairaudit run``.

The counts of every engine are checked equal, cell by cell, and their figures
(the JSON report but for its config) equal too. The CPU time other processes
used meanwhile is printed: the Dask figures are only as good as the machine is
idle.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from distributed import LocalCluster

from fairaudit import engine
from fairaudit.backends import dask as on_dask
from fairaudit.report.json import to_dict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GROUPS = ["region", "age_band", "sex"]


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def warm(folder: Path) -> None:
    """Read the files once, so that every run finds them in the page cache."""
    for p in sorted(folder.iterdir()):
        with open(p, "rb", buffering=0) as f:
            while f.read(1 << 24):
                pass


def settings(digest: bool) -> dict[str, Any]:
    return dict(label="label", prediction="prediction", groups=GROUPS, bootstrap=0,
                digest=digest)


def cells(table: Any) -> dict[tuple[Any, ...], list[int]]:
    keys, counts = table.project(table.columns)
    return {k: row.tolist() for k, row in zip(keys, counts, strict=True)}


def figures(counted: engine.Counted, config: Any) -> dict[str, Any]:
    doc = to_dict(engine.judge(counted.table, config, counted.files, "2026-01-01T00:00:00Z"))
    for key in ("config", "config_sources"):
        del doc["provenance"][key]
    return doc


def own_cpu() -> float:
    """CPU seconds of this process and its children (the local clusters' workers)."""
    total = 0.0
    me = psutil.Process()
    for p in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, other processes' cores meanwhile (not this one's or its workers'),
    and the result."""
    busy, cpu, t0 = busy_seconds(), own_cpu(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    others = max(0.0, busy_seconds() - busy - (own_cpu() - cpu))
    return wall, others / wall, out


def counting(folder: Path, workers: list[int], repeats: int, digest: bool
             ) -> tuple[dict[str, list[float]], dict[str, Any], list[float]]:
    here = engine.config_from(**settings(digest))
    clusters: dict[int, Any] = {}
    walls: dict[str, list[float]] = {"in-process": []}
    traffic: dict[str, Any] = {}
    load: list[float] = []
    try:
        for n in workers:
            t0 = time.perf_counter()
            clusters[n] = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.CRITICAL,
                scheduler_kwargs={"dashboard_address": on_dask.LOOPBACK})
            print(f"  local cluster of {n}: started in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            walls[f"dask, {n} worker{'s' if n > 1 else ''}"] = []
        configs = {name: engine.config_from(**settings(digest), engine="dask",
                                            scheduler=clusters[n].scheduler_address)
                   for name, n in zip(list(walls)[1:], workers, strict=True)}

        def one(name: str) -> Any:
            if name == "in-process":
                return engine.count(str(folder), here)
            table, files, moved = on_dask.count([str(folder)], configs[name])
            traffic[name] = moved
            return engine.Counted(table, files)

        reference = engine.count(str(folder), here)
        expected_cells, expected_figures = cells(reference.table), figures(reference, here)
        for name, config in configs.items():  # warm-up: imports on the workers; and a check
            got = one(name)
            if cells(got.table) != expected_cells or got.files != reference.files:
                raise SystemExit(f"{name}: the counts differ from the in-process counts")
            if figures(got, config) != expected_figures:
                raise SystemExit(f"{name}: the figures differ from the in-process figures")
        names = list(walls)
        for r in range(repeats):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                warm(folder)
                wall, others, got = timed(lambda name=name: one(name))  # type: ignore[misc]
                if cells(got.table) != expected_cells:
                    raise SystemExit(f"{name}: the counts differ in round {r + 1}")
                walls[name].append(wall)
                load.append(others)
                print(f"  round {r + 1}: {name:16s} {wall:7.3f} s  (others {others:.2f} cores)",
                      file=sys.stderr, flush=True)
    finally:
        for c in clusters.values():
            c.close()
    return walls, traffic, load


def whole(folder: Path, workers: list[int], repeats: int, digest: bool
          ) -> dict[str, list[float]]:
    base = [sys.executable, "-m", "fairaudit", "run", str(folder), "--label", "label",
            "--prediction", "prediction", *[x for g in GROUPS for x in ("-g", g)],
            "--bootstrap", "0", "--no-progress", "--quiet"]
    if not digest:
        base.append("--no-digest")
    programs = {"fairaudit run": base}
    for n in workers:
        programs[f"--engine dask --workers {n}"] = [*base, "--engine", "dask", "--workers",
                                                    str(n)]
    walls: dict[str, list[float]] = {name: [] for name in programs}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    names = list(programs)
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            warm(folder)
            with tempfile.TemporaryFile() as err:
                t0 = time.perf_counter()
                proc = subprocess.run(programs[name], stdout=subprocess.DEVNULL, stderr=err,
                                      cwd=ROOT, env=env, check=False)
                wall = time.perf_counter() - t0
                err.seek(0)
                if proc.returncode != 0 or (stderr := err.read().decode()):
                    raise SystemExit(f"{name} exited {proc.returncode}: {stderr[-2000:]}")
            walls[name].append(wall)
            print(f"  whole process, round {r + 1}: {name:28s} {wall:7.3f} s", file=sys.stderr,
                  flush=True)
    return walls


def ratios(walls: dict[str, list[float]], reference: str) -> dict[str, float]:
    return {name: statistics.median(a / b for a, b in zip(w, walls[reference], strict=True))
            for name, w in walls.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1e7")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--whole-repeats", type=int, default=2,
                    help="rounds of whole `fairaudit run` processes (0: none)")
    ap.add_argument("--digest", action="store_true", help="take every file's SHA-256 too")
    args = ap.parse_args(argv)
    rows = int(float(args.rows))
    folder = HERE / "data" / f"files_{args.files}x{rows // args.files}"
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no such folder; write it with: python "
                         f"benchmarks/generate.py --sizes --no-files --split "
                         f"{args.rows}x{args.files}")
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{rows:,} rows in {args.files} files ({size / 1e6:,.0f} MB), {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, digest {'on' if args.digest else 'off'}",
          file=sys.stderr)
    walls, traffic, load = counting(folder, args.workers, args.repeats, args.digest)
    relative = ratios(walls, "in-process")
    print(f"\n## Counting, on clusters already running: {rows:,} rows, {args.files} files, "
          f"{args.repeats} rounds\n")
    print("| engine | median wall (s) | rows/s | rows/s per worker | / in-process (paired) "
          "| count tables back (bytes) | largest table | other results (bytes) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, w in walls.items():
        median = statistics.median(w)
        n = 0 if name == "in-process" else int(name.split()[1])
        moved = traffic.get(name)
        back = (f"{moved.count_bytes:,} ({moved.tasks} tasks) | {moved.largest_count:,} | "
                f"{moved.other_bytes:,}") if moved else "- | - | -"
        print(f"| {name} | {median:.3f} | {rows / median:,.0f} | "
              f"{rows / median / n if n else rows / median / (os.cpu_count() or 1):,.0f}"
              f"{'' if n else ' (per core)'} | {relative[name]:.2f} | {back} |")
    print(f"\nothers' load during the rounds: median {statistics.median(load):.2f} cores, "
          f"max {max(load):.2f}")
    if args.whole_repeats:
        processes = whole(folder, args.workers, args.whole_repeats, args.digest)
        relative = ratios(processes, "fairaudit run")
        print(f"\n## Whole `fairaudit run` processes (local cluster started and stopped), "
              f"{args.whole_repeats} rounds\n")
        print("| program | median wall (s) | / fairaudit run (paired) |")
        print("|---|---:|---:|")
        for name, w in processes.items():
            print(f"| `{name}` | {statistics.median(w):.3f} | {relative[name]:.2f} |")
    print("\ncounts and figures: the same on every engine (checked cell by cell)")


if __name__ == "__main__":
    main()
