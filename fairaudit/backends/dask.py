"""The Dask engine: each worker counts its own files and row groups; only counts come back.

The client lists the inputs (paths, globs, folders, fsspec URLs) and submits
tasks that read the files' footers where the files are stored, a run of files
a task (up to :data:`GROUP_BYTES`), and split each file into parts (runs of
whole row groups, at least :data:`TASK_ROWS` rows; a CSV file is one part).
The files of one part are counted by that same task, into one table; each
part of a larger file by a task of its own. Counting is the in-process
engine's own code (:func:`fairaudit.counting.count_part`); a task returns its
count table, the rows of each file or part, and what the outcome kinds
remember across batches. When the audit takes digests, a task a run of files
hashes them on a worker. The client adds the tables up as the in-process engine adds up
the tables of its threads (``Accumulator.add_table``), so that
``engine.judge`` gives exactly the same figures. No row ever leaves a worker.

A worker that dies while counting has its tasks run again elsewhere (Dask's
``distributed.scheduler.allowed-failures`` deaths at most); each task's table
is added once, when the task has finished, and every part's rows are checked
against its file's footer. An unreadable file fails the audit with fairaudit's
own one-line :class:`InputError`; the tasks left are cancelled and a local
cluster is shut down, whatever happens.

dask and distributed are imported only here, and only when the engine is used
(``pip install "fairaudit[dask]"``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .. import readers, sources
from ..config import AuditConfig
from ..counting import ProgressFn, _Pass, _ReadAndHashed, count_part
from ..counts import Accumulator, CountTable
from ..errors import EngineError, FairauditError, InputError, UsageError
from ..kinds import kinds_for
from ..rangespec import RangeSpec, check_columns
from ..result import FileInfo
from ..version import __version__

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["INSTALL", "TASK_ROWS", "Traffic", "count", "require"]

INSTALL = 'pip install "fairaudit[dask]"'
# A task counts whole row groups, at least this many rows: long enough (about half
# a second of counting) that a task's own cost, a few milliseconds, does not show.
TASK_ROWS = 1 << 22
# Files smaller than this are read and counted together, a run of them a task, up to
# this many bytes: a thousand files of 3 MB cost some thirty tasks, not a thousand.
GROUP_BYTES = 64 << 20
# what the client's tasks are named, so that the scheduler's dashboard and logs say
# whose they are; a random token per audit keeps two audits' tasks apart
TASK_PREFIX = "fairaudit"
LOOPBACK = "127.0.0.1:0"


@dataclass(frozen=True)
class Traffic:
    """What travelled back to the client, and in how many tasks.

    ``count_bytes`` is the pickled size of the count tables and row counts, one
    a counting task (``tasks``: a run of small files, or a part of a large one),
    ``largest_count`` the largest of them, ``other_bytes`` the pickled size of
    the parts' descriptions and the digests.
    """

    files: int
    parts: int
    tasks: int
    count_bytes: int
    largest_count: int
    other_bytes: int


def require() -> None:
    """Fail with one line naming the install command unless dask and distributed import."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the Dask engine needs dask and distributed ({exc}); install them "
                         f"with: {INSTALL}") from None


def count(inputs: Sequence[str], config: AuditConfig, *,
          on_progress: ProgressFn | None = None
          ) -> tuple[CountTable, tuple[FileInfo, ...], Traffic]:
    """Count the inputs on the config's Dask cluster: the counts, the files, the traffic.

    ``config.scheduler`` is the address of a running scheduler; without one a
    local cluster of ``config.workers`` worker processes (default: one a core)
    is started and shut down afterwards.
    """
    require()
    files = readers.resolve(list(inputs), config.csv_dialect)
    work = _Pass.of(config.roles, config.ranges, kinds_for(config))
    with _client(config) as client:
        counted = _Audit(client, files, work, config, on_progress).run()
    readers.check_unchanged(files)  # as in-process: figures and digests of one version
    return counted


