"""Scheduled audits on the command line: recording runs, `fairaudit history`, and batches.

The command line (:mod:`fairaudit.cli`) parses flags and calls these; they
print diagnostics to stderr, tables to stdout, and return exit codes. The
work itself is in :mod:`fairaudit.history` and :mod:`fairaudit.batch`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO

from .errors import FairauditError, UsageError

if TYPE_CHECKING:
    from .batch import Job, Outcome
    from .config import AuditConfig
    from .counts import CountTable
    from .history.store import Recorded, RunSpec
    from .history.trend import Trend
    from .result import AuditResult, FileInfo


def _say(text: str, err: TextIO | None = None) -> None:
    print(f"fairaudit: {text}", file=err or sys.stderr)


def run_spec(history: str | None, as_of: str | None, run_label: str | None,
             on_conflict: str | None, partition_by: str | None = None) -> RunSpec | None:
    """The recording asked for by ``run``'s flags, checked; ``None`` without ``--history``."""
    if history is None:
        given = [f for f, v in (("--as-of", as_of), ("--run-label", run_label),
                                ("--on-conflict", on_conflict),
                                ("--partition-by", partition_by)) if v is not None]
        if given:
            raise UsageError(f"{given[0]} records into a history; give --history PATH too")
        return None
    # the history's modules load only when a run is recorded
    from .history.store import RunSpec, parse_as_of, parse_on_conflict

    return RunSpec(history, None if as_of is None else parse_as_of(as_of), run_label or "",
                   parse_on_conflict(on_conflict or "replace"))


def resolve(spec: RunSpec, config: AuditConfig) -> RunSpec:
    """The as-of date settled (today, UTC, unless given), and a refused conflict found
    before any file is read."""
    from .engine import now
    from .history.store import History, HistoryError, today

    if spec.as_of is None:
        spec = replace(spec, as_of=today(now()))
    if spec.on_conflict == "error":
        assert spec.as_of is not None
        with History.open(spec.path, create=True) as h:
            run = h.current_run(config, spec.as_of, spec.label)
        if run is not None:
            raise HistoryError(
                f"{spec.path}: run {run} is recorded already for as-of {spec.as_of}"
                + (f", label {spec.label!r}" if spec.label else "")
                + "; give --on-conflict replace to replace it or skip to keep it")
    return spec


def record(spec: RunSpec, result: AuditResult, table: CountTable, config: AuditConfig,
           quiet: bool = False) -> Recorded:
    from .history.store import History

    assert spec.as_of is not None
    with History.open(spec.path, create=True) as h:
        done = h.record(result, table, config, as_of=spec.as_of, label=spec.label,
                        on_conflict=spec.on_conflict)
    if not quiet:
        _say(_recorded_text(spec, done))
    return done


def _recorded_text(spec: RunSpec, done: Recorded) -> str:
    what = f"as of {spec.as_of}" + (f", label {spec.label!r}" if spec.label else "")
    if done.skipped:
        return (f"history {spec.path}: run {done.kept} ({what}) is recorded already; "
                "this run was not recorded (--on-conflict skip)")
    text = f"history {spec.path}: recorded run {done.run_id} ({what})"
    if done.superseded:
        ids = ", ".join(str(i) for i in done.superseded)
        text += f", superseding run{'s' if len(done.superseded) > 1 else ''} {ids}"
    return text


def record_error(spec: RunSpec, config: AuditConfig | None, message: str,
                 files: Sequence[FileInfo] = ()) -> None:
    """Record a run that could not be audited; a history that cannot be written is said,
    and the audit's own error stands."""
    from .engine import now
    from .history.store import History, today

    try:
        with History.open(spec.path, create=True) as h:
            h.record_error(message, as_of=spec.as_of or today(now()), label=spec.label,
                           config=config, files=files)
    except FairauditError as exc:
        _say(f"history: the error was not recorded: {exc}")


# -- fairaudit history ------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryOutputs:
    json: str | None = None
    html: str | None = None
    export: tuple[str, str] | None = None
    quiet: bool = False


