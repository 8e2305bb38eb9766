"""Plotly figures of the dashboard: pure functions from frames to figures (no Streamlit).

Colours follow the Okabe–Ito palette, which stays distinguishable with the common
colour-vision deficiencies; the up/down colours are those of :mod:`explain`'s waterfall
(:func:`explain.waterfall_figure`, the one waterfall of the dashboard and the reports).
Every axis names its unit. Features are shown by their readable labels
(:func:`explain.feature_labels`), with the raw column name on hover. Plotly renders a
subset of HTML (``<b>``, ``<a href>``…) in titles, ticks, legends and hover labels, so every
string argument (titles, units, names, labels, category values) is escaped here with
:func:`ui.text.plot_escape` and shows literally.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from explain import NEGATIVE as NEG
from explain import POSITIVE as POS
from explain._palette import OKABE_ITO, task_colours
from ui.chart_levels import MAX_LEVELS, coloured_dots, level_traces, levels
from ui.text import plot_escape as esc

__all__ = ["OKABE_ITO", "NEG", "POS", "contribution_bars", "dependence_scatter",
           "group_colours", "importance_bars", "importance_strip", "pareto_scatter", "segment_bars",
           "segment_metric_bars", "sensitivity_lines", "signed_bars", "task_colours"]

_FONT = dict(family="sans-serif", size=13)
_WRAP = 34
"""Feature labels longer than this wrap onto a second line of the axis."""


_GROUPS = ("user", "item", "user×item", "context", "latent")


def group_colours(groups: Sequence[str]) -> dict[str, str]:
    """A fixed colour per feature group (the same on every chart)."""
    extra = [g for g in dict.fromkeys(groups) if g not in _GROUPS]
    return {g: OKABE_ITO[i % len(OKABE_ITO)] for i, g in enumerate((*_GROUPS, *extra))}


def _padded(values: Sequence[float], share: float = 0.2, *, both: bool = False) -> list[float]:
    """An axis range holding ``values`` and 0, with room for the bar labels outside (on
    both sides if ``both``, else only on the sides with values)."""
    lo, hi = min(0.0, *values), max(0.0, *values)
    pad = share * ((hi - lo) or 1.0)
    return [lo - (pad if lo < 0 or both else 0.0), hi + (pad if hi > 0 or both else 0.0)]


def _texts(values: Iterable[object]) -> list[str]:
    """Category labels (titles, feature names, segment values) escaped for plotly."""
    return [esc(v) for v in values]


def _ticks(features: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """Readable feature labels for an axis: escaped, long ones wrapped onto more lines."""
    out = []
    for f in features:
        label = labels.get(f, f)
        lines = textwrap.wrap(label, _WRAP, break_long_words=False) or [label]
        out.append("<br>".join(esc(line) for line in lines))
    return out


def _extra_lines(ticks: Iterable[str]) -> int:
    """How many lines wrapped tick labels add (each needs room on the axis)."""
    return sum(t.count("<br>") for t in ticks)


def _layout(fig: go.Figure, *, title: str = "", height: int = 360, **kw: object) -> go.Figure:
    fig.update_layout(title=dict(text=esc(title), x=0, xanchor="left"), height=height, font=_FONT,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), **kw)
    return fig


def contribution_bars(frame: pd.DataFrame, tasks: Sequence[str], *, height: int = 0) -> go.Figure:
    """Stacked horizontal bars: each item's blended score split into task contributions.

    ``frame`` has ``rank``, ``title`` and one column per task (signed, weighted scores).
    """
    colours = task_colours(tasks)
    labels = [f"{r}. {esc(str(t)[:28])}" for r, t in zip(frame["rank"], frame["title"],
                                                         strict=True)]
    fig = go.Figure()
    for t in tasks:
        fig.add_bar(y=labels, x=frame[t], name=esc(t), orientation="h", marker_color=colours[t],
                    hovertemplate=f"{esc(t)}: %{{x:.3f}}<extra>%{{y}}</extra>")
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=11))
    fig.update_xaxes(title="contribution to the blended score",
                     zeroline=True, zerolinecolor="#888")
    return _layout(fig, barmode="relative", height=height or 60 + 28 * len(frame))


def signed_bars(values: Mapping[str, float], *, unit: str, colours: Mapping[str, str] | None = None,
                height: int = 0, signed: bool = True) -> go.Figure:
    """Horizontal bars of values (task shares, group totals), in the mapping's order; labels
    show the sign unless ``signed`` is false."""
    names = list(values)
    fig = go.Figure(go.Bar(
        x=[values[n] for n in names], y=_texts(names), orientation="h",
        marker_color=[(colours or {}).get(n, POS if values[n] >= 0 else NEG) for n in names],
        text=[(f"{values[n]:+.3f}" if signed else f"{values[n]:.3f}").replace("-", "\u2212")
              for n in names],  # the true minus sign, as on the waterfalls
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=esc(unit), zeroline=True, zerolinecolor="#888",
                     range=_padded([values[n] for n in names], 0.3))
    return _layout(fig, height=height or 70 + 34 * len(names), showlegend=False)


def pareto_scatter(frame: pd.DataFrame, x: str, y: str, colour: str | None,
                   current: Mapping[str, float], k: int,
                   maximize: Mapping[str, bool]) -> go.Figure:
    """Sweep points (``ndcg_<task>`` columns) with the two-task frontier of the axes, the
    points efficient over all tasks, and the current blend."""
    from recsys.metrics import pareto_mask

    wcols = [c for c in frame.columns if c.startswith("w_")]
    hover = frame[wcols + [c for c in frame.columns if c.startswith("ndcg_")]]
    text = ["<br>".join(f"{esc(c)}: {v:.2f}" for c, v in row.items())
            for _, row in hover.iterrows()]
    fig = go.Figure()
    pts = frame[[f"ndcg_{x}", f"ndcg_{y}"]].to_numpy()
    on_front = pareto_mask(pts, np.array([maximize[x], maximize[y]]))
    marker: dict[str, object] = dict(size=7, color="#9A9A9A")
    if colour:  # a blue scale: never confused with the orange frontier
        marker = dict(size=7, color=frame[f"ndcg_{colour}"], colorscale="Blues",
                      colorbar=dict(title=f"NDCG@{k}<br>{esc(colour)}", thickness=12),
                      line=dict(color="#666666", width=0.5))
    for mask, name, opacity in ((~on_front, "dominated on these axes", 0.25),
                                (on_front, "on the frontier", 1.0)):
        part = dict(marker)
        if colour:
            part["color"] = frame.loc[mask, f"ndcg_{colour}"]
            part["showscale"] = name == "on the frontier"
        fig.add_scatter(x=frame.loc[mask, f"ndcg_{x}"], y=frame.loc[mask, f"ndcg_{y}"],
                        mode="markers", marker=part, opacity=opacity, name=name,
                        text=[t for t, m in zip(text, mask, strict=True) if m],
                        hovertemplate="%{text}<extra></extra>")
    front = frame[on_front].sort_values(f"ndcg_{x}")
    fig.add_scatter(x=front[f"ndcg_{x}"], y=front[f"ndcg_{y}"], mode="lines+markers",
                    line=dict(color=NEG, width=2), marker=dict(size=6, color=NEG),
                    name=f"frontier of {esc(x)} vs {esc(y)}", hoverinfo="skip")
    fig.add_scatter(x=[current[x]], y=[current[y]], mode="markers", name="current weights",
                    marker=dict(symbol="star", size=18, color="#E69F00",
                                line=dict(color="black", width=1)),
                    hovertemplate="current weights<br>%{x:.3f}, %{y:.3f}<extra></extra>")
    better = {True: "higher is better", False: "lower is better"}
    fig.update_xaxes(title=f"NDCG@{k} of {esc(x)} (0–1, {better[maximize[x]]})")
    fig.update_yaxes(title=f"NDCG@{k} of {esc(y)} (0–1, {better[maximize[y]]})")
    return _layout(fig, height=500)


def sensitivity_lines(frame: pd.DataFrame, task: str, current: float, k: int) -> go.Figure:
    """NDCG@K of every task (lines) against one task's weight."""
    tasks = list(dict.fromkeys(frame["task"]))
    colours = task_colours(tasks)
    fig = go.Figure()
    for t in tasks:
        sub = frame[frame["task"] == t]
        fig.add_scatter(x=sub["weight"], y=sub["ndcg"], mode="lines+markers", name=esc(t),
                        line=dict(color=colours[t]),
                        hovertemplate=f"{esc(t)}: %{{y:.3f}} at weight %{{x}}<extra></extra>")
    fig.add_vline(x=current, line_dash="dot", line_color="#333",
                  annotation_text="current", annotation_position="bottom right")
    fig.update_xaxes(title=f"weight of {esc(task)} (others fixed)")
    fig.update_yaxes(title=f"NDCG@{k} (0–1)")
    fig = _layout(fig, height=420)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, x=0),
                      margin=dict(b=40))
    return fig


