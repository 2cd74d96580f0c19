"""Tests that a rate is the same in every group, and their adjustment for the whole audit."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ..metrics import FloatArray, Metric, safe_divide

if TYPE_CHECKING:
    from ..result import Catalog, GroupingResult

Adjustment = Literal["holm", "bh"]
ADJUSTMENTS: tuple[Adjustment, ...] = ("holm", "bh")


def homogeneity(num: FloatArray, den: FloatArray, eligible: npt.NDArray[np.bool_]
                ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pearson chi-square test that a rate is the same in every eligible group.

    ``num`` and ``den`` are (groups, metrics): each metric's table is 2 x G
    (numerator, and denominator minus numerator, per eligible group). Returns
    the statistic, degrees of freedom and p-value per metric, NaN when fewer
    than two groups are eligible or every eligible group's rate is 0 (or 1),
    where the statistic is 0/0. No continuity correction.
    """
    w = np.asarray(eligible, dtype=bool)
    k = np.where(w, num, 0.0).sum(axis=0)
    n = np.where(w, den, 0.0).sum(axis=0)
    groups = w.sum(axis=0)
    pooled = safe_divide(k, n)
    var = pooled * (1.0 - pooled)
    rate = safe_divide(np.where(w, num, 0.0), np.where(w, den, 0.0))
    dev = np.where(w & (den > 0), den * (np.nan_to_num(rate) - pooled) ** 2, 0.0)
    stat = np.where((groups >= 2) & (var > 0), safe_divide(dev.sum(axis=0), var), np.nan)
    dof = np.where(groups >= 2, groups - 1.0, np.nan)
    p = np.where(np.isnan(stat), np.nan,
                 chi2_sf(np.nan_to_num(stat), np.nan_to_num(dof, nan=1.0)))
    return stat, dof, p


def chi2_sf(x: npt.ArrayLike, dof: npt.ArrayLike) -> FloatArray:
    """Upper tail P(X >= x) of a chi-square variable with a whole number of degrees of freedom.

    With y = x / 2 and dof = 2m (even) the tail is the Poisson sum
    sum_{i<m} e^-y y^i / i!; with dof = 2m + 1 (odd) it is
    erfc(sqrt(y)) + sum_{i<m} e^-y y^(i+1/2) / Gamma(i + 3/2). Terms are summed
    in log space, so large statistics and thousands of degrees of freedom
    neither overflow nor lose the tail.
    """
    xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
    ds = np.atleast_1d(np.asarray(dof, dtype=np.float64))
    xs, ds = np.broadcast_arrays(xs, ds)
    out = np.empty(xs.shape, dtype=np.float64)
    for index, (xv, dv) in enumerate(zip(xs.ravel(), ds.ravel(), strict=True)):
        out.flat[index] = _chi2_sf_one(float(xv), round(float(dv)))
    return out.reshape(np.broadcast(np.asarray(x), np.asarray(dof)).shape)


def _chi2_sf_one(x: float, dof: int) -> float:
    if dof < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {dof}")
    if not x > 0.0:
        return 1.0
    y = x / 2.0
    half = dof % 2 == 1
    m = (dof - 1) // 2 if half else dof // 2
    head = math.erfc(math.sqrt(y)) if half else 0.0
    if m == 0:
        return head
    a = 0.5 if half else 0.0
    i = np.arange(m, dtype=np.float64)
    # log Gamma(i + a + 1) for i = 0..m-1, built up from log Gamma(a + 1)
    log_gamma = math.lgamma(a + 1.0) + np.concatenate(([0.0], np.cumsum(np.log(i[1:] + a))))
    terms = np.exp(-y + (i + a) * math.log(y) - log_gamma)
    return float(min(1.0, head + terms.sum()))


def adjust(p_values: Sequence[float], method: Adjustment) -> list[float]:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) adjusted p-values."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        scaled = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        scaled = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(scaled, 1.0)
    return [float(x) for x in out]


def test_key(metric: Metric) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What a metric's test compares: complementary rates (FPR and TNR) are one test."""
    den = tuple(sorted(metric.denominator))
    num = tuple(sorted(metric.numerator))
    if metric.squares is not None:  # a mean of numbers has no complement
        return den, num
    rest = tuple(sorted(set(den) - set(num)))
    return den, min(num, rest)


def adjust_groupings(groupings: Sequence[GroupingResult], method: Adjustment,
                     catalog: Catalog) -> tuple[GroupingResult, ...]:
    """Fill ``p_adjusted`` across every test of the audit (see :func:`adjust_family`)."""
    return adjust_family(groupings, method, catalog, {})[0]


def adjust_family(groupings: Sequence[GroupingResult], method: Adjustment, catalog: Catalog,
                  extra: Mapping[Any, float]
                  ) -> tuple[tuple[GroupingResult, ...], dict[Any, float]]:
    """Fill ``p_adjusted`` across every test of the audit, and adjust ``extra`` with them.

    ``extra`` holds the p-values of tests an outcome kind makes on its own
    (the tests within strata), by a key of its choosing: they join the family,
    and come back adjusted under the same keys.

    The family is every distinct test the audit makes: one per grouping and
    metric, counting complementary metrics (FPR and TNR, TPR and FNR, ...)
    once since their tables are the same, and one per grouping for a
    criterion with a test of its own (``range_coverage``). A criterion over
    several metrics takes the smallest adjusted p of its metrics.
    ``catalog`` holds the audit's metric and criterion definitions.
    """
    keys = {m.name: test_key(m) for m in catalog.metrics}
    over = {c.name: c.metrics for c in catalog.criteria if c.metrics}
    family: dict[tuple[str, Any], float] = {}
    for g in groupings:
        for name, gap in g.gaps.items():
            if gap.p_value is not None:
                family.setdefault((g.name, keys[name]), gap.p_value)
        for name, gap in g.criteria.items():
            # a criterion not over metrics (range_coverage) is its own test
            if name not in over and gap.p_value is not None:
                family[(g.name, name)] = gap.p_value
    for key, p in extra.items():
        family[("", key)] = p
    adjusted = dict(zip(family, adjust(list(family.values()), method), strict=True))
    out = []
    for g in groupings:
        gaps = {
            name: dataclasses.replace(gap, p_adjusted=adjusted.get((g.name, keys[name])))
            for name, gap in g.gaps.items()
        }
        criteria = {}
        for name, gap in g.criteria.items():
            if name not in over:  # not over metrics: its own test
                criteria[name] = dataclasses.replace(gap, p_adjusted=adjusted.get((g.name, name)))
                continue
            parts = [gaps[m] for m in over[name] if m in gaps]
            ps = [p.p_value for p in parts if p.p_value is not None]
            qs = [p.p_adjusted for p in parts if p.p_adjusted is not None]
            criteria[name] = dataclasses.replace(gap, p_value=min(ps) if ps else None,
                                                 p_adjusted=min(qs) if qs else None)
        out.append(dataclasses.replace(g, gaps=gaps, criteria=criteria))
    return tuple(out), {key: adjusted[("", key)] for key in extra}
