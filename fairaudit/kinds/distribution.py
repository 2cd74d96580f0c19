"""The distribution of a regression's predictions per group, on fixed bins of the real line.

With ``--task regression``, every row with a finite label and prediction (the
rows the numeric kind's ``mae`` and ``rmse`` use) is counted in one bin of its
prediction. Per group, ``prediction_ks`` is the Kolmogorov-Smirnov distance
between the group's predictions and the reference group's; per grouping, the
criterion ``prediction_ks`` is the largest distance between two groups with at
least ``min_group_size`` rows. Both come from the bins with
:func:`fairaudit.stats.scores.ks` and :func:`~fairaudit.stats.scores.widest`,
as the score distances do.

The bins: predictions are unbounded reals in any unit (dollars, seconds,
probabilities), so equal bins of a fixed range would put every row in one bin
or past the range, and bins from the data (quantiles) would need a pass over
the rows first and differ from file to file, so that counts would no longer
add up across batches, files, Dask workers and a history's runs. The bins here
are fixed before any row is read and are read off the float's bits: one cell
for ``|x| < 2**-24`` (zero among them), then per sign each binade
``2**e <= |x| < 2**(e+1)`` for ``e`` in -24..39 cut into 32 equal sub-bins
(the binade's exponent and the top five bits of its mantissa: one shift of the
float64 seen as an int64, no loop per row), and one overflow cell per sign
for ``|x| >= 2**40`` (infinities included); 4,099 cells in order of value. A
bin's width is at most 1/32 of the smallest value in it, whatever the unit, and
scaling every prediction by a power of two moves each row by whole bins, so
the grid favours no unit. Integers up to 63 fall each in a bin of their own.

The binning error: the distance is taken at the bin edges, which is never more
than the exact distance of the unbinned predictions (``ks_2samp``); the exact
distance is at most the bound (``prediction_ks_bound``), reached when rows of
two groups sharing a bin are ordered as unfavourably as they can be. The bound
is computed from the data and the bins alone: it equals the value when no bin
holds rows of both groups, and grows with the share of rows two groups have in
a common bin. When every bin holds one distinct value (integers below 64) the
value is the exact distance, and the bound is what the bins alone would allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..counts import CountTable
from ..decode import Where
from ..metrics import Criterion
from ..result import Exclusion, Gap, show_value
from ..stats.scores import ks, widest
from .base import CellIndex, Context, Figures, OutcomeKind, Settings, reference_index
from .numeric import REGRESSION, _numbers

PREDICTION_KS = "prediction_ks"
LOW_EXPONENT, HIGH_EXPONENT = -24, 40  # the binades 2**-24 <= |x| < 2**40
SUB_BITS = 5  # 2**5 = 32 sub-bins per binade
SIDE = (HIGH_EXPONENT - LOW_EXPONENT) << SUB_BITS  # bins per sign: 2,048
BINS = 2 * SIDE + 3  # the overflow cells, the bins of each sign, the cell around 0: 4,099
ZERO = SIDE + 1  # the cell of |x| < 2**-24
_MANTISSA = 52
_BIAS = 1023
_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)


def value_bin(x: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Each value's bin, 0 (the lowest: ``x <= -2**40``) to ``BINS - 1`` (``x >= 2**40``).

    Bins are in increasing order of value. A finite float64's magnitude bits
    sort as its magnitude does, so the bits above the top five of the
    mantissa number the binade's sub-bins in order; NaN is not binned (rows
    with no finite prediction are skipped before).
    """
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    key = ((bits & _MAGNITUDE) >> (_MANTISSA - SUB_BITS)) - ((_BIAS + LOW_EXPONENT) << SUB_BITS)
    j = np.clip(key, -1, SIDE)  # -1: below the window, SIDE: past it
    out: npt.NDArray[np.int16] = np.where(bits < 0, ZERO - 1 - j, ZERO + 1 + j).astype(np.int16)
    return out


def bin_edges(cell: int) -> tuple[float, float]:
    """The lowest and highest value of a bin (its ends: the negative bins include their
    upper end, the positive bins their lower end, the cell around 0 neither)."""
    if not 0 <= cell < BINS:
        raise ValueError(f"no bin {cell}; bins are 0 to {BINS - 1}")
    if cell == ZERO:
        return -(2.0 ** LOW_EXPONENT), 2.0 ** LOW_EXPONENT
    j = abs(cell - ZERO) - 1
    if j == SIDE:
        low, high = 2.0 ** HIGH_EXPONENT, float("inf")
    else:
        step = 2.0 ** (LOW_EXPONENT + (j >> SUB_BITS) - SUB_BITS)
        low = 2.0 ** (LOW_EXPONENT + (j >> SUB_BITS)) + (j % (1 << SUB_BITS)) * step
        high = low + step
    return (low, high) if cell > ZERO else (-high, -low)


@dataclass(frozen=True)
class GroupDistribution:
    key: tuple[Any, ...]
    label: str
    rows: int  # rows with a finite label and prediction
    small: bool
    ks: float | None  # against the reference group, at the bin edges
    ks_bound: float | None  # the most the exact distance can be


@dataclass(frozen=True)
class GroupingDistribution:
    name: str
    columns: tuple[str, ...]
    reference: str
    groups: tuple[GroupDistribution, ...]
    ks: Gap  # the largest distance between two eligible groups
    ks_bound: float | None
    ks_pair: tuple[str, str] | None


