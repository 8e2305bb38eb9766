"""Evaluate a blend on the test window: per-task ranking quality, top-K hits, coverage,
diversity, novelty; and sweep the weight simplex for the Pareto front."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.blend import BlendWeights
from recsys.metrics import (
    RankingMetrics,
    TopKMetrics,
    catalogue_coverage,
    intra_list_diversity,
    novelty,
    pareto_mask,
    ranking_metrics_many,
    simplex_grid,
    topk_hits,
)
from recsys.scoring import TestExposures
from recsys.tasks import TaskSpec

__all__ = ["EvalContext", "Evaluation", "Sweep", "evaluate_blend", "sweep_weights"]


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What evaluation needs besides the scores, built once per project."""

    tasks: tuple[TaskSpec, ...]
    test: TestExposures
    positives: tuple[tuple[NDArray[np.int64], NDArray[np.int64]], ...]
    """Per task, (indptr over user codes, item codes) of the user's test-window positives."""
    n_items: int
    item_category: NDArray[np.int64]
    item_popularity: NDArray[np.float64]
    model_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def build(cls, tasks: tuple[TaskSpec, ...], test: TestExposures, n_users: int, n_items: int,
              item_category: NDArray[np.int64], item_exposures: NDArray[np.float64],
              model_metrics: Mapping[str, Mapping[str, float]]) -> EvalContext:
        """Index each task's test positives by user."""
        pos = []
        for k in range(len(tasks)):
            hit = test.labels[k] > 0
            u, i = test.users[hit], test.items[hit]
            order = np.lexsort((i, u))
            indptr = np.searchsorted(u[order], np.arange(n_users + 1)).astype(np.int64)
            pos.append((indptr, i[order].astype(np.int64)))
        popularity = item_exposures / max(float(item_exposures.sum()), 1.0)
        return cls(tasks=tasks, test=test, positives=tuple(pos), n_items=n_items,
                   item_category=item_category, item_popularity=popularity,
                   model_metrics=model_metrics)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Quality of one blend on the test window."""

    weights: BlendWeights
    transform: str
    k: int
    ranking: Mapping[str, RankingMetrics]
    """Per task: each user's logged test exposures re-ranked by the blend, that task's
    label as relevance (for a minimised task, lower is better)."""
    topk: Mapping[str, TopKMetrics]
    """Per task: the top-K over candidates against the user's test positives."""
    coverage: float
    diversity: float
    novelty: float
    models: Mapping[str, Mapping[str, float]]
    """Per-task model metrics (AUC, log loss / RMSE, MAE), independent of the weights."""

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable form printed by ``recsys evaluate --format json``."""
        k = self.k
        return {
            "weights": self.weights.as_dict(), "transform": self.transform, "k": k,
            "tasks": {t: dict(m) for t, m in self.models.items()},
            "ranking": {t: {f"ndcg@{k}": r.ndcg, f"recall@{k}": r.recall, "mrr": r.mrr,
                            "gauc": r.gauc} for t, r in self.ranking.items()},
            "topk": {t: {f"hit_rate@{k}": h.hit_rate, f"recall@{k}": h.recall,
                         "users": h.n_users} for t, h in self.topk.items()},
            "coverage": self.coverage, "diversity": self.diversity, "novelty": self.novelty,
        }


def evaluate_blend(ctx: EvalContext, test_table: NDArray[np.float32], w_signed: NDArray,
                   weights: BlendWeights, transform: str, k: int,
                   top: NDArray[np.int32]) -> Evaluation:
    """Evaluate the blend whose signed weights are ``w_signed``.

    ``test_table`` holds the transformed task scores of the test exposures (n_tasks, n);
    ``top`` the top-K item codes of every user at these weights.
    """
    blended = np.tensordot(np.asarray(w_signed, dtype=np.float64),
                           test_table.astype(np.float64), axes=1)
    ranks = ranking_metrics_many(ctx.test.offsets, blended, ctx.test.labels, k)
    names = [t.name for t in ctx.tasks]
    hits = {t.name: topk_hits(top, *ctx.positives[j])
            for j, t in enumerate(ctx.tasks) if t.direction == "maximize"}
    return Evaluation(
        weights=weights, transform=transform, k=k, ranking=dict(zip(names, ranks, strict=True)),
        topk=hits, coverage=catalogue_coverage(top, ctx.n_items),
        diversity=intra_list_diversity(top, ctx.item_category),
        novelty=novelty(top, ctx.item_popularity), models=ctx.model_metrics,
    )


@dataclass(frozen=True, slots=True)
class Sweep:
    """Per-task NDCG@k over a grid of weights, with the Pareto-efficient points marked."""

    tasks: tuple[str, ...]
    maximize: tuple[bool, ...]
    weights: NDArray[np.float64]
    """(n_points, n_tasks) weights, each row summing to 1."""
    ndcg: NDArray[np.float64]
    """(n_points, n_tasks) NDCG@k of each task's label under each blend."""
    pareto: NDArray[np.bool_]
    k: int
    transform: str

    def to_frame(self) -> pd.DataFrame:
        """One row per grid point: ``w_<task>`` and ``ndcg_<task>`` columns, ``pareto``."""
        df = pd.DataFrame(self.weights, columns=[f"w_{t}" for t in self.tasks])
        for j, t in enumerate(self.tasks):
            df[f"ndcg_{t}"] = self.ndcg[:, j]
        df["pareto"] = self.pareto
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one record per point)."""
        return {"k": self.k, "transform": self.transform, "tasks": list(self.tasks),
                "maximize": list(self.maximize),
                "points": self.to_frame().to_dict(orient="records")}


def sweep_weights(ctx: EvalContext, test_table: NDArray[np.float32], steps: int, transform: str,
                  k: int) -> Sweep:
    """NDCG@k per task for every weight vector of the simplex grid."""
    n_t = len(ctx.tasks)
    grid = simplex_grid(n_t, steps)
    signs = np.array([t.sign for t in ctx.tasks])
    table = test_table.astype(np.float64)
    out = np.empty((grid.shape[0], n_t))
    for p in range(grid.shape[0]):
        blended = np.tensordot(grid[p] * signs, table, axes=1)
        ranks = ranking_metrics_many(ctx.test.offsets, blended, ctx.test.labels, k)
        out[p] = [r.ndcg for r in ranks]
    maximize = np.array([t.direction == "maximize" for t in ctx.tasks])
    return Sweep(tasks=tuple(t.name for t in ctx.tasks), maximize=tuple(bool(m) for m in maximize),
                 weights=grid, ndcg=out, pareto=pareto_mask(out, maximize), k=k,
                 transform=transform)
