"""The vectorised core: exact blended SHAP attributions of many rows at once.

Per model ``k``, TreeSHAP gives ``m_k = φ_k0 + Σ_f φ_kf`` (LightGBM ``pred_contrib``).
A task's score is a sum of terms ``h(m_k)`` with ``h`` the identity or ``log σ``
(:func:`recsys.tasks.task_score_terms`). The rescale rule keeps every step additive:

* ``ρ_k = (h(m_k) − h(φ_k0)) / (m_k − φ_k0)`` (``h'`` at the midpoint for a tiny step);
  task-space attribution ``a_tf = Σ_k ρ_k φ_kf``, base ``s_t0 = Σ_k h(φ_k0)``;
* ``q_t = g_t.quotient(s_t, s_t0)``; blended ``Φ_f = Σ_t w_t sign_t q_t a_tf`` and base
  ``Σ_t w_t sign_t g_t(s_t0)``, so ``base + Σ_f Φ_f = Σ_t w_t sign_t g_t(s_t)``.

The score table stores margins as float32. Where a row has a stored margin, it is the
margin explained (so the score is the one the ranking used) and the tiny float
residual between it and the SHAP sum is spread over the features in proportion to
``|φ_kf|``; a residual too large for rounding means inconsistent artifacts and raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recsys.blend import BlendWeights, TransformKind
from recsys.errors import ExplanationError
from recsys.features import FeatureSpec
from recsys.project import Project, WeightsLike
from recsys.tasks import log_sigmoid, task_score_terms

if TYPE_CHECKING:
    from recsys.models import TaskModel

__all__ = ["AttributionBatch", "attribute_rows", "model_contributions", "resolve_transform",
           "table_margins"]

_KINDS: tuple[str, ...] = ("zscore", "percentile", "minmax")
_SMALL_BATCH = 256
"""Below this many rows one LightGBM thread is faster than a team (no thread wake-up)."""
_RESIDUAL_TOL = 1e-3


@dataclass(frozen=True, slots=True)
class AttributionBatch:
    """Exact blended attributions of ``n`` rows, as arrays (no per-row objects)."""

    tasks: tuple[str, ...]
    specs: tuple[FeatureSpec, ...]
    X: NDArray[np.float32]
    """(n, n_features) model inputs."""
    weights: BlendWeights
    transform: TransformKind
    signed_weight: NDArray[np.float64]
    """(n_tasks,) w_t · sign_t."""
    task_score: NDArray[np.float64]
    """(n_tasks, n) raw task scores s_t."""
    task_base: NDArray[np.float64]
    """(n_tasks, n) s_t0 (the same in every row)."""
    task_values: NDArray[np.float64]
    """(n_tasks, n, n_features) task-space attributions; sum to s_t − s_t0."""
    transformed: NDArray[np.float64]
    """(n_tasks, n) g_t(s_t)."""
    transformed_base: NDArray[np.float64]
    """(n_tasks, n) g_t(s_t0)."""
    prediction: NDArray[np.float64]
    """(n_tasks, n) natural-unit predictions."""
    rescaled: NDArray[np.float64]
    """(n_tasks, n, n_features) q_t · task attributions: task t's attributions in its
    transformed space, before weighting (independent of the weights)."""
    values: NDArray[np.float64]
    """(n, n_features) blended attributions Φ = Σ_t w_t · sign_t · rescaled_t."""
    base: NDArray[np.float64]
    """(n,) blended base value (the same in every row)."""
    score: NDArray[np.float64]
    """(n,) blended score Σ_t w_t sign_t g_t(s_t)."""

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def share(self) -> NDArray[np.float64]:
        """(n_tasks, n) each task's part of the score, w_t · sign_t · g_t(s_t)."""
        return self.signed_weight[:, None] * self.transformed


def resolve_transform(project: Project, transform: str | None) -> TransformKind:
    """The transform kind to use: ``transform`` or the project's default."""
    kind = transform or project.default_transform()
    if kind not in _KINDS:
        raise ExplanationError(f"explain: unknown transform {kind!r}; use one of "
                               f"{', '.join(_KINDS)}")
    return kind  # type: ignore[return-value]


def model_contributions(model: TaskModel, X: NDArray[np.float32]) -> NDArray[np.float64]:
    """TreeSHAP values of ``X`` in margin space, last column the expected value.

    The same numbers as :meth:`TaskModel.contributions`; small batches run on one
    thread, which on a busy machine is many times faster than waking a team.
    """
    booster = model.booster_
    threads = 1 if X.shape[0] < _SMALL_BATCH else 0
    out = booster.predict(X, pred_contrib=True, num_iteration=model.best_iteration_,
                          num_threads=threads)
    return np.asarray(out, dtype=np.float64)


def table_margins(project: Project, users: NDArray[np.integer],
                  items: NDArray[np.integer]) -> NDArray[np.float64]:
    """(n_models, n) stored candidate margins of (user code, item code) pairs; NaN where
    the item is not among the user's candidates."""
    sc = project.artifacts.scores
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64)
    eq = sc.cand_items[u] == i[:, None]
    has = eq.any(axis=1)
    col = eq.argmax(axis=1)
    out = sc.cand_margins[:, u, col].astype(np.float64)
    out[:, ~has] = np.nan
    return out


