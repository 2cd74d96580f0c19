"""The distribution of a regression's predictions per group (``prediction_ks``).

The bins are checked against the binade and sub-bin computed here with
``math.frexp``; every distance against ``scipy.stats.ks_2samp``: on the rows'
bin indices it equals ours, and on the unbinned predictions it lies between
our value and our bound; on COMPAS (real data), on hypothesis-generated data
and on a fixture worked out by hand in exact fractions.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

import fairaudit
from fairaudit.engine import config_from, count
from fairaudit.errors import ConfigError
from fairaudit.kinds.distribution import (
    BINS,
    PREDICTION_KS,
    ZERO,
    DistributionReport,
    bin_edges,
    value_bin,
)
from fairaudit.report import html, markdown
from fairaudit.report.json import to_dict
from tests.cli_support import COMPAS, ROOT, error_line, invoke, read_report, schema, undocumented
from tests.test_html import SCRIPT
from tests.test_html_browser import browser as browser  # the fixture, for the browser test

AUDIT = dict(task="regression", label="y", prediction="p", groups=["g"], min_group_size=1,
             bootstrap=0, digest=False)


def _section(result: fairaudit.AuditResult) -> DistributionReport:
    section = result.sections["prediction_distribution"]
    assert isinstance(section, DistributionReport)
    return section


def _reference_bin(x: float) -> int:
    """A value's bin computed another way: its binade and sub-bin from ``math.frexp``."""
    if math.isinf(x) or abs(x) >= 2.0 ** 40:
        return 0 if x < 0 else BINS - 1
    if abs(x) < 2.0 ** -24:
        return ZERO
    mantissa, exponent = math.frexp(abs(x))  # |x| = m 2^e, 0.5 <= m < 1
    binade = exponent - 1  # 2^binade <= |x| < 2^(binade + 1)
    sub = math.floor((2 * mantissa - 1) * 32)
    j = (binade + 24) * 32 + sub
    return ZERO + 1 + j if x > 0 else ZERO - 1 - j


# -- the bins -----------------------------------------------------------------------


def test_bins_are_ordered_and_cover_the_real_line() -> None:
    values = np.array([-np.inf, -1e300, -2.0 ** 40, -2.0 ** 40 + 2 ** 12, -3.5, -1.0,
                       -2.0 ** -24, -1e-30, -5e-324, -0.0, 0.0, 5e-324, 1e-30, 2.0 ** -24,
                       1.0, 1.03, 1.0 + 1 / 32, 3.5, 2.0 ** 40 - 2 ** 12, 2.0 ** 40, 1e300,
                       np.inf])
    bins = value_bin(values)
    assert bins[0] == 0 and bins[-1] == BINS - 1
    assert (np.diff(bins.astype(int)) >= 0).all()
    assert [int(b) for b in bins] == [_reference_bin(float(x)) for x in values]
    # zero, -0.0, subnormals and everything below 2^-24 share the middle cell
    assert set(bins[7:13].tolist()) == {ZERO}
    assert bins[13] == ZERO + 1 and bins[6] == ZERO - 1


def test_every_bin_holds_its_edges_and_is_at_most_a_32nd_wide() -> None:
    cells = np.arange(BINS)
    ends = [bin_edges(int(c)) for c in cells]
    lows = np.array([lo for lo, _ in ends])
    highs = np.array([hi for _, hi in ends])
    assert (lows[1:] == highs[:-1]).all()  # the bins tile the line, in order
    assert lows[0] == -np.inf and highs[-1] == np.inf
    positive = cells[ZERO + 1:BINS - 1]
    assert (value_bin(lows[positive]) == positive).all()  # a positive bin holds its low end
    assert (value_bin(np.nextafter(highs[positive], 0)) == positive).all()
    negative = cells[1:ZERO]
    assert (value_bin(highs[negative]) == negative).all()  # a negative bin its high end
    assert (value_bin(np.nextafter(lows[negative], 0)) == negative).all()
    inner = np.concatenate([negative, positive])
    width = (highs[inner] - lows[inner]) / np.minimum(np.abs(lows[inner]), np.abs(highs[inner]))
    assert width.max() == pytest.approx(1 / 32) and (width <= 1 / 32).all()
    with pytest.raises(ValueError, match="no bin"):
        bin_edges(BINS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=60))
