"""Per-task diagnostic curves of the test window, computed once at training.

ROC and precision-recall points, a reliability diagram with its expected calibration
error, a predicted-vs-actual sample and residual histogram, and the primary metric by
week — small enough to store in the manifest, so a dashboard draws them instantly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsys.metrics import binary_metrics, ranking_metrics, regression_metrics
from recsys.tasks import TaskSpec

__all__ = ["MAX_CURVE_POINTS", "MAX_SCATTER_POINTS", "RELIABILITY_BINS", "Curve",
           "Histogram", "Reliability", "TaskDiagnostics", "WeeklyMetric", "downsample",
           "task_diagnostics"]

MAX_CURVE_POINTS = 200
"""Points kept per ROC, precision-recall or learning curve."""
MAX_SCATTER_POINTS = 2000
"""Rows sampled (seeded) for a regression task's predicted-vs-actual plot."""
RELIABILITY_BINS = 10
"""Bins of the reliability diagram: deciles of the predicted probability (equal counts,
so rare-event models still get ten informative points)."""
RESIDUAL_BINS = 30
_WEEK_NS = 7 * 24 * 3600 * 10**9


def _floats(x: Any) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(x, dtype=np.float64)]


def _array(x: Any) -> NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in (x or [])], dtype=np.float64)


def downsample(n: int, limit: int = MAX_CURVE_POINTS) -> NDArray[np.int64]:
    """At most ``limit`` evenly spread indices of ``range(n)``, first and last kept."""
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


@dataclass(frozen=True, slots=True)
class Curve:
    """Points ``(x, y)`` of a diagnostic curve.

    ROC (false vs true positive rate), precision-recall (recall vs precision) or a
    predicted-vs-actual sample (prediction vs label).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"x": _floats(self.x), "y": _floats(self.y)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Curve:
        """Inverse of :meth:`to_dict`."""
        return cls(_array(d["x"]), _array(d["y"]))


@dataclass(frozen=True, slots=True)
class Reliability:
    """Mean predicted probability vs observed rate in bins of the prediction."""

    predicted: NDArray[np.float64]
    observed: NDArray[np.float64]
    count: NDArray[np.int64]
    ece: float
    """Expected calibration error: Σ count · |observed − predicted| / Σ count."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"predicted": _floats(self.predicted), "observed": _floats(self.observed),
                "count": [int(c) for c in self.count], "ece": _floats([self.ece])[0]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reliability:
        """Inverse of :meth:`to_dict`."""
        return cls(_array(d["predicted"]), _array(d["observed"]),
                   np.asarray(d["count"], dtype=np.int64),
                   math.nan if d["ece"] is None else float(d["ece"]))


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts of values in bins ``edges[i]:edges[i + 1]``."""

    edges: NDArray[np.float64]
    count: NDArray[np.int64]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"edges": _floats(self.edges), "count": [int(c) for c in self.count]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Histogram:
        """Inverse of :meth:`to_dict`."""
        return cls(_array(d["edges"]), np.asarray(d["count"], dtype=np.int64))


@dataclass(frozen=True, slots=True)
class WeeklyMetric:
    """The task's primary metric in each week of the test window."""

    metric: str
    week_start: tuple[str, ...]
    """ISO date of each week's first day (weeks count from the first test day)."""
    value: NDArray[np.float64]
    """NaN where the week's rows cannot define the metric (e.g. one class)."""
    n_rows: NDArray[np.int64]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metric": self.metric, "week_start": list(self.week_start),
                "value": _floats(self.value), "n_rows": [int(n) for n in self.n_rows]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WeeklyMetric:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["metric"]), tuple(d["week_start"]), _array(d["value"]),
                   np.asarray(d["n_rows"], dtype=np.int64))


@dataclass(frozen=True, slots=True)
class TaskDiagnostics:
    """Diagnostic curves of one task on the test window (None where they do not apply)."""

    task: str
    kind: str
    weekly: WeeklyMetric
    roc: Curve | None = None
    """Binary tasks: false positive rate (x) vs true positive rate (y)."""
    pr: Curve | None = None
    """Binary tasks: recall (x) vs precision (y)."""
    reliability: Reliability | None = None
    """Binary tasks: calibration of the predicted probability."""
    scatter: Curve | None = None
    """Regression tasks: predicted (x) vs actual (y) of a seeded sample of rows."""
    residuals: Histogram | None = None
    """Regression tasks: actual − predicted."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (absent parts as None)."""
        out: dict[str, Any] = {"task": self.task, "kind": self.kind,
                               "weekly": self.weekly.to_dict()}
        for name in ("roc", "pr", "reliability", "scatter", "residuals"):
            part = getattr(self, name)
            out[name] = None if part is None else part.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TaskDiagnostics:
        """Inverse of :meth:`to_dict`."""
        def part(name: str, kind: Any) -> Any:
            return None if d.get(name) is None else kind.from_dict(d[name])
        return cls(task=str(d["task"]), kind=str(d["kind"]),
                   weekly=WeeklyMetric.from_dict(d["weekly"]), roc=part("roc", Curve),
                   pr=part("pr", Curve), reliability=part("reliability", Reliability),
                   scatter=part("scatter", Curve), residuals=part("residuals", Histogram))


