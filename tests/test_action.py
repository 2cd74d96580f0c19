"""The GitHub Action: action.yml checked against GitHub's metadata schema, its steps run.

The composite steps are run here as the runner runs them: each ``run:`` script
written to a file and started with the step's shell (``bash --noprofile
--norc -eo pipefail FILE``, ``python FILE``), the step's ``env:`` evaluated
(``${{ inputs.NAME }}`` is the input given, else its default), and the
variables GitHub sets: ``GITHUB_ACTIONS``, ``GITHUB_OUTPUT`` (one file per
step, read back in both of GitHub's forms), ``GITHUB_STEP_SUMMARY``,
``GITHUB_PATH``, ``GITHUB_ENV``, ``GITHUB_ACTION_PATH``, ``RUNNER_TEMP``. The
action's outputs are then evaluated from the steps' outputs. Only the install
step (id ``install``) is skipped: it would install fairaudit from PyPI, and the
fairaudit under test is already installed, on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

import fairaudit
from tests.cli_support import ROOT, validate_report
from tests.test_annotations import commands_in, runner_parse

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS = ACTION["runs"]["steps"]
SCHEMA = json.loads((ROOT / "tests" / "data" / "github-action.schema.json")
                    .read_text(encoding="utf-8"))
GOLDEN_MD = ROOT / "tests" / "golden" / "compas.md"
EPOCH = "1700000000"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHELLS = {"bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
          "python": ["python", "{0}"]}


def test_action_yml_follows_githubs_metadata_schema():
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(ACTION)]
    assert errors == []
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["outputs"]) == {"verdict", "failed-gates", "report-json"}
    assert {"files", "config", "args"} <= set(ACTION["inputs"])


def test_install_pins_this_checkouts_version_from_pypi_only():
    (install,) = [s for s in STEPS if s.get("id") == "install"]
    assert install["env"]["FAIRAUDIT_VERSION"] == fairaudit.__version__
    assert '"fairaudit==$FAIRAUDIT_VERSION"' in install["run"]
    everything = json.dumps(ACTION)
    # no index, URL, branch or other action: nothing is fetched but fairaudit from PyPI
    for fetch in ("--index-url", "--extra-index-url", "git+", "http://", "https://", "@main"):
        assert fetch not in everything
    assert not any("uses" in s for s in STEPS)
    # the one step the tests cannot run is at least valid bash
    syntax = subprocess.run(["bash", "-n"], input=install["run"], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_inputs_reach_the_scripts_through_env_only():
    used = set()
    for step in STEPS:
        assert "${{" not in step["run"], f"step {step['id']} splices an expression into code"
        assert step["shell"] in SHELLS
        for value in step.get("env", {}).values():
            found = EXPRESSION.findall(str(value))
            assert len(found) <= 1 and (not found or EXPRESSION.fullmatch(str(value)))
            for expr in found:
                kind, _, name = expr.partition(".")
                assert kind == "inputs" and name in ACTION["inputs"], expr
                used.add(name)
    assert used == set(ACTION["inputs"]), "every input is used, by name"


# -- running the steps ------------------------------------------------------------------


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


def _read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file as the runner reads it: NAME=VALUE, or NAME<<DELIMITER ... DELIMITER."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, end = line.split("<<", 1)
            stop = lines.index(end, i + 1)
            out[name] = "\n".join(lines[i + 1:stop])
            i = stop + 1
        elif line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


def _evaluate(text: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return inputs[parts[1]]
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return steps.get(parts[1], {}).get(parts[3], "")
        if parts == ["github", "action_path"]:
            return str(ROOT)
        raise AssertionError(f"an expression this emulation does not know: {match.group(0)}")

    return EXPRESSION.sub(value, text)


def run_action(workspace: Path, **given: str) -> ActionRun:
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(given)
    runner = workspace.parent / "runner"
    runner.mkdir(exist_ok=True)
    summary = runner / "summary.md"
    summary.touch()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "RUNNER_", "FAIRAUDIT_"))}
    base.update({
        # the fairaudit under test, where the install step would have put one
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(ROOT), "RUNNER_TEMP": str(runner),
        "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(ROOT),
    })
    steps: dict[str, dict[str, str]] = {}
    stdout = stderr = ""
    code = 0
    for step in STEPS:
        if step["id"] == "install":
            continue
        files = {name: runner / f"{step['id']}.{name}" for name in ("output", "env", "path")}
        for f in files.values():
            f.write_text("")
        env = {**base, "GITHUB_OUTPUT": str(files["output"]), "GITHUB_ENV": str(files["env"]),
               "GITHUB_PATH": str(files["path"]), "GITHUB_STEP_SUMMARY": str(summary)}
        env.update({k: _evaluate(str(v), inputs, steps) for k, v in step.get("env", {}).items()})
        script = runner / f"{step['id']}.{'py' if step['shell'] == 'python' else 'sh'}"
        script.write_text(step["run"], encoding="utf-8")
        argv = [a.replace("{0}", str(script)) for a in SHELLS[step["shell"]]]
        argv[0] = shutil.which(argv[0], path=env["PATH"]) or argv[0]
        proc = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True,
                              timeout=300)
        stdout, stderr, code = stdout + proc.stdout, stderr + proc.stderr, proc.returncode
        steps[step["id"]] = _read_outputs(files["output"])
        if code != 0:  # a composite action stops at its first failing step
            break
    outputs = {name: _evaluate(spec["value"], inputs, steps)
               for name, spec in ACTION["outputs"].items()}
    return ActionRun(code, stdout, stderr, outputs, summary.read_text(encoding="utf-8"),
                     workspace)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository holding the COMPAS example, as a job sees it."""
    ws = tmp_path / "workspace"
    (ws / "examples").mkdir(parents=True)
    shutil.copytree(ROOT / "examples" / "compas", ws / "examples" / "compas")
    return ws


