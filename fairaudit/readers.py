"""Readers: one or many parquet and CSV files as a stream of Arrow record batches.

Only the columns the audit needs are read, batch by batch (a parquet row group
or a CSV block at a time), with group columns dictionary-encoded. No reader
loads a whole file into memory. Every problem with a file becomes one
:class:`InputError` line naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import remote
from .errors import InputError, column_hint
from .sources import Cores, Digests, Format, SourceFile, file_format, resolve, sha256

__all__ = ["BATCH_ROWS", "PART_ROWS", "Cores", "Digests", "Format", "Part", "SourceFile",
           "batches", "check_columns", "file_format", "parts", "read_part", "resolve",
           "schema_names", "sha256"]

BATCH_ROWS = 1 << 20
# a part (the unit of work of one thread) is at least this many rows of whole row groups
PART_ROWS = 1 << 19
_CSV_BLOCK = 16 << 20


def schema_names(src: SourceFile) -> list[str]:
    """The column names of a file, read from its footer or header only."""
    return _open(src)[0]


def _open(src: SourceFile) -> tuple[list[str], pq.FileMetaData | None]:
    """A file's column names and, for parquet, its footer (read once, kept for reading)."""
    try:
        if src.format == "parquet":
            if src.size == 0:
                raise InputError(f"{src.path}: the file is empty (0 bytes); "
                                 "it is not a parquet file")
            with _parquet_file(src.path) as f:
                return list(f.schema_arrow.names), f.metadata
        if src.size == 0:
            raise InputError(_EMPTY_CSV.format(path=src.path))
        # a ragged row is reported later, by the data pass, which can say where it is
        with ExitStack() as stack, pacsv.open_csv(
                _csv_input(src.path, stack), read_options=pacsv.ReadOptions(block_size=1 << 16),
                parse_options=pacsv.ParseOptions(
                    delimiter=_delimiter(src), invalid_row_handler=_skip)) as r:
            return list(r.schema.names), None
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
          check: Callable[[list[str]], None] | None = None) -> list[Part]:
    """Read a file's footer (or CSV header) once: check its columns, split it into parts.

    ``check``, if given, sees the column names first (to name a misconfigured
    column its own way).
    """
    part_rows = part_rows or PART_ROWS
    names, metadata = _open(src)
    if check is not None:
        check(names)
    for col in needed:
        if col not in names:
            raise InputError(f"{src.path}: no column '{col}'; {column_hint(col, names)}")
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
            yield from _csv(src, columns, dictionary, use_threads)
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


def _csv(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str], use_threads: bool
         ) -> Iterator[tuple[pa.RecordBatch, int]]:
    if src.size == 0:
        raise InputError(_EMPTY_CSV.format(path=src.path))
    bad_row: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_row.append(row)
        return "error"

    delimiter = _delimiter(src)
    types: dict[str, pa.DataType] = {c: pa.dictionary(pa.int32(), pa.string()) for c in dictionary}
    late: list[str] = []  # columns empty in the first block, typed batch by batch instead
    # the raw file's position tells how far the (compressed) input has been read
    raw = _raw(src.path)
    stream = pa.CompressedInputStream(raw, "gzip") if src.path.lower().endswith(".gz") else raw
    try:
        for attempt in range(2):
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=use_threads),
                parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                 invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    include_columns=list(columns), column_types=types,
                    strings_can_be_null=True,
                ),
            )
            # arrow fixes each column's type from the first block: a column empty there
            # is null-typed, and its first value in a later block would be refused
            empty = [f.name for f in reader.schema if pa.types.is_null(f.type)]
            if attempt or not empty:
                break
            reader.close()
            stream.close()
            raw.close()
            raw = _raw(src.path)
            stream = pa.CompressedInputStream(raw, "gzip") \
                if src.path.lower().endswith(".gz") else raw
            late = empty
            types.update({c: pa.string() for c in late})
        with reader:
            for batch in reader:
                if late:
                    batch = _typed(batch, late)
                yield batch, min(raw.tell(), src.size)
    except pa.ArrowInvalid as exc:
        if bad_row:
            row = bad_row[0]
            number = row.number if row.number is not None else _ragged_line(src)
            where = f"line {number}" if number is not None else "a row"
            raise InputError(
                f"{src.path}: {where} has {row.actual_columns} fields where the header has "
                f"{row.expected_columns} ({_clip(row.text, 60)}); fix or remove that row"
            ) from exc
        raise
    finally:
        stream.close()
        raw.close()


