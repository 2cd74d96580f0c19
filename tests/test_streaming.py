"""Counts do not depend on how the rows arrive: batch sizes, files, formats, order.

Every audit is one pass that adds counts batch by batch, so the counts must
be exactly the same whether the rows come in one batch or in many, from one
file or several, parquet or CSV, in any order; and merging count tables must
not depend on how the merges are grouped or ordered.
"""

from __future__ import annotations

import gzip
import itertools
import os
import random
import tempfile
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fairaudit
from fairaudit.counts import CountTable
from fairaudit.decode import CELLS, Roles
from fairaudit.engine import count_batches

GROUPS = ("g", "h")
ROLES = Roles(groups=GROUPS, label="y", prediction="p")

Cells = dict[tuple[Any, ...], tuple[int, ...]]


@st.composite
def tables(draw: st.DrawFn, min_rows: int = 1) -> pd.DataFrame:
    """Rows with a text and an integer group column (both with missing values),
    and labels and predictions some of which are missing."""
    rows = draw(st.lists(
        st.tuples(st.sampled_from(["a", "b", "c d", None]), st.sampled_from([1, 2, None]),
                  st.sampled_from([0, 1, None]), st.sampled_from([0, 1, None])),
        min_size=min_rows, max_size=60))
    return pd.DataFrame({
        "g": pd.Series([r[0] for r in rows], dtype=object),
        "h": pd.array([r[1] for r in rows], dtype="Int64"),
        "y": pd.array([r[2] for r in rows], dtype="Int64"),
        "p": pd.array([r[3] for r in rows], dtype="Int64"),
    })


