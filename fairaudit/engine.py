"""The audit engine: readers -> counts -> metrics -> gates, with no printing and no exiting."""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import collector, comparing, rangespec, readers, reference_group, stats
from .config import API, AuditConfig, GateSpec, build, split_key
from .counting import ProgressFn, _ReadAndHashed, count_batches, count_files
from .counts import CountTable
from .decode import Roles
from .errors import InputError, UsageError, closest
from .gates import evaluate, evaluate_comparison, evaluate_ranges, verdict
from .kinds import Context, OutcomeKind, kinds_for, settle
from .kinds.base import Resampler
from .kinds.baseline import gates_from_table as comparison_gates_from
from .metrics import (
    Criterion,
    Metric,
    fractions,
    raw_fractions,
    safe_divide,
    second_moments,
    spread,
    versus_reference,
)
from .numbers import floats, interval, intervals, rate_columns, scalar
from .result import (
    AuditResult,
    Catalog,
    Exclusion,
    FileInfo,
    Gap,
    GroupFigures,
    GroupingResult,
    Provenance,
    rate,
    show_value,
)
from .version import __version__

__all__ = ["INTERSECTION", "Counted", "ProgressFn", "audit", "config_from", "count",
           "count_batches", "count_files", "judge", "now"]

INTERSECTION = "&"


def audit(data: Any = None, config: AuditConfig | None = None, *,
          on_progress: ProgressFn | None = None, digests: readers.Digests | None = None,
          **settings: Any) -> AuditResult:
    """Audit predictions and return the result; nothing is printed and nothing exits.

    ``data`` is a path, a glob, a folder, a list of those, a pandas DataFrame or
    a pyarrow Table; with ``None`` the config's ``inputs`` are read. Settings
    not in ``config`` can be given as keyword arguments named as in the config
    file (``label=``, ``prediction=``, ``groups=``, ``max_gap={"equalized_odds": 0.1}``,
    ``min_ratio=``...; with a baseline model ``baseline_prediction=`` or
    ``baseline_score=``, and ``max_increase=``, ``max_drop=``). ``on_progress``, if
    given, is called from time to time as files are read (see :data:`ProgressFn`).
    ``digests``, if given, is the hashing of the input files already under way
    (the command line starts it before the rest of the program has loaded); it
    is used if it hashes exactly the files this audit reads, and stopped
    otherwise.

    The same as ``judge(*count(data, config))``: the counts of one pass, then
    the figures and verdicts from the counts.
    """
    if config is None:
        config = config_from(**settings)
    elif settings:
        raise TypeError("give either config= or keyword settings, not both")
    counted = count(data, config, on_progress=on_progress, digests=digests)
    return judge(counted.table, config, counted.files)


@dataclass(frozen=True)
class Counted:
    """What one pass over the inputs yields: the counts, and the files they came from.

    Counts add up (:meth:`CountTable.merge`), so the counts of several passes
    (files counted elsewhere, earlier runs kept in a history) judge as one audit.
    """

    table: CountTable
    files: tuple[FileInfo, ...]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.table, self.files))


