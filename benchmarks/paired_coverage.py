"""How often the paired intervals of a candidate-against-baseline comparison cover the truth.

Each simulated audit has 2 to 4 groups whose sizes are drawn log-uniformly from
50 to 3,000 rows. A group's rows have known joint probabilities of the label,
the candidate's decision and the baseline's: the baseline takes the
candidate's decision and flips it with a probability of the group's own, so
the two models are correlated as a model and its retrained successor are. The
joint counts are drawn straight from those probabilities (no rows), and
``fairaudit.stats.paired.compare`` (the audit's own code) gives the intervals:

- each group's change (candidate minus baseline) of every metric, against
  the change of its true rates (but the base rate's, 0 by design: both models
  are judged on the same rows' labels), by how many of the metric's rows the
  two models decide differently (the discordant rows the change rests on);
- each metric's and criterion's change of the gap (largest minus smallest
  group, under each model, over the same eligible groups), against the change
  of the true gaps over the same groups.

Two designs set how alike the models are: ``alike`` (flips in 2-10% of rows)
and ``different`` (flips in 20-40%). Run ``python benchmarks/paired_coverage.py``
(about two minutes on two cores); the table it prints is in docs/statistics.md.
``--audits`` and ``--replicates`` trade time for precision.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fairaudit.metrics import CRITERIA, METRICS, fractions, safe_divide, spread
from fairaudit.stats.paired import compare

DESIGNS = {"alike": (0.02, 0.10), "different": (0.20, 0.40)}
MINIMUM = 30
NAMES = [m.name for m in METRICS]
MEMBERS = [[NAMES.index(n) for n in c.metrics] for c in CRITERIA]


def _joint(rng: np.random.Generator, flips: tuple[float, float]) -> np.ndarray:
    """One group's probabilities of the eight joint cells ((label, candidate), baseline)."""
    base = rng.uniform(0.2, 0.6)
    tpr, fpr = rng.uniform(0.5, 0.9), rng.uniform(0.1, 0.5)
    flip = rng.uniform(*flips)
    p = np.zeros(8)
    for label, pl in ((0, 1 - base), (1, base)):
        hit = tpr if label else fpr
        for cand, pc in ((0, 1 - hit), (1, hit)):
            for b in (0, 1):
                p[(label * 2 + cand) * 2 + b] = pl * pc * (flip if b != cand else 1 - flip)
    return p


def simulate(design: str, audits: int, replicates: int, seed: int) -> dict[str, list[bool]]:
    rng = np.random.default_rng(seed)
    hits: dict[str, list[bool]] = {"group change": [], "group change, eligible": [],
                                   "group change, under 10 discordant rows": [],
                                   "group change, 10-49 discordant rows": [],
                                   "group change, 50 or more discordant rows": [],
                                   "gap change (metric)": [], "gap change (criterion)": []}
    for a in range(audits):
        k = int(rng.integers(2, 5))
        sizes = np.exp(rng.uniform(np.log(50), np.log(3000), k)).astype(int)
        probs = np.array([_joint(rng, DESIGNS[design]) for _ in range(k)])
        counts = np.array([rng.multinomial(n, p) for n, p in zip(sizes, probs, strict=True)])
        got = compare(counts, METRICS, MEMBERS, MINIMUM, replicates, 0.95, [seed, a])
        cube = probs.reshape(k, 2, 2, 2)  # label, candidate, baseline
        cand, base = cube.sum(axis=-1).reshape(k, 4), cube.sum(axis=-2).reshape(k, 4)
        true_c = safe_divide(*fractions(cand, METRICS))
        true_b = safe_divide(*fractions(base, METRICS))
        change = true_c - true_b
        # rows of a metric's denominators where the two models decide differently
        discordant = counts.reshape(k, 4, 2)
        differ = np.stack([discordant[:, :, 0], discordant[:, :, 1]], axis=-1)
        flipped = np.where(np.arange(4) % 2 == 0, differ[..., 1], differ[..., 0])  # (k, 4)
        _, den = fractions(flipped, METRICS)
        for g in range(k):
            for j in range(len(METRICS)):
                lo, hi = got.change_ci[g, j]
                # the base rate is the labels' on the same rows: its change is 0 by design
                if np.isnan(lo) or NAMES[j] == "base_rate":
                    continue
                hit = bool(lo <= change[g, j] <= hi)
                hits["group change"].append(hit)
                if got.eligible[g, j]:
                    hits["group change, eligible"].append(hit)
                    n = den[g, j]
                    band = ("under 10" if n < 10 else "10-49" if n < 50 else "50 or more")
                    hits[f"group change, {band} discordant rows"].append(hit)
        eligible = got.eligible
        gc = spread(true_c, eligible)[0]
        gb = spread(true_b, eligible)[0]
        truth = np.concatenate([gc - gb, [np.max(gc[m]) - np.max(gb[m]) for m in MEMBERS]])
        for t, value in enumerate(truth):
            lo, hi = got.gap_ci[t]
            if np.isnan(lo) or np.isnan(value) or t == NAMES.index("base_rate"):
                continue
            key = "gap change (metric)" if t < len(METRICS) else "gap change (criterion)"
            hits[key].append(bool(lo <= value <= hi))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    results = {d: simulate(d, args.audits, args.replicates, args.seed) for d in DESIGNS}
    print("| figure | " + " | ".join(DESIGNS) + " |")
    print("|---|" + "---:|" * len(DESIGNS))
    for key in results["alike"]:
        cells = [f"{np.mean(results[d][key]):.1%} ({len(results[d][key]):,})" for d in DESIGNS]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
