"""--stratum on the command line, in config files and the Python API: errors, gates, reports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy.stats import norm

import fairaudit
from fairaudit.engine import config_from
from fairaudit.errors import UsageError
from tests.cli_support import (
    ROOT,
    error_line,
    invoke,
    missing_from_output,
    read_report,
    schema,
    undocumented,
)

CARDIAC = ROOT / "examples" / "cardiac" / "cardiac.parquet"
ARGS = ["--label", "complication", "--prediction", "flagged", "--group", "race",
        "--stratum", "hospital"]


@pytest.fixture(scope="module")
def cardiac_json(tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("cardiac") / "audit.json"
    result = invoke("run", CARDIAC, *ARGS, "--bootstrap", "100", "--json", out,
                    "--max-gap", "stratified:demographic_parity=0.05",
                    "--max-gap", "race:stratified:tpr=0.2")
    assert result.exit_code == 1, result.output
    return read_report(out)


def test_the_json_follows_the_schema_and_describes_every_field(cardiac_json):  # type: ignore[no-untyped-def]
    assert not undocumented(cardiac_json, schema(), "$")
    strata = cardiac_json["strata"]
    df = pd.read_parquet(CARDIAC)
    assert strata["rows_missing_stratum"] == int(df["hospital"].isna().sum())
    assert strata["rows"] + strata["rows_missing_stratum"] == len(df)
    (g,) = cardiac_json["groupings"]
    assert g["strata"]["strata"] == sorted(df["hospital"].dropna().unique())
    assert {c["group"] for c in g["strata"]["comparisons"]} == {"Black", "Hispanic"}


def test_stratified_gates_take_the_largest_pooled_difference(cardiac_json):  # type: ignore[no-untyped-def]
    gates = {g["criterion"]: g for g in cardiac_json["gates"]}
    assert set(gates) == {"stratified:demographic_parity", "stratified:tpr"}
    comparisons = cardiac_json["groupings"][0]["strata"]["comparisons"]
    for name, metric in (("stratified:demographic_parity", "selection_rate"),
                         ("stratified:tpr", "tpr")):
        chosen = [c for c in comparisons if c["metric"] == metric]
        values = [abs(c["mh_difference"]["value"]) for c in chosen]
        gate = gates[name]
        assert gate["value"] == pytest.approx(max(values), rel=1e-12)
        # Bonferroni over the two groups: each interval at 1 - 0.05 / 2, folded to |d|
        z, z2 = norm.ppf(0.975), norm.ppf(1 - 0.05 / 4)
        ends = []
        for c in chosen:
            d = c["mh_difference"]["value"]
            lo, hi = c["mh_difference"]["ci"]
            se = (hi - lo) / (2 * z)
            lo, hi = d - z2 * se, d + z2 * se
            ends.append((0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)),
                         max(abs(lo), abs(hi))))
        assert gate["ci"] == pytest.approx([max(e[0] for e in ends), max(e[1] for e in ends)],
                                           rel=1e-9)
    assert gates["stratified:demographic_parity"]["status"] == "fail"
    assert gates["stratified:tpr"]["status"] == "pass"
    assert gates["stratified:tpr"]["grouping"] == "race"


def test_a_stratified_gate_follows_the_decision_rule(tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "a.json"
    # the pooled selection-rate gap 0.082 [0.064, 0.100] is past 0.07, its interval is not
    r = invoke("run", CARDIAC, *ARGS, "--bootstrap", "100", "--json", out, "--decide",
               "confident-fail", "--max-gap", "stratified:demographic_parity=0.07")
    assert r.exit_code == 0, r.output
    (gate,) = read_report(out)["gates"]
    assert gate["status"] == "inconclusive"


@pytest.mark.parametrize(("args", "words"), [
    (["--stratum", "race"], "column 'race' cannot be both a group and a stratum"),
    (["--stratum", "hospital", "--stratum", "hospital"], "a stratum column is named twice"),
    (["--stratum", "complication"], "cannot be both a stratum and a label"),
    (["--stratum", "ward"], "'ward'"),
    (["--max-gap", "stratified:equalized_odds=0.1"], "needs strata; give --stratum COLUMN"),
    (["--stratum", "hospital", "--min-ratio", "stratified:demographic_parity=0.8"],
     "gate them with --max-gap"),
    (["--stratum", "hospital", "--max-gap", "stratified:equalised_odds=0.1"],
     "unknown criterion 'stratified:equalised_odds'"),
    (["--stratum", "hospital", "--max-gap", "stratified:mrr=0.1"], "unknown criterion"),
])
def test_bad_strata_are_one_line_and_exit_2(args, words):  # type: ignore[no-untyped-def]
    base = ["--label", "complication", "--prediction", "flagged", "--group", "race"]
    line = error_line(invoke("run", CARDIAC, *base, *args))
    assert words in line


def test_a_missing_stratum_column_in_a_csv_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    pd.read_parquet(CARDIAC).drop(columns="hospital").head(500).to_csv(path, index=False)
    line = error_line(invoke("run", path, *ARGS))
    assert "hospital" in line and str(path.name) in line


def test_the_python_api_is_as_strict():
    df = pd.read_parquet(CARDIAC).head(2000)
    with pytest.raises(UsageError, match="strata= must be a list"):
        fairaudit.audit(df, label="complication", prediction="flagged", groups=["race"],
                        strata="hospital")
    with pytest.raises(fairaudit.errors.FairauditError, match="no column 'ward'"):
        fairaudit.audit(df, label="complication", prediction="flagged", groups=["race"],
                        strata=["ward"])


def test_a_config_file_names_strata(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "fairaudit.toml").write_text(
        'label = "complication"\nprediction = "flagged"\ngroups = ["race"]\n'
        'strata = ["hospital"]\nbootstrap = 0\n'
        '[gates.max_gap]\n"race:stratified:equalized_odds" = 0.2\n')
    out = tmp_path / "a.json"
    r = invoke("run", CARDIAC, "--config", tmp_path / "fairaudit.toml", "--json", out)
    assert r.exit_code == 0, r.output
    doc = read_report(out)
    assert doc["provenance"]["config"]["strata"] == ["hospital"]
    assert [(g["grouping"], g["criterion"]) for g in doc["gates"]] == [
        ("race", "stratified:equalized_odds")]
    (tmp_path / "fairaudit.toml").write_text('groups = ["race"]\nstrata = "hospital"\n')
    assert "strata" in error_line(invoke("run", CARDIAC, "--config",
                                         tmp_path / "fairaudit.toml", "--prediction",
                                         "flagged"))


def test_several_stratum_columns_are_their_combinations():
    df = pd.read_parquet(CARDIAC).head(6000)
    df["elderly"] = np.where(df["age"] >= 75, "75+", "under 75")
    df.loc[df.index[:7], "elderly"] = None
    result = fairaudit.audit(df, label="complication", prediction="flagged", groups=["race"],
                             strata=["hospital", "elderly"], bootstrap=0)
    g = result.strata.grouping("race")
    known = df.dropna(subset=["hospital", "elderly"])
    want = sorted(f"{h} & {e}" for h, e in known.groupby(["hospital", "elderly"]).size().index)
    assert sorted(g.strata) == want
    assert result.strata.rows_missing == len(df) - len(known)
    (c,) = [c for c in g.comparisons if c.metric == "selection_rate" and c.group == "Black"]
    black = known[known.race == "Black"].groupby(["hospital", "elderly"])["flagged"]
    for cell in c.cells:
        h, e = cell.key["hospital"], cell.key["elderly"]
        if (h, e) in black.size().index:
            assert cell.group.denominator == black.size()[(h, e)]
            assert cell.group.numerator == black.sum()[(h, e)]


def test_values_from_the_data_are_escaped_in_every_report(tmp_path):  # type: ignore[no-untyped-def]
    df = pd.read_parquet(CARDIAC).head(4000)
    df["race"] = df["race"].replace({"Black": "<script>alert(1)</script>"})
    df["hospital"] = df["hospital"].replace({"H1": "<b>H1</b>|*x*"})
    path = tmp_path / "rows.parquet"
    df.to_parquet(path)
    html, md = tmp_path / "a.html", tmp_path / "a.md"
    r = invoke("run", path, *ARGS, "--bootstrap", "0", "--html", html, "--markdown", md)
    assert r.exit_code == 0, r.output
    page = html.read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>H1</b>" not in page and "&lt;b&gt;H1&lt;/b&gt;" in page
    text = md.read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Within strata" in r.stdout and "<script>alert(1)</script>" in r.stdout


def test_the_example_generator_reproduces_the_committed_file(tmp_path):  # type: ignore[no-untyped-def]
    subprocess.run([sys.executable, str(ROOT / "examples" / "cardiac" / "generate.py"),
                    "--out", str(tmp_path)], check=True)
    assert pq.read_table(tmp_path / "cardiac.parquet").equals(pq.read_table(CARDIAC))


def test_the_cardiac_config_runs(tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "a.json"
    r = invoke("run", "--config", ROOT / "examples" / "cardiac" / "fairaudit.toml",
               "--json", out)
    assert r.exit_code == 1, r.output
    doc = json.loads(out.read_text())
    assert {g["criterion"]: g["status"] for g in doc["gates"]} == {
        "stratified:demographic_parity": "fail", "stratified:equal_opportunity": "pass"}


def test_docs_sources_shows_the_real_output(monkeypatch):  # type: ignore[no-untyped-def]
    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    (block,) = [b for b in text.split("```\n")[1::2] if b.startswith("$ fairaudit run")]
    lines = block.rstrip("\n").splitlines()
    monkeypatch.chdir(ROOT)
    result = invoke(*lines[0].removeprefix("$ fairaudit ").split())
    assert lines[-2:] == ["$ echo $?", str(result.exit_code)]
    real = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
    part = missing_from_output(real, "\n".join(lines[1:-2]))
    assert part is None, f"docs/sources.md differs from the real output; paste it again:\n{part}"


def test_the_stratum_is_one_more_key_of_one_pass():
    # one count table keyed by the groups and the stratum: every row counted once, and
    # the grouping's own figures are those of the same audit without --stratum
    config = config_from(label="complication", prediction="flagged", groups=["race"],
                                   strata=["hospital"], bootstrap=0)
    table, _ = fairaudit.count(str(CARDIAC), config)
    assert table.columns == ("race", "hospital")
    assert int(table.total.sum()) == 30_000
    df = pd.read_parquet(CARDIAC)
    keys, cells = table.project(("race", "hospital"))
    got = {k: int(c.sum()) for k, c in zip(keys, cells, strict=True)}
    want = df.fillna({"hospital": "-"}).groupby(["race", "hospital"]).size()
    assert got == {(r, None if h == "-" else h): int(n) for (r, h), n in want.items()}
    alone = fairaudit.audit(CARDIAC, label="complication", prediction="flagged",
                            groups=["race"], bootstrap=0)
    judged = fairaudit.judge(table, config)
    assert judged.grouping("race").figures == alone.grouping("race").figures
