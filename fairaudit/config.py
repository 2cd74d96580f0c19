"""One frozen configuration: defaults < config file < command-line flags.

The config file is ``fairaudit.toml``, or the ``[tool.fairaudit]`` table of
``pyproject.toml``, in the working directory, or any file given with
``--config``. Unknown keys are errors that name the key. Every value remembers
where it came from, and reports show it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from . import report_settings
from .counts import MAX_GROUPS
from .decode import Roles
from .errors import ConfigError, UsageError, closest
from .kinds import declared_criteria, gateable, has_ratio, registered
from .kinds.baseline import COMPARISON_KINDS, ComparisonGate, ComparisonKind
from .kinds.baseline import gate_problems as comparison_problems
from .kinds.baseline import gates_from_table as comparison_gates_from
from .kinds.baseline import settings_problems as baseline_problems
from .kinds.numeric import is_numeric_metric, numeric_problems
from .kinds.strata import PREFIX as STRATIFIED
from .kinds.topk import MAX_RANK
from .rangespec import RANGE_COVERAGE, RangeGate, RangeSpec, gates_from_file, specs_from_table
from .sources import CsvDialect, parse_delimiter, printable
from .stats import ADJUSTMENTS, DECISIONS, INTERVALS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# replicates beyond this only cost time: Monte Carlo error is far below the interval's width
MAX_BOOTSTRAP = 100_000

# where keyword settings of the Python API come from, in messages and reports
API = "audit()"

ENGINES = ("in-process", "dask")
"""Where the counting pass runs: in this process, or on a Dask cluster (fairaudit.backends.dask)."""

GateKind = Literal["max_gap", "min_ratio"]
GATE_KINDS: tuple[GateKind, ...] = ("max_gap", "min_ratio")


def split_key(key: str) -> tuple[str | None, str]:
    """``[GROUPING:]CRITERION`` as (grouping or None, criterion), each stripped.

    A criterion within strata keeps its ``stratified:`` prefix:
    ``race:stratified:equalized_odds`` is grouping ``race``.
    """
    head, _, criterion = key.strip().rpartition(":")
    grouping, _, last = head.rpartition(":")
    if last.strip() + ":" == STRATIFIED:
        head, criterion = grouping, STRATIFIED + criterion.strip()
    return head.strip() or None, criterion.strip()


@dataclass(frozen=True)
class GateSpec:
    """A threshold on a criterion: ``max_gap`` bounds the difference, ``min_ratio`` the ratio.

    ``grouping`` names one grouping (``race``, or ``race&sex`` for an
    intersection); ``None`` applies the gate to every grouping.
    """

    kind: GateKind
    criterion: str
    threshold: float
    grouping: str | None = None

    @property
    def key(self) -> str:
        return f"{self.grouping}:{self.criterion}" if self.grouping else self.criterion


@dataclass(frozen=True)
class AuditConfig:
    """Everything that decides what an audit computes and how it is judged."""

    groups: tuple[str, ...]
    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    threshold: float = 0.5
    positive_label: str | None = None
    # shortlists: the true item's 1-based position in the model's list, and the cutoffs
    rank: str | None = None
    k: tuple[int, ...] = (1, 3)
    # or the model's ranked list itself (a list column), the true item in the label
    candidates: str | None = None
    # what the label and prediction hold: a yes/no decision, one of many classes, or numbers
    task: str = "binary"
    classes: tuple[str, ...] = ()  # with task multiclass: the classes to audit (others pooled)
    # numeric outcomes: per-row measures
    measures: tuple[str, ...] = ()
    # a column of sample weights: every rate a fraction of sums of weights
    weight: str | None = None
    # scores: more decision thresholds, and top-N (or N%) cutoffs (kinds/cutoffs.py)
    thresholds: tuple[float, ...] = ()
    select_top: tuple[str, ...] = ()
    score_figures: bool = True  # AUC, calibration and KS from a histogram of the score
    reference: tuple[tuple[str, str], ...] = ()
    intersections: bool = True
    # chosen intersections (each two or more group columns); none: all the group columns
    intersect: tuple[tuple[str, ...], ...] = ()
    min_group_size: int = 30
    gates: tuple[GateSpec, ...] = ()
    inputs: tuple[str, ...] = ()
    ranges: tuple[RangeSpec, ...] = ()
    range_gates: tuple[RangeGate, ...] = ()
    # columns whose values (their combinations, with several) are the strata (--stratum)
    strata: tuple[str, ...] = ()
    # uncertainty: rate intervals, bootstrap of gaps, tests, and how gates use them
    interval: str = "wilson"
    confidence: float = 0.95
    bootstrap: int = 1000
    seed: int = 0
    adjust: str = "holm"
    decide: str = "point"
    # the alpha of the generalized entropy index of the per-row benefit (2: half the
    # squared coefficient of variation)
    entropy_alpha: float = 2.0
    fail_on_inconclusive: bool = False
    # the SHA-256 of every input file, for the provenance (it reads every byte)
    digest: bool = True
    # where the counting runs: the figures are the same on every engine
    engine: str = "in-process"
    scheduler: str | None = None  # a Dask scheduler's address; None starts a local cluster
    workers: int | None = None  # worker processes of that local cluster
    # how CSV inputs are written: the field separator (None: a comma, a tab for .tsv)
    # and the decimal mark
    delimiter: str | None = None
    decimal: str = "."
    # a baseline model compared with this one on the same rows, and gates on the changes
    baseline_prediction: str | None = None
    baseline_score: str | None = None
    baseline_threshold: float | None = None
    comparison_gates: tuple[ComparisonGate, ...] = ()
    # distinct values of one group column, at most: an id given as a group is refused
    # while it is counted, before it takes the machine's memory
    max_groups: int = MAX_GROUPS
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.groups:
            problems.append("no group column; give at least one with --group COLUMN")
        if len(set(self.groups)) != len(self.groups):
            problems.append("a group column is named twice in groups")
        decided = self.prediction is not None or self.score is not None
        if not decided and self.rank is None and self.candidates is None and \
                not self.measures:
            problems.append("no decision; give --prediction COLUMN, or --score COLUMN "
                            "with --threshold (or --rank COLUMN for a shortlist, or "
                            "--measure COLUMN for a per-row number)")
        problems += numeric_problems(self)
        decided = decided and self.task == "binary"
        if self.ranges and not decided:
            problems.append("range checks need a decision; give --prediction COLUMN or "
                            "--score COLUMN")
        problems += self._k_problems()
        problems += _task_problems(self)
        problems += self._cutoff_problems()
        if not (isinstance(self.threshold, (int, float)) and not isinstance(self.threshold, bool)
                and 0.0 <= self.threshold <= 1.0):
            problems.append(f"{self._origin('threshold')} {self.threshold!r} is not a number "
                            "in [0, 1]; give a decision threshold such as 0.5")
        if isinstance(self.min_group_size, bool) or not isinstance(self.min_group_size, int) \
                or self.min_group_size < 1:
            problems.append(f"{self._origin('min_group_size')} {self.min_group_size!r} must be "
                            "a whole number >= 1")
        roles = [c for c in (self.label, self.prediction, self.score, self.rank,
                             self.candidates, self.weight,
                             *(self.measures if isinstance(self.measures, tuple) else ()))
                 if c is not None]
        for g in self.groups:
            if g in roles:
                problems.append(f"column '{g}' cannot be both a group and a label, "
                                "prediction, score, rank or measure")
        problems += _reference_problems(self)
        problems += self._intersect_problems()
        problems += _strata_problems(self, roles)
        for gate in self.gates:
            problems += _gate_problems(gate, self)
        features = [r.feature for r in self.ranges]
        if len(set(features)) != len(features):
            problems.append("a feature has two ranges")
        for range_gate in self.range_gates:
            problems += range_gate.problems(self.ranges)
        problems += _statistics_problems(self)
        m = self.max_groups
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            problems.append(f"{self._origin('max_groups')} {m!r} must be a whole number >= 1")
        problems += _engine_problems(self)
        problems += _csv_problems(self)
        problems += baseline_problems(self, self._origin)
        has_baseline = self.baseline_prediction is not None or self.baseline_score is not None
        for cgate in self.comparison_gates:
            problems += comparison_problems(cgate, self._gate_origin(cgate.kind, cgate.key),
                                            self.groupings, has_baseline)
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def groupings(self) -> tuple[tuple[str, ...], ...]:
        """The column sets the audit reports: each group column, then the intersections."""
        singles = tuple((g,) for g in self.groups)
        if self.intersect:
            return singles + self.intersect
        if self.intersections and len(self.groups) > 1:
            return (*singles, tuple(self.groups))
        return singles

    def _intersect_problems(self) -> list[str]:
        out = []
        where = self._origin("intersect")
        seen: set[frozenset[str]] = set()
        for columns in self.intersect:
            name = "&".join(columns)
            unknown = [c for c in columns if c not in self.groups]
            if len(set(columns)) < 2 or len(set(columns)) != len(columns):
                out.append(f"{where} {','.join(columns)}: an intersection crosses two or more "
                           "different group columns, such as race,sex")
            elif unknown:
                out.append(f"{where} {','.join(columns)}: '{unknown[0]}' is not a group column "
                           f"(groups: {', '.join(self.groups) or 'none'}); add it with --group")
            elif frozenset(columns) in seen:
                out.append(f"{where}: {name} is named twice")
            seen.add(frozenset(columns))
        if self.intersect and not self.intersections:
            out.append("--no-intersections and --intersect contradict each other; give one")
        return out

    def _k_problems(self) -> list[str]:
        ks = self.k
        if not isinstance(ks, tuple) or not ks or any(
                isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= MAX_RANK
                for x in ks):
            return [f"{self._origin('k')} {list(ks) if isinstance(ks, tuple) else ks!r} must be "
                    f"whole numbers from 1 to {MAX_RANK}, such as 1,3,5"]
        return []

    def _gate_origin(self, kind: str, key: str) -> str:
        """Where a gate was given, as a person would find it."""
        source = self.sources.get(f"gates.{kind}.{key}", "command line")
        if source == "command line":
            return f"--{kind.replace('_', '-')} {key}"
        if source == API:
            return f"{API}: {kind}[{key!r}]"
        return f"{source}: gates.{kind}.{key}"

    def _cutoff_problems(self) -> list[str]:
        from .kinds.cutoffs import cutoff_gate_problems, threshold_problems, top_problems

        out = threshold_problems(self.thresholds, self._origin("thresholds")) + top_problems(
            self.select_top, self._origin("select_top"))
        if (self.thresholds or self.select_top) and self.score is None:
            out.append("--thresholds and --select-top decide from a score; give --score COLUMN")
        if not isinstance(self.score_figures, bool):
            out.append(f"{self._origin('score_figures')} {self.score_figures!r} must be true "
                       "or false")
        if not out:
            out += cutoff_gate_problems(self.gates, self.thresholds, self.select_top)
        return out

    def _origin(self, name: str) -> str:
        """How a person would find the setting ``name``: its flag, or its key in a file."""
        source = self.sources.get(name, "default")
        if source == "command line":
            return "--" + name.replace("_", "-")
        if source == API:
            return f"{API}: {name}="
        if source == "default":
            return name
        return f"{source}: {name}"

    @property
    def csv_dialect(self) -> CsvDialect:
        """How the CSV inputs are read."""
        return CsvDialect(self.delimiter, self.decimal)

    @property
    def roles(self) -> Roles:
        return Roles(groups=self.groups, label=self.label, prediction=self.prediction,
                     score=self.score, threshold=float(self.threshold),
                     positive_label=self.positive_label,
                     features=tuple(r.feature for r in self.ranges))

    def as_dict(self) -> dict[str, Any]:
        """The resolved values, for reports (sources are given apart)."""
        out: dict[str, Any] = {
            "inputs": [printable(p) for p in self.inputs],  # a name need not be UTF-8
            "label": self.label,
            "prediction": self.prediction,
            "score": self.score,
            "threshold": self.threshold,
            "positive_label": self.positive_label,
            "groups": list(self.groups),
            "reference": dict(self.reference),
            "intersections": self.intersections,
            **({"intersect": [list(c) for c in self.intersect]} if self.intersect else {}),
            **({"strata": list(self.strata)} if self.strata else {}),
            "min_group_size": self.min_group_size,
            "interval": self.interval,
            "confidence": self.confidence,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "adjust": self.adjust,
            "decide": self.decide,
            "fail_on_inconclusive": self.fail_on_inconclusive,
            "digest": self.digest,
            "delimiter": self.delimiter,
            "decimal": self.decimal,
            "gates": {
                kind: {g.key: g.threshold for g in self.gates if g.kind == kind}
                for kind in GATE_KINDS
            },
        }
        if self.rank is not None:
            out["rank"], out["k"] = self.rank, list(self.k)
        if self.candidates is not None:
            out["candidates"], out["k"] = self.candidates, list(self.k)
        if self.task != "binary":  # only when given: the digests of other audits stay
            out["task"] = self.task
        if self.classes:
            out["classes"] = list(self.classes)
        if self.measures:
            out["measures"] = list(self.measures)
        if self.weight is not None:
            out["weight"] = self.weight
        if self.entropy_alpha != 2.0:  # the default is left out, so digests stay as they were
            out["entropy_alpha"] = self.entropy_alpha
        if self.thresholds:
            out["thresholds"] = list(self.thresholds)
        if self.select_top:
            out["select_top"] = list(self.select_top)
        if self.score is not None:
            out["score_figures"] = self.score_figures
        if self.ranges:
            out["ranges"] = {r.feature: r.as_dict() for r in self.ranges}
        if self.range_gates:
            out["gates"]["max_out_of_range"] = {g.key: g.threshold for g in self.range_gates}
        for key in ("baseline_prediction", "baseline_score", "baseline_threshold"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for kind in COMPARISON_KINDS:
            chosen = {g.key: g.threshold for g in self.comparison_gates if g.kind == kind}
            if chosen:
                out["gates"][kind] = chosen
        if self.engine != "in-process":  # how the counts were made, not what they are
            out.update(engine=self.engine, scheduler=self.scheduler, workers=self.workers)
        return out


def _unknown_criterion(name: str) -> str | None:
    """None for a criterion a gate can name; else a hint naming the closest one."""
    if gateable(name):
        return None
    criteria = [c.name for c in declared_criteria()]
    metrics = [m.name for kind in registered() for m in kind.declared_metrics]
    near = closest(name, list(dict.fromkeys([*criteria, *metrics])))
    if near:
        return f"did you mean '{near}'?"
    return "criteria: " + ", ".join(criteria) + ", or the name of any metric (docs/reference.md)"


def _task_problems(cfg: AuditConfig) -> list[str]:
    """Settings of a multiclass audit, and of a shortlist given as candidate lists."""
    from .kinds.settings import task_problems

    return task_problems(cfg, cfg._origin)


def _statistics_problems(cfg: AuditConfig) -> list[str]:
    out = []
    for key, allowed in (("interval", INTERVALS), ("adjust", ADJUSTMENTS),
                         ("decide", DECISIONS)):
        value = getattr(cfg, key)
        if value not in allowed:
            out.append(f"{key} {value!r} is not one of: {', '.join(allowed)}")
    c = cfg.confidence
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 < c < 1.0:
        out.append(f"confidence {c!r} must be a number between 0 and 1, such as 0.95")
    for key in ("bootstrap", "seed"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            out.append(f"{key} {value!r} must be a whole number >= 0")
    if isinstance(cfg.bootstrap, int) and cfg.bootstrap > MAX_BOOTSTRAP:
        out.append(f"bootstrap {cfg.bootstrap:,} replicates is more than {MAX_BOOTSTRAP:,}; the "
                   "intervals settle long before (1,000 is the default)")
    a = cfg.entropy_alpha
    if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a):
        out.append(f"{cfg._origin('entropy_alpha')} {a!r} must be a finite number, such as 2 "
                   "(1 is the Theil index)")
    if cfg.decide != "point" and cfg.bootstrap == 0 and (cfg.gates or cfg.comparison_gates):
        out.append(f"decide {cfg.decide!r} judges gates by their bootstrap interval; set "
                   "bootstrap to a number of replicates such as 1000, or decide = 'point'")
    return out


def _engine_problems(cfg: AuditConfig) -> list[str]:
    if cfg.engine not in ENGINES:
        return [f"{cfg._origin('engine')} {cfg.engine!r} is not one of: {', '.join(ENGINES)}"]
    out = []
    w = cfg.workers
    if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
        out.append(f"{cfg._origin('workers')} {w!r} must be a whole number >= 1")
    s = cfg.scheduler
    if s is not None and (not isinstance(s, str) or not s.strip() or any(c.isspace() for c in s)):
        out.append(f"{cfg._origin('scheduler')} {s!r} is not an address; give one such as "
                   "tcp://scheduler:8786")
    if cfg.engine != "dask":
        for key in ("scheduler", "workers"):
            if getattr(cfg, key) is not None:
                out.append(f"{cfg._origin(key)} is a setting of the Dask engine; add "
                           "--engine dask (config: engine = 'dask'), or leave it out")
    elif s is not None and w is not None:
        out.append(f"{cfg._origin('workers')} sets the size of the local cluster started "
                   f"when there is no scheduler, and {cfg._origin('scheduler')} is given; "
                   "leave one of them out")
    return out


def _csv_problems(cfg: AuditConfig) -> list[str]:
    out = []
    d = cfg.delimiter
    if d is not None and (not isinstance(d, str) or len(d) != 1 or d in "\"\r\n"):
        out.append(f"{cfg._origin('delimiter')} {printable(repr(d))} is not one character; "
                   "give the field separator, such as ',', ';', '|' or tab")
    if cfg.decimal not in (".", ","):
        out.append(f"{cfg._origin('decimal')} {printable(repr(cfg.decimal))} is not '.' or "
                   "','; give the decimal mark of the CSV's numbers")
    return out


def _strata_problems(cfg: AuditConfig, roles: Sequence[str]) -> list[str]:
    where = cfg._origin("strata")
    out = []
    if len(set(cfg.strata)) != len(cfg.strata):
        out.append(f"{where}: a stratum column is named twice")
    for column in dict.fromkeys(cfg.strata):
        if column in cfg.groups:
            out.append(f"{where}: column '{column}' cannot be both a group and a stratum; "
                       "a stratum is compared within, a group across")
        elif column in roles:
            out.append(f"{where}: column '{column}' cannot be both a stratum and a label, "
                       "prediction, score or rank")
    return out


def _gate_problems(gate: GateSpec, cfg: AuditConfig) -> list[str]:
    source = cfg.sources.get(f"gates.{gate.kind}.{gate.key}", "command line")
    if source == "command line":
        where = f"--{gate.kind.replace('_', '-')} '{gate.key}={gate.threshold:g}'"
    elif source == API:
        where = f"{API}: {gate.kind}[{gate.key!r}]"
    else:
        where = f"{source}: gates.{gate.kind}.{gate.key}"
    out = []
    if gate.criterion.startswith(STRATIFIED) and gateable(gate.criterion):
        if not cfg.strata:
            out.append(f"{where}: {gate.criterion} needs strata; give --stratum COLUMN")
        if gate.kind != "max_gap":
            out.append(f"{where}: pooled figures within strata are differences; gate them "
                       "with --max-gap")
    if gate.criterion == RANGE_COVERAGE:
        if not cfg.ranges:
            out.append(f"{where}: range_coverage needs ranges; declare them "
                       "in [ranges] or with --range FEATURE=MIN:MAX")
    elif (hint := _unknown_criterion(gate.criterion)) is not None:
        out.append(f"{where}: unknown criterion '{gate.criterion}'; {hint}")
    elif gate.kind == "min_ratio" and not has_ratio(gate.criterion):
        out.append(f"{where}: '{gate.criterion}' has no ratio form; bound it with "
                   f"--max-gap '{gate.key}=...'")
    t = gate.threshold
    if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t):
        out.append(f"{where}: threshold {t!r} is not a number")
    elif math.isinf(t):
        out.append(f"{where}: threshold {t:g} is not a finite number; a gate needs a bound")
    elif gate.kind == "max_gap" and t < 0:
        out.append(f"{where}: threshold {t:g} must be >= 0 (the largest allowed difference)")
    elif gate.kind == "max_gap" and t > 1 and not is_numeric_metric(gate.criterion):
        out.append(f"{where}: threshold {t:g} is above 1, so the gate could never fail (rates "
                   f"differ by at most 1); write a share, such as {t / 100:g} for {t:g}%")
    elif gate.kind == "min_ratio" and not 0 <= t <= 1:
        out.append(f"{where}: threshold {t:g} must be in [0, 1] (the smallest allowed ratio)")
    if gate.grouping is not None:
        wanted = set(gate.grouping.split("&"))
        if not any(set(g) == wanted for g in cfg.groupings):
            shown = ", ".join("&".join(g) for g in cfg.groupings) or "none"
            out.append(f"{where}: no grouping '{gate.grouping}' (groupings: {shown}; an "
                       "intersection is written race&sex, its columns in any order)")
    return out


def _reference_problems(cfg: AuditConfig) -> list[str]:
    """A reference names a group column, or an intersection of them (``race&sex``, its
    columns in any order); one reference a grouping."""
    out = []
    where = cfg._origin("reference")
    for column, _ in cfg.reference:
        if "&" not in column and column not in cfg.groups:
            out.append(f"{where} '{column}' is not a group column "
                       f"(groups: {', '.join(cfg.groups) or 'none'}); name one of them")
        elif "&" in column and not any(len(g) > 1 and sorted(g) == sorted(column.split("&"))
                                       for g in cfg.groupings):
            shown = ", ".join("&".join(g) for g in cfg.groupings if len(g) > 1) or "none"
            out.append(f"{where} '{column}' is no intersection of the audit (intersections: "
                       f"{shown}); name one, its columns in any order")
    named = ["&".join(sorted(column.split("&"))) for column, _ in cfg.reference]
    for column in dict.fromkeys(c for c in named if named.count(c) > 1):
        values = ", ".join(v for (_, v), c in zip(cfg.reference, named, strict=True)
                           if c == column)
        out.append(f"{where} names two reference groups for '{column}' ({values}); give one")
    return out


# -- parsing flag values ------------------------------------------------------


def parse_keyed(text: str, flag: str, example: str) -> tuple[str | None, str, float]:
    """``[GROUPING:]CRITERION=VALUE`` as (grouping or None, criterion, value), each stripped."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UsageError(f"{flag} {text!r}: write CRITERION=VALUE, for example {flag} {example}")
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: {value.strip()!r} is not a number") from None
    grouping, criterion = split_key(name)
    return grouping, criterion, number


