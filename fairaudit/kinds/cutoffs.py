"""Several decisions from one score: fixed thresholds, and the top N (or N%) of the scores.

``--thresholds 0.3,0.5,0.7`` audits the decision ``score >= t`` for each ``t``;
``--select-top 100,10%`` the decision "among the 100 (10%) highest scores of the
rows audited", as population screening does. Each cutoff is a family of four
cells (TN, FP, FN, TP at that cutoff) that every row used is counted into once,
so each cutoff's confusion figures are the binary decision's metrics over its own
four cells, named ``METRIC@CUTOFF`` (``tpr@0.7``, ``selection_rate@top10%``), and
each criterion the same way (``demographic_parity@0.7``: gates name it so).

A threshold is applied to every row's score as it is read, so its counts are
exact. A top-N cutoff is only known once every row is counted: the scores are
counted in :data:`BINS` equal bins of [0, 1] per label, and at the end
(:meth:`SelectTop.unpack`) the cutoff's bin is found from the totals. Rows in
higher bins are selected; the rows in the cutoff's bin are split in proportion
over groups and labels (largest remainder), so that N rows are selected, as
breaking ties at random would on average (a few fewer when two cells' shares tie
exactly at the last row: those cells all round down, so that the split never
depends on the order the rows were counted in). When the cutoff's bin holds one
distinct score those rows are truly tied; otherwise a group's selected count can
differ from that of an exact ranking by at most its rows in that bin, which the
report gives per cutoff (``tied``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa

from .. import arrays
from ..decode import Where
from ..errors import InputError, UsageError
from ..metrics import CRITERIA, METRICS, Criterion, Metric, criteria_for, metrics_for
from ..result import show_value
from .base import CellIndex, Context, Figures, IntArray, OutcomeKind, Settings

if TYPE_CHECKING:
    from ..counts import CountTable

BINS = 1000
_CONFUSION = ("tn", "fp", "fn", "tp")
_AT = re.compile(r"(?P<base>[a-z_]+)@(?P<cut>top[0-9]+(\.[0-9]+)?%?|[0-9]*\.?[0-9]+)")
# the figures of the per-group tables at each cutoff (pages; the terminal has fewer)
_SHOWN = ("selection_rate", "tpr", "fpr", "precision")
_TERMINAL = ("selection_rate", "tpr", "fpr")


def score_values(batch: pa.RecordBatch, column: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The score column as float64 (its values under nulls are undefined)."""
    col = batch.column(column)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_null(arr.type):
        return np.zeros(len(arr))
    if not pa.types.is_floating(arr.type):
        arr = arr.cast(pa.float64())
    return np.asarray(arrays.values(arr), dtype=np.float64)


# a score this far (in bins) below a bin's lower edge is counted in that bin: float32
# scores with three decimals (0.699 is 0.69899999) then fall each in its own bin
EDGE = 1e-4


def score_bin(values: np.ndarray[Any, np.dtype[np.float64]]) -> IntArray:
    """Each score's bin of :data:`BINS` equal bins of [0, 1]; 1.0 is in the last.

    Bin ``b`` holds the scores from ``b / BINS`` up to ``(b + 1) / BINS``, each edge
    moved down by ``EDGE / BINS`` (1e-7) so that a score written with three decimals
    and stored as float32 lands in the bin of its decimal value.
    """
    out: IntArray = np.minimum(np.floor(values * BINS + EDGE), BINS - 1).astype(np.int64)
    return out


def base_labels(base: CellIndex | None, rows: int) -> tuple[IntArray, np.ndarray[Any, Any]]:
    """Each row's label (0 without a label column) and whether the base kind used it."""
    if base is None:
        return np.zeros(rows, dtype=np.int64), np.ones(rows, dtype=bool)
    cell = np.asarray(base, dtype=np.int64)
    used = cell < len(_CONFUSION)
    return (cell >> 1) & 1, used


