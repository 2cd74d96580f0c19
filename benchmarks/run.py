"""Measure `fairaudit run` against a plain read, pandas and fairlearn, as whole processes.

    python benchmarks/generate.py --sizes 1e6 1e7 1e8 --files   # once
    python benchmarks/run.py                                     # every scenario with data
    python benchmarks/run.py --scenarios 1e7 files --repeats 7
    python benchmarks/run.py --scenarios 1e8 \\
        --fairaudit-arg=--range --fairaudit-arg=income=0:1e6 --read-column income

Each scenario runs its programs alternately (the order rotates every round),
each run in a fresh process with the input file read into the page cache
first. Reported: median wall time, median CPU time, median peak RSS (from the
OS, ``wait4``), and ratios taken round by round (the two runs of a ratio are
neighbours in time) and then their median. The CPU time other processes used
during the runs is reported too, since a busy machine slows everything.
After the runs, the figures are checked: fairaudit's per-group rates against
pandas and fairlearn, to 1e-9, and the folder of small files against the one
file.

``fairaudit run`` computes the point figures, as the references do
(``--bootstrap 0``). ``--fairaudit-arg`` passes extra flags to every
``fairaudit run`` (range checks, ``--bootstrap=1000`` for intervals ...);
``--read-column`` adds the columns those flags make the audit read to the
plain read, so the floor stays fair.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "out")
BASELINES = os.path.join(HERE, "baselines.py")
GROUPS = ["region", "age_band", "sex"]
TOLERANCE = 1e-9


@dataclass
class Program:
    name: str
    argv: list[str]
    inputs: list[str]
    output: str | None = None
    kind: str = "other"  # fairaudit, pandas, fairlearn, read
    runs: int | None = None  # at most this many runs (None: every round)


@dataclass
class Scenario:
    name: str
    programs: list[Program]
    ratios: list[tuple[str, str]]  # (numerator program, denominator program)
    checks: list[tuple[str, str]] = field(default_factory=list)  # (fairaudit, reference)


@dataclass
class Run:
    wall: float
    cpu: float
    rss_kib: int
    others_cores: float


def data(name: str) -> str:
    return os.path.join(DATA, name)


def fairaudit(name: str, path: str, groups: list[str], extra: list[str]) -> Program:
    out = os.path.join(OUT, f"{name}.json")
    # the point figures the references compute; --fairaudit-arg=--bootstrap=1000 (a
    # later flag wins) measures the intervals too
    argv = [sys.executable, "-m", "fairaudit", "run", path, "--label", "label",
            "--prediction", "prediction", *[x for g in groups for x in ("-g", g)],
            "--json", out, "--no-progress", "--bootstrap", "0", *extra]
    return Program(name, argv, [path], out, "fairaudit")


def baseline(how: str, name: str, path: str, groups: list[str], columns: list[str] | None = None,
             runs: int | None = None) -> Program:
    out = os.path.join(OUT, f"{name}.json")
    argv = [sys.executable, BASELINES, how, path]
    if how == "read":
        argv += ["--columns", *(columns or [])]
        return Program(name, argv, [path], None, "read", runs)
    argv += [x for g in groups for x in ("-g", g)] + ["--out", out]
    return Program(name, argv, [path], out, how, runs)


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    extra = args.fairaudit_arg
    cols = ["label", "prediction", *GROUPS, *args.read_column]
    out: list[Scenario] = []
    for size in ("1e6", "1e7", "1e8"):
        path = data(f"rows_{size}.parquet")
        programs = [
            baseline("read", f"read-{size}", path, GROUPS, cols),
            fairaudit(f"fairaudit-{size}", path, GROUPS, extra),
        ]
        checks = []
        if size != "1e8" or args.pandas_1e8:
            programs.append(baseline("pandas", f"pandas-{size}", path, GROUPS))
            checks.append((f"fairaudit-{size}", f"pandas-{size}"))
        ratios = [(f"fairaudit-{size}", f"read-{size}")]
        if size != "1e6":
            # the SHA-256 of the whole file, the default, against the audit without it
            programs.append(fairaudit(f"no-digest-{size}", path, GROUPS,
                                      [*extra, "--no-digest"]))
            ratios.append((f"no-digest-{size}", f"read-{size}"))
            checks.append((f"no-digest-{size}", f"fairaudit-{size}"))
        if size == "1e6" and not args.no_fairlearn:
            programs.append(baseline("fairlearn", "fairlearn-1e6", path, GROUPS,
                                     runs=args.fairlearn_repeats))
            ratios.append(("fairlearn-1e6", "fairaudit-1e6"))
            checks.append(("fairaudit-1e6", "fairlearn-1e6"))
        out.append(Scenario(size, programs, ratios, checks))
    path = data("rows_1e7.parquet")
    out.append(Scenario("cardinality", [
        fairaudit("store-1e7", path, ["store"], extra),
        fairaudit("region-1e7", path, ["region"], extra),
    ], [("store-1e7", "region-1e7")]))
    folder = data("files_1000x10000")
    out.append(Scenario("files", [
        fairaudit("files-1000", folder, GROUPS, extra),
        fairaudit("file-1e7", path, GROUPS, extra),
    ], [("files-1000", "file-1e7")], [("files-1000", "file-1e7")]))
    return [s for s in out if s.name in args.scenarios]


# -- running ------------------------------------------------------------------


def warm(paths: list[str]) -> None:
    """Read the inputs once so that every run finds them in the page cache."""
    for p in paths:
        files = [os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs] \
            if os.path.isdir(p) else [p]
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                while fh.read(1 << 24):
                    pass


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_once(p: Program) -> Run:
    warm(p.inputs)
    env = dict(os.environ, PYTHONPATH=ROOT)
    # an installed package has its bytecode cached, as users' installs do
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # the libraries every program loads, back in the page cache: after a two-minute
    # fairlearn run the machine may have dropped them, and the next run would pay
    subprocess.run([sys.executable, "-c", "import numpy, pyarrow.parquet"], env=env,
                   check=True)
    with tempfile.TemporaryFile() as err:
        busy0 = busy_seconds()
        t0 = time.perf_counter()
        proc = subprocess.Popen(p.argv, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy = busy_seconds() - busy0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{p.name} exited {code}:\n{shlex.join(p.argv)}\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss, max(0.0, busy - cpu) / wall)


def run_scenario(s: Scenario, repeats: int) -> dict[str, list[Run | None]]:
    runs: dict[str, list[Run | None]] = {p.name: [] for p in s.programs}
    for r in range(repeats):
        k = r % len(s.programs)
        for p in s.programs[k:] + s.programs[:k]:
            if p.runs is not None and r >= p.runs:
                runs[p.name].append(None)
                continue
            one = run_once(p)
            runs[p.name].append(one)
            print(f"  {s.name} round {r + 1}: {p.name:16s} {one.wall:7.3f} s  "
                  f"{one.rss_kib / 1024:7.0f} MiB  (others {one.others_cores:.2f} cores)",
                  file=sys.stderr, flush=True)
    return runs


# -- checking -----------------------------------------------------------------


def _fairaudit_figures(path: str) -> dict[str, dict[str, dict[str, Any]]]:
    with open(path) as f:
        doc = json.load(f)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for g in doc["groupings"]:
        out[g["name"]] = {
            grp["label"]: {"count": grp["count"],
                           **{m: (r["value"], r["denominator"]) for m, r in grp["metrics"].items()}}
            for grp in g["groups"]}
    return out


def check(fa_path: str, ref_path: str, ref_is_fairaudit: bool) -> str:
    """Compare per-group counts and rates; return a one-line summary (raise on a mismatch)."""
    ours = _fairaudit_figures(fa_path)
    if ref_is_fairaudit:
        theirs_fa = _fairaudit_figures(ref_path)
        theirs = {g: {k: {m: (v[0] if isinstance(v, tuple) else v) for m, v in grp.items()}
                      for k, grp in groups.items()} for g, groups in theirs_fa.items()}
    else:
        with open(ref_path) as f:
            theirs = json.load(f)
    compared = worst = 0.0
    convention = 0
    for grouping, groups in ours.items():
        ref = theirs[grouping]
        if set(ref) != set(groups):
            raise SystemExit(f"{grouping}: groups differ: {sorted(set(ref) ^ set(groups))[:5]}")
        for label, figures in groups.items():
            if figures["count"] != ref[label]["count"]:
                raise SystemExit(f"{grouping} {label}: count {figures['count']} "
                                 f"!= {ref[label]['count']}")
            for m, theirs_value in ref[label].items():
                if m == "count":
                    continue
                value, denominator = figures[m]
                if value is None or theirs_value is None:
                    if value is None and denominator == 0 and theirs_value in (None, 0.0):
                        convention += theirs_value == 0.0  # fairlearn's 0 for 0/0
                        continue
                    raise SystemExit(f"{grouping} {label} {m}: {value} != {theirs_value}")
                diff = abs(value - theirs_value)
                if diff > TOLERANCE:
                    raise SystemExit(f"{grouping} {label} {m}: {value} != {theirs_value}")
                worst = max(worst, diff)
                compared += 1
    note = f"; {convention} empty-denominator rates reported as 0 by the reference, " \
           "undefined by fairaudit" if convention else ""
    return f"{int(compared):,} rates equal (largest difference {worst:.1e}){note}"


# -- reporting ----------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarize(s: Scenario, runs: dict[str, list[Run | None]]) -> dict[str, Any]:
    progs = {}
    for p in s.programs:
        done = [r for r in runs[p.name] if r is not None]
        progs[p.name] = {
            "runs": len(done),
            "wall_s": median([r.wall for r in done]),
            "cpu_s": median([r.cpu for r in done]),
            "peak_rss_mib": median([r.rss_kib / 1024 for r in done]),
            "others_cores": median([r.others_cores for r in done]),
            "walls": [round(r.wall, 4) for r in done],
            "command": shlex.join(p.argv),
        }
    ratios = {}
    for num, den in s.ratios:
        pairs = [a.wall / b.wall for a, b in zip(runs[num], runs[den], strict=True)
                 if a is not None and b is not None]
        ratios[f"{num} / {den}"] = {"median": median(pairs), "pairs": [round(x, 3) for x in pairs]}
    return {"programs": progs, "ratios": ratios}


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    import numpy
    import pyarrow

    return {"cpu": f"{cpu}, {os.cpu_count()} cores", "memory": f"{mem:.0f} GiB",
            "os": platform.platform(), "python": platform.python_version(),
            "pyarrow": pyarrow.__version__, "numpy": numpy.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", nargs="*",
                    default=["1e6", "1e7", "1e8", "cardinality", "files"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--fairlearn-repeats", type=int, default=3)
    ap.add_argument("--no-fairlearn", action="store_true")
    ap.add_argument("--pandas-1e8", action="store_true",
                    help="also run the pandas groupby at 1e8 rows (many GB of memory)")
    ap.add_argument("--fairaudit-arg", action="append", default=[],
                    help="extra flag for every fairaudit run (repeat for several)")
    ap.add_argument("--read-column", action="append", default=[],
                    help="extra column for the plain read (what the extra flags read)")
    ap.add_argument("--print-commands", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    chosen = scenarios(args)
    if args.print_commands:
        for s in chosen:
            for p in s.programs:
                print(f"{s.name:12s} {p.name:16s} {shlex.join(p.argv)}")
        return
    missing = sorted({i for s in chosen for p in s.programs for i in p.inputs
                      if not os.path.exists(i)})
    if missing:
        raise SystemExit(f"no data: {', '.join(missing)}; run benchmarks/generate.py first")
    # compile once, so that no run pays for it (an installed package is compiled)
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "fairaudit")],
                   check=True, env={k: v for k, v in os.environ.items()
                                    if k != "PYTHONDONTWRITEBYTECODE"})
    report: dict[str, Any] = {"machine": machine(), "started": dt.datetime.now().isoformat(
        timespec="seconds"), "fairaudit_args": args.fairaudit_arg, "scenarios": {}}
    for s in chosen:
        print(f"{s.name}:", file=sys.stderr, flush=True)
        runs = run_scenario(s, args.repeats)
        summary = summarize(s, runs)
        summary["checks"] = {}
        for fa, ref in s.checks:
            names = {p.name: p for p in s.programs}
            summary["checks"][f"{fa} vs {ref}"] = check(
                names[fa].output or "", names[ref].output or "", names[ref].kind == "fairaudit")
        report["scenarios"][s.name] = summary
        print(json.dumps(summary["ratios"]), summary["checks"], file=sys.stderr, flush=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(OUT, f"results-{stamp}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(markdown(report))
    print(f"\n(full results: {os.path.relpath(path, ROOT)})")


def markdown(report: dict[str, Any]) -> str:
    lines = ["| scenario | program | runs | median wall (s) | median CPU (s) | "
             "median peak RSS (MiB) | others' load (cores) |", "|---|---|---|---|---|---|---|"]
    for name, s in report["scenarios"].items():
        for prog, p in s["programs"].items():
            lines.append(f"| {name} | {prog} | {p['runs']} | {p['wall_s']:.3f} | "
                         f"{p['cpu_s']:.3f} | {p['peak_rss_mib']:.0f} | "
                         f"{p['others_cores']:.2f} |")
    lines += ["", "| ratio (paired by round) | median | rounds |", "|---|---|---|"]
    for s in report["scenarios"].values():
        for key, r in s["ratios"].items():
            lines.append(f"| {key} | {r['median']:.2f} | {', '.join(map(str, r['pairs']))} |")
    checks = [f"- {k}: {v}" for s in report["scenarios"].values() for k, v in s["checks"].items()]
    return "\n".join([*lines, "", *checks])


if __name__ == "__main__":
    main()
