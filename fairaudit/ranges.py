"""Bounded ranges: where the model is trusted, checked row by row in the audit's one pass.

For each input feature a decision rests on, a range says where the model is
trusted: ``{min, max}`` for a number (either end may be open) or
``{allowed = [...]}`` for a category. Every row gets, per feature, one of the
states ``in``, ``below``, ``above``, ``not_allowed`` or ``missing`` (a missing
value is unknown, never a violation; a value equal to a bound is inside), and
one "trusted" cell: its confusion or drop cell when it is inside every range,
``outside`` when some value is outside its range, ``unknown`` otherwise. These
cells extend the count table's layout, so range checks stream, merge and
project like every other count.

From the counts: per group and feature the shares below, above, not allowed
(over the rows whose value is known) and missing (over all rows); the
``range_coverage`` criterion, the share of rows inside every range among the
rows whose standing is known (inside every range, or outside at least one),
compared across groups like any other criterion; and a view of the count table
that holds only the trusted rows, so that every fairness figure is computed on
the trusted subset by the same code as on all rows. Every share gets the
interval a rate gets, and the coverage gap the bootstrap intervals and test a
metric's gap gets (docs/statistics.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import stats
from .counts import CountTable
from .decode import CELLS
from .errors import ConfigError, UsageError, closest, column_hint
from .metrics import Metric, safe_divide, spread
from .result import Exclusion, Gap, GateResult, GroupingResult, Interval, Rate, show_value

RANGE_COVERAGE = "range_coverage"
STATES = ("in", "below", "above", "not_allowed", "missing")
IN, BELOW, ABOVE, NOT_ALLOWED, MISSING = range(5)
# The trusted family: the base cells of rows inside every range, then the sinks.
TRUSTED = (*CELLS, "outside", "unknown")
OUTSIDE, UNKNOWN = len(CELLS), len(CELLS) + 1
TRUSTED_OFFSET = len(CELLS)
FEATURE_OFFSET = TRUSTED_OFFSET + len(TRUSTED)

Bound = int | float
Kind = Literal["numeric", "categorical"]
_SPEC_KEYS = ("min", "max", "allowed")


# -- declaring ranges -----------------------------------------------------------


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


# -- checking -----------------------------------------------------------------------


def layout(specs: Sequence[RangeSpec]) -> tuple[str, ...]:
    """The count table's cells with range checks: base, trusted, then one family a feature."""
    return (*CELLS, *(f"trusted:{c}" for c in TRUSTED),
            *(f"range:{s.feature}:{state}" for s in specs for state in STATES))


# Counting packs the families, so that each row adds fewer counts: the base cell
# times the row's standing (in every range, unknown, outside), and the joint
# state of each pair of features. Checker.expand turns packed counts into the
# layout above, exactly.
_STANDING_CELL = {0: None, 1: UNKNOWN, 2: OUTSIDE}


