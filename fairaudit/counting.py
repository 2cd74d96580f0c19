"""The counting pass: files or batches in, one count table out, in a single streaming pass.

Every outcome kind of the audit turns each batch into cell indices (the base
kind first; kinds that cross it get its cells); one accumulator adds them up
per intersection group, on as many threads as there are cores, and each kind
unpacks its counted cells into its own at the end.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from . import readers
from .counts import Accumulator, CountTable, Family
from .decode import Roles, Where
from .kinds import OutcomeKind, kinds_for
from .rangespec import RangeSpec, check_columns

ProgressFn = Callable[[int, int, int], None]
"""Called as ``on_progress(rows_read, bytes_done, total_bytes)``; totals only grow."""


@dataclass(frozen=True)
class _Given:
    """Settings from roles and ranges alone, for callers that count without a config."""

    roles: Roles
    ranges: tuple[RangeSpec, ...]

    @property
    def label(self) -> str | None:
        return self.roles.label


@dataclass(frozen=True)
class _Pass:
    """What every thread of a counting pass shares: how to turn a batch into counts."""

    groups: tuple[str, ...]  # the count table's key columns: the groups, then kinds' keys
    kinds: tuple[OutcomeKind, ...]
    offsets: tuple[int, ...]  # where each kind's counted cells start
    columns: tuple[str, ...]  # every column read, each once

    @classmethod
    def of(cls, roles: Roles, ranges: Sequence[RangeSpec] = (),
           kinds: Sequence[OutcomeKind] | None = None) -> _Pass:
        if kinds is None:
            kinds = kinds_for(_Given(roles, tuple(ranges)))
        sizes = [len(k.counted()) for k in kinds]
        offsets = tuple(int(x) for x in np.cumsum([0, *sizes[:-1]]))
        keys = tuple(dict.fromkeys([*roles.groups, *(c for k in kinds for c in k.keys)]))
        columns = tuple(dict.fromkeys([*roles.columns, *(c for k in kinds for c in k.columns),
                                       *keys]))
        return cls(keys, tuple(kinds), offsets, columns)

    @property
    def lists(self) -> tuple[str, ...]:
        """The columns read that a kind takes lists in."""
        return tuple(c for k in self.kinds for c in k.list_columns)

    def accumulator(self) -> Accumulator:
        return Accumulator(self.groups, tuple(c for k in self.kinds for c in k.counted()))

    def dictionary(self, src: readers.SourceFile) -> tuple[str, ...]:
        # group columns come dictionary-encoded from parquet; so do the columns a kind
        # checks once per distinct value (this leaves non-text columns as they are)
        extra = tuple(c for k in self.kinds for c in k.dictionary_columns)
        return self.groups + (extra if src.format == "parquet" else ())

    def count(self, batch: pa.RecordBatch, where: Where, acc: Accumulator) -> None:
        base = self.kinds[0].count(batch, where, None)
        families: list[Family] = [(base, 0)]
        for kind, offset in zip(self.kinds[1:], self.offsets[1:], strict=True):
            families.append((kind.count(batch, where, base), offset))
        acc.add([batch.column(g) for g in self.groups], families)

    def seen(self) -> tuple[Any, ...]:
        """What each kind remembers across batches (see ``OutcomeKind.seen``)."""
        return tuple(k.seen() for k in self.kinds)

    def absorb(self, seen: Sequence[Any], file: str) -> None:
        """Take in what another process's pass over ``file`` remembered, kind by kind."""
        for kind, state in zip(self.kinds, seen, strict=True):
            if state is not None:
                kind.absorb(state, file)

    def table(self, acc: Accumulator) -> CountTable:
        counted = acc.table()
        if len(self.kinds) == 1 and self.kinds[0].counted() == self.kinds[0].cells:
            return counted
        blocks = [k.unpack(counted.cells[:, o:o + len(k.counted())])
                  for k, o in zip(self.kinds, self.offsets, strict=True)]
        return CountTable(counted.columns, tuple(c for k in self.kinds for c in k.cells),
                          counted.levels, counted.keys, np.hstack(blocks))


def count_files(files: Sequence[readers.SourceFile], roles: Roles,
                ranges: Sequence[RangeSpec] = (), *,
                on_progress: ProgressFn | None = None, threads: int | None = None,
                cores: readers.Cores | None = None,
                kinds: Sequence[OutcomeKind] | None = None) -> tuple[CountTable, list[int]]:
    """Count every file in one streaming pass; also the rows read from each.

    Each file's footer is read once, to check its columns and split it into
    parts (runs of row groups); the parts are counted on ``threads`` threads
    (default: one a core), each into its own counts, added up at the end.
    Errors are raised as a one-thread pass would: the first part in file order
    that fails names the problem. ``cores``, if given, is shared with other work
    (the hashing): a part is counted only while holding one of its slots.
    ``kinds`` are the outcome kinds counted (default: those the roles and
    ranges ask for).
    """
    threads = max(1, threads or os.cpu_count() or 1)
    cores = cores or readers.Cores(threads)
    tracker = _Tracker(on_progress, sum(f.size for f in files))
    work = _Pass.of(roles, ranges, kinds)

    def split(f: readers.SourceFile) -> list[readers.Part]:
        return readers.parts(f, work.columns, lists=work.lists,
                             check=lambda names: check_columns(ranges, names, f.path))

    with ThreadPoolExecutor(threads, thread_name_prefix="fairaudit") as pool:
        per_file = list(pool.map(split, files))
        parts = [p for ps in per_file for p in ps]
        # with fewer parts than threads, pyarrow decodes a part's columns in parallel
        inner = len(parts) < threads
        if threads == 1 or len(parts) <= 1:
            acc = work.accumulator()
            part_rows = [_count_part(p, work, acc, tracker, inner, cores) for p in parts]
        else:
            acc, part_rows = _count_parallel(pool, threads, parts, work, tracker, cores)
    rows = []
    it = iter(part_rows)
    for ps in per_file:
        rows.append(sum(next(it) for _ in ps))
    return work.table(acc), rows


