"""The command line: parse flags, resolve the config, run the engine, report, pick the exit code.

Exit codes: 0 every gate passed (an inconclusive gate warns but passes unless
--fail-on-inconclusive); 1 a gate failed; 2 could not audit (usage, config or
input) or could not write a report (the other reports are written all the same);
3 internal error (in one report: the others are written); 130 interrupted (Ctrl-C),
143 terminated (SIGTERM), with no report left half-written.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from contextlib import nullcontext, suppress
from enum import IntEnum
from typing import IO, TYPE_CHECKING, Annotated, Any, NamedTuple, TextIO, cast

import typer
import typer.main

from . import outputs as report_files
from . import sources
from .errors import FairauditError
from .report.annotations import Annotations, Defused, defuse, gate_lines, one_line
from .report.delivery import Delivery

if TYPE_CHECKING:
    from .history.store import RunSpec
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
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Audit a model's decisions for fairness across groups, and gate CI on it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(shown: bool) -> None:
    if shown:
        from .version import __version__

        typer.echo(f"fairaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False) -> None:
    """Audit a model's decisions for fairness across groups, and gate CI on it."""


def _fail(message: str) -> None:
    typer.echo(one_line(f"fairaudit: error: {sources.printable(message)}"), err=True)


def _interrupted(exc: KeyboardInterrupt) -> int:
    what = ("terminated (SIGTERM)" if isinstance(exc, report_files.Terminated)
            else "interrupted (Ctrl-C)")
    typer.echo(f"fairaudit: {what}; no report was left half-written", err=True)
    return report_files.exit_code(exc)


def _crash(exc: BaseException, debug: bool) -> None:
    typer.echo(_crash_line(exc, debug), err=True)


