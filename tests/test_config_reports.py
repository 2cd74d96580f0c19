"""Report paths, quiet and progress in a config file; the terminal names the config file;
--version and -h."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fairaudit import __version__
from fairaudit.cli import Outputs, _file_reports
from fairaudit.config import load_file
from tests.cli_support import assert_cannot_audit, invoke, read_report

# Group a: 3 of 4 selected; group b: 1 of 4 (demographic parity difference 0.5).
DATA = "y,p,g\n1,1,a\n1,1,a\n0,1,a\n0,0,a\n1,1,b\n0,0,b\n1,0,b\n0,0,b\n"
SETTINGS = ('inputs = ["data.csv"]\nlabel = "y"\nprediction = "p"\ngroups = ["g"]\n'
            "min_group_size = 1\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "data.csv").write_text(DATA)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "proj"


def _config(project: Path, extra: str, name: str = "fairaudit.toml") -> Path:
    path = project / name
    path.write_text(SETTINGS + extra)
    return path


def test_report_paths_resolve_against_the_config_files_folder(project, monkeypatch):
    cfg = _config(project, 'json = "out/audit.json"\nhtml = "out/audit.html"\n'
                  'markdown = "audit.md"\njunit = "junit.xml"\n'
                  'gitlab_codequality = "cq.json"\n')
    (project / "out").mkdir()
    monkeypatch.chdir(project.parent / "elsewhere")
    result = invoke("run", "--config", cfg)
    assert result.exit_code == 0, result.output
    doc = read_report(project / "out" / "audit.json")
    by_label = {g["label"]: g for g in doc["groupings"][0]["groups"]}
    assert by_label["a"]["metrics"]["selection_rate"]["value"] == 0.75
    assert (project / "out" / "audit.html").read_text().startswith("<!DOCTYPE html>")
    assert (project / "audit.md").read_text().startswith("## fairaudit: report only")
    assert (project / "junit.xml").read_text().startswith("<?xml")
    assert json.loads((project / "cq.json").read_text()) == []
    assert list((project.parent / "elsewhere").iterdir()) == []


def test_pyproject_tool_table_takes_report_paths(project, monkeypatch):
    (project / "pyproject.toml").write_text(
        "[tool.fairaudit]\n" + SETTINGS + 'json = "audit.json"\nquiet = true\n')
    monkeypatch.chdir(project)
    result = invoke("run")
    assert result.exit_code == 0, result.output
    assert result.stdout == "verdict: PASS (no gates set; report only)\n"
    read_report(project / "audit.json")


def test_flags_override_the_file(project, monkeypatch, tmp_path):
    cfg = _config(project, 'json = "from-file.json"\nquiet = true\n')
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = invoke("run", "--config", cfg, "--json", "from-flag.json", "--no-quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "from-flag.json").is_file()
    assert not (project / "from-file.json").exists()
    assert "1 file, 8 rows read, 8 audited" in result.stdout


def test_json_to_stdout_from_the_file(project):
    cfg = _config(project, 'json = "-"\n')
    result = invoke("run", "--config", cfg)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["provenance"]["rows_used"] == 8


def test_quiet_in_the_file(project):
    result = invoke("run", "--config", _config(project, "quiet = true\n"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "verdict: PASS (no gates set; report only)\n"


def test_progress_false_in_the_file_turns_the_bar_off():
    on = {"quiet": None}
    assert _file_reports(on, None, None, Outputs(), True)[2] is True
    assert _file_reports({"progress": False}, None, None, Outputs(), True)[2] is False
    assert _file_reports({"progress": True}, None, None, Outputs(), False)[2] is False  # flag


def test_a_report_of_the_file_over_the_input_is_refused(project):
    cfg = _config(project, 'html = "data.csv"\n')
    assert_cannot_audit(invoke("run", "--config", cfg),
                        f"{cfg} key 'html' = {project / 'data.csv'}", "that is the input file")
    assert (project / "data.csv").read_text() == DATA


def test_a_report_of_the_file_and_a_flag_with_one_path(project, monkeypatch):
    cfg = _config(project, 'markdown = "report.txt"\n')
    monkeypatch.chdir(project)
    assert_cannot_audit(invoke("run", "--config", cfg, "--junit", "report.txt"),
                        "the same file")


@pytest.mark.parametrize(("line", "fragment"), [
    ("json = 1", "key 'json' must be a path"),
    ('html = ""', "key 'html' must be a path"),
    ('quiet = "yes"', "key 'quiet' must be true or false"),
    ("progress = 0", "key 'progress' must be true or false"),
    ("github_summary = 1", "key 'github_summary' must be true or false"),
])
def test_bad_report_settings_name_the_key(project, line, fragment):
    cfg = _config(project, line + "\n")
    assert_cannot_audit(invoke("run", "--config", cfg), str(cfg), fragment)


def test_report_settings_are_no_part_of_the_audit_config(project):
    values = load_file(str(_config(project, 'json = "a.json"\nquiet = true\n')))
    assert values["json"] == str(project / "a.json")
    result = invoke("run", "--config", project / "fairaudit.toml", "--json", "-")
    config = json.loads(result.stdout)["provenance"]["config"]
    assert "json" not in config and "quiet" not in config


def test_the_terminal_names_the_config_file(project, monkeypatch):
    cfg = _config(project, "")
    result = invoke("run", "--config", cfg)
    assert result.stdout.splitlines()[0] == f"config: {cfg}"
    monkeypatch.chdir(project)
    assert invoke("run").stdout.splitlines()[0] == "config: ./fairaudit.toml"
    # no config file: no line
    monkeypatch.chdir(project.parent / "elsewhere")
    bare = invoke("run", project / "data.csv", "--label", "y", "--prediction", "p",
                  "--group", "g")
    assert not bare.stdout.startswith("config:")


def test_version_and_short_help():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"fairaudit {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)
    for args in (["-h"], ["run", "-h"], ["history", "-h"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Usage: fairaudit"), args


def test_github_summary_in_the_file(project, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    cfg = _config(project, "github_summary = true\n")
    assert invoke("run", "--config", cfg).exit_code == 0
    assert summary.read_text().lstrip("\n").startswith("## fairaudit: report only")
    summary.unlink()
    assert invoke("run", "--config", cfg, "--no-github-summary").exit_code == 0
    assert not summary.exists()
