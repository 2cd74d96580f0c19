"""The Dask engine: each worker counts its own files and row groups; only counts come back.

The client lists the inputs (paths, globs, folders, fsspec URLs) and submits,
per file, a task that reads its footer where the file is stored and splits it
into parts (runs of whole row groups, at least :data:`TASK_ROWS` rows; a CSV
file is one part), then one task a part that counts it with the in-process
engine's own code (:func:`fairaudit.counting.count_part`) and returns its count
table and its rows, and, when the audit takes digests, a task a file that
hashes it on a worker. The client adds the tables up as the in-process engine
adds up the tables of its threads (``Accumulator.add_table``), so that
``engine.judge`` gives exactly the same figures. No row ever leaves a worker.

A task that fails stays failed: a worker that dies while counting has its
tasks run again elsewhere (Dask's ``distributed.scheduler.allowed-failures``
deaths at most), and each part's table is added once, when its task has
finished, and its rows checked against the file's footer. An unreadable file
fails the audit with fairaudit's own one-line :class:`InputError`; the tasks
left are cancelled and a local cluster is shut down, whatever happens.

dask and distributed are imported only here, and only when the engine is used
(``pip install "fairaudit[dask]"``).
"""

from __future__ import annotations

import contextlib
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
from ..counts import CountTable
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
# what the client's tasks are named, so that the scheduler's dashboard and logs say
# whose they are; a random token per audit keeps two audits' tasks apart
TASK_PREFIX = "fairaudit"
LOOPBACK = "127.0.0.1:0"


@dataclass(frozen=True)
class Traffic:
    """What travelled back to the client: tasks run and the bytes of their results.

    ``count_bytes`` is the pickled size of the count tables and row counts (one
    a part), ``other_bytes`` that of the parts' descriptions and the digests.
    """

    files: int
    parts: int
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
    files = readers.resolve(list(inputs))
    work = _Pass.of(config.roles, config.ranges, kinds_for(config))
    with _client(config) as client:
        return _Audit(client, files, work, config, on_progress).run()


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


def _plan(src: readers.SourceFile, columns: tuple[str, ...], ranges: tuple[RangeSpec, ...],
          task_rows: int) -> tuple[str, tuple[readers.Part, ...]]:
    """Read a file's footer where it is stored: check its columns, split it into parts."""
    found = readers.parts(src, columns, task_rows,
                          check=lambda names: check_columns(ranges, names, src.path))
    # the footer is read again by the task that counts the part, on whichever worker
    return __version__, tuple(replace(p, metadata=None) for p in found)


def _count(part: readers.Part, work: _Pass) -> tuple[CountTable, int, tuple[Any, ...]]:
    table, rows = count_part(part, work)
    return table, rows, work.seen()


def _digest(path: str) -> str:
    try:
        return sources.sha256(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it to take its digest "
                         f"({exc.strerror or exc}); check the file") from None


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
        self.what: dict[str, tuple[str, int, int]] = {}  # task key -> (task, file, part)
        both = _ReadAndHashed(on_progress) if on_progress and config.digest else None
        self.on_counted = both.counted if both else on_progress
        self.on_hashed = both.hashed if both else None
        self.total_bytes = sum(f.size for f in files)

    def submit(self, task: str, fn: Callable[..., Any], *args: Any, file: int, part: int = 0,
               priority: int = 0) -> Future[Any]:
        key = f"{TASK_PREFIX}-{task}-{self.token}-{file}-{part}"
        self.what[key] = (task, file, part)
        future = self.pending[key] = self.client.submit(fn, *args, key=key, pure=False,
                                                        priority=priority)
        return future

    def run(self) -> tuple[CountTable, tuple[FileInfo, ...], Traffic]:
        from distributed import as_completed

        for i, src in enumerate(self.files):
            # footers first: they are small reads, and each one lets counting start
            self.submit("plan", _plan, src, self.work.columns, tuple(self.config.ranges),
                        TASK_ROWS, file=i, priority=10)
            if self.config.digest:
                self.submit("sha256", _digest, src.path, file=i)
        parts: dict[int, tuple[readers.Part, ...]] = {}
        rows: dict[tuple[int, int], int] = {}
        hashes = [""] * len(self.files)
        acc = self.work.accumulator()
        counted_rows = counted_bytes = count_bytes = largest = other_bytes = 0
        waiting = as_completed(  # type: ignore[no-untyped-call]
            list(self.pending.values()), loop=self.client.loop)
        try:
            for future in waiting:
                key = str(future.key)
                task, i, j = self.what[key]
                value = self._result(future, task, i, j)
                del self.pending[key]
                future.release()  # the scheduler forgets it: a lost worker cannot redo it
                size = len(pickle.dumps(value, protocol=5))
                if task == "plan":
                    other_bytes += size
                    version, parts[i] = value
                    if version != __version__:
                        raise EngineError(
                            f"the Dask workers run fairaudit {version} and this client "
                            f"fairaudit {__version__}; install the same version on both")
                    for j, part in enumerate(parts[i]):
                        task_of_part = self.submit("count", _count, part, self.work, file=i,
                                                   part=j)
                        waiting.add(task_of_part)  # type: ignore[no-untyped-call]
                elif task == "count":
                    table, n, seen = value
                    self.work.absorb(seen, self.files[i].path)
                    if (i, j) in rows:  # never: each task's result is taken once
                        raise EngineError(f"{self.files[i].path}: part {j} was counted twice")
                    expected = parts[i][j].rows
                    if expected is not None and n != expected:
                        raise EngineError(f"{self.files[i].path}: part {j} gave {n:,} rows "
                                          f"where the file's footer has {expected:,}")
                    rows[(i, j)] = n
                    acc.add_table(table)
                    count_bytes += size
                    largest = max(largest, size)
                    counted_rows += n
                    counted_bytes += parts[i][j].bytes
                    if self.on_counted:
                        self.on_counted(counted_rows, counted_bytes, self.total_bytes)
                else:
                    other_bytes += size
                    hashes[i] = value
                    if self.on_hashed:
                        self.on_hashed(self.files[i].size)
        except BaseException:
            self._cancel()
            raise
        infos = tuple(FileInfo(f.path, f.format, f.size, hashes[i],
                               sum(rows[(i, j)] for j in range(len(parts[i]))))
                      for i, f in enumerate(self.files))
        traffic = Traffic(len(self.files), len(rows), count_bytes, largest, other_bytes)
        return self.work.table(acc), infos, traffic

    def _result(self, future: Future[Any], task: str, i: int, j: int) -> Any:
        """A task's result; its failure as fairaudit's own error where it is one."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            return future.result()
        except FairauditError:
            raise
        except CancelledError:
            raise EngineError(f"{self.files[i].path}: the Dask scheduler cancelled the "
                              "audit's tasks (was the cluster restarted or shut down?); run "
                              "the audit again") from None
        except KilledWorker:
            what = {"plan": "reading its footer", "count": f"counting part {j + 1}",
                    "sha256": "taking its digest"}[task]
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
