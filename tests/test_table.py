"""The terminal's table renderer: rich's look where a table fits, whole numbers where not."""

from __future__ import annotations

import io
import random
import re

import pytest

from fairaudit.report import table as tb
from fairaudit.report.table import BOLD, CYAN, DIM, ITALIC, YELLOW, Column, Printer, Table, Text

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _draw(t: Table, width: int, **kw: bool) -> str:
    p = Printer(width, **kw)
    p.table(t)
    return p.getvalue()


# -- the same tables drawn by rich, where they fit --------------------------------------

WORDS = ["a", "to", "the", "group", "African-American", "0.397", "[0.285, 0.472]", "x" * 9,
         "Ünïcödé", "façade", "(ref)", "demographic_parity", "-", "100.0%", "7,214"]
# rich measures the spaces after a word in characters, not cells, so it cuts a line
# ending in wide characters and a space; wide words go where lines do not wrap
WIDE = ["北京市", "\uff46\uff55\uff4c\uff4c"]  # the last in fullwidth letters
STYLES = {"": "", BOLD: "bold", DIM: "dim", CYAN: "cyan", YELLOW: "yellow", "1;31": "bold red"}


def _random_text(rng: random.Random, wide: bool = False) -> list[tuple[str, str]]:
    pieces = []
    vocabulary = WORDS + WIDE if wide else WORDS
    for i in range(rng.randint(0, 3)):
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))
        sep = ("\n" if rng.random() < 0.3 else " ") if i else ""
        pieces.append((sep + words, rng.choice(list(STYLES))))
    return pieces


