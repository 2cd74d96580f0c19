"""`fairaudit history` in the terminal: per series the runs with value, interval and status.

Plain text columns (no colour, no box drawing), so that the output reads the
same in a cron mail, a CI log and a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..history.drift import DriftResult
from ..history.series import Series
from ..history.trend import Trend
from .view import DASH, MARK, WORD, interval, number

KIND = {"max_gap": "largest allowed difference", "min_ratio": "smallest allowed ratio",
        "max_out_of_range": "largest allowed share out of range",
        "max_increase": "largest allowed growth of the gap over the baseline",
        "max_drop": "largest allowed fall from the baseline"}


def _columns(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _status(status: str | None) -> str:
    if status is None:
        return DASH
    return f"{MARK.get(status, '')} {WORD.get(status, status.upper())}".strip()


def _with_ci(value: float | None, ci: tuple[float, float] | None) -> str:
    text = number(value)
    return f"{text} {interval(ci)}" if ci is not None else text


def _title(s: Series) -> str:
    k = s.key
    what = k.criterion if k.feature is None else f"{k.feature} out of range"
    text = f"{k.grouping}: {what}"
    if k.kind is not None and s.threshold is not None:
        text += f" ({KIND.get(k.kind, k.kind)} {s.threshold:g})"
    elif k.kind is None:
        text += " (not gated)"
    if k.label:
        text += f"  [label {k.label}]"
    return text


def series_lines(s: Series) -> list[str]:
    rows = []
    for p in s.points:
        pooled = f" (pool of {len(p.runs)})" if len(p.runs) > 1 else ""
        rows.append([p.as_of, str(p.run_id) + pooled, _with_ci(p.difference, p.difference_ci),
                     _with_ci(p.ratio, p.ratio_ci), _status(p.status)])
    if not rows:
        return [_title(s), "  no run has this figure"]
    return [_title(s), *("  " + x for x in _columns(
        ["as of", "run", "difference", "ratio", "status"], rows, {1}))]


def drift_lines(drift: Sequence[DriftResult]) -> list[str]:
    rows = []
    for d in drift:
        inc = DASH if d.increase is None else f"{d.increase:+.3f}"
        if d.ci is not None:
            inc += f" [{d.ci[0]:+.3f}, {d.ci[1]:+.3f}]"
        cusum = DASH if d.cusum is None or d.cusum.statistic != d.cusum.statistic \
            else f"{d.cusum.statistic:.2f} / {d.cusum.limit:g}"
        rows.append([d.grouping + (f" [{d.label}]" if d.label else ""), d.criterion,
                     DASH if d.current is None else number(d.current.difference),
                     DASH if d.baseline_mean is None
                     else f"{number(d.baseline_mean)} ({len(d.baseline)})",
                     inc, f"{d.limit:g}", cusum, d.rule, _status(d.status)])
    lines = ["drift gates", *("  " + x for x in _columns(
        ["grouping", "criterion", "current", "baseline (runs)", "increase", "at most", "cusum",
         "rule", "status"], rows, {2, 5}))]
    lines += [f"  {d.grouping}: {d.criterion}: {d.reason}" for d in drift if d.reason]
    return lines


def render(t: Trend, out: TextIO) -> None:
    runs = t.runs
    superseded = [r for r in runs if r.superseded]
    errors = [r for r in runs if r.verdict == "error" and not r.superseded]
    dates = sorted({r.as_of for r in runs})
    head = f"history {t.path}: {len(runs)} run{'s' if len(runs) != 1 else ''}"
    if dates:
        head += f", {dates[0]} to {dates[-1]}" if len(dates) > 1 else f", {dates[0]}"
    notes = [f"{len(superseded)} superseded"] if superseded else []
    notes += [f"{len(errors)} could not be audited"] if errors else []
    if notes:
        head += f" ({', '.join(notes)})"
    if t.pool > 1:
        head += f"; each point pools {t.pool} runs"
    lines = [head]
    for s in t.series:
        lines += ["", *series_lines(s)]
    if not t.series:
        lines += ["", "no gated criterion in these runs; name one with --max-increase"]
    if superseded:
        lines += ["", "superseded runs (kept, not in the series)"]
        lines += [f"  run {r.run_id} ({r.as_of}{', ' + r.label if r.label else ''}): "
                  f"replaced by run {r.superseded_by}" for r in superseded]
    if errors:
        lines += ["", "runs that could not be audited"]
        lines += [f"  run {r.run_id} ({r.as_of}{', ' + r.label if r.label else ''}): "
                  f"{r.error}" for r in errors]
    if t.drift:
        lines += ["", *drift_lines(t.drift)]
        failed = len(t.failed)
        lines += ["", f"verdict: {WORD.get(t.verdict, t.verdict.upper())} ({failed} of "
                  f"{len(t.drift)} drift gate{'s' if len(t.drift) != 1 else ''} failed)"]
    out.write("\n".join(lines) + "\n")
