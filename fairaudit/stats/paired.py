"""Two models on the same rows: their figures, the changes, and paired bootstrap intervals.

A group's rows fall in joint cells: the label, the candidate's decision and
the baseline's decision (``JOINT``: ``confusion * 2 + baseline``, where the
confusion cell is ``label * 2 + candidate`` as everywhere else). Both models'
confusion counts are sums of those cells, so one draw of a group's joint cells
redraws its rows with both decisions of each row: the pairing is kept, and a
change whose two sides move together (correlated models) gets the narrower
interval it deserves. A replicate is a multinomial draw per group, as for every
other bootstrap of the audit, from the group's shares smoothed by half a row
in each cell (:data:`PSEUDO`), and the intervals are percentile intervals;
cost depends on groups and replicates, never on rows (docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..metrics import FloatArray, IntArray, Metric, fractions, safe_divide, spread
from .intervals import percentile_interval

# label x candidate x baseline: index (label * 2 + candidate) * 2 + baseline
JOINT = tuple(f"{c}:{b}" for c in ("tn", "fp", "fn", "tp") for b in ("0", "1"))

# replicate-by-group-by-metric values held at once
_CHUNK_VALUES = 4_000_000


def split(joint: npt.NDArray[np.integer]) -> tuple[IntArray, IntArray]:
    """The candidate's and the baseline's confusion counts (..., 4) from joint cells (..., 8)."""
    j = np.asarray(joint, dtype=np.int64)
    cube = j.reshape(*j.shape[:-1], 2, 2, 2)  # label, candidate, baseline
    candidate = cube.sum(axis=-1).reshape(*j.shape[:-1], 4)
    baseline = cube.sum(axis=-2).reshape(*j.shape[:-1], 4)
    return candidate, baseline


@dataclass(frozen=True)
class Paired:
    """Both models' figures for the groups of one grouping, and the changes.

    Per group and metric (groups, metrics): numerators, denominators and
    values of each model, the change (candidate minus baseline), the relative
    change, and their paired intervals (groups, metrics, 2). Per metric, then
    per criterion: each model's gap over the groups eligible under both, the
    change of the gap and its paired interval.
    """

    candidate_num: FloatArray
    candidate_den: FloatArray
    baseline_num: FloatArray
    baseline_den: FloatArray
    candidate: FloatArray
    baseline: FloatArray
    change: FloatArray
    relative: FloatArray
    change_ci: FloatArray
    relative_ci: FloatArray
    eligible: npt.NDArray[np.bool_]
    gap_candidate: FloatArray  # (metrics + criteria,)
    gap_baseline: FloatArray
    gap_change: FloatArray
    gap_ci: FloatArray  # (metrics + criteria, 2)
    groups_used: IntArray  # (metrics + criteria,)


def compare(joint: npt.NDArray[np.integer], metrics: tuple[Metric, ...],
            criteria: Sequence[Sequence[int]], minimum: int, replicates: int,
            confidence: float, seed: Sequence[int]) -> Paired:
    """Both models' figures from each group's joint cells (groups, 8), with paired intervals.

    A group is eligible for a metric's gap when it has ``minimum`` rows and
    both models' denominators reach ``minimum``: the two gaps are taken over
    the same groups, and that mask is kept fixed in every replicate. With
    ``replicates`` 0 every interval is NaN.
    """
    joint = np.asarray(joint, dtype=np.int64)
    groups, m, k = len(joint), len(metrics), len(criteria)
    cand, base = split(joint)
    cn, cd = fractions(cand, metrics)
    bn, bd = fractions(base, metrics)
    cv, bv = safe_divide(cn, cd), safe_divide(bn, bd)
    change = cv - bv
    relative = _relative(change, bv)
    rows = joint.sum(axis=1)
    eligible = (rows >= minimum)[:, None] & (cd >= minimum) & (bd >= minimum)
    gap_c = _with_criteria(spread(cv, eligible)[0][None], criteria)[0]
    gap_b = _with_criteria(spread(bv, eligible)[0][None], criteria)[0]
    used = eligible.sum(axis=0)
    used = np.concatenate([used, [used[list(c)].min() if len(c) else 0 for c in criteria]])
    change_ci = np.full((groups, m, 2), np.nan)
    relative_ci = np.full((groups, m, 2), np.nan)
    gap_ci = np.full((m + k, 2), np.nan)
    if replicates > 0 and groups:
        rng = np.random.default_rng(list(seed))
        hi = {s: np.full((replicates, m), -np.inf) for s in ("c", "b")}
        lo = {s: np.full((replicates, m), np.inf) for s in ("c", "b")}
        count = np.zeros((replicates, m), dtype=np.int64)
        chunk = max(1, _CHUNK_VALUES // (replicates * max(m, 1)))
        for start in range(0, groups, chunk):
            stop = min(groups, start + chunk)
            c_draw, b_draw = split(_smoothed_draw(joint[start:stop], replicates, rng))
            c_val = safe_divide(*fractions(c_draw, metrics))  # (chunk, replicates, metrics)
            b_val = safe_divide(*fractions(b_draw, metrics))
            delta = c_val - b_val
            change_ci[start:stop] = percentile_interval(delta, confidence, axis=1)
            relative_ci[start:stop] = percentile_interval(_relative(delta, b_val),
                                                          confidence, axis=1)
            mask = eligible[start:stop, None, :]
            for side, values in (("c", c_val), ("b", b_val)):
                ok = mask & ~np.isnan(values)
                hi[side] = np.maximum(hi[side], np.where(ok, values, -np.inf).max(axis=0))
                lo[side] = np.minimum(lo[side], np.where(ok, values, np.inf).min(axis=0))
            both = mask & ~np.isnan(c_val) & ~np.isnan(b_val)
            count += both.sum(axis=0)
        enough = count >= 2
        drawn_c = np.where(enough, hi["c"] - lo["c"], np.nan)
        drawn_b = np.where(enough, hi["b"] - lo["b"], np.nan)
        drawn = _with_criteria(drawn_c, criteria) - _with_criteria(drawn_b, criteria)
        gap_ci = percentile_interval(drawn, confidence)
    point = np.isnan(change)
    change_ci[point] = np.nan
    relative_ci[np.isnan(relative)] = np.nan
    gap_change = gap_c - gap_b
    gap_ci[np.isnan(gap_change)] = np.nan
    return Paired(cn, cd, bn, bd, cv, bv, change, relative, change_ci, relative_ci, eligible,
                  gap_c, gap_b, gap_change, gap_ci, np.asarray(used, dtype=np.int64))


# pseudo-rows added to each joint cell of a label a group has rows of, for the shares
# the group is redrawn with (never for the figures): a group with few rows on which the
# models disagree would otherwise redraw a change that can hardly move, and get an
# interval too narrow (benchmarks/paired_coverage.py; docs/statistics.md)
PSEUDO = 0.5


def _smoothed_draw(joint: npt.NDArray[np.integer], replicates: int, rng: np.random.Generator
                   ) -> IntArray:
    """Each group's rows redrawn, as many as it has, with :data:`PSEUDO`-smoothed shares.

    The pseudo-rows go to the four cells of each label the group has rows of (an
    audit with no label has rows of label 0 alone), so a redraw never makes a row
    of a kind the data cannot have.
    """
    n = joint.sum(axis=1)
    by_label = joint.reshape(len(joint), 2, 4)
    present = by_label.sum(axis=-1, keepdims=True) > 0
    smoothed = (by_label + np.where(present, PSEUDO, 0.0)).reshape(len(joint), 8)
    probs = smoothed / np.maximum(smoothed.sum(axis=1), 1e-300)[:, None]
    return np.asarray(rng.multinomial(n[:, None], probs[:, None, :],
                                      size=(len(joint), replicates)), dtype=np.int64)


def _relative(change: FloatArray, baseline: FloatArray) -> FloatArray:
    """The change over the baseline's value; NaN where that is 0 or undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = change / baseline
    out[~np.isfinite(out)] = np.nan
    return np.asarray(out, dtype=np.float64)


def _with_criteria(per_metric: FloatArray, criteria: Sequence[Sequence[int]]) -> FloatArray:
    """(replicates, metrics) -> (replicates, metrics + criteria): a criterion's gap is the
    largest of its metrics' (undefined when one is)."""
    parts = [per_metric] + [per_metric[:, list(c)].max(axis=1, keepdims=True)
                            for c in criteria]
    return np.concatenate(parts, axis=1)