def _typed(batch: pa.RecordBatch, names: Sequence[str]) -> pa.RecordBatch:
    """Give text columns the type arrow would have inferred: whole numbers, numbers, booleans
    or text.

    A column read as text because the first block of its file held no value is
    cast back, batch by batch, so "0"/"1" labels stay numbers.
    """
    arrays = list(batch.columns)
    for name in names:
        i = batch.schema.get_field_index(name)
        if arrays[i].null_count == len(arrays[i]):
            arrays[i] = pa.nulls(len(arrays[i]))  # still empty: typed as arrow types it
            continue
        for target in (pa.int64(), pa.float64(), pa.bool_()):
            try:
                arrays[i] = arrays[i].cast(target)
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


@contextmanager
def _parquet_file(path: str, **options: Any) -> Iterator[pq.ParquetFile]:
    """A parquet file by its path, or by its URL through fsspec (closed on leaving)."""
    if not remote.is_url(path):
        with pq.ParquetFile(path, **options) as f:
            yield f
        return
    with remote.open_input_file(path) as raw, pq.ParquetFile(raw, **options) as f:
        yield f


def _raw(path: str) -> pa.NativeFile:
    """The bytes of a file, by its path or its URL, as a pyarrow stream."""
    # a URL opens as a random-access file: a stream's position (the progress) is unknown
    return remote.open_input_file(path) if remote.is_url(path) else pa.OSFile(path)


def _csv_input(path: str, stack: ExitStack) -> Any:
    """What ``pacsv.open_csv`` reads: a local path (it decompresses .gz itself), or a
    URL's stream, decompressed here, closed with ``stack``."""
    if not remote.is_url(path):
        return path
    raw = stack.enter_context(_raw(path))
    if path.lower().endswith(".gz"):
        return stack.enter_context(pa.CompressedInputStream(raw, "gzip"))
    return raw


_EMPTY_CSV = "{path}: the file is empty (0 bytes); a CSV needs a header row and data rows"


def _delimiter(src: SourceFile) -> str:
    return "\t" if ".tsv" in src.path.lower() else ","


def _skip(row: pacsv.InvalidRow) -> str:
    return "skip"


def _ragged_line(src: SourceFile) -> int | None:
    """The line of the first ragged row: arrow numbers rows only when parsing in one thread,
    so the file is read again that way, on this error path alone."""
    found: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        found.append(row.number)
        return "error"

    try:
        with ExitStack() as stack, pacsv.open_csv(
                _csv_input(src.path, stack), read_options=pacsv.ReadOptions(use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=_delimiter(src),
                                                 invalid_row_handler=on_invalid)) as reader:
            for _ in reader:
                pass
    except (pa.ArrowException, OSError, InputError):
        pass
    return found[0] if found else None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(src: SourceFile, exc: BaseException) -> str:
    text = _clip(str(exc), 200)
    if src.format == "parquet" and "magic bytes" in text:
        if _starts_like_parquet(src.path):
            return (f"{src.path}: the parquet file is truncated or damaged (it starts like "
                    "parquet but has no valid footer); copy or export it again")
        return (f"{src.path}: not a parquet file (no parquet marker at its start or end); "
                "check that it was written as parquet, or give it its real extension")
    if src.format == "csv" and "Empty CSV file" in text:
        return f"{src.path}: the file holds no header row; a CSV needs a header row and data rows"
    kind = "parquet" if src.format == "parquet" else "CSV"
    return f"{src.path}: cannot read it as {kind} ({text}); check that the file is whole"


def _starts_like_parquet(path: str) -> bool:
    try:
        with remote.open_binary(path) if remote.is_url(path) else open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except (OSError, InputError):
        return False
