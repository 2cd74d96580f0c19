"""Range checks, a kind: each row's standing against the trusted ranges, counted per group.

Every row gets, per feature, one of the states ``in``, ``below``, ``above``,
``not_allowed`` or ``missing`` (a missing value is unknown, never a violation;
a value equal to a bound is inside), and one "trusted" cell: its base cell
(confusion or drop) when it is inside every range, ``outside`` when some value
is outside its range, ``unknown`` otherwise. These cells stream, merge and
project like every other count.

From the counts: per group and feature the shares below, above, not allowed
(over the rows whose value is known) and missing (over all rows); the
``range_coverage`` criterion, the share of rows inside every range among the
rows whose standing is known, compared across groups like any other criterion;
and the count table of the trusted rows, so that every fairness figure is
computed on the trusted subset by the same code as on all rows. Every share
gets the interval a rate gets, and the coverage gap the bootstrap intervals and
test a metric's gap gets (docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .. import stats
from ..counts import CountTable
from ..decode import CELLS, Where
from ..errors import ConfigError
from ..metrics import Criterion, Metric, safe_divide, spread
from ..numbers import interval, scalar
from ..rangespec import RANGE_COVERAGE, RangeSpec
from ..result import (
    SHARES,
    Exclusion,
    FeatureCheck,
    Gap,
    RangeGroup,
    RangeGrouping,
    RangeReport,
    Rate,
    show_value,
)
from .base import CellIndex, Context, Figures, IntArray, OutcomeKind, Settings

STATES = ("in", "below", "above", "not_allowed", "missing")
IN, BELOW, ABOVE, NOT_ALLOWED, MISSING = range(5)
# The trusted family: the base cells of rows inside every range, then the sinks.
TRUSTED = (*CELLS, "outside", "unknown")
OUTSIDE, UNKNOWN = len(CELLS), len(CELLS) + 1
# offsets in the layout the figures read: the base cells, then the kind's own
TRUSTED_OFFSET = len(CELLS)
FEATURE_OFFSET = TRUSTED_OFFSET + len(TRUSTED)


def own_cells(specs: Sequence[RangeSpec]) -> tuple[str, ...]:
    """The cells range checks own: the trusted family, then one family a feature."""
    return (*(f"trusted:{c}" for c in TRUSTED),
            *(f"range:{s.feature}:{state}" for s in specs for state in STATES))


def layout(specs: Sequence[RangeSpec]) -> tuple[str, ...]:
    """The cells the range figures read: the base kind's, then the range checks' own."""
    return (*CELLS, *own_cells(specs))


# Counting packs the families, so that each row adds fewer counts: the base cell
# times the row's standing (in every range, unknown, outside), and the joint
# state of each pair of features. The expansion turns packed counts into the
# kind's own cells, exactly.
_STANDING_CELL = {0: None, 1: UNKNOWN, 2: OUTSIDE}


class Checker:
    """Turns a batch's range features into cell indices, beside the base cells."""

    def __init__(self, specs: Sequence[RangeSpec]) -> None:
        self.specs = tuple(specs)
        self.cell_names = own_cells(self.specs)
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
        """The 0/1 matrix taking packed counts to the kind's own cells."""
        m = np.zeros((len(self.packed_names), len(self.cell_names)), dtype=np.int64)
        features = len(TRUSTED)
        for sev in range(3):
            for c in range(len(CELLS)):
                cell = _STANDING_CELL[sev]
                m[sev * len(CELLS) + c, c if cell is None else cell] = 1
        for p, pair in enumerate(self._pairs):
            for k in range(5 ** len(pair)):
                for i, f in enumerate(pair):
                    state = (k // 5 ** i) % 5
                    m[self._offsets[p] + k, features + len(STATES) * f + state] = 1
        return m

    def expand(self, counts: IntArray) -> IntArray:
        """Counts over the packed cells (groups, cells) as counts over the kind's own cells."""
        return np.asarray(counts @ self._expand, dtype=np.int64)

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



# -- figures ----------------------------------------------------------------------------

# range_coverage as a rate over two cells (inside every range, outside some
# range), so that its gap is bootstrapped and tested by the same code as every
# metric's: a group's two counts are a binomial sample of its known rows.
COVERAGE_METRIC = Metric(
    RANGE_COVERAGE, "Range coverage", (0,), (0, 1),
    "share of rows inside every range among the rows whose standing is known",
    "higher", False, "rows with a known standing in every range")




def trusted_view(table: CountTable) -> CountTable:
    """The count table of the rows inside every range, in the base cell layout."""
    start = TRUSTED_OFFSET
    return CountTable(table.columns, CELLS, table.levels, table.keys,
                      np.ascontiguousarray(table.cells[:, start:start + len(CELLS)]))


def report(table: CountTable, specs: Sequence[RangeSpec],
           groupings: Sequence[tuple[str, ...]], context: Context) -> RangeReport:
    """Range shares per grouping and group, and the coverage gap across groups.

    Every share gets its interval (one vectorized call per grouping); the
    coverage gap gets bootstrap intervals and a test of homogeneity.
    """
    if table.cell_names != layout(specs):
        raise ValueError("the count table was not counted with these ranges")
    specs = tuple(specs)
    minimum, sort_key = context.min_group_size, context.sort_key
    (overall,) = _groups([{}], ["overall"], table.total[None, :], specs, minimum, context)
    out = []
    for columns in groupings:
        keys, cells = table.project(columns)
        order = sorted(range(len(keys)), key=lambda i: sort_key(keys[i]))
        groups = _groups([dict(zip(columns, keys[i], strict=True)) for i in order],
                         [" & ".join(show_value(v) for v in keys[i]) for i in order],
                         cells[order], specs, minimum, context)
        name = "&".join(columns)
        out.append(RangeGrouping(name, tuple(columns), groups,
                                 _coverage_gap(groups, minimum, name, context)))
    return RangeReport(specs, overall, tuple(out))


def _groups(keys: Sequence[dict[str, Any]], labels: Sequence[str],
            cells: npt.NDArray[np.int64], specs: tuple[RangeSpec, ...], minimum: int,
            uncertainty: Context) -> tuple[RangeGroup, ...]:
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
    lo, hi = stats.proportion_interval(num, den, uncertainty.interval,  # type: ignore[arg-type]
                                      uncertainty.confidence)
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
                  uncertainty: Context) -> Gap:
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
            why = f"small group: {g.rows:,} rows < {minimum:,}"
        elif g.coverage.denominator == 0:
            why = "undefined: no row with a known standing in every range"
        else:
            why = f"too few rows with known range values: {g.coverage.denominator:,} < {minimum:,}"
        excluded.append(Exclusion(g.label, why, g.rows, g.coverage.denominator))
    used = int(eligible.sum())
    reason = None if used >= 2 else (
        f"{used:,} group{'s' if used != 1 else ''} with at least {minimum:,} rows of known "
        "range values; a gap needs two")
    boot = stats.bootstrap(counts, (COVERAGE_METRIC,), eligible,
                           int(np.argmax(den[:, 0])) if len(groups) else 0, [],
                           uncertainty.bootstrap, uncertainty.confidence,
                           stats.seed_for(uncertainty.seed, f"{RANGE_COVERAGE}:{name}"))
    _, _, p_value = stats.homogeneity(num, den, eligible)
    return Gap(scalar(diff[0]), scalar(ratio[0]), used, tuple(excluded), reason,
               ci_difference=interval(boot.difference[0]), ci_ratio=interval(boot.ratio[0]),
               p_value=scalar(p_value[0]))