def _roc_pr(y: NDArray[np.float64], p: NDArray[np.float64]) -> tuple[Curve, Curve]:
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order] > 0, p[order]
    last = np.r_[np.flatnonzero(ps[1:] != ps[:-1]), ps.size - 1]  # end of each tie block
    tp, fp = np.cumsum(ys)[last], np.cumsum(~ys)[last]
    n_pos, n_neg = max(int(ys.sum()), 1), max(int((~ys).sum()), 1)
    fpr, tpr = np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]
    keep = downsample(fpr.size)
    precision = tp / np.maximum(tp + fp, 1)
    keep_pr = downsample(precision.size)
    return (Curve(fpr[keep], tpr[keep]),
            Curve((tp / n_pos)[keep_pr], precision[keep_pr]))


def reliability(y: NDArray[np.floating], p: NDArray[np.floating],
                n_bins: int = RELIABILITY_BINS) -> Reliability:
    """Reliability diagram over equal-count bins of ``p`` and its calibration error."""
    yy, pp = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if yy.size == 0:
        return Reliability(np.zeros(0), np.zeros(0), np.zeros(0, np.int64), math.nan)
    order = np.argsort(pp, kind="stable")
    parts = [x for x in np.array_split(order, min(n_bins, yy.size)) if x.size]
    pred = np.array([pp[x].mean() for x in parts])
    obs = np.array([yy[x].mean() for x in parts])
    count = np.array([x.size for x in parts], dtype=np.int64)
    return Reliability(pred, obs, count, float(np.sum(count * np.abs(obs - pred)) / yy.size))


def _primary(task: TaskSpec, y: NDArray[np.float64], pred: NDArray[np.float64],
             offsets: NDArray[np.int64], k: int) -> float:
    if task.kind == "binary":
        return binary_metrics(y, pred).auc
    if task.kind == "regression":
        return regression_metrics(y, pred).rmse
    return ranking_metrics(offsets, pred, np.maximum(y, 0.0), k).ndcg


def _weekly(task: TaskSpec, y: NDArray[np.float64], pred: NDArray[np.float64],
            users: NDArray[np.int64], timestamps: NDArray[np.int64], k: int) -> WeeklyMetric:
    metric = {"binary": "auc", "regression": "rmse"}.get(task.kind, f"ndcg@{k}")
    if y.size == 0:
        return WeeklyMetric(metric, (), np.zeros(0), np.zeros(0, np.int64))
    day0 = timestamps.min() // (_WEEK_NS // 7) * (_WEEK_NS // 7)
    week = (timestamps - day0) // _WEEK_NS
    starts, values, counts = [], [], []
    for w in np.unique(week):
        rows = np.flatnonzero(week == w)  # stays grouped by user: rows keep their order
        u = users[rows]
        offs = np.r_[np.flatnonzero(np.r_[True, u[1:] != u[:-1]]), rows.size]
        starts.append(str(np.datetime64(int(day0 + w * _WEEK_NS), "ns").astype("datetime64[D]")))
        values.append(_primary(task, y[rows], pred[rows], offs.astype(np.int64), k))
        counts.append(rows.size)
    return WeeklyMetric(metric, tuple(starts), np.array(values, dtype=np.float64),
                        np.array(counts, dtype=np.int64))


def task_diagnostics(task: TaskSpec, y: NDArray[np.floating], pred: NDArray[np.floating],
                     users: NDArray[np.integer], timestamps: NDArray[np.integer], k: int,
                     seed: int = 0) -> TaskDiagnostics:
    """Diagnostic curves of one task's test predictions.

    Parameters
    ----------
    task : TaskSpec
        The task; its kind picks the curves.
    y, pred : ndarray of float, shape (n_rows,)
        Labels and natural-unit predictions (probabilities for binary tasks), rows
        grouped by user.
    users, timestamps : ndarray of int, shape (n_rows,)
        User code and time (ns since the epoch) of each row.
    k : int
        Cut-off of a rank task's weekly NDCG.
    seed : int
        Seed of the regression sample.
    """
    yy, pp = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    weekly = _weekly(task, yy, pp, np.asarray(users, np.int64), np.asarray(timestamps, np.int64),
                     k)
    if task.kind == "binary" and yy.size:
        roc, pr = _roc_pr(yy, pp)
        return TaskDiagnostics(task.name, task.kind, weekly, roc=roc, pr=pr,
                               reliability=reliability(yy, pp))
    if task.kind == "regression" and yy.size:
        n = min(MAX_SCATTER_POINTS, yy.size)
        pick = np.sort(np.random.default_rng(seed).choice(yy.size, size=n, replace=False))
        counts, edges = np.histogram(yy - pp, bins=RESIDUAL_BINS)
        return TaskDiagnostics(task.name, task.kind, weekly, scatter=Curve(pp[pick], yy[pick]),
                               residuals=Histogram(edges, counts.astype(np.int64)))
    return TaskDiagnostics(task.name, task.kind, weekly)