def count(data: Any, config: AuditConfig, *, on_progress: ProgressFn | None = None,
          digests: readers.Digests | None = None) -> Counted:
    """Count the inputs in one streaming pass (see :func:`audit` for the arguments)."""
    roles = config.roles
    kinds = kinds_for(config)
    if data is None:
        data = list(config.inputs)
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        data = [data]
    if config.engine == "dask":
        return _count_on_dask(data, config, on_progress, digests)
    if isinstance(data, (list, tuple)):
        files = readers.resolve([str(p) for p in data], config.csv_dialect)
        # the digests are taken on another thread while the files are counted; the
        # hashing thread holds one core's slot, so that three threads never share two
        # cores and the hashing (one sequential stream) is not left to finish alone
        if digests is not None and (not config.digest or digests.files != files):
            with digests:  # not the hashing this audit needs: stop it
                digests = None
        cores = digests.cores if digests is not None and digests.cores else readers.Cores()
        if config.digest:
            both = _ReadAndHashed(on_progress) if on_progress else None
            digests = digests or readers.Digests(files, None, cores)
            if both:
                digests.watch(both.hashed)
            with digests:
                table, rows = count_files(files, roles, config.ranges,
                                          on_progress=both.counted if both else None,
                                          threads=cores.slots, cores=cores, kinds=kinds,
                                          max_groups=config.max_groups)
                hashes = digests.result()
        else:
            table, rows = count_files(files, roles, config.ranges, on_progress=on_progress,
                                      threads=cores.slots, cores=cores, kinds=kinds,
                                      max_groups=config.max_groups)
            hashes = [""] * len(files)
        # figures and digests of one version of each file, or none
        readers.check_unchanged(files)
        infos = tuple(FileInfo(f.shown, f.format, f.size, h, n, f.duplicates)
                      for f, h, n in zip(files, hashes, rows, strict=True))
    else:
        arrow = _as_arrow(data, roles, config.ranges, kinds)
        table = count_batches(((arrow.to_batches(max_chunksize=readers.BATCH_ROWS)),),
                              ("<table>",), roles, config.ranges, kinds, config.max_groups)[0]
        infos = (FileInfo("<table>", "arrow", int(arrow.nbytes), "", arrow.num_rows),)
    return Counted(table, infos)


def _count_on_dask(data: Any, config: AuditConfig, on_progress: ProgressFn | None,
                   digests: readers.Digests | None) -> Counted:
    """The same counts, from a Dask cluster's workers (:mod:`fairaudit.backends.dask`)."""
    if digests is not None:
        with digests:  # the workers take the digests, where the data is: stop this hashing
            pass
    if not isinstance(data, (list, tuple)):
        raise UsageError(f"engine 'dask' counts files where they are stored; give paths, "
                         f"globs, folders or URLs, not a {type(data).__name__} (or use "
                         "engine 'in-process')")
    from .backends import dask

    table, files, _ = dask.count([os.fspath(p) for p in data], config,
                                 on_progress=on_progress)
    return Counted(table, files)


def config_from(**settings: Any) -> AuditConfig:
    """An :class:`AuditConfig` from keyword settings named as in the config file.

    An unknown keyword, or a value of the wrong shape, is a :class:`UsageError`
    naming the keyword (and the closest known one): a misspelt gate must never
    leave an audit that passes with no gates.
    """
    flags = dict(settings)
    known = [f.name for f in fields(AuditConfig)
             if f.name not in ("sources", "range_gates", "comparison_gates")]
    known += ["max_gap", "min_ratio", "max_out_of_range", "max_increase", "max_drop"]
    for key in flags:
        if key not in known or key == "gates":
            near = closest(key, known)
            hint = f"did you mean {near}=?" if near else "see help(fairaudit.audit)"
            raise UsageError(f"{API}: unknown keyword argument {key}=; {hint}")
    for key in ("groups", "inputs", "k", "intersect", "classes", "measures", "thresholds",
                "select_top", "strata"):
        value = flags.get(key)
        if value is not None and (isinstance(value, (str, bytes)) or not isinstance(
                value, Sequence)):
            raise UsageError(f"{API}: {key}= must be a list, such as {key}=[...], not "
                             f"{type(value).__name__} {value!r}")
    gates: list[GateSpec] = []
    for kind in ("max_gap", "min_ratio"):
        table = flags.pop(kind, None) or {}
        if not isinstance(table, Mapping):
            raise UsageError(f"{API}: {kind}= must map criteria to thresholds, such as "
                             f"{kind}={{'demographic_parity': 0.1}}, not {table!r}")
        for key, value in table.items():
            grouping, criterion = split_key(str(key))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"{API}: {kind}[{key!r}] must be a number, not {value!r}")
            gates.append(GateSpec(kind, criterion, float(value), grouping))
    flags["gates"] = gates
    flags["comparison_gates"] = [g for kind in ("max_increase", "max_drop")
                                 for g in comparison_gates_from(kind, flags.pop(kind, None) or {},
                                                                API)]
    declared = flags.pop("ranges", None) or ()
    if isinstance(declared, Mapping):
        declared = rangespec.specs_from_table(declared, API)
    flags["ranges"] = [rangespec.parse_range(r) if isinstance(r, str) else r for r in declared]
    out_of_range = flags.pop("max_out_of_range", None)
    if out_of_range is not None:
        flags["range_gates"] = rangespec.gates_from_file(out_of_range, API)
    return build({}, None, flags, API)