def at_metrics(cutoffs: tuple[str, ...], has_label: bool
               ) -> tuple[tuple[Metric, ...], tuple[Criterion, ...]]:
    """The binary decision's metrics and criteria at each cutoff, over its four cells."""
    metrics: list[Metric] = []
    criteria: list[Criterion] = []
    for i, cut in enumerate(cutoffs):
        shift = 4 * i
        for m in metrics_for(has_label):
            metrics.append(Metric(
                f"{m.name}@{cut}", f"{m.title} @{cut}",
                tuple(c + shift for c in m.numerator), tuple(c + shift for c in m.denominator),
                f"{m.description}, deciding at {describe(cut)}", m.better, m.needs_label,
                m.denominator_name))
        for c in criteria_for(has_label):
            criteria.append(Criterion(f"{c.name}@{cut}", tuple(f"{n}@{cut}" for n in c.metrics),
                                      f"{c.description}, deciding at {describe(cut)}"))
    return tuple(metrics), tuple(criteria)


def describe(cut: str) -> str:
    if cut.startswith("top"):
        return f"the top {cut[3:]} of the scores"
    return f"score >= {cut}"


def knows_at(name: str) -> bool:
    """Whether ``name`` is a metric or criterion at a cutoff (``tpr@0.7``)."""
    match = _AT.fullmatch(name)
    if match is None:
        return False
    base = match["base"]
    return any(m.name == base for m in METRICS) or any(c.name == base for c in CRITERIA)


def threshold_name(t: float) -> str:
    return f"{t:g}"


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``0.3,0.5,0.7``: decision thresholds in [0, 1]."""
    out: list[float] = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"--thresholds {text!r}: {part.strip()!r} is not a number; write "
                             "thresholds in [0, 1] separated by commas, such as 0.3,0.5,0.7"
                             ) from None
        out.append(value)
    return tuple(out)


def threshold_problems(values: Any, where: str) -> list[str]:
    if not isinstance(values, tuple) or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0
            or math.isnan(v) for v in values):
        return [f"{where} {list(values) if isinstance(values, tuple) else values!r}: every "
                "threshold must be a number in [0, 1], such as 0.3,0.5,0.7"]
    if len(set(values)) != len(values):
        return [f"{where}: a threshold is named twice"]
    return []


def parse_select_top(text: str) -> tuple[str, ...]:
    """``100,10%``: top-N cutoffs, as rows or percentages of the rows audited."""
    return tuple(part.strip() for part in text.split(","))


_TOP = re.compile(r"(?P<n>[0-9]+(\.[0-9]+)?)(?P<pct>%?)")


def top_problems(values: Any, where: str) -> list[str]:
    if not isinstance(values, tuple):
        return [f"{where} {values!r} must be a list of cutoffs, such as ['100', '10%']"]
    out = []
    for v in values:
        match = _TOP.fullmatch(str(v))
        if match is None or (not match["pct"] and "." in match["n"]):
            out.append(f"{where} {v!r}: a cutoff is a whole number of rows (100) or a "
                       "percentage of the rows (10%)")
        elif float(match["n"]) == 0:
            out.append(f"{where} {v}: a cutoff of 0 rows selects nobody; give at least 1 "
                       "row or a percentage above 0")
        elif match["pct"] and float(match["n"]) > 100:
            out.append(f"{where} {v}: above 100% of the rows; give a percentage in (0, 100]")
    if len({str(v) for v in values}) != len(values):
        out.append(f"{where}: a cutoff is named twice")
    return out


@dataclass(frozen=True)
class TopCutoff:
    """A top-N cutoff: the rows it selected, and the rows in the bin it fell in."""

    cutoff: str
    selected: int
    tied: int


@dataclass(frozen=True)
class TopGrouping:
    name: str
    groups: tuple[tuple[str, tuple[int, ...]], ...]  # label, rows in each cutoff's bin


@dataclass(frozen=True)
class TopReport:
    bins: int
    cutoffs: tuple[TopCutoff, ...]
    groupings: tuple[TopGrouping, ...]

    def document(self) -> dict[str, Any]:
        """The JSON report's ``select_top`` section: each cutoff's rows and ties."""
        return {"select_top": {
            "bins": self.bins,
            "cutoffs": [{"cutoff": c.cutoff, "selected": c.selected, "tied": c.tied}
                        for c in self.cutoffs],
            "groupings": [{"name": g.name, "groups": [
                {"label": label, "tied": dict(zip((c.cutoff for c in self.cutoffs), tied,
                                                  strict=True))}
                for label, tied in g.groups]} for g in self.groupings],
        }}


def cutoff_gate_problems(gates: Sequence[Any], thresholds: tuple[float, ...],
                         tops: tuple[str, ...]) -> list[str]:
    """Gates naming a cutoff the audit does not decide at (a typo, most likely)."""
    known = {threshold_name(t) for t in thresholds} | {f"top{t}" for t in tops}
    out = []
    for gate in gates:
        if knows_at(gate.criterion) and gate.criterion.partition("@")[2] not in known:
            listed = ", ".join(sorted(known)) or "none"
            out.append(f"--{gate.kind.replace('_', '-')} {gate.criterion}: the audit decides "
                       f"at no such cutoff (cutoffs: {listed}); add it with --thresholds or "
                       "--select-top")
    return out


class _Cutoffs(OutcomeKind):
    """Four confusion cells per cutoff, and the binary metrics at each."""

    def _declare(self, cutoffs: tuple[str, ...], has_label: bool) -> None:
        self.cutoffs = cutoffs
        self.cells = (*(f"{c}@{cut}" for cut in cutoffs for c in _CONFUSION),
                      f"{self.name}:not_used")
        self.metric_cells = self.cells[:-1]
        self.metrics, self.criteria = at_metrics(cutoffs, has_label)
        names = {m.name for m in self.metrics}
        self.shown, self.terminal = (
            tuple(f"{m}@{cut}" for cut in cutoffs for m in chosen if f"{m}@{cut}" in names)
            for chosen in (_SHOWN, _TERMINAL))
        self.charted = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> OutcomeKind | None:
        """The kind when the audit has a score and cutoffs of this kind (the setting
        named as the kind: ``thresholds``, ``select_top``)."""
        cutoffs = tuple(getattr(settings, cls.name, ()) or ())
        score = settings.roles.score
        if not cutoffs or score is None:
            return None
        return cls(score, cutoffs, settings.label is not None)  # type: ignore[call-arg]

    @classmethod
    def knows(cls, name: str) -> bool:
        return knows_at(name) and (name.partition("@")[2].startswith("top")
                                   == (cls.name == "select_top"))

    def resample(self, counts: IntArray, replicates: int, rng: np.random.Generator
                 ) -> IntArray:
        """Each cutoff's four cells drawn again on their own: they count the same rows."""
        from ..stats import resample

        return np.concatenate([resample(counts[:, 4 * i:4 * i + 4], replicates, rng)
                               for i in range(len(self.cutoffs))], axis=-1)


