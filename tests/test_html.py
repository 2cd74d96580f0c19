"""The HTML report as a file: self-contained, escaped, deterministic, small.

What a browser makes of it is checked in test_html_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import fairaudit
from fairaudit.report import chart, html, view
from fairaudit.result import GateResult, Rate
from tests.conftest import COMPAS_PARQUET

SCRIPT = "<script>alert(1)</script>"
COLUMN = '"><img src=x onerror=alert(1)>'


def compas(**kw):
    return fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid", prediction="prediction",
                           groups=["race", "sex"], reference=[("race", "Caucasian")],
                           max_gap={"equalized_odds": 0.1},
                           min_ratio={"demographic_parity": 0.8}, **kw)


def hostile_frame(n: int = 60) -> pd.DataFrame:
    """Group values and a column name that are markup, and a value that is mathtext."""
    rng = np.random.default_rng(7)
    values = [SCRIPT, "plain", "$x^2$ & <b>bold</b>"]
    return pd.DataFrame({
        "y": rng.integers(0, 2, 3 * n),
        "p": rng.integers(0, 2, 3 * n),
        COLUMN: np.repeat(values, n),
        "sex": rng.choice(["F", "M"], 3 * n),
    })


def hostile():
    return fairaudit.audit(hostile_frame(), label="y", prediction="p", groups=[COLUMN, "sex"],
                           max_gap={"demographic_parity": 0.01})


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Elements()
    p.feed(text)
    return p.tags


@pytest.fixture(scope="module")
def compas_html(tmp_path_factory) -> str:
    return html.render(compas())


def test_self_contained(compas_html):
    tags = elements(compas_html)
    names = {t for t, _ in tags}
    assert not names & {"script", "img", "link", "iframe", "object", "embed", "base"}
    for _, attrs in tags:
        for key, value in attrs.items():
            assert not key.startswith("on")
            if key in ("href", "xlink:href", "src", "action"):
                assert value is not None and value.startswith("#"), (key, value)
    # the only URLs are XML namespace names, which are never fetched
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", compas_html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "@import" not in compas_html and "url(http" not in compas_html
    csp = [a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")


def test_sections_and_figures(compas_html):
    ids = [a.get("id") for _, a in elements(compas_html) if a.get("id")]
    for section in ("verdict", "gates", "groups", "intersections", "method"):
        assert section in ids
    assert compas_html.count('<svg class="chart"') == 3
    assert re.search(r"Equalized odds gap across race: 0\.397 \[0\.\d{3}, 0\.\d{3}\], "
                     r"threshold 0\.1 \(largest allowed\)", compas_html)
    sha = compas().provenance.files[0].sha256
    assert sha in compas_html and len(sha) == 64
    # every metric of the registry the audit computed is defined in one line
    for m in fairaudit.METRICS:
        assert f"{m.title} <span class=\"note mono\">{m.name}</span>" in compas_html
    assert compas_html.count("too small to judge</span>") == 4  # Native American + 3 crossings


def test_user_strings_are_escaped():
    text = html.render(hostile())
    assert SCRIPT not in text and "<img" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    names = {t for t, _ in elements(text)}
    assert "script" not in names and "img" not in names


def test_chart_text_is_escaped_and_plain():
    result = hostile()
    g = result.groupings[0]
    svg = chart.metric_chart(g, g.groups, view.CHART_METRICS, "t")
    root = ET.fromstring(svg)  # well-formed XML
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert any(SCRIPT in t for t in texts)  # the group name, as text
    assert any("$x^2$ & <b>bold</b>" in t for t in texts)  # no mathtext, no markup
    assert "&lt;script&gt;" in svg and "<script" not in svg


def test_chart_check_refuses_active_content():
    with pytest.raises(RuntimeError):
        chart._check('<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>')
    with pytest.raises(RuntimeError):
        chart._check('<svg xmlns="http://www.w3.org/2000/svg"><g onload="x"/></svg>')
    with pytest.raises(RuntimeError):
        chart._check('<svg xmlns="http://www.w3.org/2000/svg" '
                      'xmlns:xlink="http://www.w3.org/1999/xlink">'
                      '<use xlink:href="http://example.org/a.svg#x"/></svg>')


def test_chart_ids_are_unique_in_the_page(compas_html):
    ids = re.findall(r'\bid="([^"]+)"', compas_html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', compas_html):
        assert (ref[0] or ref[1]) in ids


def test_deterministic(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert html.render(compas()) == html.render(compas())


def _without_intervals(result):
    """The same audit with every rate's interval taken away."""
    groupings = []
    for g in result.groupings:
        groups = [dataclasses.replace(grp, metrics={
            k: dataclasses.replace(r, ci=None) for k, r in grp.metrics.items()})
            for grp in g.groups]
        groupings.append(dataclasses.replace(g, groups=tuple(groups)))
    return dataclasses.replace(result, groupings=tuple(groupings))


@dataclass(frozen=True)
class _Rate(Rate):
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Gate(GateResult):
    ci: tuple[float, float] | None = None
    rule: str | None = None


