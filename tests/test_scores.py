"""Score figures (AUC, KS, calibration), several thresholds and top-N cutoffs.

Every figure is checked against an independent reference: scikit-learn's
``roc_auc_score`` (exact on COMPAS decile scores, within the stated bound on
random continuous scores), DeLong's variance from midranks computed here with
scipy, ``scipy.stats.ks_2samp``, and the confusion figures and the rank-based
top-N selection (Aequitas' rank thresholding) computed here with pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, rankdata
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import fairaudit
from fairaudit.cli import app
from fairaudit.kinds.cutoffs import BINS, EDGE
from fairaudit.kinds.scores import MEAN_BOUND, ScoreReport
from fairaudit.report.json import to_dict
from tests.cli_support import schema, undocumented

COMPAS = Path(__file__).resolve().parent.parent / "examples" / "compas" / "compas.parquet"


def _bins(scores: pd.Series) -> np.ndarray:
    """The bin of each score, as the docs define it (edges 1e-7 low)."""
    return np.minimum(np.floor(scores.to_numpy() * BINS + EDGE), BINS - 1)


def _audit(df: pd.DataFrame, **kw: object) -> fairaudit.AuditResult:
    kw.setdefault("bootstrap", 0)
    return fairaudit.audit(df, label="y", score="s", groups=["g"], min_group_size=1,
                           digest=False, **kw)


def _scores(result: fairaudit.AuditResult) -> ScoreReport:
    section = result.sections["scores"]
    assert isinstance(section, ScoreReport)
    return section


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    df = pd.read_parquet(COMPAS)
    return pd.DataFrame({"y": df["two_year_recid"], "s": df["score"], "g": df["race"]})


@pytest.fixture(scope="module")
def compas_result(compas: pd.DataFrame) -> fairaudit.AuditResult:
    return _audit(compas, thresholds=[0.3, 0.5, 0.7], select_top=["500", "10%"])


def _delong(y: np.ndarray, s: np.ndarray) -> float:
    """DeLong's variance from midranks (Sun and Xu's form), computed on the rows."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    r_all = rankdata(np.concatenate([pos, neg]))
    v10 = (r_all[:m] - rankdata(pos)) / n
    v01 = 1 - (r_all[m:] - rankdata(neg)) / m
    return float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)


def test_auc_is_exact_on_compas_decile_scores(compas: pd.DataFrame,
                                              compas_result: fairaudit.AuditResult) -> None:
    grouping = _scores(compas_result).groupings[0]
    for g in grouping.groups:
        rows = compas[compas["g"] == g.label]
        expected = roc_auc_score(rows["y"], rows["s"])
        assert g.auc == pytest.approx(expected, abs=1e-12)
        # ten scores, each alone in its bin: the binned AUC is sklearn's (ties one half)
        se = np.sqrt(_delong(rows["y"].to_numpy(), rows["s"].to_numpy()))
        assert g.auc_ci is not None
        assert g.auc_ci[1] == pytest.approx(min(1.0, expected + 1.959963984540054 * se),
                                            abs=1e-9)
        assert g.positives == int(rows["y"].sum())


