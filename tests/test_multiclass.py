"""Multiclass audits: confusion matrices, one-vs-rest rates, worst-class and macro gaps.

Checked against scikit-learn (``confusion_matrix``, ``precision_recall_fscore_support``,
``accuracy_score``), fairlearn's MetricFrame one-vs-rest, and pandas on the rows, on a
hand-made fixture, on a multiclass derivation of COMPAS and on random data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

import fairaudit
from fairaudit.report import markdown
from fairaudit.report.json import to_dict
from tests.cli_support import assert_cannot_audit, invoke, read_report
from tests.conftest import COMPAS_PARQUET

MC = {"task": "multiclass", "label": "y", "prediction": "p"}


def compas_multiclass() -> pd.DataFrame:
    """COMPAS with three classes (docs/multiclass.md): the prediction is the decile score
    in COMPAS's own bands (1-4 low, 5-7 medium, 8-10 high); the label is low for no
    re-offence within two years, else medium with at most 3 prior offences, else high."""
    d = pd.read_parquet(COMPAS_PARQUET)
    return pd.DataFrame({
        "race": d.race, "sex": d.sex,
        "p": pd.cut(d.decile_score, [0, 4, 7, 10], labels=["low", "medium", "high"]
                    ).astype(str),
        "y": np.where(d.two_year_recid == 0, "low",
                      np.where(d.priors_count <= 3, "medium", "high")),
    })


def _random(seed: int, n: int, k: int, numeric: bool, missing: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, k, n)
    # group b is predicted worse: its predictions are drawn at random more often
    noise = rng.random(n) < np.where(g == "b", 0.6, 0.3)
    p = np.where(noise, rng.integers(0, k, n), y)
    df = pd.DataFrame({"g": g, "y": y, "p": p})
    if not numeric:
        names = np.array([f"c{i}" for i in range(k)], dtype=object)
        df["y"], df["p"] = names[df.y], names[df.p]
    else:  # whole numbers that may be missing: a nullable integer column
        df = df.astype({"y": "Int64", "p": "Int64"})
    if missing:
        df.loc[rng.random(n) < missing, "y"] = None
        df.loc[rng.random(n) < missing, "p"] = None
    return df


def _rows(df: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    return df[df[column].astype(str) == label]


def _check_against_references(df: pd.DataFrame, result: fairaudit.AuditResult, column: str):
    """Every group's matrix, rates and accuracy against scikit-learn and fairlearn."""
    audited = df.dropna(subset=["y", "p"]).astype({"y": str, "p": str})
    classes = list(result.classes.classes)
    grouping = result.grouping(column)
    matrices = result.classes.groupings[column]
    frame = {c: MetricFrame(metrics={"fpr": false_positive_rate, "sel": selection_rate},
                            y_true=audited.y == c, y_pred=audited.p == c,
                            sensitive_features=audited[column].astype(str)).by_group
             for c in classes}
    for group, matrix in zip(grouping.groups, matrices, strict=True):
        rows = _rows(audited, column, group.label)
        assert matrix.label == group.label
        assert matrix.confusion == confusion_matrix(rows.y, rows.p, labels=classes).tolist()
        assert group.metrics["accuracy"].value == pytest.approx(
            accuracy_score(rows.y, rows.p), abs=1e-12)
        precision, recall, _, support = precision_recall_fscore_support(
            rows.y, rows.p, labels=classes, zero_division=np.nan)
        for c, want_p, want_r, n in zip(classes, precision, recall, support, strict=True):
            tpr, prec = group.metrics[f"tpr[{c}]"], group.metrics[f"precision[{c}]"]
            assert tpr.denominator == n
            assert (tpr.value is None) == math.isnan(want_r)
            assert (prec.value is None) == math.isnan(want_p)
            if tpr.value is not None:
                assert tpr.value == pytest.approx(want_r, abs=1e-12)
            if prec.value is not None:
                assert prec.value == pytest.approx(want_p, abs=1e-12)
            fpr = group.metrics[f"fpr[{c}]"]
            if fpr.value is not None:
                assert fpr.value == pytest.approx(frame[c].loc[group.label, "fpr"], abs=1e-12)
            assert group.metrics[f"selection_rate[{c}]"].value == pytest.approx(
                frame[c].loc[group.label, "sel"], abs=1e-12)


