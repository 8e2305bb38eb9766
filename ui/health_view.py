"""Model health on screen: the warnings banner every project page shows, the metrics-vs-
baseline table (Model health and Overview) and each task's diagnostic charts.

Everything is read from :func:`ui.state.health` (recorded at training): nothing here
computes a metric.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from recsys.errors import BlendscopeError
from ui import compute, state
from ui import health_charts as hc
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys.health import HealthWarning, ModelHealth
    from recsys.tasks import TaskSpec

__all__ = ["HEALTH_COLUMNS", "HEALTH_PAGE", "OVERVIEW_COLUMNS", "banner", "report_table",
           "task_charts", "warning_list"]

HEALTH_PAGE = "ui/pages/health.py"
_FIRST_CHARS = 170
_COLUMNS = {
    "task": st.column_config.TextColumn(width=80),
    "metric": st.column_config.TextColumn(
        width=84, help="Metric on the test window; ↑ higher is better, ↓ lower is better."),
    "model": st.column_config.TextColumn(width=58, help="The model's value (4 significant "
                                                        "digits)."),
    "95% CI": st.column_config.TextColumn(
        width=104, help="Percentile interval over bootstrap resamples of the test users."),
    "baseline": st.column_config.TextColumn(
        width=96, help="The best trivial baseline on the same rows: item (the item's past "
                       "rate or mean), global (one constant) or random (a random order)."),
    "lift": st.column_config.TextColumn(
        width=154, help="Model minus baseline where higher is better (baseline minus model "
                        "where lower is): 'not better than baseline' when its interval "
                        "includes 0."),
    "lift 95% CI": st.column_config.TextColumn(
        width=140, help="Paired interval: model and baseline on the same resampled users."),
    "positives": st.column_config.NumberColumn(width=66, format="%d",
                                               help="Test rows with a positive label."),
    "rows": st.column_config.NumberColumn(width=58, format="%d", help="Test rows behind the "
                                                                      "metric."),
    "users": st.column_config.NumberColumn(width=50, format="%d", help="Users behind the metric "
                                           "(NDCG: users with a positive; GAUC: with both)."),
    "trees": st.column_config.NumberColumn(width=54, format="%d",
                                           help="Boosting rounds kept by early stopping."),
}
HEALTH_COLUMNS = ("metric", "model", "95% CI", "baseline", "lift", "lift 95% CI", "positives",
                  "rows", "users")
"""A task's table on the Model health page (about 810 px: fits beside the sidebar at
1280 px)."""
OVERVIEW_COLUMNS = ("task", "metric", "model", "baseline", "lift", "lift 95% CI", "positives",
                    "trees")


def _health(view: state.View) -> ModelHealth | None:
    try:
        return state.health(view.stamp)
    except (BlendscopeError, KeyError, TypeError, ValueError):
        return None  # the page itself says why the project cannot be used


def banner(view: state.View) -> None:
    """One compact warning listing the project's model-health warnings, with a link to
    the Model health page (nothing when there are none)."""
    health = _health(view)
    if health is None or not health.warnings:
        return
    n = len(health.warnings)
    kinds, first = compute.warning_summary(health.warnings)
    text = f"**{n} model-health warning{'s' if n > 1 else ''}** — {md_escape(kinds)}."
    if first is not None:
        line = f"{first.task or 'all tasks'}: {first.message}"
        line = line if len(line) <= _FIRST_CHARS else line[:_FIRST_CHARS - 1] + "…"
        text += f"  \n{'First' if n > 1 else 'It'}: {md_escape(line)}"
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.warning(text, icon=":material/health_and_safety:")
    right.page_link(HEALTH_PAGE, label="Model health", icon=":material/arrow_forward:",
                    help="Every metric beside its baseline with confidence intervals, the "
                         "learning and diagnostic curves, and every warning in words.")


def warning_list(warnings: tuple[HealthWarning, ...]) -> None:
    """Every warning in words, grouped by task."""
    if not warnings:
        st.success("No model-health warning: every rule passed.")
        return
    by_task: dict[str, list[HealthWarning]] = {}
    for w in warnings:
        by_task.setdefault(w.task or "all tasks", []).append(w)
    lines = []
    for task, ws in by_task.items():
        lines.append(f"- **{md_escape(task)}**")
        lines += [f"    - {md_escape(w.message)} `{w.code}`" for w in ws]
    st.markdown("\n".join(lines))


def report_table(frame: pd.DataFrame, key: str, columns: tuple[str, ...]) -> None:
    """Rows of :func:`ui.compute.health_rows`: model beside the best baseline, intervals,
    lift and counts (the ``columns`` that fit the page)."""
    st.dataframe(frame[[c for c in columns if c in frame]], hide_index=True, key=key,
                 column_config=_COLUMNS, height=36 + 35 * len(frame))


def _positive_rate(health: ModelHealth, task: str) -> float:
    first = next(iter(health.reports_for(task)), None)
    return first.n_positives / first.n_rows if first and first.n_rows else math.nan


def _auc(health: ModelHealth, task: str) -> float:
    return next((r.value for r in health.reports_for(task) if r.metric == "auc"), math.nan)


def task_charts(health: ModelHealth, task: TaskSpec) -> None:
    """Learning curve and weekly metric, then ROC, precision-recall and reliability
    (binary) or predicted vs actual and residuals (regression)."""
    diag = health.diagnostics.get(task.name)
    curve = health.curves.get(task.name)
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown("**Learning curve** (training vs validation)")
        if curve is None:
            st.info("No learning curve was recorded for this model.")
        else:
            st.plotly_chart(hc.learning_curve(curve), key=f"hl_curve_{task.name}")
    with right:
        st.markdown("**By week of the test window**")
        if diag is None or not diag.weekly.week_start:
            st.info("No test rows to split by week.")
        else:
            higher = diag.weekly.metric not in ("rmse", "mae", "log_loss")
            st.plotly_chart(hc.weekly_metric(diag.weekly, higher), key=f"hl_week_{task.name}")
    if diag is None:
        return
    if diag.roc is not None and diag.pr is not None:
        cols = st.columns(3, gap="medium")
        cols[0].markdown("**ROC curve**")
        cols[0].plotly_chart(hc.roc_curve(diag.roc, _auc(health, task.name)),
                             key=f"hl_roc_{task.name}")
        cols[1].markdown("**Precision–recall**")
        cols[1].plotly_chart(hc.pr_curve(diag.pr, _positive_rate(health, task.name)),
                             key=f"hl_pr_{task.name}")
        if diag.reliability is not None:
            cols[2].markdown(f"**Reliability** (ECE {compute.number(diag.reliability.ece)})",
                             help="Expected calibration error: the mean gap between predicted "
                                  "probability and observed rate, weighted by rows per bin.")
            cols[2].plotly_chart(hc.reliability_diagram(diag.reliability),
                                 key=f"hl_rel_{task.name}")
    if diag.scatter is not None and diag.residuals is not None:
        left, right = st.columns(2, gap="medium")
        left.markdown("**Predicted vs actual** (sample of test rows)")
        left.plotly_chart(hc.scatter_actual(diag.scatter, task.label), key=f"hl_pva_{task.name}")
        right.markdown("**Residuals**")
        right.plotly_chart(hc.residual_histogram(diag.residuals, task.label),
                           key=f"hl_res_{task.name}")
