"""The one task palette of the dashboard and the reports (Okabe–Ito).

Okabe and Ito's eight colours stay distinguishable with the common colour-vision
deficiencies. Tasks take them in task order, so a task has the same colour on every
dashboard chart and in every report; the first and sixth are the waterfall's up and down
colours (:data:`explain.POSITIVE`, :data:`explain.NEGATIVE`).
"""

from __future__ import annotations

from collections.abc import Sequence

from explain._plots import NEGATIVE, POSITIVE

__all__ = ["BLEND_COLOUR", "OKABE_ITO", "hex_rgb", "task_colour", "task_colours"]

OKABE_ITO: tuple[str, ...] = (POSITIVE, "#E69F00", "#009E73", "#CC79A7", "#56B4E9", NEGATIVE,
                              "#F0E442", "#000000")
"""Blue, orange, bluish green, reddish purple, sky blue, vermillion, yellow, black."""
BLEND_COLOUR = "#333333"
"""The blended score (not a task)."""


def task_colour(index: int) -> str:
    """Return the colour of the task at ``index`` in task order."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def task_colours(tasks: Sequence[str]) -> dict[str, str]:
    """Give each task a fixed colour, in task order."""
    return {t: task_colour(i) for i, t in enumerate(tasks)}


def hex_rgb(hex_color: str) -> tuple[int, int, int]:
    """(r, g, b) of a ``#rrggbb`` colour."""
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