def parse_gate(text: str, kind: GateKind) -> GateSpec:
    """``CRITERION=VALUE`` or ``GROUPING:CRITERION=VALUE``."""
    grouping, criterion, threshold = parse_keyed(text, "--" + kind.replace("_", "-"),
                                                 "equalized_odds=0.1")
    return GateSpec(kind, criterion, threshold, grouping)


def parse_threshold(text: str, flag: str = "--threshold") -> float:
    """A decision threshold in [0, 1]; parsed here so that a bad value is one plain line."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: not a number; give a value in [0, 1] "
                         "such as 0.5") from None
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{flag} {text}: outside [0, 1]; give a value in [0, 1] "
                         "such as 0.5")
    return value


def parse_comparison_gate(text: str, kind: ComparisonKind) -> ComparisonGate:
    """``[GROUPING:]NAME=VALUE`` for ``--max-increase`` and ``--max-drop``."""
    example = "equalized_odds=0.02" if kind == "max_increase" else "tpr=0.05"
    grouping, name, value = parse_keyed(text, "--" + kind.replace("_", "-"), example)
    return ComparisonGate(kind, name, value, grouping)


def parse_cutoffs(text: str) -> tuple[int, ...]:
    """``1,3,5``: the top-k cutoffs."""
    try:
        ks = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--k {text!r}: write whole numbers separated by commas, for "
                         "example --k 1,3,5") from None
    return tuple(dict.fromkeys(ks))


def parse_classes(text: str) -> tuple[str, ...]:
    """``low,medium,high``: the classes of a multiclass audit, each stripped."""
    return tuple(part.strip() for part in text.split(","))


def parse_reference(text: str) -> tuple[str, str]:
    column, sep, value = text.partition("=")
    if not sep or not column:
        raise UsageError(f"--reference {text!r}: write COLUMN=VALUE, for example "
                         "--reference race=Caucasian")
    return column, value


# -- files ----------------------------------------------------------------------

_KEYS: dict[str, type | tuple[type, ...]] = {
    "inputs": list, "label": str, "prediction": str, "score": str, "threshold": (int, float),
    "positive_label": (str, int, float, bool), "rank": str, "k": list, "groups": list,
    "candidates": str, "task": str, "classes": list, "measures": list, "weight": str,
    "thresholds": list, "select_top": list, "score_figures": bool,
    "reference": dict,
    "intersections": bool, "intersect": list, "min_group_size": int, "gates": dict, "ranges": dict,
    "interval": str, "confidence": (int, float), "bootstrap": int, "seed": int, "adjust": str,
    "decide": str, "fail_on_inconclusive": bool, "digest": bool, "entropy_alpha": (int, float),
    "engine": str, "scheduler": str, "workers": int, "delimiter": str, "decimal": str,
    "strata": list,
    "baseline_prediction": str, "baseline_score": str, "baseline_threshold": (int, float),
    "max_groups": int,
}
_EXPECTED = {
    "inputs": "a list of paths", "label": "a column name", "prediction": "a column name",
    "score": "a column name", "threshold": "a number in [0, 1]",
    "positive_label": "a value", "rank": "a column name (1-based position of the true item)",
    "k": "a list of whole numbers (the top-k cutoffs)", "groups": "a list of column names",
    "candidates": "a column name (a list of the model's ranked candidates)",
    "task": "'binary', 'multiclass' or 'regression' (a numeric label and prediction)",
    "classes": "a list of class values",
    "measures": "a list of column names (per-row numbers whose mean is audited)",
    "weight": "a column name (sample weights: finite numbers >= 0)",
    "thresholds": "a list of numbers in [0, 1] (decision thresholds)",
    "select_top": "a list of cutoffs such as [\"100\", \"10%\"]",
    "score_figures": "true or false",
    "reference": "a table of COLUMN = VALUE (\"race&sex\" = [\"Caucasian\", \"Male\"] for an "
                 "intersection)",
    "intersections": "true or false",
    "intersect": "a list of lists of group columns, such as [[\"race\", \"sex\"]]",
    "min_group_size": "a whole number", "gates": "a table holding max_gap and min_ratio tables",
    "ranges": "a table of FEATURE = { min = ..., max = ... } or { allowed = [...] }",
    "interval": "'wilson' or 'clopper-pearson'", "confidence": "a number between 0 and 1",
    "bootstrap": "a whole number of replicates", "seed": "a whole number",
    "adjust": "'holm' or 'bh'", "decide": "'point', 'confident-fail' or 'confident-pass'",
    "fail_on_inconclusive": "true or false", "digest": "true or false",
    "entropy_alpha": "a number (the generalized entropy index's alpha, such as 2)",
    "engine": "'in-process' or 'dask' (the counting runs on a Dask cluster: docs/scale.md)",
    "scheduler": "the address of a Dask scheduler, such as 'tcp://scheduler:8786' "
                 "(default: $DASK_SCHEDULER_ADDRESS, else a local cluster is started)",
    "workers": "a whole number of worker processes for the local cluster "
               "(default: one a core)",
    "delimiter": "one character separating the fields of CSV inputs, such as ';' or tab "
                 "(default: a comma, a tab for .tsv)",
    "decimal": "the decimal mark of numbers in CSV inputs, '.' or ','",
    "strata": "a list of column names (their combinations are the strata)",
    "baseline_prediction": "a column name (the decision of the model to compare with)",
    "baseline_score": "a column name (the score of the model to compare with, in [0, 1])",
    "baseline_threshold": "a number in [0, 1] (thresholds baseline_score)",
    "max_groups": "a whole number of distinct values a group column may hold (default "
                  "100,000)",
}


def find_config(directory: str = ".") -> str | None:
    """``fairaudit.toml``, else a ``pyproject.toml`` with ``[tool.fairaudit]``."""
    candidate = os.path.join(directory, "fairaudit.toml")
    if os.path.isfile(candidate):
        return candidate
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError):
            return None
        if isinstance(data.get("tool"), dict) and "fairaudit" in data["tool"]:
            return pyproject
    return None


def load_file(path: str) -> dict[str, Any]:
    """The settings in a config file, checked key by key (report settings included:
    :mod:`fairaudit.report_settings`)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("fairaudit", {})
        prefix = "tool.fairaudit."
    else:
        prefix = ""
    # report paths, quiet and progress: for the command line, never part of the audit
    data, reports = report_settings.split(data, path, prefix)
    return {**check_values(data, path, prefix), **reports}