def segment_bars(frame: pd.DataFrame, column: str, tasks: Sequence[str]) -> go.Figure:
    """Mean task contributions in the top-K, one stacked bar per segment."""
    colours = task_colours(tasks)
    fig = go.Figure()
    for t in tasks:
        fig.add_bar(x=_texts(frame[column]), y=frame[f"share {t}"], name=esc(t),
                    marker_color=colours[t],
                    hovertemplate=f"{esc(t)}: %{{y:.3f}}<extra>%{{x}}</extra>")
    fig.update_yaxes(title="mean contribution to blended score")
    fig.update_xaxes(title=esc(column))
    return _layout(fig, barmode="relative", height=380)


def segment_metric_bars(frame: pd.DataFrame, column: str, tasks: Sequence[str],
                        k: int, maximize: Mapping[str, bool]) -> go.Figure:
    """NDCG@K of every task per segment as points with 95 % intervals, one small panel per
    task (each zoomed to its own values, so a difference of 0.01 is visible; minimised
    tasks say lower is better)."""
    from plotly.subplots import make_subplots

    colours = task_colours(tasks)
    titles = [f"{esc(t)}<br>{'↑ higher' if maximize.get(t, True) else '↓ lower'} is better"
              for t in tasks]
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=titles, shared_yaxes=False,
                        horizontal_spacing=0.08)
    x = _texts(frame[column])
    for j, t in enumerate(tasks, start=1):
        y = frame[f"NDCG@{k} {t}"]
        lo, hi = frame[f"NDCG@{k} {t} low"], frame[f"NDCG@{k} {t} high"]
        n = frame[f"NDCG@{k} {t} users"]
        fig.add_scatter(x=x, y=y, mode="markers", name=esc(t), showlegend=False, row=1, col=j,
                        marker=dict(color=colours[t], size=9),
                        error_y=dict(type="data", symmetric=False, array=hi - y,
                                     arrayminus=y - lo, color=colours[t], thickness=1.5),
                        customdata=np.column_stack([lo, hi, n]),
                        hovertemplate=f"{esc(t)} %{{x}}: %{{y:.4f}}<br>95% CI "
                                      "[%{customdata[0]:.4f}, %{customdata[1]:.4f}]<br>"
                                      "%{customdata[2]:,} users<extra></extra>")
        fig.update_yaxes(tickformat=".3f", row=1, col=j)
    fig.update_yaxes(title_text=f"NDCG@{k} (95% CI over users)", row=1, col=1)
    fig.update_annotations(font_size=12)
    return _layout(fig, height=400).update_layout(margin_t=64)  # room for two-line titles


