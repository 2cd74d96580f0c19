"""Gates: thresholds on criteria turned into verdicts. A failed gate is data, never an error.

How a gate treats uncertainty is its decision rule (``decide``):

- ``point``: fail when the point estimate is past the threshold;
- ``confident-fail``: fail only when the point and its whole interval are past
  the threshold; a point past it with an interval that straddles it is
  inconclusive;
- ``confident-pass``: pass only when the point and its whole interval are
  inside the threshold; a point inside it with an interval that straddles it
  is inconclusive; a point past it fails.

The three rules agree whenever the interval lies on the point's side of the
threshold. A value exactly at the threshold is inside it (passes).
"""

from __future__ import annotations

from collections.abc import Sequence

from .config import GateSpec
from .kinds.baseline import ComparisonGate
from .rangespec import RangeGate
from .result import (
    ComparisonReport,
    Gap,
    GateResult,
    GroupingComparison,
    GroupingResult,
    Interval,
    RangeGrouping,
    RangeReport,
    Verdict,
)

# A value this close to its threshold counts as at it: "exactly at the
# threshold passes" must not hinge on the last bit of a float.
TOLERANCE = 1e-12

# Groups named in a "too small to judge" reason; the rest are counted.
_LISTED = 8


def evaluate(specs: Sequence[GateSpec], groupings: Sequence[GroupingResult],
             decide: str = "point") -> tuple[GateResult, ...]:
    out: list[GateResult] = []
    for spec in specs:
        for grouping in groupings:
            # an intersection's columns may be named in any order
            if spec.grouping is not None and set(spec.grouping.split("&")) != set(
                    grouping.columns):
                continue
            out.append(_judge(spec, grouping, decide))
    return tuple(out)


def _judge(spec: GateSpec, grouping: GroupingResult, decide: str) -> GateResult:
    def result(value: float | None, status: str, reason: str | None = None,
               ci: Interval | None = None) -> GateResult:
        return GateResult(grouping.name, spec.criterion, spec.kind, spec.threshold, value,
                          status, reason, ci=ci, rule=decide)  # type: ignore[arg-type]

    # a criterion, or the gap of one metric named as such (fdr, top_3_accuracy)
    gap = grouping.criteria.get(spec.criterion) or grouping.gaps.get(spec.criterion)
    if gap is None:
        return result(None, "skipped", "this audit does not compute it: it needs a column the "
                      "audit was not given (a label, a rank)")
    value = gap.difference if spec.kind == "max_gap" else gap.ratio
    ci = gap.ci_difference if spec.kind == "max_gap" else gap.ci_ratio
    if value is None:
        return result(None, "inconclusive", _why_undefined(gap, spec.kind))
    status, reason = decision(value, ci, spec.threshold, spec.kind, decide)
    return result(value, status, reason, ci)


def past(value: float, threshold: float, kind: str) -> bool:
    """Whether ``value`` is on the failing side of ``threshold`` (at it is not)."""
    if kind == "max_gap":
        return value > threshold + TOLERANCE
    return value < threshold - TOLERANCE


def decision(value: float, ci: Interval | None, threshold: float, kind: str, decide: str
             ) -> tuple[str, str | None]:
    """Status and reason of a gate from its value, interval and rule."""
    point_past = past(value, threshold, kind)
    if decide == "point":
        return ("fail" if point_past else "pass"), None
    if ci is None:
        return "inconclusive", "no interval for the value; the rule needs one"
    # the interval's end nearest the passing side, and nearest the failing side
    near, far = (ci[0], ci[1]) if kind == "max_gap" else (ci[1], ci[0])
    if decide == "confident-fail":
        if not point_past:
            return "pass", None
        if past(near, threshold, kind):
            return "fail", None
        return "inconclusive", "past the threshold, but the interval straddles it"
    if decide == "confident-pass":
        if point_past:
            return "fail", None
        if not past(far, threshold, kind):
            return "pass", None
        return "inconclusive", "inside the threshold, but the interval straddles it"
    raise ValueError(f"unknown decision rule {decide!r}")


def _why_undefined(gap: Gap, kind: str) -> str:
    if gap.groups_used < 2:
        listed = [f"{e.group} ({e.reason})" for e in gap.excluded[:_LISTED]]
        more = len(gap.excluded) - _LISTED
        if more > 0:
            listed.append(f"{more} more")
        text = "too small to judge: " + (gap.reason or "fewer than two eligible groups")
        return text + (f"; left out: {', '.join(listed)}" if listed else "")
    if kind == "min_ratio":
        return "undefined: the largest group rate is 0, so the ratio is 0/0"
    return gap.reason or "undefined"



