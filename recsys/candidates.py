"""Per-user candidate items from several sources, merged without duplicates.

Every source works from what the :class:`~recsys.features.FeatureStore` knows at the
cutoff, and none builds a users × items matrix:

- ``popular``: the catalogue's most popular items, ranked once;
- ``category``: each category's most popular items, ranked once per category, given to
  each user for their top three categories (positives, then exposures), interleaved;
- ``cooccurrence``: a sparse item × item count of the users' positive histories, cut to
  each item's ``2 * per_user`` most co-engaged items, summed over the user's positives (a
  sparse product per block of users). A user's history is their positives before the
  cutoff, at most the 500 with most positive events (the store keeps no per-pair time);
- ``latent``: the items with the largest dot product with the user's latent factor
  (those at or above ``-1e-6``), found exactly: items are scanned in decreasing norm and
  the scan stops once the norm bound of the next items falls below the user's m-th best
  score (Cauchy–Schwarz). Latent factors of skewed data have skewed norms, so a scan
  visits a small share of the catalogue; items of equal norm would be visited all (the
  work of a users × items product, in constant memory). A user without a factor (all
  zeros) gets none.

Each list is best first, ties to the lower item code. Users are handled in blocks that
fit a working-memory budget; the result does not depend on the block size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from numpy.typing import NDArray

from recsys.features import FeatureStore

__all__ = ["SEEN", "SOURCES", "CandidateSet", "candidate_recall", "exclusion_label",
           "generate_candidates"]

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("popular", "category", "cooccurrence", "latent")
SEEN = "seen"
"""``candidates.exclude`` value meaning every (user, item) pair exposed before the test window."""

BUDGET_BYTES = 256 << 20
"""Working memory of one block of users (or of items, when counting co-occurrence)."""
_HISTORY = 500
"""Most positives of one user that co-occurrence counts: the ones with most positive events."""
_TOP_CATEGORIES = 3
_NEIGHBOURS = 2
"""Co-occurrence keeps ``_NEIGHBOURS * per_user`` neighbours of each item."""
_FLOOR = 1e-6
"""Latent items whose dot product with the user is below ``-_FLOOR`` are never proposed."""
_CHUNK = 256
"""Items per step of the latent scan (the norm bound is checked once per step)."""
_MERGE_BYTES = 16
"""Working bytes of one (user, rank, source) slot of the lists being made and merged."""
_PRODUCT_BYTES = 32
"""Working bytes of one stored entry of a sparse product."""


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def given(self) -> str | None: ...


def exclusion_label(exclude: str | None, tasks: Iterable[_Labelled]) -> str | None:
    """Return the label whose positive pairs are never proposed again.

    Positive (user, item) pairs of this label before the test window are excluded from
    the candidates. It is ``exclude`` (the config's ``candidates.exclude``, :data:`SEEN`
    for every exposed pair) or, unset, the label of the last conditional task; ``None``
    if there is neither.

    ``tasks`` are the config's tasks or the project's :class:`~recsys.tasks.TaskSpec`, in
    config order.
    """
    if exclude is not None:
        return exclude
    children = [t.label for t in tasks if t.given is not None]
    return children[-1] if children else None


@dataclass(frozen=True, slots=True)
class CandidateSet:
    """Candidate item codes per user (row = user code), -1 for empty slots."""

    items: NDArray[np.int32]
    """(n_users, per_user) item codes, best-first within each source's interleaving."""
    source: NDArray[np.int8]
    """(n_users, per_user) index into :data:`SOURCES` of the source that proposed it, -1 empty."""

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Mask of filled slots."""
        return self.items >= 0

    def pairs(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(user code, item code) of every filled slot, row-major."""
        u, c = np.nonzero(self.valid)
        return u.astype(np.int64), self.items[u, c].astype(np.int64)


