"""Box-drawn text tables for the terminal report, with no rendering library.

A table has a title line above it, a bold header in a heavy box (``┏━┳┓``) and
light rows below (``│``, ``├─┼┤`` between sections, ``└─┴┘`` at the foot). Cells
are padded by one space on each side, justified left or right, and may hold
several lines. Widths are counted in terminal cells (an East Asian wide
character takes two) on the text without escape codes.

A table as wide as its contents is drawn at that width. A wider one is narrowed
the way a reader expects: the widest columns that may wrap give way first,
wrapping at spaces; then their long words fold. Cells of ``no_wrap`` columns and
pieces appended with ``keep=True`` (a number, an interval) are never broken or
cut: a table of numbers that cannot be narrowed enough is drawn wider than asked.

Styles are SGR parameter strings (``"1"`` bold, ``"2;33"`` dim yellow); a
:class:`Printer` writes them as escape codes only when asked to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Literal

BOLD = "1"
DIM = "2"
ITALIC = "3"
RED = "31"
GREEN = "32"
YELLOW = "33"
CYAN = "36"
BOLD_RED = f"{BOLD};{RED}"

Justify = Literal["left", "right"]
# one piece of styled text: (text, style, kept whole)
Piece = tuple[str, str, bool]
# one drawn line: (text, style) segments
Line = list[tuple[str, str]]

_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")
# below this many cells a column no longer folds its words (headers never fold)
FOLD_FLOOR = 10
# characters a terminal would act on rather than show: dropped, or (escape and the
# rest, which could restyle or move the cursor) shown as a replacement character
_CONTROL = {**dict.fromkeys(map(ord, "\a\b\v\f\r")),
            **{c: "\ufffd" for c in [*range(0x20), *range(0x7F, 0xA0)]
               if chr(c) not in "\a\b\v\f\r\n\t"}}


@lru_cache(maxsize=4096)
def _char_width(ch: str) -> int:
    code = ord(ch)
    if code < 32 or 0x7F <= code < 0xA0:
        return 0
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(map(_char_width, text))


def clean(text: str) -> str:
    """User text as a cell shows it: tabs expanded, carriage returns and bells dropped,
    escape and other control characters shown as ``\ufffd``."""
    return text.translate(_CONTROL).expandtabs(8)


@lru_cache(maxsize=256)
def combine(under: str, over: str) -> str:
    """The style of ``over`` laid on ``under``: attributes add up, ``over``'s colour wins."""
    if not under or under == over:
        return over
    if not over:
        return under
    codes = under.split(";") + over.split(";")
    attrs = sorted({c for c in codes if int(c) < 30}, key=int)
    colours = [c for c in codes if int(c) >= 30]
    return ";".join(attrs + colours[-1:])


class Text:
    """Styled text: pieces of (text, style, kept whole); ``\\n`` starts a new line."""

    __slots__ = ("_plain", "pieces")

    def __init__(self, text: str = "", style: str = "", *, keep: bool = False) -> None:
        self.pieces: list[Piece] = [(text, style, keep)] if text else []
        self._plain: str | None = text

    def append(self, text: str, style: str = "", *, keep: bool = False) -> Text:
        if text:
            self.pieces.append((text, style, keep))
            self._plain = None
        return self

    @property
    def plain(self) -> str:
        if self._plain is None:
            self._plain = "".join(p[0] for p in self.pieces)
        return self._plain

    def _scan(self) -> str:
        """The plain text with the spaces of kept pieces hidden from the word splitter."""
        return "".join(t.replace(" ", "\0") if keep and " " in t else t
                       for t, _, keep in self.pieces)

    def _kept(self) -> list[tuple[int, int]]:
        """Where the kept pieces are in the plain text."""
        spans = []
        at = 0
        for text, _, keep in self.pieces:
            if keep:
                spans.append((at, at + len(text)))
            at += len(text)
        return spans

    def _slice(self, start: int, end: int, base: str) -> Line:
        out: Line = []
        at = 0
        for text, style, _ in self.pieces:
            stop = at + len(text)
            if stop > start and at < end:
                out.append((text[max(start - at, 0):min(end, stop) - at], combine(base, style)))
            at = stop
            if at >= end:
                break
        return out


