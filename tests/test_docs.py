"""Docs are code: the generated references are current, and the README's examples are real."""

from __future__ import annotations

import contextlib
import difflib
import io
import re
import shlex

import pytest

from fairaudit import docgen
from fairaudit.cli import command
from fairaudit.metrics import CRITERIA, METRICS
from tests.cli_support import ROOT, invoke, missing_in_order, read_report

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("rel", sorted(docgen.GENERATED))
def test_generated_docs_are_current(rel):
    committed = (ROOT / rel).read_text(encoding="utf-8") if (ROOT / rel).is_file() else ""
    fresh = docgen.GENERATED[rel]()
    if committed != fresh:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                            f"{rel} (committed)", f"{rel} (from the code)"))
        pytest.fail(f"{rel} is out of date with the code; regenerate it with "
                    f"`{docgen.REGENERATE}` and commit the result.\n{diff[:3000]}")


def _walk(group, path="fairaudit"):
    """Every command and group under ``group``, at any depth, with its full name."""
    for name, cmd in group.commands.items():
        yield f"{path} {name}", cmd
        if hasattr(cmd, "commands"):
            yield from _walk(cmd, f"{path} {name}")


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_option_of_every_command_is_in_the_cli_reference():
    sections = _sections((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    commands = dict(_walk(command()))
    assert "fairaudit ranges derive" in commands  # a subcommand of a group counts too
    for path, cmd in commands.items():
        assert path in sections, f"{path} has no section in docs/cli.md"
        rows = [line for line in sections[path].splitlines() if line.startswith("| `")]
        for param in cmd.params:
            for opt in [*param.opts, *param.secondary_opts]:
                shown = opt if opt.startswith("-") else opt.upper()
                named = rf"(?<![\w-]){re.escape(shown)}(?![\w-])"
                assert any(re.search(named, row) for row in rows), \
                    f"{path} {opt} is not in its section of docs/cli.md"
                if param.help and opt.startswith("-"):
                    assert any(" ".join(param.help.split())[:40].replace("|", "\\|") in row
                               for row in rows), f"{path} {opt}: its help is not in docs/cli.md"


def test_the_flags_said_to_be_flags_only_are_no_config_keys(tmp_path):
    from fairaudit.config import load_file
    from fairaudit.errors import ConfigError

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    listed = re.search(r"which are flags only: (.*?)\. Flags override", text).group(1)
    flags = re.findall(r"`(--[\w-]+)`", listed)
    assert {"--json", "--gitlab-codequality", "--annotations", "--quiet"} <= set(flags)
    run = command().commands["run"]
    for param in run.params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        key = param.opts[0].lstrip("-").replace("-", "_")
        cfg = tmp_path / f"{key}.toml"
        cfg.write_text(f"{key} = 1\n")
        try:
            load_file(str(cfg))
        except ConfigError as exc:
            known = "unknown key" not in str(exc)
        else:
            known = True
        # an option that is no key of its own name is either listed, or a key by another name
        if param.opts[0] in flags:
            assert not known, f"{param.opts[0]} is listed as flags only, but is a config key"
        elif not known:
            assert docgen._CONFIG_KEY.get(param.name), f"{param.opts[0]} is not listed"


def test_every_metric_and_criterion_is_in_the_reference():
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for item in (*METRICS, *CRITERIA):
        assert f"| `{item.name}` |" in text, f"{item.name} is not in docs/reference.md"


def test_docgen_check_finds_a_stale_file_and_writing_fixes_it(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "cli.md").write_text("old\n")
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"docs/cli.md is out of date; run: {docgen.REGENERATE}" in err
    assert "docs/reference.md is out of date" in err  # missing counts as stale
    assert docgen.main(["--root", str(tmp_path)]) == 0
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 0
    assert docgen.stale(ROOT) == []


# -- the README ----------------------------------------------------------------------------


def _blocks(lang: str = "") -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", README, flags=re.S | re.M)


def test_readme_worked_example_is_the_real_output(tmp_path, monkeypatch):
    (block,) = [b for b in _blocks() if b.startswith("$ fairaudit run")]
    lines = block.splitlines()
    args = shlex.split(lines[0].removeprefix("$ fairaudit "))
    assert args[-2:] == ["--json", "audit.json"]
    assert lines[-2:] == ["$ echo $?", lines[-1]]
    monkeypatch.chdir(ROOT)
    result = invoke(*args[:-1], tmp_path / "audit.json")
    read_report(tmp_path / "audit.json")
    assert str(result.exit_code) == lines[-1]
    real = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
    part = missing_in_order("\n".join(lines[1:-2]), real)
    if part is not None:
        pytest.fail("README.md's worked example differs from the real output; paste "
                    f"it again. First lines not found in order:\n{part[:400]}")


def test_readme_python_example_prints_what_it_shows(monkeypatch):
    (code,) = _blocks("python")
    after = README.split(code, 1)[1]
    shown = re.search(r"^prints\n\n```\n(.*?)^```$", after, flags=re.S | re.M)
    assert shown is not None
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue() == shown.group(1)