def test_calibration_on_compas(compas: pd.DataFrame,
                               compas_result: fairaudit.AuditResult) -> None:
    for g in _scores(compas_result).groupings[0].groups:
        rows = compas[compas["g"] == g.label]
        assert g.observed_rate == pytest.approx(rows["y"].mean(), abs=1e-12)
        assert g.mean_score is not None and g.calibration is not None
        assert abs(g.mean_score - rows["s"].mean()) <= MEAN_BOUND + 1e-12
        assert abs(g.calibration - (rows["s"].mean() - rows["y"].mean())) <= MEAN_BOUND + 1e-12
        tenth = np.minimum(_bins(rows["s"]) // (BINS // 10), 9)
        for j, b in enumerate(g.bins):
            inside = rows[tenth == j]
            assert b.rows == len(inside)
            if len(inside):
                assert b.observed_rate == pytest.approx(inside["y"].mean(), abs=1e-12)
            else:
                assert b.observed_rate is None


def test_ks_on_compas(compas: pd.DataFrame, compas_result: fairaudit.AuditResult) -> None:
    grouping = _scores(compas_result).groupings[0]
    ref = compas[compas["g"] == grouping.reference]["s"]
    for g in grouping.groups:
        rows = compas[compas["g"] == g.label]["s"]
        assert g.ks == pytest.approx(ks_2samp(rows, ref).statistic, abs=1e-12)
    big = [g.label for g in grouping.groups if not g.small]
    widest = max(ks_2samp(compas[compas["g"] == a]["s"], compas[compas["g"] == b]["s"]).statistic
                 for a in big for b in big)
    assert grouping.ks.difference == pytest.approx(widest, abs=1e-12)


def test_thresholds_on_compas(compas: pd.DataFrame,
                              compas_result: fairaudit.AuditResult) -> None:
    grouping = compas_result.groupings[0]
    for t in (0.3, 0.5, 0.7):
        for grp in grouping.groups:
            rows = compas[compas["g"] == grp.label]
            decided = rows["s"] >= t
            y = rows["y"] == 1
            assert grp.metrics[f"selection_rate@{t:g}"].value == pytest.approx(decided.mean())
            assert grp.metrics[f"tpr@{t:g}"].numerator == int((decided & y).sum())
            assert grp.metrics[f"fpr@{t:g}"].numerator == int((decided & ~y).sum())
            assert grp.metrics[f"fpr@{t:g}"].denominator == int((~y).sum())
        rates = compas.groupby("g").apply(lambda r, t=t: (r["s"] >= t).mean(),
                                          include_groups=False)
        big = compas["g"].value_counts()
        big = rates[big[big >= 1].index]
        assert grouping.criteria[f"demographic_parity@{t:g}"].difference == pytest.approx(
            big.max() - big.min())


def _top(df: pd.DataFrame, n: int) -> pd.Series:
    """Aequitas' rank thresholding: rank by score, highest first, and take the first n."""
    rank = df["s"].rank(method="first", ascending=False)
    return rank <= n


def test_select_top_on_compas_within_its_ties(compas: pd.DataFrame,
                                              compas_result: fairaudit.AuditResult) -> None:
    section = compas_result.sections["select_top"]
    assert [c.selected for c in section.cutoffs] == [500, len(compas) // 10]
    tied = dict(section.groupings[0].groups)
    for i, (cut, n) in enumerate((("top500", 500), ("top10%", len(compas) // 10))):
        chosen = _top(compas, n)
        for grp in compas_result.groupings[0].groups:
            mine = grp.metrics[f"selection_rate@{cut}"].numerator
            theirs = int(chosen[compas["g"] == grp.label].sum())
            # the decile scores are tied at the cutoff: any order of the tied rows is
            # as right as another, and the split is within the group's tied rows
            assert abs(mine - theirs) <= tied[grp.label][i]


def test_three_decimal_float32_scores_fall_each_in_its_own_bin() -> None:
    k = np.arange(1001)
    scores = (k / 1000).astype(np.float32).astype(np.float64)
    assert (_bins(pd.Series(scores)) == np.minimum(k, BINS - 1)).all()
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 3000), "y": rng.integers(0, 2, 3000),
                       "s": np.round(rng.random(3000), 3).astype(np.float32)})
    for g in _scores(_audit(df)).groupings[0].groups:
        rows = df[df["g"] == g.label]
        assert g.auc == pytest.approx(roc_auc_score(rows["y"], rows["s"]), abs=1e-12)


def test_hand_computed_figures() -> None:
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
                       "y": [1, 1, 0, 0, 1, 0, 0, 1],
                       "s": [0.8, 0.4, 0.3, 0.4, 0.9, 0.1, 0.2, 0.6]})
    result = _audit(df, select_top=["3"])
    a, b = _scores(result).groupings[0].groups
    # a: pairs (0.8, 0.3) (0.8, 0.4) (0.4, 0.3) win, (0.4, 0.4) ties: 3.5 / 4
    assert a.auc == pytest.approx(0.875)
    assert a.auc_bound == pytest.approx(0.125)  # one tied pair of four, halved
    assert b.auc == pytest.approx(1.0) and b.auc_bound == 0.0
    # the reference is the largest group, the first on a tie: a. F_a - F_b peaks at 0.2
    # (F_a = 0, F_b = 0.5) and at 0.4 (F_a = 0.75, F_b = 0.5): the distance is 0.5
    assert b.ks == pytest.approx(0.5)
    # the top 3: 0.9 (b), 0.8 (a), 0.6 (b), each alone in its bin
    grp = {g.label: g for g in result.groupings[0].groups}
    assert grp["a"].metrics["selection_rate@top3"].numerator == 1
    assert grp["b"].metrics["tpr@top3"].value == pytest.approx(1.0)
    assert result.sections["select_top"].cutoffs[0].tied == 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 400), top=st.integers(1, 19))
