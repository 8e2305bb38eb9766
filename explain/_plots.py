"""Waterfall charts of an :class:`Attribution`, in one palette.

The geometry is computed once (:func:`waterfall_steps`) and drawn by plotly (the
dashboard), matplotlib, inline SVG (HTML reports) or fpdf2 (PDF reports).

Bars are labelled with the features' descriptions ("user's past click rate = 8.1%"); the
raw column name is kept on each step for hover text and tables.

Plot functions follow the sklearn Display style: they draw on the ``ax`` given (or a
new figure) and return it; they never call ``plt.show()`` or use global pyplot state.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explain._display import (
    MINUS,
    feature_labels,
    format_contribution,
    format_value,
    plot_escape,
)
from explain._types import Attribution
from recsys.errors import ExplanationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["NEGATIVE", "NEUTRAL", "POSITIVE", "WaterfallStep", "plot_attribution",
           "waterfall_figure", "waterfall_range", "waterfall_steps"]

POSITIVE = "#0072B2"
"""Contributions that raise a score (Okabe–Ito blue, safe with colour-vision deficiencies)."""
NEGATIVE = "#D55E00"
"""Contributions that lower a score (Okabe–Ito vermillion)."""
NEUTRAL = "#555555"
"""Base value and total."""

_WRAP = 34
"""Plotly tick labels longer than this wrap onto a second line."""


@dataclass(frozen=True, slots=True)
class WaterfallStep:
    """One bar of a waterfall: from ``start`` to ``end`` (``kind`` base/feature/other/total)."""

    label: str
    """What the bar is, as a person reads it: "item's price = 19.9" (or, for a pair,
    "item's price: 19.9 vs 45.0")."""
    start: float
    end: float
    kind: str
    feature: str = ""
    """Raw column name of a feature bar (``item_price``); empty for the other kinds."""
    name: str = ""
    """Readable feature name, the part of ``label`` before its values."""

    @property
    def delta(self) -> float:
        """``end - start``."""
        return self.end - self.start

    @property
    def color(self) -> str:
        """Bar colour: neutral for base and total, blue up, vermillion down."""
        if self.kind in ("base", "total"):
            return NEUTRAL
        return POSITIVE if self.delta >= 0 else NEGATIVE

    def short_label(self, width: int) -> str:
        """Shorten ``label`` to at most ``width`` characters.

        A long feature name is cut with "…" and its values are kept.
        """
        if len(self.label) <= width:
            return self.label
        tail = self.label[len(self.name):] if self.name else ""
        room = width - len(tail) - 1
        if self.name and room >= 8:
            return self.name[:room].rstrip() + "…" + tail
        return self.label[: max(width - 1, 0)] + "…"


def waterfall_steps(attr: Attribution, max_features: int = 8, *,
                    base_label: str = "base", total_label: str = "score",
                    values_b: Sequence[object] | None = None) -> list[WaterfallStep]:
    """Lay out a waterfall: base, largest contributions, "N other features", total.

    The ``max_features`` largest contributions by absolute value get a bar each, the rest
    share one "N other features" bar. Each bar starts where the previous ended, so the
    last one ends at ``attr.total()``. Feature bars are labelled with the readable feature
    name and the value ("item's price = 19.9"); with ``values_b`` (a pair's second item,
    aligned with ``attr.feature_names``) with both values ("item's price: 19.9 vs 45.0").
    """
    v = np.asarray(attr.values, dtype=np.float64)
    if values_b is not None and len(values_b) != v.size:
        raise ExplanationError(f"waterfall: values_b has {len(values_b)} values for "
                               f"{v.size} features; pass one per feature, in column order")
    order = np.argsort(-np.abs(v), kind="stable")
    shown, rest = order[:max_features], order[max_features:]
    names = feature_labels(attr.feature_names, attr.descriptions)
    steps = [WaterfallStep(base_label, 0.0, float(attr.base_value), "base")]
    level = float(attr.base_value)
    for j in shown.tolist():
        raw = attr.feature_names[j]
        value = format_value(attr.feature_values[j])
        label = (f"{names[raw]} = {value}" if values_b is None
                 else f"{names[raw]}: {value} vs {format_value(values_b[j])}")
        steps.append(WaterfallStep(label, level, level + float(v[j]), "feature", raw, names[raw]))
        level += float(v[j])
    if rest.size:
        other = float(v[rest].sum())
        steps.append(WaterfallStep(f"{rest.size} other features", level, level + other, "other"))
        level += other
    steps.append(WaterfallStep(total_label, 0.0, level, "total"))
    return steps


def waterfall_range(steps: Sequence[WaterfallStep], pad: float = 0.2) -> tuple[float, float]:
    """Return the value-axis range of a waterfall.

    The range covers the base, every level the bars pass and the total, with ``pad`` ×
    the span added on each side (room for the bar labels).

    Zero is included only when it is near (no farther from the bars than their span):
    a base of −6.4 log-odds with bars between −7 and −5 is drawn on about [−7.4, −4.6]
    rather than squeezed into a sliver of [−7.4, 0].
    """
    levels = [steps[0].end, *(x for s in steps[1:-1] for x in (s.start, s.end)), steps[-1].end]
    lo, hi = min(levels), max(levels)
    span = (hi - lo) or max(abs(hi), 1.0)
    if 0.0 < lo <= span:
        lo = 0.0
    elif -span <= hi < 0.0:
        hi = 0.0
    margin = pad * ((hi - lo) or span)
    return lo - margin, hi + margin


def plot_attribution(attr: Attribution, *, ax: Axes | None = None, max_features: int = 8,
                     title: str | None = None) -> Axes:
    """Draw ``attr`` as a horizontal waterfall on ``ax`` (a new figure if None); return ``ax``."""
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(7.0, 0.35 * (max_features + 3) + 0.8))
        ax = fig.add_subplot()
    steps = waterfall_steps(attr, max_features)
    y = np.arange(len(steps))[::-1]
    for yi, s in zip(y, steps, strict=True):
        lo, hi = sorted((s.start, s.end))
        ax.barh(yi, hi - lo, left=lo, color=s.color, height=0.6)
        if s.kind in ("base", "total") and s.end < 0:  # the bar runs from 0, maybe off axis
            ax.text(s.end, yi, f"{_bar_text(s)} ", va="center", ha="right", fontsize=8)
        else:
            ax.text(s.end if s.kind in ("base", "total") else hi, yi, f" {_bar_text(s)}",
                    va="center", fontsize=8)
    ax.set_yticks(y, [s.short_label(48) for s in steps], fontsize=8)
    left, right = waterfall_range(steps)
    ax.set_xlim(left, right)
    if left <= 0.0 <= right:
        ax.axvline(0.0, color="#cccccc", linewidth=0.8)
    if title:
        ax.set_title(title, fontsize=10)
    if isinstance(ax.figure, Figure):  # a SubFigure has no tight_layout: its root lays out
        ax.figure.tight_layout()
    return ax


def _bar_text(s: WaterfallStep) -> str:
    """Return the number beside a bar: the level for base and total, else the change."""
    if s.kind in ("base", "total"):
        return f"{s.end:.3f}".replace("-", MINUS)
    return format_contribution(s.delta, 3)


def _tick(s: WaterfallStep) -> str:
    """Return the tick label of ``s``, escaped for plotly and wrapped.

    Lines hold about ``_WRAP`` characters; a feature's values stay together on the last
    line ("…rate:<br>0.14 vs 0.17").
    """
    head, tail = (s.name, s.label[len(s.name):]) if s.name else (s.label, "")
    lines = textwrap.wrap(head, _WRAP, break_long_words=False) or [head]
    if tail.startswith(":"):  # a pair: "name: a vs b"
        lines[-1] += ":"
        tail = tail[1:]
    tail = tail.strip()
    if tail and len(lines[-1]) + 1 + len(tail) <= _WRAP:
        lines[-1] += " " + tail
    elif tail:
        lines.append(tail)
    return "<br>".join(plot_escape(line) for line in lines)


def _hover(s: WaterfallStep) -> str:
    if s.kind == "feature":
        return (f"{plot_escape(s.label)}<br>column: {plot_escape(s.feature)}"
                f"<br>contribution: {format_contribution(s.delta, 4)}")
    if s.kind == "other":
        return f"{plot_escape(s.label)}: {format_contribution(s.delta, 4)}"
    return f"{plot_escape(s.label)}: " + f"{s.end:.4f}".replace("-", MINUS)


def waterfall_figure(steps: Sequence[WaterfallStep], *, title: str = "",
                     unit: str = "") -> Any:
    """Draw ``steps`` (from :func:`waterfall_steps`) as a horizontal plotly waterfall.

    The bars run from the base value through the largest contributions to the score; the
    result is a ``go.Figure``.

    The value axis spans :func:`waterfall_range`. Tick labels are the readable feature
    names with their values; hovering a bar shows the raw column name too. ``title`` and
    ``unit`` (the value-axis title) are plain text; every string is shown literally.
    """
    import plotly.graph_objects as go

    inner = steps[1:-1]
    ticks = [_tick(s) for s in steps]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=ticks, measure=["absolute", *["relative"] * len(inner), "total"],
        x=[steps[0].end, *[s.delta for s in inner], steps[-1].end],
        text=[_bar_text(s) for s in steps], textposition="outside", cliponaxis=False,
        hovertext=[_hover(s) for s in steps], hovertemplate="%{hovertext}<extra></extra>",
        increasing={"marker": {"color": POSITIVE}}, decreasing={"marker": {"color": NEGATIVE}},
        totals={"marker": {"color": NEUTRAL}},
        connector={"line": {"color": "#aaaaaa", "width": 1}}))
    fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": 11})
    fig.update_xaxes(title=plot_escape(unit), range=list(waterfall_range(steps)),
                     zeroline=True, zerolinecolor="#888888")
    lines = sum(t.count("<br>") + 1 for t in ticks)
    fig.update_layout(
        title={"text": plot_escape(title), "x": 0, "xanchor": "left"}, showlegend=False,
        height=90 + 18 * lines + 12 * len(steps), font={"family": "sans-serif", "size": 13},
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10})
    return fig
