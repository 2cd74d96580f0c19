"""The uncertainty of an audit's figures: intervals, the bootstrap of gaps, tests, adjustments.

- A group's rate gets a Wilson score interval (or Clopper-Pearson on request).
- Gaps get bootstrap intervals resampled from the counts: each group's four
  confusion counts are a multinomial sample of the group's size, so a
  replicate is drawn per group from its counts and every figure is recomputed
  from the drawn counts. The cost depends on groups and replicates, never on
  rows. A group against the reference group gets a studentized interval; a
  largest-minus-smallest gap gets ends built from the pairs of groups that
  could be its extremes.
- Each metric gets a chi-square test that its rate is the same in every
  eligible group, and the p-values of one audit are adjusted together (Holm, or
  Benjamini-Hochberg).

docs/statistics.md gives the formulas and when each choice fits. The
chi-square tail is computed here in closed form (the degrees of freedom are
whole numbers); scipy is imported only for the Clopper-Pearson beta quantile,
so a default run never loads it.
"""

from __future__ import annotations

from typing import Literal

from .intervals import (
    INTERVALS,
    MAX_UNDEFINED_SHARE,
    IntervalMethod,
    clopper_pearson,
    mean_interval,
    percentile_interval,
    proportion_interval,
    quantile,
    quantiles,
    t_interval,
    wilson,
    z_value,
)
from .resampling import GapIntervals, bootstrap, resample, seed_for, value_errors
from .testing import (
    ADJUSTMENTS,
    Adjustment,
    adjust,
    adjust_family,
    adjust_groupings,
    chi2_sf,
    homogeneity,
    test_key,
)

Decision = Literal["point", "confident-fail", "confident-pass"]
DECISIONS: tuple[Decision, ...] = ("point", "confident-fail", "confident-pass")

__all__ = [
    "ADJUSTMENTS",
    "DECISIONS",
    "INTERVALS",
    "MAX_UNDEFINED_SHARE",
    "Adjustment",
    "Decision",
    "GapIntervals",
    "IntervalMethod",
    "adjust",
    "adjust_family",
    "adjust_groupings",
    "bootstrap",
    "chi2_sf",
    "clopper_pearson",
    "homogeneity",
    "mean_interval",
    "percentile_interval",
    "proportion_interval",
    "quantile",
    "quantiles",
    "resample",
    "seed_for",
    "t_interval",
    "test_key",
    "value_errors",
    "wilson",
    "z_value",
]
