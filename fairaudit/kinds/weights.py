"""Sample weights (``--weight COLUMN``): binary decisions counted as sums of weights.

Each row adds its weight ``w`` to the sum cell of its confusion cell
(``weight:tn`` ... ``weight:tp``) and ``w**2`` to ``weight^2:tn`` ...; its
integer cell counts it as one row, as without weights. Every rate is a
fraction of sums of weights (as fairlearn's ``sample_weight``). The integer
cells stay the group sizes: the small-group rules count rows.

For intervals, tests and the bootstrap, the engine rescales each group's
weighted cells to Kish's effective sample size ``n_eff = (sum w)^2 / sum
w^2`` (:attr:`OutcomeKind.weight_squares`): the rates do not change, and a
rate's interval, test and replicates are those of ``n_eff`` rows of the
group's weighted shares (docs/statistics.md states the approximation).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from ..counts import Tally
from ..decode import CONFUSION, Where
from ..errors import InputError
from .base import Settings
from .binary import BinaryDecision
from .numeric import _numbers

if TYPE_CHECKING:
    import pyarrow as pa

    from .base import CellIndex

WEIGHTED = tuple(f"weight:{c}" for c in CONFUSION)
SQUARED = tuple(f"weight^2:{c}" for c in CONFUSION)


class WeightedDecision(BinaryDecision):
    """Binary decisions with a weight per row: its metric cells are sums of weights."""

    name: ClassVar[str] = "weighted_decision"

    def __init__(self, settings: Settings, weight: str) -> None:
        super().__init__(settings)
        self.weight = weight
        self.columns = (*self.columns, weight)
        self.sums = (*WEIGHTED, *SQUARED)
        self.metric_cells = WEIGHTED
        self.row_cells = CONFUSION
        self.weight_squares = SQUARED

    @classmethod
    def from_settings(cls, settings: Settings) -> WeightedDecision | None:
        roles = settings.roles
        weight = getattr(settings, "weight", None)
        if weight is None or (roles.prediction is None and roles.score is None) or \
                getattr(settings, "task", "binary") != "binary":
            return None
        return cls(settings, weight)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> Tally:
        cell = np.asarray(self.decoder.cells(batch, where))
        used = cell < len(CONFUSION)
        w, finite = _numbers(batch, self.weight, where, "weight")
        bad = used & (~finite | (w < 0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = float(w[row])
            shown = (f"{value:g}" if finite[row] or math.isinf(value)
                     else "no number (empty or NaN)")
            raise InputError(f"{where.file}: row {where.first_row + row}: weight column "
                             f"'{self.weight}' holds {shown}; a weight is a finite number >= 0")
        w = np.where(used, w, 0.0)
        at = np.where(used, cell, 0).astype(np.int8)
        return Tally(cell, np.stack([at, at + len(CONFUSION)]), np.stack([w, w * w]))

    def resample(self, counts: npt.NDArray[Any], replicates: int, rng: np.random.Generator
                 ) -> npt.NDArray[Any]:
        """``n_eff`` rows (the cells' sum, rounded) drawn at the group's weighted shares."""
        c = np.asarray(counts, dtype=np.float64)
        total = c.sum(axis=1)
        n = np.rint(total).astype(np.int64)
        probs = np.where(total[:, None] > 0, c / np.where(total > 0, total, 1.0)[:, None],
                         1.0 / c.shape[1])
        drawn = rng.multinomial(n[:, None], probs[:, None, :], size=(len(c), replicates))
        return np.asarray(drawn, dtype=np.float64)
