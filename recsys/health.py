"""Model health, computed once at training and read back typed.

Every metric beside a trivial baseline with confidence intervals, learning curves,
diagnostic curves and warnings.

>>> from recsys.health import model_health
>>> h = model_health(Project.load("artifacts/demo"))          # doctest: +SKIP
>>> h.report("click", "auc").lift_ci_low > 0                  # doctest: +SKIP
>>> [w.line() for w in h.warnings]                            # doctest: +SKIP

Training stores `ModelHealth.to_dict` as ``manifest["metrics"]["health"]``; see
`recsys.baselines` for the baselines and intervals, `recsys.diagnostics` for the curves
and the constants below for when a warning is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys._health_checks import (
    CONSTANT_STD,
    CONSTANT_USER_SHARE,
    MAX_COLD_SHARE,
    MAX_RELATIVE_ECE,
    MIN_TEST_POSITIVES,
    MIN_TREES,
    MIN_WINDOW_ROWS,
    OVERFIT_GAP,
    RARE_POSITIVE_RATE,
    FitSummary,
    HealthWarning,
    LearningCurve,
    project_warnings,
    task_warnings,
)
from recsys.baselines import (
    CONFIDENCE,
    N_BOOTSTRAP,
    SEED,
    MetricReport,
    UserBootstrap,
    item_baseline,
    metric_reports,
    natural_prediction,
)
from recsys.diagnostics import TaskDiagnostics, task_diagnostics
from recsys.errors import ArtifactError
from recsys.scoring import TestExposures
from recsys.tasks import TaskSpec, task_score

if TYPE_CHECKING:
    from recsys.features import FeatureStore
    from recsys.project import Project

__all__ = [
    "CONSTANT_STD", "CONSTANT_USER_SHARE", "MAX_COLD_SHARE", "MAX_RELATIVE_ECE",
    "MIN_TEST_POSITIVES", "MIN_TREES", "MIN_WINDOW_ROWS", "OVERFIT_GAP", "RARE_POSITIVE_RATE",
    "FitSummary", "HealthWarning", "LearningCurve", "MetricReport", "ModelHealth",
    "PriorTotals", "assess_models", "model_health",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelHealth:
    """Everything the health checks found, per task and for the whole project."""

    reports: tuple[MetricReport, ...]
    warnings: tuple[HealthWarning, ...]
    curves: Mapping[str, LearningCurve]
    """Learning curve of each task's model."""
    diagnostics: Mapping[str, TaskDiagnostics]
    k: int
    """Cut-off of the NDCG reports."""
    n_bootstrap: int = N_BOOTSTRAP
    confidence: float = CONFIDENCE
    seed: int = SEED

    def task_names(self) -> list[str]:
        """Tasks with reports, in order."""
        return list(dict.fromkeys(r.task for r in self.reports))

    def reports_for(self, task: str) -> tuple[MetricReport, ...]:
        """One task's reports."""
        return tuple(r for r in self.reports if r.task == task)

    def report(self, task: str, metric: str) -> MetricReport:
        """One report, or KeyError naming what exists."""
        for r in self.reports:
            if r.task == task and r.metric == metric:
                return r
        have = ", ".join(f"{r.task}/{r.metric}" for r in self.reports)
        raise KeyError(f"no health report '{task}/{metric}'; reports are {have}")

    def warnings_for(self, task: str | None) -> tuple[HealthWarning, ...]:
        """Warnings of one task (None: the project-wide ones)."""
        return tuple(w for w in self.warnings if w.task == task)

    def to_frame(self) -> pd.DataFrame:
        """One row per report (the fields of `MetricReport` except ``baselines``)."""
        rows = [{k: v for k, v in r.to_dict().items() if k != "baselines"} for r in self.reports]
        return pd.DataFrame(rows)

    def to_dict(self, *, curves: bool = True) -> dict[str, Any]:
        """Return the JSON-ready form (strict JSON: no NaN).

        ``curves=False`` leaves out the learning and diagnostic curves.
        """
        out: dict[str, Any] = {
            "k": self.k, "n_bootstrap": self.n_bootstrap, "confidence": self.confidence,
            "seed": self.seed, "reports": [r.to_dict() for r in self.reports],
            "warnings": [w.to_dict() for w in self.warnings]}
        if curves:
            out["learning_curves"] = {t: c.to_dict() for t, c in self.curves.items()}
            out["diagnostics"] = {t: d.to_dict() for t, d in self.diagnostics.items()}
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelHealth:
        """Inverse of :meth:`to_dict`."""
        return cls(
            reports=tuple(MetricReport.from_dict(r) for r in d["reports"]),
            warnings=tuple(HealthWarning.from_dict(w) for w in d["warnings"]),
            curves={t: LearningCurve.from_dict(c)
                    for t, c in (d.get("learning_curves") or {}).items()},
            diagnostics={t: TaskDiagnostics.from_dict(x)
                         for t, x in (d.get("diagnostics") or {}).items()},
            k=int(d["k"]), n_bootstrap=int(d.get("n_bootstrap", N_BOOTSTRAP)),
            confidence=float(d.get("confidence", CONFIDENCE)), seed=int(d.get("seed", SEED)))


