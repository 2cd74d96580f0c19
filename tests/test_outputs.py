"""Nothing lost: no report overwrites an input or another report, every report is written
whole or not at all, writing errors are one line, and a closed pipe ends quietly."""

from __future__ import annotations

import errno
import fcntl
import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fairaudit import outputs, readers
from fairaudit.report import json as json_report
from tests.cli_support import (
    COMPAS,
    COMPAS_ARGS,
    assert_cannot_audit,
    assert_report_failed,
    invoke,
    read_report,
)

ROLES = ["--label", "y", "--prediction", "p", "--group", "g", "--min-group-size", "1"]
GOOD = "y,p,g\n1,0,a\n0,1,b\n1,1,a\n0,0,b\n"


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture()
def unread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any input is opened for reading."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an input was read")

    monkeypatch.setattr(readers, "parts", refuse)
    monkeypatch.setattr(readers.Digests, "start", refuse)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- a report path that is an input -----------------------------------------------------


@pytest.mark.parametrize("flag", ["--json", "--html", "--markdown", "--junit"])
def test_a_report_over_the_input_is_refused_before_reading(data, unread, flag):
    assert_cannot_audit(invoke("run", data, *ROLES, flag, data),
                        f"{flag} {data}: that is the input file {data}; the report would "
                        "overwrite it: choose another path")
    assert data.read_text() == GOOD


@pytest.mark.parametrize("spelling", ["dotted", "symlink", "hard link", "linked folder"])
def test_the_input_under_another_name(data, unread, tmp_path, spelling):
    if spelling == "dotted":
        target = tmp_path / "sub" / ".." / "data.csv"
        (tmp_path / "sub").mkdir()
    elif spelling == "symlink":
        target = tmp_path / "report.json"
        os.symlink(data, target)
    elif spelling == "hard link":
        target = tmp_path / "report.json"
        os.link(data, target)
    else:
        os.symlink(tmp_path, tmp_path.parent / f"{tmp_path.name}-link")
        target = tmp_path.parent / f"{tmp_path.name}-link" / "data.csv"
    assert_cannot_audit(invoke("run", data, *ROLES, "--json", target),
                        f"--json {target}: that is the input file {data}")
    assert data.read_text() == GOOD


def test_a_report_over_an_input_of_the_config_file(data, unread, tmp_path):
    cfg = tmp_path / "fairaudit.toml"
    cfg.write_text('inputs = ["data.csv"]\nlabel = "y"\nprediction = "p"\ngroups = ["g"]\n')
    assert_cannot_audit(invoke("run", "--config", cfg, "--markdown", data),
                        f"--markdown {data}: that is the input file {data}")


def test_a_report_over_a_file_of_an_input_folder(data, unread, tmp_path):
    assert_cannot_audit(invoke("run", tmp_path, *ROLES, "--junit", data),
                        f"--junit {data}: that is the input file {data}")


def test_the_github_summary_over_the_input(data, unread, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(data))
    assert_cannot_audit(invoke("run", data, *ROLES, "--github-summary"),
                        f"--github-summary (GITHUB_STEP_SUMMARY) {data}: that is the input "
                        f"file {data}")
    assert data.read_text() == GOOD


def test_ranges_derive_over_its_input(data, unread):
    assert_cannot_audit(invoke("ranges", "derive", data, "-c", "y", "-o", data),
                        f"--output {data}: that is the input file {data}; the report would "
                        "overwrite it: choose another path")
    assert data.read_text() == GOOD


# -- two reports, one path ----------------------------------------------------------------


def test_two_reports_with_one_path(data, unread, tmp_path):
    out = tmp_path / "report.txt"
    assert_cannot_audit(invoke("run", data, *ROLES, "--json", out, "--markdown",
                               tmp_path / "." / "report.txt"),
                        f"--json {out} and --markdown {tmp_path / '.' / 'report.txt'}: the "
                        "same file; give each report a path of its own")


