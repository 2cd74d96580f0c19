"""Inputs read once, exactly: files known by identity, links and loops, non-regular files,
names that are not UTF-8, and files that change while they are read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import fairaudit
from fairaudit import readers, sources
from tests.cli_support import assert_cannot_audit, invoke, read_report

ROLES = ["--label", "y", "--prediction", "p", "--group", "g", "--min-group-size", "1"]
GOOD = "y,p,g\n1,0,a\n0,1,b\n1,1,a\n0,0,b\n"


def csv(folder: Path, name: str = "data.csv", text: str = GOOD) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_json(tmp_path: Path, *inputs: object) -> tuple[dict, str]:
    out = tmp_path / "audit.json"
    result = invoke("run", *inputs, *ROLES, "--quiet", "--json", out)
    assert result.exit_code == 0, result.output
    return read_report(out), result.stderr


# -- the same file reached twice ------------------------------------------------------


def test_two_spellings_and_a_link_to_one_file_read_it_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv(tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink("data.csv", "link.csv")
    doc, stderr = run_json(tmp_path, "data.csv", "./data.csv", "sub/../data.csv", "link.csv")
    prov = doc["provenance"]
    assert [f["path"] for f in prov["files"]] == ["data.csv"]
    assert prov["rows_read"] == 4
    assert prov["duplicates_merged"] == 3
    assert stderr == ("fairaudit: note: 3 input names reached a file already listed (another "
                      "spelling, a link or an overlapping glob); each file was read once\n")


def test_a_hard_link_is_the_same_file(tmp_path):
    first = csv(tmp_path)
    os.link(first, tmp_path / "again.csv")
    doc, _ = run_json(tmp_path, tmp_path)  # the folder lists both names
    assert doc["provenance"]["rows_read"] == 4
    assert doc["provenance"]["duplicates_merged"] == 1


def test_distinct_files_are_all_read_and_nothing_is_merged(tmp_path):
    csv(tmp_path, "a.csv")
    csv(tmp_path, "b.csv")
    doc, stderr = run_json(tmp_path, tmp_path / "*.csv")
    assert doc["provenance"]["rows_read"] == 8
    assert doc["provenance"]["duplicates_merged"] == 0
    assert stderr == ""


def test_a_glob_through_a_linked_folder_reads_each_file_once(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    csv(data, "a.csv")
    os.symlink("data", tmp_path / "mirror")
    files = sources.resolve([str(tmp_path / "**" / "*.csv")])
    assert [Path(f.path).name for f in files] == ["a.csv"]
    assert sources.duplicates_merged(files) == 0  # the linked folder is the folder walked
    # two globs, one through the link: the second reaches the file again
    files = sources.resolve([str(data / "*.csv"), str(tmp_path / "mirror" / "*.csv")])
    assert [f.path for f in files] == [str(data / "a.csv")]
    assert sources.duplicates_merged(files) == 1


def _resolve_within(specs: list[str], seconds: float) -> list[sources.SourceFile]:
    found: list[list[sources.SourceFile]] = []
    thread = threading.Thread(target=lambda: found.append(sources.resolve(specs)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert found, f"resolve({specs}) did not return within {seconds} s"
    return found[0]


def test_link_loops_in_a_recursive_glob_are_walked_once(tmp_path):
    data = tmp_path / "data"
    (data / "deep").mkdir(parents=True)
    csv(data / "deep", "a.csv")
    # two links back up: the standard library's glob would walk 2**40 paths
    os.symlink("..", data / "deep" / "up")
    os.symlink(".", data / "here")
    files = _resolve_within([str(data / "**" / "*.csv")], 30)
    assert len(files) == 1
    assert sources.duplicates_merged(files) == 0
    result = fairaudit.audit(str(data / "**" / "*.csv"), label="y", prediction="p",
                             groups=["g"], min_group_size=1)
    assert result.provenance.rows_read == 4


def test_a_folder_with_a_link_loop_is_walked_once(tmp_path):
    csv(tmp_path, "a.csv")
    os.symlink(".", tmp_path / "loop")
    files = _resolve_within([str(tmp_path)], 30)
    assert [Path(f.path).name for f in files] == ["a.csv"]


def test_a_link_loop_given_as_an_input(tmp_path):
    os.symlink("b.csv", tmp_path / "a.csv")
    os.symlink("a.csv", tmp_path / "b.csv")
    path = tmp_path / "a.csv"
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: a link loop (Too many levels of symbolic links); fix or "
                        "remove the symbolic link")


def test_a_link_to_nothing_in_a_folder(tmp_path):
    csv(tmp_path, "a.csv")
    os.symlink("gone.csv", tmp_path / "b.csv")
    assert_cannot_audit(invoke("run", tmp_path, *ROLES),
                        f"{tmp_path / 'b.csv'}: a link to nothing (No such file or directory)")


# -- files that are not regular files -------------------------------------------------


def _fairaudit(*args: object, timeout: float = 60, **kwargs: object
               ) -> subprocess.CompletedProcess[str]:
    """A real ``fairaudit`` process, killed if it runs longer than ``timeout``."""
    argv = [sys.executable, "-m", "fairaudit",
            *[a if isinstance(a, bytes) else str(a) for a in args]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize("where", ["named", "in a folder", "by a glob"])
def test_a_named_pipe_is_refused_without_being_opened(tmp_path, where):
    (tmp_path / "data").mkdir()
    fifo = tmp_path / "data" / "stream.csv"
    os.mkfifo(fifo)
    spec = {"named": fifo, "in a folder": tmp_path / "data",
            "by a glob": tmp_path / "data" / "*.csv"}[where]
    done = _fairaudit("run", spec, *ROLES, timeout=60)  # opening the pipe would block
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"fairaudit: error: {fifo}: a named pipe (FIFO), not a regular "
                           "file; fairaudit reads regular files only: save the data to a "
                           "file and audit that\n")


def test_dev_zero_is_refused():
    assert_cannot_audit(invoke("run", "/dev/zero", *ROLES),
                        "/dev/zero: a character device, not a regular file")


def test_a_link_to_a_device_is_refused(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zeros.csv")
    assert_cannot_audit(invoke("run", tmp_path / "zeros.csv", *ROLES),
                        f"{tmp_path / 'zeros.csv'}: a character device, not a regular file")


# -- names that are not UTF-8 ---------------------------------------------------------


def test_a_file_name_that_is_not_utf8(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.csv"  # Latin-1, not UTF-8
    with open(raw, "w", encoding="utf-8") as f:
        f.write(GOOD)
    out = tmp_path / "audit.json"
    done = _fairaudit("run", raw, *ROLES, "--quiet", "--json", out)
    assert done.returncode == 0, done.stderr
    doc = read_report(out)
    assert doc["provenance"]["files"][0]["path"] == f"{tmp_path}/caf\\xe9.csv"
    # an error names the file the same way, on one line
    done = _fairaudit("run", raw, "--label", "y", "--prediction", "p", "--group", "region")
    assert done.returncode == 2
    assert done.stderr == (f"fairaudit: error: {tmp_path}/caf\\xe9.csv: no column 'region'; "
                           "available columns: 'y', 'p', 'g'\n")


def test_printable_escapes_what_a_terminal_cannot_show():
    assert sources.printable("plain é ok") == "plain é ok"
    assert sources.printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert sources.printable("a\nb\tc\x00d\x1b[31m") == "a\\nb\\tc\\x00d\\x1b[31m"


# -- files that change while they are read -----------------------------------------------


def _changing(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Append a row to ``path`` once its first batch has been read."""
    original = readers.read_part

    def read_part(part, *args, **kwargs):  # type: ignore[no-untyped-def]
        for i, item in enumerate(original(part, *args, **kwargs)):
            if i == 0:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("1,1,b\n")
            yield item

    monkeypatch.setattr(readers, "read_part", read_part)


