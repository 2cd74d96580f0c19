"""Intervals for one proportion (Wilson, Clopper-Pearson) and percentile intervals."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..metrics import FloatArray

IntervalMethod = Literal["wilson", "clopper-pearson"]
INTERVALS: tuple[IntervalMethod, ...] = ("wilson", "clopper-pearson")

# A bootstrap figure undefined in more than this share of its replicates (a
# rate whose denominator was drawn empty, say) gets no interval: the defined
# replicates alone would describe a selected subset, not the figure.
MAX_UNDEFINED_SHARE = 0.05


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(k: npt.ArrayLike, n: npt.ArrayLike, confidence: float
           ) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of ``k`` successes in ``n`` trials; NaN where ``n`` is 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = z_value(confidence) ** 2
    safe_n = np.where(n > 0, n, 1.0)
    centre = (k + z2 / 2.0) / (safe_n + z2)
    half = np.sqrt(z2) / (safe_n + z2) * np.sqrt(np.maximum(k * (safe_n - k) / safe_n, 0.0)
                                                 + z2 / 4.0)
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # at k = 0 (k = n) the lower (upper) end is exactly 0 (1); keep rounding out of it
    lo = np.where(k == 0, np.where(n > 0, 0.0, np.nan), lo)
    hi = np.where(k == n, np.where(n > 0, 1.0, np.nan), hi)
    return lo, hi


def clopper_pearson(k: npt.ArrayLike, n: npt.ArrayLike, confidence: float
                    ) -> tuple[FloatArray, FloatArray]:
    """Clopper-Pearson (exact) interval from beta quantiles; NaN where ``n`` is 0."""
    from scipy.special import betaincinv

    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = betaincinv(np.maximum(k, 1.0), np.maximum(n - k + 1.0, 1.0), alpha / 2.0)
        hi = betaincinv(np.maximum(k + 1.0, 1.0), np.maximum(n - k, 1.0), 1.0 - alpha / 2.0)
    lo = np.where(k == 0, 0.0, lo)
    hi = np.where(k == n, 1.0, hi)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def proportion_interval(k: npt.ArrayLike, n: npt.ArrayLike, method: IntervalMethod,
                        confidence: float) -> tuple[FloatArray, FloatArray]:
    if method == "wilson":
        return wilson(k, n, confidence)
    if method == "clopper-pearson":
        return clopper_pearson(k, n, confidence)
    raise ValueError(f"unknown interval method {method!r}")


# -- percentile intervals -------------------------------------------------------


def quantile(samples: FloatArray, q: float, axis: int = 0) -> FloatArray:
    """The ``q`` quantile of ``samples`` along ``axis``, leaving NaN replicates out.

    A figure undefined in more than ``MAX_UNDEFINED_SHARE`` of its replicates
    gets NaN. Quantiles interpolate linearly between order statistics (numpy's
    default definition).
    """
    out: FloatArray = quantiles(samples, (q,), axis)[0]
    return out


def quantiles(samples: FloatArray, qs: Sequence[float], axis: int = 0) -> FloatArray:
    """Several quantiles (first axis, one per ``q``) from one sort; see :func:`quantile`."""
    # the replicates made the last axis, in one piece of memory: sorting along it is a
    # quarter faster than along a strided axis
    x = np.ascontiguousarray(np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1))
    total = x.shape[-1]
    if total == 0:
        return np.full((len(qs), *x.shape[:-1]), np.nan)
    x.sort(axis=-1)  # NaN sorts last
    valid = (~np.isnan(x)).sum(axis=-1)
    enough = (valid >= 1) & (total - valid <= MAX_UNDEFINED_SHARE * total)
    out = []
    for q in qs:
        pos = q * (np.maximum(valid, 1) - 1)
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(valid - 1, 0))
        lo = np.take_along_axis(x, below[..., None], axis=-1)[..., 0]
        hi = np.take_along_axis(x, above[..., None], axis=-1)[..., 0]
        with np.errstate(invalid="ignore"):  # infinite order statistics: no interpolation
            value = np.where(hi == lo, lo, lo + (pos - below) * (hi - lo))
        out.append(np.where(enough, value, np.nan))
    return np.stack(out)


def percentile_interval(samples: FloatArray, confidence: float, axis: int = 0
                        ) -> FloatArray:
    """The central ``confidence`` percentile interval along ``axis``, (low, high) last."""
    alpha = 1.0 - confidence
    return np.moveaxis(quantiles(samples, (alpha / 2.0, 1.0 - alpha / 2.0), axis), 0, -1)


def mean_interval(total: npt.ArrayLike, second: npt.ArrayLike, n: npt.ArrayLike,
                  confidence: float) -> tuple[FloatArray, FloatArray]:
    """The normal interval of a mean of values in [0, 1], from their sum, sum of squares and
    count, clipped to [0, 1]; NaN with fewer than two values."""
    s1 = np.asarray(total, dtype=np.float64)
    s2 = np.asarray(second, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / m
        var = np.maximum(s2 - m * mean**2, 0.0) / (m - 1.0)
        half = z_value(confidence) * np.sqrt(var / m)
    ok = m >= 2
    lo = np.where(ok, np.clip(mean - half, 0.0, 1.0), np.nan)
    hi = np.where(ok, np.clip(mean + half, 0.0, 1.0), np.nan)
    return lo, hi


def t_interval(total: npt.ArrayLike, second: npt.ArrayLike, n: npt.ArrayLike,
               confidence: float, root: bool = False) -> tuple[FloatArray, FloatArray]:
    """Student's t interval of a mean of numbers from their sum, sum of squares and count.

    ``mean +- t(n - 1) * s / sqrt(n)`` with ``s`` the sample standard
    deviation (as ``scipy.stats.t.interval`` on the rows); NaN with fewer than
    two values. With ``root``, the values are squares and the interval is that
    of the root of their mean (a root mean square): the square roots of the
    ends of the mean's interval, the lower one clipped at 0.
    """
    # the t quantile from scipy.special: a fifth of scipy.stats' import time
    from scipy.special import stdtrit

    s1 = np.asarray(total, dtype=np.float64)
    s2 = np.asarray(second, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    ok = m >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / m
        var = np.maximum(s2 - s1 * mean, 0.0) / (m - 1.0)
        crit = stdtrit(np.where(ok, m - 1.0, 1.0), 0.5 + confidence / 2.0)
        half = crit * np.sqrt(var / m)
    lo = np.where(ok, mean - half, np.nan)
    hi = np.where(ok, mean + half, np.nan)
    if root:
        lo, hi = np.sqrt(np.maximum(lo, 0.0)), np.sqrt(np.maximum(hi, 0.0))
    return lo, hi