def history(path: str, outputs: HistoryOutputs, *, exit_zero: bool = False,
            fail_on_inconclusive: bool = False, **settings: object) -> int:
    """`fairaudit history`: read, report, and the exit code of the drift gates."""
    from .history.trend import trend
    from .outputs import write_atomic
    from .report import history_json, trend_text
    from .report.delivery import text_writer

    t = trend(path, **settings)  # type: ignore[arg-type]
    if outputs.export is not None:
        from .history.export import export

        fmt, folder = outputs.export
        written = export(path, folder, fmt)
        if not outputs.quiet:
            _say(f"history {path}: wrote {len(written)} tables to {folder}")
    to_stdout = outputs.json == "-"
    if outputs.json and not to_stdout:
        write_atomic(outputs.json, lambda f: history_json.write(t, f))
    if outputs.html:
        from .report import trend as trend_html

        write_atomic(outputs.html, text_writer(trend_html.render(t)))
    if to_stdout:
        sys.stdout.flush()
        history_json.write(t, sys.stdout.buffer)
        sys.stdout.flush()
        terminal: TextIO = sys.stderr
    else:
        terminal = sys.stdout
    if not outputs.quiet:
        trend_text.render(t, terminal)
    _announce(t)
    if t.failed and not exit_zero:
        return 1
    if fail_on_inconclusive and not exit_zero and any(d.status == "inconclusive"
                                                      for d in t.drift):
        return 1
    return 0


def _announce(t: Trend) -> None:
    import os

    github = os.environ.get("GITHUB_ACTIONS") == "true"
    for d in t.drift:
        if d.status == "pass":
            continue
        level = "error" if d.status == "fail" else "warning"
        if github:
            print(f"::{level} title=fairaudit drift {d.status}::{d.sentence}", file=sys.stderr)
        else:
            _say(f"drift {d.status}: {d.sentence}")


def audit(config: AuditConfig, spec: RunSpec, digests: object = None,
          progress: bool = False) -> tuple[AuditResult, CountTable]:
    """The audit of ``config``'s inputs and the counts it was judged on; an input that
    cannot be audited is recorded in the history with its error, then raised."""
    from .engine import count, judge

    try:
        if progress:
            from .report.progress import ProgressBar

            with ProgressBar(sys.stderr) as bar:
                counted = count(None, config, on_progress=bar.update,
                                digests=digests)  # type: ignore[arg-type]
                result = judge(counted.table, config, counted.files)
        else:
            counted = count(None, config, digests=digests)  # type: ignore[arg-type]
            result = judge(counted.table, config, counted.files)
    except FairauditError as exc:
        record_error(spec, config, str(exc))
        raise
    return result, counted.table


# -- many runs: batch specs, dated inputs, partitions ---------------------------------------


def _status_word(verdict: str) -> str:
    return {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
            "error": "ERROR"}.get(verdict, verdict.upper())


