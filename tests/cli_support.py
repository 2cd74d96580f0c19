"""Shared helpers for the command-line tests: invoke the app, check errors, validate JSON."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner, Result

from fairaudit.cli import app

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "audit.schema.json"
COMPAS = ROOT / "examples" / "compas" / "compas.parquet"
COMPAS_ARGS = [
    "--label", "two_year_recid", "--prediction", "prediction",
    "--group", "race", "--group", "sex", "--reference", "race=Caucasian",
    "--max-gap", "equalized_odds=0.1", "--min-ratio", "demographic_parity=0.8",
]


def invoke(*args: Any) -> Result:
    """Run ``fairaudit ARGS`` in-process; stdout and stderr are captured apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    return cls(schema(), format_checker=cls.FORMAT_CHECKER)


def validate_report(doc: dict[str, Any]) -> dict[str, Any]:
    """Fail the test unless ``doc`` follows docs/audit.schema.json; return it."""
    validator().validate(doc)
    return doc


def read_report(path: Path | str) -> dict[str, Any]:
    """The JSON report at ``path``, checked against the published schema."""
    return validate_report(json.loads(Path(path).read_text(encoding="utf-8")))


def error_line(result: Result) -> str:
    """The one stderr line of a run that could not audit (exit 2), checked for form."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fairaudit: error: "), lines[0]
    return lines[0]


def assert_report_failed(result: Result, *fragments: str, code: int = 2) -> list[str]:
    """A run that audited but could not write a report: exit ``code``, no traceback, the
    terminal report on stdout all the same, and one stderr line for each report that
    failed (every fragment in one of them); returns those lines."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert "verdict: " in result.stdout, result.stdout
    lines = [line for line in result.stderr.splitlines()
             if line.startswith(("fairaudit: error: ", "fairaudit: internal error"))]
    assert lines, result.stderr
    for fragment in fragments:
        assert any(fragment in line for line in lines), f"{fragment!r} not in {lines!r}"
    return lines


def assert_cannot_audit(result: Result, *fragments: str) -> str:
    """Exit 2, one line on stderr, no traceback, and every fragment in that line."""
    line = error_line(result)
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


def undocumented(doc: Any, node: dict[str, Any], where: str,
                 root: dict[str, Any] | None = None) -> list[str]:
    """The paths of ``doc`` that schema ``node`` does not describe (``$ref`` resolved in
    ``root``, the audit schema by default; a nullable ``oneOf`` read as its object branch;
    keys under ``additionalProperties`` checked against it)."""
    root = root if root is not None else schema()
    if "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in node and "properties" not in node:  # a nullable object: its object branch
        node = next((n for n in node["oneOf"] if n.get("type") != "null"), node)
    out: list[str] = []
    if isinstance(doc, dict):
        props = node.get("properties", {})
        patterns = node.get("patternProperties", {})
        extra = node.get("additionalProperties")
        for key, value in doc.items():
            matched = next((n for p, n in patterns.items() if re.search(p, key)), None)
            if key in props:
                out += undocumented(value, props[key], f"{where}.{key}", root)
            elif matched is not None:
                out += undocumented(value, matched, f"{where}.{key}", root)
            elif isinstance(extra, dict):
                out += undocumented(value, extra, f"{where}.{key}", root)
            else:
                out.append(f"{where}.{key}")
    elif isinstance(doc, list) and isinstance(node.get("items"), dict):
        for i, value in enumerate(doc):
            out += undocumented(value, node["items"], f"{where}[{i}]", root)
    return out


def missing_from_output(real: list[str], shown: str) -> str | None:
    """The first part of a documented output (parts split by a ``...`` line) not found in
    ``real`` after the parts before it; None when every part is there, in order."""
    at = 0
    for part in shown.split("\n...\n"):
        want = part.splitlines()
        for start in range(at, len(real) - len(want) + 1):
            if real[start:start + len(want)] == want:
                at = start + len(want)
                break
        else:
            return part
    return None
