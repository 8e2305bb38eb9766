"""Evaluate a blend on the test window, and sweep the weight simplex for the Pareto front.

The evaluation covers per-task ranking quality, top-K hits, coverage, diversity and
novelty; each per-user metric comes with a user-bootstrap confidence interval and, where
one applies, the best trivial baseline (`recsys.baselines`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.baselines import (
    MetricReport,
    UserBootstrap,
    item_baseline,
    ranking_reports,
    user_mean_report,
)
from recsys.blend import BlendSpec, BlendWeights
from recsys.health import ModelHealth
from recsys.metrics import (
    RankingMetrics,
    TopKMetrics,
    catalogue_coverage,
    intra_list_diversity,
    novelty,
    pareto_mask,
    ranking_by_group,
    ranking_metrics_many,
    simplex_grid,
    topk_hits,
)
from recsys.scoring import TestExposures
from recsys.tasks import TaskSpec

if TYPE_CHECKING:
    from recsys.features import FeatureStore

__all__ = ["EvalContext", "Evaluation", "Sweep", "evaluate_blend", "sweep_weights"]

_NO_CATEGORY = "the dataset has no item category; set data.item_category in config.toml"
_REASONS = {
    "auc": "the test labels hold one class only",
    "auc_given_parent": "the parent's test positives hold one class only",
    "log_loss": "no test rows", "rmse": "no test rows", "mae": "no test rows",
    "ndcg": "no test exposure has label > 0", "recall": "no test exposure has label > 0",
    "mrr": "no test exposure has label > 0",
    "gauc": "no user has both relevant (label > 0) and other test exposures",
    "hit_rate": "no user has a test positive",
    "diversity": "no top-K list holds two items", "novelty": "every top-K list is empty",
}
"""Why a metric is not available (null in JSON), by metric name without ``@K``."""


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
    item_baseline: NDArray[np.float64] | None = None
    """(n_tasks, n_test) the item's historical label rate or mean of each test exposure
    (`recsys.baselines.item_baseline`); None: no ranking baselines."""
    health: ModelHealth | None = None
    """Model health recorded at training (None for projects trained without it)."""
    has_category: bool = True
    """False when the dataset has no item category (diversity is then not available)."""
    bootstrap: UserBootstrap | None = None
    """Resamples of the test users behind every interval (drawn once, seeded)."""

    @classmethod
    def build(cls, tasks: tuple[TaskSpec, ...], test: TestExposures, store: FeatureStore,
              metrics: Mapping[str, Any], *, bootstrap: bool = True) -> EvalContext:
        """Build the context every evaluation of a project shares.

        Index each task's test positives by user, gather the item baselines and read the
        stored model metrics and health (``manifest["metrics"]``). Without ``bootstrap``
        the user resamples are not drawn (evaluations without intervals never need them;
        see :meth:`with_bootstrap`).
        """
        n_users, n_items = len(store.user_ids), len(store.item_ids)
        pos = []
        for k in range(len(tasks)):
            hit = test.labels[k] > 0
            u, i = test.users[hit], test.items[hit]
            order = np.lexsort((i, u))
            indptr = np.searchsorted(u[order], np.arange(n_users + 1)).astype(np.int64)
            pos.append((indptr, i[order].astype(np.int64)))
        exposures = store.item_totals[:, 0]
        labels = list(store.layout.labels)
        base = np.stack([item_baseline(store.item_totals, labels.index(t.label),
                                       store.layout.smoothing)[0][test.items] for t in tasks])
        health = metrics.get("health")
        return cls(tasks=tasks, test=test, positives=tuple(pos), n_items=n_items,
                   item_category=store.item_category,
                   item_popularity=exposures / max(float(exposures.sum()), 1.0),
                   model_metrics=metrics.get("tasks", {}), item_baseline=base,
                   health=ModelHealth.from_dict(health) if health is not None else None,
                   has_category=store.layout.category is not None,
                   bootstrap=UserBootstrap.draw(test.offsets) if bootstrap else None)

    def with_bootstrap(self) -> EvalContext:
        """Return the context with its user resamples drawn (itself if they already are)."""
        if self.bootstrap is not None:
            return self
        return replace(self, bootstrap=UserBootstrap.draw(self.test.offsets))


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _block(values: Mapping[str, float], reports: Sequence[MetricReport]) -> dict[str, Any]:
    """Build one JSON block of metrics.

    Metric values with NaN as null plus a ``<metric>_reason``, then ``ci`` and
    ``baseline`` objects for the metrics that have a report.
    """
    by = {r.metric: r for r in reports}
    out: dict[str, Any] = {}
    ci: dict[str, Any] = {}
    base: dict[str, Any] = {}
    for name, v in values.items():
        r = by.get(name)
        if isinstance(v, float) and not math.isfinite(v):
            out[name] = None
            out[f"{name}_reason"] = (r.reason if r is not None and r.reason
                                     else _REASONS.get(name.split("@")[0], "not defined"))
        else:
            out[name] = v
        if r is None:
            continue
        ci[name] = [_num(r.ci_low), _num(r.ci_high)]
        if r.baseline_name is not None:
            base[name] = {"name": r.baseline_name, "value": _num(r.baseline_value),
                          "lift": _num(r.lift),
                          "lift_ci": [_num(r.lift_ci_low), _num(r.lift_ci_high)]}
    return out | {"ci": ci, "baseline": base}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Quality of one blend on the test window."""

    weights: BlendWeights
    transform: str
    k: int
    ranking: Mapping[str, RankingMetrics]
    """Per task: each user's logged test exposures re-ranked by the blend, that task's
    label as relevance (for a minimised task, lower is better). MRR is NaN for tasks that
    are not binary."""
    topk: Mapping[str, TopKMetrics]
    """Per task: the top-K over candidates against the user's test positives."""
    coverage: float
    diversity: float
    """NaN when the dataset has no item category."""
    novelty: float
    models: Mapping[str, Mapping[str, float]]
    """Per-task model metrics (AUC, log loss / RMSE, MAE), independent of the weights."""
    ranking_reports: Mapping[str, tuple[MetricReport, ...]] = field(default_factory=dict)
    """Per task, `ranking`'s metrics with intervals and their item / random baselines
    (for a minimised task lower is better, and its item baseline ranks the lowest
    historical rate first)."""
    topk_reports: Mapping[str, tuple[MetricReport, ...]] = field(default_factory=dict)
    """Per task, `topk`'s rates with intervals (no baseline)."""
    health: ModelHealth | None = None
    """The model metrics' intervals and baselines, recorded at training."""
    diversity_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the machine-readable form printed by ``recsys evaluate --format json``.

        Strict JSON: a metric that is not available is ``null`` with a sibling
        ``<metric>_reason``; each task's block holds ``ci`` (``[low, high]`` per metric)
        and ``baseline`` (``{name, value, lift, lift_ci}`` per metric that has one).
        """
        k = self.k
        health = self.health.reports if self.health is not None else ()
        tasks = {t: _block(dict(m), [r for r in health if r.task == t])
                 for t, m in self.models.items()}
        ranking = {t: _block({f"ndcg@{k}": r.ndcg, f"recall@{k}": r.recall, "mrr": r.mrr,
                              "gauc": r.gauc}, self.ranking_reports.get(t, ()))
                   for t, r in self.ranking.items()}
        topk = {t: _block({f"hit_rate@{k}": h.hit_rate, f"recall@{k}": h.recall},
                          self.topk_reports.get(t, ())) | {"users": h.n_users}
                for t, h in self.topk.items()}
        out: dict[str, Any] = {"weights": self.weights.as_dict(), "transform": self.transform,
                               "k": k, "tasks": tasks, "ranking": ranking, "topk": topk}
        catalogue = {"coverage": self.coverage, "diversity": self.diversity,
                     "novelty": self.novelty}
        out |= {name: v for name, v in _block(catalogue, ()).items() if name not in
                ("ci", "baseline")}
        if self.diversity_reason is not None:
            out["diversity"], out["diversity_reason"] = None, self.diversity_reason
        return out


def _topk_reports(ctx: EvalContext, hits: Mapping[str, TopKMetrics], boot: UserBootstrap,
                  k: int) -> dict[str, tuple[MetricReport, ...]]:
    users = ctx.test.users[ctx.test.offsets[:-1]]  # user code of each test group
    names = [t.name for t in ctx.tasks]
    out = {}
    for t, h in hits.items():
        n_pos = int((ctx.test.labels[names.index(t)] > 0).sum())
        per_user = h.per_user[users] if h.per_user.shape[0] else np.full((users.size, 2), np.nan)
        out[t] = tuple(user_mean_report(t, f"{m}@{k}", per_user[:, c], boot, n_pos,
                                        _REASONS["hit_rate"])
                       for c, m in enumerate(("hit_rate", "recall")))
    return out


def _ranking_reports(ctx: EvalContext, baseline: NDArray[np.float64],
                     blended: NDArray[np.float64], boot: UserBootstrap,
                     k: int) -> dict[str, tuple[MetricReport, ...]]:
    """Rank each task's metrics beside the item (``baseline``) and random orders."""
    test = ctx.test
    groups = ranking_by_group(test.offsets, blended, test.labels, k)
    reports = {}
    for j, t in enumerate(ctx.tasks):  # a minimised task's baseline: lowest rate first
        item = ranking_by_group(test.offsets, t.sign * baseline[j],
                                test.labels[j:j + 1], k)[0]
        reports[t.name] = tuple(ranking_reports(t, groups[j], item, test.labels[j], boot, k,
                                                higher_is_better=t.sign > 0))
    return reports