@dataclass(frozen=True)
class DistributionReport:
    """The predictions' distances per grouping: the kind's section of the result."""

    bins: int
    groupings: tuple[GroupingDistribution, ...]

    def document(self) -> dict[str, Any]:
        """The JSON report's ``prediction_distribution`` section."""
        return {"prediction_distribution": {
            "bins": self.bins,
            "grid": {"zero_below": 2.0 ** LOW_EXPONENT, "overflow_from": 2.0 ** HIGH_EXPONENT,
                     "sub_bins_per_binade": 1 << SUB_BITS,
                     "largest_relative_width": 1 / (1 << SUB_BITS)},
            "groupings": [_grouping_json(g) for g in self.groupings]}}


def _entry(value: float | None, bound: float | None) -> dict[str, Any]:
    return {"value": value, "ci": None, "bound": bound}


def _grouping_json(g: GroupingDistribution) -> dict[str, Any]:
    return {
        "name": g.name, "columns": list(g.columns), "reference": g.reference,
        "largest": {**_entry(g.ks.difference, g.ks_bound),
                    "pair": list(g.ks_pair) if g.ks_pair else None,
                    "reason": g.ks.reason},
        "groups": [{"label": x.label, "rows": x.rows, "small": x.small,
                    PREDICTION_KS: _entry(x.ks, x.ks_bound)} for x in g.groups],
    }


class PredictionDistribution(OutcomeKind):
    """The kind a regression audit counts beside its means: prediction bin per group."""

    name: ClassVar[str] = "prediction_distribution"
    declared_criteria: ClassVar[tuple[Criterion, ...]] = (
        Criterion(PREDICTION_KS, (), "the predictions are distributed alike in every group "
                                     "(largest Kolmogorov-Smirnov distance between two groups)"),
    )

    def __init__(self, label: str, prediction: str) -> None:
        self.label = label
        self.prediction = prediction
        self.columns = (label, prediction)
        self.cells = (*(f"prediction:bin{b}" for b in range(BINS)), "prediction:not_used")
        self.criteria = self.declared_criteria

    @classmethod
    def from_settings(cls, settings: Settings) -> PredictionDistribution | None:
        if getattr(settings, "task", "binary") != REGRESSION:
            return None
        roles = settings.roles
        assert roles.label is not None and roles.prediction is not None
        return cls(roles.label, roles.prediction)

    @classmethod
    def differences_only(cls) -> tuple[str, ...]:
        return (PREDICTION_KS,)  # a distance has no ratio form

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        _, y_ok = _numbers(batch, self.label, where, "label")
        p, p_ok = _numbers(batch, self.prediction, where, "prediction")
        return np.where(y_ok & p_ok, value_bin(np.where(p_ok, p, 0.0)), BINS).astype(np.int16)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        start = table.cell_names.index(self.cells[0])
        out = tuple(self._grouping(table, cols, start, context) for cols in groupings)
        listed = {g.name: {x.key: {PREDICTION_KS: _entry(x.ks, x.ks_bound)} for x in g.groups}
                  for g in out}
        return Figures({g.name: {PREDICTION_KS: g.ks} for g in out},
                       DistributionReport(BINS, out), group_metrics=listed)

    def _grouping(self, table: CountTable, columns: tuple[str, ...], start: int,
                  context: Context) -> GroupingDistribution:
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: context.sort_key(keys[i]))
        keys = [keys[i] for i in order]
        cells = cells[order]
        hist = cells[:, start:start + BINS]
        sizes = cells[:, :start].sum(axis=1)  # the base kind's cells: the group sizes
        ref, _ = reference_index(keys, columns, sizes, dict(context.reference))
        labels = [" & ".join(show_value(v) for v in k) for k in keys]
        rows = hist.sum(axis=1)
        small = sizes < context.min_group_size
        groups = []
        for i, label in enumerate(labels):
            value, bound = ks(hist[i], hist[ref])
            if i == ref and rows[i] > 0:
                bound = 0.0  # the same rows: exactly 0, whatever the bins hide
            groups.append(GroupDistribution(keys[i], label, int(rows[i]), bool(small[i]),
                                            _num(value), _num(bound)))
        eligible = ~small & (rows >= context.min_group_size)
        excluded = tuple(
            Exclusion(labels[i], f"small group: {int(sizes[i]):,} rows < "
                      f"{context.min_group_size}" if small[i] else
                      f"{int(rows[i]):,} rows with a label and a prediction < "
                      f"{context.min_group_size}", int(sizes[i]))
            for i in np.flatnonzero(~eligible).tolist())
        chosen = np.flatnonzero(eligible)
        dist, upper, hi, lo = widest(hist[chosen])
        name = "&".join(columns)
        if len(chosen) < 2:
            gap = Gap(None, None, len(chosen), excluded,
                      f"{len(chosen)} group{'s' if len(chosen) != 1 else ''} with at least "
                      f"{context.min_group_size} rows with a label and a prediction; a "
                      "distance needs two")
            return GroupingDistribution(name, columns, labels[ref], tuple(groups), gap, None,
                                        None)
        return GroupingDistribution(name, columns, labels[ref], tuple(groups),
                                    Gap(dist, None, len(chosen), excluded), _num(upper),
                                    (labels[chosen[hi]], labels[chosen[lo]]))


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


__all__ = ["BINS", "PREDICTION_KS", "DistributionReport", "GroupDistribution",
           "GroupingDistribution", "PredictionDistribution", "bin_edges", "value_bin"]
