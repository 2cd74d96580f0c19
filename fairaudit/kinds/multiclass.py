"""Many classes (``--task multiclass``): each group's confusion matrix, and one-vs-rest rates.

The label and the prediction hold class values (text, whole numbers, true or
false). The classes are not known before the rows are read, so the counts are
keyed by the label and prediction columns (:attr:`OutcomeKind.keys`) beside
the groups: a row's cell says only whether it was right, wrong, or missing a
value, and the key columns say which classes. That table merges, streams and
is stored like any other. Once the counts are in, :meth:`Multiclass.settle`
turns the key columns into cells: group x true class x predicted class, each
row counted once, and the settled kind declares, per class ``c``, the
one-vs-rest metrics ``tpr[c]``, ``fpr[c]``, ``precision[c]``,
``selection_rate[c]`` and ``base_rate[c]`` as proportions of those cells, so
that rates, intervals, gaps, their bootstrap, tests, gates and reporters are
the generic ones. Per metric, ``worst_class_M`` is the largest of the classes'
gaps (a criterion over ``M[c]`` for every class); ``macro_M``, the gap of each
group's mean of ``M[c]`` over the classes where it is defined, is not a
proportion of cells, and :meth:`Multiclass.figures` computes it with its
bootstrap interval (:mod:`fairaudit.kinds.macro`).

With ``--classes a,b,c`` only the classes named get metrics of their own; the
rows of every other class stay in the audit, pooled into one class
``(other)``: a negative of each named class, right when its label and
prediction are the same value. Class values are matched by how they read
(``1`` and ``1.0`` and ``"1"`` are one class), as group values are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pyarrow as pa

from ..counts import CountTable
from ..decode import Where
from ..errors import InputError
from ..metrics import Criterion, Metric
from .base import CellIndex, Context, Figures, IntArray, OutcomeKind, Settings
from .classes import (
    COUNTED,
    DROPS,
    GAPPED,
    MACRO,
    PER_CLASS,
    TASK,
    class_name,
    classes_of,
    fold,
    per_class,
)
from .macro import figures

_WORDS = {
    "tpr": ("TPR", "true positive rate (recall) of class CLASS: its rows predicted CLASS",
            "higher", "rows of the class"),
    "fpr": ("FPR", "false positive rate of class CLASS: rows of other classes predicted CLASS",
            "lower", "rows of other classes"),
    "precision": ("Precision", "precision of class CLASS: predictions of CLASS that were right",
                  "higher", "predictions of the class"),
    "selection_rate": ("Selection rate", "share of rows predicted CLASS", "neither", "rows"),
    "base_rate": ("Base rate", "share of rows whose true class is CLASS", "neither", "rows"),
}
_PER_CLASS_NAME = re.compile(r"(" + "|".join(PER_CLASS) + r")\[(.+)\]")
_SUMMARY_NAME = re.compile(r"worst_class_(" + "|".join(GAPPED) + ")|macro_(" +
                           "|".join(MACRO) + ")")


def _metric(name: str, cls: str, numerator: Sequence[int], denominator: Sequence[int]
            ) -> Metric:
    title, description, better, rows = _WORDS[name]
    return Metric(per_class(name, cls), f"{title} [{cls}]", tuple(numerator), tuple(denominator),
                  description.replace("CLASS", cls), better, True, rows)  # type: ignore[arg-type]


ACCURACY_NAME = "accuracy"


def _accuracy(numerator: Sequence[int], denominator: Sequence[int]) -> Metric:
    return Metric(ACCURACY_NAME, "Accuracy", tuple(numerator), tuple(denominator),
                  "share of predictions that are the true class", "higher", True, "rows")


ACCURACY_PARITY = Criterion("accuracy_parity", (ACCURACY_NAME,),
                            "accuracy is equal across groups")


def _words(metric: str) -> str:
    title = _WORDS[metric][0]
    return title if title.isupper() else title.lower()


def worst_class(metric: str, classes: Sequence[str]) -> Criterion:
    title = _words(metric)
    return Criterion(f"worst_class_{metric}", tuple(per_class(metric, c) for c in classes),
                     f"the largest gap across groups of any class's {title}")


def macro(metric: str) -> Criterion:
    """A macro criterion: computed by the kind's figures, so it names no metric cells."""
    title = _words(metric)
    return Criterion(f"macro_{metric}", (),
                     f"the gap across groups of each group's mean {title} over the classes")


