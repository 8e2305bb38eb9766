"""Global importance: mean |SHAP| per feature, per task and for the blend.

Computed on a reproducible sample of test exposures; also dependence and beeswarm data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from explain._batch import attribute_rows
from recsys.blend import BlendSpec
from recsys.errors import ExplanationError
from recsys.features import FeatureSpec
from recsys.project import Project, WeightsLike

__all__ = ["GlobalImportance", "beeswarm_frame", "dependence", "global_importance", "sample_rows"]

BLEND = "blend"
"""Name of the blended score where a task name is expected."""


@dataclass(frozen=True, slots=True)
class GlobalImportance:
    """Attributions of a sample of test exposures and their mean absolute values."""

    specs: tuple[FeatureSpec, ...]
    tasks: tuple[str, ...]
    rows: NDArray[np.int64]
    """Indices of the sampled test exposures (sorted)."""
    X: NDArray[np.float32]
    """(n, n_features) feature values of the sampled rows (categories as codes)."""
    values: NDArray[np.float64]
    """(n, n_features) blended attributions."""
    task_values: NDArray[np.float64]
    """(n_tasks, n, n_features) task-space attributions."""
    base: float
    """Blended base value."""
    spec: BlendSpec
    """The blend ``values`` and ``base`` are of."""
    rescaled: NDArray[np.float64]
    """(n_tasks, n, n_features) each task's attributions in its transformed space."""
    transformed_base: NDArray[np.float64]
    """(n_tasks,) g_t(s_t0) per task."""
    random_state: int = 0
    """Seed of the sample (samples of one seed are nested: see :func:`global_importance`)."""

    @property
    def weights(self) -> dict[str, float]:
        """``{task: weight}`` of :attr:`spec`."""
        return self.spec.weights.as_dict()

    @property
    def transform(self) -> str:
        """The score transform of :attr:`spec`."""
        return self.spec.transform

    def reweight(self, weights: Mapping[str, float]) -> GlobalImportance:
        """Return the same sample at other blend weights, recomputing no SHAP value.

        ``weights`` may be partial: tasks it omits keep their current weight. Validated
        like every blend request (:class:`recsys.errors.BlendError`).
        """
        spec = self.spec.replace(weights)
        values = spec.blend(self.rescaled)
        values.setflags(write=False)
        return replace(self, values=values, base=float(spec.blend(self.transformed_base)),
                       spec=spec)

    def feature_names(self) -> list[str]:
        """Feature names in column order."""
        return [s.name for s in self.specs]

    def _values(self, task: str | None) -> NDArray[np.float64]:
        if task is None or task == BLEND:
            return self.values
        if task not in self.tasks:
            raise ExplanationError(f"global importance: unknown task '{task}'; use one of "
                                   f"{', '.join(self.tasks)} or None for the blend")
        return self.task_values[self.tasks.index(task)]

    def mean_abs(self, task: str | None = None) -> NDArray[np.float64]:
        """(n_features,) mean |attribution| for ``task`` (None: the blend)."""
        v = self._values(task)
        return np.abs(v).mean(axis=0) if v.shape[0] else np.zeros(v.shape[1])

    def to_frame(self) -> pd.DataFrame:
        """Tabulate the importances, one row per feature, sorted by ``blend`` (largest first).

        Columns ``feature``, ``group``, ``description``, ``blend`` and one per task (mean
        |SHAP|; tasks in task-score space).
        """
        df = pd.DataFrame({
            "feature": self.feature_names(), "group": [str(s.group) for s in self.specs],
            "description": [s.description for s in self.specs], BLEND: self.mean_abs()})
        for t in self.tasks:
            df[t] = self.mean_abs(t)
        return df.sort_values(BLEND, ascending=False, kind="stable").reset_index(drop=True)

    def by_group(self, task: str | None = None) -> dict[str, float]:
        """Mean |sum of a group's attributions| per feature group."""
        v = self._values(task)
        groups = np.array([str(s.group) for s in self.specs])
        return {g: float(np.abs(v[:, groups == g].sum(axis=1)).mean()) if v.shape[0] else 0.0
                for g in dict.fromkeys(groups.tolist())}

    def feature_column(self, feature: str) -> tuple[int, FeatureSpec]:
        """Column and spec of ``feature``; :class:`ExplanationError` if unknown."""
        names = self.feature_names()
        if feature not in names:
            raise ExplanationError(f"global importance: unknown feature '{feature}'; features "
                                   f"are {', '.join(names[:6])}, ...")
        j = names.index(feature)
        return j, self.specs[j]

    def feature_values(self, feature: str) -> pd.Series:
        """Return the sampled rows' values of ``feature``.

        Numbers, or a ``pandas.Categorical`` of the labels (levels in the feature's order)
        if the feature is categorical; missing values are NaN.
        """
        j, spec = self.feature_column(feature)
        col = self.X[:, j].astype(np.float64)
        if not spec.is_categorical:
            return pd.Series(col, name=feature)
        levels = list(spec.categories or ())
        ok = np.isfinite(col) & (col >= 0) & (col < len(levels))
        codes = np.where(ok, np.nan_to_num(col), -1).astype(np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, levels), name=feature)


