"""Turn the role columns of a record batch into one cell index per row.

A valid row's cell is ``label * 2 + decision`` (with no label column, just the
decision); a row missing a value it needs goes to a drop cell named for the
reason, so that every dropped row is counted, per group, in the same pass.
Values that cannot be read as the two expected classes, or scores that are not
probabilities, raise :class:`InputError` naming the file, column and row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

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
    """Decodes batches for one audit; remembers class values seen across batches."""

    def __init__(self, roles: Roles) -> None:
        self.roles = roles
        self._others: dict[str, set[Any]] = {}

    def cells(self, batch: pa.RecordBatch, where: Where) -> npt.NDArray[np.int64]:
        r = self.roles
        n = batch.num_rows
        label_ok: BoolArray = np.ones(n, dtype=bool)
        label = np.zeros(n, dtype=np.int64)
        if r.label is not None:
            label, label_ok = self._binary(batch.column(r.label), r.label, "label", where)
        score_ok: BoolArray = np.ones(n, dtype=bool)
        decision = np.zeros(n, dtype=np.int64)
        if r.score is not None:
            decision, score_ok = self._score(batch.column(r.score), r.score, where)
        pred_ok: BoolArray = np.ones(n, dtype=bool)
        if r.prediction is not None:
            decision, pred_ok = self._binary(
                batch.column(r.prediction), r.prediction, "prediction", where
            )
        cell = label * 2 + decision if r.label is not None else decision
        # the first missing role names the reason: label, then prediction, then score
        cell = np.where(score_ok, cell, CELLS.index("missing_score"))
        cell = np.where(pred_ok, cell, CELLS.index("missing_prediction"))
        cell = np.where(label_ok, cell, CELLS.index("missing_label"))
        return np.asarray(cell, dtype=np.int64)

    # -- columns ------------------------------------------------------------

    def _binary(self, col: pa.Array | pa.ChunkedArray, name: str, role: str, where: Where
                ) -> tuple[npt.NDArray[np.int64], BoolArray]:
        arr = _plain(col)
        if pa.types.is_null(arr.type):  # an all-empty CSV column: every row is missing
            return _all_missing(len(arr))
        valid = _valid(arr)
        positive = self.roles.positive_label
        t = arr.type
        if pa.types.is_floating(t):
            # NaN is how pandas writes a missing number
            valid &= ~np.isnan(np.asarray(arr.fill_null(0.0), dtype=np.float64))
        if positive is None:
            if pa.types.is_boolean(t):
                return np.asarray(arr.fill_null(False)).astype(np.int64), valid
            if pa.types.is_integer(t) or pa.types.is_floating(t):
                values = np.asarray(arr.fill_null(0)).astype(np.float64)
                values = np.where(valid, values, 0.0)
                bad = (values != 0) & (values != 1)
                if bad.any():
                    raise InputError(_bad_values(arr, bad, name, role, where,
                                                 "other than 0 and 1"))
                return values.astype(np.int64), valid
            raise InputError(
                f"{where.file}: {role} column '{name}' holds {_type_name(t)} values, not 0/1; "
                f"pass --positive-label VALUE to say which value is the positive class "
                f"(values seen: {_some_values(arr)})"
            )
        target = _coerce(positive, t, name, role, where)
        is_pos = np.asarray(pc.equal(arr, target).fill_null(False), dtype=bool)
        others = valid & ~is_pos
        if others.any():
            seen = self._others.setdefault(name, set())
            seen.update(pc.unique(arr.filter(pa.array(others))).to_pylist())
            if len(seen) > 1:
                listed = ", ".join(repr(v) for v in sorted(seen, key=repr)[:5])
                raise InputError(
                    f"{where.file}: {role} column '{name}' has more than two classes: "
                    f"{positive!r} (positive) and {listed}; a {role} must take two values"
                )
        return is_pos.astype(np.int64), valid

    def _score(self, col: pa.Array | pa.ChunkedArray, name: str, where: Where
               ) -> tuple[npt.NDArray[np.int64], BoolArray]:
        arr = _plain(col)
        if pa.types.is_null(arr.type):
            return _all_missing(len(arr))
        t = arr.type
        if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)):
            raise InputError(
                f"{where.file}: score column '{name}' holds {_type_name(t)} values; "
                "a score must be a number in [0, 1]"
            )
        valid = _valid(arr)
        values = np.asarray(arr.cast(pa.float64()).fill_null(0.0), dtype=np.float64)
        nan = np.isnan(values) & valid
        if nan.any():
            row = where.first_row + int(np.argmax(nan))
            raise InputError(
                f"{where.file}: score column '{name}' is NaN at row {row}; "
                "leave missing scores empty (null) or fix them"
            )
        outside = valid & ((values < 0) | (values > 1))
        if outside.any():
            raise InputError(_bad_values(arr, outside, name, "score", where, "outside [0, 1]"))
        decision = (values >= self.roles.threshold).astype(np.int64)
        return decision, valid


def _plain(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _all_missing(n: int) -> tuple[npt.NDArray[np.int64], BoolArray]:
    # A CSV column with no value in it is read with the null type: every row
    # is missing, not a column of the wrong type.
    return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)


def _valid(arr: pa.Array) -> BoolArray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(arr.is_valid(), dtype=bool)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    return str(t)


def _some_values(arr: pa.Array, limit: int = 5) -> str:
    values = pc.unique(arr.drop_null()).to_pylist()
    shown = ", ".join(repr(v) for v in sorted(values, key=repr)[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _bad_values(arr: pa.Array, bad: BoolArray, name: str, role: str, where: Where,
                what: str) -> str:
    row = where.first_row + int(np.argmax(bad))
    values = pc.unique(arr.filter(pa.array(bad))).to_pylist()
    listed = ", ".join(repr(v) for v in sorted(values, key=repr)[:5])
    more = ", ..." if len(values) > 5 else ""
    hint = (
        "pass --positive-label VALUE if the classes are coded otherwise"
        if role in ("label", "prediction")
        else "scores must be probabilities"
    )
    return (f"{where.file}: {role} column '{name}' has values {what}: {listed}{more} "
            f"(first at row {row}); {hint}")


def _coerce(value: str, t: pa.DataType, name: str, role: str, where: Where) -> pa.Scalar:
    """The positive label, given as text, as a scalar of the column's type."""
    try:
        if pa.types.is_boolean(t):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return pa.scalar(lowered in ("true", "1"))
        if pa.types.is_integer(t):
            return pa.scalar(int(value), type=t)
        if pa.types.is_floating(t):
            return pa.scalar(float(value), type=t)
        return pa.scalar(value, type=pa.string()).cast(t)
    except (ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"{where.file}: --positive-label {value!r} cannot be compared with {role} column "
            f"'{name}', which holds {_type_name(t)} values"
        ) from exc
