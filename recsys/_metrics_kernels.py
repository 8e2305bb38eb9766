"""Numba kernels behind `recsys.metrics`: per-group sort, ranking, list and Pareto loops.

Serial on purpose: numba's default threading layer is unsafe to enter from the many
threads of a Streamlit server.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

_RUN = 32  # length of the insertion-sorted runs of the group merge sort
_MAGNITUDE = 0x7FFF_FFFF_FFFF_FFFF  # flips a negative float's bits into ascending order


@njit(cache=True)
def _sort_keys(s: NDArray[np.float64]) -> NDArray[np.int64]:  # pragma: no cover
    """Integers ordered like ``s``, with ``-0.0 == 0.0`` and every NaN below ``-inf``."""
    bits, key = s.view(np.int64), np.empty(s.shape[0], np.int64)
    for i in range(s.shape[0]):
        b = 0 if s[i] == 0.0 else bits[i]
        key[i] = np.iinfo(np.int64).min if np.isnan(s[i]) else (b ^ _MAGNITUDE if b < 0 else b)
    return key


@njit(cache=True, inline="always")
def _sort_group(key: NDArray[np.int64], skey: NDArray[np.int64], order: NDArray[np.int64],
                kbuf: NDArray[np.int64], obuf: NDArray[np.int64], lo: int,
                hi: int) -> None:  # pragma: no cover
    """Stable sort of rows ``lo:hi`` by descending key into ``skey`` and ``order``.

    Insertion-sorted runs of ``_RUN`` rows (most groups fit one run), then merges.
    """
    for start in range(lo, hi, _RUN):
        for i in range(start, min(start + _RUN, hi)):
            x, j = key[i], i
            while j > start:
                y = skey[j - 1]
                if x <= y:
                    break
                skey[j] = y
                order[j] = order[j - 1]
                j -= 1
            skey[j] = x
            order[j] = i
    ks, ko, kd, od, in_buf, width = skey, order, kbuf, obuf, False, _RUN
    while width < hi - lo:
        for left in range(lo, hi, 2 * width):
            mid, right = min(left + width, hi), min(left + 2 * width, hi)
            i, j = left, mid
            for o in range(left, right):
                if j >= right or (i < mid and ks[i] >= ks[j]):
                    kd[o], od[o], i = ks[i], ko[i], i + 1
                else:
                    kd[o], od[o], j = ks[j], ko[j], j + 1
        ks, ko, kd, od, in_buf, width = kd, od, ks, ko, not in_buf, 2 * width
    if in_buf:
        skey[lo:hi] = kbuf[lo:hi]
        order[lo:hi] = obuf[lo:hi]


@njit(cache=True, inline="always")
def _group_task(skey: NDArray[np.int64], order: NDArray[np.int64], rel: NDArray[np.float64],
                lo: int, hi: int, disc: NDArray[np.float64], gains: NDArray[np.float64],
                acc: NDArray[np.float64]) -> None:  # pragma: no cover
    """Add one sorted group's NDCG, recall, MRR, count and size-weighted AUC to ``acc``."""
    n, kk = hi - lo, min(disc.shape[0], hi - lo)
    n_pos, hits, dcg, first, g_min, g_max = 0, 0, 0.0, -1, np.inf, 0.0
    right, n_bp, n_bn = 0.0, 0, 0  # AUC: well-ordered pairs; classes in the current tie block
    for r in range(n):
        if r > 0 and skey[lo + r] != skey[lo + r - 1]:
            right, n_bp, n_bn = right + n_bn * (n_pos - n_bp) + 0.5 * n_bn * n_bp, 0, 0
        g = rel[order[lo + r]]
        if g > 0:
            gains[n_pos], n_pos, n_bp = g, n_pos + 1, n_bp + 1
            g_min, g_max = min(g_min, g), max(g_max, g)
            first = r if first < 0 else first
            if r < kk:
                hits, dcg = hits + 1, dcg + g * disc[r]
        else:
            n_bn += 1
    if n_pos == 0:
        return
    right += n_bn * (n_pos - n_bp) + 0.5 * n_bn * n_bp
    if g_min < g_max:  # graded gains: the ideal order needs the largest first
        gains[:n_pos].sort()
    idcg = 0.0
    for r in range(min(kk, n_pos)):
        idcg += gains[n_pos - 1 - r] * disc[r]
    acc[0] += dcg / idcg
    acc[1] += hits / n_pos
    acc[2] += 1.0 / (first + 1)
    acc[3] += 1.0
    if n_pos < n:
        acc[4] += n * right / (n_pos * (n - n_pos))
        acc[5] += n


@njit(cache=True)
def _ranking_kernel(offsets: NDArray[np.int64], key: NDArray[np.int64],
                    rels: NDArray[np.float64], disc: NDArray[np.float64],
                    max_size: int, per_group: bool) -> NDArray[np.float64]:  # pragma: no cover
    """Group metrics, one sort per group serving every task.

    Returns (n_tasks, 1, 6) per-task sums, or with ``per_group`` (n_tasks, n_groups, 6)
    with each group's own row (zeros where the group has no relevant row).
    """
    n_groups = offsets.shape[0] - 1
    acc = np.zeros((rels.shape[0], n_groups if per_group else 1, 6))
    skey, order = np.empty_like(key), np.empty_like(key)
    kbuf, obuf = np.empty_like(key), np.empty_like(key)
    gains = np.empty(max_size)
    for g in range(n_groups):
        lo, hi = offsets[g], offsets[g + 1]
        if hi > lo:
            _sort_group(key, skey, order, kbuf, obuf, lo, hi)
            for t in range(rels.shape[0]):
                _group_task(skey, order, rels[t], lo, hi, disc, gains,
                            acc[t, g if per_group else 0])
    return acc


