"""Segments: blended ranking quality and task shares by a user attribute."""

from __future__ import annotations

import streamlit as st

from ui import charts, compute, state, widgets
from ui.text import md_escape


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Segments")
    if view is None:
        return
    widgets.weights_caption(view)
    with widgets.guard():
        project = view.project()
        attrs = [c for c in state.user_table(project, view.stamp).columns if c != "user_id"]
        if not attrs:
            st.info("The users table has no categorical attribute to segment by.")
            return
        column = st.columns(3)[0].selectbox("Segment users by", attrs, key="seg_column",
                              help="A categorical column of the users table.")
        frame = state.segment_table(project, view.stamp, column, view.weights, view.transform,
                                    view.k)
        names, k = view.task_names(), view.k
        st.markdown(f"**NDCG@{k} by {md_escape(column)}** — each user's test exposures "
                    "re-ranked by the blend")
        maximize = {t.name: t.direction == "maximize" for t in view.tasks}
        st.plotly_chart(charts.segment_metric_bars(frame[frame[column] != "all users"],
                                                   column, names, k, maximize),
                        key="seg_ndcg")
        st.caption("Points are each segment's mean over its users; bars are 95% "
                   "bootstrap intervals over those users. Each task has its own scale.")
        st.markdown("**Per segment and task**")
        long = compute.segment_rows(frame, column, names, k)
        cc = {c: st.column_config.NumberColumn(format="%.4f") for c in (f"NDCG@{k}", "GAUC")}
        cc["users"] = st.column_config.NumberColumn(
            "n", help="Users of the segment with a test positive of the task: the NDCG's base.")
        cc["share"] = st.column_config.NumberColumn(
            format="%.3f", help="Mean sign · weight · transformed score in the top-K.")
        cc["segment users"] = st.column_config.NumberColumn(help="Users in the segment.")
        cc["test users"] = st.column_config.NumberColumn(
            help="Users of the segment with exposures in the test window.")
        st.dataframe(long, hide_index=True, key="seg_table", column_config=cc)
        st.markdown(f"**Average task shares in the top-{k}** — mean sign · weight · "
                    "transformed score")
        st.plotly_chart(charts.segment_bars(frame, column, names), key="seg_shares")
        minimised = [t.name for t in view.tasks if t.direction == "minimize"]
        if minimised:
            st.caption(f"For minimised tasks ({md_escape(', '.join(minimised))}) a lower "
                       "NDCG is better: items with that label are pushed down.")


main()
