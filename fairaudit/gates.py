"""Gates: thresholds on criteria turned into verdicts. A failed gate is data, never an error."""

from __future__ import annotations

from collections.abc import Sequence

from .config import GateSpec
from .result import GateResult, GroupingResult, Verdict

# A value this close to its threshold counts as at it: "exactly at the
# threshold passes" must not hinge on the last bit of a float.
TOLERANCE = 1e-12


def evaluate(specs: Sequence[GateSpec], groupings: Sequence[GroupingResult]
             ) -> tuple[GateResult, ...]:
    out: list[GateResult] = []
    for spec in specs:
        for grouping in groupings:
            if spec.grouping is not None and spec.grouping != grouping.name:
                continue
            out.append(_judge(spec, grouping))
    return tuple(out)


def _judge(spec: GateSpec, grouping: GroupingResult) -> GateResult:
    gap = grouping.criteria.get(spec.criterion)
    if gap is None:
        return GateResult(grouping.name, spec.criterion, spec.kind, spec.threshold, None,
                          "skipped", "the criterion needs a label column")
    value = gap.difference if spec.kind == "max_gap" else gap.ratio
    if value is None:
        return GateResult(grouping.name, spec.criterion, spec.kind, spec.threshold, None,
                          "skipped", gap.reason or "undefined")
    if spec.kind == "max_gap":
        ok = value <= spec.threshold + TOLERANCE
    else:
        ok = value >= spec.threshold - TOLERANCE
    return GateResult(grouping.name, spec.criterion, spec.kind, spec.threshold, value,
                      "pass" if ok else "fail")


def verdict(gates: Sequence[GateResult]) -> Verdict:
    return "fail" if any(g.status == "fail" for g in gates) else "pass"