def importance_bars(frame: pd.DataFrame, value: str, labels: Mapping[str, str], *, unit: str,
                    colour_by: str = "group", n: int = 15) -> go.Figure:
    """Horizontal bars of the ``n`` largest ``value`` per ``feature``, one colour (trace,
    named on hover; no legend: :func:`group_colours` are the same on every chart) per
    ``colour_by`` level; bars are named by ``labels`` (raw feature name → readable label),
    the raw name shows on hover."""
    top = frame.nlargest(n, value)
    ticks = _ticks(top["feature"], labels)
    tick_of = dict(zip(top["feature"], ticks, strict=True))
    data = []
    for level, colour in group_colours(list(frame[colour_by])).items():
        sub = top[top[colour_by] == level]
        if len(sub):
            data.append(dict(
                type="bar", x=sub[value].to_numpy(), y=[tick_of[f] for f in sub["feature"]],
                orientation="h", name=esc(level), marker=dict(color=colour),
                customdata=_texts(sub["feature"]),
                hovertemplate=f"%{{y}}<br>column: %{{customdata}}<br>%{{x:.4f}}<extra>{esc(level)}"
                              "</extra>"))
    title = wrapped_title(unit)
    return go.Figure(data=data, layout=_layout_dict(
        height=110 + 26 * len(top) + 16 * _extra_lines(ticks), barmode="overlay",
        showlegend=False,  # the group bars beside it, in the same colours, are the key
        margin=dict(l=10, r=10, t=30, b=10),  # room for the toolbar above the first bar
        yaxis=dict(type="category", categoryorder="array", categoryarray=ticks[::-1]),
        xaxis=dict(title=dict(text=title))))


