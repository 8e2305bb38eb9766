"""Explain: why an item got its blended score, per task, by feature group, in words, and
why it ranks above another item of the catalogue, and where that item stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from explain import waterfall_figure, waterfall_steps
from ui import charts, compare_view, flags, state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from explain import BlendedAttribution
    from recsys.tasks import TaskSpec

_BARS = 12


def _summary(e: BlendedAttribution) -> None:
    attr = e.attribution
    cols = st.columns(4)
    cols[0].metric("Blended score", f"{e.score:.4f}",
                   help="Σ sign · weight · transformed task score: what the ranking sorts by.")
    cols[1].metric("Base value", f"{attr.base_value:.4f}",
                   help="The blended score of an average exposure (the models' expected "
                        "values, blended).")
    cols[2].metric("Σ feature attributions", f"{attr.values.sum():+.4f}",
                   help="Sum of every feature's exact SHAP contribution to the blended score.")
    gap = e.score - attr.total()
    cols[3].metric("Base + Σ − score", f"{gap:.1e}",
                   help="Additivity check: base value + attributions − score (rounding only).")
    st.markdown("**Why this item, in words**")
    st.markdown("\n".join(f"- {md_escape(r)}" for r in e.reasons))


def _blend_tab(e: BlendedAttribution, view: state.View) -> None:
    left, right = st.columns([3, 2], gap="medium")
    with left:
        total = f"{e.attribution.base_value:.3f} {e.attribution.values.sum():+.3f} = {e.score:.3f}"
        st.plotly_chart(waterfall_figure(
            waterfall_steps(e.attribution, _BARS), title=f"Blended score: {total}",
            unit="contribution to the blended score"), key="exp_waterfall")
    with right:
        st.markdown("**Task shares** (sign · weight · transformed score)")
        shares = {t: x.share for t, x in e.tasks.items()}
        st.plotly_chart(charts.signed_bars(shares, unit="share of the blended score",
                                           colours=charts.task_colours(view.task_names())),
                        key="exp_shares")
        st.markdown("**By feature group**")
        st.plotly_chart(charts.signed_bars(e.attribution.by_group(),
                                           unit="contribution to the blended score"),
                        key="exp_groups")


def _task_tab(e: BlendedAttribution, view: state.View, t: TaskSpec) -> None:
    x = e.tasks[t.name]
    cols = st.columns(4)
    cols[0].metric("Prediction", f"{x.prediction:.4g}",
                   help=f"{md_escape(t.name)} in natural units ({t.kind}).")
    cols[1].metric("Task score", f"{x.margin:.4f}", help=md_escape(t.score_description()))
    cols[2].metric("Transformed", f"{x.transformed:.4f}",
                   help=f"After the {state.TRANSFORMS[view.transform]} transform.")
    cols[3].metric("Share", f"{x.share:+.4f}", f"{x.share_fraction:+.0%} of |shares|",
                   delta_color="off", delta_arrow="off",
                   help=f"Signed weight {x.weight:+.2f} × transformed.")
    st.plotly_chart(waterfall_figure(  # the value axis zooms to the bars (base far from 0)
        waterfall_steps(x.attribution, _BARS), unit=t.score_description(),
        title=f"{t.name}: {x.attribution.base_value:.3f} {x.attribution.values.sum():+.3f} "
              f"= {x.margin:.3f}"), key=f"exp_waterfall_{t.name}")


def _tabs(e: BlendedAttribution, view: state.View) -> None:
    """The blend and one tab per task; only the open tab is drawn."""
    tabs = st.tabs(["Blend", *map(md_escape, view.task_names())], key="exp_tab",
                   on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            _blend_tab(e, view)
    for tab, t in zip(tabs[1:], view.tasks, strict=True):
        if tab.open:
            with tab:
                _task_tab(e, view, t)


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Explain")
    if view is None:
        return
    with widgets.guard():
        project = view.project()
        user = widgets.user_picker(view, project, "exp")
        if user is None:
            return
        ranked, marks = flags.ranked(project, view, user)
        item = widgets.item_picker(project, ranked)
        if item is None:
            return
        widgets.weights_caption(view)
        e = state.explanation(project, view.stamp, user, item, view.weights, view.transform)
        _summary(e)
        flags.panel(project, view, user, flags.labels(ranked, marks, item, e.title), "exp",
                    item=item)
        _tabs(e, view)
        compare_view.panel(project, view, user, item, ranked)


main()
