"""Blend task scores: monotone transforms, blend weights and a fused top-K.

``blended = sum_t sign_t w_t g_t(m_t)`` (DESIGN.md, "Score spaces and blending"),
ranked over a whole ``(n_tasks, n_users, n_cand)`` table in one parallel numba pass.
"""

from __future__ import annotations

import difflib
import math
import operator
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal, TypeAlias, get_args

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray

from recsys.errors import BlendError

__all__ = ["TRANSFORM_KINDS", "TRANSFORM_LABELS", "BlendSpec", "BlendWeights", "Transform",
           "TransformKind", "blend", "check_kind", "fit_transform", "top_k"]

TransformKind = Literal["zscore", "percentile", "minmax"]
TRANSFORM_KINDS: tuple[TransformKind, ...] = get_args(TransformKind)
"""Every transform kind, in the order menus list them (the one list of them)."""
TRANSFORM_LABELS: dict[TransformKind, str] = {"zscore": "z-score", "percentile": "percentile",
                                              "minmax": "min-max"}
"""How people read each kind."""
_Table: TypeAlias = NDArray[np.floating[Any]]
_F64: TypeAlias = NDArray[np.float64]
_F32: TypeAlias = NDArray[np.float32]
_I32: TypeAlias = NDArray[np.int32]
_Bool: TypeAlias = NDArray[np.bool_]
_PARALLEL_MIN_CELLS = 1 << 20  # ~4 ms serially; a loaded box can stall a thread launch as long


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_kind(kind: object) -> TransformKind:
    """``kind`` as a :data:`TransformKind`; :class:`BlendError` naming the valid kinds."""
    if kind not in TRANSFORM_KINDS:
        valid = ", ".join(f"'{k}'" for k in TRANSFORM_KINDS)
        raise BlendError(f"unknown transform {kind!r}; valid kinds are {valid}")
    return kind