def test_two_reports_one_file_through_a_link(data, unread, tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("old")
    os.symlink(out, tmp_path / "alias.txt")
    assert_cannot_audit(invoke("run", data, *ROLES, "--html", out, "--junit",
                               tmp_path / "alias.txt"),
                        f"--html {out} and --junit {tmp_path / 'alias.txt'}: the same file")
    assert out.read_text() == "old"


def test_a_report_path_that_is_a_folder(data, unread, tmp_path):
    assert_cannot_audit(invoke("run", data, *ROLES, "--json", tmp_path),
                        f"--json {tmp_path}: a folder; give the path of a file in it, such as "
                        f"{tmp_path / 'audit.json'}")


def test_a_stream_named_as_a_file_is_written_in_place(data, tmp_path):
    """`--json /dev/stdout > out.txt`: out.txt is the shell's, not to be replaced."""
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        done = subprocess.run([sys.executable, "-m", "fairaudit", "run", str(data), *ROLES,
                               "--quiet", "--json", "/dev/stdout", "--markdown", "/dev/stdout"],
                              stdout=f, stderr=subprocess.PIPE, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith('{"schema_version":1,')
    assert "# fairaudit" in text or "fairaudit" in text.split("\n", 1)[1]
    assert text.rstrip().endswith("verdict: PASS (no gates set; report only)")


def test_devices_are_written_in_place(data):
    result = invoke("run", data, *ROLES, "--quiet", "--json", "/dev/null", "--html",
                    "/dev/null")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # not replaced by a regular file


# -- written whole or not at all --------------------------------------------------------------


def test_a_report_replaces_the_old_one_whole_and_keeps_its_mode(data, tmp_path):
    out = tmp_path / "audit.json"
    out.write_text("previous")
    out.chmod(0o640)
    result = invoke("run", data, *ROLES, "--quiet", "--json", out)
    assert result.exit_code == 0, result.output
    assert read_report(out)["provenance"]["rows_read"] == 4
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_new_report_gets_the_usual_mode(data, tmp_path):
    out = tmp_path / "audit.html"
    mask = os.umask(0o027)
    try:
        assert invoke("run", data, *ROLES, "--quiet", "--html", out).exit_code == 0
    finally:
        os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_report_through_a_link_replaces_the_file_it_points_to(data, tmp_path):
    real = tmp_path / "reports" / "audit.md"
    real.parent.mkdir()
    real.write_text("old")
    os.symlink(real, tmp_path / "latest.md")
    assert invoke("run", data, *ROLES, "--quiet", "--markdown",
                  tmp_path / "latest.md").exit_code == 0
    assert (tmp_path / "latest.md").is_symlink()
    assert real.read_text().startswith("#")


def _failing_write(exc: BaseException):  # type: ignore[no-untyped-def]
    original = json_report.write

    def write(result, out):  # type: ignore[no-untyped-def]
        buf = io.BytesIO()
        original(result, buf)
        out.write(buf.getvalue()[:100])  # a partial report
        raise exc

    return original, write


def test_a_full_disk_leaves_the_previous_report(data, tmp_path, monkeypatch):
    out = tmp_path / "audit.json"
    out.write_text("previous")
    _, write = _failing_write(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    monkeypatch.setattr(json_report, "write", write)
    assert_report_failed(invoke("run", data, *ROLES, "--quiet", "--json", out),
                         f"--json {out}: cannot write the report (No space left on device); "
                         "the previous report, if any, is left as it was")
    assert out.read_text() == "previous"
    assert leftovers(tmp_path) == []


def test_ctrl_c_while_writing_leaves_the_previous_report(data, tmp_path, monkeypatch):
    out = tmp_path / "audit.json"
    out.write_text("previous")
    _, write = _failing_write(KeyboardInterrupt())
    monkeypatch.setattr(json_report, "write", write)
    result = invoke("run", data, *ROLES, "--quiet", "--json", out)
    assert result.exit_code == 130
    assert result.stderr == "fairaudit: interrupted (Ctrl-C); no report was left half-written\n"
    assert out.read_text() == "previous"
    assert leftovers(tmp_path) == []


def test_a_read_only_folder_is_one_line(data, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
        except PermissionError:
            pass
        else:  # root writes anywhere; a folder root cannot write to stands in
            probe.unlink()
            folder = Path("/sys")
            if os.access(folder, os.W_OK) and not _refuses(folder):
                pytest.skip("no folder here refuses writing")
        out = folder / "audit.json"
        assert_report_failed(invoke("run", data, *ROLES, "--quiet", "--json", out),
                             f"--json {out}: cannot write the report (Permission denied); "
                             "the previous report, if any, is left as it was")
    finally:
        (tmp_path / "locked").chmod(0o755)


def _refuses(folder: Path) -> bool:
    try:
        (folder / "fairaudit-probe").write_text("")
    except OSError:
        return True
    (folder / "fairaudit-probe").unlink()
    return False


def test_the_github_summary_is_appended_whole(data, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert invoke("run", data, *ROLES, "--quiet", "--github-summary").exit_code == 0
    text = summary.read_text()
    assert text.startswith("# earlier step\n\n")
    assert "fairaudit" in text
    assert leftovers(tmp_path) == []


def test_write_atomic_removes_its_temporary_file_on_any_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def boom(f: object) -> None:
        raise ValueError("encoder failed")

    with pytest.raises(ValueError):
        outputs.write_atomic(str(target), boom)
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


# -- standard output ------------------------------------------------------------------------------


def _fairaudit(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "fairaudit", *map(str, args)],
                            **kwargs)  # type: ignore[call-overload, no-any-return]


def _small_pipe() -> tuple[int, int]:
    """A pipe that holds 4 KiB: a writer of more must wait for its reader, or fail."""
    read, write = os.pipe()
    fcntl.fcntl(read, fcntl.F_SETPIPE_SZ, 4096)
    return read, write


@pytest.mark.parametrize("json_to_stdout", [True, False])
def test_a_closed_pipe_on_stdout_ends_quietly(tmp_path, json_to_stdout):
    args = ["--json", "-"] if json_to_stdout else []
    read, write = _small_pipe()
    proc = _fairaudit("run", COMPAS, *COMPAS_ARGS, *args, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read, "rb") as out:
        out.readline()  # as `| head -1` does, then it goes
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1  # the audit's own verdict: COMPAS fails its gates
    assert "Traceback" not in err and "Error" not in err and "error" not in err, err
    assert [line for line in err.splitlines() if line.startswith("fairaudit:")
            and not line.startswith("fairaudit: gate fail: ")] == [], err


def test_a_closed_pipe_on_stdout_and_stderr_ends_quietly(tmp_path):
    read, write = _small_pipe()
    proc = _fairaudit("run", COMPAS, *COMPAS_ARGS, stdout=write, stderr=write)  # 2>&1 | head -1
    os.close(write)
    with os.fdopen(read, "rb") as out:
        assert out.readline().startswith(b"1 file, 7,214 rows read")
    assert proc.wait(timeout=120) == 1


def test_a_full_disk_behind_stdout(tmp_path):
    with open("/dev/full", "wb") as full:
        proc = _fairaudit("run", COMPAS, *COMPAS_ARGS, "--json", "-", stdout=full,
                          stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.decode().splitlines()[0] == ("fairaudit: error: stdout: cannot write the report "
                                            "(No space left on device)")


# -- signals during a real run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_groups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file whose JSON report (40,000 groups, 170 MB) takes seconds to write."""
    rng = np.random.default_rng(0)
    n = 400_000
    path = tmp_path_factory.mktemp("many") / "many.parquet"
    pq.write_table(pa.table({
        "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n),
        "store": pa.array([f"s{i}" for i in rng.integers(0, 40_000, n)])}), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "line"), [
    (signal.SIGINT, 130, "fairaudit: interrupted (Ctrl-C); no report was left half-written"),
    (signal.SIGTERM, 143, "fairaudit: terminated (SIGTERM); no report was left half-written"),
])
def test_a_signal_during_a_large_json_write_keeps_the_previous_report(
        many_groups, tmp_path, signum, code, line):
    out = tmp_path / "audit.json"
    out.write_text('{"previous": true}\n')
    proc = _fairaudit("run", many_groups, "--label", "y", "--prediction", "p", "--group",
                      "store", "--bootstrap", "0", "--quiet", "--json", out,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    partial: list[Path] = []
    while proc.poll() is None and time.monotonic() < deadline:
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        if partial and partial[0].stat().st_size > 1 << 20:  # well into the write
            break
        time.sleep(0.002)
    assert partial, "the report was never being written"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert stderr.decode() == line + "\n"
    assert out.read_text() == '{"previous": true}\n'
    assert leftovers(tmp_path) == []
