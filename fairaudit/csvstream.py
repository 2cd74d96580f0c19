"""CSV files as a stream of Arrow record batches, in bounded memory.

pyarrow's streaming CSV reader parses blocks on every core, but it reads the
file ahead of the parsing as fast as the disk allows: on a file in the page
cache it holds most of the file in memory before the first batch is counted
(a 900 MB CSV peaked at 730 MB). Here the reader pulls its blocks through
:class:`_Paced`, which lets it read at most :data:`AHEAD` blocks beyond the
batches already handed on, and knows where each block ended: the progress of
a CSV is the bytes the parser has consumed, not the bytes read ahead.

Fields may hold quoted newlines, and a row larger than a block (a field of
several megabytes) grows the block and reads on, instead of failing. The
header is checked before the data: a binary file, a header that is not UTF-8,
and the column names are read from the file's first block.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from . import remote
from .errors import InputError
from .sources import SourceFile, printable

T = TypeVar("T")

BLOCK = 16 << 20
# blocks the parser may read beyond the batches handed on: it needs the block after
# a batch's own to finish that batch's last row, and one more keeps both cores busy
AHEAD = 2
MAX_BLOCK = 1 << 30
_HEADER_BLOCK = 1 << 16
_SNIFF = 1 << 16
# seconds a read waits for the counting before it goes ahead all the same (a
# block that yields no batch must never stall the reader)
_PATIENCE = 0.5


def header(src: SourceFile) -> list[str]:
    """The column names of a CSV file, read from its first block."""
    _sniff(src)
    block = _HEADER_BLOCK
    while True:
        stream, raw = _open_stream(src)
        try:
            with pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=block),
                                parse_options=_parse_options(src, _skip)) as r:
                return list(r.schema.names)
        except pa.ArrowInvalid as exc:
            block = _grown(src, exc, block)
        finally:
            stream.close()
            raw.close()


def batches(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str],
            use_threads: bool) -> Iterator[tuple[pa.RecordBatch, int]]:
    """The needed columns, a batch at a time, each with the file's bytes consumed so far.

    A row that does not fit in a block makes the file be read again with larger
    blocks, from its start, the rows already handed on left out.
    """
    done = 0  # rows handed on
    consumed = 0
    block = BLOCK
    while True:
        skip = done
        try:
            for batch, nbytes in _read(src, columns, dictionary, use_threads, block):
                if skip:
                    if batch.num_rows <= skip:
                        skip -= batch.num_rows
                        continue
                    batch, skip = batch.slice(skip), 0
                done += batch.num_rows
                consumed = max(consumed, nbytes)
                yield batch, consumed
            return
        except pa.ArrowInvalid as exc:
            block = _grown(src, exc, block)


def _grown(src: SourceFile, exc: pa.ArrowInvalid, block: int) -> int:
    """A block four times larger when ``exc`` says a row did not fit in one; else re-raise."""
    if "straddl" not in str(exc):
        raise exc
    if block >= MAX_BLOCK:
        raise InputError(f"{src.shown}: a row longer than {_size(MAX_BLOCK)} (or an "
                         "unclosed quote that runs to the end of the file); check the "
                         "file's quoting") from exc
    return block * 4


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n} bytes"


def _read(src: SourceFile, columns: Sequence[str], dictionary: Sequence[str],
          use_threads: bool, block: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    if src.size == 0:
        raise InputError(EMPTY.format(path=src.shown))
    bad_row: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_row.append(row)
        return "error"

    types: dict[str, pa.DataType] = {c: pa.dictionary(pa.int32(), pa.string()) for c in dictionary}
    late: list[str] = []  # columns empty in the first block, typed batch by batch instead
    paced: _Paced | None = None
    reader: Any = None
    # arrow holds the calling thread for a whole block (seconds for a large one) in
    # open_csv and in each next(), and Python runs a Ctrl-C handler only between
    # bytecodes of the main thread: the reader is opened and read on a helper
    # thread, the caller waiting where a signal reaches it at once
    helper = ThreadPoolExecutor(1, thread_name_prefix="fairaudit-csv")
    busy = False
    try:
        for attempt in range(2):
            paced = _Paced(*_open_stream(src))
            file = pa.PythonFile(paced, mode="r")
            options = (pacsv.ReadOptions(block_size=block, use_threads=use_threads),
                       _parse_options(src, on_invalid),
                       pacsv.ConvertOptions(include_columns=list(columns), column_types=types,
                                            strings_can_be_null=True,
                                            decimal_point=src.dialect.decimal))
            with paced.waiting():
                busy = True
                reader = _on(helper, paced, partial(pacsv.open_csv, file, *options))
                busy = False
            # arrow fixes each column's type from the first block: a column empty there
            # is null-typed, and its first value in a later block would be refused
            empty = [f.name for f in reader.schema if pa.types.is_null(f.type)]
            if attempt or not empty:
                break
            _close(paced, reader)
            late = empty
            types.update({c: pa.string() for c in late})
        assert paced is not None and reader is not None
        it = iter(reader)
        while True:
            with paced.waiting():
                busy = True
                batch = _on(helper, paced, lambda: next(it, None))
                busy = False
            if batch is None:
                break
            paced.handed_on()
            if late:
                batch = _typed(batch, late, src.dialect.decimal)
            yield batch, paced.consumed()
    except pa.ArrowInvalid as exc:
        if bad_row:
            row = bad_row[0]
            number = row.number if row.number is not None else _ragged_line(src)
            where = f"line {number}" if number is not None else "a row"
            raise InputError(
                f"{src.shown}: {where} has {row.actual_columns} fields where the header has "
                f"{row.expected_columns} ({clip(row.text, 60)}); fix or remove that row"
            ) from exc
        raise
    finally:
        if busy:
            # interrupted while the helper is inside a block: it is left to end there
            # (its reads now find the file closed), and the caller goes on at once
            if paced is not None:
                paced.close()
            helper.shutdown(wait=False)
        else:
            helper.shutdown(wait=True)
            _close(paced, reader)


def _on(helper: ThreadPoolExecutor, paced: _Paced, call: Callable[[], T]) -> T:
    """``call()`` run on ``helper``, which takes the batches of ``paced`` (its own reads
    never wait); the caller waits where an interrupt (Ctrl-C, SIGTERM) reaches it."""
    def run() -> T:
        paced.adopt()
        return call()

    return helper.submit(run).result()


def _close(paced: _Paced | None, reader: Any) -> None:
    # the reader's threads may wait in a read: let them finish before the reader goes
    if paced is not None:
        paced.close()
    if reader is not None:
        reader.close()
    if paced is not None:
        paced.release()


class _Paced:
    """A file the CSV reader reads through, at most :data:`AHEAD` blocks ahead of its consumer.

    The reader asks for one block per read; a read that would go further ahead
    waits until the consumer has taken another batch. ``ends[k]`` is where
    (in the raw, possibly compressed, file) block ``k`` ended.
    """

    def __init__(self, stream: pa.NativeFile, raw: pa.NativeFile) -> None:
        self._stream = stream
        self._raw = raw
        self._cond = threading.Condition()
        self._issued = 0
        self._delivered = 0
        self._slack = 0
        self._waiting = False
        self._consumer = threading.get_ident()
        self.ends: list[int] = []
        self.closed = False

    # -- the reader's side (its own threads) ------------------------------------

    def read(self, nbytes: int = -1) -> bytes:
        with self._cond:
            if threading.get_ident() != self._consumer:  # a reader thread: it may wait
                while not self.closed and self._issued > self._delivered + AHEAD + self._slack:
                    start = time.monotonic()
                    self._cond.wait(_PATIENCE)
                    if self._waiting and time.monotonic() - start >= _PATIENCE:
                        self._slack += 1  # the reader needs more blocks than batches given
            if self.closed:
                return b""
            self._issued += 1
        data: bytes = self._stream.read(nbytes)
        with self._cond:
            self.ends.append(self._raw.tell())
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    # -- the consumer's side -------------------------------------------------------

    def adopt(self) -> None:
        """The calling thread takes the batches from now on: its own reads never wait."""
        with self._cond:
            self._consumer = threading.get_ident()

    def waiting(self) -> _Waiting:
        """A block inside which the consumer waits for the reader (reads are never held)."""
        return _Waiting(self)

    def _set_waiting(self, value: bool) -> None:
        with self._cond:
            self._waiting = value
            self._cond.notify_all()

    def handed_on(self) -> None:
        with self._cond:
            self._delivered += 1
            self._cond.notify_all()

    def consumed(self) -> int:
        """The raw bytes of the blocks the batches handed on came from."""
        with self._cond:
            k = min(self._delivered, len(self.ends))
            return self.ends[k - 1] if k else 0

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def release(self) -> None:
        self._stream.close()
        self._raw.close()


class _Waiting:
    def __init__(self, paced: _Paced) -> None:
        self._paced = paced

    def __enter__(self) -> None:
        self._paced._set_waiting(True)

    def __exit__(self, *exc: object) -> None:
        self._paced._set_waiting(False)


def _open_stream(src: SourceFile) -> tuple[pa.NativeFile, pa.NativeFile]:
    """The file's text stream (decompressed for ``.gz``) and the raw file under it."""
    # a URL through fsspec; a local file by its bytes: a name need not be UTF-8
    raw = (remote.open_input_file(src.path) if remote.is_url(src.path)
           else pa.OSFile(os.fsencode(src.path)))
    if src.path.lower().endswith(".gz"):
        return pa.CompressedInputStream(raw, "gzip"), raw
    return raw, raw


