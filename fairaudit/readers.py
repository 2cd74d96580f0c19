"""Readers: one or many parquet and CSV files as a stream of Arrow record batches.

Only the columns the audit needs are read, batch by batch (a parquet row group
or a CSV block at a time), with group columns dictionary-encoded. No reader
loads a whole file into memory. Every problem with a file becomes one
:class:`InputError` line naming the file.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import InputError, column_hint

Format = Literal["parquet", "csv"]

_PARQUET = (".parquet", ".parq", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
BATCH_ROWS = 1 << 20
_CSV_BLOCK = 16 << 20


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
    """Expand files, globs and folders into data files, each once, in a stable order."""
    if not inputs:
        raise InputError("no input given; name a parquet or CSV file, a folder or a glob")
    seen: dict[str, SourceFile] = {}
    for spec in inputs:
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


def schema_names(src: SourceFile) -> list[str]:
    """The column names of a file, read from its footer or header only."""
    try:
        if src.format == "parquet":
            if src.size == 0:
                raise InputError(f"{src.path}: the file is empty (0 bytes); "
                                 "it is not a parquet file")
            return list(pq.read_schema(src.path).names)
        if src.size == 0:
            raise InputError(_EMPTY_CSV.format(path=src.path))
        # a ragged row is reported later, by the data pass, which can say where it is
        with pacsv.open_csv(src.path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                            parse_options=pacsv.ParseOptions(
                                delimiter=_delimiter(src), invalid_row_handler=_skip)) as r:
            return list(r.schema.names)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(_describe(src, exc)) from exc


def check_columns(files: Sequence[SourceFile], needed: Sequence[str]) -> None:
    """Every needed column must be in every file."""
    for src in files:
        names = schema_names(src)
        for col in needed:
            if col not in names:
                raise InputError(
                    f"{src.path}: no column '{col}'; {column_hint(col, names)}"
                )


def batches(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str],
            batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The needed columns of one file, a batch at a time, group columns dictionary-encoded."""
    try:
        if src.format == "parquet":
            yield from _parquet(src, columns, dictionary, batch_rows)
        else:
            yield from _csv(src, columns, dictionary)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(_describe(src, exc)) from exc


def _parquet(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str],
             batch_rows: int) -> Iterator[pa.RecordBatch]:
    with pq.ParquetFile(src.path, read_dictionary=list(dictionary)) as f:
        yield from f.iter_batches(batch_size=batch_rows, columns=list(columns), use_threads=True)


def _csv(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str]
         ) -> Iterator[pa.RecordBatch]:
    if src.size == 0:
        raise InputError(_EMPTY_CSV.format(path=src.path))
    bad_row: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_row.append(row)
        return "error"

    delimiter = _delimiter(src)
    try:
        reader = pacsv.open_csv(
            src.path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(columns),
                column_types={c: pa.dictionary(pa.int32(), pa.string()) for c in dictionary},
                strings_can_be_null=True,
            ),
        )
        with reader:
            yield from reader
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
        with pacsv.open_csv(src.path, read_options=pacsv.ReadOptions(use_threads=False),
                            parse_options=pacsv.ParseOptions(delimiter=_delimiter(src),
                                                             invalid_row_handler=on_invalid)
                            ) as reader:
            for _ in reader:
                pass
    except (pa.ArrowException, OSError):
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
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()
