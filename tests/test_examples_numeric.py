"""The speech-recogniser and robot examples: reproduced by their generators, and their
READMEs show the real output; their figures equal pandas groupby means of the rows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pandas as pd
import pytest

from tests.cli_support import invoke, missing_from_output, read_report
from tests.conftest import ROOT

EXAMPLES = {"asr": ("asr.parquet", "wer", "accent"), "robot": ("robot.parquet", "success", "seen")}


def _shown_block(name: str) -> list[str]:
    readme = (ROOT / "examples" / name / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"^```\n(.*?)^```$", readme, flags=re.S | re.M)
                if b.startswith("$ fairaudit run")]
    return block.splitlines()


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_is_reproduced_and_its_readme_is_the_real_output(name, tmp_path,
                                                                     monkeypatch):
    data, measure, column = EXAMPLES[name]
    example = ROOT / "examples" / name
    subprocess.run([sys.executable, str(example / "generate.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    committed = pd.read_parquet(example / data)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / data), committed)

    lines = _shown_block(name)
    args = shlex.split(lines[0].removeprefix("$ fairaudit "))
    monkeypatch.chdir(ROOT)
    out = tmp_path / "audit.json"
    result = invoke(*args, "--json", out)
    assert lines[-2:] == ["$ echo $?", str(result.exit_code)]
    real = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
    part = missing_from_output(real, "\n".join(lines[1:-2]))
    if part is not None:
        pytest.fail(f"examples/{name}/README.md differs from the real output; paste it "
                    f"again. First lines not found in order:\n{part[:400]}")

    # the figures, against pandas on the rows (NaN skipped, as pandas' mean skips it)
    doc = read_report(out)
    grouping = next(g for g in doc["groupings"] if g["name"] == column)
    got = {g["label"]: g["metrics"][f"mean_{measure}"]["value"] for g in grouping["groups"]}
    means = committed.groupby(column, observed=True)[measure].mean()
    assert got == pytest.approx(means.to_dict(), rel=1e-12)
    skipped = committed[measure].isna().groupby(committed[column], observed=True).sum()
    assert {g["label"]: g["dropped"][f"{measure}:skipped"] for g in grouping["groups"]} == \
        skipped.to_dict()
    assert {g["status"] for g in doc["gates"]} == {"fail"}
    assert result.exit_code == 1
