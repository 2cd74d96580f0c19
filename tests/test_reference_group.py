"""The reference of an intersection: given as race&sex=Caucasian&Male (columns in any
order), from the flag, the config file and the Python API; a missing one is exit 2."""

from __future__ import annotations

import pandas as pd
import pytest

import fairaudit
from tests.cli_support import COMPAS, assert_cannot_audit, invoke, read_report

ROLES = ["--label", "two_year_recid", "--prediction", "prediction",
         "--group", "race", "--group", "sex"]


def _rate(df: pd.DataFrame) -> float:
    return float(df["prediction"].mean())


def _intersection(doc: dict) -> dict:
    return next(g for g in doc["groupings"] if g["name"] == "race&sex")


@pytest.mark.parametrize("flag", ["race&sex=Caucasian&Male", "sex&race=Male&Caucasian",
                                  "sex&race=Male & Caucasian"])
def test_the_flag_sets_the_intersection_reference(tmp_path, flag):
    result = invoke("run", COMPAS, *ROLES, "--reference", flag, "--json", tmp_path / "a.json")
    assert result.exit_code == 0, result.output
    doc = read_report(tmp_path / "a.json")
    inter = _intersection(doc)
    assert inter["reference"] == {"group": "Caucasian & Male", "rule": "given"}
    # the single columns keep their own rule: nothing was given for them
    assert [g["reference"]["rule"] for g in doc["groupings"][:2]] == ["largest group"] * 2
    # every group is compared with Caucasian men: checked against pandas on the rows
    df = pd.read_parquet(COMPAS)
    ref = _rate(df[(df.race == "Caucasian") & (df.sex == "Male")])
    for g in inter["groups"]:
        rows = df[(df.race == g["key"]["race"]) & (df.sex == g["key"]["sex"])]
        assert g["reference"] == (g["label"] == "Caucasian & Male")
        assert g["versus_reference"]["selection_rate"]["difference"] == \
            pytest.approx(_rate(rows) - ref, abs=1e-12)


def test_a_reference_for_every_column_sets_the_intersections():
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0, 1, 0], "p": [1, 1, 0, 0, 1, 0, 0, 0],
                       "a": ["x", "x", "x", "x", "y", "y", "y", "y"],
                       "b": ["u", "u", "v", "v", "u", "u", "v", "v"]})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["a", "b"], min_group_size=1,
                             reference={"a": "y", "b": "u"})
    inter = result.grouping("a&b")
    assert (inter.reference, inter.reference_rule) == ("y & u", "given")
    # selection rates by hand: x&u 2/2, x&v 0/2, y&u 1/2, y&v 0/2; against y&u's 1/2
    got = {g.label: g.versus_reference["selection_rate"].difference for g in inter.groups}
    assert got == {"x & u": 0.5, "x & v": -0.5, "y & u": 0.0, "y & v": -0.5}


def test_the_api_keyword_takes_an_intersection():
    result = fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                             groups=["race", "sex"], reference={"sex&race": "Female&Hispanic"})
    inter = result.grouping("race&sex")
    assert (inter.reference, inter.reference_rule) == ("Hispanic & Female", "given")


@pytest.mark.parametrize("value", ['"Caucasian&Female"', '["Caucasian", "Female"]'])
def test_the_config_file_takes_an_intersection(tmp_path, value):
    cfg = tmp_path / "fairaudit.toml"
    cfg.write_text(f'[reference]\n"race&sex" = {value}\n')
    result = invoke("run", COMPAS, *ROLES, "--config", cfg, "--json", tmp_path / "a.json")
    assert result.exit_code == 0, result.output
    inter = _intersection(read_report(tmp_path / "a.json"))
    assert inter["reference"] == {"group": "Caucasian & Female", "rule": "given"}


def test_an_intersection_reference_that_does_not_exist_is_exit_2():
    line = assert_cannot_audit(
        invoke("run", COMPAS, *ROLES, "--reference", "race&sex=Martian&Male"),
        "--reference race&sex=Martian&Male", "no such group in intersection 'race&sex'",
        "'African-American & Female'")
    assert line.endswith(", ...")
    # from Python, the message speaks of the keyword argument
    with pytest.raises(fairaudit.InputError,
                       match=r"^audit\(\): reference=\{'race&sex': 'Caucasian'\}: no such group"):
        fairaudit.audit(str(COMPAS), label="two_year_recid", prediction="prediction",
                        groups=["race", "sex"], reference={"race&sex": "Caucasian"})


def test_a_missing_reference_from_the_config_file_names_its_key(tmp_path):
    cfg = tmp_path / "fairaudit.toml"
    cfg.write_text('[reference]\n"race&sex" = ["Martian", "Male"]\n')
    assert_cannot_audit(invoke("run", COMPAS, *ROLES, "--config", cfg),
                        f"{cfg}: reference.race&sex = 'Martian&Male': no such group")


def test_a_reference_for_no_intersection_of_the_audit_is_exit_2():
    assert_cannot_audit(invoke("run", COMPAS, *ROLES, "--reference", "race&age=a&b"),
                        "'race&age' is no intersection of the audit", "intersections: race&sex")
    assert_cannot_audit(invoke("run", COMPAS, *ROLES, "--no-intersections",
                               "--reference", "race&sex=Caucasian&Male"),
                        "intersections: none")


def test_two_references_for_one_intersection_are_exit_2():
    assert_cannot_audit(invoke("run", COMPAS, *ROLES, "--reference", "race&sex=Caucasian&Male",
                               "--reference", "sex&race=Female&Asian"),
                        "two reference groups for 'race&sex'", "Caucasian&Male", "Female&Asian")
