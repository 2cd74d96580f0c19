"""The sufficient statistics of an audit: counts per intersection group and cell.

One pass over the record batches fills a :class:`CountTable`: for every
combination of group values that occurs (the intersection of all group
columns), a row of integer cells (the four confusion cells, the rows dropped
per reason, ...) and a row of sum cells (float64 sums of per-row values: a
numeric outcome's values, squares and errors). Tables from two batches, two
files or two machines add up with :meth:`CountTable.merge`; every grouping an
audit reports (each column alone, and the intersection) is a projection of
this one table.

Integer cells stay exact. Sums are float64: each batch is summed by
``bincount`` and batches, threads, files and workers are added with a
compensated (Neumaier) sum, whose error does not grow with the number of
parts, so that two batch orders or two partitions agree to about 1e-15
relative to the sum of the absolute values (docs/statistics.md).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import arrays
from .errors import InputError
from .text import printable

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# one family of cells: a cell index per row, and where the family's cells start
Family = tuple[npt.NDArray[np.integer[Any]], int]
# one family of sum cells: each row's sum cell ((rows,) or (k, rows)), or the constant
# sum cells every row adds to (a tuple, with one value array each); where the family's
# sum cells start; and the values
Valued = tuple[npt.NDArray[np.integer[Any]] | tuple[int, ...], int,
               npt.NDArray[np.floating[Any]] | Sequence[npt.NDArray[np.floating[Any]]]]
# one sum family as counting adds it: a (rows,) sum cell index or the one sum cell
# every row adds to, the offset, one value a row
FlatValued = tuple[npt.NDArray[np.integer[Any]] | int, int, npt.NDArray[np.floating[Any]]]


@dataclass(frozen=True)
class Tally:
    """What an outcome kind counts for one batch when it has sum cells too.

    ``cells`` is each row's integer cell (per family), as a kind without sums
    returns it; ``sums`` is each row's sum cell (``(rows,)`` or ``(k, rows)``,
    indices over the kind's sum cells) and ``values`` the value each adds. Where
    every row of a family adds to one sum cell (a measure's sum and sum of
    squares), ``sums`` may be those cells, a tuple of ints, and ``values`` one
    array a family: no index array to make, and one bincount a cell.
    """

    cells: npt.NDArray[np.integer[Any]]
    sums: npt.NDArray[np.integer[Any]] | tuple[int, ...]
    values: npt.NDArray[np.floating[Any]] | Sequence[npt.NDArray[np.floating[Any]]]

# A batch whose dense (local groups x cells) grid is at most this large (and not
# much larger than the batch) is counted with one bincount; larger grids go
# through a sort instead. 1 << 22 int64 cells is 32 MiB.
_DENSE_LIMIT = 1 << 22
# distinct values of one group column: a warning above MANY_GROUPS (probably an id
# given as a group), a refusal above max_groups, whose default is MAX_GROUPS
MANY_GROUPS = 10_000
MAX_GROUPS = 100_000
# Sum rows of one group are added with compensation one round a row; a group made of
# more parts than this (an intersection of very many levels projected onto one column)
# is summed plainly, with a relative error of at most this many units in the last place.
_MAX_ROUNDS = 1024


@dataclass(frozen=True)
class CountTable:
    """Counts per intersection group.

    ``columns`` are the group columns, then any key columns an outcome kind
    counts by (:attr:`fairaudit.kinds.OutcomeKind.keys`); ``levels[c]`` lists
    the distinct values of key column ``c`` (``None`` for a missing value);
    ``keys[i, c]`` indexes ``levels[c]`` for group ``i``; ``cells[i, j]``
    counts rows of group ``i`` in cell ``cell_names[j]``; ``sums[i, j]`` is the
    sum of the values group ``i``'s rows added to sum cell ``sum_names[j]``
    (float64; none when no outcome kind sums values).
    """

    columns: tuple[str, ...]
    cell_names: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    keys: npt.NDArray[np.int64]
    cells: npt.NDArray[np.int64]
    sum_names: tuple[str, ...] = ()
    sums: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.sums is None:
            object.__setattr__(self, "sums", np.zeros((len(self.keys), len(self.sum_names))))

    @property
    def sum_cells(self) -> FloatArray:
        """The sums, (groups, sum cells); an empty second axis when there are none."""
        assert self.sums is not None
        return self.sums

    @property
    def total(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.cells.sum(axis=0), dtype=np.int64)

    def cell(self, name: str) -> IntArray:
        return np.asarray(self.cells[:, self.cell_names.index(name)], dtype=np.int64)

    def project(self, columns: Sequence[str]) -> tuple[list[tuple[Any, ...]], IntArray]:
        """Sum the table over every column not in ``columns``.

        Returns the group keys (tuples of values, in ``columns`` order) and
        their cells, one row a group, for the groups that occur.
        """
        keys, cells, _ = self.projected(columns)
        return keys, cells

    def projected(self, columns: Sequence[str]
                  ) -> tuple[list[tuple[Any, ...]], IntArray, FloatArray]:
        """:meth:`project`, with the sum cells of each group too."""
        idx = [self.columns.index(c) for c in columns]
        if len(self.keys) == 0:
            return ([], np.zeros((0, len(self.cell_names)), dtype=np.int64),
                    np.zeros((0, len(self.sum_names))))
        sub = np.stack([self._same(c)[self.keys[:, c]] for c in idx], axis=1)
        uniq, inverse = np.unique(sub, axis=0, return_inverse=True)
        out = np.zeros((len(uniq), self.cells.shape[1]), dtype=np.int64)
        np.add.at(out, inverse.reshape(-1), self.cells)
        sums = _grouped_sums(inverse.reshape(-1), self.sum_cells, len(uniq))
        keys = [tuple(self.levels[c][int(k)] for c, k in zip(idx, row, strict=True))
                for row in uniq]
        return keys, out, sums

    def select(self, rows: npt.NDArray[Any]) -> tuple[IntArray, FloatArray]:
        """The cells and sums of some groups (an index or mask over the groups)."""
        return self.cells[rows], self.sum_cells[rows]

    def _same(self, c: int) -> IntArray:
        """Per level of column ``c``, the level it is counted under.

        Files of one input may type a column differently (an integer in a
        parquet file, text in a CSV file): values that read the same, 1 and
        "1", are one group, counted under the typed value. Missing stays apart.
        """
        levels = self.levels[c]
        first: dict[str, int] = {}
        out = np.arange(len(levels), dtype=np.int64)
        for i, value in enumerate(levels):
            if value is None:
                continue
            j = first.setdefault(str(value), i)
            if j != i and isinstance(levels[j], str) and not isinstance(value, str):
                first[str(value)] = i  # the typed value stands for the group
        for i, value in enumerate(levels):
            if value is not None:
                out[i] = first[str(value)]
        return out

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # a table sent to another process (a Dask worker's counts) travels compressed: a
        # score histogram makes most of its 2,000 cells a group zeros
        cells = np.ascontiguousarray(self.cells, dtype=np.int64)
        return (_unpickle, (self.columns, self.cell_names, self.levels, self.keys,
                            cells.shape, zlib.compress(cells.tobytes(), 1), self.sum_names,
                            self.sum_cells))

    def merge(self, other: CountTable) -> CountTable:
        """The table of both inputs' rows together."""
        if other.columns != self.columns or other.cell_names != self.cell_names or \
                other.sum_names != self.sum_names:
            raise ValueError("count tables of different layouts cannot be merged")
        acc = Accumulator.like(self)
        acc.add_table(self)
        acc.add_table(other)
        return acc.table()


