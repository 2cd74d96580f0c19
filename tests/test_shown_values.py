"""Group values shown as they are: one display function, natural order, thousands separators.

Each channel's escaping of the shown form is tested in tests/test_hostile_values.py,
on the same values (the empty text, a missing value and the text "(missing)";
values that differ only in case, trailing spaces or invisible characters).
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairaudit
from fairaudit.report import html, markdown, terminal
from fairaudit.result import MISSING, show_value

# -- one display function -----------------------------------------------------------


def _decode(shown: str) -> str | None:
    """The value a shown form stands for, read back with Python's own escape decoder."""
    if shown == MISSING:
        return None
    if len(shown) >= 2 and shown[0] == shown[-1] == '"':
        inner = shown[1:-1]
        return inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return shown


def test_show_value_by_hand():
    assert [show_value(v) for v in ("", None, "(missing)")] == ['""', "(missing)",
                                                                 '"(missing)"']
    assert show_value("Case") != show_value("case")
    assert show_value("case ") == '"case "' and show_value(" case") == '" case"'
    assert show_value("a\u200bb") == '"a\\u200bb"'
    assert show_value("\u202eabc") == '"\\u202eabc"'
    assert show_value('say "hi"') == 'say "hi"'  # quotes inside are no ambiguity
    assert show_value('"hi"') == '"\\"hi\\""'
    assert show_value("C:\\temp") == "C:\\temp"
    assert show_value("C:\\temp\n") == '"C:\\\\temp\\n"'
    assert show_value(3) == "3" and show_value(2.5) == "2.5" and show_value(True) == "True"


# lone surrogates stand for bytes of file names, never for group values (Arrow text is UTF-8)
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@given(_TEXT)
def test_every_value_reads_back_and_is_printable(value):
    shown = show_value(value)
    assert shown.isprintable()
    assert _decode(shown) == value


@given(_TEXT, _TEXT)
def test_distinct_values_are_shown_apart(a, b):
    if a != b:
        assert show_value(a) != show_value(b)
    assert show_value(a) != show_value(None)


def _frame(values: list[str | None], n: int = 40) -> pd.DataFrame:
    rows = n * len(values)
    return pd.DataFrame({
        "y": [i % 2 for i in range(rows)],
        "p": [int(i % 4 != 2) for i in range(rows)],
        "g": pd.Series([v for v in values for _ in range(n)], dtype=object),
    })


@pytest.mark.parametrize(("given_as", "expected"), [
    ('""', '""'), ("", '""'),  # the empty text, shown or raw
    ("(missing)", "(missing)"),  # the missing value
    ('"(missing)"', '"(missing)"'),  # the text "(missing)"
    ("case ", '"case "'), ('"case "', '"case "'),
    ("Case", "Case"),
])
def test_reference_by_the_shown_or_the_raw_form(given_as, expected):
    df = _frame(["", None, "(missing)", "case ", "Case", "x"])
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0,
                             reference={"g": given_as})
    assert result.groupings[0].reference == expected
    assert result.groupings[0].reference_rule == "given"


def test_reference_on_the_command_line_by_shown_form(tmp_path):
    from tests.cli_support import invoke, read_report

    path = tmp_path / "d.parquet"
    _frame(["", None, "(missing)", "x"]).to_parquet(path)
    for given_as, key in (('g=""', ""), ("g=(missing)", None), ('g="(missing)"', "(missing)")):
        out = tmp_path / "a.json"
        res = invoke("run", path, "--label", "y", "--prediction", "p", "-g", "g",
                     "--reference", given_as, "--bootstrap", "0", "--json", out)
        assert res.exit_code == 0, res.output
        groups = read_report(out)["groupings"][0]["groups"]
        assert [g["key"]["g"] for g in groups if g["reference"]] == [key]


# -- natural order --------------------------------------------------------------------


def test_groups_sort_naturally_in_every_report():
    values = ["z10", "z2", "Z3", "a", "z1", None, "b100", "b20"]
    result = fairaudit.audit(_frame(values), label="y", prediction="p", groups=["g"],
                             bootstrap=0)
    expected = ["a", "b20", "b100", "z1", "z2", "Z3", "z10", "(missing)"]
    assert result.groupings[0].figures.labels == expected
    buf = io.StringIO()
    terminal.render(result, buf, width=200, color=False)
    rows = [m.group(1) for m in re.finditer(r"^│ (\S+)", buf.getvalue(), re.M)]
    assert [r for r in rows if r in expected or r == "(missing)"] == expected

    class Labels(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.found = False, []

        def handle_starttag(self, tag, attrs):
            self.inside = tag == "span" and ("class", "label") in attrs

        def handle_data(self, data):
            if self.inside:
                self.found.append(data)
                self.inside = False

    page = Labels()
    page.feed(html.render(result))
    assert list(dict.fromkeys(x for x in page.found if x in expected)) == expected


@settings(deadline=None, max_examples=25)  # an audit each: no deadline on a loaded machine
@given(st.lists(st.integers(0, 10**6), min_size=2, max_size=8, unique=True))
def test_numbered_groups_follow_their_numbers(numbers):
    values = [f"user{n}" for n in numbers]
    result = fairaudit.audit(_frame(values, n=2), label="y", prediction="p", groups=["g"],
                             bootstrap=0, min_group_size=1)
    assert result.groupings[0].figures.labels == [f"user{n}" for n in sorted(numbers)]


# -- thousands separators -------------------------------------------------------------


def test_counts_have_thousands_separators_everywhere():
    sizes = {"small": 1200, "mid": 2000, "big": 3400}
    df = pd.concat([_frame([g], n=n) for g, n in sizes.items()], ignore_index=True)
    result = fairaudit.audit(df, label="y", prediction="p", groups=["g"], bootstrap=0,
                             min_group_size=1500)
    buf = io.StringIO()
    terminal.render(result, buf, width=200, color=False)
    text = buf.getvalue()
    for figure in ("1,200", "2,000", "3,400", "6,600"):
        assert re.search(rf"│ +{figure} │", text), figure
    assert "fewer than 1,500 rows" in text
    page = html.render(result)
    for figure in ("1,200", "2,000", "3,400", "6,600", "1,500"):
        assert f">{figure}<" in page or f"{figure} rows" in page, figure
    assert "small group: 1,200 rows &lt; 1,500" in page
    cells = re.findall(r'<td class="n[^"]*"[^>]*>([^<]*)<', page)
    assert cells and not [c for c in cells if re.fullmatch(r"\d{4,}", c.strip())]
    md = markdown.render(result)
    assert "at least 1,500 rows" in md
