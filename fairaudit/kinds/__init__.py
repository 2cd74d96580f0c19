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
    unregister,
)
from .binary import BinaryDecision
from .ranges import RangeChecks
from .strata import Strata
from .topk import TopK

register(BinaryDecision)
register(RangeChecks)
register(TopK)
register(Strata)

__all__ = [
    "BinaryDecision",
    "Context",
    "Figures",
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
    "unregister",
]
