"""Plotly figures of the Model health and Runs pages: pure functions from the library's
typed results (`recsys.health`, `recsys.diagnostics`, `recsys.runs`) to figures.

Same palette, font and escaping as :mod:`ui.charts`: every axis says what it measures,
every string from the data goes through :func:`ui.text.plot_escape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ui.charts import NEG, OKABE_ITO, POS, _layout
from ui.compute import FLAG_ORDER, metric_label
from ui.text import plot_escape as esc

if TYPE_CHECKING:
    import pandas as pd

    from recsys.baselines import MetricReport
    from recsys.diagnostics import Curve, Histogram, Reliability, WeeklyMetric
    from recsys.health import LearningCurve

__all__ = ["FLAG_COLOURS", "flag_bars", "learning_curve", "pr_curve", "reliability_diagram",
           "residual_histogram", "roc_curve", "run_metric_lines", "scatter_actual",
           "weekly_metric"]

_GRID = "#888"
_CHANCE = dict(color="#999", dash="dot", width=1)
FLAG_COLOURS = {"bad": NEG, "irrelevant": "#E69F00", "never": "#000000", "good": "#009E73",
                "clear": "#999999"}
"""One colour per flag kind (bad and never recommend in the warm/dark end)."""


def _fit(fig: go.Figure, *, height: int = 320, legend_below: bool = False) -> go.Figure:
    fig = _layout(fig, height=height)
    if legend_below:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.25, x=0),
                          margin=dict(b=10))
    return fig


def learning_curve(curve: LearningCurve) -> go.Figure:
    """Training and validation metric per boosting iteration; the kept iteration marked."""
    better = "higher is better" if curve.higher_is_better else "lower is better"
    fig = go.Figure()
    fig.add_scatter(x=curve.iteration, y=curve.train, mode="lines", name="training",
                    line=dict(color=POS, width=2),
                    hovertemplate="iteration %{x}<br>training %{y:.4g}<extra></extra>")
    if curve.validation.size:
        fig.add_scatter(x=curve.iteration, y=curve.validation, mode="lines", name="validation",
                        line=dict(color=NEG, width=2),
                        hovertemplate="iteration %{x}<br>validation %{y:.4g}<extra></extra>")
    fig.add_vline(x=curve.best_iteration, line=dict(color="#333", dash="dot", width=1),
                  annotation_text=f"kept: {curve.best_iteration}",
                  annotation_position="top right")
    fig.update_xaxes(title="boosting iteration")
    fig.update_yaxes(title=f"{esc(curve.metric)} ({better})")
    return _fit(fig)


def roc_curve(curve: Curve, auc: float) -> go.Figure:
    """ROC curve with the chance diagonal."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=_CHANCE, name="chance (AUC 0.5)",
                    hoverinfo="skip")
    label = f"model (AUC {auc:.3f})" if math.isfinite(auc) else "model"
    fig.add_scatter(x=curve.x, y=curve.y, mode="lines", name=label, line=dict(color=POS, width=2),
                    hovertemplate="FPR %{x:.3f}<br>TPR %{y:.3f}<extra></extra>")
    fig.update_xaxes(title="false positive rate", range=[0, 1], constrain="domain")
    fig.update_yaxes(title="true positive rate (recall)", range=[0, 1.02])
    return _fit(fig, legend_below=True)


def pr_curve(curve: Curve, positive_rate: float) -> go.Figure:
    """Precision-recall curve with the positive rate (a random ranking's precision)."""
    fig = go.Figure()
    if math.isfinite(positive_rate):
        fig.add_scatter(x=[0, 1], y=[positive_rate] * 2, mode="lines", line=_CHANCE,
                        name=f"random (positive rate {positive_rate:.3g})", hoverinfo="skip")
    fig.add_scatter(x=curve.x, y=curve.y, mode="lines", name="model",
                    line=dict(color=POS, width=2),
                    hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}<extra></extra>")
    fig.update_xaxes(title="recall", range=[0, 1])
    fig.update_yaxes(title="precision", rangemode="tozero")
    return _fit(fig, legend_below=True)


def reliability_diagram(rel: Reliability) -> go.Figure:
    """Mean predicted probability vs observed rate per decile of the prediction, with the
    diagonal of perfect calibration; the ECE in the legend."""
    top = float(np.nanmax(np.r_[rel.predicted, rel.observed, 1e-9])) * 1.08
    fig = go.Figure()
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", line=_CHANCE,
                    name="perfect calibration", hoverinfo="skip")
    fig.add_scatter(x=rel.predicted, y=rel.observed, mode="lines+markers",
                    name=f"model (ECE {rel.ece:.3g})", line=dict(color=POS, width=2),
                    marker=dict(size=7), customdata=rel.count,
                    hovertemplate="predicted %{x:.4f}<br>observed %{y:.4f}"
                                  "<br>%{customdata} rows<extra></extra>")
    fig.update_xaxes(title="mean predicted probability", range=[0, top])
    fig.update_yaxes(title="observed positive rate", range=[0, top])
    return _fit(fig, legend_below=True)


def scatter_actual(curve: Curve, label: str) -> go.Figure:
    """Predicted vs actual of a sample of test rows, with the diagonal."""
    lo = float(np.nanmin(np.r_[curve.x, curve.y, 0.0]))
    hi = float(np.nanmax(np.r_[curve.x, curve.y, 1e-9]))
    fig = go.Figure()
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=_CHANCE,
                    name="predicted = actual", hoverinfo="skip")
    fig.add_scatter(x=curve.x, y=curve.y, mode="markers", name=f"{curve.x.size} sampled rows",
                    marker=dict(size=5, color=POS, opacity=0.45),
                    hovertemplate="predicted %{x:.3g}<br>actual %{y:.3g}<extra></extra>")
    fig.update_xaxes(title=f"predicted {esc(label)}")
    fig.update_yaxes(title=f"actual {esc(label)}")
    return _fit(fig, legend_below=True)


