"""Parallel counts equal one-shot counts, whatever the batches, parts, threads and file order.

Expected counts come from pandas: a groupby over the group columns of cells
computed row by row in the test, with the audit's rules written out here
(a valid row's cell is label * 2 + decision; a row missing its label counts
as missing_label before a missing prediction).
"""

from __future__ import annotations

import os
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fairaudit
from fairaudit import engine, readers
from fairaudit.counts import Accumulator
from fairaudit.decode import CELLS, Roles

GROUPS = ("region", "band", "sex")
ROLES = Roles(groups=GROUPS, label="y", prediction="yhat")


def _frame(n: int, seed: int, stores: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "region": rng.choice(["north", "south", "east", "west", "central", "isles"], n),
        "band": rng.choice(["18-25", "26-40", "41-60", "60+"], n),
        "sex": rng.choice(["f", "m", "x"], n),
        "y": rng.integers(0, 2, n).astype("float64"),
        "yhat": rng.integers(0, 2, n).astype("float64"),
    })
    df.loc[rng.random(n) < 0.03, "sex"] = None
    df.loc[rng.random(n) < 0.02, "y"] = np.nan
    df.loc[rng.random(n) < 0.02, "yhat"] = np.nan
    if stores:
        df["store"] = [f"s{i:05d}" for i in rng.integers(0, stores, n)]
        df.loc[rng.random(n) < 0.01, "store"] = None
    return df


def _table(df: pd.DataFrame) -> pa.Table:
    """Group columns dictionary-encoded, label and prediction as nullable int8."""
    cols = {}
    for c in df.columns:
        if c in ("y", "yhat"):
            cols[c] = pa.array(df[c].to_numpy(), from_pandas=True).cast(pa.int8())
        else:
            cols[c] = pa.array(df[c], type=pa.string(), from_pandas=True).dictionary_encode()
    return pa.table(cols)


def _expected(df: pd.DataFrame, groups: tuple[str, ...]) -> dict[tuple, list[int]]:
    cell = np.where(df["y"].isna(), CELLS.index("missing_label"),
                    np.where(df["yhat"].isna(), CELLS.index("missing_prediction"),
                             df["y"].fillna(0) * 2 + df["yhat"].fillna(0))).astype(int)
    counts = (df.assign(cell=cell).groupby(list(groups), dropna=False)["cell"]
              .value_counts().unstack(fill_value=0))
    out = {}
    for key, row in counts.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        key = tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in key)
        out[key] = [int(row.get(j, 0)) for j in range(len(CELLS))]
    return out


def _observed(table, groups: tuple[str, ...]) -> dict[tuple, list[int]]:
    keys, cells = table.project(groups)
    return {k: [int(x) for x in row] for k, row in zip(keys, cells, strict=True)}


def _write_files(df: pd.DataFrame, folder, sizes: list[int], row_group: int) -> list[str]:
    paths, start = [], 0
    for i, size in enumerate(sizes):
        path = os.path.join(folder, f"part-{i:03d}.parquet")
        pq.write_table(_table(df.iloc[start:start + size]), path, row_group_size=row_group)
        paths.append(path)
        start += size
    assert start == len(df)
    return paths


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _frame(60_000, seed=7)


