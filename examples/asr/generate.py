"""Generate the speech-recogniser example: word error rate per utterance, by speaker group.

Run from anywhere (the file lands next to this script unless --out says otherwise)::

    python examples/asr/generate.py [--out DIR]

One seeded random generator makes every value, so a run reproduces the
committed file value for value.

The story. A speech recogniser transcribes short spoken commands. For each
utterance the evaluation already computed its word error rate: (substituted +
deleted + inserted words) / words spoken, ``wer``, a number >= 0 (above 1 when
the recogniser inserts more words than were said). Speakers are grouped by
accent and by age band. The recogniser was trained mostly on US and UK
speech: for Indian- and Nigerian-English speakers, and for speakers over 65,
each word is misrecognised more often. A few utterances have no reference
transcript: their ``wer`` is empty, and the audit counts them as skipped.

Columns: ``accent`` (us, uk, indian, nigerian), ``age`` (18-40, 41-65, 65+),
``words`` (words spoken), ``wer`` (the utterance's word error rate, or empty).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = 8_000
SEED = 20261204
ACCENTS = ("us", "uk", "indian", "nigerian")
ACCENT_SHARES = (0.45, 0.25, 0.2, 0.1)
AGES = ("18-40", "41-65", "65+")
AGE_SHARES = (0.5, 0.35, 0.15)
# the chance that one word is misrecognised, by accent, and the extra chance by age
WORD_ERROR = {"us": 0.08, "uk": 0.09, "indian": 0.15, "nigerian": 0.17}
AGE_EXTRA = {"18-40": 0.0, "41-65": 0.01, "65+": 0.04}
NO_REFERENCE = 0.01  # utterances whose reference transcript is missing


def generate() -> pa.Table:
    rng = np.random.default_rng(SEED)
    accent = rng.choice(ACCENTS, size=ROWS, p=ACCENT_SHARES)
    age = rng.choice(AGES, size=ROWS, p=AGE_SHARES)
    words = rng.integers(3, 25, ROWS)
    p = np.array([WORD_ERROR[a] for a in accent]) + np.array([AGE_EXTRA[a] for a in age])
    errors = rng.binomial(words, p) + rng.poisson(0.1, ROWS)  # substitutions, deletions, insertions
    wer = errors / words
    missing = rng.random(ROWS) < NO_REFERENCE
    return pa.table({
        "accent": pa.array(accent).dictionary_encode(),
        "age": pa.array(age).dictionary_encode(),
        "words": pa.array(words.astype(np.int32)),
        "wer": pa.array(np.where(missing, 0.0, wer), mask=missing),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    path = args.out / "asr.parquet"
    pq.write_table(generate(), path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
