"""The history of scheduled audits: runs with their counts, series, pooling and drift gates.

:mod:`fairaudit.history.store` keeps the runs (SQLite); the other modules read
them. docs/history.md describes the file and the figures.
"""

from __future__ import annotations

from .digest import config_digest, config_from_dict, figure_config
from .store import (
    SCHEMA_VERSION,
    CriterionRow,
    GateRow,
    History,
    HistoryError,
    Recorded,
    Run,
    RunSpec,
    parse_as_of,
)

__all__ = [
    "SCHEMA_VERSION",
    "CriterionRow",
    "GateRow",
    "History",
    "HistoryError",
    "Recorded",
    "Run",
    "RunSpec",
    "config_digest",
    "config_from_dict",
    "figure_config",
    "parse_as_of",
]
