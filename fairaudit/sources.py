"""Input files: which files an audit reads, and their digests.

This module imports nothing heavy, so that the command line can find the input
files and start hashing them while the rest of the program is still loading.
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from . import remote
from .errors import InputError

Format = Literal["parquet", "csv"]

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
# Large pieces: between two pieces the hashing thread needs the GIL, and while the
# main thread is importing modules it gets it only every few milliseconds.
_HASH_CHUNK = 1 << 22


@dataclass(frozen=True)
class SourceFile:
    path: str
    format: Format
    size: int


def file_format(path: str) -> Format | None:
    lowered = path.lower()
    if lowered.endswith(_PARQUET):
        return "parquet"
    if lowered.endswith(_CSV):
        return "csv"
    return None


def resolve(inputs: Sequence[str]) -> list[SourceFile]:
    """Expand files, globs and folders into data files, each once, in a stable order.

    An input may be an fsspec URL (``s3://bucket/predictions/``): it is listed
    through fsspec, and its files keep their URLs as paths.
    """
    if not inputs:
        raise InputError("no input given; name a parquet or CSV file, a folder or a glob")
    seen: dict[str, SourceFile] = {}
    for spec in inputs:
        if remote.is_url(spec):  # listed through fsspec, sizes and all
            for url, size in remote.expand(spec, file_format):
                fmt = file_format(url)
                if fmt is not None:
                    seen.setdefault(url, SourceFile(url, fmt, size))
            continue
        for path in _expand(spec):
            fmt = file_format(path)
            if fmt is None:
                raise InputError(
                    f"{path}: not a parquet (.parquet) or CSV (.csv, .csv.gz) file; "
                    "rename it or convert it"
                )
            real = os.path.normpath(path)
            if real not in seen:
                seen[real] = SourceFile(real, fmt, os.path.getsize(path))
    return list(seen.values())


def _expand(spec: str) -> list[str]:
    if any(ch in spec for ch in "*?["):
        matches = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
        matches = [p for p in matches if file_format(p) is not None]
        if not matches:
            raise InputError(f"{spec}: the pattern matches no parquet or CSV file")
        return matches
    if os.path.isdir(spec):
        found = []
        for root, dirs, files in os.walk(spec):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            found += [os.path.join(root, f) for f in sorted(files)
                      if not f.startswith((".", "_")) and file_format(f) is not None]
        if not found:
            raise InputError(
                f"{spec}: the folder holds no parquet or CSV files; point at a folder of "
                ".parquet or .csv files"
            )
        return found
    if not os.path.exists(spec):
        raise InputError(f"{spec}: no such file or folder; check the path")
    return [spec]


def sha256(path: str, stop: threading.Event | None = None,
           on_bytes: Callable[[int], None] | None = None) -> str:
    """The SHA-256 of a file, read in 4 MiB pieces (hashlib lets go of the GIL for each)."""
    h = hashlib.sha256()
    buf = bytearray(_HASH_CHUNK)
    view = memoryview(buf)
    with (remote.open_binary(path) if remote.is_url(path) else open(path, "rb", buffering=0)) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            if on_bytes is not None:
                on_bytes(n)
            if stop is not None and stop.is_set():
                break
    return h.hexdigest()


class Cores:
    """Slots for the machine's cores, shared by the threads of one audit.

    A thread holds a slot while it works (``with cores:``), so that no more
    threads run at once than there are cores.
    """

    def __init__(self, slots: int | None = None) -> None:
        """``slots`` defaults to the machine's cores."""
        self.slots = max(1, slots or os.cpu_count() or 1)
        self._free = threading.BoundedSemaphore(self.slots)

    def __enter__(self) -> Cores:
        self._free.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._free.release()


class Digests:
    """The SHA-256 of every file, computed in a background thread while the files are read.

    Use it as a context manager around the reading; :meth:`result` waits for
    the digests. Leaving the block early stops the hashing. ``on_bytes(n)`` is
    called from the hashing thread after each piece of ``n`` bytes. With
    ``cores``, the hashing holds one slot until it is done.
    """

    def __init__(self, files: Sequence[SourceFile],
                 on_bytes: Callable[[int], None] | None = None,
                 cores: Cores | None = None) -> None:
        self._files = list(files)
        self._on_bytes = on_bytes
        self.cores = cores
        self._done = 0
        self._lock = threading.Lock()
        self._started = False
        self._digests: list[str] = []
        self._error: InputError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fairaudit-sha256", daemon=True)

    @property
    def files(self) -> list[SourceFile]:
        return list(self._files)

    def start(self) -> Digests:
        """Start hashing (once; later calls do nothing)."""
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()
        return self

    def watch(self, on_bytes: Callable[[int], None]) -> None:
        """Report hashed bytes to ``on_bytes`` from now on, starting with those done."""
        with self._lock:
            done, self._on_bytes = self._done, on_bytes
        if done:
            on_bytes(done)

    def __enter__(self) -> Digests:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._started:
            self._thread.join()

    def _advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            on_bytes = self._on_bytes
        if on_bytes is not None:
            on_bytes(n)

    def _run(self) -> None:
        if self.cores is None:
            self._hash_all()
            return
        with self.cores:
            self._hash_all()

    def _hash_all(self) -> None:
        for src in self._files:
            if self._stop.is_set():
                return
            try:
                self._digests.append(sha256(src.path, self._stop, self._advance))
            except OSError as exc:
                self._error = InputError(f"{src.path}: cannot read it to take its digest "
                                         f"({exc.strerror}); check the file")
                return

    def result(self) -> list[str]:
        """The digests, in the order of the files (waits for the hashing to finish)."""
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return list(self._digests)
