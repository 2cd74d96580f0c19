"""Generate the shortlist example: a voice assistant's skill shortlister, judged by top-3.

Run from anywhere (the file lands next to this script unless --out says otherwise)::

    python examples/shortlist/generate.py [--out DIR]

One seeded random generator makes every value, so a run reproduces the
committed file value for value.

The story. For each spoken request the assistant ranks its skills and offers
the first three; a request is served when the skill the user meant is among
them. ``rank`` is that skill's 1-based position in the ranked list (empty when
the ranker did not list it at all). Users speak one of four dialects, and a
request's skill is either linked to the user's account or not. The ranker was
trained mostly on en-US speech: for en-IN and en-NG speakers the intended skill
sits lower in the list, and more often not at all, most of all for skills that
are not linked (no account history to lean on).

Columns: ``dialect`` (en-US, en-GB, en-IN, en-NG), ``linked`` (yes, no),
``rank`` (1-based position, or empty).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 12_000
SEED = 20261203
DIALECTS = ("en-US", "en-GB", "en-IN", "en-NG")
SHARES = (0.55, 0.2, 0.15, 0.1)
# how far down the list the intended skill sits (geometric), and how often it is missing
DEPTH = {"en-US": 0.62, "en-GB": 0.58, "en-IN": 0.45, "en-NG": 0.4}
UNLISTED = {"en-US": 0.04, "en-GB": 0.05, "en-IN": 0.09, "en-NG": 0.11}


def generate() -> pa.Table:
    rng = np.random.default_rng(SEED)
    dialect = rng.choice(DIALECTS, size=ROWS, p=SHARES)
    linked = rng.random(ROWS) < 0.6
    p = np.array([DEPTH[d] for d in dialect]) + np.where(linked, 0.1, -0.05)
    rank = rng.geometric(np.clip(p, 0.05, 0.95)).astype(np.float64)
    unlisted = rng.random(ROWS) < np.array([UNLISTED[d] for d in dialect]) * np.where(
        linked, 0.7, 1.6)
    rank[unlisted | (rank > 20)] = np.nan
    return pa.table({
        "dialect": pa.array(dialect).dictionary_encode(),
        "linked": pa.array(np.where(linked, "yes", "no")).dictionary_encode(),
        "rank": pa.array(np.nan_to_num(rank).astype(np.int32), mask=np.isnan(rank)),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    path = args.out / "shortlist.parquet"
    pq.write_table(generate(), path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