def _as_arrow(data: Any, roles: Roles, specs: Sequence[rangespec.RangeSpec],
              kinds: Sequence[OutcomeKind]) -> pa.Table:
    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "columns") and hasattr(data, "iloc"):
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        raise TypeError(f"cannot audit a {type(data).__name__}; give a path, a pandas "
                        "DataFrame or a pyarrow Table")
    from .errors import column_hint

    rangespec.check_columns(specs, table.column_names, "<table>")
    columns = list(dict.fromkeys([*roles.columns, *(c for k in kinds for c in k.columns),
                                  *(c for k in kinds for c in k.keys)]))
    for col in columns:
        if col not in table.column_names:
            raise InputError(f"<table>: no column '{col}'; {column_hint(col, table.column_names)}")
    return table.select(columns)


def judge(table: CountTable, config: AuditConfig, files: Sequence[FileInfo] = (),
          timestamp: str | None = None) -> AuditResult:
    """Metrics, gaps and gate verdicts from counts (pure; no I/O)."""
    with collector.held_off():
        return _judge(table, config, files, timestamp)


@dataclass(frozen=True)
class _Layout:
    """Where each outcome kind's cells sit in the count table, and what the audit computes."""

    kinds: tuple[OutcomeKind, ...]
    starts: tuple[int, ...]  # each kind's first cell in the table
    catalog: Catalog
    # each kind's first sum cell, counted after every integer cell of the table
    sum_starts: tuple[int, ...] = ()

    @classmethod
    def of(cls, kinds: Sequence[OutcomeKind]) -> _Layout:
        starts = tuple(int(x) for x in np.cumsum([0, *(len(k.cells) for k in kinds[:-1])]))
        width = sum(len(k.cells) for k in kinds)
        sum_starts = tuple(width + int(x)
                           for x in np.cumsum([0, *(len(k.sums) for k in kinds[:-1])]))
        metrics: list[Metric] = []
        criteria: list[Criterion] = []
        offset = 0  # metrics index the metric cells of every kind, side by side
        for kind in kinds:
            metrics += [m.shifted(offset) for m in kind.metrics]
            criteria += kind.criteria
            offset += len(kind.metric_cells) if kind.metrics else 0
        cells = tuple(c for k in kinds if k.metrics for c in k.metric_cells)
        catalog = Catalog(tuple(metrics), tuple(criteria), cells,
                          *(tuple(m for k in kinds for m in getattr(k, what))
                            for what in ("shown", "terminal", "charted")))
        return cls(tuple(kinds), starts, catalog, sum_starts)

    @property
    def base(self) -> OutcomeKind:
        return self.kinds[0]

    def index(self, kind: int, cells: Sequence[str]) -> list[int]:
        """The table columns of some of kind ``kind``'s cells (sum cells after every
        integer cell: the columns of :func:`_side_by_side`)."""
        k = self.kinds[kind]
        return [self.starts[kind] + k.cells.index(c) if c in k.cells
                else self.sum_starts[kind] + k.sums.index(c) for c in cells]

    def metric_columns(self) -> list[int]:
        return [i for k, kind in enumerate(self.kinds) if kind.metrics
                for i in self.index(k, kind.metric_cells)]

    def row_columns(self) -> list[int]:
        """The columns counting the rows of each metric cell (the metric cells themselves,
        unless they are sums of weights)."""
        return [i for k, kind in enumerate(self.kinds) if kind.metrics
                for i in self.index(k, kind.row_cells or kind.metric_cells)]

    def base_rows(self) -> list[int]:
        """The base kind's cells counting the rows used: the group sizes."""
        return self.index(0, self.base.row_cells or self.base.metric_cells)

    def effective(self, side: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Every kind's metric cells side by side, weighted cells at Kish's effective size.

        A kind whose metric cells are sums of weights (``weight_squares``) has
        each group's cells scaled by ``sum w / sum w**2``: their sum becomes
        ``(sum w)**2 / sum w**2`` and every rate stays as it was.
        """
        out = np.asarray(side[:, self.metric_columns()], dtype=np.float64)
        start = 0
        for k, kind in enumerate(self.kinds):
            if not kind.metrics:
                continue
            width = len(kind.metric_cells)
            if kind.weight_squares:
                block = out[:, start:start + width]
                total = block.sum(axis=1)
                squares = np.asarray(side[:, self.index(k, kind.weight_squares)],
                                     dtype=np.float64).sum(axis=1)
                factor = np.divide(total, squares, out=np.zeros_like(total), where=squares > 0)
                out[:, start:start + width] = block * factor[:, None]
            start += width
        return out

    def parts(self) -> list[tuple[int, Resampler]]:
        """Per kind with metrics, its metric cells' width and how they are resampled."""
        # a kind drawing its cells the plain way gets the plain draw itself, which the
        # bootstrap knows it may leave cells empty in every group out of
        return [(len(k.metric_cells), stats.resample if type(k).resample is OutcomeKind.resample
                 else k.resample) for k in self.kinds if k.metrics]

    def view(self, table: CountTable, kind: int) -> CountTable:
        """The base kind's cells and kind ``kind``'s, as a table of their own."""
        cols = [*range(len(self.base.cells)),
                *range(self.starts[kind], self.starts[kind] + len(self.kinds[kind].cells))]
        return CountTable(table.columns, tuple(table.cell_names[i] for i in cols),
                          table.levels, table.keys, np.ascontiguousarray(table.cells[:, cols]),
                          table.sum_names, table.sums)


def _judge(table: CountTable, config: AuditConfig, files: Sequence[FileInfo],
           timestamp: str | None) -> AuditResult:
    kinds = kinds_for(config)
    if table.cell_names != tuple(c for k in kinds for c in k.cells) or \
            table.sum_names != tuple(c for k in kinds for c in k.sums):
        raise ValueError("the count table was not counted for this audit's outcome kinds")
    kinds, table = settle(kinds, table)  # kinds that learn their cells from the counts
    layout = _Layout.of(kinds)
    base = layout.base
    total = table.total[: len(base.cells)]  # the base kind's cells count every row once
    used = int(total[layout.base_rows()].sum())
    dropped = {r: int(total[base.cells.index(r)]) for r in base.drop_cells}
    if used == 0:
        what = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in dropped.items() if n)
        source = (f" in {files[0].path}" if len(files) == 1
                  else f" in {len(files)} files" if files else "")
        raise InputError(
            f"no rows left to audit{source}: {int(total.sum()):,} rows read"
            + (f", all dropped ({what})" if what else "")
            + "; check the input files and the column roles"
        )
    if base.weight_squares and not float(table.sum_cells[:, list(range(
            table.sum_names.index(base.metric_cells[0]),
            table.sum_names.index(base.metric_cells[-1]) + 1))].sum()) > 0:
        raise InputError(f"every weight of the {used:,} rows audited is 0"
                         + (f" in {files[0].path}" if len(files) == 1 else "")
                         + f"; check the weight column '{getattr(config, 'weight', '')}'")
    names = config.groupings
    groupings = tuple(_grouping(table, cols, config, used, layout) for cols in names)
    context = Context(config.min_group_size, config.interval, config.confidence,
                      config.bootstrap, config.seed, _sort_key, config.reference)
    sections: dict[str, tuple[OutcomeKind, Any]] = {}
    trusted: tuple[GroupingResult, ...] = ()
    tests: dict[tuple[str, Any], float] = {}  # the kinds' own tests, for the family
    for k, kind in enumerate(layout.kinds):
        figures = kind.figures(layout.view(table, k), names, context)
        if figures is None:
            continue
        groupings = tuple(replace(g, criteria={**g.criteria, **figures.criteria.get(g.name, {})})
                          for g in groupings)
        if figures.group_metrics:
            groupings = tuple(_with_group_metrics(g, figures.group_metrics.get(g.name, {}))
                              for g in groupings)
        sections[kind.name] = (kind, figures.section)
        tests.update({(kind.name, key): p for key, p in figures.tests.items()})
        if figures.subset is not None:  # the same audit once more, on a subset of the rows
            alone = _Layout.of((base,))
            subset_used = int(figures.subset.total[alone.metric_columns()].sum())
            trusted = tuple(_grouping(figures.subset, cols, config, max(subset_used, 1), alone)
                            for cols in names)
    adjust = cast(stats.Adjustment, config.adjust)
    groupings, tested = stats.adjust_family(groupings, adjust, layout.catalog, tests)
    trusted = stats.adjust_groupings(trusted, adjust, layout.catalog)
    adjusted = {g.name: g.criteria for g in groupings}
    sections = {n: (kind, kind.tested(kind.adjusted(section, adjusted),
                                      {k[1]: q for k, q in tested.items() if k[0] == n}))
                for n, (kind, section) in sections.items()}
    range_report = sections.get("ranges", (None, None))[1]
    comparison = sections.get("baseline", (None, None))[1]
    gate_results = evaluate(config.gates, groupings, config.decide) + evaluate_ranges(
        config.range_gates, range_report, config.min_group_size, config.decide) + \
        evaluate_comparison(config.comparison_gates, comparison, config.decide)
    roles = config.roles
    provenance = Provenance(
        files=tuple(files),
        rows_read=int(total.sum()),
        rows_used=used,
        dropped=dropped,
        roles={"label": roles.label, "prediction": roles.prediction, "score": roles.score,
               "threshold": roles.threshold if roles.score else None,
               "positive_label": roles.positive_label, "groups": list(roles.groups)},
        config=config.as_dict(),
        sources=dict(config.sources),
        version=__version__,
        timestamp=timestamp or now(),
    )
    return AuditResult(
        verdict=verdict(gate_results),
        groupings=groupings,
        gates=gate_results,
        provenance=provenance,
        metrics=tuple(m.name for m in layout.catalog.metrics),
        min_group_size=config.min_group_size,
        ranges=range_report,
        trusted=trusted,
        strata=sections.get("strata", (None, None))[1],
        classes=sections.get("multiclass", (None, None))[1],
        catalog=layout.catalog,
        comparison=comparison,
        sections={n: section for n, (_, section) in sections.items()},
    )