def _random_table(rng: random.Random):
    """One table spec, built with fairaudit's renderer and with rich."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text as RichText

    def both(pieces, max_width=None, base=""):
        ours, theirs = Text(), RichText(style=base)
        for text, style in pieces:
            if max_width is not None:  # rich cuts a word longer than the column; we fold it
                text = " ".join(w[:max_width] for w in text.split(" "))
            ours.append(text, style)
            theirs.append(text, STYLES[style] or None)
        return ours, theirs

    # rich sets a title given as markup in italic
    title_ours, title_theirs = both(_random_text(rng), base="italic")
    ncols = rng.randint(1, 6)
    cols = []
    for _ in range(ncols):
        no_wrap = rng.random() < 0.3
        max_width = rng.choice([None, None, rng.randint(6, 30)])
        # headers as ours are: never wider than the column may be
        header = " ".join(rng.choice(WORDS[:8]) for _ in range(rng.randint(1, 2)))
        header = header[:max_width].strip() or "h"
        cols.append(dict(header=header,
                         justify=rng.choice(["left", "right"]), no_wrap=no_wrap,
                         min_width=rng.choice([None, None, rng.randint(1, 15)]),
                         max_width=max_width, ellipsis=no_wrap and max_width is not None))
    ours = Table(title_ours, [Column(**c) for c in cols])
    theirs = RichTable(title=title_theirs if title_ours.pieces else None, title_justify="left",
                       header_style="bold", box=box.HEAVY_HEAD)
    for c in cols:
        theirs.add_column(c["header"], justify=c["justify"], no_wrap=c["no_wrap"],
                          min_width=c["min_width"], max_width=c["max_width"])
    for _ in range(rng.randint(0, 5)):
        cells = [both(_random_text(rng, c["no_wrap"]), None if c["no_wrap"] else c["max_width"])
                 for c in cols]
        style = rng.choice(["", DIM])
        end = rng.random() < 0.3
        ours.add_row(*[o for o, _ in cells], style=style, end_section=end)
        theirs.add_row(*[t for _, t in cells], style=STYLES[style] or None, end_section=end)
    return ours, theirs


def _styled_chars(text: str) -> list[tuple[str, frozenset[str]]]:
    """Each visible character with the SGR codes in force (spaces show no style)."""
    out: list[tuple[str, frozenset[str]]] = []
    style: frozenset[str] = frozenset()
    at = 0
    for m in SGR.finditer(text + "\x1b[0m"):
        out += [(ch, frozenset() if ch.isspace() else style) for ch in text[at:m.start()]]
        codes = [c for c in m.group(1).split(";") if c]
        style = frozenset() if codes in ([], ["0"]) else style | set(codes)
        at = m.end()
    return out


def test_tables_that_fit_are_drawn_as_rich_draws_them():
    from rich.console import Console

    rng = random.Random(7)
    compared = 0
    for _ in range(250):
        ours, theirs = _random_table(rng)
        natural = sum(ours.widths(10_000)) + len(ours.columns) + 1
        width = natural + rng.choice([0, 0, 1, 7, 40])
        plain = io.StringIO()
        Console(file=plain, width=width, color_system=None, highlight=False).print(theirs)
        assert _draw(ours, width) == plain.getvalue()
        coloured = io.StringIO()
        Console(file=coloured, width=width, force_terminal=True, color_system="standard",
                highlight=False).print(theirs)
        assert _styled_chars(_draw(ours, width, styles=True)) == \
            _styled_chars(coloured.getvalue())
        compared += 1
    assert compared == 250


def test_cell_width_agrees_with_rich():
    from rich.cells import cell_len

    for text in ["abc", "北京市朝阳区", "Ünïcödé", "e\u0301", "😄", "\uff46\uff55", "\u200bzero"]:
        assert tb.cell_width(text) == cell_len(text), text


# -- the pieces, by hand ---------------------------------------------------------------


def _small() -> Table:
    t = Table("title", [Column("name"), Column("n", "right")])
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
    t = Table("", [Column("group", max_width=12), Column("rows", "right")])
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
    t = Table("", [Column("g"), Column("rate", "right", no_wrap=True)])
    t.add_row("a", Text("0.514", keep=True).append("\n").append("[0.498, 0.530]", DIM))
    plain = _draw(t, 80).splitlines()
    assert plain[3:5] == ["│ a │          0.514 │", "│   │ [0.498, 0.530] │"]
    coloured = _draw(t, 80, styles=True)
    assert "│ \x1b[2m[0.498, 0.530]\x1b[0m │" in coloured
    assert "│          0.514 │" in coloured


def test_escape_codes_only_with_styles_and_colours_only_without_no_color():
    t = Table(Text("by ").append("race", BOLD), [Column("group")])
    t.add_row(Text("A").append(" (ref)", CYAN))
    t.add_row(Text("B").append(" (small)", YELLOW), style=DIM)
    assert "\x1b" not in _draw(t, 80)
    full = _draw(t, 80, styles=True)
    assert f"\x1b[{ITALIC}mby \x1b[0m\x1b[1;3mrace" in full  # the title is italic
    assert "\x1b[36m (ref)\x1b[0m" in full and "\x1b[2;33m (small)\x1b[0m" in full
    assert "\x1b[1m group     \x1b[0m" in full  # the header is bold, padding and all
    no_colour = _draw(t, 80, styles=True, colours=False)
    assert "\x1b[36m" not in no_colour and "\x1b[2;33m" not in no_colour
    assert "\x1b[1m group     \x1b[0m" in no_colour
    assert "\x1b[2m B (small) \x1b[0m" in no_colour
    # widths do not count the codes
    assert SGR.sub("", full) == _draw(t, 80) == SGR.sub("", no_colour)


def _criteria() -> Table:
    t = Table("criteria", [Column("criterion"), Column("difference", "right"),
                           Column("p adj.", "right", no_wrap=True)])
    for name, value, ci, p in [("demographic_parity", "0.379", "[0.319, 0.483]", "<0.001"),
                               ("false_negative_parity", "0.397", "[0.297, 0.472]", "0.098")]:
        t.add_row(name, Text(value, keep=True).append(" ").append(ci, keep=True), p)
    return t


NUMBER = re.compile(r"\[\d\.\d{3}, \d\.\d{3}\]|<?\d\.\d{3}")


def test_a_table_squeezed_into_a_narrow_width_keeps_every_number_whole():
    numbers = sorted(["0.379", "[0.319, 0.483]", "<0.001", "0.397", "[0.297, 0.472]", "0.098"])
    # 23 + 22 + 8 cells of columns and 4 of borders
    assert len(_draw(_criteria(), 200).splitlines()[1]) == 57
    for width in (57, 56, 52, 50, 45, 40, 30, 20):
        text = _draw(_criteria(), width)
        assert sorted(NUMBER.findall(text)) == numbers, width
        # never narrower than its numbers allow (12 + 16 + 8 + 4), never wider than needed
        assert {len(line) for line in text.splitlines()[1:]} == {max(min(width, 57), 40)}
    # the difference puts its interval under its value first (16 cells); then the
    # criterion column, which has no spaces, folds its words down to 10 cells
    assert _draw(_criteria(), 52).splitlines()[4:6] == [
        "│ demographic_parity    │           0.379 │ <0.001 │",
        "│                       │  [0.319, 0.483] │        │",
    ]
    assert _draw(_criteria(), 40).splitlines()[4:-1] == [
        "│ demographi │          0.379 │ <0.001 │",
        "│ c_parity   │ [0.319, 0.483] │        │",
        "│ false_nega │          0.397 │  0.098 │",
        "│ tive_parit │ [0.297, 0.472] │        │",
        "│ y          │                │        │",
    ]


def test_a_header_wraps_before_a_column_of_numbers_is_cut():
    t = Table("", [Column("criterion"), Column("difference, trusted", "right", no_wrap=True)])
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
    t = Table("rates", [Column("group", repeat=True),
                        *[Column(c, "right", no_wrap=True) for c in ("a", "b", "c")]])
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
    # two parts where two numbers fit beside the narrowest group
    assert [line for line in _draw(t, 42).splitlines() if "group" in line] == [
        "┃ group      ┃           a ┃           b ┃",
        "┃ group            ┃           c ┃"]
    # without a column to repeat, a table is drawn whole, wider than asked
    whole = Table("", [Column("group"), *[Column(c, "right", no_wrap=True) for c in "abc"]])
    whole.add_row("African-American", "0.123456789", "0.223456789", "0.323456789")
    assert {len(line) for line in _draw(whole, 40).splitlines()} == {12 + 3 * 13 + 5}


def test_the_widest_wrappable_columns_give_way_first():
    assert tb.shrink([10, 30, 20], [5, 5, 5], 60) == [10, 30, 20]
    assert tb.shrink([10, 30, 20], [5, 5, 5], 50) == [10, 20, 20]
    # level 15 leaves one cell, which goes to the first column held at the level
    assert tb.shrink([10, 30, 20], [5, 5, 5], 41) == [10, 16, 15]
    assert tb.shrink([10, 30, 20], [5, 25, 5], 41) == [8, 25, 8]
    assert tb.shrink([10, 30, 20], [8, 25, 9], 30) == [8, 25, 9]  # the lows, even if wider


@pytest.mark.parametrize("bad", [("a",), ("a", "b", "c")])
def test_a_row_must_have_a_cell_per_column(bad):
    with pytest.raises(ValueError, match="cells for 2 columns"):
        _small().add_row(*bad)


def test_ascii_boxes_for_streams_that_are_not_unicode():
    assert _draw(_small(), 80, ascii_only=True).splitlines()[1:] == [
        "+-----------------+",
        "| name    |     n |",
        "|---------+-------|",
        "| alpha   |     1 |",
        "| b       | 1,234 |",
        "|---------+-------|",
        "| overall | 1,235 |",
        "+-----------------+",
    ]
