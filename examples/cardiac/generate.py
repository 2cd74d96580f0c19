"""Generate the cardiac surgery example: post-operative monitoring flags by race across hospitals.

Run from anywhere (the file lands next to this script unless --out says otherwise)::

    python examples/cardiac/generate.py [--out DIR]

Everything comes from one seeded random generator, so a run reproduces the
committed file value for value. The data are synthetic: no patient, hospital
or published figure stands behind them.

The story. A regional network of eight hospitals uses a risk model to flag
patients after cardiac surgery for a step-down monitoring programme
(``flagged``, from ``score`` >= 0.5). Whether a serious complication followed
within 30 days is recorded in ``complication``. Hospitals differ in their
patients' risk and so in how often the model flags anyone, and the patients'
race is spread over them very unevenly: Black patients are operated on mostly
at the three hospitals with the most complications (H6 to H8), White patients
mostly at the others. So Black patients are flagged more often overall, and
most of that gap is composition: it comes from which hospital they attend.
Some gap remains within hospitals: at equal clinical risk the model scores
Black patients a little higher (it learnt a proxy of race from the
hospitals' referral codes). About 0.5% of rows have no hospital (transfers
recorded after the fact): the stratified figures leave them out and count
them.

Columns: ``hospital`` (H1 to H8, missing for some transfers), ``race``
(White, Black, Hispanic), ``age`` (years), ``risk`` (a clinical risk index),
``score``, ``flagged`` and ``complication`` (0/1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261203
PATIENTS = 30_000
HOSPITALS = tuple(f"H{i}" for i in range(1, 9))
# each hospital's share of the region's operations, and its complication log-odds offset
SIZE = (0.16, 0.15, 0.14, 0.13, 0.12, 0.10, 0.10, 0.10)
OFFSET = (-0.9, -0.7, -0.5, -0.4, -0.2, 0.5, 0.7, 0.9)
RACES = ("White", "Black", "Hispanic")
# each hospital's patients by race, in RACES order
MIX = ((0.86, 0.04, 0.10), (0.84, 0.05, 0.11), (0.80, 0.06, 0.14), (0.76, 0.08, 0.16),
       (0.70, 0.12, 0.18), (0.35, 0.50, 0.15), (0.30, 0.52, 0.18), (0.28, 0.55, 0.17))
# the model's extra log-odds for a Black patient at equal risk (the proxy it learnt)
PROXY = 0.35
MISSING_HOSPITAL = 0.005


def generate(seed: int = SEED, patients: int = PATIENTS) -> pa.Table:
    rng = np.random.default_rng(seed)
    hospital = rng.choice(len(HOSPITALS), size=patients, p=SIZE)
    u = rng.random(patients)
    cumulative = np.cumsum(np.array(MIX), axis=1)[hospital]
    race = (u[:, None] > cumulative).sum(axis=1)
    age = np.clip(rng.normal(66, 10, patients), 30, 95).round().astype(np.int64)
    risk = rng.normal(0.0, 1.0, patients) + (age - 66) / 20
    offset = np.array(OFFSET)[hospital]
    p_complication = 1 / (1 + np.exp(-(-1.6 + offset + 0.8 * risk)))
    complication = (rng.random(patients) < p_complication).astype(np.int64)
    # the model sees the risk and the hospital's record, with noise, and the proxy
    logit = -1.2 + 0.9 * offset + 0.9 * risk + PROXY * (race == 1) + rng.normal(0, 0.6, patients)
    score = 1 / (1 + np.exp(-logit))
    flagged = (score >= 0.5).astype(np.int64)
    names = np.array(HOSPITALS, dtype=object)[hospital]
    names[rng.random(patients) < MISSING_HOSPITAL] = None
    return pa.table({
        "hospital": pa.array(names.tolist(), type=pa.string()),
        "race": pa.array(np.array(RACES, dtype=object)[race].tolist(), type=pa.string()),
        "age": pa.array(age),
        "risk": pa.array(risk.round(3)),
        "score": pa.array(score.round(4)),
        "flagged": pa.array(flagged),
        "complication": pa.array(complication),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(generate(), out / "cardiac.parquet")


if __name__ == "__main__":
    main()
