"""Write 30 nights of a loan model's decisions, in which one region's false positives creep up.

    python examples/nightly/generate.py            # writes examples/nightly/data/*.parquet

Each night's file (``data/2024-05-01.parquet`` ...) holds the applications of
that day across four regions: the true outcome ``repaid_late`` (1 for a late
repayment, the event the models predict), the decisions of two models,
``model_a`` and ``model_b`` (1: flag as risky), and the ``day``. Both models
flag about 15% of the applicants who then repay on time (their false positive
rate), in every region, on the first night. Model B stays so. Model A's false
positive rate in the south creeps up by 0.6 points a night, to about 32% on
the last night: no single night's gap reaches the gate of 0.25, the series
shows it growing. Seeded: the same files every time.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REGIONS = ("north", "south", "east", "west")
SHARES = (0.3, 0.25, 0.25, 0.2)
START = dt.date(2024, 5, 1)


def night(i: int, rows: int, creep: float, seed: int) -> pa.Table:
    rng = np.random.default_rng([seed, i])
    region = rng.choice(len(REGIONS), size=rows, p=SHARES)
    late = rng.random(rows) < 0.35
    fpr_a = np.where(region == 1, 0.15 + creep * i, 0.15)
    u = rng.random(rows)
    model_a = np.where(late, u < 0.75, u < fpr_a)
    v = rng.random(rows)
    model_b = np.where(late, v < 0.72, v < 0.16)
    day = START + dt.timedelta(days=i)
    return pa.table({
        "day": pa.array([day] * rows, pa.date32()),
        "region": pa.array([REGIONS[r] for r in region]).dictionary_encode(),
        "repaid_late": pa.array(late.astype(np.int8)),
        "model_a": pa.array(model_a.astype(np.int8)),
        "model_b": pa.array(model_b.astype(np.int8)),
    })


def write(out: Path, days: int = 30, rows: int = 4000, creep: float = 0.006,
          seed: int = 2024) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(days):
        path = out / f"{START + dt.timedelta(days=i)}.parquet"
        pq.write_table(night(i, rows, creep, seed), path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows", type=int, default=4000, help="applications a night")
    parser.add_argument("--creep", type=float, default=0.006,
                        help="model A's nightly rise of the south's false positive rate")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    paths = write(args.out, args.days, args.rows, args.creep, args.seed)
    print(f"wrote {len(paths)} files to {args.out}")


if __name__ == "__main__":
    main()
