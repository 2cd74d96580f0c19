"""Ctrl-C (and SIGTERM) while a real `fairaudit run` counts a large CSV on several threads:
exit 130 (143) with one line, no traceback, no report, the previous report intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ROWS = 4_000_000  # 32 MB of CSV a file: seconds of counting, two blocks of 16 MB
LINES = {
    signal.SIGINT: (130, "fairaudit: interrupted (Ctrl-C); no report was left half-written"),
    signal.SIGTERM: (143, "fairaudit: terminated (SIGTERM); no report was left half-written"),
}


@pytest.fixture(scope="module")
def csvs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two large CSV files."""
    folder = tmp_path_factory.mktemp("big")
    out = []
    for i in range(2):
        rng = np.random.default_rng(i)
        path = folder / f"part{i}.csv"
        pacsv.write_csv(pa.table({
            "y": rng.integers(0, 2, ROWS), "p": rng.integers(0, 2, ROWS),
            "g": np.array(["a", "b", "c", "d"])[rng.integers(0, 4, ROWS)]}), path)
        out.append(path)
    return out


def _reading(pid: int, files: list[Path]) -> bool:
    """Whether process ``pid`` holds one of ``files`` open, past its first bytes: counting
    (with --no-digest nothing else reads them, and the reader closes a file when done)."""
    wanted = {str(f) for f in files}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
                    pos = int(next(line.split()[1] for line in info.splitlines()
                                   if line.startswith("pos:")))
                    if pos > 0:
                        return True
            except (OSError, StopIteration):
                continue
    except OSError:
        return False
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("files", [1, 2], ids=["one-file-arrow-threads", "two-files-threads"])
def test_a_signal_while_counting_a_large_csv(csvs, tmp_path, signum, files):
    inputs = csvs[:files]
    out = tmp_path / "audit.json"
    out.write_text('{"previous": true}\n')
    html = tmp_path / "audit.html"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fairaudit", "run", *map(str, inputs), "--label", "y",
         "--prediction", "p", "--group", "g", "--no-digest", "--json", str(out),
         "--html", str(html)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    counting = False
    while proc.poll() is None and time.monotonic() < deadline:
        if _reading(proc.pid, inputs):
            counting = True
            break
        time.sleep(0.005)
    assert counting, "the run was never seen counting"
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    code, line = LINES[signum]
    assert proc.returncode == code, stderr
    assert stderr.decode() == line + "\n"  # one line: no traceback, no fatal error
    assert stdout == b""  # no terminal report
    assert out.read_text() == '{"previous": true}\n'
    assert not html.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]
