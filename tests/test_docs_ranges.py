"""docs/ranges.md shows the bank example's real output: each marked block is checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ranges.md"
BANK = ROOT / "examples" / "bank"


def _blocks(kind: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"<!-- output: {kind} -->\n```\n(.*?)\n```", text, flags=re.S)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "fairaudit", *args], cwd=BANK, env=env,
                          capture_output=True, text=True, timeout=300)


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


def test_the_derive_block_is_the_real_output():
    (block,) = _blocks("derive")
    command, _, shown = block.partition("\n")
    assert command.startswith("$ fairaudit ")
    proc = _run(*command.removeprefix("$ fairaudit ").split())
    assert proc.returncode == 0, proc.stderr
    assert shown == _lines(proc.stdout)


def test_the_run_blocks_are_in_the_real_output():
    blocks = _blocks("run")
    assert len(blocks) >= 3
    proc = _run("run")
    assert proc.returncode == 1, proc.stderr
    output = _lines(proc.stdout)
    for block in blocks:
        assert block in output, block.splitlines()[0]
