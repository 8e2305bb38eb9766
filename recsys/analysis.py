"""Analyses over a trained project.

Metrics for a subset of users, per-segment evaluation, weight-sensitivity curves and a
constrained search over a weight sweep. They use ``recsys.metrics`` on the project's test
exposures, so the numbers are the ones :meth:`Project.evaluate` reports, restricted or
varied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.errors import BlendError
from recsys.metrics import ranking_by_group, ranking_metrics_many

if TYPE_CHECKING:
    from recsys.blend import BlendSpec
    from recsys.evaluate import Sweep
    from recsys.project import Project

__all__ = ["SubsetRanking", "TargetResult", "TaskRanking", "evaluate_subset", "ranking_ndcg",
           "segment_frame", "sensitivity_frame", "target_search", "user_attributes"]

SENSITIVITY_GRID = tuple(round(0.5 * i, 1) for i in range(11))
_MAX_LEVELS = 50


def user_attributes(project: Project) -> pd.DataFrame:
    """``user_id`` plus every categorical user attribute with at most 50 levels."""
    users = project.user_table()
    keep = ["user_id"]
    for col in users.columns:
        if col == "user_id":
            continue
        s = users[col]
        if (not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) \
                and s.nunique(dropna=True) <= _MAX_LEVELS:
            keep.append(col)
    out = users[keep].astype(str).reset_index(drop=True)
    return out.sort_values("user_id", kind="stable").reset_index(drop=True)


def ranking_ndcg(project: Project, spec: BlendSpec, *,
                 groups: NDArray[np.bool_] | None = None) -> tuple[list[float], list[float]]:
    """Per-task (NDCG@K, GAUC) of each user's logged test exposures re-ranked by the blend.

    ``groups`` selects test users (one flag per test group, i.e. per user); the
    metric is what :meth:`Project.evaluate` reports, restricted to those users.
    """
    k = spec.k
    test = project.eval_context.test
    blended = spec.blend(project.test_table(spec.transform))
    offsets, labels = test.offsets, test.labels
    if groups is not None:
        sizes = np.diff(offsets)[groups]
        starts = offsets[:-1][groups]
        rows = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(sizes.sum())
        blended, labels = blended[rows], labels[:, rows]
        offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    if offsets.size < 2:
        n = labels.shape[0]
        return [float("nan")] * n, [float("nan")] * n
    ranks = ranking_metrics_many(offsets, blended, labels, k)
    return [r.ndcg for r in ranks], [r.gauc for r in ranks]


def sensitivity_frame(project: Project, task: str, spec: BlendSpec) -> pd.DataFrame:
    """Long frame (weight, task, ndcg) as ``task``'s weight runs over 0..5."""
    rows = []
    for w in SENSITIVITY_GRID:
        ndcg, _ = ranking_ndcg(project, spec.replace({task: w}))
        rows += [{"weight": w, "task": t, "ndcg": v}
                 for t, v in zip(project.task_names(), ndcg, strict=True)]
    return pd.DataFrame(rows)


