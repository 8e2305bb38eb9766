"""Reports: explained top-K lists (chosen users or a segment) or feedback flags, as a file."""

from __future__ import annotations

from typing import Any

import streamlit as st

from recsys.project import Project
from ui import state, widgets
from ui.text import md_escape

_KINDS = ("Explanations", "Feedback")
_MODES = ("Current user", "Pick users", "Segment")
_LABELS = {"html": "HTML (offline page)", "pdf": "PDF", "csv": "CSV (zip)",
           "parquet": "Parquet (zip)", "json": "JSON", "xlsx": "Excel (xlsx)"}
_DETAILS = {"summary": "Summary + first users", "full": "Every user"}
_MAX_OPTIONS = 2000


def _choose_users(project: Project,
                  view: state.View) -> tuple[list[str], str, tuple[str, str] | None]:
    """The users to report on, how they were chosen and the segment (column, value)."""
    users = state.user_table(project, view.stamp)
    ids = users["user_id"].tolist()
    mode = st.segmented_control("Users", _MODES, default=_MODES[0], key="rep_mode",
                                required=True, help="Whose recommendations go in the report.")
    if mode == "Pick users":
        current = st.session_state.get(state.USER)
        options = ids[:_MAX_OPTIONS] + ([current] if current in ids[_MAX_OPTIONS:] else [])
        picked = st.multiselect("User ids", options, default=[current] if current in options
                                else [], key="rep_users", max_selections=200,
                                help="Type to search; at most 200 users per report.")
        return list(picked), f"users {', '.join(picked[:5])}{'…' if len(picked) > 5 else ''}", None
    if mode == "Segment":
        attrs = [c for c in users.columns if c != "user_id"]
        if not attrs:
            st.info("The users table has no attribute to choose a segment by.")
            return [], "", None
        a, b, c = st.columns(3)
        column = a.selectbox("Attribute", attrs, key="rep_seg_col",
                             help="A categorical column of the users table.")
        value = b.selectbox("Value", sorted(users[column].unique()), key="rep_seg_val",
                            help="Users with this value are reported.")
        n = c.number_input("At most (users)", 1, 200, 20, key="rep_seg_n",
                           help="A reproducible random sample if more users match; the "
                                "segment's metrics cover all of its users.")
        from explain.report import users_in_segment

        return (users_in_segment(project, column, value, n=int(n)), f"{column} = {value}",
                (str(column), str(value)))
    user = st.session_state.get(state.USER) or ids[0]
    st.caption(f"User **{md_escape(user)}** (choose another on the Recommendations page).")
    return [str(user)], f"user {user}", None


def _pdf_options(segment: bool) -> tuple[str | None, int]:
    """The PDF's detail (summary by default for a segment) and users shown in detail."""
    a, b = st.columns([2, 1])
    detail = a.segmented_control(
        "PDF pages", list(_DETAILS), default="summary" if segment else "full",
        format_func=_DETAILS.get, required=True,
        key="rep_detail_segment" if segment else "rep_detail",
        help="Summary: a front page, a summary page (metrics, task shares, top features, "
             "warnings), then the first users only. Every user: all users' pages.")
    top = b.number_input("Users in detail", 0, 200, 10, key="rep_top", disabled=detail == "full",
                         help="How many of the listed users a summary PDF shows in full.")
    return detail, int(top)


def _offer(view: state.View, request: tuple[Any, ...], build: Any, what: str) -> Any:
    """Build on the button, then offer the file; the preview frame, or None if stale."""
    fmt = request[0]
    if st.button(f"Build {what}", key="rep_build", type="primary", help="Write the file."):
        st.session_state[state.REPORT] = (view.stamp, request, build())
    built = st.session_state.get(state.REPORT)
    if built is None or built[:2] != (view.stamp, request):
        st.info("Choose the report's settings, then build it." if built is None else
                "The settings changed since the last build: build again to download this view.")
        return None
    data, name, mime, preview = built[2]
    st.download_button(f"Download {_LABELS[fmt]} — {len(data) / 1024:,.0f} KiB", data,
                       file_name=name, mime=mime, key="rep_download", type="primary",
                       on_click="ignore", help=f"Saves {md_escape(name)}.")
    return data, preview


def _feedback(project: Project, view: state.View, fmt: str) -> None:
    import explain.report as er  # explain loads when a report is asked for
    def build() -> tuple[bytes, str, str, Any]:
        rep = er.build_feedback_report(project)
        return (er.export_feedback(rep, fmt), er.feedback_filename(rep, fmt),  # type: ignore[arg-type]
                er.MEDIA_TYPES[fmt], rep.top_items())

    request = (fmt, "feedback", state.log_version(project))
    shown = _offer(view, request, build, "feedback report")
    if shown is not None:
        st.markdown("**Preview** — the items flagged most")
        st.dataframe(shown[1], hide_index=True, key="rep_fb_preview")


def _explanations(project: Project, view: state.View, fmt: str) -> None:
    users, selection, segment = _choose_users(project, view)
    a, c = st.columns([1, 3])
    k = a.number_input("K (items per user)", 1, state.K_MAX, view.k, key="rep_k",
                       help="Length of each user's explained list.")
    title = c.text_input("Title", "Blendscope recommendation report", key="rep_title",
                         help="Shown at the top of the report.")
    detail, top = _pdf_options(segment is not None) if fmt == "pdf" else (None, 10)
    if not users:
        st.info("Choose at least one user.")
        return
    args = (tuple(users), view.weights, view.transform, int(k), fmt, title, selection, segment,
            detail, top)
    shown = _offer(view, (fmt, *args), lambda: state.report(project, view.stamp, *args),
                   f"report ({len(users)} user(s))")
    if shown is None:
        return
    data, preview = shown
    st.markdown(f"**Preview** — {len(users)} user(s), {len(preview)} explained items "
                f"({md_escape(selection)})")
    keep = [c for c in preview.columns if not c.endswith(("_transformed", "_share_fraction"))]
    st.dataframe(preview[keep], hide_index=True, key="rep_preview")
    if fmt == "html":
        with st.expander("Rendered HTML report", expanded=False):
            st.iframe(data.decode("utf-8"), height=640)


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Reports")
    if view is None:
        return
    widgets.weights_caption(view)
    with widgets.guard():
        project = view.project()
        a, b = st.columns([2, 1])
        kind = a.segmented_control(
            "Report", _KINDS, default=_KINDS[0], key="rep_kind", required=True,
            help="Explained top-K lists, or the analysts' flags counted by kind, segment, "
                 "category, weights and item.")
        fmt = b.selectbox("Format", list(_LABELS), key="rep_fmt", format_func=_LABELS.get,
                          help="HTML and PDF to read; CSV, Parquet, JSON, Excel to analyse.")
        if kind == "Feedback":
            _feedback(project, view, fmt)
        else:
            _explanations(project, view, fmt)


main()
