"""The history store: one SQLite file of audit runs, each with the counts it was judged on.

A run keeps what its figures come from: the count table (every intersection
group's cells, the levels of each group column with their types, the cell
names), the config it was judged with and its digest, the inputs (path, size,
SHA-256), and what the audit found (per grouping and criterion the difference
and ratio with their intervals; per gate its value, interval, threshold and
status). Any window of runs can therefore be merged and judged again exactly
(counts add up), with the code of a live audit.

A run's natural key is (config digest, as-of date, run label). Recording a key
again supersedes the earlier run, which is kept and marked, never deleted nor
duplicated (``on_conflict="replace"``); ``"skip"`` keeps the earlier run and
records nothing, ``"error"`` refuses. A run that could not be audited is
recorded with its error and no counts; it supersedes earlier errors of its key
but never a run with counts.

Concurrency: the file is in WAL mode and each write is one ``BEGIN IMMEDIATE``
transaction, so nightly jobs writing one history at once wait for each other
(up to :data:`BUSY_SECONDS`) instead of failing or interleaving. WAL needs a
local file system (not NFS). The layout is versioned (``PRAGMA user_version``,
:data:`SCHEMA_VERSION`); docs/history.md describes it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ..config import AuditConfig
from ..counts import CountTable
from ..errors import FairauditError, UsageError
from ..result import AuditResult, FileInfo, Interval
from ..version import __version__
from . import codec
from .digest import config_digest

SCHEMA_VERSION = 1
# "FAud": marks the file as a fairaudit history for tools such as `file`
APPLICATION_ID = 0x46417564
BUSY_SECONDS = 120.0

OnConflict = Literal["replace", "skip", "error"]
ON_CONFLICT: tuple[OnConflict, ...] = ("replace", "skip", "error")
RunVerdict = Literal["pass", "fail", "inconclusive", "error"]


class HistoryError(FairauditError):
    """A history file that cannot be read or written, or a run that cannot be recorded."""


_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,
    label TEXT NOT NULL,
    config_digest TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    audit_time TEXT,
    fairaudit_version TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive', 'error')),
    error TEXT,
    config TEXT,
    rows_read INTEGER,
    rows_used INTEGER,
    superseded_by INTEGER REFERENCES runs (run_id) DEFERRABLE INITIALLY DEFERRED,
    superseded_at TEXT
);
CREATE UNIQUE INDEX runs_natural_key ON runs (config_digest, as_of, label)
    WHERE superseded_by IS NULL AND verdict <> 'error';
CREATE INDEX runs_by_date ON runs (label, as_of, run_id);
CREATE TABLE inputs (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE count_tables (
    run_id INTEGER PRIMARY KEY REFERENCES runs (run_id),
    columns TEXT NOT NULL,
    cell_names TEXT NOT NULL,
    levels TEXT NOT NULL
);
CREATE TABLE group_counts (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    group_index INTEGER NOT NULL,
    keys TEXT NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (run_id, group_index)
);
CREATE TABLE criteria (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    grouping TEXT NOT NULL,
    criterion TEXT NOT NULL,
    difference REAL,
    difference_low REAL,
    difference_high REAL,
    ratio REAL,
    ratio_low REAL,
    ratio_high REAL,
    groups_used INTEGER NOT NULL,
    p_value REAL,
    p_adjusted REAL,
    reason TEXT,
    PRIMARY KEY (run_id, grouping, criterion)
);
CREATE TABLE gates (
    run_id INTEGER NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    grouping TEXT NOT NULL,
    criterion TEXT NOT NULL,
    kind TEXT NOT NULL,
    threshold REAL NOT NULL,
    value REAL,
    ci_low REAL,
    ci_high REAL,
    rule TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    feature TEXT,
    worst_group TEXT,
    PRIMARY KEY (run_id, position)
);
"""

TABLES = ("meta", "runs", "inputs", "count_tables", "group_counts", "criteria", "gates")


