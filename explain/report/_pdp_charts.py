"""Partial-dependence charts of a report: inline SVG for HTML, matplotlib PNG for PDF.

One panel per task (mean natural-unit prediction) and one for the blend (mean blended
score at the report's weights). Grid points are drawn evenly spaced (they sit at the
sample's quantiles, or are every level of a categorical feature): lines for a numeric
feature, points for a categorical one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape
from matplotlib.figure import Figure

from explain._display import format_value
from explain._pdp import PartialDependence, task_unit
from recsys.tasks import TaskSpec

__all__ = ["PALETTE", "pdp_caption", "pdp_panels", "pdp_png", "pdp_svg"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
"""Task colours of the reports, in task order."""
BLEND_COLOUR = "#333333"
_W, _H, _LEFT, _BOTTOM, _TOP = 200, 140, 46, 18, 30
_TICKS = 5


def pdp_caption(n_pairs: int) -> str:
    """What the charts show, in one paragraph."""
    return (f"Partial dependence: each task's mean prediction over {n_pairs} sampled test "
            "exposures when all of them get the same value of the feature and every other "
            "input stays as it is; the blend panel is the mean blended score at these weights. "
            "Grid points (evenly spaced here) are the sample's quantiles or every level. "
            "Editing one input alone can create combinations that never occur in the data "
            "(correlated features): read a curve as what the model does, not what users do.")


def pdp_panels(pd_: PartialDependence,
               tasks: Sequence[TaskSpec]) -> list[tuple[str, str, np.ndarray, str]]:
    """(title, unit, curve, colour) of each panel: the tasks, then the blend."""
    by_name = {t.name: t for t in tasks}
    out = []
    for k, name in enumerate(pd_.tasks):
        task = by_name.get(name)
        title = f"{name} (minimised)" if task and task.direction == "minimize" else name
        unit = task_unit(task) if task else "mean prediction"
        out.append((title, unit, pd_.prediction[k], PALETTE[k % len(PALETTE)]))
    out.append(("blend", "blended score", pd_.blended, BLEND_COLOUR))
    return out


def _ticks(n: int) -> list[int]:
    """Positions of at most ``_TICKS`` labelled grid points, first and last included."""
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, _TICKS))})


def _short(text: str, n: int = 10) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def pdp_svg(pd_: PartialDependence, tasks: Sequence[TaskSpec]) -> Markup:
    """One inline ``<svg>`` of small multiples (escaped text, no external reference)."""
    panels = pdp_panels(pd_, tasks)
    labels = pd_.labels()
    n, cat = pd_.grid.size, pd_.feature.categories is not None
    width = _W * len(panels)
    parts = [f'<svg class="pdp" width="100%" viewBox="0 0 {width} {_H}" role="img" '
             f'aria-label="partial dependence on {escape(pd_.feature.name)}" '
             f'style="max-width:{width}px">']
    inner_w, inner_h = _W - _LEFT - 8, _H - _TOP - _BOTTOM
    for p, (title, unit, curve, colour) in enumerate(panels):
        x0 = p * _W + _LEFT
        lo, hi = float(np.min(curve)), float(np.max(curve))
        pad = (hi - lo) * 0.08 or abs(hi) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad

        def px(i: int, x0: float = x0) -> float:
            return x0 + (i / (n - 1) if n > 1 else 0.5) * inner_w

        def py(v: float, lo: float = lo, hi: float = hi) -> float:
            return _TOP + (hi - v) / (hi - lo) * inner_h

        parts.append(f'<text x="{x0 + inner_w / 2:.1f}" y="11" text-anchor="middle" '
                     f'font-size="11" font-weight="bold">{escape(title)}</text>')
        parts.append(f'<text x="{x0 + inner_w / 2:.1f}" y="23" text-anchor="middle" '
                     f'font-size="8" fill="#666">{escape(unit)}</text>')
        parts.append(f'<rect x="{x0}" y="{_TOP}" width="{inner_w}" height="{inner_h}" '
                     'fill="none" stroke="#ccc"/>')
        for v in (lo + pad, hi - pad):
            parts.append(f'<text x="{x0 - 3}" y="{py(v) + 3:.1f}" text-anchor="end" '
                         f'font-size="8">{escape(format_value(float(f"{v:.3g}")))}</text>')
        for i in _ticks(n):
            parts.append(f'<text x="{px(i):.1f}" y="{_TOP + inner_h + 11}" '
                         f'text-anchor="middle" font-size="8">{escape(_short(labels[i]))}</text>')
        points = [(px(i), py(float(v))) for i, v in enumerate(curve)]
        if not cat and n > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                         'stroke-width="2"/>')
        r = 3 if cat else 1.6
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
                  for x, y in points]
    parts.append("</svg>")
    return Markup("".join(parts))


def pdp_png(pd_: PartialDependence, tasks: Sequence[TaskSpec]) -> io.BytesIO:
    """The same small multiples as a PNG (matplotlib, no pyplot state)."""
    panels = pdp_panels(pd_, tasks)
    labels = pd_.labels()
    n, cat = pd_.grid.size, pd_.feature.categories is not None
    fig = Figure(figsize=(7.4, 1.75))
    x = np.arange(n)
    for p, (title, unit, curve, colour) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), p + 1)
        if cat:
            ax.plot(x, curve, "o", color=colour, markersize=3.5)
        else:
            ax.plot(x, curve, "-o", color=colour, linewidth=1.6, markersize=1.8)
        ticks = _ticks(n)
        ax.set_xticks(ticks, [_short(labels[i], 8) for i in ticks], fontsize=5.5,
                      rotation=30 if cat else 0)
        ax.tick_params(axis="y", labelsize=5.5)
        ax.set_title(f"{title}\n{unit}", fontsize=6.5)
        ax.grid(alpha=0.3, linewidth=0.5)
    fig.tight_layout(pad=0.4, w_pad=0.6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    buf.seek(0)
    return buf