def _parse_options(src: SourceFile, handler: Any) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(delimiter=src.dialect.delimiter_for(src.path),
                              newlines_in_values=True, invalid_row_handler=handler)


def _sniff(src: SourceFile) -> None:
    """Refuse a file that is not text before arrow parses it (and echoes its bytes)."""
    if src.size == 0:
        raise InputError(EMPTY.format(path=src.shown))
    with remote.open_binary(src.path) if remote.is_url(src.path) else open(src.path, "rb") as f, \
            (gzip.GzipFile(fileobj=f) if src.path.lower().endswith(".gz") else f) as text:
        head: bytes = text.read(_SNIFF)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{src.shown}: the file is UTF-16 text; save it as UTF-8 (a CSV is "
                         "read as UTF-8)")
    zero = head.find(b"\x00")
    if zero >= 0:
        raise InputError(f"{src.shown}: not a text file (a zero byte at byte {zero + 1:,}); "
                         "a CSV is text: check that this is the CSV export")
    line = head.split(b"\n", 1)[0]
    if len(line) < len(head) or len(head) < _SNIFF:  # a whole header line
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{src.shown}: the header is not UTF-8 text (byte "
                             f"0x{line[exc.start]:02x} at byte {exc.start + 1:,}); save the "
                             "file as UTF-8") from None


