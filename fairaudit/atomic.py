"""Files written whole or not at all: a temporary file beside the target, then a rename.

A reader (a dashboard, a CI artifact upload, a browser refreshing a report)
never sees half a file, and a failed run leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import IO

from .errors import FairauditError


def write(path: str | os.PathLike[str], data: str | bytes | Callable[[IO[bytes]], None],
          what: str = "the report") -> None:
    """Write ``data`` (text as UTF-8, bytes, or a function writing to a binary file) to
    ``path`` atomically; an error names the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                   dir=folder)
    except OSError as exc:
        raise FairauditError(f"{path}: cannot write {what} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, str):
                f.write(data.encode("utf-8"))
            elif isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise FairauditError(f"{path}: cannot write {what} ({exc.strerror})") from None
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
