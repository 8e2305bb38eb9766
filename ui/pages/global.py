"""Global: which features drive each task and the blend at the current weights."""

from __future__ import annotations

import streamlit as st

from ui import global_view, state, widgets

BLEND = "blend"
"""``explain.BLEND``: the blended score where a task name is expected."""


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Global feature importance")
    if view is None:
        return
    widgets.weights_caption(view)
    a, b = st.columns(2)
    target = a.selectbox("Importance for", [BLEND, *view.task_names()], key="gl_task",
                         format_func=lambda t: "the blend (current weights)" if t == BLEND
                         else f"task {t}",  # options are plain text, not Markdown
                         help="The blended score, or one task's score (in its own units).")
    n = b.selectbox("Sampled test exposures", state.GLOBAL_SAMPLES, index=1, key="gl_n",
                    help="SHAP values are computed on a reproducible sample of the test "
                         "window; more rows are steadier but slower. Each sample extends "
                         "the smaller ones, and the next size up is prepared in the "
                         "background while you read.")
    with widgets.guard():
        project = view.project()
        gi = state.global_importance(project, view.stamp, view.weights, view.transform, n)
        from explain import feature_labels

        frame = gi.to_frame()
        labels = feature_labels(frame["feature"], frame["description"])
        global_view.draw_overview(gi, frame, view, target, labels)
        global_view.draw_dependence(gi, frame, view, target, labels)
        global_view.draw_table(frame, view, target, labels)
        state.prefetch_global_sample(project, view.stamp, view.transform, n)


main()