def with_criteria(result: RangeReport, criteria: dict[str, dict[str, Gap]]) -> RangeReport:
    """The report with each grouping's coverage gap as the audit's criteria hold it.

    The audit adjusts every p-value together, in its groupings' criteria; this
    carries the adjusted coverage gaps back into the range report.
    """
    return replace(result, groupings=tuple(
        replace(r, coverage=criteria.get(r.name, {}).get(RANGE_COVERAGE) or r.coverage)
        for r in result.groupings))


class RangeChecks(OutcomeKind):
    """The kind an audit with declared ranges counts: states per feature, trusted rows."""

    name: ClassVar[str] = "ranges"
    declared_criteria: ClassVar[tuple[Criterion, ...]] = (
        Criterion(RANGE_COVERAGE, (), "the share of rows inside every range is equal across "
                  "groups"),)

    def __init__(self, specs: Sequence[RangeSpec]) -> None:
        self.specs = tuple(specs)
        self.checker = Checker(self.specs)
        self.cells = self.checker.cell_names
        self.criteria = self.declared_criteria
        self.columns = tuple(s.feature for s in self.specs)
        # categories are checked once per distinct value when parquet hands them over
        # dictionary-encoded
        self.dictionary_columns = tuple(s.feature for s in self.specs if s.allowed is not None)

    @classmethod
    def from_settings(cls, settings: Settings) -> RangeChecks | None:
        return cls(settings.ranges) if settings.ranges else None

    def counted(self) -> tuple[str, ...]:
        return self.checker.packed_names

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        assert base is not None  # the trusted family crosses the base cells
        return self.checker.cells(batch, base, where.file)  # type: ignore[arg-type]

    def unpack(self, counts: IntArray) -> IntArray:
        return self.checker.expand(counts)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        section = report(table, self.specs, groupings, context)
        return Figures({g.name: {RANGE_COVERAGE: g.coverage} for g in section.groupings},
                       section, trusted_view(table))

    def adjusted(self, section: Any, criteria: dict[str, dict[str, Gap]]) -> Any:
        return with_criteria(section, criteria)
