"""Per-user candidate items from several sources, merged without duplicates.

Every source works from what the :class:`~recsys.features.FeatureStore` knows at the
cutoff, and none builds a users × items matrix. An item's popularity is its positives
before the cutoff (exposures break ties).

- ``popular``: the catalogue's most popular items, ranked once;
- ``category``: the items a user is most likely to engage with if they pick a category
  by their interest and an item in it by popularity: ``pop(i) / pop(c) * p(c | u)``,
  where ``p(c | u)`` is the user's interest in category c (positives, plus a quarter
  per exposure) with the catalogue's category shares (by popularity) as a prior worth
  :data:`_INTEREST_PRIOR` positives. A user without history gets the catalogue by
  popularity; a user with one category gets its items, then the rest of the catalogue:
  no slot stays empty while the catalogue has items. Found exactly by merging the
  user's categories' popularity lists with the catalogue's (``O(m)`` per category the
  user touched). Excluded items are skipped inside the source, so its list is full;
- ``cooccurrence``: a sparse item × item count of the users' positive histories, cut to
  each item's ``2 * per_user`` most co-engaged items, summed over the user's positives (a
  sparse product per block of users). A user's history is their positives before the
  cutoff, at most the 500 with most positive events (the store keeps no per-pair time);
- ``latent``: the items with the largest dot product with the user's latent factor
  (those at or above ``-1e-6``), found exactly: items are scanned in decreasing norm and
  the scan stops once the norm bound of the next items falls below the user's m-th best
  score (Cauchy–Schwarz). A user without a factor (all zeros) gets none.

Each list is best first, ties to the lower item code. The merge fills a user's slots by
weighted turns (:func:`_shares`): the category source has share 1; co-occurrence and
latent, which need the user's own positives ``h``, get up to 0.1 each, growing as
``h / (h + 5)``; popularity, a hedge for cold users, up to 0.05, shrinking as
``1 / (1 + h)``. A source used alone fills every slot. Beside the category source the
other sources propose lists of twice their largest share of slots only. Users are handled
in blocks that fit a working-memory budget; the result does not depend on the block size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recsys import _candidate_kernels as kernels
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
    kernels.csr_top(mat.indptr.astype(np.int64, copy=False), mat.indices.astype(np.int32, copy=False),
             mat.data.astype(np.float64, copy=False), m, out_i, out_v)
    return out_i, out_v


def _popularity(store: FeatureStore) -> NDArray[np.float64]:
    """Items' positives before the cutoff, exposures as a small tie-breaker."""
    col = 1 + store.layout.primary if store.layout.primary >= 0 else 0
    return store.item_totals[:, col] + 1e-3 * store.item_totals[:, 0]


# --- sources: each returns a function giving the ranked lists of users a..b-1 ---------

@dataclass(frozen=True, slots=True)
class _Bans:
    """What is never proposed: items per user (keys' items, sorted by key), and for all."""

    items: NDArray[np.int64]
    """Banned item codes, sorted by user, then item."""
    bounds: NDArray[np.int64]
    """(n_users + 1,) user u's banned items are ``items[bounds[u]:bounds[u + 1]]``."""
    never: NDArray[np.bool_]
    """(n_items,) items never proposed to anyone."""


_Propose = Callable[[int, int, _Bans], NDArray[np.int32]]


@dataclass(frozen=True, slots=True)
class _Source:
    propose: _Propose
    """Ranked lists of users ``a..b-1`` (given the bans): (b - a, m) item codes, -1 padded."""
    cost: NDArray[np.float64] | None = None
    """Working bytes of each user's lists, beyond the merge; None: negligible."""


def _popular(store: FeatureStore, m: int) -> _Source:
    n_i = len(store.item_ids)
    top = _group_top(np.arange(n_i), _popularity(store), np.zeros(n_i, np.int64), 1, m)
    return _Source(lambda a, b, _: np.repeat(top, b - a, axis=0))


_INTEREST_EXPOSURE = 0.25
"""Weight of an exposure in a user's interest in a category (a positive weighs 1)."""
_INTEREST_PRIOR = 2.0
"""Weight of the catalogue's category shares in each user's category interest."""


def _category(store: FeatureStore, m: int) -> _Source:
    n_u, n_i, n_c = len(store.user_ids), len(store.item_ids), store.n_categories
    pop = _popularity(store)
    cat = store.item_category
    code = np.arange(n_i)
    glob = np.lexsort((code, -pop))
    known = glob[cat[glob] >= 0]
    by_cat = known[np.argsort(cat[known], kind="stable")]
    cat_ptr = np.r_[0, np.cumsum(np.bincount(cat[known], minlength=n_c))]
    cat_pop = np.bincount(cat[known], weights=pop[known], minlength=n_c)
    total = max(float(pop.sum()), 1e-300)
    ok = store.uc_keys >= 0
    u, c = np.divmod(store.uc_keys[ok], n_c)
    interest = store.uc_totals[ok, 1] + _INTEREST_EXPOSURE * store.uc_totals[ok, 0]
    norm = np.bincount(u, weights=interest, minlength=n_u) + _INTEREST_PRIOR
    weight = interest / norm[u] / np.maximum(cat_pop[c], 1e-300)
    keep = weight > 0
    u, c, weight = u[keep], c[keep], weight[keep]
    indptr = np.r_[0, np.cumsum(np.bincount(u, minlength=n_u))].astype(np.int64)
    base = np.asarray(_INTEREST_PRIOR / norm / total, np.float64)
    args = (cat_ptr.astype(np.int64), by_cat.astype(np.int64), pop[by_cat],
            glob.astype(np.int64), pop[glob], cat.astype(np.int64))

    def propose(a: int, b: int, bans: _Bans) -> NDArray[np.int32]:
        out = np.full((b - a, m), -1, np.int32)
        lo, hi = indptr[a], indptr[b]
        kernels.affinity_top(indptr[a:b + 1] - lo, c[lo:hi].astype(np.int64), weight[lo:hi],
                             base[a:b], *args, bans.bounds[a:b + 1], bans.items, bans.never,
                             out)
        return out

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


