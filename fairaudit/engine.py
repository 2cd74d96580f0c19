"""The audit engine: readers -> counts -> metrics -> gates, with no printing and no exiting."""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import collector, readers, stats
from . import ranges as _ranges
from .config import AuditConfig, GateSpec, build, parse_gate
from .counts import Accumulator, CountTable
from .decode import CELLS, DROP_REASONS, Decoder, Roles, Where
from .errors import InputError, UsageError
from .gates import evaluate, verdict
from .metrics import (
    CRITERION_BY_NAME,
    Metric,
    criteria_for,
    fractions,
    metrics_for,
    safe_divide,
    spread,
    versus_reference,
)
from .result import (
    AuditResult,
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

INTERSECTION = "&"


def audit(data: Any = None, config: AuditConfig | None = None, *,
          on_progress: ProgressFn | None = None, digests: readers.Digests | None = None,
          **settings: Any) -> AuditResult:
    """Audit predictions and return the result; nothing is printed and nothing exits.

    ``data`` is a path, a glob, a folder, a list of those, a pandas DataFrame or
    a pyarrow Table; with ``None`` the config's ``inputs`` are read. Settings
    not in ``config`` can be given as keyword arguments named as in the config
    file (``label=``, ``prediction=``, ``groups=``, ``max_gap={"equalized_odds": 0.1}``,
    ``min_ratio=``...). ``on_progress``, if given, is called from time to time as
    files are read (see :data:`ProgressFn`). ``digests``, if given, is the
    hashing of the input files already under way (the command line starts it
    before the rest of the program has loaded); it is used if it hashes exactly
    the files this audit reads, and stopped otherwise.
    """
    if config is None:
        config = config_from(**settings)
    elif settings:
        raise TypeError("give either config= or keyword settings, not both")
    roles = config.roles
    if data is None:
        data = list(config.inputs)
    if isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        data = [data]
    if isinstance(data, (list, tuple)):
        files = readers.resolve([str(p) for p in data])
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
                                          threads=cores.slots, cores=cores)
                hashes = digests.result()
        else:
            table, rows = count_files(files, roles, config.ranges, on_progress=on_progress,
                                      threads=cores.slots, cores=cores)
            hashes = [""] * len(files)
        infos = tuple(FileInfo(f.path, f.format, f.size, h, n)
                      for f, h, n in zip(files, hashes, rows, strict=True))
    else:
        arrow = _as_arrow(data, roles, config.ranges)
        table = count_batches(((arrow.to_batches(max_chunksize=readers.BATCH_ROWS)),),
                              ("<table>",), roles, config.ranges)[0]
        infos = (FileInfo("<table>", "arrow", int(arrow.nbytes), "", arrow.num_rows),)
    return judge(table, config, infos)


def config_from(**settings: Any) -> AuditConfig:
    """An :class:`AuditConfig` from keyword settings named as in the config file."""
    flags = dict(settings)
    gates: list[GateSpec] = []
    for kind in ("max_gap", "min_ratio"):
        for key, value in (flags.pop(kind, None) or {}).items():
            gates.append(parse_gate(f"{key}={value}", kind))
    flags["gates"] = gates
    declared = flags.pop("ranges", None) or ()
    if isinstance(declared, Mapping):
        declared = _ranges.specs_from_table(declared, "audit()")
    flags["ranges"] = [_ranges.parse_range(r) if isinstance(r, str) else r for r in declared]
    out_of_range = flags.pop("max_out_of_range", None)
    if out_of_range is not None:
        flags["range_gates"] = _ranges.gates_from_file(out_of_range, "audit()")
    return build({}, None, flags)


def _as_arrow(data: Any, roles: Roles, specs: Sequence[_ranges.RangeSpec] = ()) -> pa.Table:
    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "columns") and hasattr(data, "iloc"):
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        raise TypeError(f"cannot audit a {type(data).__name__}; give a path, a pandas "
                        "DataFrame or a pyarrow Table")
    from .errors import column_hint

    _ranges.check_columns(specs, table.column_names, "<table>")
    for col in roles.columns:
        if col not in table.column_names:
            raise InputError(f"<table>: no column '{col}'; {column_hint(col, table.column_names)}")
    return table.select(list(roles.columns))


ProgressFn = Callable[[int, int, int], None]
"""Called as ``on_progress(rows_read, bytes_done, total_bytes)``; totals only grow."""


