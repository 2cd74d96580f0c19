"""Drift gates: has a criterion's gap grown, run over run, by more than a set amount?

A drift gate ``[GROUPING:]CRITERION=VALUE`` reads a series of a criterion's
difference (largest minus smallest group value), oldest first, within the
window (the last ``window`` points). The *current* point is the newest; the
*baseline* is the first ``baseline_runs`` points of the window (by default
every point before the current one). The gate fails when

    increase = current difference - mean of the baseline differences > VALUE,

even if every single run passed its own gates. With ``decide =
"confident-fail"`` it fails only when the whole bootstrap interval of the
increase lies past VALUE: each point's counts (stored with its run) are drawn
again, as a live audit draws them, its difference recomputed per replicate,
and the increase taken replicate by replicate; the interval is the percentile
interval at the runs' confidence. An increase past VALUE whose interval
straddles it is inconclusive.

``cusum`` adds Page's CUSUM for slow creeps: with the baseline's mean ``mu``
and standard deviation ``sigma``, each later point's standardised change
``z = (difference - mu) / sigma`` adds to ``S = max(0, S + z - k)``, where
``k = VALUE / (2 sigma)`` (half the increase that matters, the usual
tuning); the gate fails when ``S`` passes ``limit`` (default 5) at any point
after the baseline. It needs at least two baseline points, and points after
them: give ``baseline_runs``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import AuditConfig, parse_keyed
from ..counts import CountTable
from ..errors import UsageError, closest
from ..gates import TOLERANCE
from ..kinds import declared_criteria, kinds_for
from ..metrics import fractions, safe_divide, spread
from ..result import Interval
from .series import Point, Series

DECISIONS = ("point", "confident-fail")
CUSUM_LIMIT = 5.0
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DriftSpec:
    criterion: str
    value: float
    grouping: str | None = None

    @property
    def key(self) -> str:
        return f"{self.grouping}:{self.criterion}" if self.grouping else self.criterion


def parse_drift(text: str, flag: str = "--max-increase") -> DriftSpec:
    """``[GROUPING:]CRITERION=VALUE``."""
    grouping, criterion, limit = parse_keyed(text, flag, "false_positive_parity=0.05")
    if not limit >= 0 or math.isinf(limit):
        raise UsageError(f"{flag} {text!r}: the increase allowed must be a number >= 0")
    known = [c.name for c in declared_criteria()]  # the criteria a history keeps a series of
    if criterion not in known:
        near = closest(criterion, known)
        hint = f"did you mean '{near}'?" if near else "criteria: " + ", ".join(known)
        raise UsageError(f"{flag} {text!r}: unknown criterion '{criterion}'; {hint}")
    return DriftSpec(criterion, limit, grouping)


@dataclass(frozen=True)
class Cusum:
    statistic: float  # the largest S over the points after the baseline
    limit: float
    k: float
    mean: float
    sigma: float
    alarm: Point | None  # the first point where S passed the limit
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class DriftResult:
    label: str
    grouping: str
    criterion: str
    limit: float
    rule: str
    status: str  # pass, fail, inconclusive
    current: Point | None
    baseline: tuple[Point, ...]
    baseline_mean: float | None
    increase: float | None
    ci: Interval | None
    reason: str | None = None
    cusum: Cusum | None = None

    @property
    def sentence(self) -> str:
        where = f"{self.criterion.replace('_', ' ')} gap across {self.grouping}"
        if self.label:
            where += f" ({self.label})"
        if self.increase is None:
            text = f"{where}: increase undefined, may be at most {self.limit:g}"
        else:
            ci = f" [{self.ci[0]:+.4f}, {self.ci[1]:+.4f}]" if self.ci else ""
            text = (f"{where}: grew by {self.increase:+.4f}{ci} against the mean of "
                    f"{len(self.baseline)} earlier run{'s' if len(self.baseline) != 1 else ''}, "
                    f"may grow by at most {self.limit:g}")
        if self.cusum is not None and self.cusum.status == "fail" and self.cusum.alarm:
            text += (f"; CUSUM {self.cusum.statistic:.2f} passed {self.cusum.limit:g} on "
                     f"{self.cusum.alarm.as_of}")
        return text + (f" ({self.reason})" if self.reason else "")


Tables = dict[int, tuple[CountTable, AuditConfig]]


def evaluate(specs: Sequence[DriftSpec], series: Sequence[Series], *,
             window: int | None = None, baseline_runs: int | None = None,
             decide: str = "point", cusum: bool = False, cusum_limit: float = CUSUM_LIMIT,
             tables: Tables | None = None) -> list[DriftResult]:
    """Every drift gate on every series it names (one per label and grouping).

    ``tables`` holds each point's counts and config by run id (the pooled
    counts when points pool runs); it is needed for ``confident-fail``.
    """
    if decide not in DECISIONS:
        raise UsageError(f"--decide {decide!r}: a drift gate decides by one of: "
                         f"{', '.join(DECISIONS)}")
    out = []
    for spec in specs:
        seen: set[tuple[str, str]] = set()
        for s in series:
            k = s.key
            if k.criterion != spec.criterion or (spec.grouping and k.grouping != spec.grouping):
                continue
            if (k.label, k.grouping) in seen or k.kind == "max_out_of_range":
                continue
            seen.add((k.label, k.grouping))
            out.append(_gate(spec, s, window, baseline_runs, decide, cusum, cusum_limit,
                             tables or {}))
    return out


def _gate(spec: DriftSpec, s: Series, window: int | None, baseline_runs: int | None,
          decide: str, cusum: bool, cusum_limit: float, tables: Tables) -> DriftResult:
    points = [p for p in s.points if p.difference is not None]
    if window:
        points = points[-window:]

    def result(status: str, reason: str | None = None, **kw: object) -> DriftResult:
        values: dict[str, object] = dict(current=None, baseline=(), baseline_mean=None,
                                         increase=None, ci=None)
        values.update(kw)
        return DriftResult(s.key.label, s.key.grouping, spec.criterion, spec.value, decide,
                           status, reason=reason, **values)  # type: ignore[arg-type]

    if len(points) < 2:
        return result("inconclusive", f"{len(points)} run{'s' if len(points) != 1 else ''} "
                      "with a defined difference; a drift gate needs two")
    current = points[-1]
    earlier = points[:-1]
    baseline = tuple(earlier[:baseline_runs] if baseline_runs else earlier)
    mean = float(np.mean([p.difference for p in baseline]))
    assert current.difference is not None
    increase = current.difference - mean
    grew = increase > spec.value + TOLERANCE
    status, reason, ci = ("fail" if grew else "pass"), None, None
    if decide == "confident-fail":
        ci, why = _interval(s, current, baseline, tables)
        if ci is None:
            status, reason = ("inconclusive", why) if grew else ("pass", None)
        elif grew and not ci[0] > spec.value + TOLERANCE:
            status, reason = "inconclusive", ("grown past the limit, but the interval of the "
                                              "increase straddles it")
    c = _cusum(spec, points, len(baseline), cusum_limit) if cusum else None
    if c is not None and c.status == "fail":
        status = "fail"
    elif c is not None and c.status == "inconclusive" and status == "pass":
        status, reason = "inconclusive", c.reason
    return result(status, reason, current=current, baseline=baseline, baseline_mean=mean,
                  increase=increase, ci=ci, cusum=c)


def _cusum(spec: DriftSpec, points: Sequence[Point], n_base: int, limit: float) -> Cusum:
    base = [p.difference for p in points[:n_base] if p.difference is not None]
    after = points[n_base:]
    mean = float(np.mean(base)) if base else math.nan
    sigma = float(np.std(base, ddof=1)) if len(base) >= 2 else math.nan
    if len(base) < 2 or not after:
        why = ("CUSUM needs two baseline runs or more" if len(base) < 2
               else "CUSUM needs runs after the baseline; give --baseline-runs")
        return Cusum(math.nan, limit, math.nan, mean, sigma, None, "inconclusive", why)
    if sigma <= 0:
        return Cusum(math.nan, limit, math.nan, mean, sigma, None, "inconclusive",
                     "the baseline runs do not vary; CUSUM cannot standardise")
    k = spec.value / (2 * sigma)
    s = top = 0.0
    alarm = None
    for p in after:
        assert p.difference is not None
        s = max(0.0, s + (p.difference - mean) / sigma - k)
        top = max(top, s)
        if alarm is None and s > limit:
            alarm = p
    return Cusum(top, limit, k, mean, sigma, alarm, "fail" if alarm else "pass")


# -- the bootstrap of an increase, from the counts -------------------------------------------


def _interval(s: Series, current: Point, baseline: Sequence[Point], tables: Tables
              ) -> tuple[Interval | None, str | None]:
    needed = [current, *baseline]
    if any(p.run_id not in tables for p in needed):
        return None, "no counts for the interval"
    config = tables[current.run_id][1]
    replicates = config.bootstrap or 1000
    draws = []
    for p in needed:
        t, cfg = tables[p.run_id]
        rng = np.random.default_rng([cfg.seed, zlib.crc32(s.key.grouping.encode()), p.run_id])
        d = replicate_differences(t, cfg, s.key.grouping, s.key.criterion, replicates, rng)
        if d is None:
            return None, f"{s.key.criterion} cannot be drawn again from the counts"
        draws.append(d[1])
    change = draws[0] - np.mean(np.stack(draws[1:]), axis=0)
    change = change[~np.isnan(change)]
    if len(change) < replicates / 2:
        return None, "the difference is undefined in most replicates"
    alpha = 1.0 - config.confidence
    low, high = np.quantile(change, [alpha / 2, 1 - alpha / 2])
    return (float(low), float(high)), None


def replicate_differences(table: CountTable, config: AuditConfig, grouping: str,
                          criterion: str, replicates: int, rng: np.random.Generator
                          ) -> tuple[float, FloatArray] | None:
    """A criterion's difference across a grouping, and ``replicates`` bootstrap draws of it.

    The groups' metric cells are drawn again as the audit's bootstrap draws them
    (the base outcome kind's resampling), with the point estimate's eligible
    groups kept fixed; each replicate's difference is :func:`spread` of the
    drawn rates, a criterion over several metrics taking the largest. ``None``
    when the criterion is not one of the base kind's.
    """
    base = kinds_for(config)[0]
    crit = next((c for c in base.criteria if c.name == criterion), None)
    if crit is None:
        return None
    names = [m.name for m in base.metrics]
    which = [names.index(n) for n in crit.metrics]
    _, cells = table.project(grouping.split("&"))
    confusion = cells[:, [table.cell_names.index(c) for c in base.metric_cells]]
    minimum = config.min_group_size
    num, den = fractions(confusion, base.metrics)
    eligible = (confusion.sum(axis=1) >= minimum)[:, None] & (den >= minimum)
    diff = spread(safe_divide(num, den), eligible)[0][which]
    point = math.nan if np.isnan(diff).any() else float(diff.max())
    # extremes per replicate, a few groups at a time: (groups, replicates, metrics) at once
    # would not fit for a grouping of thousands of groups
    hi = np.full((replicates, len(names)), -np.inf)
    lo = np.full((replicates, len(names)), np.inf)
    used = np.zeros((replicates, len(names)), dtype=np.int64)
    chunk = max(1, 2_000_000 // (replicates * max(len(names), 1)))
    for start in range(0, len(confusion), chunk):
        part = confusion[start:start + chunk]
        n, d = fractions(base.resample(part, replicates, rng), base.metrics)
        values = safe_divide(n, d)  # (groups, replicates, metrics)
        ok = eligible[start:start + chunk, None, :] & ~np.isnan(values)
        hi = np.maximum(hi, np.where(ok, values, -np.inf).max(axis=0))
        lo = np.minimum(lo, np.where(ok, values, np.inf).min(axis=0))
        used += ok.sum(axis=0)
    spreads = np.where(used >= 2, hi - lo, np.nan)[:, which]
    reps = np.where(np.isnan(spreads).any(axis=1), np.nan, spreads.max(axis=1))
    return point, reps
