"""What an outcome kind declares, and the registry the audit finds kinds in.

An audit's count table is the sum of what its outcome kinds count. A kind
declares:

- the cells it adds to (:attr:`OutcomeKind.cells`) and how one batch of rows
  becomes counts in them (:meth:`OutcomeKind.count`: a cell index per row, for
  each family of cells it fills);
- its metrics, proportions of sums of its :attr:`OutcomeKind.metric_cells`
  (:class:`fairaudit.metrics.Metric`, registered as data), and the criteria
  over them that gates can name;
- how its counts are resampled for the bootstrap
  (:meth:`OutcomeKind.resample`; by default one multinomial draw per group over
  the metric cells, which partition the rows the kind counts);
- the input columns, beyond the group columns, that its counts are keyed by
  (:attr:`OutcomeKind.keys`: a stratum, a class), when its cells depend on a
  value that is not known before the rows are read;
- how reporters show it (:attr:`OutcomeKind.shown`, ``terminal``, ``charted``:
  the metrics of the per-group tables and charts).

The rest of the audit (streaming, merging, projection onto groupings, rates and
their intervals, gaps and their bootstrap intervals, tests, gates, the JSON and
every reporter) works from those declarations, the same for every kind.
docs/design.md follows one batch through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from ..comparisons import TO_OVERALL
from ..decode import Roles, Where
from ..metrics import Criterion, Metric
from ..rangespec import RangeSpec
from ..reference_group import find

if TYPE_CHECKING:
    import pyarrow as pa

    from ..counts import CountTable, Tally
    from ..result import Gap

IntArray = npt.NDArray[np.int64]
# what a kind's count returns: a cell index per row, shaped (rows,) for one family of
# cells or (families, rows) for several; indices run over the kind's counted cells
CellIndex = npt.NDArray[np.integer[Any]]
# how a kind's metric cells are drawn again: (groups, cells), replicates, generator ->
# (groups, replicates, cells)
Resampler = Callable[[IntArray, int, np.random.Generator], IntArray]


class Settings(Protocol):
    """What kinds are built from: the audit's settings (an ``AuditConfig`` is one)."""

    @property
    def roles(self) -> Roles: ...

    @property
    def label(self) -> str | None: ...

    @property
    def ranges(self) -> tuple[RangeSpec, ...]: ...


@dataclass(frozen=True)
class Context:
    """What a kind's own figures are computed with: the audit's settings of the same names."""

    min_group_size: int
    interval: str
    confidence: float
    bootstrap: int
    seed: int
    sort_key: Callable[[tuple[Any, ...]], Any]
    # the reference group given per group column (column, value), as in the config
    reference: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Figures:
    """Figures a kind computes itself, beyond its metrics' per-group rates.

    ``criteria`` adds, per grouping name, criteria gates can name and the
    audit's multiple-testing adjustment covers; ``section`` is the kind's own
    part of the result (the range checks' report); ``subset``, when given, is a
    count table in the base kind's layout holding the rows the audit is
    computed on once more (the rows inside every trusted range); ``tests``
    are the kind's own tests for the audit's adjustment.
    """

    criteria: dict[str, dict[str, Gap]]
    section: Any = None
    subset: CountTable | None = None
    #: p-values of the kind's own tests, by keys of its choosing: they join the audit's
    #: multiple-testing family and come back adjusted to :meth:`OutcomeKind.tested`
    tests: Mapping[Any, float] = field(default_factory=dict)
    #: per-group figures that are not proportions of cells (a score's AUC), listed with
    #: each group's metrics: grouping name -> group key (as ``table.project`` gives it)
    #: -> metric name -> its JSON entry (``{"value": ..., "ci": [lo, hi] or None, ...}``)
    group_metrics: Mapping[str, Mapping[tuple[Any, ...], Mapping[str, Mapping[str, Any]]]] = \
        field(default_factory=dict)


