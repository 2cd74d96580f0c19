"""The reference group of a grouping: given, or else the largest group.

A reference is given for one group column (``race=Caucasian``) or for an
intersection (``race&sex=Caucasian&Male``, the columns in any order and the
values in the order of the columns as written). An intersection with no
reference of its own takes the combination of its columns' references when
every column has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import InputError
from .result import show_value

SHOWN = 8  # groups listed when a given reference is not found


def find(keys: list[tuple[Any, ...]], columns: tuple[str, ...],
         counts: npt.NDArray[np.int64], given: Sequence[tuple[str, str]],
         origin: str = "--reference") -> tuple[int, str]:
    """The index of the grouping's reference among ``keys``, and how it was chosen;
    ``origin`` is where the references were given, for messages (a flag, a keyword
    argument or a config file's key)."""
    own = next(((c, v) for c, v in given if sorted(c.split("&")) == sorted(columns)), None)
    if own is not None:
        order = own[0].split("&")
        at = [columns.index(c) for c in order]
        found = _match(keys, at, own[1])
        if found is None:
            listed = ", ".join(repr(" & ".join(show_value(k[i]) for i in at))
                               for k in keys[:SHOWN])
            more = ", ..." if len(keys) > SHOWN else ""
            where = "column" if len(columns) == 1 else "intersection"
            raise InputError(f"{_setting(origin, own[0], own[1])}: no such group in {where} "
                             f"'{own[0]}'; groups: {listed}{more}")
        return found, "given"
    singles = dict(given)
    if len(columns) > 1 and all(c in singles for c in columns):
        wanted = tuple(singles[c] for c in columns)
        for i, key in enumerate(keys):
            if tuple(show_value(v) for v in key) == wanted or \
                    tuple(_raw(v) for v in key) == wanted:
                return i, "given"
    # the largest group; ties go to the first in sorted order
    return int(np.argmax(counts)), "largest group"


def _setting(origin: str, key: str, value: str) -> str:
    """The reference as it was written: a flag, a keyword argument or a config key."""
    if origin.startswith("--"):
        return f"{origin} {key}={value}"
    if origin.endswith("="):  # a keyword argument of audit()
        return f"{origin}{{{key!r}: {value!r}}}"
    return f"{origin}.{key} = {value!r}"


def _match(keys: list[tuple[Any, ...]], at: list[int], text: str) -> int | None:
    """The group whose values, in the order ``at``, read ``text`` joined by ``&`` (with or
    without spaces around it, as labels show it)."""
    # the value as the reports show it first (``(missing)`` is the missing value,
    # ``"(missing)"`` the text), then as it is in the data
    for show in (show_value, _raw):
        for i, key in enumerate(keys):
            parts = [show(key[j]) for j in at]
            if text in ("&".join(parts), " & ".join(parts)):
                return i
    return None


def _raw(value: Any) -> str:
    """A group value as it is in the data; a missing value matches no text."""
    return "\x00(null)" if value is None else str(value)
