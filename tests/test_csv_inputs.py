"""CSV and parquet files read exactly: delimiters, decimal commas, duplicate and nested
columns, quoted newlines, huge fields, a BOM, binary files, and progress by rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fairaudit
from fairaudit import csvstream
from tests.cli_support import assert_cannot_audit, invoke, read_report

ROLES = ["--label", "y", "--prediction", "p", "--group", "g", "--min-group-size", "1"]


def write(folder: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def groups(doc: dict, metric: str = "selection_rate") -> dict[str, tuple[int, float]]:
    """label -> (rows, metric value) of the first grouping."""
    return {g["label"]: (g["count"], g["metrics"][metric]["value"])
            for g in doc["groupings"][0]["groups"]}


def audit_json(tmp_path: Path, *args: object) -> dict:
    out = tmp_path / "audit.json"
    result = invoke("run", *args, "--quiet", "--json", out)
    assert result.exit_code == 0, result.output
    return read_report(out)


# -- delimiters and decimal marks --------------------------------------------------------


@pytest.mark.parametrize(("flag", "sep"), [(";", ";"), ("tab", "\t"), ("\\t", "\t"),
                                           ("|", "|")])
def test_delimiter_flag(tmp_path, flag, sep):
    path = write(tmp_path, sep.join("ypg") + "\n" + "\n".join(
        sep.join(r) for r in [("1", "0", "a"), ("0", "1", "b"), ("1", "1", "a")]) + "\n")
    doc = audit_json(tmp_path, path, *ROLES, "--delimiter", flag)
    assert groups(doc) == {"a": (2, 0.5), "b": (1, 1.0)}
    assert doc["provenance"]["config"]["delimiter"] == sep


def test_decimal_commas_with_semicolons(tmp_path):
    path = write(tmp_path, "y;s;g\n1;0,75;a\n0;0,25;a\n1;0,5;b\n0;1,0;b\n")
    doc = audit_json(tmp_path, path, "--label", "y", "--score", "s", "--group", "g",
                     "--min-group-size", "1", "--delimiter", ";", "--decimal", ",")
    # decision = score >= 0.5: a has 0.75 (yes) and 0.25 (no); b has 0.5 and 1.0 (yes)
    assert groups(doc) == {"a": (2, 0.5), "b": (2, 1.0)}
    assert doc["provenance"]["config"]["decimal"] == ","


def test_decimal_commas_in_a_column_empty_in_the_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)
    path = write(tmp_path, "y;s;g\n" + "1;;a\n" * 2000 + "1;0,75;b\n" * 100)
    result = fairaudit.audit(str(path), label="y", score="s", groups=["g"], delimiter=";",
                             decimal=",")
    b = next(g for g in result.grouping("g").groups if g.label == "b")
    assert b.metrics["selection_rate"].value == 1.0


def test_delimiter_and_decimal_from_the_config_file(tmp_path):
    write(tmp_path, "y\tp\tg\n1\t0\ta\n0\t1\tb\n", "data.txt.csv")
    cfg = write(tmp_path, 'inputs = ["data.txt.csv"]\nlabel = "y"\nprediction = "p"\n'
                'groups = ["g"]\nmin_group_size = 1\ndelimiter = "\\t"\ndecimal = ","\n',
                "fairaudit.toml")
    doc = audit_json(tmp_path, "--config", cfg)
    assert groups(doc) == {"a": (1, 0.0), "b": (1, 1.0)}
    assert doc["provenance"]["config_sources"]["delimiter"] == str(cfg)


@pytest.mark.parametrize(("args", "expected"), [
    (["--delimiter", ";;"], "--delimiter ';;' is not one character; give the field "
                            "separator, such as ',', ';', '|' or tab"),
    (["--delimiter", '"'], "--delimiter '\"' is not one character"),
    (["--decimal", ";"], "--decimal ';' is not '.' or ','; give the decimal mark of the "
                         "CSV's numbers"),
])
def test_bad_delimiter_or_decimal(tmp_path, args, expected):
    path = write(tmp_path, "y,p,g\n1,0,a\n")
    assert_cannot_audit(invoke("run", path, *ROLES, *args), expected)


def test_bad_delimiter_in_the_config_file(tmp_path):
    cfg = write(tmp_path, 'delimiter = "semi"\n', "audit.toml")
    path = write(tmp_path, "y,p,g\n1,0,a\n")
    assert_cannot_audit(invoke("run", path, *ROLES, "--config", cfg),
                        f"{cfg}: delimiter 'semi' is not one character")


def test_ranges_derive_reads_the_same_dialect(tmp_path):
    path = write(tmp_path, "x;g\n1,5;a\n2,5;b\n3,5;a\n")
    result = invoke("ranges", "derive", path, "-c", "x", "--delimiter", ";", "--decimal", ",",
                    "--quantiles", "0,1")
    assert result.exit_code == 0, result.output
    assert "x = { min = 1.5, max = 3.5 }" in result.stdout


# -- headers ---------------------------------------------------------------------------------


def test_a_duplicate_header_name_is_refused(tmp_path):
    path = write(tmp_path, "y,g,p,g\n1,a,0,x\n0,b,1,y\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: column 'g' appears 2 times in the header (columns 2 and 4); "
                        "rename the copies so that each column has a name of its own")


def test_a_duplicate_name_the_audit_does_not_read_is_left_alone(tmp_path):
    path = write(tmp_path, "y,p,g,note,note\n1,0,a,x,y\n0,1,b,x,y\n")
    doc = audit_json(tmp_path, path, *ROLES)
    assert groups(doc) == {"a": (1, 0.0), "b": (1, 1.0)}


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfy,p,g\n1,0,a\n0,1,b\n")
    doc = audit_json(tmp_path, path, *ROLES)
    assert groups(doc) == {"a": (1, 0.0), "b": (1, 1.0)}


def test_a_header_that_is_not_utf8(tmp_path):
    path = write(tmp_path, "y,p,r\xe9gion\n1,0,a\n".encode("latin-1"))
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: the header is not UTF-8 text (byte 0xe9 at byte 6); save the "
                        "file as UTF-8")


def test_utf16_text(tmp_path):
    path = write(tmp_path, "y,p,g\n1,0,a\n".encode("utf-16"))
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: the file is UTF-16 text; save it as UTF-8")


@pytest.mark.parametrize("name", ["random.csv", "random.csv.gz"])
def test_a_binary_file_given_as_csv(tmp_path, name):
    noise = bytes((i * 7919 + 13) % 256 for i in range(50_000))
    path = write(tmp_path, gzip.compress(noise) if name.endswith(".gz") else noise, name)
    result = invoke("run", path, *ROLES)
    line = assert_cannot_audit(result, f"{path}: not a text file (a zero byte at byte ")
    assert line.isprintable() and line.isascii()
    assert result.stderr == line + "\n"


def test_an_error_quoting_a_row_echoes_no_raw_bytes(tmp_path):
    path = write(tmp_path, "y,p,g\n1,0,a\n0,1,b,\x1b[2J\x07\n")
    line = assert_cannot_audit(invoke("run", path, *ROLES),
                               f"{path}: line 3 has 4 fields where the header has 3 "
                               "(0,1,b,\\x1b[2J\\x07); fix or remove that row")
    assert line.isprintable()


# -- rows that span lines and blocks -------------------------------------------------------


def test_quoted_newlines_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)  # a boundary every 4 KiB
    rows = [f'{i % 2},{(i // 2) % 2},"group\n{"ab"[i % 3 == 0]}",' + '"note, with\nlines"'
            for i in range(3000)]
    path = write(tmp_path, "y,p,g,note\n" + "\n".join(rows) + "\n")
    result = fairaudit.audit(str(path), label="y", prediction="p", groups=["g"],
                             min_group_size=1, digest=False)
    assert result.provenance.rows_read == 3000
    counts = {g.key["g"]: g.count for g in result.grouping("g").groups}  # the exact values
    assert counts == {"group\na": 2000, "group\nb": 1000}


def test_a_field_of_several_megabytes_grows_the_block(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 16)
    monkeypatch.setattr(csvstream, "_HEADER_BLOCK", 1 << 12)
    big = "x" * (3 << 20)  # 3 MB, 48 blocks
    rows = [f"{i % 2},{(i // 2) % 2},{'ab'[i % 3 == 0]},n" for i in range(50_000)]
    rows[0] = f"1,1,a,{big}"  # in the header's block
    rows[30_000] = f'0,0,b,"{big}\n{big}"'  # deep in the file, after batches were counted
    path = write(tmp_path, "y,p,g,note\n" + "\n".join(rows) + "\n")
    result = fairaudit.audit(str(path), label="y", prediction="p", groups=["g"],
                             min_group_size=1, digest=False)
    assert result.provenance.rows_read == 50_000
    labels = ["a" if i == 0 else "ab"[i % 3 == 0] for i in range(50_000)]
    expected = {"a": labels.count("a"), "b": labels.count("b")}
    assert {g.label: g.count for g in result.grouping("g").groups} == expected


def test_a_row_larger_than_any_block(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)
    monkeypatch.setattr(csvstream, "MAX_BLOCK", 1 << 14)
    path = write(tmp_path, "y,p,g\n1,0,a\n" + '0,1,"' + "x" * 100_000 + "\n")
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: a row longer than 16 KiB (or an unclosed quote that runs to "
                        "the end of the file); check the file's quoting")


# -- parquet columns ------------------------------------------------------------------------


def test_a_duplicate_parquet_column_is_refused(tmp_path):
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays(
        [pa.array([1, 0]), pa.array([0, 1]), pa.array(["a", "b"]), pa.array(["x", "y"])],
        names=["y", "p", "g", "g"]), path)
    assert_cannot_audit(invoke("run", path, *ROLES),
                        f"{path}: column 'g' appears 2 times in the schema (columns 3 and 4)")


@pytest.mark.parametrize(("role", "column", "kind", "shown"), [
    ("--group", "s", "struct", "struct<a: int64>"),
    ("--group", "l", "list", "list<element: int64>"),
    ("--group", "m", "map", "map<string, int64 ('m')>"),
    ("--label", "l", "list", "list<element: int64>"),
    ("--prediction", "s", "struct", "struct<a: int64>"),
])
def test_nested_parquet_columns_are_refused(tmp_path, role, column, kind, shown):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({
        "y": [1, 0], "p": [0, 1], "g": ["a", "b"],
        "s": pa.array([{"a": 1}, {"a": 2}]), "l": pa.array([[1], [2]]),
        "m": pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64()))}), path)
    roles = {"--label": "y", "--prediction": "p", "--group": "g", role: column}
    args = [a for flag, col in roles.items() for a in (flag, col)]
    line = assert_cannot_audit(invoke("run", path, *args),
                               f"{path}: column '{column}' holds {kind} values ({shown}",
                               "a column the audit reads must hold plain values (numbers, "
                               "text, booleans): flatten it or pick another column")
    assert "Traceback" not in line


# -- progress and memory ---------------------------------------------------------------------


def test_csv_progress_follows_the_rows_audited(tmp_path, monkeypatch):
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 14)
    rows = 200_000
    path = write(tmp_path, "y,p,g\n" + "".join(f"{i % 2},{(i // 3) % 2},{'abc'[i % 3]}\n"
                                               for i in range(rows)))
    calls: list[tuple[int, int, int]] = []
    fairaudit.audit(str(path), label="y", prediction="p", groups=["g"], digest=False,
                    bootstrap=0, on_progress=lambda r, b, t: calls.append((r, b, t)))
    assert len(calls) > 50
    total = calls[-1][2]
    assert total == path.stat().st_size
    assert calls[-1][:2] == (rows, total)
    # bytes done never run ahead of the rows audited by more than a block or two
    ahead = max(b / total - r / rows for r, b, _ in calls)
    assert ahead < 0.05, ahead


def test_csv_reading_holds_a_few_blocks_at_most(tmp_path, monkeypatch):
    """The reader may read only AHEAD blocks past the batches handed on."""
    monkeypatch.setattr(csvstream, "BLOCK", 1 << 12)
    path = write(tmp_path, "y,p,g\n" + "1,0,a\n" * 100_000)
    seen: list[int] = []
    original = csvstream._Paced.read

    def read(self: csvstream._Paced, nbytes: int = -1) -> bytes:
        data = original(self, nbytes)
        seen.append(self._issued - self._delivered)
        return data

    monkeypatch.setattr(csvstream._Paced, "read", read)
    src = fairaudit.readers.resolve([str(path)])[0]
    n = 0
    for batch, _ in csvstream.batches(src, ["y", "p", "g"], ["g"], use_threads=True):
        n += batch.num_rows
    assert n == 100_000
    assert len(seen) > 100
    assert max(seen) <= csvstream.AHEAD + 2
