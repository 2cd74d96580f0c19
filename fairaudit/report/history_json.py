"""The JSON of `fairaudit history`: ``schema_version`` 1, published in docs/history.schema.json.

``runs`` lists every run of the dates shown (superseded and failed ones
too), ``series`` per label, grouping and criterion the points of the current
runs, ``drift`` the drift gates. Fields may be added, never renamed.
"""

from __future__ import annotations

from typing import IO, Any

import orjson

from ..history.drift import Cusum, DriftResult
from ..history.series import Point, Series
from ..history.store import SCHEMA_VERSION as STORE_VERSION
from ..history.store import Run
from ..history.trend import Trend
from ..result import Interval

SCHEMA_VERSION = 1


def _f(x: float | None) -> float | None:
    return None if x is None or x != x else x


def _ci(ci: Interval | None) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def _run(r: Run) -> dict[str, Any]:
    return {
        "run_id": r.run_id,
        "as_of": r.as_of,
        "label": r.label or None,
        "verdict": r.verdict,
        "superseded": r.superseded,
        "superseded_by": r.superseded_by,
        "error": r.error,
        "recorded_at": r.recorded_at,
        "audit_time": r.audit_time,
        "config_digest": r.config_digest or None,
        "fairaudit_version": r.fairaudit_version,
        "rows_read": r.rows_read,
        "rows_used": r.rows_used,
        "inputs": [{"path": f.path, "format": f.format, "size": f.size, "sha256": f.sha256,
                    "rows": f.rows} for f in r.inputs],
    }


def _point(p: Point) -> dict[str, Any]:
    return {
        "run_id": p.run_id,
        "as_of": p.as_of,
        "difference": _f(p.difference),
        "ratio": _f(p.ratio),
        "ci": _ci(p.ci),
        "value": _f(p.value),
        "difference_ci": _ci(p.difference_ci),
        "ratio_ci": _ci(p.ratio_ci),
        "status": p.status,
        "threshold": p.threshold,
        "groups_used": p.groups_used,
        "runs": list(p.runs),
    }


def _series(s: Series) -> dict[str, Any]:
    k = s.key
    out: dict[str, Any] = {"label": k.label or None, "grouping": k.grouping,
                           "criterion": k.criterion, "kind": k.kind,
                           "threshold": s.threshold, "points": [_point(p) for p in s.points]}
    if k.feature is not None:
        out["feature"] = k.feature
    return out


def _cusum(c: Cusum | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"statistic": _f(c.statistic), "limit": c.limit, "k": _f(c.k), "mean": _f(c.mean),
            "sigma": _f(c.sigma), "status": c.status, "reason": c.reason,
            "alarm": None if c.alarm is None else {"run_id": c.alarm.run_id,
                                                   "as_of": c.alarm.as_of}}


def _drift(d: DriftResult) -> dict[str, Any]:
    return {
        "label": d.label or None,
        "grouping": d.grouping,
        "criterion": d.criterion,
        "max_increase": d.limit,
        "rule": d.rule,
        "status": d.status,
        "reason": d.reason,
        "current": None if d.current is None else {
            "run_id": d.current.run_id, "as_of": d.current.as_of,
            "difference": _f(d.current.difference)},
        "baseline": {"runs": [p.run_id for p in d.baseline], "mean": _f(d.baseline_mean)},
        "increase": _f(d.increase),
        "ci": _ci(d.ci),
        "cusum": _cusum(d.cusum),
    }


def to_dict(t: Trend) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "history": {"path": t.path, "schema_version": STORE_VERSION},
        "label": t.label,
        "last": t.last,
        "pool": t.pool,
        "verdict": t.verdict,
        "runs": [_run(r) for r in t.runs],
        "series": [_series(s) for s in t.series],
        "drift": [_drift(d) for d in t.drift],
    }


def write(t: Trend, out: IO[bytes]) -> None:
    out.write(orjson.dumps(to_dict(t), option=orjson.OPT_APPEND_NEWLINE))