def _with_group_metrics(g: GroupingResult,
                        given: Mapping[tuple[Any, ...], Mapping[str, Mapping[str, Any]]]
                        ) -> GroupingResult:
    """The grouping with a kind's per-group figures listed beside each group's metrics."""
    if not given:
        return g
    f = g.figures
    extra = f.extra or [{} for _ in f.keys]
    merged = []
    for key, have in zip(f.keys, extra, strict=True):
        more = given.get(key, {})
        clash = set(more) & (set(have) | set(f.metrics))
        if clash:
            raise ValueError(f"two outcome kinds give a per-group figure named {min(clash)!r}")
        merged.append({**have, **{m: dict(e) for m, e in more.items()}})
    return replace(g, figures=replace(f, extra=merged))


def now() -> str:
    """The audit time, UTC, to the second; ``SOURCE_DATE_EPOCH`` pins it.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds
    convention) makes reports byte-identical from run to run, for golden files
    and for archives that compare digests.
    """
    pinned = os.environ.get("SOURCE_DATE_EPOCH")
    if pinned:
        try:
            when = _dt.datetime.fromtimestamp(int(pinned), _dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise UsageError(f"SOURCE_DATE_EPOCH={pinned!r} is not a whole number of seconds "
                             "since 1970; fix it or unset it") from None
    else:
        when = _dt.datetime.now(_dt.timezone.utc)
    return when.isoformat(timespec="seconds")


_DIGITS = re.compile(r"(\d+)")


def _natural(text: str) -> tuple[Any, ...]:
    """``z2`` before ``z10``: runs of digits compare as numbers, the rest without case;
    the text itself breaks ties (``z02`` and ``z2``, ``A`` and ``a``)."""
    parts = _DIGITS.split(text.casefold())
    return (tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text)


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """Groups in natural order in every report: numbers by value, text by :func:`_natural`,
    a missing value last."""
    return tuple((v is None, type(v).__name__,
                  _natural(v) if isinstance(v, str) else v if v is not None else 0) for v in key)


def _grouping(table: CountTable, columns: tuple[str, ...], config: AuditConfig,
              rows_used: int, layout: _Layout) -> GroupingResult:
    keys, cells, sums = table.projected(columns)
    order = sorted(range(len(keys)), key=lambda i: _sort_key(keys[i]))
    keys = [keys[i] for i in order]
    cells = cells[order]
    # every kind's metric cells side by side: each metric is a fraction of some of them
    side = _side_by_side(cells, sums[order])
    confusion = layout.effective(side)
    labels = [" & ".join(show_value(v) for v in k) for k in keys]
    metrics = layout.catalog.metrics
    num, den = fractions(confusion, metrics)
    values = safe_divide(num, den)
    counts = cells[:, layout.base_rows()].sum(axis=1)
    minimum = config.min_group_size
    small = counts < minimum
    # the small-group rules count rows, also where the metric cells are sums of weights
    den_rows = raw_fractions(side[:, layout.row_columns()], metrics)[1]
    eligible = (~small)[:, None] & (den_rows >= minimum)
    diff, ratio = spread(values, eligible)

    ref_index, rule = _reference(keys, columns, counts, config)
    vs_diff, vs_ratio = versus_reference(values, ref_index)

    gaps = {m.name: _gap(j, m, diff, ratio, eligible, small, counts, den_rows, labels, minimum)
            for j, m in enumerate(metrics)}
    names = [m.name for m in metrics]
    criterion = {c.name: c for c in layout.catalog.criteria if c.metrics}
    criteria = {c: _combine([gaps[n] for n in criterion[c].metrics]) for c in criterion}

    # uncertainty: rate intervals, bootstrap intervals of gaps, tests of homogeneity
    name = INTERSECTION.join(columns)
    lo, hi, rows = _intervals(confusion, num, den, metrics, config)
    boot = stats.bootstrap(confusion, metrics, eligible, ref_index,
                           [[names.index(n) for n in criterion[c].metrics] for c in criteria],
                           config.bootstrap, config.confidence,
                           stats.seed_for(config.seed, name), layout.parts())
    _, _, p_values = stats.homogeneity(num, den, eligible)
    p_values[[j for j, m in enumerate(metrics) if m.is_mean]] = np.nan  # a test of proportions
    gaps = {n: replace(gap, ci_difference=interval(boot.difference[j]),
                       ci_ratio=interval(boot.ratio[j]), p_value=scalar(p_values[j]))
            for j, (n, gap) in enumerate(gaps.items())}
    criteria = {c: replace(gap, ci_difference=interval(boot.criteria_difference[k]),
                           ci_ratio=interval(boot.criteria_ratio[k]),
                           p_value=min((p for n in criterion[c].metrics
                                        if (p := gaps[n].p_value) is not None), default=None))
                for k, (c, gap) in enumerate(criteria.items())}

    # one conversion to Python numbers per array: a 10,000-level column makes
    # hundreds of thousands of rates, and numpy scalars one at a time cost seconds
    rate_values, nums, dens, cis = rate_columns(num, den, lo, hi, rows)
    reasons = tuple(f"no {m.denominator_name}" for m in metrics)
    drops = [(k, c) for k, kind in enumerate(layout.kinds) for c in kind.drop_cells]
    figures = GroupFigures(
        columns=columns,
        metrics=tuple(names),
        reasons=reasons,
        drop_reasons=tuple(c for _, c in drops),
        keys=keys,
        labels=labels,
        counts=counts.tolist(),
        shares=(counts / rows_used).tolist() if rows_used else [0.0] * len(keys),
        small=small.tolist(),
        dropped=cells[:, [layout.index(k, [c])[0] for k, c in drops]].tolist(),
        value=rate_values,
        numerator=nums,
        denominator=dens,
        ci=cis,
        versus_difference=floats(vs_diff),
        versus_ratio=floats(vs_ratio),
        versus_difference_ci=intervals(boot.versus_difference),
        versus_ratio_ci=intervals(boot.versus_ratio),
        eligible=eligible.tolist(),
        reference=int(ref_index),
    )
    total_conf = layout.effective(side.sum(axis=0, keepdims=True))[0]
    tn, tden = fractions(total_conf, metrics)
    tlo, thi, trows = _intervals(total_conf[None], tn[None], tden[None], metrics, config)
    ov, on, od, oc = (c[0] for c in rate_columns(tn[None], tden[None], tlo, thi,
                                                 None if trows is None else trows))
    overall = {n: rate(ov[j], on[j], od[j], oc[j], reasons[j]) for j, n in enumerate(names)}
    result = GroupingResult(
        name=name,
        columns=columns,
        figures=figures,
        overall=overall,
        reference=labels[ref_index],
        reference_rule=rule,
        gaps=gaps,
        criteria=criteria,
    )
    # beside the gaps: each group against the whole population, the criteria that
    # aggregate otherwise, ppr and the inequality indices (fairaudit.comparing)
    arrays = comparing.Arrays(
        confusion, values, safe_divide(tn, tden), vs_diff, eligible, small, counts, labels,
        int(ref_index), metrics, layout.catalog.criteria, layout.base.name == "decision")
    # the bootstrap's intervals of the comparisons with the whole population (not where
    # cells are sums of weights: the whole's effective size is not its groups' sum)
    weighted = any(k.weight_squares for k in layout.kinds)
    to_whole = {} if weighted else {
        n: (interval(boot.to_overall_difference[k]), interval(boot.to_overall_ratio[k]))
        for k, n in enumerate([*names, *criteria])}
    return comparing.extend(result, arrays, minimum=minimum, interval=config.interval,
                            confidence=config.confidence, alpha=config.entropy_alpha,
                            to_whole=to_whole)


def _intervals(counts: npt.NDArray[Any], num: npt.NDArray[np.float64],
               den: npt.NDArray[np.float64], metrics: tuple[Metric, ...], config: AuditConfig
               ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                          npt.NDArray[np.float64] | None]:
    """Each figure's interval (a proportion's, or a mean's), and the rows behind each mean.

    The third array is None when no metric is a mean; else the numerators to
    report: for a proportion its count, for a mean the rows whose value is not 0.
    """
    lo, hi = stats.proportion_interval(num, den, config.interval,  # type: ignore[arg-type]
                                       config.confidence)
    means = [j for j, m in enumerate(metrics) if m.is_mean and m.bounded]
    numbers = [j for j, m in enumerate(metrics) if not m.bounded]
    if not means and not numbers:
        return lo, hi, None
    rows = num.copy()
    if means:
        chosen = tuple(metrics[j] for j in means)
        lo[..., means], hi[..., means] = stats.mean_interval(
            num[..., means], second_moments(counts, chosen), den[..., means], config.confidence)
        rows[..., means] = fractions(counts, tuple(replace(m, weights=None) for m in chosen))[0]
    for j in numbers:  # a mean of numbers: Student's t, and the rows it is over
        one = (metrics[j],)
        lo[..., j], hi[..., j] = stats.t_interval(
            raw_fractions(counts, one)[0][..., 0], second_moments(counts, one)[..., 0],
            den[..., j], config.confidence, metrics[j].root)
        rows[..., j] = den[..., j]
    return lo, hi, rows


def _side_by_side(cells: npt.NDArray[np.int64], sums: npt.NDArray[np.float64]
                  ) -> npt.NDArray[Any]:
    """A grouping's integer cells, then its sum cells, as the columns metrics index."""
    if sums.shape[-1] == 0:
        return cells
    return np.hstack([cells.astype(np.float64), sums])


def _reference(keys: list[tuple[Any, ...]], columns: tuple[str, ...],
               counts: npt.NDArray[np.int64], config: AuditConfig) -> tuple[int, Any]:
    return reference_group.find(keys, columns, counts, config.reference,
                                config._origin("reference"))


def _gap(j: int, metric: Metric, diff: npt.NDArray[np.float64], ratio: npt.NDArray[np.float64],
         eligible: npt.NDArray[np.bool_], small: npt.NDArray[np.bool_],
         counts: npt.NDArray[np.int64], den: npt.NDArray[np.float64], labels: list[str],
         minimum: int) -> Gap:
    excluded = []
    out = np.flatnonzero(~eligible[:, j])
    # Python numbers once, and each reason written once: with 100,000 small groups, one
    # numpy scalar and one string an exclusion cost seconds and hundreds of MB
    reasons: dict[tuple[bool, int, int], str] = {}
    for i, is_small, n, d in zip(out.tolist(), small[out].tolist(), counts[out].tolist(),
                                 den[out, j].astype(np.int64).tolist(), strict=True):
        key = (is_small, n if is_small else 0, d if not is_small else 0)
        why = reasons.get(key)
        if why is None:
            if is_small:
                why = f"small group: {n:,} rows < {minimum:,}"
            elif d == 0:
                why = f"undefined: no {metric.denominator_name}"
            else:
                why = f"too few {metric.denominator_name}: {d:,} < {minimum:,}"
            reasons[key] = why
        excluded.append(Exclusion(labels[i], why, n, d))
    used = int(eligible[:, j].sum())
    reason = None if used >= 2 else (
        f"{used:,} group{'s' if used != 1 else ''} with at least {minimum:,} "
        f"{metric.denominator_name}; a gap needs two"
    )
    return Gap(scalar(diff[j]), scalar(ratio[j]), used, tuple(excluded), reason)


def _combine(parts: list[Gap]) -> Gap:
    """A criterion over several metrics: the largest difference and the smallest ratio."""
    if len(parts) == 1:
        return parts[0]
    diffs = [p.difference for p in parts]
    ratios = [p.ratio for p in parts]
    excluded: dict[str, Exclusion] = {}
    for p in parts:
        for e in p.excluded:
            excluded.setdefault(e.group, e)
    reason = next((p.reason for p in parts if p.reason), None)
    return Gap(
        difference=None if any(d is None for d in diffs)
        else max(d for d in diffs if d is not None),
        ratio=None if any(r is None for r in ratios) else min(r for r in ratios if r is not None),
        groups_used=min(p.groups_used for p in parts),
        excluded=tuple(excluded.values()),
        reason=reason if any(d is None for d in diffs) or any(r is None for r in ratios)
        else None,
    )

