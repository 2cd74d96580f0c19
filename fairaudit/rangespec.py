"""Bounded ranges as declared: where the model is trusted, for each input feature.

A range is ``{min, max}`` for a number (either end may be open) or
``{allowed = [...]}`` for a category; a gate bounds the share of a feature's
known values outside its range. These are declarations, checked when they are
built; the counting and the figures are the ``ranges`` outcome kind's
(:mod:`fairaudit.kinds.ranges`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError, UsageError, closest, column_hint

# the criterion comparing the share of rows inside every range across groups
RANGE_COVERAGE = "range_coverage"

Bound = int | float
Kind = Literal["numeric", "categorical"]
_SPEC_KEYS = ("min", "max", "allowed")


@dataclass(frozen=True)
class RangeSpec:
    """The trusted range of one feature: numeric bounds (open when None) or allowed values.

    ``where`` names the declaration in error messages (``fairaudit.toml:
    ranges.income`` or ``--range income=0:250000``); ``source`` says where it
    came from for reports. Both are checked when the spec is built.
    """

    feature: str
    min: Bound | None = None
    max: Bound | None = None
    allowed: tuple[Any, ...] | None = None
    where: str = field(default="", compare=False)
    source: str = field(default="command line", compare=False)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ConfigError("; ".join(f"{self.label}: {p}" for p in problems))

    @property
    def label(self) -> str:
        return self.where or f"ranges.{self.feature}"

    @property
    def kind(self) -> Kind:
        return "categorical" if self.allowed is not None else "numeric"

    def problems(self) -> list[str]:
        out: list[str] = []
        if not isinstance(self.feature, str) or not self.feature:
            out.append("the feature needs a column name")
        if self.allowed is not None:
            if self.min is not None or self.max is not None:
                out.append("give either min/max or allowed, not both")
            if len(self.allowed) == 0:
                out.append("allowed is empty; list at least one value")
            bad = [v for v in self.allowed if not isinstance(v, (str, int, float, bool))]
            if bad:
                out.append(f"allowed value {bad[0]!r} is not a string, number or boolean")
            return out
        if self.min is None and self.max is None:
            out.append("give min, max (or both), or allowed = [...]")
        for name, value in (("min", self.min), ("max", self.max)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                out.append(f"{name} {value!r} is not a number")
            elif not math.isfinite(value):
                out.append(f"{name} {value} is not a finite number; leave the end open instead")
        if not out and self.min is not None and self.max is not None and self.min > self.max:
            out.append(f"min {_show(self.min)} > max {_show(self.max)}")
        return out

    def as_dict(self) -> dict[str, Any]:
        if self.allowed is not None:
            return {"allowed": list(self.allowed)}
        return {"min": self.min, "max": self.max}

    def describe(self) -> str:
        """The range as people read it: ``[0, 250000]``, ``(-inf, 50000]``, ``{a, b}``."""
        if self.allowed is not None:
            return "{" + ", ".join(str(v) for v in self.allowed) + "}"
        lo = "(-inf" if self.min is None else f"[{_show(self.min)}"
        hi = "inf)" if self.max is None else f"{_show(self.max)}]"
        return f"{lo}, {hi}"


def _show(x: Bound) -> str:
    """A bound as written: short when that loses nothing (250000, not 250000.0)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


@dataclass(frozen=True)
class RangeGate:
    """Gate: the largest share of a feature's known values outside its range, in any group.

    ``feature`` None applies to every declared range without a gate of its own.
    """

    threshold: float
    feature: str | None = None
    where: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        return self.feature or "*"

    def problems(self, specs: Sequence[RangeSpec]) -> list[str]:
        where = self.where or f"max_out_of_range '{self.key}'"
        out = []
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t) \
                or not 0 <= t <= 1:
            out.append(f"{where}: share {t!r} must be a number in [0, 1]")
        features = [s.feature for s in specs]
        if not specs:
            out.append(f"{where}: no ranges are declared; declare them in [ranges] "
                       "or with --range FEATURE=MIN:MAX")
        elif self.feature is not None and self.feature not in features:
            near = closest(self.feature, features)
            hint = f"did you mean '{near}'?" if near else "ranges: " + ", ".join(features)
            out.append(f"{where}: no range declared for '{self.feature}'; {hint}")
        return out


