"""Before and after: one inline SVG per criterion, each grouping's gap under both models.

A row per grouping: a hollow grey circle at the baseline's gap, a filled dot at
the candidate's, an arrow from one to the other (red when the gap grew past a
failed ``max_increase`` gate), and the change with its paired interval written
at the right. Drawn with the SVG backend of :mod:`fairaudit.report.chart`, and
checked element by element as every chart of the page is.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..result import GapChange
from .chart import BLUE, FAIL, GREY, INK, _check, _finish, _inline, _pyplot, _rc, _short
from .comparison import signed


def change_chart(title: str, rows: Sequence[tuple[str, GapChange, bool]], uid: str) -> str:
    """One SVG: per grouping (name, its gap change, whether a gate on it failed)."""
    Figure = _pyplot()
    import matplotlib

    n = len(rows)
    width, height = 7.6, 0.9 + 0.3 * n
    top = max([g.candidate or 0.0 for _, g, _ in rows] + [g.baseline or 0.0 for _, g, _ in rows]
              + [0.1])
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=0.22, right=0.7, top=1 - 0.42 / height, bottom=0.4 / height)
        ax = fig.subplots(1, 1)
        ax.set_title(title, fontsize=9.5, color=INK, loc="left", fontweight="bold")
        ax.set_xlim(-0.01, min(1.0, top * 1.15) + 0.01)
        ax.grid(axis="x", color="#e4e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.tick_params(axis="x", length=2, labelsize=8)
        ax.set_xlabel("gap (largest minus smallest group)", fontsize=8, color=INK)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        for y, (_, gap, failed) in enumerate(rows):
            colour = FAIL if failed else BLUE
            if gap.baseline is not None and gap.candidate is not None:
                ax.annotate("", xy=(gap.candidate, y), xytext=(gap.baseline, y),
                            arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.1,
                                        "shrinkA": 4, "shrinkB": 4})
            if gap.baseline is not None:
                ax.plot([gap.baseline], [y], marker="o", markersize=6, markerfacecolor="white",
                        markeredgecolor=GREY, markeredgewidth=1.3, linestyle="")
            if gap.candidate is not None:
                ax.plot([gap.candidate], [y], marker="o", markersize=6, color=colour,
                        linestyle="")
            text = "undefined" if gap.change is None else signed(gap.change)
            if gap.change is not None and gap.ci is not None:
                text += f" [{gap.ci[0]:+.3f}, {gap.ci[1]:+.3f}]"
            ax.text(1.03, y, text, transform=ax.get_yaxis_transform(), fontsize=8,
                    color=FAIL if failed else INK, va="center")
        svg = _finish(fig, ax, [_short(name) for name, _, _ in rows],
                      [(failed, FAIL if failed else None) for _, _, failed in rows])
    out = _inline(svg, uid)
    _check(out)
    return out
