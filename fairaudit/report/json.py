"""The JSON contract: ``schema_version`` 1. Fields may be added, never renamed."""

from __future__ import annotations

import json
import math
from typing import Any

from ..result import SCHEMA_VERSION, AuditResult, Exclusion, Gap, GroupingResult, Interval, Rate


def _f(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _ci(ci: Interval | None) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def _excluded(e: Exclusion) -> dict[str, Any]:
    return {"group": e.group, "reason": e.reason, "count": e.count,
            "denominator": e.denominator}


def _rate(r: Rate) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _f(r.value), "numerator": r.numerator,
                           "denominator": r.denominator, "ci": _ci(r.ci)}
    if r.reason:
        out["reason"] = r.reason
    return out


def _gap(g: Gap) -> dict[str, Any]:
    out: dict[str, Any] = {"difference": _f(g.difference), "ratio": _f(g.ratio),
                           "difference_ci": _ci(g.ci_difference), "ratio_ci": _ci(g.ci_ratio),
                           "p_value": _f(g.p_value), "p_adjusted": _f(g.p_adjusted),
                           "groups_used": g.groups_used,
                           "excluded": [_excluded(e) for e in g.excluded]}
    if g.reason:
        out["reason"] = g.reason
    return out


def _grouping(g: GroupingResult) -> dict[str, Any]:
    return {
        "name": g.name,
        "columns": list(g.columns),
        "reference": {"group": g.reference, "rule": g.reference_rule},
        "groups": [
            {
                "key": dict(grp.key),
                "label": grp.label,
                "count": grp.count,
                "share": grp.share,
                "small": grp.small,
                "reference": grp.is_reference,
                "dropped": dict(grp.dropped),
                "metrics": {k: _rate(v) for k, v in grp.metrics.items()},
                "versus_reference": {k: {"difference": _f(c.difference), "ratio": _f(c.ratio),
                                         "difference_ci": _ci(c.ci_difference),
                                         "ratio_ci": _ci(c.ci_ratio)}
                                     for k, c in grp.versus_reference.items()},
            }
            for grp in g.groups
        ],
        "overall": {"metrics": {k: _rate(v) for k, v in g.overall.items()}},
        "gaps": {k: _gap(v) for k, v in g.gaps.items()},
        "criteria": {k: _gap(v) for k, v in g.criteria.items()},
    }


def to_dict(result: AuditResult) -> dict[str, Any]:
    p = result.provenance
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": result.verdict,
        "min_group_size": result.min_group_size,
        "metrics": list(result.metrics),
        "groupings": [_grouping(g) for g in result.groupings],
        "gates": [
            {"grouping": g.grouping, "criterion": g.criterion, "kind": g.kind,
             "threshold": g.threshold, "value": _f(g.value), "ci": _ci(g.ci),
             "rule": g.rule, "status": g.status, "reason": g.reason}
            for g in result.gates
        ],
        "provenance": {
            "fairaudit_version": p.version,
            "timestamp": p.timestamp,
            "files": [{"path": f.path, "format": f.format, "size": f.size,
                       "sha256": f.sha256, "rows": f.rows} for f in p.files],
            "rows_read": p.rows_read,
            "rows_used": p.rows_used,
            "rows_dropped": dict(p.dropped),
            "roles": dict(p.roles),
            "config": p.config,
            "config_sources": dict(p.sources),
        },
    }


def dumps(result: AuditResult) -> str:
    return json.dumps(to_dict(result), indent=2, allow_nan=False, default=str) + "\n"
