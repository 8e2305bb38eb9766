"""Feature values as people read them: category labels, sensibly rounded numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from recsys.features import FeatureSpec

__all__ = ["display_number", "display_rows", "format_contribution", "format_value"]

MINUS = "\u2212"


def display_number(x: float) -> float | int | None:
    """A number rounded for display: None if missing, whole numbers as ``int``, else
    four significant digits (at least one decimal place above 1000)."""
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
    """A display value as text (``missing`` for None)."""
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
    """A signed contribution, e.g. ``+0.42`` or ``−0.18`` (true minus sign)."""
    text = f"{c:+.{digits}f}"
    if float(text) == 0.0:
        text = f"{c:+.{digits}g}" if c != 0 else f"{0:.{digits}f}"
    return text.replace("-", MINUS)
