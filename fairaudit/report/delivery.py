"""Writing the reports of one run: each in turn, the next one even when one fails.

A report that cannot be written (a missing or read-only folder, a full disk)
or cannot be rendered (an internal error) is named in one stderr line, and the
other reports are written all the same: an HTML page that fails must not cost
the JSON that CI archives. The run's exit code then says a report is missing:
2 when a report could not be written, 3 when one could not be rendered (see
docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import FairauditError
from ..outputs import Writer, write_atomic

CANNOT_WRITE = 2
INTERNAL = 3


def text_writer(text: str) -> Writer:
    """A writer of ``text`` as UTF-8, for :func:`fairaudit.outputs.write_atomic`."""
    data = text.encode("utf-8")
    return lambda f: f.write(data)


@dataclass
class Delivery:
    """The reports of a run, written one by one; what failed, with its exit code.

    ``say`` prints one line on stderr; ``crashed`` records an internal error
    (its traceback) and returns the line to print.
    """

    say: Callable[[str], None]
    crashed: Callable[[BaseException, str], str]
    failed: list[tuple[str, int]] = field(default_factory=list)

    def write(self, option: str, path: str, render: Callable[[], str | Writer],
              append: bool = False) -> None:
        """Render a report and write it at ``path`` atomically; a failure is said, not raised.

        ``render`` returns the text, or a function that writes the bytes (a
        report streamed as it is encoded). An interrupt is not caught.
        """
        try:
            made = render()
            write_atomic(path, text_writer(made) if isinstance(made, str) else made,
                         append=append)
        except FairauditError as exc:
            self.failed.append((option, CANNOT_WRITE))
            self.say(f"fairaudit: error: {option} {exc}")
        except Exception as exc:  # one report's bug must not cost the others
            self.failed.append((option, INTERNAL))
            self.say(self.crashed(exc, f"{option} {path}"))

    @property
    def code(self) -> int | None:
        """The exit code the failures call for (3 over 2), or None when all were written."""
        return max((code for _, code in self.failed), default=None)
