"""Global importance: mean |SHAP| per feature, per task and for the blend, on a
reproducible sample of test exposures; dependence and beeswarm data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from explain._batch import attribute_rows
from recsys.blend import BlendSpec
from recsys.errors import ExplanationError
from recsys.features import FeatureSpec
from recsys.project import Project, WeightsLike

__all__ = ["GlobalImportance", "beeswarm_frame", "dependence", "global_importance"]

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

    @property
    def weights(self) -> dict[str, float]:
        """``{task: weight}`` of :attr:`spec`."""
        return self.spec.weights.as_dict()

    @property
    def transform(self) -> str:
        """The score transform of :attr:`spec`."""
        return self.spec.transform

    def reweight(self, weights: Mapping[str, float]) -> GlobalImportance:
        """The same sample at other blend weights, without recomputing any SHAP value.

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
        """One row per feature: group, description, ``blend`` and one column per task
        (mean |SHAP|, tasks in task-score space), sorted by ``blend``, largest first."""
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


def global_importance(project: Project, *, weights: WeightsLike | BlendSpec = None,
                      transform: str | None = None, n: int = 2000,
                      random_state: int = 0) -> GlobalImportance:
    """Mean |SHAP| per feature, per task and for the blend, on sampled test exposures.

    Parameters
    ----------
    project : Project
        A loaded project.
    weights, transform
        As in :func:`explain.explain_items`.
    n : int
        Number of test exposures to sample (all of them if fewer).
    random_state : int
        Seed of the sample; the same seed gives the same rows.

    Returns
    -------
    GlobalImportance
        Keeps every sampled row's attributions for beeswarm and dependence plots.
    """
    if int(n) < 1:
        raise ExplanationError(f"global importance: n must be >= 1, got {n}")
    X_test, margins = project.test_rows()
    total = X_test.shape[0]
    if total == 0:
        raise ExplanationError("global importance: the project has no test exposures to sample")
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(total, size=min(int(n), total), replace=False)).astype(np.int64)
    spec = project.spec(weights, transform=transform)
    batch = attribute_rows(project, X_test[rows], spec, margins=margins[:, rows])
    return GlobalImportance(
        specs=batch.specs, tasks=batch.tasks, rows=rows, X=batch.X, values=batch.values,
        task_values=batch.task_values, base=float(batch.base[0]), spec=spec,
        rescaled=batch.rescaled,
        transformed_base=batch.transformed_base[:, 0] if len(rows) else
        np.zeros(len(project.tasks)))


def dependence(gi: GlobalImportance, feature: str, task: str | None = None) -> pd.DataFrame:
    """A feature's value against its attribution on the sampled rows.

    Columns ``value`` (category label for categorical features, else the number; NaN
    or None if missing) and ``attribution`` (blended for ``task`` None, else in the
    task's score space).
    """
    j, spec = gi.feature_column(feature)
    col = gi.X[:, j].astype(np.float64)
    value: object = spec.decode(col) if spec.is_categorical else col
    return pd.DataFrame({"value": value, "attribution": gi._values(task)[:, j]})


def beeswarm_frame(gi: GlobalImportance, task: str | None = None,
                   max_features: int = 12) -> pd.DataFrame:
    """Long data for a beeswarm: the ``max_features`` most important features.

    Columns ``feature``, ``attribution``, ``value`` (display value) and
    ``value_rank`` (the value's rank within the feature scaled to 0..1, for colour;
    NaN if missing). Features ordered by importance, most important first.
    """
    v = gi._values(task)
    order = np.argsort(-np.abs(v).mean(axis=0), kind="stable")[: max(int(max_features), 0)]
    parts = []
    for j in order:
        spec = gi.specs[j]
        col = gi.X[:, j].astype(np.float64)
        ranks = pd.Series(col).rank(pct=True).to_numpy()
        shown = spec.decode(col) if spec.is_categorical else col
        parts.append(pd.DataFrame({"feature": spec.name, "attribution": v[:, j],
                                   "value": shown, "value_rank": ranks}))
    if not parts:
        return pd.DataFrame(columns=["feature", "attribution", "value", "value_rank"])
    return pd.concat(parts, ignore_index=True)