class OutcomeKind:
    """One kind of outcome an audit counts. Subclass it and :func:`register` the class.

    The class attributes say what any instance can compute (config files and
    flags are checked against them); :meth:`from_settings` builds the kind an
    audit uses, or None when the audit's settings do not ask for it. The first
    kind an audit counts (binary decisions, when it has a decision) is its base:
    its metric cells are the rows used and the group sizes, and kinds that cross
    it get its cell of every row.
    """

    name: ClassVar[str]
    declared_metrics: ClassVar[tuple[Metric, ...]] = ()
    declared_criteria: ClassVar[tuple[Criterion, ...]] = ()

    #: the cells this kind owns in the count table, in order
    cells: tuple[str, ...] = ()
    #: the cells its metrics are fractions of (indices in ``Metric.numerator`` run over
    #: these); they partition the rows that count for the kind's metrics
    metric_cells: tuple[str, ...] = ()
    #: cells counting rows the kind skipped (a missing value), reported per group
    drop_cells: tuple[str, ...] = ()
    #: cells holding float64 sums of per-row values (a numeric outcome's); ``count``
    #: then returns a :class:`fairaudit.counts.Tally`, and ``metric_cells`` may name them
    sums: tuple[str, ...] = ()
    #: integer cells counting the rows of each metric cell, when the metric cells are sums of
    #: weights (aligned with ``metric_cells``); empty: the metric cells count rows themselves
    row_cells: tuple[str, ...] = ()
    #: sum cells of the squared weights of each metric cell (aligned with ``metric_cells``):
    #: the engine rescales a group's metric cells to Kish's effective size with them
    weight_squares: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    #: input columns it reads, and those best read dictionary-encoded from parquet
    columns: tuple[str, ...] = ()
    #: input columns the count table is keyed by beyond the group columns (a stratum,
    #: a class): their values are levels of extra key columns after the group columns.
    #: No grouping names them, so every grouping's figures sum over them; the kind's
    #: own :meth:`figures` project onto them (``table.project((*grouping, *keys))``)
    keys: tuple[str, ...] = ()
    dictionary_columns: tuple[str, ...] = ()
    #: input columns it reads lists from (a shortlist's candidates); the readers refuse
    #: lists in any other column
    list_columns: tuple[str, ...] = ()
    #: metrics of the per-group tables (HTML and Markdown, then the terminal) and charts
    shown: tuple[str, ...] = ()
    terminal: tuple[str, ...] = ()
    charted: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> OutcomeKind | None:
        raise NotImplementedError

    @classmethod
    def knows(cls, name: str) -> bool:
        """Whether a gate may name ``name``: a declared criterion, or any metric's gap,
        either of them against the whole population (``NAME_to_overall``)."""
        if name.endswith(TO_OVERALL) and name != TO_OVERALL:
            base = name[: -len(TO_OVERALL)]
            # a criterion over the reference group has no comparison to the population
            return base not in cls.differences_only() and cls.knows(base)
        return any(c.name == name for c in cls.declared_criteria) or \
            any(m.name == name for m in cls.declared_metrics)

    @classmethod
    def differences_only(cls) -> tuple[str, ...]:
        """Names a gate may bound only with ``max_gap`` (figures with no ratio form)."""
        return tuple(c.name for c in cls.declared_criteria if not c.has_ratio)

    def counted(self) -> tuple[str, ...]:
        """The cells a batch adds to; :meth:`unpack` turns them into :attr:`cells`."""
        return self.cells

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None
              ) -> CellIndex | Tally:
        """Each row's cell (per family) for one batch; ``base`` is the base kind's cells.

        A kind with :attr:`sums` returns a :class:`fairaudit.counts.Tally`: the
        cells, and each row's sum cells and the values it adds to them."""
        raise NotImplementedError

    def seen(self) -> Any:
        """What the kind remembers across batches besides counts (None: nothing).

        A backend that counts parts in other processes hands each part's
        :meth:`seen` to the client's kind with :meth:`absorb`, so that checks
        across the whole input (two classes at most in a label) hold there too.
        """
        return None

    def absorb(self, seen: Any, file: str) -> None:
        """Take in what the same kind remembered counting ``file`` elsewhere."""

    def settle(self, table: CountTable, start: int) -> tuple[OutcomeKind, CountTable]:
        """Once the counts are in: the kind, and the table, as the figures are computed from.

        A kind keyed by values it learns from the rows (:attr:`keys`: the classes
        of a label) may turn those key columns into cells of its own, and come
        back as a kind declaring them (its metrics per class). ``start`` is its
        first cell in the table. By default nothing changes.
        """
        return self, table

    def unpack(self, counts: IntArray) -> IntArray:
        """Counts over :meth:`counted` cells (groups, cells) as counts over :attr:`cells`."""
        return counts

    def resample(self, counts: IntArray, replicates: int, rng: np.random.Generator
                 ) -> IntArray:
        """Bootstrap replicates of the metric cells: (groups, cells) -> (groups, replicates,
        cells). Each group's rows are drawn again, as many as it has."""
        from ..stats import resample

        return resample(counts, replicates, rng)

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures | None:
        """Figures beyond the metrics, from the base kind's cells and this kind's cells."""
        return None

    def adjusted(self, section: Any, criteria: dict[str, dict[str, Gap]]) -> Any:
        """The kind's section with its criteria as the audit's adjustment left them."""
        return section

    def tested(self, section: Any, adjusted: Mapping[Any, float]) -> Any:
        """The kind's section with its own tests' adjusted p-values (:attr:`Figures.tests`)."""
        return section


