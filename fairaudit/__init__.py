"""fairaudit: fairness audits of model decisions, with per-group rates, gaps and CI gates.

Use it from Python::

    import fairaudit
    result = fairaudit.audit("predictions.parquet", label="y", prediction="yhat",
                             groups=["race", "sex"], max_gap={"equalized_odds": 0.1})
    result.verdict  # "pass" or "fail"
"""

from .config import AuditConfig, GateSpec
from .counts import CountTable
from .engine import audit, judge
from .errors import ConfigError, FairauditError, InputError, UsageError
from .metrics import CRITERIA, METRICS, Criterion, Metric
from .ranges import RangeGate, RangeReport, RangeSpec
from .result import AuditResult, GateResult, GroupFigures, GroupingResult, GroupResult, Rate
from .version import __version__

__all__ = [
    "CRITERIA",
    "METRICS",
    "AuditConfig",
    "AuditResult",
    "ConfigError",
    "CountTable",
    "Criterion",
    "FairauditError",
    "GateResult",
    "GateSpec",
    "GroupFigures",
    "GroupResult",
    "GroupingResult",
    "InputError",
    "Metric",
    "RangeGate",
    "RangeReport",
    "RangeSpec",
    "Rate",
    "UsageError",
    "__version__",
    "audit",
    "judge",
]
