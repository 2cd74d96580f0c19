"""The result of an audit: plain frozen data that reporters format and never change.

These types know nothing of how they were computed: every stage of the audit
fills them, and none of the code that computes them is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from . import collector
from .metrics import Criterion, Metric
from .rangespec import RangeSpec

MISSING = "(missing)"
SCHEMA_VERSION = 1

Status = Literal["pass", "fail", "inconclusive", "skipped"]
Verdict = Literal["pass", "fail", "inconclusive"]
# (low, high) at the audit's confidence level; None when the figure has no interval
Interval = tuple[float, float]


def show_value(value: Any) -> str:
    """A group value as people read it: a missing value is ``(missing)``."""
    return MISSING if value is None else str(value)


@dataclass(frozen=True)
class Rate:
    """One proportion. ``value`` is ``None`` when the denominator is 0, and ``reason`` says so.

    ``ci`` is its confidence interval (Wilson or Clopper-Pearson).
    """

    value: float | None
    numerator: int
    denominator: int
    reason: str | None = None
    ci: Interval | None = None


def _interval(pair: list[float] | None) -> Interval | None:
    return None if pair is None else (pair[0], pair[1])


def rate(value: float | None, numerator: int, denominator: int, ci: list[float] | None,
         undefined: str) -> Rate:
    """A rate from its columns: an undefined value (``None``) comes with its reason."""
    if value is None:
        return Rate(None, numerator, denominator, undefined)
    return Rate(value, numerator, denominator, None, _interval(ci))


@dataclass(frozen=True)
class Comparison:
    """A group's metric set against the reference group's."""

    difference: float | None
    ratio: float | None
    ci_difference: Interval | None = None
    ci_ratio: Interval | None = None


@dataclass(frozen=True)
class Exclusion:
    """A group left out of a gap: too small to judge, or its rate undefined.

    ``count`` is the group's rows and ``denominator`` the metric's denominator
    in it (for a criterion, that of the metric which excluded it).
    """

    group: str
    reason: str
    count: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class Gap:
    """The spread of one metric (or criterion) over the groups eligible for it.

    ``ci_difference`` and ``ci_ratio`` are bootstrap intervals; ``p_value``
    tests that the rate is the same in every eligible group, and
    ``p_adjusted`` corrects it for all the tests of the audit.
    """

    difference: float | None
    ratio: float | None
    groups_used: int
    excluded: tuple[Exclusion, ...] = ()
    reason: str | None = None
    ci_difference: Interval | None = None
    ci_ratio: Interval | None = None
    p_value: float | None = None
    p_adjusted: float | None = None


@dataclass(frozen=True)
class GroupResult:
    key: dict[str, Any]
    label: str
    count: int
    share: float
    small: bool
    dropped: dict[str, int]
    metrics: dict[str, Rate]
    versus_reference: dict[str, Comparison]
    is_reference: bool


@dataclass(frozen=True)
class GroupFigures:
    """Every group of a grouping as columns: entry ``i`` of each list is group ``i``.

    A 10,000-level column has 240,000 rates and comparisons; kept as columns
    they cost a few list conversions, and a report that lists every group (the
    JSON) reads them from here. :meth:`group` builds one group's result.
    ``value[i][j]`` is group ``i``'s rate of metric ``metrics[j]``, ``None``
    where its denominator is 0 (``reasons[j]`` says why); ``ci`` holds an
    interval as a ``[low, high]`` list (as the JSON writes it) or ``None``; the
    ``versus_*`` lists compare with the reference. ``eligible[i][j]`` says
    whether group ``i`` counts in the gap of metric ``j`` (big enough, with a
    denominator big enough).
    """

    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    reasons: tuple[str, ...]
    drop_reasons: tuple[str, ...]
    keys: list[tuple[Any, ...]]
    labels: list[str]
    counts: list[int]
    shares: list[float]
    small: list[bool]
    dropped: list[list[int]]
    value: list[list[float | None]]
    numerator: list[list[int]]
    denominator: list[list[int]]
    ci: list[list[list[float] | None]]
    versus_difference: list[list[float | None]]
    versus_ratio: list[list[float | None]]
    versus_difference_ci: list[list[list[float] | None]]
    versus_ratio_ci: list[list[list[float] | None]]
    eligible: list[list[bool]]
    reference: int

    def __len__(self) -> int:
        return len(self.labels)

    def rate(self, i: int, j: int) -> Rate:
        return rate(self.value[i][j], self.numerator[i][j], self.denominator[i][j],
                    self.ci[i][j], self.reasons[j])

    def group(self, i: int) -> GroupResult:
        return GroupResult(
            key=dict(zip(self.columns, self.keys[i], strict=True)),
            label=self.labels[i],
            count=self.counts[i],
            share=self.shares[i],
            small=self.small[i],
            dropped=dict(zip(self.drop_reasons, self.dropped[i], strict=True)),
            metrics={m: self.rate(i, j) for j, m in enumerate(self.metrics)},
            versus_reference={m: Comparison(d, r, _interval(dci), _interval(rci))
                              for m, d, r, dci, rci in zip(
                self.metrics, self.versus_difference[i], self.versus_ratio[i],
                self.versus_difference_ci[i], self.versus_ratio_ci[i], strict=True)},
            is_reference=i == self.reference,
        )


@dataclass(frozen=True)
class GroupingResult:
    name: str
    columns: tuple[str, ...]
    figures: GroupFigures
    overall: dict[str, Rate]
    reference: str
    reference_rule: Literal["given", "largest group"]
    gaps: dict[str, Gap]
    criteria: dict[str, Gap]

    @cached_property
    def groups(self) -> tuple[GroupResult, ...]:
        """Every group's result, built on first use from :attr:`figures`."""
        with collector.held_off():
            return tuple(self.figures.group(i) for i in range(len(self.figures)))


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict. A ``max_out_of_range`` gate also names its feature and worst group."""

    grouping: str
    criterion: str
    kind: Literal["max_gap", "min_ratio", "max_out_of_range", "max_increase", "max_drop"]
    threshold: float
    value: float | None
    status: Status
    reason: str | None = None
    feature: str | None = None
    group: str | None = None
    ci: Interval | None = None
    rule: str = "point"

    @property
    def sentence(self) -> str:
        """One line a person can read: what was measured against what."""
        value = "undefined" if self.value is None else f"{self.value:.4f}"
        if self.ci is not None:
            value += f" [{self.ci[0]:.4f}, {self.ci[1]:.4f}]"
        if self.kind == "max_out_of_range":
            where = f"{self.grouping} = {self.group}" if self.group else f"any {self.grouping}"
            text = (f"share of {self.feature} values out of range in {where}: {value}, "
                    f"must be at most {self.threshold:g}")
        elif self.kind in ("max_increase", "max_drop"):
            text = comparison_sentence(self, value)
        else:
            what = "gap" if self.kind == "max_gap" else "ratio"
            bound = "at most" if self.kind == "max_gap" else "at least"
            name = self.criterion.replace("_", " ")
            text = (f"{name} {what} across {self.grouping}: {value}, "
                    f"must be {bound} {self.threshold:g}")
        notes = ([f"rule {self.rule}"] if self.rule != "point" else []) + \
            ([self.reason] if self.reason else [])
        return text + (f" ({': '.join(notes)})" if notes else "")


def comparison_sentence(gate: GateResult, value: str) -> str:
    """What a candidate-versus-baseline gate measured, in words."""
    name = gate.criterion.replace("_", " ")
    if gate.kind == "max_increase":
        return (f"{name} gap across {gate.grouping}, candidate minus baseline: {value}, "
                f"must grow by at most {gate.threshold:g}")
    where = f"{gate.grouping} = {gate.group}" if gate.group else f"any {gate.grouping}"
    return (f"fall of {name} in {where}, baseline minus candidate: {value}, must be at most "
            f"{gate.threshold:g}")


# -- range checks ----------------------------------------------------------------------

# The shares of a feature, in the order FeatureCheck.intervals and the interval
# arrays of one grouping hold them.
SHARES = ("outside", "below", "above", "not_allowed", "missing")


@dataclass(frozen=True)
class FeatureCheck:
    """One feature's range states in one group. Outside shares are over the known values.

    ``intervals`` holds each share's confidence interval, by share name
    (``SHARES``), computed with the audit's interval method and level.
    """

    feature: str
    rows: int
    inside: int
    below: int
    above: int
    not_allowed: int
    missing: int
    intervals: Mapping[str, Interval] = field(default_factory=dict, compare=False)

    @property
    def known(self) -> int:
        return self.rows - self.missing

    @property
    def outside(self) -> int:
        return self.below + self.above + self.not_allowed

    def _share(self, name: str, count: int) -> Rate:
        if self.known == 0:
            return Rate(None, count, 0, "no known values")
        return Rate(count / self.known, count, self.known, ci=self.intervals.get(name))

    @property
    def outside_share(self) -> Rate:
        return self._share("outside", self.outside)

    @property
    def below_share(self) -> Rate:
        return self._share("below", self.below)

    @property
    def above_share(self) -> Rate:
        return self._share("above", self.above)

    @property
    def not_allowed_share(self) -> Rate:
        return self._share("not_allowed", self.not_allowed)

    @property
    def missing_share(self) -> Rate:
        if self.rows == 0:
            return Rate(None, self.missing, 0, "no rows")
        return Rate(self.missing / self.rows, self.missing, self.rows,
                    ci=self.intervals.get("missing"))


@dataclass(frozen=True)
class RangeGroup:
    """Range checks for one group: every row read, including rows dropped from the metrics.

    ``coverage`` is the share of rows inside every range among the rows whose
    standing is known (inside every range, or outside at least one); ``unknown``
    counts rows outside no range but missing some value.
    """

    key: dict[str, Any]
    label: str
    rows: int
    small: bool
    coverage: Rate
    trusted: int
    outside: int
    unknown: int
    features: dict[str, FeatureCheck]


@dataclass(frozen=True)
class RangeGrouping:
    name: str
    columns: tuple[str, ...]
    groups: tuple[RangeGroup, ...]
    coverage: Gap


@dataclass(frozen=True)
class RangeReport:
    specs: tuple[RangeSpec, ...]
    overall: RangeGroup
    groupings: tuple[RangeGrouping, ...]

    def grouping(self, name: str) -> RangeGrouping:
        for g in self.groupings:
            if g.name == name:
                return g
        raise KeyError(name)


@dataclass(frozen=True)
class StratumCell:
    """One stratum of a comparison: both sides' rates there, and their difference."""

    key: dict[str, Any]
    label: str
    group: Rate
    reference: Rate
    difference: float | None
    ci_difference: Interval | None
    sparse: bool  # a side has fewer than the audit's minimum group size in the denominator


