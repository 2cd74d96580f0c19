"""What range checks cost: an audit with ranges on four features against one without, and
against a plain read of the same columns, on one generated parquet file.

    python benchmarks/ranges_overhead.py [--rows 10000000] [--repeat 3] [--keep FILE]

Each measurement runs in a fresh subprocess, so its peak memory (max RSS) is its
own. Prints seconds, peak memory and ratios against the plain read measured in
the same run. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1_000_000

RANGES = {"income": {"min": 700, "max": 12000}, "debt": {"max": 90000},
          "age": {"min": 21, "max": 74},
          "employment": {"allowed": ["salaried", "self-employed", "retired"]}}
COLUMNS = ["sex", "age_band", "label", "prediction", "income", "debt", "age", "employment"]


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    jobs = np.array(["salaried", "self-employed", "retired", "student", "unemployed"])
    bands = np.array(["18-25", "26-40", "41-60", "61+"])
    writer = None
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        income = rng.lognormal(7.8, 0.6, n)
        table = pa.table({
            "sex": pa.array(rng.choice(np.array(["F", "M"]), n)),
            "age_band": pa.array(rng.choice(bands, n)),
            "label": pa.array(rng.integers(0, 2, n, dtype=np.int8)),
            "prediction": pa.array(rng.integers(0, 2, n, dtype=np.int8)),
            "income": pa.array(income, mask=rng.random(n) < 0.01),
            "debt": pa.array(rng.integers(0, 120_000, n)),
            "age": pa.array(rng.integers(18, 90, n)),
            "employment": pa.array(rng.choice(jobs, n)),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
        done += n
    assert writer is not None
    writer.close()


def _child(mode: str, path: str) -> None:
    import resource

    sys.path.insert(0, str(ROOT))
    import fairaudit
    from fairaudit import readers

    start = time.perf_counter()
    if mode == "read":
        src = readers.resolve([path])[0]
        rows = 0
        # as the audit reads them: group and category columns dictionary-encoded
        for batch in readers.batches(src, COLUMNS, ["sex", "age_band", "employment"]):
            rows += batch.num_rows
    else:
        extra: dict[str, Any] = {"ranges": RANGES} if mode == "ranges" else {}
        fairaudit.audit(path, label="label", prediction="prediction",
                        groups=["sex", "age_band"], **extra)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "max_rss_mb": rss}))


def _measure(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)],
                         capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.parquet"
        if not path.exists():
            t = time.perf_counter()
            generate(path, args.rows)
            print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s "
                  f"({os.path.getsize(path) / 1e6:.0f} MB)")
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for mode in ("read", "audit", "ranges"):
                m = _measure(mode, path)
                if mode not in best or m["seconds"] < best[mode]["seconds"]:
                    best[mode] = m
        read = best["read"]["seconds"]
        print(f"{'mode':<28}{'seconds':>9}{'x read':>9}{'peak MB':>10}")
        names = {"read": "plain read of the columns", "audit": "audit, no ranges",
                 "ranges": "audit, ranges on 4 features"}
        for mode, m in best.items():
            print(f"{names[mode]:<28}{m['seconds']:>9.2f}{m['seconds'] / read:>9.2f}"
                  f"{m['max_rss_mb']:>10.0f}")
        print(f"range checks add {best['ranges']['seconds'] / best['audit']['seconds']:.2f}x "
              "to the audit without them")


if __name__ == "__main__":
    main()
