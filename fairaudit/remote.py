"""Inputs named by fsspec URLs (``s3://``, ``gs://``, ``abfs://``, ``file://``, ``memory://``...).

A URL is listed, opened and hashed through fsspec, with the filesystem package
of its scheme (s3fs, gcsfs, adlfs...); pyarrow reads it through
``PyFileSystem(FSSpecHandler(fs))``. fsspec is imported only when a URL is
given, and a missing package is one line naming the ``pip install`` that fixes
it. Credentials come from where each package looks for them (environment
variables, its config files), never from fairaudit's config.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# the package behind each common scheme; fsspec's own message names it less plainly
_PACKAGES = {
    "s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "abfs": "adlfs",
    "abfss": "adlfs", "az": "adlfs", "adl": "adlfs", "hf": "huggingface_hub",
    "http": "aiohttp", "https": "aiohttp", "sftp": "paramiko", "ssh": "paramiko",
}


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL (``scheme://...``) rather than a local path."""
    return _URL.match(path) is not None


def scheme(url: str) -> str:
    return url.partition("://")[0].lower()


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of a URL and the path within it."""
    try:
        import fsspec.core
    except ImportError:
        raise InputError(f"{url}: reading URLs needs fsspec, which is not installed; "
                         "install it with: pip install fsspec") from None
    protocol = scheme(url)
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        package = _PACKAGES.get(protocol)
        if package is None:
            raise InputError(f"{url}: reading {protocol}:// URLs needs a package that is "
                             f"not installed ({exc})") from None
        raise InputError(f"{url}: reading {protocol}:// URLs needs {package}, which is not "
                         f"installed; install it with: pip install {package}") from None
    except ValueError as exc:
        raise InputError(f"{url}: {exc}; give a local path or a URL of a filesystem "
                         "fsspec knows (s3://, gs://, abfs://, file://...)") from None
    return fs, str(path)


def expand(spec: str, known: Any) -> list[tuple[str, int]]:
    """The data files a URL names (a file, a folder or a glob), with their sizes, sorted.

    ``known(name)`` says whether a file name is a data file (by its extension).
    As for local paths, a glob skips hidden files and a folder skips hidden
    and ``_``-prefixed entries at every depth.
    """
    fs, path = filesystem(spec)
    try:
        if any(ch in path for ch in "*?["):
            found = fs.glob(path, detail=True)
            files = {p: i for p, i in found.items() if i.get("type") == "file"
                     and known(p) and not _base(p).startswith(".")}
            if not files:
                raise InputError(f"{spec}: the pattern matches no parquet or CSV file")
        elif fs.isdir(path):
            root = path.rstrip("/")
            found = fs.find(path, detail=True)
            files = {p: i for p, i in found.items() if known(p) and not any(
                part.startswith((".", "_")) for part in p[len(root):].split("/") if part)}
            if not files:
                raise InputError(f"{spec}: the folder holds no parquet or CSV files; point at "
                                 "a folder of .parquet or .csv files")
        elif fs.isfile(path):
            files = {path: fs.info(path)}
        else:
            raise InputError(f"{spec}: no such file or folder; check the URL")
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{spec}: cannot list it ({exc}); check the URL and the "
                         "credentials") from None
    return [(_url(fs, p, spec), int(files[p].get("size") or 0)) for p in sorted(files)]


def _base(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def _url(fs: Any, path: str, spec: str) -> str:
    url = str(fs.unstrip_protocol(path))
    # keep the scheme as the user wrote it (gs:// rather than gcs://, say)
    given = spec.partition("://")[0]
    return given + url[url.index("://"):] if "://" in url else url


def open_input_file(url: str) -> pa.NativeFile:
    """A URL as a random-access pyarrow file (the readers decompress .gz themselves)."""
    fs, path = _arrow_fs(url)
    return fs.open_input_file(path)


def open_binary(url: str) -> Any:
    """A URL as a binary Python file, with ``readinto`` (for hashing)."""
    fs, path = filesystem(url)
    try:
        return fs.open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{url}: no such file; check the URL") from None


def _arrow_fs(url: str) -> tuple[Any, str]:
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, path = filesystem(url)
    return PyFileSystem(FSSpecHandler(fs)), path
