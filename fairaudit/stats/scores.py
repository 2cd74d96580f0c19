"""Score figures from fixed-bin histograms: AUC (with DeLong's variance), KS distance, bounds.

A histogram counts rows per score bin, bins in increasing score order. Rows in
one bin are taken as tied: the AUC counts a positive-negative pair in the same
bin as one half, as ``roc_auc_score`` counts equal scores, so the AUC is exact
when every bin holds one distinct score and otherwise differs from the exact
AUC by at most half the share of pairs tied within a bin (:func:`auc`). The
distance between two score distributions is taken at the bin edges, which is
never more than the exact Kolmogorov-Smirnov distance, and never less than it
minus what one bin can hide (:func:`ks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Hist = npt.NDArray[Any]  # (..., bins) counts


def auc(pos: Hist, neg: Hist) -> tuple[FloatArray, FloatArray, FloatArray]:
    """AUC, its DeLong variance and the binning bound, over the last axis of two histograms.

    ``pos`` and ``neg`` count the positives and the negatives per bin. With no
    positive or no negative the three are NaN. The bound is half the share of
    positive-negative pairs in the same bin: the exact AUC of the unbinned
    scores lies within it of the value returned.

    The variance is DeLong's, from each row's placement value (the share of the
    other class it outranks, ties one half), which is the same for every row of
    a bin and so is computed per bin.
    """
    p = np.asarray(pos, dtype=np.float64)
    n = np.asarray(neg, dtype=np.float64)
    n_pos = p.sum(axis=-1)
    n_neg = n.sum(axis=-1)
    ok = (n_pos > 0) & (n_neg > 0)
    npos = np.where(ok, n_pos, 1.0)[..., None]
    nneg = np.where(ok, n_neg, 1.0)[..., None]
    neg_below = np.cumsum(n, axis=-1) - n
    pos_above = p.sum(axis=-1, keepdims=True) - np.cumsum(p, axis=-1)
    v10 = (neg_below + 0.5 * n) / nneg  # a positive's share of negatives it outranks
    v01 = (pos_above + 0.5 * p) / npos  # a negative's share of positives above it
    value = (p * v10).sum(axis=-1) / npos[..., 0]
    tied = (p * n).sum(axis=-1) / (npos[..., 0] * nneg[..., 0])

    def spread(w: FloatArray, v: FloatArray, m: FloatArray) -> FloatArray:
        mean = (w * v).sum(axis=-1) / m[..., 0]
        ss = (w * (v - mean[..., None]) ** 2).sum(axis=-1)
        return np.asarray(ss / np.maximum(m[..., 0] - 1, 1.0), dtype=np.float64)

    var = spread(p, v10, npos) / npos[..., 0] + spread(n, v01, nneg) / nneg[..., 0]
    nan = np.full(value.shape, np.nan)
    return (np.where(ok, value, nan), np.where(ok, var, nan), np.where(ok, tied / 2, nan))


def cdf(hist: Hist) -> FloatArray:
    """The share of rows in each bin or below, over the last axis (NaN with no rows)."""
    h = np.asarray(hist, dtype=np.float64)
    total = h.sum(axis=-1, keepdims=True)
    out = np.full(h.shape, np.nan)
    np.divide(np.cumsum(h, axis=-1), total, out=out, where=total > 0)
    return out


def ks(a: Hist, b: Hist) -> tuple[float, float]:
    """The distance between two score distributions at the bin edges, and its upper bound.

    The first value is ``max |F_a - F_b|`` over the bins' upper edges: what
    ``scipy.stats.ks_2samp`` gives on the rows' bins, and never more than the
    exact distance of the unbinned scores. Inside a bin either distribution can
    rise by at most its share of rows there, so the exact distance is at most
    the second value, the largest ``|F_a(upper) - F_b(lower)|`` or
    ``|F_a(lower) - F_b(upper)|`` over the bins.
    """
    fa, fb = cdf(a), cdf(b)
    if np.isnan(fa).any() or np.isnan(fb).any():
        return float("nan"), float("nan")
    la, lb = np.concatenate([[0.0], fa[:-1]]), np.concatenate([[0.0], fb[:-1]])
    value = float(np.abs(fa - fb).max())
    upper = float(max(np.abs(fa - lb).max(), np.abs(la - fb).max()))
    return value, upper


def widest(hists: Hist) -> tuple[float, float, int, int]:
    """The largest distance between any two of ``hists`` (groups, bins), its bound, the pair.

    Over every pair, the largest distance at an edge is the largest gap between
    the highest and the lowest distribution function at that edge; the bound
    is the same with the lowest one taken at the bin's lower edge.
    """
    f = cdf(hists)
    if len(f) < 2:
        return float("nan"), float("nan"), -1, -1
    lower = np.concatenate([np.zeros((len(f), 1)), f[:, :-1]], axis=1)
    gap = f.max(axis=0) - f.min(axis=0)
    edge = int(np.argmax(gap))
    hi, lo = int(np.argmax(f[:, edge])), int(np.argmin(f[:, edge]))
    upper = float((f.max(axis=0) - lower.min(axis=0)).max())
    return float(gap[edge]), upper, hi, lo