@dataclass(frozen=True, slots=True)
class Transform:
    """A fitted monotone map ``g`` from a task's raw margin into the blending space."""

    kind: TransformKind
    """``"zscore"``, ``"percentile"`` or ``"minmax"``."""
    params: tuple[float, ...]
    """``zscore``: ``(mean, std)``; ``minmax``: ``(lo, hi)``; ``percentile``: the knots,
    strictly increasing, mapped to evenly spaced probabilities from 0 to 1."""

    def __post_init__(self) -> None:
        """Check the kind and that the params fit it."""
        check_kind(self.kind)
        p = self.params
        if not all(isinstance(v, Real) and math.isfinite(v) for v in p):
            raise BlendError(f"transform '{self.kind}': params must be finite numbers, got {p}")
        if self.kind == "zscore" and not (len(p) == 2 and p[1] > 0):
            raise BlendError(f"transform 'zscore': params must be (mean, std > 0), got {p}")
        if self.kind == "minmax" and not (len(p) == 2 and p[1] > p[0]):
            raise BlendError(f"transform 'minmax': params must be (lo, hi > lo), got {p}")
        if self.kind == "percentile" and (len(p) < 2 or not np.all(np.diff(p) > 0)):
            msg = f"at least 2 strictly increasing knots, got {len(p)} starting {p[:4]}"
            raise BlendError(f"transform 'percentile': params must be {msg}")

    def _affine_slope(self) -> float:
        a, b = self.params
        return 1.0 / b if self.kind == "zscore" else 1.0 / (b - a)

    def _pieces(self, x: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Linear piece holding each ``x`` (-1 below the knots, m-1 above) and its slope."""
        knots = np.asarray(self.params)
        m = knots.size
        slopes = np.diff(np.linspace(0.0, 1.0, m)) / np.diff(knots)
        j = np.searchsorted(knots, x, side="right") - 1
        inside = (j >= 0) & (j < m - 1)
        return j, np.where(inside, slopes[np.clip(j, 0, m - 2)], 0.0)

    def apply(self, x: ArrayLike) -> NDArray[np.floating[Any]]:
        """``g(x)``: monotone non-decreasing, float32 for float32 input else float64.

        NaN stays NaN. ``minmax`` is not clipped (past the fitted range it keeps
        ranking); ``percentile`` is 0 below the first knot and 1 above the last.
        """
        arr, p = np.asarray(x), np.asarray(self.params)
        if self.kind == "percentile":
            out = np.interp(arr.astype(np.float64), p, np.linspace(0.0, 1.0, p.size))
        else:
            out = (arr.astype(np.float64) - p[0]) * self._affine_slope()
        return out.astype(np.float32) if arr.dtype == np.float32 else out

    def slope(self, x: ArrayLike) -> NDArray[np.float64]:
        """Return the derivative of :meth:`apply` (NaN at NaN).

        For ``percentile``: the slope of the piece holding ``x`` (the right one at a
        knot), 0 outside the knots.
        """
        xf = np.asarray(x, dtype=np.float64)
        pc = self.kind == "percentile"
        out = self._pieces(xf)[1] if pc else np.full(xf.shape, self._affine_slope())
        return np.where(np.isnan(xf), np.nan, out)

    def quotient(self, x: ArrayLike, x0: ArrayLike) -> NDArray[np.float64]:
        """Rescale factor ``(g(x) - g(x0)) / (x - x0)``, elementwise with broadcasting.

        On one linear piece (so also where ``x == x0``) it is that piece's slope; across
        one knot the step is summed piece by piece, so a tiny step gives a weighted mean
        of the two slopes, not rounding noise. ``quotient * (x - x0) == g(x) - g(x0)``
        to rounding: blended SHAP attributions stay exactly additive (DESIGN.md).
        """
        xf, x0f = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(x0, np.float64))
        nan = np.isnan(xf) | np.isnan(x0f)
        if self.kind != "percentile":
            return np.where(nan, np.nan, self._affine_slope())
        (jx, sx), (j0, s0) = self._pieces(xf), self._pieces(x0f)
        knot = np.asarray(self.params)[np.clip(np.minimum(jx, j0) + 1, 0, len(self.params) - 1)]
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 * inf outside the knots
            left, right = s0 * (knot - x0f), sx * (xf - knot)
            step = np.where(s0 == 0, 0.0, left) + np.where(sx == 0, 0.0, right)
            gap = np.where(np.abs(jx - j0) == 1, step, self.apply(xf) - self.apply(x0f))
            q = gap / np.where(jx == j0, 1.0, xf - x0f)
        return np.where(nan, np.nan, np.where(jx == j0, s0, q))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"kind": ..., "params": [...]}``."""
        return {"kind": self.kind, "params": [float(v) for v in self.params]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Transform:
        """Rebuild a transform from :meth:`to_dict` output (validated)."""
        if not isinstance(d, Mapping) or set(d) != {"kind", "params"}:
            raise BlendError(f"transform: from_dict needs keys 'kind' and 'params', got {d!r:.80}")
        try:
            params = tuple(float(v) for v in d["params"])
        except (TypeError, ValueError) as err:
            raise BlendError(f"transform: params must be numbers, got {d['params']!r}") from err
        return cls(d["kind"], params)


def fit_transform(kind: TransformKind, scores: ArrayLike, *, n_knots: int = 1001) -> Transform:
    """Fit a :class:`Transform` of ``kind`` on one task's training scores.

    Parameters
    ----------
    kind : {"zscore", "percentile", "minmax"}
        Transform family; anything else raises :class:`BlendError`.
    scores : array_like
        Training scores, any shape; NaN and infinite values are ignored.
    n_knots : int
        Number of quantiles for ``percentile`` (``>= 2``). Quantiles closer than
        ``1e-12 * max|score|`` (float noise) are merged, the later one dropped.

    Returns
    -------
    Transform
        Below 2 distinct finite scores the fit is degenerate but valid, with a
        ``RuntimeWarning``: ``zscore`` uses std 1, ``minmax`` ``hi = lo + 1`` and
        ``percentile`` maps the value ``c`` to 0.5 (knots ``c -/+ 0.5``; ``c = 0`` if
        there is no finite score). Widths grow to ``1e-9 * |c|`` past ``|c| = 1e9``.
    """
    check_kind(kind)
    if operator.index(n_knots) < 2:
        raise BlendError(f"transform 'percentile': n_knots must be >= 2, got {n_knots}")
    arr = np.asarray(scores, dtype=np.float64).ravel()
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if not hi > lo:
        msg = f"fewer than 2 distinct finite scores to fit ({finite.size} finite of {arr.size})"
        msg += f"; using a degenerate transform around {lo}"
        warnings.warn(f"transform '{kind}': {msg}", RuntimeWarning, stacklevel=2)
        half = max(0.5, abs(lo) * 5e-10)  # still visible next to a huge lo
        degenerate = {"zscore": (lo, 1.0), "minmax": (lo, lo + 2 * half)}
        return Transform(kind, degenerate.get(kind, (lo - half, lo + half)))
    if kind != "percentile":
        std = float(finite.std()) or 1.0
        return Transform(kind, (float(finite.mean()), std) if kind == "zscore" else (lo, hi))
    q = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, n_knots)))
    knots = q[np.insert(np.diff(q) > 1e-12 * max(abs(lo), abs(hi)), 0, True)]
    return Transform(kind, tuple(float(v) for v in (knots if knots.size > 1 else (lo, hi))))


