"""The health rules: when a task's metrics or model deserve a warning (thresholds below).

Re-exported by `recsys.health`; `recsys.health.assess_models` applies the rules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsys.baselines import CONFIDENCE, MetricReport
from recsys.diagnostics import MAX_CURVE_POINTS, TaskDiagnostics, downsample
from recsys.scoring import TestExposures
from recsys.tasks import TaskSpec

__all__ = [
    "CONSTANT_STD", "CONSTANT_USER_SHARE", "MAX_COLD_SHARE", "MAX_RELATIVE_ECE",
    "MIN_TEST_POSITIVES", "MIN_TREES", "MIN_WINDOW_ROWS", "OVERFIT_GAP", "RARE_POSITIVE_RATE",
    "FitSummary", "HealthWarning", "LearningCurve", "project_warnings", "task_warnings",
]  # fmt: skip

MIN_TEST_POSITIVES = 30
"""Fewer test positives (binary and rank tasks) or test rows (regression) than this make
every interval wide: ``few_positives``."""
MIN_TREES = 5
"""A model that keeps fewer boosting rounds than this (early stopping at iteration 1 keeps
one) learned little beyond the base rate: ``few_trees``."""
CONSTANT_STD = 1e-6
"""Scores whose standard deviation is below this count as constant: ``constant_scores``
over all test rows, ``constant_within_users`` within one user's test exposures."""
CONSTANT_USER_SHARE = 0.5
"""``constant_within_users`` when more than this share of the users with two or more test
exposures get one score for all of them (the ranking of each user is then arbitrary)."""
OVERFIT_GAP = 0.2
"""``overfitting`` when the validation loss at the kept iteration is worse than the
training loss by more than this fraction of it, and the gap grew by more than half of
that since the first iteration (a gap already there at iteration 1 is drift, not fit)."""
RARE_POSITIVE_RATE = 0.01
"""Positive rates below this are strong class imbalance."""
MAX_RELATIVE_ECE = 0.5
"""``imbalance_calibration`` when an imbalanced task's expected calibration error exceeds
this fraction of its positive rate."""
MIN_WINDOW_ROWS = 100
"""``small_window`` when a task's train, validation or test window holds fewer rows."""
MAX_COLD_SHARE = 0.5
"""``cold_start`` when more than this share of the test users or items, or of the test
exposures by their user or item, has no exposure before the test window."""


@dataclass(frozen=True, slots=True)
class HealthWarning:
    """Something that makes a task's metrics untrustworthy or its model no better than trivial."""

    code: str
    """``few_positives``, ``few_trees``, ``constant_scores``, ``constant_within_users``,
    ``no_lift``, ``overfitting``, ``imbalance_calibration``, ``small_window``,
    ``cold_start``."""
    task: str | None
    """The task, or None for the whole project."""
    message: str
    """One line for people."""
    figures: Mapping[str, Any] = field(default_factory=dict)
    """The numbers behind the message."""

    def line(self) -> str:
        """``warning: [code] task: message``."""
        return f"warning: [{self.code}] {self.task or 'all tasks'}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"code": self.code, "task": self.task, "message": self.message,
                "figures": {k: _json_number(v) for k, v in self.figures.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HealthWarning:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["code"]), d.get("task"), str(d["message"]), dict(d.get("figures", {})))