def test_bins_are_monotone_on_any_floats(xs: list[float]) -> None:
    values = np.sort(np.array(xs, dtype=np.float64))
    bins = value_bin(values)
    assert (np.diff(bins.astype(int)) >= 0).all()
    assert [int(b) for b in bins] == [_reference_bin(float(x)) for x in values]
    for x, b in zip(values.tolist(), bins.tolist(), strict=True):
        lo, hi = bin_edges(b)
        assert lo <= x <= hi


# -- the distances ------------------------------------------------------------------


def _check_against_scipy(df: pd.DataFrame, result: fairaudit.AuditResult) -> None:
    """Per group and for the criterion: ks_2samp on the bins equals ours, and the exact
    (unbinned) statistic is within [value, bound]."""
    used = df[np.isfinite(df["y"]) & np.isfinite(df["p"])]
    grouping = _section(result).groupings[0]
    by_label = {str(k): v["p"].to_numpy() for k, v in used.groupby("g")}
    ref = by_label.get(grouping.reference, np.array([]))
    for x in grouping.groups:
        mine = by_label.get(x.label, np.array([]))
        assert x.rows == len(mine)
        if len(mine) == 0 or len(ref) == 0:
            assert x.ks is None and x.ks_bound is None
            continue
        binned = ks_2samp(value_bin(mine), value_bin(ref)).statistic
        exact = ks_2samp(mine, ref).statistic
        assert x.ks == pytest.approx(binned, abs=1e-12)
        assert x.ks - 1e-12 <= exact <= x.ks_bound + 1e-12
    eligible = [k for k, v in by_label.items() if len(v) >= 1]
    pairs = list(itertools.combinations(eligible, 2))
    gap = result.groupings[0].criteria[PREDICTION_KS]
    if not pairs:
        assert gap.difference is None and gap.reason
        return
    binned = max(ks_2samp(value_bin(by_label[a]), value_bin(by_label[b])).statistic
                 for a, b in pairs)
    exact = max(ks_2samp(by_label[a], by_label[b]).statistic for a, b in pairs)
    assert gap.difference == pytest.approx(binned, abs=1e-12)
    assert gap.ratio is None
    assert gap.difference - 1e-12 <= exact <= grouping.ks_bound + 1e-12
    a, b = grouping.ks_pair
    assert ks_2samp(value_bin(by_label[a]), value_bin(by_label[b])).statistic == \
        pytest.approx(binned, abs=1e-12)


_VALUES = st.one_of(
    st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan]),
    st.floats(-1e-20, 1e-20), st.sampled_from([1e15, -1e15, 2.0 ** 40, -2.0 ** 40, 1e50, -1e50]),
    # past the overflow cells (2^40), short of where the numeric kind's fourth powers overflow
    st.floats(-1e60, 1e60))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), _VALUES, st.sampled_from([0.0, 1.0, np.nan])),
                min_size=2, max_size=80))
def test_distances_are_scipys_on_random_data(rows: list[tuple[str, float, float]]) -> None:
    df = pd.DataFrame(rows, columns=["g", "p", "y"])
    if not (np.isfinite(df["y"]) & np.isfinite(df["p"])).any():
        return  # nothing to audit: refused, as any audit with no rows
    result = fairaudit.audit(df, **AUDIT)
    _check_against_scipy(df, result)


def test_distances_are_scipys_on_compas() -> None:
    raw = pd.read_parquet(COMPAS)
    # decile scores: integers, each alone in its bin; ages: 64 and over two to a bin
    for column in ("decile_score", "age", "score"):
        df = pd.DataFrame({"g": raw["race"], "y": raw["two_year_recid"].astype(float),
                           "p": raw[column].astype(float)})
        result = fairaudit.audit(df, **AUDIT)
        _check_against_scipy(df, result)
        if column == "decile_score":  # one value a bin: the binned distance is exact
            used = df.groupby("g")["p"]
            ref = used.get_group(_section(result).groupings[0].reference)
            for x in _section(result).groupings[0].groups:
                assert x.ks == pytest.approx(ks_2samp(used.get_group(x.label), ref).statistic,
                                             abs=1e-12)