class Multiclass(OutcomeKind):
    """The base kind of a ``--task multiclass`` audit (see the module's docstring)."""

    name: ClassVar[str] = "multiclass"
    declared_metrics: ClassVar[tuple[Metric, ...]] = (
        _accuracy((1,), (0, 1)),
        *(_metric(m, "CLASS", (), ()) for m in PER_CLASS))
    declared_criteria: ClassVar[tuple[Criterion, ...]] = (
        ACCURACY_PARITY, *(worst_class(m, ("CLASS",)) for m in GAPPED),
        *(macro(m) for m in MACRO))

    def __init__(self, label: str, prediction: str, chosen: tuple[str, ...] = (),
                 classes: tuple[str, ...] | None = None, gated: tuple[str, ...] = ()) -> None:
        self.label, self.prediction, self.chosen = label, prediction, chosen
        self.gated = gated  # the criteria the audit's gates name, checked against the classes
        self.columns = self.keys = (label, prediction)
        self.drop_cells = DROPS
        self.classes = classes
        if classes is None:  # counting: right or wrong, keyed by the two class columns
            self.cells = COUNTED
            self.metric_cells = COUNTED[:2]
            self.metrics = (_accuracy((1,), (0, 1)),)
            self.criteria = (ACCURACY_PARITY,)
            self.shown = self.terminal = self.charted = (ACCURACY_NAME,)
            return
        self.pooled = bool(chosen)
        named = len(classes)
        width = named + self.pooled  # the pooled class is a row and a column of the matrix
        # cell t * width + p: true class t predicted p; with a pool, one more cell after the
        # matrix holds rows of the pool predicted as the same (unnamed) class they are
        self.metric_cells = tuple(f"class:{t}>{p}" for t in range(width) for p in range(width)
                                  ) + (("class:other=other",) if self.pooled else ())
        self.cells = (*self.metric_cells, *DROPS)
        every = tuple(range(len(self.metric_cells)))
        same = tuple(i * width + i for i in range(named)) + (every[-1:] if self.pooled else ())
        metrics = [_accuracy(same, every)]
        for i, c in enumerate(classes):
            true = tuple(i * width + p for p in range(width))
            predicted = tuple(t * width + i for t in range(width))
            rest = tuple(j for j in every if j not in true)
            cell = {"tpr": ((i * width + i,), true),
                    "fpr": (tuple(j for j in predicted if j not in true), rest),
                    "precision": ((i * width + i,), predicted),
                    "selection_rate": (predicted, every),
                    "base_rate": (true, every)}
            metrics += [_metric(m, c, *cell[m]) for m in PER_CLASS]
        self.metrics = tuple(metrics)
        self.criteria = (ACCURACY_PARITY, *(worst_class(m, classes) for m in GAPPED),
                         *(macro(m) for m in MACRO))
        names = [m.name for m in self.metrics]
        self.shown = tuple(n for n in names if not n.startswith("base_rate["))
        self.terminal = (ACCURACY_NAME, *(per_class(m, c) for m in ("tpr", "fpr")
                                          for c in classes))
        self.charted = (ACCURACY_NAME, *(per_class("tpr", c) for c in classes))

    @classmethod
    def knows(cls, name: str) -> bool:
        return bool(_PER_CLASS_NAME.fullmatch(name) or _SUMMARY_NAME.fullmatch(name)) or \
            super().knows(name)

    @classmethod
    def from_settings(cls, settings: Settings) -> Multiclass | None:
        if getattr(settings, "task", None) != TASK:
            return None
        roles = settings.roles
        assert roles.label is not None and roles.prediction is not None  # the config checks
        gates = getattr(settings, "gates", ())
        return cls(roles.label, roles.prediction, tuple(getattr(settings, "classes", ())),
                   gated=tuple(dict.fromkeys(g.criterion for g in gates)))

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        names: dict[str, int] = {}  # one id per class, shared by both columns of the batch
        label = _codes(batch.column(self.label), self.label, where, names)
        prediction = _codes(batch.column(self.prediction), self.prediction, where, names)
        cell: CellIndex = np.asarray(label == prediction, dtype=np.uint8)
        cell[prediction < 0] = COUNTED.index("missing_prediction")
        cell[label < 0] = COUNTED.index("missing_label")
        return cell

    def settle(self, table: CountTable, start: int) -> tuple[OutcomeKind, CountTable]:
        """The kind with its classes, and the table with the class key columns made cells."""
        classes = classes_of(self.label, self.prediction, self.chosen, table)
        for name in self.gated:  # a gate on a class not audited would never be judged
            named = _PER_CLASS_NAME.fullmatch(name)
            if named and named.group(2) not in classes:
                raise InputError(
                    f"gate on {name}: no class '{named.group(2)}' is audited (classes: "
                    f"{', '.join(classes)}); name one of them, or add it with --classes")
        settled = Multiclass(self.label, self.prediction, self.chosen, classes, self.gated)
        return settled, fold(table, (self.label, self.prediction), classes, settled.pooled,
                             start, settled.cells)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures | None:
        if self.classes is None:
            return None
        return figures(self, table, groupings, context)


def _codes(column: pa.Array | pa.ChunkedArray, name: str, where: Where,
           names: dict[str, int]) -> IntArray:
    """Per row, the id in ``names`` of how its class reads (:func:`class_name`), the same
    for the same class in either column; -1 where the value is missing."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_null(arr.type):
        return np.full(len(arr), -1, dtype=np.int64)
    if not pa.types.is_dictionary(arr.type):
        t = arr.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_string(t) or pa.types.is_large_string(t)):
            raise InputError(f"{where.file}: column '{name}' holds {t} values; a class is "
                             "text, a whole number or true/false")
        arr = arr.dictionary_encode()
    ids = np.array([-1 if (n := class_name(v)) is None else names.setdefault(n, len(names))
                    for v in arr.dictionary.to_pylist()] + [-1], dtype=np.int64)
    indices = arr.indices.fill_null(len(arr.dictionary))
    out: IntArray = ids[np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    return out