def evaluate_ranges(gates: Sequence[RangeGate], result: RangeReport | None, minimum: int,
                    decide: str = "point") -> tuple[GateResult, ...]:
    """One verdict per grouping and feature: the largest outside share of an eligible group."""
    if not gates or result is None:
        return ()
    by_feature = {g.feature: g for g in gates}
    out = []
    for grouping in result.groupings:
        for spec in result.specs:
            gate = by_feature.get(spec.feature) or by_feature.get(None)
            if gate is not None:
                out.append(_judge_range(gate.threshold, spec.feature, grouping, minimum, decide))
    return tuple(out)


def _judge_range(threshold: float, feature: str, grouping: RangeGrouping, minimum: int,
                 decide: str) -> GateResult:
    """The largest share of an eligible group, judged by the audit's decision rule.

    The interval of the largest share runs from the largest lower end to the
    largest upper end of the eligible groups' share intervals: the gate fails
    confidently when some group's whole interval is past the threshold, and
    passes confidently when every group's is inside it.
    """
    worst: tuple[float, str] | None = None
    ends: list[Interval | None] = []
    for g in grouping.groups:
        share = g.features[feature].outside_share
        if g.small or share.denominator < minimum or share.value is None:
            continue
        if worst is None or share.value > worst[0]:
            worst = (share.value, g.label)
        ends.append(share.ci)
    if worst is None:
        return GateResult(grouping.name, "out_of_range", "max_out_of_range", threshold, None,
                          "skipped", f"no group with at least {minimum} known values",
                          feature=feature, rule=decide)
    known = [e for e in ends if e is not None]
    ci = (max(e[0] for e in known), max(e[1] for e in known)) if len(known) == len(ends) \
        else None
    status, reason = decision(worst[0], ci, threshold, "max_gap", decide)
    return GateResult(grouping.name, "out_of_range", "max_out_of_range", threshold, worst[0],
                      status, reason, feature=feature, group=worst[1], ci=ci,  # type: ignore[arg-type]
                      rule=decide)


def verdict(gates: Sequence[GateResult]) -> Verdict:
    """Fail if any gate fails, else inconclusive if any is, else pass."""
    if any(g.status == "fail" for g in gates):
        return "fail"
    if any(g.status == "inconclusive" for g in gates):
        return "inconclusive"
    return "pass"


def evaluate_comparison(gates: Sequence[ComparisonGate], report: ComparisonReport | None,
                        decide: str = "point") -> tuple[GateResult, ...]:
    """Gates on the changes from a baseline, one verdict per gate and grouping it applies to.

    ``max_increase`` judges the change of a gap (candidate minus baseline) as
    ``max_gap`` judges a gap; ``max_drop`` the largest fall of a rate (baseline
    minus candidate) over the groups eligible for it, its interval running from
    the largest lower end to the largest upper end of those groups' falls, as a
    range gate's does.
    """
    if not gates or report is None:
        return ()
    out = []
    for spec in gates:
        for grouping in report.groupings:
            if spec.grouping is not None and set(spec.grouping.split("&")) != set(
                    grouping.columns):
                continue
            out.append(_judge_change(spec, grouping, decide))
    return tuple(out)


def _judge_change(spec: ComparisonGate, grouping: GroupingComparison, decide: str
                  ) -> GateResult:
    def result(value: float | None, status: str, reason: str | None = None,
               ci: Interval | None = None, group: str | None = None) -> GateResult:
        return GateResult(grouping.name, spec.name, spec.kind, spec.threshold, value,
                          status, reason, group=group, ci=ci, rule=decide)  # type: ignore[arg-type]

    if spec.kind == "max_increase":
        gap = grouping.criteria.get(spec.name) or grouping.gaps.get(spec.name)
        if gap is None:
            return result(None, "skipped", "this audit does not compute it: it needs a label")
        if gap.change is None:
            return result(None, "inconclusive", "too small to judge: " + (
                gap.reason or "a gap is undefined under one of the models"))
        status, reason = decision(gap.change, gap.ci, spec.threshold, "max_gap", decide)
        return result(gap.change, status, reason, gap.ci)
    if spec.name not in grouping.overall.metrics:
        return result(None, "skipped", "this audit does not compute it: it needs a label")
    worst: tuple[float, str] | None = None
    ends: list[Interval | None] = []
    for g in grouping.groups:
        change = g.metrics[spec.name]
        if not change.eligible or change.change is None:
            continue
        fall = -change.change
        if worst is None or fall > worst[0]:
            worst = (fall, g.label)
        ends.append(None if change.ci is None else (-change.ci[1], -change.ci[0]))
    if worst is None:
        return result(None, "skipped", "no group big enough under both models")
    known = [e for e in ends if e is not None]
    ci = (max(e[0] for e in known), max(e[1] for e in known)) if len(known) == len(ends) \
        else None
    status, reason = decision(worst[0], ci, spec.threshold, "max_gap", decide)
    return result(worst[0], status, reason, ci, worst[1])
