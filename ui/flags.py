"""Analyst feedback on the Recommendations and Explain pages: the list with flagged items
left out (or greyed), and the controls that flag a recommendation.

Flags are written with ``project.log().add_flag(..., source="dashboard")`` together with
the weights, transform and scenario in view, so the Feedback page and ``recsys flags``
can say under which blend an item looked wrong. A flag write changes the log's version
(see :func:`ui.state.log_version`), so every cached read of the flags refreshes at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from recsys.errors import BlendscopeError
from ui import state
from ui.compute import EVERY_USER
from ui.scenarios import ScenarioError, ScenarioStore
from ui.text import md_escape, md_lines

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from recsys.project import Project, RankedList
    from recsys.projectlog import FlagSet

__all__ = ["EXCLUDED", "KINDS", "flag_label", "flag_set", "greyed", "labels", "marks",
           "panel", "ranked"]

KINDS = {"bad": "bad", "irrelevant": "irrelevant", "good": "good",
         "never": "never recommend (every user)", "clear": "clear flag"}
"""Choices of the flag control: ``never`` is a ``bad`` flag for every user."""
EXCLUDED = frozenset({"bad", "irrelevant", "never"})
"""Marks of items that are left out of the lists (unless flagged items are shown)."""


def flag_set(project: Project, view: state.View) -> FlagSet:
    """The flags in force (cached until the log changes)."""
    return state.flag_set(project, view.stamp, state.log_version(project))


def marks(flags: FlagSet, user: str) -> dict[str, str]:
    """``{item_id: kind}`` of the flags in force for ``user``: ``never`` for an excluding
    flag on every user, else the user's own flag (bad, irrelevant or good)."""
    out = {f.item_id: f.kind for f in flags.flags if f.user_id is None and f.kind == "good"}
    out |= {f.item_id: f.kind for f in flags.flags if f.user_id == user}
    out |= {i: "never" for i in flags.excluded_items()}
    return out


def ranked(project: Project, view: state.View, user: str) -> tuple[RankedList, dict[str, str]]:
    """The user's top-K with the items flagged bad or irrelevant left out (kept, to be
    greyed, when the sidebar's "show flagged items" is on) and the marks of the flags in
    force for this user."""
    flags = flag_set(project, view)
    show = bool(st.session_state.get(state.SHOW_FLAGGED))
    out = project.recommend(user, weights=view.weights_dict(), k=view.k,
                            transform=view.transform,
                            exclude_items=() if show else flags.excluded_for(user))
    return out, marks(flags, user)


def _scenario(view: state.View) -> str:
    """The picked scenario's name if the view still matches it (weights, transform, K)."""
    name = st.session_state.get("scenario_pick")
    if not name:
        return ""
    try:
        scen = ScenarioStore.beside(state.artifacts_root()).list(view.name).get(str(name))
    except (ScenarioError, OSError):
        return ""
    if scen is None or (scen.transform, int(scen.k)) != (view.transform, view.k):
        return ""
    same = all(abs(float(scen.weights.get(t, 0.0)) - w) < 1e-9 for t, w in view.weights)
    return scen.name if same else ""