# --- kernels: the m best (score desc, code asc) of a stream, kept in a min-heap ---------

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
def _csr_top(indptr: NDArray[np.int64], indices: NDArray[np.int32], data: NDArray[np.float64],
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
def _latent_top(user: NDArray[np.float64], item_t: NDArray[np.float64],
                codes: NDArray[np.int64], item_norm: NDArray[np.float64], m: int,
                out: NDArray[np.int32]) -> None:  # pragma: no cover
    """Write each user's ``m`` items of largest dot product (>= -_FLOOR) into ``out``.

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
        acc = np.empty(_CHUNK, np.float64)
        n = 0
        for a in range(0, n_items, _CHUNK):
            if n == m and u_norm * item_norm[a] * (1.0 + 1e-9) < hv[0]:
                break
            w = min(_CHUNK, n_items - a)
            acc[:w] = 0.0
            for k in range(dim):  # dimension-outer: the inner loop vectorises
                x = user[u, k]
                for j in range(w):
                    acc[j] += x * item_t[k, a + j]
            for j in range(w):
                if acc[j] >= -_FLOOR:
                    n = _push(hv, hc, n, acc[j], codes[a + j])
        _drain(hv, hc, n, out[u], np.empty(m, np.float64))


# --- helpers --------------------------------------------------------------------------

def _blocks(cost: NDArray[np.float64], budget: float) -> list[tuple[int, int]]:
    """Split ``range(len(cost))`` into runs whose summed cost is at most ``budget``.

    An element costing more than the budget on its own gets a block of its own.
    """
    total = np.cumsum(cost, dtype=np.float64)
    out, a = [], 0
    while a < cost.size:
        base = total[a - 1] if a else 0.0
        b = max(a + 1, int(np.searchsorted(total, base + budget, side="right")))
        out.append((a, b))
        a = b
    return out


def _ranked(ids: NDArray[np.int64], score: NDArray[np.float64], group: NDArray[np.int64]
            ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Order by group, then score descending, then id; return the order and the rank in group."""
    order = np.lexsort((ids, -score, group))
    g = group[order]
    return order, np.arange(g.size) - np.searchsorted(g, g)


def _group_top(ids: NDArray[np.int64], score: NDArray[np.float64], group: NDArray[np.int64],
               n_groups: int, m: int) -> NDArray[np.int32]:
    """(n_groups, m): each group's ``m`` ids of highest score, best first, -1 padded."""
    order, rank = _ranked(ids, score, group)
    ok = rank < m
    out = np.full((n_groups, m), -1, np.int32)
    out[group[order][ok], rank[ok]] = ids[order][ok]
    return out


def _row_top(mat: sp.csr_matrix, m: int) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Each row's ``m`` largest positive entries: (columns, values), -1 / 0 padded."""
    out_i = np.full((mat.shape[0], m), -1, np.int32)
    out_v = np.zeros((mat.shape[0], m), np.float64)
    _csr_top(mat.indptr.astype(np.int64, copy=False), mat.indices.astype(np.int32, copy=False),
             mat.data.astype(np.float64, copy=False), m, out_i, out_v)
    return out_i, out_v


def _popularity(store: FeatureStore) -> NDArray[np.float64]:
    """Items' positives before the cutoff, exposures as a small tie-breaker."""
    col = 1 + store.layout.primary if store.layout.primary >= 0 else 0
    return store.item_totals[:, col] + 1e-3 * store.item_totals[:, 0]


# --- sources: each returns a function giving the ranked lists of users a..b-1 ---------

_Propose = Callable[[int, int], NDArray[np.int32]]


@dataclass(frozen=True, slots=True)
class _Source:
    propose: _Propose
    """Ranked lists of users ``a..b-1``: (b - a, m) item codes, -1 padded."""
    cost: NDArray[np.float64] | None = None
    """Working bytes of each user's lists, beyond the merge; None: negligible."""


def _popular(store: FeatureStore, m: int) -> _Source:
    n_i = len(store.item_ids)
    top = _group_top(np.arange(n_i), _popularity(store), np.zeros(n_i, np.int64), 1, m)
    return _Source(lambda a, b: np.repeat(top, b - a, axis=0))


def _user_categories(store: FeatureStore) -> NDArray[np.int32]:
    """(n_users, 3) each user's top categories by positives, then exposures; -1 padded."""
    ok = store.uc_keys >= 0  # negative keys: items without a category
    u, c = np.divmod(store.uc_keys[ok], store.n_categories)  # sorted by user, then category
    interest = store.uc_totals[ok, 1] + 1e-3 * store.uc_totals[ok, 0]
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=len(store.user_ids)))]
    by_user = sp.csr_matrix((interest, c, indptr), shape=(len(store.user_ids),
                                                          store.n_categories))
    return _row_top(by_user, _TOP_CATEGORIES)[0]


