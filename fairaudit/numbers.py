"""Figures computed with numpy as the Python values a result holds: ``None`` where undefined.

A 10,000-level column makes hundreds of thousands of rates; numpy scalars
converted one at a time cost seconds, so whole arrays are converted at once.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt


def scalar(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def interval(bounds: npt.ArrayLike) -> tuple[float, float] | None:
    low, high = (float(x) for x in np.asarray(bounds, dtype=np.float64))
    return None if np.isnan(low) or np.isnan(high) else (low, high)


def floats(a: npt.NDArray[np.float64]) -> list[Any]:
    """An array as nested lists of floats, ``None`` for NaN."""
    out = a.astype(object)
    out[np.isnan(a)] = None
    return out.tolist()  # type: ignore[no-any-return]


def intervals(a: npt.NDArray[np.float64]) -> list[Any]:
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


def rate_columns(num: npt.NDArray[np.float64], den: npt.NDArray[np.float64],
                  lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64],
                  rows: npt.NDArray[np.float64] | None = None
                  ) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Rates as nested lists of values (``None`` where the denominator is 0), numerators,
    denominators and intervals (``None`` where undefined), each converted in one go.

    ``rows``, if given, is the numerators to report (the rows a mean's value
    comes from, where ``num`` is the weighted sum).
    """
    none = den == 0
    value = np.divide(num, den, out=np.full(den.shape, np.nan), where=~none)
    ci = np.where(none[..., None], np.nan, np.stack([lo, hi], axis=-1))
    shown = num if rows is None else rows
    return (floats(value), shown.astype(np.int64).tolist(), den.astype(np.int64).tolist(),
            intervals(ci))
