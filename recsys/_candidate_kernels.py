"""Numba kernels of :mod:`recsys.candidates`: per-user top-m searches and the merge.

Every kernel writes into arrays its caller allocates and ranks by score descending, ties
to the lower item code. They run over users in parallel (``prange``); each user's result
depends on that user's inputs only, so it is the same for any block of users and any
number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

FLOOR = 1e-6
"""Latent items whose dot product with the user is below ``-FLOOR`` are never proposed."""
CHUNK = 256
"""Items per step of the latent scan (the norm bound is checked once per step)."""


# --- the m best (score desc, code asc) of a stream, kept in a min-heap ----------------

@njit(cache=True, inline="always")
def _below(v1: float, c1: int, v2: float, c2: int) -> bool:  # pragma: no cover
    """Whether ``(v1, c1)`` ranks after ``(v2, c2)``: lower score, or equal and higher code."""
    return v1 < v2 or (v1 == v2 and c1 > c2)


@njit(cache=True)
def _sift_down(hv: NDArray[np.float64], hc: NDArray[np.int64], i: int,
               n: int) -> None:  # pragma: no cover
    while 2 * i + 1 < n:
        w = 2 * i + 1
        if w + 1 < n and _below(hv[w + 1], hc[w + 1], hv[w], hc[w]):
            w += 1
        if not _below(hv[w], hc[w], hv[i], hc[i]):
            return
        hv[i], hv[w] = hv[w], hv[i]
        hc[i], hc[w] = hc[w], hc[i]
        i = w


@njit(cache=True)
def _push(hv: NDArray[np.float64], hc: NDArray[np.int64], n: int, v: float,
          c: int) -> int:  # pragma: no cover
    """Offer ``(v, c)`` to the heap of the ``n`` best (root: the worst kept); return n."""
    if n == hv.size:
        if _below(v, c, hv[0], hc[0]):
            return n
        hv[0], hc[0] = v, c
        _sift_down(hv, hc, 0, n)
        return n
    i = n
    hv[i], hc[i] = v, c
    while i > 0 and _below(hv[i], hc[i], hv[(i - 1) // 2], hc[(i - 1) // 2]):
        p = (i - 1) // 2
        hv[i], hv[p] = hv[p], hv[i]
        hc[i], hc[p] = hc[p], hc[i]
        i = p
    return n + 1


@njit(cache=True)
def _drain(hv: NDArray[np.float64], hc: NDArray[np.int64], n: int, out_c: NDArray[np.int32],
           out_v: NDArray[np.float64]) -> None:  # pragma: no cover
    """Write the heap's ``n`` entries best first (heapsort: the worst goes last)."""
    for last in range(n - 1, -1, -1):
        out_c[last], out_v[last] = hc[0], hv[0]
        hv[0], hc[0] = hv[last], hc[last]
        _sift_down(hv, hc, 0, last)


@njit(parallel=True, cache=True)
def csr_top(indptr: NDArray[np.int64], indices: NDArray[np.int32], data: NDArray[np.float64],
             m: int, out_i: NDArray[np.int32], out_v: NDArray[np.float64]
             ) -> None:  # pragma: no cover
    """Write each row's ``m`` largest positive entries (column, value) into ``out_*``."""
    for r in prange(indptr.size - 1):
        hv = np.empty(m, np.float64)
        hc = np.empty(m, np.int64)
        n = 0
        for p in range(indptr[r], indptr[r + 1]):
            if data[p] > 0.0:
                n = _push(hv, hc, n, data[p], indices[p])
        _drain(hv, hc, n, out_i[r], out_v[r])


@njit(parallel=True, cache=True)
def latent_top(user: NDArray[np.float64], item_t: NDArray[np.float64],
                codes: NDArray[np.int64], item_norm: NDArray[np.float64], m: int,
                out: NDArray[np.int32]) -> None:  # pragma: no cover
    """Write each user's ``m`` items of largest dot product (>= -FLOOR) into ``out``.

    ``item_t`` is (dim, n_items) with items in decreasing ``item_norm``; ``codes`` maps
    those columns to item codes. The scan of a user stops once even the norm bound of
    the next items falls below the m-th best score.
    """
    dim, n_items = item_t.shape
    for u in prange(user.shape[0]):
        u_norm = 0.0
        for k in range(dim):
            u_norm += user[u, k] * user[u, k]
        u_norm = np.sqrt(u_norm)
        if u_norm == 0.0:
            continue
        hv = np.empty(m, np.float64)
        hc = np.empty(m, np.int64)
        acc = np.empty(CHUNK, np.float64)
        n = 0
        for a in range(0, n_items, CHUNK):
            if n == m and u_norm * item_norm[a] * (1.0 + 1e-9) < hv[0]:
                break
            w = min(CHUNK, n_items - a)
            acc[:w] = 0.0
            for k in range(dim):  # dimension-outer: the inner loop vectorises
                x = user[u, k]
                for j in range(w):
                    acc[j] += x * item_t[k, a + j]
            for j in range(w):
                if acc[j] >= -FLOOR:
                    n = _push(hv, hc, n, acc[j], codes[a + j])
        _drain(hv, hc, n, out[u], np.empty(m, np.float64))


