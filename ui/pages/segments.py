"""Segments: blended ranking quality and task shares by a user attribute."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import charts, state, widgets
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
        left, right = st.columns(2, gap="medium")
        with left:
            st.markdown(f"**NDCG@{k} by {md_escape(column)}** — each user's test exposures "
                        "re-ranked by the blend")
            maximize = {t.name: t.direction == "maximize" for t in view.tasks}
            st.plotly_chart(charts.segment_metric_bars(frame[frame[column] != "all users"],
                                                       column, names, k, maximize),
                            key="seg_ndcg")
            st.caption("Points are each segment's mean over its users; bars are 95% "
                       "bootstrap intervals over those users. Each task has its own scale.")
        with right:
            st.markdown(f"**Average task shares in the top-{k}** — mean sign · weight · "
                        "transformed score")
            st.plotly_chart(charts.segment_bars(frame, column, names), key="seg_shares")
        shown = frame.copy()
        for t in names:
            col = f"NDCG@{k} {t}"
            shown[f"{col} 95% CI"] = [
                "—" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.3f}, {hi:.3f}]"
                for lo, hi in zip(frame[f"{col} low"], frame[f"{col} high"], strict=True)]
        order = [column, "users", "test users"]
        for t in names:
            order += [f"NDCG@{k} {t}", f"NDCG@{k} {t} 95% CI", f"NDCG@{k} {t} users"]
        order += [f"GAUC {t}" for t in names] + [f"share {t}" for t in names]
        shown = shown[order]
        cc = {c: st.column_config.NumberColumn(format="%.4f") for c in shown.columns
              if c.startswith(("NDCG", "GAUC", "share")) and not c.endswith(("CI", "users"))}
        cc["users"] = st.column_config.NumberColumn(help="Users in the segment.")
        cc["test users"] = st.column_config.NumberColumn(
            help="Users of the segment with exposures in the test window (the metrics' base).")
        for t in names:
            cc[f"NDCG@{k} {t} users"] = st.column_config.NumberColumn(
                f"n {t}", help=f"Users with a test positive of {md_escape(t)}: the NDCG's base.")
        st.dataframe(shown, hide_index=True, key="seg_table", column_config=cc)
        minimised = [t.name for t in view.tasks if t.direction == "minimize"]
        if minimised:
            st.caption(f"For minimised tasks ({md_escape(', '.join(minimised))}) a lower "
                       "NDCG is better: items with that label are pushed down.")


main()
