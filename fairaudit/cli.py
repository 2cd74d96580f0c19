"""The command line: parse flags, resolve the config, run the engine, report, pick the exit code.

Exit codes: 0 every gate passed; 1 a gate failed; 2 could not audit (usage,
config or input); 3 internal error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from enum import IntEnum
from typing import Annotated, Any, Optional

import typer

from .config import build, find_config, load_file, parse_gate, parse_reference
from .errors import FairauditError
from .result import AuditResult


class Exit(IntEnum):
    PASS = 0
    GATE_FAILED = 1
    CANNOT_AUDIT = 2
    INTERNAL = 3


app = typer.Typer(
    name="fairaudit",
    help="Audit a model's decisions for fairness across groups, and gate CI on it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Audit a model's decisions for fairness across groups, and gate CI on it."""


def _fail(message: str) -> None:
    typer.echo(f"fairaudit: error: {message}", err=True)


def _crash(exc: BaseException, debug: bool) -> None:
    text = "".join(traceback.format_exception(exc))
    if debug:
        typer.echo(text, err=True, nl=False)
        typer.echo(f"fairaudit: internal error: {type(exc).__name__}: {exc}", err=True)
        return
    fd, path = tempfile.mkstemp(prefix="fairaudit-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    typer.echo(f"fairaudit: internal error: {type(exc).__name__}: {exc} (traceback saved "
               f"to {path}; rerun with --debug to show it)", err=True)


@app.command()
def run(
    inputs: Annotated[Optional[list[str]], typer.Argument(
        help="Parquet or CSV files (.csv.gz too), folders of them, or globs.",
        show_default=False)] = None,
    label: Annotated[Optional[str], typer.Option(
        help="Column with the true outcome (0/1, or see --positive-label).")] = None,
    prediction: Annotated[Optional[str], typer.Option(
        help="Column with the model's decision (0/1, or see --positive-label).")] = None,
    score: Annotated[Optional[str], typer.Option(
        help="Column with a score in [0, 1]; decision = score >= --threshold when there "
             "is no --prediction.")] = None,
    threshold: Annotated[Optional[float], typer.Option(
        help="Decision threshold for --score.  [default: 0.5]")] = None,
    group: Annotated[Optional[list[str]], typer.Option(
        "--group", "-g", help="Group column; repeat for several.")] = None,
    positive_label: Annotated[Optional[str], typer.Option(
        help="The value of the label and prediction columns that means positive.")] = None,
    reference: Annotated[Optional[list[str]], typer.Option(
        help="Reference group, COLUMN=VALUE; repeatable.  [default: the largest group]")
    ] = None,
    intersections: Annotated[Optional[bool], typer.Option(
        "--intersections/--no-intersections",
        help="Also audit the intersection of all group columns.  [default: on]")] = None,
    min_group_size: Annotated[Optional[int], typer.Option(
        help="Groups (and metric denominators) smaller than this are reported but left "
             "out of gaps and gates.  [default: 30]")] = None,
    max_gap: Annotated[Optional[list[str]], typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the largest allowed difference; "
             "repeatable.")] = None,
    min_ratio: Annotated[Optional[list[str]], typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the smallest allowed ratio; repeatable "
             "(four-fifths rule: demographic_parity=0.8).")] = None,
    config: Annotated[Optional[str], typer.Option(
        help="Config file.  [default: ./fairaudit.toml, or [tool.fairaudit] in "
             "./pyproject.toml]")] = None,
    json_path: Annotated[Optional[str], typer.Option(
        "--json", help="Write the JSON report to PATH ('-' for stdout).")] = None,
    exit_zero: Annotated[bool, typer.Option(
        help="Exit 0 even when a gate fails (report-only runs).")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
    no_progress: Annotated[bool, typer.Option(
        "--no-progress", help="No progress bar (one is shown on stderr for runs longer "
        "than a second, when stderr is a terminal).")] = False,
) -> None:
    """Audit prediction files and judge them against the gates."""
    try:
        code = _run(inputs, dict(
            label=label, prediction=prediction, score=score, threshold=threshold,
            groups=group or None, positive_label=positive_label,
            reference=[parse_reference(r) for r in reference] if reference else None,
            intersections=intersections, min_group_size=min_group_size,
            gates=[parse_gate(g, "max_gap") for g in max_gap or ()]
            + [parse_gate(g, "min_ratio") for g in min_ratio or ()],
        ), config, json_path, exit_zero, progress=not no_progress and sys.stderr.isatty())
    except FairauditError as exc:
        _fail(str(exc))
        code = Exit.CANNOT_AUDIT
    except Exception as exc:  # a crash must never read as a pass or a fairness failure
        _crash(exc, debug)
        code = Exit.INTERNAL
    raise typer.Exit(int(code))


def _run(inputs: list[str] | None, flags: dict[str, Any], config_path: str | None,
         json_path: str | None, exit_zero: bool, progress: bool = False) -> Exit:
    from .engine import audit
    from .report import json as json_report
    from .report import terminal

    path = config_path or find_config()
    file_values = load_file(path) if path else {}
    if inputs:
        flags["inputs"] = inputs
    cfg = build(file_values, path, flags)
    if not cfg.inputs:
        raise FairauditError("no input given; name a predictions file: fairaudit run "
                             "predictions.parquet --label ... --prediction ... --group ...")
    if progress:
        from .report.progress import ProgressBar

        with ProgressBar(sys.stderr) as bar:
            result = audit(config=cfg, on_progress=bar.update)
    else:
        result = audit(config=cfg)

    to_stdout = json_path == "-"
    if json_path and not to_stdout:
        _write(json_path, json_report.dumps(result))
    if to_stdout:
        sys.stdout.write(json_report.dumps(result))
        terminal_out = sys.stderr
    else:
        terminal_out = sys.stdout
    terminal.render(result, terminal_out)
    _announce(result)
    if result.failed and not exit_zero:
        return Exit.GATE_FAILED
    return Exit.PASS


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise FairauditError(f"{path}: cannot write the report ({exc.strerror})") from None


def _announce(result: AuditResult) -> None:
    """Failing and skipped gates on stderr, as CI annotations where the CI reads them."""
    github = os.environ.get("GITHUB_ACTIONS") == "true"
    for g in result.gates:
        if g.status == "pass":
            continue
        level = "error" if g.status == "fail" else "warning"
        if github:
            typer.echo(f"::{level} title=fairaudit gate {g.status}::{g.sentence}", err=True)
        else:
            typer.echo(f"fairaudit: gate {g.status}: {g.sentence}", err=True)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