def _category(store: FeatureStore, m: int) -> _Source:
    cat = store.item_category
    known = np.flatnonzero(cat >= 0)
    per_cat = _group_top(known, _popularity(store)[known], cat[known], store.n_categories, m)
    user_cats = _user_categories(store)
    rank = np.arange(m)

    def propose(a: int, b: int) -> NDArray[np.int32]:
        # rank r takes the (r // 3)-th item of the user's (r % 3)-th category
        cats = user_cats[a:b, rank % _TOP_CATEGORIES]
        return np.where(cats >= 0, per_cat[np.maximum(cats, 0), rank // _TOP_CATEGORIES], -1)

    return _Source(propose)


def _history(store: FeatureStore) -> sp.csr_matrix:
    """(users × items) 1 where the user had a positive before the cutoff, at most _HISTORY."""
    n_u, n_i = len(store.user_ids), len(store.item_ids)
    hit = np.flatnonzero(store.ui_totals[:, 1] > 0)
    u, i = np.divmod(store.ui_keys[hit], n_i)
    order, rank = _ranked(i, store.ui_totals[hit, 1], u)
    keep = order[rank < _HISTORY]
    return sp.csr_matrix((np.ones(keep.size), (u[keep], i[keep])), shape=(n_u, n_i))


def _neighbours(history: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """(items × items) each item's ``n`` most co-engaged other items, with their counts."""
    by_item = history.tocsc()
    n_i = history.shape[1]
    # entries of an item's co-occurrence row are at most its users' positives, summed
    cost = (by_item.T @ np.diff(history.indptr).astype(np.float64)) * _PRODUCT_BYTES
    cols, vals = [], []
    for a, b in _blocks(cost, BUDGET_BYTES):
        block = (by_item[:, a:b].T @ history).tocsr()
        rows = np.repeat(np.arange(a, b), np.diff(block.indptr))
        block.data[block.indices == rows] = 0.0  # an item is not its own neighbour
        top_i, top_v = _row_top(block, n)
        cols.append(top_i)
        vals.append(top_v)
    top_i = np.vstack(cols) if cols else np.zeros((0, n), np.int32)
    top_v = np.vstack(vals) if vals else np.zeros((0, n))
    r, k = np.nonzero(top_i >= 0)
    return sp.csr_matrix((top_v[r, k], (r, top_i[r, k])), shape=(n_i, n_i))


def _cooccurrence(store: FeatureStore, m: int) -> _Source:
    history = _history(store)
    neighbours = _neighbours(history, _NEIGHBOURS * m)
    per_user = history @ np.diff(neighbours.indptr).astype(np.float64)

    def propose(a: int, b: int) -> NDArray[np.int32]:
        return _row_top((history[a:b] @ neighbours).tocsr(), m)[0]

    return _Source(propose, cost=per_user * _PRODUCT_BYTES)


def _latent(store: FeatureStore, m: int) -> _Source:
    item = store.latent_item.astype(np.float64)
    norm = np.sqrt(np.einsum("ij,ij->i", item, item))
    order = np.argsort(-norm, kind="stable")
    item_t = np.ascontiguousarray(item[order].T)
    user = np.ascontiguousarray(store.latent_user, dtype=np.float64)

    def propose(a: int, b: int) -> NDArray[np.int32]:
        out = np.full((b - a, m), -1, np.int32)
        if b > a and item_t.shape[1]:
            _latent_top(user[a:b], item_t, order.astype(np.int64), norm[order], m, out)
        return out

    return _Source(propose)


def _prepare(name: str, store: FeatureStore, m: int) -> _Source:
    if name == "popular":
        return _popular(store, m)
    if name == "category":
        return _category(store, m)
    if name == "cooccurrence":
        return _cooccurrence(store, m)
    if name == "latent":
        return _latent(store, m)
    raise ValueError(f"candidates: unknown source '{name}'; use some of {', '.join(SOURCES)}")


# --- merge ----------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def _merge(lists: NDArray[np.int32], src_idx: NDArray[np.int8], bounds: NDArray[np.int64],
           banned: NDArray[np.int64], never: NDArray[np.bool_], out_items: NDArray[np.int32],
           out_src: NDArray[np.int8]) -> None:  # pragma: no cover
    """Fill each user's slots from ``lists`` (sources × users × ranks), rank by rank.

    Within a rank the sources go in order; an item already taken, banned for the user
    (``banned[bounds[u]:bounds[u + 1]]``) or banned for all (``never``) is skipped.
    """
    n_src, n_u, m = lists.shape
    step = 4096
    for c in prange((n_u + step - 1) // step):
        mark = np.full(never.size, -1, np.int64)  # >= 2u: taken (2u) or banned (2u + 1) for u
        for u in range(c * step, min(n_u, (c + 1) * step)):
            for p in range(bounds[u], bounds[u + 1]):
                mark[banned[p]] = 2 * u + 1
            n = 0
            for r in range(m * n_src):
                item = lists[r % n_src, u, r // n_src]
                if n == m:
                    break
                if item < 0 or never[item] or mark[item] >= 2 * u:
                    continue
                mark[item] = 2 * u
                out_items[u, n] = item
                out_src[u, n] = src_idx[r % n_src]
                n += 1


def generate_candidates(
    store: FeatureStore,
    *,
    per_user: int,
    sources: tuple[str, ...] = SOURCES,
    exclude: NDArray[np.int64] | None = None,
    exclude_items: NDArray[np.int64] | None = None,
) -> CandidateSet:
    """Generate each user's candidates from the sources' ranked lists.

    The lists are merged per user, rank by rank (sources in the given order within a
    rank), dropping duplicates and excluded pairs. Users are handled in blocks of at most
    :data:`BUDGET_BYTES` of working memory; the result is the same for any block size
    and any number of threads.

    Parameters
    ----------
    store : FeatureStore
        What is known at the cutoff.
    per_user : int
        Candidates per user.
    sources : tuple of str
        Sources to use, in priority order for equal ranks.
    exclude : ndarray of int64, optional
        Pair keys ``user * n_items + item`` never to propose (e.g. already bought, or
        flagged bad for that user).
    exclude_items : ndarray of int64, optional
        Item codes never to propose to anyone (e.g. flagged "never recommend").
    """
    n_u, n_i = len(store.user_ids), len(store.item_ids)
    out_items = np.full((n_u, per_user), -1, np.int32)
    out_src = np.full((n_u, per_user), -1, np.int8)
    if not sources:
        return CandidateSet(items=out_items, source=out_src)
    prepared = []
    for name in sources:
        log.info("candidates: preparing source %s", name)
        prepared.append(_prepare(name, store, per_user))
    src_idx = np.array([SOURCES.index(s) for s in sources], dtype=np.int8)
    ban = np.unique(np.asarray(exclude if exclude is not None else [], np.int64))
    ban_items = ban % max(n_i, 1)
    never = np.zeros(n_i, np.bool_)
    if exclude_items is not None:
        codes = np.asarray(exclude_items, np.int64)
        never[codes[(codes >= 0) & (codes < n_i)]] = True
    cost = np.full(n_u, per_user * len(sources) * _MERGE_BYTES, np.float64)
    for s in prepared:
        if s.cost is not None:
            cost += s.cost
    blocks = _blocks(cost, BUDGET_BYTES)
    log.info("candidates: %d users in %d blocks", n_u, len(blocks))
    for a, b in blocks:
        lists = np.stack([s.propose(a, b) for s in prepared])
        bounds = np.searchsorted(ban, np.arange(a, b + 1, dtype=np.int64) * n_i)
        _merge(lists, src_idx, bounds.astype(np.int64), ban_items, never,
               out_items[a:b], out_src[a:b])
    return CandidateSet(items=out_items, source=out_src)


def candidate_recall(cands: CandidateSet, users: NDArray[np.int64], items: NDArray[np.int64],
                     n_items: int) -> dict[str, float]:
    """Share of target (user, item) pairs found among the candidates, overall and per source.

    Returns a mapping ``{"all": r, "<source>": r_source, ...}`` where a pair found by
    several sources is credited to the one that proposed it first.
    """
    if users.size == 0:
        return {"all": float("nan")}
    u, it = cands.pairs()
    keys = u * n_items + it
    src = cands.source[cands.valid]
    order = np.argsort(keys)
    keys, src = keys[order], src[order]
    target = np.unique(users * n_items + items)
    if keys.size == 0:
        return {"all": 0.0}
    pos = np.minimum(np.searchsorted(keys, target), keys.size - 1)
    found = keys[pos] == target
    out = {"all": float(found.mean())}
    for k, name in enumerate(SOURCES):
        if np.any(src == k):
            out[name] = float((found & (src[pos] == k)).mean())
    return out
