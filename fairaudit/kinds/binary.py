"""Binary decisions, the base kind: label x decision cells, and the confusion-matrix rates.

A row's cell is ``label * 2 + decision`` (TN, FP, FN, TP), or the drop cell of
the first role it is missing (:mod:`fairaudit.decode`). Its metrics are the
rates of :data:`fairaudit.metrics.METRICS` and its criteria those of
:data:`fairaudit.metrics.CRITERIA`: with no label column, only those that need
none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..decode import CELLS, CONFUSION, DROP_REASONS, Decoder, Where
from ..metrics import CRITERIA, METRICS, Criterion, Metric, criteria_for, metrics_for
from .base import CellIndex, OutcomeKind, Settings

if TYPE_CHECKING:
    import pyarrow as pa

# the per-group tables: the terminal has room for fewer columns than a page, and FNR is
# 1 - TPR (its interval TPR's mirrored), so the terminal leaves it to pages and the JSON
SHOWN = ("base_rate", "selection_rate", "tpr", "fpr", "fnr", "precision", "accuracy")
TERMINAL = ("base_rate", "selection_rate", "tpr", "fpr", "precision", "accuracy")
CHARTED = ("selection_rate", "tpr", "fpr", "precision", "accuracy")


class BinaryDecision(OutcomeKind):
    name: ClassVar[str] = "decision"
    declared_metrics: ClassVar[tuple[Metric, ...]] = METRICS
    declared_criteria: ClassVar[tuple[Criterion, ...]] = CRITERIA

    def __init__(self, settings: Settings) -> None:
        has_label = settings.label is not None
        roles = settings.roles
        self.decoder = Decoder(roles)
        self.cells = CELLS
        self.metric_cells = CONFUSION
        self.drop_cells = DROP_REASONS
        self.metrics = metrics_for(has_label)
        self.criteria = criteria_for(has_label)
        self.columns = tuple(c for c in (roles.label, roles.prediction, roles.score)
                             if c is not None)
        names = {m.name for m in self.metrics}
        self.shown, self.terminal, self.charted = (
            tuple(m for m in s if m in names) for s in (SHOWN, TERMINAL, CHARTED))

    @classmethod
    def from_settings(cls, settings: Settings) -> BinaryDecision | None:
        roles = settings.roles
        if getattr(settings, "task", "binary") != "binary":
            return None  # the label and prediction hold classes (kinds/multiclass.py)
        if roles.prediction is None and roles.score is None:
            return None  # an audit of other outcomes only (a shortlist's ranks)
        return cls(settings)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        return self.decoder.cells(batch, where)

    def seen(self) -> Any:
        return self.decoder.seen() or None

    def absorb(self, seen: Any, file: str) -> None:
        if seen:
            self.decoder.absorb(seen, file)