def test_random_scores_within_their_bounds(seed: int, n: int, top: int) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n),
                       "y": rng.integers(0, 2, n),
                       "s": rng.random(n)})
    df.loc[df.index[:3], "y"] = [0, 1, 0]
    cut = max(1, n * top // 20)
    result = _audit(df, select_top=[str(cut)])
    grouping = _scores(result).groupings[0]
    ref = df[df["g"] == grouping.reference]["s"]
    ref_bins = _bins(ref)
    for g in grouping.groups:
        rows = df[df["g"] == g.label]
        if rows["y"].nunique() == 2:
            exact = roc_auc_score(rows["y"], rows["s"])
            assert g.auc is not None and g.auc_bound is not None
            assert abs(g.auc - exact) <= g.auc_bound + 1e-12
            binned = roc_auc_score(rows["y"], _bins(rows["s"]))
            assert g.auc == pytest.approx(binned, abs=1e-12)
        else:
            assert g.auc is None
        exact_ks = ks_2samp(rows["s"], ref).statistic
        assert g.ks == pytest.approx(ks_2samp(_bins(rows["s"]), ref_bins).statistic,
                                     abs=1e-12)
        assert g.ks is not None and g.ks_bound is not None
        assert g.ks - 1e-12 <= exact_ks <= g.ks_bound + 1e-12
    chosen = _top(df, cut)
    tied = dict(result.sections["select_top"].groupings[0].groups)
    for grp in result.groupings[0].groups:
        mine = grp.metrics[f"selection_rate@top{cut}"].numerator
        assert abs(mine - int(chosen[df["g"] == grp.label].sum())) <= tied[grp.label][0]
    selected = sum(grp.metrics[f"selection_rate@top{cut}"].numerator
                   for grp in result.groupings[0].groups)
    # N, less a few when cells tie exactly at the last row (fewer than the 6 cells)
    assert cut - 6 < selected <= cut
    assert result.sections["select_top"].cutoffs[0].selected == selected


runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    out = runner.invoke(app, ["run", str(COMPAS), "--label", "two_year_recid", "--score",
                              "score", "--group", "race", "--bootstrap", "0", "--no-digest",
                              *args])
    return out.exit_code, out.output


@pytest.mark.parametrize(("gate", "code"), [
    ("auc=0.5", 0), ("auc=0.01", 1), ("ks=0.01", 1), ("calibration_in_the_large=0.5", 0),
    ("demographic_parity@0.7=0.01", 1), ("race:equal_opportunity@0.3=0.9", 0),
    ("demographic_parity@top10%=0.01", 1)])
def test_gates(gate: str, code: int) -> None:
    exit_code, output = _run("--thresholds", "0.3,0.7", "--select-top", "10%", "--max-gap",
                             gate)
    assert exit_code == code, output


@pytest.mark.parametrize(("args", "message"), [
    (("--select-top", "0"), "a cutoff of 0 rows"),
    (("--select-top", "120%"), "above 100%"),
    (("--select-top", "0.001%"), "selects 0 of the 7,214 rows"),
    (("--select-top", "9000"), "more rows than the 7,214 audited"),
    (("--thresholds", "0.3,1.5"), "every threshold must be a number in [0, 1]"),
    (("--thresholds", "0.3,x"), "'x' is not a number"),
    (("--max-gap", "demographic_parity@0.9=0.1"), "demographic_parity@0.9"),
])
def test_bad_cutoffs_exit_2_in_one_line(args: tuple[str, ...], message: str) -> None:
    exit_code, output = _run(*args)
    assert exit_code == 2, output
    assert message in output
    assert "Traceback" not in output


def test_cutoffs_need_a_score() -> None:
    out = runner.invoke(app, ["run", str(COMPAS), "--label", "two_year_recid", "--prediction",
                              "prediction", "--group", "race", "--thresholds", "0.5"])
    assert out.exit_code == 2 and "give --score COLUMN" in out.output


def test_every_report_shows_the_figures(tmp_path: Path) -> None:
    paths = {x: tmp_path / f"a.{x}" for x in ("json", "html", "md")}
    exit_code, output = _run("--thresholds", "0.7", "--select-top", "10%",
                             "--json", str(paths["json"]), "--html", str(paths["html"]),
                             "--markdown", str(paths["md"]))
    assert exit_code == 0, output
    assert "scores across race" in output and "largest KS distance" in output
    doc = json.loads(paths["json"].read_text())
    assert undocumented(doc, schema(), "$") == []
    group = doc["scores"]["groupings"][0]["groups"][0]
    assert set(group["metrics"]) == {"auc", "ks", "mean_score", "observed_rate",
                                     "calibration_in_the_large"}
    assert "tpr@0.7" in doc["groupings"][0]["groups"][0]["metrics"]
    assert doc["select_top"]["cutoffs"][0]["selected"] == 721
    html = paths["html"].read_text()
    assert 'id="scores"' in html and "KS vs ref." in html
    md = paths["md"].read_text()
    assert "**Scores across race**" in md and "top10%: 721 rows selected" in md


def test_scores_without_a_label_give_the_distances_only() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 500), "s": rng.random(500)})
    result = fairaudit.audit(df, score="s", groups=["g"], thresholds=[0.2, 0.8],
                             select_top=["10%"], bootstrap=0, digest=False)
    report = _scores(result)
    assert not report.has_label
    grouping = report.groupings[0]
    assert all(g.auc is None and g.calibration is None for g in grouping.groups)
    a = df[df["g"] == "a"]["s"]
    b = df[df["g"] == "b"]["s"]
    assert grouping.ks.difference == pytest.approx(
        ks_2samp(_bins(a), _bins(b)).statistic, abs=1e-12)
    assert set(result.groupings[0].criteria) == {
        "demographic_parity", "demographic_parity@0.2", "demographic_parity@0.8",
        "demographic_parity@top10%", "ks"}
    grp = result.groupings[0].groups[0]
    assert grp.metrics["selection_rate@0.8"].numerator == int((a >= 0.8).sum())