@njit(cache=True)
def _weighted_auc_kernel(starts: NDArray[np.int64], positive: NDArray[np.bool_],
                         group: NDArray[np.int64],
                         weights: NDArray[np.float64]) -> NDArray[np.float64]:  # pragma: no cover
    """Pooled AUC under each row of group ``weights`` (e.g. bootstrap counts).

    Rows are sorted by ascending score; tie block ``b`` is rows ``starts[b]:starts[b + 1]``
    (ties count 1/2). Row ``r`` weighs ``weights[s, group[r]]`` in resample ``s``.
    """
    out = np.empty(weights.shape[0])
    for s in range(weights.shape[0]):
        w = weights[s]
        num, below, n_pos, n_neg = 0.0, 0.0, 0.0, 0.0
        for b in range(starts.shape[0] - 1):
            wp, wn = 0.0, 0.0
            for r in range(starts[b], starts[b + 1]):
                if positive[r]:
                    wp += w[group[r]]
                else:
                    wn += w[group[r]]
            num += wp * (below + 0.5 * wn)
            below, n_pos, n_neg = below + wn, n_pos + wp, n_neg + wn
        out[s] = num / (n_pos * n_neg) if n_pos > 0 and n_neg > 0 else np.nan
    return out


@njit(cache=True)
def _topk_kernel(topk: NDArray[np.int64], indptr: NDArray[np.int64], items: NDArray[np.int64],
                 n_items: int, per_user: NDArray[np.float64]
                 ) -> tuple[int, int, float]:  # pragma: no cover
    """Users with positives, users with a hit, and the sum of their recalls.

    ``per_user`` (n_users, 2) receives each user's hit (0/1) and recall (NaN for users
    without positives).
    """
    mark = np.zeros(n_items, np.int64)
    n_users, n_hit, recall = 0, 0, 0.0
    for u in range(topk.shape[0]):
        stamp, n_pos, hits = u + 1, 0, 0
        per_user[u, 0], per_user[u, 1] = np.nan, np.nan
        for p in range(indptr[u], indptr[u + 1]):
            if mark[items[p]] != stamp:
                mark[items[p]], n_pos = stamp, n_pos + 1
        if n_pos == 0:
            continue
        for j in range(topk.shape[1]):
            it = topk[u, j]
            if it >= 0 and mark[it] == stamp:
                mark[it], hits = -stamp, hits + 1  # a repeated slot counts once
        n_users, n_hit, recall = n_users + 1, n_hit + (hits > 0), recall + hits / n_pos
        per_user[u, 0], per_user[u, 1] = 1.0 if hits > 0 else 0.0, hits / n_pos
    return n_users, n_hit, recall


@njit(cache=True)
def _diversity_kernel(topk: NDArray[np.int64],
                      cat: NDArray[np.int64]) -> float:  # pragma: no cover
    """Mean share of different-category pairs over lists with at least two items."""
    buf = np.empty(topk.shape[1], np.int64)
    total, n_lists = 0.0, 0
    for u in range(topk.shape[0]):
        m = 0
        for j in range(topk.shape[1]):
            if topk[u, j] >= 0:
                buf[m], m = cat[topk[u, j]], m + 1
        if m < 2:
            continue
        buf[:m].sort()
        same, run = 0, 1
        for j in range(1, m + 1):
            if j < m and buf[j] == buf[j - 1]:
                run += 1
            else:
                same, run = same + run * (run - 1) // 2, 1
        total, n_lists = total + 1.0 - same / (m * (m - 1) / 2), n_lists + 1
    return total / n_lists if n_lists else np.nan


@njit(cache=True)
def _pareto_kernel(x: NDArray[np.float64],
                   order: NDArray[np.int64]) -> NDArray[np.bool_]:  # pragma: no cover
    """Mark the Pareto-efficient rows (higher is better in every column) by a simple cull.

    Rows met in lexicographically descending ``order`` face only the front found so far.
    """
    front, n_front = np.empty(order.shape[0], np.int64), 0
    mask = np.zeros(x.shape[0], np.bool_)
    for i in order:
        dominated = False
        for f in front[:n_front]:
            ge, gt = True, False
            for m in range(x.shape[1]):
                ge, gt = ge and x[f, m] >= x[i, m], gt or x[f, m] > x[i, m]
            if ge and gt:
                dominated = True
                break
        if not dominated:
            front[n_front], n_front, mask[i] = i, n_front + 1, True
    return mask


@njit(cache=True)
def _resampled_sums(weights: NDArray[np.integer], values: NDArray[np.float64],
                    groups: NDArray[np.int64]) -> NDArray[np.float64]:  # pragma: no cover
    """Compute ``weights[:, groups] @ values``, skipping groups a resample missed.

    ``weights`` holds integer resample counts (n_resamples, n_groups), ``values`` the
    listed groups' values (len(groups), m).
    """
    out = np.zeros((weights.shape[0], values.shape[1]))
    for s in range(weights.shape[0]):
        row = out[s]
        for r in range(groups.shape[0]):
            w = weights[s, groups[r]]
            if w != 0:
                for j in range(values.shape[1]):
                    row[j] += w * values[r, j]
    return out
