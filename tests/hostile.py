"""The hostile values every output channel is tested with (tests/test_hostile_values.py).

Each one, as a group value, must be shown (visibly, and apart from every other)
and never acted on: no line break or carriage return that starts a new line,
no terminal escape, no reordered text, no mention, issue link, workflow
command, markup or script.
"""

from __future__ import annotations

import re

HOSTILE: list[str | None] = [
    "two\nlines",
    "back\rover",
    "\x1b[2Jclear",
    "\x1b]0;title\x07osc",
    "\u202eevil.exe",  # a bidirectional override: the rest of the line reads backwards
    "zero\u200bwidth",
    "\ufeffbom",
    "@octocat",
    "#123",
    "::error file=x::injected",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "\uffff",
    "nul\x00byte",
    "vt\x0bff\x0c",
    "tab\there",
    "",
    "(missing)",
    None,
    "Case",
    "case",
    "case ",
    " case",
    "a & b",
    "$x^2$ *bold* `code` |pipe|",
]

# what GitHub turns into a mention or an issue link in Markdown text (a word
# character or backquote before "@" or "#" stops it)
GITHUB_REFERENCE = re.compile(r"(?<![\w`])(@[A-Za-z0-9]|#\d)")


def invisible(text: str) -> list[str]:
    """The characters of ``text`` that a reader cannot see or that act, besides line ends."""
    return [ch for ch in text if not ch.isprintable() and ch not in "\n"]
