"""Vectorised point-in-time and snapshot aggregations over keyed event rows."""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["prior_sums", "keyed_totals", "lookup_keyed"]


@njit(cache=True)
def _prior_sums_sorted(order: NDArray[np.int64], key: NDArray[np.int64],
                       ts: NDArray[np.int64], values: NDArray[np.float64],
                       out: NDArray[np.float64]) -> None:  # pragma: no cover - numba
    """Write into ``out`` the running sums per key over rows in ``order`` (key, then time)."""
    m = values.shape[1]
    before = np.zeros(m)  # sum over the key's rows strictly earlier than the current time
    run = np.zeros(m)  # sum over the key's rows at the current time
    for k in range(order.shape[0]):
        r = order[k]
        if k == 0 or key[r] != key[order[k - 1]]:
            before[:] = 0.0
            run[:] = 0.0
        elif ts[r] != ts[order[k - 1]]:
            before += run
            run[:] = 0.0
        out[r, :] = before
        run += values[r, :]


_RADIX_BITS = 16


@njit(cache=True)
def stable_argsort(key: NDArray[np.int64]) -> NDArray[np.int64]:  # pragma: no cover - numba
    """Return the stable ascending order of integer ``key`` (LSD radix sort, 16 bits a pass).

    Same result as ``np.argsort(key, kind="stable")``, in O(n) per 16 bits of the keys'
    range: group keys (codes, or codes times the number of items) need two or three
    passes where a comparison sort needs log n.
    """
    n = key.shape[0]
    order = np.arange(n)
    if n < 2:
        return order
    low = key.min()
    span = np.uint64(key.max() - low)
    tmp = np.empty(n, dtype=np.int64)
    counts = np.empty((1 << _RADIX_BITS) + 1, dtype=np.int64)
    mask = np.uint64((1 << _RADIX_BITS) - 1)
    shift = np.uint64(0)
    while True:
        counts[:] = 0
        for k in range(n):
            counts[((np.uint64(key[order[k]] - low) >> shift) & mask) + 1] += 1
        for j in range(1, counts.shape[0]):
            counts[j] += counts[j - 1]
        for k in range(n):
            r = order[k]
            d = (np.uint64(key[r] - low) >> shift) & mask
            tmp[counts[d]] = r
            counts[d] += 1
        order, tmp = tmp, order
        shift += np.uint64(_RADIX_BITS)
        if shift >= np.uint64(64) or (span >> shift) == np.uint64(0):
            return order


def prior_sums(
    key: NDArray[np.int64], ts: NDArray[np.int64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per row, the sum of ``values`` over rows with the same key and a strictly earlier time.

    Rows that should not count (e.g. test-window events) must carry zero ``values``.
    Ties in time never see each other, so a row never sees its own label. Each key's
    running sum is accumulated in time order, as a direct sum (no difference of large
    totals), in one pass without temporaries the size of ``values``.

    Parameters
    ----------
    key : ndarray of int64, shape (n,)
        Group key of each row (user, item, user×category, ...).
    ts : ndarray of int64, shape (n,)
        Event time of each row.
    values : ndarray of float64, shape (n, m)
        What to sum.

    Returns
    -------
    ndarray of float64, shape (n, m)
    """
    n = key.shape[0]
    out = np.zeros((n, values.shape[1]), dtype=np.float64)
    if n == 0:
        return out
    key = np.ascontiguousarray(key, dtype=np.int64)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    # rows sorted by time (as Dataset.interactions is) need only a stable sort by key
    if not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.lexsort((ts, key))
    elif int(key.max()) - int(key.min()) < 1 << 32:  # two radix passes beat a comparison sort
        order = stable_argsort(key)
    else:  # (user, item) keys: three passes of scattered reads lose to NumPy's sort
        order = np.argsort(key, kind="stable")
    _prior_sums_sorted(order.astype(np.int64, copy=False), key, ts,
                       np.ascontiguousarray(values, dtype=np.float64), out)
    return out


def keyed_totals(
    key: NDArray[np.int64], values: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Sum ``values`` per distinct key; returns sorted keys and their sums."""
    if key.shape[0] == 0:
        return key.astype(np.int64), np.zeros((0, values.shape[1]), dtype=np.float64)
    order = np.argsort(key, kind="stable")
    k_s = key[order]
    starts = np.flatnonzero(np.r_[True, k_s[1:] != k_s[:-1]])
    sums = np.add.reduceat(values[order], starts, axis=0).astype(np.float64)
    return k_s[starts].astype(np.int64), sums

def lookup_keyed(
    keys: NDArray[np.int64], sums: NDArray[np.float64], query: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Look up the sums of each ``query`` key in sorted ``keys``; zeros where it is absent."""
    out = np.zeros((query.shape[0], sums.shape[1]), dtype=np.float64)
    if keys.shape[0] == 0:
        return out
    pos = np.searchsorted(keys, query)
    pos_c = np.minimum(pos, keys.shape[0] - 1)
    hit = keys[pos_c] == query
    out[hit] = sums[pos_c[hit]]
    return out
