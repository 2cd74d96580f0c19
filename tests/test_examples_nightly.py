"""examples/nightly: the README's commands run as written, with the exit codes it states."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "nightly"
README = EXAMPLE / "README.md"


def _commands() -> list[tuple[list[str], int | None]]:
    (block,) = re.findall(r"^```sh\n(.*?)^```$", README.read_text(), flags=re.S | re.M)
    out = []
    for line in block.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        command, _, comment = line.partition("#")
        code = re.search(r"exit (\d)", comment)
        out.append((shlex.split(command), int(code.group(1)) if code else None))
    return out


@pytest.mark.slow
def test_the_readme_commands_run_as_written(tmp_path):
    work = tmp_path / "repo"
    (work / "examples").mkdir(parents=True)
    shutil.copytree(EXAMPLE, work / "examples" / "nightly",
                    ignore=shutil.ignore_patterns("data", "*.db*", "trend.html", "export",
                                                  "pooled.json"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_ACTIONS", None)
    commands = _commands()
    assert len(commands) == 7
    for argv, expected in commands:
        program = [sys.executable] if argv[0] == "python" else [sys.executable, "-m",
                                                                 "fairaudit"]
        proc = subprocess.run([*program, *argv[1:]], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600)
        want = 0 if expected is None else expected
        assert proc.returncode == want, (argv, proc.stdout[-2000:], proc.stderr[-2000:])
    nightly = work / "examples" / "nightly"
    assert len(list((nightly / "data").glob("*.parquet"))) == 30
    assert (nightly / "trend.html").stat().st_size > 50_000
    pooled = json.loads((nightly / "pooled.json").read_text())
    fpr = pooled["series"][0]["points"]
    assert len(fpr) == 1 and len(fpr[0]["runs"]) == 7
    assert sorted(p.name for p in (nightly / "export").iterdir()) == [
        "counts.parquet", "criteria.parquet", "gates.parquet", "inputs.parquet",
        "runs.parquet"]
