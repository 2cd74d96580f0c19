"""Many audits in one call, for schedulers: batch specs, dated inputs and partitions.

A batch spec is a TOML file: settings shared by every audit at the top (any
key of a config file, and the recording keys of :data:`BATCH_KEYS`), then one
``[[audit]]`` table per audit, whose keys override the shared ones (tables such
as ``[gates.max_gap]`` are merged key by key). Paths are read relative to the
spec. An input may hold ``{date}``: with an as-of date it stands for that date;
without one, every date for which files exist is audited as a run of its own
(a backfill). ``partition_by`` audits the rows of each value of a column as a
run of its own, from one pass over the inputs.

One audit's bad input fails that audit only: it is an outcome with its error
(and recorded in the history, if there is one); the others run. The exit code
of a batch is the worst of its audits' (3 over 2 over 1 over 0). Nothing here
prints; :mod:`fairaudit.schedule` does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .config import _KEYS, AuditConfig, build, check_values
from .counts import Accumulator, CountTable
from .engine import count, judge
from .errors import ConfigError, FairauditError, InputError, closest
from .history.store import ON_CONFLICT, History, OnConflict, Recorded, parse_as_of, today
from .result import AuditResult, FileInfo, show_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# keys of a batch spec beyond those of a config file
BATCH_KEYS: dict[str, str] = {
    "name": "the audit's name in the summary (default: its run label, or audit N)",
    "history": "the history file the runs are recorded in",
    "as_of": "the as-of date, YYYY-MM-DD (default: every date of a {date} input, or today)",
    "run_label": "the run label (a model, a region)",
    "on_conflict": "replace, skip or error",
    "partition_by": "a column: the rows of each of its values are a run of their own",
    "json": "write each run's JSON report here ({name}, {as_of} and {label} are filled in)",
    "html": "write each run's HTML report here ({name}, {as_of} and {label} are filled in)",
}
DATE = "{date}"


@dataclass(frozen=True)
class Job:
    """One audit of a batch: its config (inputs may hold ``{date}``) and how it is recorded."""

    name: str
    config: AuditConfig
    history: str | None = None
    as_of: str | None = None
    label: str = ""
    on_conflict: OnConflict = "replace"
    partition_by: str | None = None
    json: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one run of a batch came to: a verdict, or the error that stopped it."""

    name: str
    as_of: str | None
    label: str
    verdict: str  # pass, fail, inconclusive, or error
    code: int  # the exit code this run alone would give
    result: AuditResult | None = None
    error: str | None = None
    recorded: Recorded | None = None
    files: tuple[FileInfo, ...] = field(default=(), compare=False)
    job: Job | None = field(default=None, compare=False)
    exception: BaseException | None = field(default=None, compare=False)


# -- the spec ------------------------------------------------------------------------


