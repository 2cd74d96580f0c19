"""The result of an audit: plain frozen data that reporters format and never change.

These types know nothing of how they were computed: every stage of the audit
fills them, and none of the code that computes them is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from . import collector
from .errors import UsageError
from .inequality import INDICES
from .metrics import Criterion, Metric
from .rangespec import RangeSpec
from .text import MISSING as MISSING
from .text import show_value as show_value

SCHEMA_VERSION = 1

Status = Literal["pass", "fail", "inconclusive", "skipped"]
Verdict = Literal["pass", "fail", "inconclusive"]
# (low, high) at the audit's confidence level; None when the figure has no interval
Interval = tuple[float, float]


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


@dataclass(frozen=True, slots=True)  # one a group and metric: 1.2 million for 100,000 groups
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
    # each group against the whole population (every row of the grouping), per metric
    versus_overall_difference: list[list[float | None]] = field(default_factory=list)
    versus_overall_ratio: list[list[float | None]] = field(default_factory=list)
    # per criterion over the reference (average_odds_difference ...), each group's value
    versus_criteria: dict[str, list[float | None]] = field(default_factory=dict)
    # per group, figures a kind computes itself that are not proportions of cells (a
    # score's AUC): metric name -> its JSON entry ({"value", "ci", ...}); empty: none
    extra: list[dict[str, dict[str, Any]]] = field(default_factory=list)

    def extra_metrics(self) -> list[str]:
        """The names in :attr:`extra`, in the order the groups first give them."""
        return list(dict.fromkeys(m for entry in self.extra for m in entry))

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
class Inequality:
    """Inequality indices of the per-row benefit (decision - label + 1), from the counts.

    ``None`` where an index is undefined (no rows, a mean benefit of 0, or
    ``alpha`` <= 0 with a row of benefit 0). Every row of the grouping counts,
    small groups included, so that the between-group index is the population's.
    """

    alpha: float
    generalized_entropy_index: float | None
    theil_index: float | None
    between_group_generalized_entropy_index: float | None
    between_group_theil_index: float | None
    rows: int
    groups: int

    def gaps(self) -> dict[str, Gap]:
        """The indices as gateable figures (a value with no ratio form)."""
        return {n: Gap(getattr(self, n), None, self.groups,
                       reason=None if getattr(self, n) is not None else "undefined: "
                       "no rows, a mean benefit of 0, or alpha <= 0 with a benefit of 0")
                for n in INDICES}


@dataclass(frozen=True)
class Shares:
    """Each group's share of every positive decision of the grouping (Aequitas' ``ppr``).

    ``rates[i]`` is group ``i``'s share (its positive decisions over all of
    them, with the audit's interval); ``versus_ratio[i]`` its share over the
    reference group's; ``gap`` the largest minus smallest and smallest over
    largest share of the eligible groups.
    """

    rates: tuple[Rate, ...]
    versus_difference: tuple[float | None, ...]
    versus_ratio: tuple[float | None, ...]
    gap: Gap


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
    # per metric and criterion: each group against the whole population
    to_overall: dict[str, Gap] = field(default_factory=dict)
    inequality: Inequality | None = None
    ppr: Shares | None = None

    def find(self, name: str) -> Gap | None:
        """The figure a gate names: a criterion, a metric's gap, ``NAME_to_overall``,
        an inequality index, ``ppr``; None if this grouping has none of that name."""
        if name in self.criteria:
            return self.criteria[name]
        if name in self.gaps:
            return self.gaps[name]
        if name.endswith("_to_overall"):
            return self.to_overall.get(name[: -len("_to_overall")])
        if name == "ppr":
            return self.ppr.gap if self.ppr is not None else None
        if self.inequality is not None:
            return self.inequality.gaps().get(name)
        return None

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
        elif self.criterion in INDICES:  # an index of the grouping, not a gap
            text = (f"{self.criterion.replace('_', ' ')} over {self.grouping}: {value}, "
                    f"must be at most {self.threshold:g}")
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


# the class that pools every class a multiclass audit's --classes does not name
OTHER_CLASSES = "(other)"


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


@dataclass(frozen=True, repr=False)
class AuditResult:
    """An audit's figures and verdict. ``to_dict()`` is the JSON report as plain data,
    ``by_group(grouping)`` a table of every group's figures."""

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
    # each outcome kind's own section by kind name (the score figures: "scores")
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False)

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

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``fairaudit run --json``) as plain Python data."""
        return document(self)

    def by_group(self, grouping: str) -> Any:
        """Every group of ``grouping`` with its figures, one row a group.

        Columns: ``group`` (its label), ``rows``, ``share``, ``small``,
        ``reference``, then for each metric ``M``: ``M`` (the value, ``None``
        when undefined), ``M_numerator``, ``M_denominator``, ``M_ci_low`` and
        ``M_ci_high``. A pandas DataFrame when pandas is installed, else a list
        of dicts. An intersection may be named with its columns in any order.
        """
        wanted = sorted(grouping.split("&"))
        found = next((g for g in self.groupings if sorted(g.columns) == wanted), None)
        if found is None:
            names = ", ".join(g.name for g in self.groupings)
            raise UsageError(f"by_group({grouping!r}): no such grouping; groupings: {names}")
        rows = table_rows(found.figures)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows, columns=table_columns(found.figures))

    def __repr__(self) -> str:
        p = self.provenance
        gates = ", ".join(f"{n} {s}" for s in ("fail", "inconclusive", "pass", "skipped")
                          if (n := sum(g.status == s for g in self.gates))) or "none"
        return (f"<AuditResult {self.verdict}: {p.rows_used:,} rows used of {p.rows_read:,}; "
                f"groupings {', '.join(g.name for g in self.groupings)}; gates: {gates}>")


# -- the JSON document: the report as plain data (schema_version 1) ---------------------
# It sits here, with the types, so that AuditResult.to_dict() needs nothing from a
# stage above; report/json.py streams the same document to a file.

def _f(x: float | None) -> float | None:
    return x if x == x else None  # NaN (the only value unequal to itself) as null


def _ci(ci: Interval | None) -> list[float] | None:
    return None if ci is None else list(ci)


def _excluded(e: Exclusion) -> dict[str, Any]:
    return {"group": e.group, "reason": e.reason, "count": e.count,
            "denominator": e.denominator}


def _rate(r: Rate) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _f(r.value), "numerator": r.numerator,
                           "denominator": r.denominator, "ci": _ci(r.ci)}
    if r.reason:
        out["reason"] = r.reason
    return out


def _gap(g: Gap) -> dict[str, Any]:
    out: dict[str, Any] = {"difference": _f(g.difference), "ratio": _f(g.ratio),
                           "difference_ci": _ci(g.ci_difference), "ratio_ci": _ci(g.ci_ratio),
                           "p_value": _f(g.p_value), "p_adjusted": _f(g.p_adjusted),
                           "groups_used": g.groups_used,
                           "excluded": [_excluded(e) for e in g.excluded]}
    if g.reason:
        out["reason"] = g.reason
    return out


def group_rows(f: GroupFigures, start: int = 0, stop: int | None = None
            ) -> list[dict[str, Any]]:
    """The groups from ``start`` to ``stop`` (default: every group), read from the columns:
    a 10,000-level column writes 240,000 figures.

    Intervals are tuples here; orjson writes them as arrays.
    """
    out = []
    names, reasons = f.metrics, f.reasons
    part = slice(start, stop)
    whole_d, whole_r = f.versus_overall_difference[part], f.versus_overall_ratio[part]
    criteria = {c: values[part] for c, values in f.versus_criteria.items()}
    for i, (key, label, count, share, small, dropped, values, nums, dens, cis,
            vd, vr, vdci, vrci) in enumerate(zip(
            f.keys[part], f.labels[part], f.counts[part], f.shares[part], f.small[part],
            f.dropped[part], f.value[part], f.numerator[part], f.denominator[part],
            f.ci[part], f.versus_difference[part], f.versus_ratio[part],
            f.versus_difference_ci[part], f.versus_ratio_ci[part], strict=True), start):
        metrics = {}
        for m, why, v, n, d, c in zip(names, reasons, values, nums, dens, cis, strict=True):
            metrics[m] = {"value": v, "numerator": n, "denominator": d, "ci": c} \
                if v is not None else \
                {"value": None, "numerator": n, "denominator": d, "ci": None, "reason": why}
        if f.extra:
            metrics.update(f.extra[i])
        at = i - start
        entry: dict[str, Any] = {
            "key": dict(zip(f.columns, key, strict=True)),
            "label": label,
            "count": count,
            "share": share,
            "small": small,
            "reference": i == f.reference,
            "dropped": dict(zip(f.drop_reasons, dropped, strict=True)),
            "metrics": metrics,
            "versus_reference": {
                m: {"difference": d, "ratio": r, "difference_ci": dci, "ratio_ci": rci}
                for m, d, r, dci, rci in zip(names, vd, vr, vdci, vrci, strict=True)},
        }
        if whole_d:
            entry["versus_overall"] = {m: {"difference": d, "ratio": r} for m, d, r in zip(
                names, whole_d[at], whole_r[at], strict=True)}
        if criteria:
            entry["versus_reference_criteria"] = {c: v[at] for c, v in criteria.items()}
        out.append(entry)
    return out


# how a grouping's list of groups is written: in full, or as a placeholder to stream
Groups = Callable[[GroupFigures], Any]


def _peers(g: GroupingResult) -> dict[str, Any]:
    """Comparisons with the whole population, ppr and the inequality indices, where computed."""
    out: dict[str, Any] = {}
    if g.to_overall:
        out["to_overall"] = {k: _gap(v) for k, v in g.to_overall.items()}
    if g.ppr is not None:
        out["ppr"] = {"groups": [{"label": label, **_rate(r), "versus_reference": {
            "difference": d, "ratio": q}}
            for label, r, d, q in zip(g.figures.labels, g.ppr.rates, g.ppr.versus_difference,
                                      g.ppr.versus_ratio, strict=True)],
            "gap": _gap(g.ppr.gap)}
    q = g.inequality
    if q is not None:
        out["inequality"] = {
            "alpha": q.alpha, "rows": q.rows, "groups": q.groups,
            "generalized_entropy_index": q.generalized_entropy_index,
            "theil_index": q.theil_index,
            "between_group_generalized_entropy_index":
                q.between_group_generalized_entropy_index,
            "between_group_theil_index": q.between_group_theil_index}
    return out


def _grouping(g: GroupingResult, groups: Groups) -> dict[str, Any]:
    return {
        "name": g.name,
        "columns": list(g.columns),
        "reference": {"group": g.reference, "rule": g.reference_rule},
        "groups": groups(g.figures),
        "overall": {"metrics": {k: _rate(v) for k, v in g.overall.items()}},
        "gaps": {k: _gap(v) for k, v in g.gaps.items()},
        "criteria": {k: _gap(v) for k, v in g.criteria.items()},
        **_peers(g),
    }


def _feature(c: FeatureCheck) -> dict[str, Any]:
    return {
        "rows": c.rows, "known": c.known, "inside": c.inside, "below": c.below,
        "above": c.above, "not_allowed": c.not_allowed, "missing": c.missing,
        "outside": c.outside,
        "outside_share": _rate(c.outside_share), "below_share": _rate(c.below_share),
        "above_share": _rate(c.above_share), "not_allowed_share": _rate(c.not_allowed_share),
        "missing_share": _rate(c.missing_share),
    }


def _range_group(g: RangeGroup) -> dict[str, Any]:
    return {
        "key": dict(g.key), "label": g.label, "rows": g.rows, "small": g.small,
        "coverage": _rate(g.coverage), "trusted": g.trusted, "outside": g.outside,
        "unknown": g.unknown,
        "features": {name: _feature(c) for name, c in g.features.items()},
    }


def _ranges(r: RangeReport) -> dict[str, Any]:
    return {
        "specs": [{"feature": s.feature, "kind": s.kind, **s.as_dict(), "source": s.source}
                  for s in r.specs],
        "overall": _range_group(r.overall),
        "groupings": [
            {"name": g.name, "columns": list(g.columns),
             "groups": [_range_group(x) for x in g.groups], "coverage": _gap(g.coverage)}
            for g in r.groupings
        ],
    }


def _gate(g: GateResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "grouping": g.grouping, "criterion": g.criterion, "kind": g.kind,
        "threshold": g.threshold, "value": _f(g.value), "ci": _ci(g.ci), "rule": g.rule,
        "status": g.status, "reason": g.reason}
    if g.kind == "max_out_of_range":
        out["feature"], out["group"] = g.feature, g.group
    return out


# -- a baseline ------------------------------------------------------------------------


def _change(c: Change) -> dict[str, Any]:
    return {"candidate": _f(c.candidate.value), "baseline": _f(c.baseline.value),
            "change": _f(c.change), "relative_change": _f(c.relative_change),
            "ci": _ci(c.ci), "relative_ci": _ci(c.relative_ci), "eligible": c.eligible,
            "candidate_rate": _rate(c.candidate), "baseline_rate": _rate(c.baseline)}


def _changed_group(g: GroupChange) -> dict[str, Any]:
    return {"key": dict(g.key), "label": g.label, "rows": g.rows,
            "without_baseline": g.without_baseline, "small": g.small,
            "metrics": {name: _change(c) for name, c in g.metrics.items()}}


def _gap_change(g: GapChange) -> dict[str, Any]:
    out: dict[str, Any] = {"candidate": _f(g.candidate), "baseline": _f(g.baseline),
                           "change": _f(g.change), "relative_change": _f(g.relative_change),
                           "ci": _ci(g.ci), "groups_used": g.groups_used}
    if g.reason:
        out["reason"] = g.reason
    return out


def _compared(g: GroupingComparison) -> dict[str, Any]:
    """``groupings[].comparison``: one grouping's groups, overall, gaps and criteria."""
    return {"groups": [_changed_group(x) for x in g.groups], "overall": _changed_group(g.overall),
            "gaps": {k: _gap_change(v) for k, v in g.gaps.items()},
            "criteria": {k: _gap_change(v) for k, v in g.criteria.items()}}