def _sentence(g: dict) -> str:
    what, bound = ("gap", "at most") if g["kind"] == "max_gap" else ("ratio", "at least")
    value = f"{g['value']:.4f} [{g['ci'][0]:.4f}, {g['ci'][1]:.4f}]"
    notes = ([f"rule {g['rule']}"] if g["rule"] != "point" else []) + \
        ([g["reason"]] if g["reason"] else [])
    return (f"{g['criterion'].replace('_', ' ')} {what} across {g['grouping']}: {value}, "
            f"must be {bound} {g['threshold']:g}" + (f" ({': '.join(notes)})" if notes else ""))


def _annotations(run: ActionRun) -> list[tuple[str, dict[str, str], str]]:
    log = run.stdout + "\n" + run.stderr
    parsed = [runner_parse(line) for line in commands_in(log)]
    assert None not in parsed, "a line reads as a workflow command but is none"
    return parsed


def test_the_compas_audit_through_the_action(workspace):
    run = run_action(workspace, config="examples/compas/fairaudit.toml")
    report = validate_report(json.loads((workspace / "fairaudit.json").read_text()))
    failing = [g for g in report["gates"] if g["status"] == "fail"]
    assert len(failing) == 4
    # the exit code is fairaudit's: 1, a gate failed
    assert run.code == 1
    assert run.outputs == {"verdict": "fail", "failed-gates": str(len(failing)),
                           "report-json": "fairaudit.json"}
    # the job summary gets the Markdown report, the same as --markdown writes
    assert run.summary == "\n" + GOLDEN_MD.read_text(encoding="utf-8")
    annotations = _annotations(run)
    assert [(name, message) for name, _, message in annotations] == \
        [("error", _sentence(g)) for g in failing]
    assert [props["title"] for _, props, _ in annotations] == \
        [f"fairaudit gate fail: {g['kind']} {g['criterion']} across {g['grouping']}"
         for g in failing]
    junit = ET.parse(workspace / "fairaudit-junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures")) == (str(len(report["gates"])), "4")


def test_inconclusive_gates_warn_and_the_step_passes(workspace):
    run = run_action(workspace, files="examples/compas/compas.parquet\n",
                     json="out/audit.json", junit="out/junit.xml",
                     args="--label two_year_recid --prediction prediction -g sex "
                          "--max-gap 'sex:equalized_odds=0.05' --decide \"confident-pass\"")
    report = validate_report(json.loads((workspace / "out" / "audit.json").read_text()))
    (gate,) = report["gates"]
    assert gate["status"] == "inconclusive"
    assert run.code == 0
    assert run.outputs == {"verdict": "inconclusive", "failed-gates": "0",
                           "report-json": "out/audit.json"}
    assert [(name, message) for name, _, message in _annotations(run)] == \
        [("warning", _sentence(gate))]
    assert run.summary.startswith("\n## fairaudit: ? INCONCLUSIVE\n")


def test_an_audit_that_cannot_run_exits_2_with_verdict_error(workspace):
    (workspace / "fairaudit.json").write_text('{"verdict": "pass", "gates": []}')  # stale
    run = run_action(workspace, files="examples/compas/missing.parquet",
                     args="--label two_year_recid --prediction prediction -g race")
    assert run.code == 2
    assert run.outputs == {"verdict": "error", "failed-gates": "", "report-json": ""}
    assert not (workspace / "fairaudit.json").exists()
    assert "fairaudit: error: examples/compas/missing.parquet: no such file" in run.stderr
    assert _annotations(run) == []
    assert run.summary == ""


def test_args_that_cannot_be_split_exit_2(workspace):
    run = run_action(workspace, config="examples/compas/fairaudit.toml",
                     args="--decide 'confident-fail")
    assert run.code == 2
    assert run.outputs["verdict"] == "error"
    assert run.stderr == ("fairaudit: error: the action's input 'args' cannot be split: "
                          "No closing quotation\n")
