"""Pure array metrics for blended rankings, top-k lists and weight sweeps.

Ranking metrics take rows grouped contiguously: group ``g`` is rows
``offsets[g]:offsets[g + 1]``. Within a group rows rank by score, descending; ties
keep row order (earlier row first) and NaN scores rank last, so results are
deterministic. Per-group work runs in the serial numba kernels of
`recsys._metrics_kernels`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recsys._metrics_kernels import (
    _diversity_kernel,
    _pareto_kernel,
    _ranking_kernel,
    _sort_keys,
    _topk_kernel,
    _weighted_auc_kernel,
)

__all__ = [
    "BinaryMetrics", "GroupRanking", "RankingMetrics", "RegressionMetrics", "TopKMetrics",
    "binary_metrics", "catalogue_coverage", "intra_list_diversity", "novelty", "pareto_mask",
    "ranking_by_group", "ranking_metrics", "ranking_metrics_many", "regression_metrics",
    "simplex_grid", "topk_hits", "weighted_auc",
]  # fmt: skip

_MAX_GRID_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class RankingMetrics:
    """Ranking quality for one relevance array, averaged over groups."""

    ndcg: float
    """Mean NDCG@k (gain = relevance) over groups with a row of relevance > 0; NaN if none."""
    recall: float
    """Mean recall@k over the same groups: relevant rows in the top k / relevant rows."""
    mrr: float
    """Mean reciprocal rank of the first relevant row, over the whole group (no cut-off)."""
    gauc: float
    """Per-group AUC (relevance > 0 is positive, tied scores count 1/2) weighted by group
    size, over groups holding both classes; NaN if none."""


@dataclass(frozen=True, slots=True)
class BinaryMetrics:
    """Quality of predicted probabilities for a 0/1 label."""

    auc: float
    """ROC AUC, tied predictions count 1/2; NaN unless both classes occur."""
    log_loss: float
    """Mean binary cross-entropy, ``p`` clipped to ``[1e-7, 1 - 1e-7]``."""
    positive_rate: float
    """Share of labels equal to 1."""
    n: int
    """Number of rows."""


@dataclass(frozen=True, slots=True)
class RegressionMetrics:
    """Errors of a real-valued prediction."""

    rmse: float
    """Root mean squared error."""
    mae: float
    """Mean absolute error."""
    n: int
    """Number of rows."""


@dataclass(frozen=True, slots=True)
class TopKMetrics:
    """Hits of top-k lists against held-out positives."""

    hit_rate: float
    """Share of users with at least one positive in their list."""
    recall: float
    """Mean of distinct positives in the list / distinct positives of the user."""
    n_users: int
    """Number of users with at least one positive; the others are excluded."""
    per_user: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)), repr=False,
                                          compare=False)
    """(n_users_total, 2): each user's hit (0/1) and recall, NaN for users without
    positives (the terms the rates average)."""


def _vector(x: ArrayLike, name: str, dtype: type[np.generic]) -> NDArray:
    """Return ``x`` as a contiguous 1-d array of ``dtype``, else raise ``ValueError``."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if dtype is np.int64 and arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _pair(a: ArrayLike, b: ArrayLike, names: tuple[str, str]) -> tuple[NDArray, NDArray]:
    """Two NaN-free float vectors of equal length."""
    x, y = _vector(a, names[0], np.float64), _vector(b, names[1], np.float64)
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} and {names[1]}: lengths differ, {x.size} != {y.size}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError(f"{names[0]} and {names[1]}: contain NaN; drop or impute those rows")
    return x, y


def _check_indptr(indptr: ArrayLike, n_rows: int, name: str) -> NDArray[np.int64]:
    """Group boundaries that start at 0, never decrease and end at ``n_rows``."""
    arr = _vector(indptr, name, np.int64)
    if arr.size == 0 or arr[0] != 0 or arr[-1] != n_rows or (np.diff(arr) < 0).any():
        raise ValueError(f"{name}: must start at 0, never decrease and end at the number of "
                         f"rows ({n_rows}); got {arr.size} entries {arr[:1]}..{arr[-1:]}")
    return arr


