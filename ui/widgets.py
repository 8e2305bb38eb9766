"""Pieces several pages share: error guard, "no project" notice and the user picker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from recsys.errors import BlendscopeError
from ui import state
from ui.text import md_escape, md_lines

if TYPE_CHECKING:
    from recsys.project import Project, RankedList

_MAX_OPTIONS = 2000


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show our errors (:class:`BlendscopeError`) as ``st.error``; let bugs surface."""
    try:
        yield
    except BlendscopeError as err:
        st.error(md_lines(err))


def no_project() -> None:
    """What a page shows when no project is loaded."""
    if state.list_projects():
        name = md_escape(st.session_state.get(state.PROJECT))
        st.info(f"Project '{name}' cannot be opened (see the "
                "sidebar): pick another project or retrain it on the **Data** page.")
        return
    st.info(f"No trained project found under `{state.artifacts_label()}`. Open the **Data** "
            "page to train one (or run `make demo`).")


def page_view(title: str, *, banner: bool = True) -> state.View | None:
    """Title the page and return the current view, or say why there is none (-> None);
    under the title, the project's model-health warnings (unless ``banner`` is false: the
    Model health page lists them itself)."""
    st.title(title)
    view = state.current_view()
    if view is None:
        no_project()
    elif banner:
        from ui.health_view import banner as health_banner

        health_banner(view)
    return view


def weights_caption(view: state.View) -> None:
    """One line stating the weights, transform and K the page uses."""
    ws = " · ".join(f"{md_escape(t)} {w:.1f}" for t, w in view.weights)
    st.caption(f"Weights: {ws} — transform {state.TRANSFORMS[view.transform]} — K = {view.k}")
    if not any(w > 0 for _, w in view.weights):
        st.warning(ALL_ZERO, icon=":material/warning:")


ALL_ZERO = ("Every blend weight is 0, so every candidate scores exactly 0: lists follow the "
            "candidate order, ranking metrics are those of an arbitrary order (GAUC 0.5) and "
            "task shares are 0%. Raise at least one weight in the sidebar.")
"""What the pages say when the blend has no weight at all."""


def _filtered(users: pd.DataFrame, lookup: state.UserLookup, prefix: str) -> pd.Series:
    attrs = [c for c in users.columns if c != "user_id"]
    cols = st.columns(len(attrs) + 1)
    mask: pd.Series | None = None  # None: no filter (no pass over every user)
    for col, box in zip(attrs, cols, strict=False):
        levels = ["any", *lookup.levels[col]]
        pick = box.selectbox(md_escape(col), levels, key=f"{prefix}_filter_{col}",
                             help=f"Only list users whose {md_escape(col)} is this value.")
        if pick != "any":
            hit = users[col] == pick
            mask = hit if mask is None else mask & hit
    query = cols[-1].text_input("Search user id", key=f"{prefix}_search", placeholder="e.g. u00042",
                                help="Keep user ids containing this text (case-insensitive).")
    if query.strip():
        hit = users["user_id"].str.contains(query.strip(), case=False, regex=False)
        mask = hit if mask is None else mask & hit
    return users["user_id"] if mask is None else users.loc[mask, "user_id"]


def user_picker(view: state.View, project: Project, prefix: str) -> str | None:
    """Filters by user attribute, an id search and a user selectbox; keeps ``state.USER``."""
    ss = st.session_state
    users = state.user_table(project, view.stamp)
    lookup = state.user_lookup(project, view.stamp)
    current = ss.get(state.USER)
    if current and current not in lookup.ids:
        st.warning(f"user '{md_escape(current)}' (from the link) is not in project "
                   f"'{md_escape(view.name)}'; pick another")
        current = None
    ids = _filtered(users, lookup, prefix)
    if ids.empty:
        st.warning("No user matches these filters; loosen them.")
        return None
    options = ids.head(_MAX_OPTIONS).tolist()
    if current and current not in options and (len(ids) == len(users) or current in set(ids)):
        options.insert(0, current)
    labels = state.user_labels(project, view.stamp)
    more = f" (first {_MAX_OPTIONS} of {len(ids)} shown: search to narrow)" \
        if len(ids) > _MAX_OPTIONS else f" ({len(ids)} match)"
    uid = st.selectbox("User" + more, options, key=f"{prefix}_user", format_func=lambda u: labels.get(u, u),
                       index=options.index(current) if current in options else 0,
                       help="The user whose recommendations are shown (id · attributes).")
    ss[state.USER] = uid
    return str(uid)


def item_picker(project: Project, ranked: RankedList) -> str | None:
    """An item of the user's list (or the link's item); keeps ``state.ITEM``."""
    options = [it.item_id for it in ranked.items]
    labels = {it.item_id: f"{it.rank}. {it.title} ({it.item_id})" for it in ranked.items}
    ss = st.session_state
    current = ss.get(state.ITEM)
    if ss.get(state.ITEM_USER, ranked.user_id) != ranked.user_id:
        current = None  # picked for another user
        ss.pop("exp_item", None)  # the keyed box would keep it if it is in this list too
    if current and current not in project.item_ids():
        st.warning(f"item '{md_escape(current)}' (from the link) is not in this project; "
                   "pick another")
        current = None
    elif current and current not in options:
        options.append(current)
        labels[current] = f"{current} (not in the top {len(ranked.items)})"
    if not options:
        st.info("This user has no candidates to explain.")
        return None
    item = st.selectbox("Item", options, key="exp_item", format_func=labels.__getitem__,
                        index=options.index(current) if current in options else 0,
                        help="An item of the user's top-K at the current weights.")
    ss[state.ITEM], ss[state.ITEM_USER] = item, ranked.user_id
    return str(item)