def importance_strip(points: pd.DataFrame, order: Sequence[str], labels: Mapping[str, str], *,
                     unit: str, categorical: Collection[str] = ()) -> go.Figure:
    """Beeswarm-like strip: one dot per (row, feature) attribution; rows named by ``labels``.

    A numeric feature's dots are coloured by the value's rank within the feature (low →
    high, one colour bar); a feature in ``categorical`` gets one colour (trace and legend
    entry, grouped under the feature) per level: its most frequent levels, then the rest
    together. Dots are drawn with WebGL (``scattergl``): thousands of SVG circles take
    seconds to draw in a browser.
    """
    rng = np.random.default_rng(0)
    by_feature = dict(tuple(points.groupby("feature", sort=False, observed=True)))
    data: list[dict[str, object]] = []
    scale_shown = False
    for i, feat in enumerate(order):
        sub = by_feature.get(feat, points.iloc[:0])
        x = sub["attribution"].to_numpy(np.float32)
        y = (i + rng.uniform(-0.3, 0.3, len(sub))).astype(np.float32)
        head = f"{esc(labels.get(feat, feat))}<br>column: {esc(feat)}"
        if feat in categorical:
            data += level_traces(x, y, sub["value"], head, legend=labels.get(feat, feat),
                                  group=feat)
            continue
        data.append(dict(
            type="scattergl", x=x, y=y, mode="markers", showlegend=False,
            customdata=pd.to_numeric(sub["value"], errors="coerce").to_numpy(np.float32),
            marker=dict(size=4, color=sub["value_rank"].to_numpy(np.float32),
                        colorscale="Cividis", cmin=0, cmax=1, opacity=0.7,
                        showscale=not scale_shown,
                        colorbar=dict(title=dict(text="value<br>low→high"), thickness=12,
                                      len=0.3, lenmode="fraction", x=1.01, xanchor="left",
                                      y=1, yanchor="top")),
            hovertemplate=f"{head}<br>value %{{customdata:.4g}}<br>%{{x:.4f}}<extra></extra>"))
        scale_shown = True
    ticks = _ticks(order, labels)
    legend_lines = sum(1 + bool(d.get("legendgrouptitle")) for d in data if d.get("showlegend"))
    plot = 30 * len(order) + 12 * _extra_lines(ticks)
    return go.Figure(data=data, layout=_layout_dict(
        height=80 + max(plot, int(20 * legend_lines / 0.62) if legend_lines else 0),
        yaxis=dict(tickvals=list(range(len(order))), ticktext=ticks, autorange="reversed"),
        xaxis=dict(title=dict(text=esc(unit)), zeroline=True, zerolinecolor="#888"),
        legend=_LEVEL_LEGEND, margin=dict(l=10, r=10, t=10, b=10)))