# -- what is read back --------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One recorded run. ``superseded_by`` names the run that replaced it, if any."""

    run_id: int
    as_of: str
    label: str
    config_digest: str
    recorded_at: str
    audit_time: str | None
    fairaudit_version: str
    verdict: RunVerdict
    error: str | None
    config: dict[str, Any] | None
    rows_read: int | None
    rows_used: int | None
    superseded_by: int | None
    superseded_at: str | None
    inputs: tuple[FileInfo, ...] = ()

    @property
    def superseded(self) -> bool:
        return self.superseded_by is not None

    @property
    def current(self) -> bool:
        """Not superseded, and audited (an error run has no figures)."""
        return self.superseded_by is None and self.verdict != "error"


@dataclass(frozen=True)
class CriterionRow:
    """A criterion's figures in one grouping of one run."""

    run_id: int
    grouping: str
    criterion: str
    difference: float | None
    difference_ci: Interval | None
    ratio: float | None
    ratio_ci: Interval | None
    groups_used: int
    p_value: float | None
    p_adjusted: float | None
    reason: str | None


@dataclass(frozen=True)
class GateRow:
    run_id: int
    grouping: str
    criterion: str
    kind: str
    threshold: float
    value: float | None
    ci: Interval | None
    rule: str
    status: str
    reason: str | None
    feature: str | None
    worst_group: str | None


@dataclass(frozen=True)
class Recorded:
    """What recording did: the new run, the runs it superseded, or the run it left alone."""

    run_id: int | None
    superseded: tuple[int, ...] = ()
    kept: int | None = None  # with on_conflict "skip": the run already recorded

    @property
    def skipped(self) -> bool:
        return self.run_id is None


# -- flag values ----------------------------------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_as_of(text: str, where: str = "--as-of") -> str:
    """An as-of date, ``YYYY-MM-DD``."""
    if isinstance(text, dt.date):
        return text.isoformat()
    try:
        if not _DATE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UsageError(f"{where} {text!r}: not a date; write YYYY-MM-DD, for example "
                         f"{where} 2024-05-01") from None


def today(timestamp: str) -> str:
    """The date of an audit's UTC timestamp (``SOURCE_DATE_EPOCH`` pins it)."""
    return dt.datetime.fromisoformat(timestamp).date().isoformat()


def parse_on_conflict(text: str) -> OnConflict:
    if text not in ON_CONFLICT:
        raise UsageError(f"--on-conflict {text!r}: write one of {', '.join(ON_CONFLICT)}")
    return text


# -- the store ------------------------------------------------------------------------


def _opt(x: float | None) -> float | None:
    return None if x is None or x != x else float(x)