def _crash_line(exc: BaseException, debug: bool, what: str = "") -> str:
    """The line that says an internal error happened (in ``what``, if given); its
    traceback is printed first with ``debug``, else saved to a file the line names."""
    text = "".join(traceback.format_exception(exc))
    where = f" in {what}" if what else ""
    if debug:
        typer.echo(defuse(text), err=True, nl=False)
        return one_line(f"fairaudit: internal error{where}: {type(exc).__name__}: "
                        f"{sources.printable(str(exc))}")
    fd, path = tempfile.mkstemp(prefix="fairaudit-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return one_line(f"fairaudit: internal error{where}: {type(exc).__name__}: "
                    f"{sources.printable(str(exc))} (traceback saved to {path}; rerun "
                    "with --debug to show it)")


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
    thresholds: Annotated[str | None, typer.Option(
        metavar="T,T,...", show_default=False,
        help="More decision thresholds for --score, such as 0.3,0.5,0.7: the confusion "
             "figures at each (tpr@0.7; gates: demographic_parity@0.7).")] = None,
    select_top: Annotated[str | None, typer.Option(
        metavar="N,N%,...", show_default=False,
        help="Decide positive the N (or N%) highest scores, such as 100,10%: the confusion "
             "figures at each cutoff (tpr@top10%).")] = None,
    score_figures: Annotated[bool | None, typer.Option(
        "--score-figures/--no-score-figures",
        help="With --score, the AUC, calibration and KS distance per group, from 2,000 "
             "counts per group (turn off for very many groups).  [default: on]")] = None,
    rank: Annotated[str | None, typer.Option(
        help="Column with the 1-based position of the true item in the model's ranked list "
             "(empty: not in the list): audits top-k accuracy, MRR and the in-list rate.")
    ] = None,
    candidates: Annotated[str | None, typer.Option(
        help="List column (parquet) of the model's ranked candidates; --label names the true "
             "item, whose first position in the list is its rank.")] = None,
    k: Annotated[str | None, typer.Option(
        "--k", metavar="K,K,...", show_default=False,
        help="Cutoffs of top-k accuracy with --rank, such as 1,3,5.  [default: 1,3]")] = None,
    task: Annotated[str | None, typer.Option(
        metavar="binary|multiclass|regression", show_default=False,
        help="What --label and --prediction hold: a yes/no decision; one of many classes "
             "(multiclass: per class one-vs-rest rates, worst-class and macro gaps); or numbers "
             "(regression: the mean prediction, mean label, mean error, MAE and RMSE).  "
             "[default: binary]")
    ] = None,
    classes: Annotated[str | None, typer.Option(
        metavar="A,B,...", show_default=False,
        help="With --task multiclass: the classes to audit; the others are pooled as one "
             "class, '(other)'.  [default: every class, up to 30]")] = None,
    weight: Annotated[str | None, typer.Option(
        help="Column of sample weights (survey, importance or exposure weights, finite and "
             ">= 0): every rate, gap and criterion is weighted; intervals use Kish's "
             "effective sample size; small-group rules still count rows.")] = None,
    measure: Annotated[list[str] | None, typer.Option(
        help="Column of a per-row number computed already (word error rate, task success "
             "0/1): audits its mean per group as mean_COLUMN; repeatable; needs no label.")
    ] = None,
    group: Annotated[list[str] | None, typer.Option(
        "--group", "-g", help="Group column; repeat for several.")] = None,
    stratum: Annotated[list[str] | None, typer.Option(
        help="Stratum column (a hospital, a region): each group is also compared with the "
             "reference within strata; repeat for several (their combinations are the "
             "strata).")] = None,
    positive_label: Annotated[str | None, typer.Option(
        help="The value of the label and prediction columns that means positive.")] = None,
    reference: Annotated[list[str] | None, typer.Option(
        help="Reference group, COLUMN=VALUE, or for an intersection COLUMN&COLUMN=VALUE&VALUE "
             "(race&sex=Caucasian&Male); repeatable.  [default: the largest group]")
    ] = None,
    intersections: Annotated[bool | None, typer.Option(
        "--intersections/--no-intersections",
        help="Also audit the intersection of all group columns.  [default: on]")] = None,
    intersect: Annotated[list[str] | None, typer.Option(
        metavar="COLUMN,COLUMN,...",
        help="Audit this intersection of group columns instead of all of them crossed; "
             "repeat for several, such as --intersect race,sex.")] = None,
    min_group_size: Annotated[int | None, typer.Option(
        help="Groups (and metric denominators) smaller than this are reported but left "
             "out of gaps and gates.  [default: 30]")] = None,
    max_groups: Annotated[int | None, typer.Option(
        help="Refuse a group column with more distinct values than this (an id given as a "
             "group), as soon as the count passes it; above 10,000 a warning.  "
             "[default: 100000]")] = None,
    entropy_alpha: Annotated[float | None, typer.Option(
        help="The alpha of the generalized entropy index of the per-row benefit (1: the "
             "Theil index).  [default: 2]")] = None,
    max_gap: Annotated[list[str] | None, typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the largest allowed difference; "
             "repeatable.")] = None,
    min_ratio: Annotated[list[str] | None, typer.Option(
        help="Gate: [GROUPING:]CRITERION=VALUE, the smallest allowed ratio; repeatable "
             "(four-fifths rule: demographic_parity=0.8).")] = None,
    baseline_prediction: Annotated[str | None, typer.Option(
        help="Column with the decision of the model to compare with (the one in production, "
             "0/1): every figure of both models on the same rows, and the changes.")] = None,
    baseline_score: Annotated[str | None, typer.Option(
        help="Column with the baseline model's score in [0, 1], thresholded at "
             "--baseline-threshold.")] = None,
    baseline_threshold: Annotated[str | None, typer.Option(
        metavar="FLOAT", show_default=False,
        help="Decision threshold for --baseline-score.  [default: --threshold]")] = None,
    max_increase: Annotated[list[str] | None, typer.Option(
        metavar="[GROUPING:]CRITERION=VALUE",
        help="Gate with a baseline: a criterion's (or metric's) gap may grow by at most VALUE "
             "from the baseline to the candidate; repeatable.")] = None,
    max_drop: Annotated[list[str] | None, typer.Option(
        metavar="[GROUPING:]METRIC=VALUE",
        help="Gate with a baseline: a metric's rate may fall by at most VALUE in any group "
             "from the baseline to the candidate; repeatable.")] = None,
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
    history: Annotated[str | None, typer.Option(
        "--history", metavar="PATH", help="Record the run in the history file PATH (SQLite, "
        "made if missing): its counts, figures, gates, inputs and config; see fairaudit "
        "history.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="DATE", help="With --history: the period the data covers, "
        "YYYY-MM-DD; with the config digest and --run-label, the run's key.  [default: "
        "today, UTC]")] = None,
    run_label: Annotated[str | None, typer.Option(
        "--run-label", metavar="TEXT", help="With --history: the series the run belongs to "
        "(a model, a region), part of the run's key.  [default: none]")] = None,
    on_conflict: Annotated[str | None, typer.Option(
        "--on-conflict", help="With --history, when a run with the same key is recorded "
        "already: replace it (the old run is kept, marked superseded), skip (record "
        "nothing) or error (exit 2).  [default: replace]")] = None,
    partition_by: Annotated[str | None, typer.Option(
        "--partition-by", metavar="COLUMN", help="With --history: audit the rows of each "
        "value of COLUMN as a run of its own (dates: the run's as-of date; other values: "
        "its run label), from one pass over the inputs. An input holding {date} (data/{date}/"
        "*.parquet) makes a run per date found, or of --as-of alone.")] = None,
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
    engine: Annotated[str | None, typer.Option(
        help="Where the counting runs: in-process, or dask (on a Dask cluster, each worker "
             "counting its own files and row groups; docs/scale.md).  [default: in-process]")
    ] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Address of the Dask scheduler, such as tcp://host:8786.  [default: "
             "$DASK_SCHEDULER_ADDRESS, else a local cluster is started and stopped]")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes of the local Dask cluster started when there is no "
             "scheduler.  [default: one a core]")] = None,
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
    github_summary: Annotated[bool | None, typer.Option(
        "--github-summary/--no-github-summary", help="Append the Markdown report to the file "
        "named by $GITHUB_STEP_SUMMARY (the GitHub Actions job summary).  [default: off]")
    ] = None,
    gitlab_codequality: Annotated[str | None, typer.Option(
        "--gitlab-codequality", metavar="PATH", help="Write a GitLab Code Quality report to "
        "PATH: one finding per failing or inconclusive gate, for merge requests.")] = None,
    annotations: Annotated[Annotations | None, typer.Option(
        "--annotations", case_sensitive=False, help="How failing, inconclusive and skipped "
        "gates are printed on stderr: github (workflow annotations, ::error and ::warning) or "
        "none (plain lines).  [default: github when GITHUB_ACTIONS=true, else none]")] = None,
    quiet: Annotated[bool | None, typer.Option(
        "--quiet/--no-quiet", "-q", help="Print only the verdict line and the failing gates.  "
        "[default: off]")] = None,
    exit_zero: Annotated[bool, typer.Option(
        help="Exit 0 even when a gate fails (report-only runs).")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
    no_progress: Annotated[bool, typer.Option(
        "--no-progress", help="No progress bar (one is shown on stderr for runs longer "
        "than a second, when stderr is a terminal; progress = false in a config file turns "
        "it off too).")] = False,
) -> None:
    """Audit prediction files and judge them against the gates."""
    reports = Outputs(html_path, markdown_path, junit_path, github_summary, quiet,
                      gitlab_codequality, annotations, debug=debug)
    code: int
    try:
        from .schedule import run_spec

        recording = run_spec(history, as_of, run_label, on_conflict, partition_by)
        # the Dask engine's workers take the digests, where the data is
        early = (_start_digests(inputs, digest, json_path, reports) if engine != "dask"
                 else None)
        with early or nullcontext(), report_files.interruptible():
            from .config import (
                parse_classes,
                parse_comparison_gate,
                parse_cutoffs,
                parse_gate,
                parse_reference,
                parse_threshold,
            )
            from .kinds.cutoffs import parse_select_top, parse_thresholds
            from .rangespec import parse_gate as parse_range_gate
            from .rangespec import parse_range

            code = _run(inputs, dict(
                label=label, prediction=prediction, score=score,
                threshold=None if threshold is None else parse_threshold(threshold),
                rank=rank, k=None if k is None else parse_cutoffs(k), candidates=candidates,
                task=task, classes=None if classes is None else parse_classes(classes),
                measures=measure or None, weight=weight,
                thresholds=None if thresholds is None else parse_thresholds(thresholds),
                score_figures=score_figures,
                select_top=None if select_top is None else parse_select_top(select_top),
                groups=group or None, strata=stratum or None,
                positive_label=positive_label,
                reference=[parse_reference(r) for r in reference] if reference else None,
                intersections=intersections, min_group_size=min_group_size,
                max_groups=max_groups,
                entropy_alpha=entropy_alpha,
                intersect=[tuple(c.strip() for c in i.split(",")) for i in intersect]
                if intersect else None,
                interval=interval, confidence=confidence, bootstrap=bootstrap, seed=seed,
                adjust=adjust, decide=decide, fail_on_inconclusive=fail_on_inconclusive,
                digest=digest, engine=engine, scheduler=scheduler, workers=workers,
                delimiter=delimiter, decimal=decimal,
                gates=[parse_gate(g, "max_gap") for g in max_gap or ()]
                + [parse_gate(g, "min_ratio") for g in min_ratio or ()],
                ranges=[parse_range(r) for r in range_ or ()],
                baseline_prediction=baseline_prediction, baseline_score=baseline_score,
                baseline_threshold=None if baseline_threshold is None
                else parse_threshold(baseline_threshold, "--baseline-threshold"),
                comparison_gates=[parse_comparison_gate(g, "max_increase")
                                  for g in max_increase or ()]
                + [parse_comparison_gate(g, "max_drop") for g in max_drop or ()],
                range_gates=[parse_range_gate(g) for g in max_out_of_range or ()],
            ), config, json_path, exit_zero, reports,
                progress=not no_progress and sys.stderr.isatty(), digests=early,
                recording=recording, partition_by=partition_by)
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
             ("--markdown", reports.markdown), ("--junit", reports.junit),
             ("--gitlab-codequality", reports.gitlab_codequality)]
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if reports.github_summary and summary:
        paths.append(("--github-summary (GITHUB_STEP_SUMMARY)", summary))
    named = dict(reports.from_file)
    return [(named.get(what, what), path) for what, path in paths if path]


