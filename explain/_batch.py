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

import numpy as np
from numpy.typing import NDArray

from recsys.blend import BlendSpec, BlendWeights, TransformKind
from recsys.errors import ExplanationError
from recsys.features import FeatureSpec
from recsys.project import Project, WeightsLike
from recsys.tasks import log_sigmoid, task_score_terms

__all__ = ["AttributionBatch", "attribute_rows"]

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
    out = {}
    for k, (name, contrib) in enumerate(project.contributions(X).items()):
        phi, phi0 = contrib[:, :-1], contrib[:, -1]
        stored = None if margins is None else margins[k]
        out[name] = (phi, phi0, _snap(phi, phi0, stored, name))
    return out


def attribute_rows(project: Project, X: NDArray[np.floating],
                   weights: WeightsLike | BlendSpec = None, *, transform: str | None = None,
                   margins: NDArray[np.floating] | None = None) -> AttributionBatch:
    """Exact blended attributions of feature rows, one ``pred_contrib`` call per model.

    Parameters
    ----------
    project : Project
        A loaded project.
    X : ndarray, shape (n, n_features)
        Model inputs (e.g. from ``FeatureStore.features_for``).
    weights : BlendSpec, BlendWeights or mapping, optional
        Blend weights (missing tasks keep the config weight), or a resolved spec.
    transform : {"zscore", "percentile", "minmax"}, optional
        Score transform (default: the config's).
    margins : ndarray, shape (n_models, n), optional
        Stored margins to explain (NaN: use the SHAP sum), in ``ScoreTable.models`` order.

    Returns
    -------
    AttributionBatch
        ``base + values.sum(axis=1) == score`` to rounding.
    """
    spec = project.spec(weights, transform=transform)
    kind, signed = spec.transform, spec.signed
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    specs = project.feature_specs
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
        tr = project.transform(task.name, kind)
        g[t], g0[t] = tr.apply(s[t]), tr.apply(s0[t])
        rescaled[t] = tr.quotient(s[t], s0[t])[:, None] * a[t]
    values = spec.blend(rescaled) if nt else np.zeros((n, nf))
    arrays = [s, s0, a, g, g0, rescaled, values, base := spec.blend(g0),
              score := spec.blend(g), pred := project.predictions(s)]
    for arr in arrays:  # results may be cached and shared (st.cache_resource): read-only
        arr.setflags(write=False)
    return AttributionBatch(
        tasks=spec.tasks, specs=specs, X=Xf, weights=spec.weights, transform=kind,
        signed_weight=signed, task_score=s, task_base=s0, task_values=a, transformed=g,
        transformed_base=g0, prediction=pred, rescaled=rescaled, values=values, base=base,
        score=score)