@dataclass(frozen=True)
class _Pass:
    """What every thread of a counting pass shares: how to turn a batch into counts."""

    roles: Roles
    decoder: Decoder
    checker: _ranges.Checker | None
    categorical: tuple[str, ...]  # range features read dictionary-encoded from parquet

    @classmethod
    def of(cls, roles: Roles, ranges: Sequence[_ranges.RangeSpec]) -> _Pass:
        return cls(roles, Decoder(roles), _ranges.Checker(ranges) if ranges else None,
                   tuple(r.feature for r in ranges if r.allowed is not None))

    def accumulator(self) -> Accumulator:
        return Accumulator(self.roles.groups,
                           self.checker.packed_names if self.checker else CELLS)

    def dictionary(self, src: readers.SourceFile) -> tuple[str, ...]:
        # categories are checked once per distinct value when parquet hands them over
        # dictionary-encoded (this leaves non-text columns as they are)
        return self.roles.groups + (self.categorical if src.format == "parquet" else ())

    def count(self, batch: pa.RecordBatch, where: Where, acc: Accumulator) -> None:
        cells: npt.NDArray[Any] = self.decoder.cells(batch, where)
        if self.checker is not None:
            cells = self.checker.cells(batch, cells, where.file)
        acc.add([batch.column(g) for g in self.roles.groups], cells)

    def table(self, acc: Accumulator) -> CountTable:
        table = acc.table()
        return self.checker.expand(table) if self.checker else table


def count_files(files: Sequence[readers.SourceFile], roles: Roles,
                ranges: Sequence[_ranges.RangeSpec] = (), *,
                on_progress: ProgressFn | None = None, threads: int | None = None,
                cores: readers.Cores | None = None) -> tuple[CountTable, list[int]]:
    """Count every file in one streaming pass; also the rows read from each.

    Each file's footer is read once, to check its columns and split it into
    parts (runs of row groups); the parts are counted on ``threads`` threads
    (default: one a core), each into its own counts, added up at the end.
    Errors are raised as a one-thread pass would: the first part in file order
    that fails names the problem. ``cores``, if given, is shared with other work
    (the hashing): a part is counted only while holding one of its slots.
    """
    threads = max(1, threads or os.cpu_count() or 1)
    cores = cores or readers.Cores(threads)
    tracker = _Tracker(on_progress, sum(f.size for f in files))
    work = _Pass.of(roles, ranges)

    def split(f: readers.SourceFile) -> list[readers.Part]:
        return readers.parts(f, roles.columns,
                             check=lambda names: _ranges.check_columns(ranges, names, f.path))

    with ThreadPoolExecutor(threads, thread_name_prefix="fairaudit") as pool:
        per_file = list(pool.map(split, files))
        parts = [p for ps in per_file for p in ps]
        # with fewer parts than threads, pyarrow decodes a part's columns in parallel
        inner = len(parts) < threads
        if threads == 1 or len(parts) <= 1:
            acc = work.accumulator()
            part_rows = [_count_part(p, work, acc, tracker, inner, cores) for p in parts]
        else:
            acc, part_rows = _count_parallel(pool, threads, parts, work, tracker, cores)
    rows = []
    it = iter(part_rows)
    for ps in per_file:
        rows.append(sum(next(it) for _ in ps))
    return work.table(acc), rows


def count_batches(streams: Iterable[Iterable[pa.RecordBatch]], names: Sequence[str],
                  roles: Roles, ranges: Sequence[_ranges.RangeSpec] = ()
                  ) -> tuple[CountTable, list[int]]:
    """Count batches already in memory, one stream a file, on the calling thread."""
    work = _Pass.of(roles, ranges)
    acc = work.accumulator()
    rows: list[int] = []
    for name, stream in zip(names, streams, strict=False):
        first = 1
        for batch in stream:
            work.count(batch, Where(name, first), acc)
            first += batch.num_rows
        rows.append(first - 1)
    return work.table(acc), rows


def _count_part(part: readers.Part, work: _Pass, acc: Accumulator,
                tracker: _Tracker, use_threads: bool, cores: readers.Cores) -> int:
    first = part.first_row
    done = 0
    with cores:
        for batch, nbytes in readers.read_part(part, work.roles.columns,
                                               work.dictionary(part.src), use_threads):
            work.count(batch, Where(part.src.path, first), acc)
            first += batch.num_rows
            tracker.advance(batch.num_rows, nbytes - done)
            done = nbytes
    tracker.advance(0, part.bytes - done)
    return first - part.first_row


