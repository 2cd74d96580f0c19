"""A new outcome kind, declared in a few lines, gets intervals, gaps, gates and JSON unchanged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import fairaudit
from fairaudit.kinds import OutcomeKind, register, unregister
from fairaudit.metrics import Criterion, Metric
from fairaudit.report.json import to_dict


class PositiveShare(OutcomeKind):
    """The share of rows whose ``value`` is positive; a missing value is skipped."""

    name = "positive"
    declared_metrics = (Metric("positive_share", "Positive share", (0,), (0, 1),
                               "share of rows whose value is positive", "neither", False,
                               "rows with a value"),)
    declared_criteria = (Criterion("positive_parity", ("positive_share",),
                                   "positive shares are equal across groups"),)

    def __init__(self) -> None:
        self.cells = ("value:positive", "value:not_positive", "value:missing")
        self.metric_cells, self.drop_cells = self.cells[:2], self.cells[2:]
        self.metrics, self.criteria = self.declared_metrics, self.declared_criteria
        self.columns = ("value",)
        self.shown = self.terminal = self.charted = ("positive_share",)

    @classmethod
    def from_settings(cls, settings):  # type: ignore[no-untyped-def]
        return cls()

    def count(self, batch, where, base):  # type: ignore[no-untyped-def]
        v = batch.column("value").to_numpy(zero_copy_only=False).astype(float)
        return np.where(np.isnan(v), 2, np.where(v > 0, 0, 1)).astype(np.uint8)


@pytest.fixture()
def positive_kind():
    register(PositiveShare)
    yield PositiveShare
    unregister(PositiveShare)


def _frame(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 3000
    g = rng.choice(["a", "b", "c"], size=n)
    value = rng.normal(np.select([g == "a", g == "b"], [0.5, 0.0], -0.3), 1.0)
    value[rng.random(n) < 0.05] = np.nan
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"g": g, "y": y, "yhat": rng.integers(0, 2, n), "value": value})


def _expected(df: pd.DataFrame) -> pd.DataFrame:
    known = df.dropna(subset=["value"])
    out = known.groupby("g")["value"].agg(k=lambda s: int((s > 0).sum()), n="size")
    out["share"] = out.k / out.n
    out["missing"] = df.groupby("g")["value"].apply(lambda s: int(s.isna().sum()))
    return out


def test_a_registered_kind_gets_rates_intervals_gaps_gates_and_json(positive_kind):
    df = _frame()
    want = _expected(df)
    result = fairaudit.audit(df, label="y", prediction="yhat", groups=["g"],
                             max_gap={"positive_parity": 0.1}, bootstrap=200)
    grouping = result.grouping("g")
    z = norm.ppf(0.975)
    for group in grouping.groups:
        rate = group.metrics["positive_share"]
        k, n = want.loc[group.label, ["k", "n"]]
        assert (rate.numerator, rate.denominator) == (k, n)
        assert rate.value == pytest.approx(k / n, abs=1e-12)
        # the Wilson score interval, from its formula
        p, half = k / n, z * math.sqrt(k / n * (1 - k / n) / n + z * z / (4 * n * n))
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        assert rate.ci == pytest.approx((centre - half / (1 + z * z / n),
                                         centre + half / (1 + z * z / n)), abs=1e-9)
        assert group.dropped["value:missing"] == want.loc[group.label, "missing"]
    gap = grouping.criteria["positive_parity"]
    assert gap.difference == pytest.approx(want.share.max() - want.share.min(), abs=1e-12)
    assert gap.ci_difference is not None
    assert gap.ci_difference[0] <= gap.difference <= gap.ci_difference[1]
    assert gap.p_value is not None and gap.p_adjusted is not None
    (gate,) = result.gates
    assert (gate.criterion, gate.status, gate.value) == ("positive_parity", "fail",
                                                         gap.difference)
    assert result.verdict == "fail"
    doc = to_dict(result)
    (entry,) = [g for g in doc["groupings"] if g["name"] == "g"]
    assert entry["criteria"]["positive_parity"]["difference"] == gap.difference
    shares = {g["label"]: g["metrics"]["positive_share"]["value"] for g in entry["groups"]}
    assert shares == pytest.approx(want.share.to_dict(), abs=1e-12)


def test_a_kind_leaves_the_decision_figures_as_they_were(positive_kind):
    df = _frame(11)
    with_kind = fairaudit.audit(df, label="y", prediction="yhat", groups=["g"], bootstrap=100)
    unregister(PositiveShare)
    try:
        alone = fairaudit.audit(df.drop(columns="value"), label="y", prediction="yhat",
                                groups=["g"], bootstrap=100)
    finally:
        register(PositiveShare)
    for name, gap in alone.grouping("g").criteria.items():
        assert with_kind.grouping("g").criteria[name].difference == gap.difference
        assert with_kind.grouping("g").criteria[name].ci_difference == gap.ci_difference


def test_a_gate_on_an_unregistered_criterion_is_refused():
    with pytest.raises(fairaudit.ConfigError, match="unknown criterion 'positive_parity'"):
        fairaudit.audit(_frame(), label="y", prediction="yhat", groups=["g"],
                        max_gap={"positive_parity": 0.1})


def test_the_kind_is_as_short_as_docs_design_says():
    import inspect
    from pathlib import Path

    lines = len(inspect.getsource(PositiveShare).splitlines())
    assert lines <= 30
    assert "in 30 lines" in (Path(__file__).parent.parent / "docs" / "design.md").read_text()


class ByStratum(OutcomeKind):
    """Rows per group and stratum: the count table keyed by one more column than the groups."""

    name = "by_stratum"
    seen_tables: list = []  # noqa: RUF012 (the test reads what figures() was given)

    def __init__(self) -> None:
        self.cells = ("stratum:rows",)
        self.keys = ("stratum",)

    @classmethod
    def from_settings(cls, settings):  # type: ignore[no-untyped-def]
        return cls()

    def count(self, batch, where, base):  # type: ignore[no-untyped-def]
        return np.zeros(batch.num_rows, dtype=np.uint8)

    def figures(self, table, groupings, context):  # type: ignore[no-untyped-def]
        ByStratum.seen_tables.append(table)
        return None


@pytest.fixture()
def stratum_kind():
    register(ByStratum)
    ByStratum.seen_tables.clear()
    yield ByStratum
    unregister(ByStratum)


def _stratified(seed: int = 3) -> pd.DataFrame:
    df = _frame(seed).drop(columns="value")
    rng = np.random.default_rng(seed)
    df["stratum"] = rng.choice(["h1", "h2", "h10", None], size=len(df))
    return df


@pytest.mark.parametrize("source", ["frame", "parquet", "csv"])
def test_a_kind_keys_the_counts_by_a_column_beyond_the_groups(stratum_kind, source, tmp_path):
    df = _stratified()
    if source == "frame":
        data = df
    else:
        data = tmp_path / f"rows.{source}"
        df.to_parquet(data) if source == "parquet" else df.to_csv(data, index=False)
    result = fairaudit.audit(data, label="y", prediction="yhat", groups=["g"], bootstrap=100)
    (table,) = ByStratum.seen_tables
    assert table.columns == ("g", "stratum")
    keys, cells = table.project(("g", "stratum"))
    got = {(g, s): int(n) for (g, s), n in zip(keys, cells[:, -1], strict=True)}
    want = df.fillna({"stratum": "<none>"}).groupby(["g", "stratum"]).size()
    assert got == {(g, None if s == "<none>" else s): int(n) for (g, s), n in want.items()}
    # every grouping's figures sum over the stratum: the same as an audit without the kind
    unregister(ByStratum)
    try:
        alone = fairaudit.audit(df.drop(columns="stratum"), label="y", prediction="yhat",
                                groups=["g"], bootstrap=100)
    finally:
        register(ByStratum)
    for group, other in zip(result.grouping("g").groups, alone.grouping("g").groups,
                            strict=True):
        assert group.label == other.label
        assert group.metrics == other.metrics
