"""A :class:`CountTable` as JSON and back, with every group value keeping its type.

Group values are what a column held: text, whole numbers, floats, booleans,
dates and times, decimals, bytes, or missing. JSON alone would read ``1`` and
``"1"`` back alike, and a date as text, so each value is written as a pair
``[type, value]``: ``["str", "a"]``, ``["int", 3]``, ``["float", "0.5"]``
(``repr``, so that infinities survive), ``["bool", true]``, ``["null", null]``,
``["date", "2024-05-01"]``, ``["datetime", ISO 8601]``, ``["time", ISO 8601]``,
``["timedelta", [days, seconds, microseconds]]``, ``["decimal", "1.50"]``,
``["bytes", hex]``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..counts import CountTable
from ..errors import FairauditError


class CodecError(FairauditError):
    """A value that cannot be stored, or a stored value that cannot be read."""


def encode_value(value: Any) -> list[Any]:
    """One group value as ``[type, value]``."""
    if value is None:
        return ["null", None]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, (int, np.integer)):
        return ["int", int(value)]
    if isinstance(value, (float, np.floating)):
        return ["float", repr(float(value))]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, dt.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, dt.time):
        return ["time", value.isoformat()]
    if isinstance(value, dt.timedelta):
        return ["timedelta", [value.days, value.seconds, value.microseconds]]
    if isinstance(value, decimal.Decimal):
        return ["decimal", str(value)]
    if isinstance(value, (bytes, bytearray)):
        return ["bytes", bytes(value).hex()]
    raise CodecError(f"a group value of type {type(value).__name__} ({value!r}) cannot be "
                     "stored in a history; cast the group column to text")


_DECODE: dict[str, Callable[[Any], Any]] = {
    "null": lambda v: None,
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda v: dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": decimal.Decimal,
    "bytes": bytes.fromhex,
}


def decode_value(pair: Sequence[Any]) -> Any:
    try:
        kind, value = pair
        return _DECODE[kind](value)
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"stored group value {pair!r} cannot be read ({exc})") from None


def encode_levels(table: CountTable) -> list[list[list[Any]]]:
    return [[encode_value(v) for v in levels] for levels in table.levels]


def encode_names(table: CountTable) -> Any:
    """A table's cell names as stored: a list; with sum cells, ``{"cells": [...], "sums": [...]}``.

    Tables with no sum cells are stored as they always were."""
    if not table.sum_names:
        return list(table.cell_names)
    return {"cells": list(table.cell_names), "sums": list(table.sum_names)}


def encode_rows(table: CountTable) -> list[list[Any]]:
    """Each group's stored cells: its integer cells, then its sums (floats, which JSON writes
    as the shortest text that reads back as the same float64)."""
    cells = table.cells.tolist()
    if not table.sum_names:
        return cells  # type: ignore[no-any-return]
    return [c + s for c, s in zip(cells, table.sum_cells.tolist(), strict=True)]


def decode_table(columns: Sequence[str], cell_names: Any,
                 levels: Sequence[Sequence[Sequence[Any]]], keys: Sequence[Sequence[int]],
                 cells: Sequence[Sequence[Any]]) -> CountTable:
    """The table back from its stored parts (keys and cells one row a group)."""
    n = len(columns)
    sum_names: Sequence[str] = ()
    if isinstance(cell_names, dict):
        cell_names, sum_names = cell_names["cells"], cell_names["sums"]
    width = len(cell_names)
    rows = [list(c) for c in cells]
    return CountTable(
        columns=tuple(columns),
        cell_names=tuple(cell_names),
        levels=tuple(tuple(decode_value(v) for v in column) for column in levels),
        keys=np.asarray(keys, dtype=np.int64).reshape(len(keys), n),
        cells=np.asarray([r[:width] for r in rows], dtype=np.int64).reshape(len(rows), width),
        sum_names=tuple(sum_names),
        sums=np.asarray([r[width:] for r in rows], dtype=np.float64).reshape(
            len(rows), len(sum_names)),
    )