def _as_text(value: Text | str) -> Text:
    return value if isinstance(value, Text) else Text(value)


def _hard_lines(plain: str) -> list[tuple[int, int]]:
    if "\n" not in plain:
        return [(0, len(plain))]
    spans = []
    at = 0
    for part in plain.split("\n"):
        spans.append((at, at + len(part)))
        at += len(part) + 1
    return spans


def _chop(word: str, width: int) -> list[str]:
    """``word`` cut into pieces at most ``width`` cells wide."""
    if word.isascii():
        return [word[i:i + width] for i in range(0, len(word), width)]
    chunks: list[str] = []
    start = used = 0
    for i, ch in enumerate(word):
        w = _char_width(ch)
        if used + w > width and i > start:
            chunks.append(word[start:i])
            start, used = i, 0
        used += w
    chunks.append(word[start:])
    return chunks


def breaks(plain: str, scan: str, width: int, fold: bool = True) -> list[int]:
    """Offsets where a line of text goes on to a new line to fit ``width`` cells.

    Words (with the spaces after them) go on the line while they fit; a word
    longer than a whole line is folded across lines when ``fold`` is set.
    ``scan`` is ``plain`` with unbreakable spaces masked.
    """
    out: list[int] = []
    used = 0
    for m in _WORD.finditer(scan):
        start, end = m.span()
        word = plain[start:end]
        need = cell_width(word.rstrip())
        if width - used >= need:
            used += cell_width(word)
        elif need > width and fold:
            chunks = _chop(word, width)
            for chunk in chunks[:-1]:
                if start:
                    out.append(start)
                start += len(chunk)
            if start:
                out.append(start)
            used = cell_width(chunks[-1])
        elif used and start:
            out.append(start)
            used = cell_width(word)
    return out


def _fit(line: Line, width: int, justify: Justify, base: str, ellipsis: str | None
         ) -> Line:
    """A line of segments made exactly ``width`` cells wide."""
    if justify == "right":
        while line and not line[-1][0].rstrip():
            line.pop()
        if line:
            line[-1] = (line[-1][0].rstrip(), line[-1][1])
    used = sum(cell_width(t) for t, _ in line)
    if used > width:
        line = _crop(line, width - 1 if ellipsis else width)
        if ellipsis:
            line.append((ellipsis, line[-1][1] if line else base))
        used = sum(cell_width(t) for t, _ in line)
    pad = (" " * (width - used), base)
    return [pad, *line] if justify == "right" else [*line, pad]


def _crop(line: Line, width: int) -> Line:
    out: Line = []
    left = width
    for text, style in line:
        w = cell_width(text)
        if w <= left:
            out.append((text, style))
            left -= w
            continue
        cut = ""
        for ch in text:
            cw = _char_width(ch)
            if cw > left:
                break
            cut += ch
            left -= cw
        out.append((cut + " " * left, style))
        break
    return out


def wrap(text: Text, width: int, *, justify: Justify = "left", base: str = "",
         no_wrap: bool = False, ellipsis: str | None = None, pad: bool = True) -> list[Line]:
    """``text`` as lines of at most ``width`` cells, each padded to ``width`` if ``pad``."""
    plain = text.plain
    scan = None
    lines: list[Line] = []
    for start, end in _hard_lines(plain):
        if no_wrap or cell_width(plain[start:end]) <= width:
            edges = [start, end]
        else:
            if scan is None:
                scan = text._scan()
            cuts = breaks(plain[start:end], scan[start:end], width)
            edges = [start, *(start + c for c in cuts), end]
        for a, b in pairwise(edges):
            excess = (b - a) - width
            if excess > 0 and not no_wrap:
                # the spaces after the last word may hang past the edge; drop them
                trailing = _TRAILING_SPACE.search(plain, a, b)
                if trailing:
                    b -= min(excess, trailing.end() - trailing.start())
            line = text._slice(a, b, base)
            lines.append(_fit(line, width, justify, base, ellipsis) if pad else line)
    return lines


