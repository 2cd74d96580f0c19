"""Charts as inline SVG, drawn with matplotlib's SVG backend.

One chart per grouping: a row per group, a panel per key metric on a shared
0-1 scale (a mean of numbers, such as MAE or a mean word error rate, on the
span of its groups' values and intervals), a dot for the group's value, a
whisker for its interval when the audit has one, a dashed line at the
reference group's value. The reference group is a diamond; a group left out of
a metric's gap (too small to judge, or too few rows in that metric's
denominator) is hollow and grey in its panel.

With declared ranges, one more chart per grouping: a bar per group and
feature for the share of values outside the feature's range (below solid,
above hatched), after a panel for the share of rows outside any range; a
dashed line at the share over all rows, a red line at a gate's threshold, and
the group most often out of range in bold (and red when a range gate failed).

matplotlib is imported here only, and only when a chart is drawn, so the
terminal and CI paths never pay for it. Text stays SVG text (not outlines):
the file stays small, the browser can search it, and matplotlib escapes it as
XML; :func:`_check` then refuses any element or attribute a chart has no use for.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import FairauditError
from ..kinds.numeric import is_numeric_metric
from ..rangespec import RangeSpec
from ..result import FeatureCheck, GroupingResult, GroupResult, RangeGroup
from ..text import printable
from . import view

INK = "#1f2933"
BLUE = "#2563a6"
GREY = "#9aa5b1"
REF = "#b7410e"
FAIL = "#b42318"
PALE = "#e4e7eb"
LABEL_CHARS = 42

_SVG = "{http://www.w3.org/2000/svg}"
_ALLOWED = {"svg", "g", "path", "defs", "use", "text", "tspan", "style", "clipPath", "rect",
            "metadata", "title", "desc", "line", "circle", "polyline", "polygon", "pattern"}
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


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """Text for the chart: invisible and control characters as escapes (SVG, being XML,
    cannot hold most of them), cut to ``limit`` characters."""
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        out = view.left_out(grouping)
        for ax, metric in zip(axes, metrics, strict=True):
            _panel(ax, groups, metric, ys, ref,
                   {label for label, metrics in out.items() if metric in metrics})
        svg = _finish(fig, axes[0], [_label(g) for g in groups],
                      [(True, REF) if g.is_reference else (False, GREY if g.small else None)
                       for g in groups])
    return _inline(svg, uid)


def _finish(fig: Any, first: Any, labels: Sequence[str],
            looks: Sequence[tuple[bool, str | None]]) -> str:
    """Group names down the first panel (bold or coloured as ``looks`` says), as SVG text."""
    n = len(labels)
    first.set_yticks(list(range(n)))
    first.set_yticklabels(labels)
    for tick, (bold, color) in zip(first.get_yticklabels(), looks, strict=True):
        if bold:
            tick.set_fontweight("bold")
        if color is not None:
            tick.set_color(color)
    first.set_ylim(n - 0.5, -0.5)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.04,
                metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buf.getvalue()


def _panel(ax: Any, groups: Sequence[GroupResult], metric: str, ys: list[int],
           ref: GroupResult | None, out: set[str]) -> None:
    """One metric's panel; the groups left ``out`` of its gap are hollow and grey, and
    those that count in other metrics' gaps (big enough) say "left out" here."""
    ax.set_title(view.metric_title(metric), fontsize=9.5, color=INK, loc="left",
                 fontweight="bold")
    if is_numeric_metric(metric):
        _number_axis(ax, groups, metric)
    else:
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
        hollow = grp.small or grp.label in out
        colour = GREY if hollow else (REF if grp.is_reference else BLUE)
        if ci is not None:
            ax.plot([ci[0], ci[1]], [y, y], color=colour, linewidth=1.1,
                    solid_capstyle="butt")
        if hollow and not grp.small:
            ax.text(1.0 if rate.value < 0.6 else 0.0, y, "left out", fontsize=7, color=GREY,
                    va="center", ha="right" if rate.value < 0.6 else "left")
        if grp.is_reference:
            ax.plot([rate.value], [y], marker="D", markersize=5.5, markeredgecolor=REF,
                    markerfacecolor="white" if hollow else REF, linestyle="")
        elif hollow:
            ax.plot([rate.value], [y], marker="o", markersize=5, markerfacecolor="white",
                    markeredgecolor=GREY, markeredgewidth=1.1, linestyle="")
        else:
            ax.plot([rate.value], [y], marker="o", markersize=5, color=BLUE, linestyle="")


def _number_axis(ax: Any, groups: Sequence[GroupResult], metric: str) -> None:
    """A mean of numbers on its own scale: the span of the groups' values and intervals."""
    ends = [x for grp in groups for x in (grp.metrics[metric].value,
                                          *(view.rate_ci(grp.metrics[metric]) or ()))
            if x is not None]
    lo, hi = (min(ends), max(ends)) if ends else (0.0, 1.0)
    pad = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 0.05)
    ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(_ticks())


def _ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=4)


