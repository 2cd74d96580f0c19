from __future__ import annotations

import signal
from pathlib import Path

import pytest

# A suite started in the background by a shell without job control inherits Ctrl-C
# ignored, and so would every `fairaudit` it starts: the tests that send Ctrl-C to a
# real run need the default a terminal gives.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
COMPAS_PARQUET = ROOT / "examples" / "compas" / "compas.parquet"
COMPAS_CSV = ROOT / "examples" / "compas" / "compas.csv"


@pytest.fixture
def compas_parquet() -> Path:
    return COMPAS_PARQUET


@pytest.fixture
def compas_csv() -> Path:
    return COMPAS_CSV
