"""Peak memory of `fairaudit run` on CSV, against the same rows as parquet.

The CSV holds the rows of benchmarks/generate.py (group columns as text), one
file per size; the parquet file of the same size is the reference, measured in
the same run. Each audit is a whole process (three group columns and their
intersection, the digest on, `--bootstrap 0`); its peak resident set size is
read from the kernel's accounting of the child (``wait4``), so nothing in the
measured process changes. The kernel counts in a child's peak the memory of
the process it was forked from, so this script measures from a process that
imports no more than the standard library, and writes the data files from
another.

    python benchmarks/csv_memory.py                        # 1e6 1e7 2e7 rows
    python benchmarks/csv_memory.py --sizes 1e6 --repeats 3
    # the same figures for another checkout (a "before"):
    python benchmarks/csv_memory.py --pythonpath /path/to/old/checkout

Files go to benchmarks/data/ (not committed): rows_1e7.csv, rows_1e7.parquet ...
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
ARGS = ["--label", "label", "--prediction", "prediction", "--group", "region",
        "--group", "age_band", "--group", "sex", "--bootstrap", "0", "--quiet"]


def write_csv(path: str, n_rows: int) -> None:
    import generate
    import pyarrow as pa
    import pyarrow.csv as pacsv

    fields = [(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
              for f in generate.SCHEMA]
    tmp = path + ".tmp"
    with pacsv.CSVWriter(tmp, pa.schema(fields)) as writer:
        for t in generate.chunks(n_rows):
            writer.write_table(pa.table(
                [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c
                 for c in t.columns], names=t.column_names))
    os.replace(tmp, path)


def ensure(folder: str, n_rows: int) -> dict[str, str]:
    """The CSV and parquet files of ``n_rows`` rows, written (by another process) if missing."""
    name = f"{n_rows:.0e}".replace("+0", "").replace("+", "")  # 1e6, 2e7
    paths = {"csv": os.path.join(folder, f"rows_{name}.csv"),
             "parquet": os.path.join(folder, f"rows_{name}.parquet")}
    for kind, path in paths.items():
        if not os.path.exists(path):
            subprocess.run([sys.executable, __file__, "--write", kind, path, str(n_rows)],
                           check=True)
    return paths


def write(kind: str, path: str, n_rows: int) -> None:
    sys.path.insert(0, HERE)
    import generate

    t0 = time.perf_counter()
    (write_csv if kind == "csv" else generate.write_file)(path, n_rows)
    print(f"{path}: {n_rows:,} rows, {os.path.getsize(path) / 1e6:,.0f} MB, "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)


def measure(path: str, pythonpath: str | None) -> tuple[float, float]:
    """Peak RSS (MB) and wall time (s) of one `fairaudit run` on ``path``."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    # from the checkout's folder: `python -m` puts the working folder first on the path
    proc = subprocess.Popen([sys.executable, "-m", "fairaudit", "run", os.path.abspath(path),
                             *ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, cwd=pythonpath or os.path.dirname(HERE))
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{path}: fairaudit exited {proc.returncode}: {err.decode()[-500:]}")
    return usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def main() -> None:
    if sys.argv[1:2] == ["--write"]:
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="*", default=["1e6", "1e7", "2e7"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=DATA)
    ap.add_argument("--pythonpath", help="run fairaudit from this checkout instead")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for text in args.sizes:
        n = int(float(text))
        paths = ensure(args.out, n)
        got: dict[str, list[tuple[float, float]]] = {"csv": [], "parquet": []}
        for _ in range(args.repeats):
            for kind in ("parquet", "csv"):  # neighbouring runs, so that load hits both
                got[kind].append(measure(paths[kind], args.pythonpath))
        rss = {k: statistics.median(r for r, _ in v) for k, v in got.items()}
        wall = {k: statistics.median(w for _, w in v) for k, v in got.items()}
        rows.append((n, os.path.getsize(paths["csv"]) / 1e6, rss["csv"], rss["parquet"],
                     wall["csv"], wall["parquet"]))
        print(f"{n:,} rows done", file=sys.stderr)
    print("| rows | CSV size | CSV peak RSS | parquet peak RSS | CSV / parquet | CSV time "
          "| parquet time |")
    print("|---|---|---|---|---|---|---|")
    for n, size, csv_rss, pq_rss, csv_wall, pq_wall in rows:
        print(f"| {n:,} | {size:,.0f} MB | {csv_rss:,.0f} MB | {pq_rss:,.0f} MB | "
              f"{csv_rss / pq_rss:.2f} | {csv_wall:.1f} s | {pq_wall:.1f} s |")
    print(f"\n(the measuring process peaked at {_own_peak():.0f} MB: the floor of every "
          "figure above)")


def _own_peak() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
