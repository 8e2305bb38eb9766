"""Features as people read them.

Readable names, category labels, sensibly rounded numbers, and text made safe for plotly.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from recsys.features import FeatureSpec

__all__ = ["display_number", "display_rows", "feature_labels", "format_contribution",
           "format_value", "plot_escape"]

MINUS = "\u2212"
_SPACE = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")


def feature_labels(names: Iterable[str], descriptions: Iterable[str]) -> dict[str, str]:
    """Return the label a person reads for each feature, keyed by its raw column name.

    A feature's label is its ``FeatureSpec.description`` ("user's past click rate" for
    ``user_click_rate``), or the raw name where the description is blank. Where several
    features share a description, each label is followed by its raw name in brackets,
    so labels stay unique (a chart's category axis would merge equal labels).

    Descriptions come from the data (column names): the labels are plain text, to be
    escaped for the medium that shows them (:func:`plot_escape`, ``ui.text.md_escape``).
    """
    pairs = [(str(n), _SPACE.sub(" ", str(d)).strip() or str(n))
             for n, d in zip(names, descriptions, strict=True)]
    seen = Counter(d for _, d in pairs)
    return {n: d if seen[d] == 1 else f"{d} ({n})" for n, d in pairs}


def plot_escape(value: object) -> str:
    """Escape ``value`` so that plotly shows it literally.

    ``<``, ``>`` and ``&`` become entities, so no tag or link is rendered; runs of
    whitespace and control characters become one space (the rule of
    ``ui.text.plot_escape``, which the dashboard uses).
    """
    return html.escape(_SPACE.sub(" ", str(value)), quote=False)


def display_number(x: float) -> float | int | None:
    """Round ``x`` for display.

    None if missing or infinite; whole numbers (below 1e15) as ``int``; from 1000 up, one
    decimal place; else four significant digits.
    """
    if x is None or not math.isfinite(x):
        return None
    if x == round(x) and abs(x) < 1e15:
        return int(round(x))
    if abs(x) >= 1000:
        return round(float(x), 1)
    return float(f"{x:.4g}")


def display_rows(specs: Sequence[FeatureSpec], X: NDArray[np.floating]) -> list[tuple[object, ...]]:
    """Display values of every row of ``X`` (n, n_features), one tuple per row."""
    arr = np.asarray(X, dtype=np.float64)
    cols: list[list[object]] = []
    for j, spec in enumerate(specs):
        col = arr[:, j]
        if spec.is_categorical:
            cols.append(list(spec.decode(col)))
        else:  # format each distinct value once
            uniq, inverse = np.unique(col, return_inverse=True)
            shown = [display_number(v) for v in uniq.tolist()]
            cols.append([shown[k] for k in inverse.tolist()])
    return [tuple(c[i] for c in cols) for i in range(arr.shape[0])]


def format_value(v: object) -> str:
    """Format a display value as text (``missing`` for None), with true minus signs."""
    if v is None:
        return "missing"
    # years and ids (1942, 2017) read wrong with a separator: only from 10,000 up
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e4:
            return f"{v:.0f}".replace("-", MINUS)
        text = f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
        return text.replace("-", MINUS)
    if isinstance(v, int):
        return (f"{v:,}" if abs(v) >= 10_000 else str(v)).replace("-", MINUS)
    return str(v)


def format_contribution(c: float, digits: int = 2) -> str:
    """Format a signed contribution, e.g. ``+0.42`` or ``−0.18`` (true minus sign)."""
    text = f"{c:+.{digits}f}"
    if float(text) == 0.0:
        text = f"{c:+.{digits}g}" if c != 0 else f"{0:.{digits}f}"
    return text.replace("-", MINUS)
