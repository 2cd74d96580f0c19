"""The HTML report as a file: self-contained, escaped, deterministic, small.

What a browser makes of it is checked in test_html_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import fairaudit
from fairaudit.report import chart, html, view
from tests.conftest import COMPAS_PARQUET

SCRIPT = "<script>alert(1)</script>"
COLUMN = '"><img src=x onerror=alert(1)>'


def compas(**kw):
    return compas_with(max_gap={"equalized_odds": 0.1}, min_ratio={"demographic_parity": 0.8},
                       **kw)


def compas_with(**kw):
    return fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid", prediction="prediction",
                           groups=["race", "sex"], reference=[("race", "Caucasian")], **kw)


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
        figures = dataclasses.replace(g.figures, ci=[[None] * len(row) for row in g.figures.ci])
        groupings.append(dataclasses.replace(g, figures=figures))
    return dataclasses.replace(result, groupings=tuple(groupings))


Z95 = 1.959963984540054  # the standard normal's 0.975 quantile


def _wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval, written out."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _equalized_odds_by_pandas(df: pd.DataFrame, column: str, minimum: int = 30) -> float:
    """The larger of the TPR and FPR spreads over the groups with enough rows for each."""
    spreads = []
    for label in (1, 0):  # TPR over the positives, FPR over the negatives
        part = df[df["two_year_recid"] == label]
        rates = [g["prediction"].mean() for _, g in part.groupby(column)
                 if len(g) >= minimum and len(df[df[column] == g[column].iloc[0]]) >= minimum]
        spreads.append(max(rates) - min(rates))
    return max(spreads)


def test_intervals_rules_and_inconclusive_are_shown_when_present():
    # a gate past its threshold whose interval straddles it is inconclusive under the
    # confident-fail rule: the rule, the interval and the verdict must all be shown
    result = compas_with(max_gap={"equalized_odds": 0.35}, decide="confident-fail")
    race = next(g for g in result.gates if g.grouping == "race")
    assert race.status == "inconclusive" and result.verdict == "inconclusive"
    df = pd.read_parquet(COMPAS_PARQUET)
    value = _equalized_odds_by_pandas(df, "race")
    assert race.value == pytest.approx(value, abs=1e-12)
    assert race.ci is not None and race.ci[0] < 0.35 < race.ci[1]
    text = html.render(result)
    assert 'class="banner v-inconclusive"' in text
    assert "? INCONCLUSIVE" in re.sub(r"<[^>]+>", "", text)
    assert "<th>Rule</th>" in text and "<td>confident-fail</td>" in text
    shown = f"{value:.3f}<span class=\"ci\">[{race.ci[0]:.3f}, {race.ci[1]:.3f}]</span>"
    assert shown in text
    assert "past the threshold, but the interval straddles it" in text
    # Asian defendants' FPR with its Wilson interval, computed here from the rows
    neg = df[(df["race"] == "Asian") & (df["two_year_recid"] == 0)]
    lo, hi = _wilson(int(neg["prediction"].sum()), len(neg))
    assert f'{neg["prediction"].mean():.3f}<span class="ci">[{lo:.2f}, {hi:.2f}]</span>' in text
    # the whiskers: one more line per group and metric than without intervals
    plain_paths = html.render(_without_intervals(result)).count("<path")
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


# -- range checks ------------------------------------------------------------------------

FEATURE = "<i>debt</i>"  # a range on a column whose name is markup
RANGES = {"income": {"min": 1000, "max": 5000}, FEATURE: {"max": 800}, "age": {"min": 18},
          "job": {"allowed": ["clerk", "nurse"]}}


def ranged_frame(n: int = 3000) -> pd.DataFrame:
    """Groups (one of them markup, one too small) whose inputs leave the ranges unevenly."""
    rng = np.random.default_rng(5)
    band = rng.choice([SCRIPT, "young", "old"], n, p=[0.3, 0.3, 0.4])
    young = band == "young"
    income = rng.normal(np.where(young, 1500, 3000), 900).round(0)
    income[rng.random(n) < 0.03] = np.nan
    debt = rng.exponential(np.where(band == "old", 500, 200)).round(0)
    age = np.where(young, rng.integers(15, 30, n), rng.integers(25, 80, n)).astype(float)
    job = rng.choice(["clerk", "nurse", "student", None], n,
                     p=[0.4, 0.3, 0.25, 0.05]).astype(object)
    job[~young & (job == "student")] = "clerk"
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(young, 0.3, 0.6)).astype(int)
    df = pd.DataFrame({"y": y, "p": p, "band": band, "sex": rng.choice(["F", "M"], n),
                       "income": income, FEATURE: debt, "age": age, "job": job})
    tiny = df.iloc[:12].assign(band="tiny")  # too small to judge
    return pd.concat([df, tiny], ignore_index=True)


def ranged(df: pd.DataFrame | None = None):
    return fairaudit.audit(ranged_frame() if df is None else df, label="y", prediction="p",
                           groups=["band", "sex"], ranges=RANGES, max_out_of_range=0.25,
                           max_gap={"range_coverage": 0.2},
                           min_ratio={"demographic_parity": 0.8})


def _expected_ranges(df: pd.DataFrame) -> pd.DataFrame:
    """Per row, each feature's state, from the declared ranges with pandas alone."""
    out = pd.DataFrame(index=df.index)
    for feature, spec in RANGES.items():
        v = df[feature]
        known = v.notna()
        if "allowed" in spec:
            out[f"{feature}:not_allowed"] = known & ~v.isin(spec["allowed"])
            continue
        out[f"{feature}:below"] = known & (v < spec["min"]) if "min" in spec else False
        out[f"{feature}:above"] = known & (v > spec["max"]) if "max" in spec else False
    out["outside"] = out.any(axis=1)
    missing = pd.concat([df[f].isna() for f in RANGES], axis=1).any(axis=1)
    out["inside"] = ~out["outside"] & ~missing
    return out


