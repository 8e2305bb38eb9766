"""Trade-offs: per-task quality at the current weights, the Pareto front of the weight
sweep, weight-sensitivity curves and a target search."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import charts, compute, state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys.evaluate import Evaluation
    from recsys.project import Project


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _metrics(ev: Evaluation, view: state.View) -> None:
    k = view.k
    cols = st.columns(len(view.tasks))
    for col, t in zip(cols, view.tasks, strict=True):
        r = ev.ranking[t.name]
        auc = ev.models.get(t.name, {}).get("auc")
        note = " (minimised: lower is better)" if t.direction == "minimize" else ""
        col.metric(f"NDCG@{k} {md_escape(t.name)}", _fmt(r.ndcg, 4),
                   help="Each user's logged test exposures re-ranked by the blend, "
                        f"'{md_escape(t.label)}' "
                        f"as relevance{note}. GAUC {_fmt(r.gauc, 3)}; model AUC "
                        f"{_fmt(auc, 3)} (independent of weights).")
    rows = [{"task": t.name, f"NDCG@{k}": ev.ranking[t.name].ndcg,
             f"recall@{k}": ev.ranking[t.name].recall, "GAUC": ev.ranking[t.name].gauc,
             "model AUC": ev.models.get(t.name, {}).get("auc")} for t in view.tasks]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="to_metrics", placeholder="—",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in rows[0] if c != "task"})


def _apply(weights: dict[str, float]) -> None:
    for t, w in weights.items():
        st.session_state[state.WEIGHT + t] = state.parse_weight(str(w), 0.0)
    state.notify("applied the weights found by the target search")


@st.fragment
def _pareto(project: Project, view: state.View, current: dict[str, float]) -> None:
    st.subheader("Pareto frontier of the weight sweep")
    names = view.task_names()
    sw = state.sweep(project, view.stamp, view.transform, view.k)
    frame = sw.to_frame()
    a, b, c = st.columns(3)
    x = a.selectbox("x axis", names, index=0, key="to_x", help="Task on the horizontal axis.")
    y = b.selectbox("y axis", names, index=1 % len(names), key="to_y",
                    help="Task on the vertical axis.")
    colour = c.selectbox("colour", [None, *names], index=min(3, len(names)), key="to_colour",
                         format_func=lambda v: "none" if v is None else v,
                         help="Colour points by a third task's NDCG.")
    maximize = dict(zip(sw.tasks, sw.maximize, strict=True))
    st.plotly_chart(charts.pareto_scatter(frame, x, y, colour, current, view.k, maximize),
                    key="to_pareto")
    st.caption(f"{len(frame)} weight vectors on a simplex grid (weights sum to 1, step 0.1). "
               "The line and the solid points are the frontier of the two tasks shown: no "
               "other point is better on both. Faded points are dominated on these two axes. "
               f"Over all {len(names)} tasks, {int(frame['pareto'].sum())} points are "
               "Pareto-efficient. Hover a point for its weights.")


@st.fragment
def _target(project: Project, view: state.View) -> None:
    from recsys.analysis import target_search

    st.subheader("Target search")
    sw = state.sweep(project, view.stamp, view.transform, view.k)
    names = view.task_names()
    up = dict(zip(sw.tasks, sw.maximize, strict=True))
    a, b, c = st.columns([1, 2, 1])
    goal = a.selectbox("Optimise task", names, index=min(1, len(names) - 1), key="to_goal",
                        format_func=lambda t: f"{t} ({'maximise' if up[t] else 'minimise'})",
                        help="Task whose NDCG@K to improve (a minimised task: lower is better).")
    others = [t for t in names if t != goal]
    kept = b.multiselect("while keeping", others, default=others[:1], key="to_keep",
                          help="Tasks that must stay near their best NDCG@K over the sweep "
                               "(minimised tasks included: for them, near their lowest).")
    pct = c.slider("each within (% of its best NDCG)", 50, 100, 95, key="to_pct",
                    help="For a maximised task: NDCG@K ≥ this % of its best; for a minimised "
                         "task: NDCG@K ≤ its lowest ÷ this %.")
    result = target_search(sw, goal, dict.fromkeys(kept, float(pct)))
    weights = result.weights()
    if not result.feasible:
        short = ", ".join(f"{md_escape(t)} by {v:.1%}" for t, v in result.shortfall.items()
                          if v > 0)
        st.warning(f"No swept weights keep every task within {pct}% of its best. The closest "
                   f"point misses {short}; loosen the percentage or keep fewer tasks.")
    if result.zero_weights:
        st.warning("This proposal turns off " + ", ".join(f"**{md_escape(t)}**"
                                                          for t in result.zero_weights)
                   + " (weight 0): their scores no longer affect the ranking.")
    ev = state.evaluation(project, view.stamp, view.weights, view.transform, view.k)
    rows = compute.target_rows(result, ev, sw, view.weights_dict(), goal, kept, pct)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="to_target",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in rows[0] if "NDCG" in c or c == "change"}
                 | {c: st.column_config.NumberColumn(format="%.2f")
                    for c in ("weight now", "weight proposed")})
    st.caption("Proposed weights are a point of the sweep (they sum to 1: ratios are what "
               "matter). Applying sets the sliders to them.")
    if st.button("Apply these weights", key="to_apply", on_click=_apply, args=(weights,),
                 help="Set the sidebar sliders to these weights (ratios are what matter)."):
        st.rerun()


@st.fragment
def _sensitivity(project: Project, view: state.View) -> None:
    st.subheader("Weight sensitivity")
    task = st.selectbox("Vary the weight of", view.task_names(), key="to_sens_task",
                        help="Move this task's weight from 0 to 5, keeping the others at "
                             "their current values.")
    frame = state.sensitivity(project, view.stamp, task, view.weights, view.transform, view.k)
    st.plotly_chart(charts.sensitivity_lines(frame, task, view.weights_dict()[task], view.k),
                    key="to_sens")


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Trade-offs")
    if view is None:
        return
    widgets.weights_caption(view)
    with widgets.guard():
        project = view.project()
        ev = state.evaluation(project, view.stamp, view.weights, view.transform, view.k)
        _metrics(ev, view)
        current = {t: ev.ranking[t].ndcg for t in view.task_names()}
        left, right = st.columns([3, 2], gap="medium")
        with left:
            _pareto(project, view, current)
        with right:
            _sensitivity(project, view)
        _target(project, view)


main()
