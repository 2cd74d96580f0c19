"""Turn the role columns of a record batch into one cell index per row.

A valid row's cell is ``label * 2 + decision`` (with no label column, just the
decision); a row missing a value it needs goes to a drop cell named for the
reason, so that every dropped row is counted, per group, in the same pass.
Values that cannot be read as the two expected classes, or scores that are not
probabilities, raise :class:`InputError` naming the file, column and row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import arrays
from .errors import InputError

CONFUSION = ("tn", "fp", "fn", "tp")
DROP_REASONS = ("missing_label", "missing_prediction", "missing_score")
CELLS = CONFUSION + DROP_REASONS

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Roles:
    """Which column plays which part in the audit."""

    groups: tuple[str, ...]
    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    threshold: float = 0.5
    positive_label: str | None = None
    features: tuple[str, ...] = ()  # range-checked input features

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the audit reads, each once, in a stable order."""
        names = [self.label, self.prediction, self.score, *self.groups, *self.features]
        return tuple(dict.fromkeys(n for n in names if n is not None))


@dataclass
class Where:
    """Where a batch came from, for error messages."""

    file: str
    first_row: int  # 1-based number of the batch's first data row in its file


class Decoder:
    """Decodes batches for one audit; remembers class values seen across batches.

    One decoder may serve several threads at once: its only state, the class
    values seen, is updated under a lock.
    """

    def __init__(self, roles: Roles) -> None:
        self.roles = roles
        self._others: dict[str, set[Any]] = {}
        self._lock = threading.Lock()

    def cells(self, batch: pa.RecordBatch, where: Where) -> npt.NDArray[np.uint8]:
        r = self.roles
        n = batch.num_rows
        decision: npt.NDArray[np.uint8] = np.zeros(n, dtype=np.uint8)
        no_score = no_pred = no_label = None  # None: no row is missing the value
        if r.score is not None:
            decision, no_score = self._score(batch.column(r.score), r.score, where)
        if r.prediction is not None:
            decision, no_pred = self._binary(
                batch.column(r.prediction), r.prediction, "prediction", where
            )
        if r.label is not None:
            label, no_label = self._binary(batch.column(r.label), r.label, "label", where)
            cell = np.add(label, label)
            np.bitwise_or(cell, decision, out=cell)
        else:
            cell = np.array(decision, dtype=np.uint8)  # a copy: the decision may be a view
        # the first missing role names the reason: label, then prediction, then score
        for absent, reason in ((no_score, "missing_score"), (no_pred, "missing_prediction"),
                               (no_label, "missing_label")):
            if absent is not None:
                np.copyto(cell, np.uint8(CELLS.index(reason)), where=absent)
        return cell

    # -- columns ------------------------------------------------------------

    def _binary(self, col: pa.Array | pa.ChunkedArray, name: str, role: str, where: Where
                ) -> tuple[npt.NDArray[np.uint8], BoolArray | None]:
        """0/1 per row (1 = positive) and where the value is missing (``None``: nowhere)."""
        if pa.types.is_null(col.type):  # an all-empty CSV column: every row is missing
            return _all_missing(len(col))
        if self.roles.positive_label is not None:
            return self._positive(col, name, role, where)
        arr = _plain(col)
        t = arr.type
        absent = arrays.missing(arr)
        if pa.types.is_boolean(t):
            return arrays.values(arr), absent
        if pa.types.is_integer(t):
            values = arrays.values(arr)
            # one comparison finds negatives too, read as large unsigned numbers
            unsigned = values.view(f"u{values.dtype.itemsize}")
            if unsigned.max(initial=0) > 1:
                bad = unsigned > 1
                if absent is not None:
                    bad &= ~absent  # values under nulls are undefined
                if bad.any():
                    raise InputError(_bad_values(arr, bad, name, role, where,
                                                 "other than 0 and 1"))
            if values.dtype.itemsize == 1:
                return unsigned, absent  # a read-only view; callers do not write to it
            return unsigned.astype(np.uint8), absent
        if pa.types.is_floating(t):
            values = arrays.values(arr)
            nan = np.isnan(values)
            if nan.any():  # NaN is how pandas writes a missing number
                absent = nan if absent is None else absent | nan
            bad = (values != 0) & (values != 1)
            if absent is not None:
                bad &= ~absent
            if bad.any():
                raise InputError(_bad_values(arr, bad, name, role, where,
                                             "other than 0 and 1"))
            return (values == 1).view(np.uint8), absent
        raise InputError(
            f"{where.file}: {role} column '{name}' holds {_type_name(t)} values, not 0/1; "
            f"pass --positive-label VALUE to say which value is the positive class "
            f"(values seen: {_some_values(arr)})"
        )

    def _positive(self, col: pa.Array | pa.ChunkedArray, name: str, role: str, where: Where
                  ) -> tuple[npt.NDArray[np.uint8], BoolArray | None]:
        """Rows equal to --positive-label are positive; exactly one other class is allowed."""
        positive = self.roles.positive_label
        assert positive is not None
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        value_type = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
        target = _coerce(positive, value_type, name, role, where)
        absent = arrays.missing(arr)
        if arrays.numpy_dtype(value_type) is not None or pa.types.is_boolean(value_type):
            values = arrays.values(_plain(arr))
            if pa.types.is_floating(value_type):
                nan = np.isnan(values)
                if nan.any():
                    absent = nan if absent is None else absent | nan
            is_pos = values == target
            others = ~is_pos if absent is None else ~(is_pos | absent)
            seen = np.unique(values[others]).tolist() if others.any() else []
            if pa.types.is_boolean(value_type):
                seen = [bool(v) for v in seen]
        else:
            # text and other values: compare the few distinct values, not every row
            encoded = arr if pa.types.is_dictionary(arr.type) else arr.dictionary_encode()
            levels = encoded.dictionary.to_pylist()
            codes = arrays.indices(encoded, len(levels))
            level_pos = np.array([v == target for v in levels] + [False])
            is_pos = level_pos[codes]
            present = np.bincount(codes, minlength=len(levels) + 1)[:len(levels)] > 0
            seen = [v for v, here, pos in zip(levels, present, level_pos[:-1], strict=True)
                    if here and not pos]
        if seen:
            self._note(name, role, seen, where.file)
        return is_pos.view(np.uint8), absent

    def _note(self, name: str, role: str, seen: Iterable[Any], file: str) -> None:
        """Remember the non-positive classes seen in a column; two of them are an error."""
        with self._lock:
            known = self._others.setdefault(name, set())
            known.update(seen)
            if len(known) > 1:
                listed = ", ".join(repr(v) for v in sorted(known, key=repr)[:5])
                raise InputError(
                    f"{file}: {role} column '{name}' has more than two classes: "
                    f"{self.roles.positive_label!r} (positive) and {listed}; a {role} must "
                    "take two values"
                )

    def seen(self) -> dict[str, set[Any]]:
        """The non-positive classes seen so far, per column (with --positive-label)."""
        with self._lock:
            return {name: set(values) for name, values in self._others.items()}

    def absorb(self, seen: Mapping[str, set[Any]], file: str) -> None:
        """Add the classes another decoder saw (in ``file``), checking them as its own."""
        for name, values in seen.items():
            role = "label" if name == self.roles.label else "prediction"
            self._note(name, role, values, file)

    def __getstate__(self) -> dict[str, Any]:  # a lock does not travel to another process
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _score(self, col: pa.Array | pa.ChunkedArray, name: str, where: Where
               ) -> tuple[npt.NDArray[np.uint8], BoolArray | None]:
        arr = _plain(col)
        if pa.types.is_null(arr.type):
            return _all_missing(len(arr))
        t = arr.type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)):
            raise InputError(
                f"{where.file}: score column '{name}' holds {_type_name(t)} values; "
                "a score must be a number in [0, 1]"
            )
        absent = arrays.missing(arr)
        values = arrays.values(arr if pa.types.is_floating(t) else arr.cast(pa.float64()))
        nan = np.isnan(values)
        if absent is not None:
            nan &= ~absent
        if nan.any():
            row = where.first_row + int(np.argmax(nan))
            raise InputError(
                f"{where.file}: score column '{name}' is NaN at row {row}; "
                "leave missing scores empty (null) or fix them"
            )
        outside = (values < 0) | (values > 1)
        if absent is not None:
            outside &= ~absent
        if outside.any():
            raise InputError(_bad_values(arr, outside, name, "score", where, "outside [0, 1]"))
        # compared in float64 (a strong scalar), so float32 scores meet the exact threshold
        decision = values >= np.float64(self.roles.threshold)
        return decision.view(np.uint8), absent