class Outputs(NamedTuple):
    """The report files asked for on the command line, besides JSON; :func:`_run` adds
    those of the config file."""

    html: str | None = None
    markdown: str | None = None
    junit: str | None = None
    github_summary: bool | None = None  # None: not given on the command line
    quiet: bool | None = None
    gitlab_codequality: str | None = None
    annotations: Annotations | None = None
    # the report paths set by the config file: flag -> how the file names it, for messages
    from_file: tuple[tuple[str, str], ...] = ()
    debug: bool = False  # a report that crashes prints its traceback

    @property
    def mode(self) -> Annotations:
        """``--annotations``, else github inside GitHub Actions."""
        if self.annotations is not None:
            return self.annotations
        return Annotations.GITHUB if _in_github() else Annotations.NONE


def _in_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _run(inputs: list[str] | None, flags: dict[str, Any], config_path: str | None,
         json_path: str | None, exit_zero: bool, outputs: Outputs | None = None,
         progress: bool = False, digests: sources.Digests | None = None,
         recording: RunSpec | None = None, partition_by: str | None = None) -> Exit:
    from .config import build, find_config, load_file
    from .engine import audit
    from .report import json as json_report
    from .report import terminal

    outputs = outputs or Outputs()
    path = config_path or find_config()
    file_values = load_file(path) if path else {}
    json_path, outputs, progress = _file_reports(file_values, path, json_path, outputs,
                                                   progress)
    if inputs:
        flags["inputs"] = inputs
    cfg = build(file_values, path, flags)
    if not cfg.inputs:
        raise FairauditError("no input given; name a predictions file: fairaudit run "
                             "predictions.parquet --label ... --prediction ... --group ...")
    if recording is not None and (partition_by is not None
                                  or any("{date}" in i for i in cfg.inputs)):
        from . import schedule  # a run per partition or date, each with reports of its own

        return Exit(schedule.many(cfg, recording, partition_by, exit_zero,
                                  (json_path, *outputs[:4]), bool(outputs.quiet)))
    # no report may overwrite an input, whichever way the inputs were given
    report_files.check(_report_paths(json_path, outputs),
                       sources.resolve(cfg.inputs, cfg.csv_dialect))
    if recording is not None:  # counts kept for the history, and the run recorded
        from . import schedule

        recording = schedule.resolve(recording, cfg)
        result, table = schedule.audit(cfg, recording, digests, progress)
        schedule.record(recording, result, table, cfg, quiet=bool(outputs.quiet))
    elif progress:
        from .report.progress import ProgressBar

        with ProgressBar(sys.stderr) as bar:
            result = audit(config=cfg, on_progress=bar.update, digests=digests)
    else:
        result = audit(config=cfg, digests=digests)

    to_stdout = json_path == "-"
    delivery = Delivery(lambda line: typer.echo(line, err=True),
                        lambda exc, what: _crash_line(exc, outputs.debug, what))
    if json_path and not to_stdout:
        delivery.write("--json", json_path,
                       lambda: lambda f: json_report.write(result, f))
    _reports(result, outputs, delivery)
    # a stream whose reader goes (| head) ends its block quietly; the exit code stands
    with report_files.writing(sys.stderr):
        for line in terminal.many_groups(result):
            typer.echo(line, err=True)
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
    if _in_github() or outputs.mode is Annotations.GITHUB:
        # a runner reads the log: a group value that wraps to the start of a table line
        # must not read as a workflow command
        terminal_out = cast(TextIO, Defused(terminal_out))
    with report_files.writing(terminal_out):
        if outputs.quiet:
            print(terminal.verdict_line(result), file=terminal_out)
        else:
            if path:
                print(f"config: {sources.printable(path)}", file=terminal_out)
            terminal.render(result, terminal_out)
        terminal_out.flush()
    with report_files.writing(sys.stderr):
        for line in gate_lines(result, outputs.mode, quiet=bool(outputs.quiet)):
            typer.echo(line, err=True)
    if delivery.code is not None:  # a report asked for is missing: that outranks a gate
        return Exit(delivery.code)
    if result.failed and not exit_zero:
        return Exit.GATE_FAILED
    if result.inconclusive and cfg.fail_on_inconclusive and not exit_zero:
        return Exit.GATE_FAILED
    return Exit.PASS


