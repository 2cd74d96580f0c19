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
    kinds_for,
    register,
    registered,
    unregister,
)
from .binary import BinaryDecision
from .ranges import RangeChecks

register(BinaryDecision)
register(RangeChecks)

__all__ = [
    "BinaryDecision",
    "Context",
    "Figures",
    "OutcomeKind",
    "RangeChecks",
    "Settings",
    "declared_criteria",
    "kinds_for",
    "register",
    "registered",
    "unregister",
]