def by_hand(df: pd.DataFrame, columns: tuple[str, ...] = GROUPS) -> Cells:
    """The expected cells per group, counted row by row in plain Python."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for row in df.astype(object).itertuples(index=False):
        values = row._asdict()
        key = tuple(None if pd.isna(values[c]) else values[c] for c in columns)
        y, p = values["y"], values["p"]
        if pd.isna(y):
            cell = "missing_label"
        elif pd.isna(p):
            cell = "missing_prediction"
        else:
            cell = ("tn", "fp", "fn", "tp")[int(y) * 2 + int(p)]
        out.setdefault(key, [0] * len(CELLS))[CELLS.index(cell)] += 1
    return {k: tuple(v) for k, v in out.items()}


def projected(table: CountTable, columns: tuple[str, ...] = GROUPS) -> Cells:
    keys, cells = table.project(columns)
    assert len(keys) == len(set(keys))
    return {k: tuple(int(x) for x in row) for k, row in zip(keys, cells, strict=True)}


def _split(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    points = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(itertools.pairwise(points))


def _batches(table: pa.Table, spans: list[tuple[int, int]], encode: list[bool]
             ) -> list[pa.RecordBatch]:
    """Record batches over ``spans``; some with the group columns dictionary-encoded,
    as the readers give them, each batch with its own dictionary."""
    out = []
    padded = encode + [False] * len(spans)
    for (start, stop), dictionary in zip(spans, padded[:len(spans)], strict=True):
        batch = table.slice(start, stop - start).combine_chunks().to_batches()
        piece = batch[0] if batch else pa.RecordBatch.from_pylist([], schema=table.schema)
        if dictionary:
            arrays = [pc.dictionary_encode(piece.column(c)) if c in GROUPS else piece.column(c)
                      for c in piece.schema.names]
            piece = pa.RecordBatch.from_arrays(arrays, names=piece.schema.names)
        out.append(piece)
    return out


@settings(max_examples=100, deadline=None)
@given(tables(), st.lists(st.integers(0, 60), max_size=8), st.lists(st.booleans(), max_size=8))
def test_counts_do_not_depend_on_batch_sizes(df, cuts, encode):
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    expected = by_hand(df)
    whole, rows = count_batches([arrow.to_batches()], ["<one>"], ROLES)
    assert projected(whole) == expected
    assert rows == [len(df)]

    spans = _split(len(df), cuts)
    pieces, rows = count_batches([_batches(arrow, spans, encode)], ["<many>"], ROLES)
    assert projected(pieces) == expected
    assert rows == [len(df)]
    for column in GROUPS:
        assert projected(pieces, (column,)) == by_hand(df, (column,))
    # the same batches as several streams (files) of one audit
    streams = [[b] for b in _batches(arrow, spans, encode)]
    split, rows = count_batches(streams, [f"<{i}>" for i in range(len(streams))], ROLES)
    assert projected(split) == expected
    assert rows == [stop - start for start, stop in spans]


def test_batches_check_can_fail():
    df = pd.DataFrame({"g": ["a", "b"], "h": pd.array([1, 1], dtype="Int64"),
                       "y": pd.array([1, 0], dtype="Int64"), "p": pd.array([1, 1], dtype="Int64")})
    table, _ = count_batches([pa.Table.from_pandas(df).to_batches()], ["<t>"], ROLES)
    assert projected(table) == {("a", 1): (0, 0, 0, 1, 0, 0, 0), ("b", 1): (0, 1, 0, 0, 0, 0, 0)}
    assert projected(table) != by_hand(df.assign(p=pd.array([0, 1], dtype="Int64")))


# -- files ---------------------------------------------------------------------------


def _summary(result: fairaudit.AuditResult) -> dict[str, Any]:
    """Every count an audit reports, keyed by grouping and group."""
    out: dict[str, Any] = {}
    for grouping in result.groupings:
        for g in grouping.groups:
            out[f"{grouping.name} {g.key}"] = (
                g.count, tuple(sorted(g.dropped.items())),
                tuple((n, r.numerator, r.denominator) for n, r in sorted(g.metrics.items())))
    prov = result.provenance
    out["rows"] = (prov.rows_read, prov.rows_used, tuple(sorted(prov.dropped.items())))
    return out


def _write(df: pd.DataFrame, path: str) -> None:
    if path.endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        # an empty field is a missing value in CSV
        df.to_csv(path, index=False, na_rep="")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.lists(st.integers(0, 60), min_size=1, max_size=4),
       st.lists(st.sampled_from(["parquet", "csv", "csv.gz"]), min_size=5, max_size=5),
       st.randoms(use_true_random=False))
def test_counts_do_not_depend_on_files_formats_or_order(df, cuts, formats, rnd):
    assume(bool((df["y"].notna() & df["p"].notna()).any()))  # else nothing to audit
    # CSV group values are read as text: the text column is compared as it is,
    # the integer one is written as text here so that both formats agree
    df = df.assign(h=df["h"].astype(object).map(lambda v: None if pd.isna(v) else f"h{v}"))
    settings_ = {"label": "y", "prediction": "p", "groups": list(GROUPS), "min_group_size": 1}
    whole = fairaudit.audit(df, **settings_)
    expected = _summary(whole)
    # the intersection's counts, against the rows counted by hand
    inter = {tuple(g.key.values()): (g.count, g.dropped["missing_label"],
                                     g.dropped["missing_prediction"])
             for g in whole.grouping("g&h").groups}
    assert inter == {k: (sum(c[:4]), c[4], c[5]) for k, c in by_hand(df).items()}

    spans = _split(len(df), cuts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "parts")
        os.makedirs(os.path.join(folder, "deeper"))
        paths = []
        for i, (start, stop) in enumerate(spans):
            sub = "deeper" if i % 2 else ""
            path = os.path.join(folder, sub, f"part-{i:02d}.{formats[i % len(formats)]}")
            _write(df.iloc[start:stop], path)
            paths.append(path)
        shuffled = list(paths)
        rnd.shuffle(shuffled)
        for inputs in (folder, os.path.join(folder, "**", "part-*"), shuffled):
            result = fairaudit.audit(inputs, **settings_)
            assert _summary(result) == expected, inputs
            assert sorted(f.rows for f in result.provenance.files) == sorted(
                stop - start for start, stop in spans)


# -- merging -------------------------------------------------------------------------


def _count(df: pd.DataFrame) -> CountTable:
    table, _ = count_batches([pa.Table.from_pandas(df, preserve_index=False).to_batches()],
                             ["<t>"], ROLES)
    return table


@settings(max_examples=100, deadline=None)
@given(tables(), tables(), tables())
def test_merge_is_associative_and_commutative(a, b, c):
    ta, tb, tc = _count(a), _count(b), _count(c)
    expected = by_hand(pd.concat([a, b, c], ignore_index=True))
    for merged in (ta.merge(tb).merge(tc), ta.merge(tb.merge(tc)), tc.merge(ta).merge(tb),
                   tb.merge(tc.merge(ta)), _count(pd.concat([c, b, a], ignore_index=True))):
        assert projected(merged) == expected
        for column in GROUPS:
            assert projected(merged, (column,)) == by_hand(pd.concat([a, b, c]), (column,))
    assert projected(ta.merge(tb)) == projected(tb.merge(ta))


def test_merge_needs_the_same_layout():
    a = _count(pd.DataFrame({"g": ["a"], "h": pd.array([1], dtype="Int64"),
                             "y": pd.array([1], dtype="Int64"),
                             "p": pd.array([1], dtype="Int64")}))
    other = CountTable(("g",), a.cell_names, (("a",),), np.zeros((1, 1), dtype=np.int64),
                       a.cells)
    with pytest.raises(ValueError, match="different layouts"):
        a.merge(other)


def test_merge_with_an_empty_table():
    df = pd.DataFrame({"g": ["a", None], "h": pd.array([1, None], dtype="Int64"),
                       "y": pd.array([1, 0], dtype="Int64"), "p": pd.array([0, 0], dtype="Int64")})
    empty = CountTable(GROUPS, CELLS, ((), ()), np.zeros((0, 2), dtype=np.int64),
                       np.zeros((0, len(CELLS)), dtype=np.int64))
    table = _count(df)
    assert projected(table.merge(empty)) == projected(empty.merge(table)) == by_hand(df)


def test_a_csv_file_with_an_empty_column_counts_every_row_as_missing(tmp_path):
    # a CSV column with no value at all is read with the null type
    (tmp_path / "scored.csv").write_text("g,y,p,s\na,1,1,0.9\na,0,1,0.2\nb,1,0,0.7\n")
    (tmp_path / "unlabelled.csv").write_text("g,y,p,s\na,,1,\nb,,0,\nb,,,\n")
    result = fairaudit.audit(str(tmp_path), label="y", prediction="p", groups=["g"],
                             min_group_size=1)
    groups = {g.label: g for g in result.grouping("g").groups}
    # a: rows 1 (TP) and 2 (FP) of the first file; b: row 3 (FN); every row of
    # the second file lacks a label
    assert (groups["a"].count, groups["a"].dropped["missing_label"]) == (2, 1)
    assert (groups["b"].count, groups["b"].dropped["missing_label"]) == (1, 2)
    assert result.provenance.dropped == {"missing_label": 3, "missing_prediction": 0,
                                         "missing_score": 0}
    scored = fairaudit.audit(str(tmp_path), label="y", score="s", groups=["g"],
                             min_group_size=1)
    assert scored.provenance.dropped["missing_label"] == 3
    # with no score at all in the file, nothing is left, and the error says why
    with pytest.raises(fairaudit.InputError, match=r"3 rows read, all dropped \(3 missing score"):
        fairaudit.audit(str(tmp_path / "unlabelled.csv"), score="s", groups=["g"])


def test_an_integer_group_is_one_group_across_parquet_and_csv(tmp_path):
    df = pd.DataFrame({"g": [1, 2, 1], "y": [1, 0, 1], "p": [1, 1, 0]})
    df.to_parquet(tmp_path / "a.parquet", index=False)
    df.to_csv(tmp_path / "b.csv", index=False)
    result = fairaudit.audit(str(tmp_path), label="y", prediction="p", groups=["g"],
                             min_group_size=1)
    # rows with g = 1: two in each file
    assert [(g.label, g.count) for g in result.grouping("g").groups] == [("1", 4), ("2", 2)]


def test_a_csv_label_column_empty_in_its_first_block_only(tmp_path, monkeypatch):
    from fairaudit import csvstream

    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)  # blocks of 4 KiB
    path = tmp_path / "late_labels.csv"
    path.write_text("g,y,p\n" + "a,,1\n" * 2000 + "b,1,0\n" * 2000)
    result = fairaudit.audit(str(path), label="y", prediction="p", groups=["g"])
    # the 2,000 rows of a lack a label; the 2,000 rows of b are false negatives
    assert result.provenance.dropped["missing_label"] == 2000
    assert result.provenance.rows_used == 2000


@pytest.mark.parametrize(("late", "extra", "positives"), [
    ("true", {}, 2000),               # booleans, as arrow would infer them
    ("0.0", {}, 0),                   # numbers
    ("yes", {"positive_label": "yes"}, 2000),  # text, named by --positive-label
])
def test_a_late_csv_label_column_keeps_its_type(tmp_path, monkeypatch, late, extra, positives):
    from fairaudit import csvstream

    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)
    other = {"true": "false", "0.0": "1.0", "yes": "no"}[late]
    yes = "yes" if extra else "1"  # the decision, coded like the label
    rows = ("g,y,p\n" + f"a,,{yes}\n" * 2000 + f"b,{late},{yes}\n" * 2000
            + f"c,{other},{yes}\n" * 100)
    path = tmp_path / "late.csv.gz"
    path.write_bytes(gzip.compress(rows.encode()))
    result = fairaudit.audit(str(path), label="y", prediction="p", groups=["g"], **extra)
    assert result.provenance.dropped["missing_label"] == 2000
    b = next(g for g in result.grouping("g").groups if g.label == "b")
    # every row of b is predicted positive: true positives when its label is positive
    assert b.metrics["tpr"].denominator == positives


def test_random_split_helper_covers_every_row():
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randrange(0, 30)
        spans = _split(n, [rng.randrange(0, 40) for _ in range(rng.randrange(0, 6))])
        assert sum(b - a for a, b in spans) == n
        assert all(a < b for a, b in spans)
