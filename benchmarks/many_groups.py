"""Time and peak memory of `fairaudit run` on a group column with 1e4, 1e5 and 1e6 levels.

A user id given as a group by mistake: one parquet file a size, ``--rows`` rows
whose group column ``user`` holds ``levels`` distinct values (each row's value
drawn uniformly, so nearly every level occurs). Each audit is a whole process
(`--bootstrap 0`, digest on, the JSON report written); its peak resident set
size is the kernel's accounting of the child (``wait4``), measured from a
process that imports only the standard library (a forked child's peak counts
its parent's memory), and the data files are written by another process.

For each size the audit runs with ``--max-groups`` at the level count (it
passes), and, above the default limit of 100,000, once more with the default:
the refusal, detected while counting, and what it costs. ``--memory-limit``
caps each audit's data segment (``RLIMIT_DATA``, default 8 GB) so that a size
too large for the machine fails with exit 3 (a MemoryError) instead of taking
a shared machine down.

    python benchmarks/many_groups.py                    # 1e7 rows
    python benchmarks/many_groups.py --rows 1e6 --levels 1e4 1e5

Files go to benchmarks/data/ (not committed): groups_1e6_rows_1e7.parquet ...
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
DEFAULT_MAX = 100_000
BLOCK = 1_000_000


def _name(n: int) -> str:
    return f"{n:.0e}".replace("+0", "").replace("+", "")  # 1e6, 2e7


def write(path: str, rows: int, levels: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(levels)
    names = pa.array([f"u{i:07d}" for i in range(levels)])
    tmp = path + ".tmp"
    t0 = time.perf_counter()
    with pq.ParquetWriter(tmp, pa.schema([("y", pa.int8()), ("p", pa.int8()),
                                          ("user", pa.dictionary(pa.int32(), pa.string()))])
                          ) as writer:
        for start in range(0, rows, BLOCK):
            n = min(BLOCK, rows - start)
            codes = rng.integers(0, levels, n, dtype=np.int32)
            y = rng.integers(0, 2, n, dtype=np.int8)
            p = np.where(rng.random(n) < 0.8, y, 1 - y).astype(np.int8)
            user = pa.DictionaryArray.from_arrays(pa.array(codes), names)
            writer.write_table(pa.table({"y": y, "p": p, "user": user}))
    os.replace(tmp, path)
    print(f"{path}: {rows:,} rows, {levels:,} levels, {os.path.getsize(path) / 1e6:,.0f} MB, "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)


def ensure(folder: str, rows: int, levels: int) -> str:
    path = os.path.join(folder, f"groups_{_name(levels)}_rows_{_name(rows)}.parquet")
    if not os.path.exists(path):
        subprocess.run([sys.executable, __file__, "--write", path, str(rows), str(levels)],
                       check=True)
    return path


def measure(path: str, max_groups: int | None, json_path: str, limit_gb: float
            ) -> tuple[float, float, int, str]:
    """Peak RSS (MB), wall time (s), exit code and last stderr line of one `fairaudit run`."""
    args = [sys.executable, "-m", "fairaudit", "run", path, "--label", "y", "--prediction", "p",
            "--group", "user", "--bootstrap", "0", "--quiet", "--no-progress",
            "--json", json_path]
    if max_groups is not None:
        args += ["--max-groups", str(max_groups)]
    cap = int(limit_gb * 1e9)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=os.path.dirname(HERE), preexec_fn=limit if cap else None)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return usage.ru_maxrss / 1024, wall, code, err[-1] if err else ""


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        write(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1e7")
    ap.add_argument("--levels", nargs="*", default=["1e4", "1e5", "1e6"])
    ap.add_argument("--out", default=DATA)
    ap.add_argument("--refusal-only", action="store_true",
                    help="above the default limit, only the run that is refused")
    ap.add_argument("--memory-limit", type=float, default=8.0, metavar="GB",
                    help="cap on each audit's data segment (0: none)")
    args = ap.parse_args()
    rows = int(float(args.rows))
    os.makedirs(args.out, exist_ok=True)
    print(f"{rows:,} rows, each audit capped at {args.memory_limit:g} GB; before: {_load()}")
    print("| levels | --max-groups | exit | wall | peak RSS | stderr |")
    print("|---:|---:|---:|---:|---:|---|")
    for text in args.levels:
        levels = int(float(text))
        path = ensure(args.out, rows, levels)
        json_path = os.path.join(args.out, "many_groups.json")
        runs: list[int | None] = [levels if levels > DEFAULT_MAX else None]
        if levels > DEFAULT_MAX:
            runs = [None] if args.refusal_only else [*runs, None]
        for limit in runs:
            rss, wall, code, last = measure(path, limit, json_path, args.memory_limit)
            shown = f"{limit:,}" if limit else f"{DEFAULT_MAX:,} (default)"
            note = last if code != 0 or "warning" in last else ""
            print(f"| {levels:,} | {shown} | {code} | {wall:.1f} s | {rss:,.0f} MB | {note} |",
                  flush=True)
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
