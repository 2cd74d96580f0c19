"""Scores: how well a score ranks and how well it is calibrated, per group, from fine bins.

With a score column, every row used is counted in one of :data:`BINS` equal
bins of [0, 1] per label (:func:`fairaudit.kinds.cutoffs.score_bin`; 1.0 in the last):
cells ``label x bin``, mergeable like every count. From them, per group:

- ``auc``, the area under the ROC curve, rows in one bin taken as tied (a
  positive-negative pair in one bin counts one half, as ``roc_auc_score``
  counts equal scores). It is exact when every bin holds one distinct score
  (scores with at most three decimals); otherwise the exact AUC is within
  ``auc_bound``, half the share of positive-negative pairs in one bin. Its
  interval is normal, with DeLong's variance from the bins.
- ``ks``, the Kolmogorov-Smirnov distance between the group's scores and the
  reference group's, at the bin edges (never more than the exact distance,
  and the exact one is at most ``ks_bound``), and per grouping the largest
  distance between any two eligible groups (the ``ks`` criterion).
- calibration: the mean score (bin midpoints: within ``0.5 / BINS`` of the
  exact mean), the observed rate of positives, their difference
  (``calibration_in_the_large``, with a normal interval), and both per tenth
  of the score range.

The criteria ``auc`` and ``calibration_in_the_large`` are the spread of the
group values (largest minus smallest; ratio smallest over largest for the
AUC) with a normal interval from the two extreme groups' variances; ``ks``
is the largest distance between two groups. Gates name them as any criterion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from ..counts import CountTable
from ..decode import Where
from ..metrics import Criterion
from ..result import Exclusion, Gap, Interval, show_value
from ..stats.intervals import z_value
from ..stats.scores import auc, cdf, ks, widest
from .base import CellIndex, Context, Figures, OutcomeKind, Settings
from .cutoffs import BINS, base_labels, score_bin, score_values

COARSE = 10  # calibration is reported per tenth of the score range
AUC, KS, CALIBRATION = "auc", "ks", "calibration_in_the_large"
MEAN_BOUND = 0.5 / BINS


@dataclass(frozen=True)
class CalibrationBin:
    """One tenth of the score range in one group: its rows, mean score and observed rate."""

    low: float
    high: float
    rows: int
    mean_score: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class GroupScores:
    key: tuple[Any, ...]
    label: str
    rows: int
    positives: int
    negatives: int
    small: bool
    auc: float | None
    auc_ci: Interval | None
    auc_bound: float | None
    ks: float | None  # against the reference group
    ks_bound: float | None
    mean_score: float | None
    observed_rate: float | None
    calibration: float | None  # mean score minus observed rate
    calibration_ci: Interval | None
    bins: tuple[CalibrationBin, ...]


@dataclass(frozen=True)
class GroupingScores:
    name: str
    columns: tuple[str, ...]
    reference: str
    groups: tuple[GroupScores, ...]
    auc: Gap
    ks: Gap
    ks_bound: float | None
    ks_pair: tuple[str, str] | None
    calibration: Gap


@dataclass(frozen=True)
class ScoreReport:
    bins: int
    has_label: bool
    groupings: tuple[GroupingScores, ...]

    def document(self) -> dict[str, Any]:
        """The JSON report's ``scores`` section (an audit section's part of the document)."""
        return {"scores": {"bins": self.bins, "mean_score_bound": MEAN_BOUND,
                           "groupings": [_grouping_json(g) for g in self.groupings]}}


def _ci_json(ci: Any) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def _group_json(g: GroupScores) -> dict[str, Any]:
    return {
        "label": g.label, "rows": g.rows, "positives": g.positives, "negatives": g.negatives,
        "small": g.small,
        "metrics": {
            "auc": {"value": g.auc, "ci": _ci_json(g.auc_ci), "bound": g.auc_bound},
            "ks": {"value": g.ks, "bound": g.ks_bound},
            "mean_score": {"value": g.mean_score, "bound": MEAN_BOUND},
            "observed_rate": {"value": g.observed_rate},
            "calibration_in_the_large": {"value": g.calibration,
                                         "ci": _ci_json(g.calibration_ci),
                                         "bound": MEAN_BOUND},
        },
        "calibration": [{"low": b.low, "high": b.high, "rows": b.rows,
                         "mean_score": b.mean_score, "observed_rate": b.observed_rate}
                        for b in g.bins],
    }


def _listed(g: GroupScores, has_label: bool) -> dict[str, dict[str, Any]]:
    """A group's score figures as listed with its metrics (``groups[].metrics``)."""
    ks_entry = {"value": g.ks, "ci": None, "bound": g.ks_bound}
    if not has_label:
        return {"ks": ks_entry}
    return {"auc": {"value": g.auc, "ci": _ci_json(g.auc_ci), "bound": g.auc_bound},
            "ks": ks_entry,
            "calibration_in_the_large": {"value": g.calibration, "ci": _ci_json(g.calibration_ci),
                                         "bound": MEAN_BOUND}}