def _unpickle(columns: tuple[str, ...], cell_names: tuple[str, ...],
              levels: tuple[tuple[Any, ...], ...], keys: npt.NDArray[np.int64],
              shape: tuple[int, ...], packed: bytes, sum_names: tuple[str, ...] = (),
              sums: FloatArray | None = None) -> CountTable:
    cells = np.frombuffer(zlib.decompress(packed), dtype=np.int64).reshape(shape).copy()
    return CountTable(columns, cell_names, levels, keys, cells, sum_names, sums)


@dataclass(frozen=True)
class _Encoded:
    """One group column of a batch as dictionary codes."""

    codes: npt.NDArray[np.integer[Any]]  # undefined where absent
    absent: npt.NDArray[np.bool_] | None  # rows with no value; None when there are none
    null_code: int  # the local code of a missing value: len(dictionary)
    lut: IntArray  # local code -> level id, len(dictionary) + 1 entries


class Accumulator:
    """Builds a :class:`CountTable` batch by batch, in memory bounded by the groups seen.

    A batch is counted with one ``bincount`` over a dense grid of (local group
    combination x cell) when that grid is small next to the batch; batches whose
    dictionaries match the previous ones add into the same grid, which is folded
    into the table of groups seen only when the dictionaries change. Larger
    grids (many levels in several columns) go through a sort instead, so that
    combinations that never occur cost nothing.
    """

    def __init__(self, columns: Sequence[str], cell_names: Sequence[str],
                 sum_names: Sequence[str] = (), max_levels: int | None = None) -> None:
        if not columns:
            raise ValueError("an audit needs at least one group column")
        self.columns = tuple(columns)
        # more distinct values than this in one group column stops the count at once
        self.max_levels = max_levels
        # which levels occur in the rows, kept once a column has more levels than that (a
        # dictionary may hold values no row has)
        self._occurs: list[npt.NDArray[np.bool_] | None] = [None] * len(self.columns)
        self.cell_names = tuple(cell_names)
        self.sum_names = tuple(sum_names)
        self._ncells = len(self.cell_names)
        self._nsums = len(self.sum_names)
        self._levels: list[list[Any]] = [[] for _ in self.columns]
        self._level_ids: list[dict[Any, int]] = [{} for _ in self.columns]
        self._bits = 63 // len(self.columns)
        self._last_dict: list[pa.Array | None] = [None] * len(self.columns)
        self._last_lut: list[IntArray] = [np.zeros(0, dtype=np.int64)] * len(self.columns)
        self._keys = np.zeros(0, dtype=np.int64)
        self._cells = np.zeros((0, self._ncells), dtype=np.int64)
        # sums per group seen, and the Neumaier compensation of each (their rounding errors)
        self._sums = np.zeros((0, self._nsums))
        self._comp = np.zeros((0, self._nsums))
        # counts not yet folded into _keys/_cells: a dense grid over local codes
        self._grid: IntArray | None = None
        self._sum_grid: tuple[FloatArray, FloatArray] | None = None
        self._grid_luts: tuple[IntArray, ...] = ()
        self._buffers: dict[str, npt.NDArray[Any]] = {}

    @classmethod
    def like(cls, table: CountTable) -> Accumulator:
        """An empty accumulator of the same layout as ``table``."""
        return cls(table.columns, table.cell_names, table.sum_names)

    # -- group values -------------------------------------------------------

    def _level(self, c: int, value: Any) -> int:
        ids = self._level_ids[c]
        gid = ids.get(value)
        if gid is None:
            gid = len(self._levels[c])
            if gid >= 1 << self._bits:
                raise InputError(
                    f"group column '{self.columns[c]}' has more than {1 << self._bits:,} "
                    "distinct values; audit fewer group columns at once or with "
                    "--no-intersections"
                )
            ids[value] = gid
            self._levels[c].append(value)
        return gid

    def _limit(self, c: int, occurring: IntArray | _Encoded) -> None:
        """Stop the count once more than ``max_levels`` values of column ``c`` occur.

        Free while the column has no more levels than that; past it, the level ids
        occurring in a batch (``occurring``: the ids, or the batch's encoded column,
        whose rows with a missing value are left out) are marked.
        """
        levels = len(self._levels[c]) - (None in self._level_ids[c])
        if self.max_levels is None or levels <= self.max_levels:
            return
        if isinstance(occurring, _Encoded):
            e = occurring
            gids: IntArray = e.lut[e.codes if e.absent is None else e.codes[~e.absent]]
        else:
            gids = occurring
        occurs = self._occurs[c]
        if occurs is None or len(occurs) < len(self._levels[c]):
            grown = np.zeros(len(self._levels[c]), dtype=bool)
            if occurs is not None:
                grown[:len(occurs)] = occurs
            else:  # the first time past the limit: the levels counted so far occur
                self._fold()
                shift = self._bits * (len(self.columns) - 1 - c)
                grown[(self._keys >> shift) & ((1 << self._bits) - 1)] = True
            occurs = self._occurs[c] = grown
        occurs[gids] = True
        missing = self._level_ids[c].get(None)
        if missing is not None:  # a missing value is no distinct value
            occurs[missing] = False
        seen = int(occurs.sum())
        if seen > self.max_levels:
            raise InputError(
                f"group column '{printable(self.columns[c])}' has more than "
                f"{self.max_levels:,} distinct values (--max-groups; {seen:,} counted when "
                "the count stopped): is it an id rather than a group? Audit a coarser "
                "column, or raise --max-groups (max_groups in the config file or the API)"
            )

    def _encode(self, c: int, column: pa.Array | pa.ChunkedArray) -> _Encoded:
        """Per-row local codes, and the lookup table from local code to level id.

        Local code ``len(dictionary)`` stands for a missing value (the codes
        returned are undefined there; ``absent`` marks those rows). While the
        dictionary stays the same, the same lookup table object is returned.
        """
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not pa.types.is_dictionary(column.type):
            column = column.dictionary_encode()
        dictionary = column.dictionary
        prev = self._last_dict[c]
        if prev is not None and (prev is dictionary or prev.equals(dictionary)):
            lut = self._last_lut[c]
        else:
            values = dictionary.to_pylist()
            lut = np.array([self._level(c, _normal(v)) for v in [*values, None]], dtype=np.int64)
            self._last_dict[c] = dictionary
            self._last_lut[c] = lut
        indices = column.indices
        return _Encoded(arrays.values(indices), arrays.missing(indices), len(dictionary), lut)

    # -- counting -----------------------------------------------------------

    def add(self, groups: Sequence[pa.Array | pa.ChunkedArray],
            cell: npt.NDArray[np.integer[Any]] | Sequence[Family],
            sums: Sequence[Valued] = ()) -> None:
        """Count one batch: its group columns (in order) and each row's cell index.

        ``cell`` is shaped ``(rows,)`` to add one count a row, or ``(k, rows)`` to
        add ``k`` counts a row (one in each of ``k`` cell families, such as the
        confusion cell and a range-check cell); or it is a sequence of such arrays
        with the offset of each one's cells in the layout (one an outcome kind).
        ``sums`` adds values to sum cells: per family, each row's sum cell, the
        offset of the family's sum cells, and each row's value. Every row a sum
        family covers must be counted in some integer cell too (the base kind
        counts every row), so that the groups seen are those of the counts.
        """
        families = _families(cell)
        rows = len(families[0][0]) if families else 0
        if rows == 0:
            return
        valued = _valued(sums)
        encoded = [self._encode(c, col) for c, col in enumerate(groups)]
        for c, e in enumerate(encoded):
            self._limit(c, e)
        radices = [len(e.lut) for e in encoded]
        bins = int(np.prod(radices, dtype=np.float64)) * max(self._ncells, self._nsums)
        if bins <= min(_DENSE_LIMIT, max(4 * rows, 1 << 16)):
            self._add_dense(encoded, radices, families, valued,
                            bins // max(self._ncells, self._nsums))
        else:
            self._add_sparse(encoded, families, valued)

    def _scratch(self, name: str, n: int, dtype: type[np.integer[Any]]
                 ) -> npt.NDArray[Any]:
        """A work array kept from batch to batch: fresh large arrays cost page faults."""
        buf = self._buffers.get(name)
        if buf is None or len(buf) < n:
            buf = self._buffers[name] = np.empty(n, dtype=dtype)
        return buf[:n]

    def _add_dense(self, encoded: list[_Encoded], radices: list[int],
                   families: list[Family], valued: list[FlatValued], groups: int) -> None:
        n = len(families[0][0])
        # int32 arithmetic in reused arrays keeps each pass over the rows short
        index = self._scratch("index", n, np.int32)
        tmp = self._scratch("tmp", n, np.int32)
        for c, e in enumerate(encoded):
            codes: npt.NDArray[Any] = e.codes
            if e.absent is not None or codes.dtype != np.int32:
                np.copyto(tmp, codes, casting="unsafe")
                if e.absent is not None:
                    np.copyto(tmp, np.int32(e.null_code), where=e.absent)
                codes = tmp
            if c == 0:
                np.copyto(index, codes)
            else:
                index *= radices[c]
                index += codes
        sum_grid = self._bin_sums(index, valued, groups) if self._nsums else None
        index *= self._ncells
        # bincount counts intp values; it would convert anything else into a fresh array
        flat = self._scratch("flat", n * len(families), np.intp)
        for j, (family, offset) in enumerate(families):
            np.copyto(tmp, family, casting="unsafe")
            if offset:
                tmp += offset
            tmp += index
            np.copyto(flat[j * n:(j + 1) * n], tmp)
        bins = groups * self._ncells
        grid = np.bincount(flat, minlength=bins)
        luts = tuple(e.lut for e in encoded)
        if self._grid is not None and len(self._grid) == bins and all(
                a is b for a, b in zip(luts, self._grid_luts, strict=True)):
            self._grid += grid
            if sum_grid is not None and self._sum_grid is not None:
                _neumaier(*self._sum_grid, sum_grid)
        else:
            self._fold()
            self._grid, self._grid_luts = grid, luts
            if sum_grid is not None:
                self._sum_grid = (sum_grid, np.zeros_like(sum_grid))

    def _bin_sums(self, group: npt.NDArray[np.integer[Any]], valued: list[FlatValued],
                  groups: int) -> FloatArray:
        """Each (group, sum cell)'s sum of the batch's values, (groups * sum cells,)."""
        out = np.zeros((groups, self._nsums))
        group = np.asarray(group, dtype=np.intp)
        base = None
        for index, offset, values in valued:
            weights = np.asarray(values, dtype=np.float64)
            if isinstance(index, int):
                out[:, index + offset] += np.bincount(group, weights=weights, minlength=groups)
                continue
            first = int(index[0]) if len(index) else 0
            if not len(index) or bool(np.all(index == first)):
                # every row adds to one sum cell (a measure's sum): one bincount by group
                out[:, first + offset] += np.bincount(group, weights=weights, minlength=groups)
                continue
            if base is None:
                base = group * self._nsums
            out += np.bincount(base + index + offset, weights=weights,
                               minlength=groups * self._nsums).reshape(groups, self._nsums)
        return out.reshape(-1)

    def _fold(self) -> None:
        """Move the dense grid's counts into the table of groups seen."""
        if self._grid is None:
            return
        grid = self._grid.reshape(-1, self._ncells)
        radices = [len(lut) for lut in self._grid_luts]
        present = np.flatnonzero(grid.any(axis=1))
        parts = np.unravel_index(present, radices)
        gids = [lut[p] for lut, p in zip(self._grid_luts, parts, strict=True)]
        sub = np.asarray(grid[present], dtype=np.int64)
        sums = None
        if self._sum_grid is not None:
            total, comp = self._sum_grid
            sums = (total.reshape(-1, self._nsums)[present],
                    comp.reshape(-1, self._nsums)[present])
        self._grid, self._grid_luts, self._sum_grid = None, (), None
        self._merge(self._compose(gids), sub, sums)

    def _add_sparse(self, encoded: list[_Encoded], families: list[Family],
                    valued: list[FlatValued]) -> None:
        local = []
        for e in encoded:
            codes = e.codes.astype(np.intp)
            if e.absent is not None:
                np.copyto(codes, e.null_code, where=e.absent)
            local.append(e.lut[codes])
        composite_rows = self._compose(local)
        composite, inverse = np.unique(composite_rows, return_inverse=True)
        base = inverse.reshape(-1) * self._ncells
        flat = np.concatenate([base + family + offset for family, offset in families])
        sub = np.bincount(flat, minlength=len(composite) * self._ncells)
        sums = None
        if self._nsums:
            total = self._bin_sums(inverse.reshape(-1), valued, len(composite))
            total = total.reshape(len(composite), self._nsums)
            sums = (total, np.zeros_like(total))
        self._merge(composite, sub.reshape(len(composite), self._ncells).astype(np.int64), sums)

    def add_table(self, table: CountTable) -> None:
        """Add counts already aggregated elsewhere (another batch, file or worker)."""
        if len(table.keys) == 0:
            return
        luts = [np.array([self._level(c, v) for v in levels] or [0], dtype=np.int64)
                for c, levels in enumerate(table.levels)]
        gids = [luts[c][table.keys[:, c]] for c in range(len(self.columns))]
        for c, g in enumerate(gids):  # the groups of a table all occur
            self._limit(c, g)
        composite = self._compose(gids)
        composite, inverse = np.unique(composite, return_inverse=True)
        sub = np.zeros((len(composite), self._ncells), dtype=np.int64)
        np.add.at(sub, inverse.reshape(-1), table.cells)
        sums = None
        if self._nsums:
            total = _grouped_sums(inverse.reshape(-1), table.sum_cells, len(composite))
            sums = (total, np.zeros_like(total))
        self._merge(composite, sub, sums)

    def _compose(self, gids: Sequence[IntArray]) -> IntArray:
        out = np.zeros(len(gids[0]), dtype=np.int64)
        for g in gids:
            out = (out << self._bits) | g
        return out

    def _merge(self, composite: IntArray, sub: IntArray,
               sums: tuple[FloatArray, FloatArray] | None = None) -> None:
        """Add counts (and sums with their compensations) of groups given by composite key."""
        if sums is None:
            sums = (np.zeros((len(composite), self._nsums)),) * 2
        total, comp = sums
        order = np.argsort(composite, kind="stable")
        composite, sub, total, comp = composite[order], sub[order], total[order], comp[order]
        if len(composite) > 1 and bool((composite[1:] == composite[:-1]).any()):
            # two local codes for one level (a NaN and a null group value, say)
            composite, inverse = np.unique(composite, return_inverse=True)
            summed = np.zeros((len(composite), self._ncells), dtype=np.int64)
            np.add.at(summed, inverse.reshape(-1), sub)
            sub = summed
            total = _grouped_sums(inverse.reshape(-1), total + comp, len(composite))
            comp = np.zeros_like(total)
        pos = np.searchsorted(self._keys, composite)
        if len(self._keys):
            found = self._keys[np.minimum(pos, len(self._keys) - 1)] == composite
        else:
            found = np.zeros(len(composite), dtype=bool)
        if found.any():
            at = pos[found]
            self._cells[at] += sub[found]
            if self._nsums:
                s, c = self._sums[at], self._comp[at]
                _neumaier(s, c, total[found])
                self._sums[at], self._comp[at] = s, c + comp[found]
        new = ~found
        if new.any():
            self._keys = np.insert(self._keys, pos[new], composite[new])
            self._cells = np.insert(self._cells, pos[new], sub[new], axis=0)
            self._sums = np.insert(self._sums, pos[new], total[new], axis=0)
            self._comp = np.insert(self._comp, pos[new], comp[new], axis=0)

    def table(self) -> CountTable:
        self._fold()
        mask = (1 << self._bits) - 1
        n = len(self.columns)
        keys = np.empty((len(self._keys), n), dtype=np.int64)
        for c in range(n):
            keys[:, c] = (self._keys >> (self._bits * (n - 1 - c))) & mask
        return CountTable(
            columns=self.columns,
            cell_names=self.cell_names,
            levels=tuple(tuple(v) for v in self._levels),
            keys=keys,
            cells=self._cells.copy(),
            sum_names=self.sum_names,
            sums=self._sums + self._comp,
        )


def _families(cell: npt.NDArray[np.integer[Any]] | Sequence[Family]) -> list[Family]:
    """Cell indices as one ``(rows,)`` array a family, each with its offset."""
    if isinstance(cell, np.ndarray):
        parts: Sequence[Family] = ((cell, 0),)
    else:
        parts = cell
    out: list[Family] = []
    for array, offset in parts:
        array = np.asarray(array)
        out += [(f, offset) for f in (array if array.ndim == 2 else array[None, :])]
    return out


def _valued(sums: Sequence[Valued]) -> list[FlatValued]:
    """Sum families as one ``(rows,)`` index and value array a family, each with its offset."""
    out: list[FlatValued] = []
    for index, offset, values in sums:
        if isinstance(index, tuple):  # one sum cell a family, for every row
            out += [(int(i), offset, np.asarray(v, dtype=np.float64))
                    for i, v in zip(index, values, strict=True)]
            continue
        index = np.asarray(index)
        if index.ndim == 2:
            out += [(i, offset, np.asarray(v, dtype=np.float64))
                    for i, v in zip(index, values, strict=True)]
        else:
            out.append((index, offset, np.asarray(values, dtype=np.float64)))
    return out


def _neumaier(total: FloatArray, comp: FloatArray, x: FloatArray) -> None:
    """Add ``x`` into ``total`` in place, keeping each addition's rounding error in ``comp``.

    Neumaier's improved Kahan summation: ``total + comp`` is the sum to within
    a few units in the last place however many parts are added, in any order.
    """
    t = total + x
    big = np.abs(total) >= np.abs(x)
    comp += np.where(big, (total - t) + x, (x - t) + total)
    total[...] = t


def _grouped_sums(inverse: npt.NDArray[np.integer[Any]], sums: FloatArray, groups: int
                  ) -> FloatArray:
    """Rows of ``sums`` added up per ``inverse`` index, each row into its group (compensated)."""
    width = sums.shape[1] if sums.ndim == 2 else 0
    total = np.zeros((groups, width))
    if width == 0 or len(inverse) == 0:
        return total
    order = np.argsort(inverse, kind="stable")
    inverse, sums = inverse[order], sums[order]
    # the k-th row of each group is added in the k-th round: each round adds one row a group
    starts = np.flatnonzero(np.r_[True, inverse[1:] != inverse[:-1]])
    rank = np.arange(len(inverse)) - np.repeat(starts, np.diff(np.r_[starts, len(inverse)]))
    rounds = int(rank.max()) + 1
    if rounds > _MAX_ROUNDS:  # many parts a group: plain float64 sums, in row order
        np.add.at(total, inverse, sums)
        return total
    comp = np.zeros_like(total)
    by_round = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_round], np.arange(rounds + 1))
    for k in range(rounds):
        rows = by_round[bounds[k]:bounds[k + 1]]
        g = inverse[rows]
        s, c = total[g], comp[g]
        _neumaier(s, c, sums[rows])
        total[g], comp[g] = s, c
    out: FloatArray = total + comp
    return out


def _normal(value: Any) -> Any:
    """One level per value: NaN group values count as missing."""
    if isinstance(value, float) and value != value:
        return None
    return value