def _plain(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _all_missing(n: int) -> tuple[npt.NDArray[np.uint8], BoolArray]:
    # A CSV column with no value in it is read with the null type: every row
    # is missing, not a column of the wrong type.
    return np.zeros(n, dtype=np.uint8), np.ones(n, dtype=bool)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    return str(t)


def _some_values(arr: pa.Array, limit: int = 5) -> str:
    values = arr.drop_null().unique().to_pylist()
    shown = ", ".join(repr(v) for v in sorted(values, key=repr)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _bad_values(arr: pa.Array, bad: BoolArray, name: str, role: str, where: Where,
                what: str) -> str:
    row = where.first_row + int(np.argmax(bad))
    values = arr.filter(arrays.mask(bad)).unique().to_pylist()
    listed = ", ".join(repr(v) for v in sorted(values, key=repr)[:5])
    more = ", ..." if len(values) > 5 else ""
    hint = (
        "pass --positive-label VALUE if the classes are coded otherwise"
        if role in ("label", "prediction", "baseline prediction")
        else "scores must be probabilities"
    )
    return (f"{where.file}: {role} column '{name}' has values {what}: {listed}{more} "
            f"(first at row {row}); {hint}")


def _coerce(value: str, t: pa.DataType, name: str, role: str, where: Where) -> Any:
    """The positive label, given as text, as a Python value of the column's type."""
    try:
        if pa.types.is_boolean(t):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return lowered in ("true", "1")
        if pa.types.is_integer(t):
            number = int(value)
            limits = np.iinfo(arrays.numpy_dtype(t))
            if not limits.min <= number <= limits.max:
                raise ValueError(value)
            return number
        if pa.types.is_floating(t):
            return float(value)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return value
        return pa.scalar(value, type=pa.string()).cast(t).as_py()
    except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"{where.file}: --positive-label {value!r} cannot be compared with {role} column "
            f"'{name}', which holds {_type_name(t)} values"
        ) from exc