def _json_number(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


@dataclass(frozen=True, slots=True)
class LearningCurve:
    """Training and validation loss of one model per boosting iteration."""

    task: str
    metric: str
    """LightGBM's metric name, e.g. ``binary_logloss``, ``l2``, ``ndcg@10``."""
    iteration: NDArray[np.int64]
    """1-based iterations kept (at most `recsys.diagnostics.MAX_CURVE_POINTS`)."""
    train: NDArray[np.float64]
    validation: NDArray[np.float64]
    """Empty when there was no validation window."""
    best_iteration: int
    """The iteration early stopping kept."""
    higher_is_better: bool

    @classmethod
    def from_evals(cls, task: str, evals: Mapping[str, Mapping[str, Sequence[float]]],
                   best_iteration: int) -> LearningCurve | None:
        """From `recsys.models.TaskModel.evals_result_`; None without a training curve."""
        train = evals.get("train") or {}
        if not train:
            return None
        metric = next(iter(train))
        tr = np.asarray(train[metric], dtype=np.float64)
        va = np.asarray((evals.get("validation") or {}).get(metric, []), dtype=np.float64)
        keep = np.union1d(downsample(tr.size, MAX_CURVE_POINTS - 1),
                          [min(max(best_iteration, 1), tr.size) - 1])
        return cls(task=task, metric=metric, iteration=keep + 1, train=tr[keep],
                   validation=va[keep] if va.size == tr.size else va[:0],
                   best_iteration=int(best_iteration),
                   higher_is_better=metric.startswith(("ndcg", "map", "auc")))

    def gap(self) -> tuple[float, float]:
        """Return the relative validation-vs-train gap at the kept and the first iteration.

        A gap > 0 means validation is worse; both are NaN without validation.
        """
        if self.validation.size == 0:
            return math.nan, math.nan
        sign = -1.0 if self.higher_is_better else 1.0
        at = int(np.searchsorted(self.iteration, self.best_iteration))
        at = min(at, self.iteration.size - 1)

        def rel(i: int) -> float:
            t, v = self.train[i], self.validation[i]
            return float(sign * (v - t) / abs(t)) if t != 0 else math.nan
        return rel(at), rel(0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"task": self.task, "metric": self.metric,
                "iteration": [int(i) for i in self.iteration],
                "train": [_json_number(float(v)) for v in self.train],
                "validation": [_json_number(float(v)) for v in self.validation],
                "best_iteration": self.best_iteration, "higher_is_better": self.higher_is_better}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LearningCurve:
        """Inverse of :meth:`to_dict`."""
        def arr(key: str) -> NDArray[np.float64]:
            return np.array([np.nan if v is None else v for v in d[key]], dtype=np.float64)
        return cls(str(d["task"]), str(d["metric"]), np.asarray(d["iteration"], dtype=np.int64),
                   arr("train"), arr("validation"), int(d["best_iteration"]),
                   bool(d["higher_is_better"]))



@dataclass(frozen=True, slots=True)
class FitSummary:
    """How one task's model was fitted."""

    trees: int
    """Boosting rounds kept."""
    rows: Mapping[str, int]
    """Rows the model saw per window: ``train`` and ``validation``."""
    curve: LearningCurve | None = None



def _g(v: float) -> str:
    return f"{v:.4g}"


def _few_positives(task: TaskSpec, first: MetricReport) -> list[HealthWarning]:
    regression = task.kind == "regression"
    n = first.n_rows if regression else first.n_positives
    if n >= MIN_TEST_POSITIVES:
        return []
    what = "test rows" if regression else "test positives"
    return [HealthWarning("few_positives", task.name,
                          f"only {n} {what} (< {MIN_TEST_POSITIVES}): every metric is noisy "
                          "and its confidence interval wide",
                          {"n_positives": first.n_positives, "n_rows": first.n_rows,
                           "threshold": MIN_TEST_POSITIVES})]


def _few_trees(task: TaskSpec, fit: FitSummary | None) -> list[HealthWarning]:
    if fit is None or fit.trees >= MIN_TREES:
        return []
    return [HealthWarning("few_trees", task.name,
                          f"the model kept {fit.trees} tree(s) (early stopping at iteration "
                          f"{fit.trees}): it learned little beyond the base rate",
                          {"trees": fit.trees, "threshold": MIN_TREES})]


def _within_user_std(score: NDArray[np.float64],
                     offsets: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return the score spread (std) of each user with >= 2 rows, and those users' sizes."""
    n = np.diff(offsets)
    grp = np.repeat(np.arange(n.size), n)
    mean = np.bincount(grp, weights=score, minlength=n.size) / np.maximum(n, 1)
    var = np.bincount(grp, weights=(score - mean[grp]) ** 2, minlength=n.size) / np.maximum(n, 1)
    multi = n >= 2
    return np.sqrt(var[multi]), n[multi]


def _constant(task: TaskSpec, score: NDArray[np.float64],
              offsets: NDArray[np.int64]) -> list[HealthWarning]:
    s = np.where(np.isfinite(score), score, 0.0)
    if s.size == 0:
        return []
    std = float(s.std())
    if std < CONSTANT_STD:
        return [HealthWarning("constant_scores", task.name,
                              f"every test exposure gets the same score ({_g(float(s[0]))}): "
                              "the model ranks nothing", {"std": std, "threshold": CONSTANT_STD})]
    user_std, _ = _within_user_std(s, offsets)
    if user_std.size == 0:
        return []
    share = float((user_std < CONSTANT_STD).mean())
    if share <= CONSTANT_USER_SHARE:
        return []
    return [HealthWarning("constant_within_users", task.name,
                          f"{share:.0%} of users get one score for all their test exposures: "
                          "scores differ between users but do not rank any user's items "
                          "(per-user AUC 0.5)",
                          {"share_constant_users": share, "n_users": int(user_std.size),
                           "median_user_std": float(np.median(user_std)),
                           "threshold": CONSTANT_USER_SHARE})]


def _no_lift(reports: Sequence[MetricReport]) -> list[HealthWarning]:
    out = []
    level = f"{CONFIDENCE:.0%} CI"
    for r in reports:
        if r.baseline_name is None or not math.isfinite(r.lift_ci_low) or r.lift_ci_low > 0:
            continue
        verdict = "is worse than" if r.lift_ci_high < 0 else "is not better than"
        out.append(HealthWarning(
            "no_lift", r.task,
            f"{r.metric} {_g(r.value)} {verdict} the {r.baseline_name} baseline "
            f"{_g(r.baseline_value)} (lift {r.lift:+.4g}, {level} [{r.lift_ci_low:+.4g}, "
            f"{r.lift_ci_high:+.4g}])",
            {"metric": r.metric, "value": r.value, "baseline": r.baseline_name,
             "baseline_value": r.baseline_value, "lift": r.lift, "lift_ci_low": r.lift_ci_low,
             "lift_ci_high": r.lift_ci_high}))
    return out


def _overfitting(task: TaskSpec, fit: FitSummary | None) -> list[HealthWarning]:
    if fit is None or fit.curve is None:
        return []
    gap, first = fit.curve.gap()
    if not (math.isfinite(gap) and gap > OVERFIT_GAP
            and (not math.isfinite(first) or gap - first > OVERFIT_GAP / 2)):
        return []
    c = fit.curve
    return [HealthWarning("overfitting", task.name,
                          f"validation {c.metric} is {gap:.0%} worse than training at "
                          f"iteration {c.best_iteration} (gap at iteration 1: {first:.0%})",
                          {"metric": c.metric, "gap": gap, "gap_first_iteration": first,
                           "best_iteration": c.best_iteration, "threshold": OVERFIT_GAP})]


def _calibration(task: TaskSpec, reports: Sequence[MetricReport],
                 diag: TaskDiagnostics) -> list[HealthWarning]:
    if task.kind != "binary" or diag.reliability is None or not reports:
        return []
    first = reports[0]
    rate = first.n_positives / first.n_rows if first.n_rows else math.nan
    ece = diag.reliability.ece
    # no positives at all: calibration relative to the rate is undefined (few_positives and
    # no_lift already say what is wrong)
    if not (0 < rate < RARE_POSITIVE_RATE and ece > MAX_RELATIVE_ECE * rate):
        return []
    return [HealthWarning("imbalance_calibration", task.name,
                          f"rare positives ({rate:.2%} of test rows) and poor calibration: "
                          f"expected calibration error {_g(ece)} is {ece / rate:.0%} of the "
                          "positive rate; read probabilities as ranks only",
                          {"positive_rate": rate, "ece": ece,
                           "rate_threshold": RARE_POSITIVE_RATE,
                           "relative_ece_threshold": MAX_RELATIVE_ECE})]


def _small_window(task: TaskSpec, fit: FitSummary | None, n_test: int) -> list[HealthWarning]:
    rows = {**(fit.rows if fit is not None else {}), "test": n_test}
    small = {w: n for w, n in rows.items() if n < MIN_WINDOW_ROWS}
    if not small:
        return []
    text = ", ".join(f"{w} {n} rows" for w, n in small.items())
    return [HealthWarning("small_window", task.name,
                          f"few rows in the split windows ({text}; < {MIN_WINDOW_ROWS}): "
                          "widen the window fractions or bring more data",
                          {**{f"{w}_rows": n for w, n in rows.items()},
                           "threshold": MIN_WINDOW_ROWS})]


def task_warnings(task: TaskSpec, reports: Sequence[MetricReport], score: NDArray[np.float64],
                  offsets: NDArray[np.int64], diag: TaskDiagnostics, fit: FitSummary | None,
                  n_test: int) -> list[HealthWarning]:
    """Every rule of one task, in a fixed order."""
    out = _few_positives(task, reports[0]) if reports else []
    return (out + _few_trees(task, fit) + _constant(task, score, offsets)
            + _no_lift(reports) + _overfitting(task, fit) + _calibration(task, reports, diag)
            + _small_window(task, fit, n_test))


def project_warnings(test: TestExposures, item_exposures: NDArray[np.float64],
                     user_exposures: NDArray[np.float64]) -> list[HealthWarning]:
    """Rules about the whole test window: cold-start users and items."""
    if len(test) == 0:
        return []
    users, items = np.unique(test.users), np.unique(test.items)
    cold_u, cold_i = user_exposures == 0, item_exposures == 0
    figures = {"cold_user_share": float(cold_u[users].mean()),
               "cold_user_row_share": float(cold_u[test.users].mean()),
               "cold_item_share": float(cold_i[items].mean()),
               "cold_item_row_share": float(cold_i[test.items].mean())}
    if max(figures.values()) <= MAX_COLD_SHARE:
        return []
    return [HealthWarning(
        "cold_start", None,
        f"{figures['cold_user_row_share']:.0%} of test exposures are by users with no exposure "
        f"before the test window ({figures['cold_user_share']:.0%} of test users) and "
        f"{figures['cold_item_row_share']:.0%} show such items ({figures['cold_item_share']:.0%} "
        "of test items): history features and item baselines know nothing of them",
        {**figures, "n_test_users": int(users.size), "n_test_items": int(items.size),
         "threshold": MAX_COLD_SHARE})]