def _file_reports(file_values: dict[str, Any], config_path: str | None, json_path: str | None,
                  outputs: Outputs, progress: bool) -> tuple[str | None, Outputs, bool]:
    """The report paths, ``quiet`` and ``progress``: each flag given, else the config
    file's setting (its paths resolved against its folder), else the default."""
    from .report_settings import PATHS, merged

    given = {"json": json_path, "html": outputs.html, "markdown": outputs.markdown,
             "junit": outputs.junit, "gitlab_codequality": outputs.gitlab_codequality,
             "github_summary": outputs.github_summary, "quiet": outputs.quiet}
    chosen = merged(given, file_values)
    origin = sources.printable(config_path) if config_path else ""
    from_file = tuple((f"--{key.replace('_', '-')}", f"{origin} key '{key}' =")
                      for key, value in given.items()
                      if value is None and chosen[key] is not None and key in PATHS)
    return chosen["json"], outputs._replace(
        from_file=from_file,
        html=chosen["html"], markdown=chosen["markdown"], junit=chosen["junit"],
        gitlab_codequality=chosen["gitlab_codequality"],
        github_summary=bool(chosen["github_summary"]), quiet=bool(chosen["quiet"]),
    ), progress and chosen["progress"] is not False


def _write(path: str, text: str | Callable[[IO[bytes]], None], mode: str = "w") -> None:
    """Write text, or let ``text(file)`` write bytes (a report streamed as it is encoded),
    atomically: the whole report, or the file as it was."""
    if isinstance(text, str):
        data = text.encode("utf-8")
        report_files.write_atomic(path, lambda f: f.write(data), append=mode == "a")
    else:
        report_files.write_atomic(path, text, append=mode == "a")


