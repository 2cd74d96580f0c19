"""Charts as inline SVG, drawn with matplotlib's SVG backend.

One chart per grouping: a row per group, a panel per key metric on a shared
0-1 scale, a dot for the group's value, a whisker for its interval when the
audit has one, a dashed line at the reference group's value. The reference
group is a diamond; a group too small to judge is a hollow grey circle.

With declared ranges, one more chart per grouping: a bar per group split into
the share of rows inside every range and the share outside one or more, a
dashed line at the share over all rows, and the group most often out of range
drawn in red and named as such.

matplotlib is imported here only, and only when a chart is drawn, so the
terminal and CI paths never pay for it. Text stays SVG text (not outlines):
the file stays small, the browser can search it, and matplotlib escapes it as
XML; :func:`_check` then refuses any element or attribute a chart has no use for.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..errors import FairauditError
from ..ranges import RangeGroup
from ..result import GroupingResult, GroupResult
from . import view

INK = "#1f2933"
BLUE = "#2563a6"
GREY = "#9aa5b1"
REF = "#b7410e"
FAIL = "#b42318"
OUTSIDE = "#f1c9c4"
PALE = "#e4e7eb"
LABEL_CHARS = 42

_SVG = "{http://www.w3.org/2000/svg}"
_ALLOWED = {"svg", "g", "path", "defs", "use", "text", "tspan", "style", "clipPath", "rect",
            "metadata", "title", "desc", "line", "circle", "polyline", "polygon"}
_ATTR_OK = re.compile(r"^(\{[^}]*\})?[A-Za-z][A-Za-z:-]*$")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - a core dependency; guards broken installs
        raise FairauditError("the HTML report needs matplotlib; install it with "
                             "'pip install matplotlib'") from None
    del matplotlib
    # a bare Figure draws with the SVG canvas itself: no pyplot, no global backend
    from matplotlib.figure import Figure

    return Figure


def _rc() -> Any:  # matplotlib types rc keys as a Literal of every key
    return {
        "svg.fonttype": "none",  # text as text
        "svg.hashsalt": "fairaudit",  # ids stable from run to run
        "text.parse_math": False,  # a group named "$x$" is text, not math
        "text.usetex": False,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
        "font.size": 9,
        "axes.edgecolor": GREY,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "svg.image_inline": True,
    }


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _label(grp: GroupResult) -> str:
    text = _short(grp.label)
    if grp.is_reference:
        text += "  (reference)"
    if grp.small:
        text += "  (too small)"
    return text


def metric_chart(grouping: GroupingResult, groups: Sequence[GroupResult],
                 metrics: Sequence[str], uid: str) -> str:
    """One SVG: the groups (in the order given, top first) against each metric."""
    Figure = _pyplot()
    import matplotlib

    n = len(groups)
    k = len(metrics)
    # the label margin is generous here and trimmed to the real text by bbox "tight"
    label_in = 4.0
    panel_in = 1.55
    width = label_in + panel_in * k + 0.3
    height = 0.78 + 0.22 * n
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=label_in / width, right=1 - 0.25 / width,
                            top=1 - 0.42 / height, bottom=0.36 / height, wspace=0.14)
        axes = fig.subplots(1, k, sharey=True, squeeze=False)[0]
        ys = list(range(n))
        ref = next((g for g in grouping.groups if g.is_reference), None)
        for ax, metric in zip(axes, metrics, strict=True):
            _panel(ax, groups, metric, ys, ref)
        axes[0].set_yticks(ys)
        axes[0].set_yticklabels([_label(g) for g in groups])
        for tick, grp in zip(axes[0].get_yticklabels(), groups, strict=True):
            if grp.is_reference:
                tick.set_fontweight("bold")
                tick.set_color(REF)
            elif grp.small:
                tick.set_color(GREY)
        axes[0].set_ylim(n - 0.5, -0.5)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.04,
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _inline(buf.getvalue(), uid)


def _panel(ax: Any, groups: Sequence[GroupResult], metric: str, ys: list[int],
           ref: GroupResult | None) -> None:
    ax.set_title(view.metric_title(metric), fontsize=9.5, color=INK, loc="left",
                 fontweight="bold")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xticklabels(["0", ".25", ".5", ".75", "1"])
    ax.grid(axis="x", color="#e4e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", length=2, labelsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if ref is not None and ref.metrics[metric].value is not None:
        ax.axvline(ref.metrics[metric].value, color=REF, linewidth=0.8, linestyle=(0, (3, 2)))
    for y, grp in zip(ys, groups, strict=True):
        rate = grp.metrics[metric]
        if rate.value is None:
            ax.text(0.01, y, "undefined", fontsize=7, color=GREY, va="center")
            continue
        ci = view.rate_ci(rate)
        colour = GREY if grp.small else (REF if grp.is_reference else BLUE)
        if ci is not None:
            ax.plot([ci[0], ci[1]], [y, y], color=colour, linewidth=1.1,
                    solid_capstyle="butt")
        if grp.is_reference:
            ax.plot([rate.value], [y], marker="D", markersize=5.5, color=REF, linestyle="")
        elif grp.small:
            ax.plot([rate.value], [y], marker="o", markersize=5, markerfacecolor="white",
                    markeredgecolor=GREY, markeredgewidth=1.1, linestyle="")
        else:
            ax.plot([rate.value], [y], marker="o", markersize=5, color=BLUE, linestyle="")


def coverage_chart(groups: Sequence[RangeGroup], worst: RangeGroup | None,
                   overall: float | None, uid: str) -> str:
    """One SVG: per group (top first), the share of rows inside every range and outside."""
    Figure = _pyplot()
    import matplotlib

    n = len(groups)
    # the margins are generous and trimmed to the real text by bbox "tight"
    label_in, panel_in, note_in = 3.2, 4.6, 2.0
    width = label_in + panel_in + note_in
    height = 0.72 + 0.26 * n
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=label_in / width, right=1 - note_in / width,
                            top=1 - 0.36 / height, bottom=0.36 / height)
        ax = fig.subplots()
        ys = list(range(n))
        ax.set_title("Rows inside every range", fontsize=9.5, color=INK, loc="left",
                     fontweight="bold")
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
        ax.set_xticklabels(["0", ".25", ".5", ".75", "1"])
        ax.tick_params(axis="y", length=0)
        ax.tick_params(axis="x", length=2, labelsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        for y, grp in zip(ys, groups, strict=True):
            share = grp.coverage.value
            if share is None:
                ax.text(0.01, y, "undefined: no row known inside or outside", fontsize=7,
                        color=GREY, va="center")
                continue
            inside, outside = (PALE, "white") if grp.small else (
                (BLUE, FAIL) if grp is worst else (BLUE, OUTSIDE))
            edge = GREY if grp.small else "none"
            ax.barh([y], [share], height=0.62, color=inside, edgecolor=edge, linewidth=0.6)
            ax.barh([y], [1 - share], left=[share], height=0.62, color=outside,
                    edgecolor=edge, linewidth=0.6)
            note = "  ◀ most often out of range" if grp is worst else ""
            ax.text(1.015, y, view.number(share) + note, fontsize=8, va="center",
                    color=FAIL if grp is worst else (GREY if grp.small else INK),
                    fontweight="bold" if grp is worst else "normal")
        if overall is not None:
            ax.axvline(overall, color=INK, linewidth=0.9, linestyle=(0, (3, 2)))
        ax.set_yticks(ys)
        ax.set_yticklabels([_short(g.label) + ("  (too small)" if g.small else "")
                            for g in groups])
        for tick, grp in zip(ax.get_yticklabels(), groups, strict=True):
            if grp is worst:
                tick.set_fontweight("bold")
                tick.set_color(FAIL)
            elif grp.small:
                tick.set_color(GREY)
        ax.set_ylim(n - 0.5, -0.5)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.04,
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _inline(buf.getvalue(), uid)


def _inline(svg: str, uid: str) -> str:
    """The SVG element alone, with ids made unique in the page and its contents checked."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # several charts share one document: keep only the ids something refers to, each
    # prefixed so that no two charts share one, and drop the layout whitespace. Only
    # tags are rewritten, never text, so a group label comes through as it is.
    parts = re.split(r"(<[^>]*>)", svg)
    tags = parts[1::2]
    used = {m for t in tags for m in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', t)}
    refs = {a or b for a, b in used}

    def tag(t: str) -> str:
        t = re.sub(r' id="([^"]+)"',
                   lambda m: f' id="{uid}-{m.group(1)}"' if m.group(1) in refs else "", t)
        t = re.sub(r'url\(#([^)]+)\)', rf'url(#{uid}-\1)', t)
        t = re.sub(r'href="#([^"]+)"', rf'href="#{uid}-\1"', t)
        return re.sub(r"\s*\n\s*", " ", t)

    svg = "".join(tag(p) if i % 2 else (p if p.strip() else "") for i, p in enumerate(parts))
    svg = re.sub(r'<svg ', '<svg class="chart" role="img" ', svg, count=1)
    _check(svg)
    return svg


def _check(svg: str) -> None:
    """Refuse an SVG holding anything but drawing elements (no script, no handlers)."""
    root = ET.fromstring(svg)
    for el in root.iter():
        tag = el.tag.replace(_SVG, "")
        if tag not in _ALLOWED:
            raise RuntimeError(f"chart holds a <{tag}> element")
        for attr, value in el.attrib.items():
            if not _ATTR_OK.match(attr) or attr.lower().startswith("on"):
                raise RuntimeError(f"chart holds an attribute {attr!r}")
            if attr.endswith("href") and not value.startswith("#"):
                raise RuntimeError("chart links outside itself")
