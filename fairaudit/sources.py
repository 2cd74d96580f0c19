"""Input files: which files an audit reads, and their digests.

This module imports nothing heavy, so that the command line can find the input
files and start hashing them while the rest of the program is still loading.

A file is known by what it is, not by how it was named: two spellings, a
symbolic link and a glob through a linked folder that reach the same file
(the same device and inode) list it once, and the names merged are counted. A
recursive glob never follows a link back into a folder it has walked, and a
folder is walked without following links to folders. Only regular files are
read: a named pipe or a device (``/dev/zero``) is refused before it is opened.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from . import remote
from .errors import InputError, UsageError
from .text import printable as printable

Format = Literal["parquet", "csv"]

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
# Large pieces: between two pieces the hashing thread needs the GIL, and while the
# main thread is importing modules it gets it only every few milliseconds.
_HASH_CHUNK = 1 << 22


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file's fields are separated and its decimals written.

    ``delimiter`` ``None`` takes it from the file's name: a tab for ``.tsv``,
    else a comma. ``decimal`` is ``.`` or ``,`` (decimal commas: ``0,75``).
    """

    delimiter: str | None = None
    decimal: str = "."

    def __post_init__(self) -> None:
        if self.delimiter is not None and (
                len(self.delimiter) != 1 or self.delimiter in "\"\r\n"):
            raise UsageError(f"delimiter {printable(repr(self.delimiter))}: give one "
                             "character such as ',', ';' or tab (not a quote or a newline)")
        if self.decimal not in (".", ","):
            raise UsageError(f"decimal {printable(repr(self.decimal))}: give '.' or ','")

    def delimiter_for(self, path: str) -> str:
        if self.delimiter is not None:
            return self.delimiter
        return "\t" if ".tsv" in path.lower() else ","


def parse_delimiter(text: str) -> str:
    """A delimiter as written on a command line or in a config file: ``;``, ``tab`` or ``\\t``."""
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
             "space": " "}
    return named.get(text.lower(), text)


@dataclass(frozen=True)
class SourceFile:
    """One input file, as it was when the audit listed it.

    ``size``, ``mtime_ns`` and the file's identity (``device``, ``inode``) are
    checked again once it has been read, so that figures and digest never come
    from two versions of it. ``duplicates`` counts the other names that reached
    it (merged into this one).
    """

    path: str
    format: Format
    size: int
    mtime_ns: int = 0
    device: int = 0
    inode: int = 0
    duplicates: int = 0
    dialect: CsvDialect = field(default=CsvDialect(), compare=False)

    @property
    def shown(self) -> str:
        """The path as it can be printed (bytes that are not UTF-8 as escapes)."""
        return printable(self.path)


def file_format(path: str) -> Format | None:
    lowered = path.lower()
    if lowered.endswith(_PARQUET):
        return "parquet"
    if lowered.endswith(_CSV):
        return "csv"
    return None


def resolve(inputs: Sequence[str], dialect: CsvDialect | None = None) -> list[SourceFile]:
    """Expand files, globs and folders into data files, each once, in a stable order.

    Names that reach a file already listed (the same device and inode) are
    merged into it and counted in its ``duplicates``. An input may be an fsspec
    URL (``s3://bucket/predictions/``): it is listed through fsspec, and its
    files keep their URLs as paths (one file a URL).
    """
    if not inputs:
        raise InputError("no input given; name a parquet or CSV file, a folder or a glob")
    dialect = dialect or CsvDialect()
    seen: dict[tuple[int, int], SourceFile] = {}
    urls: dict[str, SourceFile] = {}
    for spec in inputs:
        if remote.is_url(spec):  # listed through fsspec, sizes and all
            for url, size in remote.expand(spec, file_format):
                fmt = file_format(url)
                if fmt is not None:
                    urls.setdefault(url, SourceFile(url, fmt, size, dialect=dialect))
            continue
        for path, st in _expand(spec):
            fmt = file_format(path)
            if fmt is None:
                raise InputError(
                    f"{printable(path)}: not a parquet (.parquet) or CSV (.csv, .csv.gz) "
                    "file; rename it or convert it"
                )
            key = (st.st_dev, st.st_ino)
            known = seen.get(key)
            if known is None:
                seen[key] = SourceFile(os.path.normpath(path), fmt, st.st_size,
                                       st.st_mtime_ns, st.st_dev, st.st_ino, 0, dialect)
            else:
                seen[key] = SourceFile(known.path, known.format, known.size, known.mtime_ns,
                                       known.device, known.inode, known.duplicates + 1,
                                       known.dialect)
    return [*seen.values(), *urls.values()]


def duplicates_merged(files: Sequence[SourceFile]) -> int:
    """How many names given for the inputs reached a file that was already listed."""
    return sum(f.duplicates for f in files)