def model_health(project: Project) -> ModelHealth:
    """Return the health a project recorded at training.

    It is ``manifest["metrics"]["health"]``, read once when the project loads.

    Raises
    ------
    ArtifactError
        The project was trained before health checks were recorded.
    """
    health = project.eval_context.health
    if health is None:
        raise ArtifactError(f"project '{project.root.name}' has no model health (trained by an "
                            "older Blendscope); retrain it with `recsys train`")
    return health


@dataclass(frozen=True, slots=True)
class PriorTotals:
    """What was known before the test window, for baselines and cold-start checks."""

    item_totals: NDArray[np.float64]
    """(n_items, 1 + n_labels): exposures, then each label's sum."""
    labels: tuple[str, ...]
    """Label column of each ``item_totals`` column after the first."""
    smoothing: float
    user_exposures: NDArray[np.float64]
    """(n_users,) exposures of each user."""

    @classmethod
    def from_store(cls, store: FeatureStore) -> PriorTotals:
        """From a feature store (its totals cover the rows before the test window)."""
        return cls(store.item_totals, tuple(store.layout.labels), store.layout.smoothing,
                   store.user_totals[:, 0])


def assess_models(tasks: tuple[TaskSpec, ...], test: TestExposures, prior: PriorTotals,
                  k: int, fits: Mapping[str, FitSummary] | None = None) -> ModelHealth:
    """Baselines, intervals, diagnostics and warnings of every task on the test rows.

    Parameters
    ----------
    tasks : tuple of TaskSpec
        Tasks in order; ``test.margins`` holds one model per task in this order.
    test : TestExposures
        Labels and margins of the test exposures, grouped by user.
    prior : PriorTotals
        Item label totals and user exposures before the test window.
    k : int
        Cut-off of NDCG@k.
    fits : mapping of str to FitSummary, optional
        Per task, how its model was fitted (trees, window rows, learning curve); the
        checks that need it are skipped without it.

    Returns
    -------
    ModelHealth
        Reports in task order (see `recsys.baselines.metric_reports`), then warnings.
    """
    margins = {t.name: test.margins[j] for j, t in enumerate(tasks)}
    boot = UserBootstrap.draw(test.offsets)
    reports: list[MetricReport] = []
    diagnostics: dict[str, TaskDiagnostics] = {}
    warnings: list[HealthWarning] = []
    fits = fits or {}
    for j, t in enumerate(tasks):
        y = test.labels[j]
        score = task_score(t, margins)
        rate, glob = item_baseline(prior.item_totals, prior.labels.index(t.label),
                                   prior.smoothing)
        mine = metric_reports(t, y, score, rate[test.items], glob, boot, k)
        pred = natural_prediction(t, score)
        diagnostics[t.name] = task_diagnostics(t, y, pred, test.users, test.timestamps, k)
        reports += mine
        warnings += task_warnings(t, mine, score, test.offsets, diagnostics[t.name],
                                  fits.get(t.name), len(test))
    warnings += project_warnings(test, prior.item_totals[:, 0], prior.user_exposures)
    curves = {t: f.curve for t, f in fits.items() if f.curve is not None}
    return ModelHealth(reports=tuple(reports), warnings=tuple(warnings), curves=curves,
                       diagnostics=diagnostics, k=k)