@dataclass(frozen=True, slots=True)
class BlendWeights:
    """Non-negative blend weight per task, in insertion order; build with :meth:`of`."""

    weights: tuple[tuple[str, float], ...]
    """``(task, weight)`` pairs; weights are finite and ``>= 0`` (direction is a sign)."""

    def __post_init__(self) -> None:
        """Check names are distinct and weights finite and non-negative."""
        seen: set[str] = set()
        for task, w in self.weights:
            if not isinstance(task, str) or not task or task in seen:
                msg = f"task names must be distinct, non-empty strings, got {task!r}"
                raise BlendError(f"blend weights: {msg}")
            seen.add(task)
            if not isinstance(w, Real) or not math.isfinite(w):
                raise BlendError(f"task '{task}': blend weight must be a finite number, got {w!r}")
            if w < 0:
                msg = f"must be >= 0, got {w}; minimise a task with sign -1 instead"
                raise BlendError(f"task '{task}': blend weight {msg}")

    @classmethod
    def of(cls, mapping: Mapping[str, float]) -> BlendWeights:
        """Build validated weights from ``{task: weight}``, keeping the mapping's order."""
        return cls(tuple((t, float(w) if isinstance(w, Real) else w) for t, w in mapping.items()))

    def get(self, task: str) -> float:
        """Weight of ``task``; :class:`BlendError` with a did-you-mean hint if unknown."""
        d = self.as_dict()
        if task not in d:
            raise BlendError(f"blend weights: unknown task '{task}'{_did_you_mean(task, list(d))}")
        return d[task]

    def as_dict(self) -> dict[str, float]:
        """``{task: weight}`` in insertion order (a fresh dict)."""
        return dict(self.weights)

    def vector(self, tasks: Sequence[str], signs: Sequence[float] | None = None) -> _F64:
        """Weights in the order of ``tasks``, times ``signs`` (+1 maximise, -1 minimise).

        :class:`BlendError` if a weight names a task not in ``tasks`` (with a
        did-you-mean hint), a task has no weight or a sign is not +1 or -1.
        """
        tasks = list(tasks)
        own = self.as_dict()
        problems = [f"unknown task '{t}'{_did_you_mean(t, tasks)}" for t in own if t not in tasks]
        missing = [t for t in tasks if t not in own]
        problems += [f"no weight for task '{t}' (0 turns a task off)" for t in missing]
        if problems:
            raise BlendError("blend weights: " + "; ".join(problems))
        vec = np.array([own[t] for t in tasks], dtype=np.float64)
        sign_arr = np.ones(len(tasks)) if signs is None else np.asarray(signs, dtype=np.float64)
        if sign_arr.shape != vec.shape:
            raise BlendError(f"blend weights: expected {len(tasks)} signs, got {len(sign_arr)}")
        for t, s in zip(tasks, sign_arr, strict=True):
            if s not in (1.0, -1.0):
                msg = f"sign must be +1 (maximise) or -1 (minimise), got {s}"
                raise BlendError(f"task '{t}': {msg}")
        return vec * sign_arr


