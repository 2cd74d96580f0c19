"""fairaudit: fairness audits of model decisions, with per-group rates, gaps and CI gates.

Use it from Python::

    import fairaudit
    result = fairaudit.audit("predictions.parquet", label="y", prediction="yhat",
                             groups=["race", "sex"], max_gap={"equalized_odds": 0.1})
    result.verdict  # "pass" or "fail"

The names below load on first use: the command line starts reading its input
files before numpy, pyarrow and the engine are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .config import AuditConfig, GateSpec
    from .counts import CountTable
    from .engine import Counted, audit, count, judge
    from .errors import ConfigError, FairauditError, InputError, OutputError, UsageError
    from .kinds import OutcomeKind, register
    from .metrics import CRITERIA, METRICS, Criterion, Metric
    from .rangespec import RangeGate, RangeSpec
    from .result import (
        AuditResult,
        Catalog,
        GateResult,
        GroupFigures,
        GroupingResult,
        GroupResult,
        RangeReport,
        Rate,
        StrataReport,
    )

_WHERE = {
    "AuditConfig": "config", "GateSpec": "config", "CountTable": "counts",
    "audit": "engine", "judge": "engine", "count": "engine", "Counted": "engine",
    "ConfigError": "errors", "FairauditError": "errors", "InputError": "errors",
    "OutputError": "errors", "UsageError": "errors",
    "CRITERIA": "metrics", "METRICS": "metrics", "Criterion": "metrics", "Metric": "metrics",
    "OutcomeKind": "kinds", "register": "kinds",
    "RangeGate": "rangespec", "RangeSpec": "rangespec", "RangeReport": "result",
    "AuditResult": "result", "Catalog": "result", "GateResult": "result", "GroupFigures": "result",
    "GroupingResult": "result", "GroupResult": "result", "Rate": "result",
    "StrataReport": "result",
}

__all__ = [
    "CRITERIA",
    "METRICS",
    "AuditConfig",
    "AuditResult",
    "Catalog",
    "ConfigError",
    "CountTable",
    "Counted",
    "Criterion",
    "FairauditError",
    "GateResult",
    "GateSpec",
    "GroupFigures",
    "GroupResult",
    "GroupingResult",
    "InputError",
    "Metric",
    "OutcomeKind",
    "OutputError",
    "RangeGate",
    "RangeReport",
    "RangeSpec",
    "Rate",
    "StrataReport",
    "UsageError",
    "__version__",
    "audit",
    "count",
    "judge",
    "register",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fairaudit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
