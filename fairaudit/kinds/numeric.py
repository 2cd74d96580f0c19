"""Numeric outcomes: means of per-row numbers per group, counted as sums of values.

Two sources of numbers, each a *target* with cells of its own:

- ``--task regression``: a numeric label and prediction. A row counts when
  both are finite; the sums are of the prediction, the label, the error
  (prediction - label), their squares, the absolute error and the error's
  fourth power. Metrics: ``mean_prediction``, ``mean_label``, ``mean_error``
  (the bias), ``mae`` and ``rmse``.
- ``--measure COLUMN`` (repeatable): any per-row number computed already (a
  word error rate, a task's success as 0/1). Metric: ``mean_COLUMN``.

A target's integer cells count its rows with a finite value (``T:n``) and the
rows skipped (``T:skipped``: empty, NaN or infinite); its sum cells hold the
sums of values and of squares (float64, :mod:`fairaudit.counts`). Every
metric is a mean, ``sum / n``, with Student's t interval from the sum of
squares (RMSE: the square roots of the ends of the mean squared error's
interval, from the sum of fourth powers). A bootstrap replicate draws each
group's sums from the normal distribution of a sum of ``n`` rows with the
group's variance (docs/statistics.md): a parametric draw from the
sufficient statistics, with each metric's standard error kept at its point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .. import arrays
from ..counts import Tally
from ..decode import Where
from ..errors import InputError
from ..metrics import Criterion, Metric
from .base import CellIndex, OutcomeKind, Settings

TASKS = ("binary", "multiclass", "regression")
REGRESSION = "regression"
# the regression target's sums, in order; the error is prediction - label
_REGRESSION_SUMS = ("prediction", "prediction^2", "label", "label^2", "error", "error^2",
                    "|error|", "error^4")
# name, title, numerator sum, squares sum, root, better, description
REGRESSION_METRICS: tuple[tuple[str, str, str, str, bool,
                                 Literal["higher", "lower", "neither"], str], ...] = (
    ("mean_prediction", "Mean prediction", "prediction", "prediction^2", False, "neither",
     "mean of the predicted values"),
    ("mean_label", "Mean label", "label", "label^2", False, "neither",
     "mean of the true values"),
    ("mean_error", "Mean error", "error", "error^2", False, "neither",
     "mean of prediction - label (the bias: above 0, the model predicts too high)"),
    ("mae", "MAE", "|error|", "error^2", False, "lower",
     "mean absolute error: the mean of |prediction - label|"),
    ("rmse", "RMSE", "error^2", "error^4", True, "lower",
     "root mean squared error: the square root of the mean of (prediction - label)^2"),
)
REGRESSION_NAMES = tuple(m[0] for m in REGRESSION_METRICS)


# the largest magnitude a value may have: an error's fourth power stays below 1e282, so
# that even 1e26 rows' sums fit a float64 (its largest is 1.8e308)
LARGEST = 1e70


def measure_metric_name(column: str) -> str:
    return f"mean_{column}"


def numeric_title(name: str) -> str | None:
    """The title of a numeric outcome's metric (``MAE``, ``Mean wer``), or None."""
    for metric in REGRESSION_METRICS:
        if metric[0] == name:
            return metric[1]
    if name.startswith("mean_") and len(name) > 5:
        return f"Mean {name[5:]}"
    return None


def is_numeric_metric(name: str, measures: Sequence[str] | None = None) -> bool:
    """Whether ``name`` is a numeric outcome's metric (of ``measures``, when given)."""
    if name in REGRESSION_NAMES:
        return True
    if measures is None:
        return name.startswith("mean_") and len(name) > 5
    return any(name == measure_metric_name(c) for c in measures)


