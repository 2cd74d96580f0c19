"""The classes of a multiclass audit, found in its counts, and the counts made per class.

The counting pass keys the table by the label and prediction columns
(:mod:`fairaudit.kinds.multiclass`); :func:`settle` reads the classes off those
key columns' levels and folds the two columns into the cells of each group's
confusion matrix (true class x predicted class), so that every later stage
sees a table keyed by the groups alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..counts import CountTable
from ..errors import InputError
from ..result import OTHER_CLASSES

TASK = "multiclass"
# without --classes: more classes than this are refused (their (K + 1)^2 cells a group, and
# 5 K columns a table, would bury the audit); --classes names the ones to audit
MAX_CLASSES = 30
OTHER = OTHER_CLASSES
PER_CLASS = ("tpr", "fpr", "precision", "selection_rate", "base_rate")
GAPPED = ("tpr", "fpr", "precision", "selection_rate")  # worst-class criteria
# macro criteria: the classes' selection rates add up to 1, so their mean is 1 / classes in
# every group, and a macro selection rate would say nothing
MACRO = ("tpr", "fpr", "precision")
# the cells of the counting pass, before the classes are known
COUNTED = ("class:wrong", "class:right", "missing_label", "missing_prediction")
DROPS = ("missing_label", "missing_prediction")


def per_class(metric: str, cls: str) -> str:
    """The name of a per-class metric, as gates and the JSON write it: ``tpr[cat]``."""
    return f"{metric}[{cls}]"


_TITLES = {"tpr": "TPR", "fpr": "FPR", "precision": "precision",
           "selection_rate": "selection rate", "base_rate": "base rate"}


def title(name: str) -> str | None:
    """How reports title a multiclass criterion (``Worst-class TPR``, ``TPR [cat]``); None
    for a name of another kind."""
    for prefix, words in (("worst_class_", "Worst-class"), ("macro_", "Macro")):
        if name.startswith(prefix) and name[len(prefix):] in GAPPED:
            return f"{words} {_TITLES[name[len(prefix):]]}"
    metric, bracket, rest = name.partition("[")
    if bracket and rest.endswith("]") and metric in PER_CLASS:
        words = _TITLES[metric]
        return f"{words[0].upper()}{words[1:]} [{rest[:-1]}]"
    return None


def class_name(value: Any) -> str | None:
    """How a class value reads, which is what identifies it; None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    return str(value)


def _order(name: str) -> tuple[int, float, str]:
    """Classes in reading order: numbers by value, then text."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def classes_of(label: str, prediction: str, chosen: tuple[str, ...], table: CountTable
               ) -> tuple[str, ...]:
    """The classes the audit reports: those named with ``--classes``, else every class seen
    in the label or the prediction."""
    seen: dict[str, list[str]] = {}
    for column in (label, prediction):
        c = table.columns.index(column)
        used = np.unique(table.keys[:, c]) if len(table.keys) else np.zeros(0, np.int64)
        names = (class_name(table.levels[c][int(i)]) for i in used)
        seen[column] = sorted({n for n in names if n is not None}, key=_order)
    labels, predictions = seen[label], seen[prediction]
    every = sorted(set(labels) | set(predictions), key=_order)
    if labels and predictions and not set(labels) & set(predictions):
        raise InputError(
            f"label '{label}' and prediction '{prediction}' share no class (label: "
            f"{_few(labels)}; prediction: {_few(predictions)}); a multiclass audit needs "
            "both columns to hold the same class values")
    if chosen:
        unknown = [c for c in chosen if c not in every]
        if unknown:
            raise InputError(
                f"--classes: '{unknown[0]}' is in neither label '{label}' nor prediction "
                f"'{prediction}'; classes seen: {_few(every)}")
        return tuple(chosen)
    unpredicted = [c for c in labels if c not in set(predictions)]
    if unpredicted and predictions:
        # most often the two columns spell a class differently ('Low' and 'low'); a class
        # the model truly never predicts is audited once named with --classes
        raise InputError(
            f"label '{label}' holds class '{unpredicted[0]}' that prediction '{prediction}' "
            f"never holds (predicted: {_few(predictions)}); if the columns spell it alike and "
            f"the model never predicts it, name the classes to audit with --classes "
            f"{','.join(every[:MAX_CLASSES])}")
    if len(every) > MAX_CLASSES:
        raise InputError(
            f"label '{label}' and prediction '{prediction}' hold {len(every):,} "
            f"classes, more than {MAX_CLASSES} to audit at once; name the ones to audit with "
            "--classes a,b,c (the others are pooled as one class, '(other)')")
    return tuple(every)


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:8])
    return shown + (f", ... ({len(names):,} in all)" if len(names) > 8 else "") if names \
        else "none"


def fold(table: CountTable, keys: tuple[str, str], classes: tuple[str, ...], pooled: bool,
         start: int, cells: tuple[str, ...]) -> CountTable:
    """The table keyed by its other columns, the kind's :data:`COUNTED` cells (at ``start``)
    and its two class key columns (label, prediction) folded into ``cells``: each pair of
    classes (with a pool, one more cell for the pool's right rows), then :data:`DROPS`."""
    width = len(classes) + pooled
    index = {c: i for i, c in enumerate(classes)}
    other = len(classes) if pooled else -1
    matrix = width * width + pooled

    def position(column: str) -> Any:
        c = table.columns.index(column)
        out = np.array([-1 if (n := class_name(v)) is None else index.get(n, other)
                        for v in table.levels[c]], dtype=np.int64)
        return out[table.keys[:, c]] if len(table.keys) else np.zeros(0, np.int64)

    true, predicted = position(keys[0]), position(keys[1])
    old = table.cells[:, start:start + len(COUNTED)]
    wrong, right, no_label, no_prediction = (old[:, i] for i in range(len(COUNTED)))
    rows = len(table.keys)
    block = np.zeros((rows, len(cells)), dtype=np.int64)
    both = (true >= 0) & (predicted >= 0)
    at = np.where(both, true * width + predicted, 0)
    np.add.at(block, (np.arange(rows), at), np.where(both, wrong, 0))
    if pooled:  # right within the pool: its own cell, so that accuracy counts it
        same = both & (true == other) & (predicted == other)
        at_right = np.where(same, matrix - 1, at)
    else:
        at_right = at
    np.add.at(block, (np.arange(rows), at_right), np.where(both, right, 0))
    drops = matrix
    block[:, drops] = no_label
    block[:, drops + 1] = no_prediction
    counts = np.concatenate([table.cells[:, :start], block,
                            table.cells[:, start + len(COUNTED):]], axis=1)
    keep = [i for i, c in enumerate(table.columns) if c not in keys]
    names = (*table.cell_names[:start], *cells,
             *table.cell_names[start + len(COUNTED):])
    if rows == 0:
        return CountTable(tuple(table.columns[i] for i in keep), names,
                          tuple(table.levels[i] for i in keep),
                          np.zeros((0, len(keep)), np.int64), np.zeros((0, len(names)), np.int64))
    uniq, inverse = np.unique(table.keys[:, keep], axis=0, return_inverse=True)
    summed = np.zeros((len(uniq), counts.shape[1]), dtype=np.int64)
    np.add.at(summed, inverse.reshape(-1), counts)
    return CountTable(tuple(table.columns[i] for i in keep), names,
                      tuple(table.levels[i] for i in keep),
                      np.ascontiguousarray(uniq, dtype=np.int64), summed)
