"""What-if: change a user's or an item's attributes and watch each task's prediction, the
blended score, the rank and the attribution of the change move."""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from explain import feature_labels, format_attribute, waterfall_figure, waterfall_steps
from ui import state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from explain import WhatIf
    from recsys.features import EditableAttribute

_BARS = 10
_OWNERS = {"user": "User", "item": "Item", "context": "Usual visit context"}
_PER_ROW = 5


def _key(a: EditableAttribute) -> str:
    return f"wi_{a.owner}.{a.name}"


def _from_link(a: EditableAttribute) -> object:
    """The link's value of ``a`` (``set_<key>``) if it fits the attribute, else its own."""
    text = state.url_value(f"set_{a.key}")
    if text is None or a.is_categorical and text in (a.levels or ()):
        return a.value if text is None else text
    with contextlib.suppress(ValueError):
        if not a.is_categorical and math.isfinite(number := float(text)):
            return number
    st.warning(f"{md_escape(a.key)}: the link's value '{md_escape(text)}' does not fit; "
               "showing the current value")
    return a.value


def _reset(attrs: tuple[EditableAttribute, ...]) -> None:
    for a in attrs:
        st.session_state[_key(a)] = a.value


def _form(attrs: tuple[EditableAttribute, ...], pair: tuple[str, str, str]) -> dict[str, object]:
    """One input per attribute, prefilled with the pair's values; returns the edits."""
    ss = st.session_state
    if ss.get(state.WHATIF_PAIR) != pair:  # a new pair starts from its values (or the link's)
        first = state.WHATIF_PAIR not in ss
        for a in attrs:
            ss[_key(a)] = _from_link(a) if first else a.value
        ss[state.WHATIF_PAIR] = pair
    for owner, heading in _OWNERS.items():
        group = [a for a in attrs if a.owner == owner]
        if group:
            st.markdown(f"**{heading}**")
        for start in range(0, len(group), _PER_ROW):
            for col, a in zip(st.columns(_PER_ROW), group[start:start + _PER_ROW], strict=False):
                label = md_escape(a.name)
                now = f"Current value: {md_escape(format_attribute(a.value))}."
                if a.is_categorical:
                    options = [*(a.levels or ()), *([None] if a.value is None else [])]
                    col.selectbox(label, options, key=_key(a), help=now,
                                  format_func=lambda v: "missing" if v is None else str(v))
                else:
                    big = abs(a.value or 0.0)
                    col.number_input(label, key=_key(a), format="%g", help=now,
                                     step=1.0 if big >= 100 else 0.1 if big >= 1 else 0.01)
    st.button("Reset to current values", key="wi_reset", on_click=_reset, args=(attrs,),
              icon=":material/restart_alt:", help="Put every attribute back as it is.")
    return {a.key: ss[_key(a)] for a in attrs if ss[_key(a)] != a.value
            and not (ss[_key(a)] is None and a.value is None)}


def _moves(w: WhatIf) -> None:
    left, right, _ = st.columns([1, 1, 2])
    gap, up = w.score_after - w.score_before, w.rank_before - w.rank_after
    left.metric("Blended score", f"{w.score_after:.4f}", f"{gap:+.4f}" if w.changes else None,
                help=f"Before: {w.score_before:.4f}. Σ sign · weight · transformed task score.")
    right.metric(f"Rank among {w.n_candidates} candidates", w.rank_after,
                 f"{up:+d} place{'' if abs(up) == 1 else 's'}" if up else None,
                 help=f"Before: rank {w.rank_before}. Re-ranked against the user's other "
                      "candidates at the current weights.")
    st.dataframe(pd.DataFrame([{
        "task": t.task, "prediction before": t.prediction_before,
        "prediction after": t.prediction_after, "transformed before": t.transformed_before,
        "transformed after": t.transformed_after,
        "share change": t.weight * (t.transformed_after - t.transformed_before)}
        for t in w.tasks]), hide_index=True, key="wi_tasks", column_config={
            **{c: st.column_config.NumberColumn(format="%.4g", help="In the task's natural "
                                                "unit (probability or value).")
               for c in ("prediction before", "prediction after")},
            "share change": st.column_config.NumberColumn(
                help="sign · weight × (transformed after − before): the task's part of the "
                     "change of the blended score.")})
    for note in w.notes:
        st.info(md_escape(note))


def _change(w: WhatIf) -> None:
    labels = feature_labels(w.after.feature_names, w.after.descriptions)
    st.dataframe(pd.DataFrame([{
        "attribute": e.key, "of": e.owner, "before": format_attribute(e.before),
        "after": format_attribute(e.after), "also recomputed": ", ".join(labels[f] for f in e.moved)}
        for e in w.changes]), hide_index=True, key="wi_changes")
    steps = waterfall_steps(w.change(changed_only=True), _BARS, base_label="before",
                            total_label="after", values_b=w.values_before(changed_only=True))
    st.plotly_chart(waterfall_figure(
        steps, title=f"Change of the blended score by feature: {w.score_before:.3f} → "
                     f"{w.score_after:.3f} (values: after vs before)",
        unit="blended score"), key="wi_waterfall")
    st.caption("Each bar is a feature's contribution after minus before. A feature whose "
               "value did not change can move too: the trees combine it with the edited ones.")


def main() -> None:
    """Render the page."""
    view = widgets.page_view("What-if")
    if view is None:
        return
    with widgets.guard():
        project = view.project()
        user = widgets.user_picker(view, project, "wi")
        if user is None:
            return
        item = widgets.item_picker(project, project.recommend(
            user, weights=view.weights_dict(), k=view.k, transform=view.transform))
        if item is None:
            return
        widgets.weights_caption(view)
        base = state.whatif(project, view.stamp, user, item, (), view.weights, view.transform)
        st.subheader(md_escape(f"Attributes of {base.title} for {user}"))
        with st.container(border=True):
            edits = _form(base.attributes, (view.stamp, user, item))
        state.page_url("whatif", {f"set_{k}": str(v) for k, v in edits.items()})
        w = state.whatif(project, view.stamp, user, item, tuple(edits.items()), view.weights,
                         view.transform) if edits else base
        st.subheader("Before and after")
        _moves(w)
        if edits:
            _change(w)
        else:
            st.info("Change an attribute above to see each task's prediction, the blended "
                    "score, the rank and the attribution move.")


main()