def _count_parallel(pool: ThreadPoolExecutor, threads: int, parts: list[readers.Part],
                    work: _Pass, tracker: _Tracker, cores: readers.Cores
                    ) -> tuple[Accumulator, list[int]]:
    """Count parts on ``threads`` workers taking them in order; add their counts up."""
    part_rows = [0] * len(parts)
    failed: dict[int, BaseException] = {}
    state = {"stop_after": len(parts)}  # parts after a failed one need not be read
    lock = threading.Lock()
    taken = itertools.count()

    def worker() -> Accumulator:
        acc = work.accumulator()
        while (i := next(taken)) < len(parts) and i < state["stop_after"]:
            try:
                part_rows[i] = _count_part(parts[i], work, acc, tracker, False, cores)
            except BaseException as exc:  # re-raised on the calling thread, in file order
                with lock:
                    failed[i] = exc
                    state["stop_after"] = min(state["stop_after"], i)
        return acc

    futures = [pool.submit(worker) for _ in range(min(threads, len(parts)))]
    try:
        accs = [f.result() for f in futures]
    except BaseException:
        state["stop_after"] = -1  # interrupted: workers stop after their current part
        raise
    if failed:
        raise failed[min(failed)]
    total = accs[0]
    for other in accs[1:]:
        total.add_table(other.table())
    return total, part_rows


class _ReadAndHashed:
    """Progress of reading and hashing together: a byte is done once it is counted and hashed."""

    def __init__(self, callback: ProgressFn) -> None:
        self._callback = callback
        self._rows = self._counted = self._hashed = self._total = 0
        self._lock = threading.Lock()

    def counted(self, rows: int, bytes_done: int, total_bytes: int) -> None:
        with self._lock:
            self._rows, self._counted, self._total = rows, bytes_done, total_bytes
            self._report()

    def hashed(self, nbytes: int) -> None:
        with self._lock:
            before = min(self._counted, self._hashed)
            self._hashed += nbytes
            if self._total and min(self._counted, self._hashed) > before:
                self._report()

    def _report(self) -> None:
        self._callback(self._rows, min(self._counted, self._hashed), self._total)


class _Tracker:
    """Sums rows and bytes done across threads and reports them, in order, to one callback."""

    def __init__(self, callback: ProgressFn | None, total_bytes: int) -> None:
        self._callback = callback
        self._total = total_bytes
        self._rows = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def advance(self, rows: int, nbytes: int) -> None:
        if self._callback is None or (rows == 0 and nbytes == 0):
            return
        with self._lock:
            self._rows += rows
            self._bytes += nbytes
            self._callback(self._rows, self._bytes, self._total)


def judge(table: CountTable, config: AuditConfig, files: Sequence[FileInfo] = (),
          timestamp: str | None = None) -> AuditResult:
    """Metrics, gaps and gate verdicts from counts (pure; no I/O)."""
    with collector.held_off():
        return _judge(table, config, files, timestamp)


def _judge(table: CountTable, config: AuditConfig, files: Sequence[FileInfo],
           timestamp: str | None) -> AuditResult:
    total = table.total[: len(CELLS)]  # the base family; range families count rows again
    used = int(total[:4].sum())
    dropped = {r: int(total[CELLS.index(r)]) for r in DROP_REASONS}
    if used == 0:
        what = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in dropped.items() if n)
        source = (f" in {files[0].path}" if len(files) == 1
                  else f" in {len(files)} files" if files else "")
        raise InputError(
            f"no rows left to audit{source}: {int(total.sum()):,} rows read"
            + (f", all dropped ({what})" if what else "")
            + "; check the input files and the column roles"
        )
    groupings = tuple(_grouping(table, cols, config, used) for cols in _groupings(config))
    range_report: _ranges.RangeReport | None = None
    trusted: tuple[GroupingResult, ...] = ()
    if config.ranges:
        range_report = _ranges.report(
            table, config.ranges, _groupings(config), config.min_group_size, _sort_key,
            _ranges.Uncertainty(config.interval, config.confidence,  # type: ignore[arg-type]
                                config.bootstrap, config.seed))
        groupings = tuple(
            replace(g, criteria={**g.criteria, _ranges.RANGE_COVERAGE: r.coverage})
            for g, r in zip(groupings, range_report.groupings, strict=True))
        view = _ranges.trusted_view(table)
        trusted_used = max(int(view.total[:4].sum()), 1)
        trusted = tuple(_grouping(view, cols, config, trusted_used)
                        for cols in _groupings(config))
    groupings = stats.adjust_groupings(groupings, config.adjust)  # type: ignore[arg-type]
    trusted = stats.adjust_groupings(trusted, config.adjust)  # type: ignore[arg-type]
    if range_report is not None:  # the coverage gaps with their adjusted p-values
        range_report = _ranges.with_criteria(range_report, groupings)
    gate_results = evaluate(config.gates, groupings, config.decide) + _ranges.evaluate(
        config.range_gates, range_report, config.min_group_size, config.decide)
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
        metrics=tuple(m.name for m in metrics_for(config.label is not None)),
        min_group_size=config.min_group_size,
        ranges=range_report,
        trusted=trusted,
    )


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