def _contributions_top(project: Project, spec: BlendSpec
                       ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """(n_tasks, n_users, k) signed weighted task scores of each user's top-K, and a mask."""
    table = project.transformed_table(spec.transform)
    cols, _ = spec.top_k(table, valid=project.candidates() >= 0)
    ok = cols >= 0
    picked = np.take_along_axis(table, np.maximum(cols, 0)[None], axis=2)
    return spec.shares(picked), ok


N_RESAMPLES = 400
"""Bootstrap resamples of a segment's users behind each interval."""


def _mean_interval(values: NDArray[np.float64], *, seed: int = 0) -> tuple[float, float]:
    """Return the 95 % percentile-bootstrap interval of the mean of per-user values.

    Both ends are NaN with fewer than 2 users.
    """
    if values.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(N_RESAMPLES, values.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def segment_frame(project: Project, column: str, spec: BlendSpec) -> pd.DataFrame:
    """Evaluate the blend per level of a user attribute ``column``.

    One row per level (and one for "all users"): users, test users, per-task NDCG@K and
    GAUC, and each task's mean weighted score in the top-K (``share <task>``).

    Each ``NDCG@K <task>`` has a 95 % bootstrap interval over the segment's users
    (``... low`` / ``... high``) and the number of users it averages (``... users``: those
    with a test positive of the task).
    """
    users = user_attributes(project)
    codes = project.user_ids().get_indexer(pd.Index(users["user_id"]))
    level = np.full(len(project.user_ids()), None, dtype=object)
    level[codes[codes >= 0]] = users[column].to_numpy()[codes >= 0]
    test = project.eval_context.test
    group_user = test.users[test.offsets[:-1]]
    k = spec.k
    contrib, ok = _contributions_top(project, spec)
    names = project.task_names()
    per_user = ranking_by_group(test.offsets, spec.blend(project.test_table(spec.transform)),
                                test.labels, k)
    out = []
    for value in ["all users", *sorted({v for v in level if v is not None})]:
        in_seg = np.ones(level.size, bool) if value == "all users" else level == value
        ndcg, gauc = ranking_ndcg(project, spec, groups=in_seg[group_user])
        row: dict[str, object] = {column: value, "users": int(in_seg.sum()),
                                  "test users": int(in_seg[group_user].sum())}
        row |= {f"NDCG@{k} {t}": v for t, v in zip(names, ndcg, strict=True)}
        for t, g in zip(names, per_user, strict=True):
            vals = g.ndcg[in_seg[group_user]]
            vals = vals[np.isfinite(vals)]
            row[f"NDCG@{k} {t} users"] = int(vals.size)
            row[f"NDCG@{k} {t} low"], row[f"NDCG@{k} {t} high"] = _mean_interval(vals)
        row |= {f"GAUC {t}": v for t, v in zip(names, gauc, strict=True)}
        mask = ok[in_seg]
        for j, t in enumerate(names):
            vals = contrib[j][in_seg][mask]
            row[f"share {t}"] = float(vals.mean()) if vals.size else float("nan")
        out.append(row)
    return pd.DataFrame(out)


@dataclass(frozen=True, slots=True)
class TaskRanking:
    """One task's ranking quality over a group of users.

    As :func:`segment_frame` reports it, with 95 % bootstrap intervals over the group's
    users.
    """

    task: str
    higher_is_better: bool
    """False for a minimised task: its positives should rank low, so a lower NDCG is better."""
    ndcg: float
    ndcg_low: float
    ndcg_high: float
    ndcg_users: int
    """Users behind ``ndcg``: those with a test positive of the task."""
    gauc: float
    gauc_low: float
    gauc_high: float
    gauc_users: int
    """Users behind ``gauc``: those with both classes among their test exposures."""


@dataclass(frozen=True, slots=True)
class SubsetRanking:
    """Ranking quality of the blend for a group of users (:func:`evaluate_subset`)."""

    k: int
    users: int
    """Users in the group."""
    test_users: int
    """Users of the group with test exposures."""
    tasks: tuple[TaskRanking, ...]


def _weighted_interval(values: NDArray[np.float64], weights: NDArray[np.float64], *,
                       seed: int = 0) -> tuple[float, float]:
    """Like :func:`_mean_interval` for a weighted mean (GAUC weighs users by exposures)."""
    if values.size < 2:
        return float("nan"), float("nan")
    pick = np.random.default_rng(seed).integers(0, values.size, size=(N_RESAMPLES, values.size))
    means = (values[pick] * weights[pick]).sum(axis=1) / weights[pick].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def evaluate_subset(project: Project, spec: BlendSpec,
                    user_ids: Sequence[str] | None = None) -> SubsetRanking:
    """Per-task NDCG@K and GAUC of ``user_ids`` (every user if None) at ``spec``.

    The values are :func:`segment_frame`'s for the same users (its ``all users`` row when
    ``user_ids`` is None); GAUC also gets a bootstrap interval. Unknown ids are ignored.
    """
    in_seg = np.ones(len(project.user_ids()), dtype=bool)
    if user_ids is not None:
        codes = project.user_ids().get_indexer(pd.Index([str(u) for u in user_ids]))
        in_seg[:] = False
        in_seg[codes[codes >= 0]] = True
    test = project.eval_context.test
    sel = in_seg[test.users[test.offsets[:-1]]]
    ndcg, gauc = ranking_ndcg(project, spec, groups=sel)
    per_user = ranking_by_group(test.offsets, spec.blend(project.test_table(spec.transform)),
                                test.labels, spec.k)
    tasks = []
    for j, (task, g) in enumerate(zip(project.tasks, per_user, strict=True)):
        vals = g.ndcg[sel]
        vals = vals[np.isfinite(vals)]
        auc, size = g.auc[sel], g.size[sel].astype(np.float64)
        both = np.isfinite(auc)
        tasks.append(TaskRanking(
            task.name, task.direction != "minimize", ndcg[j], *_mean_interval(vals),
            int(vals.size), gauc[j], *_weighted_interval(auc[both], size[both]),
            int(both.sum())))
    return SubsetRanking(k=spec.k, users=int(in_seg.sum()), test_users=int(sel.sum()),
                         tasks=tuple(tasks))


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What :func:`target_search` proposes."""

    point: pd.Series
    """The chosen sweep row (``w_*``, ``ndcg_*``, ``pareto``)."""
    feasible: bool
    """Whether every constraint holds; if not, ``point`` is the closest one."""
    shortfall: Mapping[str, float]
    """Per constrained task, how far the point misses its bound, as a share of the bound
    (0 where it holds)."""
    zero_weights: tuple[str, ...]
    """Tasks the proposal turns off (weight 0)."""

    def weights(self) -> dict[str, float]:
        """``{task: weight}`` of the point."""
        return {str(c)[2:]: float(v) for c, v in self.point.items() if str(c).startswith("w_")}


def _bounds(sweep: Sweep, keep: Mapping[str, float]) -> dict[str, tuple[float, bool]]:
    """Per constrained task: (the NDCG bound, higher is better)."""
    frame = sweep.to_frame()
    up = dict(zip(sweep.tasks, sweep.maximize, strict=True))
    unknown = sorted(set(keep) - set(sweep.tasks))
    if unknown:
        raise BlendError(f"target search: unknown task {', '.join(map(repr, unknown))}; tasks "
                         f"are {', '.join(sweep.tasks)}")
    out = {}
    for task, pct in keep.items():
        if not 0 < pct <= 100:
            raise BlendError(f"target search: keep '{task}' at a percentage in (0, 100], "
                             f"got {pct}")
        col = frame[f"ndcg_{task}"]
        # a maximised task keeps >= pct % of its best; a minimised one stays <= best / pct %
        bound = col.max() * pct / 100 if up[task] else col.min() / (pct / 100)
        out[task] = (float(bound), up[task])
    return out


def target_search(sweep: Sweep, maximise: str, keep: Mapping[str, float]) -> TargetResult:
    """Find the sweep point that best serves ``maximise`` within the bounds ``keep``.

    Every task in ``keep`` must stay within its percentage of its best NDCG over the
    sweep.

    Every task may be constrained, minimised ones included (for those, lower NDCG is
    better: a bound of 95 % keeps NDCG at most best / 0.95). When no point meets every
    bound, the result is the closest point (smallest worst relative shortfall, then the
    best goal) with ``feasible = False``. Ties go to Pareto-efficient points.
    """
    if maximise not in sweep.tasks:
        raise BlendError(f"target search: unknown task '{maximise}'; tasks are "
                         f"{', '.join(sweep.tasks)}")
    frame = sweep.to_frame()
    bounds = _bounds(sweep, keep)
    gaps = pd.DataFrame(index=frame.index)
    for task, (bound, up) in bounds.items():
        v = frame[f"ndcg_{task}"]
        miss = (bound - v) if up else (v - bound)
        gaps[task] = (miss.clip(lower=0) / max(abs(bound), 1e-12)).fillna(np.inf)
    worst = gaps.max(axis=1) if bounds else pd.Series(0.0, index=frame.index)
    up_goal = dict(zip(sweep.tasks, sweep.maximize, strict=True))[maximise]
    goal = frame[f"ndcg_{maximise}"] * (1 if up_goal else -1)
    feasible = bool((worst <= 1e-12).any())
    pool = frame[worst <= (1e-12 if feasible else worst.min() + 1e-12)]
    goal = goal[pool.index]
    best = pool[goal >= goal.max() - 1e-12].sort_values("pareto", ascending=False,
                                                        kind="stable")
    point = best.iloc[0]
    zero = tuple(t for t in sweep.tasks if point[f"w_{t}"] == 0)
    return TargetResult(point=point, feasible=feasible,
                        shortfall={t: float(gaps.loc[point.name, t]) for t in bounds},
                        zero_weights=zero)