@pytest.mark.parametrize("digest", ["--digest", "--no-digest"])
def test_a_file_that_changes_while_it_is_read(tmp_path, monkeypatch, digest):
    path = csv(tmp_path)
    _changing(monkeypatch, path)
    out = tmp_path / "audit.json"
    assert_cannot_audit(invoke("run", path, *ROLES, digest, "--json", out),
                        f"{path}: changed while it was read (its size or modification time "
                        "differs from when the audit began); audit a copy that does not change")
    assert not out.exists()


def test_a_file_replaced_while_it_is_read(tmp_path, monkeypatch):
    path = csv(tmp_path)
    original = readers.read_part

    def read_part(part, *args, **kwargs):  # type: ignore[no-untyped-def]
        yield from original(part, *args, **kwargs)
        os.replace(csv(tmp_path, "new.csv"), path)  # the same size and contents

    monkeypatch.setattr(readers, "read_part", read_part)
    with pytest.raises(fairaudit.InputError, match="changed while it was read"):
        fairaudit.audit(str(path), label="y", prediction="p", groups=["g"], min_group_size=1)


def test_an_unchanged_file_passes_the_check(tmp_path):
    path = csv(tmp_path)
    result = fairaudit.audit(str(path), label="y", prediction="p", groups=["g"],
                             min_group_size=1)
    assert result.provenance.rows_read == 4
    assert json.dumps(result.provenance.duplicates_merged) == "0"