def test_a_score_outside_0_1_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("g,y,s\na,1,0.5\nb,0,1.5\n")
    out = runner.invoke(app, ["run", str(path), "--label", "y", "--score", "s", "--group", "g",
                              "--thresholds", "0.5"])
    assert out.exit_code == 2
    assert "outside [0, 1]" in out.output and "Traceback" not in out.output


def test_counts_in_parts_give_the_same_figures(tmp_path: Path) -> None:
    """Files counted on several threads add up before the top-N cutoff is found."""
    rng = np.random.default_rng(11)
    frames = [pd.DataFrame({"g": rng.choice(["a", "b", "c"], 700),
                            "y": rng.integers(0, 2, 700), "s": rng.random(700)})
              for _ in range(4)]
    paths = []
    for i, f in enumerate(frames):
        paths.append(str(tmp_path / f"part{i}.parquet"))
        f.to_parquet(paths[-1])
    whole = pd.concat(frames, ignore_index=True)
    kw = dict(label="y", score="s", groups=["g"], min_group_size=1, digest=False,
              bootstrap=0, thresholds=[0.5], select_top=["5%"])
    split = fairaudit.audit(paths, **kw)
    one = fairaudit.audit(whole, **kw)
    assert to_dict(split)["scores"] == to_dict(one)["scores"]
    assert to_dict(split)["select_top"] == to_dict(one)["select_top"]
    for a, b in zip(split.groupings[0].groups, one.groupings[0].groups, strict=True):
        assert a.metrics == b.metrics


