"""Inputs named by fsspec URLs read, list and hash as local files do, with the same figures.

fsspec's in-memory filesystem stands for object storage (no local path exists,
so nothing can fall back to the local file system), ``file://`` for a shared
file system; no test touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import fairaudit
from fairaudit import remote, sources
from fairaudit.errors import InputError
from fairaudit.report.json import to_dict
from tests.cli_support import assert_cannot_audit, invoke


class Bucket(MemoryFileSystem):
    """fsspec's memory://, under its own scheme, with a file of its own for each reader.

    memory:// hands every reader of a path the same file object, so a digest
    taken while the file is read would move the reader's position; an object
    store (s3fs, gcsfs, adlfs) opens each read on its own, as this does.
    """

    protocol = ("bucket",)

    @classmethod
    def _strip_protocol(cls, path):  # type: ignore[no-untyped-def]
        return super()._strip_protocol(path.removeprefix("bucket://"))

    def _open(self, path, mode="rb", **kwargs):  # type: ignore[no-untyped-def]
        f = super()._open(path, mode, **kwargs)
        return io.BytesIO(f.getvalue()) if mode == "rb" else f


fsspec.register_implementation("bucket", Bucket, clobber=True)

SETTINGS = dict(label="y", prediction="yhat", groups=["g"], bootstrap=50)


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n).astype(object)
    g[rng.random(n) < 0.05] = None
    return pa.table({"g": pa.array(g, type=pa.string()), "y": rng.integers(0, 2, n),
                     "yhat": rng.integers(0, 2, n)})


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=500)
    return sink.getvalue()


def _csv_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


@pytest.fixture()
def bucket(tmp_path):
    """The same three files in a bucket and on disk; yields (bucket URL, local folder)."""
    fs = fsspec.filesystem("bucket")
    root = f"/fairaudit-test-{tmp_path.name}"
    files = {
        "2026/part-0.parquet": _parquet_bytes(_table(1200, 1)),
        "2026/part-1.parquet": _parquet_bytes(_table(800, 2)),
        "2026/late.csv.gz": gzip.compress(_csv_bytes(_table(300, 3))),
        "2026/_SUCCESS.parquet": b"not data",  # hidden, as in a Spark output folder
        "2026/.hidden/part-9.parquet": b"not data",
        "2026/notes.txt": b"not data",
    }
    for name, data in files.items():
        fs.pipe(f"{root}/{name}", data)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    yield f"bucket://{root}", tmp_path
    fs.rm(root, recursive=True)


def _figures(result: fairaudit.AuditResult) -> dict:
    doc = to_dict(result)
    for key in ("timestamp", "config", "config_sources", "files"):
        del doc["provenance"][key]
    return doc


def test_a_folder_url_is_listed_like_a_local_folder(bucket):
    url, local = bucket
    found = sources.resolve([url + "/2026"])
    assert [f.path for f in found] == [f"{url}/2026/late.csv.gz", f"{url}/2026/part-0.parquet",
                                       f"{url}/2026/part-1.parquet"]
    assert [f.format for f in found] == ["csv", "parquet", "parquet"]
    assert [f.size for f in found] == [(local / "2026" / n).stat().st_size
                                       for n in ("late.csv.gz", "part-0.parquet",
                                                 "part-1.parquet")]
    # a glob matches what the same glob matches on disk (hidden files skipped, not _ ones)
    by_url = [f.path.rpartition("/")[2] for f in sources.resolve([url + "/2026/*.parquet"])]
    on_disk = [f.path.rpartition("/")[2]
               for f in sources.resolve([str(local / "2026" / "*.parquet")])]
    assert by_url == on_disk == ["_SUCCESS.parquet", "part-0.parquet", "part-1.parquet"]


def test_a_url_audit_gives_the_local_audit_figures_and_digests(bucket):
    url, local = bucket
    by_url = fairaudit.audit(url + "/2026", **SETTINGS)
    by_path = fairaudit.audit(str(local / "2026"), **SETTINGS)
    assert by_url.provenance.rows_read == 2300
    assert _figures(by_url) == _figures(by_path)
    for remote_file, local_file in zip(by_url.provenance.files, by_path.provenance.files,
                                       strict=True):
        assert remote_file.path.startswith("bucket:///fairaudit-test-")
        assert (remote_file.sha256, remote_file.rows, remote_file.size) == \
            (local_file.sha256, local_file.rows, local_file.size)
        with open(local_file.path, "rb") as f:
            expected = hashlib.sha256(f.read()).hexdigest()
        assert remote_file.sha256 == expected


def test_a_file_url_reads_the_local_file(bucket):
    _, local = bucket
    url = (local / "2026" / "part-0.parquet").as_uri()
    result = fairaudit.audit(url, **SETTINGS)
    assert result.provenance.files[0].path == url
    assert _figures(result) == _figures(fairaudit.audit(str(local / "2026" / "part-0.parquet"),
                                                        **SETTINGS))


def test_url_errors_name_the_url(bucket):
    url, local = bucket
    with pytest.raises(InputError, match=r"^bucket://.*/nothing: no such file or folder"):
        sources.resolve([url + "/nothing"])
    with pytest.raises(InputError, match="the pattern matches no parquet or CSV file"):
        sources.resolve([url + "/2026/*.feather"])
    # a damaged file: the message a local copy gets, naming the URL
    damaged = b"PAR1" + bytes(64)
    fsspec.filesystem("bucket").pipe(url.removeprefix("bucket://") + "/bad/x.parquet", damaged)
    (local / "x.parquet").write_bytes(damaged)
    with pytest.raises(InputError) as by_url:
        fairaudit.audit(url + "/bad", **SETTINGS)
    with pytest.raises(InputError) as by_path:
        fairaudit.audit(str(local / "x.parquet"), **SETTINGS)
    assert str(by_url.value).startswith(f"{url}/bad/x.parquet: the parquet file is truncated")
    assert str(by_url.value).replace(f"{url}/bad/", "") == \
        str(by_path.value).replace(f"{local}/", "")
    with pytest.raises(InputError, match="nosuch://x: Protocol not known: nosuch"):
        sources.resolve(["nosuch://x"])


def test_a_missing_filesystem_package_is_one_line_naming_its_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    with pytest.raises(InputError) as caught:
        sources.resolve(["s3://bucket/predictions/"])
    assert str(caught.value) == ("s3://bucket/predictions/: reading s3:// URLs needs s3fs, "
                                 "which is not installed; install it with: pip install s3fs")
    result = invoke("run", "s3://bucket/predictions/", "--label", "y", "--prediction", "yhat",
                    "--group", "g")
    assert_cannot_audit(result, "s3://bucket/predictions/", "pip install s3fs")


def test_only_urls_are_urls():
    assert remote.is_url("s3://b/k") and remote.is_url("file:///tmp/x")
    assert remote.is_url("abfs://container/x.parquet") and remote.is_url("gs://b/x")
    assert not remote.is_url("/tmp/x.parquet") and not remote.is_url("data/part-*.parquet")
    assert not remote.is_url("C:\\data\\x.parquet") and not remote.is_url("odd:name.csv")
