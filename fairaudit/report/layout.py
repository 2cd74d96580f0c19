"""The terminal report's tables, drawn with rich, in parts when too wide for the terminal.

rich lays out a table that fits. What it cannot do is decided here, before rich
draws: a table too wide for the terminal even with its text folded is drawn in
parts, one under the other, each repeating the row-name columns; a value and its
interval go one under the other before a column of them gets too narrow; and no
column of numbers is ever made narrower than its longest number, so that a
number is never cut or wrapped (a part that cannot fit is drawn wider than the
terminal instead).

Every user string goes through :func:`clean` and into a ``rich.text.Text``,
which rich never reads as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    OverflowMethod,
    RenderResult,
)
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..text import printable

Justify = Literal["left", "right"]
# text: wraps at spaces and folds words longer than the column;
# numbers: never wrapped or cut, the column as wide as its longest line;
# label: one line, cut short with an ellipsis past max_width or in a narrow terminal
Kind = Literal["text", "numbers", "label"]

# how narrow a text or label column may get when the terminal is narrow; a header's
# words are never folded
FOLD_FLOOR = 10


def clean(text: str) -> str:
    """User text as the terminal shows it: escape, bidirectional, zero-width and other
    control or invisible characters as escapes (``\\x1b``, ``\\u202e``), which a
    terminal can neither act on nor hide (:func:`fairaudit.text.printable`)."""
    return printable(text)


@dataclass(frozen=True)
class Pair:
    """A value and its interval, each kept whole: side by side where the column has
    room, the interval under the value where it has not."""

    value: str
    interval: str = ""

    def text(self, stacked: bool) -> Text:
        if not self.interval:
            return Text(self.value)
        return Text(self.value + ("\n" if stacked else " ") + self.interval)


Cell = Text | Pair | str


@dataclass(frozen=True)
class Column:
    """One column: its header, how it is justified and broken (:data:`Kind`), and
    whether every part of a table drawn in parts repeats it (the row names)."""

    header: str
    justify: Justify = "left"
    kind: Kind = "text"
    min_width: int = 0
    max_width: int | None = None
    repeat: bool = False


def _lines(text: str) -> int:
    return max(cell_len(line) for line in text.split("\n"))


def _word(text: str) -> int:
    return max((cell_len(w) for w in text.split()), default=0)


@dataclass(frozen=True)
class _Widths:
    """A column's widths, padding included: as wide as its longest line, as narrow as
    its longest word, and at its narrowest (long words folded, numbers whole); and the
    longest line of its body, which no width goes below in a column of numbers."""

    natural: int
    word: int
    floor: int
    body: int


@dataclass(frozen=True)
class _Row:
    cells: tuple[Cell, ...]
    style: str
    end_section: bool


class ReportTable:
    """A titled table of :class:`Column`; rows are added, then :meth:`print` draws it."""

    def __init__(self, title: Text | str, columns: Sequence[Column]) -> None:
        # rich sets a title given as a string in italic, and leaves a Text's style alone
        self.title = title if isinstance(title, Text) else Text(title, style="italic")
        self.columns = tuple(columns)
        self.rows: list[_Row] = []

    def add_row(self, *cells: Cell, style: str = "", end_section: bool = False) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(_Row(cells, style, end_section))

    def print(self, console: Console, width: int) -> None:
        """Draw the table on ``console`` in ``width`` cells, in parts if need be."""
        sizes = [(self._measure(i, False), self._measure(i, True))
                 for i in range(len(self.columns))]
        for k, cols in enumerate(self.parts([s[1] for s in sizes], width)):
            stacked = self.stacked({i: sizes[i] for i in cols}, width)
            part = self._part(console, {i: sizes[i][i in stacked] for i in cols}, stacked,
                              width, first=k == 0)
            # crop=False: a part that cannot fit is drawn whole, wider than the terminal
            console.print(_Joined(part), crop=False)

    def _measure(self, i: int, stacked: bool) -> _Widths:
        col = self.columns[i]
        body = [_plain(row.cells[i], stacked) for row in self.rows]
        header_word = _word(col.header)
        n = max([_lines(col.header), *map(_lines, body)])
        longest = max(map(_lines, body), default=0)
        if col.kind == "numbers":
            # the header may wrap at its spaces; the numbers never do
            w = f = max(header_word, longest)
        elif col.kind == "label":
            w, f = n, max(header_word, min(n, FOLD_FLOOR))
        else:
            words = [_word(text) for text in body]
            w = max([header_word, *words])
            f = max([header_word, *(min(x, FOLD_FLOOR) for x in words)])
        lo, hi = col.min_width, col.max_width
        n, w, f, longest = (max(lo, x if hi is None else min(hi, x)) + 2
                            for x in (n, w, f, longest))
        return _Widths(n, w, f, longest)

    def parts(self, floor: Sequence[_Widths], width: int) -> list[list[int]]:
        """The columns of each part (one part if the table fits ``width`` at its narrowest):
        the repeated columns and as many others as fit beside them, in order."""
        repeat = [i for i, c in enumerate(self.columns) if c.repeat]
        if _total(m.floor for m in floor) <= width or not repeat:
            return [list(range(len(self.columns)))]
        parts: list[list[int]] = []
        for i in (i for i in range(len(self.columns)) if i not in repeat):
            cols = sorted({*repeat, *(parts[-1] if parts else ()), i})
            if parts and _total(floor[j].floor for j in cols) <= width:
                parts[-1].append(i)
            else:
                parts.append([i])
        return [sorted({*repeat, *part}) for part in parts]

    @staticmethod
    def stacked(sizes: dict[int, tuple[_Widths, _Widths]], width: int) -> set[int]:
        """The columns whose pairs go one under the other: the widest first, until the
        part fits ``width`` with its text wrapped at spaces but no word folded."""
        stacked: set[int] = set()
        pairs = [i for i, (side, under) in sizes.items() if under.word < side.word]
        for i in sorted(pairs, key=lambda i: -sizes[i][0].word):
            if _total(s[i in stacked].word for i, s in sizes.items()) <= width:
                break
            stacked.add(i)
        return stacked

    def _part(self, console: Console, sizes: dict[int, _Widths], stacked: set[int],
              width: int, first: bool) -> Table:
        natural = [m.natural for m in sizes.values()]
        widths = widths_for(natural, [m.word for m in sizes.values()],
                            [m.floor for m in sizes.values()], width - len(sizes) - 1)
        # rich ends a cut cell with "…", which a stream that is not Unicode cannot take
        ellipsis: OverflowMethod = "ellipsis" if console.encoding.startswith("utf") else "crop"
        # a part that cannot fit even at its narrowest is given its own width (rich would
        # otherwise narrow every column, numbers too, to the console's)
        total = _total(widths)
        t = Table(title=self.title if first and self.title.plain else None,
                  title_justify="left", header_style="bold", box=box.HEAVY_HEAD,
                  width=total if total > width else None)
        # a table that fits is laid out by rich; a narrowed one at the widths found here
        narrowed = widths != natural
        for (i, m), w in zip(sizes.items(), widths, strict=True):
            col = self.columns[i]
            fixed = w - 2 if narrowed else None
            # a header wraps at its spaces, over numbers too
            header = Text(col.header, no_wrap=False)
            if col.kind == "numbers":
                t.add_column(header, justify=col.justify, no_wrap=True, width=fixed,
                             min_width=m.body - 2)
            else:
                t.add_column(header, justify=col.justify, width=fixed,
                             overflow=ellipsis if col.kind == "label" else "fold",
                             min_width=col.min_width or None, max_width=col.max_width)
        for row in self.rows:
            t.add_row(*[_text(row.cells[i], i in stacked, self.columns[i].kind)
                        for i in sizes], style=row.style or None, end_section=row.end_section)
        return t


def _total(widths: Iterable[int]) -> int:
    """The width of a table of columns ``widths`` wide, with their borders."""
    widths = list(widths)
    return sum(widths) + len(widths) + 1


def widths_for(natural: Sequence[int], word: Sequence[int], floor: Sequence[int],
               budget: int) -> list[int]:
    """Column widths adding up to at most ``budget`` if they can: the widest columns
    give way first, down to their longest word, then folding their words."""
    if sum(word) <= budget:
        return shrink(natural, word, budget)
    return shrink(word, floor, budget)


class _Joined:
    """A renderable drawn with its runs of one style joined, so that a styled cell is
    one escape code, not one for each padding space and piece of text."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from Segment.simplify(console.render(self.renderable, options))


