"""Gates as CI log lines: GitHub workflow annotations, or plain ``fairaudit: gate ...`` lines.

The GitHub runner reads every line a step prints and obeys the ones that look
like workflow commands: ``::error::...`` at the start of a line (after leading
white space) or the legacy ``##[error]...`` anywhere in it. A group value, a
column name or a file name is data from the input and may hold a newline
followed by ``::add-mask::`` or ``::error::``, so:

- every annotation is built by :func:`command`, which escapes its message and
  properties as GitHub specifies (``%``, CR and LF in the message; also ``:``
  and ``,`` in property values), so an annotation stays one line;
- every other line fairaudit prints itself (the plain gate lines, error
  messages) goes through :func:`one_line`: line breaks and other control
  characters are shown as ``\\n``-style escapes, so data never starts a line;
- text laid out by others (the terminal tables, whose cells may wrap) goes
  through :func:`defuse` when a runner reads it: a line that would read as a
  command is prefixed with a backslash, and ``##[`` is broken up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import IO, TYPE_CHECKING, Any

from ..text import printable

if TYPE_CHECKING:  # the command line imports this module before the rest of fairaudit
    from ..result import AuditResult, GateResult


class Annotations(str, Enum):
    """How failing, inconclusive and skipped gates are printed on stderr."""

    NONE = "none"
    GITHUB = "github"


# GitHub's escaping of workflow commands; "%" first, so that an escape is not escaped again
_DATA = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY = (*_DATA, (":", "%3A"), (",", "%2C"))
_NAME = re.compile(r"[a-z][a-z-]*")
_LEVEL = {"fail": "error", "inconclusive": "warning", "skipped": "warning"}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# line breaks: the runner ends a line at \n, \r or \r\n; str.splitlines at these others too
_BREAKS = re.compile(r"(\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])")


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub specifies."""
    for raw, escaped in _DATA:
        text = text.replace(raw, escaped)
    return text


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped as GitHub specifies."""
    for raw, escaped in _PROPERTY:
        text = text.replace(raw, escaped)
    return text


def command(name: str, message: str, properties: Mapping[str, str] | None = None) -> str:
    """One workflow command line, ``::name key=value,...::message``, every part escaped.

    The only place an annotation is written, so that none can skip the escaping.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a workflow command name: {name!r}")
    props = ",".join(f"{key}={escape_property(value)}"
                     for key, value in (properties or {}).items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def one_line(text: str) -> str:
    """``text`` on one line: line breaks, control and invisible characters shown as
    escapes (:func:`fairaudit.text.printable`), and ``##[`` broken up, so that no
    part of it reads as a workflow command."""
    return printable(text).replace("##[", "##\\[")


def defuse(text: str) -> str:
    """Text laid out by someone else, safe for a CI runner to read, with its line breaks.

    A line that would start a workflow command (``::`` after white space and
    terminal escapes) gets a leading backslash; ``##[`` anywhere is broken up.
    Every other line is left as it is.
    """
    parts = _BREAKS.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:  # a line, not a break
            part = part.replace("##[", "##\\[")
            if _ANSI.sub("", part).lstrip().startswith("::"):
                part = "\\" + part
        out.append(part)
    return "".join(out)


def gate_title(gate: GateResult) -> str:
    """An annotation's title: ``fairaudit gate fail: max_gap equalized_odds across race``."""
    what = gate.feature if gate.kind == "max_out_of_range" and gate.feature else gate.criterion
    return f"fairaudit gate {gate.status}: {gate.kind} {what} across {gate.grouping}"


def gate_lines(result: AuditResult, mode: Annotations, quiet: bool = False) -> Iterator[str]:
    """One line for each failing, inconclusive or skipped gate (``quiet``: not skipped).

    ``github``: an ``::error`` annotation for a failed gate, ``::warning`` for an
    inconclusive or skipped one. ``none``: ``fairaudit: gate fail: <sentence>``.
    The sentence names the grouping, the criterion, the value with its
    interval, and the threshold.
    """
    for g in result.gates:
        if g.status == "pass" or (quiet and g.status == "skipped"):
            continue
        # names from the data (a column's) with their invisible characters as escapes
        sentence = printable(g.sentence)
        if mode is Annotations.GITHUB:
            yield command(_LEVEL.get(g.status, "warning"), sentence,
                          {"title": printable(gate_title(g))})
        else:
            yield one_line(f"fairaudit: gate {g.status}: {sentence}")


class Defused:
    """A text stream that passes what is written to ``target`` through :func:`defuse`.

    Whole lines are written as they complete and the rest on :meth:`flush`; a
    reporter that asks whether it writes to a terminal, or in what encoding,
    gets the target's answer.
    """

    def __init__(self, target: IO[str]) -> None:
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        # up to the last line break; a line is defused whole, never in pieces
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            done, self._pending = self._pending[:cut + 1], self._pending[cut + 1:]
            self.target.write(defuse(done))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            self.target.write(defuse(self._pending))
            self._pending = ""
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)