def _comparison(c: ComparisonReport) -> dict[str, Any]:
    """The top-level ``comparison``: which baseline, and the rows compared."""
    return {"baseline": c.baseline, "source": c.source, "threshold": c.threshold,
            "rows_compared": c.rows_compared, "rows_without_baseline": c.rows_without_baseline,
            "change": "candidate minus baseline", "metrics": list(c.metrics),
            "criteria": list(c.criteria)}


def _classes(report: ClassReport) -> dict[str, Any]:
    """The ``classes`` section of a multiclass audit."""
    return {
        "classes": list(report.classes),
        "pooled": OTHER_CLASSES if report.pooled else None,
        "groupings": {
            name: [{"group": g.label, "rows": g.count, "small": g.small,
                    "confusion": g.confusion, "pooled_right": g.pooled_right,
                    "metrics": {m: {"value": v, "ci": _ci(g.macro_ci[m])}
                                for m, v in g.macro.items()}}
                   for g in groups]
            for name, groups in report.groupings.items()},
    }


# -- within strata ---------------------------------------------------------------------


def _value_ci(value: float | None, ci: Interval | None) -> dict[str, Any]:
    return {"value": None if value is None else _f(value), "ci": _ci(ci)}


def _strata_comparison(c: StrataComparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "group": c.group, "reference": c.reference, "metric": c.metric, "small": c.small,
        "crude_difference": c.crude_difference,
        "mh_difference": _value_ci(c.mh_difference, c.ci_mh_difference),
        "mh_odds_ratio": _value_ci(c.mh_odds_ratio, c.ci_mh_odds_ratio),
        "cmh_p_value": c.cmh_p_value, "cmh_p_adjusted": c.cmh_p_adjusted,
        "breslow_day_p_value": c.breslow_day_p_value,
        "breslow_day_p_adjusted": c.breslow_day_p_adjusted,
        "breslow_day_dof": c.breslow_day_dof,
        "rate_part": c.rate_part, "composition_part": c.composition_part,
        "share_explained": c.share_explained,
        "standardised": {"group": c.standardised_group, "reference": c.standardised_reference,
                         "difference": c.standardised_difference,
                         "coverage": c.standard_coverage},
        "simpson": c.simpson, "strata_used": c.strata_used, "strata_filled": c.strata_filled,
        "strata": [{"key": dict(s.key), "label": s.label, "group": _rate(s.group),
                    "reference": _rate(s.reference), "difference": s.difference,
                    "difference_ci": _ci(s.ci_difference), "sparse": s.sparse}
                   for s in c.cells],
    }
    if c.reason:
        out["reason"] = c.reason
    return out