@dataclass(frozen=True)
class StrataComparison:
    """One group against the reference on one metric, within strata.

    ``crude_difference`` is the group's rate minus the reference's over the
    rows with a known stratum; ``rate_part + composition_part`` is it exactly
    (Kitagawa). ``mh_*`` are the Mantel-Haenszel pooled figures; the p-values
    are the Cochran-Mantel-Haenszel test (no association within strata) and
    the Breslow-Day test (the odds ratio is the same in every stratum), each
    with its adjustment in the audit's family.
    """

    group: str
    reference: str
    metric: str
    small: bool
    crude_difference: float | None
    mh_difference: float | None
    ci_mh_difference: Interval | None
    mh_odds_ratio: float | None
    ci_mh_odds_ratio: Interval | None
    cmh_p_value: float | None
    breslow_day_p_value: float | None
    breslow_day_dof: int
    rate_part: float | None
    composition_part: float | None
    share_explained: float | None
    standardised_group: float | None
    standardised_reference: float | None
    standard_coverage: float
    simpson: bool
    strata_used: int
    strata_filled: int
    cells: tuple[StratumCell, ...]
    reason: str | None = None
    cmh_p_adjusted: float | None = None
    breslow_day_p_adjusted: float | None = None

    @property
    def standardised_difference(self) -> float | None:
        if self.standardised_group is None or self.standardised_reference is None:
            return None
        return self.standardised_group - self.standardised_reference


