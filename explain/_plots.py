"""Waterfall charts of an :class:`Attribution`: the geometry once, drawn by matplotlib,
plotly, inline SVG (HTML reports) or fpdf2 (PDF reports).

Plot functions follow the sklearn Display style: they draw on the ``ax`` given (or a
new figure) and return it; they never call ``plt.show()`` or use global pyplot state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explain._display import format_contribution, format_value
from explain._types import Attribution

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["WaterfallStep", "plot_attribution", "waterfall_figure", "waterfall_steps"]

POSITIVE = "#1f77b4"
NEGATIVE = "#d62728"
NEUTRAL = "#7f7f7f"


@dataclass(frozen=True, slots=True)
class WaterfallStep:
    """One bar of a waterfall: from ``start`` to ``end`` (``kind`` base/feature/other/total)."""

    label: str
    start: float
    end: float
    kind: str

    @property
    def delta(self) -> float:
        """``end - start``."""
        return self.end - self.start

    @property
    def color(self) -> str:
        """Bar colour: neutral for base and total, blue up, red down."""
        if self.kind in ("base", "total"):
            return NEUTRAL
        return POSITIVE if self.delta >= 0 else NEGATIVE


def waterfall_steps(attr: Attribution, max_features: int = 8, *,
                    base_label: str = "base", total_label: str = "score") -> list[WaterfallStep]:
    """Base, the ``max_features`` largest contributions, "N other features", total.

    Each feature bar starts where the previous ended, so the last feature bar ends at
    ``attr.total()``.
    """
    v = np.asarray(attr.values, dtype=np.float64)
    order = np.argsort(-np.abs(v), kind="stable")
    shown, rest = order[:max_features], order[max_features:]
    steps = [WaterfallStep(base_label, 0.0, float(attr.base_value), "base")]
    level = float(attr.base_value)
    for j in shown:
        label = f"{attr.feature_names[j]} = {format_value(attr.feature_values[j])}"
        steps.append(WaterfallStep(label, level, level + float(v[j]), "feature"))
        level += float(v[j])
    if rest.size:
        other = float(v[rest].sum())
        steps.append(WaterfallStep(f"{rest.size} other features", level, level + other, "other"))
        level += other
    steps.append(WaterfallStep(total_label, 0.0, level, "total"))
    return steps


def plot_attribution(attr: Attribution, *, ax: Axes | None = None, max_features: int = 8,
                     title: str | None = None) -> Axes:
    """A horizontal waterfall of ``attr`` on ``ax`` (a new figure if None); returns ``ax``."""
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.0, 0.35 * (max_features + 3) + 0.8))
        ax = fig.add_subplot()
    steps = waterfall_steps(attr, max_features)
    y = np.arange(len(steps))[::-1]
    for yi, s in zip(y, steps, strict=True):
        lo, hi = sorted((s.start, s.end))
        ax.barh(yi, hi - lo, left=lo, color=s.color, height=0.6)
        text = format_value(s.end) if s.kind in ("base", "total") else format_contribution(s.delta)
        ax.text(hi, yi, f" {text}", va="center", fontsize=8)
    ax.set_yticks(y, [s.label for s in steps], fontsize=8)
    ax.axvline(0.0, color="#cccccc", linewidth=0.8)
    ax.margins(x=0.15)
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.tight_layout()
    return ax


def waterfall_figure(attr: Attribution, max_features: int = 10, *,
                     title: str | None = None) -> Any:
    """A plotly ``go.Figure`` waterfall of ``attr`` (for the dashboard)."""
    import plotly.graph_objects as go

    steps = waterfall_steps(attr, max_features)
    measure = ["absolute"] + ["relative"] * (len(steps) - 2) + ["total"]
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=measure, y=[s.label for s in steps],
        x=[steps[0].end] + [s.delta for s in steps[1:-1]] + [steps[-1].end],
        text=[format_value(round(steps[0].end, 4))]
        + [format_contribution(s.delta) for s in steps[1:-1]]
        + [format_value(round(steps[-1].end, 4))],
        increasing={"marker": {"color": POSITIVE}}, decreasing={"marker": {"color": NEGATIVE}},
        totals={"marker": {"color": NEUTRAL}}))
    fig.update_layout(title=title, yaxis={"autorange": "reversed"}, showlegend=False,
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10})
    return fig