@njit(parallel=True, cache=True)
def affinity_top(indptr: NDArray[np.int64], cats: NDArray[np.int64],
                 weight: NDArray[np.float64], base: NDArray[np.float64],
                 cat_ptr: NDArray[np.int64], cat_items: NDArray[np.int64],
                 cat_pop: NDArray[np.float64], glob: NDArray[np.int64],
                 glob_pop: NDArray[np.float64], item_cat: NDArray[np.int64],
                 bounds: NDArray[np.int64], banned: NDArray[np.int64],
                 never: NDArray[np.bool_], out: NDArray[np.int32]) -> None:  # pragma: no cover
    """Write each user's best items by ``pop[i] * (weight[u, cat[i]] + base[u])`` into ``out``.

    A user's categories are ``cats[indptr[u]:indptr[u + 1]]`` with ``weight > 0``; every
    other category weighs 0. ``cat_items[cat_ptr[c]:cat_ptr[c + 1]]`` are category c's
    items and ``glob`` all items, each in decreasing popularity (``cat_pop``, ``glob_pop``),
    ties to the lower code. The lists are merged: one stream per category of the user,
    plus the global stream for the other categories. An item of the user's categories
    heading the global stream when it would win was taken from its category's stream
    already (its score there is higher), so it is skipped: a user costs
    ``O(m * categories of the user)``, whatever the catalogue's size. Items banned for
    the user (``banned[bounds[u]:bounds[u + 1]]``, sorted) or for all (``never``) are
    passed over, so the list is full while the catalogue has items to offer.
    """
    m = out.shape[1]
    for u in prange(indptr.size - 1):
        a, k, g = indptr[u], indptr[u + 1] - indptr[u], base[u]
        own = banned[bounds[u]:bounds[u + 1]]
        taken = np.zeros(k, np.int64)
        gp = 0
        n = 0
        while n < m:
            best, best_item, bj = 0.0, -1, -2
            for j in range(k):
                p = cat_ptr[cats[a + j]] + taken[j]
                if p < cat_ptr[cats[a + j] + 1]:
                    s = cat_pop[p] * (weight[a + j] + g)
                    if bj == -2 or s > best or (s == best and cat_items[p] < best_item):
                        best, best_item, bj = s, cat_items[p], j
            while g > 0.0 and gp < glob.size:
                s = glob_pop[gp] * g
                if bj != -2 and (s < best or (s == best and glob[gp] > best_item)):
                    break
                mine = False
                for j in range(k):
                    mine = mine or cats[a + j] == item_cat[glob[gp]]
                if not mine:
                    best, best_item, bj = s, glob[gp], -1
                    break
                gp += 1  # taken from its category's stream already
            if bj == -2:
                break
            if bj == -1:
                gp += 1
            else:
                taken[bj] += 1
            p = np.searchsorted(own, best_item)
            if not never[best_item] and (p == own.size or own[p] != best_item):
                out[u, n] = best_item
                n += 1


@njit(parallel=True, cache=True)
def merge(lists: NDArray[np.int32], share: NDArray[np.float64], src_idx: NDArray[np.int8],
          bounds: NDArray[np.int64], banned: NDArray[np.int64], never: NDArray[np.bool_],
          out_items: NDArray[np.int32], out_src: NDArray[np.int8]) -> None:  # pragma: no cover
    """Fill each user's slots from ``lists`` (sources × users × ranks) by weighted turns.

    The next slot goes to the source with the fewest slots taken relative to its share
    (``share[s, u]``; the first such source in order on a tie), which proposes its next
    item; an item already taken, banned for the user
    (``banned[bounds[u]:bounds[u + 1]]``) or banned for all (``never``) is passed over
    without using the turn. A source whose list runs out leaves the turns to the others.
    """
    n_src, n_u, m = lists.shape
    step = 4096
    for c in prange((n_u + step - 1) // step):
        mark = np.full(never.size, -1, np.int64)  # >= 2u: taken (2u) or banned (2u + 1) for u
        at = np.zeros(n_src, np.int64)
        got = np.zeros(n_src, np.int64)
        for u in range(c * step, min(n_u, (c + 1) * step)):
            for p in range(bounds[u], bounds[u + 1]):
                mark[banned[p]] = 2 * u + 1
            at[:] = 0
            got[:] = 0
            n = 0
            while n < m:
                s, turn = -1, np.inf
                for t in range(n_src):
                    if share[t, u] > 0.0 and at[t] < m and lists[t, u, at[t]] >= 0:
                        due = (got[t] + 0.5) / share[t, u]
                        if due < turn:
                            s, turn = t, due
                if s < 0:
                    break
                item = lists[s, u, at[s]]
                at[s] += 1
                if never[item] or mark[item] >= 2 * u:
                    continue
                mark[item] = 2 * u
                out_items[u, n] = item
                out_src[u, n] = src_idx[s]
                got[s] += 1
                n += 1