def _cooccurrence(store: FeatureStore, m: int, per_user: int) -> _Source:
    history = _history(store)
    neighbours = _neighbours(history, _NEIGHBOURS * per_user)
    entries = history @ np.diff(neighbours.indptr).astype(np.float64)

    def propose(a: int, b: int, _: _Bans) -> NDArray[np.int32]:
        return _row_top((history[a:b] @ neighbours).tocsr(), m)[0]

    return _Source(propose, cost=entries * _PRODUCT_BYTES)


def _latent(store: FeatureStore, m: int) -> _Source:
    item = store.latent_item.astype(np.float64)
    norm = np.sqrt(np.einsum("ij,ij->i", item, item))
    order = np.argsort(-norm, kind="stable")
    item_t = np.ascontiguousarray(item[order].T)
    user = np.ascontiguousarray(store.latent_user, dtype=np.float64)

    def propose(a: int, b: int, _: _Bans) -> NDArray[np.int32]:
        out = np.full((b - a, m), -1, np.int32)
        if b > a and item_t.shape[1]:
            kernels.latent_top(user[a:b], item_t, order.astype(np.int64), norm[order], m, out)
        return out

    return _Source(propose)


def _prepare(name: str, store: FeatureStore, m: int, per_user: int) -> _Source:
    """Prepare source ``name`` to propose lists of ``m`` items to users of ``per_user`` slots."""
    if name == "popular":
        return _popular(store, m)
    if name == "category":
        return _category(store, m)
    if name == "cooccurrence":
        return _cooccurrence(store, m, per_user)
    if name == "latent":
        return _latent(store, m)
    raise ValueError(f"candidates: unknown source '{name}'; use some of {', '.join(SOURCES)}")


# --- merge ----------------------------------------------------------------------------

_SHARE_CAP = {"popular": 0.05, "category": 1.0, "cooccurrence": 0.1, "latent": 0.1}
"""Most slots each source gets relative to the category source (see :func:`_shares`)."""
_HALF_EVIDENCE = 5.0
"""Positives at which co-occurrence and latent get half their most slots."""


def _list_length(name: str, sources: tuple[str, ...], per_user: int) -> int:
    """Length of a source's lists: a hedge beside the category source needs fewer.

    Beside the category source (share 1, whose list is always full), a source of cap
    ``c`` fills at most ``c / (1 + c)`` of the slots; its list holds twice that, for
    the items other sources took first.
    """
    if name == "category" or "category" not in sources or len(sources) == 1:
        return per_user
    cap = _SHARE_CAP[name]
    return min(per_user, int(np.ceil(2 * per_user * cap / (1 + cap))))


def _shares(store: FeatureStore, sources: tuple[str, ...]) -> NDArray[np.float64]:
    """Return (sources, users) the relative number of slots each source fills per user.

    The category source, which falls back to popularity for a user without history,
    has share 1. Co-occurrence and latent need the user's own positives: their share
    grows as ``h / (h + _HALF_EVIDENCE)`` with the user's positives ``h``, up to their
    cap. Popularity is a hedge for cold users: its share shrinks as ``1 / (1 + h)``.
    """
    col = 1 + store.layout.primary if store.layout.primary >= 0 else 0
    h = store.user_totals[:, col]
    grow, shrink = h / (h + _HALF_EVIDENCE), 1.0 / (1.0 + h)
    only = len(sources) == 1
    rows = [np.ones_like(h) if only or name == "category" else
            _SHARE_CAP[name] * (shrink if name == "popular" else grow) for name in sources]
    return np.stack(rows) if rows else np.zeros((0, h.size))


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
        prepared.append(_prepare(name, store, _list_length(name, sources, per_user), per_user))
    src_idx = np.array([SOURCES.index(s) for s in sources], dtype=np.int8)
    ban = np.unique(np.asarray(exclude if exclude is not None else [], np.int64))
    never = np.zeros(n_i, np.bool_)
    if exclude_items is not None:
        codes = np.asarray(exclude_items, np.int64)
        never[codes[(codes >= 0) & (codes < n_i)]] = True
    bans = _Bans(items=ban % max(n_i, 1), never=never,
                 bounds=np.searchsorted(ban, np.arange(n_u + 1, dtype=np.int64) * n_i))
    cost = np.full(n_u, per_user * len(sources) * _MERGE_BYTES, np.float64)
    for s in prepared:
        if s.cost is not None:
            cost += s.cost
    blocks = _blocks(cost, BUDGET_BYTES)
    log.info("candidates: %d users in %d blocks", n_u, len(blocks))
    share = _shares(store, sources)
    for a, b in blocks:
        lists = np.full((len(sources), b - a, per_user), -1, np.int32)
        for k, s in enumerate(prepared):
            got = s.propose(a, b, bans)
            lists[k, :, :got.shape[1]] = got
        kernels.merge(lists, share[:, a:b], src_idx, bans.bounds[a:b + 1], bans.items, never,
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