def _strata(r: StrataReport) -> dict[str, Any]:
    return {"columns": list(r.columns), "metrics": list(r.metrics), "rows": r.rows,
            "rows_missing_stratum": r.rows_missing, "sparse_below": r.sparse_below}


def _strata_grouping(g: StrataGrouping) -> dict[str, Any]:
    return {"reference": g.reference, "strata": list(g.strata),
            "comparisons": [_strata_comparison(c) for c in g.comparisons]}


def document(result: AuditResult, groups: Groups | None = None) -> dict[str, Any]:
    """The JSON report as plain Python data; ``groups`` writes a grouping's list of groups
    (default: in full), so that the JSON reporter can stream long lists."""
    groups = groups or group_rows
    p = result.provenance
    groupings = [_grouping(g, groups) for g in result.groupings]
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "verdict": result.verdict,
        "min_group_size": result.min_group_size,
        "metrics": list(result.metrics),
        "groupings": groupings,
        "gates": [_gate(g) for g in result.gates],
        "provenance": {
            "fairaudit_version": p.version,
            "timestamp": p.timestamp,
            "files": [{"path": f.path, "format": f.format, "size": f.size,
                       "sha256": f.sha256, "rows": f.rows} for f in p.files],
            "duplicates_merged": p.duplicates_merged,
            "rows_read": p.rows_read,
            "rows_used": p.rows_used,
            "rows_dropped": dict(p.dropped),
            "roles": dict(p.roles),
            "config": p.config,
            "config_sources": dict(p.sources),
        },
    }
    if result.classes is not None:
        out["classes"] = _classes(result.classes)
    if result.comparison is not None:
        out["comparison"] = _comparison(result.comparison)
        for entry, g in zip(groupings, result.groupings, strict=True):
            entry["comparison"] = _compared(result.comparison.grouping(g.name))
    if result.ranges is not None:
        out["ranges"] = _ranges(result.ranges)
        out["trusted"] = [_grouping(g, groups) for g in result.trusted]
    if result.strata is not None:
        out["strata"] = _strata(result.strata)
        for doc, within in zip(groupings, result.strata.groupings, strict=True):
            doc["strata"] = _strata_grouping(within)
    # a kind's own section may give its part of the document (the score figures)
    for section in getattr(result, "sections", {}).values():
        part = getattr(section, "document", None)
        if callable(part):
            out.update(part())
    return out


