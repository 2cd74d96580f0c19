"""One error tree. An exception means "could not audit"; a failed gate never raises."""

from __future__ import annotations


class FairauditError(Exception):
    """Root of every error fairaudit raises on purpose.

    The message is one line: what is wrong, where (file, column, row, config
    key) and how to fix it. The CLI prints it and exits 2.
    """


class UsageError(FairauditError):
    """A flag or argument that cannot be used as given."""


class ConfigError(FairauditError):
    """A configuration file or value that is not valid."""


class InputError(FairauditError):
    """An input file, column or value that cannot be audited."""


class EngineError(FairauditError):
    """The engine the audit runs on (a Dask cluster) could not count the inputs."""


class OutputError(FairauditError):
    """A report that cannot be written (a full disk, a read-only or missing folder)."""


def closest(name: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The candidate most like ``name``, for "did you mean" hints."""
    import difflib

    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if match:
        return match[0]
    lowered = {c.lower(): c for c in candidates}
    return lowered.get(name.lower())


def column_hint(name: str, available: list[str] | tuple[str, ...]) -> str:
    """A short hint naming the closest column, or listing the available ones."""
    near = closest(name, available)
    if near is not None:
        return f"did you mean '{near}'?"
    shown = ", ".join(f"'{c}'" for c in list(available)[:12])
    more = f" (+{len(available) - 12} more)" if len(available) > 12 else ""
    return f"available columns: {shown}{more}"