def _typed(batch: pa.RecordBatch, names: Sequence[str], decimal: str) -> pa.RecordBatch:
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
            text = arrays[i]
            if target == pa.float64() and decimal != ".":
                import pyarrow.compute as pc  # decimal commas alone need it; slow to import

                text = pc.replace_substring(text, decimal, ".")
            try:
                arrays[i] = text.cast(target)
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


EMPTY = "{path}: the file is empty (0 bytes); a CSV needs a header row and data rows"


def _skip(row: pacsv.InvalidRow) -> str:
    return "skip"


def _ragged_line(src: SourceFile) -> int | None:
    """The line of the first ragged row: arrow numbers rows only when parsing in one thread,
    so the file is read again that way, on this error path alone."""
    found: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        found.append(row.number)
        return "error"

    stream, raw = _open_stream(src)
    try:
        with pacsv.open_csv(stream, read_options=pacsv.ReadOptions(use_threads=False,
                                                                   block_size=BLOCK),
                            parse_options=_parse_options(src, on_invalid)) as reader:
            for _ in reader:
                pass
    except (pa.ArrowException, OSError):
        pass
    finally:
        stream.close()
        raw.close()
    return found[0] if found else None


def clip(text: str, limit: int) -> str:
    """``text`` on one line, printable, at most ``limit`` characters and an ellipsis."""
    text = printable(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "..."