def numeric_problems(settings: Any) -> list[str]:
    """What is wrong with an audit's numeric settings (``task``, ``measures``), one line each."""
    out: list[str] = []
    task, measures = settings.task, settings.measures
    if task not in TASKS:
        return [f"task {task!r} is not one of: {', '.join(TASKS)}"]
    if not isinstance(measures, tuple) or not all(isinstance(c, str) and c for c in measures):
        return [f"measures {measures!r} must be a list of column names"]
    if len(set(measures)) != len(measures):
        out.append("a measure column is named twice; give each --measure once")
    if task == REGRESSION:
        if settings.label is None or settings.prediction is None:
            out.append("--task regression needs --label COLUMN and --prediction COLUMN "
                       "(the true and the predicted numbers)")
        if settings.score is not None:
            out.append("--task regression audits a numeric prediction; leave out --score")
        if settings.positive_label is not None:
            out.append("--task regression has no positive label; leave out --positive-label")
        clash = [c for c in measures if measure_metric_name(c) in REGRESSION_NAMES]
        if clash:
            out.append(f"--measure {clash[0]} would be named {measure_metric_name(clash[0])}, "
                       "as a regression metric is; rename the column")
    weight = getattr(settings, "weight", None)
    if weight is not None:
        if not isinstance(weight, str) or not weight:
            out.append(f"weight {weight!r} must be a column name")
        others = [name for name, given in (("--task regression", task == REGRESSION),
                                           ("--measure", bool(measures)),
                                           ("--rank", getattr(settings, "rank", None)),
                                           ("--range", bool(getattr(settings, "ranges", ()))))
                  if given]
        if others:
            out.append(f"--weight applies to binary decisions only so far; leave out "
                       f"{others[0]} or --weight")
        elif settings.prediction is None and settings.score is None:
            out.append("--weight weighs binary decisions; give --prediction or --score")
    used = {settings.label, settings.prediction, settings.score, getattr(settings, "rank", None),
            weight}
    for c in measures:
        if c in used:
            out.append(f"--measure {c}: column '{c}' has another role already; a measure is "
                       "a column of its own")
    for gate in getattr(settings, "gates", ()):
        name = gate.criterion
        if name.startswith("mean_") and name not in REGRESSION_NAMES[:3] and \
                not is_numeric_metric(name, measures):
            shown = ", ".join(measure_metric_name(c) for c in measures) or "none"
            out.append(f"gate {gate.key}: no measure '{name[5:]}' in this audit (measured: "
                       f"{shown}); add --measure {name[5:]}")
    return out


class Rows(OutcomeKind):
    """The base kind of an audit with numeric outcomes and no decision: one cell, every row.

    Its cell is the group sizes and the rows used; the numeric kind's targets
    count their own rows (those with a finite value).
    """

    name: ClassVar[str] = "rows"

    def __init__(self) -> None:
        self.cells = ("rows",)
        self.metric_cells = ("rows",)

    @classmethod
    def from_settings(cls, settings: Settings) -> Rows | None:
        roles = settings.roles
        regression = getattr(settings, "task", "binary") == REGRESSION
        decided = not regression and (roles.prediction is not None or roles.score is not None)
        numeric = regression or bool(getattr(settings, "measures", ()))
        if decided or getattr(settings, "rank", None) is not None or not numeric:
            return None
        return cls()

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        return np.zeros(batch.num_rows, dtype=np.int8)


