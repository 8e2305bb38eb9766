"""A report's segment: which users it stands for, and their own ranking metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recsys.analysis import SubsetRanking, TaskRanking, evaluate_subset
from recsys.blend import BlendSpec
from recsys.project import Project

__all__ = ["SEGMENT_COLUMNS", "Segment", "SegmentMetrics", "segment_metrics"]

SEGMENT_COLUMNS = ["scope", "task", "higher_is_better", "metric", "value", "ci_low", "ci_high",
                   "users"]
"""Columns of :meth:`SegmentMetrics.to_frame` (the ``segment_metrics`` table)."""
_SEGMENT, _ALL = "segment", "all users"


@dataclass(frozen=True, slots=True)
class Segment:
    """Users sharing one value of a user attribute (``segment = premium``)."""

    column: str
    value: str
    """The attribute's value as text (a number column compares as a number)."""

    def label(self) -> str:
        """``"segment = premium"``."""
        return f"{self.column} = {self.value}"


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _ranking_dict(r: SubsetRanking) -> dict[str, Any]:
    return {"k": r.k, "users": r.users, "test_users": r.test_users, "tasks": [
        {"task": t.task, "higher_is_better": t.higher_is_better, f"ndcg@{r.k}": _num(t.ndcg),
         f"ndcg@{r.k}_ci": [_num(t.ndcg_low), _num(t.ndcg_high)], f"ndcg@{r.k}_users": t.ndcg_users,
         "gauc": _num(t.gauc), "gauc_ci": [_num(t.gauc_low), _num(t.gauc_high)],
         "gauc_users": t.gauc_users} for t in r.tasks]}


@dataclass(frozen=True, slots=True)
class SegmentMetrics:
    """The segment's own NDCG@K and GAUC per task beside the all-users figures.

    Each value has a 95 % bootstrap interval over the users behind it
    (:func:`recsys.analysis.evaluate_subset`: the numbers of the Segments page).
    """

    segment: Segment
    ranking: SubsetRanking
    """Every user of the segment (not only the users a report samples)."""
    overall: SubsetRanking
    """Every user."""

    def pairs(self) -> list[tuple[TaskRanking, TaskRanking]]:
        """(segment, all users) per task, in task order."""
        return list(zip(self.ranking.tasks, self.overall.tasks, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form.

        ``{"column", "value", "label", "segment": {...}, "all_users": {...}}``, each ``{"k", "users", "test_users", "tasks": [{"task",
        "higher_is_better", "ndcg@K", "ndcg@K_ci", "ndcg@K_users", "gauc", "gauc_ci",
        "gauc_users"}]}`` (null where a value is not defined).
        """
        return {"column": self.segment.column, "value": self.segment.value,
                "label": self.segment.label(), "segment": _ranking_dict(self.ranking),
                "all_users": _ranking_dict(self.overall)}

    def to_frame(self) -> pd.DataFrame:
        """Return the long form: one row per (scope, task, metric).

        ``scope`` is ``segment`` or ``all users``; each row holds the value, its interval
        and the users behind it.
        """
        rows = []
        for scope, r in ((_SEGMENT, self.ranking), (_ALL, self.overall)):
            for t in r.tasks:
                common = {"scope": scope, "task": t.task, "higher_is_better": t.higher_is_better}
                rows.append(common | {"metric": f"ndcg@{r.k}", "value": t.ndcg,
                                      "ci_low": t.ndcg_low, "ci_high": t.ndcg_high,
                                      "users": t.ndcg_users})
                rows.append(common | {"metric": "gauc", "value": t.gauc, "ci_low": t.gauc_low,
                                      "ci_high": t.gauc_high, "users": t.gauc_users})
        return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def segment_metrics(project: Project, spec: BlendSpec, segment: Segment,
                    user_ids: list[str]) -> SegmentMetrics:
    """Evaluate ``user_ids`` (every user of ``segment``) and all users at ``spec``."""
    return SegmentMetrics(segment=segment, ranking=evaluate_subset(project, spec, user_ids),
                          overall=evaluate_subset(project, spec))