class Checker:
    """Turns a batch's range features into cell indices, beside the base cells."""

    def __init__(self, specs: Sequence[RangeSpec]) -> None:
        self.specs = tuple(specs)
        self.cell_names = layout(self.specs)
        self._pairs = [tuple(range(i, min(i + 2, len(self.specs))))
                       for i in range(0, len(self.specs), 2)]
        self._offsets = [3 * len(CELLS) + 25 * p for p in range(len(self._pairs))]
        names = [f"packed:{c}:{sev}" for sev in range(3) for c in CELLS]
        for pair in self._pairs:
            feats = [self.specs[f].feature for f in pair]
            names += [f"packed:{'&'.join(feats)}:{k}" for k in range(5 ** len(pair))]
        self.packed_names = tuple(names)
        self._expand = self._expansion()
        self._value_sets: dict[tuple[int, str], pa.Array] = {}

    def cells(self, batch: pa.RecordBatch, base: npt.NDArray[np.int64], file: str
              ) -> npt.NDArray[np.int64]:
        """Packed cell indices shaped ``(1 + pairs of features, rows)``."""
        n = batch.num_rows
        out = np.empty((1 + len(self._pairs), n), dtype=np.int64)
        outside = np.zeros(n, dtype=bool)
        missing = np.zeros(n, dtype=bool)
        for p, pair in enumerate(self._pairs):
            codes = [self._states(f, batch, file) for f in pair]
            for code in codes:
                # below, above and not allowed (1..3) wrap to 0..2 in uint8; in and missing do not
                outside |= (code - np.uint8(1)) < 3
                missing |= code == MISSING
            joint = codes[0]
            if len(codes) == 2:
                codes[1] *= np.uint8(5)
                joint += codes[1]
            np.add(joint, self._offsets[p], out=out[1 + p], casting="unsafe")
        # standing: 0 in every range, 1 unknown (a value missing), 2 outside one or more
        standing = np.maximum(missing.view(np.uint8), outside.view(np.uint8) << 1)
        np.multiply(standing, len(CELLS), out=out[0], casting="unsafe")
        out[0] += base
        return out

    def _expansion(self) -> npt.NDArray[np.int64]:
        """The 0/1 matrix taking packed counts to the layout's counts."""
        m = np.zeros((len(self.packed_names), len(self.cell_names)), dtype=np.int64)
        for sev in range(3):
            for c in range(len(CELLS)):
                row = sev * len(CELLS) + c
                m[row, c] = 1
                cell = _STANDING_CELL[sev]
                m[row, TRUSTED_OFFSET + (c if cell is None else cell)] = 1
        for p, pair in enumerate(self._pairs):
            for k in range(5 ** len(pair)):
                for i, f in enumerate(pair):
                    state = (k // 5 ** i) % 5
                    m[self._offsets[p] + k, FEATURE_OFFSET + len(STATES) * f + state] = 1
        return m

    def expand(self, table: CountTable) -> CountTable:
        """Counts in the packed layout as counts in :func:`layout`'s cells."""
        if table.cell_names != self.packed_names:
            raise ValueError("the count table was not counted by this checker")
        return CountTable(table.columns, self.cell_names, table.levels, table.keys,
                          table.cells @ self._expand)

    def _states(self, f: int, batch: pa.RecordBatch, file: str) -> npt.NDArray[np.uint8]:
        """Each row's state for feature ``f``, as a fresh array of codes."""
        spec = self.specs[f]
        column = batch.column(spec.feature)
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        n = len(arr)
        if pa.types.is_null(arr.type):
            return np.full(n, MISSING, dtype=np.uint8)
        if spec.allowed is not None:
            return self._categories(f, spec, arr, file)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        t = arr.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
            raise ConfigError(
                f"{spec.label}: column '{spec.feature}' in {file} holds {_type_name(t)} values; "
                "min/max needs numbers (declare allowed = [...] for categories)")
        if pa.types.is_decimal(t):
            arr = arr.cast(pa.float64())
        valid = None
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            values = arr.to_numpy(zero_copy_only=False)  # nulls become NaN
        elif arr.null_count:
            valid = np.asarray(arr.is_valid(), dtype=bool)
            values = np.asarray(arr.fill_null(0))
        else:
            values = np.asarray(arr)
        # a comparison with NaN is false, so in = 0, below = 1, above = 2, missing = 4
        code = np.zeros(n, dtype=np.uint8)
        if spec.min is not None:
            code += values < spec.min
        if spec.max is not None:
            above = (values > spec.max).view(np.uint8)
            above <<= 1
            code += above
        if values.dtype.kind == "f":
            nan = np.isnan(values).view(np.uint8)
            nan <<= 2
            code += nan
        if valid is not None:
            code[~valid] = MISSING
        return code

    def _categories(self, f: int, spec: RangeSpec, arr: pa.Array, file: str
                    ) -> npt.NDArray[np.uint8]:
        import pyarrow.compute as pc  # only allowed-set checks need it; it is slow to import

        if pa.types.is_dictionary(arr.type):
            allowed = self._value_set(f, spec, arr.type.value_type, file)
            dictionary = arr.dictionary
            ok = np.asarray(pc.is_in(dictionary, value_set=allowed).fill_null(False), dtype=bool)
            lut = np.append(np.where(ok, IN, NOT_ALLOWED), MISSING).astype(np.uint8)
            if pa.types.is_floating(dictionary.type):
                lut[:-1][np.isnan(np.asarray(dictionary.fill_null(0.0)))] = MISSING
                lut[:-1][~np.asarray(dictionary.is_valid(), dtype=bool)] = MISSING
            indices = arr.indices
            if indices.null_count:
                indices = indices.fill_null(len(dictionary))
            return np.take(lut, np.asarray(indices))
        allowed = self._value_set(f, spec, arr.type, file)
        ok = np.asarray(pc.is_in(arr, value_set=allowed).fill_null(False), dtype=bool)
        code = np.where(ok, IN, NOT_ALLOWED).astype(np.uint8)
        if arr.null_count:
            code[~np.asarray(arr.is_valid(), dtype=bool)] = MISSING
        if pa.types.is_floating(arr.type):
            code[np.isnan(np.asarray(arr.fill_null(0.0)))] = MISSING
        return code

    def _value_set(self, f: int, spec: RangeSpec, t: pa.DataType, file: str) -> pa.Array:
        cached = self._value_sets.get((f, str(t)))
        if cached is not None:
            return cached
        assert spec.allowed is not None
        values = list(spec.allowed)
        try:
            if pa.types.is_string(t) or pa.types.is_large_string(t):
                arr = pa.array([_text(v) for v in values], type=t)
            else:
                arr = pa.array(values).cast(t)
                if arr.cast(pa.array(values).type).to_pylist() != pa.array(values).to_pylist():
                    raise ValueError("lossy")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                ValueError, TypeError):
            raise ConfigError(
                f"{spec.label}: allowed values {_listed(values)} cannot be compared with column "
                f"'{spec.feature}' in {file}, which holds {_type_name(t)} values") from None
        self._value_sets[(f, str(t))] = arr
        return arr


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _listed(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    return str(t)


# -- reporting --------------------------------------------------------------------------

# The shares of a feature, in the order FeatureCheck.intervals and the interval
# arrays of one grouping hold them.
SHARES = ("outside", "below", "above", "not_allowed", "missing")

# range_coverage as a rate over two cells (inside every range, outside some
# range), so that its gap is bootstrapped and tested by the same code as every
# metric's: a group's two counts are a binomial sample of its known rows.
COVERAGE_METRIC = Metric(
    RANGE_COVERAGE, "Range coverage", (0,), (0, 1),
    "share of rows inside every range among the rows whose standing is known",
    "higher", False, "rows with a known standing in every range")


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
class Uncertainty:
    """How the range figures get their intervals: the audit's settings of the same names."""

    interval: stats.IntervalMethod = "wilson"
    confidence: float = 0.95
    bootstrap: int = 1000
    seed: int = 0


def trusted_view(table: CountTable) -> CountTable:
    """The count table of the rows inside every range, in the base cell layout."""
    start = TRUSTED_OFFSET
    return CountTable(table.columns, CELLS, table.levels, table.keys,
                      np.ascontiguousarray(table.cells[:, start:start + len(CELLS)]))


def report(table: CountTable, specs: Sequence[RangeSpec],
           groupings: Iterable[tuple[str, ...]], minimum: int,
           sort_key: Callable[[tuple[Any, ...]], Any],
           uncertainty: Uncertainty = Uncertainty()) -> RangeReport:
    """Range shares per grouping and group, and the coverage gap across groups.

    Every share gets its interval (one vectorized call per grouping); the
    coverage gap gets bootstrap intervals and a test of homogeneity.
    """
    if table.cell_names != layout(specs):
        raise ValueError("the count table was not counted with these ranges")
    specs = tuple(specs)
    (overall,) = _groups([{}], ["overall"], table.total[None, :], specs, minimum, uncertainty)
    out = []
    for columns in groupings:
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: sort_key(keys[i]))
        groups = _groups([dict(zip(columns, keys[i], strict=True)) for i in order],
                         [" & ".join(show_value(v) for v in keys[i]) for i in order],
                         cells[order], specs, minimum, uncertainty)
        name = "&".join(columns)
        out.append(RangeGrouping(name, tuple(columns), groups,
                                 _coverage_gap(groups, minimum, name, uncertainty)))
    return RangeReport(specs, overall, tuple(out))