# -- the cluster --------------------------------------------------------------------------


@contextlib.contextmanager
def _client(config: AuditConfig) -> Iterator[Client]:
    from distributed import Client, LocalCluster

    cluster = None
    if config.scheduler:
        try:
            client = Client(config.scheduler, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, ValueError) as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {config.scheduler} ({exc}); check the "
                "address (--scheduler, config: scheduler, or DASK_SCHEDULER_ADDRESS) and that "
                "the scheduler is running") from None
    else:
        with _quiet():
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=config.workers or os.cpu_count() or 1,
                threads_per_worker=1, processes=True, dashboard_address=None,
                # no dashboard; the scheduler's HTTP server (health checks) on a free port of
                # this machine alone, never on Dask's usual 8787, which may be taken
                scheduler_kwargs={"dashboard_address": LOOPBACK}, silence_logs=logging.CRITICAL)
            try:
                client = Client(cluster, set_as_default=False)  # type: ignore[no-untyped-call]
            except BaseException:
                cluster.close()
                raise
    try:
        yield client
    finally:
        with _quiet():
            client.close()  # type: ignore[no-untyped-call]
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Starting and stopping a local cluster warns of things that are no one's concern
    (a scratch folder, a closed stream); fairaudit's own errors are exceptions, never
    warnings, and the local cluster's logs are silenced below CRITICAL for the same
    reason: a failed task's error comes back to the client, which says it in one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- the tasks, run on the workers ---------------------------------------------------------

CountInto = Callable[[readers.Part, _Pass, Accumulator], int]
# what a file's footer says: its parts, and the rows and what its kinds saw if it was counted
Planned = tuple[tuple[readers.Part, ...], int | None, tuple[Any, ...] | None]


def _files(srcs: Sequence[readers.SourceFile], work: _Pass, ranges: tuple[RangeSpec, ...],
           task_rows: int, count_into: CountInto
           ) -> tuple[str, list[Planned], CountTable | None]:
    """Read some files' footers where they are stored; count those of one part each.

    Each footer is checked (the columns) and split into parts. The files of one
    part are counted here, into one table; each part of a larger file is left to
    a task of its own. What the kinds saw is kept after each file, so that the
    client can name the file where a check across files fails.
    """
    acc = None
    planned: list[Planned] = []
    for src in srcs:
        found = readers.parts(src, work.columns, task_rows, lists=work.lists,
                              check=functools.partial(_check, ranges, src.path))
        # the footer is read again by the task that counts a part, on whichever worker
        stripped = tuple(replace(p, metadata=None) for p in found)
        if len(found) == 1:
            if acc is None:
                acc = work.accumulator()
            planned.append((stripped, count_into(found[0], work, acc), work.seen()))
        else:
            planned.append((stripped, None, None))
    return __version__, planned, acc.table() if acc is not None else None


def _check(ranges: tuple[RangeSpec, ...], path: str, names: list[str]) -> None:
    check_columns(ranges, names, path)


def _count(part: readers.Part, work: _Pass, count_into: CountInto
           ) -> tuple[CountTable, int, tuple[Any, ...]]:
    """Count one part of a large file: its table, its rows, what the kinds saw."""
    acc = work.accumulator()
    rows = count_into(part, work, acc)
    return acc.table(), rows, work.seen()


def _count_into(part: readers.Part, work: _Pass, acc: Accumulator) -> int:
    return count_part(part, work, acc)


def _digests(paths: Sequence[str]) -> list[str]:
    """The SHA-256 of some files, where they are stored."""
    out = []
    for path in paths:
        try:
            out.append(sources.sha256(path))
        except OSError as exc:
            raise InputError(f"{path}: cannot read it to take its digest "
                             f"({exc.strerror or exc}); check the file") from None
    return out


