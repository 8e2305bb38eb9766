"""What a report's summary shows: task shares, the blend's top features, segment metrics.

Computed once here from the report and drawn by the HTML and PDF renderers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from explain._display import feature_labels
from explain.report._build import ExplanationReport, UserReport
from recsys.errors import ExplanationError

__all__ = ["DETAILS", "TOP_USERS", "Detail", "FeatureMean", "TaskShare", "detailed_users",
           "feature_means", "resolve_detail", "segment_display", "task_label", "task_shares"]

Detail = Literal["summary", "full"]
"""``summary``: a summary page, then only the first ``top_users`` users in detail (the
default for a segment); ``full``: every user's pages."""
DETAILS: tuple[str, ...] = get_args(Detail)
TOP_USERS = 10
"""Users shown in detail by a summary."""
FEATURES = 8
"""Features in a summary's table of the blend's top features."""


@dataclass(frozen=True, slots=True)
class TaskShare:
    """One task's mean part of the listed items' blended scores."""

    task: str
    share: float
    """Mean signed weighted task score (the task's term of the blend)."""
    fraction: float
    """Mean share of the score's absolute terms (signed)."""


@dataclass(frozen=True, slots=True)
class FeatureMean:
    """One feature's mean blended attribution over the listed items."""

    feature: str
    label: str
    """How a person reads it (its description, or the raw name)."""
    mean: float
    mean_abs: float


def resolve_detail(report: ExplanationReport, detail: Detail | None) -> Detail:
    """``detail``, or the default: ``summary`` for a segment's report, else ``full``."""
    if detail is None:
        return "summary" if report.segment is not None else "full"
    if detail not in DETAILS:
        raise ExplanationError(f"report: unknown detail {detail!r}; use summary or full")
    return detail


def detailed_users(report: ExplanationReport, detail: Detail,
                   top_users: int = TOP_USERS) -> tuple[UserReport, ...]:
    """Return the users a report shows in detail: all of them, or the first ``top_users``."""
    return report.users if detail == "full" else report.users[:max(int(top_users), 0)]


def task_shares(report: ExplanationReport) -> list[TaskShare]:
    """Each task's mean share of the listed items' scores, in task order."""
    items = [e for u in report.users for e in u.items]
    out = []
    for t in report.task_names():
        if not items:
            out.append(TaskShare(t, math.nan, math.nan))
            continue
        out.append(TaskShare(t, float(np.mean([e.tasks[t].share for e in items])),
                             float(np.mean([e.tasks[t].share_fraction for e in items]))))
    return out


def feature_means(report: ExplanationReport, n: int = FEATURES) -> list[FeatureMean]:
    """Return the ``n`` features with the largest mean |blended attribution| over the items."""
    items = [e for u in report.users for e in u.items]
    if not items:
        return []
    first = items[0].attribution
    values = np.stack([e.attribution.values for e in items])
    mean, mean_abs = values.mean(axis=0), np.abs(values).mean(axis=0)
    labels = feature_labels(first.feature_names, first.descriptions)
    order = np.argsort(-mean_abs, kind="stable")[:n]
    return [FeatureMean(first.feature_names[j], labels[first.feature_names[j]], float(mean[j]),
                        float(mean_abs[j])) for j in order]


def task_label(report: ExplanationReport, task: str) -> str:
    """Return the task's name, with ``(lower is better)`` for a minimised task."""
    minimised = {t.name for t in report.tasks if t.direction == "minimize"}
    return f"{task} (lower is better)" if task in minimised else task


def _value(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.4f}"


def _ci(lo: float, hi: float) -> str:
    return "n/a" if not (math.isfinite(lo) and math.isfinite(hi)) else f"[{lo:.4f}, {hi:.4f}]"


def segment_display(report: ExplanationReport) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the segment's metrics beside all users'.

    Per task and metric (NDCG@K, GAUC): the segment's value with its 95 % interval and the
    users behind it, then the same for all users (no rows without a segment).
    """
    seg = report.segment
    head = ["task", "metric", "segment", "95% CI", "users", "all users", "95% CI", "users"]
    if seg is None:
        return head, []
    rows = []
    for s, a in seg.pairs():
        label = task_label(report, s.task)
        rows.append([label, f"NDCG@{seg.ranking.k}", _value(s.ndcg), _ci(s.ndcg_low, s.ndcg_high),
                     f"{s.ndcg_users:,}", _value(a.ndcg), _ci(a.ndcg_low, a.ndcg_high),
                     f"{a.ndcg_users:,}"])
        rows.append([label, "GAUC", _value(s.gauc), _ci(s.gauc_low, s.gauc_high),
                     f"{s.gauc_users:,}", _value(a.gauc), _ci(a.gauc_low, a.gauc_high),
                     f"{a.gauc_users:,}"])
    return head, rows
