"""What the bootstrap adds to an audit: three group columns and their intersection.

The audit's counts are made once (from synthetic rows); then the pure judging
step runs on them with the bootstrap off and with it on, and the difference is
the bootstrap's cost. The bootstrap draws from the counts, so its cost depends
on groups and replicates, not rows: the script shows it at two row counts.

    python benchmarks/bootstrap_cost.py [--replicates 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fairaudit.config import AuditConfig
from fairaudit.engine import count_batches, judge

LEVELS = {"region": 4, "age_band": 4, "sex": 4}  # 4 x 4 x 4 = 64 intersection groups


def counts(rows: int, alike: bool, seed: int = 0):  # type: ignore[no-untyped-def]
    """Counts of synthetic rows; ``alike``: every group has the same rates (the costly case)."""
    rng = np.random.default_rng(seed)
    codes = {name: rng.integers(0, k, rows) for name, k in LEVELS.items()}
    columns = {name: pa.array(c.astype(str)) for name, c in codes.items()}
    label = rng.integers(0, 2, rows)
    shift = 0.0 if alike else 0.04 * sum(codes.values()) - 0.18
    decision = (rng.random(rows) < 0.3 + 0.4 * label + shift).astype(np.int64)
    table = pa.table({"y": label, "yhat": decision, **columns})
    config = AuditConfig(groups=tuple(LEVELS), label="y", prediction="yhat")
    counted, _ = count_batches([table.to_batches(max_chunksize=1 << 20)], ["<synthetic>"],
                               config.roles)
    return counted


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    base = dict(groups=tuple(LEVELS), label="y", prediction="yhat")
    off = AuditConfig(**base, bootstrap=0)  # type: ignore[arg-type]
    on = AuditConfig(**base, bootstrap=args.replicates)  # type: ignore[arg-type]
    judge(counts(1000, True), on)  # warm up: imports, first calls
    print(f"bootstrap cost, {args.replicates:,} replicates, groupings "
          f"{', '.join(f'{k} ({v})' for k, v in LEVELS.items())} and their intersection "
          f"({int(np.prod(list(LEVELS.values())))} groups); best of {args.repeat}")
    print()
    print("| rows | group rates | judge, bootstrap off (s) | judge, bootstrap on (s) | "
          "added (s) |")
    print("|---:|---|---:|---:|---:|")
    for rows in (100_000, 10_000_000):
        for alike in (True, False):
            table = counts(rows, alike)
            t_off = best_of(args.repeat, lambda: judge(table, off))  # noqa: B023
            t_on = best_of(args.repeat, lambda: judge(table, on))  # noqa: B023
            print(f"| {rows:,} | {'alike' if alike else 'differ'} | {t_off:.3f} | "
                  f"{t_on:.3f} | {t_on - t_off:.3f} |")


if __name__ == "__main__":
    main()
