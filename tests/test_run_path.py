"""The `fairaudit run` path: what it imports, and when it shows progress."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

import fairaudit
from fairaudit import engine, readers
from fairaudit.decode import Roles
from tests.conftest import COMPAS_CSV, COMPAS_PARQUET, ROOT

# the DataFrame and oracle libraries, scipy (Clopper-Pearson only), the HTML
# report's matplotlib and jinja2, and pydantic (which newer typer releases load)
HEAVY = {"pandas", "sklearn", "fairlearn", "scipy", "matplotlib", "jinja2", "pydantic"}
COMPAS_ARGS = ["--label", "two_year_recid", "--prediction", "prediction",
               "-g", "race", "-g", "sex", "-g", "age_cat"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("GITHUB_ACTIONS", None)
    return env


@pytest.mark.parametrize("args", [
    [str(COMPAS_PARQUET)],
    [str(COMPAS_CSV), "--positive-label", "1"],
    [str(COMPAS_PARQUET.parent)],
])
def test_run_imports_no_heavy_library(args, tmp_path):
    out = tmp_path / "audit.json"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "fairaudit", "run", *args, *COMPAS_ARGS,
         "--json", str(out)],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "fairaudit" in imported and "pyarrow" in imported  # the listing is real
    assert imported & HEAVY == set()
    assert json.loads(out.read_text())["provenance"]["rows_read"] > 7000


def test_progress_totals_only_grow(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "PART_ROWS", 1)
    monkeypatch.setattr(readers, "BATCH_ROWS", 500)
    files = readers.resolve([str(COMPAS_PARQUET), str(COMPAS_CSV)])
    calls: list[tuple[int, int, int]] = []
    roles = Roles(groups=("race",), label="two_year_recid", prediction="prediction")
    engine.count_files(files, roles, threads=2, on_progress=lambda *a: calls.append(a))
    total_bytes = sum(f.size for f in files)
    assert len(calls) > 10
    for before, after in itertools.pairwise(calls):
        assert after[0] >= before[0] and after[1] >= before[1]
    assert {c[2] for c in calls} == {total_bytes}
    assert calls[-1][:2] == (2 * 7214, total_bytes)


def test_audit_progress_counts_reading_and_hashing(monkeypatch):
    monkeypatch.setattr(readers, "BATCH_ROWS", 1000)
    calls: list[tuple[int, int, int]] = []
    fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid", prediction="prediction",
                    groups=["race"], on_progress=lambda *a: calls.append(a))
    size = COMPAS_PARQUET.stat().st_size
    assert calls and all(a[1] <= b[1] for a, b in itertools.pairwise(calls))
    assert calls[-1] == (7214, size, size)


def _run_with_stderr(stderr: int, *extra: str) -> subprocess.Popen[bytes]:
    """Run the CLI with the bar's delay at 0 and stderr going to ``stderr``."""
    code = ("import sys; import fairaudit.report.progress as p; p.DELAY = 0; "
            "from fairaudit.cli import main; sys.argv = ['fairaudit', *sys.argv[1:]]; main()")
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", str(COMPAS_PARQUET), *COMPAS_ARGS, *extra],
        stdout=subprocess.DEVNULL, stderr=stderr, env=_env(),
    )


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # the terminal closes when the child exits
            break
        if not chunk:
            break
        out += chunk
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("extra", "shown"), [((), True), (("--no-progress",), False)])
def test_progress_bar_on_a_terminal_only(extra, shown):
    import pty

    master, slave = pty.openpty()
    proc = _run_with_stderr(slave, *extra)
    os.close(slave)
    text = _read_all(master).decode("utf-8", "replace")
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert ("7,214 rows" in text) is shown, text


def test_no_progress_when_stderr_is_not_a_terminal():
    proc = _run_with_stderr(subprocess.PIPE)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"rows" not in err and b"reading" not in err


def test_no_digest_leaves_the_digest_empty_and_the_figures_alone(tmp_path, monkeypatch):
    import hashlib

    from tests.cli_support import invoke, read_report, validate_report

    with_digest, without = tmp_path / "with.json", tmp_path / "without.json"
    for path, flag in ((with_digest, "--digest"), (without, "--no-digest")):
        result = invoke("run", str(COMPAS_PARQUET), *COMPAS_ARGS, "--bootstrap", "0", flag,
                        "--json", str(path))
        assert result.exit_code == 0, result.output
    a, b = validate_report(read_report(with_digest)), validate_report(read_report(without))
    assert a["provenance"]["files"][0]["sha256"] == \
        hashlib.sha256(COMPAS_PARQUET.read_bytes()).hexdigest()
    assert b["provenance"]["files"][0]["sha256"] == ""
    assert (a["provenance"]["config"]["digest"], b["provenance"]["config"]["digest"]) == \
        (True, False)
    assert a["groupings"] == b["groupings"]
    # the config file says it too
    (tmp_path / "fairaudit.toml").write_text("digest = false\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("run", str(COMPAS_PARQUET), *COMPAS_ARGS, "--bootstrap", "0",
                    "--json", str(tmp_path / "file.json"))
    assert result.exit_code == 0, result.output
    assert read_report(tmp_path / "file.json")["provenance"]["files"][0]["sha256"] == ""


def test_every_public_name_loads_from_the_package():
    """The package loads its names on first use; each one listed must be there."""
    code = ("import sys, fairaudit; assert 'numpy' not in sys.modules; "
            "missing = [n for n in fairaudit.__all__ if getattr(fairaudit, n, None) is None]; "
            "print(missing)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
    with pytest.raises(AttributeError):
        fairaudit.no_such_name  # noqa: B018


def test_a_hashing_started_for_other_files_is_stopped_and_the_right_files_hashed():
    import hashlib

    from fairaudit import sources

    other = sources.Digests(sources.resolve([str(COMPAS_CSV)]), cores=sources.Cores(2)).start()
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race"], bootstrap=0,
                             digests=other)
    assert result.provenance.files[0].sha256 == \
        hashlib.sha256(COMPAS_PARQUET.read_bytes()).hexdigest()
    assert not other._thread.is_alive()
    assert all(other.cores._free.acquire(timeout=1) for _ in range(2))  # its slot is back
