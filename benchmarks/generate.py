"""Write seeded, realistic prediction exports for the benchmarks.

Every file holds the same kind of rows: an id, three dictionary-encoded group
columns (region: 6 levels, age_band: 5, sex: 3 with some missing), a store
column with 10,000 levels, the true label (some not yet known), the model's
score and decision, and four numeric features. Rows come in chunks of one
million, each drawn from its own seeded generator, so the 1e6 file is the first
chunk of the 1e7 file, which is the first ten chunks of the 1e8 file, and the
folder of 1,000 small files holds exactly the rows of the 1e7 file.

    python benchmarks/generate.py                 # 1e6, 1e7 and the 1,000-file folder
    python benchmarks/generate.py --sizes 1e6 1e7 1e8 --files
    python benchmarks/generate.py --sizes --no-files --split 1e7x100   # 1e7 rows in 100 files

Files go to benchmarks/data/ (not committed): rows_1e6.parquet, rows_1e7.parquet,
rows_1e8.parquet, files_1000x10000/part-0000.parquet ...; ``--kinds 1e7 1e8``
writes kinds_1e7.parquet and kinds_1e8.parquet, the same rows with a shortlist
rank and a measure column (``--rank rank --measure wer``); ``--split ROWSxFILES``
writes the first ROWS rows of the export as FILES files of equal size, in
files_FILESxROWS-PER-FILE/ (files_100x100000 for 1e7x100), in row groups of at
most one million rows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CHUNK = 1_000_000
SEED = 20240611

REGIONS = ("north", "south", "east", "west", "central", "islands")
REGION_P = (0.27, 0.24, 0.18, 0.16, 0.11, 0.04)
AGE_BANDS = ("18-25", "26-35", "36-45", "46-60", "60+")
AGE_P = (0.14, 0.27, 0.24, 0.22, 0.13)
SEXES = ("female", "male", "other")
SEX_P = (0.49, 0.49, 0.02)
SEX_MISSING = 0.015
LABEL_MISSING = 0.004
STORES = tuple(f"store-{i:05d}" for i in range(10_000))

SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("region", pa.dictionary(pa.int32(), pa.string())),
    ("age_band", pa.dictionary(pa.int32(), pa.string())),
    ("sex", pa.dictionary(pa.int32(), pa.string())),
    ("store", pa.dictionary(pa.int32(), pa.string())),
    ("label", pa.int8()),
    ("score", pa.float64()),
    ("prediction", pa.int8()),
    ("income", pa.float64()),
    ("debt", pa.float64()),
    ("age", pa.int16()),
    ("tenure_months", pa.int32()),
])


def chunk(index: int, rows: int = CHUNK, seed: int = SEED) -> pa.Table:
    """Rows ``index * CHUNK`` ... of the export, the same whatever file they go to."""
    rng = np.random.default_rng([seed, index])
    region = rng.choice(len(REGIONS), rows, p=REGION_P).astype(np.int32)
    age_band = rng.choice(len(AGE_BANDS), rows, p=AGE_P).astype(np.int32)
    sex = rng.choice(len(SEXES), rows, p=SEX_P).astype(np.int32)
    sex_missing = rng.random(rows) < SEX_MISSING
    # store visits follow a long tail: a few big stores, many small ones
    weights = 1.0 / np.arange(1, len(STORES) + 1) ** 0.8
    store = rng.choice(len(STORES), rows, p=weights / weights.sum()).astype(np.int32)

    age_lo = np.array([18, 26, 36, 46, 61])[age_band]
    age_hi = np.array([25, 35, 45, 60, 90])[age_band]
    age = rng.integers(age_lo, age_hi + 1).astype(np.int16)
    income = np.round(rng.lognormal(10.3 + 0.04 * age_band, 0.6), 0)
    debt = np.round(income * rng.beta(2, 5, rows) * 1.5, 2)
    tenure = rng.integers(0, 240, rows).astype(np.int32)

    # the outcome depends on the features; the score sees them through noise and
    # carries a region and age effect, so that groups really differ
    risk = -1.0 + 2.2 * debt / income - 0.25 * np.log(income / 30_000) - 0.004 * tenure
    label = rng.random(rows) < 1 / (1 + np.exp(-risk))
    bias = np.array([0.0, 0.25, -0.1, 0.05, 0.3, 0.5])[region] + 0.15 * (age_band == 0)
    logit = risk + bias + rng.normal(0, 0.9, rows)
    score = 1 / (1 + np.exp(-logit))
    label_missing = rng.random(rows) < LABEL_MISSING

    def dictionary(codes: np.ndarray, levels: tuple[str, ...],
                   mask: np.ndarray | None = None) -> pa.DictionaryArray:
        indices = pa.array(codes, type=pa.int32(), mask=mask)
        return pa.DictionaryArray.from_arrays(indices, pa.array(levels, type=pa.string()))

    return pa.Table.from_arrays([
        pa.array(np.arange(index * CHUNK, index * CHUNK + rows, dtype=np.int64)),
        dictionary(region, REGIONS),
        dictionary(age_band, AGE_BANDS),
        dictionary(sex, SEXES, sex_missing),
        dictionary(store, STORES),
        pa.array(label.astype(np.int8), mask=label_missing),
        pa.array(score),
        pa.array((score >= 0.5).astype(np.int8)),
        pa.array(income),
        pa.array(debt),
        pa.array(age),
        pa.array(tenure),
    ], schema=SCHEMA)


KINDS_SCHEMA = SCHEMA.append(pa.field("rank", pa.int16())).append(pa.field("wer", pa.float64()))
RANK_MISSING = 0.08  # the true item not in the shortlist


def kinds_chunk(index: int, rows: int = CHUNK, seed: int = SEED) -> pa.Table:
    """The export's rows with two more outcome columns: a shortlist rank and a measure.

    ``rank`` is the 1-based position of the true item in a shortlist of 20
    (empty: not in it), worse for some regions; ``wer`` a per-row word error
    rate in [0, 1]. They are drawn from a generator of their own, so the other
    columns are those of :func:`chunk`.
    """
    base = chunk(index, rows, seed)
    rng = np.random.default_rng([seed, index, 1])
    region = base.column("region").combine_chunks().indices.to_numpy()
    shift = np.array([0.0, 0.3, 0.1, 0.2, 0.5, 0.9])[region]
    rank = np.minimum(np.floor(rng.exponential(1.5 + shift, rows)), 19).astype(np.int16) + 1
    wer = np.clip(rng.beta(1.5, 9.0, rows) + 0.02 * shift, 0.0, 1.0)
    return base.append_column(KINDS_SCHEMA.field("rank"), pa.array(
        rank, mask=rng.random(rows) < RANK_MISSING)).append_column(
        KINDS_SCHEMA.field("wer"), pa.array(wer))


def chunks(n_rows: int, make: Callable[[int, int], pa.Table] = chunk) -> Iterator[pa.Table]:
    for index in range(-(-n_rows // CHUNK)):
        yield make(index, min(CHUNK, n_rows - index * CHUNK))


def write_file(path: str, n_rows: int, kinds: bool = False) -> None:
    tmp = path + ".tmp"
    schema, make = (KINDS_SCHEMA, kinds_chunk) if kinds else (SCHEMA, chunk)
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for t in chunks(n_rows, make):
            writer.write_table(t, row_group_size=CHUNK)
    os.replace(tmp, path)


def write_folder(path: str, n_files: int, rows_per_file: int) -> None:
    """The first ``n_files * rows_per_file`` rows of the export, split into files."""
    tmp = path + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    per_chunk = CHUNK // rows_per_file
    for index, t in enumerate(chunks(n_files * rows_per_file)):
        for j in range(per_chunk):
            part = index * per_chunk + j
            pq.write_table(t.slice(j * rows_per_file, rows_per_file),
                           os.path.join(tmp, f"part-{part:04d}.parquet"),
                           compression="snappy")
    os.replace(tmp, path)


def write_split(path: str, n_rows: int, n_files: int) -> None:
    """The first ``n_rows`` rows of the export as ``n_files`` files of equal size."""
    if n_rows % n_files:
        raise SystemExit(f"--split: {n_rows:,} rows do not split into {n_files} equal files")
    per_file = n_rows // n_files
    tmp = path + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    stream = chunks(n_rows)
    left = pa.Table.from_batches([], schema=SCHEMA)
    for part in range(n_files):
        with pq.ParquetWriter(os.path.join(tmp, f"part-{part:04d}.parquet"), SCHEMA,
                              compression="snappy") as writer:
            need = per_file
            while need:
                if left.num_rows == 0:
                    left = next(stream)
                take = left.slice(0, need)
                writer.write_table(take, row_group_size=CHUNK)
                need -= take.num_rows
                left = left.slice(take.num_rows)
    os.replace(tmp, path)


def size_name(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="*", default=["1e6", "1e7"],
                    help="row counts of the single files (1e6 1e7 1e8)")
    ap.add_argument("--files", action="store_true", default=None,
                    help="also write the folder of 1,000 files of 10,000 rows")
    ap.add_argument("--no-files", dest="files", action="store_false")
    ap.add_argument("--split", nargs="*", default=[], metavar="ROWSxFILES",
                    help="also write ROWS rows split into FILES files (1e7x100, 1e8x100)")
    ap.add_argument("--kinds", nargs="*", default=[], metavar="ROWS",
                    help="also write ROWS rows with a shortlist rank and a measure column "
                         "(kinds_ROWS.parquet: the outcome-kinds scenarios)")
    ap.add_argument("--out", default=DATA)
    ap.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for text in args.sizes:
        n = int(float(text))
        path = os.path.join(args.out, f"rows_{size_name(n)}.parquet")
        if os.path.exists(path) and not args.force:
            print(f"{path}: exists", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        write_file(path, n)
        print(f"{path}: {n:,} rows, {os.path.getsize(path) / 1e6:,.0f} MB, "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for text in args.kinds:
        n = int(float(text))
        path = os.path.join(args.out, f"kinds_{size_name(n)}.parquet")
        if os.path.exists(path) and not args.force:
            print(f"{path}: exists", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        write_file(path, n, kinds=True)
        print(f"{path}: {n:,} rows, {os.path.getsize(path) / 1e6:,.0f} MB, "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for text in args.split:
        rows_text, _, files_text = text.lower().partition("x")
        n, k = int(float(rows_text)), int(files_text)
        path = os.path.join(args.out, f"files_{k}x{n // k}")
        if os.path.exists(path) and not args.force:
            print(f"{path}: exists", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        write_split(path, n, k)
        print(f"{path}: {k:,} files of {n // k:,} rows, {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    if args.files is not False:
        path = os.path.join(args.out, "files_1000x10000")
        if os.path.exists(path) and not args.force:
            print(f"{path}: exists", file=sys.stderr)
        else:
            t0 = time.perf_counter()
            write_folder(path, 1000, 10_000)
            print(f"{path}: 1,000 files of 10,000 rows, {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
