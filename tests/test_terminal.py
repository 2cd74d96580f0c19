"""Terminal tables of large groupings: the groups that matter, never thousands of rows."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

import fairaudit
from fairaudit.report import terminal, view


def _many_groups(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 400, n)
    g = np.repeat([f"s{i:03d}" for i in range(n)], sizes)
    p_sel = np.repeat(rng.uniform(0.1, 0.9, n), sizes)
    return pd.DataFrame({"g": g, "y": rng.integers(0, 2, len(g)),
                         "p": (rng.random(len(g)) < p_sel).astype(int)})


def test_a_large_grouping_shows_the_reference_the_extremes_and_the_largest():
    df = _many_groups(120)
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0)
    grouping = result.grouping("g")
    out = io.StringIO()
    terminal.render(result, out, width=200)
    text = out.getvalue()
    listed = {grp.label for grp in grouping.groups if f"│ {grp.label} " in text}
    assert len(listed) == view.MAX_SHOWN
    assert "30 of 120 groups" in text
    # computed from the data: per rate, the judged groups with the highest and lowest rate
    counts = df.groupby("g").size()
    judged = counts[counts >= 30].index
    sel = df.groupby("g")["p"].mean()[judged]
    assert {sel.idxmax(), sel.idxmin()} <= listed
    pos = df[df.y == 1].groupby("g")["p"].agg(["mean", "size"])
    tpr = pos.loc[pos.index.isin(judged) & (pos["size"] >= 30), "mean"]
    assert {tpr.idxmax(), tpr.idxmin()} <= listed
    assert grouping.reference in listed
    # the largest group is there too
    assert counts.idxmax() in listed


def test_a_small_grouping_shows_every_group():
    df = _many_groups(12)
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0)
    out = io.StringIO()
    terminal.render(result, out, width=200)
    assert all(f"│ {grp.label}" in out.getvalue() for grp in result.grouping("g").groups)
    assert " of 12 groups" not in out.getvalue()
