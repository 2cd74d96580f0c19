"""A history's tables as files for BI tools: ``fairaudit history PATH --export parquet DIR``.

Five parquet files, each written whole or not at all:

- ``runs``: one row per run (superseded and failed ones too), with ``superseded``;
- ``inputs``: one row per run and input file;
- ``criteria`` and ``gates``: the figures as stored, with each run's ``as_of`` and
  ``label`` beside them;
- ``counts``: one row per run, grouping and group (each group column alone and
  their intersection, as the run's audit reported them), with one column per
  cell (``tn``, ``fp``, ``fn``, ``tp``, the rows dropped per reason, the range
  cells): the counts every figure comes from, summed from the stored table as
  a live audit sums them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..outputs import write_atomic
from ..result import show_value
from . import codec
from .store import History, HistoryError

FORMATS = ("parquet",)


def _write(table: pa.Table, path: str) -> None:
    write_atomic(path, lambda f: pq.write_table(table, f))


def _counts(history: History, runs: list[Any]) -> pa.Table:
    rows: list[dict[str, Any]] = []
    cells: dict[str, None] = {}
    sums: dict[str, None] = {}  # sum cells (float64), after the integer cells
    for r in runs:
        if r.verdict == "error" or r.config is None:
            continue
        table = history.table(r.run_id)
        groups = list(r.config.get("groups") or table.columns)
        groupings = [(g,) for g in groups]
        if r.config.get("intersections", True) and len(groups) > 1:
            groupings.append(tuple(groups))
        cells.update(dict.fromkeys(table.cell_names))
        sums.update(dict.fromkeys(table.sum_names))
        for grouping in groupings:
            keys, counted, summed = table.projected(grouping)
            for key, values, totals in zip(keys, counted.tolist(), summed.tolist(),
                                           strict=True):
                rows.append({
                    "run_id": r.run_id, "as_of": r.as_of, "label": r.label,
                    "grouping": "&".join(grouping),
                    "group": " & ".join(show_value(v) for v in key),
                    "key": json.dumps([codec.encode_value(v) for v in key], ensure_ascii=False),
                    **dict(zip(table.cell_names, values, strict=True)),
                    **dict(zip(table.sum_names, totals, strict=True))})
    names = ["run_id", "as_of", "label", "grouping", "group", "key", *cells, *sums]
    columns = {n: [row.get(n) for row in rows] for n in names}
    types = {"run_id": pa.int64(), "as_of": pa.string(), "label": pa.string(),
             "grouping": pa.string(), "group": pa.string(), "key": pa.string(),
             **dict.fromkeys(sums, pa.float64())}
    return pa.table({n: pa.array(v, types.get(n, pa.int64())) for n, v in columns.items()})


def _with_runs(history: History, table: str, runs: dict[int, Any]) -> pa.Table:
    names, rows = history.rows(table)
    data = {n: [row[i] for row in rows] for i, n in enumerate(names)}
    ids = data["run_id"]
    data["as_of"] = [runs[i].as_of for i in ids]
    data["label"] = [runs[i].label for i in ids]
    return pa.table(data)


def export(path: str | os.PathLike[str], folder: str | os.PathLike[str],
           fmt: str = "parquet") -> list[str]:
    """Write the history's tables to ``folder`` (made if missing); the paths written."""
    if fmt not in FORMATS:
        raise HistoryError(f"--export {fmt!r}: the formats are {', '.join(FORMATS)}")
    folder = os.fspath(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"{folder}: cannot make the export folder ({exc.strerror})") from None
    out = []
    with History.open(path) as h:
        runs = h.runs()
        by_id = {r.run_id: r for r in runs}
        tables = {
            "runs": pa.table({
                "run_id": [r.run_id for r in runs],
                "as_of": pa.array([r.as_of for r in runs], pa.string()),
                "label": [r.label for r in runs],
                "verdict": [r.verdict for r in runs],
                "superseded": [r.superseded for r in runs],
                "superseded_by": pa.array([r.superseded_by for r in runs], pa.int64()),
                "superseded_at": pa.array([r.superseded_at for r in runs], pa.string()),
                "error": pa.array([r.error for r in runs], pa.string()),
                "config_digest": [r.config_digest for r in runs],
                "recorded_at": [r.recorded_at for r in runs],
                "audit_time": pa.array([r.audit_time for r in runs], pa.string()),
                "fairaudit_version": [r.fairaudit_version for r in runs],
                "rows_read": pa.array([r.rows_read for r in runs], pa.int64()),
                "rows_used": pa.array([r.rows_used for r in runs], pa.int64()),
                "config": pa.array([None if r.config is None else
                                    json.dumps(r.config, ensure_ascii=False) for r in runs],
                                   pa.string()),
            }),
            "inputs": _with_runs(h, "inputs", by_id),
            "criteria": _with_runs(h, "criteria", by_id),
            "gates": _with_runs(h, "gates", by_id),
            "counts": _counts(h, runs),
        }
    for name, table in tables.items():
        target = os.path.join(folder, f"{name}.parquet")
        _write(table, target)
        out.append(target)
    return out