def _progress(quiet: bool) -> Callable[[Outcome, int, int], None]:
    def done(o: Outcome, i: int, total: int) -> None:
        if quiet and o.verdict != "error":
            return
        where = " ".join(x for x in (o.as_of or "", o.label and f"[{o.label}]") if x)
        what = _status_word(o.verdict)
        if o.error:
            what += f": {o.error}"
        elif o.recorded is not None and o.recorded.run_id is not None:
            what += f" (run {o.recorded.run_id})"
        elif o.recorded is not None:
            what += f" (run {o.recorded.kept} kept, not recorded again)"
        _say(f"[{i}/{total}] {o.name} {where}: {what}".replace("  ", " "))
    return done


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The summary table of a batch: one line per run, then the errors."""
    from .report.trend_text import _columns

    rows = []
    for o in outcomes:
        gates = "\u2013"
        if o.result is not None and o.result.gates:
            passed = sum(1 for g in o.result.gates if g.status == "pass")
            gates = f"{passed} of {len(o.result.gates)} passed"
        run = "\u2013"
        if o.recorded is not None:
            run = (f"run {o.recorded.run_id}" if o.recorded.run_id is not None
                   else f"kept run {o.recorded.kept}")
            if o.recorded.superseded:
                run += " (replaces " + ", ".join(str(i) for i in o.recorded.superseded) + ")"
        rows.append([o.name, o.as_of or "\u2013", o.label or "\u2013", _status_word(o.verdict),
                     gates, run])
    lines = _columns(["audit", "as of", "label", "verdict", "gates", "history"], rows, set())
    errors = [o for o in outcomes if o.error]
    if errors:
        lines += ["", "errors"] + [f"  {o.name} {o.as_of or ''}: {o.error}".replace("  :", ":")
                                   for o in errors]
    counts = {v: sum(1 for o in outcomes if o.verdict == v)
              for v in ("pass", "fail", "inconclusive", "error")}
    lines += ["", f"{len(outcomes)} run{'s' if len(outcomes) != 1 else ''}: "
              + ", ".join(f"{n} {v}" for v, n in counts.items() if n)]
    return lines


def _reports(o: Outcome, unwritten: list[str]) -> int | None:
    """The per-run reports a batch spec asks for (json = ..., html = ...), each written even
    when another fails; the failures are added to ``unwritten``, and the exit code they call
    for is returned (None: every report was written)."""
    from .report.delivery import Delivery

    job = o.job
    if job is None or o.result is None:
        return None
    fill = {"name": o.name, "as_of": o.as_of or "", "label": o.label}
    result = o.result

    def crashed(exc: BaseException, what: str) -> str:
        return f"fairaudit: {what}: internal error ({type(exc).__name__}: {exc})"

    said: list[str] = []
    delivery = Delivery(say=said.append, crashed=crashed)
    if job.json:
        from .report import json as json_report

        delivery.write("json", _fill(job.json, fill),
                       lambda: lambda f: json_report.write(result, f))
    if job.html:
        from .report import html

        delivery.write("html", _fill(job.html, fill), lambda: html.render(result))
    unwritten += [f"{o.name}: " + line.removeprefix("fairaudit: error: ")
                  .removeprefix("fairaudit: ") for line in said]
    return delivery.code


def _fill(template: str, values: dict[str, str]) -> str:
    out = template
    for key, value in values.items():
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in value)
        out = out.replace("{" + key + "}", safe)
    return out


def _finish(outcomes: Sequence[Outcome], exit_zero: bool, debug: bool) -> int:
    from .batch import worst

    for o in outcomes:
        if o.exception is not None:
            _crash_note(o, debug)
    code = worst(outcomes)
    return 0 if exit_zero and code == 1 else code


def _crash_note(o: Outcome, debug: bool) -> None:
    import os
    import tempfile
    import traceback

    assert o.exception is not None
    text = "".join(traceback.format_exception(o.exception))
    if debug:
        print(text, file=sys.stderr, end="")
        return
    fd, path = tempfile.mkstemp(prefix="fairaudit-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    _say(f"{o.name}: internal error (traceback saved to {path}; rerun with --debug to show it)")


def _many(jobs: Sequence[Job], exit_zero: bool, quiet: bool, debug: bool) -> int:
    from .batch import run

    unwritten: list[str] = []
    codes: list[int] = []

    def done(o: Outcome, i: int, total: int) -> None:
        progress(o, i, total)
        before = len(unwritten)
        code = _reports(o, unwritten)  # this run's reports only; the others go on
        if code is not None:
            codes.append(code)
        for line in unwritten[before:]:
            _say(f"error: {line}")

    progress = _progress(quiet)
    outcomes = run(jobs, on_done=done)
    lines = summary_lines(outcomes)
    if unwritten:
        lines += ["", "reports not written"] + [f"  {e}" for e in unwritten]
    print("\n".join(lines))
    code = _finish(outcomes, exit_zero, debug)
    return max(code, *codes) if codes else code


def many(config: AuditConfig, spec: RunSpec, partition_by: str | None, exit_zero: bool,
         reports: Sequence[object], quiet: bool) -> int:
    """`fairaudit run` with --partition-by or a ``{date}`` input: one run per partition or
    date, each recorded; a summary table, and the worst exit code."""
    from .batch import Job

    asked = [name for name, value in zip(("--json", "--html", "--markdown", "--junit",
                                          "--github-summary"), reports, strict=False) if value]
    if asked:
        what = "--partition-by" if partition_by else "a {date} input"
        raise UsageError(f"{asked[0]} writes the report of one audit; {what} makes a run per "
                         "partition or date: read them with fairaudit history, or give "
                         "per-run report paths in a batch spec (json = ...)")
    job = Job(name=spec.label or "run", config=config, history=spec.path, as_of=spec.as_of,
              label=spec.label, on_conflict=spec.on_conflict, partition_by=partition_by)
    return _many([job], exit_zero, quiet, debug=False)


def batch(path: str, as_of: str | None, only: Sequence[str], exit_zero: bool, quiet: bool,
          debug: bool) -> int:
    """`fairaudit batch SPEC`."""
    from .batch import load_spec

    return _many(load_spec(path, as_of, only), exit_zero, quiet, debug)