def _merge(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    out = dict(shared)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_keys(values: dict[str, Any], path: str, where: str, problems: list[str]) -> None:
    known = [*_KEYS, *BATCH_KEYS, "audit"]
    for key in values:
        if key not in known:
            near = closest(key, known)
            hint = f"did you mean '{near}'?" if near else "see docs/history.md"
            problems.append(f"{path}: unknown key '{where}{key}'; {hint}")
    for key in BATCH_KEYS:
        if key in values and not isinstance(values[key], str):
            problems.append(f"{path}: key '{where}{key}' must be text, not {values[key]!r}")


def load_spec(path: str, as_of: str | None = None, only: Sequence[str] = ()) -> list[Job]:
    """The audits of a batch spec, checked; every problem is in the one error raised."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such batch spec") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the batch spec ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    audits = data.pop("audit", None)
    problems: list[str] = []
    _check_keys(data, path, "", problems)
    if not isinstance(audits, list) or not audits or \
            not all(isinstance(a, dict) for a in audits):
        problems.append(f"{path}: no audits; add one [[audit]] table per audit")
        raise ConfigError("; ".join(problems))
    jobs: list[Job] = []
    base = os.path.dirname(os.path.abspath(path))
    for i, own in enumerate(audits, 1):
        where = f"audit[{i}]."
        _check_keys(own, path, where, problems)
        if "audit" in own:
            problems.append(f"{path}: key '{where}audit': audits do not nest")
        if problems:
            continue
        values = _merge(data, own)
        recording = {k: values.pop(k) for k in list(values) if k in BATCH_KEYS}
        try:
            check_values(values, path, where)
            config = build(values, path, {})
            when = recording.get("as_of", as_of)
            if as_of is not None:
                when = as_of  # the command line's date wins
            on_conflict = recording.get("on_conflict", "replace")
            if on_conflict not in ON_CONFLICT:
                raise ConfigError(f"{path}: key '{where}on_conflict' {on_conflict!r} is not "
                                  f"one of {', '.join(ON_CONFLICT)}")
            label = recording.get("run_label", "")
            name = recording.get("name") or label or f"audit {i}"
            jobs.append(Job(
                name=name, config=config,
                history=_relative(base, recording.get("history")),
                as_of=None if when is None else parse_as_of(when, f"{path}: {where}as_of"),
                label=label, on_conflict=on_conflict,
                partition_by=recording.get("partition_by"),
                json=_relative(base, recording.get("json")),
                html=_relative(base, recording.get("html"))))
        except FairauditError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    names = [j.name for j in jobs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{path}: two audits are named {twice[0]!r}; give each a name")
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ConfigError(f"{path}: no audit named {unknown[0]!r}; audits: "
                              + ", ".join(names))
        jobs = [j for j in jobs if j.name in only]
    return jobs


def _relative(base: str, path: str | None) -> str | None:
    if path is None:
        return None
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


# -- dated inputs --------------------------------------------------------------------

_DATE_RE = r"(\d{4}-\d{2}-\d{2})"
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


def _pattern(spec: str) -> re.Pattern[str]:
    """A regex matching what the glob ``spec`` matches, capturing its ``{date}``."""
    out, i = [], 0
    dated = False
    while i < len(spec):
        if spec.startswith(DATE, i):
            out.append("(?P=date)" if dated else _DATE_RE.replace("(", "(?P<date>", 1))
            dated = True
            i += len(DATE)
        elif spec.startswith("**", i):
            out.append(".*")
            i += 2
        elif spec[i] == "*":
            out.append("[^/]*")
            i += 1
        elif spec[i] == "?":
            out.append("[^/]")
            i += 1
        elif spec[i] == "[" and "]" in spec[i + 1:]:
            end = spec.index("]", i + 1)
            out.append("[" + spec[i + 1:end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(spec[i]))
            i += 1
    return re.compile("".join(out) + "$")


def dates(inputs: Sequence[str]) -> dict[str, list[str]]:
    """Per date found, the inputs with ``{date}`` filled in (inputs without it stay)."""
    found: dict[str, None] = {}
    for spec in inputs:
        if DATE not in spec:
            continue
        pattern = _pattern(os.path.normpath(spec))
        for path in glob.glob(spec.replace(DATE, _DATE_GLOB), recursive=True):
            m = pattern.match(os.path.normpath(path))
            if m is not None:
                try:
                    found[parse_as_of(m.group("date"))] = None
                except FairauditError:
                    continue  # a name like 2024-13-45 is not a date
    if not found:
        shown = next(s for s in inputs if DATE in s)
        raise InputError(f"{shown}: no file matches for any date; check the path, or give "
                         "the date with --as-of")
    return {d: [s.replace(DATE, d) for s in inputs] for d in sorted(found)}


def expand(job: Job) -> list[Job]:
    """A job with a ``{date}`` input: one job per date (or the one date given)."""
    if not any(DATE in s for s in job.config.inputs):
        return [job]
    if job.as_of is not None:
        filled = tuple(s.replace(DATE, job.as_of) for s in job.config.inputs)
        return [replace(job, config=replace(job.config, inputs=filled))]
    return [replace(job, as_of=d, config=replace(job.config, inputs=tuple(inputs)))
            for d, inputs in dates(job.config.inputs).items()]


# -- partitions ----------------------------------------------------------------------


def _date_of(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return parse_as_of(value)
        except FairauditError:
            return None
    return None


def split(table: CountTable, column: str) -> tuple[dict[Any, CountTable], bool]:
    """The table of each value of ``column`` (the first column), with that column left
    out; and whether the values are dates (then the keys are ISO dates)."""
    assert table.columns[0] == column
    levels = table.levels[0]
    present = sorted({int(k) for k in table.keys[:, 0]})
    as_dates = all(levels[i] is not None and _date_of(levels[i]) is not None
                   for i in present)
    parts: dict[Any, list[int]] = {}
    for i in present:
        value = levels[i]
        key = _date_of(value) if as_dates else (None if value is None else show_value(value))
        parts.setdefault(key, []).append(i)
    out = {}
    for key, indices in parts.items():
        rows = [r for r in range(len(table.keys)) if int(table.keys[r, 0]) in indices]
        sub = CountTable(table.columns[1:], table.cell_names, table.levels[1:],
                         table.keys[rows][:, 1:], table.cells[rows], table.sum_names,
                         table.sum_cells[rows])
        acc = Accumulator.like(sub)  # one row a group again
        acc.add_table(sub)
        out[key] = acc.table()
    return out, as_dates


# -- running -------------------------------------------------------------------------

# called with each outcome, the number of jobs begun and the number of jobs
Done = Callable[[Outcome, int, int], None]


def _code(result: AuditResult, config: AuditConfig) -> int:
    if result.failed:
        return 1
    return 1 if result.inconclusive and config.fail_on_inconclusive else 0


def _recorded(job: Job, result: AuditResult, table: CountTable, as_of: str,
              label: str) -> Recorded | None:
    if job.history is None:
        return None
    with History.open(job.history, create=True) as h:
        return h.record(result, table, job.config, as_of=as_of, label=label,
                        on_conflict=job.on_conflict)


def _record_error(job: Job, message: str, as_of: str | None, label: str) -> None:
    if job.history is None:
        return
    from .engine import now

    # the outcome says the audit's own error, whether or not the history can hold it
    with contextlib.suppress(FairauditError), History.open(job.history, create=True) as h:
        h.record_error(message, as_of=as_of or today(now()), label=label,
                       config=job.config)


def _failed(job: Job, exc: FairauditError, as_of: str | None, label: str,
            name: str | None = None) -> Outcome:
    _record_error(job, str(exc), as_of, label)
    return Outcome(name or job.name, as_of, label, "error", 2, error=str(exc), job=job)


def run_job(job: Job, digests: Any = None) -> Iterator[Outcome]:
    """The outcomes of one job: one run, or one per partition."""
    from .engine import now

    if job.partition_by is None:
        as_of = job.as_of or today(now())
        try:
            counted = count(None, job.config, digests=digests)
            result = judge(counted.table, job.config, counted.files)
            recorded = _recorded(job, result, counted.table, as_of, job.label)
        except FairauditError as exc:
            yield _failed(job, exc, as_of, job.label)
            return
        yield Outcome(job.name, as_of, job.label, result.verdict, _code(result, job.config),
                      result, recorded=recorded, files=result.provenance.files, job=job)
        return
    column = job.partition_by
    try:
        if column in job.config.groups:
            raise InputError(f"partition column '{column}' is a group column too; "
                             "partition by another column")
        counting = replace(job.config, groups=(column, *job.config.groups))
        counted = count(None, counting, digests=digests)
        parts, as_dates = split(counted.table, column)
    except FairauditError as exc:
        yield _failed(job, exc, job.as_of, job.label)
        return
    for key, table in sorted(parts.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        if as_dates:
            as_of, label = str(key), job.label
        else:
            as_of = job.as_of or today(now())
            label = f"{job.label}/{show_value(key)}" if job.label else show_value(key)
        name = f"{job.name} {column}={show_value(key)}"
        try:
            if key is None:
                raise InputError(f"{int(table.total.sum()):,} rows have no value in the "
                                 f"partition column '{column}'; they were not audited")
            result = judge(table, job.config, counted.files)
            recorded = _recorded(job, result, table, as_of, label)
        except FairauditError as exc:
            yield _failed(job, exc, as_of, label, name)
            continue
        yield Outcome(name, as_of, label, result.verdict, _code(result, job.config), result,
                      recorded=recorded, files=counted.files, job=job)


def run(jobs: Sequence[Job], on_done: Done | None = None) -> list[Outcome]:
    """Every job, dates expanded; each outcome is passed to ``on_done`` as it comes.

    An audit that crashes (a bug, not bad input) is an outcome with exit code 3,
    and the others still run.
    """
    out: list[Outcome] = []
    work: list[Job | Outcome] = []
    for job in jobs:
        try:
            work += expand(job)
        except FairauditError as exc:
            work.append(_failed(job, exc, job.as_of, job.label))
    for i, item in enumerate(work, 1):
        outcomes: list[Outcome] = []
        if isinstance(item, Outcome):
            outcomes = [item]
        else:
            try:
                for outcome in run_job(item):
                    outcomes.append(outcome)
            except Exception as exc:  # one audit's crash must not stop the rest
                outcomes.append(Outcome(item.name, item.as_of, item.label, "error", 3,
                                        error=f"internal error: {type(exc).__name__}: {exc}",
                                        job=item, exception=exc))
        for outcome in outcomes:
            out.append(outcome)
            if on_done:
                on_done(outcome, i, len(work))
    return out


def worst(outcomes: Sequence[Outcome]) -> int:
    """The exit code of a batch: its worst audit's (3 over 2 over 1 over 0)."""
    return max((o.code for o in outcomes), default=0)