def _check_topk(topk: ArrayLike, n_items: int | None = None) -> NDArray[np.int64]:
    """Check a ``(n_users, k)`` integer matrix of item indices, -1 marking an empty slot."""
    arr = np.asarray(topk)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"topk: expected shape (n_users, k) with k >= 1, got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"topk: expected integer item indices, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.size and (arr.min() < -1 or (n_items is not None and arr.max() >= n_items)):
        raise ValueError(f"topk: item indices must lie in [-1, {n_items}), "
                         f"got {arr.min()}..{arr.max()}")
    return arr


def _ranking_inputs(offsets: NDArray[np.int64], scores: NDArray[np.floating],
                    relevances: NDArray[np.floating], k: int
                    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                               NDArray[np.float64], int]:
    """Check the kernel inputs: return offsets, sort keys, relevances, discounts, max group."""
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")
    s = _vector(scores, "scores", np.float64)
    rels = np.ascontiguousarray(relevances, dtype=np.float64)
    if rels.ndim != 2 or rels.shape[1] != s.shape[0]:
        raise ValueError(f"relevances: expected shape (n_tasks, {s.size}), got {rels.shape}")
    if np.isnan(rels).any():
        raise ValueError("relevances: must not be NaN; fill them")
    if (rels < 0).any():  # e.g. a loss-making sale: no gain, like an irrelevant item
        rels = np.maximum(rels, 0.0)
    offs = _check_indptr(offsets, s.shape[0], "offsets")
    max_size = int(np.diff(offs).max(initial=0))
    disc = 1.0 / np.log2(np.arange(2, min(k, max_size) + 2, dtype=np.float64))
    return offs, _sort_keys(s), rels, disc, max_size


def ranking_metrics_many(offsets: NDArray[np.int64], scores: NDArray[np.floating],
                         relevances: NDArray[np.floating], k: int) -> list[RankingMetrics]:
    """Evaluate one ranking against several relevance arrays, sorting each group once.

    Parameters
    ----------
    offsets : ndarray of int, shape (n_groups + 1,)
        Group ``g`` is rows ``offsets[g]:offsets[g + 1]``.
    scores : ndarray of float, shape (n_rows,)
        Higher ranks first; ties keep row order; NaN ranks last.
    relevances : ndarray of float, shape (n_tasks, n_rows)
        Non-negative graded relevance per task (e.g. revenue); > 0 counts as relevant.
    k : int
        Cut-off of NDCG@k and recall@k.

    Returns
    -------
    list of RankingMetrics
        One per row of ``relevances``.
    """
    offs, key, rels, disc, max_size = _ranking_inputs(offsets, scores, relevances, k)
    acc = _ranking_kernel(offs, key, rels, disc, max_size, False)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        means, gauc = acc[:, :3] / acc[:, 3:4], acc[:, 4] / acc[:, 5]
    return [RankingMetrics(ndcg=float(m[0]), recall=float(m[1]), mrr=float(m[2]), gauc=float(a))
            for m, a in zip(means, gauc, strict=True)]


@dataclass(frozen=True, slots=True)
class GroupRanking:
    """Each group's terms of `RankingMetrics` (for per-user views and bootstraps)."""

    ndcg: NDArray[np.float64]
    """(n_groups,) NDCG@k; NaN where the group has no row of relevance > 0."""
    recall: NDArray[np.float64]
    """(n_groups,) recall@k; NaN where ``ndcg`` is."""
    mrr: NDArray[np.float64]
    """(n_groups,) reciprocal rank of the first relevant row; NaN where ``ndcg`` is."""
    auc: NDArray[np.float64]
    """(n_groups,) AUC; NaN unless the group holds both classes."""
    size: NDArray[np.int64]
    """(n_groups,) rows per group: GAUC weighs each group's AUC by it."""


