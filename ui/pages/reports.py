"""Reports: explained top-K lists of chosen users or a segment, as a downloadable file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys.project import Project

_MODES = ("Current user", "Pick users", "Segment")
_LABELS = {"html": "HTML (offline page)", "pdf": "PDF", "csv": "CSV (zip)",
           "parquet": "Parquet (zip)", "json": "JSON", "xlsx": "Excel (xlsx)"}
_MAX_OPTIONS = 2000


def _choose_users(project: Project, view: state.View) -> tuple[list[str], str]:
    """The users to report on and how they were chosen."""
    users = state.user_table(project, view.stamp)
    ids = users["user_id"].tolist()
    mode = st.segmented_control("Users", _MODES, default=_MODES[0], key="rep_mode",
                                required=True, help="Whose recommendations go in the report.")
    if mode == "Pick users":
        current = st.session_state.get(state.USER)
        options = ids[:_MAX_OPTIONS] + ([current] if current in ids[_MAX_OPTIONS:] else [])
        picked = st.multiselect("User ids", options, default=[o for o in [current]
                                                               if o in options],
                                key="rep_users", max_selections=200,
                                help="Type to search; at most 200 users per report.")
        return list(picked), f"users {', '.join(picked[:5])}{'…' if len(picked) > 5 else ''}"
    if mode == "Segment":
        attrs = [c for c in users.columns if c != "user_id"]
        if not attrs:
            st.info("The users table has no attribute to choose a segment by.")
            return [], ""
        a, b, c = st.columns(3)
        column = a.selectbox("Attribute", attrs, key="rep_seg_col",
                             help="A categorical column of the users table.")
        value = b.selectbox("Value", sorted(users[column].unique()), key="rep_seg_val",
                            help="Users with this value are reported.")
        n = c.number_input("At most (users)", 1, 200, 20, key="rep_seg_n",
                           help="A reproducible random sample if more users match.")
        from explain.report import users_in_segment

        return users_in_segment(project, column, value, n=int(n)), f"{column} = {value}"
    user = st.session_state.get(state.USER) or ids[0]
    st.caption(f"User **{md_escape(user)}** (choose another on the Recommendations page).")
    return [str(user)], f"user {user}"


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Reports")
    if view is None:
        return
    widgets.weights_caption(view)
    with widgets.guard():
        project = view.project()
        users, selection = _choose_users(project, view)
        a, b, c = st.columns([1, 1, 2])
        k = a.number_input("K (items per user)", 1, state.K_MAX, view.k, key="rep_k",
                           help="Length of each user's explained list.")
        fmt = b.selectbox("Format", list(_LABELS), key="rep_fmt", format_func=_LABELS.get,
                          help="HTML and PDF for people; CSV, Parquet, JSON and Excel for "
                               "further analysis (attributions in long or wide form).")
        title = c.text_input("Title", "Blendscope recommendation report", key="rep_title",
                             help="Shown at the top of the report.")
        if not users:
            st.info("Choose at least one user.")
            return
        request = (tuple(users), view.weights, view.transform, int(k), fmt, title, selection)
        if st.button(f"Build report ({len(users)} user(s))", key="rep_build", type="primary",
                     help="Explain every listed item (SHAP) and write the file."):
            st.session_state[state.REPORT] = (view.stamp, request,
                                              state.report(project, view.stamp, *request))
        built = st.session_state.get(state.REPORT)
        if built is None or built[:2] != (view.stamp, request):
            st.info("Choose users, K and format, then build the report."
                    if built is None else "The settings changed since the last build: "
                                          "build again to download this view.")
            return
        data, name, mime, preview = built[2]
        st.download_button(f"Download {_LABELS[fmt]} — {len(data) / 1024:,.0f} KiB", data,
                           file_name=name, mime=mime, key="rep_download", type="primary",
                           on_click="ignore", help=f"Saves {md_escape(name)}.")
        st.markdown(f"**Preview** — {len(users)} user(s), {len(preview)} explained items "
                    f"({md_escape(selection)})")
        keep = [col for col in preview.columns if not col.endswith(("_transformed",
                                                                      "_share_fraction"))]
        st.dataframe(preview[keep], hide_index=True, key="rep_preview")
        if fmt == "html":
            with st.expander("Rendered HTML report", expanded=False):
                st.iframe(data.decode("utf-8"), height=640)


main()
