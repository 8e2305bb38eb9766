"""Model health: each task's metrics beside the best trivial baseline with confidence
intervals, the warnings in words, learning curves and diagnostic curves.

Everything was computed at training and is read from the manifest (``state.health``), so
the page opens without loading a model.
"""

from __future__ import annotations

import streamlit as st

from ui import compute, health_view, state, widgets
from ui.text import md_escape

_KINDS = {"binary": "binary: probability of a positive label",
          "regression": "regression: predicted value", "rank": "rank: ranking score"}


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Model health", banner=False)
    if view is None:
        return
    with widgets.guard():
        health = state.health(view.stamp)
        st.caption(
            f"Project '{md_escape(view.name)}', test window, recorded at training "
            f"(independent of the blend weights). Intervals: {health.confidence:.0%} "
            f"percentile intervals over {health.n_bootstrap} resamples of the test users "
            f"(seed {health.seed}); NDCG at K = {health.k}.")
        n = len(health.warnings)
        st.subheader(f"Warnings ({n})" if n else "Warnings")
        health_view.warning_list(health.warnings)
        st.subheader("Metrics beside the best baseline")
        st.caption("A lift whose interval includes 0 reads 'not better than baseline': on "
                   "these rows the model cannot be told apart from the trivial predictor.")
        tasks = [t for t in view.tasks if t.name in health.task_names()]
        if not tasks:
            st.info("No task has a health report.")
            return
        frame = compute.health_rows(health.reports)
        for task in tasks:
            st.markdown(f"**{md_escape(task.name)}** · {_KINDS.get(task.kind, task.kind)} of "
                        f"'{md_escape(task.label)}'")
            health_view.report_table(frame[frame["task"] == task.name], f"hl_reports_{task.name}",
                                     health_view.HEALTH_COLUMNS)
        st.subheader("Curves per task")
        tabs = st.tabs([md_escape(t.name) for t in tasks], key="hl_tab", on_change="rerun")
        for tab, task in zip(tabs, tasks, strict=True):
            if tab.open:
                with tab:
                    health_view.task_charts(health, task)


main()
