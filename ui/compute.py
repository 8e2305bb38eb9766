"""Presentation helpers: reshape engine results for charts (no Streamlit here)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from recsys.analysis import TargetResult
    from recsys.baselines import MetricReport
    from recsys.evaluate import Evaluation, Sweep
    from recsys.health import HealthWarning
    from recsys.project import Project, RankedList
    from recsys.projectlog import Flag, RunEntry

__all__ = ["EVERY_USER", "FLAG_ORDER", "flag_counts", "flag_frame", "flag_kind", "health_rows",
           "interval", "lift_verdict", "metric_label", "number", "run_label", "run_rows", "run_series",
           "run_tasks", "segment_rows", "target_rows", "task_contributions", "user_columns", "warning_summary"]


def task_contributions(ranked: RankedList, project: Project) -> pd.DataFrame:
    """Each listed item's task contributions ``sign · w · g(m)`` (they sum to its score)."""
    w = dict(zip(project.task_names(), project.spec(ranked.weights).signed, strict=True))
    return pd.DataFrame([{"rank": it.rank, "title": it.title,
                          **{t: w[t] * v for t, v in it.tasks.items()}} for it in ranked.items])


def target_rows(result: TargetResult, ev: Evaluation, sweep: Sweep,
                weights_now: Mapping[str, float], goal: str, kept: Sequence[str],
                pct: float) -> list[dict[str, object]]:
    """One row per task: direction, weight and NDCG@K now and proposed, the change, and
    the task's role in the search (goal, constrained or free)."""
    k = sweep.k
    up = dict(zip(sweep.tasks, sweep.maximize, strict=True))
    proposed = result.weights()
    rows: list[dict[str, object]] = []
    for t in sweep.tasks:
        now, then = ev.ranking[t].ndcg, float(result.point[f"ndcg_{t}"])
        rows.append({"task": t, "direction": "higher is better" if up[t] else "lower is better",
                     "weight now": weights_now[t], "weight proposed": proposed[t],
                     f"NDCG@{k} now": now, f"NDCG@{k} proposed": then, "change": then - now,
                     "constraint": f"within {pct:g}%" if t in kept else
                     ("goal" if t == goal else "—")})
    return rows


def segment_rows(frame: pd.DataFrame, column: str, tasks: Sequence[str],
                 k: int) -> pd.DataFrame:
    """One row per segment and task (long, so it fits the page) from
    :func:`recsys.analysis.segment_frame`: NDCG@K with its 95% interval and users, GAUC
    and the task's share in the top-K."""
    rows = []
    for _, r in frame.iterrows():
        for t in tasks:
            lo, hi = r[f"NDCG@{k} {t} low"], r[f"NDCG@{k} {t} high"]
            rows.append({column: r[column], "task": t, f"NDCG@{k}": r[f"NDCG@{k} {t}"],
                         "95% CI": interval(lo, hi), "users": r[f"NDCG@{k} {t} users"],
                         "GAUC": r[f"GAUC {t}"], "share": r[f"share {t}"],
                         "test users": r["test users"], "segment users": r["users"]})
    return pd.DataFrame(rows)


# -- model health ---------------------------------------------------------------------------
_METRIC_NAMES = {"auc": "AUC", "log_loss": "log loss", "rmse": "RMSE", "mae": "MAE",
                 "gauc": "GAUC", "mrr": "MRR"}


def metric_label(metric: str, higher_is_better: bool | None = None) -> str:
    """``"NDCG@10 ↑"``: a report's metric name for people, with its direction."""
    name, _, k = metric.partition("@")
    label = _METRIC_NAMES.get(name, name.upper() if k else name) + (f"@{k}" if k else "")
    return label if higher_is_better is None else f"{label} {'↑' if higher_is_better else '↓'}"


def number(value: float, signed: bool = False, digits: int = 4) -> str:
    """``digits`` significant digits (``"—"`` for NaN), as the health warnings write them."""
    if not math.isfinite(value):
        return "—"
    return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"


def interval(low: float, high: float, signed: bool = False) -> str:
    """``"[0.653, 0.702]"``: three significant digits (``"—"`` when an end is NaN)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"[{number(low, signed, 3)}, {number(high, signed, 3)}]"


def lift_verdict(report: MetricReport) -> str:
    """The lift over the best baseline, or ``"not better than baseline"`` when its interval
    includes 0 (``"worse than baseline"`` when it lies below 0)."""
    if report.baseline_name is None or not math.isfinite(report.lift):
        return "—"
    if report.lift_ci_high < 0:
        return "worse than baseline"
    if report.lift_ci_low <= 0:
        return "not better than baseline"
    return number(report.lift, signed=True)


def health_rows(reports: Sequence[MetricReport],
                trees: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per metric report: the model beside its best baseline, the lift and both
    intervals, and the positives, rows and users behind them (plus each task's ``trees``)."""
    rows = []
    for r in reports:
        row: dict[str, object] = {
            "task": r.task, "metric": metric_label(r.metric, r.higher_is_better),
            "model": number(r.value), "95% CI": interval(r.ci_low, r.ci_high),
            "baseline": "—" if r.baseline_name is None else
            f"{r.baseline_name} {number(r.baseline_value)}",
            "lift": lift_verdict(r), "lift 95% CI": interval(r.lift_ci_low, r.lift_ci_high, True),
            "positives": r.n_positives, "rows": r.n_rows, "users": r.n_users}
        if trees is not None:
            row["trees"] = trees.get(r.task)
        if r.reason:
            row["model"] = f"n/a: {r.reason}"
        rows.append(row)
    return pd.DataFrame(rows)