def range_chart(groups: Sequence[RangeGroup], specs: Sequence[RangeSpec],
                overall: RangeGroup, thresholds: Mapping[str, float],
                worst: RangeGroup | None, alarm: bool, uid: str) -> str:
    """One SVG: the groups (in the order given, top first) against each declared range.

    The first panel is the share of rows outside one or more ranges (one minus
    range coverage); then one panel per feature with its share of known values
    below the range (solid) and above it (hatched), or not allowed. Every
    panel shares one axis, scaled to the largest share or gate threshold, so
    that a small share looks small next to a large one.
    """
    Figure = _pyplot()
    import matplotlib
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    n = len(groups)
    k = 1 + len(specs)
    label_in = 4.0
    panel_in = 1.55
    width = label_in + panel_in * k + 0.3
    height = 0.95 + 0.28 * n
    top = max([_range_extent(g, specs) for g in (*groups, overall)] + list(thresholds.values()))
    xmax = next(c for c in _SCALE if c >= min(1.0, top * 1.08))
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=label_in / width, right=1 - 0.25 / width,
                            top=1 - 0.6 / height, bottom=0.36 / height, wspace=0.14)
        axes = fig.subplots(1, k, sharey=True, squeeze=False)[0]
        _range_panel(axes[0], "Outside any range", "1 \u2212 in all ranges", groups,
                     [_outside_any(g) for g in groups], None,
                     _total(_outside_any(overall)), None, worst, alarm)
        for ax, spec in zip(axes[1:], specs, strict=True):
            bars = [_feature_bars(g.features[spec.feature], spec) for g in groups]
            total = _feature_bars(overall.features[spec.feature], spec)
            _range_panel(ax, spec.feature, _short_range(spec), groups, bars,
                         spec.kind == "numeric", _total(total), thresholds.get(spec.feature),
                         None, alarm)
        for ax in axes:
            ax.set_xlim(0, xmax)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
            ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        svg = _finish(fig, axes[0],
                      [_short(g.label) + ("  (too small)" if g.small else "") for g in groups],
                      [(True, FAIL if alarm else INK) if g is worst
                       else (False, GREY if g.small else None) for g in groups])
    return _inline(svg, uid)


# axis ends a range chart may take: the first one past its largest share
_SCALE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0)

Bars = tuple[list[float], tuple[float, float] | None]


def _tick(x: float, _pos: int) -> str:
    return "0" if x == 0 else f"{x:g}".removeprefix("0")


def _outside_any(g: RangeGroup) -> Bars:
    """One minus range coverage, with its interval turned round when there is one."""
    c = g.coverage
    if c.value is None:
        return [], None
    ci = view.rate_ci(c)
    return [1 - c.value], None if ci is None else (1 - ci[1], 1 - ci[0])


def _feature_bars(check: FeatureCheck, spec: RangeSpec) -> Bars:
    """Below and above (numbers) or not allowed (categories), and the interval of their sum."""
    ci = view.rate_ci(check.outside_share)
    if check.outside_share.value is None:
        return [], None
    if spec.kind == "numeric":
        return [check.below_share.value or 0.0, check.above_share.value or 0.0], ci
    return [check.not_allowed_share.value or 0.0], ci


def _total(bars: Bars) -> float | None:
    return sum(bars[0]) if bars[0] else None


def _range_extent(g: RangeGroup, specs: Sequence[RangeSpec]) -> float:
    bars = [_outside_any(g)] + [_feature_bars(g.features[s.feature], s) for s in specs]
    return max([0.0] + [max(sum(v), ci[1] if ci else 0.0) for v, ci in bars if v])


def _short_range(spec: RangeSpec, limit: int = 24) -> str:
    text = printable(spec.describe())
    return text if len(text) <= limit else text[: limit - 2] + "…" + text[-1]


def _range_panel(ax: Any, title: str, subtitle: str, groups: Sequence[RangeGroup],
                 bars: Sequence[Bars], hatch_second: bool | None, overall: float | None,
                 threshold: float | None, worst: RangeGroup | None, alarm: bool) -> None:
    ax.set_title(_short(title, 20), fontsize=9.5, color=INK, loc="left", fontweight="bold",
                 pad=13)
    ax.text(0, 1.015, subtitle, transform=ax.transAxes, fontsize=7.5, color=GREY,
            va="bottom", ha="left")
    ax.grid(axis="x", color=PALE, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", length=2, labelsize=8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if overall is not None:
        ax.axvline(overall, color=INK, linewidth=0.8, linestyle=(0, (3, 2)))
    if threshold is not None:
        ax.axvline(threshold, color=FAIL, linewidth=1.1)
    for y, (grp, (values, ci)) in enumerate(zip(groups, bars, strict=True)):
        if not values:
            ax.text(0, y, " undefined", fontsize=7, color=GREY, va="center")
            continue
        colour = GREY if grp.small else (FAIL if grp is worst and alarm else BLUE)
        left = 0.0
        for i, v in enumerate(values):
            hatched = bool(hatch_second) and i == 1
            solid = not (hatched or grp.small)
            ax.barh([y], [v], left=[left], height=0.66, color=colour if solid else "white",
                    edgecolor=colour, linewidth=0.6, hatch="//////" if hatched else None)
            left += v
        if ci is not None:
            ax.plot([ci[0], ci[1]], [y, y], color=INK, linewidth=0.9, solid_capstyle="butt")


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