@dataclass(frozen=True, slots=True)
class BlendSpec:
    """A resolved blend request: complete weights, transform and list length.

    Resolve a request once (:meth:`resolve`, or ``Project.spec``) and pass the spec on:
    every consumer ranks, evaluates and explains with :meth:`blend` and :meth:`top_k`,
    and every invalid request fails here, with a :class:`BlendError`.
    """

    tasks: tuple[str, ...]
    """Task names in table order."""
    signs: tuple[float, ...]
    """+1 (maximise) or -1 (minimise) per task."""
    weights: BlendWeights
    """One non-negative weight per task, in task order."""
    transform: TransformKind
    k: int
    """Length of a recommendation list (>= 1)."""

    def __post_init__(self) -> None:
        """Check that weights, signs, transform and K fit the tasks."""
        check_kind(self.transform)
        self.weights.vector(self.tasks, self.signs)  # names, completeness and signs
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise BlendError(f"K must be a whole number >= 1, got {self.k!r}")

    @classmethod
    def resolve(cls, tasks: Sequence[str], signs: Sequence[float],
                defaults: Mapping[str, float], weights: BlendWeights | Mapping[str, float]
                | None = None, *, transform: str, k: int) -> BlendSpec:
        """Resolve a request: ``defaults`` overridden by the (partial) ``weights``.

        :class:`BlendError` for an unknown task (with a did-you-mean hint), a negative or
        non-finite weight, an unknown transform or a K below 1.
        """
        given = weights.as_dict() if isinstance(weights, BlendWeights) else dict(weights or {})
        names = list(tasks)
        unknown = [f"'{t}'{_did_you_mean(t, names)}" for t in given if t not in names]
        if unknown:
            raise BlendError(f"blend weights: unknown task {', '.join(unknown)}; "
                             f"tasks are {', '.join(names)}")
        merged = {t: given.get(t, defaults.get(t, 0.0)) for t in names}
        try:
            kk = operator.index(k)
        except TypeError as err:
            raise BlendError(f"K must be a whole number >= 1, got {k!r}") from err
        return cls(tuple(names), tuple(float(s) for s in signs), BlendWeights.of(merged),
                   check_kind(transform), kk)

    def replace(self, weights: BlendWeights | Mapping[str, float] | None = None, *,
                transform: str | None = None, k: int | None = None) -> BlendSpec:
        """Return a copy with some weights (partial), the transform or K changed."""
        return BlendSpec.resolve(self.tasks, self.signs, self.weights.as_dict(), weights,
                                 transform=transform or self.transform, k=k or self.k)

    @property
    def signed(self) -> _F64:
        """Signed weight per task, ``w_t * sign_t`` (read-only)."""
        vec = self.weights.vector(self.tasks, self.signs)
        vec.setflags(write=False)
        return vec

    def blend(self, table: ArrayLike) -> _F64:
        """:func:`blend` of a per-task table (first axis: tasks) at these weights."""
        return blend(table, self.signed)

    def shares(self, table: ArrayLike) -> _F64:
        """Return each task's part of the blend, ``w_t * sign_t * table[t]``.

        The parts sum to :meth:`blend`.
        """
        arr = np.asarray(table, dtype=np.float64)
        return self.signed.reshape((-1,) + (1,) * (arr.ndim - 1)) * arr

    def top_k(self, table: ArrayLike, *, valid: ArrayLike | None = None,
              k: int | None = None) -> tuple[_I32, _F32]:
        """:func:`top_k` of a ``(n_tasks, n_users, n_cand)`` table at these weights."""
        return top_k(table, self.signed, self.k if k is None else k, valid=valid)

    def rank_of(self, score: float, others: ArrayLike) -> int:
        """Return the 1-based rank ``score`` would take among ``others``.

        ``others`` are blended scores, NaN skipped; an equal score ranks after the ones
        already there.
        """
        arr = np.asarray(others, dtype=np.float64)
        return int(np.count_nonzero(arr >= score)) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"weights": {...}, "transform": ..., "k": ...}``."""
        return {"weights": self.weights.as_dict(), "transform": self.transform, "k": self.k}


@njit(cache=True)
def _blend_user(table: _Table, w: _F64, u: int, row: _F64) -> None:
    """``row[c] = sum_t w[t] * table[t, u, c]``, in float64 and in task order."""
    row[:] = 0.0
    for t in range(table.shape[0]):  # task-outer: the inner loop vectorises
        for c in range(table.shape[2]):
            row[c] += w[t] * table[t, u, c]


@njit(cache=True)
def _keep_best(row: _F64, k: int, valid: _Bool, idx: _I32, score: _F32) -> None:
    """Write the ``k`` best valid, non-NaN entries of ``row`` (kept by insertion)."""
    best = np.empty(k, np.float64)
    n = 0
    for c in range(row.size):
        s = row[c]
        if not valid[c] or np.isnan(s) or (n == k and s <= best[k - 1]):
            continue
        j = n if n < k else k - 1
        while j > 0 and best[j - 1] < s:  # strict: an equal, earlier candidate stays ahead
            best[j] = best[j - 1]
            idx[j] = idx[j - 1]
            j -= 1
        best[j], idx[j] = s, c
        n = min(n + 1, k)
    for j in range(n):
        score[j] = best[j]


@njit(parallel=True, cache=True)
def _top_k_parallel(table: _Table, w: _F64, k: int, valid: _Bool, idx: _I32, score: _F32) -> None:
    for u in prange(table.shape[1]):
        row = np.empty(table.shape[2], np.float64)
        _blend_user(table, w, u, row)
        _keep_best(row, k, valid[u], idx[u], score[u])


@njit(cache=True)
def _top_k_serial(table: _Table, w: _F64, k: int, valid: _Bool, idx: _I32, score: _F32) -> None:
    row = np.empty(table.shape[2], np.float64)
    for u in range(table.shape[1]):
        _blend_user(table, w, u, row)
        _keep_best(row, k, valid[u], idx[u], score[u])


@njit(parallel=True, cache=True)
def _blend_parallel(table: _Table, w: _F64, out: _F64) -> None:
    for u in prange(table.shape[1]):
        row = np.empty(table.shape[2], np.float64)
        _blend_user(table, w, u, row)
        out[u] = row


def _check_table(table: ArrayLike, w: ArrayLike, where: str) -> tuple[_Table, _F64]:
    arr = np.asarray(table)
    if arr.ndim != 3:
        msg = f"must have shape (n_tasks, n_users, n_cand), got {arr.shape}"
        raise BlendError(f"{where}: table {msg}")
    arr = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    wv = np.asarray(w, dtype=np.float64)
    if wv.shape != (arr.shape[0],) or not np.all(np.isfinite(wv)):
        msg = f"must hold {arr.shape[0]} finite task weights, got {wv.tolist()}"
        raise BlendError(f"{where}: w {msg}")
    return np.ascontiguousarray(arr), wv


def blend(table: ArrayLike, w: ArrayLike) -> _F64:
    """Blend task values: ``sum_t w[t] * table[t]`` in float64, summed in task order.

    This is the one place the blend sum is written: ranking (:func:`top_k`), evaluation,
    the sweep, segment analysis, attributions and the dashboard all go through it (or
    through :class:`BlendSpec`, which calls it), so a score means the same everywhere.

    Parameters
    ----------
    table : array_like, shape (n_tasks, ...)
        Per-task values of any trailing shape: transformed scores of candidates
        ``(n_tasks, n_users, n_cand)``, of test exposures ``(n_tasks, n)``, or
        attributions ``(n_tasks, n, n_features)``.
    w : array_like, shape (n_tasks,)
        Signed weights (:attr:`BlendSpec.signed`).

    Returns
    -------
    ndarray of float64, shape ``table.shape[1:]``
        NaN where any task is NaN (even at weight 0). Rounded to float32 it equals the
        scores :func:`top_k` returns.
    """
    arr = np.asarray(table)
    wv = np.asarray(w, dtype=np.float64)
    if arr.ndim < 1 or wv.shape != (arr.shape[0],) or not np.all(np.isfinite(wv)):
        msg = f"needs one finite weight per task, got {wv.tolist()} for a table of shape"
        raise BlendError(f"blend: {msg} {arr.shape}")
    if arr.ndim == 3 and arr.size >= _PARALLEL_MIN_CELLS and arr.dtype in (np.float32,
                                                                          np.float64):
        out = np.empty(arr.shape[1:], dtype=np.float64)
        _blend_parallel(np.ascontiguousarray(arr), wv, out)
        return out
    acc = np.zeros(arr.shape[1:], dtype=np.float64)
    for t in range(arr.shape[0]):  # task order, as the numba kernels sum
        acc += wv[t] * np.asarray(arr[t], dtype=np.float64)
    return acc


def top_k(
    table: ArrayLike, w: ArrayLike, k: int, *, valid: ArrayLike | None = None
) -> tuple[_I32, _F32]:
    """Rank the ``k`` best candidates of every user under the blend, in one parallel pass.

    Parameters
    ----------
    table : ndarray, shape (n_tasks, n_users, n_cand)
        Transformed task scores (float32 at demo scale).
    w : array_like, shape (n_tasks,)
        Signed weights, e.g. from :meth:`BlendWeights.vector`.
    k : int
        List length, ``>= 1``; may exceed ``n_cand``.
    valid : ndarray of bool, shape (n_users, n_cand), optional
        ``False`` marks candidates to skip (e.g. already seen).

    Returns
    -------
    index : ndarray of int32, shape (n_users, k)
        Candidate columns by blended score, best first; ties go to the lower index.
        Invalid and NaN candidates are skipped; short lists are padded with -1.
    score : ndarray of float32, shape (n_users, k)
        Their blended scores (:func:`blend` rounded to float32), NaN in the padding.
    """
    arr, wv = _check_table(table, w, "top_k")
    k = operator.index(k)
    if k < 1:
        raise BlendError(f"top_k: k must be >= 1, got {k}")
    _, n_users, n_cand = arr.shape
    mask = np.ones((n_users, n_cand), np.bool_) if valid is None else np.asarray(valid, np.bool_)
    if valid is not None and mask.shape != (n_users, n_cand):
        raise BlendError(f"top_k: valid must have shape {(n_users, n_cand)}, got {mask.shape}")
    index = np.full((n_users, k), -1, dtype=np.int32)
    score = np.full((n_users, k), np.nan, dtype=np.float32)
    kernel = _top_k_serial if arr.size < _PARALLEL_MIN_CELLS else _top_k_parallel
    kernel(arr, wv, k, np.ascontiguousarray(mask), index, score)
    return index, score
