"""Text from the data as people can read it: every character that acts or hides shown as an escape.

Group values, column names, file names and file contents come from whoever
made the predictions. A character a reader cannot see (zero-width, a
bidirectional override that reorders the line, a control character that a
terminal acts on) is written as an escape such as ``\\u202e`` or ``\\x1b``; the
channels (terminal, Markdown, HTML, JUnit, annotations) then escape the result
for their own syntax.
"""

from __future__ import annotations

from typing import Any

MISSING = "(missing)"
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# an intersection's label joins its values with this; a value holding it is quoted
JOIN = " & "


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (Python's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return _SHORT.get(ch, f"\\x{code:02x}")
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` safe to print on one line.

    Every character Unicode calls "other" or "separator" but the space (control
    and format characters, zero-width and bidirectional marks, line separators,
    unassigned and private code points, lone surrogates) is written as an
    escape: ``\\n``, ``\\x1b``, ``\\u202e``. A file name that is not valid UTF-8
    holds its bytes as lone surrogates, which come out as ``\\xff``.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _needs_quotes(text: str) -> bool:
    return (not text or text != text.strip() or text == MISSING or text.startswith('"')
            or JOIN in text or not text.isprintable())


def show_value(value: Any) -> str:
    """A group value as people read it, distinct for distinct values.

    A missing value is ``(missing)``. A text that could be misread is shown in
    double quotes, with ``\\`` and ``"`` escaped and every invisible or control
    character as an escape: the empty text ``""``, the text ``"(missing)"``,
    leading or trailing spaces ``" a "``, ``"\\u200b"``. Every other value is
    shown as it is (``str``).
    """
    if value is None:
        return MISSING
    if not isinstance(value, str):
        return str(value)
    if not _needs_quotes(value):
        return value
    inner = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + printable(inner) + '"'
