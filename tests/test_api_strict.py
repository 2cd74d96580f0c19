"""The Python API refuses what it does not understand, as strictly as the command line."""

from __future__ import annotations

import pytest

import fairaudit
from tests.conftest import ROOT

COMPAS = ROOT / "examples" / "compas" / "compas.parquet"
ROLES = {"label": "two_year_recid", "prediction": "prediction", "groups": ["sex"]}


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_gaps": {"equalized_odds": 0.1}},
     "audit(): unknown keyword argument max_gaps=; did you mean max_gap=?"),
    ({"group": ["race"]}, "audit(): unknown keyword argument group=; did you mean groups=?"),
    ({"colour": 1}, "audit(): unknown keyword argument colour=; see help(fairaudit.audit)"),
    ({"min_ratio": 0.8}, "audit(): min_ratio= must map criteria to thresholds, such as "
                         "min_ratio={'demographic_parity': 0.1}, not 0.8"),
    ({"max_gap": {"equalized_odds": "0.1"}},
     "audit(): max_gap['equalized_odds'] must be a number, not '0.1'"),
    ({"max_gap": {"fairness": 0.1}},
     "audit(): max_gap['fairness']: unknown criterion 'fairness'"),
    ({"bootstrap": "100"}, "bootstrap '100' must be a whole number >= 0"),
])
def test_an_unknown_or_misshapen_keyword_raises_naming_it(settings, message):
    with pytest.raises(fairaudit.FairauditError) as caught:
        fairaudit.audit(COMPAS, **{**ROLES, **settings})
    assert message in str(caught.value)


def test_groups_given_as_one_string_is_refused_not_split_into_letters():
    with pytest.raises(fairaudit.UsageError, match=r"groups= must be a list, such as groups="):
        fairaudit.audit(COMPAS, label="two_year_recid", prediction="prediction", groups="race")


def test_a_keyword_error_is_a_usage_error_and_no_audit_passes_without_its_gates():
    with pytest.raises(fairaudit.UsageError):
        fairaudit.audit(COMPAS, **ROLES, max_gaps={"equalized_odds": 0.1})
    result = fairaudit.audit(COMPAS, **ROLES, max_gap={"equalized_odds": 0.1}, bootstrap=0)
    assert [g.criterion for g in result.gates] == ["equalized_odds"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_gap": {"equalized_odds": 15}},
     "audit(): max_gap['equalized_odds']: threshold 15 is above 1, so the gate could never "
     "fail (rates differ by at most 1); write a share, such as 0.15 for 15%"),
    ({"max_gap": {"equalized_odds": float("inf")}},
     "audit(): max_gap['equalized_odds']: threshold inf is not a finite number"),
    ({"bootstrap": 200_000}, "bootstrap 200,000 replicates is more than 100,000"),
    ({"reference": {"sex": "Male"}, "groups": ["sex", "race"]}, None),
])
def test_settings_that_cannot_mean_what_they_say_are_refused(settings, message):
    if message is None:  # the one reference a column may have is accepted
        fairaudit.audit(COMPAS, **{**ROLES, "bootstrap": 0, **settings})
        return
    with pytest.raises(fairaudit.FairauditError) as caught:
        fairaudit.audit(COMPAS, **{**ROLES, **settings})
    assert message in str(caught.value)


def test_two_reference_groups_for_one_column_are_refused():
    from tests.cli_support import invoke

    result = invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
                    "-g", "sex", "--reference", "sex=Male", "--reference", "sex=Female")
    assert result.exit_code == 2
    assert "--reference names two reference groups for 'sex' (Male, Female); give one" in \
        result.stderr
