"""What the history costs: recording a run of a 100-group audit, and `fairaudit history`
over 1,000 runs.

    python benchmarks/history_cost.py [--groups 100] [--rows 200000] [--runs 1000]
                                      [--repeat 5] [--keep DIR]

Recording: the audit of one generated file (in-process: count, then judge) and
then ``History.record`` of its counts and figures into a history on the local
disk, each timed ``--repeat`` times; printed in seconds and as a share of the
audit measured in the same run. The history: ``--runs`` nightly runs of the same
audit (each night's own counts) recorded into one file, then the whole process
``fairaudit history H --last 0`` (every run in the terminal), with ``--json`` and
with ``--html``, each in a fresh subprocess, against the interpreter's bare
start measured alongside. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def frame(rows: int, groups: int, seed: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, rows)
    y = rng.random(rows) < 0.4
    p = np.where(y, rng.random(rows) < 0.7, rng.random(rows) < 0.2 + 0.001 * (g % 50))
    return pa.table({"store": pa.array([f"s{x:03d}" for x in g]).dictionary_encode(),
                     "y": pa.array(y.astype(np.int8)), "p": pa.array(p.astype(np.int8))})


SETTINGS: dict[str, Any] = dict(label="y", prediction="p", groups=["store"],
                                max_gap={"false_positive_parity": 0.3},
                                min_ratio={"demographic_parity": 0.5})


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def recording(folder: Path, rows: int, groups: int, repeat: int) -> None:
    import pyarrow.parquet as pq

    from fairaudit.engine import config_from, count, judge
    from fairaudit.history import History

    data = folder / "night.parquet"
    pq.write_table(frame(rows, groups, 1), data)
    cfg = config_from(**SETTINGS)
    audits, records = [], []
    db = folder / "record.db"
    for i in range(repeat + 1):  # the first round warms the caches and is left out
        start = time.perf_counter()
        counted = count(str(data), cfg)
        result = judge(counted.table, cfg, counted.files)
        audited = time.perf_counter()
        with History.open(db, create=True) as h:
            h.record(result, counted.table, cfg, as_of=f"2024-01-{i + 1:02d}")
        done = time.perf_counter()
        if i:
            audits.append(audited - start)
            records.append(done - audited)
    groups_seen = len(result.grouping("store").figures)
    print(f"recording a run: {groups_seen} groups, {rows:,} rows, bootstrap "
          f"{cfg.bootstrap}; median of {repeat}")
    print(f"  audit (count + judge)   {median(audits):8.3f} s")
    print(f"  record (open + write)   {median(records):8.3f} s   "
          f"{median(records) / median(audits):6.1%} of the audit   (target: under 0.1 s)")


def build(folder: Path, runs: int, groups: int) -> Path:
    """``runs`` nights recorded: a few distinct nights' counts, judged once each, stored
    under successive dates (recording is what is measured, not the audits)."""
    import datetime as dt

    from fairaudit.engine import config_from, count, judge
    from fairaudit.history import History

    cfg = config_from(**SETTINGS, bootstrap=200)
    nights = []
    for seed in range(7):
        counted = count(frame(20_000, groups, seed), cfg)
        nights.append((judge(counted.table, cfg, counted.files), counted.table))
    db = folder / "h.db"
    start = dt.date(2022, 1, 1)
    with History.open(db, create=True) as h:
        for i in range(runs):
            result, table = nights[i % len(nights)]
            h.record(result, table, cfg, as_of=(start + dt.timedelta(days=i)).isoformat())
    return db


def process(args: list[str], repeat: int, cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{args}: exit {proc.returncode}: {proc.stderr[-500:]}")
    return median(times[1:])


def history(folder: Path, runs: int, groups: int, repeat: int) -> None:
    db = build(folder, runs, groups)
    size = db.stat().st_size
    base = process(["-c", "pass"], repeat, folder)
    cases = [
        ("terminal, every run", ["history", db.name, "--last", "0"]),
        ("JSON, every run", ["history", db.name, "--last", "0", "--json", "h.json", "-q"]),
        ("terminal + drift gate", ["history", db.name, "--last", "0", "--max-increase",
                                   "false_positive_parity=0.05", "--baseline-runs", "30"]),
        ("HTML, every run", ["history", db.name, "--last", "0", "--html", "h.html", "-q"]),
        ("HTML, last 30 (default)", ["history", db.name, "--html", "h.html", "-q"]),
    ]
    print(f"\nfairaudit history over {runs:,} runs ({size / 1e6:.1f} MB history, "
          f"{groups} groups a run); whole process, median of {repeat}")
    print(f"  python -c pass          {base:8.3f} s")
    for name, args in cases:
        t = process(["-m", "fairaudit", *args], repeat, folder)
        print(f"  {name:<24}{t:8.3f} s   (target: under 2 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.keep) as tmp:
        folder = Path(tmp)
        recording(folder, args.rows, args.groups, args.repeat)
        history(folder, args.runs, args.groups, args.repeat)


if __name__ == "__main__":
    main()