def check_values(data: dict[str, Any], path: str, prefix: str = "") -> dict[str, Any]:
    """Settings read from a file (a config file, or an audit of a batch spec), checked key
    by key; ``prefix`` is where they sit in the file, for messages."""
    for key, value in data.items():
        if key not in _KEYS:
            near = closest(key, list(_KEYS))
            hint = f"did you mean '{near}'?" if near else "known keys: " + ", ".join(_KEYS)
            raise ConfigError(f"{path}: unknown key '{prefix}{key}'; {hint}")
        numeric = ("threshold", "min_group_size", "confidence", "bootstrap", "seed", "workers",
                   "baseline_threshold", "max_groups", "entropy_alpha")
        if not isinstance(value, _KEYS[key]) or (key in numeric and isinstance(value, bool)):
            raise ConfigError(f"{path}: key '{prefix}{key}' must be {_EXPECTED[key]}, not "
                              f"{_toml_type(value)} {value!r}")
    for key in ("inputs", "groups", "strata"):
        if key in data and not all(isinstance(v, str) for v in data[key]):
            raise ConfigError(f"{path}: key '{prefix}{key}' must be a list of strings")
    if "intersect" in data and not all(
            isinstance(c, list) and all(isinstance(v, str) for v in c) for c in data["intersect"]):
        raise ConfigError(f"{path}: key '{prefix}intersect' must be {_EXPECTED['intersect']}")
    for key, value in data.get("reference", {}).items():
        if not isinstance(value, (str, int, float, bool)) and not (
                "&" in key and isinstance(value, list)
                and all(isinstance(v, (str, int, float, bool)) for v in value)):
            raise ConfigError(f"{path}: key '{prefix}reference.{key}' must be a value (for an "
                              "intersection, a list of values such as [\"Caucasian\", \"Male\"])")
    gates = data.get("gates", {})
    for kind, table in gates.items():
        if kind == "max_out_of_range":
            continue  # a share, or a table of them; checked when built
        if kind not in GATE_KINDS + COMPARISON_KINDS:
            near = closest(kind, [*GATE_KINDS, *COMPARISON_KINDS])
            hint = f"did you mean '{near}'?" if near else "known: max_gap, min_ratio"
            raise ConfigError(f"{path}: unknown key '{prefix}gates.{kind}'; {hint}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: key '{prefix}gates.{kind}' must be a table "
                              "of CRITERION = VALUE")
        for key, threshold in table.items():
            criterion = split_key(key)[1]
            if kind in COMPARISON_KINDS:
                pass  # checked when built, where a metric and a criterion are told apart
            elif (advice := _unknown_criterion(criterion)) is not None:
                raise ConfigError(f"{path}: unknown criterion '{criterion}' in key "
                                  f"'{prefix}gates.{kind}.{key}'; {advice}")
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise ConfigError(f"{path}: key '{prefix}gates.{kind}.{key}' must be a number, "
                                  f"not {_toml_type(threshold)} {threshold!r}")
    return data


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "text", list: "array",
             dict: "table"}
    return names.get(type(value), type(value).__name__)


