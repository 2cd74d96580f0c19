"""Workflow annotations: GitHub's escaping, one annotation per gate, no command from the data.

The runner's side is emulated from actions/runner (src/Runner.Common/ActionCommand.cs,
``TryParseV2``): a line is a command when, after leading white space, it starts
with ``::``; the command runs to the next ``::``; properties are split on ``,``
and ``=``; property values are unescaped ``%0D``, ``%0A``, ``%3A``, ``%2C``,
``%25`` in that order, the message ``%0D``, ``%0A``, ``%25``. Its legacy parser
also obeys ``##[name]`` anywhere in a line.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairaudit.report.annotations import command, defuse, escape_data, escape_property, one_line
from fairaudit.result import show_value
from fairaudit.text import printable
from tests.cli_support import COMPAS, COMPAS_ARGS, ROOT, invoke, read_report


def _unescape(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for escaped, raw in pairs:
        text = text.replace(escaped, raw)
    return text


_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPS = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def runner_parse(line: str) -> tuple[str, dict[str, str], str] | None:
    """(command, properties, message) as the GitHub runner reads ``line``, or None."""
    line = line.lstrip()
    if not line.startswith("::"):
        return None
    end = line.find("::", 2)
    if end < 0:
        return None
    info = line[2:end]
    name, _, props = info.partition(" ")
    properties = {}
    for pair in props.strip().split(","):
        key, sep, value = pair.partition("=")
        if sep and key and value:
            properties[key] = _unescape(value, _PROPS)
    return name, properties, _unescape(line[end + 2:], _DATA)


def commands_in(log: str) -> list[str]:
    """Every line of ``log`` that the runner would take for a workflow command."""
    lines = re.split(r"\r\n|\n|\r", log)
    return [line for line in lines if line.lstrip().startswith("::") or "##[" in line]


# -- escaping -----------------------------------------------------------------------


def test_escaping_is_githubs():
    assert escape_data("50% of\r\nrows: a,b") == "50%25 of%0D%0Arows: a,b"
    assert escape_property("50% of\r\nrows: a,b") == "50%25 of%0D%0Arows%3A a%2Cb"
    # an escape already in the text is escaped again, not passed through
    assert escape_data("%0A") == "%250A"
    assert command("error", "x\ny", {"title": "a:b,c"}) == "::error title=a%3Ab%2Cc::x%0Ay"
    assert command("warning", "plain") == "::warning::plain"
    with pytest.raises(ValueError):
        command("error title=x", "message")


@given(message=st.text(), title=st.text().map(str.strip).filter(bool))
def test_the_runner_reads_back_exactly_what_was_written(message, title):
    line = command("warning", message, {"title": title})
    assert "\n" not in line and "\r" not in line
    assert runner_parse(line) == ("warning", {"title": title}, message)


def test_one_line_shows_breaks_and_controls_as_escapes():
    assert one_line("a\nb\r\x1b[31mc\u2028d##[error]e") == "a\\nb\\r\\x1b[31mc\\u2028d##\\[error]e"
    assert one_line("plain text: 0.397 [0.285, 0.472]") == "plain text: 0.397 [0.285, 0.472]"


def test_defuse_prefixes_lines_that_would_be_commands_and_keeps_the_rest():
    text = "head\n::error::x\n  ::add-mask::y\r\x1b[1m::warning::z\nmid ::notice:: ok\n##[error]w\n"
    assert defuse(text) == ("head\n\\::error::x\n\\  ::add-mask::y\r\\\x1b[1m::warning::z\n"
                            "mid ::notice:: ok\n##\\[error]w\n")
    assert commands_in(defuse(text)) == []
    table = "┃ group ┃\n│ a     │\n"
    assert defuse(table) == table


# -- the command line ------------------------------------------------------------------------


def _sentence(g: dict) -> str:
    """A gate's sentence from its JSON record: what fairaudit's annotations must say."""
    what, bound = ("gap", "at most") if g["kind"] == "max_gap" else ("ratio", "at least")
    value = f"{g['value']:.4f} [{g['ci'][0]:.4f}, {g['ci'][1]:.4f}]"
    notes = [f"rule {g['rule']}"] if g["rule"] != "point" else []
    notes += [g["reason"]] if g["reason"] else []
    tail = f" ({': '.join(notes)})" if notes else ""
    return (f"{g['criterion'].replace('_', ' ')} {what} across {g['grouping']}: {value}, "
            f"must be {bound} {g['threshold']:g}{tail}")


@pytest.fixture
def github(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_inside_github_actions_every_failing_gate_is_one_error_annotation(github, tmp_path):
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--json", tmp_path / "a.json")
    assert res.exit_code == 1
    gates = read_report(tmp_path / "a.json")["gates"]
    failing = [g for g in gates if g["status"] == "fail"]
    assert len(failing) == 4
    lines = res.stderr.splitlines()
    assert len(lines) == 4
    for line, g in zip(lines, failing, strict=True):
        name, props, message = runner_parse(line)
        assert name == "error"
        assert props == {"title": f"fairaudit gate fail: {g['kind']} {g['criterion']} "
                                  f"across {g['grouping']}"}
        assert message == _sentence(g)
    assert res.stderr.splitlines()[0] == (
        "::error title=fairaudit gate fail%3A max_gap equalized_odds across race::"
        "equalized odds gap across race: 0.3968 [0.2845, 0.4724], must be at most 0.1")
    assert commands_in(res.stdout) == []


def test_inconclusive_gates_are_warnings(github, tmp_path):
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--max-gap", "sex:equalized_odds=0.05",
                 "--decide", "confident-pass", "--json", tmp_path / "a.json")
    assert res.exit_code == 1
    gates = read_report(tmp_path / "a.json")["gates"]
    parsed = [runner_parse(line) for line in res.stderr.splitlines()]
    want = [("error" if g["status"] == "fail" else "warning", _sentence(g))
            for g in gates if g["status"] in ("fail", "inconclusive")]
    assert [(name, message) for name, _, message in parsed] == want
    (warning,) = [message for name, message in want if name == "warning"]
    assert warning == ("equalized odds gap across sex: 0.0207 [0.0000, 0.0674], must be at most "
                       "0.05 (rule confident-pass: inside the threshold, but the interval "
                       "straddles it)")


def test_annotations_none_prints_plain_lines_inside_github_actions(github):
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--quiet", "--annotations", "none")
    assert res.exit_code == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 4
    assert lines[0] == ("fairaudit: gate fail: equalized odds gap across race: "
                        "0.3968 [0.2845, 0.4724], must be at most 0.1")
    assert commands_in(res.stdout + res.stderr) == []


def test_annotations_github_outside_github_actions(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--quiet", "--annotations", "GitHub")
    assert res.exit_code == 1
    assert [runner_parse(line)[0] for line in res.stderr.splitlines()] == ["error"] * 4
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--quiet")
    assert all(line.startswith("fairaudit: gate fail: ") for line in res.stderr.splitlines())


def test_unknown_annotations_value_is_a_usage_error():
    res = invoke("run", COMPAS, *COMPAS_ARGS, "--annotations", "gitlab")
    assert res.exit_code == 2
    assert "Invalid value for '--annotations': 'gitlab' is not one of 'none', 'github'" \
        in res.stderr


# -- data that tries to be a command -------------------------------------------------------------

HOSTILE = "bad\n::error::injected\n::add-mask::x"


def _hostile(tmp_path):
    n = 60
    df = pd.DataFrame({
        "y": [0, 1, 1, 0] * n,
        "p": [1, 1, 0, 0] * (n // 2) + [1, 0, 1, 1] * (n // 2),
        "grp": ["ok", HOSTILE] * (2 * n),
        "col\r::warning::colinj": ["u", "v", "w", "##[error]u"] * n,
        "feat": [1.0, 2.0, 3.0, 500.0] * n,
    })
    df.loc[0:5, "grp"] = "tiny\n::stop-commands::t"
    path = tmp_path / "hostile.parquet"
    df.to_parquet(path)
    return path, ["--label", "y", "--prediction", "p", "-g", "grp",
                  "-g", "col\r::warning::colinj", "--max-gap", "demographic_parity=0.01",
                  "--max-gap", "equalized_odds=0.9", "--range", "feat=0:10",
                  "--max-out-of-range", "0.01", "--no-progress"]


def test_group_values_cannot_inject_workflow_commands(github, tmp_path):
    path, args = _hostile(tmp_path)
    res = invoke("run", path, *args, "--json", tmp_path / "a.json")
    assert res.exit_code == 1
    gates = json.loads((tmp_path / "a.json").read_text())["gates"]
    # the data did reach the log: the terminal tables show the hostile group
    assert "::error::injected" in res.stdout and "::add-mask::x" in res.stdout
    flagged = [g for g in gates if g["status"] != "pass"]
    assert len(flagged) == 6 and {g["kind"] for g in flagged} == {"max_gap", "max_out_of_range"}
    found = commands_in(res.stdout + "\n" + res.stderr)
    # the only commands in the log are fairaudit's own annotations, one per gate
    assert found == res.stderr.splitlines()
    assert len(found) == len(flagged)
    for line, g in zip(found, flagged, strict=True):
        name, props, message = runner_parse(line)
        assert name == "error"
        # a column name's control characters as escapes, as in every report
        assert props["title"].endswith(f"across {printable(g['grouping'])}")
        assert f"{g['value']:.4f}" in message and f"{g['threshold']:g}" in message
    # the value as every report shows it: quoted, its line breaks as \n
    assert any(show_value(HOSTILE) in runner_parse(line)[2] for line in found)


def test_group_values_cannot_inject_with_plain_lines_either(github, tmp_path):
    path, args = _hostile(tmp_path)
    res = invoke("run", path, *args, "--annotations", "none")
    assert res.exit_code == 1
    assert commands_in(res.stdout + "\n" + res.stderr) == []
    assert len(res.stderr.splitlines()) == 6
    assert 'fairaudit: gate fail: share of feat values out of range in grp = "bad\\n' \
           '::error::injected\\n::add-mask::x": ' in res.stderr