def test_intervals_rules_and_inconclusive_are_shown_when_present():
    base = compas()
    groupings = []
    for g in base.groupings:
        groups = []
        for grp in g.groups:
            rates = {k: _Rate(r.value, r.numerator, r.denominator, r.reason,
                              ci=None if r.value is None else (max(0, r.value - 0.05),
                                                               min(1, r.value + 0.05)))
                     for k, r in grp.metrics.items()}
            groups.append(dataclasses.replace(grp, metrics=rates))
        groupings.append(dataclasses.replace(g, groups=tuple(groups)))
    gate = _Gate("race", "equalized_odds", "max_gap", 0.4, 0.397, "inconclusive",
                 ci=(0.33, 0.46), rule="interval")
    result = dataclasses.replace(base, groupings=tuple(groupings), gates=(gate,),
                                 verdict="inconclusive")  # type: ignore[arg-type]
    text = html.render(result)
    assert 'class="banner v-inconclusive"' in text
    assert "INCONCLUSIVE" in text and "<th>Rule</th>" in text and "<td>interval</td>" in text
    assert "0.397<span class=\"ci\">[0.330, 0.460]</span>" in text
    asian = next(x for x in base.grouping("race").groups if x.label == "Asian")
    lo = max(0, asian.metrics["fpr"].value - 0.05)
    assert f'<span class="ci">[{lo:.2f}, ' in text
    # the whiskers: one more line per group and metric than without intervals
    plain_paths = html.render(_without_intervals(base)).count("<path")
    assert text.count("<path") > plain_paths


def test_worst_off_order_matches_an_independent_computation():
    df = pd.read_parquet(COMPAS_PARQUET)
    result = compas()
    g = result.grouping("race&sex")
    focus = view.focus_metrics(result)
    assert focus == ("selection_rate", "tpr", "fpr")
    y, p = df["two_year_recid"], df["prediction"]
    rows = []
    for (race, sex), part in df.groupby(["race", "sex"]):
        yy, pp = y[part.index], p[part.index]
        pos, neg = (yy == 1).sum(), (yy == 0).sum()
        rows.append({"label": f"{race} & {sex}", "n": len(part),
                     "selection_rate": (pp.mean(), len(part)),
                     "tpr": (((pp == 1) & (yy == 1)).sum() / pos if pos else np.nan, pos),
                     "fpr": (((pp == 1) & (yy == 0)).sum() / neg if neg else np.nan, neg)})
    ref = max(rows, key=lambda r: r["n"])  # no reference given for the crossing: largest
    expected = []
    for r in rows:
        dists = [abs(r[m][0] - ref[m][0]) for m in focus
                 if r["n"] >= 30 and r[m][1] >= 30 and not np.isnan(r[m][0])]
        expected.append((not dists, -max(dists, default=0.0), -r["n"], r["label"]))
    expected.sort()
    got = [s.group.label for s in view.worst_off(g, focus)]
    assert got == [e[3] for e in expected]
    assert got[0] == "Hispanic & Female"
    text = html.render(result)
    section = text[text.index('id="intersections"'):text.index('id="method"')]
    order = re.findall(r'<td class="n">\d+</td><td><span class="label">([^<]+)</span>', section)
    assert [o.replace("&amp;", "&") for o in order] == got


def _wide(n_rows: int = 12_000):
    rng = np.random.default_rng(11)
    df = pd.DataFrame({
        "y": rng.integers(0, 2, n_rows),
        "p": rng.integers(0, 2, n_rows),
        "region": rng.choice([f"region {i}" for i in range(5)], n_rows),
        "age": rng.choice(["18-25", "26-40", "41-60", "61+"], n_rows),
        "sex": rng.choice(["F", "M", "X"], n_rows),
    })
    return fairaudit.audit(df, label="y", prediction="p", groups=["region", "age", "sex"],
                           max_gap={"equalized_odds": 0.1},
                           min_ratio={"demographic_parity": 0.8})


def test_three_columns_sixty_intersections_stay_small():
    result = _wide()
    assert len(result.grouping("region&age&sex").groups) == 60
    text = html.render(result)
    size = len(text.encode("utf-8"))
    print(f"\nHTML for 3 group columns and 60 intersection groups: {size:,} bytes")
    assert size < 2_000_000
    assert text.count('<svg class="chart"') == 4


def test_without_label_gates_or_intersections():
    result = fairaudit.audit(str(COMPAS_PARQUET), score="score", threshold=0.5, groups=["race"])
    text = html.render(result)
    assert "NO GATES" in text and 'class="banner v-none"' in text
    assert text.count('<svg class="chart"') == 1
    assert 'id="intersections"' not in text and 'id="ranges"' not in text
    assert "TPR" not in text.split('id="method"')[0]  # no label: no error rates


@dataclass(frozen=True)
class _RangeCheck:
    feature: str
    low: float
    high: float
    group: str
    outside: int
    share_outside: float


@dataclass(frozen=True)
class _Ranged(fairaudit.AuditResult):
    ranges: tuple[_RangeCheck, ...] = ()
    trusted: fairaudit.AuditResult | None = None


@pytest.mark.skip(reason="stand-in range data; replaced by the real RangeReport rendering")
def test_range_checks_are_shown_when_present():
    base = compas()
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    subset = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race", "sex"])
    checks = (_RangeCheck("priors_count", 0, 20, SCRIPT, 12, 0.0125),)
    text = html.render(_Ranged(**fields, ranges=checks, trusted=subset))
    section = text[text.index('id="ranges"'):text.index('id="method"')]
    assert "<th>feature</th>" in section and "<td>priors_count</td>" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section and "<td>0.013</td>" in section
    assert "race: all rows → trusted rows" in section
    assert section.count("<tr>") >= 1 + 6 + 2 + 12  # checks, then race, sex, race&sex