def _text(cell: Cell, stacked: bool, kind: Kind) -> Text:
    text = cell.text(stacked) if isinstance(cell, Pair) else \
        cell if isinstance(cell, Text) else Text(cell)
    if kind == "label":
        # one line, cut short at the width of its column (its header may still wrap)
        text = text.copy()
        text.no_wrap = True
    return text


def _plain(cell: Cell, stacked: bool) -> str:
    if isinstance(cell, Pair):
        return cell.text(stacked).plain
    return cell.plain if isinstance(cell, Text) else cell


def shrink(high: Sequence[int], low: Sequence[int], budget: int) -> list[int]:
    """Widths between ``low`` and ``high`` adding up to at most ``budget``: the widest
    come down together, as far as their lows allow (the lows, if even they do not fit)."""
    if sum(high) <= budget:
        return list(high)
    if sum(low) >= budget:
        return list(low)

    def at(level: int) -> list[int]:
        return [max(lo, min(hi, level)) for hi, lo in zip(high, low, strict=True)]

    below, above = 0, max(high)  # at(below) fits, at(above) does not
    while above - below > 1:
        mid = (below + above) // 2
        if sum(at(mid)) <= budget:
            below = mid
        else:
            above = mid
    widths = at(below)
    spare = budget - sum(widths)
    for i, (hi, w) in enumerate(zip(high, widths, strict=True)):
        if spare and w == below and hi > below:
            widths[i] += 1
            spare -= 1
    return widths
