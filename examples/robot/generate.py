"""Generate the robot-agent example: task success in environments seen and unseen in training.

Run from anywhere (the file lands next to this script unless --out says otherwise)::

    python examples/robot/generate.py [--out DIR]

One seeded random generator makes every value, so a run reproduces the
committed file value for value.

The story. A household robot follows spoken instructions ("put the mug in the
sink"). Each row is one episode: the environment it ran in, whether that
environment was among those the policy was trained in (``seen``: yes or no),
the kind of task, and whether the task was done (``success``: 1 or 0, judged
by the evaluation harness). There is no separate label: success is the
outcome. The policy does well in rooms it has seen and worse in new ones,
most of all on tasks that need it to find and handle objects. A few episodes
were cut short by the harness and have no verdict (``success`` empty): the
audit counts them as skipped.

Columns: ``environment`` (home-01 ... home-12), ``seen`` (yes, no), ``task``
(navigate, fetch, place), ``success`` (1, 0, or empty).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EPISODES = 6_000
SEED = 20261205
ENVIRONMENTS = tuple(f"home-{i:02d}" for i in range(1, 13))
SEEN = frozenset(ENVIRONMENTS[:8])  # the policy was trained in the first eight homes
TASKS = ("navigate", "fetch", "place")
# chance of success by task, in seen and in unseen environments
SUCCESS = {"navigate": (0.92, 0.85), "fetch": (0.78, 0.52), "place": (0.74, 0.50)}
CUT_SHORT = 0.02


def generate() -> pa.Table:
    rng = np.random.default_rng(SEED)
    env = rng.choice(ENVIRONMENTS, size=EPISODES)
    seen = np.array([e in SEEN for e in env])
    task = rng.choice(TASKS, size=EPISODES, p=(0.4, 0.35, 0.25))
    p = np.array([SUCCESS[t][0 if s else 1] for t, s in zip(task, seen, strict=True)])
    success = (rng.random(EPISODES) < p).astype(np.int8)
    cut = rng.random(EPISODES) < CUT_SHORT
    return pa.table({
        "environment": pa.array(env).dictionary_encode(),
        "seen": pa.array(np.where(seen, "yes", "no")).dictionary_encode(),
        "task": pa.array(task).dictionary_encode(),
        "success": pa.array(success, mask=cut),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    path = args.out / "robot.parquet"
    pq.write_table(generate(), path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
