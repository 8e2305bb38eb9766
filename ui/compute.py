"""Presentation helpers: reshape engine results for charts (no Streamlit here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from recsys.project import Project, RankedList

__all__ = ["task_contributions"]


def task_contributions(ranked: RankedList, project: Project) -> pd.DataFrame:
    """Each listed item's task contributions ``sign · w · g(m)`` (they sum to its score)."""
    w = dict(zip(project.task_names(), project.signed_vector(ranked.weights), strict=True))
    return pd.DataFrame([{"rank": it.rank, "title": it.title,
                          **{t: w[t] * v for t, v in it.tasks.items()}} for it in ranked.items])