def residual_histogram(hist: Histogram, label: str) -> go.Figure:
    """Test rows per bin of actual − predicted."""
    mids = (hist.edges[:-1] + hist.edges[1:]) / 2
    fig = go.Figure(go.Bar(x=mids, y=hist.count, width=np.diff(hist.edges), marker_color=POS,
                           customdata=np.c_[hist.edges[:-1], hist.edges[1:]],
                           hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: "
                                         "%{y} rows<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#333", dash="dot", width=1))
    fig.update_xaxes(title=f"residual: actual − predicted {esc(label)}")
    nonzero = hist.count[hist.count > 0]
    skewed = nonzero.size > 1 and nonzero.max() > 50 * np.median(nonzero)
    fig.update_yaxes(title="test rows (log scale)" if skewed else "test rows",
                     type="log" if skewed else "linear")
    return _fit(fig, height=320).update_layout(showlegend=False, bargap=0.05)


def weekly_metric(weekly: WeeklyMetric, higher_is_better: bool) -> go.Figure:
    """The task's primary metric in each week of the test window (rows in the hover)."""
    better = "higher is better" if higher_is_better else "lower is better"
    fig = go.Figure(go.Scatter(
        x=list(weekly.week_start), y=weekly.value, mode="lines+markers",
        line=dict(color=POS, width=2), marker=dict(size=8), customdata=weekly.n_rows,
        hovertemplate="week of %{x}<br>%{y:.4g}<br>%{customdata} test rows<extra></extra>"))
    fig.update_xaxes(title="week of the test window (first day)", type="category")
    fig.update_yaxes(title=f"{metric_label(weekly.metric)} ({better})")
    return _fit(fig).update_layout(showlegend=False)


def run_metric_lines(series: Mapping[str, Sequence[MetricReport | None]],
                     runs: Sequence[str]) -> go.Figure:
    """One panel per metric: the model's value across runs (line) with its 95% CI (band)
    and the best baseline (dotted)."""
    names = list(series)
    cols = 2 if len(names) > 1 else 1
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(rows=rows, cols=cols, vertical_spacing=0.22 if rows > 1 else 0.1,
                        horizontal_spacing=0.12,
                        subplot_titles=[metric_label(m) for m in names])
    for i, metric in enumerate(names):
        r, c = divmod(i, cols)
        pts = series[metric]
        value = [p.value if p else None for p in pts]
        lo = [p.ci_low if p else None for p in pts]
        hi = [p.ci_high if p else None for p in pts]
        base = [p.baseline_value if p and p.baseline_name else None for p in pts]
        first = i == 0
        kw = dict(row=r + 1, col=c + 1)
        fig.add_scatter(x=runs, y=hi, mode="lines", line=dict(width=0), showlegend=False,
                        hoverinfo="skip", **kw)
        fig.add_scatter(x=runs, y=lo, mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor="rgba(0,114,178,0.18)", name="95% CI", showlegend=first,
                        legendgroup="ci", hoverinfo="skip", **kw)
        fig.add_scatter(x=runs, y=value, mode="lines+markers", name="model", showlegend=first,
                        legendgroup="model", line=dict(color=POS, width=2),
                        hovertemplate="%{x}<br>%{y:.4g}<extra></extra>", **kw)
        fig.add_scatter(x=runs, y=base, mode="lines", name="best baseline", showlegend=first,
                        legendgroup="base", line=dict(color=OKABE_ITO[1], dash="dot"),
                        hovertemplate="baseline %{y:.4g}<extra></extra>", **kw)
        known = next((p for p in pts if p), None)
        better = "higher is better" if known is None or known.higher_is_better \
            else "lower is better"
        fig.update_yaxes(title_text=better, title_font=dict(size=11), **kw)
        fig.update_xaxes(type="category", tickfont=dict(size=11), **kw)
    fig = _layout(fig, height=max(320, 60 + 290 * rows))
    fig.update_annotations(font=dict(size=13))
    fig.update_layout(margin=dict(t=30, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.08 / rows, x=0))
    return fig


def flag_bars(table: pd.DataFrame, *, axis_title: str, height: int = 0,
              legend: bool = True) -> go.Figure:
    """Horizontal stacked bars: flags per row of ``table`` (index), one colour per kind."""
    fig = go.Figure()
    labels = [esc(str(v)[:40]) for v in table.index]
    for kind in [k for k in FLAG_ORDER if k in table.columns]:
        fig.add_bar(y=labels, x=table[kind], name=kind, orientation="h",
                    marker_color=FLAG_COLOURS.get(kind, _GRID),
                    hovertemplate=f"{kind}: %{{x}}<extra>%{{y}}</extra>")
    fig.update_yaxes(autorange="reversed", title=esc(axis_title), tickfont=dict(size=11))
    fig.update_xaxes(title="flags in force", rangemode="tozero", dtick=1
                     if table.to_numpy().sum(axis=1).max(initial=0) <= 10 else None)
    fig = _layout(fig, barmode="stack", height=height or (110 if legend else 80) + 28 * len(table),
                  showlegend=legend)
    return fig.update_layout(  # one line along the whole figure, not the (narrow) plot area
        legend=dict(orientation="h", traceorder="normal", xref="container", x=0, xanchor="left",
                    yref="container", y=1, yanchor="top"), margin=dict(t=36 if legend else 10))