def _groupings(config: AuditConfig) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [(g,) for g in config.groups]
    if config.intersections and len(config.groups) > 1:
        out.append(tuple(config.groups))
    return out


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in key)


def _grouping(table: CountTable, columns: tuple[str, ...], config: AuditConfig,
              rows_used: int) -> GroupingResult:
    keys, cells = table.project(columns)
    order = sorted(range(len(keys)), key=lambda i: _sort_key(keys[i]))
    keys = [keys[i] for i in order]
    cells = cells[order]
    confusion = cells[:, :4]
    labels = [" & ".join(show_value(v) for v in k) for k in keys]
    metrics = metrics_for(config.label is not None)
    num, den = fractions(confusion, metrics)
    values = safe_divide(num, den)
    counts = confusion.sum(axis=1)
    minimum = config.min_group_size
    small = counts < minimum
    eligible = (~small)[:, None] & (den >= minimum)
    diff, ratio = spread(values, eligible)

    ref_index, rule = _reference(keys, columns, counts, config)
    vs_diff, vs_ratio = versus_reference(values, ref_index)

    gaps = {m.name: _gap(j, m, diff, ratio, eligible, small, counts, den, labels, minimum)
            for j, m in enumerate(metrics)}
    names = [m.name for m in metrics]
    criteria = {c.name: _combine([gaps[n] for n in c.metrics])
                for c in criteria_for(config.label is not None)}

    # uncertainty: rate intervals, bootstrap intervals of gaps, tests of homogeneity
    name = INTERSECTION.join(columns)
    lo, hi = stats.proportion_interval(num, den, config.interval,  # type: ignore[arg-type]
                                       config.confidence)
    boot = stats.bootstrap(confusion, metrics, eligible, ref_index,
                           [[names.index(n) for n in CRITERION_BY_NAME[c].metrics]
                            for c in criteria],
                           config.bootstrap, config.confidence,
                           stats.seed_for(config.seed, name))
    _, _, p_values = stats.homogeneity(num, den, eligible)
    gaps = {n: replace(gap, ci_difference=_pair(boot.difference[j]),
                       ci_ratio=_pair(boot.ratio[j]), p_value=_num(p_values[j]))
            for j, (n, gap) in enumerate(gaps.items())}
    criteria = {c: replace(gap, ci_difference=_pair(boot.criteria_difference[k]),
                           ci_ratio=_pair(boot.criteria_ratio[k]),
                           p_value=min((p for n in CRITERION_BY_NAME[c].metrics
                                        if (p := gaps[n].p_value) is not None), default=None))
                for k, (c, gap) in enumerate(criteria.items())}

    # one conversion to Python numbers per array: a 10,000-level column makes
    # hundreds of thousands of rates, and numpy scalars one at a time cost seconds
    rate_values, nums, dens, cis = _rate_columns(num, den, lo, hi)
    reasons = tuple(f"no {m.denominator_name}" for m in metrics)
    figures = GroupFigures(
        columns=columns,
        metrics=tuple(names),
        reasons=reasons,
        drop_reasons=DROP_REASONS,
        keys=keys,
        labels=labels,
        counts=counts.tolist(),
        shares=(counts / rows_used).tolist() if rows_used else [0.0] * len(keys),
        small=small.tolist(),
        dropped=cells[:, [CELLS.index(r) for r in DROP_REASONS]].tolist(),
        value=rate_values,
        numerator=nums,
        denominator=dens,
        ci=cis,
        versus_difference=_numbers(vs_diff),
        versus_ratio=_numbers(vs_ratio),
        versus_difference_ci=_pairs(boot.versus_difference),
        versus_ratio_ci=_pairs(boot.versus_ratio),
        eligible=eligible.tolist(),
        reference=int(ref_index),
    )
    total_conf = confusion.sum(axis=0)
    tn, tden = fractions(total_conf, metrics)
    tlo, thi = stats.proportion_interval(tn, tden, config.interval,  # type: ignore[arg-type]
                                         config.confidence)
    ov, on, od, oc = (c[0] for c in _rate_columns(tn[None], tden[None], tlo[None], thi[None]))
    overall = {n: rate(ov[j], on[j], od[j], oc[j], reasons[j]) for j, n in enumerate(names)}
    return GroupingResult(
        name=name,
        columns=columns,
        figures=figures,
        overall=overall,
        reference=labels[ref_index],
        reference_rule=rule,
        gaps=gaps,
        criteria=criteria,
    )