@dataclass(frozen=True)
class Column:
    """How one column is laid out.

    ``no_wrap`` keeps every body cell on its own lines, never broken; the
    header may still wrap at its spaces. ``min_width`` and ``max_width`` bound
    the text width (padding excluded); ``ellipsis`` ends a no-wrap cell cut at
    ``max_width``, or narrower in a narrowed table, with an ellipsis. A table
    too wide for its width even with every column at its narrowest is drawn in
    parts, one under the other, each with the ``repeat`` columns (the row
    names) and as many others as fit.
    """

    header: str
    justify: Justify = "left"
    no_wrap: bool = False
    min_width: int | None = None
    max_width: int | None = None
    ellipsis: bool = False
    repeat: bool = False


@dataclass(frozen=True)
class Box:
    """The characters of a box: rules as ``left, line, cross, right``, bars as ``left,
    divider, right``, and the mark ending a cut cell."""

    top: str
    head: str
    head_rule: str
    body: str
    rule: str
    bottom: str
    ellipsis: str


HEAVY_HEAD = Box("┏━┳┓", "┃┃┃", "┡━╇┩", "│││", "├─┼┤", "└─┴┘", "…")
ASCII = Box("+--+", "|||", "|-+|", "|||", "|-+|", "+--+", "~")


@dataclass
class _Row:
    cells: list[Text]
    style: str
    end_section: bool


def _measure(text: Text, no_wrap: bool, header: bool) -> tuple[int, int, int]:
    """(natural, word, fold) widths of a cell: on one line per hard line; broken only
    at spaces; with long words folded too (never a kept piece, never a header word)."""
    plain = text.plain
    natural = max(cell_width(plain[a:b]) for a, b in _hard_lines(plain))
    if no_wrap or not plain:
        return natural, natural, natural
    scan = text._scan()
    spans = text._kept()
    word = fold = 0
    for m in _WORD.finditer(scan):
        w = cell_width(plain[m.start():m.end()].rstrip())
        word = max(word, w)
        kept = header or any(a < m.end() and m.start() < b for a, b in spans)
        fold = max(fold, w if kept else min(w, FOLD_FLOOR))
    return natural, word, fold


def shrink(high: Sequence[int], low: Sequence[int], budget: int) -> list[int]:
    """Widths between ``low`` and ``high`` adding up to at most ``budget``: the widest
    columns come down together, as far as their lows allow."""
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