def _grouping_json(g: GroupingScores) -> dict[str, Any]:
    return {
        "name": g.name, "columns": list(g.columns), "reference": g.reference,
        "ks_largest": {"value": g.ks.difference, "bound": g.ks_bound,
                       "pair": list(g.ks_pair) if g.ks_pair else None},
        "groups": [_group_json(x) for x in g.groups],
    }


class Scores(OutcomeKind):
    """The kind an audit with a score counts: label x score bin per group."""

    name: ClassVar[str] = "scores"
    declared_criteria: ClassVar[tuple[Criterion, ...]] = (
        Criterion(AUC, (), "the AUC of the score is equal across groups"),
        Criterion(KS, (), "the score is distributed alike in every group (largest "
                          "Kolmogorov-Smirnov distance between two groups)"),
        Criterion(CALIBRATION, (), "mean score minus observed rate is equal across groups"),
    )

    @classmethod
    def differences_only(cls) -> tuple[str, ...]:
        # a distance has no ratio form, nor has a difference that may be below 0
        return (KS, CALIBRATION)

    def __init__(self, score: str, has_label: bool) -> None:
        self.score = score
        self.has_label = has_label
        self.columns = (score,)
        self.cells = (*(f"score:label{y}:bin{b}" for y in (0, 1) for b in range(BINS)),
                      "score:not_used")
        self.criteria = self.declared_criteria if has_label else self.declared_criteria[1:2]

    @classmethod
    def from_settings(cls, settings: Settings) -> Scores | None:
        score = settings.roles.score
        if score is None or not getattr(settings, "score_figures", True):
            return None
        return cls(score, settings.label is not None)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        label, used = base_labels(base, batch.num_rows)
        cell = label * BINS + score_bin(np.clip(score_values(batch, self.score), 0.0, 1.0))
        return np.where(used, cell, 2 * BINS)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        start = table.cell_names.index(self.cells[0])
        out = tuple(self._grouping(table, cols, start, context) for cols in groupings)
        criteria = {g.name: {c.name: {AUC: g.auc, KS: g.ks, CALIBRATION: g.calibration}[c.name]
                             for c in self.criteria} for g in out}
        listed = {g.name: {x.key: _listed(x, self.has_label) for x in g.groups} for g in out}
        return Figures(criteria, ScoreReport(BINS, self.has_label, out), group_metrics=listed)

    def adjusted(self, section: Any, criteria: dict[str, dict[str, Gap]]) -> Any:
        return section

    def _grouping(self, table: CountTable, columns: tuple[str, ...], start: int,
                  context: Context) -> GroupingScores:
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: context.sort_key(keys[i]))
        keys = [keys[i] for i in order]
        hist = cells[order][:, start:start + 2 * BINS].reshape(len(keys), 2, BINS)
        labels = [" & ".join(show_value(v) for v in k) for k in keys]
        neg, pos = hist[:, 0], hist[:, 1]
        rows = hist.sum(axis=(1, 2))
        small = rows < context.min_group_size
        ref = _reference(keys, labels, columns, rows, context)
        z = z_value(context.confidence)

        value, var, bound = auc(pos, neg) if self.has_label else (np.full(len(keys), np.nan),) * 3
        both = hist.sum(axis=1)
        mids = (np.arange(BINS) + 0.5) / BINS
        mean = _divide((both * mids).sum(axis=1), rows)
        observed = _divide(pos.sum(axis=1), rows)
        # per row, score minus label: its mean and variance from the bins
        diff = _divide((neg * mids).sum(axis=1) + (pos * (mids - 1)).sum(axis=1), rows)
        second = _divide((neg * mids ** 2).sum(axis=1) + (pos * (mids - 1) ** 2).sum(axis=1),
                         rows)
        diff_var = _divide(second - diff ** 2, np.maximum(rows - 1, 0)) \
            if self.has_label else np.full(len(keys), np.nan)

        groups = []
        for i, label in enumerate(labels):
            k, kb = ks(both[i], both[ref])
            groups.append(GroupScores(
                key=keys[i], label=label, rows=int(rows[i]), positives=int(pos[i].sum()),
                negatives=int(neg[i].sum()), small=bool(small[i]),
                auc=_num(value[i]), auc_ci=_ci(value[i], var[i], z, 0.0, 1.0),
                auc_bound=_num(bound[i]),
                ks=_num(k), ks_bound=_num(kb),
                mean_score=_num(mean[i]),
                observed_rate=_num(observed[i]) if self.has_label else None,
                calibration=_num(diff[i]) if self.has_label else None,
                calibration_ci=_ci(diff[i], diff_var[i], z, -1.0, 1.0),
                bins=_calibration(both[i], pos[i], mids, self.has_label)))

        has_both = (pos.sum(axis=1) > 0) & (neg.sum(axis=1) > 0)
        eligible = ~small & has_both if self.has_label else ~small
        auc_gap = _spread(value, var, eligible, labels, small, rows, z, context, "AUC", True)
        cal_gap = _spread(diff, diff_var, ~small & (rows > 0), labels, small, rows, z, context,
                          "calibration", False)
        chosen = np.flatnonzero(~small & (rows > 0))
        dist, upper, hi, lo = widest(both[chosen])
        if len(chosen) >= 2:
            ks_gap = Gap(dist, None, len(chosen), _excluded(~small, labels, small, rows, context))
            pair: tuple[str, str] | None = (labels[chosen[hi]], labels[chosen[lo]])
        else:
            ks_gap = Gap(None, None, len(chosen), _excluded(~small, labels, small, rows, context),
                         f"{len(chosen)} group{'s' if len(chosen) != 1 else ''} with at least "
                         f"{context.min_group_size} rows; a distance needs two")
            pair, upper = None, float("nan")
        return GroupingScores("&".join(columns), columns, labels[ref], tuple(groups),
                              auc_gap, ks_gap, _num(upper), pair, cal_gap)