def test_score_figures_can_be_turned_off(tmp_path: Path) -> None:
    exit_code, output = _run("--no-score-figures", "--json", str(tmp_path / "a.json"))
    assert exit_code == 0, output
    doc = json.loads((tmp_path / "a.json").read_text())
    assert "scores" not in doc and "auc" not in doc["groupings"][0]["criteria"]
    assert doc["provenance"]["config"]["score_figures"] is False
    config = tmp_path / "fairaudit.toml"
    config.write_text('score_figures = "no"\n')
    out = runner.invoke(app, ["run", str(COMPAS), "--config", str(config), "--label",
                              "two_year_recid", "--score", "score", "--group", "race"])
    assert out.exit_code == 2 and "score_figures" in out.output
    exit_code, output = _run("--no-score-figures", "--max-gap", "auc=0.1")
    assert exit_code == 0 and "SKIPPED" in output  # a gate on what the audit does not compute


def test_auc_by_group_is_fairlearns(compas: pd.DataFrame,
                                    compas_result: fairaudit.AuditResult) -> None:
    from fairlearn.metrics import MetricFrame

    frame = MetricFrame(metrics=roc_auc_score, y_true=compas["y"], y_pred=compas["s"],
                        sensitive_features=compas["g"])
    mine = {g.label: g.auc for g in _scores(compas_result).groupings[0].groups}
    for label, value in frame.by_group.items():
        assert mine[str(label)] == pytest.approx(value, abs=1e-12)
    big = [g.label for g in _scores(compas_result).groupings[0].groups if not g.small]
    assert compas_result.groupings[0].criteria["auc"].difference == pytest.approx(
        frame.by_group[big].max() - frame.by_group[big].min(), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 300),
       thresholds=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]),
                           min_size=1, max_size=4, unique=True))
def test_thresholds_on_random_data(seed: int, n: int, thresholds: list[float]) -> None:
    rng = np.random.default_rng(seed)
    # scores on a coarse grid, so that many sit exactly on a threshold
    df = pd.DataFrame({"g": rng.choice(["a", "b"], n), "y": rng.integers(0, 2, n),
                       "s": rng.integers(0, 21, n) / 20})
    result = _audit(df, thresholds=thresholds)
    for grp in result.groupings[0].groups:
        rows = df[df["g"] == grp.label]
        for t in thresholds:
            decided, y = rows["s"] >= t, rows["y"] == 1
            cells = {"tn": ~decided & ~y, "fp": decided & ~y, "fn": ~decided & y,
                     "tp": decided & y}
            assert grp.metrics[f"selection_rate@{t:g}"].numerator == int(decided.sum())
            assert grp.metrics[f"tpr@{t:g}"].numerator == int(cells["tp"].sum())
            assert grp.metrics[f"tpr@{t:g}"].denominator == int(y.sum())
            assert grp.metrics[f"npv@{t:g}"].numerator == int(cells["tn"].sum())
            assert grp.metrics[f"npv@{t:g}"].denominator == int((~decided).sum())