class Table:
    """A titled table; rows are added and then drawn by a :class:`Printer`."""

    def __init__(self, title: Text | str, columns: Sequence[Column]) -> None:
        self.title = _as_text(title)
        self.columns = tuple(columns)
        self.rows: list[_Row] = []

    def add_row(self, *cells: Text | str, style: str = "", end_section: bool = False
                ) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(_Row([_as_text(c) for c in cells], style, end_section))

    def _limits(self) -> tuple[list[int], list[int], list[int]]:
        """Each column's (natural, word-wrapped, folded) width, padding included."""
        high, word, fold = [], [], []
        for i, col in enumerate(self.columns):
            sizes = [_measure(Text(col.header), False, True)]
            sizes += [_measure(row.cells[i], col.no_wrap, False) for row in self.rows]
            n, w, f = (max(s[k] for s in sizes) for k in range(3))
            if col.ellipsis:  # cut short rather than fold
                f = max(sizes[0][2], min(f, FOLD_FLOOR))
            if col.min_width is not None:
                n, w, f = max(n, col.min_width), max(w, col.min_width), max(f, col.min_width)
            if col.max_width is not None:
                n, w, f = min(n, col.max_width), min(w, col.max_width), min(f, col.max_width)
            high.append(n + 2)
            word.append(w + 2)
            fold.append(f + 2)
        return high, word, fold

    def widths(self, width: int) -> list[int]:
        """Each column's width, padding included, for a table at most ``width`` wide."""
        high, word, fold = self._limits()
        budget = width - len(self.columns) - 1
        widths = shrink(high, word, budget)
        return widths if sum(widths) <= budget else shrink(word, fold, budget)

    def _parts(self, width: int) -> list[list[int]]:
        """The columns of each part of a table drawn in parts (one part if it fits)."""
        fold = self._limits()[2]
        repeat = [i for i, c in enumerate(self.columns) if c.repeat]
        if sum(fold) + len(fold) + 1 <= width or not repeat:
            return [list(range(len(self.columns)))]
        parts: list[list[int]] = []
        for i in (i for i in range(len(self.columns)) if i not in repeat):
            cols = sorted({*repeat, *(parts[-1] if parts else ()), i})
            if parts and sum(fold[j] for j in cols) + len(cols) + 1 <= width:
                parts[-1].append(i)
            else:
                parts.append([i])
        return [sorted({*repeat, *part}) for part in parts]

    def lines(self, width: int, box: Box = HEAVY_HEAD) -> list[Line]:
        parts = self._parts(width)
        if len(parts) == 1:
            return self._lines(width, box)
        out: list[Line] = []
        for k, cols in enumerate(parts):
            part = Table(self.title if k == 0 else "", [self.columns[i] for i in cols])
            part.rows = [_Row([row.cells[i] for i in cols], row.style, row.end_section)
                         for row in self.rows]
            out += part._lines(width, box)
        return out

    def _lines(self, width: int, box: Box) -> list[Line]:
        widths = self.widths(width)
        total = sum(widths) + len(widths) + 1
        out = wrap(self.title, total, base=ITALIC) if self.title.pieces else []

        def rule(chars: str) -> Line:
            return [(chars[0] + chars[2].join(chars[1] * w for w in widths) + chars[3], "")]

        out.append(rule(box.top))
        header = [Text(c.header) for c in self.columns]
        out += self._row(header, widths, box, BOLD, header=True)
        out.append(rule(box.head_rule))
        for i, row in enumerate(self.rows):
            out += self._row(row.cells, widths, box, row.style)
            if row.end_section and i < len(self.rows) - 1:
                out.append(rule(box.rule))
        out.append(rule(box.bottom))
        return out

    def _row(self, cells: list[Text], widths: list[int], box: Box, style: str,
             header: bool = False) -> list[Line]:
        drawn = []
        for col, text, w in zip(self.columns, cells, widths, strict=True):
            no_wrap = col.no_wrap and not header
            drawn.append(wrap(text, w - 2, justify=col.justify, base=style, no_wrap=no_wrap,
                              ellipsis=box.ellipsis if col.ellipsis and not header else None))
        height = max(len(c) for c in drawn)
        for c, w in zip(drawn, widths, strict=True):
            blank: Line = [(" " * (w - 2), style)]
            # a header's lines sit at the bottom of its box, a body cell's at the top
            fill = [blank] * (height - len(c))
            c[:] = fill + c if header else c + fill
        bars = box.head if header else box.body
        left, divider, right = bars[0], bars[1], bars[2]
        lines = []
        for k in range(height):
            line: Line = [(left, "")]
            for j, c in enumerate(drawn):
                if j:
                    line.append((divider, ""))
                line += [(" ", style), *c[k], (" ", style)]
            line.append((right, ""))
            lines.append(line)
        return lines


class Printer:
    """Collects lines for a stream ``width`` cells wide; escape codes only if ``styles``.

    Without ``colours``, styles keep bold, dim and italic and drop colours (the
    ``NO_COLOR`` convention). ``ascii_only`` draws boxes with ``+-|``.
    """

    def __init__(self, width: int, *, styles: bool = False, colours: bool = True,
                 ascii_only: bool = False) -> None:
        self.width = width
        self.styles = styles
        self.colours = colours
        self.box = ASCII if ascii_only else HEAVY_HEAD
        self.out: list[str] = []

    def print(self, text: Text | str = "") -> None:
        """A line of text, wrapped at the width (as typed text wraps, trailing space kept)."""
        t = _as_text(text)
        if not t.pieces:
            self.out.append("\n")
            return
        for line in wrap(t, self.width, pad=False):
            self.out.append(self._codes(line) + "\n")

    def table(self, table: Table) -> None:
        for line in table.lines(self.width, self.box):
            self.out.append(self._codes(line) + "\n")

    def getvalue(self) -> str:
        return "".join(self.out)

    def _codes(self, line: Line) -> str:
        if not self.styles:
            return "".join(t for t, _ in line)
        parts = []
        run, run_style = "", ""
        for text, style in line:
            if not self.colours and style:
                style = ";".join(c for c in style.split(";") if int(c) < 30)
            if style != run_style:
                parts.append(_sgr(run, run_style))
                run, run_style = "", style
            run += text
        parts.append(_sgr(run, run_style))
        return "".join(parts)


def _sgr(text: str, style: str) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if style and text else text