@dataclass(frozen=True)
class StrataGrouping:
    name: str
    columns: tuple[str, ...]
    reference: str
    strata: tuple[str, ...]
    comparisons: tuple[StrataComparison, ...]


@dataclass(frozen=True)
class StrataReport:
    """The figures within strata: the stratum columns and, per grouping, every comparison."""

    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: int  # rows with a known value in every stratum column
    rows_missing: int  # rows left out of the stratified figures: a stratum value missing
    sparse_below: int
    groupings: tuple[StrataGrouping, ...]

    def grouping(self, name: str) -> StrataGrouping:
        for g in self.groupings:
            if g.name == name:
                return g
        raise KeyError(name)


@dataclass(frozen=True)
class ClassGroup:
    """One group of a multiclass audit: its confusion matrix and macro averages.

    ``confusion[t][p]`` counts rows of true class ``t`` predicted ``p``, in the
    order of :attr:`ClassReport.classes` (then the pool of other classes, when
    there is one; ``pooled_right`` counts the pool's rows predicted as the very
    class they are). ``macro`` holds each ``macro_M`` (the mean of ``M[c]`` over
    the classes where it is defined, None where none is) and ``macro_ci`` its
    bootstrap percentile interval.
    """

    label: str
    count: int
    small: bool
    confusion: list[list[int]]
    pooled_right: int
    macro: dict[str, float | None]
    macro_ci: dict[str, Interval | None]


