"""Partial dependence (PD) and individual conditional expectation (ICE) curves.

PD of a feature: set that model input to each value of a grid in every row of a fixed,
seeded sample of test exposures, everything else unchanged, and average each task's
prediction per grid value (Friedman 2001). ICE keeps the rows apart: one curve per
(user, item) pair (Goldstein et al. 2015). Both edit the model input directly, so a
grid value may meet combinations of the other inputs that never occur in the data
(a high price with a low quality when the two move together).

The blend is linear in the transformed task scores, so the PD of the blend is the blend
of the tasks' mean transformed scores (``spec.blend`` of the means equals the mean of
the rows' blended scores): :meth:`PartialDependence.reweight` moves the weights without
predicting again.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from explain._display import display_number, format_value
from explain._global import BLEND
from recsys.blend import BlendSpec
from recsys.errors import ExplanationError
from recsys.features import FeatureSpec
from recsys.project import Project, WeightsLike
from recsys.tasks import TaskSpec

__all__ = ["IceLines", "PartialDependence", "feature_grid", "ice_lines", "partial_dependence",
           "task_unit"]

_F64 = NDArray[np.float64]
_FRAME_COLUMNS = ["feature", "value", "label", "task", "prediction", "score"]


@dataclass(frozen=True, slots=True)
class PartialDependence:
    """Mean prediction of every task, and the blend, as one feature moves over a grid."""

    feature: FeatureSpec
    grid: _F64
    """(n_grid,) model-input values (category codes for a categorical feature)."""
    tasks: tuple[str, ...]
    prediction: _F64
    """(n_tasks, n_grid) mean natural-unit prediction per grid value."""
    transformed: _F64
    """(n_tasks, n_grid) mean transformed task score g_t(s_t) per grid value."""
    blended: _F64
    """(n_grid,) the blended curve, ``spec.blend(transformed)``."""
    spec: BlendSpec
    """The blend of :attr:`blended` (its transform is the one :attr:`transformed` used)."""
    rows: NDArray[np.int64]
    """Indices of the sampled test exposures (sorted)."""
    observed: _F64
    """(n_pairs,) the feature's actual values on the sampled rows (NaN if missing)."""
    random_state: int

    @property
    def n_pairs(self) -> int:
        """Number of sampled (user, item) pairs each grid value is averaged over."""
        return int(self.rows.size)

    def labels(self) -> list[str]:
        """Display text of each grid value (the level of a categorical feature)."""
        return grid_labels(self.feature, self.grid)

    def reweight(self, weights: WeightsLike) -> PartialDependence:
        """Return the blended curve at other weights (partial is fine).

        The blend is recomputed from the cached task curves: nothing is predicted again.
        :class:`recsys.errors.BlendError` if the weights are invalid.
        """
        spec = self.spec.replace(weights)
        return replace(self, spec=spec, blended=_frozen(spec.blend(self.transformed)))

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (grid value, task or ``"blend"``).

        Columns ``feature``, ``value`` (the model input: number or category code),
        ``label`` (its display text), ``task``, ``prediction`` (mean natural-unit
        prediction; NaN for the blend) and ``score`` (mean transformed score; the blended
        score for the blend).
        """
        return _long(self.feature.name, self.grid, self.labels(), self.tasks,
                     self.prediction, self.transformed, self.blended)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"feature": self.feature.to_dict(), "grid": self.grid.tolist(),
                "labels": self.labels(), "n_pairs": self.n_pairs,
                "random_state": self.random_state, "blend": self.spec.to_dict(),
                "prediction": dict(zip(self.tasks, self.prediction.tolist(), strict=True)),
                "score": dict(zip(self.tasks, self.transformed.tolist(), strict=True)),
                "blended": self.blended.tolist()}


@dataclass(frozen=True, slots=True)
class IceLines:
    """One curve per item of one user, per task and for the blend, over a feature grid."""

    feature: FeatureSpec
    user_id: str
    item_ids: tuple[str, ...]
    titles: tuple[str, ...]
    grid: _F64
    """(n_grid,) model-input values (category codes for a categorical feature)."""
    current: _F64
    """(n_items,) each item's actual value of the feature (NaN if missing)."""
    tasks: tuple[str, ...]
    prediction: _F64
    """(n_tasks, n_items, n_grid) natural-unit predictions."""
    transformed: _F64
    """(n_tasks, n_items, n_grid) transformed task scores."""
    blended: _F64
    """(n_items, n_grid) blended scores at :attr:`spec`."""
    spec: BlendSpec

    def labels(self) -> list[str]:
        """Display text of each grid value."""
        return grid_labels(self.feature, self.grid)

    def reweight(self, weights: WeightsLike) -> IceLines:
        """Return the blended lines at other weights, without predicting again."""
        spec = self.spec.replace(weights)
        return replace(self, spec=spec, blended=_frozen(spec.blend(self.transformed)))

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (item, grid value, task or blend).

        Columns ``item_id`` and ``title``, then the columns of
        :meth:`PartialDependence.to_frame`.
        """
        parts = []
        for i, (item, title) in enumerate(zip(self.item_ids, self.titles, strict=True)):
            part = _long(self.feature.name, self.grid, self.labels(), self.tasks,
                         self.prediction[:, i], self.transformed[:, i], self.blended[i])
            part.insert(0, "title", title)
            part.insert(0, "item_id", item)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"feature": self.feature.to_dict(), "user_id": self.user_id,
                "grid": self.grid.tolist(), "labels": self.labels(),
                "blend": self.spec.to_dict(),
                "items": [{"item_id": item, "title": title,
                           "current": display_number(float(self.current[i])),
                           "prediction": dict(zip(self.tasks, self.prediction[:, i].tolist(),
                                                  strict=True)),
                           "score": dict(zip(self.tasks, self.transformed[:, i].tolist(),
                                             strict=True)),
                           "blended": self.blended[i].tolist()}
                          for i, (item, title) in enumerate(zip(self.item_ids, self.titles,
                                                                strict=True))]}


def partial_dependence(project: Project, feature: str, *,
                       weights: WeightsLike | BlendSpec = None, transform: str | None = None,
                       n_pairs: int = 500, grid: int = 20,
                       random_state: int = 0) -> PartialDependence:
    """Partial dependence of every task, and of the blend, on one feature.

    Parameters
    ----------
    project : Project
        A loaded project.
    feature : str
        Raw feature (column) name; :class:`ExplanationError` with a did-you-mean hint
        if unknown.
    weights, transform
        The blend, as in :meth:`recsys.project.Project.spec`.
    n_pairs : int
        Test exposures sampled (all of them if fewer); the same ``random_state`` gives
        the same rows.
    grid : int
        At most this many grid values for a numeric feature (:func:`feature_grid`);
        a categorical feature always gets every level.
    random_state : int
        Seed of the sample.

    Returns
    -------
    PartialDependence
        All ``n_pairs × n_grid`` edited rows are scored in one batched
        :meth:`Project.score_rows` call.
    """
    j, spec_f = _feature(project, feature)
    rows, X = _sample(project, n_pairs, random_state)
    values = feature_grid(spec_f, X[:, j], grid)
    spec = project.spec(weights, transform=transform)
    pred, trans = _score_grid(project, X, j, values, spec)
    return PartialDependence(
        feature=spec_f, grid=_frozen(values), tasks=spec.tasks,
        prediction=_frozen(pred.mean(axis=2)), transformed=_frozen(trans.mean(axis=2)),
        blended=_frozen(spec.blend(trans.mean(axis=2))), spec=spec, rows=_frozen(rows),
        observed=_frozen(X[:, j].astype(np.float64)), random_state=int(random_state))


def ice_lines(project: Project, user_id: str, feature: str, *,
              items: Sequence[str] | None = None, weights: WeightsLike | BlendSpec = None,
              transform: str | None = None, grid: int | ArrayLike = 20, n: int = 5,
              n_pairs: int = 500, random_state: int = 0) -> IceLines:
    """ICE curves of one user's items.

    Each (user, item) pair's predictions as the feature moves over a grid, everything
    else as it is for that pair.

    Parameters
    ----------
    project : Project
        A loaded project.
    user_id : str
        The user.
    feature : str
        Raw feature name (:class:`ExplanationError` if unknown).
    items : sequence of str, optional
        Item ids; default the user's top ``n`` at these weights.
    weights, transform
        The blend, as in :meth:`recsys.project.Project.spec`.
    grid : int or array_like
        Grid values (e.g. a :class:`PartialDependence`'s ``grid``, so the lines share its
        axis), or at most this many values from the test sample like
        :func:`partial_dependence` (``n_pairs``, ``random_state``) picks them.
    n : int
        Number of top items when ``items`` is omitted.
    n_pairs, random_state : int
        The test sample a grid size is read from.
    """
    j, spec_f = _feature(project, feature)
    spec = project.spec(weights, transform=transform)
    if items is None:
        ranked = project.recommend(user_id, weights=spec, k=max(int(n), 1))
        ids, titles = [it.item_id for it in ranked.items], [it.title for it in ranked.items]
    else:
        ids = [str(i) for i in items]
        titles = [project.title(project.item_code(i)) for i in ids]
    if not ids:
        raise ExplanationError(f"ICE: user '{user_id}' has no items to draw; pass items=")
    X = project.features_for(user_id, ids).X
    if np.ndim(grid) == 0:
        sample = _sample(project, n_pairs, random_state)[1][:, j]
        values = feature_grid(spec_f, sample, int(np.asarray(grid).item()))
    else:
        values = np.array(grid, dtype=np.float64).ravel()  # a copy: frozen below
        if not values.size or not np.all(np.isfinite(values)):
            raise ExplanationError(f"ICE: grid must hold finite numbers, got {values.tolist()}")
    pred, trans = _score_grid(project, X, j, values, spec)
    pred, trans = np.swapaxes(pred, 1, 2), np.swapaxes(trans, 1, 2)  # (tasks, items, grid)
    return IceLines(
        feature=spec_f, user_id=str(user_id), item_ids=tuple(ids), titles=tuple(titles),
        grid=_frozen(values), current=_frozen(X[:, j].astype(np.float64)), tasks=spec.tasks,
        prediction=_frozen(pred), transformed=_frozen(trans),
        blended=_frozen(spec.blend(trans)), spec=spec)


def feature_grid(spec: FeatureSpec, values: ArrayLike, grid: int = 20) -> _F64:
    """Grid values of a feature.

    Every level (code) of a categorical feature; for a numeric one, its distinct values
    on ``values`` if there are at most ``grid``, else ``grid`` quantiles (observed
    values, duplicates dropped, so possibly fewer).

    Missing values (NaN) are ignored; :class:`ExplanationError` if none is left or
    ``grid < 2``.
    """
    if spec.categories is not None:
        return np.arange(len(spec.categories), dtype=np.float64)
    if int(grid) < 2:
        raise ExplanationError(f"partial dependence: grid must be >= 2, got {grid}")
    col = np.asarray(values, dtype=np.float64)
    col = col[np.isfinite(col)]
    if not col.size:
        raise ExplanationError(f"partial dependence: feature '{spec.name}' has no value in "
                               "the sample (all missing); pick another feature")
    distinct = np.unique(col)
    if distinct.size <= int(grid):
        return distinct
    return np.unique(np.quantile(col, np.linspace(0.0, 1.0, int(grid)),
                                 method="inverted_cdf"))


def grid_labels(spec: FeatureSpec, grid: _F64) -> list[str]:
    """Display text of grid values: category levels, or numbers rounded for people."""
    if spec.categories is not None:
        return [str(v) for v in spec.decode(grid)]
    return [format_value(display_number(float(v))) for v in grid]


def task_unit(task: TaskSpec) -> str:
    """Name what a task's mean natural-unit prediction is, for an axis or a column title."""
    space = " (entire space)" if task.given is not None else ""
    if task.kind == "binary":
        return f"p({task.label}){space}"
    if task.kind == "regression":
        return f"expected {task.label}{space}"
    return f"ranking score for {task.label}"


