"""Report files: checked before any input is read, and written whole or not at all.

Before an audit reads its inputs, every report path is compared with every
input file (by device and inode, links followed, whatever the spelling) and
with the other report paths, and its folder must exist: a report never
overwrites the data it reports on, and a mistake costs no run.

A report is written to a temporary file in its own folder, flushed to disk and
renamed over the target, so that a full disk, a crash, Ctrl-C or SIGTERM
leaves the previous report as it was and no partial file. A stream or a
device (``/dev/stdout``, ``/dev/fd/3``, ``/dev/null``, a named pipe) is
written in place: replacing the file that ``> report.json`` opened would
leave the shell writing to a file no longer there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, TextIO

from .errors import OutputError, UsageError
from .sources import SourceFile, printable

Writer = Callable[[IO[bytes]], object]


def check(outputs: Sequence[tuple[str, str]], inputs: Sequence[SourceFile] = ()) -> None:
    """Refuse report paths that would overwrite an input or each other, or cannot be made.

    ``outputs`` are (what, path) pairs, ``what`` naming the option that gave
    the path (``--json``); the path ``-`` (stdout) is left out.
    """
    by_identity = {(f.device, f.inode): f for f in inputs if f.inode}
    seen: dict[str, tuple[str, str]] = {}
    for what, path in outputs:
        if path == "-" or _in_place(path):
            continue
        shown = f"{what} {printable(path)}"
        real = os.path.realpath(path)
        try:
            st: os.stat_result | None = os.stat(real)
        except OSError:
            st = None
        if st is not None:
            same = by_identity.get((st.st_dev, st.st_ino))
            if same is not None:
                raise UsageError(f"{shown}: that is the input file {same.shown}; the report "
                                 "would overwrite it: choose another path")
            if stat.S_ISDIR(st.st_mode):
                raise UsageError(f"{shown}: a folder; give the path of a file in it, such "
                                 f"as {printable(os.path.join(path, 'audit.json'))}")
            key = f"{st.st_dev}:{st.st_ino}"
        else:
            key = real
            folder = os.path.dirname(real)
            if not os.path.isdir(folder):
                raise UsageError(f"{shown}: the folder {printable(folder)} does not exist; "
                                 "create it or choose another path")
        if key in seen and (st is None or stat.S_ISREG(st.st_mode)):
            other, _ = seen[key]
            raise UsageError(f"{other} and {shown}: the same file; give each report a path "
                             "of its own")
        seen[key] = (shown, path)


def write_atomic(path: str, write: Writer, *, append: bool = False) -> None:
    """Let ``write(file)`` write the report at ``path``: in full, or not at all.

    With ``append`` the report is added to what the file holds (the GitHub job
    summary): the old content and the new are written to the temporary file.
    Any failure (a full disk, a read-only folder, an interrupt) removes the
    temporary file, leaves the target as it was and, for an ``OSError``,
    raises :class:`OutputError` naming the path.
    """
    target = os.path.realpath(path)  # through a link: the file it points to is replaced
    try:
        try:
            st: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            st = None
        fd = _descriptor(path)
        if fd is not None:
            # this process's own stream: written through it, where its output has got to
            # (opened anew, /dev/stdout would be written over from its start)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            with os.fdopen(os.dup(fd), "wb") as f:
                write(f)
            return
        if _in_place(path) or (st is not None and not stat.S_ISREG(st.st_mode)):
            with open(path, "ab") as f:  # a device or a pipe
                write(f)
            return
        _replace(target, st, write, append)
    except OSError as exc:
        raise OutputError(f"{printable(path)}: cannot write the report "
                          f"({exc.strerror or exc}); the previous report, if any, is left as "
                          "it was") from None


_STREAMS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_FD = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")


def _descriptor(path: str) -> int | None:
    """The file descriptor a path such as /dev/stdout or /dev/fd/3 names, if it does."""
    absolute = os.path.abspath(path)
    if absolute in _STREAMS:
        return _STREAMS[absolute]
    match = _FD.fullmatch(absolute)
    return int(match.group(1)) if match else None


def _in_place(path: str) -> bool:
    """A path that names an open stream or a device (/dev/stdout, /proc/self/fd/1)."""
    return os.path.abspath(path).startswith(("/dev/", "/proc/"))


def _replace(target: str, st: os.stat_result | None, write: Writer, append: bool) -> None:
    folder, name = os.path.split(target)
    fd, tmp = tempfile.mkstemp(dir=folder or os.curdir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if append and st is not None:
                with open(target, "rb") as old:
                    shutil.copyfileobj(old, f)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder or os.curdir)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (where the system allows a folder to be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def writing(stream: TextIO) -> Iterator[None]:
    """A block that writes to ``stream`` (standard output or error), flushed at its end.

    A reader that has gone (``| head``) ends the block quietly, as it ends a
    Unix tool, and what is left to write there is dropped (:func:`drop`); any
    other failure (a full disk behind ``>``) is an :class:`OutputError`.
    """
    try:
        yield
        stream.flush()
    except BrokenPipeError:
        drop(stream)
    except OSError as exc:
        name = "stderr" if stream is sys.stderr else "stdout"
        raise OutputError(f"{name}: cannot write the report ({exc.strerror or exc})") from None


def drop(stream: TextIO) -> None:
    """Send whatever is still to be written to ``stream`` to the null device.

    Called once the stream's reader has gone, as ``head`` does after its
    lines: the rest of the output is not wanted, and Python must not fail on
    it when it flushes at exit.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that cleanups run."""

    signum = signal.SIGTERM


def exit_code(exc: KeyboardInterrupt) -> int:
    """The conventional exit code of a run stopped by a signal: 128 + its number."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (Ctrl-C raises
    ``KeyboardInterrupt`` already): a report being written is then removed,
    not left half-written. Outside the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
