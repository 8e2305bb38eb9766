"""Recommendations: a user's top-K under the current blend, task shares and recent history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import charts, flags, state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys.project import Project, RankedList


def _table(ranked: RankedList, view: state.View, moves: list[str], predictions: bool,
           marks: dict[str, str]) -> pd.DataFrame:
    rows = []
    flagged = any(it.item_id in marks for it in ranked.items)
    for it, move in zip(ranked.items, moves, strict=True):
        row = {"moved": move, "rank": it.rank, "title": it.title, "blended score": it.score}
        if flagged:
            row["flag"] = marks.get(it.item_id, "")
        if predictions:
            row |= {f"{t} pred.": it.predictions[t] for t in view.task_names()}
        else:
            row |= {t: it.tasks[t] for t in view.task_names()}
        rows.append(row | {"item_id": it.item_id})
    return pd.DataFrame(rows)


def _column_config(view: state.View) -> dict[str, object]:
    cc: dict[str, object] = {
        "moved": st.column_config.TextColumn(
            "Δ", width=52, help="Change of rank since the weights, transform or K "
                                         "last changed (▲ up, ▼ down, new = entered the list)."),
        "rank": st.column_config.NumberColumn(width=52),
        "flag": st.column_config.TextColumn(width=68, help="The flag in force for this user "
                                            "(never: flagged for every user). Greyed rows are "
                                            "left out unless flagged items are shown (sidebar)."),
        "title": st.column_config.TextColumn(width="medium"),
        "blended score": st.column_config.NumberColumn(
            "score", width=68, format="%.3f", help="Blended score, Σ sign · weight · transformed task "
                                         "score: what the list is sorted by."),
    }
    for t in view.tasks:
        cc[t.name] = st.column_config.NumberColumn(
            width=68, format="%.2f", help=f"{md_escape(t.name)}: task score after the "
                                f"{state.TRANSFORMS[view.transform]} transform (unweighted).")
        unit = ("predicted value" if t.kind == "regression" else
                "ranking score" if t.kind == "rank" else "probability (entire space)")
        cc[f"{t.name} pred."] = st.column_config.NumberColumn(
            format="%.4f", help=f"{md_escape(t.name)}: model prediction in natural units, "
                                f"{unit}.")
    return cc


def _history(project: Project, view: state.View, user: str) -> None:
    st.markdown("**Recent history** (before the test window, newest first)")
    hist = state.user_history(project, view.stamp, user, 20)
    if hist.empty:
        st.info("No exposures of this user before the test window.")
        return
    labels = list(dict.fromkeys(t.label for t in view.tasks if t.label in hist.columns))
    outcome = hist[labels].gt(0).apply(lambda r: ", ".join(r.index[r]) or "—", axis=1)
    show = hist[["title", "timestamp"]].assign(outcome=outcome)
    st.dataframe(show, hide_index=True, key="rec_history", height=420,
                 column_config={"timestamp": st.column_config.DatetimeColumn(
                     "time", format="MM-DD HH:mm", width=84, help="When the item was shown."),
                     "outcome": st.column_config.TextColumn(width=118,
                         help="Positive labels of the exposure "
                              f"({md_escape(', '.join(labels))})."),
                     "title": st.column_config.TextColumn(width="medium")})


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Recommendations")
    if view is None:
        return
    with widgets.guard():
        project = view.project()
        user = widgets.user_picker(view, project, "rec")
        if user is None:
            return
        ranked, marks = flags.ranked(project, view, user)
        ids = [it.item_id for it in ranked.items]
        out = frozenset(i for i, m in marks.items() if m in flags.EXCLUDED)
        moves = state.ranking_moves(user, (view.weights, view.transform, view.k, out), ids)
        widgets.weights_caption(view)
        head, toggle = st.columns([3, 1])
        head.markdown(f"**Top {view.k} for {md_escape(user)}**")
        preds = toggle.toggle("natural units", key="rec_preds",
                              help="Show each task's prediction (probability, value) "
                                   "instead of its transformed score.")
        if not ranked.items:
            st.info("This user has no candidates left (none, or all flagged).")
            return
        table = _table(ranked, view, moves, preds, marks)
        st.dataframe(flags.greyed(table, table["item_id"].isin(out)), hide_index=True,
                     key="rec_table", column_config=_column_config(view))
        moved = sum(bool(m) for m in moves)
        dropped = state.dropped_items(user)
        if moved or dropped:
            left = "; left the list: " + ", ".join(
                f"{md_escape(project.title(project.item_code(i)))} ({md_escape(i)})"
                for i in dropped) if dropped else ""
            st.caption(f"{moved} of {len(ids)} items moved since the last change{left}.")
        flags.panel(project, view, user, flags.labels(ranked, marks), "rec")
        left_col, right_col = st.columns([1, 1], gap="medium")
        with left_col:
            from ui.compute import task_contributions

            st.markdown("**Task shares of each item's blended score**")
            fig = charts.contribution_bars(task_contributions(ranked, project),
                                           view.task_names())
            st.plotly_chart(fig, key="rec_shares", config={"displayModeBar": False})
        with right_col:
            _history(project, view, user)


main()
