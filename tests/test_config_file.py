"""Config files: where they are found, how flags override them, and what they may hold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_support import (
    COMPAS,
    COMPAS_ARGS,
    ROOT,
    assert_cannot_audit,
    invoke,
    read_report,
    validate_report,
)

EXAMPLE = ROOT / "examples" / "compas" / "fairaudit.toml"

# Group a: 3 of 4 selected; group b: 1 of 4. Demographic parity difference 0.5, ratio 1/3.
DATA = "y,p,g\n1,1,a\n1,1,a\n0,1,a\n0,0,a\n1,1,b\n0,0,b\n1,0,b\n0,0,b\n"
SETTINGS = 'label = "y"\nprediction = "p"\ngroups = ["g"]\nmin_group_size = 1\n'


def _project(tmp_path: Path, config_name: str, text: str) -> Path:
    (tmp_path / "data.csv").write_text(DATA)
    path = tmp_path / config_name
    path.write_text(text)
    return path


def test_fairaudit_toml_in_the_working_directory(tmp_path, monkeypatch):
    _project(tmp_path, "fairaudit.toml", 'inputs = ["data.csv"]\n' + SETTINGS
             + "[gates.max_gap]\ndemographic_parity = 0.4\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--json", "audit.json")
    assert result.exit_code == 1, result.output
    doc = read_report(tmp_path / "audit.json")
    (gate,) = doc["gates"]
    assert (gate["criterion"], gate["threshold"], gate["value"]) == \
        ("demographic_parity", 0.4, 0.5)
    sources = doc["provenance"]["config_sources"]
    assert Path(sources["label"]).name == "fairaudit.toml"
    assert Path(sources["gates.max_gap.demographic_parity"]).name == "fairaudit.toml"
    assert sources["threshold"] == "default"
    assert doc["provenance"]["files"][0]["path"] == "data.csv"


def test_tool_fairaudit_table_in_pyproject(tmp_path, monkeypatch):
    _project(tmp_path, "pyproject.toml",
             '[project]\nname = "model"\n\n[tool.fairaudit]\ninputs = ["data.csv"]\n'
             + SETTINGS + "[tool.fairaudit.gates.min_ratio]\ndemographic_parity = 0.3\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--json", "audit.json")
    assert result.exit_code == 0, result.output
    doc = read_report(tmp_path / "audit.json")
    (gate,) = doc["gates"]
    assert (gate["kind"], gate["threshold"], gate["status"]) == ("min_ratio", 0.3, "pass")
    assert gate["value"] == pytest.approx(1 / 3, abs=1e-15)
    assert Path(doc["provenance"]["config_sources"]["groups"]).name == "pyproject.toml"


def test_pyproject_without_a_fairaudit_table_is_not_a_config(tmp_path, monkeypatch):
    _project(tmp_path, "pyproject.toml", '[project]\nname = "model"\n')
    monkeypatch.chdir(tmp_path)
    assert_cannot_audit(invoke("run", "data.csv"), "no group column")


def test_fairaudit_toml_wins_over_pyproject(tmp_path, monkeypatch):
    _project(tmp_path, "pyproject.toml", '[tool.fairaudit]\nlabel = "nowhere"\n')
    _project(tmp_path, "fairaudit.toml", SETTINGS)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "data.csv", "--json", "audit.json")
    assert result.exit_code == 0, result.output
    assert read_report(tmp_path / "audit.json")["provenance"]["roles"]["label"] == "y"


def test_config_flag_reads_inputs_relative_to_the_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    cfg = _project(project, "audit.toml", 'inputs = ["data.csv"]\n' + SETTINGS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("run", "--config", cfg, "--json", "audit.json")
    assert result.exit_code == 0, result.output
    doc = read_report(elsewhere / "audit.json")
    assert doc["provenance"]["files"][0]["path"] == str(project / "data.csv")
    assert doc["provenance"]["config"]["inputs"] == [str(project / "data.csv")]
    assert doc["provenance"]["config_sources"]["inputs"] == str(cfg)


def test_inputs_on_the_command_line_stay_relative_to_the_working_directory(tmp_path,
                                                                            monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    cfg = _project(project, "audit.toml", 'inputs = ["data.csv"]\n' + SETTINGS)
    (tmp_path / "other.csv").write_text(DATA)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "other.csv", "--config", cfg, "--json", "audit.json")
    assert result.exit_code == 0, result.output
    doc = read_report(tmp_path / "audit.json")
    assert [f["path"] for f in doc["provenance"]["files"]] == ["other.csv"]
    assert doc["provenance"]["config_sources"]["inputs"] == "command line"


def test_a_glob_in_a_config_file_is_relative_to_the_file(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "parts").mkdir(parents=True)
    for name in ("one.csv", "two.csv"):
        (project / "parts" / name).write_text(DATA)
    cfg = project / "audit.toml"
    cfg.write_text('inputs = ["parts/*.csv"]\n' + SETTINGS)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--config", cfg, "--json", "audit.json")
    assert result.exit_code == 0, result.output
    doc = read_report(tmp_path / "audit.json")
    assert doc["provenance"]["rows_read"] == 16
    assert [Path(f["path"]).name for f in doc["provenance"]["files"]] == ["one.csv", "two.csv"]


def test_flags_override_the_file_and_the_report_says_so(tmp_path, monkeypatch):
    cfg = _project(tmp_path, "fairaudit.toml",
                   'inputs = ["data.csv"]\n' + SETTINGS
                   + "[gates.max_gap]\ndemographic_parity = 0.4\nequalized_odds = 0.9\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--min-group-size", "2", "--max-gap", "demographic_parity=0.5",
                    "--json", "audit.json")
    assert result.exit_code == 0, result.output
    doc = read_report(tmp_path / "audit.json")
    config, sources = doc["provenance"]["config"], doc["provenance"]["config_sources"]
    assert config["min_group_size"] == doc["min_group_size"] == 2
    assert config["gates"]["max_gap"] == {"demographic_parity": 0.5, "equalized_odds": 0.9}
    file = str(cfg.relative_to(tmp_path))
    assert Path(sources["label"]).name == file
    assert sources["min_group_size"] == "command line"
    assert sources["gates.max_gap.demographic_parity"] == "command line"
    assert Path(sources["gates.max_gap.equalized_odds"]).name == file
    assert sources["threshold"] == sources["score"] == "default"


def test_example_config_gives_the_same_audit_as_the_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    flags_json, file_json = tmp_path / "flags.json", tmp_path / "file.json"
    by_flags = invoke("run", COMPAS.relative_to(ROOT), *COMPAS_ARGS, "--json", flags_json)
    by_file = invoke("run", "--config", EXAMPLE.relative_to(ROOT), "--json", file_json)
    assert by_flags.exit_code == by_file.exit_code == 1
    # the same report, the file's run naming its config file first
    assert f"config: {EXAMPLE.relative_to(ROOT)}\n" + by_flags.stdout == by_file.stdout
    a, b = read_report(flags_json), read_report(file_json)
    for doc in (a, b):
        del doc["provenance"]["timestamp"]
        del doc["provenance"]["config_sources"]
    assert a == b
    assert b["provenance"]["files"][0]["path"] == "examples/compas/compas.parquet"


def test_example_config_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--config", EXAMPLE, "--json", "audit.json")
    assert result.exit_code == 1, result.output
    doc = read_report(tmp_path / "audit.json")
    assert doc["provenance"]["files"][0]["path"] == str(COMPAS)


def test_readme_shows_the_example_config():
    readme = (ROOT / "README.md").read_text()
    assert EXAMPLE.read_text() in readme, "README.md must show examples/compas/fairaudit.toml"


# -- what a config file may hold --------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ('lable = "y"\n', "unknown key 'lable'; did you mean 'label'?"),
    ('colour = "blue"\n', "unknown key 'colour'; known keys: inputs, label, prediction"),
    ("[gates.max_gapp]\nequalized_odds = 0.1\n",
     "unknown key 'gates.max_gapp'; did you mean 'max_gap'?"),
    ("[gates.max_gap]\nequalised_odds = 0.1\n",
     "unknown criterion 'equalised_odds' in key 'gates.max_gap.equalised_odds'; did you mean "
     "'equalized_odds'?"),
])
def test_unknown_keys_are_named(tmp_path, text, expected):
    cfg = tmp_path / "audit.toml"
    cfg.write_text(text)
    assert_cannot_audit(invoke("run", "--config", cfg), f"{cfg}: {expected}")


def test_unknown_key_in_pyproject_names_the_table(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.fairaudit]\ngroup = ["race"]\n')
    monkeypatch.chdir(tmp_path)
    assert_cannot_audit(invoke("run", "x.csv"),
                        "unknown key 'tool.fairaudit.group'; did you mean 'groups'?")


@pytest.mark.parametrize(("text", "expected"), [
    ('threshold = "high"\n', "key 'threshold' must be a number in [0, 1], not text 'high'"),
    ("threshold = true\n", "key 'threshold' must be a number in [0, 1], not boolean True"),
    ('groups = "race"\n', "key 'groups' must be a list of column names, not text 'race'"),
    ("groups = [1, 2]\n", "key 'groups' must be a list of strings"),
    ("min_group_size = 2.5\n", "key 'min_group_size' must be a whole number, not number 2.5"),
    ("min_group_size = true\n", "key 'min_group_size' must be a whole number, not boolean"),
    ('intersections = "no"\n', "key 'intersections' must be true or false, not text 'no'"),
    ('reference = "race=Caucasian"\n', "key 'reference' must be a table of COLUMN = VALUE"),
    ("gates = 1\n", "key 'gates' must be a table holding max_gap and min_ratio tables"),
    ("[gates]\nmax_gap = 0.1\n", "key 'gates.max_gap' must be a table of CRITERION = VALUE"),
    ('[gates.max_gap]\nequalized_odds = "0.1"\n',
     "key 'gates.max_gap.equalized_odds' must be a number, not text '0.1'"),
])
def test_wrong_types_are_named(tmp_path, text, expected):
    cfg = tmp_path / "audit.toml"
    cfg.write_text(text)
    assert_cannot_audit(invoke("run", "--config", cfg), f"{cfg}: {expected}")


def test_values_out_of_range_name_the_file(tmp_path):
    cfg = _project(tmp_path, "audit.toml", SETTINGS + "threshold = 1.5\n"
                   "[gates.min_ratio]\ndemographic_parity = 1.2\n")
    line = assert_cannot_audit(invoke("run", tmp_path / "data.csv", "--config", cfg),
                               f"{cfg}: threshold 1.5 is not a number in [0, 1]",
                               f"{cfg}: gates.min_ratio.demographic_parity: threshold 1.2 "
                               "must be in [0, 1]")
    assert line.count(str(cfg)) == 2


def test_invalid_toml(tmp_path):
    cfg = tmp_path / "audit.toml"
    cfg.write_text("label = \n")
    assert_cannot_audit(invoke("run", "--config", cfg), f"{cfg}: not valid TOML")


def test_example_config_is_valid_toml_with_only_known_keys(tmp_path):
    """The example stands alone: copied elsewhere with its data it still runs."""
    shutil.copy(EXAMPLE, tmp_path / "fairaudit.toml")
    shutil.copy(COMPAS, tmp_path / "compas.parquet")
    result = invoke("run", "--config", tmp_path / "fairaudit.toml", "--json", "-")
    assert result.exit_code == 1
    assert validate_report(json.loads(result.stdout))["verdict"] == "fail"
