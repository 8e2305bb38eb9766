"""Vectorised point-in-time and snapshot aggregations over keyed event rows."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["prior_sums", "keyed_totals", "lookup_keyed"]


def prior_sums(
    key: NDArray[np.int64], ts: NDArray[np.int64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per row, the sum of ``values`` over rows with the same key and a strictly earlier time.

    Rows that should not count (e.g. test-window events) must carry zero ``values``.
    Ties in time never see each other, so a row never sees its own label.

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
    if n == 0:
        return np.zeros_like(values)
    order = np.lexsort((ts, key))
    k_s, t_s = key[order], ts[order]
    v_s = values[order]
    excl = np.cumsum(v_s, axis=0) - v_s  # exclusive running sum over the whole array
    idx = np.arange(n)
    new_key = np.empty(n, dtype=bool)
    new_key[0] = True
    np.not_equal(k_s[1:], k_s[:-1], out=new_key[1:])
    key_start = np.maximum.accumulate(np.where(new_key, idx, 0))
    within = excl - excl[key_start]
    new_run = new_key.copy()
    new_run[1:] |= t_s[1:] != t_s[:-1]
    run_start = np.maximum.accumulate(np.where(new_run, idx, 0))
    out = np.empty_like(values)
    out[order] = within[run_start]
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
