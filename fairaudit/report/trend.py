"""The trend of a history as one self-contained HTML file: a chart per criterion over time.

Like the audit page it runs no script and loads nothing (a Content-Security-
Policy forbids both), every string from the history passes through Jinja's
autoescaping, and the charts are SVG drawn by matplotlib, text escaped by it
and checked element by element (:func:`fairaudit.report.chart._inline`).

One chart per label, criterion and gate kind, with a panel per grouping: the
gated figure of each run over its as-of date, its interval as a band, the
gate's threshold as a red line, and each run marked by its status in shape
and colour (a filled circle passed, a cross failed, a triangle inconclusive, a
hollow circle had no such gate), so that the status reads without colour too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from ..history.drift import DriftResult
from ..history.series import Point, Series
from ..history.trend import Trend
from ..version import __version__
from . import chart, view
from .html import environment

PASS = "#1f7a4d"
WARN = "#b7791f"
STATUS_LOOK: dict[str | None, tuple[str, str, bool]] = {  # marker, colour, filled
    "pass": ("o", PASS, True),
    "fail": ("X", chart.FAIL, True),
    "inconclusive": ("^", WARN, True),
    "skipped": ("o", chart.GREY, False),
    None: ("o", chart.GREY, False),
}
WHAT = {"max_gap": "difference", "min_ratio": "ratio",
        "max_out_of_range": "largest share out of range",
        "max_increase": "growth of the gap over the baseline",
        "max_drop": "largest fall from the baseline", None: "difference"}


def _dates(points: Sequence[Point]) -> list[dt.date]:
    return [dt.date.fromisoformat(p.as_of) for p in points]


def trend_chart(panels: Sequence[Series], uid: str) -> str:
    """One SVG: a panel per series (grouping), the gated figure over time."""
    Figure = chart._pyplot()
    import matplotlib
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    n = len(panels)
    width, panel_h = 11.0, 1.9
    height = 0.5 + panel_h * n
    with matplotlib.rc_context(chart._rc()):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=0.075, right=0.985, top=1 - 0.32 / height,
                            bottom=0.42 / height, hspace=0.55)
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for ax, s in zip(axes, panels, strict=True):
            _panel(ax, s)
        locator = AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(
            ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        svg = _svg(fig)
    return chart._inline(svg, uid)


def _svg(fig: Any) -> str:
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.04,
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buf.getvalue()


def _panel(ax: Any, s: Series) -> None:
    k = s.key
    title = chart._short(k.grouping, 60)
    if k.feature is not None:
        title += f" · {chart._short(k.feature, 30)}"
    ax.set_title(title, fontsize=9.5, color=chart.INK, loc="left", fontweight="bold")
    ax.set_ylabel(WHAT.get(k.kind, "value"), fontsize=8, color=chart.GREY)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color=chart.PALE, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(length=2, labelsize=8)
    points = [p for p in s.points if p.value is not None]
    if not points:
        ax.text(0.01, 0.5, "no defined value in these runs", transform=ax.transAxes,
                fontsize=8, color=chart.GREY)
        ax.set_yticks([])
        return
    xs = _dates(points)
    ys = [p.value for p in points]
    # the interval band, broken where a run has no interval
    run: list[tuple[dt.date, float, float]] = []
    for x, p in zip(xs, points, strict=True):
        if p.ci is None:
            _band(ax, run)
            run = []
        else:
            run.append((x, p.ci[0], p.ci[1]))
    _band(ax, run)
    ax.plot(xs, ys, color=chart.BLUE, linewidth=1.0, zorder=2)
    if s.threshold is not None:
        ax.axhline(s.threshold, color=chart.FAIL, linewidth=1.1, linestyle=(0, (4, 2)),
                   zorder=1)
    for status, (marker, colour, filled) in STATUS_LOOK.items():
        mine = [(x, p.value) for x, p in zip(xs, points, strict=True) if p.status == status]
        if not mine:
            continue
        ax.plot([m[0] for m in mine], [m[1] for m in mine], linestyle="", marker=marker,
                markersize=6 if marker == "X" else 5,
                markerfacecolor=colour if filled else "white", markeredgecolor=colour,
                markeredgewidth=1.0, color=colour, zorder=3)
    lows = [p.ci[0] for p in points if p.ci] + ys + ([s.threshold] if s.threshold else [])
    highs = [p.ci[1] for p in points if p.ci] + ys + ([s.threshold] if s.threshold else [])
    lo, hi = min(v for v in lows if v is not None), max(v for v in highs if v is not None)
    pad = max(0.02, (hi - lo) * 0.08)
    ax.set_ylim(max(0.0, lo - pad) if lo >= 0 else lo - pad, min(1.0, hi + pad)
                if hi <= 1 else hi + pad)
    if len(xs) == 1:
        ax.set_xlim(xs[0] - dt.timedelta(days=1), xs[0] + dt.timedelta(days=1))


def _band(ax: Any, run: Sequence[tuple[dt.date, float, float]]) -> None:
    if not run:
        return
    if len(run) == 1:
        x, lo, hi = run[0]
        ax.plot([x, x], [lo, hi], color=chart.BLUE, alpha=0.35, linewidth=3, zorder=1)
        return
    ax.fill_between([r[0] for r in run], [r[1] for r in run], [r[2] for r in run],
                    color=chart.BLUE, alpha=0.16, linewidth=0, zorder=1)


# -- the page --------------------------------------------------------------------------


def _charts(t: Trend) -> list[dict[str, Any]]:
    """One chart per label, criterion and gate kind, a panel per grouping."""
    order: dict[tuple[str, str, str | None], list[Series]] = {}
    for s in t.series:
        order.setdefault((s.key.label, s.key.criterion, s.key.kind), []).append(s)
    out = []
    for i, ((label, criterion, kind), panels) in enumerate(order.items(), 1):
        name = "out of range" if criterion == "out_of_range" else view.criterion_title(
            criterion)
        kind_text = {"max_gap": "difference, at most", "min_ratio": "ratio, at least",
                     "max_out_of_range": "share out of range, at most",
                     "max_increase": "growth over the baseline, at most",
                     "max_drop": "fall from the baseline, at most"}.get(kind or "")
        thresholds = sorted({f"{s.threshold:g}" for s in panels if s.threshold is not None})
        tables = []
        for s in panels:
            rows = [{"as_of": p.as_of, "run": p.run_id, "pooled": len(p.runs),
                     "value": view.number(p.value), "ci": view.interval(p.ci),
                     "status": p.status} for p in reversed(s.points)]
            tables.append({"grouping": s.key.grouping, "feature": s.key.feature,
                           "rows": rows})
        out.append({
            "id": f"chart-{i}",
            "title": name,
            "label": label,
            "subtitle": (f"{kind_text} {', '.join(thresholds)}" if kind_text and thresholds
                         else "not gated: named by a drift gate"),
            "svg": Markup(trend_chart(panels, f"t{i}")),
            "tables": tables,
            "points": sum(len(s.points) for s in panels),
        })
    return out


def _drift(d: DriftResult) -> dict[str, Any]:
    inc = view.DASH if d.increase is None else f"{d.increase:+.3f}"
    return {
        "status": d.status,
        "label": d.label,
        "grouping": d.grouping,
        "criterion": view.criterion_title(d.criterion),
        "current": view.DASH if d.current is None else
        f"{view.number(d.current.difference)} ({d.current.as_of})",
        "baseline": view.DASH if d.baseline_mean is None else
        f"{view.number(d.baseline_mean)} ({len(d.baseline)} runs)",
        "increase": inc,
        "ci": "" if d.ci is None else f"[{d.ci[0]:+.3f}, {d.ci[1]:+.3f}]",
        "limit": f"{d.limit:g}",
        "rule": d.rule,
        "cusum": None if d.cusum is None or d.cusum.statistic != d.cusum.statistic
        else f"{d.cusum.statistic:.2f} of {d.cusum.limit:g}"
        + (f", alarm {d.cusum.alarm.as_of}" if d.cusum.alarm else ""),
        "reason": d.reason,
        "sentence": d.sentence,
    }


def render(t: Trend) -> str:
    """The trend as one HTML document."""
    runs = t.runs
    dates = sorted({r.as_of for r in runs})
    labels = sorted({r.label for r in runs})
    context = {
        "path": t.path,
        "verdict": t.verdict,
        "drift": [_drift(d) for d in t.drift],
        "failed": [_drift(d) for d in t.drift if d.status != "pass"],
        "charts": _charts(t),
        "runs": [{"run_id": r.run_id, "as_of": r.as_of, "label": r.label,
                  "verdict": r.verdict, "superseded_by": r.superseded_by, "error": r.error,
                  "digest": r.config_digest[:12], "rows": view.DASH if r.rows_used is None
                  else f"{r.rows_used:,}", "files": len(r.inputs)} for r in reversed(runs)],
        "facts": [("History", t.path),
                  ("Dates", f"{dates[0]} to {dates[-1]}" if len(dates) > 1 else
                   (dates[0] if dates else view.DASH)),
                  ("Runs shown", f"{len(runs):,}"),
                  ("Labels", ", ".join(x or "(none)" for x in labels) or view.DASH),
                  ("Pooling", f"{t.pool} runs a point" if t.pool > 1 else "none")],
        "pool": t.pool,
        "version": __version__,
    }
    return environment().get_template("trend.html.j2").render(**context)
