"""Run history: compare two trainings of a project.

A run's metrics carry bootstrap confidence intervals (:mod:`recsys.baselines`), so a
change is called significant only when it is larger than both runs' uncertainty: the
difference's normal-approximation 95 % interval, with each run's standard error read
from its percentile interval (width / 3.92), excludes 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys.baselines import MetricReport
from recsys.projectlog import RunEntry

__all__ = ["FeatureMove", "MetricChange", "RunComparison", "compare_runs", "record_training",
           "reports_from_metrics", "run_rows"]

_Z = 1.959964


@dataclass(frozen=True, slots=True)
class MetricChange:
    """One metric of one task in two runs."""

    task: str
    metric: str
    before: float
    after: float
    delta: float
    """``after - before``."""
    delta_ci_low: float
    delta_ci_high: float
    higher_is_better: bool
    significant: bool
    """The interval of ``delta`` excludes 0."""

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``no significant change``."""
        if not self.significant:
            return "no significant change"
        return "better" if (self.delta > 0) == self.higher_is_better else "worse"

    def to_row(self) -> dict[str, Any]:
        """Return the change as a table row."""
        return {"task": self.task, "metric": self.metric, "before": self.before,
                "after": self.after, "change": self.delta,
                "95% CI": f"[{self.delta_ci_low:+.4f}, {self.delta_ci_high:+.4f}]",
                "verdict": self.verdict}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in {**self.to_row(), "delta_ci_low": self.delta_ci_low,
                             "delta_ci_high": self.delta_ci_high,
                             "higher_is_better": self.higher_is_better,
                             "significant": self.significant}.items() if k != "95% CI"}


@dataclass(frozen=True, slots=True)
class FeatureMove:
    """A feature's share of a task model's split gain in two runs."""

    task: str
    feature: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        """``after - before`` (shares, 0..1)."""
        return self.after - self.before

    def to_row(self) -> dict[str, Any]:
        """Return the move as a table row (percentage points)."""
        return {"task": self.task, "feature": self.feature, "before %": 100 * self.before,
                "after %": 100 * self.after, "change (pp)": 100 * self.delta}


@dataclass(frozen=True, slots=True)
class RunComparison:
    """What changed between runs ``a`` and ``b``."""

    a: str
    b: str
    metrics: tuple[MetricChange, ...]
    features: tuple[FeatureMove, ...]
    """Sorted by the size of the move, largest first."""
    overlap: float
    """Mean over users in both runs of |top-K(a) ∩ top-K(b)| / K (NaN if none)."""
    k: int
    n_common_users: int
    same_data: bool
    same_config: bool

    def overlap_text(self) -> str:
        """``"0.83 at K=10"`` or ``"not available"``."""
        return "not available" if math.isnan(self.overlap) else \
            f"{self.overlap:.2f} at K={self.k}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"a": self.a, "b": self.b, "metrics": [m.to_dict() for m in self.metrics],
                "features": [{**f.to_row(), "delta": f.delta} for f in self.features],
                "overlap": None if math.isnan(self.overlap) else self.overlap, "k": self.k,
                "n_common_users": self.n_common_users, "same_data": self.same_data,
                "same_config": self.same_config}


def reports_from_metrics(metrics: Mapping[str, Any]) -> list[MetricReport]:
    """Return the metric reports a run recorded (``metrics["health"]["reports"]``).

    There are none for runs trained before health checks existed.
    """
    health = metrics.get("health") or {}
    return [MetricReport.from_dict(r) for r in health.get("reports", [])]


def _se(r: MetricReport) -> float:
    if math.isnan(r.ci_low) or math.isnan(r.ci_high):
        return 0.0
    return (r.ci_high - r.ci_low) / (2 * _Z)