def sample_rows(total: int, n: int, random_state: int = 0) -> NDArray[np.int64]:
    """Sorted indices of ``n`` of ``total`` test exposures (all of them if fewer).

    The first ``n`` of one seeded permutation, so samples of one seed are nested: the
    1,000-row sample holds the 500-row one and the 2,000-row sample the 1,000-row one.
    """
    order = np.random.default_rng(random_state).permutation(int(total))
    return np.sort(order[: min(int(n), int(total))]).astype(np.int64)


def global_importance(project: Project, *, weights: WeightsLike | BlendSpec = None,
                      transform: str | None = None, n: int = 2000, random_state: int = 0,
                      reuse: GlobalImportance | None = None,
                      batch_size: int | None = None) -> GlobalImportance:
    """Mean |SHAP| per feature, per task and for the blend, on sampled test exposures.

    Parameters
    ----------
    project : Project
        A loaded project.
    weights, transform
        As in :func:`explain.explain_items`.
    n : int
        Number of test exposures to sample (all of them if fewer; see :func:`sample_rows`).
    random_state : int
        Seed of the sample; the same seed gives the same rows.
    reuse : GlobalImportance, optional
        A smaller sample of this project, transform and seed: its SHAP values are kept
        and only the rows it lacks are computed (the result is the same as without it).
    batch_size : int, optional
        Rows per TreeSHAP call (default: all at once). Batches under 256 rows run LightGBM
        on one thread (:meth:`recsys.project.Project.contributions`), which leaves the
        other cores free, e.g. for a sample computed in the background.

    Returns
    -------
    GlobalImportance
        Keeps every sampled row's attributions for beeswarm and dependence plots.
    """
    if int(n) < 1:
        raise ExplanationError(f"global importance: n must be >= 1, got {n}")
    if batch_size is not None and int(batch_size) < 1:
        raise ExplanationError(f"global importance: batch_size must be >= 1, got {batch_size}")
    X_test, margins = project.test_rows()
    total = X_test.shape[0]
    if total == 0:
        raise ExplanationError("global importance: the project has no test exposures to sample")
    rows = sample_rows(total, n, random_state)
    spec = project.spec(weights, transform=transform)
    kept = _reusable(reuse, rows, spec, random_state, project.feature_specs)
    new = rows if kept is None else rows[~np.isin(rows, kept.rows)]
    step = int(batch_size or max(len(new), 1))
    parts = [attribute_rows(project, X_test[new[i:i + step]], spec,
                            margins=margins[:, new[i:i + step]])
             for i in range(0, len(new), step)]
    pieces = [(p.X, p.task_values, p.rescaled) for p in parts]
    if kept is not None:
        pieces.insert(0, (kept.X, kept.task_values, kept.rescaled))
    order = np.argsort(np.concatenate([kept.rows, new]) if kept is not None else new)
    X = np.concatenate([x for x, _, _ in pieces])[order]
    task_values = np.concatenate([a for _, a, _ in pieces], axis=1)[:, order]
    rescaled = np.concatenate([r for _, _, r in pieces], axis=1)[:, order]
    t_base = kept.transformed_base if kept is not None and not parts \
        else parts[0].transformed_base[:, 0]
    values = spec.blend(rescaled)
    for arr in (X, task_values, rescaled, values):  # shared (st.cache_resource): read-only
        arr.setflags(write=False)
    return GlobalImportance(
        specs=project.feature_specs, tasks=spec.tasks, rows=rows, X=X, values=values,
        task_values=task_values, base=float(spec.blend(t_base)), spec=spec,
        rescaled=rescaled, transformed_base=t_base, random_state=int(random_state))