def ranking_by_group(offsets: NDArray[np.int64], scores: NDArray[np.floating],
                     relevances: NDArray[np.floating], k: int) -> list[GroupRanking]:
    """Per-group ranking metrics; their means are `ranking_metrics_many`'s results.

    Parameters
    ----------
    offsets, scores, relevances, k
        As in `ranking_metrics_many`.

    Returns
    -------
    list of GroupRanking
        One per row of ``relevances``.
    """
    offs, key, rels, disc, max_size = _ranking_inputs(offsets, scores, relevances, k)
    acc = _ranking_kernel(offs, key, rels, disc, max_size, True)
    size = np.diff(offs)
    out = []
    for a in acc:
        rel = a[:, 3] > 0
        both = a[:, 5] > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = np.where(both, a[:, 4] / np.where(both, a[:, 5], 1.0), np.nan)
        out.append(GroupRanking(ndcg=np.where(rel, a[:, 0], np.nan),
                                recall=np.where(rel, a[:, 1], np.nan),
                                mrr=np.where(rel, a[:, 2], np.nan), auc=auc, size=size))
    return out


def weighted_auc(y: ArrayLike, scores: ArrayLike, groups: ArrayLike,
                 weights: NDArray[np.floating]) -> NDArray[np.float64]:
    """Pooled ROC AUC with each row weighted by its group's weight, for many weightings.

    With bootstrap counts of users as ``weights`` this is the AUC of each resample of
    users, computed without copying rows (one sort serves every resample).

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels; > 0 counts as positive.
    scores : array-like of shape (n,)
        Higher is more positive; ties count 1/2; NaN ranks lowest.
    groups : array-like of int, shape (n,)
        Group code of each row, in ``[0, n_groups)``.
    weights : ndarray of float, shape (n_weightings, n_groups)
        Weight of each group in each weighting.

    Returns
    -------
    ndarray of float, shape (n_weightings,)
        NaN where a weighting leaves no positive or no negative weight.
    """
    yy = _vector(y, "y", np.float64)
    key = _sort_keys(_vector(scores, "scores", np.float64))
    grp = _vector(groups, "groups", np.int64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if not (yy.size == key.size == grp.size):
        raise ValueError(f"y, scores and groups: lengths differ, {yy.size}, {key.size}, "
                         f"{grp.size}")
    if w.ndim != 2 or (grp.size and (grp.min() < 0 or grp.max() >= w.shape[1])):
        raise ValueError(f"weights: expected shape (n_weightings, n_groups > max group code), "
                         f"got {w.shape}")
    order = np.argsort(key, kind="stable")
    sk = key[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if sk.size else sk
    return _weighted_auc_kernel(np.r_[starts, sk.size].astype(np.int64), yy[order] > 0,
                                grp[order], w)


def ranking_metrics(offsets: NDArray[np.int64], scores: NDArray[np.floating],
                    relevance: NDArray[np.floating], k: int) -> RankingMetrics:
    """Evaluate one ranking against one relevance array.

    Parameters
    ----------
    offsets, scores, k
        As in `ranking_metrics_many`.
    relevance : ndarray of float, shape (n_rows,)
        Non-negative graded relevance; > 0 counts as relevant.

    Returns
    -------
    RankingMetrics
    """
    rel = _vector(relevance, "relevance", np.float64)
    return ranking_metrics_many(offsets, scores, rel[np.newaxis, :], k)[0]


def binary_metrics(y: ArrayLike, p: ArrayLike) -> BinaryMetrics:
    """AUC, log loss and positive rate of probabilities ``p`` for labels ``y``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Labels, each 0 or 1.
    p : array-like of shape (n,)
        Predicted probabilities of label 1.

    Returns
    -------
    BinaryMetrics
        All rates NaN when ``n`` is 0.
    """
    yy, pp = _pair(y, p, ("y", "p"))
    if not np.isin(yy, (0.0, 1.0)).all():
        raise ValueError(f"y: labels must be 0 or 1, got values {np.unique(yy)[:5]}")
    if yy.size == 0:
        return BinaryMetrics(auc=np.nan, log_loss=np.nan, positive_rate=np.nan, n=0)
    pc = np.clip(pp, 1e-7, 1 - 1e-7)
    loss = -np.mean(yy * np.log(pc) + (1.0 - yy) * np.log1p(-pc))
    auc = ranking_metrics(np.array([0, yy.size]), pp, yy, 1).gauc  # one group: plain AUC
    return BinaryMetrics(auc=float(auc), log_loss=float(loss), positive_rate=float(yy.mean()),
                         n=int(yy.size))


def regression_metrics(y: ArrayLike, pred: ArrayLike) -> RegressionMetrics:
    """Root mean squared and mean absolute error of ``pred`` against ``y``.

    Parameters
    ----------
    y, pred : array-like of shape (n,)
        Targets and predictions.

    Returns
    -------
    RegressionMetrics
        NaN errors when ``n`` is 0.
    """
    yy, pr = _pair(y, pred, ("y", "pred"))
    err = pr - yy
    if err.size == 0:
        return RegressionMetrics(rmse=np.nan, mae=np.nan, n=0)
    return RegressionMetrics(rmse=float(np.sqrt(np.mean(err * err))),
                             mae=float(np.mean(np.abs(err))), n=int(err.size))


def topk_hits(topk: NDArray[np.integer], pos_indptr: NDArray[np.int64],
              pos_items: NDArray[np.integer]) -> TopKMetrics:
    """Hit rate and recall of top-k lists against each user's held-out positives.

    Parameters
    ----------
    topk : ndarray of int, shape (n_users, k)
        Recommended item indices, -1 for an empty slot.
    pos_indptr : ndarray of int, shape (n_users + 1,)
        User ``u``'s positives are ``pos_items[pos_indptr[u]:pos_indptr[u + 1]]``.
    pos_items : ndarray of int, shape (n_positives,)
        Positive item indices; repeats count once.

    Returns
    -------
    TopKMetrics
        Recall is hits / n_pos, not / min(k, n_pos); users without positives are left
        out, and the rates are NaN if none is left.
    """
    tk = _check_topk(topk)
    items = _vector(pos_items, "pos_items", np.int64)
    if items.size and items.min() < 0:
        raise ValueError(f"pos_items: indices must be >= 0, got {items.min()}")
    indptr = _check_indptr(pos_indptr, items.size, "pos_indptr")
    if indptr.size != tk.shape[0] + 1:
        raise ValueError(f"pos_indptr: expected n_users + 1 = {tk.shape[0] + 1} entries, "
                         f"got {indptr.size}")
    n_items = int(max(tk.max(initial=-1), items.max(initial=-1))) + 1
    per_user = np.empty((tk.shape[0], 2))
    n_users, n_hit, recall = _topk_kernel(tk, indptr, items, n_items, per_user)
    if n_users == 0:
        return TopKMetrics(hit_rate=np.nan, recall=np.nan, n_users=0, per_user=per_user)
    return TopKMetrics(hit_rate=n_hit / n_users, recall=recall / n_users, n_users=int(n_users),
                       per_user=per_user)


def catalogue_coverage(topk: NDArray[np.integer], n_items: int) -> float:
    """Share of the catalogue recommended to at least one user.

    Parameters
    ----------
    topk : ndarray of int, shape (n_users, k)
        Recommended item indices below ``n_items``, -1 for an empty slot.
    n_items : int
        Catalogue size.

    Returns
    -------
    float
        Distinct recommended items / ``n_items``.
    """
    n_items = operator.index(n_items)
    if n_items < 1:
        raise ValueError(f"n_items: must be >= 1, got {n_items}")
    tk = _check_topk(topk, n_items)
    return float(np.count_nonzero(np.bincount(tk[tk >= 0], minlength=n_items)) / n_items)


def intra_list_diversity(topk: NDArray[np.integer], item_category: NDArray[np.integer]) -> float:
    """Mean over lists of the share of item pairs whose categories differ.

    Parameters
    ----------
    topk : ndarray of int, shape (n_users, k)
        Recommended item indices, -1 for an empty slot.
    item_category : ndarray of int, shape (n_items,)
        Category code of each item.

    Returns
    -------
    float
        Lists with fewer than two items are left out; NaN if none is left.
    """
    cat = _vector(item_category, "item_category", np.int64)
    return float(_diversity_kernel(_check_topk(topk, cat.size), cat))


def novelty(topk: NDArray[np.integer], item_popularity: NDArray[np.floating], *,
            eps: float = 1e-12) -> float:
    """Mean self-information ``-log2(p_i)`` of the recommended items.

    Parameters
    ----------
    topk : ndarray of int, shape (n_users, k)
        Recommended item indices, -1 for an empty slot.
    item_popularity : ndarray of float, shape (n_items,)
        Training exposures per item, as counts or shares; ``p_i`` is the item's share.
    eps : float
        Lower clip of ``p_i``: a never-exposed item scores ``-log2(eps)`` bits.

    Returns
    -------
    float
        Mean over filled slots; NaN if all are empty.
    """
    pop = _vector(item_popularity, "item_popularity", np.float64)
    if not (np.isfinite(pop).all() and (pop >= 0).all() and pop.sum() > 0):
        raise ValueError("item_popularity: must be finite, non-negative and not all zero")
    tk = _check_topk(topk, pop.size)
    rec = tk[tk >= 0]
    if rec.size == 0:
        return np.nan
    return float(-np.mean(np.log2(np.clip(pop[rec] / pop.sum(), eps, 1.0))))


def simplex_grid(n_tasks: int, steps: int) -> NDArray[np.float64]:
    """All weight vectors with entries in ``{0, 1/(steps-1), ..., 1}`` that sum to 1.

    Parameters
    ----------
    n_tasks : int
        Weights per vector, >= 1.
    steps : int
        Grid values per weight, >= 2.

    Returns
    -------
    ndarray of float, shape (comb(steps + n_tasks - 2, n_tasks - 1), n_tasks)
        Lexicographically descending rows: ``(1, 0, ..., 0)`` first, ``(0, ..., 0, 1)`` last.
    """
    n_tasks, steps = operator.index(n_tasks), operator.index(steps)
    if n_tasks < 1 or steps < 2:
        raise ValueError(f"simplex_grid: need n_tasks >= 1 and steps >= 2, got {n_tasks}, {steps}")
    units, n_rows = steps - 1, math.comb(steps + n_tasks - 2, n_tasks - 1)
    if n_rows > _MAX_GRID_ROWS:
        raise ValueError(f"simplex_grid: {n_rows} rows exceed {_MAX_GRID_ROWS}; use fewer steps")
    # Stars and bars: choose the n_tasks - 1 bar slots among units + n_tasks - 1 slots.
    slots = units + n_tasks - 1
    bars = np.array(list(combinations(range(slots), n_tasks - 1)), np.int64).reshape(n_rows, -1)
    edges = np.hstack([np.full((n_rows, 1), -1), bars, np.full((n_rows, 1), slots)])
    return (np.diff(edges, axis=1) - 1)[::-1] / units


def pareto_mask(points: NDArray[np.floating], maximize: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Mark the rows no other row dominates.

    Parameters
    ----------
    points : ndarray of float, shape (n_points, n_objectives)
        Objective values.
    maximize : ndarray of bool, shape (n_objectives,)
        True where larger is better.

    Returns
    -------
    ndarray of bool, shape (n_points,)
        False where another row is at least as good in every objective and better in one.
        Duplicates of a front point are all kept; rows with NaN are never on the front.
    """
    pts, mx = np.asarray(points, dtype=np.float64), np.asarray(maximize, dtype=np.bool_)
    if pts.ndim != 2 or mx.shape != (pts.shape[1],):
        raise ValueError(f"pareto_mask: expected points (n_points, m) and maximize (m,), "
                         f"got {pts.shape} and {mx.shape}")
    x = np.ascontiguousarray(np.where(mx, pts, -pts))
    valid = np.flatnonzero(~np.isnan(x).any(axis=1))
    order = valid[np.lexsort((-x[valid]).T[::-1])] if x.shape[1] else valid
    return _pareto_kernel(x, order.astype(np.int64))
