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
    kinds_for,
    register,
    registered,
    settle,
    unregister,
)
from .baseline import BaselineComparison
from .binary import BinaryDecision
from .multiclass import Multiclass
from .ranges import RangeChecks
from .strata import Strata
from .topk import TopK

register(BinaryDecision)
register(Multiclass)
register(RangeChecks)
register(TopK)
register(Strata)
register(BaselineComparison)

__all__ = [
    "BaselineComparison",
    "BinaryDecision",
    "Context",
    "Figures",
    "Multiclass",
    "OutcomeKind",
    "RangeChecks",
    "Settings",
    "Strata",
    "TopK",
    "declared_criteria",
    "gateable",
    "kinds_for",
    "register",
    "registered",
    "settle",
    "unregister",
]
