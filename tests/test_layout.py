"""The terminal's tables: drawn by rich, in parts when too wide, numbers whole in any width."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from fairaudit.report import layout
from fairaudit.report.layout import Column, Pair, ReportTable

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _draw(t: ReportTable, width: int, *, colour: bool = False, no_color: bool = False,
          encoding: str = "utf-8") -> str:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, newline="")
    console = Console(file=out, width=width, height=25, force_terminal=colour,
                      color_system="standard" if colour else None, no_color=no_color)
    t.print(console, width)
    out.flush()
    return raw.getvalue().decode(encoding)


def _small() -> ReportTable:
    t = ReportTable("title", [Column("name"), Column("n", "right")])
    t.add_row("alpha", "1")
    t.add_row("b", "1,234", end_section=True)
    t.add_row("overall", "1,235")
    return t


def test_alignment_and_section_separator():
    # "overall" is the widest name (7) and "1,234" the widest count (5); one space of
    # padding each side; the title is padded to the table's 19 cells
    assert _draw(_small(), 80) == (
        "title              \n"
        "┏━━━━━━━━━┳━━━━━━━┓\n"
        "┃ name    ┃     n ┃\n"
        "┡━━━━━━━━━╇━━━━━━━┩\n"
        "│ alpha   │     1 │\n"
        "│ b       │ 1,234 │\n"
        "├─────────┼───────┤\n"
        "│ overall │ 1,235 │\n"
        "└─────────┴───────┘\n")


def test_a_long_group_name_wraps_at_spaces_and_a_long_word_folds():
    t = ReportTable("", [Column("group", max_width=12), Column("rows", "right")])
    t.add_row("Department of Long Names", "12")
    t.add_row("abcdefghijklmnopq", "3")
    t.add_row("北京市 朝阳区 東城区", "4")  # six cells a word
    assert _draw(t, 80).splitlines()[3:-1] == [
        "│ Department   │   12 │",
        "│ of Long      │      │",
        "│ Names        │      │",
        "│ abcdefghijkl │    3 │",
        "│ mnopq        │      │",
        "│ 北京市       │    4 │",
        "│ 朝阳区       │      │",
        "│ 東城区       │      │",
    ]


def test_a_cell_of_several_lines_with_a_dim_second_line():
    t = ReportTable("", [Column("g"), Column("rate", "right", "numbers")])
    t.add_row("a", Text("0.514").append("\n").append("[0.498, 0.530]", style="dim"))
    assert _draw(t, 80).splitlines()[3:5] == ["│ a │          0.514 │",
                                              "│   │ [0.498, 0.530] │"]
    coloured = _draw(t, 80, colour=True)
    assert "│ \x1b[2m[0.498, 0.530]\x1b[0m │" in coloured
    assert "│          0.514 │" in coloured


def test_escape_codes_only_on_a_terminal_and_colours_only_without_no_color():
    t = ReportTable(Text("by ", style="italic").append("race", style="bold"),
                    [Column("group")])
    t.add_row(Text("A").append(" (ref)", style="cyan"))
    t.add_row(Text("B").append(" (small)", style="yellow"), style="dim")
    assert "\x1b" not in _draw(t, 80)
    full = _draw(t, 80, colour=True)
    assert "\x1b[3mby \x1b[0m\x1b[1;3mrace\x1b[0m" in full  # the title is italic
    assert "\x1b[36m (ref)\x1b[0m" in full and "\x1b[2;33m (small)\x1b[0m" in full
    # the header is bold, padding and all: one code for a run of one style
    assert "┃\x1b[1m group     \x1b[0m┃" in full
    no_colour = _draw(t, 80, colour=True, no_color=True)
    assert "\x1b[36m" not in no_colour and "\x1b[2;33m" not in no_colour
    assert "┃\x1b[1m group     \x1b[0m┃" in no_colour
    assert "│\x1b[2m B\x1b[0m\x1b[2m (small)\x1b[0m\x1b[2m \x1b[0m│" in no_colour
    # widths do not count the codes
    assert SGR.sub("", full) == _draw(t, 80) == SGR.sub("", no_colour)


def _criteria() -> ReportTable:
    t = ReportTable("criteria", [Column("criterion"), Column("difference", "right", "numbers"),
                                 Column("p adj.", "right", "numbers")])
    for name, value, ci, p in [("demographic_parity", "0.379", "[0.319, 0.483]", "<0.001"),
                               ("false_negative_parity", "0.397", "[0.297, 0.472]", "0.098")]:
        t.add_row(name, Pair(value, ci), p)
    return t


NUMBER = re.compile(r"\[\d\.\d{3}, \d\.\d{3}\]|<?\d\.\d{3}")


def test_a_table_squeezed_into_a_narrow_width_keeps_every_number_whole():
    numbers = sorted(["0.379", "[0.319, 0.483]", "<0.001", "0.397", "[0.297, 0.472]", "0.098"])
    # 23 + 22 + 8 cells of columns and 4 of borders
    assert {len(line) for line in _draw(_criteria(), 200).splitlines()} == {57}
    for width in (57, 56, 52, 50, 45, 40, 30, 20):
        text = _draw(_criteria(), width)
        assert sorted(NUMBER.findall(text)) == numbers, width
        # the intervals under their values take 23 + 16 + 8 + 4 cells; the criterion column
        # then narrows, never below what the numbers allow (12 + 16 + 8 + 4)
        assert {len(line) for line in text.splitlines()} == \
            {57 if width >= 57 else max(min(width, 51), 40)}
    # in 56 the intervals go under their values (16 cells) before the criterion column,
    # which has no spaces, folds its words, down to 10 cells
    assert _draw(_criteria(), 56).splitlines()[4:6] == [
        "│ demographic_parity    │          0.379 │ <0.001 │",
        "│                       │ [0.319, 0.483] │        │",
    ]
    assert _draw(_criteria(), 40).splitlines()[4:-1] == [
        "│ demographi │          0.379 │ <0.001 │",
        "│ c_parity   │ [0.319, 0.483] │        │",
        "│ false_nega │          0.397 │  0.098 │",
        "│ tive_parit │ [0.297, 0.472] │        │",
        "│ y          │                │        │",
    ]


def test_a_header_wraps_before_a_column_of_numbers_is_cut():
    t = ReportTable("", [Column("criterion"),
                         Column("difference, trusted", "right", "numbers")])
    t.add_row("demographic_parity", "0.144")
    # 20 + 21 + 3 cells wide; in 36 the numbers' column narrows to its header's longest
    # word, "difference," (11 + 2)
    assert _draw(t, 36).splitlines() == [
        "┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃                    ┃ difference, ┃",  # a header sits at the foot of its box
        "┃ criterion          ┃     trusted ┃",
        "┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│ demographic_parity │       0.144 │",
        "└────────────────────┴─────────────┘",
    ]


def test_a_table_too_wide_at_its_narrowest_is_drawn_in_parts():
    t = ReportTable("rates", [Column("group", repeat=True),
                              *[Column(c, "right", "numbers") for c in ("a", "b", "c")]])
    t.add_row("African-American", "0.123456789", "0.223456789", "0.323456789")
    # 18 + 3 * 13 + 5 = 62 cells: one part in 62, three (the group in each) in 40,
    # where the narrowest group (10 + 2) and two numbers need 12 + 26 + 4 = 42
    assert len(_draw(t, 62).splitlines()) == 6
    assert _draw(t, 40) == (
        "rates                             \n"
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓\n"
        "┃ group            ┃           a ┃\n"
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩\n"
        "│ African-American │ 0.123456789 │\n"
        "└──────────────────┴─────────────┘\n"
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓\n"
        "┃ group            ┃           b ┃\n"
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩\n"
        "│ African-American │ 0.223456789 │\n"
        "└──────────────────┴─────────────┘\n"
        "┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓\n"
        "┃ group            ┃           c ┃\n"
        "┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩\n"
        "│ African-American │ 0.323456789 │\n"
        "└──────────────────┴─────────────┘\n")
    # two parts where two numbers fit beside the narrowest group, which folds
    assert _draw(t, 42).splitlines()[1:7] == [
        "┏━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃ group      ┃           a ┃           b ┃",
        "┡━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│ African-Am │ 0.123456789 │ 0.223456789 │",
        "│ erican     │             │             │",
        "└────────────┴─────────────┴─────────────┘"]
    assert [line for line in _draw(t, 42).splitlines() if "group" in line] == [
        "┃ group      ┃           a ┃           b ┃",
        "┃ group            ┃           c ┃"]
    # without a column to repeat, a table is drawn whole, wider than asked
    whole = ReportTable("", [Column("group"),
                             *[Column(c, "right", "numbers") for c in "abc"]])
    whole.add_row("African-American", "0.123456789", "0.223456789", "0.323456789")
    assert {len(line) for line in _draw(whole, 40).splitlines()} == {12 + 3 * 13 + 5}


def test_a_label_is_cut_short_with_an_ellipsis_down_to_ten_cells():
    t = ReportTable("", [Column("group", kind="label", max_width=12, repeat=True),
                         Column("feature", repeat=True), Column("rows", "right", "numbers")])
    t.add_row(Text("a very long group name").append(" (small)", style="yellow"), "income",
              "1,234")
    t.add_row("short", "age", "12")
    assert _draw(t, 80).splitlines()[3] == "│ a very long… │ income  │ 1,234 │"
    # 12 + 9 + 7 + 4 = 32 cells at its narrowest, and no narrower
    for width in (30, 20):
        assert _draw(t, width).splitlines()[3] == "│ a very lo… │ income  │ 1,234 │"
    # a stream that cannot take "…" gets the name cut without it
    assert _draw(t, 30, encoding="ascii").splitlines()[3] == "| a very lon | income  | 1,234 |"


def test_the_widest_text_columns_give_way_first():
    assert layout.shrink([10, 30, 20], [5, 5, 5], 60) == [10, 30, 20]
    assert layout.shrink([10, 30, 20], [5, 5, 5], 50) == [10, 20, 20]
    # level 15 leaves one cell, which goes to the first column held at the level
    assert layout.shrink([10, 30, 20], [5, 5, 5], 41) == [10, 16, 15]
    assert layout.shrink([10, 30, 20], [5, 25, 5], 41) == [8, 25, 8]
    assert layout.shrink([10, 30, 20], [8, 25, 9], 30) == [8, 25, 9]  # the lows, even if wider


@pytest.mark.parametrize("bad", [("a",), ("a", "b", "c")])
def test_a_row_must_have_a_cell_per_column(bad):
    with pytest.raises(ValueError, match="cells for 2 columns"):
        _small().add_row(*bad)


def test_ascii_boxes_for_streams_that_are_not_unicode():
    assert _draw(_small(), 80, encoding="ascii").splitlines()[1:] == [
        "+-----------------+",
        "| name    |     n |",
        "|---------+-------|",
        "| alpha   |     1 |",
        "| b       | 1,234 |",
        "|---------+-------|",
        "| overall | 1,235 |",
        "+-----------------+",
    ]


def test_user_text_is_never_markup_nor_a_control_sequence():
    t = ReportTable(layout.clean("by \x1b[2J"), [Column("group"), Column("n", "right")])
    t.add_row(layout.clean("[bold red]x[/] :smile: \x1b[2J\x1b]0;title\a\tend\r"), "1")
    text = _draw(t, 80, colour=True)
    assert "\x1b[2J" not in text and "\x1b]" not in text and "\a" not in text
    assert "by \\x1b[2J" in text
    # escape, bell, tab and carriage return shown as escapes
    assert "│ [bold red]x[/] :smile: \\x1b[2J\\x1b]0;title\\x07\\tend\\r │" in SGR.sub("", text)


# -- numbers whole in any width, parts within it -----------------------------------------

_NUMBERS = st.one_of(
    st.floats(0, 1).map(lambda x: f"{x:.3f}"),
    st.integers(0, 10**7).map(lambda n: f"{n:,}"),
    st.tuples(st.floats(0, 1), st.floats(0, 1)).map(lambda p: Pair(f"{p[0]:.3f}",
                                                                   f"[{p[0]:.3f}, {p[1]:.3f}]")),
)
_WORDS = st.lists(st.sampled_from(["a", "group", "Ünïcödé", "北京市", "demographic_parity",
                                   "(ref)", "x" * 25]), min_size=1, max_size=4).map(" ".join)
FIGURE = re.compile(r"\[\d\.\d{3}, \d\.\d{3}\]|\d[\d,.]*")


def _figures(cell: layout.Cell) -> list[str]:
    if isinstance(cell, Pair):
        return [cell.value, cell.interval]
    return [str(cell)]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 5), st.data(),
       st.integers(20, 200))
def test_numbers_are_never_cut_and_parts_fit_where_they_can(repeat, numbers, rows, data,
                                                            width):
    # headers without digits, which the figures are told by
    columns = [Column(f"name {'abc'[i]}", repeat=True) for i in range(repeat)]
    columns += [Column(f"rate {'abcdef'[i]}", "right", "numbers") for i in range(numbers)]
    t = ReportTable("title", columns)
    cells = [[*data.draw(st.lists(_WORDS, min_size=repeat, max_size=repeat)),
              *data.draw(st.lists(_NUMBERS, min_size=numbers, max_size=numbers))]
             for _ in range(rows)]
    for row in cells:
        t.add_row(*row)
    text = _draw(t, width)
    assert sorted(FIGURE.findall(text)) == sorted(
        f for row in cells for c in row[repeat:] for f in _figures(c))
    # a repeated column needs at most 10 + 2 cells (its words fold) or its header's;
    # beside it the widest column of numbers (its longest line), and the borders
    widest = max([len("rate a"), *(len(f) for row in cells for c in row[repeat:]
                                   for f in _figures(c))]) + 2
    if repeat * 12 + widest + repeat + 2 <= width:
        assert max(cell_len(line) for line in text.splitlines()) <= width