def _pandas_gaps(df: pd.DataFrame, column: str, classes: list[str], minimum: int
                 ) -> dict[str, float]:
    """worst_class_M and macro_M computed on the rows, independently of fairaudit."""
    audited = df.dropna(subset=["y", "p"]).astype({"y": str, "p": str})
    per: dict[str, dict[str, list[tuple[float, float]]]] = {}
    sizes = audited.groupby(column).size()
    for label, rows in audited.groupby(column):
        figures = per.setdefault(str(label), {})
        for c in classes:
            t, p = rows.y == c, rows.p == c
            for name, num, den in (("tpr", t & p, t), ("fpr", ~t & p, ~t),
                                   ("precision", t & p, p), ("selection_rate", p, t | ~t)):
                d = int(den.sum())
                figures.setdefault(name, []).append(
                    (num.sum() / d if d else math.nan, d))
    out: dict[str, float] = {}
    for name in ("tpr", "fpr", "precision", "selection_rate"):
        gaps = []
        for i, _ in enumerate(classes):
            values = [f[name][i][0] for g, f in per.items()
                      if sizes[g] >= minimum and f[name][i][1] >= minimum]
            gaps.append(max(values) - min(values) if len(values) >= 2 else math.nan)
        # a class whose gap cannot be taken leaves the worst class unknown
        out[f"worst_class_{name}"] = math.nan if any(map(math.isnan, gaps)) else max(gaps)
        if name != "selection_rate":
            macros = [np.nanmean([v for v, _ in f[name]]) for g, f in per.items()
                      if sizes[g] >= minimum and min(d for _, d in f[name]) >= minimum]
            out[f"macro_{name}"] = max(macros) - min(macros) if len(macros) >= 2 else math.nan
    return out


# -- a fixture computed by hand ----------------------------------------------------------

HAND = pd.DataFrame({
    "g": ["a"] * 4 + ["b"] * 4,
    "y": ["x", "x", "y", "z", "x", "y", "z", "z"],
    "p": ["x", "y", "y", "x", "x", "z", "z", "z"],
})


def test_a_hand_computed_fixture():
    result = fairaudit.audit(HAND, groups=["g"], min_group_size=1, bootstrap=0, **MC)
    assert result.classes.classes == ("x", "y", "z")
    a, b = result.classes.groupings["g"]
    assert a.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert b.confusion == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    ga, gb = result.grouping("g").groups
    want = {"a": {"accuracy": 2 / 4, "tpr[x]": 1 / 2, "fpr[x]": 1 / 2, "precision[x]": 1 / 2,
                  "selection_rate[x]": 2 / 4, "tpr[y]": 1.0, "fpr[y]": 1 / 3,
                  "precision[y]": 1 / 2, "tpr[z]": 0.0, "fpr[z]": 0.0, "precision[z]": None,
                  "base_rate[z]": 1 / 4},
            "b": {"accuracy": 3 / 4, "tpr[x]": 1.0, "fpr[x]": 0.0, "precision[x]": 1.0,
                  "tpr[y]": 0.0, "fpr[y]": 0.0, "precision[y]": None, "tpr[z]": 1.0,
                  "fpr[z]": 1 / 2, "precision[z]": 2 / 3}}
    for group in (ga, gb):
        for name, value in want[group.label].items():
            got = group.metrics[name].value
            assert got == (None if value is None else pytest.approx(value, abs=1e-12)), name
    assert group.metrics["precision[y]"].reason == "no predictions of the class"
    c = result.grouping("g").criteria
    assert c["accuracy_parity"].difference == pytest.approx(0.25)
    assert c["worst_class_tpr"].difference == pytest.approx(1.0)
    assert c["macro_tpr"].difference == pytest.approx(2 / 3 - 1 / 2)
    assert c["macro_fpr"].difference == pytest.approx(5 / 18 - 1 / 6)
    # group a never predicts z: its precision[z] has no denominator, so a is left out
    assert c["macro_precision"].difference is None
    assert c["macro_precision"].excluded[0].group == "a"
    assert a.macro["macro_precision"] == pytest.approx(1 / 2)  # over x and y only
    assert b.macro["macro_precision"] == pytest.approx((1 + 2 / 3) / 2)


# -- COMPAS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compas() -> tuple[pd.DataFrame, fairaudit.AuditResult]:
    df = compas_multiclass()
    return df, fairaudit.audit(df, groups=["race", "sex"], bootstrap=200, **MC)


@pytest.mark.parametrize("column", ["race", "sex"])
def test_compas_matrices_and_rates_equal_scikit_learn_and_fairlearn(compas, column):
    df, result = compas
    assert result.classes.classes == ("high", "low", "medium")
    _check_against_references(df, result, column)