def _share_text(x: float) -> str:
    assert x == 0 or 0.0005 <= x <= 0.9995, x  # the fixture keeps shares off the edges
    return f"{x:.3f}"


class Tables(HTMLParser):
    """Every table's rows as cell texts (a cell's parts joined by spaces), by element id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str | None, str | None, list[list[str]]]] = []
        self._block: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and (a.get("id") or "").startswith(("ranges-", "grouping-")):
            self._block = a["id"]
        elif tag == "table":
            self.tables.append((self._block, a.get("class"), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][2].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "span" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][2][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "span" and self._cell is not None:
            self._cell.append(" ")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(text: str, block: str, kind: str) -> list[list[str]]:
    p = Tables()
    p.feed(text)
    (rows,) = [r for b, c, r in p.tables if b == block and c == kind]
    return rows


@pytest.fixture(scope="module")
def ranged_report():
    df = ranged_frame()
    result = ranged(df)
    return df, result, html.render(result)


def test_range_checks_match_an_independent_computation(ranged_report):
    df, result, text = ranged_report
    states = _expected_ranges(df)
    section = text[text.index('<section id="ranges">'):text.index('<section id="method">')]
    blocks = [b.name for b in result.ranges.groupings]
    assert blocks == ["band", "sex", "band&sex"]
    # one chart per grouping in the range section
    assert section.count('<svg class="chart"') == 3
    assert text.count('<svg class="chart"') == 6
    rows = tables(text, "ranges-1", "ranges")
    heads = rows[1]  # the second header row names the states, feature by feature
    columns = []
    for feature, spec in RANGES.items():
        if "allowed" in spec:
            columns.append((feature, "not_allowed"))
        columns += [(feature, st) for st, bound in (("below", "min"), ("above", "max"))
                    if bound in spec]
        if df[feature].isna().any():
            columns.append((feature, "missing"))
    assert heads == [st.replace("_", " ") for _, st in columns]
    minimum = result.min_group_size
    coverage = {}
    for band, part in df.groupby("band"):
        st = states.loc[part.index]
        inside, outside = int(st["inside"].sum()), int(st["outside"].sum())
        coverage[band] = inside / (inside + outside)
        label = band if band != SCRIPT else "<script>alert(1)</script>"
        row = next(r for r in rows[2:] if r[0].startswith(label))
        assert row[1] == f"{len(part):,}"
        assert row[2].split(" ")[0] == _share_text(coverage[band])
        for (feature, state), cell in zip(columns, row[3:], strict=True):
            v = part[feature]
            if state == "missing":
                expected = v.isna().mean()
            else:
                expected = st[f"{feature}:{state}"].sum() / v.notna().sum()
            assert cell == _share_text(expected), (band, feature, state)
    # the coverage gap: over the groups big enough to judge
    judged = {b: c for b, c in coverage.items() if (df["band"] == b).sum() >= minimum}
    assert "tiny" not in judged and len(judged) == 3
    gap = max(judged.values()) - min(judged.values())
    low = min(judged, key=judged.__getitem__)
    assert low == "young"
    block = section[section.index('id="ranges-1"'):section.index('id="ranges-2"')]
    # each figure may be followed by its bootstrap interval
    ratio = min(judged.values()) / max(judged.values())
    assert re.search(rf"Range coverage gap across band: difference <strong>{gap:.3f}</strong>"
                     rf"( \[[0-9.]+, [0-9.]+\])?, ratio <strong>{ratio:.3f}</strong>", block)
    assert "Most often out of range: <strong class=\"worst-name alarm\">young</strong>" in block
    young = next(r for r in rows[2:] if r[0].startswith("young"))
    assert "most often out of range" in young[0]
    tiny = next(r for r in rows[2:] if r[0].startswith("tiny"))
    assert "too small to judge" in tiny[0]
    assert "Left out of the coverage gap:" in block and "small group: 12 rows" in block


def test_range_gates_and_trusted_figures_match_an_independent_computation(ranged_report):
    df, result, text = ranged_report
    states = _expected_ranges(df)
    minimum = result.min_group_size
    block = text[text.index('id="ranges-1"'):text.index('id="ranges-2"')]
    # the out-of-range gate on each feature names its largest share among groups judged
    items = re.findall(r"<li>(.*?)</li>", block)
    words = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", i)).strip() for i in items]
    for feature in RANGES:
        kinds = [c for c in states if c.startswith(f"{feature}:")]
        shares = [(st[kinds].any(axis=1).sum() / df.loc[st.index, feature].notna().sum(), b,
                   _wilson(int(st[kinds].any(axis=1).sum()),
                           int(df.loc[st.index, feature].notna().sum())))
                  for b, st in states.groupby(df["band"]) if len(st) >= minimum]
        worst = max(shares, key=lambda t: t[0])
        status = "✗ FAIL" if worst[0] > 0.25 else "✓ PASS"
        name = feature.replace("<", "&lt;").replace(">", "&gt;")
        low, high = worst[2]
        line = (f"{status} {name} out of range: {worst[0]:.3f} [{low:.3f}, {high:.3f}] "
                f"in {worst[1]}, threshold 0.25")
        line = line.replace(SCRIPT, "&lt;script&gt;alert(1)&lt;/script&gt;")
        assert line in words, (line, words)
    # the criteria and rates on the trusted rows: rows inside every range, label and
    # decision known, filtered with pandas
    trusted = df[states["inside"]]
    rates = {b: g["p"].mean() for b, g in df.groupby("band") if len(g) >= minimum}
    rates_t = {b: g["p"].mean() for b, g in trusted.groupby("band") if len(g) >= minimum}
    compare = tables(text, "ranges-1", "compare")
    dp = next(r for r in compare if r[0].startswith("Demographic parity"))
    assert dp[1].split(" ")[0] == f"{max(rates.values()) - min(rates.values()):.3f}"
    assert dp[2].split(" ")[0] == f"{max(rates_t.values()) - min(rates_t.values()):.3f}"
    beside = tables(text, "ranges-1", "trusted")
    assert beside[0][:6] == ["Group", "Rows", "Trusted rows", "Share trusted",
                             "Selection rate", "trusted"]
    assert len(beside) == 1 + 4
    for row in beside[1:]:
        if row[0].startswith("tiny"):
            assert "too small to judge" in row[0]
            continue
        band = next(b for b in rates if row[0].startswith(b))
        assert row[2] == f"{(trusted['band'] == band).sum():,}"
        assert row[4].split(" ")[0] == f"{rates[band]:.3f}"
        assert row[5].split(" ")[0] == f"{rates_t[band]:.3f}"


def test_range_section_escapes_and_sorts(ranged_report):
    df, result, text = ranged_report
    section = text[text.index('<section id="ranges">'):text.index('<section id="method">')]
    names = {t for t, _ in elements(section)}
    assert "script" not in names and "i" not in names
    assert "&lt;i&gt;debt&lt;/i&gt;" in section and "&lt;script&gt;alert(1)" in section
    svg_texts = ["".join(t.itertext()) for svg in re.findall(r"<svg .*?</svg>", section, re.S)
                 for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert FEATURE in svg_texts and any(SCRIPT in t for t in svg_texts)
    # intersections: lowest range coverage first among the groups judged, then the rest
    states = _expected_ranges(df)
    order = []
    for (band, sex), part in df.groupby(["band", "sex"]):
        st = states.loc[part.index]
        inside, outside = st["inside"].sum(), st["outside"].sum()
        label = f"{band} & {sex}"
        order.append((len(part) < result.min_group_size, inside / (inside + outside),
                      -len(part), label))
    rows = tables(text, "ranges-3", "ranges")[2:-1]
    got = [r[0] for r in rows]
    for (_, _, _, label), shown in zip(sorted(order), got, strict=True):
        assert shown.startswith(label), (label, shown)


def test_no_range_section_without_ranges(compas_html):
    assert 'id="ranges"' not in compas_html and "Range checks" not in compas_html


def test_a_large_grouping_charts_the_groups_that_matter_and_tables_them_all():
    rng = np.random.default_rng(11)
    n_groups, per = 200, 120
    store = np.repeat([f"store-{i:03d}" for i in range(n_groups)], per)
    frame = pd.DataFrame({
        "store": store,
        "y": rng.integers(0, 2, len(store)),
        "p": rng.integers(0, 2, len(store)),
    })
    result = fairaudit.audit(frame, label="y", prediction="p", groups=["store"], bootstrap=0)
    g = result.groupings[0]
    text = html.render(result)
    svg = re.findall(r'<svg class="chart".*?</svg>', text, re.S)[0]
    charted = ["".join(t.itertext()) for t in
               ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    charted = {t.split()[0] for t in charted if t.startswith("store-")}
    assert len(charted) == view.MAX_SHOWN
    # independently: the reference, and the lowest and highest judged group of each chart metric
    must = {g.reference}
    for m in view.CHART_METRICS:
        judged = [x for x in g.groups if not x.small and x.metrics[m].value is not None
                  and x.metrics[m].denominator >= result.min_group_size]
        must.add(min(judged, key=lambda x: x.metrics[m].value).label)
        # ties: the first lowest and the last highest
        must.add(max(reversed(judged), key=lambda x: x.metrics[m].value).label)
    assert must <= charted
    # every group has its row in the table
    assert all(f">store-{i:03d}<" in text for i in range(n_groups))
    assert f"The chart shows {view.MAX_SHOWN} of {n_groups} groups" in text


def test_a_small_grouping_charts_every_group(compas_html):
    assert "The chart shows" not in compas_html
