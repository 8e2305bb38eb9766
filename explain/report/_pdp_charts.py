"""Partial-dependence charts of a report: inline SVG for HTML, vector drawing for PDF.

One panel per task (mean natural-unit prediction) and one for the blend (mean blended
score at the report's weights). Grid points are drawn evenly spaced (they sit at the
sample's quantiles, or are every level of a categorical feature): lines for a numeric
feature, points for a categorical one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from fpdf import FPDF
from markupsafe import Markup, escape

from explain._display import format_value
from explain._palette import BLEND_COLOUR, hex_rgb, task_colour
from explain._pdp import PartialDependence, task_unit
from recsys.tasks import TaskSpec

__all__ = ["draw_pdp", "pdp_caption", "pdp_panels", "pdp_svg"]

_W, _H, _LEFT, _BOTTOM, _TOP = 200, 140, 46, 18, 30
_TICKS = 3


def pdp_caption(n_pairs: int) -> str:
    """Say what the charts show, in one paragraph."""
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
        out.append((title, unit, pd_.prediction[k], task_colour(k)))
    out.append(("blend", "blended score", pd_.blended, BLEND_COLOUR))
    return out


def _ticks(n: int) -> list[int]:
    """Positions of at most ``_TICKS`` labelled grid points, first and last included."""
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, min(n, _TICKS))})


def _short(text: str, n: int = 9) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _tick_labels(pd_: PartialDependence, n: int = 9) -> list[str]:
    """Short x labels: a level cut to ``n`` characters, or a number to 3 digits."""
    if pd_.feature.categories is not None:
        return [_short(t, n) for t in pd_.labels()]
    return [format_value(float(f"{v:.3g}")) for v in pd_.grid]


def _range_labels(lo: float, hi: float) -> list[tuple[float, str]]:
    """Return the y-axis labels of a panel: its lowest and highest value (one if equal)."""
    texts = [(v, format_value(float(f"{v:.3g}"))) for v in (lo, hi)]
    return texts[:1] if texts[0][1] == texts[1][1] else texts


def pdp_svg(pd_: PartialDependence, tasks: Sequence[TaskSpec]) -> Markup:
    """One inline ``<svg>`` of small multiples (escaped text, no external reference)."""
    panels = pdp_panels(pd_, tasks)
    labels = _tick_labels(pd_)
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
        for v, text in _range_labels(lo + pad, hi - pad):
            parts.append(f'<text x="{x0 - 3}" y="{py(v) + 3:.1f}" text-anchor="end" '
                         f'font-size="8">{escape(text)}</text>')
        for i in _ticks(n):
            parts.append(f'<text x="{px(i):.1f}" y="{_TOP + inner_h + 11}" '
                         f'text-anchor="middle" font-size="8">{escape(labels[i])}</text>')
        points = [(px(i), py(float(v))) for i, v in enumerate(curve)]
        if not cat and n > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                         'stroke-width="2"/>')
        r = min(3.0, inner_w / (3 * n)) if cat else 1.6
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
                  for x, y in points]
    parts.append("</svg>")
    return Markup("".join(parts))


def draw_pdp(pdf: FPDF, pd_: PartialDependence, tasks: Sequence[TaskSpec], *, x0: float,
             y0: float, width: float, height: float, font: str) -> None:
    """Draw the same small multiples as vectors on an fpdf2 page.

    Positions are in mm; ``font`` is a registered Unicode font.
    """
    panels = pdp_panels(pd_, tasks)
    labels = _tick_labels(pd_, 8)
    n, cat = pd_.grid.size, pd_.feature.categories is not None
    pw = width / len(panels)
    left, top, bottom = 11.0, 8.0, 5.0
    inner_w, inner_h = pw - left - 2.0, height - top - bottom
    for p, (title, unit, curve, colour) in enumerate(panels):
        px0 = x0 + p * pw + left
        lo, hi = float(np.min(curve)), float(np.max(curve))
        pad = (hi - lo) * 0.08 or abs(hi) * 0.01 or 1.0

        def xy(i: int, v: float, px0: float = px0, lo: float = lo - pad,
               hi: float = hi + pad) -> tuple[float, float]:
            return (px0 + (i / (n - 1) if n > 1 else 0.5) * inner_w,
                    y0 + top + (hi - v) / (hi - lo) * inner_h)

        pdf.set_font(font, "B", 7)
        pdf.text(px0 + (inner_w - pdf.get_string_width(title)) / 2, y0 + 2.8, title)
        pdf.set_font(font, "", 5.5)
        pdf.set_text_color(100, 100, 100)
        pdf.text(px0 + (inner_w - pdf.get_string_width(unit)) / 2, y0 + 5.8, unit)
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.2)
        pdf.rect(px0, y0 + top, inner_w, inner_h)
        for v, text in _range_labels(lo, hi):
            pdf.text(px0 - 0.8 - pdf.get_string_width(text), xy(0, v)[1] + 0.9, text)
        for i in _ticks(n):
            text = labels[i]
            pdf.text(xy(i, lo)[0] - pdf.get_string_width(text) / 2, y0 + height - 1.5, text)
        points = [xy(i, float(v)) for i, v in enumerate(curve)]
        pdf.set_draw_color(*hex_rgb(colour))
        pdf.set_fill_color(*hex_rgb(colour))
        if not cat and n > 1:
            pdf.set_line_width(0.5)
            pdf.polyline(points)
        r = min(0.9, inner_w / (3 * n)) if cat else 0.45
        for x, y in points:
            pdf.rect(x - r, y - r, 2 * r, 2 * r, style="F")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