@pytest.mark.parametrize("column", ["race", "sex"])
def test_compas_worst_class_and_macro_gaps_equal_pandas(compas, column):
    df, result = compas
    want = _pandas_gaps(df, column, list(result.classes.classes), 30)
    criteria = result.grouping(column).criteria
    for name, value in want.items():
        assert criteria[name].difference == pytest.approx(value, abs=1e-12), name


def test_compas_figures_quoted_in_the_docs(compas):
    _, result = compas
    race = result.grouping("race")
    black = next(g for g in race.groups if g.label == "African-American")
    white = next(g for g in race.groups if g.label == "Caucasian")
    assert round(black.metrics["fpr[high]"].value, 3) == 0.194
    assert round(white.metrics["fpr[high]"].value, 3) == 0.079
    assert round(race.criteria["worst_class_fpr"].difference, 3) == 0.397
    assert round(race.criteria["macro_tpr"].difference, 3) == 0.060
    assert round(black.metrics["fpr[low]"].value, 3) == 0.280
    assert round(white.metrics["fpr[low]"].value, 3) == 0.477
    assert round(black.metrics["accuracy"].value, 3) == 0.486
    assert round(white.metrics["accuracy"].value, 3) == 0.575
    text = " ".join((Path(__file__).parent.parent / "docs" / "multiclass.md").read_text()
                    .split())
    for quoted in ("(`fpr[high]` 0.194 against 0.079)", "(`fpr[low]` 0.477 against 0.280)",
                   "the worst-class FPR gap across race is 0.397, the macro TPR gap 0.060",
                   "Accuracy is 0.486 and 0.575", "the macro TPR gap across race is 0.060"):
        assert quoted in text, quoted


def test_the_intersection_is_checked_too(compas):
    df, result = compas
    df = df.assign(**{"race&sex": df.race + " & " + df.sex})
    _check_against_references(df, result, "race&sex")


# -- random data -------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 5), numeric=st.booleans(),
       missing=st.sampled_from([0.0, 0.1]), minimum=st.sampled_from([1, 20]))
def test_random_data_equals_the_references(seed, k, numeric, missing, minimum):
    df = _random(seed, 600, k, numeric, missing)
    result = fairaudit.audit(df, groups=["g"], min_group_size=minimum, bootstrap=0, **MC)
    _check_against_references(df, result, "g")
    dropped = result.provenance.dropped
    assert dropped["missing_label"] == int(df.y.isna().sum())
    assert dropped["missing_prediction"] == int((df.y.notna() & df.p.isna()).sum())
    want = _pandas_gaps(df, "g", list(result.classes.classes), minimum)
    criteria = result.grouping("g").criteria
    for name, value in want.items():
        got = criteria[name].difference
        assert (got is None) == math.isnan(value), name
        if got is not None:
            assert got == pytest.approx(value, abs=1e-12), name


def test_classes_read_alike_are_one_class():
    # 1, 1.0 and "1" are one class, as group values that read the same are one group
    df = pd.DataFrame({"g": ["a"] * 4, "y": [1.0, 2.0, 1.0, None], "p": ["1", "2", "2", "1"]})
    result = fairaudit.audit(df, groups=["g"], min_group_size=1, bootstrap=0, **MC)
    assert result.classes.classes == ("1", "2")
    assert result.classes.groupings["g"][0].confusion == [[1, 1], [0, 1]]
    assert result.provenance.dropped["missing_label"] == 1


def test_counts_merge_across_parts(tmp_path):
    df = _random(4, 900, 3, False, 0.05)
    df.iloc[:400].to_parquet(tmp_path / "one.parquet")
    df.iloc[400:].to_csv(tmp_path / "two.csv", index=False)
    whole = fairaudit.audit(df, groups=["g"], bootstrap=100, **MC)
    parts = fairaudit.audit([str(tmp_path / "one.parquet"), str(tmp_path / "two.csv")],
                            groups=["g"], bootstrap=100, digest=False, **MC)
    assert parts.classes == whole.classes
    assert parts.grouping("g").figures.value == whole.grouping("g").figures.value
    assert parts.grouping("g").criteria == whole.grouping("g").criteria


# -- --classes ---------------------------------------------------------------------------


def test_named_classes_keep_their_rates_and_pool_the_others(compas):
    df, full = compas
    result = fairaudit.audit(df, groups=["race"], bootstrap=0, classes=["high", "low"], **MC)
    report = result.classes
    assert report.classes == ("high", "low") and report.pooled
    names = result.grouping("race").figures.metrics
    assert "tpr[medium]" not in names
    for group, whole in zip(result.grouping("race").groups, full.grouping("race").groups,
                            strict=True):
        for name in names:  # one-vs-rest of a named class does not depend on the pool
            assert group.metrics[name] == whole.metrics[name], name
    pooled = df.replace({"y": {"medium": "(other)"}, "p": {"medium": "(other)"}})
    for group, m in zip(result.grouping("race").groups, report.groupings["race"],
                        strict=True):
        rows = _rows(pooled, "race", group.label)
        want = confusion_matrix(rows.y, rows.p, labels=["high", "low", "(other)"])
        got = np.array(m.confusion)
        got[-1, -1] += m.pooled_right
        assert got.tolist() == want.tolist()


