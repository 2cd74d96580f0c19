"""Shortlists (top-k): where the true item stands in the model's ranked list, per group.

The input is the 1-based position of the true item in the model's list (an
empty value: not in the list). A row's cell is its position, up to
:data:`MAX_RANK`; positions beyond it share one cell, and rows whose item is
not in the list another. From the counts: for each cutoff ``k``,
``top_k_accuracy`` (the share of rows whose item is among the first ``k``,
with the interval of a proportion); ``in_list_rate``; and ``mrr``, the mean
reciprocal rank (a row not in the list counts 0; positions beyond
:data:`MAX_RANK` count 0 too, which lowers the mean by less than
``1 / (MAX_RANK + 1)`` per such row). Ties are the ranker's: a position is
taken as given, so two items can never share one row's position.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .. import arrays
from ..decode import Where
from ..errors import InputError
from ..metrics import Criterion, Metric
from .base import CellIndex, OutcomeKind, Settings

MAX_RANK = 100
DEFAULT_K = (1, 3)
_TOP = re.compile(r"top_([1-9][0-9]*)_accuracy")
_CELLS = (*(f"rank:{r}" for r in range(1, MAX_RANK + 1)), f"rank:>{MAX_RANK}",
          "rank:not_in_list")
_ALL = tuple(range(len(_CELLS)))


def top_k_words(k: int | str) -> tuple[str, str, str]:
    """The name, title and description of top-k accuracy at cutoff ``k`` (``"K"`` for docs)."""
    return (f"top_{k}_accuracy", f"Top-{k} accuracy",
            f"share of rows whose true item is among the first {k} of the list")


def top_k_accuracy(k: int) -> Metric:
    name, title, description = top_k_words(k)
    return Metric(name, title, tuple(range(min(k, MAX_RANK))), _ALL, description, "higher",
                  False, "rows")


IN_LIST = Metric("in_list_rate", "In list", tuple(range(MAX_RANK + 1)), _ALL,
                 "share of rows whose true item is in the list at all", "higher", False, "rows")
MRR = Metric("mrr", "MRR", tuple(range(MAX_RANK)), _ALL,
             "mean reciprocal rank: 1 / the true item's position, 0 when not in the list",
             "higher", False, "rows",
             weights=tuple(1.0 / r for r in range(1, MAX_RANK + 1)))


class TopK(OutcomeKind):
    """The kind an audit with ``rank`` counts: one cell per position of the true item."""

    name: ClassVar[str] = "topk"
    declared_metrics: ClassVar[tuple[Metric, ...]] = (
        *(top_k_accuracy(k) for k in DEFAULT_K), IN_LIST, MRR)

    def __init__(self, column: str, ks: tuple[int, ...], label: str | None = None) -> None:
        self.column = column
        # with a label, ``column`` holds candidate lists (kinds/candidates.py), else ranks
        self.label = label
        self.columns = (column,) if label is None else (column, label)
        self.list_columns = () if label is None else (column,)
        self.cells = _CELLS if label is None else (*_CELLS, "missing_label")
        self.drop_cells = () if label is None else ("missing_label",)
        self.metric_cells = _CELLS
        self.metrics = (*(top_k_accuracy(k) for k in ks), IN_LIST, MRR)
        # each metric's parity is a criterion of its own, named as the metric
        self.criteria = tuple(Criterion(m.name, (m.name,), f"{m.title} is equal across groups")
                              for m in self.metrics)
        names = tuple(m.name for m in self.metrics)
        self.shown = self.terminal = self.charted = names

    @classmethod
    def knows(cls, name: str) -> bool:
        return bool(_TOP.fullmatch(name)) or super().knows(name)

    @classmethod
    def from_settings(cls, settings: Settings) -> TopK | None:
        ks = tuple(getattr(settings, "k", DEFAULT_K))
        column = getattr(settings, "rank", None)
        if column is not None:
            return cls(column, ks)
        listed = getattr(settings, "candidates", None)
        return None if listed is None else cls(listed, ks, settings.label)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        if self.label is not None:
            from .candidates import ranks

            values, no_label = ranks(batch, self.column, self.label, where)
            cell = self._cells(values)
            cell[no_label] = len(self.cells) - 1
            return cell
        column = batch.column(self.column)
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        n = len(arr)
        if pa.types.is_null(arr.type):
            return np.full(n, len(_CELLS) - 1, dtype=np.int64)
        t = arr.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            raise InputError(f"{where.file}: rank column '{self.column}' holds {t} values; "
                             "give the 1-based position of the true item (empty: not listed)")
        absent = arrays.missing(arr)
        if pa.types.is_integer(t):  # whole numbers already: no float conversion
            return self._whole(arrays.values(arr), absent, where)
        values = arrays.values(arr).astype(np.float64, copy=False)
        listed = ~np.isnan(values) if absent is None else ~absent & ~np.isnan(values)
        bad = listed & ((values < 1) | (values != np.floor(values)))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{where.file}: row {where.first_row + row}: rank column '{self.column}' holds "
                f"{_show(values[row])}; a rank is a whole number >= 1 (empty: not in the list)")
        return self._cells(np.where(listed, values, np.nan))

    def _whole(self, values: npt.NDArray[np.integer[Any]], absent: npt.NDArray[np.bool_] | None,
               where: Where) -> CellIndex:
        """Each row's cell from whole-number positions (``absent``: not in the list)."""
        low = values < 1
        if absent is not None:
            low &= ~absent
        if low.any():
            row = int(np.flatnonzero(low)[0])
            raise InputError(
                f"{where.file}: row {where.first_row + row}: rank column '{self.column}' holds "
                f"{_show(values[row].item())}; a rank is a whole number >= 1 (empty: not in "
                "the list)")
        cell: CellIndex = np.minimum(values, MAX_RANK + 1).astype(np.int16)
        cell -= 1
        if absent is not None:
            cell[absent] = len(_CELLS) - 1
        return cell

    @staticmethod
    def _cells(values: npt.NDArray[np.float64]) -> CellIndex:
        """Each row's cell from its position (NaN: not in the list)."""
        listed = ~np.isnan(values)
        cell = np.full(len(values), len(_CELLS) - 1, dtype=np.int64)
        cell[listed] = np.minimum(values[listed], MAX_RANK + 1).astype(np.int64) - 1
        return cell


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