class NumericOutcomes(OutcomeKind):
    """Means of numbers per group: a regression's label and prediction, and measure columns."""

    name: ClassVar[str] = "numeric"
    declared_metrics: ClassVar[tuple[Metric, ...]] = ()

    def __init__(self, regression: tuple[str, str] | None, measures: tuple[str, ...]) -> None:
        self.regression = regression  # (label, prediction)
        self.measures = measures
        targets = ([REGRESSION] if regression else []) + list(measures)
        self.targets = tuple(targets)
        self.cells = tuple(c for t in targets for c in (f"{t}:n", f"{t}:skipped"))
        self.drop_cells = tuple(f"{t}:skipped" for t in targets)
        sums: list[str] = []
        if regression:
            sums += [f"{REGRESSION}:{s}" for s in _REGRESSION_SUMS]
        for c in measures:
            sums += [f"{c}:sum", f"{c}:sum^2"]
        self.sums = tuple(sums)
        counts = tuple(f"{t}:n" for t in targets)
        self.metric_cells = (*counts, *self.sums)
        at = {name: i for i, name in enumerate(self.metric_cells)}
        metrics: list[Metric] = []
        if regression:
            n = (at[f"{REGRESSION}:n"],)
            for name, title, total, squares, root, better, text in REGRESSION_METRICS:
                metrics.append(Metric(name, title, (at[f"{REGRESSION}:{total}"],), n, text,
                                      better, True, "rows with a label and a prediction",
                                      squares=at[f"{REGRESSION}:{squares}"], root=root))
        for c in measures:
            metrics.append(Metric(measure_metric_name(c), f"Mean {c}", (at[f"{c}:sum"],),
                                  (at[f"{c}:n"],), f"mean of the numbers in column '{c}'",
                                  "neither", False, f"rows with a value of {c}",
                                  squares=at[f"{c}:sum^2"]))
        self.metrics = tuple(metrics)
        self.criteria = tuple(Criterion(m.name, (m.name,), f"{m.title} is equal across groups")
                              for m in self.metrics)
        self.columns = tuple(dict.fromkeys([*(regression or ()), *measures]))
        names = tuple(m.name for m in self.metrics)
        self.shown = self.terminal = self.charted = names
        # the numerator cells a replicate draws again, the cells of their squares and
        # rows, and whether the values are >= 0 (their drawn sums are kept >= 0)
        self._draws = [(m.numerator[0], m.squares, m.denominator[0],
                        m.name in ("mae", "rmse")) for m in self.metrics]

    @classmethod
    def knows(cls, name: str) -> bool:
        return is_numeric_metric(name)

    @classmethod
    def from_settings(cls, settings: Settings) -> NumericOutcomes | None:
        regression = getattr(settings, "task", "binary") == REGRESSION
        measures = tuple(getattr(settings, "measures", ()))
        if not regression and not measures:
            return None
        pair = None
        if regression:
            roles = settings.roles
            assert roles.label is not None and roles.prediction is not None
            pair = (roles.label, roles.prediction)
        return cls(pair, measures)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> Tally:
        n = batch.num_rows
        cells = np.empty((len(self.targets), n), dtype=np.int8)
        # every row adds to each sum cell (0 where its value is skipped): one array of
        # values a sum cell, in the order of the kind's sums
        values: list[npt.NDArray[np.float64]] = []
        t = 0
        if self.regression is not None:
            label_col, prediction_col = self.regression
            y, y_ok = _numbers(batch, label_col, where, "label")
            p, p_ok = _numbers(batch, prediction_col, where, "prediction")
            ok = y_ok & p_ok
            np.subtract(1, ok, out=cells[t], casting="unsafe")  # 0: counted, 1: skipped
            p, y = _zeroed(p, ok), _zeroed(y, ok)
            e = p - y  # the error: prediction - label
            e2 = e * e
            values += [p, p * p, y, y * y, e, e2, np.abs(e), e2 * e2]
            t += 1
        for column in self.measures:
            x, ok = _numbers(batch, column, where, "measure")
            # cell 2t for a row with a value, 2t + 1 for one skipped
            np.subtract(2 * t + 1, ok, out=cells[t], casting="unsafe")
            x = _zeroed(x, ok)
            values += [x, x * x]
            t += 1
        return Tally(cells, tuple(range(len(values))), values)

    def resample(self, counts: npt.NDArray[Any], replicates: int, rng: np.random.Generator
                 ) -> npt.NDArray[Any]:
        """Each group's sums drawn from the normal law of a sum of its ``n`` rows.

        ``sum* ~ Normal(sum, n * s^2)``, ``s^2`` the group's sample variance
        from its sums of values and squares: the central limit theorem's
        approximation of the sum of ``n`` rows drawn again with replacement.
        The rows and the sums of squares stay as counted (each metric's
        standard error is that of its point estimate). Sums of values that
        are never negative are kept >= 0.
        """
        c = np.asarray(counts, dtype=np.float64)
        out = np.repeat(c[:, None, :], replicates, axis=1)
        for total, squares, rows, positive in self._draws:
            assert squares is not None
            n = c[:, rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = c[:, total] / n
                var = np.where(n >= 2, np.maximum(c[:, squares] - c[:, total] * mean, 0.0)
                               / (n - 1.0), 0.0)
            sd = np.sqrt(np.where(n > 0, n * var, 0.0))
            drawn = c[:, total][:, None] + sd[:, None] * rng.standard_normal(
                (len(c), replicates))
            out[:, :, total] = np.maximum(drawn, 0.0) if positive else drawn
        return out


def _zeroed(x: npt.NDArray[np.float64], ok: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """``x`` with 0 where a value is skipped (``x`` itself when none is)."""
    if ok.all():
        return x
    out = x.copy()
    out[~ok] = 0.0
    return out


def _numbers(batch: pa.RecordBatch, column: str, where: Where, role: str
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """A column's values as float64, and where each is a finite number (else skipped)."""
    col = batch.column(column)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    t = arr.type
    if pa.types.is_null(t):
        return np.zeros(n), np.zeros(n, dtype=bool)
    if pa.types.is_decimal(t):
        arr = arr.cast(pa.float64())
        t = arr.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
        raise InputError(_not_numbers(arr, column, where, role))
    x = arrays.values(arr).astype(np.float64, copy=False)
    size = np.abs(x)
    ok = size <= LARGEST  # False for NaN and the infinities too
    absent = arrays.missing(arr)
    if absent is not None:
        ok &= ~absent
    if ok.all():
        return x, ok
    huge = ~ok & np.isfinite(x) & (size > LARGEST)
    if absent is not None:
        huge &= ~absent
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise InputError(
            f"{where.file}: row {where.first_row + row}: {role} column '{column}' holds "
            f"{x[row]:.6g}, beyond +-{LARGEST:.0e}: the sums of squares and fourth powers "
            "behind the intervals would not fit a float64; rescale the column (to "
            "thousands, say) or leave the row out")
    return x, ok


def _not_numbers(arr: pa.Array, column: str, where: Where, role: str) -> str:
    """The one-line message for a column that does not hold numbers, naming its first bad row."""
    for i, value in enumerate(arr.to_pylist()):
        if value is None:
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            shown = str(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            return (f"{where.file}: row {where.first_row + i}: {role} column '{column}' holds "
                    f"{shown!r}, not a number; give numbers (an empty cell, NaN or infinity "
                    "is skipped and counted)")
    return (f"{where.file}: {role} column '{column}' holds {arr.type} values, not numbers; "
            "give a numeric column")