def dependence_scatter(frame: pd.DataFrame, feature: str, label: str, *, unit: str,
                       colour_label: str = "") -> go.Figure:
    """Attribution of one feature (raw name ``feature``, readable ``label``) against its
    value: a scatter for a numeric feature; for a categorical one (``value`` is a
    ``pandas.Categorical``), the jittered dots of each level under a box of their quartiles.

    If ``frame`` has a ``colour`` column (another feature's values, named ``colour_label``),
    the dots are coloured by it: low → high for numbers, one colour per level (legend)
    for a categorical.
    """
    y = frame["attribution"].to_numpy(np.float32)
    head = f"column: {esc(feature)}<br>%{{y:.4f}}"
    xaxis: dict[str, object] = dict(title=dict(text=f"{esc(label)} (feature value)"))
    categorical = isinstance(frame["value"].dtype, pd.CategoricalDtype)
    if categorical:
        names, _, pos = levels(frame["value"], MAX_LEVELS, level_order=True)
        x = (pos + np.random.default_rng(0).uniform(-0.28, 0.28, len(pos))).astype(np.float32)
        custom: NDArray[np.object_] | None = np.asarray(_texts(names), dtype=object)[pos]
        hover = f"{esc(label)} = %{{customdata}}<br>{head}"
        xaxis.update(tickvals=list(range(len(names))), ticktext=_texts(names), zeroline=False,
                     range=[-0.6, len(names) - 0.4],
                     tickangle=-40 if len(names) > 8 else None)  # names end at their ticks
    else:
        x, custom = frame["value"].to_numpy(np.float64), None
        hover = f"{esc(label)} = %{{x:.4g}}<br>{head}"
    if "colour" in frame:
        data = coloured_dots(x, y, frame["colour"], hover, custom, colour_label)
    else:
        data = [dict(type="scatter", x=x, y=y, mode="markers", customdata=custom,
                     showlegend=False, hovertemplate=hover + "<extra></extra>",
                     marker=dict(size=5, color=POS, opacity=0.45))]
    if categorical:  # drawn last, so the quartiles show over the dots
        data.append(dict(type="box", x=pos, y=y, boxpoints=False, showlegend=False,
                         fillcolor="rgba(0,0,0,0)", line=dict(color="#333333", width=1.5),
                         name="quartiles", hoverinfo="skip"))
    levels_shown = "colour" in frame and isinstance(frame["colour"].dtype, pd.CategoricalDtype)
    legend = dict(orientation="h", yanchor="bottom", y=1.0, x=0,
                  title=dict(text=esc(colour_label) + ":" if levels_shown else "", side="left"))
    return go.Figure(data=data, layout=_layout_dict(
        height=400, xaxis=xaxis, legend=legend,
        yaxis=dict(title=dict(text=esc(unit)), zeroline=True, zerolinecolor="#888")))


# -- the Global page's charts are built in one go (plotly validates each property once,
# instead of once per add_trace/update call); level colours are in ui.chart_levels -------

_LEVEL_LEGEND = dict(orientation="v", x=1.01, xanchor="left", y=0.62, yanchor="top",
                     font=dict(size=11), groupclick="toggleitem", tracegroupgap=8)
"""The strip's legend of levels: on the right, under the low→high colour bar."""


def _layout_dict(*, height: int, title: str = "", **kw: object) -> dict[str, object]:
    """The layout of :func:`_layout` as a dict, for a figure built in one constructor."""
    layout: dict[str, object] = dict(
        title=dict(text=esc(title), x=0, xanchor="left"), height=height, font=_FONT,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    layout.update(kw)
    return layout


def wrapped_title(text: str, width: int = 32) -> str:
    """``text`` escaped and wrapped onto lines of at most ``width`` characters: an axis title
    that fits a narrow column."""
    return "<br>".join(map(esc, textwrap.wrap(text, width) or [text]))
