"""A group column with too many distinct values: a warning above 10,000, a refusal above
--max-groups (default 100,000), detected while counting."""

from __future__ import annotations

import pyarrow as pa
import pytest

import fairaudit
from fairaudit.counting import count_batches
from fairaudit.counts import MANY_GROUPS, MAX_GROUPS
from fairaudit.decode import Roles
from fairaudit.errors import InputError
from fairaudit.report import terminal
from tests.cli_support import assert_cannot_audit, invoke


def _csv(tmp_path, levels: int, rows_each: int = 2, nulls: int = 0):
    path = tmp_path / "d.csv"
    lines = ["y,p,g,s"]
    lines += [f"{i % 2},{(i // 2) % 2},u{v},{v % 3}" for v in range(levels)
              for i in range(rows_each)]
    lines += [f"{i % 2},1,,0" for i in range(nulls)]
    path.write_text("\n".join(lines) + "\n")
    return path


ROLES = ["--label", "y", "--prediction", "p", "-g", "g", "--bootstrap", "0",
         "--min-group-size", "1", "--no-progress", "--quiet"]


def test_the_defaults():
    assert (MANY_GROUPS, MAX_GROUPS) == (10_000, 100_000)
    from fairaudit.engine import config_from

    cfg = config_from(label="y", prediction="p", groups=["g"])
    assert cfg.max_groups == 100_000


def test_exactly_the_limit_passes_and_one_more_is_refused(tmp_path):
    assert invoke("run", _csv(tmp_path, 5), *ROLES, "--max-groups", "5").exit_code == 0
    assert_cannot_audit(invoke("run", _csv(tmp_path, 6), *ROLES, "--max-groups", "5"),
                        "group column 'g' has more than 5 distinct values (--max-groups; "
                        "6 counted when the count stopped)", "raise --max-groups")


def test_a_missing_value_is_no_distinct_value(tmp_path):
    out = tmp_path / "a.json"
    res = invoke("run", _csv(tmp_path, 5, nulls=4), *ROLES, "--max-groups", "5", "--json", out)
    assert res.exit_code == 0, res.output
    import json

    groups = json.loads(out.read_text())["groupings"][0]["groups"]
    assert len(groups) == 6 and groups[-1]["key"]["g"] is None


def test_the_limit_is_per_column_not_per_intersection(tmp_path):
    # 6 values of g times 3 of s: 6 intersection groups, 6 and 3 levels
    res = invoke("run", _csv(tmp_path, 6), *ROLES, "-g", "s", "--max-groups", "6")
    assert res.exit_code == 0, res.output
    assert_cannot_audit(invoke("run", _csv(tmp_path, 6), *ROLES, "-g", "s", "--max-groups", "5"),
                        "group column 'g'")


def test_config_file_key_and_api_keyword(tmp_path):
    data = _csv(tmp_path, 6)
    config = tmp_path / "fairaudit.toml"
    config.write_text("max_groups = 5\n")
    assert_cannot_audit(invoke("run", data, *ROLES, "--config", config),
                        "group column 'g' has more than 5 distinct values")
    config.write_text("max_groups = 6\n")
    assert invoke("run", data, *ROLES, "--config", config).exit_code == 0
    config.write_text("max_groups = 'many'\n")
    assert_cannot_audit(invoke("run", data, *ROLES, "--config", config),
                        "key 'max_groups' must be a whole number")
    with pytest.raises(InputError, match="more than 5 distinct values"):
        fairaudit.audit(str(data), label="y", prediction="p", groups=["g"], max_groups=5,
                        bootstrap=0)
    with pytest.raises(fairaudit.ConfigError, match="max_groups= 0 must be a whole number >= 1"):
        fairaudit.audit(str(data), label="y", prediction="p", groups=["g"], max_groups=0)
    assert_cannot_audit(invoke("run", data, *ROLES, "--max-groups", "0"),
                        "--max-groups 0 must be a whole number >= 1")


def test_the_count_stops_as_soon_as_the_limit_is_passed():
    pulled = []

    def batches():
        for b in range(4):
            pulled.append(b)
            values = [f"id{b * 10 + i}" for i in range(10)]
            yield pa.record_batch({"y": [0, 1] * 5, "p": [1, 0] * 5, "g": values})

    roles = Roles(label="y", prediction="p", groups=("g",))
    with pytest.raises(InputError, match="more than 15 distinct values"):
        count_batches((batches(),), ("<table>",), roles, max_groups=15)
    assert pulled == [0, 1]  # the third batch is never read
    table, _ = count_batches((batches(),), ("<table>",), roles, max_groups=40)
    assert len(table.levels[0]) == 41  # the 40 values and the missing value's level


def test_a_warning_above_ten_thousand_levels(tmp_path):
    res = invoke("run", _csv(tmp_path, MANY_GROUPS + 1, rows_each=1), *ROLES)
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if "warning" in line]
    assert warned == ["fairaudit: warning: group column 'g' has 10,001 distinct values (more "
                      "than 10,000); is it an id rather than a group? max_groups refuses a "
                      "column above its limit"]
    at = fairaudit.audit(str(_csv(tmp_path, MANY_GROUPS, rows_each=1)), label="y",
                         prediction="p", groups=["g"], bootstrap=0, min_group_size=1)
    assert len(at.groupings[0].figures) == MANY_GROUPS
    assert terminal.many_groups(at) == []


def test_values_no_row_has_are_not_counted():
    import pandas as pd

    # a categorical column's dictionary holds every category, used or not
    categories = [f"c{i}" for i in range(1000)]
    used = pd.Categorical(["c1", "c2", "c3"] * 20, categories=categories)
    df = pd.DataFrame({"y": [0, 1] * 30, "p": [1, 0, 0] * 20, "g": used})
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0,
                             max_groups=3)
    assert result.groupings[0].figures.labels == ["c1", "c2", "c3"]
    df["g"] = pd.Categorical(["c1", "c2", "c3", "c4"] * 15, categories=categories)
    with pytest.raises(InputError, match=r"more than 3 distinct values \(--max-groups; 4 "):
        fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0,
                        max_groups=3)