def count_part(part: readers.Part, work: _Pass, acc: Accumulator,
               use_threads: bool = False) -> int:
    """Count one part on the calling thread into ``acc``; return its rows.

    ``acc`` is ``work.accumulator()``, shared by the parts counted here; its
    table (laid out as counted, before each kind unpacks its cells) adds to
    others with ``Accumulator.add_table``, and ``work.table(acc)`` unpacks the
    sum, as :func:`count_files` does with the tables of its threads. This is what
    a worker of a distributed backend runs, where the part is stored.
    """
    return _count_part(part, work, acc, _Tracker(None, 0), use_threads, readers.Cores(1))


def count_batches(streams: Iterable[Iterable[pa.RecordBatch]], names: Sequence[str],
                  roles: Roles, ranges: Sequence[RangeSpec] = (),
                  kinds: Sequence[OutcomeKind] | None = None
                  ) -> tuple[CountTable, list[int]]:
    """Count batches already in memory, one stream a file, on the calling thread."""
    work = _Pass.of(roles, ranges, kinds)
    acc = work.accumulator()
    rows: list[int] = []
    for name, stream in zip(names, streams, strict=False):
        first = 1
        for batch in stream:
            work.count(batch, Where(name, first), acc)
            first += batch.num_rows
        rows.append(first - 1)
    return work.table(acc), rows


def _count_part(part: readers.Part, work: _Pass, acc: Accumulator,
                tracker: _Tracker, use_threads: bool, cores: readers.Cores) -> int:
    first = part.first_row
    done = 0
    with cores:
        for batch, nbytes in readers.read_part(part, work.columns,
                                               work.dictionary(part.src), use_threads):
            work.count(batch, Where(part.src.path, first), acc)
            first += batch.num_rows
            tracker.advance(batch.num_rows, nbytes - done)
            done = nbytes
    tracker.advance(0, part.bytes - done)
    return first - part.first_row


def _count_parallel(pool: ThreadPoolExecutor, threads: int, parts: list[readers.Part],
                    work: _Pass, tracker: _Tracker, cores: readers.Cores
                    ) -> tuple[Accumulator, list[int]]:
    """Count parts on ``threads`` workers taking them in order; add their counts up."""
    part_rows = [0] * len(parts)
    failed: dict[int, BaseException] = {}
    state = {"stop_after": len(parts)}  # parts after a failed one need not be read
    lock = threading.Lock()
    taken = itertools.count()

    def worker() -> Accumulator:
        acc = work.accumulator()
        while (i := next(taken)) < len(parts) and i < state["stop_after"]:
            try:
                part_rows[i] = _count_part(parts[i], work, acc, tracker, False, cores)
            except BaseException as exc:  # re-raised on the calling thread, in file order
                with lock:
                    failed[i] = exc
                    state["stop_after"] = min(state["stop_after"], i)
        return acc

    futures = [pool.submit(worker) for _ in range(min(threads, len(parts)))]
    try:
        accs = [f.result() for f in futures]
    except BaseException:
        state["stop_after"] = -1  # interrupted: workers stop after their current part
        raise
    if failed:
        raise failed[min(failed)]
    total = accs[0]
    for other in accs[1:]:
        total.add_table(other.table())
    return total, part_rows


class _ReadAndHashed:
    """Progress of reading and hashing together: a byte is done once it is counted and hashed."""

    def __init__(self, callback: ProgressFn) -> None:
        self._callback = callback
        self._rows = self._counted = self._hashed = self._total = 0
        self._lock = threading.Lock()

    def counted(self, rows: int, bytes_done: int, total_bytes: int) -> None:
        with self._lock:
            self._rows, self._counted, self._total = rows, bytes_done, total_bytes
            self._report()

    def hashed(self, nbytes: int) -> None:
        with self._lock:
            before = min(self._counted, self._hashed)
            self._hashed += nbytes
            if self._total and min(self._counted, self._hashed) > before:
                self._report()

    def _report(self) -> None:
        self._callback(self._rows, min(self._counted, self._hashed), self._total)


class _Tracker:
    """Sums rows and bytes done across threads and reports them, in order, to one callback."""

    def __init__(self, callback: ProgressFn | None, total_bytes: int) -> None:
        self._callback = callback
        self._total = total_bytes
        self._rows = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def advance(self, rows: int, nbytes: int) -> None:
        if self._callback is None or (rows == 0 and nbytes == 0):
            return
        with self._lock:
            self._rows += rows
            self._bytes += nbytes
            self._callback(self._rows, self._bytes, self._total)
