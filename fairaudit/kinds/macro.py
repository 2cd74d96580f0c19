"""Macro averages of a multiclass audit: per group, the mean of a per-class rate, and its gap.

``macro_M`` of a group is the mean of ``M[c]`` over the classes ``c`` whose
denominator is not empty in that group (scikit-learn's ``average="macro"``
with ``zero_division=np.nan``); a group where no class has one has none. The
criterion ``macro_M`` is the largest minus the smallest group value, and the
smallest over the largest, over the groups with at least ``min_group_size``
rows and as many in every class's denominator of ``M`` (as a rate's gap
counts a group only with that many in its denominator). Its bootstrap
interval redraws each group's confusion cells as the audit's bootstrap does
(one multinomial a group) and takes the percentile interval of the
replicates' gaps over the same groups. A mean of ratios is not
a proportion, so no test of homogeneity is made: its p-value is left empty.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from ..metrics import Metric, fractions, safe_divide, spread
from ..result import ClassGroup, ClassReport, Exclusion, Gap, show_value
from .base import Context, Figures
from .classes import MACRO, per_class

if TYPE_CHECKING:
    from ..counts import CountTable


class Classified(Protocol):
    """What the macro figures read of a multiclass kind."""

    classes: tuple[str, ...] | None
    pooled: bool
    metrics: tuple[Metric, ...]
    metric_cells: tuple[str, ...]

FloatArray = npt.NDArray[np.float64]
# cells drawn at once in the bootstrap (groups x replicates x cells), to bound memory
_CHUNK = 1 << 22


def macro_values(kind: Classified, confusion: npt.NDArray[Any]
                 ) -> tuple[FloatArray, FloatArray]:
    """Per group (and replicate), each ``macro_M``, and the smallest of its classes'
    denominators: counts (..., cells) -> (..., metrics) twice."""
    assert kind.classes is not None
    by_name = {m.name: m for m in kind.metrics}
    out, least = [], []
    for metric in MACRO:
        chosen = tuple(by_name[per_class(metric, c)] for c in kind.classes)
        num, den = fractions(confusion, chosen)
        values = safe_divide(num, den)
        defined = ~np.isnan(values)
        total = np.where(defined, values, 0.0).sum(axis=-1)
        out.append(safe_divide(total, defined.sum(axis=-1).astype(np.float64)))
        least.append(den.min(axis=-1))
    return np.stack(out, axis=-1), np.stack(least, axis=-1)


def figures(kind: Classified, table: CountTable, groupings: Sequence[tuple[str, ...]],
            context: Context) -> Figures:
    from ..stats import resample, seed_for

    assert kind.classes is not None
    width = len(kind.metric_cells)
    names = [f"macro_{m}" for m in MACRO]
    criteria: dict[str, dict[str, Gap]] = {}
    section: dict[str, tuple[ClassGroup, ...]] = {}
    for columns in groupings:
        name = "&".join(columns)
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: context.sort_key(keys[i]))
        keys = [keys[i] for i in order]
        confusion = cells[order][:, :width]
        counts = confusion.sum(axis=1)
        small = counts < context.min_group_size
        values, least = macro_values(kind, confusion)
        # a macro gap compares groups in which every class can be judged: as for a rate,
        # each class's denominator holds at least min_group_size rows
        eligible = (~small)[:, None] & (least >= context.min_group_size) & ~np.isnan(values)
        diff, ratio = spread(values, eligible)
        low = high = np.full((len(keys), len(names)), np.nan)
        ci_diff = ci_ratio = np.full((len(names), 2), np.nan)
        if context.bootstrap > 0 and len(keys):
            rng = np.random.default_rng(seed_for(context.seed, name + ":macro"))
            step = max(1, _CHUNK // max(1, context.bootstrap * width))
            drawn = np.concatenate([
                macro_values(kind, resample(confusion[i:i + step], context.bootstrap, rng))[0]
                for i in range(0, len(keys), step)])  # (groups, replicates, metrics)
            ends = ((1.0 - context.confidence) / 2, (1.0 + context.confidence) / 2)
            with warnings.catch_warnings():  # a figure with no defined replicate stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                low, high = np.nanquantile(drawn, ends, axis=1)
                d, r = spread(np.moveaxis(drawn, 1, 0), eligible[None])
                ci_diff = np.nanquantile(d, ends, axis=0).T
                ci_ratio = np.nanquantile(r, ends, axis=0).T
        labels = [" & ".join(show_value(v) for v in k) for k in keys]
        criteria[name] = {
            n: _gap(j, diff, ratio, eligible, small, counts, least, labels,
                    context.min_group_size, ci_diff[j], ci_ratio[j])
            for j, n in enumerate(names)}
        side = len(kind.classes) + kind.pooled
        section[name] = tuple(
            ClassGroup(label=labels[i], count=int(counts[i]), small=bool(small[i]),
                       confusion=confusion[i, :side * side].reshape(side, side).tolist(),
                       pooled_right=int(confusion[i, -1]) if kind.pooled else 0,
                       macro={n: _num(values[i, j]) for j, n in enumerate(names)},
                       macro_ci={n: _pair(low[i, j], high[i, j]) for j, n in enumerate(names)})
            for i in range(len(keys)))
    return Figures(criteria, ClassReport(kind.classes, kind.pooled, section))


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _pair(lo: float, hi: float) -> tuple[float, float] | None:
    return None if np.isnan(lo) or np.isnan(hi) else (float(lo), float(hi))


def _gap(j: int, diff: FloatArray, ratio: FloatArray, eligible: npt.NDArray[np.bool_],
         small: npt.NDArray[np.bool_], counts: npt.NDArray[np.int64], least: FloatArray,
         labels: list[str], minimum: int, ci_diff: FloatArray, ci_ratio: FloatArray) -> Gap:
    def why(i: int) -> str:
        if small[i]:
            return f"small group: {int(counts[i]):,} rows < {minimum}"
        return f"a class too thin to judge: {int(least[i, j]):,} rows < {minimum} in the " \
            "denominator of its rate"

    excluded = tuple(Exclusion(labels[i], why(i), int(counts[i]), int(least[i, j]))
                     for i in np.flatnonzero(~eligible[:, j]).tolist())
    used = int(eligible[:, j].sum())
    reason = None if used >= 2 else (
        f"{used} group{'s' if used != 1 else ''} with at least {minimum} rows in every "
        "class's denominator; a gap needs two")
    return Gap(_num(diff[j]), _num(ratio[j]), used, excluded, reason,
               ci_difference=_pair(*ci_diff), ci_ratio=_pair(*ci_ratio))