def _reports(result: AuditResult, outputs: Outputs, delivery: Delivery) -> None:
    """Write the HTML, Markdown and JUnit reports that were asked for, each even when
    another fails (:mod:`fairaudit.report.delivery`)."""
    if outputs.html:
        from .report import html

        delivery.write("--html", outputs.html, lambda: html.render(result))
    if outputs.markdown or outputs.github_summary:
        from .report import markdown

        if outputs.markdown:
            delivery.write("--markdown", outputs.markdown, lambda: markdown.render(result))
        if outputs.github_summary:
            # the job summary is never written unless asked for, even inside GitHub Actions
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                delivery.write("--github-summary", summary,
                               lambda: "\n" + markdown.render(result), append=True)
            else:
                typer.echo("fairaudit: --github-summary: GITHUB_STEP_SUMMARY is not set "
                           "(not a GitHub Actions job); no summary written", err=True)
    if outputs.junit:
        from .report import junit

        delivery.write("--junit", outputs.junit, lambda: junit.render(result))
    if outputs.gitlab_codequality:
        from .report import gitlab

        delivery.write("--gitlab-codequality", outputs.gitlab_codequality,
                       lambda: gitlab.render(result))


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


@app.command("history")
def history_(
    path: Annotated[str, typer.Argument(
        metavar="PATH", help="History file written by fairaudit run --history.",
        show_default=False)],
    label: Annotated[str | None, typer.Option(
        "--label", metavar="TEXT", help="Only the runs recorded with this --run-label.  "
        "[default: every label, each a series of its own]")] = None,
    last: Annotated[int, typer.Option(
        metavar="N", help="Show the runs of the last N as-of dates of each label; 0 shows "
        "every date.")] = 30,
    pool: Annotated[int, typer.Option(
        metavar="N", help="Each point pools the counts of its run and the N-1 runs before it "
        "into one audit (exact: counts add up), for small nightly samples.")] = 1,
    max_increase: Annotated[list[str] | None, typer.Option(
        metavar="[GROUPING:]CRITERION=VALUE", help="Drift gate: fail when the criterion's "
        "difference in the newest run exceeds the mean of the baseline runs by more than "
        "VALUE, even if every run passed; repeatable.")] = None,
    window: Annotated[int | None, typer.Option(
        metavar="N", help="Drift gates read the last N runs.  [default: every run]")] = None,
    baseline_runs: Annotated[int | None, typer.Option(
        metavar="M", help="Drift gates: the first M runs of the window are the baseline.  "
        "[default: every run before the newest]")] = None,
    decide: Annotated[str, typer.Option(
        metavar="RULE", help="How drift gates use intervals: point (the increase alone) or "
        "confident-fail (fail only when the whole bootstrap interval of the increase, drawn "
        "from the stored counts, is past VALUE).")] = "point",
    cusum: Annotated[bool, typer.Option(
        "--cusum", help="Drift gates also run Page's CUSUM over the runs after the baseline "
        "(standardised by the baseline's spread, tuned to an increase of VALUE), for slow "
        "creeps.")] = False,
    cusum_limit: Annotated[float, typer.Option(
        metavar="H", help="With --cusum: the CUSUM statistic that raises the alarm.")] = 5.0,
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the runs, series and drift gates as JSON to PATH ('-' for "
        "stdout); docs/history.schema.json describes it.")] = None,
    html_path: Annotated[str | None, typer.Option(
        "--html", help="Write the trend as one self-contained HTML file to PATH: a chart per "
        "criterion over time, with intervals, thresholds and each run's status.")] = None,
    export: Annotated[tuple[str, str] | None, typer.Option(
        metavar="FORMAT DIR", help="Write the history's tables (runs, inputs, counts per "
        "grouping and group, criteria, gates) to the folder DIR for BI tools; FORMAT is "
        "parquet.")] = None,
    fail_on_inconclusive: Annotated[bool, typer.Option(
        "--fail-on-inconclusive", help="Exit 1 when a drift gate is inconclusive.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print no tables: only drift gates that did not pass.")] = False,
    exit_zero: Annotated[bool, typer.Option(
        help="Exit 0 even when a drift gate fails.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Show the runs of a history per gated criterion, and judge drift gates."""
    try:
        from .history.drift import parse_drift
        from .schedule import HistoryOutputs
        from .schedule import history as show

        for name, value, least in (("--last", last, 0), ("--pool", pool, 1),
                                   ("--window", window, 0),
                                   ("--baseline-runs", baseline_runs, 0)):
            if value is not None and value < least:
                raise FairauditError(f"{name} {value}: must be a whole number >= {least}")
        if export is not None and export[0] != "parquet":
            raise FairauditError(f"--export {export[0]!r}: the format is parquet, as in "
                                 "--export parquet DIR")
        code = show(path, HistoryOutputs(json_path, html_path, export, quiet),
                    exit_zero=exit_zero, fail_on_inconclusive=fail_on_inconclusive,
                    label=label, last=last or None, pool=pool,
                    drift=[parse_drift(x) for x in max_increase or ()], window=window or None,
                    baseline_runs=baseline_runs or None, decide=decide, cusum=cusum,
                    cusum_limit=cusum_limit)
    except FairauditError as exc:
        _fail(str(exc))
        code = Exit.CANNOT_AUDIT
    except Exception as exc:  # a crash must never read as a pass or a drift failure
        _crash(exc, debug)
        code = Exit.INTERNAL
    raise typer.Exit(int(code))


@app.command("batch")
def batch_(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Batch spec (TOML): shared settings at the top, then one [[audit]] "
        "table per audit.", show_default=False)],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="DATE", help="The as-of date of every audit, YYYY-MM-DD; fills "
        "{date} in inputs.  [default: the spec's as_of, else every date a {date} input "
        "finds, else today, UTC]")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="NAME", help="Run only the audit of this name; repeatable.")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress lines; the summary table and errors only.")
    ] = False,
    exit_zero: Annotated[bool, typer.Option(
        help="Exit 0 even when a gate fails (audits that could not run still exit 2).")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Run many audits (a list with shared defaults), each recorded; a summary table, and
    the worst exit code (2 over 1 over 0)."""
    try:
        from .schedule import batch

        if as_of is not None:
            from .history.store import parse_as_of

            as_of = parse_as_of(as_of)
        code = batch(spec, as_of, only or (), exit_zero, quiet, debug)
    except FairauditError as exc:
        _fail(str(exc))
        code = Exit.CANNOT_AUDIT
    except Exception as exc:  # a crash must never read as a pass
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
    _tune_memory()
    try:
        app()
    except SystemExit as exc:
        if exc.code in (report_files.exit_code(KeyboardInterrupt()),
                        report_files.exit_code(report_files.Terminated())):
            _leave_now(int(exc.code))
        raise


# Arrays of at least this size are still given back to the system when freed.
MMAP_THRESHOLD = 256 << 20
# pyarrow's allocator for the decoded columns (pyarrow's wheels for Linux have it)
ARROW_POOL = "jemalloc"


def _tune_memory() -> None:
    """Have the allocators keep freed memory for reuse, not hand it back (Linux only).

    Counting a million-row batch makes arrays of a few megabytes and frees them
    again, numpy's through the C allocator (glibc) and pyarrow's decoded
    columns through pyarrow's own. glibc maps each such array afresh and unmaps
    it when freed, and pyarrow's default allocator (mimalloc) gives pages back
    as eagerly, so every batch pays page faults again, and with two counting
    threads every unmap stops the other core too. Measured on the 2-core test
    machine, a default audit of 1e8 rows, three runs each: 4.8-5.7 s (1.2-2.0 s
    of it system time) as installed, 4.1-4.9 s with pyarrow's jemalloc, 3.8-4.1 s
    (0.45-0.51 s system) with jemalloc and glibc's thresholds raised, at a peak
    of 311-324 MiB. Only the command line sets them: the Python API leaves its
    host process's allocators as they are. Settings already in the environment
    (``MALLOC_MMAP_THRESHOLD_``, ``ARROW_DEFAULT_MEMORY_POOL``) win.
    """
    if not sys.platform.startswith("linux"):
        return
    if "pyarrow" not in sys.modules:  # read when pyarrow loads its memory pool
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", ARROW_POOL)
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt to speak of)
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt(m_mmap_threshold, MMAP_THRESHOLD)
    # and the counting threads' arenas keep their free memory rather than giving it back
    # (to be faulted in again by the next batch)
    mallopt(m_trim_threshold, MMAP_THRESHOLD)


def memory_environment() -> dict[str, str]:
    """The settings of :func:`_tune_memory` as environment variables (for other processes:
    the benchmarks' floors run with what the command line gives itself)."""
    return {"ARROW_DEFAULT_MEMORY_POOL": ARROW_POOL,
            "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
            "MALLOC_TRIM_THRESHOLD_": str(MMAP_THRESHOLD)}


def _leave_now(code: int) -> None:
    """End an interrupted run at once. Its reports are cleaned up by now, but threads
    of the counting (arrow's CSV readers among them) may still be inside a block,
    calling back into Python: waiting for them delays the exit by seconds, and an
    interpreter that shuts down under them aborts (SIGABRT, a fatal error on stderr)."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def command() -> Any:
    """The click command tree behind ``app``; the generated CLI reference is read from it."""
    return typer.main.get_command(app)


if __name__ == "__main__":  # pragma: no cover
    main()