def _ends(ci: Interval | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else (_opt(ci[0]), _opt(ci[1]))


def _pair(low: float | None, high: float | None) -> Interval | None:
    return None if low is None or high is None else (low, high)


class History:
    """A history file, open for reading and recording. Use it as a context manager."""

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.path = path
        self._con = connection

    # -- opening ------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], create: bool = False) -> History:
        """Open a history; with ``create``, a missing (or empty) file becomes a new one."""
        path = os.fspath(path)
        if os.path.isdir(path):
            raise HistoryError(f"{path}: is a folder; give the path of a history file, such "
                               "as history.db")
        exists = os.path.exists(path)
        if not exists and not create:
            raise HistoryError(f"{path}: no such history; record runs into it with "
                               f"fairaudit run ... --history {path}")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise HistoryError(f"{path}: the folder {parent} does not exist; create it first")
        try:
            con = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(f"{path}: cannot open the history ({exc})") from None
        try:
            history = cls(path, con)
            history._prepare(create)
        except sqlite3.DatabaseError as exc:
            con.close()
            raise HistoryError(f"{path}: not a fairaudit history ({exc}); give the path of a "
                               "history file, or a new path to start one") from None
        except BaseException:
            con.close()
            raise
        return history

    def _prepare(self, create: bool) -> None:
        con = self._con
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
        version, app = self._version()
        if version == 0 and app == 0 and create:
            # WAL is a property of the file: set once, when it is made, and kept
            con.execute("PRAGMA journal_mode = WAL")
            with self._write():
                version, app = self._version()  # another process may have made it meanwhile
                if version == 0 and app == 0:
                    if con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise HistoryError(f"{self.path}: an SQLite file that is not a "
                                           "fairaudit history; give another path")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            con.execute(statement)
                    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("created_by", f"fairaudit {__version__}"),
                        ("created_at", _utc_now())])
            version, app = self._version()
        if app != APPLICATION_ID:
            empty = not con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version == 0 and app == 0 and not create and empty:
                raise HistoryError(f"{self.path}: holds no fairaudit history; record runs "
                                   f"into it with fairaudit run ... --history {self.path}")
            raise HistoryError(f"{self.path}: an SQLite file that is not a fairaudit "
                               "history; give another path")
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: written by a newer fairaudit (history schema {version}; this "
                f"fairaudit {__version__} reads schema {SCHEMA_VERSION}); upgrade fairaudit "
                "to read it")
        if version < 1:
            raise HistoryError(f"{self.path}: history schema {version} is not known")
        con.execute("PRAGMA foreign_keys = ON")

    def _version(self) -> tuple[int, int]:
        version = int(self._con.execute("PRAGMA user_version").fetchone()[0])
        app = int(self._con.execute("PRAGMA application_id").fetchone()[0])
        return version, app

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its first statement."""
        con = self._con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"{self.path}: cannot write the history ({exc}); another "
                               f"process held it for over {BUSY_SECONDS:.0f} s") from None
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    # -- recording ----------------------------------------------------------------

    def record(self, result: AuditResult, table: CountTable, config: AuditConfig, *,
               as_of: str, label: str = "", on_conflict: OnConflict = "replace") -> Recorded:
        """Record an audit and the counts it was judged on, in one transaction."""
        digest = config_digest(config)
        # everything is encoded before the write lock is taken, to hold it briefly
        levels = json.dumps(codec.encode_levels(table), ensure_ascii=False, allow_nan=False)
        keys = table.keys.tolist()
        cells = codec.encode_rows(table)
        groups = [(i, json.dumps(k), json.dumps(c))
                  for i, (k, c) in enumerate(zip(keys, cells, strict=True))]
        criteria = []
        for g in result.groupings:
            for name, gap in g.criteria.items():
                criteria.append((g.name, name, _opt(gap.difference), *_ends(gap.ci_difference),
                                 _opt(gap.ratio), *_ends(gap.ci_ratio), gap.groups_used,
                                 _opt(gap.p_value), _opt(gap.p_adjusted), gap.reason))
        gates = [(i, g.grouping, g.criterion, g.kind, float(g.threshold), _opt(g.value),
                  *_ends(g.ci), g.rule, g.status, g.reason, g.feature, g.group)
                 for i, g in enumerate(result.gates)]
        p = result.provenance
        with self._write() as con:
            existing = self._current(digest, as_of, label)
            if existing is not None and on_conflict == "skip":
                return Recorded(None, kept=existing)
            if existing is not None and on_conflict == "error":
                raise HistoryError(
                    f"{self.path}: run {existing} is recorded already for as-of {as_of}"
                    + (f", label {label!r}" if label else "")
                    + f" and config {digest[:12]}; give --on-conflict replace to replace it "
                    "or skip to keep it")
            run_id = self._next_id()
            superseded = self._supersede(run_id, digest, as_of, label, errors_only=False)
            con.execute(
                "INSERT INTO runs (run_id, as_of, label, config_digest, recorded_at, "
                "audit_time, fairaudit_version, verdict, error, config, rows_read, rows_used) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (run_id, as_of, label, digest, _utc_now(), p.timestamp, p.version,
                 result.verdict, json.dumps(config.as_dict(), ensure_ascii=False),
                 p.rows_read, p.rows_used))
            self._inputs(run_id, p.files)
            con.execute("INSERT INTO count_tables (run_id, columns, cell_names, levels) "
                        "VALUES (?, ?, ?, ?)",
                        (run_id, json.dumps(list(table.columns), ensure_ascii=False),
                         json.dumps(codec.encode_names(table)), levels))
            con.executemany("INSERT INTO group_counts (run_id, group_index, keys, cells) "
                            f"VALUES ({run_id}, ?, ?, ?)", groups)
            con.executemany(
                "INSERT INTO criteria (run_id, grouping, criterion, difference, "
                "difference_low, difference_high, ratio, ratio_low, ratio_high, groups_used, "
                f"p_value, p_adjusted, reason) VALUES ({run_id}, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?)", criteria)
            con.executemany(
                "INSERT INTO gates (run_id, position, grouping, criterion, kind, threshold, "
                "value, ci_low, ci_high, rule, status, reason, feature, worst_group) "
                f"VALUES ({run_id}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gates)
        return Recorded(run_id, superseded)

    def record_error(self, message: str, *, as_of: str, label: str = "",
                     config: AuditConfig | None = None,
                     files: Sequence[FileInfo] = ()) -> Recorded:
        """Record a run that could not be audited: its key, its error, no counts."""
        digest = config_digest(config) if config is not None else ""
        with self._write() as con:
            run_id = self._next_id()
            superseded = self._supersede(run_id, digest, as_of, label, errors_only=True)
            con.execute(
                "INSERT INTO runs (run_id, as_of, label, config_digest, recorded_at, "
                "fairaudit_version, verdict, error, config) "
                "VALUES (?, ?, ?, ?, ?, ?, 'error', ?, ?)",
                (run_id, as_of, label, digest, _utc_now(), __version__, message,
                 None if config is None else json.dumps(config.as_dict(), ensure_ascii=False)))
            self._inputs(run_id, files)
        return Recorded(run_id, superseded)

    def current_run(self, config: AuditConfig, as_of: str, label: str = "") -> int | None:
        """The run recorded for this key and not superseded, if any."""
        return self._current(config_digest(config), as_of, label)

    def _current(self, digest: str, as_of: str, label: str) -> int | None:
        row = self._con.execute(
            "SELECT run_id FROM runs WHERE config_digest = ? AND as_of = ? AND label = ? "
            "AND superseded_by IS NULL AND verdict <> 'error'", (digest, as_of, label)
        ).fetchone()
        return None if row is None else int(row[0])

    def _next_id(self) -> int:
        # under the write lock: no other writer can take the same number
        return int(self._con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs")
                   .fetchone()[0])

    def _supersede(self, run_id: int, digest: str, as_of: str, label: str,
                   errors_only: bool) -> tuple[int, ...]:
        where = ("config_digest = ? AND as_of = ? AND label = ? AND superseded_by IS NULL"
                 + (" AND verdict = 'error'" if errors_only else ""))
        old = tuple(int(r[0]) for r in self._con.execute(
            f"SELECT run_id FROM runs WHERE {where} ORDER BY run_id", (digest, as_of, label)))
        if old:
            self._con.execute(f"UPDATE runs SET superseded_by = ?, superseded_at = ? "
                              f"WHERE {where}", (run_id, _utc_now(), digest, as_of, label))
        return old

    def _inputs(self, run_id: int, files: Sequence[FileInfo]) -> None:
        self._con.executemany(
            "INSERT INTO inputs (run_id, position, path, format, size, sha256, rows) "
            f"VALUES ({run_id}, ?, ?, ?, ?, ?, ?)",
            [(i, f.path, f.format, f.size, f.sha256, f.rows) for i, f in enumerate(files)])

    # -- reading ------------------------------------------------------------------

    def runs(self, label: str | None = None) -> list[Run]:
        """Every run (superseded and failed ones too), by as-of date, then run id."""
        where, args = ("WHERE label = ?", (label,)) if label is not None else ("", ())
        inputs: dict[int, list[FileInfo]] = {}
        for row in self._con.execute(
                "SELECT run_id, path, format, size, sha256, rows FROM inputs "
                "ORDER BY run_id, position"):
            inputs.setdefault(row[0], []).append(FileInfo(*row[1:]))
        out = []
        for row in self._con.execute(
                "SELECT run_id, as_of, label, config_digest, recorded_at, audit_time, "
                "fairaudit_version, verdict, error, config, rows_read, rows_used, "
                f"superseded_by, superseded_at FROM runs {where} ORDER BY as_of, run_id",
                args):
            out.append(Run(
                run_id=row[0], as_of=row[1], label=row[2], config_digest=row[3],
                recorded_at=row[4], audit_time=row[5], fairaudit_version=row[6],
                verdict=row[7], error=row[8],
                config=None if row[9] is None else json.loads(row[9]), rows_read=row[10],
                rows_used=row[11], superseded_by=row[12], superseded_at=row[13],
                inputs=tuple(inputs.get(row[0], ()))))
        return out

    def labels(self) -> list[str]:
        return [r[0] for r in self._con.execute("SELECT DISTINCT label FROM runs ORDER BY label")]

    def table(self, run_id: int) -> CountTable:
        """The count table a run was judged on, as it was counted."""
        row = self._con.execute("SELECT columns, cell_names, levels FROM count_tables "
                                "WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise HistoryError(f"{self.path}: run {run_id} has no counts (it could not be "
                               "audited, or there is no such run)")
        keys, cells = [], []
        for k, c in self._con.execute("SELECT keys, cells FROM group_counts WHERE run_id = ? "
                                      "ORDER BY group_index", (run_id,)):
            keys.append(json.loads(k))
            cells.append(json.loads(c))
        return codec.decode_table(json.loads(row[0]), json.loads(row[1]), json.loads(row[2]),
                                  keys, cells)

    def criteria(self, run_ids: Sequence[int] | None = None) -> list[CriterionRow]:
        rows = self._select("SELECT run_id, grouping, criterion, difference, difference_low, "
                            "difference_high, ratio, ratio_low, ratio_high, groups_used, "
                            "p_value, p_adjusted, reason FROM criteria", run_ids,
                            "ORDER BY run_id, rowid")
        return [CriterionRow(r[0], r[1], r[2], r[3], _pair(r[4], r[5]), r[6], _pair(r[7], r[8]),
                             r[9], r[10], r[11], r[12]) for r in rows]

    def gates(self, run_ids: Sequence[int] | None = None) -> list[GateRow]:
        rows = self._select("SELECT run_id, grouping, criterion, kind, threshold, value, "
                            "ci_low, ci_high, rule, status, reason, feature, worst_group "
                            "FROM gates", run_ids, "ORDER BY run_id, position")
        return [GateRow(r[0], r[1], r[2], r[3], r[4], r[5], _pair(r[6], r[7]), *r[8:])
                for r in rows]

    def _select(self, sql: str, run_ids: Sequence[int] | None, order: str) -> list[Any]:
        if run_ids is None:
            return self._con.execute(f"{sql} {order}").fetchall()
        ids = sorted(set(run_ids))
        out: list[Any] = []
        for start in range(0, len(ids), 500):  # SQLite binds a few hundred values at most
            part = ids[start:start + 500]
            marks = ", ".join("?" * len(part))
            out += self._con.execute(f"{sql} WHERE run_id IN ({marks}) {order}", part)
        out.sort(key=lambda r: r[0])  # stable: each run's rows keep their order
        return out

    def rows(self, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and rows of one stored table, for exports."""
        if table not in TABLES:
            raise ValueError(f"no table {table!r}")
        cur = self._con.execute(f"SELECT * FROM {table}")
        return [d[0] for d in cur.description], cur.fetchall()


def _utc_now() -> str:
    from ..engine import now

    return now()


@dataclass(frozen=True)
class RunSpec:
    """How a run is recorded: where, under which as-of date and label, and on conflict."""

    path: str
    as_of: str | None = None  # None: the date of the audit (UTC)
    label: str = ""
    on_conflict: OnConflict = "replace"