def check_unchanged(files: Sequence[SourceFile]) -> None:
    """Every file still as it was listed: the same file, size and modification time.

    Called once the files are read (and hashed): a file written to meanwhile
    would give figures and a digest of different contents.
    """
    for f in files:
        if remote.is_url(f.path):
            continue  # an object store's listing gave the size; there is no local stat
        try:
            st = os.stat(f.path)
        except OSError as exc:
            raise InputError(f"{f.shown}: removed or renamed while it was read "
                             f"({exc.strerror}); audit a copy that does not change") from None
        if (st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino) != (
                f.size, f.mtime_ns, f.device, f.inode):
            raise InputError(f"{f.shown}: changed while it was read (its size or "
                             "modification time differs from when the audit began); audit "
                             "a copy that does not change")


def _expand(spec: str) -> list[tuple[str, os.stat_result]]:
    """The data files a name stands for, each with its ``os.stat``."""
    if any(ch in spec for ch in "*?["):
        matches = [(p, st) for p in _glob(spec) if file_format(p) is not None
                   and not stat.S_ISDIR((st := _stat(p)).st_mode)]
        if not matches:
            raise InputError(f"{printable(spec)}: the pattern matches no parquet or CSV file")
        return matches
    st = _stat(spec, given=True)
    if stat.S_ISDIR(st.st_mode):
        found = []
        # links to folders are not followed: no loop, and nothing outside the folder
        for root, dirs, files in os.walk(spec):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            found += [os.path.join(root, f) for f in sorted(files)
                      if not f.startswith((".", "_")) and file_format(f) is not None]
        if not found:
            raise InputError(
                f"{printable(spec)}: the folder holds no parquet or CSV files; point at a "
                "folder of .parquet or .csv files"
            )
        return [(p, _stat(p)) for p in found]
    return [(spec, st)]


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _stat(path: str, given: bool = False) -> os.stat_result:
    """``os.stat`` of an input (links followed); a folder, or else a regular file.

    Anything else is refused before it is opened: a named pipe would block the
    reading forever, and a device such as ``/dev/zero`` never ends.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        shown = printable(path)
        if os.path.islink(path):
            why = "a link loop" if exc.errno == errno.ELOOP else "a link to nothing"
            raise InputError(f"{shown}: {why} ({exc.strerror}); fix or remove the "
                             "symbolic link") from None
        if isinstance(exc, FileNotFoundError):
            what = "no such file or folder" if given else "no such file"
            raise InputError(f"{shown}: {what}; check the path") from None
        raise InputError(f"{shown}: cannot open it ({exc.strerror}); check the path and "
                         "its permissions") from None
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return st
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
    raise InputError(f"{printable(path)}: {kind}, not a regular file; fairaudit reads "
                     "regular files only: save the data to a file and audit that")


_MAGIC = re.compile(r"[*?[]")


def _glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, sorted, without walking a folder twice.

    ``**`` in the standard library follows links to folders, so that a link
    back to a parent is walked until the path is too long for the system (and
    two such links double the paths at each level). Here ``**`` walks each
    folder once (by device and inode), whatever name reaches it.
    """
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    base = os.sep if pattern.startswith(os.sep) else ""
    parts = [p for p in pattern.split(os.sep) if p]
    return sorted(dict.fromkeys(_match(base, parts)))


def _join(folder: str, name: str) -> str:
    return os.path.join(folder, name) if folder else name


def _match(base: str, parts: list[str]) -> list[str]:
    """The paths under ``base`` that match the pattern's components ``parts``."""
    part, rest = parts[0], parts[1:]
    if part == "**":  # zero or more folders; last, everything under them
        return [p for folder in _folders(base)
                for p in (_match(folder, rest) if rest
                          else [_join(folder, n) for n in _names(folder, "*")])]
    names = _names(base, part) if _MAGIC.search(part) else [part]
    candidates = [_join(base, n) for n in names]
    if not rest:
        return [c for c in candidates if os.path.lexists(c)]
    return [p for c in candidates if os.path.isdir(c) for p in _match(c, rest)]


def _names(folder: str, part: str) -> list[str]:
    try:
        names = os.listdir(folder or os.curdir)
    except OSError:
        return []
    if not part.startswith("."):
        names = [n for n in names if not n.startswith(".")]
    return sorted(fnmatch.filter(names, part))


def _folders(base: str) -> Iterator[str]:
    """``base`` and every folder under it (hidden ones aside), each reached once."""
    seen: set[tuple[int, int]] = set()
    stack = [base]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder or os.curdir)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen or not stat.S_ISDIR(st.st_mode):
            continue
        seen.add((st.st_dev, st.st_ino))
        yield folder
        stack += reversed([os.path.join(folder, n) if folder else n
                           for n in _names(folder, "*")])


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
                self._error = InputError(f"{src.shown}: cannot read it to take its digest "
                                         f"({exc.strerror}); check the file")
                return

    def result(self) -> list[str]:
        """The digests, in the order of the files (waits for the hashing to finish)."""
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return list(self._digests)