def test_bootstrap_intervals_of_macro_gaps_hold_the_estimate_and_repeat(compas):
    df, result = compas
    for name in ("macro_tpr", "macro_fpr", "macro_precision"):
        gap = result.grouping("sex").criteria[name]
        lo, hi = gap.ci_difference
        assert 0 <= lo <= hi <= 1
    again = fairaudit.audit(df, groups=["race", "sex"], bootstrap=200, **MC)
    assert again.grouping("sex").criteria == result.grouping("sex").criteria
    assert again.classes == result.classes


# -- the command line and the reports ----------------------------------------------------


@pytest.fixture(scope="module")
def compas_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("mc") / "compas3.parquet"
    compas_multiclass().to_parquet(path)
    return path


def test_the_cli_gates_per_class_worst_class_and_macro_gaps(compas_file, tmp_path):
    out, page, md = tmp_path / "a.json", tmp_path / "a.html", tmp_path / "a.md"
    result = invoke("run", compas_file, "--task", "multiclass", "--label", "y",
                    "--prediction", "p", "-g", "race", "--bootstrap", "100",
                    "--max-gap", "fpr[high]=0.2", "--max-gap", "worst_class_tpr=0.5",
                    "--max-gap", "macro_tpr=0.01", "--json", out, "--html", page,
                    "--markdown", md)
    assert result.exit_code == 1, result.stderr
    doc = read_report(out)
    status = {g["criterion"]: g["status"] for g in doc["gates"]}
    assert status == {"fpr[high]": "pass", "worst_class_tpr": "pass", "macro_tpr": "fail"}
    race = doc["groupings"][0]
    assert {"accuracy", "tpr[high]", "fpr[low]", "precision[medium]",
            "selection_rate[low]"} <= set(race["groups"][0]["metrics"])
    assert {"worst_class_tpr", "macro_precision"} <= set(race["criteria"])
    section = doc["classes"]
    assert section["classes"] == ["high", "low", "medium"]
    assert section["pooled"] is None
    assert [g["group"] for g in section["groupings"]["race"]] == [
        g["label"] for g in race["groups"]]
    assert set(section["groupings"]["race"][0]["metrics"]) == {
        "macro_tpr", "macro_fpr", "macro_precision"}
    for text in (result.stdout, page.read_text(), md.read_text()):
        assert "Macro TPR" in text
    assert "confusion matrices across race" in result.stdout
    assert "Confusion matrices across" in page.read_text()
    assert "TPR [high]" in result.stdout
    assert "Fpr" not in md.read_text()  # per-class criteria titled as metrics: FPR [high]
    assert "FPR \\[high\\]" in md.read_text()


def test_a_class_named_like_markup_stays_text(tmp_path):
    df = pd.DataFrame({"g": ["a", "b"] * 20, "y": ["<b>x</b>", "y|z"] * 20,
                       "p": ["<b>x</b>", "y|z", "y|z", "<b>x</b>"] * 10})
    result = fairaudit.audit(df, groups=["g"], bootstrap=0, **MC)
    from fairaudit.report.html import render

    page = render(result)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "y\\|z" in markdown.render(result)
    assert to_dict(result)["classes"]["classes"] == ["<b>x</b>", "y|z"]


# -- bad input ---------------------------------------------------------------------------


def _file(tmp_path, **columns) -> str:
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"g": ["a", "b"] * 3, **columns}).to_parquet(path)
    return str(path)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--task", "multiclass", "--label", "y"], "--task multiclass needs --label COLUMN and "
                                               "--prediction COLUMN"),
    (["--task", "several", "--label", "y", "--prediction", "p"],
     "task 'several' is not one of: binary, multiclass"),
    (["--label", "y", "--prediction", "p", "--classes", "x"], "add it, or leave the classes"),
    (["--task", "multiclass", "--label", "y", "--prediction", "p", "--classes", "x,x"],
     "'x' is named twice"),
    (["--task", "multiclass", "--label", "y", "--prediction", "p", "--score", "p"],
     "leave out --score"),
    (["--task", "multiclass", "--label", "y", "--prediction", "p", "--max-gap", "macro_tp=0.1"],
     "unknown criterion 'macro_tp'"),
])
def test_settings_that_cannot_mean_what_they_say_are_refused(tmp_path, args, fragment):
    path = _file(tmp_path, y=["x", "y", "z"] * 2, p=["x", "y", "y"] * 2)
    assert_cannot_audit(invoke("run", path, "-g", "g", *args), fragment)