def _feature(project: Project, name: str) -> tuple[int, FeatureSpec]:
    names = [s.name for s in project.feature_specs]
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ExplanationError(f"partial dependence: unknown feature '{name}'{hint}; "
                               f"features are {', '.join(names)}")
    j = names.index(name)
    return j, project.feature_specs[j]


def _sample(project: Project, n_pairs: int,
            random_state: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Sorted indices and feature rows of a seeded sample of ``n_pairs`` test exposures."""
    if int(n_pairs) < 1:
        raise ExplanationError(f"partial dependence: n_pairs must be >= 1, got {n_pairs}")
    X_test, _ = project.test_rows()
    if X_test.shape[0] == 0:
        raise ExplanationError("partial dependence: the project has no test exposures to "
                               "sample")
    rng = np.random.default_rng(random_state)
    size = min(int(n_pairs), X_test.shape[0])
    rows = np.sort(rng.choice(X_test.shape[0], size=size, replace=False)).astype(np.int64)
    return rows, X_test[rows]


def _score_grid(project: Project, X: NDArray[np.float32], j: int, values: _F64,
                spec: BlendSpec) -> tuple[_F64, _F64]:
    """(n_tasks, n_grid, n) predictions and transformed scores of ``X`` per grid value.

    Column ``j`` is set to each grid value in turn; every copy is stacked into one
    :meth:`Project.score_rows` call.
    """
    n = X.shape[0]
    stacked = np.repeat(X[None, :, :], values.size, axis=0)
    stacked[:, :, j] = values.astype(np.float32)[:, None]
    scores = project.score_rows(stacked.reshape(values.size * n, X.shape[1]), spec)
    shape = (len(spec.tasks), values.size, n)
    return scores.prediction.reshape(shape), scores.transformed.reshape(shape)


def _long(feature: str, grid: _F64, labels: list[str], tasks: Sequence[str], prediction: _F64,
          transformed: _F64, blended: _F64) -> pd.DataFrame:
    n_grid, names = grid.size, [*tasks, BLEND]
    return pd.DataFrame({
        "feature": feature, "value": np.tile(grid, len(names)),
        "label": np.tile(np.asarray(labels, dtype=object), len(names)),
        "task": np.repeat(names, n_grid),
        "prediction": np.concatenate([np.asarray(prediction).ravel(), np.full(n_grid, np.nan)]),
        "score": np.concatenate([np.asarray(transformed).ravel(), blended])},
        columns=_FRAME_COLUMNS)


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a