def _groups(files: Sequence[readers.SourceFile], workers: int) -> list[list[int]]:
    """Files in runs of up to :data:`GROUP_BYTES` (fewer bytes when there are few files),
    so that small files do not cost a task each and every worker gets several tasks."""
    limit = min(GROUP_BYTES, max(1, sum(f.size for f in files) // (4 * max(workers, 1))))
    out: list[list[int]] = []
    size = 0
    for i, f in enumerate(files):
        if not out or size + f.size > limit:
            out.append([])
            size = 0
        out[-1].append(i)
        size += f.size
    return out


# -- the client -----------------------------------------------------------------------------


class _Audit:
    """One audit's tasks: submitted, awaited, and their results added up in the client."""

    def __init__(self, client: Client, files: list[readers.SourceFile], work: _Pass,
                 config: AuditConfig, on_progress: ProgressFn | None) -> None:
        self.client = client
        self.files = files
        self.work = work
        self.config = config
        self.token = uuid.uuid4().hex[:12]
        self.pending: dict[str, Future[Any]] = {}  # task key -> future, until it is done
        self.what: dict[str, tuple[str, int, int]] = {}  # task key -> (task, index, part)
        self.groups: list[list[int]] = []
        both = _ReadAndHashed(on_progress) if on_progress and config.digest else None
        self.on_counted = both.counted if both else on_progress
        self.on_hashed = both.hashed if both else None
        self.total_bytes = sum(f.size for f in files)
        self.parts: dict[int, tuple[readers.Part, ...]] = {}
        self.rows: dict[tuple[int, int], int] = {}
        self.hashes = [""] * len(files)
        self.acc = work.accumulator()
        self.counted_rows = self.counted_bytes = self.tasks = 0
        self.count_bytes = self.largest = self.other_bytes = 0

    def submit(self, task: str, fn: Callable[..., Any], *args: Any, index: int, part: int = 0,
               priority: int = 0) -> Future[Any]:
        key = f"{TASK_PREFIX}-{task}-{self.token}-{index}-{part}"
        self.what[key] = (task, index, part)
        future = self.pending[key] = self.client.submit(fn, *args, key=key, pure=False,
                                                        priority=priority)
        return future

    def run(self) -> tuple[CountTable, tuple[FileInfo, ...], Traffic]:
        from distributed import as_completed

        workers = len(self.client.scheduler_info().get("workers", {}))
        self.groups = _groups(self.files, workers)
        for g, members in enumerate(self.groups):
            # footers first: they are small reads, and each one lets counting start
            self.submit("files", _files, [self.files[i] for i in members], self.work,
                        tuple(self.config.ranges), TASK_ROWS, _count_into, index=g,
                        priority=10)
        if self.config.digest:  # beside the counting, on whichever worker is free
            for g, members in enumerate(self.groups):
                self.submit("sha256", _digests, [self.files[i].path for i in members], index=g)
        waiting = as_completed(  # type: ignore[no-untyped-call]
            list(self.pending.values()), loop=self.client.loop)
        try:
            # the results of the tasks done meanwhile, fetched together
            for done in waiting.batches():  # type: ignore[no-untyped-call]
                for future in done:
                    if future.status != "finished":
                        self._result(future)  # raises the task's error, as fairaudit's own
                values = self.client.gather(done)  # type: ignore[no-untyped-call]
                for future, value in zip(done, values, strict=True):
                    key = str(future.key)
                    del self.pending[key]
                    future.release()  # the scheduler forgets it: a lost worker cannot redo it
                    for more in self._take(*self.what[key], value):
                        waiting.add(more)  # type: ignore[no-untyped-call]
        except BaseException:
            self._cancel()
            raise
        infos = tuple(FileInfo(f.path, f.format, f.size, self.hashes[i],
                               sum(self.rows[(i, j)] for j in range(len(self.parts[i]))))
                      for i, f in enumerate(self.files))
        traffic = Traffic(len(self.files), len(self.rows), self.tasks, self.count_bytes,
                          self.largest, self.other_bytes)
        return self.work.table(self.acc), infos, traffic

    def _take(self, task: str, index: int, j: int, value: Any) -> list[Future[Any]]:
        """Add up one task's result; return the tasks it calls for (a large file's parts)."""
        if task == "sha256":
            self.other_bytes += len(pickle.dumps(value, protocol=5))
            for i, digest in zip(self.groups[index], value, strict=True):
                self.hashes[i] = digest
                if self.on_hashed:
                    self.on_hashed(self.files[i].size)
            return []
        if task == "count":
            table, n, seen = value
            self._counted(index, j, n, seen)
            self._add(value, table)
            return []
        version, planned, table = value
        if version != __version__:
            raise EngineError(f"the Dask workers run fairaudit {version} and this client "
                              f"fairaudit {__version__}; install the same version on both")
        more = []
        plans = 0
        for i, (found, n, seen) in zip(self.groups[index], planned, strict=True):
            self.parts[i] = found
            plans += len(pickle.dumps(found, protocol=5))
            if n is not None:
                self._counted(i, 0, n, seen)
            else:
                more += [self.submit("count", _count, part, self.work, _count_into, index=i,
                                     part=k) for k, part in enumerate(found)]
        self.other_bytes += plans
        if table is not None:
            self._add((table, [n for _, n, _ in planned]), table)
        return more

    def _counted(self, i: int, j: int, n: int, seen: tuple[Any, ...] | None) -> None:
        """Part ``j`` of file ``i`` is counted: check its rows, take in what its kinds saw."""
        path = self.files[i].path
        if seen is not None:
            self.work.absorb(seen, path)
        if (i, j) in self.rows:  # never: each task's result is taken once
            raise EngineError(f"{path}: part {j + 1} was counted twice")
        expected = self.parts[i][j].rows
        if expected is not None and n != expected:
            raise EngineError(f"{path}: part {j + 1} gave {n:,} rows where the file's footer "
                              f"has {expected:,}")
        self.rows[(i, j)] = n
        self.counted_rows += n
        self.counted_bytes += self.parts[i][j].bytes

    def _add(self, sent: Any, table: CountTable) -> None:
        """Add a task's count table to the audit's (what was sent: to measure it)."""
        self.acc.add_table(table)
        size = len(pickle.dumps(sent, protocol=5))
        self.tasks += 1
        self.count_bytes += size
        self.largest = max(self.largest, size)
        if self.on_counted:
            self.on_counted(self.counted_rows, self.counted_bytes, self.total_bytes)

    def _result(self, future: Future[Any]) -> Any:
        """A task's result; its failure as fairaudit's own error where it is one."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        task, i, j = self.what[str(future.key)]
        try:
            return future.result()
        except FairauditError:
            raise
        except CancelledError:
            raise EngineError("the Dask scheduler cancelled the "
                              "audit's tasks (was the cluster restarted or shut down?); run "
                              "the audit again") from None
        except KilledWorker:
            if task in ("files", "sha256"):
                members = self.groups[i]
                i = members[0]
                what = ("reading its footer and counting it" if task == "files"
                        else "taking its digest") + (
                    f" (with {len(members) - 1} other file{'s' if len(members) > 2 else ''})"
                    if len(members) > 1 else "")
            else:
                what = f"counting part {j + 1}"
            raise EngineError(
                f"{self.files[i].path}: Dask workers died each time they ran the task "
                f"{what} (out of memory, or killed); see the workers' logs") from None
        except ModuleNotFoundError as exc:
            if exc.name == "fairaudit" or (exc.name or "").startswith("fairaudit."):
                raise EngineError(f"the Dask workers cannot import fairaudit; install "
                                  f"fairaudit {__version__} where they run") from None
            raise

    def _cancel(self) -> None:
        """Leave the cluster as it was: no task of this audit queued or running."""
        if self.pending:
            with contextlib.suppress(Exception):
                self.client.cancel(  # type: ignore[no-untyped-call]
                    list(self.pending.values()), force=True)
            self.pending.clear()
