"""Every COMPAS figure quoted in docs/statistics.md and the README's "How sure is a gap?"
comes from a real run of the bundled example: recomputed here and compared with the text."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

import fairaudit
from fairaudit import stats
from fairaudit.metrics import CRITERIA, METRICS, fractions
from tests.cli_support import ROOT
from tests.conftest import COMPAS_PARQUET
from tests.test_compas_intervals import FAIRLEARN_BOOT, OURS_BOOT, QUANTILES, _order_statistic_band

STATISTICS = (ROOT / "docs" / "statistics.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = STATISTICS.split("## Cross-check with fairlearn on COMPAS", 1)[1]


def _race(bootstrap: int) -> tuple[fairaudit.AuditResult, stats.GapIntervals, list[str], int]:
    """The race audit of the example, and the bootstrap it drew, as the engine draws it."""
    df = pd.read_parquet(COMPAS_PARQUET)
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race"], intersections=False,
                             bootstrap=bootstrap)
    grouping = result.grouping("race")
    table = pd.crosstab(df["race"], [df["two_year_recid"], df["prediction"]])
    confusion = table[[(0, 0), (0, 1), (1, 0), (1, 1)]].to_numpy()
    labels = [g.label for g in grouping.groups]
    _, den = fractions(confusion, METRICS)
    eligible = (confusion.sum(axis=1) >= 30)[:, None] & (den >= 30)
    names = [m.name for m in METRICS]
    criteria = [[names.index(n) for n in c.metrics] for c in CRITERIA
                if c.name in grouping.criteria]
    drawn = stats.bootstrap(confusion, METRICS, eligible, labels.index(grouping.reference),
                            criteria, bootstrap, 0.95, stats.seed_for(0, "race"))
    return result, drawn, labels, names.index("selection_rate")


@pytest.fixture(scope="module")
def replicates() -> np.ndarray:
    """The 20,000 replicates of the race selection-rate gap (as tests/test_compas_intervals)."""
    df = pd.read_parquet(COMPAS_PARQUET)
    result, _, labels, _ = _race(OURS_BOOT)
    grouping = result.grouping("race")
    ref = labels.index(grouping.reference)
    table = pd.crosstab(df["race"], [df["two_year_recid"], df["prediction"]])
    confusion = table[[(0, 0), (0, 1), (1, 0), (1, 1)]].to_numpy()
    order = [ref, *[i for i in range(len(labels)) if i != ref]]
    drawn = stats.resample(confusion[order], OURS_BOOT,
                           np.random.default_rng(stats.seed_for(0, "race")))
    rates = drawn[..., 1::2].sum(axis=-1) / drawn.sum(axis=-1)
    keep = confusion[order].sum(axis=1) >= 30
    rates = rates[keep]
    return rates.max(axis=0) - rates.min(axis=0)


def test_the_fairlearn_table_is_a_real_run(replicates):
    df = pd.read_parquet(COMPAS_PARQUET)
    used = df[df["race"] != "Native American"]
    mf = MetricFrame(metrics=selection_rate, y_true=used["two_year_recid"],
                     y_pred=used["prediction"], sensitive_features=used["race"],
                     n_boot=FAIRLEARN_BOOT, ci_quantiles=QUANTILES, random_state=20160523)
    theirs = [float(x) for x in mf.difference_ci()]
    ours = np.quantile(replicates, QUANTILES)
    rows = re.findall(r"^\| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", SECTION, flags=re.M)
    assert rows == [(f"{q:g}", f"{t:.4f}", f"{o:.4f}")
                    for q, t, o in zip(QUANTILES, theirs, ours, strict=True)]
    assert f"fairlearn ({FAIRLEARN_BOOT} replicates)" in SECTION
    assert f"fairaudit replicates ({OURS_BOOT:,})" in SECTION


def test_the_beta_levels_are_computed():
    low, high = _order_statistic_band(0.025, FAIRLEARN_BOOT)
    assert f"our quantiles at levels\n{low:.4f} and {high:.3f})" in SECTION


def test_the_intervals_at_the_default_bootstrap_are_a_real_run():
    result, drawn, _, sr = _race(1_000)
    gap = result.grouping("race").gaps["selection_rate"]
    assert gap.ci_difference == pytest.approx(tuple(drawn.difference[sr]), abs=1e-15)
    p_low, p_high = drawn.difference_percentile[sr]
    low, high = gap.ci_difference
    assert gap.difference is not None
    text = " ".join(SECTION.split())
    assert (f"the percentile interval is [{p_low:.3f}, {p_high:.3f}] and the reported one "
            f"{gap.difference:.3f} [{low:.3f}, {high:.3f}]") in text
    rates = {g.label: g.metrics["selection_rate"] for g in result.grouping("race").groups}
    asian, other = rates["Asian"], rates["Other"]
    assert (asian.denominator, f"{asian.value:.3f}", f"{other.value:.3f}") == (32, "0.250",
                                                                                "0.210")
    assert f"the {asian.denominator}-row Asian group ({asian.value:.3f})" in text
    assert f"than Other ({other.value:.3f})" in text


def test_the_readme_interval_of_the_asian_rate_is_a_real_run():
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race"], intersections=False)
    asian = next(g for g in result.grouping("race").groups if g.label == "Asian")
    rate = asian.metrics["selection_rate"]
    assert rate.value is not None and rate.ci is not None
    text = " ".join(README.split())
    assert (f"a selection rate of {rate.value:.3f} measured on {rate.denominator} people could "
            f"be anything from {rate.ci[0]:.3f} to {rate.ci[1]:.3f}") in text


def test_the_readme_audit_interval_quoted_beside_it_is_a_real_run():
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race", "sex"],
                             reference={"race": "Caucasian"})
    race = result.grouping("race")
    gap = race.criteria["demographic_parity"]
    assert gap.difference is not None and gap.ci_difference is not None
    largest = max(race.groups, key=lambda g: g.count).label
    text = " ".join(SECTION.split())
    assert f"takes its largest group, {largest}, as the reference" in text
    assert (f"with Caucasian as the reference, draws the groups in another order and reports "
            f"{gap.difference:.3f} [{gap.ci_difference[0]:.3f}, {gap.ci_difference[1]:.3f}]"
            ) in text


def test_the_left_out_example_of_docs_reports_is_a_real_run():
    from fairaudit.report import view

    df = pd.read_parquet(COMPAS_PARQUET)
    asian = df[df["race"] == "Asian"]
    positives = int((asian["two_year_recid"] == 1).sum())
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race"], intersections=False)
    reasons = dict(dict(view.left_out_reasons(result.grouping("race")))["Asian"])
    shown = f"too few actual positives: {positives} < 30"
    assert reasons[shown] == "TPR, FNR"
    text = " ".join((ROOT / "docs" / "reports.md").read_text(encoding="utf-8").split())
    assert f'("{shown}: TPR, FNR")' in text