def reference_index(keys: Sequence[tuple[Any, ...]], columns: Sequence[str],
                    counts: npt.NDArray[np.int64], given: Mapping[str, str]
                    ) -> tuple[int, str]:
    """The reference group of a grouping (keys in sorted order), as the engine picks it
    (:func:`fairaudit.reference_group.find`): the one ``given`` names, else the largest."""
    return find(list(keys), tuple(columns), counts, tuple(given.items()))


_REGISTERED: list[type[OutcomeKind]] = []


def register(kind: type[OutcomeKind]) -> type[OutcomeKind]:
    """Add an outcome kind (usable as a class decorator); a name is registered once."""
    if any(k.name == kind.name for k in _REGISTERED):
        raise ValueError(f"an outcome kind named {kind.name!r} is registered already")
    _REGISTERED.append(kind)
    return kind


def unregister(kind: type[OutcomeKind]) -> None:
    _REGISTERED.remove(kind)


def registered() -> tuple[type[OutcomeKind], ...]:
    return tuple(_REGISTERED)


def kinds_for(settings: Settings) -> tuple[OutcomeKind, ...]:
    """The kinds an audit with these settings counts, base kind first."""
    return tuple(k for cls in _REGISTERED if (k := cls.from_settings(settings)) is not None)


def settle(kinds: Sequence[OutcomeKind], table: CountTable
           ) -> tuple[tuple[OutcomeKind, ...], CountTable]:
    """Every kind's :meth:`OutcomeKind.settle`, in order, on the table of all of them."""
    settled, start = [], 0
    for kind in kinds:
        kind, table = kind.settle(table, start)
        settled.append(kind)
        start += len(kind.cells)
    return tuple(settled), table


def declared_criteria() -> tuple[Criterion, ...]:
    """Every criterion a gate can name, over every registered kind."""
    return tuple(c for cls in _REGISTERED for c in cls.declared_criteria)


def has_ratio(name: str) -> bool:
    """Whether a ``min_ratio`` gate can bound ``name`` (an index or an average odds
    difference has no ratio form)."""
    return not any(name in cls.differences_only() for cls in _REGISTERED)


def gateable(name: str) -> bool:
    """Whether some registered kind computes ``name``: a criterion, or a metric's gap."""
    return any(cls.knows(name) for cls in _REGISTERED)