def evaluate_blend(ctx: EvalContext, test_table: NDArray[np.float32], spec: BlendSpec,
                   top: NDArray[np.int32], *, intervals: bool = True) -> Evaluation:
    """Evaluate the blend ``spec``.

    ``test_table`` holds the transformed task scores of the test exposures (n_tasks, n)
    under ``spec.transform``; ``top`` the top-K item codes of every user at ``spec``.
    Without ``intervals`` the bootstrap reports (intervals, baselines, lifts) are left
    empty: the metrics alone, several times cheaper (what a dashboard slider needs).
    """
    test = ctx.test
    k = spec.k
    blended = spec.blend(test_table)
    ranks = ranking_metrics_many(test.offsets, blended, test.labels, k)
    ranks = [r if t.kind == "binary" else replace(r, mrr=math.nan)
             for r, t in zip(ranks, ctx.tasks, strict=True)]
    names = [t.name for t in ctx.tasks]
    hits = {t.name: topk_hits(top, *ctx.positives[j])
            for j, t in enumerate(ctx.tasks) if t.direction == "maximize"}
    reports: dict[str, tuple[MetricReport, ...]] = {}
    topk_reports: dict[str, tuple[MetricReport, ...]] = {}
    if intervals:
        boot = ctx.bootstrap if ctx.bootstrap is not None else UserBootstrap.draw(test.offsets)
        if ctx.item_baseline is not None:
            reports = _ranking_reports(ctx, ctx.item_baseline, blended, boot, k)
        topk_reports = _topk_reports(ctx, hits, boot, k)
    diversity = intra_list_diversity(top, ctx.item_category) if ctx.has_category else math.nan
    return Evaluation(
        weights=spec.weights, transform=spec.transform, k=k, ranking=dict(zip(names, ranks, strict=True)),
        topk=hits, coverage=catalogue_coverage(top, ctx.n_items), diversity=diversity,
        novelty=novelty(top, ctx.item_popularity), models=ctx.model_metrics,
        ranking_reports=reports, topk_reports=topk_reports,
        health=ctx.health, diversity_reason=None if ctx.has_category else _NO_CATEGORY,
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

    def to_dict(self, *, pareto_only: bool = False) -> dict[str, Any]:
        """Return the JSON-ready form, one record per point.

        Only the Pareto-efficient points with ``pareto_only``. NDCG that is not defined
        is ``null``.
        """
        frame = self.to_frame()
        if pareto_only:
            frame = frame[frame["pareto"]]
        points = [{c: (None if isinstance(v, float) and not math.isfinite(v) else v)
                   for c, v in rec.items()} for rec in frame.to_dict(orient="records")]
        return {"k": self.k, "transform": self.transform, "tasks": list(self.tasks),
                "maximize": list(self.maximize), "n_points": len(self.weights),
                "n_pareto": int(self.pareto.sum()), "points": points}


def sweep_weights(ctx: EvalContext, test_table: NDArray[np.float32], spec: BlendSpec, *,
                  steps: int) -> Sweep:
    """Compute NDCG@K per task for every weight vector of the simplex grid.

    ``spec`` gives the tasks, transform and K; its weights are replaced by each grid
    point.
    """
    n_t = len(ctx.tasks)
    k = spec.k
    grid = simplex_grid(n_t, steps)
    out = np.empty((grid.shape[0], n_t))
    for p in range(grid.shape[0]):
        point = spec.replace(dict(zip(spec.tasks, grid[p].tolist(), strict=True)))
        ranks = ranking_metrics_many(ctx.test.offsets, point.blend(test_table), ctx.test.labels,
                                     k)
        out[p] = [r.ndcg for r in ranks]
    maximize = np.array([t.direction == "maximize" for t in ctx.tasks])
    return Sweep(tasks=tuple(t.name for t in ctx.tasks), maximize=tuple(bool(m) for m in maximize),
                 weights=grid, ndcg=out, pareto=pareto_mask(out, maximize), k=k,
                 transform=spec.transform)