def _write(project: Project, view: state.View, user: str, prefix: str, item: str | None) -> None:
    """Callback of the Flag button: append the flag (or clear the ones in force)."""
    ss = st.session_state
    item = item or ss.get(f"{prefix}_flag_item")
    kind = ss.get(f"{prefix}_flag_kind") or "bad"
    note = str(ss.get(f"{prefix}_flag_note") or "").strip()
    if state.read_only():
        ss[state.FLAG_NOTICE] = ("error", "read-only dashboard: flags cannot be written")
        return
    if not item:
        ss[state.FLAG_NOTICE] = ("error", "pick an item to flag")
        return
    log = project.log()
    context = dict(note=note, weights=view.weights_dict(), transform=view.transform,
                   scenario=_scenario(view), source="dashboard")
    try:
        if kind == "clear":
            in_force = {f.user_id for f in flag_set(project, view).flags if f.item_id == item
                        and f.user_id in (user, None)}
            for who in sorted(in_force, key=lambda u: u is None):
                log.add_flag(item, "clear", user_id=who, **context)  # type: ignore[arg-type]
            text = (f"cleared the flags on {item}" if in_force
                    else f"{item} has no flag in force for {user}")
        else:
            who = None if kind == "never" else user
            log.add_flag(item, "bad" if kind == "never" else kind, user_id=who,
                         **context)  # type: ignore[arg-type]
            text = f"flagged {item} as {KINDS[kind]}" + ("" if who is None else f" for {user}")
    except (BlendscopeError, OSError) as err:
        ss[state.FLAG_NOTICE] = ("error", str(err))
        return
    state.flag_set.clear()
    ss[state.FLAG_NOTICE] = ("success", text)
    ss[f"{prefix}_flag_note"] = ""


def panel(project: Project, view: state.View, user: str, items: dict[str, str], prefix: str,
          *, item: str | None = None) -> None:
    """Flag controls: an item of ``items`` (``{item_id: label}``; or the fixed ``item``),
    the kind and a note; hidden on a read-only dashboard."""
    if state.read_only():
        return
    with st.container(border=True, key=f"{prefix}_flag_box"):
        what = "a recommendation" if item is None else \
            f"this recommendation, {md_escape(items.get(item, item))},"
        st.markdown(f"**Flag {what}** for {md_escape(user)}: bad and irrelevant items leave "
                    "this user's lists; *never recommend* leaves every list.")
        if item is None:
            left, right = st.columns([3, 2], vertical_alignment="bottom")
            left.selectbox("Item", list(items), key=f"{prefix}_flag_item",
                           format_func=lambda i: items.get(i, i),
                           help="An item of the list above.")
            kind_box, (note_box, button_box) = right, st.columns([3, 2],
                                                                vertical_alignment="bottom")
        else:
            kind_box, note_box, button_box = st.columns([2, 3, 1.4], vertical_alignment="bottom")
        kind_box.selectbox("Flag as", list(KINDS), key=f"{prefix}_flag_kind",
                           format_func=KINDS.__getitem__,
                           help="bad / irrelevant: leave the item out of this user's lists; "
                                "good: keep it (a positive example); never recommend: leave it "
                                "out for every user; clear flag: withdraw the flags in force.")
        note_box.text_input("Note (optional)", key=f"{prefix}_flag_note", max_chars=2000,
                            placeholder="e.g. out of stock, wrong audience",
                            help="Why: kept with the flag, the weights, transform and scenario.")
        button_box.button("Flag", key=f"{prefix}_flag_go", type="primary", on_click=_write,
                          args=(project, view, user, prefix, item), width="stretch",
                          help="Append the flag to the project's log (shared by every session).")
        kind, text = st.session_state.pop(state.FLAG_NOTICE, (None, None))
        if text:
            getattr(st, kind)(md_lines(text))


def labels(ranked: RankedList, marks: dict[str, str], item: str | None = None,
           title: str = "") -> dict[str, str]:
    """``{item_id: "title (id)"}`` of the listed items (and ``item``, titled ``title``),
    each with the flag in force for the user, if any."""
    out = {it.item_id: f"{it.title} ({it.item_id})" for it in ranked.items}
    if item is not None:
        out = {item: out.get(item, f"{title} ({item})")}
    return {i: label + (f" — flagged {flag_label(marks[i])}" if i in marks else "")
            for i, label in out.items()}


def flag_label(kind: str) -> str:
    """How a list or picker shows an item's flag."""
    return {"never": f"never recommend ({EVERY_USER})"}.get(kind, kind)


def greyed(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame | Styler:
    """``frame`` with the rows of ``mask`` in grey italics (the frame itself if none)."""
    if not mask.any():
        return frame
    style = "color: #9a9a9a; font-style: italic"
    return frame.style.apply(lambda row: [style if mask.loc[row.name] else ""] * len(row),
                             axis=1)