def test_the_reference_is_the_audits() -> None:
    raw = pd.read_parquet(COMPAS)
    df = pd.DataFrame({"g": raw["race"], "y": raw["two_year_recid"], "p": raw["decile_score"]})
    largest = fairaudit.audit(df, **AUDIT)
    given_ref = fairaudit.audit(df, **{**AUDIT, "reference": {"g": "Caucasian"}})
    assert _section(largest).groupings[0].reference == "African-American"  # the largest
    assert _section(given_ref).groupings[0].reference == "Caucasian"
    for result in (largest, given_ref):
        ref = next(g for g in result.groupings[0].groups if g.is_reference)
        assert _section(result).groupings[0].reference == ref.label


def test_hand_computed_distances() -> None:
    # a: 1.0, 2.0, 4.0 (and a NaN prediction, skipped); b: 1.01, 3.0 (and a missing label)
    df = pd.DataFrame({"g": ["a", "a", "a", "a", "b", "b", "b"],
                       "p": [1.0, 2.0, 4.0, np.nan, 1.01, 3.0, 7.0],
                       "y": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.nan]})
    result = fairaudit.audit(df, **{**AUDIT, "reference": {"g": "a"}})
    grouping = _section(result).groupings[0]
    a, b = grouping.groups
    assert (a.rows, b.rows) == (3, 2)
    # 1.0 and 1.01 share the bin [1, 1 + 1/32); 2, 3 and 4 are alone in theirs. At the bins'
    # upper edges F_a = 1/3, 2/3, 2/3, 1 and F_b = 1/2, 1/2, 1, 1: the distance is
    # |2/3 - 1| = 1/3. Inside the shared bin b's row may come first: F_b - F_a = 1/2 - 0.
    assert b.ks == pytest.approx(float(Fraction(1, 3)), abs=1e-15)
    assert b.ks_bound == pytest.approx(float(Fraction(1, 2)), abs=1e-15)
    assert a.ks == 0.0
    gap = result.groupings[0].criteria[PREDICTION_KS]
    assert gap.difference == pytest.approx(float(Fraction(1, 3)), abs=1e-15)
    assert grouping.ks_bound == pytest.approx(float(Fraction(1, 2)), abs=1e-15)
    assert set(grouping.ks_pair) == {"a", "b"}
    # the skipped rows are the numeric kind's, reported once
    assert {g.label: g.dropped for g in result.groupings[0].groups} == {
        "a": {"regression:skipped": 1}, "b": {"regression:skipped": 1}}


def test_too_few_groups_give_no_distance() -> None:
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 2, "p": np.arange(7.0), "y": np.zeros(7)})
    result = fairaudit.audit(df, **{**AUDIT, "min_group_size": 3})
    gap = result.groupings[0].criteria[PREDICTION_KS]
    assert gap.difference is None and gap.groups_used == 1
    assert "a distance needs two" in (gap.reason or "")
    assert [e.group for e in gap.excluded] == ["b"]
    grouping = _section(result).groupings[0]
    assert grouping.ks_pair is None and grouping.ks_bound is None


# -- counts add up ------------------------------------------------------------------


def test_counts_in_parts_are_the_counts_of_the_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frames = [pd.DataFrame({"g": rng.choice(["a", "b", "c"], 400),
                            "y": rng.normal(size=400),
                            "p": rng.lognormal(3, 2, 400) * rng.choice([-1, 1], 400)})
              for _ in range(3)]
    paths = []
    for i, f in enumerate(frames):
        paths.append(str(tmp_path / f"part{i}.parquet"))
        f.to_parquet(paths[-1], row_group_size=97)  # many batches per file
    whole = pd.concat(frames, ignore_index=True)
    config = config_from(**AUDIT)
    split, one = count(paths, config).table, count(whole, config).table
    start = split.cell_names.index("prediction:bin0")
    k1, c1 = split.project(("g",))
    k2, c2 = one.project(("g",))
    assert k1 == k2
    assert (c1[:, start:] == c2[:, start:]).all()
    sizes = whole.groupby("g").size()
    assert c1[:, start:start + BINS].sum(axis=1).tolist() == [sizes[k[0]] for k in k1]
    a, b = fairaudit.audit(paths, **AUDIT), fairaudit.audit(whole, **AUDIT)
    assert to_dict(a)["prediction_distribution"] == to_dict(b)["prediction_distribution"]
    _check_against_scipy(whole, b)


