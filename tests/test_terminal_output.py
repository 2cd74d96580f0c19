"""The terminal report's output: colour, width and encoding, numbers whole in any width,
and the choice of groups in a large grouping."""

from __future__ import annotations

import io
import re

import pytest

import fairaudit
from fairaudit.report import terminal, view
from fairaudit.result import GroupFigures, GroupingResult
from tests.conftest import COMPAS_PARQUET

ESC = "\x1b["
COLOURS = re.compile(r"\x1b\[[0-9;]*3[0-9]m")


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def compas() -> fairaudit.AuditResult:
    return fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                           prediction="prediction", groups=["race", "sex"],
                           reference=[("race", "Caucasian")], max_gap={"equalized_odds": 0.1})


@pytest.fixture
def env(monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    return monkeypatch


def _render(result, out=None, **kw) -> str:
    out = out if out is not None else io.StringIO()
    terminal.render(result, out, **kw)
    return out.getvalue()


def test_colour_on_a_terminal_only(compas, env):
    env.setenv("COLUMNS", "200")
    assert ESC not in _render(compas)
    tty = _render(compas, _Terminal())
    assert "\x1b[36m (ref)\x1b[0m" in tty and "\x1b[1;31mFAIL\x1b[0m" in tty
    # the same text, at the terminal's width
    assert re.sub(r"\x1b\[[0-9;]*m", "", tty) == _render(compas, width=200)


@pytest.mark.parametrize(("variables", "codes", "colours"), [
    ({"NO_COLOR": "1"}, True, False),  # bold, dim and italic stay
    ({"NO_COLOR": ""}, True, True),  # empty means unset
    ({"TERM": "dumb"}, False, False),
])
def test_no_color_and_dumb_terminals(compas, env, variables, codes, colours):
    for name, value in variables.items():
        env.setenv(name, value)
    text = _render(compas, _Terminal(), width=160)
    assert (ESC in text) is codes
    assert bool(COLOURS.search(text)) is colours
    if codes:
        assert "\x1b[1m group" in text and "\x1b[2m[0.498, 0.530]" in text


def test_the_color_argument_wins(compas, env):
    env.setenv("NO_COLOR", "1")
    assert COLOURS.search(_render(compas, color=True))
    assert ESC not in _render(compas, _Terminal(), color=False)
    env.setenv("FORCE_COLOR", "1")
    env.delenv("NO_COLOR")
    assert COLOURS.search(_render(compas))  # not a terminal, but forced


def test_the_width_of_a_terminal(compas, env):
    env.setenv("COLUMNS", "100")
    assert _render(compas, _Terminal(), color=False) == _render(compas, width=100)
    # the criteria fit in 100 columns; the rates, with their intervals, need more
    lines = _render(compas, width=100).splitlines()
    start = [line.rstrip() for line in lines].index("criteria across race")
    assert all(len(line) <= 100 for line in lines[start:start + 12])


NUMBER = re.compile(r"\[\d\.\d{3}, \d\.\d{3}\]|<?\d[\d,]*(?:\.\d+)?%?")


@pytest.mark.parametrize("width", [130, 100, 80, 60, 40])
def test_every_number_stays_whole_in_a_narrow_terminal(compas, width):
    wide = _render(compas, width=160)
    narrow = _render(compas, width=width)
    assert sorted(NUMBER.findall(narrow)) == sorted(NUMBER.findall(wide))
    assert "[0.285, 0.472]" in wide  # the intervals are there to find
    # wide tables come in parts, each with the group names; in 40 columns the gates'
    # grouping and criterion, which every part repeats, leave too little for a number
    if width >= 60:
        assert max(len(line) for line in narrow.splitlines()) <= width
    assert narrow.count("│ African-American") >= wide.count("│ African-American")


def test_a_stream_that_cannot_hold_box_characters_gets_ascii_boxes(compas):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    terminal.render(compas, out)
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert "+-----" in text and "| African-American " in text


def test_user_strings_are_shown_as_text():
    import pandas as pd

    n = 40
    df = pd.DataFrame({"y": [0, 1] * n, "p": [1, 1, 0, 1] * (n // 2),
                       "g": ["[bold]x[/bold]", ":smile: \x1b[31mred\tcell"] * n})
    text = _render(fairaudit.audit(df, label="y", prediction="p", groups=["g"]), width=160)
    assert "│ [bold]x[/bold] " in text  # not markup
    # no emoji, no escape code: the escape and the tab are shown as escapes, in the
    # quotes of a value that holds them
    assert '(reference: ":smile: \\x1b[31mred\\tcell",' in text
    assert "\x1b" not in text


def test_a_control_sequence_in_the_data_never_reaches_a_terminal(env):
    import pandas as pd

    n = 40
    df = pd.DataFrame({"y": [0, 1] * n, "p": [1, 1, 0, 1] * (n // 2),
                       "g\x1b[31m": ["\x1b[2Jclear", "\x1b]0;title\aok"] * n})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g\x1b[31m"],
                             max_gap={"demographic_parity": 0.01})
    text = _render(result, _Terminal(), width=100)
    assert COLOURS.search(text)  # in colour, on a terminal
    # the only escape codes are the report's own styles
    assert re.sub(r"\x1b\[[0-9;]*m", "", text).count("\x1b") == 0
    assert '│ "\\x1b[2Jclear"\x1b[36m (ref)' in text
    assert '│ "\\x1b]0;title\\x07ok" ' in text
    assert "\x1b[1;3mg\\x1b[31m\x1b[0m" in text  # the grouping's name, in the title


# -- the groups a large grouping shows -------------------------------------------------


def _grouping(groups: list[tuple[int, float | None, int, bool]], reference: int
              ) -> GroupingResult:
    """A grouping of one rate from (rows, selection rate, its denominator, small) per group."""
    n = len(groups)
    figures = GroupFigures(
        columns=("g",), metrics=("selection_rate",), reasons=("no rows",), drop_reasons=(),
        keys=[(i,) for i in range(n)], labels=[f"g{i}" for i in range(n)],
        counts=[g[0] for g in groups], shares=[0.0] * n, small=[g[3] for g in groups],
        dropped=[[] for _ in groups], value=[[g[1]] for g in groups],
        numerator=[[0] for _ in groups], denominator=[[g[2]] for g in groups],
        ci=[[None] for _ in groups], versus_difference=[[None] for _ in groups],
        versus_ratio=[[None] for _ in groups], versus_difference_ci=[[None] for _ in groups],
        versus_ratio_ci=[[None] for _ in groups],
        # the audit's rule, written out: big enough, with a denominator of at least 30
        eligible=[[not g[3] and g[2] >= 30] for g in groups], reference=reference)
    return GroupingResult("g", ("g",), figures, {}, f"g{reference}", "given", {}, {})


def test_ties_go_to_the_first_lowest_the_last_highest_and_the_first_largest():
    n = view.MAX_SHOWN + 10  # 40 groups of 10 rows at 0.5, but:
    groups = [(10, 0.5, 50, False)] * n
    groups[33] = (10, 0.2, 50, False)  # the lowest, tied with 38
    groups[38] = (10, 0.2, 50, False)
    groups[31] = (10, 0.9, 50, False)  # the highest, tied with 36
    groups[36] = (10, 0.9, 50, False)
    groups[35] = (99, 0.5, 50, False)  # the largest
    groups[37] = (10, 0.0, 50, True)  # lower, but too small to judge
    groups[39] = (10, 1.0, 29, False)  # higher, but its denominator is small
    groups[34] = (10, None, 0, False)  # undefined
    grouping = _grouping(groups, reference=30)
    shown = terminal.shown_groups(grouping, ["selection_rate"])
    # the reference, 33 (first lowest), 36 (last highest), 35 (largest), then groups of
    # 10 rows in table order up to MAX_SHOWN: 0 to 25
    assert [g.label for g in shown] == [f"g{i}" for i in [*range(26), 30, 33, 35, 36]]
    assert [g.is_reference for g in shown].index(True) == 26
    # the groups shown are the grouping's own
    assert shown[27] == grouping.groups[33]


def test_a_grouping_of_many_groups_shows_its_extremes_whatever_the_ties():
    n = view.MAX_SHOWN * 3
    groups = [(100 - i % 7, 0.5, 50, False) for i in range(n)]
    groups[60] = (1, 0.1, 50, False)
    groups[80] = (1, 0.95, 50, False)
    labels = [g.label for g in terminal.shown_groups(_grouping(groups, 0),
                                                     ["selection_rate"])]
    assert len(labels) == view.MAX_SHOWN
    # the reference (0), the extremes, then the largest: 100 rows (i % 7 == 0), then
    # 99, in table order
    sizes = sorted((-(100 - i % 7), i) for i in range(n) if i not in (0, 60, 80))
    expected = {i for _, i in sizes[:view.MAX_SHOWN - 3]} | {0, 60, 80}
    assert labels == [f"g{i}" for i in sorted(expected)]


def test_a_small_grouping_shows_every_group_it_has(compas):
    race = compas.grouping("race")
    assert terminal.shown_groups(race, list(compas.catalog.terminal)) == list(race.groups)
