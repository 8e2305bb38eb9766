"""Colours and positions of a categorical feature's levels on the Global page's charts
(no Streamlit): the most frequent levels get the palette, the rest one grey.

Every string shown is escaped with :func:`ui.text.plot_escape`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ui.text import plot_escape as esc

__all__ = ["LEVEL_COLOURS", "MAX_LEVELS", "MISSING", "OTHER_LEVELS", "coloured_dots",
           "level_traces", "levels"]

LEVEL_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00", "#0072B2")
"""Colours of a categorical feature's most frequent levels (Okabe–Ito without yellow and
black, which read as the ends of the low→high scale); the other levels are grey."""
OTHER_LEVELS, MISSING = "#9A9A9A", "#D0D0D0"
MAX_LEVELS = 20
"""A categorical dependence plot shows this many levels (the most frequent), then the rest
as one box."""


def levels(values: pd.Series, n: int, *,
           level_order: bool = False) -> tuple[list[str], list[str], NDArray[np.int64]]:
    """(names, colours, code per row) of a categorical's levels on a chart: its ``n`` most
    frequent levels (in level order if ``level_order``, else most frequent first), then
    "other levels (k)" if more are present and "missing" if a value is; each row's code
    indexes ``names``."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    raw = cat.cat.codes.to_numpy().astype(np.int64) + 1  # 0: missing
    counts = np.bincount(raw, minlength=len(cat.cat.categories) + 1)
    present = [int(c) for c in np.argsort(-counts[1:], kind="stable") if counts[1 + c] > 0]
    keep = sorted(present[:n]) if level_order else present[:n]
    names = [str(cat.cat.categories[c]) for c in keep]
    colours = [LEVEL_COLOURS[i] if i < len(LEVEL_COLOURS) else OTHER_LEVELS
               for i in range(len(keep))]
    code_of = np.zeros(len(counts), dtype=np.int64)
    code_of[[c + 1 for c in keep]] = np.arange(len(keep))
    if len(present) > n:
        code_of[[c + 1 for c in present[n:]]] = len(names)
        names.append(f"other levels ({len(present) - n})")
        colours.append(OTHER_LEVELS)
    if counts[0]:
        code_of[0] = len(names)
        names.append("missing")
        colours.append(MISSING)
    return names, colours, code_of[raw]


def level_traces(x: NDArray[np.float32], y: NDArray[np.float32], values: pd.Series, head: str,
                 *, legend: str, group: str) -> list[dict[str, object]]:
    """One dot trace per level of a categorical feature (legend entries grouped under
    ``legend``); levels past the palette are drawn together in grey."""
    names, colours, codes = levels(values, len(LEVEL_COLOURS))
    traces = []
    for i, name in enumerate(names):
        mask = codes == i
        if mask.any():
            traces.append(dict(
                type="scattergl", x=x[mask], y=y[mask], mode="markers", name=esc(name),
                legendgroup=esc(group), showlegend=True,
                legendgrouptitle=dict(text=esc(legend)) if not traces else None,
                marker=dict(size=4, color=colours[i], opacity=0.75),
                hovertemplate=f"{head}<br>{esc(legend)} = {esc(name)}<br>%{{x:.4f}}"
                              "<extra></extra>"))
    return traces


def coloured_dots(x: NDArray, y: NDArray[np.float32], colour: pd.Series, hover: str,
                  custom: NDArray | None, label: str) -> list[dict[str, object]]:
    """Dependence dots coloured by another feature: a low → high scale for numbers (from
    its 5th to its 95th percentile, as shap's dependence plot: a few large values would
    leave every other dot dark), one trace (legend entry) per level for a categorical (the
    caller titles the legend)."""
    if not isinstance(colour.dtype, pd.CategoricalDtype):
        values = colour.to_numpy(np.float64)
        finite = values[np.isfinite(values)]
        low, high = np.percentile(finite, [5, 95]) if finite.size else (0.0, 1.0)
        return [dict(type="scatter", x=x, y=y, mode="markers", customdata=custom,
                     showlegend=False,
                     hovertemplate=f"{hover}<br>{esc(label)} = %{{marker.color:.4g}}"
                                   "<extra></extra>",
                     marker=dict(size=5, color=values, colorscale="Cividis", opacity=0.7,
                                 showscale=True, cmin=float(low), cmax=float(high),
                                 colorbar=dict(title=dict(text=_wrap(label)), thickness=12)))]
    names, colours, codes = levels(colour, len(LEVEL_COLOURS))
    traces = []
    for i, name in enumerate(names):
        mask = codes == i
        traces.append(dict(
            type="scatter", x=x[mask], y=y[mask], mode="markers", name=esc(name),
            customdata=None if custom is None else custom[mask],
            hovertemplate=f"{hover}<br>{esc(label)} = {esc(name)}<extra></extra>",
            marker=dict(size=5, color=colours[i], opacity=0.7)))
    return traces


def _wrap(text: str, width: int = 16) -> str:
    """``text`` escaped and wrapped onto short lines (a colour bar title)."""
    return "<br>".join(esc(line) for line in textwrap.wrap(text, width) or [text])
