"""Partial dependence and ICE of one feature, drawn for the Global page.

:func:`draw_partial_dependence` is the one call a page makes; :func:`pdp_figure` is the
pure figure (no Streamlit). The task curves do not depend on the blend weights, so the
curves are computed once per (project, feature, transform, sample) and a weight slider
only re-blends them (:meth:`explain.PartialDependence.reweight`): nothing is predicted
on a slider move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explain import task_unit
from explain._palette import BLEND_COLOUR
from recsys.tasks import TaskSpec
from ui import state, widgets
from ui.charts import task_colours
from ui.text import md_escape
from ui.text import plot_escape as esc

if TYPE_CHECKING:
    from explain import IceLines, PartialDependence
    from recsys.project import Project

__all__ = ["draw_partial_dependence", "pdp_figure"]

N_PAIRS, GRID, TOP = 500, 20, 5
_COLS = 3


@st.cache_resource(show_spinner="Computing partial dependence on sampled test exposures…",
                   max_entries=32)
def _curves(_project: Project, stamp: str, feature: str, transform: str, n_pairs: int,
            grid: int) -> PartialDependence:
    """The PD curves at the config's weights; weight-independent per task, shared and
    frozen (read-only arrays): callers :meth:`reweight` it."""
    from explain import partial_dependence

    return partial_dependence(_project, feature, transform=transform, n_pairs=n_pairs,
                              grid=grid)


@st.cache_resource(show_spinner=False, max_entries=64)
def _lines(_project: Project, stamp: str, user: str, items: tuple[str, ...], feature: str,
           transform: str, grid: tuple[float, ...]) -> IceLines:
    """ICE lines of these items over the PD grid; shared and frozen."""
    from explain import ice_lines

    return ice_lines(_project, user, feature, items=items, transform=transform, grid=grid)


def pdp_figure(pd_: PartialDependence, ice: IceLines | None, tasks: Sequence[TaskSpec], *,
               label: str) -> go.Figure:
    """Small multiples: one panel per task (mean natural-unit prediction) and one for the
    blend (blended score), the PD bold over thin ICE lines of ``ice``'s items; points per
    level for a categorical feature. ``label`` is the feature's readable name.

    Built in one constructor call (panels laid out as ``make_subplots`` would), so plotly
    validates each property once: this figure is redrawn on every weight-slider move.
    """
    categorical = pd_.feature.categories is not None
    names = [*pd_.tasks, "blend"]
    by_name = {t.name: t for t in tasks}
    colours = task_colours(list(pd_.tasks)) | {"blend": BLEND_COLOUR}
    n_rows, n_cols = math.ceil(len(names) / _COLS), min(_COLS, len(names))
    titles = [esc(f"{n} (minimised)" if n in by_name and by_name[n].direction == "minimize"
                  else n) for n in pd_.tasks] + ["blend (current weights)"]
    x = [esc(v) for v in pd_.labels()] if categorical else pd_.grid
    log_x = _skewed(pd_)
    axis = f"{label} (log scale)" if log_x else label
    # many levels: their names run down the axis, so each row gets room for them below
    ticks = 7 * max(map(len, pd_.labels())) if categorical and len(x) > 8 else 0
    height = 60 + (270 + ticks) * n_rows
    gap = (50 + ticks) / (height - 80) if n_rows > 1 else 0.1
    raw = esc(pd_.feature.name)
    data: list[dict[str, object]] = []
    layout: dict[str, object] = {}
    for k, name in enumerate(names):
        ref = "" if k == 0 else str(k + 1)
        unit = "blended score" if name == "blend" else task_unit(by_name[name])
        hover = f"{esc(label)} = %{{x}}<br>column: {raw}<br>{esc(unit)}: %{{y:.4g}}"
        on = dict(xaxis=f"x{ref}", yaxis=f"y{ref}")
        for title, y in _ice_rows(ice, k, name):
            data.append(dict(
                type="scatter", x=x, y=y, mode="markers" if categorical else "lines",
                line=dict(color=colours[name], width=1),
                marker=dict(color=colours[name], size=6, symbol="circle-open"),
                opacity=0.45, showlegend=False, legendgroup="ice",
                hovertemplate=f"{esc(title)}<br>{hover}<extra>ICE</extra>", **on))
        data.append(dict(
            type="scatter", x=x, y=pd_.blended if name == "blend" else pd_.prediction[k],
            mode="markers" if categorical else "lines+markers",
            line=dict(color=colours[name], width=3.5),
            marker=dict(color=colours[name], size=11 if categorical else 5,
                        symbol="diamond" if categorical else "circle"),
            showlegend=False, legendgroup="pd",
            hovertemplate=f"{hover}<extra>PD: mean of {pd_.n_pairs}</extra>", **on))
        bottom = k // _COLS + 1 == n_rows or k + _COLS >= len(names)
        xdom, ydom = _domain(k, n_rows, n_cols, gap)
        layout[f"xaxis{ref}"] = dict(
            anchor=f"y{ref}", domain=xdom,
            title=dict(text=esc(axis), font=dict(size=11)) if bottom else None,
            type="category" if categorical else "log" if log_x else None)
        layout[f"yaxis{ref}"] = dict(anchor=f"x{ref}", domain=ydom,
                                     title=dict(text=esc(unit), font=dict(size=11)))
    data += _legend(pd_.n_pairs, ice, categorical)
    return go.Figure(data=data, layout=dict(
        layout, height=height, font=dict(family="sans-serif", size=12),
        annotations=[_title(t, *_domain(k, n_rows, n_cols, gap)) for k, t in enumerate(titles)],
        margin=dict(l=10, r=10, t=70, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0)))


_H_SPACE = 0.09
"""Gap between the panels of a row (fraction of the plotting area's width)."""


def _domain(k: int, n_rows: int, n_cols: int, v: float) -> tuple[list[float], list[float]]:
    """(x, y) paper domains of panel ``k`` (row-major from the top left; ``v``: the gap
    between rows, as a fraction of the plotting area's height)."""
    row, col = divmod(k, _COLS)
    width = (1 - _H_SPACE * (n_cols - 1)) / n_cols
    height = (1 - v * (n_rows - 1)) / n_rows
    x0, y1 = col * (width + _H_SPACE), 1 - row * (height + v)
    return [x0, min(x0 + width, 1.0)], [max(y1 - height, 0.0), y1]


def _title(text: str, xdom: list[float], ydom: list[float]) -> dict[str, object]:
    """A panel title above its plotting area (as ``make_subplots`` places it)."""
    return dict(text=text, x=(xdom[0] + xdom[1]) / 2, y=ydom[1], xref="paper", yref="paper",
                xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=16))