@pytest.fixture(scope="module")
def split_files(data, tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("split")
    return _write_files(data, folder, [20_000, 7_000, 13_000, 1, 19_999], row_group=3_000)


@pytest.mark.parametrize(("batch_rows", "part_rows", "threads", "seed"), [
    (1 << 20, 1 << 19, 2, 0),   # defaults: whole row groups, two threads
    (1_000, 2_000, 2, 1),       # batches smaller than row groups, parts of one row group
    (777, 50_000, 2, 2),        # odd batch size, parts of whole files
    (5_000, 1, 1, 3),           # one thread
    (2_500, 4_000, 3, 4),       # more threads than cores
])
def test_streaming_equals_one_shot(data, split_files, monkeypatch, batch_rows, part_rows,
                                   threads, seed):
    monkeypatch.setattr(readers, "BATCH_ROWS", batch_rows)
    monkeypatch.setattr(readers, "PART_ROWS", part_rows)
    order = list(split_files)
    random.Random(seed).shuffle(order)
    files = readers.resolve(order)
    table, rows = engine.count_files(files, ROLES, threads=threads)
    assert sum(rows) == len(data)
    sizes = {p: pq.read_metadata(p).num_rows for p in split_files}
    assert rows == [sizes[f.path] for f in files]
    expected = _expected(data, GROUPS)
    assert _observed(table, GROUPS) == expected
    # every single-column grouping is the intersection summed
    for g in GROUPS:
        assert _observed(table, (g,)) == _expected(data, (g,))


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_counting_beside_the_hashing_on_shared_cores(data, split_files, slots):
    """The hashing holds a core's slot while the parts are counted in the others (with one
    slot, one after the other): the counts and digests are those of separate passes."""
    import hashlib

    files = readers.resolve(split_files)
    cores = readers.Cores(slots)
    with readers.Digests(files, cores=cores) as digests:
        table, rows = engine.count_files(files, ROLES, threads=slots, cores=cores)
        hashes = digests.result()
    assert _observed(table, GROUPS) == _expected(data, GROUPS)
    assert rows == [pq.read_metadata(f.path).num_rows for f in files]
    with open(files[0].path, "rb") as f:
        assert hashes[0] == hashlib.sha256(f.read()).hexdigest()
    assert len(hashes) == len(files)
    for _ in range(slots):  # every slot was given back
        assert cores._free.acquire(timeout=1)


@pytest.mark.parametrize(("rows", "size"), [(500, 1), (60_000, 999), (60_000, 4096),
                                            (60_000, 60_000)])
def test_in_memory_batches_equal_one_shot(data, rows, size):
    arrow = _table(data.iloc[:rows])
    table, counted = engine.count_batches([arrow.to_batches(max_chunksize=size)], ["<t>"], ROLES)
    assert counted == [rows]
    assert _observed(table, GROUPS) == _expected(data.iloc[:rows], GROUPS)


def test_tables_merge_in_any_order(data):
    arrow = _table(data)
    pieces = []
    for start in range(0, len(data), 9_000):
        acc = Accumulator(GROUPS, CELLS)
        batch = arrow.slice(start, 9_000)
        cells, _ = engine.count_batches([batch.to_batches()], ["<t>"], ROLES)
        acc.add_table(cells)
        pieces.append(acc.table())
    for seed in range(3):
        random.Random(seed).shuffle(pieces)
        total = pieces[0]
        for p in pieces[1:]:
            total = total.merge(p)
        assert _observed(total, GROUPS) == _expected(data, GROUPS)


def test_cell_families_add_up():
    """Two cell families a row count each row once in each family."""
    groups = [pa.array(["a", "b", "a", None, "b"]).dictionary_encode()]
    first = np.array([0, 1, 3, 3, 2])
    second = np.array([4, 4, 5, 6, 4])
    both = Accumulator(["g"], CELLS)
    both.add(groups, np.vstack([first, second]))
    apart = Accumulator(["g"], CELLS)
    apart.add(groups, first)
    apart.add(groups, second)
    assert _observed(both.table(), ("g",)) == _observed(apart.table(), ("g",)) == {
        ("a",): [1, 0, 0, 1, 1, 1, 0],
        ("b",): [0, 1, 1, 0, 2, 0, 0],
        (None,): [0, 0, 0, 1, 0, 0, 1],
    }


@pytest.mark.parametrize("batch_rows", [1 << 20, 5_000])
def test_high_cardinality_equals_pandas(tmp_path, monkeypatch, batch_rows):
    """10,000 store levels, alone and crossed with sex; small batches go through the sort path."""
    monkeypatch.setattr(readers, "BATCH_ROWS", batch_rows)
    df = _frame(120_000, seed=11, stores=10_000)
    path = tmp_path / "stores.parquet"
    pq.write_table(_table(df), path, row_group_size=40_000)
    roles = Roles(groups=("store", "sex"), label="y", prediction="yhat")
    table, _ = engine.count_files(readers.resolve([str(path)]), roles, threads=2)
    assert len(table.levels[0]) == df["store"].nunique() + 1  # and one for missing
    assert _observed(table, ("store",)) == _expected(df, ("store",))
    assert _observed(table, ("store", "sex")) == _expected(df, ("store", "sex"))


def test_folder_of_small_files_equals_one_file(data, tmp_path):
    one = tmp_path / "one.parquet"
    pq.write_table(_table(data), one, row_group_size=25_000)
    folder = tmp_path / "many"
    folder.mkdir()
    _write_files(data, folder, [600] * 100, row_group=600)
    settings = dict(label="y", prediction="yhat", groups=list(GROUPS), min_group_size=1)
    a = fairaudit.audit(str(one), **settings)
    b = fairaudit.audit(str(folder), **settings)
    assert len(b.provenance.files) == 100
    assert a.provenance.rows_read == b.provenance.rows_read == len(data)
    assert a.provenance.dropped == b.provenance.dropped
    for ga, gb in zip(a.groupings, b.groupings, strict=True):
        assert ga.name == gb.name
        assert [(g.label, g.count, g.dropped, g.metrics) for g in ga.groups] == \
            [(g.label, g.count, g.dropped, g.metrics) for g in gb.groups]
        assert ga.criteria == gb.criteria


def test_first_failing_row_in_file_order_is_named(tmp_path, monkeypatch):
    """With parts counted on two threads, the error is the one a single pass would raise."""
    monkeypatch.setattr(readers, "PART_ROWS", 1)
    n = 4_000
    y = np.zeros(n, dtype=np.int8)
    y[1_234] = 2  # second row group (rows 1,001 to 2,000 counted from 1)
    y[3_500] = 3  # fourth row group
    table = pa.table({"g": pa.array(["a"] * n).dictionary_encode(), "y": y, "p": y * 0})
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path, row_group_size=1_000)
    roles = Roles(groups=("g",), label="y", prediction="p")
    for _ in range(5):
        with pytest.raises(fairaudit.InputError) as err:
            engine.count_files(readers.resolve([str(path)]), roles, threads=2)
        assert "values other than 0 and 1: 2 (first at row 1235)" in str(err.value)


