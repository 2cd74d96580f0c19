"""The pre-commit hook: .pre-commit-hooks.yaml, used by pre-commit on a repository of predictions.

The slow test is the real path: a temporary repository that commits the
COMPAS predictions and a fairaudit.toml, a .pre-commit-config.yaml whose
``repo:`` is a local copy of this checkout (committed as it is now, so
uncommitted changes are tested too), and pre-commit itself, which installs
the hook's package from that copy into an environment of its own (under a
temporary PRE_COMMIT_HOME). Nothing is downloaded: pip is told to use no
index and to install the package alone, and the hook's environment finds
numpy, pyarrow and the rest where the test's interpreter has them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.cli_support import ROOT, validate_report

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
           "GIT_CONFIG_NOSYSTEM": "1"}


def _pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=60)


def test_the_manifest_is_valid_and_reads_its_files_from_the_config():
    res = _pre_commit("validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"), cwd=ROOT,
                      env=dict(os.environ))
    assert res.returncode == 0, res.stdout + res.stderr
    (hook,) = HOOKS
    assert hook["id"] == "fairaudit"
    assert hook["pass_filenames"] is False  # the predictions come from fairaudit.toml
    assert hook["entry"].split()[:2] == ["fairaudit", "run"]
    assert hook["language"] == "python"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    out.update(GIT_ENV, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               HOME=str(tmp_path / "home"),
               # no download: the package alone from its copy, built with what is here
               PIP_NO_INDEX="1", PIP_NO_DEPS="1",
               PIP_NO_BUILD_ISOLATION="0",  # pip reads "0" here as "build with what is here"
               PYTHONPATH=os.pathsep.join(dict.fromkeys(
                   [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])))
    (tmp_path / "home").mkdir()
    out.pop("GITHUB_ACTIONS", None)
    return out


def _hook_source(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """This checkout's files as they are now (tracked and new, not ignored), committed."""
    src = tmp_path / "fairaudit-src"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    for rel in filter(None, listed.stdout.decode("utf-8").split("\0")):
        if not (ROOT / rel).is_file():
            continue  # deleted in the work tree
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / rel).read_bytes())
    _git("init", "-q", cwd=src, env=env)
    _git("add", "-A", cwd=src, env=env)
    _git("commit", "-q", "-m", "snapshot", cwd=src, env=env)
    return src, _git("rev-parse", "HEAD", cwd=src, env=env).stdout.strip()


CONFIG = """\
inputs = ["compas.parquet"]
label = "two_year_recid"
prediction = "prediction"
groups = ["race", "sex"]

[reference]
race = "Caucasian"

[gates.max_gap]
equalized_odds = {gap}

[gates.min_ratio]
demographic_parity = {ratio}
"""


@pytest.mark.slow
def test_pre_commit_gates_a_repository_on_its_committed_predictions(tmp_path, env):
    src, rev = _hook_source(tmp_path, env)
    repo = tmp_path / "models"
    repo.mkdir()
    _git("init", "-q", cwd=repo, env=env)
    (repo / "compas.parquet").write_bytes((ROOT / "examples/compas/compas.parquet").read_bytes())
    (repo / "fairaudit.toml").write_text(CONFIG.format(gap=0.1, ratio=0.8))
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{
        "repo": str(src), "rev": rev,
        "hooks": [{"id": "fairaudit", "args": ["--json", "audit.json"]}],
    }]}))
    (repo / ".gitignore").write_text("audit.json\n")
    _git("add", "-A", cwd=repo, env=env)

    # the COMPAS gates fail: the hook fails and says which gates
    res = _pre_commit("run", "--all-files", cwd=repo, env=env)
    report = validate_report(json.loads((repo / "audit.json").read_text()))
    failing = [g for g in report["gates"] if g["status"] == "fail"]
    assert len(failing) == 4 and len(report["gates"]) == 6
    assert res.returncode == 1, res.stdout + res.stderr
    assert "fairaudit" in res.stdout and "Failed" in res.stdout
    assert "- exit code: 1" in res.stdout
    assert "verdict: FAIL (2 of 6 gates passed, 4 failed)" in res.stdout
    gate_lines = [line for line in res.stdout.splitlines() if line.startswith("fairaudit: gate")]
    assert len(gate_lines) == len(failing)

    # installed as the git hook, it refuses the commit
    assert _pre_commit("install", cwd=repo, env=env).returncode == 0
    commit = subprocess.run(["git", "commit", "-q", "-m", "model v1"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=600)
    assert commit.returncode == 1
    assert subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=repo, env=env,
                          capture_output=True).returncode != 0, "no commit was made"

    # gates the model meets: the hook passes and the commit goes in
    (repo / "fairaudit.toml").write_text(CONFIG.format(gap=0.5, ratio=0.25))
    _git("add", "fairaudit.toml", cwd=repo, env=env)
    res = _pre_commit("run", cwd=repo, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads((repo / "audit.json").read_text())["verdict"] == "pass"
    assert "Passed" in res.stdout
    _git("commit", "-q", "-m", "model v1", cwd=repo, env=env)

    # a change that touches no predictions and no config does not run the audit
    (repo / "audit.json").unlink()
    (repo / "NOTES.txt").write_text("notes\n")
    _git("add", "NOTES.txt", cwd=repo, env=env)
    res = _pre_commit("run", cwd=repo, env=env)
    assert res.returncode == 0
    assert "(no files to check)Skipped" in res.stdout
    assert not (repo / "audit.json").exists()
