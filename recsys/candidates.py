"""Per-user candidate items from several sources, merged without duplicates."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recsys.features import FeatureStore

__all__ = ["SEEN", "SOURCES", "CandidateSet", "candidate_recall", "exclusion_label",
           "generate_candidates"]

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("popular", "category", "cooccurrence", "latent")
SEEN = "seen"
"""``candidates.exclude`` value meaning every (user, item) pair exposed before the test window."""


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


def _top_per_row(score_rows: NDArray[np.float64], m: int) -> NDArray[np.int32]:
    """Return the indices of the ``m`` highest positive scores per row, best first, -1 padded."""
    n, width = score_rows.shape
    m_eff = min(m, width)
    part = np.argpartition(-score_rows, m_eff - 1, axis=1)[:, :m_eff]
    vals = np.take_along_axis(score_rows, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1).astype(np.int32)
    top[np.take_along_axis(vals, order, axis=1) <= 0] = -1
    if m_eff < m:
        top = np.hstack([top, np.full((n, m - m_eff), -1, np.int32)])
    return top


def _chunked_top(score_fn: Callable[[slice], NDArray[np.float64]], n_users: int, n_items: int,
                 m: int) -> NDArray[np.int32]:
    step = max(1, int(2e7 // max(n_items, 1)))
    parts = [_top_per_row(score_fn(slice(a, min(a + step, n_users))), m)
             for a in range(0, n_users, step)]
    return np.vstack(parts) if parts else np.zeros((0, m), np.int32)


def _popularity(store: FeatureStore) -> NDArray[np.float64]:
    """Items' positives before the cutoff, exposures as a small tie-breaker."""
    col = 1 + store.layout.primary if store.layout.primary >= 0 else 0
    return store.item_totals[:, col] + 1e-3 * store.item_totals[:, 0]


def _popular(store: FeatureStore, m: int) -> NDArray[np.int32]:
    top = _top_per_row((_popularity(store) + 1e-9)[None, :], m)
    return np.repeat(top, len(store.user_ids), axis=0)


def _category(store: FeatureStore, m: int) -> NDArray[np.int32]:
    n_u, ncat = len(store.user_ids), store.n_categories
    pop = _popularity(store) + 1e-9
    per_cat = np.full((ncat, m), -1, np.int32)
    for c in range(ncat):
        idx = np.flatnonzero(store.item_category == c)
        if idx.size:
            top = _top_per_row(pop[idx][None, :], m)[0]
            per_cat[c, top >= 0] = idx[top[top >= 0]]
    # the user's interest per category: positives, then exposures
    uc_u, uc_c = np.divmod(store.uc_keys, ncat)
    interest = np.zeros((n_u, ncat))
    interest[uc_u, uc_c] = store.uc_totals[:, 1] + 1e-3 * store.uc_totals[:, 0]
    n_top = min(3, ncat)
    top_cats = _top_per_row(interest, n_top)
    lists = np.where(top_cats[:, :, None] >= 0, per_cat[np.maximum(top_cats, 0)], -1)
    return lists.transpose(0, 2, 1).reshape(n_u, -1)[:, :m]


def _positives_matrix(store: FeatureStore) -> sp.csr_matrix:
    engaged = store.ui_totals[:, 1] > 0
    ui_u, ui_i = np.divmod(store.ui_keys[engaged], len(store.item_ids))
    return sp.csr_matrix((np.ones(len(ui_u)), (ui_u, ui_i)),
                         shape=(len(store.user_ids), len(store.item_ids)))


def _cooccurrence(store: FeatureStore, m: int, seen: sp.csr_matrix) -> NDArray[np.int32]:
    co = (seen.T @ seen).toarray() if len(store.item_ids) <= 20_000 else (seen.T @ seen).tocsr()
    if isinstance(co, np.ndarray):
        np.fill_diagonal(co, 0.0)
    else:
        co.setdiag(0)
        co.eliminate_zeros()

    def scores(rows: slice) -> NDArray[np.float64]:
        out = seen[rows] @ co
        return np.asarray(out.toarray() if sp.issparse(out) else out)

    return _chunked_top(scores, len(store.user_ids),
                        len(store.item_ids), m)


def _latent(store: FeatureStore, m: int) -> NDArray[np.int32]:
    lu, li = store.latent_user.astype(np.float64), store.latent_item.astype(np.float64)
    return _chunked_top(lambda rows: lu[rows] @ li.T + 1e-6, len(store.user_ids),
                        len(store.item_ids), m)


def generate_candidates(
    store: FeatureStore,
    *,
    per_user: int,
    sources: tuple[str, ...] = SOURCES,
    exclude: NDArray[np.int64] | None = None,
    exclude_items: NDArray[np.int64] | None = None,
) -> CandidateSet:
    """Generate each user's candidates from the sources' ranked lists.

    The lists are merged per user, best ranks first, dropping duplicates and excluded
    pairs.

    Parameters
    ----------
    store : FeatureStore
        What is known at the cutoff.
    per_user : int
        Candidates per user.
    sources : tuple of str
        Sources to use, in priority order for equal ranks.
    exclude : ndarray of int64, optional
        Sorted pair keys ``user * n_items + item`` never to propose (e.g. already bought,
        or flagged bad for that user).
    exclude_items : ndarray of int64, optional
        Item codes never to propose to anyone (e.g. flagged "never recommend").
    """
    n_u, n_i = len(store.user_ids), len(store.item_ids)
    engaged = _positives_matrix(store)
    lists = []
    for name in sources:
        log.info("candidates: source %s", name)
        if name == "popular":
            lists.append(_popular(store, per_user))
        elif name == "category":
            lists.append(_category(store, per_user))
        elif name == "cooccurrence":
            lists.append(_cooccurrence(store, per_user, engaged))
        elif name == "latent":
            lists.append(_latent(store, per_user))
    m = per_user
    stacked = np.stack([np.pad(x, ((0, 0), (0, m - x.shape[1])), constant_values=-1)
                        for x in lists], axis=2)  # (U, m, S): rank-major interleaving
    src_idx = np.array([SOURCES.index(s) for s in sources], dtype=np.int8)
    flat_items = stacked.reshape(n_u, -1)
    flat_src = np.broadcast_to(src_idx, stacked.shape).reshape(n_u, -1)
    users = np.repeat(np.arange(n_u, dtype=np.int64), flat_items.shape[1])
    items = flat_items.ravel().astype(np.int64)
    srcs = flat_src.ravel()
    keep = items >= 0
    keys = users * n_i + items
    if exclude is not None and exclude.size:
        keep &= ~np.isin(keys, exclude, assume_unique=False)
    if exclude_items is not None and exclude_items.size:
        keep &= ~np.isin(items, exclude_items)
    pos = np.flatnonzero(keep)
    _, first = np.unique(keys[pos], return_index=True)
    pos = np.sort(pos[first])
    u_sel = users[pos]
    start = np.searchsorted(u_sel, np.arange(n_u))
    slot = np.arange(pos.size) - start[u_sel]
    ok = slot < per_user
    out_items = np.full((n_u, per_user), -1, np.int32)
    out_src = np.full((n_u, per_user), -1, np.int8)
    out_items[u_sel[ok], slot[ok]] = items[pos[ok]]
    out_src[u_sel[ok], slot[ok]] = srcs[pos[ok]]
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