def test_parts_split_whole_row_groups_and_share_the_bytes(split_files):
    src = readers.resolve([split_files[0]])[0]
    parts = readers.parts(src, ["y"], part_rows=5_000)
    # 20,000 rows in row groups of 3,000: parts of two row groups, then the rest
    assert [p.row_groups for p in parts] == [(0, 1), (2, 3), (4, 5), (6,)]
    assert [p.first_row for p in parts] == [1, 6_001, 12_001, 18_001]
    assert [p.rows for p in parts] == [6_000, 6_000, 6_000, 2_000]
    assert sum(p.bytes for p in parts) == src.size
    with pytest.raises(fairaudit.InputError, match="no column 'yy'; did you mean 'y'"):
        readers.parts(src, ["yy"])


def test_values_under_nulls_are_ignored(tmp_path):
    """An int column may hold anything under a null; only valid rows are checked."""
    values = np.array([1, 7, 0, 9], dtype=np.int8)
    validity = np.packbits(np.array([1, 0, 1, 0], dtype=bool), bitorder="little")
    y = pa.Array.from_buffers(pa.int8(), 4, [pa.py_buffer(validity), pa.py_buffer(values)])
    assert y.to_pylist() == [1, None, 0, None]
    batch = pa.record_batch({"g": pa.array(["a"] * 4).dictionary_encode(), "y": y,
                             "p": pa.array([1, 1, 0, 0], type=pa.int8())})
    table, _ = engine.count_batches([[batch]], ["<t>"],
                                    Roles(groups=("g",), label="y", prediction="p"))
    assert _observed(table, ("g",)) == {("a",): [1, 0, 0, 1, 2, 0, 0]}


def test_float32_scores_meet_the_exact_threshold():
    scores = np.array([0.7, 0.69, 0.71, 0.7000001], dtype=np.float32)
    batch = pa.record_batch({"g": pa.array(["a"] * 4).dictionary_encode(),
                             "s": pa.array(scores)})
    table, _ = engine.count_batches([[batch]], ["<t>"],
                                    Roles(groups=("g",), score="s", threshold=0.7))
    decisions = (scores.astype(np.float64) >= 0.7).astype(int)  # float32(0.7) < 0.7
    assert decisions.tolist() == [0, 0, 1, 1]
    # the decision's seven cells (the score's histogram follows them)
    assert {k: v[:7] for k, v in _observed(table, ("g",)).items()} == \
        {("a",): [2, 2, 0, 0, 0, 0, 0]}


def test_text_labels_with_positive_label_on_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "PART_ROWS", 1)
    rng = np.random.default_rng(3)
    n = 9_000
    df = pd.DataFrame({"g": rng.choice(["a", "b"], n),
                       "y": rng.choice(["yes", "no"], n), "p": rng.choice(["yes", "no"], n)})
    df.loc[rng.random(n) < 0.05, "y"] = None
    path = tmp_path / "text.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=1_000)
    roles = Roles(groups=("g",), label="y", prediction="p", positive_label="yes")
    table, _ = engine.count_files(readers.resolve([str(path)]), roles, threads=2)
    y = (df["y"] == "yes").astype(float).where(df["y"].notna())
    expected = _expected(df.assign(y=y, yhat=(df["p"] == "yes").astype(float)), ("g",))
    assert _observed(table, ("g",)) == expected
    df.loc[8_500, "p"] = "maybe"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=1_000)
    with pytest.raises(fairaudit.InputError, match="more than two classes"):
        engine.count_files(readers.resolve([str(path)]), roles, threads=2)
