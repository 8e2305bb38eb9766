"""Analyses over a trained project: metrics for a subset of users, per-segment
evaluation, weight-sensitivity curves and a constrained search over a weight sweep.

All re-use ``recsys.metrics.ranking_metrics_many`` over the project's test exposures, so
the numbers are the ones :meth:`Project.evaluate` reports, restricted or varied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.metrics import ranking_metrics_many

if TYPE_CHECKING:
    from recsys.blend import BlendSpec
    from recsys.evaluate import Sweep
    from recsys.project import Project

__all__ = ["ranking_ndcg", "segment_frame", "sensitivity_frame", "target_search",
           "user_attributes"]

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


def segment_frame(project: Project, column: str, spec: BlendSpec) -> pd.DataFrame:
    """One row per level of a user attribute (and "all users"): users, test users,
    per-task NDCG@K and GAUC, and each task's mean weighted score in the top-K."""
    users = user_attributes(project)
    codes = project.user_ids().get_indexer(pd.Index(users["user_id"]))
    level = np.full(len(project.user_ids()), None, dtype=object)
    level[codes[codes >= 0]] = users[column].to_numpy()[codes >= 0]
    test = project.eval_context.test
    group_user = test.users[test.offsets[:-1]]
    k = spec.k
    contrib, ok = _contributions_top(project, spec)
    names = project.task_names()
    out = []
    for value in ["all users", *sorted({v for v in level if v is not None})]:
        in_seg = np.ones(level.size, bool) if value == "all users" else level == value
        ndcg, gauc = ranking_ndcg(project, spec, groups=in_seg[group_user])
        row: dict[str, object] = {column: value, "users": int(in_seg.sum()),
                                  "test users": int(in_seg[group_user].sum())}
        row |= {f"NDCG@{k} {t}": v for t, v in zip(names, ndcg, strict=True)}
        row |= {f"GAUC {t}": v for t, v in zip(names, gauc, strict=True)}
        mask = ok[in_seg]
        for j, t in enumerate(names):
            vals = contrib[j][in_seg][mask]
            row[f"share {t}"] = float(vals.mean()) if vals.size else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def target_search(sweep: Sweep, maximise: str, keep: str, percent: float) -> pd.Series | None:
    """The sweep point that best serves ``maximise`` while ``keep`` stays within
    ``percent`` % of its best NDCG (for a minimised task: lowest NDCG is best).

    Returns the sweep row (``w_*``, ``ndcg_*``, ``pareto``) or ``None`` if none qualifies.
    """
    df = sweep.to_frame()
    up = dict(zip(sweep.tasks, sweep.maximize, strict=True))
    kv = df[f"ndcg_{keep}"]
    ratio = kv / kv.max() if up[keep] else kv.min() / kv.where(kv > 0)
    ok = df[ratio >= percent / 100 - 1e-12]
    if ok.empty:
        return None
    goal = ok[f"ndcg_{maximise}"] * (1 if up[maximise] else -1)
    best = ok[goal >= goal.max() - 1e-12]
    best = best.sort_values(["pareto", f"ndcg_{keep}"], ascending=[False, not up[keep]])
    return best.iloc[0]