def _skewed(pd_: PartialDependence) -> bool:
    """A positive numeric grid whose top is 10× its median (prices, counts): log x-axis."""
    grid = pd_.grid
    return (pd_.feature.categories is None and grid.size > 2 and float(grid[0]) > 0
            and float(grid[-1]) >= 10 * float(np.median(grid)))


def _ice_rows(ice: IceLines | None, k: int, name: str) -> list[tuple[str, object]]:
    """(item title, curve) of every ICE line of task ``k`` (or of the blend)."""
    if ice is None:
        return []
    return [(title, ice.blended[i] if name == "blend" else ice.prediction[k, i])
            for i, title in enumerate(ice.titles)]


def _legend(n_pairs: int, ice: IceLines | None, categorical: bool) -> list[dict[str, object]]:
    """Two neutral legend entries: what the bold and the thin marks are."""
    mode = "markers" if categorical else "lines"
    out: list[dict[str, object]] = [dict(
        type="scatter", x=[None], y=[None], mode=mode, line=dict(color="#777", width=3.5),
        marker=dict(color="#777", size=11, symbol="diamond"),
        name=f"PD: mean over {n_pairs} sampled test exposures")]
    if ice is not None:
        out.append(dict(type="scatter", x=[None], y=[None], mode=mode,
                        line=dict(color="#777", width=1), opacity=0.45,
                        marker=dict(color="#777", size=6, symbol="circle-open"),
                        name=esc(f"ICE: user {ice.user_id}'s top {len(ice.item_ids)} "
                                 "items, one each")))
    return out


def draw_partial_dependence(project: Project, view: state.View, feature: str, *,
                            user_id: str | None = None, n_pairs: int = N_PAIRS,
                            grid: int = GRID) -> None:
    """Draw the PD of every task and of the blend on ``feature`` at the view's weights,
    with ICE lines of the user's top items (``user_id``: the selected user by default)."""
    from explain import feature_labels

    specs = project.feature_specs
    labels = feature_labels([s.name for s in specs], [s.description for s in specs])
    with widgets.guard():
        pd_ = _curves(project, view.stamp, feature, view.transform, n_pairs,
                      grid).reweight(view.weights_dict())
        user = user_id or st.session_state.get(state.USER)
        ice = None
        if user and str(user) in project.user_ids():
            top = project.recommend(str(user), weights=pd_.spec, k=TOP)
            items = tuple(it.item_id for it in top.items)
            if items:
                ice = _lines(project, view.stamp, str(user), items, feature, view.transform,
                             tuple(pd_.grid.tolist())).reweight(view.weights_dict())
        _show(pd_, ice, view, labels[feature])


def _show(pd_: PartialDependence, ice: IceLines | None, view: state.View, label: str) -> None:
    st.markdown(f"**Partial dependence on {md_escape(label)}**")
    st.plotly_chart(pdp_figure(pd_, ice, view.tasks, label=label), key="gl_pdp")
    numeric = pd_.feature.categories is None
    pd_mark, ice_mark = ("bold", "thin") if numeric else ("diamonds", "hollow dots")
    ice_text = (f"**ICE** ({ice_mark}): the same for each of user {md_escape(ice.user_id)}'s "
                f"top {len(ice.item_ids)} items on its own. " if ice is not None else
                "Pick a user (Recommendations page) to add ICE lines of their top items. ")
    grid = ("Grid points are the sample's distinct values or quantiles, so they crowd where "
            "the data are. " if numeric else "")
    st.caption(
        f"**PD** ({pd_mark}): each task's mean prediction, in its own units, over "
        f"{pd_.n_pairs} sampled test exposures when all of them get this value of "
        f"{md_escape(label)} and every other input stays as it is; the blend panel is the "
        f"mean blended score at the current weights. {ice_text}{grid}Editing one input alone "
        "can create combinations that never occur in the data (when features are correlated, "
        "e.g. a price far from what the item's other attributes imply): read a curve as what "
        "the model does there, not as what users do.")
