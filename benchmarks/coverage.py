"""How often fairaudit's nominal 95% intervals cover the true value, by simulation.

Each simulated audit has 2 to 6 groups whose sizes are drawn log-uniformly
from 20 to 5,000 rows, and whose true confusion-cell probabilities are known.
The counts are drawn straight from those probabilities (no rows), then the
audit's own code computes the intervals:

- group rates: the Wilson interval of every metric in every group, against the
  group's true rate;
- gaps: the bootstrap intervals (from the counts) of every metric's
  difference and ratio, of the criteria, and of each group's difference from
  the reference group, against the same figures computed from the true
  probabilities over the same eligible groups.

Three designs set how far apart the groups' true rates are:

- ``apart``: every group draws its own probabilities (gaps of 0.05-0.5);
- ``close``: the groups' probabilities differ by a few points (gaps of about
  0.01-0.1, comparable to the noise of small groups);
- ``equal``: every group has the same probabilities (every true gap is 0).

A gap's interval is also tallied by how clear the true extremes are: a
metric's extremes are *clear* when the true largest and the true smallest
group each lead every other eligible group by at least ``CLEAR`` standard
errors of their difference (from the true rates and expected denominators),
and *contested* otherwise. Where the extremes are contested, an interval
whose two ends each miss at most 2.5% of the time must cover more than 95%
(docs/statistics.md says why).

With ``--alternatives``, the same replicates also give other constructions
of a metric difference's interval (percentile, basic, bias-corrected
percentile), and the script prints how often each end of those misses, by
how clear the extremes are.

Run ``python benchmarks/coverage.py`` (about three minutes on two cores); the
tables it prints are in docs/statistics.md. ``--audits`` and ``--replicates``
trade time for precision.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fairaudit import stats
from fairaudit.metrics import (
    CRITERIA,
    METRICS,
    fractions,
    rates,
    spread,
    versus_reference,
)

DESIGNS = ("apart", "close", "equal")
SIZE_BANDS = ((20, 100), (100, 1000), (1000, 5001))
CLEAR = 4.0  # standard errors by which the true extremes lead the other groups


@dataclass
class Tally:
    """Hits and trials per figure (and per band of the smallest eligible group)."""

    hits: dict[str, int] = field(default_factory=dict)
    trials: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, covered: np.ndarray) -> None:
        covered = np.asarray(covered, dtype=bool).ravel()
        self.hits[name] = self.hits.get(name, 0) + int(covered.sum())
        self.trials[name] = self.trials.get(name, 0) + covered.size

    def rate(self, name: str) -> float:
        return self.hits[name] / self.trials[name] if self.trials.get(name) else float("nan")


def _probabilities(rng: np.random.Generator, design: str, groups: int) -> np.ndarray:
    base = rng.dirichlet(np.full(4, 3.0))
    if design == "apart":
        return rng.dirichlet(np.full(4, 3.0), size=groups)
    if design == "close":
        # each group a small random tilt of one shared distribution
        tilt = np.exp(rng.normal(0.0, 0.12, size=(groups, 4)))
        p = base * tilt
        shares: np.ndarray = p / p.sum(axis=1, keepdims=True)
        return shares
    if design == "equal":
        return np.broadcast_to(base, (groups, 4)).copy()
    raise ValueError(design)


def _covers(ci: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which intervals are defined, and which of those cover the truth (1e-12 slack)."""
    defined = ~np.isnan(ci[..., 0]) & ~np.isnan(truth)
    inside = (ci[..., 0] <= truth + 1e-12) & (truth <= ci[..., 1] + 1e-12)
    return defined, inside