@dataclass(frozen=True)
class ClassReport:
    """The classes of a multiclass audit and, per grouping name, every group's matrix."""

    classes: tuple[str, ...]
    pooled: bool
    groupings: dict[str, tuple[ClassGroup, ...]]


@dataclass(frozen=True)
class Catalog:
    """The metrics and criteria an audit computed, in its order, and how reporters show them.

    Metrics come from every outcome kind of the audit; ``shown``, ``terminal``
    and ``charted`` name the metrics of the per-group tables (pages, then the
    terminal) and of the charts.
    """

    metrics: tuple[Metric, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    cells: tuple[str, ...] = ()  # the cells the metrics' numerators and denominators index
    shown: tuple[str, ...] = ()
    terminal: tuple[str, ...] = ()
    charted: tuple[str, ...] = ()

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def criterion(self, name: str) -> Criterion | None:
        return next((c for c in self.criteria if c.name == name), None)


@dataclass(frozen=True)
class FileInfo:
    path: str
    format: str
    size: int
    sha256: str
    rows: int
    # other names given for this same file (a second spelling, a link), read once
    duplicates: int = 0


@dataclass(frozen=True)
class Provenance:
    files: tuple[FileInfo, ...]
    rows_read: int
    rows_used: int
    dropped: dict[str, int]
    roles: dict[str, Any]
    config: dict[str, Any]
    sources: dict[str, str]
    version: str
    timestamp: str

    @property
    def duplicates_merged(self) -> int:
        """Names given for the inputs that reached a file already listed, so not read again."""
        return sum(f.duplicates for f in self.files)


@dataclass(frozen=True)
class AuditResult:
    verdict: Verdict
    groupings: tuple[GroupingResult, ...]
    gates: tuple[GateResult, ...]
    provenance: Provenance
    metrics: tuple[str, ...]
    min_group_size: int
    # with declared ranges: the range checks, and every grouping again on the
    # trusted rows (inside every range)
    ranges: RangeReport | None = None
    trusted: tuple[GroupingResult, ...] = ()
    # with --stratum: every grouping's comparisons within strata
    strata: StrataReport | None = None
    # with --task multiclass: the classes, and each group's confusion matrix
    classes: ClassReport | None = None
    # the definitions of the metrics and criteria above, from the audit's outcome kinds
    catalog: Catalog = field(default_factory=Catalog, compare=False)
    # with a baseline model: both models' figures on the same rows, and their changes
    comparison: ComparisonReport | None = None

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if g.status == "fail")

    @property
    def inconclusive(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if g.status == "inconclusive")

    def grouping(self, name: str) -> GroupingResult:
        for g in self.groupings:
            if g.name == name:
                return g
        raise KeyError(name)


# -- candidate against baseline ---------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One figure of both models on the same rows: the change is candidate minus baseline.

    ``relative_change`` is the change over the baseline's value (None when that
    is 0 or undefined); ``ci`` and ``relative_ci`` are paired bootstrap
    intervals (each group's rows redrawn with both decisions of every row).
    """

    candidate: Rate
    baseline: Rate
    change: float | None
    relative_change: float | None
    ci: Interval | None = None
    relative_ci: Interval | None = None
    eligible: bool = True


@dataclass(frozen=True)
class GroupChange:
    """A group's figures under both models, on its rows with both decisions present."""

    key: dict[str, Any]
    label: str
    rows: int
    without_baseline: int
    small: bool
    metrics: dict[str, Change]


@dataclass(frozen=True)
class GapChange:
    """A gap (largest minus smallest group) under both models, over the same groups."""

    candidate: float | None
    baseline: float | None
    change: float | None
    relative_change: float | None
    ci: Interval | None
    groups_used: int
    reason: str | None = None


@dataclass(frozen=True)
class GroupingComparison:
    name: str
    columns: tuple[str, ...]
    groups: tuple[GroupChange, ...]
    overall: GroupChange
    gaps: dict[str, GapChange]
    criteria: dict[str, GapChange]


@dataclass(frozen=True)
class ComparisonReport:
    """The candidate model (the audit's decision) against a baseline, on the same rows.

    ``rows_compared`` are the rows the audit uses that also have the
    baseline's decision; ``rows_without_baseline`` the rows the audit uses
    whose baseline decision is missing (left out of the comparison only).
    """

    baseline: str
    source: Literal["prediction", "score"]
    threshold: float | None
    rows_compared: int
    rows_without_baseline: int
    metrics: tuple[str, ...]
    criteria: tuple[str, ...]
    groupings: tuple[GroupingComparison, ...]

    def grouping(self, name: str) -> GroupingComparison:
        for g in self.groupings:
            if g.name == name:
                return g
        raise KeyError(name)