def spec_from_table(feature: str, value: Any, origin: str, prefix: str = "") -> RangeSpec:
    """One ``[ranges]`` entry, as read from a config file."""
    where = f"{origin}: {prefix}ranges.{feature}"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: write {{ min = ..., max = ... }} or "
                          "{ allowed = [...] }")
    for key in value:
        if key not in _SPEC_KEYS:
            near = closest(str(key), list(_SPEC_KEYS))
            hint = f"did you mean '{near}'?" if near else "keys: min, max, allowed"
            raise ConfigError(f"{where}: unknown key '{key}'; {hint}")
    allowed = value.get("allowed")
    if allowed is not None and not isinstance(allowed, list):
        raise ConfigError(f"{where}: allowed must be a list of values")
    return RangeSpec(feature, value.get("min"), value.get("max"),
                     None if allowed is None else tuple(dict.fromkeys(allowed)),
                     where=where, source=origin)


def specs_from_table(table: Mapping[str, Any], origin: str, prefix: str = ""
                     ) -> tuple[RangeSpec, ...]:
    """Every ``[ranges]`` entry; all problems are collected into one error."""
    specs, problems = [], []
    for feature, value in table.items():
        try:
            specs.append(spec_from_table(feature, value, origin, prefix))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    return tuple(specs)


def parse_range(text: str) -> RangeSpec:
    """``FEATURE=MIN:MAX`` from the command line; either bound may be left out."""
    feature, sep, bounds = text.partition("=")
    lo, colon, hi = bounds.partition(":")
    where = f"--range {text}"
    if not sep or not feature.strip() or not colon:
        raise UsageError(f"{where}: write FEATURE=MIN:MAX, for example --range income=0:250000 "
                         "or --range debt=:50000 (categories go in the [ranges] table)")
    try:
        return RangeSpec(feature.strip(), _number(lo, "min", where), _number(hi, "max", where),
                         where=where, source="command line")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _number(text: str, name: str, where: str) -> Bound | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{where}: {name} {text!r} is not a number") from None


def parse_gate(text: str) -> RangeGate:
    """``FEATURE=SHARE``, or a bare ``SHARE`` for every feature."""
    feature, sep, value = text.rpartition("=")
    where = f"--max-out-of-range {text}"
    try:
        share = float(value)
    except ValueError:
        raise UsageError(f"{where}: {value.strip()!r} is not a number; write FEATURE=SHARE "
                         "or SHARE, for example --max-out-of-range income=0.05") from None
    if sep and not feature.strip():
        raise UsageError(f"{where}: write FEATURE=SHARE or SHARE")
    return RangeGate(share, feature.strip() or None, where)


def gates_from_file(value: Any, origin: str) -> tuple[RangeGate, ...]:
    """``gates.max_out_of_range``: a share for every feature, or a table FEATURE = SHARE."""
    key = "gates.max_out_of_range"
    if isinstance(value, Mapping):
        out = []
        for feature, share in value.items():
            if isinstance(share, bool) or not isinstance(share, (int, float)):
                raise ConfigError(f"{origin}: {key}.{feature} must be a number")
            out.append(RangeGate(float(share), None if feature == "*" else feature,
                                 f"{origin}: {key}.{feature}"))
        return tuple(out)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{origin}: {key} must be a share, or a table of FEATURE = SHARE")
    return (RangeGate(float(value), None, f"{origin}: {key}"),)


def check_columns(specs: Sequence[RangeSpec], names: Sequence[str], file: str) -> None:
    """Every range must name a column of the input."""
    for spec in specs:
        if spec.feature not in names:
            raise ConfigError(f"{spec.label}: no column '{spec.feature}' in {file}; "
                              f"{column_hint(spec.feature, list(names))}")

