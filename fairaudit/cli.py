"""The command line: parse flags, resolve the config, run the engine, report, pick the exit code.

Exit codes: 0 every gate passed (an inconclusive gate warns but passes unless
--fail-on-inconclusive); 1 a gate failed; 2 could not audit (usage, config or
input) or could not write a report; 3 internal error; 130 interrupted (Ctrl-C),
143 terminated (SIGTERM), with no report left half-written.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from enum import IntEnum
from typing import IO, TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
import typer.main

from . import outputs as report_files
from . import sources
from .errors import FairauditError

if TYPE_CHECKING:
    from .result import AuditResult

# The rest of fairaudit (numpy, pyarrow and the engine) is imported inside the
# commands: `run` first finds its input files and starts hashing them, and the
# hashing goes on, on another core, while those modules load.


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
    typer.echo(f"fairaudit: error: {sources.printable(message)}", err=True)


def _interrupted(exc: KeyboardInterrupt) -> int:
    what = ("terminated (SIGTERM)" if isinstance(exc, report_files.Terminated)
            else "interrupted (Ctrl-C)")
    typer.echo(f"fairaudit: {what}; no report was left half-written", err=True)
    return report_files.exit_code(exc)


def _crash(exc: BaseException, debug: bool) -> None:
    text = "".join(traceback.format_exception(exc))
    if debug:
        typer.echo(text, err=True, nl=False)
        typer.echo(f"fairaudit: internal error: {type(exc).__name__}: {exc}", err=True)
        return
    fd, path = tempfile.mkstemp(prefix="fairaudit-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    typer.echo(f"fairaudit: internal error: {type(exc).__name__}: "
               f"{sources.printable(str(exc))} (traceback saved to {path}; rerun with --debug "
               "to show it)", err=True)


@app.command()
def run(
    inputs: Annotated[list[str] | None, typer.Argument(
        help="Parquet or CSV files (.csv.gz too), folders of them, or globs.",
        show_default=False)] = None,
    label: Annotated[str | None, typer.Option(
        help="Column with the true outcome (0/1, or see --positive-label).")] = None,
    prediction: Annotated[str | None, typer.Option(
        help="Column with the model's decision (0/1, or see --positive-label).")] = None,
    score: Annotated[str | None, typer.Option(
        help="Column with a score in [0, 1]; decision = score >= --threshold when there "
             "is no --prediction.")] = None,
    threshold: Annotated[str | None, typer.Option(
        metavar="FLOAT", show_default=False,
        help="Decision threshold for --score, in [0, 1].  [default: 0.5]")] = None,
    group: Annotated[list[str] | None, typer.Option(
        "--group", "-g", help="Group column; repeat for several.")] = None,
    positive_label: Annotated[str | None, typer.Option(
        help="The value of the label and prediction columns that means positive.")] = None,
    reference: Annotated[list[str] | None, typer.Option(
        help="Reference group, COLUMN=VALUE; repeatable.  [default: the largest group]")
    ] = None,
    intersections: Annotated[bool | None, typer.Option(
        "--intersections/--no-intersections",
        help="Also audit the intersection of all group columns.  [default: on]")] = None,
    min_group_size: Annotated[int | None, typer.Option(
        help="Groups (and metric denominators) smaller than this are reported but left "
             "out of gaps and gates.  [default: 30]")] = None,
    max_gap: Annotated[list[str] | None, typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the largest allowed difference; "
             "repeatable.")] = None,
    min_ratio: Annotated[list[str] | None, typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the smallest allowed ratio; repeatable "
             "(four-fifths rule: demographic_parity=0.8).")] = None,
    range_: Annotated[list[str] | None, typer.Option(
        "--range", help="Trusted range of an input feature, FEATURE=MIN:MAX (an end may be "
                        "left open: debt=:50000); repeatable; replaces the config file's "
                        "range of that feature.")] = None,
    max_out_of_range: Annotated[list[str] | None, typer.Option(
        help="Gate: FEATURE=SHARE, the largest share of a feature's known values outside "
             "its range in any group; a bare SHARE covers every feature; repeatable.")
    ] = None,
    interval: Annotated[str | None, typer.Option(
        help="Interval for group rates: wilson or clopper-pearson.  [default: wilson]")
    ] = None,
    confidence: Annotated[float | None, typer.Option(
        help="Confidence level of every interval.  [default: 0.95]")] = None,
    bootstrap: Annotated[int | None, typer.Option(
        help="Bootstrap replicates for the intervals of gaps; 0 turns them off.  "
             "[default: 1000]")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the bootstrap; the same seed gives the same numbers.  [default: 0]")
    ] = None,
    adjust: Annotated[str | None, typer.Option(
        help="Multiple-testing adjustment of p-values: holm or bh (Benjamini-Hochberg).  "
             "[default: holm]")] = None,
    decide: Annotated[str | None, typer.Option(
        help="How gates use intervals: point (the estimate alone), confident-fail (fail "
             "only when the whole interval is past the threshold) or confident-pass (pass "
             "only when the whole interval is inside it).  [default: point]")] = None,
    fail_on_inconclusive: Annotated[bool | None, typer.Option(
        "--fail-on-inconclusive/--pass-on-inconclusive",
        help="Exit 1 when a gate is inconclusive.  [default: exit 0 with a warning]")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(
        help="Field separator of CSV inputs: one character, such as ';' or '|', or 'tab'.  "
             "[default: ',', a tab for .tsv]")] = None,
    decimal: Annotated[str | None, typer.Option(
        help="Decimal mark of numbers in CSV inputs: '.' or ',' (0,75).  [default: .]")
    ] = None,
    digest: Annotated[bool | None, typer.Option(
        "--digest/--no-digest",
        help="Record each input file's SHA-256 in the report. It reads every byte of every "
             "file, where the audit reads only the columns it needs: about 1.5 CPU-seconds "
             "a 2.6 GB file.  [default: on]")] = None,
    config: Annotated[str | None, typer.Option(
        help="Config file.  [default: ./fairaudit.toml, or [tool.fairaudit] in "
             "./pyproject.toml]")] = None,
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the JSON report to PATH ('-' for stdout).")] = None,
    html_path: Annotated[str | None, typer.Option(
        "--html", help="Write the audit as one self-contained HTML file to PATH.")] = None,
    markdown_path: Annotated[str | None, typer.Option(
        "--markdown", help="Write a compact Markdown report (verdict, gates, widest gaps) "
        "to PATH, for pull-request comments.")] = None,
    junit_path: Annotated[str | None, typer.Option(
        "--junit", help="Write JUnit XML to PATH: one test case per gate, for CI test "
        "panels.")] = None,
    github_summary: Annotated[bool, typer.Option(
        "--github-summary", help="Append the Markdown report to the file named by "
        "$GITHUB_STEP_SUMMARY (the GitHub Actions job summary).")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the verdict line and the failing gates.")] = False,
    exit_zero: Annotated[bool, typer.Option(
        help="Exit 0 even when a gate fails (report-only runs).")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
    no_progress: Annotated[bool, typer.Option(
        "--no-progress", help="No progress bar (one is shown on stderr for runs longer "
        "than a second, when stderr is a terminal).")] = False,
) -> None:
    """Audit prediction files and judge them against the gates."""
    reports = Outputs(html_path, markdown_path, junit_path, github_summary, quiet)
    code: int
    try:
        early = _start_digests(inputs, digest, json_path, reports)
        with early or nullcontext(), report_files.interruptible():
            from .config import parse_gate, parse_reference, parse_threshold
            from .rangespec import parse_gate as parse_range_gate
            from .rangespec import parse_range

            code = _run(inputs, dict(
                label=label, prediction=prediction, score=score,
                threshold=None if threshold is None else parse_threshold(threshold),
                groups=group or None, positive_label=positive_label,
                reference=[parse_reference(r) for r in reference] if reference else None,
                intersections=intersections, min_group_size=min_group_size,
                interval=interval, confidence=confidence, bootstrap=bootstrap, seed=seed,
                adjust=adjust, decide=decide, fail_on_inconclusive=fail_on_inconclusive,
                digest=digest, delimiter=delimiter, decimal=decimal,
                gates=[parse_gate(g, "max_gap") for g in max_gap or ()]
                + [parse_gate(g, "min_ratio") for g in min_ratio or ()],
                ranges=[parse_range(r) for r in range_ or ()],
                range_gates=[parse_range_gate(g) for g in max_out_of_range or ()],
            ), config, json_path, exit_zero, reports,
                progress=not no_progress and sys.stderr.isatty(), digests=early)
    except FairauditError as exc:
        _fail(str(exc))
        code = Exit.CANNOT_AUDIT
    except KeyboardInterrupt as exc:
        code = _interrupted(exc)
    except Exception as exc:  # a crash must never read as a pass or a fairness failure
        _crash(exc, debug)
        code = Exit.INTERNAL
    raise typer.Exit(int(code))


def _start_digests(inputs: list[str] | None, digest: bool | None, json_path: str | None,
                   reports: Outputs) -> sources.Digests | None:
    """Start hashing the input files named on the command line, if any, right away.

    First the report paths are checked against them, before a byte is read.
    Inputs from a config file are hashed by the audit itself, as is everything
    when the names cannot be resolved here (the audit then says what is wrong).
    """
    if not inputs:
        return None
    try:
        files = sources.resolve(inputs)
    except (FairauditError, OSError):
        return None
    report_files.check(_report_paths(json_path, reports), files)
    if digest is False:
        return None
    return sources.Digests(files, cores=sources.Cores()).start()


def _report_paths(json_path: str | None, reports: Outputs) -> list[tuple[str, str]]:
    """Every report file asked for, with the option that named it."""
    paths = [("--json", json_path), ("--html", reports.html),
             ("--markdown", reports.markdown), ("--junit", reports.junit)]
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if reports.github_summary and summary:
        paths.append(("--github-summary (GITHUB_STEP_SUMMARY)", summary))
    return [(what, path) for what, path in paths if path]


class Outputs(NamedTuple):
    """The report files asked for on the command line, besides JSON."""

    html: str | None = None
    markdown: str | None = None
    junit: str | None = None
    github_summary: bool = False
    quiet: bool = False


def _run(inputs: list[str] | None, flags: dict[str, Any], config_path: str | None,
         json_path: str | None, exit_zero: bool, outputs: Outputs | None = None,
         progress: bool = False, digests: sources.Digests | None = None) -> Exit:
    from .config import build, find_config, load_file
    from .engine import audit
    from .report import json as json_report
    from .report import terminal

    outputs = outputs or Outputs()
    path = config_path or find_config()
    file_values = load_file(path) if path else {}
    if inputs:
        flags["inputs"] = inputs
    cfg = build(file_values, path, flags)
    if not cfg.inputs:
        raise FairauditError("no input given; name a predictions file: fairaudit run "
                             "predictions.parquet --label ... --prediction ... --group ...")
    # no report may overwrite an input, whichever way the inputs were given
    report_files.check(_report_paths(json_path, outputs),
                       sources.resolve(cfg.inputs, cfg.csv_dialect))
    if progress:
        from .report.progress import ProgressBar

        with ProgressBar(sys.stderr) as bar:
            result = audit(config=cfg, on_progress=bar.update, digests=digests)
    else:
        result = audit(config=cfg, digests=digests)

    to_stdout = json_path == "-"
    if json_path and not to_stdout:
        _write(json_path, lambda f: json_report.write(result, f))
    _reports(result, outputs)
    # a stream whose reader goes (| head) ends its block quietly; the exit code stands
    with report_files.writing(sys.stderr):
        if result.provenance.duplicates_merged:
            n = result.provenance.duplicates_merged
            typer.echo(f"fairaudit: note: {n} input name{'s' if n != 1 else ''} reached a "
                       "file already listed (another spelling, a link or an overlapping "
                       "glob); each file was read once", err=True)
    terminal_out = sys.stderr if to_stdout else sys.stdout
    if to_stdout:
        with report_files.writing(sys.stdout):
            sys.stdout.flush()
            json_report.write(result, sys.stdout.buffer)
    with report_files.writing(terminal_out):
        if outputs.quiet:
            print(terminal.verdict_line(result), file=terminal_out)
        else:
            terminal.render(result, terminal_out)
    with report_files.writing(sys.stderr):
        _announce(result, quiet=outputs.quiet)
    if result.failed and not exit_zero:
        return Exit.GATE_FAILED
    if result.inconclusive and cfg.fail_on_inconclusive and not exit_zero:
        return Exit.GATE_FAILED
    return Exit.PASS


def _write(path: str, text: str | Callable[[IO[bytes]], None], mode: str = "w") -> None:
    """Write text, or let ``text(file)`` write bytes (a report streamed as it is encoded),
    atomically: the whole report, or the file as it was."""
    if isinstance(text, str):
        data = text.encode("utf-8")
        report_files.write_atomic(path, lambda f: f.write(data), append=mode == "a")
    else:
        report_files.write_atomic(path, text, append=mode == "a")


def _reports(result: AuditResult, outputs: Outputs) -> None:
    """Write the HTML, Markdown and JUnit reports that were asked for."""
    if outputs.html:
        from .report import html

        _write(outputs.html, html.render(result))
    if outputs.markdown or outputs.github_summary:
        from .report import markdown

        text = markdown.render(result)
        if outputs.markdown:
            _write(outputs.markdown, text)
        if outputs.github_summary:
            # the job summary is never written unless asked for, even inside GitHub Actions
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                _write(summary, "\n" + text, mode="a")
            else:
                typer.echo("fairaudit: --github-summary: GITHUB_STEP_SUMMARY is not set "
                           "(not a GitHub Actions job); no summary written", err=True)
    if outputs.junit:
        from .report import junit

        _write(outputs.junit, junit.render(result))


def _announce(result: AuditResult, quiet: bool = False) -> None:
    """Failing, inconclusive and skipped gates on stderr, as CI annotations where read.

    ``quiet`` leaves out skipped gates: only what decides a failing verdict.
    """
    github = os.environ.get("GITHUB_ACTIONS") == "true"
    for g in result.gates:
        if g.status == "pass" or (quiet and g.status == "skipped"):
            continue
        level = "error" if g.status == "fail" else "warning"
        if github:
            typer.echo(f"::{level} title=fairaudit gate {g.status}::{g.sentence}", err=True)
        else:
            typer.echo(f"fairaudit: gate {g.status}: {g.sentence}", err=True)


ranges_app = typer.Typer(
    help="Trusted input ranges: derive them from a reference set.",
    no_args_is_help=True, rich_markup_mode=None)
app.add_typer(ranges_app, name="ranges")


@ranges_app.callback()
def _ranges() -> None:
    """Trusted input ranges: derive them from a reference set."""


@ranges_app.command("derive")
def derive(
    inputs: Annotated[list[str], typer.Argument(
        help="Reference parquet or CSV files (the training or validation set), folders "
             "or globs.", show_default=False)],
    column: Annotated[list[str], typer.Option(
        "--column", "-c", help="Feature to derive a range for; repeat for several.",
        show_default=False)],
    quantiles: Annotated[str, typer.Option(
        help="LOW,HIGH quantiles that bound numeric columns.")] = "0.005,0.995",
    min_frequency: Annotated[float, typer.Option(
        help="Categorical columns: keep values making up at least this share of the "
             "known values.")] = 0.005,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the [ranges] table to FILE.  [default: stdout]")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(
        help="Field separator of CSV inputs: one character, such as ';' or '|', or 'tab'.  "
             "[default: ',', a tab for .tsv]")] = None,
    decimal: Annotated[str, typer.Option(
        help="Decimal mark of numbers in CSV inputs: '.' or ','.")] = ".",
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Write a [ranges] table (quantile bounds, or the values seen) for fairaudit.toml."""
    from .reference import derive as derive_ranges
    from .reference import parse_quantiles

    code: int
    try:
        with report_files.interruptible():
            dialect = sources.CsvDialect(
                None if delimiter is None else sources.parse_delimiter(delimiter), decimal)
            if output:  # before a byte is read: the table must not overwrite its data
                report_files.check([("--output", output)], sources.resolve(inputs, dialect))
            text = derive_ranges(inputs, column, parse_quantiles(quantiles),
                                 min_frequency, dialect).to_toml()
            if output:
                _write(output, text)
            else:
                with report_files.writing(sys.stdout):
                    sys.stdout.write(text)
        code = Exit.PASS
    except FairauditError as exc:
        _fail(str(exc))
        code = Exit.CANNOT_AUDIT
    except KeyboardInterrupt as exc:
        code = _interrupted(exc)
    except Exception as exc:  # a crash must never read as success
        _crash(exc, debug)
        code = Exit.INTERNAL
    raise typer.Exit(int(code))


def main() -> None:
    """Console-script entry point.

    The cycle collector is off for the process: an audit of a 10,000-level
    column builds hundreds of thousands of small result objects, none in a
    reference cycle, and collecting while they are made costs a third of the
    run. The process is short-lived; reference counting still frees memory.
    """
    gc.disable()
    app()


def command() -> Any:
    """The click command tree behind ``app``; the generated CLI reference is read from it."""
    return typer.main.get_command(app)


if __name__ == "__main__":  # pragma: no cover
    main()
