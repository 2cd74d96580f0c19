"""docs/audit.schema.json: valid, met by every report, strict about names, open to additions."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pyarrow as pa
import pytest

import fairaudit
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, schema, validate_report


@pytest.fixture(scope="module")
def compas_doc() -> dict[str, Any]:
    result = fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                             groups=["race", "sex"], reference=[("race", "Caucasian")],
                             max_gap={"equalized_odds": 0.1},
                             min_ratio={"demographic_parity": 0.8})
    return to_dict(result)


def _scored_without_label() -> dict[str, Any]:
    """No label, a score with missing values, a numeric and a missing group value, a
    skipped gate: the optional and nullable corners of the contract."""
    table = pa.table({
        "s": pa.array([0.9, 0.1, None, 0.7, 0.2, 0.6], pa.float64()),
        "g": pa.array([1, 1, 2, 2, None, None], pa.int64()),
    })
    result = fairaudit.audit(table, score="s", threshold=0.5, groups=["g"], min_group_size=1,
                             max_gap={"equalized_odds": 0.1, "demographic_parity": 1.0})
    return to_dict(result)


def test_the_schema_is_valid_draft_2020_12():
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())


def test_compas_report_follows_the_schema(compas_doc):
    validate_report(compas_doc)
    nulls = [m for g in compas_doc["groupings"] for grp in g["groups"]
             for m, r in grp["metrics"].items() if r["value"] is None]
    assert nulls  # an undefined rate (Asian & Female precision) is among what was checked


def test_report_without_label_follows_the_schema():
    doc = validate_report(_scored_without_label())
    assert doc["provenance"]["roles"]["label"] is None
    assert doc["provenance"]["rows_dropped"]["missing_score"] == 1
    assert {g["status"] for g in doc["gates"]} == {"skipped", "pass"}
    keys = [grp["key"]["g"] for grp in doc["groupings"][0]["groups"]]
    assert keys == [1, 2, None]


def _rename(doc: dict[str, Any], path: tuple[Any, ...], new: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[new] = parent.pop(path[-1])
    return doc


@pytest.mark.parametrize(("path", "new"), [
    (("verdict",), "outcome"),
    (("schema_version",), "version"),
    (("groupings", 0, "criteria"), "criterion"),
    (("groupings", 0, "groups", 0, "count"), "n"),
    (("groupings", 0, "groups", 0, "metrics", "fpr", "value"), "val"),
    (("groupings", 0, "criteria", "equalized_odds", "difference"), "diff"),
    (("gates", 0, "status"), "state"),
    (("provenance", "config_sources"), "sources"),
    (("provenance", "files", 0, "sha256"), "digest"),
])
def test_a_renamed_field_is_rejected(compas_doc, path, new):
    with pytest.raises(jsonschema.ValidationError, match=f"'{path[-1]}' is a required property"):
        validate_report(_rename(compas_doc, path, new))


@pytest.mark.parametrize(("path", "value"), [
    (("verdict",), "passed"),
    (("gates", 0, "status"), "inconclusive?"),
    (("gates", 0, "kind"), "max_ratio"),
    (("schema_version",), 2),
    (("groupings", 0, "groups", 0, "metrics", "fpr", "value"), 1.5),
    (("groupings", 0, "groups", 0, "count"), "3696"),
    (("provenance", "files", 0, "sha256"), "not-a-digest"),
])
def test_a_wrong_value_is_rejected(compas_doc, path, value):
    doc = copy.deepcopy(compas_doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_report(doc)


def test_added_fields_are_allowed(compas_doc):
    doc = copy.deepcopy(compas_doc)
    doc["history"] = []
    doc["gates"][0]["ci"] = [0.3, 0.45]
    doc["groupings"][0]["groups"][0]["metrics"]["fpr"]["ci"] = [0.42, 0.47]
    doc["groupings"][0]["criteria"]["equalized_odds"]["p_value"] = 0.001
    doc["provenance"]["rows_dropped"]["out_of_range"] = 0
    validate_report(doc)


# -- the schema documents every field fairaudit writes ----------------------------------


def _undocumented(doc: Any, node: dict[str, Any], where: str) -> list[str]:
    if "$ref" in node:
        node = schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
    out: list[str] = []
    if isinstance(doc, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, value in doc.items():
            if key in props:
                out += _undocumented(value, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                out += _undocumented(value, extra, f"{where}.{key}")
            else:
                out.append(f"{where}.{key}")
    elif isinstance(doc, list) and isinstance(node.get("items"), dict):
        for i, value in enumerate(doc):
            out += _undocumented(value, node["items"], f"{where}[{i}]")
    return out


@pytest.mark.parametrize("make", ["compas", "scored"])
def test_every_field_written_is_described_in_the_schema(compas_doc, make):
    doc = compas_doc if make == "compas" else _scored_without_label()
    missing = sorted(set(_undocumented(doc, schema(), "$")))
    assert not missing, (
        "fields the JSON report writes but docs/audit.schema.json does not describe: "
        f"{missing[:10]}; add them to the schema (fields may be added, never renamed)")
