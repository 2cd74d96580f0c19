"""Readers: one or many parquet and CSV files as a stream of Arrow record batches.

Only the columns the audit needs are read, batch by batch (a parquet row group
or a CSV block at a time), with group columns dictionary-encoded. No reader
loads a whole file into memory. Every problem with a file becomes one
:class:`InputError` line naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import csvstream, remote
from .csvstream import clip
from .errors import InputError, column_hint
from .sources import (
    Cores,
    CsvDialect,
    Digests,
    Format,
    SourceFile,
    check_unchanged,
    file_format,
    resolve,
    sha256,
)

__all__ = ["BATCH_ROWS", "PART_ROWS", "Cores", "CsvDialect", "Digests", "Format", "Part",
           "SourceFile", "batches", "check_columns", "check_unchanged", "file_format", "parts",
           "read_part", "resolve", "schema_names", "sha256"]

BATCH_ROWS = 1 << 20
# a part (the unit of work of one thread) is at least this many rows of whole row groups
PART_ROWS = 1 << 19


def schema_names(src: SourceFile) -> list[str]:
    """The column names of a file, read from its footer or header only."""
    return _open(src)[0]


def _open(src: SourceFile) -> tuple[list[str], pq.FileMetaData | None, pa.Schema | None]:
    """A file's column names and, for parquet, its footer (read once, kept for reading)
    and its Arrow schema."""
    try:
        if src.format == "parquet":
            if src.size == 0:
                raise InputError(f"{src.shown}: the file is empty (0 bytes); "
                                 "it is not a parquet file")
            with _parquet_file(src.path) as f:
                return list(f.schema_arrow.names), f.metadata, f.schema_arrow
        # a ragged row is reported later, by the data pass, which can say where it is
        return csvstream.header(src), None, None
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(_describe(src, exc)) from exc


def check_columns(files: Sequence[SourceFile], needed: Sequence[str]) -> None:
    """Every needed column must be in every file."""
    for src in files:
        parts(src, needed)


@dataclass(frozen=True, eq=False)
class Part:
    """A piece of one file that is read and counted on its own.

    A run of parquet row groups (about :data:`BATCH_ROWS` rows), or a whole CSV
    file. Parts of one file can be counted in any order, on any thread.
    """

    src: SourceFile
    first_row: int  # 1-based number, within its file, of the part's first data row
    rows: int | None  # None for a CSV (not known before it is read)
    bytes: int  # the part's share of the file's size, for progress
    row_groups: tuple[int, ...] = ()
    metadata: pq.FileMetaData | None = None


def parts(src: SourceFile, needed: Sequence[str], part_rows: int | None = None,
          check: Callable[[list[str]], None] | None = None, lists: Sequence[str] = ()
          ) -> list[Part]:
    """Read a file's footer (or CSV header) once: check its columns, split it into parts.

    ``check``, if given, sees the column names first (to name a misconfigured
    column its own way). ``lists`` are the needed columns that may hold lists
    (a shortlist's candidates).
    """
    part_rows = part_rows or PART_ROWS
    names, metadata, schema = _open(src)
    if check is not None:
        check(names)
    for col in needed:
        if col not in names:
            raise InputError(f"{src.shown}: no column '{col}'; {column_hint(col, names)}")
        _check_column(src, col, names, schema, col in lists)
    if metadata is None:
        return [Part(src, 1, None, src.size)]
    total = metadata.num_rows
    out: list[Part] = []
    group: list[int] = []
    rows = first = 0
    for i in range(metadata.num_row_groups):
        group.append(i)
        rows += metadata.row_group(i).num_rows
        if rows >= part_rows or i == metadata.num_row_groups - 1:
            out.append(Part(src, first + 1, rows, 0, tuple(group), metadata))
            first += rows
            group, rows = [], 0
    if not out:  # no row groups: nothing to count, but the file is read all the same
        return [Part(src, 1, 0, src.size, (), metadata)]
    # byte shares in proportion to rows, summing exactly to the file's size
    done = 0
    shared = []
    for p in out:
        end = src.size if p is out[-1] else \
            (p.first_row - 1 + (p.rows or 0)) * src.size // max(total, 1)
        shared.append(Part(p.src, p.first_row, p.rows, end - done, p.row_groups, metadata))
        done = end
    return shared


def read_part(part: Part, columns: Sequence[str], dictionary: Sequence[str],
              use_threads: bool = True, batch_rows: int | None = None
              ) -> Iterator[tuple[pa.RecordBatch, int]]:
    """The needed columns of one part, a batch at a time, group columns dictionary-encoded.

    Each batch comes with the bytes of the part read so far (at most
    ``part.bytes``), for progress.
    """
    src = part.src
    try:
        if src.format == "parquet":
            yield from _parquet(part, columns, dictionary, use_threads, batch_rows or BATCH_ROWS)
        else:
            yield from csvstream.batches(src, columns, dictionary, use_threads)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(_describe(src, exc)) from exc


def batches(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str],
            batch_rows: int | None = None) -> Iterator[pa.RecordBatch]:
    """The needed columns of one file, a batch at a time, group columns dictionary-encoded."""
    for part in parts(src, columns, batch_rows):
        for batch, _ in read_part(part, columns, dictionary, batch_rows=batch_rows):
            yield batch


def _parquet(part: Part, columns: Sequence[str], dictionary: Sequence[str], use_threads: bool,
             batch_rows: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    if not part.row_groups:
        return
    rows = part.rows or 0
    done = 0
    with _parquet_file(part.src.path, metadata=part.metadata,
                       read_dictionary=list(dictionary)) as f:
        for batch in f.iter_batches(batch_size=batch_rows, row_groups=list(part.row_groups),
                                    columns=list(columns), use_threads=use_threads):
            done += batch.num_rows
            yield batch, part.bytes * done // max(rows, 1)


@contextmanager
def _parquet_file(path: str, **options: Any) -> Iterator[pq.ParquetFile]:
    """A parquet file by its path, or by its URL through fsspec (closed on leaving)."""
    if not remote.is_url(path):
        with _native(path) as source, pq.ParquetFile(source, **options) as f:
            yield f
        return
    with remote.open_input_file(path) as raw, pq.ParquetFile(raw, **options) as f:
        yield f


@contextmanager
def _native(path: str) -> Iterator[str | pa.NativeFile]:
    """``path`` as arrow can open it: a name that is not UTF-8 (its bytes held as
    surrogates) is opened here, by its bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        with pa.OSFile(os.fsencode(path)) as f:
            yield f
        return
    yield path


def _check_column(src: SourceFile, col: str, names: list[str], schema: pa.Schema | None,
                  listed: bool = False) -> None:
    """A column the audit reads: named once, and holding plain values."""
    where = "header" if src.format == "csv" else "schema"
    at = [i + 1 for i, n in enumerate(names) if n == col]
    if len(at) > 1:
        places = ", ".join(str(i) for i in at[:-1]) + f" and {at[-1]}"
        raise InputError(f"{src.shown}: column '{col}' appears {len(at)} times in the "
                         f"{where} (columns {places}); rename the copies so that each "
                         "column has a name of its own")
    if schema is not None:
        kind = schema.field(col).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_nested(kind) and not (listed and "list" in str(kind)):
            nested = ("struct" if pa.types.is_struct(kind) else "map" if pa.types.is_map(kind)
                      else "list" if "list" in str(kind) else "nested")
            raise InputError(f"{src.shown}: column '{col}' holds {nested} values "
                             f"({clip(str(kind), 60)}); a column the audit reads must hold "
                             "plain values (numbers, text, booleans): flatten it or pick "
                             "another column")


def _describe(src: SourceFile, exc: BaseException) -> str:
    text = clip(str(exc), 200)
    if src.format == "parquet" and "magic bytes" in text:
        if _starts_like_parquet(src.path):
            return (f"{src.shown}: the parquet file is truncated or damaged (it starts like "
                    "parquet but has no valid footer); copy or export it again")
        return (f"{src.shown}: not a parquet file (no parquet marker at its start or end); "
                "check that it was written as parquet, or give it its real extension")
    if src.format == "csv" and "Empty CSV file" in text:
        return f"{src.shown}: the file holds no header row; a CSV needs a header row and data rows"
    kind = "parquet" if src.format == "parquet" else "CSV"
    return f"{src.shown}: cannot read it as {kind} ({text}); check that the file is whole"


def _starts_like_parquet(path: str) -> bool:
    try:
        with remote.open_binary(path) if remote.is_url(path) else open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except (OSError, InputError):
        return False
