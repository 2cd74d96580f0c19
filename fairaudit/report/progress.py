"""A progress bar on a terminal for long runs: rows and bytes read, rate, time left.

The engine never prints; it calls back with running totals, and this bar
shows them. It stays hidden for the first second, so a short audit prints
nothing, and it is removed when the run ends, so the report that follows
starts on a clean line. rich is imported only once the bar is shown.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

# seconds a run goes before the bar appears
DELAY = 1.0


class ProgressBar:
    """Shows ``on_progress(rows, bytes_done, total_bytes)`` calls as a rich progress bar."""

    def __init__(self, out: TextIO, delay: float | None = None) -> None:
        self._out = out
        self._delay = DELAY if delay is None else delay
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def update(self, rows: int, bytes_done: int, total_bytes: int) -> None:
        elapsed = time.monotonic() - self._started
        if self._progress is None:
            if elapsed < self._delay:
                return
            self._show(total_bytes)
        assert self._progress is not None and self._task is not None
        rate = f"{_short(rows / elapsed)} rows/s" if elapsed > 0 else ""
        self._progress.update(self._task, completed=bytes_done, total=total_bytes,
                              rows=f"{rows:,}", rate=rate)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _show(self, total_bytes: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("reading"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]} rows"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(file=self._out, highlight=False),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("reading", total=total_bytes, rows="0", rate="")


def _short(x: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.0f}"
