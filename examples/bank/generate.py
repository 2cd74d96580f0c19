"""Generate the bank account-opening example: a reference set and a month of decisions.

Run from anywhere (the files land next to this script unless --out says otherwise)::

    python examples/bank/generate.py [--out DIR]

Everything comes from one seeded random generator, so a run reproduces the
committed files value for value.

The story. A bank built a model that approves or refuses an account, from the
applicant's monthly income, current debt, age and employment. It was built on
``train.parquet``: adults aged 21 to 74 who were salaried, self-employed or
retired. ``bank.parquet`` holds this month's 20,000 applications with the
model's decision (``approved``, from ``score`` >= 0.5) and, where it is already
known, whether the account stayed in good standing for twelve months
(``good_standing``; missing for the newest accounts).

The applicants are not the people the model was built on. Many aged 18 to 25
are students or unemployed, with incomes below anything the model saw; some
applicants over 75 are older than anyone it saw. The model knows no student or
unemployed coefficient and extends its income curve below the incomes it was
fitted on, where the true risk flattens out: low-income students are good
customers whom the model refuses. So the youngest group falls outside the
trusted ranges far more often, and much of its fairness gap comes from those
rows. Income is missing for about 1.5% of applications.

Columns: ``sex`` (F, M), ``age`` (years), ``age_band`` (18-25, 26-40, 41-60,
61+), ``employment`` (salaried, self-employed, retired, student, unemployed),
``income`` (monthly, euros and cents), ``debt`` (whole euros), ``score``,
``approved`` and ``good_standing`` (0/1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240501
APPLICATIONS = 20_000
REFERENCE = 10_000

BANDS = ("18-25", "26-40", "41-60", "61+")
BAND_SHARE = (0.20, 0.35, 0.30, 0.15)
JOBS = ("salaried", "self-employed", "retired", "student", "unemployed")
# employment by age band, in JOBS order
JOB_SHARE = {
    "18-25": (0.40, 0.05, 0.00, 0.40, 0.15),
    "26-40": (0.80, 0.15, 0.00, 0.01, 0.04),
    "41-60": (0.74, 0.21, 0.01, 0.00, 0.04),
    "61+": (0.20, 0.08, 0.70, 0.00, 0.02),
}
# monthly income: lognormal median and spread by employment
INCOME = {"salaried": (2900, 0.45), "self-employed": (3400, 0.70), "retired": (1900, 0.40),
          "student": (650, 0.50), "unemployed": (700, 0.50)}
# the true effect of employment on the odds of good standing; the model knows
# only the first three (it treats the others as salaried)
TRUE_JOB = {"salaried": 0.0, "self-employed": -0.2, "retired": 0.3, "student": 0.9,
            "unemployed": -0.8}
MODEL_JOB = {"salaried": 0.0, "self-employed": -0.2, "retired": 0.3}


def _ages(rng: np.random.Generator, bands: np.ndarray) -> np.ndarray:
    lo = {"18-25": 18, "26-40": 26, "41-60": 41}
    hi = {"18-25": 25, "26-40": 40, "41-60": 60}
    age = np.empty(len(bands), dtype=np.int64)
    for band in BANDS:
        mask = bands == band
        if band == "61+":
            age[mask] = 61 + np.minimum(rng.exponential(8.0, mask.sum()).astype(np.int64), 34)
        else:
            age[mask] = rng.integers(lo[band], hi[band] + 1, mask.sum())
    return age


def _money(rng: np.random.Generator, jobs: np.ndarray, sex: np.ndarray,
           age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    median = np.array([INCOME[j][0] for j in jobs], dtype=np.float64)
    sigma = np.array([INCOME[j][1] for j in jobs], dtype=np.float64)
    median *= np.where(sex == "F", 0.92, 1.0) * np.where(age <= 25, 0.8, 1.0)
    income = np.round(median * np.exp(sigma * rng.standard_normal(len(jobs))), 2)
    has_debt = rng.random(len(jobs)) < 0.6
    debt = np.where(has_debt, np.round(8000 * np.exp(1.0 * rng.standard_normal(len(jobs)))), 0)
    return income, debt.astype(np.int64)


def _logit(income: np.ndarray, debt: np.ndarray, age: np.ndarray, job_effect: np.ndarray,
           floor: float) -> np.ndarray:
    # below `floor` a lower income no longer lowers the odds (the true risk);
    # the model, with floor 0, extends its income curve downwards
    inc = np.maximum(income, floor)
    return (0.3 + 1.6 * np.log(inc / 1500) - 0.9 * debt / (12 * inc)
            + 0.01 * (age - 40) + job_effect)


def applications(rng: np.random.Generator, n: int) -> pa.Table:
    sex = rng.choice(np.array(["F", "M"]), n)
    bands = rng.choice(np.array(BANDS), n, p=BAND_SHARE)
    jobs = np.empty(n, dtype=object)
    for band in BANDS:
        mask = bands == band
        jobs[mask] = rng.choice(np.array(JOBS), mask.sum(), p=JOB_SHARE[band])
    age = _ages(rng, bands)
    income, debt = _money(rng, jobs, sex, age)

    truth = _logit(income, debt, age, np.array([TRUE_JOB[j] for j in jobs]), floor=1000)
    good = (rng.random(n) < 1 / (1 + np.exp(-truth))).astype(np.int64)

    income_missing = rng.random(n) < 0.015
    seen_income = np.where(income_missing, 2900.0, income)  # the model imputes the median
    model = _logit(seen_income, debt, age, np.array([MODEL_JOB.get(j, 0.0) for j in jobs]),
                   floor=0.0)
    score = np.round(1 / (1 + np.exp(-model)), 4)
    label_missing = rng.random(n) < 0.03  # accounts younger than twelve months

    return pa.table({
        "sex": pa.array(sex, pa.string()),
        "age": pa.array(age, pa.int64()),
        "age_band": pa.array(bands, pa.string()),
        "employment": pa.array(jobs.astype(str), pa.string()),
        "income": pa.array(income, pa.float64(), mask=income_missing),
        "debt": pa.array(debt, pa.int64()),
        "score": pa.array(score, pa.float64()),
        "approved": pa.array((score >= 0.5).astype(np.int64), pa.int64()),
        "good_standing": pa.array(good, pa.int64(), mask=label_missing),
    })


def reference(rng: np.random.Generator, n: int) -> pa.Table:
    """The population the model was built on: aged 21-74, salaried, self-employed or retired."""
    sex = rng.choice(np.array(["F", "M"]), n)
    age = rng.integers(21, 75, n)
    retired_share = np.where(age >= 62, 0.75, 0.0)
    u = rng.random(n)
    jobs = np.where(u < retired_share, "retired",
                    np.where(rng.random(n) < 0.8, "salaried", "self-employed")).astype(object)
    income, debt = _money(rng, jobs, sex, age)
    return pa.table({
        "sex": pa.array(sex, pa.string()),
        "age": pa.array(age, pa.int64()),
        "employment": pa.array(jobs.astype(str), pa.string()),
        "income": pa.array(income, pa.float64()),
        "debt": pa.array(debt, pa.int64()),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder to write train.parquet and bank.parquet to")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    pq.write_table(reference(rng, REFERENCE), args.out / "train.parquet")
    pq.write_table(applications(rng, APPLICATIONS), args.out / "bank.parquet")


if __name__ == "__main__":
    main()
