"""docs/audit.schema.json: valid, met by every report, strict about names, open to additions."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pytest

import fairaudit
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, ROOT, invoke, schema, undocumented, validate_report


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



def _rejected_with(doc, path, value) -> None:
    """A copy of ``doc`` with ``value`` at ``path`` fails the schema."""
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_report(doc)

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
    _rejected_with(compas_doc, path, value)


def test_added_fields_are_allowed(compas_doc):
    doc = copy.deepcopy(compas_doc)
    doc["history"] = []
    doc["gates"][0]["ci"] = [0.3, 0.45]
    doc["groupings"][0]["groups"][0]["metrics"]["fpr"]["ci"] = [0.42, 0.47]
    doc["groupings"][0]["criteria"]["equalized_odds"]["p_value"] = 0.001
    doc["provenance"]["rows_dropped"]["out_of_range"] = 0
    validate_report(doc)


# -- the schema documents every field fairaudit writes ----------------------------------


@pytest.mark.parametrize("make", ["compas", "scored"])
def test_every_field_written_is_described_in_the_schema(compas_doc, make):
    doc = compas_doc if make == "compas" else _scored_without_label()
    missing = sorted(set(undocumented(doc, schema(), "$")))
    assert not missing, (
        "fields the JSON report writes but docs/audit.schema.json does not describe: "
        f"{missing[:10]}; add them to the schema (fields may be added, never renamed)")


# -- audits with declared ranges -------------------------------------------------------

BANK_CONFIG = ROOT / "examples" / "bank" / "fairaudit.toml"
COMPAS_RANGES = ROOT / "examples" / "compas" / "ranges.toml"


def _written(config: Path, tmp: Path) -> dict[str, Any]:
    """The JSON the CLI writes for an example config, read back from the file."""
    out = tmp / "audit.json"
    result = invoke("run", "--config", config, "--json", out, "--quiet")
    assert result.exit_code in (0, 1), result.stderr
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def bank_doc(tmp_path_factory) -> dict[str, Any]:
    return _written(BANK_CONFIG, tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def compas_ranges_doc(tmp_path_factory) -> dict[str, Any]:
    return _written(COMPAS_RANGES, tmp_path_factory.mktemp("compas"))


def test_bank_report_with_ranges_follows_the_schema(bank_doc):
    doc = validate_report(bank_doc)
    r = doc["ranges"]
    assert [s["feature"] for s in r["specs"]] == ["income", "debt", "age", "employment"]
    assert {s["kind"] for s in r["specs"]} == {"numeric", "categorical"}
    assert [g["name"] for g in r["groupings"]] == ["sex", "age_band", "sex&age_band"]
    assert [g["name"] for g in doc["trusted"]] == ["sex", "age_band", "sex&age_band"]
    kinds = {g["kind"] for g in doc["gates"]}
    assert kinds == {"max_gap", "min_ratio", "max_out_of_range"}
    assert doc["provenance"]["config"]["ranges"]["employment"] == {
        "allowed": ["retired", "salaried", "self-employed"]}
    assert doc["provenance"]["config"]["gates"]["max_out_of_range"] == {"*": 0.2}


def test_compas_report_with_ranges_follows_the_schema(compas_ranges_doc):
    doc = validate_report(compas_ranges_doc)
    assert [s["feature"] for s in doc["ranges"]["specs"]] == ["age", "priors_count"]
    assert any(g["kind"] == "max_out_of_range" for g in doc["gates"])


@pytest.mark.parametrize("which", ["bank", "compas"])
def test_every_range_field_written_is_described_in_the_schema(bank_doc, compas_ranges_doc,
                                                              which):
    doc = bank_doc if which == "bank" else compas_ranges_doc
    missing = sorted(set(undocumented(doc, schema(), "$")))
    assert not missing, f"undescribed in docs/audit.schema.json: {missing[:10]}"


def _gate_index(doc: dict[str, Any]) -> int:
    return next(i for i, g in enumerate(doc["gates"]) if g["kind"] == "max_out_of_range")


@pytest.mark.parametrize(("path", "new"), [
    (("ranges",), "range"),  # a misspelt section stays valid: ranges are optional
    (("ranges", "specs"), "spec"),
    (("ranges", "overall"), "all"),
    (("ranges", "specs", 0, "kind"), "type"),
    (("ranges", "specs", 0, "min"), "minimum"),
    (("ranges", "specs", 3, "allowed"), "allow"),
    (("ranges", "groupings", 0, "coverage"), "coverage_gap"),
    (("ranges", "groupings", 1, "groups", 0, "unknown"), "missing"),
    (("ranges", "overall", "features", "income", "below_share"), "below_shares"),
    (("ranges", "overall", "features", "income", "not_allowed"), "notallowed"),
    (("trusted", 0, "criteria"), "criterion"),
    (("gates", "range", "feature"), "features"),
    (("gates", "range", "group"), "worst"),
    (("provenance", "config", "ranges", "income", "max"), "maximum"),
])
def test_a_misspelt_range_field_is_rejected(bank_doc, path, new):
    if path[0] == "gates":
        path = ("gates", _gate_index(bank_doc), *path[2:])
    doc = _rename(bank_doc, path, new)
    if path == ("ranges",):
        # the schema lets later versions add sections, so a misspelt optional
        # section is caught by the check that every field written is described
        validate_report(doc)
        assert undocumented(doc, schema(), "$") == ["$.range"]
        return
    with pytest.raises(jsonschema.ValidationError):
        validate_report(doc)


def test_a_misspelt_optional_range_field_is_undescribed(bank_doc):
    doc = _rename(bank_doc, ("ranges", "groupings", 0, "groups", 0, "coverage", "ci"), "cl")
    validate_report(doc)
    assert undocumented(doc, schema(), "$") == ["$.ranges.groupings[0].groups[0].coverage.cl"]


@pytest.mark.parametrize(("path", "value"), [
    (("ranges", "specs", 0, "kind"), "range"),
    (("ranges", "overall", "features", "income", "below"), -1),
    (("ranges", "overall", "coverage", "value"), 1.2),
    (("ranges", "specs", 3, "allowed"), []),
    (("gates", "range", "criterion"), "range_coverage"),
    (("gates", "range", "kind"), "max_out_of_ranges"),
    (("provenance", "config", "ranges", "income"), {"min": 1, "max": 2, "allowed": ["a"]}),
    (("provenance", "config", "gates", "max_out_of_range", "*"), 1.5),
    (("ranges", "groupings", 0, "coverage", "difference_ci"), [0.1]),
])
def test_a_wrong_range_value_is_rejected(bank_doc, path, value):
    if path[0] == "gates":
        path = ("gates", _gate_index(bank_doc), *path[2:])
    _rejected_with(bank_doc, path, value)


def test_intervals_and_tests_on_range_figures_are_allowed(bank_doc):
    # range shares carry an interval like any rate, and the coverage gap the bootstrap
    # intervals and test of any gap
    doc = copy.deepcopy(bank_doc)
    group = doc["ranges"]["groupings"][1]["groups"][0]
    group["coverage"]["ci"] = [0.25, 0.29]
    group["features"]["income"]["below_share"]["ci"] = [0.39, 0.43]
    group["features"]["income"]["missing_share"]["ci"] = None
    gap = doc["ranges"]["groupings"][1]["coverage"]
    gap.update(difference_ci=[0.66, 0.69], ratio_ci=[0.27, 0.30], p_value=1e-12,
               p_adjusted=None)
    doc["gates"][_gate_index(doc)]["ci"] = [0.10, 0.12]
    validate_report(doc)
    assert not undocumented(doc, schema(), "$")