def _snap(phi: NDArray[np.float64], phi0: NDArray[np.float64], stored: NDArray[np.float64] | None,
          model: str) -> NDArray[np.float64]:
    """Make the SHAP row sums equal the stored margins (rounding residual spread by |φ|)."""
    margin = phi0 + phi.sum(axis=1)
    if stored is None:
        return margin
    ok = np.isfinite(stored)
    resid = np.where(ok, stored - margin, 0.0)
    bad = np.abs(resid) > _RESIDUAL_TOL * (1.0 + np.abs(margin))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ExplanationError(
            f"model '{model}': SHAP values sum to {margin[j]:.6g} but the score table holds "
            f"{stored[j]:.6g} for row {j}; the artifacts are inconsistent, retrain the project")
    weight = np.abs(phi)
    total = weight.sum(axis=1, keepdims=True)
    share = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1.0 / phi.shape[1])
    phi += resid[:, None] * share
    return np.where(ok, stored, margin)


def _log_sigmoid_quotient(m: NDArray[np.float64], m0: NDArray[np.float64]) -> NDArray[np.float64]:
    """(log σ(m) − log σ(m0)) / (m − m0), the derivative σ(−x) at the midpoint if tiny."""
    d = m - m0
    tiny = np.abs(d) <= 1e-8 * (1.0 + np.abs(m))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (log_sigmoid(m) - log_sigmoid(m0)) / np.where(tiny, 1.0, d)
    mid = 0.5 * (m + m0)
    return np.where(tiny, np.exp(log_sigmoid(-mid)), q)


def _model_terms(project: Project, X: NDArray[np.float32],
                 margins: NDArray[np.float64] | None) -> dict[str, tuple[NDArray, NDArray, NDArray]]:
    """Per model: (φ (n, F), φ_0 (n,), m (n,)) with φ snapped to the stored margins."""
    arts = project.artifacts
    out = {}
    for k, name in enumerate(arts.scores.models):
        contrib = model_contributions(arts.models[name], X)
        phi, phi0 = contrib[:, :-1], contrib[:, -1]
        stored = None if margins is None else margins[k]
        out[name] = (phi, phi0, _snap(phi, phi0, stored, name))
    return out


def attribute_rows(project: Project, X: NDArray[np.floating], weights: WeightsLike = None,
                   transform: str | None = None, *,
                   margins: NDArray[np.floating] | None = None) -> AttributionBatch:
    """Exact blended attributions of feature rows, one ``pred_contrib`` call per model.

    Parameters
    ----------
    project : Project
        A loaded project.
    X : ndarray, shape (n, n_features)
        Model inputs (e.g. from ``FeatureStore.features_for``).
    weights : BlendWeights or mapping, optional
        Blend weights; missing tasks keep the config weight.
    transform : {"zscore", "percentile", "minmax"}, optional
        Score transform (default: the config's).
    margins : ndarray, shape (n_models, n), optional
        Stored margins to explain (NaN: use the SHAP sum), in ``ScoreTable.models`` order.

    Returns
    -------
    AttributionBatch
        ``base + values.sum(axis=1) == score`` to rounding.
    """
    kind = resolve_transform(project, transform)
    w = project.weights(weights)
    signed = project.signed_vector(w)
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    specs = project.artifacts.store.specs
    if Xf.ndim != 2 or Xf.shape[1] != len(specs):
        raise ExplanationError(f"explain: feature rows must have shape (n, {len(specs)}), "
                               f"got {Xf.shape}; build them with FeatureStore.features_for")
    n, nf, nt = Xf.shape[0], Xf.shape[1], len(project.tasks)
    m = None if margins is None else np.asarray(margins, dtype=np.float64)
    terms = _model_terms(project, Xf, m) if n else {}
    s, s0 = np.zeros((nt, n)), np.zeros((nt, n))
    a = np.zeros((nt, n, nf))
    g, g0 = np.zeros((nt, n)), np.zeros((nt, n))
    rescaled = np.zeros((nt, n, nf))
    for t, task in enumerate(project.tasks):
        for model, through_sigmoid in task_score_terms(task) if n else ():
            phi, phi0, mk = terms[model]
            if through_sigmoid:
                rho = _log_sigmoid_quotient(mk, phi0)
                s[t] += log_sigmoid(mk)
                s0[t] += log_sigmoid(phi0)
                a[t] += rho[:, None] * phi
            else:
                s[t] += mk
                s0[t] += phi0
                a[t] += phi
        tr = project.artifacts.scores.transform(task.name, kind)
        g[t], g0[t] = tr.apply(s[t]), tr.apply(s0[t])
        rescaled[t] = tr.quotient(s[t], s0[t])[:, None] * a[t]
    values = np.tensordot(signed, rescaled, axes=1) if n else np.zeros((0, nf))
    arrays = [s, s0, a, g, g0, rescaled, values, base := signed @ g0, score := signed @ g,
              pred := project.predictions(s)]
    for arr in arrays:  # results may be cached and shared (st.cache_resource): read-only
        arr.setflags(write=False)
    return AttributionBatch(
        tasks=tuple(project.task_names()), specs=specs, X=Xf, weights=w, transform=kind,
        signed_weight=signed, task_score=s, task_base=s0, task_values=a, transformed=g,
        transformed_base=g0, prediction=pred, rescaled=rescaled, values=values, base=base,
        score=score)
