"""Metrics registered as data, and the pure functions that compute them from counts.

Counts per group are the four confusion cells, indexed ``label * 2 + decision``:
TN = 0, FP = 1, FN = 2, TP = 3. Every metric here is a proportion
``numerator / denominator`` of sums of those cells, so one weight matrix turns
an array of counts of any shape ``(..., 4)`` into all metrics at once, which the
bootstrap uses to recompute thousands of replicates in one product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

TN, FP, FN, TP = 0, 1, 2, 3
CONFUSION_CELLS = ("tn", "fp", "fn", "tp")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Metric:
    """A per-group figure: ``sum(w * counts[numerator]) / sum(counts[denominator])``.

    With no ``weights`` (every weight 1) it is a proportion, and gets the
    interval of a proportion; with ``weights`` (one per numerator cell, each in
    [0, 1]) it is the mean of a value that each numerator cell's rows take
    (the reciprocal rank of a position), and gets a normal interval from the
    cells' second moment.
    """

    name: str
    title: str
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]
    description: str
    better: Literal["higher", "lower", "neither"]
    needs_label: bool
    denominator_name: str
    weights: tuple[float, ...] | None = None
    #: a mean of per-row numbers: the metric cell holding the sum of the squares of the
    #: values the numerator sums (a t interval comes from it); the numerator is one sum cell
    squares: int | None = None
    #: the value is the square root of the mean (a root mean square: RMSE)
    root: bool = False

    @property
    def is_mean(self) -> bool:
        return self.weights is not None or self.squares is not None

    @property
    def bounded(self) -> bool:
        """Whether every value lies in [0, 1] (a proportion, or a mean of values in [0, 1])."""
        return self.squares is None

    def shifted(self, offset: int) -> Metric:
        """The same metric over cells ``offset`` further along (kinds side by side)."""
        from dataclasses import replace

        return replace(self, numerator=tuple(i + offset for i in self.numerator),
                       denominator=tuple(i + offset for i in self.denominator),
                       squares=None if self.squares is None else self.squares + offset)


_ALL = (TN, FP, FN, TP)

METRICS: tuple[Metric, ...] = (
    Metric("base_rate", "Base rate", (FN, TP), _ALL,
           "share of rows whose true label is positive", "neither", True, "rows"),
    Metric("selection_rate", "Selection rate", (FP, TP), _ALL,
           "share of rows the model decides positive", "neither", False, "rows"),
    Metric("tpr", "TPR", (TP,), (FN, TP),
           "true positive rate (recall): positives decided positive", "higher", True,
           "actual positives"),
    Metric("fpr", "FPR", (FP,), (TN, FP),
           "false positive rate: negatives decided positive", "lower", True,
           "actual negatives"),
    Metric("tnr", "TNR", (TN,), (TN, FP),
           "true negative rate (specificity): negatives decided negative", "higher", True,
           "actual negatives"),
    Metric("fnr", "FNR", (FN,), (FN, TP),
           "false negative rate: positives decided negative", "lower", True,
           "actual positives"),
    Metric("precision", "Precision", (TP,), (FP, TP),
           "positive predictive value: positive decisions that were right", "higher", True,
           "positive decisions"),
    Metric("npv", "NPV", (TN,), (TN, FN),
           "negative predictive value: negative decisions that were right", "higher", True,
           "negative decisions"),
    Metric("fdr", "FDR", (FP,), (FP, TP),
           "false discovery rate: positive decisions that were wrong", "lower", True,
           "positive decisions"),
    Metric("for", "FOR", (FN,), (TN, FN),
           "false omission rate: negative decisions that were wrong", "lower", True,
           "negative decisions"),
    Metric("accuracy", "Accuracy", (TN, TP), _ALL,
           "share of decisions that match the label", "higher", True, "rows"),
    Metric("error_rate", "Error rate", (FP, FN), _ALL,
           "share of decisions that differ from the label", "lower", True, "rows"),
)

METRIC_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}


# max: the largest difference and smallest ratio of the metrics (fairlearn's worst case);
# mean: their means (fairlearn's agg="mean"); versus_mean and versus_abs_mean: per group,
# the mean of its signed (or absolute) differences from the reference group, and the
# largest magnitude over the groups (AIF360's average odds difference and its absolute form)
Aggregation = Literal["max", "mean", "versus_mean", "versus_abs_mean"]


@dataclass(frozen=True)
class Criterion:
    """A named fairness criterion: the gap of one or more metrics across groups.

    The difference is the largest of the metrics' differences (largest minus
    smallest group value); the ratio is the smallest of their ratios (smallest
    over largest group value). These match fairlearn's definitions.
    """

    name: str
    metrics: tuple[str, ...]
    description: str
    #: how the metrics' gaps combine (:data:`AGGREGATIONS`); every criterion above takes
    #: the worst case
    agg: Aggregation = "max"

    @property
    def has_ratio(self) -> bool:
        """Whether the criterion has a ratio form (a difference of differences has none)."""
        return self.agg in ("max", "mean")


CRITERIA: tuple[Criterion, ...] = (
    Criterion("demographic_parity", ("selection_rate",),
              "selection rates are equal across groups"),
    Criterion("equalized_odds", ("tpr", "fpr"),
              "true and false positive rates are both equal across groups"),
    Criterion("equal_opportunity", ("tpr",), "true positive rates are equal across groups"),
    Criterion("predictive_parity", ("precision",), "precision is equal across groups"),
    Criterion("accuracy_parity", ("accuracy",), "accuracy is equal across groups"),
    Criterion("false_positive_parity", ("fpr",),
              "false positive rates are equal across groups"),
    Criterion("false_negative_parity", ("fnr",),
              "false negative rates are equal across groups"),
)

# criteria that aggregate other than by the worst case; kept apart from CRITERIA, whose
# members are all worst cases
AGGREGATE_CRITERIA: tuple[Criterion, ...] = (
    Criterion("equalized_odds_mean", ("tpr", "fpr"),
              "the mean of the true and false positive rate gaps across groups", "mean"),
    Criterion("average_odds_difference", ("tpr", "fpr"),
              "per group, the mean of its TPR and FPR differences from the reference group; "
              "the largest in magnitude", "versus_mean"),
    Criterion("average_abs_odds_difference", ("tpr", "fpr"),
              "per group, the mean of its absolute TPR and FPR differences from the "
              "reference group; the largest", "versus_abs_mean"),
)

CRITERION_BY_NAME: dict[str, Criterion] = {c.name: c for c in (*CRITERIA, *AGGREGATE_CRITERIA)}


def metrics_for(has_label: bool) -> tuple[Metric, ...]:
    """The metrics an audit can compute: those needing a label only when it has one."""
    return tuple(m for m in METRICS if has_label or not m.needs_label)


def criteria_for(has_label: bool) -> tuple[Criterion, ...]:
    names = {m.name for m in metrics_for(has_label)}
    return tuple(c for c in (*CRITERIA, *AGGREGATE_CRITERIA)
                 if all(n in names for n in c.metrics))


def _weights(metrics: tuple[Metric, ...], cells: int) -> tuple[FloatArray, FloatArray]:
    num = np.zeros((cells, len(metrics)))
    den = np.zeros((cells, len(metrics)))
    for j, m in enumerate(metrics):
        num[list(m.numerator), j] = m.weights if m.weights is not None else 1.0
        den[list(m.denominator), j] = 1.0
    return num, den


def second_moments(counts: npt.NDArray[np.generic], metrics: tuple[Metric, ...]) -> FloatArray:
    """``sum(w**2 * counts[numerator])`` of each metric, for counts shaped ``(..., cells)``;
    for a mean of per-row numbers, its cell of squares."""
    c = np.asarray(counts, dtype=np.float64)
    w = np.zeros((c.shape[-1], len(metrics)))
    for j, m in enumerate(metrics):
        if m.squares is not None:
            w[m.squares, j] = 1.0
            continue
        weights = np.asarray(m.weights if m.weights is not None else 1.0, dtype=np.float64)
        w[list(m.numerator), j] = weights ** 2
    return c @ w


def fractions(
    confusion: npt.NDArray[np.generic], metrics: tuple[Metric, ...]
) -> tuple[FloatArray, FloatArray]:
    """Numerators and denominators of ``metrics`` for counts shaped ``(..., cells)``.

    A metric's numerator and denominator index the last axis: the confusion
    cells for the rates above, every outcome kind's metric cells side by side
    in an audit with several kinds.

    A root mean square's numerator is returned as ``sqrt(sum * n)``, so that
    every metric's value is ``numerator / denominator`` (its square root of
    ``sum / n``); :func:`raw_fractions` gives the plain sums.
    """
    num, den = raw_fractions(confusion, metrics)
    roots = [j for j, m in enumerate(metrics) if m.root]
    if roots:
        num[..., roots] = np.sqrt(np.maximum(num[..., roots], 0.0) * den[..., roots])
    return num, den


def raw_fractions(
    confusion: npt.NDArray[np.generic], metrics: tuple[Metric, ...]
) -> tuple[FloatArray, FloatArray]:
    """Numerators and denominators as sums of cells (a root mean square not rooted)."""
    c = np.asarray(confusion, dtype=np.float64)
    wn, wd = _weights(metrics, c.shape[-1])
    return c @ wn, c @ wd


def safe_divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` with NaN (undefined), never 0, where ``den`` is 0."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def rates(confusion: npt.NDArray[np.generic], metrics: tuple[Metric, ...]) -> FloatArray:
    num, den = fractions(confusion, metrics)
    return safe_divide(num, den)


def spread(values: FloatArray, eligible: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """Difference (max - min) and ratio (min / max) over the last-but-one axis.

    ``values`` is shaped ``(..., groups, metrics)``; only eligible, defined
    entries count. With fewer than two such groups both are NaN. A ratio whose
    largest value is 0 is NaN (0/0: every group at zero), and so is one whose
    smallest value is below 0 (a mean error: a ratio of signed numbers says nothing).
    """
    ok = eligible & ~np.isnan(values)
    hi = np.where(ok, values, -np.inf).max(axis=-2)
    lo = np.where(ok, values, np.inf).min(axis=-2)
    enough = ok.sum(axis=-2) >= 2
    diff = np.where(enough, hi - lo, np.nan)
    signed = enough & (lo >= 0)
    ratio = np.where(signed, safe_divide(np.where(signed, lo, 0.0), np.where(signed, hi, 0.0)),
                     np.nan)
    return diff, ratio


def versus_reference(values: FloatArray, ref_index: int) -> tuple[FloatArray, FloatArray]:
    """Each group minus, and over, the reference group (axis -2 indexes groups)."""
    ref = values[..., ref_index : ref_index + 1, :]
    return values - ref, safe_divide(values, np.broadcast_to(ref, values.shape).copy())
