"""Scheduled audits on the command line: recording runs, `fairaudit history`, and batches.

The command line (:mod:`fairaudit.cli`) parses flags and calls these; they
print diagnostics to stderr, tables to stdout, and return exit codes. The
work itself is in :mod:`fairaudit.history` and :mod:`fairaudit.batch`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO

from .errors import FairauditError, UsageError

if TYPE_CHECKING:
    from .config import AuditConfig
    from .counts import CountTable
    from .history.store import Recorded, RunSpec
    from .history.trend import Trend
    from .result import AuditResult, FileInfo


def _say(text: str, err: TextIO | None = None) -> None:
    print(f"fairaudit: {text}", file=err or sys.stderr)


def run_spec(history: str | None, as_of: str | None, run_label: str | None,
             on_conflict: str | None) -> RunSpec | None:
    """The recording asked for by ``run``'s flags, checked; ``None`` without ``--history``."""
    from .history.store import RunSpec, parse_as_of, parse_on_conflict

    if history is None:
        given = [f for f, v in (("--as-of", as_of), ("--run-label", run_label),
                                ("--on-conflict", on_conflict)) if v is not None]
        if given:
            raise UsageError(f"{given[0]} records into a history; give --history PATH too")
        return None
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
    quiet: bool = False


def history(path: str, outputs: HistoryOutputs, *, exit_zero: bool = False,
            fail_on_inconclusive: bool = False, **settings: object) -> int:
    """`fairaudit history`: read, report, and the exit code of the drift gates."""
    from . import atomic
    from .history.trend import trend
    from .report import history_json, trend_text

    t = trend(path, **settings)  # type: ignore[arg-type]
    to_stdout = outputs.json == "-"
    if outputs.json and not to_stdout:
        atomic.write(outputs.json, lambda f: history_json.write(t, f), "the JSON")
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