@pytest.mark.parametrize(("label", "args", "line"), [
    ([0, 1, 2], [], "label 'y' and prediction 'p' share no class (label: '0', '1', '2'; "
                    "prediction: 'x', 'y')"),
    (["x", "y", "z"], ["--classes", "x,w"],
     "--classes: 'w' is in neither label 'y' nor prediction 'p'; classes seen: 'x', 'y', 'z'"),
    (["x", "y", "z"], ["--classes", "x,y,z", "--max-gap", "tpr[w]=0.1"],
     "gate on tpr[w]: no class 'w' is audited (classes: x, y, z)"),
    (["x", "y", "z"], [],
     "label 'y' holds class 'z' that prediction 'p' never holds (predicted: 'x', 'y'); if the "
     "columns spell it alike and the model never predicts it, name the classes to audit with "
     "--classes x,y,z"),
    (["x", "Y", "y"], [], "label 'y' holds class 'Y' that prediction 'p' never holds"),
])
def test_classes_that_do_not_match_the_data_are_refused(tmp_path, label, args, line):
    # no class in common; a class named that is not in the data; a gate on such a class
    path = _file(tmp_path, y=label * 2, p=["x", "y", "y"] * 2)
    assert_cannot_audit(invoke("run", path, "-g", "g", "--task", "multiclass", "--label", "y",
                               "--prediction", "p", *args), line)


def test_a_class_never_predicted_is_audited_once_named(tmp_path):
    path = _file(tmp_path, y=["x", "y", "z"] * 2, p=["x", "y", "y"] * 2)
    result = invoke("run", path, "-g", "g", "--task", "multiclass", "--label", "y",
                    "--prediction", "p", "--classes", "x,y,z", "--min-group-size", "1",
                    "--json", str(tmp_path / "a.json"))
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "a.json").read_text())
    for group in doc["groupings"][0]["groups"]:
        m = group["metrics"]
        assert m["tpr[z]"]["value"] == 0.0 and m["tpr[z]"]["denominator"] == 1
        assert m["precision[z]"]["value"] is None and m["precision[z]"]["denominator"] == 0


def test_too_many_classes_ask_for_classes(tmp_path):
    path = tmp_path / "many.parquet"
    pd.DataFrame({"g": ["a"] * 40, "y": list(range(40)), "p": list(range(40))}).to_parquet(path)
    assert_cannot_audit(
        invoke("run", path, "-g", "g", "--task", "multiclass", "--label", "y",
               "--prediction", "p"),
        "hold 40 classes, more than 30 to audit at once; name the ones to audit with "
        "--classes a,b,c")
    ok = invoke("run", path, "-g", "g", "--task", "multiclass", "--label", "y",
                "--prediction", "p", "--classes", "1,2", "--quiet")
    assert ok.exit_code == 0, ok.stderr


def test_the_python_api_is_as_strict():
    with pytest.raises(fairaudit.InputError, match="share no class"):
        fairaudit.audit(pd.DataFrame({"g": ["a"], "y": [1], "p": ["x"]}), groups=["g"], **MC)
    with pytest.raises(fairaudit.UsageError, match="classes= must be a list"):
        fairaudit.audit(HAND, groups=["g"], classes="x", **MC)


def test_a_config_file_sets_the_task_the_classes_and_their_gates(compas_file, tmp_path):
    config = tmp_path / "fairaudit.toml"
    config.write_text(
        f'inputs = ["{compas_file}"]\nlabel = "y"\nprediction = "p"\ngroups = ["sex"]\n'
        'task = "multiclass"\nclasses = ["high", "low"]\nbootstrap = 50\n'
        '[gates.max_gap]\n"tpr[low]" = 0.5\nworst_class_precision = 0.5\n')
    out = tmp_path / "a.json"
    result = invoke("run", "--config", config, "--json", out, "--quiet")
    assert result.exit_code == 0, result.stderr
    doc = read_report(out)
    assert doc["provenance"]["config"]["task"] == "multiclass"
    assert doc["provenance"]["config"]["classes"] == ["high", "low"]
    assert doc["classes"]["pooled"] == "(other)"
    assert [g["criterion"] for g in doc["gates"]] == ["tpr[low]", "worst_class_precision"]