def _metric_changes(a: Iterable[MetricReport], b: Iterable[MetricReport]) -> list[MetricChange]:
    before = {(r.task, r.metric): r for r in a}
    out = []
    for r in b:
        old = before.get((r.task, r.metric))
        if old is None or math.isnan(r.value) or math.isnan(old.value):
            continue
        delta = r.value - old.value
        half = _Z * math.hypot(_se(r), _se(old))
        out.append(MetricChange(task=r.task, metric=r.metric, before=old.value, after=r.value,
                                delta=delta, delta_ci_low=delta - half,
                                delta_ci_high=delta + half,
                                higher_is_better=r.higher_is_better,
                                significant=bool(half > 0 and abs(delta) > half)))
    return out


def _feature_moves(a: Mapping[str, Mapping[str, float]],
                   b: Mapping[str, Mapping[str, float]]) -> list[FeatureMove]:
    out = []
    for task in b:
        fa, fb = a.get(task, {}), b[task]
        for f in dict.fromkeys([*fa, *fb]):
            out.append(FeatureMove(task, f, float(fa.get(f, 0.0)), float(fb.get(f, 0.0))))
    return sorted(out, key=lambda m: -abs(m.delta))


def _overlap(a: Mapping[str, tuple[str, ...]],
             b: Mapping[str, tuple[str, ...]]) -> tuple[float, int, int]:
    common = [u for u in b if u in a]
    if not common:
        return math.nan, 0, 0
    k = max(max((len(v) for v in a.values()), default=0), max(len(v) for v in b.values()))
    shares = [len(set(a[u]) & set(b[u])) / k for u in common] if k else [math.nan]
    return float(np.mean(shares)), k, len(common)


def compare_runs(a: RunEntry, b: RunEntry) -> RunComparison:
    """Metrics (with significance), feature-importance moves and top-K overlap."""
    overlap, k, n = _overlap(a.top_k, b.top_k)
    return RunComparison(
        a=a.run_id, b=b.run_id,
        metrics=tuple(_metric_changes(reports_from_metrics(a.metrics),
                                      reports_from_metrics(b.metrics))),
        features=tuple(_feature_moves(a.importance, b.importance)), overlap=overlap, k=k,
        n_common_users=n, same_data=a.data_fingerprint == b.data_fingerprint,
        same_config=a.config_hash == b.config_hash)


def run_rows(runs: Iterable[RunEntry]) -> list[dict[str, Any]]:
    """One table row per run: id, time, data and config hashes, warnings, headline metrics."""
    rows = []
    for r in runs:
        row: dict[str, Any] = {"run_id": r.run_id, "created_at": r.created_at[:19],
                               "data": r.data_fingerprint[:8], "config": r.config_hash[:8],
                               "exposures": r.summary.get("n_exposures"),
                               "warnings": len(r.warnings)}
        for m in reports_from_metrics(r.metrics):
            if m.metric in ("auc", "rmse") and not math.isnan(m.value):
                row[f"{m.task} {m.metric}"] = round(m.value, 4)
        rows.append(row)
    return rows


_MAX_TOPK_USERS = 20_000
"""Users whose top-K a run keeps for comparisons (a seeded sample on larger projects)."""


def _gain_shares(model: Any) -> dict[str, float]:
    booster = model.booster_
    gain = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    total = gain.sum()
    names = booster.feature_name()
    return {n: float(g / total) for n, g in zip(names, gain, strict=True)} if total > 0 else {}


def record_training(project_dir: str | Path, models: Mapping[str, Any]) -> RunEntry:
    """Append a freshly saved project's run to its log.

    The entry holds metrics and warnings from the manifest, each model's gain shares, and
    the top-K at the config weights of up to 20,000 users (a seeded sample beyond that).
    """
    from recsys.project import Project

    project = Project.load(project_dir)
    importance = {name: _gain_shares(m) for name, m in models.items()}
    items, _ = project.recommend_all()
    users = project.user_ids()
    rows = np.arange(len(users))
    if rows.size > _MAX_TOPK_USERS:
        rows = np.sort(np.random.default_rng(0).choice(rows, _MAX_TOPK_USERS, replace=False))
    item_ids = project.item_ids()
    top = {str(users[r]): [str(item_ids[c]) for c in items[r] if c >= 0] for r in rows}
    return project.log().record_run(project.manifest, project_dir, importance=importance,
                                    top_k=top)
