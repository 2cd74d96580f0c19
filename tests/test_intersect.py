"""Chosen intersections: --intersect audits just the combinations asked for."""

from __future__ import annotations

import pytest

import fairaudit
from tests.cli_support import invoke, read_report
from tests.conftest import ROOT

COMPAS = ROOT / "examples" / "compas" / "compas.parquet"
ROLES = {"label": "two_year_recid", "prediction": "prediction", "bootstrap": 0}


def _figures(grouping: fairaudit.GroupingResult) -> dict[str, dict[str, float | None]]:
    return {g.label: {m: r.value for m, r in g.metrics.items()} for g in grouping.groups}


def test_only_the_chosen_intersections_are_audited_with_the_figures_of_a_full_one():
    chosen = fairaudit.audit(COMPAS, groups=["race", "sex", "age_cat"],
                             intersect=[("race", "sex"), ("sex", "age_cat")], **ROLES)
    assert [g.name for g in chosen.groupings] == ["race", "sex", "age_cat", "race&sex",
                                                  "sex&age_cat"]
    # the same crossing as the one an audit of just those two columns makes
    pair = fairaudit.audit(COMPAS, groups=["race", "sex"], **ROLES)
    assert _figures(chosen.grouping("race&sex")) == _figures(pair.grouping("race&sex"))
    assert chosen.grouping("race&sex").criteria["equalized_odds"].difference == \
        pair.grouping("race&sex").criteria["equalized_odds"].difference


def test_a_gate_names_an_intersection_with_its_columns_in_any_order():
    result = fairaudit.audit(COMPAS, groups=["race", "sex", "age_cat"],
                             intersect=[("race", "sex")],
                             max_gap={"sex&race:accuracy_parity": 0.01}, **ROLES)
    (gate,) = result.gates
    assert gate.grouping == "race&sex"
    assert gate.value == result.grouping("race&sex").criteria["accuracy_parity"].difference


@pytest.mark.parametrize(("intersect", "message"), [
    ([("race", "id")], "'id' is not a group column"),
    ([("race",)], "an intersection crosses two or more different group columns"),
    ([("race", "sex"), ("sex", "race")], "sex&race is named twice"),
])
def test_an_intersection_that_cannot_be_made_is_refused(intersect, message):
    with pytest.raises(fairaudit.ConfigError, match=message):
        fairaudit.audit(COMPAS, groups=["race", "sex"], intersect=intersect, **ROLES)


def test_a_gate_on_a_grouping_that_is_not_audited_is_refused():
    with pytest.raises(fairaudit.ConfigError, match="no grouping 'race&age_cat'"):
        fairaudit.audit(COMPAS, groups=["race", "sex", "age_cat"], intersect=[("race", "sex")],
                        max_gap={"race&age_cat:equalized_odds": 0.1}, **ROLES)


def test_the_cli_takes_intersect_and_the_report_lists_those_groupings(tmp_path):
    out = tmp_path / "audit.json"
    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "-g", "race", "-g", "sex", "-g", "age_cat", "--intersect", "race,age_cat",
                    "--bootstrap", "0", "--json", out)
    assert result.exit_code == 0, result.stderr
    doc = read_report(out)
    assert [g["name"] for g in doc["groupings"]] == ["race", "sex", "age_cat", "race&age_cat"]
    assert doc["provenance"]["config"]["intersect"] == [["race", "age_cat"]]
