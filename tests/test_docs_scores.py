"""docs/scores.md shows the COMPAS score audit's real output: each marked block is checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scores.md"


def _blocks(kind: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"<!-- output: {kind} -->\n```\n(.*?)\n```", text, flags=re.S)


def test_the_run_blocks_are_in_the_real_output() -> None:
    (command,) = _blocks("command")
    assert command.startswith("$ fairaudit run ")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "fairaudit",
                           *command.removeprefix("$ fairaudit ").split()],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the AUC gate fails
    output = "\n".join(line.rstrip() for line in proc.stdout.splitlines())
    blocks = _blocks("run")
    assert len(blocks) == 4
    for block in blocks:
        assert block in output, block.splitlines()[0]
