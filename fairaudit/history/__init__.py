"""The history of scheduled audits: runs with their counts, series, pooling and drift gates.

:mod:`fairaudit.history.store` keeps the runs (SQLite); the other modules read
them. docs/history.md describes the file and the figures. From Python::

    from fairaudit.history import History, DriftSpec, trend
    with History.open("h.db", create=True) as h:
        h.record(result, counted.table, config, as_of="2024-05-01", label="model-a")
    t = trend("h.db", drift=[DriftSpec("false_positive_parity", 0.05)])
    t.verdict, [d.sentence for d in t.failed]
"""

from __future__ import annotations

from .digest import config_digest, config_from_dict, figure_config
from .drift import DriftResult, DriftSpec
from .series import Point, Series, pooled
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
from .trend import Trend, trend

__all__ = [
    "SCHEMA_VERSION",
    "CriterionRow",
    "DriftResult",
    "DriftSpec",
    "GateRow",
    "History",
    "HistoryError",
    "Point",
    "Recorded",
    "Run",
    "RunSpec",
    "Series",
    "Trend",
    "config_digest",
    "config_from_dict",
    "figure_config",
    "parse_as_of",
    "pooled",
    "trend",
]
