"""The programs fairaudit is measured against, each run as its own process.

    python benchmarks/baselines.py read FILE --columns label prediction region ...
    python benchmarks/baselines.py read+hash FILE --columns label prediction ... --out OUT.json
    python benchmarks/baselines.py pandas FILE -g region -g age_band -g sex --out OUT.json
    python benchmarks/baselines.py fairlearn FILE -g region -g age_band -g sex --out OUT.json

``read`` is the floor of an audit without the digest: a plain pyarrow read of
the columns the audit needs. ``read+hash`` is the floor of a default audit,
which also takes the SHA-256 of every input: the same read on one thread and
the SHA-256 of the whole file on another, started together, both to the end;
it writes ``{"sha256": hex digest}`` so that ``run.py`` can check it against
the digest in fairaudit's report.
``pandas`` computes every per-group rate of the audit with a pandas groupby,
``fairlearn`` the rates fairlearn's MetricFrame has, for each group column and
their intersection; both write ``{grouping: {group label: {rate: value}}}``
so that ``run.py`` can check the figures against fairaudit's JSON.
Rows missing the label or the prediction are left out, as the audit does; a
missing group value is its own group, labelled ``(missing)`` as in the audit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MISSING = "(missing)"
# fairaudit's rates, as (numerator cells, denominator cells) over tn, fp, fn, tp
RATES = {
    "base_rate": ("fn tp", "tn fp fn tp"),
    "selection_rate": ("fp tp", "tn fp fn tp"),
    "tpr": ("tp", "fn tp"),
    "fpr": ("fp", "tn fp"),
    "tnr": ("tn", "tn fp"),
    "fnr": ("fn", "fn tp"),
    "precision": ("tp", "fp tp"),
    "npv": ("tn", "tn fn"),
    "fdr": ("fp", "fp tp"),
    "for": ("fn", "tn fn"),
    "accuracy": ("tn tp", "tn fp fn tp"),
    "error_rate": ("fp fn", "tn fp fn tp"),
}
HASH_PIECE = 4 << 20  # bytes hashed per call; hashlib lets go of the GIL for each
FAIRLEARN_RATES = ("selection_rate", "tpr", "fpr", "tnr", "fnr", "precision", "accuracy")


def groupings(groups: list[str]) -> list[list[str]]:
    return [[g] for g in groups] + ([list(groups)] if len(groups) > 1 else [])


def read(path: str, columns: list[str]) -> None:
    """Decode the columns batch by batch on pyarrow's threads, keeping nothing.

    ``pq.read_table`` would also import pandas (through pyarrow.dataset) and
    build the whole table in memory; both cost more than the decoding.
    """
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetFile(path) as f:
        for batch in f.iter_batches(batch_size=1 << 20, columns=columns, use_threads=True):
            rows += batch.num_rows
    assert rows > 0


def sha256(path: str) -> str:
    """The SHA-256 of every byte of the file, read in pieces of ``HASH_PIECE`` bytes."""
    h = hashlib.sha256()
    buf = bytearray(HASH_PIECE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def read_and_hash(path: str, columns: list[str]) -> str:
    """``read`` and ``sha256`` overlapped: each on its own thread, started together.

    The read thread imports pyarrow itself, as ``read`` does, so the hashing
    overlaps the import too (the audit starts its digest before it loads
    pyarrow). Returns the digest once both have finished.
    """
    together = threading.Barrier(2)

    def hashed() -> str:
        together.wait()
        return sha256(path)

    def decoded() -> None:
        together.wait()
        read(path, columns)

    with ThreadPoolExecutor(max_workers=2) as pool:
        digest = pool.submit(hashed)
        rows = pool.submit(decoded)
        rows.result()
        return digest.result()


def _frame(path: str, label: str, prediction: str, groups: list[str]) -> Any:
    import pandas as pd

    df = pd.read_parquet(path, columns=[label, prediction, *groups])
    df = df[df[label].notna() & df[prediction].notna()]
    for g in groups:
        col = df[g].astype("category") if df[g].dtype != "category" else df[g]
        df[g] = col.cat.add_categories([MISSING]).fillna(MISSING) \
            if col.isna().any() else col
    return df


def with_pandas(path: str, label: str, prediction: str, groups: list[str]) -> dict[str, Any]:
    df = _frame(path, label, prediction, groups)
    cell = df[label].astype("int8") * 2 + df[prediction].astype("int8")
    out: dict[str, Any] = {}
    for cols in groupings(groups):
        counts = (df.assign(cell=cell).groupby(cols, observed=True)["cell"]
                  .value_counts().unstack(fill_value=0))
        result: dict[str, Any] = {}
        for key, row in counts.iterrows():
            key = key if isinstance(key, tuple) else (key,)
            c = {name: int(row.get(i, 0)) for i, name in enumerate(("tn", "fp", "fn", "tp"))}
            rates: dict[str, Any] = {"count": sum(c.values())}
            for name, (num, den) in RATES.items():
                d = sum(c[x] for x in den.split())
                rates[name] = sum(c[x] for x in num.split()) / d if d else None
            result[" & ".join(str(k) for k in key)] = rates
        out["&".join(cols)] = result
    return out


def with_fairlearn(path: str, label: str, prediction: str, groups: list[str]) -> dict[str, Any]:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    def precision(y_true: Any, y_pred: Any) -> float:
        return float(precision_score(y_true, y_pred, zero_division=math.nan))

    metrics = {"count": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
               "fpr": false_positive_rate, "tnr": true_negative_rate,
               "fnr": false_negative_rate, "precision": precision, "accuracy": accuracy_score}
    df = _frame(path, label, prediction, groups)
    y, p = df[label].astype(int), df[prediction].astype(int)
    out: dict[str, Any] = {}
    for cols in groupings(groups):
        frame = MetricFrame(metrics=metrics, y_true=y, y_pred=p,
                            sensitive_features=df[cols] if len(cols) > 1 else df[cols[0]])
        result: dict[str, Any] = {}
        for key, row in frame.by_group.iterrows():
            if row["count"] == 0 or (isinstance(row["count"], float) and math.isnan(row["count"])):
                continue  # a combination of categories that never occurs
            key = key if isinstance(key, tuple) else (key,)
            values = {m: (None if isinstance(row[m], float) and math.isnan(row[m])
                          else float(row[m])) for m in FAIRLEARN_RATES}
            result[" & ".join(str(k) for k in key)] = {"count": int(row["count"]), **values}
        out["&".join(cols)] = result
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("how", choices=["read", "read+hash", "pandas", "fairlearn"])
    ap.add_argument("path")
    ap.add_argument("--columns", nargs="*", default=[])
    ap.add_argument("--label", default="label")
    ap.add_argument("--prediction", default="prediction")
    ap.add_argument("-g", "--group", action="append", default=[])
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.how == "read":
        read(args.path, args.columns)
        return
    result: dict[str, Any]
    if args.how == "read+hash":
        result = {"sha256": read_and_hash(args.path, args.columns)}
    else:
        compute = with_pandas if args.how == "pandas" else with_fairlearn
        result = compute(args.path, args.label, args.prediction, args.group)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