def _reusable(reuse: GlobalImportance | None, rows: NDArray[np.int64], spec: BlendSpec,
              random_state: int, project_specs: Sequence[FeatureSpec]) -> GlobalImportance | None:
    """``reuse`` if its rows are a subset of ``rows`` at the same transform and seed."""
    if reuse is None:
        return None
    if reuse.transform != spec.transform or reuse.random_state != int(random_state) \
            or reuse.tasks != spec.tasks or reuse.specs != tuple(project_specs) \
            or not np.isin(reuse.rows, rows).all():
        raise ExplanationError(
            f"global importance: cannot reuse a sample of {len(reuse.rows)} rows (transform "
            f"{reuse.transform}, seed {reuse.random_state}) for {len(rows)} rows (transform "
            f"{spec.transform}, seed {random_state}); pass a smaller sample of the same "
            "project, transform and seed, or none")
    return reuse


def dependence(gi: GlobalImportance, feature: str, task: str | None = None, *,
               colour_by: str | None = None) -> pd.DataFrame:
    """Pair a feature's value with its attribution on the sampled rows.

    Columns ``value`` and ``attribution`` (blended for ``task`` None, else in the task's
    score space), and ``colour``, the value of feature ``colour_by``, if given. Values of
    categorical features are a ``pandas.Categorical`` of their labels in the feature's
    level order; other values are numbers. Missing values are NaN.
    """
    j, _ = gi.feature_column(feature)
    frame = pd.DataFrame({"value": gi.feature_values(feature),
                          "attribution": gi._values(task)[:, j]})
    if colour_by is not None:
        frame["colour"] = gi.feature_values(colour_by)
    return frame


def beeswarm_frame(gi: GlobalImportance, task: str | None = None,
                   max_features: int = 12) -> pd.DataFrame:
    """Long data for a beeswarm: the ``max_features`` most important features.

    Columns ``feature`` (categorical, in order), ``attribution``, ``value`` (display
    value: the label for a categorical feature, else the number) and ``value_rank`` (the
    value's rank within the feature scaled to 0..1, for colour; NaN if missing). Features
    ordered by importance, most important first.
    """
    v = gi._values(task)
    order = np.argsort(-np.abs(v).mean(axis=0), kind="stable")[: max(int(max_features), 0)]
    n = v.shape[0]
    cols = gi.X[:, order].astype(np.float64)
    value = np.empty(cols.size, dtype=object)
    for i, j in enumerate(order):
        spec = gi.specs[j]
        value[i * n:(i + 1) * n] = spec.decode(cols[:, i]) if spec.is_categorical \
            else cols[:, i]
    names = [gi.specs[j].name for j in order]
    return pd.DataFrame({
        "feature": pd.Categorical.from_codes(np.repeat(np.arange(len(order)), n), names),
        "attribution": v[:, order].T.ravel(),
        "value": value,
        "value_rank": (pd.DataFrame(cols).rank(pct=True).to_numpy().T.ravel()
                       if len(order) else np.zeros(0))})
