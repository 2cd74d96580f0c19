"""--gitlab-codequality: GitLab's Code Quality report, checked against GitLab's own schema.

GitLab publishes one JSON schema for this report, ``codeclimate.json`` in its
source (vendored in tests/data, see tests/data/README.md): the parser validates
every entry of the array against it and drops the entries that fail. That
schema checks one entry and is lenient (``severity`` any string, ``location``
without required keys), so each entry is also checked against the format
GitLab documents for the report (docs.gitlab.com, "Code Quality report
format"): a JSON array, no byte order mark, every object with a string
``description``, ``check_name`` and ``fingerprint``, a ``severity`` among
info, minor, major, critical and blocker, a relative ``location.path`` and an
integer ``location.lines.begin``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from tests.cli_support import ROOT, invoke, read_report

SCHEMA = json.loads((ROOT / "tests" / "data" / "gitlab-codeclimate.schema.json")
                    .read_text(encoding="utf-8"))
SEVERITIES = {"info", "minor", "major", "critical", "blocker"}
CONFIG = "examples/compas/fairaudit.toml"
COMPAS_REL = "examples/compas/compas.parquet"


def read_codequality(path: Path) -> list[dict]:
    """The report at ``path``, failing the test unless GitLab would take every entry."""
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "GitLab's parser rejects a byte order mark"
    doc = json.loads(raw.decode("utf-8"))
    assert isinstance(doc, list)
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for entry in doc:
        validator.validate(entry)
        for key in ("description", "check_name", "fingerprint"):
            assert isinstance(entry[key], str) and entry[key], key
        assert entry["severity"] in SEVERITIES
        where = entry["location"]
        assert isinstance(where["path"], str) and where["path"]
        assert not Path(where["path"]).is_absolute()
        begin = where["lines"]["begin"]
        assert isinstance(begin, int) and not isinstance(begin, bool) and begin >= 1
    assert len({e["fingerprint"] for e in doc}) == len(doc), "a fingerprint names one finding"
    return doc


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def _run(tmp_path: Path, *args: str, name: str = "cq") -> tuple[int, list[dict], dict]:
    cq, js = tmp_path / f"{name}.json", tmp_path / f"{name}-audit.json"
    res = invoke("run", *args, "--quiet", "--gitlab-codequality", cq, "--json", js)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, read_codequality(cq), read_report(js)


def test_one_finding_per_failing_gate_against_the_config_that_declared_it(tmp_path):
    code, doc, report = _run(tmp_path, "--config", CONFIG)
    assert code == 1
    failing = [g for g in report["gates"] if g["status"] == "fail"]
    assert len(doc) == len(failing) == 4
    for entry, g in zip(doc, failing, strict=True):
        assert entry["check_name"] == f"fairaudit.{g['kind']}.{g['criterion']}"
        assert entry["severity"] == "critical"
        assert entry["location"] == {"path": CONFIG, "lines": {"begin": 1}}
        assert f"across {g['grouping']}: {g['value']:.3f} [{g['ci'][0]:.3f}, {g['ci'][1]:.3f}]" \
            in entry["description"]
        assert f"threshold {g['threshold']:g}" in entry["description"]
    assert doc[0]["description"] == ("fairaudit: Equalized odds gap across race: 0.397 "
                                     "[0.285, 0.472], threshold 0.1 (largest allowed)")


def test_fingerprints_follow_the_gate_not_its_value(tmp_path):
    _, first, _ = _run(tmp_path, "--config", CONFIG, name="first")
    # other data (every third defendant) and a changed threshold: other values, same gates
    third = tmp_path / "third.parquet"
    pd.read_parquet(ROOT / COMPAS_REL).iloc[::3].to_parquet(third)
    _, second, report = _run(tmp_path, str(third), "--config", CONFIG,
                             "--max-gap", "equalized_odds=0.12", name="second")
    assert report["provenance"]["files"][0]["rows"] == 2405
    assert [e["fingerprint"] for e in second] == [e["fingerprint"] for e in first]
    assert [e["check_name"] for e in second] == [e["check_name"] for e in first]
    assert all(a["description"] != b["description"] for a, b in zip(first, second, strict=True))


def test_inconclusive_gates_are_minor_and_passing_gates_absent(tmp_path):
    code, doc, report = _run(tmp_path, COMPAS_REL, "--label", "two_year_recid",
                             "--prediction", "prediction", "-g", "sex",
                             "--max-gap", "equalized_odds=0.05", "--decide", "confident-pass")
    assert code == 0
    assert [g["status"] for g in report["gates"]] == ["inconclusive"]
    (entry,) = doc
    assert entry["severity"] == "minor"
    # gates given as flags, no config file: the finding points at the input
    assert entry["location"]["path"] == COMPAS_REL
    code, doc, _ = _run(tmp_path, COMPAS_REL, "--label", "two_year_recid", "--prediction",
                        "prediction", "-g", "sex", "--max-gap", "equalized_odds=0.1", name="pass")
    assert (code, doc) == (0, [])
    assert (tmp_path / "pass.json").read_text() == "[]\n"


def test_range_gates_name_their_feature_and_have_a_fingerprint_each(tmp_path):
    _, doc, report = _run(tmp_path, "--config", "examples/bank/fairaudit.toml")
    flagged = [g for g in report["gates"] if g["status"] in ("fail", "inconclusive")]
    assert len(doc) == len(flagged) == 12
    ranged = [e for e in doc if e["check_name"] == "fairaudit.max_out_of_range"]
    assert len(ranged) == sum(g["kind"] == "max_out_of_range" for g in flagged) == 6
    assert "Share of income out of range across age_band: 0.413" in ranged[0]["description"]
    assert {e["location"]["path"] for e in doc} == {"examples/bank/fairaudit.toml"}


def test_unwritable_codequality_path_exits_2(tmp_path):
    res = invoke("run", "--config", CONFIG, "-q", "--gitlab-codequality",
                 tmp_path / "no" / "cq.json")
    assert res.exit_code == 2
    # refused before anything is read, as every report path is
    assert res.stderr == (f"fairaudit: error: --gitlab-codequality {tmp_path / 'no' / 'cq.json'}: "
                          f"the folder {tmp_path / 'no'} does not exist; create it or choose "
                          "another path\n")