def table_columns(f: GroupFigures) -> list[str]:
    """The columns of :meth:`AuditResult.by_group`, in order."""
    return ["group", "rows", "share", "small", "reference",
            *(f"{m}{part}" for m in f.metrics
              for part in ("", "_numerator", "_denominator", "_ci_low", "_ci_high")),
            *(f"{m}{part}" for m in f.extra_metrics() for part in ("", "_ci_low", "_ci_high"))]


def table_rows(f: GroupFigures) -> list[dict[str, Any]]:
    """One flat dict a group, read from the columns as the JSON document reads them."""
    out = []
    for i in range(len(f)):
        row: dict[str, Any] = {"group": f.labels[i], "rows": f.counts[i], "share": f.shares[i],
                               "small": f.small[i], "reference": i == f.reference}
        for j, m in enumerate(f.metrics):
            ci = f.ci[i][j] if f.value[i][j] is not None else None
            row.update({m: f.value[i][j], f"{m}_numerator": f.numerator[i][j],
                        f"{m}_denominator": f.denominator[i][j],
                        f"{m}_ci_low": None if ci is None else ci[0],
                        f"{m}_ci_high": None if ci is None else ci[1]})
        for m in f.extra_metrics():
            entry = f.extra[i].get(m, {}) if f.extra else {}
            ci = entry.get("ci")
            row.update({m: entry.get("value"), f"{m}_ci_low": None if ci is None else ci[0],
                        f"{m}_ci_high": None if ci is None else ci[1]})
        out.append(row)
    return out


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
