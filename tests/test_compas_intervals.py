"""COMPAS: the bootstrap of the race demographic-parity difference against fairlearn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from scipy.stats import beta

import fairaudit
from fairaudit import stats
from fairaudit.metrics import CRITERIA, METRICS, fractions
from tests.conftest import COMPAS_PARQUET

FAIRLEARN_BOOT = 100  # fairlearn recomputes a MetricFrame per replicate: ~40 ms each
OURS_BOOT = 20_000  # ours redraws counts: 20,000 replicates cost well under a second
QUANTILES = [0.025, 0.25, 0.5, 0.75, 0.975]
# Allowance for the one real difference between the two bootstraps: fairlearn
# redraws rows from the whole file, so each group's size varies from replicate
# to replicate, while ours keeps every group's size. A rate's bootstrap variance
# then differs by a share of about 1/n (3% for the 32-row Asian group, 0.3% for
# the 377-row Other group), which moves a quantile of this gap (bootstrap sd
# about 0.03) by well under 0.005.
SIZE_ALLOWANCE = 0.005


def _order_statistic_band(q: float, n: int, tail: float = 0.0005) -> tuple[float, float]:
    """Levels of our distribution between which fairlearn's ``q`` quantile of ``n``
    replicates falls with probability ``1 - 2 * tail`` if both draw from one distribution.

    numpy's quantile interpolates between order statistics ``k`` and ``k + 1``
    (1-based, ``k = floor(q (n - 1)) + 1``); the ``k``-th smallest of ``n``
    uniform draws is Beta(k, n + 1 - k).
    """
    k = int(np.floor(q * (n - 1))) + 1
    return float(beta.ppf(tail, k, n + 1 - k)), float(beta.ppf(1 - tail, k + 1, n - k))


def test_race_demographic_parity_interval_agrees_with_fairlearn():
    df = pd.read_parquet(COMPAS_PARQUET)
    result = fairaudit.audit(str(COMPAS_PARQUET), label="two_year_recid",
                             prediction="prediction", groups=["race"], intersections=False,
                             bootstrap=OURS_BOOT)
    grouping = result.grouping("race")
    gap = grouping.gaps["selection_rate"]
    # the 18 Native American rows are under the minimum group size: out of the gap
    assert [e.group for e in gap.excluded] == ["Native American"]
    used = df[df["race"] != "Native American"]

    # the engine's own replicates, at any quantile level: same counts, same seed
    table = pd.crosstab(df["race"], [df["two_year_recid"], df["prediction"]])
    confusion = table[[(0, 0), (0, 1), (1, 0), (1, 1)]].to_numpy()
    labels = [g.label for g in grouping.groups]
    assert labels == list(table.index)
    _, den = fractions(confusion, METRICS)
    eligible = (confusion.sum(axis=1) >= 30)[:, None] & (den >= 30)
    ref = labels.index(grouping.reference)
    names = [m.name for m in METRICS]
    criteria = [[names.index(n) for n in c.metrics] for c in CRITERIA
                if c.name in grouping.criteria]
    sr = names.index("selection_rate")

    reported = stats.bootstrap(confusion, METRICS, eligible, ref, criteria, OURS_BOOT, 0.95,
                               stats.seed_for(0, "race"))
    assert gap.ci_difference == pytest.approx(tuple(reported.difference[sr]), abs=1e-15)
    # the same replicates by hand: the reference group is drawn first, then the others
    order = [ref, *[i for i in range(len(labels)) if i != ref]]
    drawn = stats.resample(confusion[order], OURS_BOOT,
                           np.random.default_rng(stats.seed_for(0, "race")))
    rates = drawn[..., 1::2].sum(axis=-1) / drawn.sum(axis=-1)  # (groups, replicates)
    rates = rates[eligible[order, sr]]
    replicates = rates.max(axis=0) - rates.min(axis=0)
    assert np.quantile(replicates, [0.025, 0.975]) == pytest.approx(
        reported.difference_percentile[sr], abs=1e-12)

    def ours(level: float) -> float:
        return float(np.quantile(replicates, level))

    mf = MetricFrame(metrics=selection_rate, y_true=used["two_year_recid"],
                     y_pred=used["prediction"], sensitive_features=used["race"],
                     n_boot=FAIRLEARN_BOOT, ci_quantiles=QUANTILES, random_state=20160523)
    assert mf.difference() == pytest.approx(gap.difference, abs=1e-12)
    theirs = [float(x) for x in mf.difference_ci()]
    for q, value in zip(QUANTILES, theirs, strict=True):
        low_level, high_level = _order_statistic_band(q, FAIRLEARN_BOOT)
        low, high = ours(low_level) - SIZE_ALLOWANCE, ours(high_level) + SIZE_ALLOWANCE
        assert low <= value <= high, (q, value, low, high)

    # the reported interval is built from pairs of groups, not from these percentiles:
    # its lower end is more cautious, since Asian (32 rows) may be the lowest group
    # rather than Other; its upper end, the largest of the candidate pairs' own bounds
    # (African-American minus Other, minus Asian), is near the percentile end here
    low, high = gap.ci_difference
    assert low <= ours(0.025) + 1e-12
    assert low < gap.difference < high
    assert high == pytest.approx(ours(0.975), abs=0.01)