def _groups(keys: Sequence[dict[str, Any]], labels: Sequence[str],
            cells: npt.NDArray[np.int64], specs: tuple[RangeSpec, ...], minimum: int,
            uncertainty: Uncertainty) -> tuple[RangeGroup, ...]:
    """The groups of one grouping from their cells (groups, cells), intervals all at once."""
    n_groups, n_features = len(cells), len(specs)
    rows = cells[:, : len(CELLS)].sum(axis=1)
    fam = cells[:, TRUSTED_OFFSET:FEATURE_OFFSET]
    trusted = fam[:, : len(CELLS)].sum(axis=1)
    outside, unknown = fam[:, OUTSIDE], fam[:, UNKNOWN]
    states = cells[:, FEATURE_OFFSET:FEATURE_OFFSET + len(STATES) * n_features].reshape(
        n_groups, n_features, len(STATES))
    below, above, not_allowed, missing = (states[..., s] for s in
                                          (BELOW, ABOVE, NOT_ALLOWED, MISSING))
    known = rows[:, None] - missing
    # every share's numerator and denominator, in SHARES order, then the coverage
    num = np.stack([below + above + not_allowed, below, above, not_allowed, missing], axis=-1)
    den = np.stack([known, known, known, known, np.broadcast_to(rows[:, None], known.shape)],
                   axis=-1)
    num = np.concatenate([num.reshape(n_groups, -1), trusted[:, None]], axis=1)
    den = np.concatenate([den.reshape(n_groups, -1), (trusted + outside)[:, None]], axis=1)
    lo, hi = stats.proportion_interval(num, den, uncertainty.interval, uncertainty.confidence)
    lo_shares = lo[:, :-1].reshape(n_groups, n_features, len(SHARES))
    hi_shares = hi[:, :-1].reshape(n_groups, n_features, len(SHARES))
    out = []
    for i in range(n_groups):
        features = {}
        for f, spec in enumerate(specs):
            intervals = {name: (float(lo_shares[i, f, s]), float(hi_shares[i, f, s]))
                         for s, name in enumerate(SHARES) if not np.isnan(lo_shares[i, f, s])}
            c_in, c_below, c_above, c_not, c_missing = (int(x) for x in states[i, f])
            features[spec.feature] = FeatureCheck(spec.feature, int(rows[i]), c_in, c_below,
                                                  c_above, c_not, c_missing, intervals)
        k, n = int(trusted[i]), int(trusted[i] + outside[i])
        coverage = Rate(k / n, k, n, ci=(float(lo[i, -1]), float(hi[i, -1]))) if n else \
            Rate(None, k, 0, "no row with a known standing in every range")
        out.append(RangeGroup(keys[i], labels[i], int(rows[i]), bool(rows[i] < minimum),
                              coverage, k, int(outside[i]), int(unknown[i]), features))
    return tuple(out)


