from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPAS_PARQUET = ROOT / "examples" / "compas" / "compas.parquet"
COMPAS_CSV = ROOT / "examples" / "compas" / "compas.csv"


@pytest.fixture
def compas_parquet() -> Path:
    return COMPAS_PARQUET


@pytest.fixture
def compas_csv() -> Path:
    return COMPAS_CSV
