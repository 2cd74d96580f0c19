"""Candidate lists: the true item's 1-based position in each row's ranked list of candidates.

``--candidates COLUMN`` is a list column (a parquet list type) of the model's
candidates in ranked order, and ``--label`` the true item. A row's rank is the
first position of the true item in its list: a list holding it twice counts
its first position (the better one). A row whose list does not hold it, or
that has no list, is not in the list; a row with no true item is dropped
(``missing_label``) and counted. The ranks go to the shortlist kind
(:mod:`fairaudit.kinds.topk`) as a ``--rank`` column would.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..decode import Where
from ..errors import InputError

FloatArray = npt.NDArray[np.float64]


def _plain(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def ranks(batch: pa.RecordBatch, column: str, label: str, where: Where
          ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Per row, the true item's first position in its list (NaN: not in it), and whether
    the row has no true item."""
    lists = _plain(batch.column(column))
    truth = _plain(batch.column(label))
    n = len(lists)
    t = lists.type
    if pa.types.is_null(t):
        lists = pa.nulls(n, pa.list_(truth.type))
    elif not (pa.types.is_list(t) or pa.types.is_large_list(t)
              or pa.types.is_fixed_size_list(t)):
        raise InputError(
            f"{where.file}: candidates column '{column}' holds {t} values, not lists; give "
            "the model's ranked candidates as a list column, which needs parquet (a CSV "
            "cannot hold lists), or give the true item's position with --rank")
    no_label = np.zeros(n, dtype=bool) if truth.null_count == 0 else \
        np.asarray(truth.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    flat = _plain(pc.list_flatten(lists))
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False),
                         dtype=np.int64)
    out = np.full(n, np.nan)
    if len(flat) == 0:
        return out, no_label
    wanted = truth.take(pa.array(parents))
    if flat.type != wanted.type:
        try:
            wanted = wanted.cast(flat.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(
                f"{where.file}: candidates column '{column}' lists {flat.type} items and "
                f"label '{label}' holds {truth.type} values; the true item must be written "
                "as the candidates are") from None
    hit = pc.fill_null(pc.equal(flat, wanted), False)
    at = np.flatnonzero(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool))
    if len(at):
        # a position within its list: the flat index less that of the list's first item
        position = at - np.searchsorted(parents, parents[at]) + 1
        first = np.full(n, np.inf)
        np.minimum.at(first, parents[at], position.astype(np.float64))
        out = np.where(np.isfinite(first), first, np.nan)
    out[no_label] = np.nan
    return out, no_label