def _coverage_gap(groups: Sequence[RangeGroup], minimum: int, name: str,
                  uncertainty: Uncertainty) -> Gap:
    """The range_coverage gap, its bootstrap intervals and its test of homogeneity."""
    counts = np.array([[g.trusted, g.outside, 0, 0] for g in groups],
                      dtype=np.int64).reshape(len(groups), 4)
    num = counts[:, :1].astype(np.float64)
    den = counts[:, :2].sum(axis=1, keepdims=True).astype(np.float64)
    values = safe_divide(num, den)
    eligible = np.array([[not g.small and g.coverage.denominator >= minimum] for g in groups],
                        dtype=bool).reshape(len(groups), 1)
    diff, ratio = spread(values, eligible)
    excluded = []
    for g, ok in zip(groups, eligible[:, 0], strict=True):
        if ok:
            continue
        if g.small:
            why = f"small group: {g.rows:,} rows < {minimum}"
        elif g.coverage.denominator == 0:
            why = "undefined: no row with a known standing in every range"
        else:
            why = f"too few rows with known range values: {g.coverage.denominator:,} < {minimum}"
        excluded.append(Exclusion(g.label, why, g.rows, g.coverage.denominator))
    used = int(eligible.sum())
    reason = None if used >= 2 else (
        f"{used} group{'s' if used != 1 else ''} with at least {minimum} rows of known "
        "range values; a gap needs two")
    boot = stats.bootstrap(counts, (COVERAGE_METRIC,), eligible,
                           int(np.argmax(den[:, 0])) if len(groups) else 0, [],
                           uncertainty.bootstrap, uncertainty.confidence,
                           stats.seed_for(uncertainty.seed, f"{RANGE_COVERAGE}:{name}"))
    _, _, p_value = stats.homogeneity(num, den, eligible)
    return Gap(_num(diff[0]), _num(ratio[0]), used, tuple(excluded), reason,
               ci_difference=_pair(boot.difference[0]), ci_ratio=_pair(boot.ratio[0]),
               p_value=_num(p_value[0]))


def with_criteria(result: RangeReport, groupings: Sequence[GroupingResult]) -> RangeReport:
    """The report with each grouping's coverage gap as the audit's criteria hold it.

    The audit adjusts every p-value together, in its groupings' criteria; this
    carries the adjusted coverage gaps back into the range report.
    """
    by_name = {g.name: g.criteria.get(RANGE_COVERAGE) for g in groupings}
    return replace(result, groupings=tuple(
        replace(r, coverage=by_name.get(r.name) or r.coverage) for r in result.groupings))


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _pair(bounds: npt.NDArray[np.float64]) -> Interval | None:
    low, high = (float(x) for x in bounds)
    return None if np.isnan(low) or np.isnan(high) else (low, high)


# -- gates --------------------------------------------------------------------------------


def evaluate(gates: Sequence[RangeGate], result: RangeReport | None, minimum: int,
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
                out.append(_judge(gate.threshold, spec.feature, grouping, minimum, decide))
    return tuple(out)


def _judge(threshold: float, feature: str, grouping: RangeGrouping, minimum: int,
           decide: str) -> GateResult:
    """The largest share of an eligible group, judged by the audit's decision rule.

    The interval of the largest share runs from the largest lower end to the
    largest upper end of the eligible groups' share intervals: the gate fails
    confidently when some group's whole interval is past the threshold, and
    passes confidently when every group's is inside it.
    """
    from .gates import decision

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