# -- gates and reports --------------------------------------------------------------


def _run(*args: object) -> object:
    return invoke("run", COMPAS, "--task", "regression", "--label", "two_year_recid",
                  "--prediction", "decile_score", "--group", "race", "--bootstrap", "0",
                  "--no-digest", *args)


@pytest.mark.parametrize(("args", "code", "status"), [
    (("--max-gap", "prediction_ks=0.5"), 0, "PASS"),
    (("--max-gap", "race:prediction_ks=0.1"), 1, "FAIL"),
    (("--max-gap", "prediction_ks=0.5", "--min-group-size", "3000"), 0, "INCONCLUSIVE"),
    (("--max-gap", "prediction_ks=0.5", "--min-group-size", "3000",
      "--fail-on-inconclusive"), 1, "INCONCLUSIVE"),
])
def test_gates(args: tuple[str, ...], code: int, status: str) -> None:
    out = _run(*args)
    assert out.exit_code == code, out.output
    assert f"verdict: {status}" in out.stdout


def test_a_ratio_gate_is_refused_in_one_line(tmp_path: Path) -> None:
    line = error_line(_run("--min-ratio", "prediction_ks=0.9"))
    assert "'prediction_ks' has no ratio form" in line and "--max-gap" in line
    config = tmp_path / "fairaudit.toml"
    config.write_text("[gates.min_ratio]\nprediction_ks = 0.9\n")
    line = error_line(_run("--config", config))
    assert "prediction_ks" in line and "no ratio form" in line


def test_no_distance_without_a_regression() -> None:
    out = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                 "--group", "race", "--max-gap", "prediction_ks=0.1", "--no-digest")
    assert out.exit_code == 0 and "SKIPPED" in out.stdout  # a gate on what is not computed


def test_every_report_shows_the_distances(tmp_path: Path) -> None:
    paths = {x: tmp_path / f"a.{x}" for x in ("json", "html", "md")}
    out = _run("--json", paths["json"], "--html", paths["html"], "--markdown", paths["md"])
    assert out.exit_code == 0, out.output
    assert "predictions across race" in out.stdout
    assert "largest KS distance between predictions across race: 0.442" in out.stdout
    doc = read_report(paths["json"])
    assert undocumented(doc, schema(), "$") == []
    section = doc["prediction_distribution"]
    assert section["bins"] == BINS
    grouping = section["groupings"][0]
    listed = {g["label"]: g["metrics"][PREDICTION_KS] for g in doc["groupings"][0]["groups"]}
    assert listed == {g["label"]: g[PREDICTION_KS] for g in grouping["groups"]}
    assert all(e["ci"] is None and e["bound"] >= e["value"] for e in listed.values())
    criterion = doc["groupings"][0]["criteria"][PREDICTION_KS]
    assert criterion["difference"] == grouping["largest"]["value"]
    assert criterion["ratio"] is None
    page = paths["html"].read_text(encoding="utf-8")
    assert 'id="predictions"' in page and "KS vs ref." in page
    md = paths["md"].read_text(encoding="utf-8")
    assert "**Predictions across race**" in md and "| Asian | 32 | 0.442 | 0.536 |" in md


def test_group_names_stay_text() -> None:
    df = pd.DataFrame({"g": ["<script>x</script>"] * 3 + ["a|b"] * 3,
                       "p": [1.0, 2.0, 3.0, 1.5, 2.5, 9.0], "y": [0.0] * 6})
    result = fairaudit.audit(df, **AUDIT)
    page = html.render(result)
    section = page[page.index('id="predictions"'):]
    assert "<script>x" not in section and "&lt;script&gt;x&lt;/script&gt;" in section
    md = markdown.render(result)
    assert "a\\|b" in md and "<script>x" not in md
    assert json.loads(json.dumps(to_dict(result)))["prediction_distribution"]