def build(file_values: Mapping[str, Any], file_path: str | None,
          flags: Mapping[str, Any], given: str = "command line") -> AuditConfig:
    """Merge defaults, the config file and the flags that were given (not None).

    ``given`` says where the flags come from, for messages: the command line,
    or ``audit()`` for the keyword arguments of the Python API.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    origin = printable(file_path) if file_path else "config file"
    plain = [f.name for f in fields(AuditConfig)
             if f.name not in ("gates", "sources", "ranges", "range_gates", "comparison_gates")]
    for name in plain:
        if name in flags and flags[name] is not None:
            values[name], sources[name] = flags[name], given
        elif name in file_values:
            values[name], sources[name] = file_values[name], origin
        else:
            sources[name] = "default"
    for name in ("groups", "inputs", "k", "classes", "measures", "thresholds", "strata"):
        if name in values:
            values[name] = tuple(values[name])
    if "classes" in values:
        values["classes"] = tuple(_text(c) for c in values["classes"])
    if "select_top" in values and isinstance(values["select_top"], (list, tuple)):
        values["select_top"] = tuple(str(v) for v in values["select_top"])
    if "intersect" in values:
        values["intersect"] = tuple(tuple(c) for c in values["intersect"])
    if file_path and sources.get("inputs") == origin:
        # paths in a config file mean the same wherever fairaudit is started from
        base = os.path.dirname(file_path)
        values["inputs"] = tuple(os.path.normpath(os.path.join(base, os.path.expanduser(p)))
                                 for p in values["inputs"])
    if "reference" in values:
        ref = values["reference"]
        pairs = ref.items() if isinstance(ref, Mapping) else ref
        values["reference"] = tuple(
            (str(k), "&".join(map(_text, v)) if isinstance(v, (list, tuple)) else _text(v))
            for k, v in pairs)
    if "positive_label" in values:
        values["positive_label"] = _text(values["positive_label"])
    if isinstance(values.get("delimiter"), str):
        values["delimiter"] = parse_delimiter(values["delimiter"])

    gates: dict[tuple[str, str], GateSpec] = {}
    range_gates: dict[str | None, RangeGate] = {}
    compared: dict[tuple[str, str], ComparisonGate] = {}
    for kind, table in file_values.get("gates", {}).items():
        if kind in COMPARISON_KINDS:
            for cgate in comparison_gates_from(kind, table, origin):
                compared[(kind, cgate.key)] = cgate
                sources[f"gates.{kind}.{cgate.key}"] = origin
            continue
        if kind == "max_out_of_range":
            for gate in gates_from_file(table, origin):
                range_gates[gate.feature] = gate
                sources[f"gates.max_out_of_range.{gate.key}"] = origin
            continue
        for key, threshold in table.items():
            spec = _from_file(kind, key, threshold, origin)
            gates[(kind, spec.key)] = spec
            sources[f"gates.{kind}.{spec.key}"] = origin
    for spec in flags.get("gates") or ():
        gates[(spec.kind, spec.key)] = spec
        sources[f"gates.{spec.kind}.{spec.key}"] = given
    values["gates"] = tuple(gates.values())
    for gate in flags.get("range_gates") or ():
        range_gates[gate.feature] = gate
        sources[f"gates.max_out_of_range.{gate.key}"] = given
    values["range_gates"] = tuple(range_gates.values())
    for cgate in flags.get("comparison_gates") or ():
        compared[(cgate.kind, cgate.key)] = cgate
        sources[f"gates.{cgate.kind}.{cgate.key}"] = given
    values["comparison_gates"] = tuple(compared.values())

    # ranges: the flags replace the file's range of the same feature
    ranges: dict[str, RangeSpec] = {}
    if "ranges" in file_values:
        prefix = "tool.fairaudit." if os.path.basename(origin) == "pyproject.toml" else ""
        for declared in specs_from_table(file_values["ranges"], origin, prefix):
            ranges[declared.feature] = declared
            sources[f"ranges.{declared.feature}"] = origin
    for declared in flags.get("ranges") or ():
        ranges[declared.feature] = declared
        sources[f"ranges.{declared.feature}"] = declared.source
    values["ranges"] = tuple(ranges.values())
    values.setdefault("groups", ())
    # Dask's own variable names the scheduler when neither the flags nor the file do
    address = os.environ.get("DASK_SCHEDULER_ADDRESS", "").strip()
    if values.get("engine") == "dask" and "scheduler" not in values and address \
            and "workers" not in values:
        values["scheduler"], sources["scheduler"] = address, "DASK_SCHEDULER_ADDRESS"
    return AuditConfig(**values, sources=sources)


def _from_file(kind: str, key: str, threshold: Any, origin: str) -> GateSpec:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ConfigError(f"{origin}: gates.{kind}.{key} must be a number")
    grouping, criterion = split_key(key)
    return GateSpec(kind, criterion, float(threshold), grouping)  # type: ignore[arg-type]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