def _reference(keys: list[tuple[Any, ...]], labels: list[str], columns: tuple[str, ...],
               rows: np.ndarray[Any, Any], context: Context) -> int:
    """The audit's reference group: the one given for every column, or the largest."""
    given = dict(getattr(context, "reference", ()) or ())
    if all(c in given for c in columns):
        wanted = tuple(given[c] for c in columns)
        for i, key in enumerate(keys):
            if tuple(show_value(v) for v in key) == wanted or \
                    tuple(str(v) for v in key) == wanted:
                return i
    return int(np.argmax(rows))


def _calibration(both: np.ndarray[Any, Any], pos: np.ndarray[Any, Any],
                 mids: np.ndarray[Any, Any], has_label: bool) -> tuple[CalibrationBin, ...]:
    width = BINS // COARSE
    out = []
    for j in range(COARSE):
        part = slice(j * width, (j + 1) * width)
        n = int(both[part].sum())
        mean = float((both[part] * mids[part]).sum() / n) if n else None
        rate = float(pos[part].sum() / n) if n and has_label else None
        out.append(CalibrationBin(j / COARSE, (j + 1) / COARSE, n, mean, rate))
    return tuple(out)


def _divide(num: np.ndarray[Any, Any], den: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _num(x: Any) -> float | None:
    value = float(x)
    return None if np.isnan(value) else value


def _ci(value: float, var: float, z: float, lo: float, hi: float) -> Interval | None:
    if np.isnan(value) or np.isnan(var):
        return None
    half = z * float(np.sqrt(max(var, 0.0)))
    return (max(lo, float(value) - half), min(hi, float(value) + half))


def _excluded(eligible: np.ndarray[Any, Any], labels: list[str], small: np.ndarray[Any, Any],
              rows: np.ndarray[Any, Any], context: Context, what: str = "rows"
              ) -> tuple[Exclusion, ...]:
    out = []
    for i in np.flatnonzero(~eligible).tolist():
        why = (f"small group: {int(rows[i]):,} rows < {context.min_group_size}" if small[i]
               else f"undefined: no {what}")
        out.append(Exclusion(labels[i], why, int(rows[i])))
    return tuple(out)


def _spread(values: np.ndarray[Any, Any], var: np.ndarray[Any, Any],
            eligible: np.ndarray[Any, Any], labels: list[str], small: np.ndarray[Any, Any],
            rows: np.ndarray[Any, Any], z: float, context: Context, what: str,
            with_ratio: bool) -> Gap:
    ok = eligible & ~np.isnan(values)
    excluded = _excluded(ok, labels, small, rows, context,
                         "positives or no negatives" if what == "AUC" else "rows")
    used = int(ok.sum())
    if used < 2:
        return Gap(None, None, used, excluded,
                   f"{used} group{'s' if used != 1 else ''} with at least "
                   f"{context.min_group_size} rows and a defined {what}; a gap needs two")
    idx = np.flatnonzero(ok)
    hi = int(idx[np.argmax(values[idx])])
    lo = int(idx[np.argmin(values[idx])])
    difference = float(values[hi] - values[lo])
    se = float(np.sqrt(max(var[hi], 0.0) + max(var[lo], 0.0)))
    ci_d = (max(0.0, difference - z * se), difference + z * se)
    ratio = ci_r = None
    if with_ratio and values[hi] > 0 and values[lo] > 0:
        ratio = float(values[lo] / values[hi])
        # the delta method on the log of the ratio
        se_log = float(np.sqrt(var[lo] / values[lo] ** 2 + var[hi] / values[hi] ** 2))
        ci_r = (ratio * float(np.exp(-z * se_log)), min(1.0, ratio * float(np.exp(z * se_log))))
    return Gap(difference, ratio, used, excluded, None, ci_d, ci_r)


__all__ = ["BINS", "COARSE", "CalibrationBin", "GroupScores", "GroupingScores", "ScoreReport",
           "Scores", "cdf"]