def test_the_docs_show_a_real_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the command names its input from the repository's root
    text = (ROOT / "docs" / "regression.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"<!-- output: command -->\n```\n(.*?)\n```", text, flags=re.S)
    blocks = re.findall(r"<!-- output: run -->\n```\n(.*?)\n```", text, flags=re.S)
    assert command.startswith("$ fairaudit run ") and len(blocks) == 2
    out = invoke(*command.removeprefix("$ fairaudit ").split())
    assert out.exit_code == 1, out.output  # the gate across races fails
    shown = "\n".join(line.rstrip() for line in out.stdout.splitlines())
    for block in blocks:
        assert block in shown, block.splitlines()[0]


def test_the_python_api_refuses_a_ratio_gate_too() -> None:
    df = pd.DataFrame({"g": ["a", "b"] * 3, "p": np.arange(6.0), "y": np.zeros(6)})
    with pytest.raises(ConfigError, match="'prediction_ks' has no ratio form"):
        fairaudit.audit(df, **{**AUDIT, "min_ratio": {"prediction_ks": 0.9}})
    result = fairaudit.audit(df, **{**AUDIT, "max_gap": {"prediction_ks": 0.5}})
    assert [g.status for g in result.gates] == ["pass"]
    # a: 0, 2, 4 and b: 1, 3, 5, each alone in its bin: F_a - F_b is 1/3 after 0, 2 and 4
    assert result.gates[0].value == pytest.approx(1 / 3, abs=1e-15)


def test_a_history_pools_two_nights_into_the_distances_of_both(tmp_path: Path) -> None:
    from fairaudit.engine import judge
    from fairaudit.history.series import pool_table
    from fairaudit.history.store import History

    rng = np.random.default_rng(9)
    nights = [pd.DataFrame({"g": rng.choice(["a", "b"], 300), "y": rng.normal(size=300),
                            "p": rng.normal(shift, 1.0, 300)}) for shift in (0.0, 0.7)]
    config = config_from(**{**AUDIT, "reference": {"g": "a"}})
    with History.open(tmp_path / "h.sqlite", create=True) as h:
        for day, night in zip(("2026-01-01", "2026-01-02"), nights, strict=True):
            counted = count(night, config)
            h.record(judge(counted.table, config, counted.files), counted.table, config,
                     as_of=day)
        pooled = judge(pool_table(h, h.runs()), config)
    both = pd.concat(nights, ignore_index=True)
    _check_against_scipy(both, pooled)
    assert to_dict(pooled)["prediction_distribution"] == \
        to_dict(fairaudit.audit(both, **{**AUDIT, "reference": {"g": "a"}}))[
            "prediction_distribution"]


@pytest.mark.browser
def test_the_html_section_in_a_browser(tmp_path: Path, browser: object) -> None:
    from tests.test_html_browser import Visit

    df = pd.DataFrame({"g": [SCRIPT] * 4 + ["plain"] * 4,
                       "p": [1.0, 2.0, 3.0, 4.0, 3.5, 4.5, 5.5, 6.5], "y": [0.0] * 8})
    path = tmp_path / "a.html"
    path.write_text(html.render(fairaudit.audit(df, **{**AUDIT, "reference": {"g": "plain"}})),
                    encoding="utf-8")
    v = Visit(browser, path)
    try:
        rows = v.page.eval_on_selector_all(
            "#predictions table tbody tr",
            "trs => trs.map(tr => [...tr.cells].map(td => td.innerText))")
        # a: 1, 2, 3, 4; plain: 3.5 .. 6.5, each alone in its bin: F_a - F_plain = 3/4 at 3
        assert rows == [[SCRIPT, "4", "0.750", "0.750"], ["plain (ref)", "4", "0.000", "0.000"]]
        assert v.dialogs == [] and v.errors == []
    finally:
        v.close()
