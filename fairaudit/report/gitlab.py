"""GitLab Code Quality report: one entry per failing or inconclusive gate.

The format is GitLab's subset of the Code Climate issue format: a JSON array
of objects with ``description``, ``check_name``, ``fingerprint``, ``severity``
and ``location`` (``path`` and ``lines.begin``). GitLab matches findings across
pipelines by fingerprint, so a merge request shows a gate that fails on both
branches as the same finding. The fingerprint is therefore made from what the
gate is (its kind, grouping, criterion or feature, and the file it is
reported against), never from what it measured: the value, interval,
threshold and status may change from run to run, the fingerprint does not.

A finding points at the config file that declared the gate (a gate given as a
flag: at the config file the run used, else at the first input file), line 1.
"""

from __future__ import annotations

import hashlib
import json

from ..result import AuditResult, GateResult
from . import view

# GitLab's severities are info, minor, major, critical and blocker
SEVERITY = {"fail": "critical", "inconclusive": "minor"}
_NOT_FILES = ("default", "command line")


def _key(gate: GateResult) -> list[str]:
    """The keys under which the config records where a gate was declared."""
    if gate.kind == "max_out_of_range":
        return [f"gates.max_out_of_range.{gate.feature}", "gates.max_out_of_range.*"]
    return [f"gates.{gate.kind}.{gate.grouping}:{gate.criterion}",
            f"gates.{gate.kind}.{gate.criterion}"]


def location(result: AuditResult, gate: GateResult) -> str:
    """The file a finding is reported against, as the audit named it."""
    sources = result.provenance.sources
    for key in _key(gate):
        where = sources.get(key)
        if where is not None and where not in _NOT_FILES:
            return where
    files = sorted({v for v in sources.values() if v not in _NOT_FILES})
    if files:
        return files[0]
    p = result.provenance
    return p.files[0].path if p.files else "."


def check_name(gate: GateResult) -> str:
    """The rule behind a finding: ``fairaudit.max_gap.equalized_odds``, or for a range gate
    ``fairaudit.max_out_of_range``."""
    if gate.kind == "max_out_of_range":
        return "fairaudit.max_out_of_range"
    return f"fairaudit.{gate.kind}.{gate.criterion}"


def fingerprint(gate: GateResult, path: str) -> str:
    """SHA-256 of the gate's identity: file, kind, grouping, criterion and feature."""
    identity = ["fairaudit", path, gate.kind, gate.grouping, gate.criterion, gate.feature]
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()


def entries(result: AuditResult) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for g in result.gates:
        severity = SEVERITY.get(view.status(g))
        if severity is None:
            continue
        path = location(result, g)
        out.append({
            "description": f"fairaudit: {view.gate_sentence(g)}",
            "check_name": check_name(g),
            "fingerprint": fingerprint(g, path),
            "severity": severity,
            "location": {"path": path, "lines": {"begin": 1}},
        })
    return out


def render(result: AuditResult) -> str:
    """The report as JSON text (an empty array when no gate fails or is inconclusive)."""
    return json.dumps(entries(result), indent=2) + "\n"