def margins(p: np.ndarray, n: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Per metric, by how many standard errors the true extremes lead the other groups.

    The smaller of: the true largest rate minus each other eligible group's,
    and each other group's minus the true smallest, each over the standard
    error of that difference (true rates, expected denominators). NaN with
    fewer than two eligible groups; with two, the gap over its standard error.
    """
    truth = rates(p, METRICS)
    _, den = fractions(p * n[:, None], METRICS)
    se = np.sqrt(truth * (1.0 - truth) / np.maximum(den, 1e-9))
    out = np.full(len(METRICS), np.nan)
    for j in range(len(METRICS)):
        g = np.flatnonzero(eligible[:, j] & ~np.isnan(truth[:, j]))
        if len(g) < 2:
            continue
        r, s = truth[g, j], se[g, j]
        top, bottom = int(np.argmax(r)), int(np.argmin(r))
        lead = [(r[top] - r[k]) / np.hypot(s[top], s[k]) for k in range(len(g)) if k != top]
        lead += [(r[k] - r[bottom]) / np.hypot(s[bottom], s[k])
                 for k in range(len(g)) if k != bottom]
        out[j] = min(lead)
    return out


def _alternatives(tally: Tally, conf: np.ndarray, eligible: np.ndarray, ref: int,
                  replicates: int, seed: list[int], truth: np.ndarray, clear: np.ndarray,
                  confidence: float) -> None:
    """Other ends of a metric difference's interval, from the very same replicates."""
    alpha = 1.0 - confidence
    order = np.array([ref, *[i for i in range(len(conf)) if i != ref]])
    drawn = stats.resample(conf[order], replicates, np.random.default_rng(seed))
    values = rates(drawn, METRICS)  # (groups, replicates, metrics)
    diff, _ = spread(np.moveaxis(values, 0, 1), np.broadcast_to(eligible[order],
                                                                values.shape[1:2] + eligible.shape))
    point, _ = spread(rates(conf, METRICS), eligible)
    below = (diff < point).sum(axis=0) + 0.5 * (diff == point).sum(axis=0)
    share = np.clip(below / np.maximum((~np.isnan(diff)).sum(axis=0), 1), 1e-6, 1 - 1e-6)
    z0 = np.array([NormalDist().inv_cdf(float(x)) for x in share])
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    lo, hi = stats.quantile(diff, alpha / 2.0), stats.quantile(diff, 1.0 - alpha / 2.0)
    ends = {
        "percentile": (lo, hi),
        "basic": (2.0 * point - hi, 2.0 * point - lo),
        "bias-corrected percentile": (
            np.array([stats.quantile(diff[:, j], NormalDist().cdf(2 * z0[j] - z))
                      for j in range(len(point))]),
            np.array([stats.quantile(diff[:, j], NormalDist().cdf(2 * z0[j] + z))
                      for j in range(len(point))])),
    }
    ok = ~np.isnan(truth) & ~np.isnan(point)
    for name, (low, high) in ends.items():
        for regime, where in (("clear", clear), ("contested", ~clear)):
            sel = ok & where & ~np.isnan(low) & ~np.isnan(high)
            tally.add(f"alt: {name}, {regime}: low end above the truth",
                      (low > truth + 1e-12)[sel])
            tally.add(f"alt: {name}, {regime}: high end below the truth",
                      (high < truth - 1e-12)[sel])


def simulate(audits: int, replicates: int, seed: int, design: str,
             confidence: float = 0.95, min_group_size: int = 20,
             alternatives: bool = False) -> Tally:
    rng = np.random.default_rng([seed, DESIGNS.index(design)])
    names = [m.name for m in METRICS]
    criteria = [[names.index(n) for n in c.metrics] for c in CRITERIA]
    tally = Tally()
    # draw every audit's sizes, probabilities and counts up front
    sizes = [np.exp(rng.uniform(np.log(20), np.log(5000), size=int(rng.integers(2, 7))))
             .astype(np.int64) for _ in range(audits)]
    probs = [_probabilities(rng, design, len(n)) for n in sizes]
    counts = [rng.multinomial(n, p) for n, p in zip(sizes, probs, strict=True)]
    for a in range(audits):
        conf, p, n = counts[a], probs[a], sizes[a]
        # group rates: Wilson against the true rate
        num, den = fractions(conf, METRICS)
        lo, hi = stats.wilson(num, den, confidence)
        truth_rate = rates(p, METRICS)
        defined, inside = _covers(np.stack([lo, hi], axis=-1), truth_rate)
        tally.add("rate (Wilson)", inside[defined])
        for low, high in SIZE_BANDS:
            band = defined & (den >= low) & (den < high)
            tally.add(f"rate (Wilson), denominator {low}-{high - 1}", inside[band])

        # gaps: the bootstrap from counts against the truth over the same eligible groups
        eligible = (n >= min_group_size)[:, None] & (den >= min_group_size)
        ref = int(np.argmax(n))
        boot = stats.bootstrap(conf, METRICS, eligible, ref, criteria, replicates, confidence,
                               [seed, a, DESIGNS.index(design)])
        true_diff, true_ratio = spread(truth_rate, eligible)
        ok = eligible.sum(axis=0) >= 2
        clear = margins(p, n, eligible) >= CLEAR  # NaN margins compare False: contested
        for label, ci, truth in (("metric difference (max - min)", boot.difference, true_diff),
                                 ("metric ratio (min / max)", boot.ratio, true_ratio)):
            d, i = _covers(ci, truth)
            tally.add(label, i[d & ok])
            tally.add(f"{label}, clear extremes", i[d & ok & clear])
            tally.add(f"{label}, contested extremes", i[d & ok & ~clear])
        for regime, where in (("clear", clear), ("contested", ~clear)):
            d, _ = _covers(boot.difference, true_diff)
            sel = d & ok & where
            tally.add(f"miss: metric difference ({regime} extremes), low end above the truth",
                      (boot.difference[..., 0] > true_diff + 1e-12)[sel])
            tally.add(f"miss: metric difference ({regime} extremes), high end below the truth",
                      (boot.difference[..., 1] < true_diff - 1e-12)[sel])
        if alternatives:
            _alternatives(tally, conf, eligible, ref, replicates,
                          [seed, a, DESIGNS.index(design)], true_diff, clear, confidence)
        crit_diff = np.array([true_diff[ix].max() for ix in criteria])
        crit_ratio = np.array([true_ratio[ix].min() for ix in criteria])
        for label, ci, truth in (("criterion difference", boot.criteria_difference, crit_diff),
                                 ("criterion ratio", boot.criteria_ratio, crit_ratio)):
            d, i = _covers(ci, truth)
            tally.add(label, i[d])
            # what the gate rules lean on: each end's misses (nominal 2.5% each)
            tally.add(f"miss: {label}, low end above the truth",
                      (ci[..., 0] > truth + 1e-12)[d])
            tally.add(f"miss: {label}, high end below the truth",
                      (ci[..., 1] < truth - 1e-12)[d])
        dp = names.index("selection_rate")
        d, i = _covers(boot.difference[dp], true_diff[dp])
        tally.add("demographic parity difference", i[d & ok[dp]])
        vd, vr = versus_reference(truth_rate, ref)
        others = np.arange(len(n)) != ref
        for label, ci, truth in (("group - reference", boot.versus_difference, vd),
                                 ("group / reference", boot.versus_ratio, vr)):
            d, i = _covers(ci[others], truth[others])
            tally.add(label, i[d])
    return tally


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=2000, help="simulated audits per design")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--alternatives", action="store_true",
                        help="also tally other constructions of a metric difference's ends")
    args = parser.parse_args(argv)
    tallies = {}
    start = time.perf_counter()
    for design in DESIGNS:
        tallies[design] = simulate(args.audits, args.replicates, args.seed, design,
                                   alternatives=args.alternatives)
    took = time.perf_counter() - start
    names = list(dict.fromkeys(n for t in tallies.values() for n in t.trials))
    print(f"coverage of nominal 95% intervals: {args.audits:,} audits per design, "
          f"{args.replicates:,} bootstrap replicates, seed {args.seed} ({took:.0f} s)")
    for title, rows in (("figure", [n for n in names if not n.startswith(("miss: ", "alt: "))]),
                        ("one end misses (nominal 2.5%)",
                         [n for n in names if n.startswith("miss: ")]),
                        ("other constructions of a metric difference: one end misses",
                         [n for n in names if n.startswith("alt: ")])):
        if not rows:
            continue
        print()
        print(f"| {title} | " + " | ".join(DESIGNS) + " |")
        print("|---|" + "---:|" * len(DESIGNS))
        for row in rows:
            cells = []
            for design in DESIGNS:
                t = tallies[design]
                cells.append(f"{t.rate(row):.1%} ({t.trials.get(row, 0):,})"
                             if t.trials.get(row) else "-")
            print(f"| {row.removeprefix('miss: ').removeprefix('alt: ')} | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