def _reference(keys: list[tuple[Any, ...]], columns: tuple[str, ...],
               counts: npt.NDArray[np.int64], config: AuditConfig) -> tuple[int, Any]:
    given = dict(config.reference)
    if all(c in given for c in columns):
        wanted = tuple(given[c] for c in columns)
        for i, key in enumerate(keys):
            if tuple(show_value(v) for v in key) == wanted or \
                    tuple(str(v) for v in key) == wanted:
                return i, "given"
        if len(columns) == 1:
            listed = ", ".join(repr(show_value(k[0])) for k in keys[:8])
            more = ", ..." if len(keys) > 8 else ""
            raise InputError(
                f"--reference {columns[0]}={wanted[0]}: no such group in column "
                f"'{columns[0]}'; groups: {listed}{more}"
            )
    # the largest group; ties go to the first in sorted order
    return int(np.argmax(counts)), "largest group"


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _pair(bounds: npt.ArrayLike) -> tuple[float, float] | None:
    low, high = (float(x) for x in np.asarray(bounds, dtype=np.float64))
    return None if np.isnan(low) or np.isnan(high) else (low, high)


def _numbers(a: npt.NDArray[np.float64]) -> list[Any]:
    """An array as nested lists of floats, ``None`` for NaN."""
    out = a.astype(object)
    out[np.isnan(a)] = None
    return out.tolist()  # type: ignore[no-any-return]


def _pairs(a: npt.NDArray[np.float64]) -> list[Any]:
    """An array of ``(..., 2)`` intervals as nested lists of ``[low, high]`` lists (as JSON
    writes them), ``None`` where an end is NaN."""
    a = np.asarray(a, dtype=np.float64)
    bad = np.isnan(a).any(axis=-1)
    if not bad.any():
        return a.tolist()  # type: ignore[no-any-return]
    flat: list[Any]
    if bad.all():  # no intervals at all (no bootstrap), a common case worth its shortcut
        flat = [None] * bad.size
    else:
        flat = cast(list[Any], a.reshape(-1, 2).tolist())
        for i in np.flatnonzero(bad).tolist():
            flat[i] = None
    for size in reversed(bad.shape[1:]):  # nest back, innermost axis first
        flat = [flat[i:i + size] for i in range(0, len(flat), size)]
    return flat


def _rate_columns(num: npt.NDArray[np.float64], den: npt.NDArray[np.float64],
                  lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
                  ) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Rates as nested lists of values (``None`` where the denominator is 0), numerators,
    denominators and intervals (``None`` where undefined), each converted in one go."""
    none = den == 0
    value = np.divide(num, den, out=np.full(den.shape, np.nan), where=~none)
    ci = np.where(none[..., None], np.nan, np.stack([lo, hi], axis=-1))
    return (_numbers(value), num.astype(np.int64).tolist(), den.astype(np.int64).tolist(),
            _pairs(ci))


def _gap(j: int, metric: Metric, diff: npt.NDArray[np.float64], ratio: npt.NDArray[np.float64],
         eligible: npt.NDArray[np.bool_], small: npt.NDArray[np.bool_],
         counts: npt.NDArray[np.int64], den: npt.NDArray[np.float64], labels: list[str],
         minimum: int) -> Gap:
    excluded = []
    for i in np.flatnonzero(~eligible[:, j]).tolist():
        label = labels[i]
        if small[i]:
            why = f"small group: {int(counts[i]):,} rows < {minimum}"
        elif den[i, j] == 0:
            why = f"undefined: no {metric.denominator_name}"
        else:
            why = f"too few {metric.denominator_name}: {int(den[i, j]):,} < {minimum}"
        excluded.append(Exclusion(label, why, int(counts[i]), int(den[i, j])))
    used = int(eligible[:, j].sum())
    reason = None if used >= 2 else (
        f"{used} group{'s' if used != 1 else ''} with at least {minimum} "
        f"{metric.denominator_name}; a gap needs two"
    )
    return Gap(_num(diff[j]), _num(ratio[j]), used, tuple(excluded), reason)


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

