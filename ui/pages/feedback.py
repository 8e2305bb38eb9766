"""Feedback: the analysts' flags on recommendations — by kind, the items flagged most, by
user segment and item category — and the whole flag log."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import compute, state, widgets
from ui import health_charts as hc

_TOP = 12
_HISTORY = {
    "time": st.column_config.TextColumn("time (UTC)", width=118),
    "user_id": st.column_config.TextColumn("user", width=84,
                                           help="'every user' for a never-recommend flag."),
    "item": st.column_config.TextColumn(width=190, help="Title (item id)."),
    "kind": st.column_config.TextColumn(width=76, help="bad, irrelevant, good, never "
                                                       "(every user) or clear (withdrawn)."),
    "note": st.column_config.TextColumn(width=130),
    "scenario": st.column_config.TextColumn(width=90, help="The saved scenario in view, if "
                                                           "the weights still matched it."),
    "weights": st.column_config.TextColumn("weights in view", width=118,
                                           help="The blend weights when the flag was set."),
}
_LOG = list(_HISTORY)


def _bars(table: pd.DataFrame, title: str, axis: str, key: str) -> None:
    if title:
        st.markdown(f"**{title}**")
    if table.empty:
        st.caption("No flag to count here.")
        return
    st.plotly_chart(hc.flag_bars(table, axis_title=axis, legend=False), key=key,
                    config={"displayModeBar": False})


def _breakdowns(frame: pd.DataFrame, users: pd.DataFrame) -> None:
    left, right = st.columns(2, gap="medium")
    with left:
        _bars(compute.flag_counts(frame, "kind"), "Flags in force by kind", "kind", "fb_kind")
        st.caption("The other charts colour each kind as this one does (hover a bar for its "
                   "kind and count).")
    with right:
        top = compute.flag_counts(frame, "item").head(_TOP)
        _bars(top, f"Items flagged most (top {len(top)})", "item", "fb_items")
    left, right = st.columns(2, gap="medium")
    with left:
        attrs = compute.user_columns(users)
        per_user = frame[frame["user_id"] != compute.EVERY_USER]
        if attrs:
            st.markdown("**By user attribute**")
            col = st.selectbox("User attribute", attrs, key="fb_attr",
                               label_visibility="collapsed",
                               help="Count the per-user flags by this attribute of the user.")
            _bars(compute.flag_counts(per_user, col), "", col, "fb_segment")
            if len(per_user) < len(frame):
                st.caption(f"{len(frame) - len(per_user)} never-recommend flag(s) apply to "
                           "every user and are not counted by attribute.")
        else:
            st.caption("The dataset has no user attributes.")
    with right:
        if "category" in frame:
            _bars(compute.flag_counts(frame, "category"), "By item category", "category",
                  "fb_category")
        else:
            st.caption("The dataset names no item category (data.item_category).")


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Feedback")
    if view is None:
        return
    with widgets.guard():
        project = view.project()
        version = state.log_version(project)
        history = state.flag_history(project, view.stamp, version)
        if not history:
            st.info("No flags yet. Flag recommendations on the **Recommendations** or "
                    "**Explain** page (or with `recsys flags add`); they appear here.")
            return
        users = state.user_table(project, view.stamp)
        items = state.item_table(project, view.stamp)
        in_force = compute.flag_frame(state.flag_set(project, view.stamp, version).flags,
                                      users, items)
        cols = st.columns(4)
        cols[0].metric("Flags in force", f"{len(in_force):,}",
                       help="The latest flag of each (user, item); cleared flags dropped.")
        cols[1].metric("Log entries", f"{len(history):,}",
                       help="Every flag ever written, clears included (the log is "
                            "append-only).")
        cols[2].metric("Users with flags",
                       f"{in_force.loc[in_force['user_id'] != compute.EVERY_USER, 'user_id'].nunique():,}",
                       help="Users with at least one flag of their own in force.")
        cols[3].metric("Never recommended", f"{(in_force['kind'] == 'never').sum():,}",
                       help="Items left out of every user's list.")
        _breakdowns(in_force, users)
        st.subheader("Flag log")
        log = compute.flag_frame(reversed(history), users, items)
        head, button = st.columns([4, 1], vertical_alignment="center")
        head.caption("Every entry, newest first, with the blend in view when it was written "
                     "(the download adds the transform and where each flag was set).")
        button.download_button("Download CSV", log.to_csv(index=False).encode("utf-8"),
                               file_name=f"{view.name}-flags.csv", mime="text/csv",
                               key="fb_download", help="The whole flag log as CSV.")
        st.dataframe(log.assign(time=log["time"].str[:16]), hide_index=True, key="fb_log",
                     column_order=_LOG, column_config=_HISTORY)


main()