def test_group_names_stay_text_in_every_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": rng.choice(["<script>x</script>", "a|b"], 200),
                       "y": rng.integers(0, 2, 200), "s": rng.random(200)})
    path = tmp_path / "p.parquet"
    df.to_parquet(path)
    html, md = tmp_path / "a.html", tmp_path / "a.md"
    out = runner.invoke(app, ["run", str(path), "--label", "y", "--score", "s", "--group", "g",
                              "--no-digest", "--bootstrap", "0", "--html", str(html),
                              "--markdown", str(md)])
    assert out.exit_code == 0, out.output
    page = html.read_text()
    section = page[page.index('id="scores"'):]
    assert "<script>x" not in section and "&lt;script&gt;x" in section
    text = md.read_text()
    assert "<script>" not in text and r"a\|b" in text


def test_cutoffs_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "fairaudit.toml"
    config.write_text('label = "two_year_recid"\nscore = "score"\ngroups = ["race"]\n'
                      'thresholds = [0.3, 1]\nselect_top = [500, "10%"]\nbootstrap = 0\n'
                      '[gates.max_gap]\n"equal_opportunity@top500" = 0.01\n')
    out = runner.invoke(app, ["run", str(COMPAS), "--config", str(config), "--no-digest",
                              "--json", str(tmp_path / "a.json")])
    assert out.exit_code == 1, out.output  # the gate at the top 500 fails
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["provenance"]["config"]["thresholds"] == [0.3, 1]
    assert doc["provenance"]["config"]["select_top"] == ["500", "10%"]
    assert {"tpr@0.3", "tpr@1", "tpr@top500", "tpr@top10%"} <= set(
        doc["groupings"][0]["groups"][0]["metrics"])


def test_the_json_lists_the_score_figures_with_each_groups_metrics(
        compas: pd.DataFrame, compas_result: fairaudit.AuditResult) -> None:
    doc = compas_result.to_dict()
    assert undocumented(doc, schema(), "$") == []
    grouping = doc["groupings"][0]
    ref = compas[compas["g"] == grouping["reference"]["group"]]
    table = compas_result.by_group("g").set_index("group")
    for group in grouping["groups"]:
        rows = compas[compas["g"] == group["label"]]
        m = group["metrics"]
        assert m["auc"]["value"] == pytest.approx(roc_auc_score(rows["y"], rows["s"]), abs=1e-12)
        se = np.sqrt(_delong(rows["y"].to_numpy(), rows["s"].to_numpy()))
        lo, hi = m["auc"]["ci"]
        assert (lo, hi) == pytest.approx((max(0.0, m["auc"]["value"] - 1.959963984540054 * se),
                                          min(1.0, m["auc"]["value"] + 1.959963984540054 * se)),
                                         abs=1e-9)
        assert m["ks"]["value"] == pytest.approx(ks_2samp(rows["s"], ref["s"]).statistic,
                                                 abs=1e-12)
        assert m["ks"]["ci"] is None and m["ks"]["bound"] >= m["ks"]["value"]
        cal = m["calibration_in_the_large"]
        assert abs(cal["value"] - (rows["s"].mean() - rows["y"].mean())) <= MEAN_BOUND + 1e-12
        assert cal["ci"][0] < cal["value"] < cal["ci"][1]
        # the Python API's table carries the same figures
        assert table.loc[group["label"], "auc"] == m["auc"]["value"]
        assert table.loc[group["label"], "auc_ci_low"] == lo
    # the streamed JSON file writes the same document
    assert json.loads(fairaudit.report.json.encode(compas_result)) == json.loads(
        json.dumps(doc))


def test_without_a_label_only_the_distance_is_listed() -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 300), "s": rng.random(300)})
    result = fairaudit.audit(df, score="s", groups=["g"], bootstrap=0, digest=False)
    metrics = result.to_dict()["groupings"][0]["groups"][0]["metrics"]
    assert "ks" in metrics and "auc" not in metrics and "calibration_in_the_large" not in metrics


@pytest.mark.parametrize("name", ["ks", "calibration_in_the_large"])
def test_a_ratio_gate_on_a_distance_or_a_signed_difference_is_refused(name: str) -> None:
    exit_code, output = _run("--min-ratio", f"{name}=0.9")
    assert exit_code == 2, output
    assert f"'{name}' has no ratio form" in output and "Traceback" not in output
