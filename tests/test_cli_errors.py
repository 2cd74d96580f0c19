"""Every input fairaudit cannot audit: exit 2, one line naming what and where, no traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli_support import COMPAS, assert_cannot_audit, invoke

ROLES = ["--label", "y", "--prediction", "p", "--group", "g"]
GOOD = "y,p,g\n1,0,a\n0,1,b\n1,1,a\n0,0,b\n"


def csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- files ---------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.parquet"
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: no such file or folder", "check the path")


def test_folder_with_no_data_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "sub").mkdir()
    assert_cannot_audit(invoke("run", tmp_path, *ROLES),
                        f"{tmp_path}: the folder holds no parquet or CSV files",
                        "point at a folder of .parquet or .csv files")


def test_glob_matching_nothing(tmp_path):
    pattern = tmp_path / "*.parquet"
    assert_cannot_audit(invoke("run", pattern, *ROLES),
                        f"{pattern}: the pattern matches no parquet or CSV file")


def test_file_of_unknown_kind(tmp_path):
    path = csv(tmp_path, GOOD, "data.xlsx")
    assert_cannot_audit(invoke("run", path, *ROLES), f"{path}: not a parquet",
                        "rename it or convert it")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "random.parquet"
    path.write_bytes(bytes(range(256)) * 20)
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: not a parquet file",
                        "check that it was written as parquet")


def test_truncated_parquet(tmp_path):
    whole = COMPAS.read_bytes()
    path = tmp_path / "half.parquet"
    path.write_bytes(whole[: len(whole) // 2])
    assert_cannot_audit(
        invoke("run", path, "--label", "two_year_recid", "--prediction", "prediction",
               "--group", "race"),
        f"{path}: the parquet file is truncated or damaged", "copy or export it again")


def test_ragged_csv_row_names_its_line(tmp_path):
    path = csv(tmp_path, "y,p,g\n1,0,a\n0,1,b\n1,1,a,extra\n0,0,b\n")
    # line 1 is the header, so the fourth line holds the third data row
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: line 4 has 4 fields where the header has 3",
                        "fix or remove that row")


def test_ragged_csv_row_deep_in_a_large_file(tmp_path):
    rows = [f"{i % 2},{(i // 2) % 2},{'ab'[i % 3 == 0]}" for i in range(120_000)]
    rows[100_000] = "1,1"
    path = csv(tmp_path, "y,p,g\n" + "\n".join(rows) + "\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: line {100_000 + 2} has 2 fields where the header has 3")


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    assert_cannot_audit(invoke("run", path, *ROLES), f"{path}: the file is empty (0 bytes)")


def test_csv_with_blank_lines_only(tmp_path):
    path = csv(tmp_path, "\n\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: the file holds no header row", "a CSV needs a header row")


def test_header_only_csv_leaves_no_rows(tmp_path):
    path = csv(tmp_path, "y,p,g\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"no rows left to audit in {path}: 0 rows read")


# -- columns -------------------------------------------------------------------


def test_missing_column_names_the_closest():
    line = assert_cannot_audit(
        invoke("run", COMPAS, "--label", "two_year_recidd", "--prediction", "prediction",
               "--group", "race"),
        f"{COMPAS}: no column 'two_year_recidd'", "did you mean 'two_year_recid'?")
    assert line.endswith("did you mean 'two_year_recid'?")


def test_missing_column_with_nothing_close_lists_the_columns(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, "--label", "y", "--prediction", "p",
                               "--group", "region"),
                        f"{path}: no column 'region'", "available columns: 'y', 'p', 'g'")


def test_label_with_more_than_two_values_lists_five(tmp_path):
    path = csv(tmp_path, "y,p,g\n1,0,a\n2,1,b\n3,1,a\n0,0,b\n4,0,a\n5,1,b\n6,0,a\n7,0,a\n")
    line = assert_cannot_audit(
        invoke("run", path, *ROLES),
        f"{path}: label column 'y' has values other than 0 and 1: 2, 3, 4, 5, 6, ...",
        "(first at row 2)", "pass --positive-label VALUE")
    assert "7" not in line.split(str(path))[-1]  # the temporary path may hold a 7


def test_prediction_with_other_values(tmp_path):
    path = csv(tmp_path, "y,p,g\n1,0,a\n0,-1,b\n1,1,a\n0,9,b\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: prediction column 'p' has values other than 0 and 1: -1, 9",
                        "(first at row 2)")


def test_text_label_without_positive_label(tmp_path):
    path = csv(tmp_path, "y,p,g\nyes,0,a\nno,1,b\nyes,1,a\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: label column 'y' holds text values, not 0/1",
                        "pass --positive-label VALUE", "values seen: 'no', 'yes'")


def test_three_classes_with_positive_label(tmp_path):
    path = csv(tmp_path, "y,p,g\nyes,yes,a\nno,no,b\nmaybe,yes,a\n")
    assert_cannot_audit(invoke("run", path, *ROLES, "--positive-label", "yes"),
                        f"{path}: label column 'y' has more than two classes: 'yes' (positive) "
                        "and 'maybe', 'no'", "a label must take two values")


def test_scores_outside_the_unit_interval(tmp_path):
    path = csv(tmp_path, "y,s,g\n1,0.2,a\n0,1.5,b\n1,-0.1,a\n")
    assert_cannot_audit(invoke("run", path, "--label", "y", "--score", "s", "--group", "g"),
                        f"{path}: score column 's' has values outside [0, 1]: -0.1, 1.5",
                        "(first at row 2)", "scores must be probabilities")


def test_nan_score(tmp_path):
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"y": [1, 0, 1], "s": [0.2, 0.4, float("nan")],
                             "g": ["a", "b", "a"]}), path)
    assert_cannot_audit(invoke("run", path, "--label", "y", "--score", "s", "--group", "g"),
                        f"{path}: score column 's' is NaN at row 3",
                        "leave missing scores empty (null)")


def test_text_score(tmp_path):
    path = csv(tmp_path, "y,s,g\n1,high,a\n0,low,b\n")
    assert_cannot_audit(invoke("run", path, "--label", "y", "--score", "s", "--group", "g"),
                        f"{path}: score column 's' holds text values",
                        "a score must be a number in [0, 1]")


def test_every_label_missing_in_csv(tmp_path):
    # an all-empty CSV column has no type at all; it is all missing, not a type error
    path = csv(tmp_path, "y,p,g\n,0,a\n,1,b\n,1,a\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"no rows left to audit in {path}: 3 rows read, all dropped "
                        "(3 missing label)", "check the input files and the column roles")


def test_every_row_dropped_for_several_reasons(tmp_path):
    path = tmp_path / "gaps.parquet"
    pq.write_table(pa.table({"y": pa.array([None, 1, None, 0], pa.int64()),
                             "p": pa.array([1, None, 0, None], pa.int64()),
                             "g": ["a", "b", "a", "b"]}), path)
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"no rows left to audit in {path}: 4 rows read, all dropped "
                        "(2 missing label, 2 missing prediction)")


# -- flags -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("1.5", "--threshold 1.5: outside [0, 1]; give a value in [0, 1] such as 0.5"),
    ("-0.1", "--threshold -0.1: outside [0, 1]"),
    ("abc", "--threshold 'abc': not a number; give a value in [0, 1] such as 0.5"),
])
def test_bad_threshold(tmp_path, value, expected):
    path = csv(tmp_path, "y,s,g\n1,0.2,a\n0,0.7,b\n")
    assert_cannot_audit(invoke("run", path, "--label", "y", "--score", "s", "--group", "g",
                               "--threshold", value), expected)


def test_unknown_criterion_suggests_the_closest(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, "--max-gap", "equalized_odd=0.1"),
                        "--max-gap 'equalized_odd=0.1': unknown criterion 'equalized_odd'; "
                        "did you mean 'equalized_odds'?")


def test_unknown_criterion_with_nothing_close_lists_them(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, "--min-ratio", "fairness=0.8"),
                        "unknown criterion 'fairness'; criteria: demographic_parity, "
                        "equalized_odds")


@pytest.mark.parametrize(("flag", "value", "expected"), [
    ("--max-gap", "equalized_odds",
     "--max-gap 'equalized_odds': write CRITERION=VALUE, for example --max-gap "
     "equalized_odds=0.1"),
    ("--max-gap", "=0.1", "--max-gap '=0.1': write CRITERION=VALUE"),
    ("--min-ratio", "demographic_parity=", "--min-ratio 'demographic_parity=': write "
     "CRITERION=VALUE"),
    ("--max-gap", "equalized_odds=lots", "--max-gap 'equalized_odds=lots': 'lots' is not a "
     "number"),
    ("--max-gap", "equalized_odds=-0.1", "threshold -0.1 must be >= 0"),
    ("--min-ratio", "demographic_parity=1.25", "threshold 1.25 must be in [0, 1]"),
])
def test_bad_gate_syntax(tmp_path, flag, value, expected):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, flag, value), expected)


def test_gate_on_an_unknown_grouping(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, "--max-gap", "region:equalized_odds=0.1"),
                        "no grouping 'region' (groupings: g; an intersection is written "
                        "race&sex, its columns in any order)")


def test_unknown_reference_value_lists_the_groups():
    assert_cannot_audit(
        invoke("run", COMPAS, "--label", "two_year_recid", "--prediction", "prediction",
               "--group", "race", "--reference", "race=White"),
        "--reference race=White: no such group in column 'race'; groups: "
        "'African-American', 'Asian', 'Caucasian', 'Hispanic', 'Native American', 'Other'")


def test_reference_to_a_column_that_is_not_a_group(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, "--reference", "region=north"),
                        "--reference 'region' is not a group column (groups: g)")


def test_reference_without_equals(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, *ROLES, "--reference", "Caucasian"),
                        "--reference 'Caucasian': write COLUMN=VALUE")


def test_no_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_cannot_audit(invoke("run", *ROLES), "no input given")


def test_no_group_column(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, "--label", "y", "--prediction", "p"),
                        "no group column; give at least one with --group COLUMN")


def test_no_decision_column(tmp_path):
    path = csv(tmp_path, GOOD)
    assert_cannot_audit(invoke("run", path, "--label", "y", "--group", "g"),
                        "no decision; give --prediction COLUMN, or --score COLUMN")


def test_json_path_in_a_missing_folder_is_refused_before_reading(tmp_path):
    path = csv(tmp_path, GOOD)
    target = tmp_path / "missing-folder" / "audit.json"
    result = invoke("run", path, *ROLES, "--min-group-size", "1", "--json", target)
    assert_cannot_audit(result, f"--json {target}: the folder {tmp_path / 'missing-folder'} "
                        "does not exist; create it or choose another path")


# -- config files ------------------------------------------------------------------


def test_unknown_config_key(tmp_path):
    cfg = tmp_path / "audit.toml"
    cfg.write_text('label = "y"\ntreshold = 0.3\n')
    assert_cannot_audit(invoke("run", "--config", cfg),
                        f"{cfg}: unknown key 'treshold'; did you mean 'threshold'?")


def test_missing_config_file(tmp_path):
    cfg = tmp_path / "absent.toml"
    assert_cannot_audit(invoke("run", "--config", cfg), f"{cfg}: no such config file")

