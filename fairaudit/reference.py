"""Ranges derived from a reference set: the data a model was trained and validated on.

Numeric columns get quantile bounds; categorical columns (text, booleans) get
the values seen in at least a minimum share of the known values. A bound is
the empirical quantile (the inverse of the reference set's distribution
function), so it is always a value that occurs, and checking the reference
set against its own ranges finds at most ``low * n`` values below and
``(1 - high) * n`` above, ``n`` being the known values. The reference set's
columns are read batch by batch, but a numeric column's values are kept in
memory to take exact quantiles: 8 bytes a value, for the columns asked for.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from . import readers
from .errors import InputError, UsageError
from .rangespec import RangeSpec

DEFAULT_QUANTILES = (0.005, 0.995)
DEFAULT_MIN_FREQUENCY = 0.005


@dataclass(frozen=True)
class Derived:
    """Ranges derived from reference files, and what they were derived with."""

    specs: tuple[RangeSpec, ...]
    files: tuple[str, ...]
    rows: int
    known: dict[str, int]
    quantiles: tuple[float, float]
    min_frequency: float

    def to_toml(self) -> str:
        """A ``[ranges]`` table, ready to paste into ``fairaudit.toml``."""
        lo, hi = self.quantiles
        files = ", ".join(self.files)
        lines = [
            f"# Trusted ranges derived by `fairaudit ranges derive` from {files} "
            f"({self.rows:,} rows).",
            f"# Numbers: the observed {lo:g} and {hi:g} quantiles. Categories: the values "
            f"making up at least {self.min_frequency:g} of the known values.",
            "[ranges]",
        ]
        for spec in self.specs:
            if spec.allowed is not None:
                body = "allowed = [" + ", ".join(_value(v) for v in spec.allowed) + "]"
            else:
                body = ", ".join(f"{name} = {_value(v)}"
                                 for name, v in (("min", spec.min), ("max", spec.max))
                                 if v is not None)
            missing = self.rows - self.known[spec.feature]
            note = f"{self.known[spec.feature]:,} known values"
            if missing:
                note += f", {missing:,} missing"
            lines.append(f"{_key(spec.feature)} = {{ {body} }}  # {note}")
        return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)


def parse_quantiles(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` with ``0 <= LOW < HIGH <= 1``."""
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise UsageError(f"--quantiles {text!r}: write LOW,HIGH, for example "
                         "--quantiles 0.005,0.995") from None
    if not 0 <= lo < hi <= 1:
        raise UsageError(f"--quantiles {text!r}: need 0 <= LOW < HIGH <= 1")
    return lo, hi


class _Column:
    """What one column of the reference set holds, gathered batch by batch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind: str | None = None
        self.numbers: list[npt.NDArray[Any]] = []
        self.counts: Counter[Any] = Counter()

    def add(self, column: pa.Array | pa.ChunkedArray, file: str) -> None:
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        t = arr.type
        if pa.types.is_null(t):
            return
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            kind = "numeric"
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            kind = "categorical"
        else:
            raise InputError(f"{file}: column '{self.name}' holds {t} values; ranges cover "
                             "numbers and categories (text, booleans)")
        if self.kind is None:
            self.kind = kind
        elif self.kind != kind:
            raise InputError(f"{file}: column '{self.name}' holds {t} values here and "
                             f"{self.kind} values in an earlier file; make the types agree")
        arr = arr.drop_null()
        if kind == "numeric":
            if pa.types.is_decimal(t):
                arr = arr.cast(pa.float64())
            values = np.asarray(arr)
            if values.dtype.kind == "f":
                values = values[~np.isnan(values)]  # NaN is how pandas writes a missing number
            self.numbers.append(values)
        else:
            counts = pc.value_counts(arr)
            for value, n in zip(counts.field("values").to_pylist(),
                                counts.field("counts").to_pylist(), strict=True):
                self.counts[value] += n

    @property
    def known(self) -> int:
        return sum(len(v) for v in self.numbers) + sum(self.counts.values())

    def spec(self, quantiles: tuple[float, float], min_frequency: float, files: str
             ) -> RangeSpec:
        n = self.known
        if n == 0:
            raise InputError(f"{files}: column '{self.name}' has no known values; "
                             "a range needs some")
        where = f"derived range of '{self.name}'"
        if self.kind == "numeric":
            values = np.concatenate(self.numbers)
            # inverse of the distribution function: the smallest value whose
            # cumulative share reaches the quantile, so the bound is a value seen
            ks = [min(max(math.ceil(q * n) - 1, 0), n - 1) for q in quantiles]
            part = np.partition(values, ks)
            lo, hi = (_plain(part[k]) for k in ks)
            return RangeSpec(self.name, lo if math.isfinite(lo) else None,
                             hi if math.isfinite(hi) else None, where=where, source=files)
        kept = sorted((v for v, c in self.counts.items() if c >= min_frequency * n), key=repr)
        if not kept:
            top, count = self.counts.most_common(1)[0]
            raise InputError(f"{files}: no value of column '{self.name}' makes up "
                             f"--min-frequency {min_frequency:g} of its known values "
                             f"(the most frequent, {top!r}, makes up {count / n:.4g}); "
                             "lower --min-frequency")
        return RangeSpec(self.name, allowed=tuple(kept), where=where, source=files)


def _plain(x: Any) -> Any:
    """A numpy scalar as a Python int or float."""
    return x.item() if hasattr(x, "item") else x


def derive(inputs: Sequence[str], columns: Sequence[str],
           quantiles: tuple[float, float] = DEFAULT_QUANTILES,
           min_frequency: float = DEFAULT_MIN_FREQUENCY,
           dialect: readers.CsvDialect | None = None) -> Derived:
    """Ranges of ``columns`` from the reference files ``inputs`` (CSV ones read as
    ``dialect`` says)."""
    if not columns:
        raise UsageError("no column; name the features to derive ranges for with "
                         "--column COLUMN")
    if len(set(columns)) != len(columns):
        raise UsageError("a --column is named twice")
    lo, hi = quantiles
    if not 0 <= lo < hi <= 1:
        raise UsageError(f"--quantiles {lo:g},{hi:g}: need 0 <= LOW < HIGH <= 1")
    if isinstance(min_frequency, bool) or not 0 <= min_frequency <= 1:
        raise UsageError(f"--min-frequency {min_frequency!r}: need a share in [0, 1]")
    files = readers.resolve(list(inputs), dialect)
    readers.check_columns(files, columns)
    gathered = {c: _Column(c) for c in columns}
    rows = 0
    for src in files:
        for batch in readers.batches(src, list(columns), ()):
            rows += batch.num_rows
            for c in columns:
                gathered[c].add(batch.column(c), src.shown)
    readers.check_unchanged(files)  # the ranges of one version of each file
    names = ", ".join(f.shown for f in files)
    specs = tuple(gathered[c].spec((lo, hi), min_frequency, names) for c in columns)
    return Derived(specs, tuple(f.shown for f in files), rows,
                   {c: gathered[c].known for c in columns}, (lo, hi), min_frequency)