_SEVERITY = ("constant_scores", "constant_within_users", "few_trees", "no_lift", "overfitting",
             "few_positives", "imbalance_calibration", "small_window", "cold_start")
_CODE_NAMES = {"no_lift": "no lift over a baseline", "few_trees": "too few trees",
               "few_positives": "few positives", "overfitting": "overfitting",
               "constant_scores": "constant scores", "constant_within_users":
               "constant scores per user", "imbalance_calibration": "poor calibration",
               "small_window": "small window", "cold_start": "cold start"}


def warning_summary(warnings: Sequence[HealthWarning]) -> tuple[str, HealthWarning | None]:
    """``("14 no lift over a baseline, 2 overfitting, …", most severe warning)``."""
    counts = Counter(w.code for w in warnings)
    order = sorted(counts, key=lambda c: (_SEVERITY.index(c) if c in _SEVERITY else 99, c))
    text = ", ".join(f"{counts[c]} {_CODE_NAMES.get(c, c.replace('_', ' '))}" for c in order)
    first = min(warnings, key=lambda w: _SEVERITY.index(w.code) if w.code in _SEVERITY else 99,
                default=None)
    return text, first


# -- feedback flags ---------------------------------------------------------------------------
EVERY_USER = "every user"
"""How a flag on an item for every user ("never recommend") is shown."""


def flag_kind(flag: Flag) -> str:
    """``bad``, ``irrelevant``, ``good``, ``clear`` or ``never`` (an excluding flag for
    every user)."""
    return "never" if flag.user_id is None and flag.kind in ("bad", "irrelevant") else flag.kind


_FLAG_COLUMNS = ("id", "time", "user_id", "item_id", "kind", "note", "scenario", "transform",
                 "source", "weights", "title", "category", "item")


def user_columns(users: pd.DataFrame) -> list[str]:
    """The user attributes as :func:`flag_frame` names them (``user <name>`` where a name
    is taken by a flag column)."""
    return [f"user {c}" if c in _FLAG_COLUMNS else str(c) for c in users.columns
            if c != "user_id"]


def flag_frame(flags: Iterable[Flag], users: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per flag with the item's title (``item``: "title (id)"), its category, and
    the user's attributes (see :func:`user_columns`; none for ``every user`` rows)."""
    frame = pd.DataFrame([{"id": f.id, "time": f.created_at[:19].replace("T", " "),
                           "user_id": f.user_id or EVERY_USER, "item_id": f.item_id,
                           "kind": flag_kind(f), "note": f.note, "scenario": f.scenario,
                           "transform": f.transform, "source": f.source,
                           "weights": ", ".join(f"{t} {w:g}" for t, w in f.weights.items())}
                          for f in flags], columns=list(_FLAG_COLUMNS[:10]))
    frame = frame.merge(items[[c for c in ("item_id", "title", "category") if c in items]],
                        on="item_id", how="left")
    frame["title"] = frame["title"].fillna("(not in the catalogue)")
    frame["item"] = frame["title"].astype(str) + " (" + frame["item_id"] + ")"
    others = [c for c in users.columns if c != "user_id"]
    attrs = users.rename(columns=dict(zip(others, user_columns(users), strict=True)))
    return frame.merge(attrs, on="user_id", how="left")


def flag_counts(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Flags per value of ``by`` (rows) and kind (columns), largest total first."""
    if frame.empty:
        return pd.DataFrame()
    table = pd.crosstab(frame[by].fillna("—").astype(str), frame["kind"])
    table = table[[k for k in FLAG_ORDER if k in table.columns]]
    return table.loc[table.sum(axis=1).sort_values(ascending=False, kind="stable").index]


FLAG_ORDER = ("bad", "irrelevant", "never", "good", "clear")
"""Kinds in the order charts and tables show them."""


# -- runs -------------------------------------------------------------------------------------
def run_label(index: int, run: RunEntry) -> str:
    """``"#2 · 11-30 15:45"``: a run's short name on axes and pickers."""
    return f"#{index + 1} · {run.created_at[5:16].replace('T', ' ')}"


def run_series(runs: Sequence[RunEntry], task: str) -> dict[str, list[MetricReport | None]]:
    """``{metric: [the task's report in each run, or None]}`` in run order."""
    from recsys.runs import reports_from_metrics

    per_run = [{r.metric: r for r in reports_from_metrics(run.metrics) if r.task == task}
               for run in runs]
    metrics = list(dict.fromkeys(m for reports in per_run for m in reports))
    return {m: [reports.get(m) for reports in per_run] for m in metrics}


def run_tasks(runs: Sequence[RunEntry]) -> list[str]:
    """Tasks with metric reports in any run, in first-seen order."""
    from recsys.runs import reports_from_metrics

    return list(dict.fromkeys(r.task for run in runs for r in reports_from_metrics(run.metrics)))


def run_rows(runs: Sequence[RunEntry], labels: Sequence[str]) -> list[dict[str, object]]:
    """:func:`recsys.runs.run_rows` with each run's short label first."""
    from recsys.runs import run_rows as rows

    return [{"run": label, **row} for label, row in zip(labels, rows(runs), strict=True)]