class Thresholds(_Cutoffs):
    """``--thresholds``: the decision ``score >= t`` at each threshold, counted exactly."""

    name: ClassVar[str] = "thresholds"

    def __init__(self, score: str, thresholds: tuple[float, ...], has_label: bool) -> None:
        self.score = score
        self.thresholds = tuple(sorted(thresholds))
        self.columns = (score,)
        self._declare(tuple(threshold_name(t) for t in self.thresholds), has_label)

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        label, used = base_labels(base, batch.num_rows)
        values = score_values(batch, self.score)
        k = len(self.thresholds)
        out = np.full((k, batch.num_rows), 4 * k, dtype=np.int64)
        for i, t in enumerate(self.thresholds):
            # the base decision's comparison: float64 against the exact threshold
            cell = 4 * i + 2 * label + (values >= np.float64(t))
            out[i] = np.where(used, cell, 4 * k)
        return out


class SelectTop(_Cutoffs):
    """``--select-top``: the N (or N%) highest scores decided positive, from fine bins."""

    name: ClassVar[str] = "select_top"

    def __init__(self, score: str, tops: tuple[str, ...], has_label: bool) -> None:
        self.score = score
        self.tops = tops
        self.columns = (score,)
        self._declare(tuple(f"top{t}" for t in tops), has_label)
        # per cutoff, each group's rows in the cutoff's bin: the bound on its selected count
        self.cells = (*self.metric_cells, *(f"tied@{c}" for c in self.cutoffs), self.cells[-1])

    def counted(self) -> tuple[str, ...]:
        return (*(f"top:label{y}:bin{b}" for y in (0, 1) for b in range(BINS)),
                "top:not_used")

    def count(self, batch: pa.RecordBatch, where: Where, base: CellIndex | None) -> CellIndex:
        label, used = base_labels(base, batch.num_rows)
        cell = label * BINS + score_bin(np.clip(score_values(batch, self.score), 0.0, 1.0))
        return np.where(used, cell, 2 * BINS)

    def rows(self, top: str, used: int) -> int:
        """The number of rows cutoff ``top`` selects out of ``used``."""
        pct = top.endswith("%")
        n = math.floor(float(top[:-1]) * used / 100 + 1e-9) if pct else int(top)
        if n < 1:
            raise InputError(f"--select-top {top}: selects 0 of the {used:,} rows audited; "
                             "give a larger cutoff")
        if n > used:
            raise InputError(f"--select-top {top}: more rows than the {used:,} audited; give "
                             "at most that many")
        return n

    def figures(self, table: CountTable, groupings: Sequence[tuple[str, ...]],
                context: Context) -> Figures:
        """Per cutoff the rows selected and the rows in its bin, overall and per group."""
        total = table.total
        cutoffs = []
        for cut in self.cutoffs:
            selected = int(total[table.cell_names.index(f"fp@{cut}")]
                           + total[table.cell_names.index(f"tp@{cut}")])
            cutoffs.append(TopCutoff(cut, selected, int(total[table.cell_names.index(
                f"tied@{cut}")])))
        per = []
        for cols in groupings:
            keys, cells = table.project(cols)
            order = sorted(range(len(keys)), key=lambda i: context.sort_key(keys[i]))
            idx = [table.cell_names.index(f"tied@{c}") for c in self.cutoffs]
            per.append(TopGrouping("&".join(cols), tuple(
                (" & ".join(show_value(v) for v in keys[i]),
                 tuple(int(x) for x in cells[i, idx])) for i in order)))
        return Figures({}, TopReport(BINS, tuple(cutoffs), tuple(per)))

    def unpack(self, counts: IntArray) -> IntArray:
        hist = counts[:, :2 * BINS].reshape(len(counts), 2, BINS)
        per_bin = hist.sum(axis=(0, 1))
        used = int(per_bin.sum())
        out = np.zeros((len(counts), len(self.cells)), dtype=np.int64)
        out[:, -1] = counts[:, -1]
        if used == 0:
            return out
        # rows in bin b or higher, over every group
        from_top = np.cumsum(per_bin[::-1])[::-1]
        for i, top in enumerate(self.tops):
            n = self.rows(top, used)
            cut = int(np.flatnonzero(from_top >= n)[-1])  # the bin the n-th row is in
            above = hist[:, :, cut + 1:].sum(axis=2)  # (groups, labels)
            tied = hist[:, :, cut]
            out[:, 4 * len(self.tops) + i] = tied.sum(axis=1)
            taken = _split(tied, n - int(above.sum()))
            selected = above + taken
            total = hist.sum(axis=2)
            # cells: tn, fp, fn, tp = label * 2 + selected
            out[:, 4 * i + 0] = total[:, 0] - selected[:, 0]
            out[:, 4 * i + 1] = selected[:, 0]
            out[:, 4 * i + 2] = total[:, 1] - selected[:, 1]
            out[:, 4 * i + 3] = selected[:, 1]
        return out


def _split(cells: IntArray, take: int) -> IntArray:
    """``take`` of the rows in ``cells`` spread in proportion, by largest remainder.

    Cells whose remainders tie at the last row all round down, so that the split
    depends on the counts alone, never on the order of the groups in the table
    (which is the order the counting met them): then fewer than ``take`` rows are
    taken, by less than the number of cells tied.
    """
    total = int(cells.sum())
    if take <= 0 or total == 0:
        return np.zeros_like(cells)
    if take >= total:
        return cells.copy()
    exact = cells.astype(np.float64) * take / total
    out = np.floor(exact).astype(np.int64)
    short = take - int(out.sum())
    if short > 0:
        rest = (exact - out).reshape(-1)
        margin = np.sort(rest)[::-1][short - 1]  # the remainder of the last row taken
        chosen = rest > margin
        if chosen.sum() + (rest == margin).sum() <= short:
            chosen |= rest == margin
        out.reshape(-1)[chosen] += 1
    return out
