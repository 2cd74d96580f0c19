"""One report failing never stops the others: each is written, one stderr line says which
failed, and the exit code says a report is missing (2 could not write, 3 could not render)."""

from __future__ import annotations

import errno
import os
import xml.etree.ElementTree as ET

import pytest

from fairaudit.report import html, markdown
from fairaudit.report import json as json_report
from tests.cli_support import COMPAS, COMPAS_ARGS, assert_report_failed, invoke, read_report


@pytest.fixture
def paths(tmp_path):
    return {k: tmp_path / f"audit.{k}" for k in ("json", "html", "md", "xml")}


def _run(paths, *extra):
    return invoke("run", COMPAS, *COMPAS_ARGS, "--bootstrap", "0", "--no-progress",
                  "--json", paths["json"], "--html", paths["html"], "--markdown", paths["md"],
                  "--junit", paths["xml"], *extra)


def _broken(*_args, **_kwargs):
    raise RuntimeError("a bug in one report")


def _full_disk(result, f):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_report_that_crashes_leaves_the_others_written(paths, monkeypatch):
    monkeypatch.setattr(html, "render", _broken)
    res = _run(paths)
    lines = assert_report_failed(res, f"fairaudit: internal error in --html {paths['html']}: "
                                      "RuntimeError: a bug in one report", code=3)
    assert len(lines) == 1 and "traceback saved to" in lines[0]
    assert not paths["html"].exists()
    assert read_report(paths["json"])["verdict"] == "fail"
    assert paths["md"].read_text().startswith("## fairaudit: ")
    assert ET.parse(paths["xml"]).getroot().tag == "testsuites"
    # the gate lines are printed all the same
    assert any(line.startswith("fairaudit: gate fail:") for line in res.stderr.splitlines())


def test_a_report_that_cannot_be_written_is_exit_2_and_the_rest_are_written(paths, monkeypatch):
    monkeypatch.setattr(json_report, "write", _full_disk)
    res = _run(paths)
    assert_report_failed(res, f"fairaudit: error: --json {paths['json']}: cannot write the "
                              "report (No space left on device)")
    assert not paths["json"].exists()
    assert paths["html"].read_text().startswith("<!DOCTYPE html>")
    assert paths["md"].exists() and paths["xml"].exists()


def test_two_failures_two_lines_and_a_crash_outranks(paths, monkeypatch):
    monkeypatch.setattr(json_report, "write", _full_disk)
    monkeypatch.setattr(markdown, "render", _broken)
    res = _run(paths, "--exit-zero")  # a missing report is no gate result: still not 0
    lines = assert_report_failed(res, "--json", "--markdown", code=3)
    assert len(lines) == 2
    assert paths["html"].exists() and paths["xml"].exists()
    assert not paths["md"].exists() and not paths["json"].exists()


def test_a_missing_report_outranks_a_failed_gate(paths, monkeypatch):
    monkeypatch.setattr(json_report, "write", _full_disk)
    res = _run(paths)
    assert res.exit_code == 2  # COMPAS fails its gates: exit 1 had every report been written
    monkeypatch.undo()
    assert _run(paths).exit_code == 1
