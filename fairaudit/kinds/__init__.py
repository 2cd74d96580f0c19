"""Outcome kinds: the plug-ins an audit's counts and figures are made of.

Binary decisions are the base kind and range checks the second; a new kind is a
subclass of :class:`OutcomeKind`, registered with :func:`register`
(:mod:`fairaudit.kinds.base` says what it declares).
"""

from __future__ import annotations

from .base import (
    Context,
    Figures,
    OutcomeKind,
    Settings,
    declared_criteria,
    gateable,
    has_ratio,
    kinds_for,
    register,
    registered,
    settle,
    unregister,
)
from .baseline import BaselineComparison
from .binary import BinaryDecision
from .cutoffs import SelectTop, Thresholds
from .distribution import PredictionDistribution
from .multiclass import Multiclass
from .numeric import NumericOutcomes, Rows
from .ranges import RangeChecks
from .scores import Scores
from .strata import Strata
from .topk import TopK
from .weights import WeightedDecision

register(BinaryDecision)
register(WeightedDecision)  # the base kind instead of BinaryDecision when rows are weighted
register(Multiclass)
register(RangeChecks)
register(TopK)
register(Rows)
register(NumericOutcomes)
register(PredictionDistribution)
register(Strata)
register(BaselineComparison)
register(Scores)
register(Thresholds)
register(SelectTop)

__all__ = [
    "BaselineComparison",
    "BinaryDecision",
    "Context",
    "Figures",
    "Multiclass",
    "NumericOutcomes",
    "OutcomeKind",
    "PredictionDistribution",
    "RangeChecks",
    "Rows",
    "Scores",
    "SelectTop",
    "Settings",
    "Strata",
    "Thresholds",
    "TopK",
    "WeightedDecision",
    "declared_criteria",
    "gateable",
    "has_ratio",
    "kinds_for",
    "register",
    "registered",
    "settle",
    "unregister",
]
