"""Shared helpers for the history tests: small daily prediction files, written with pandas."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests.conftest import ROOT

AUDIT_ARGS = ["--label", "y", "--prediction", "p", "--group", "region",
              "--max-gap", "false_positive_parity=0.15", "--min-ratio",
              "demographic_parity=0.5", "--bootstrap", "200"]
SETTINGS: dict[str, Any] = dict(label="y", prediction="p", groups=["region"],
                                max_gap={"false_positive_parity": 0.15},
                                min_ratio={"demographic_parity": 0.5}, bootstrap=200)


def day(seed: int, rows: int = 600, creep: float = 0.0) -> pd.DataFrame:
    """One day's predictions over three regions; ``creep`` adds to region c's false
    positive rate."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["a", "b", "c"], size=rows, p=[0.4, 0.35, 0.25])
    y = rng.random(rows) < 0.4
    fpr = np.where(region == "c", 0.2 + creep, 0.2)
    p = np.where(y, rng.random(rows) < 0.7, rng.random(rows) < fpr)
    return pd.DataFrame({"region": region, "y": y.astype(int), "p": p.astype(int)})


def write_days(folder: Path, n: int, creep_per_day: float = 0.0, rows: int = 600
               ) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"2024-01-{i + 1:02d}.parquet"
        day(100 + i, rows, creep_per_day * i).to_parquet(path, index=False)
        out.append(path)
    return out


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(ROOT)
    out.pop("GITHUB_ACTIONS", None)
    return out


PYTHON = sys.executable
