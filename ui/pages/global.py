"""Global: which features drive each task and the blend at the current weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import streamlit as st

from ui import charts, state, widgets

if TYPE_CHECKING:
    from explain import GlobalImportance

_SAMPLES = (500, 1000, 2000)
BLEND = "blend"
"""``explain.BLEND``: the blended score where a task name is expected."""


def _unit(view: state.View, target: str) -> str:
    if target == BLEND:
        return "contribution to the blended score"
    spec = next(t for t in view.tasks if t.name == target)
    return f"contribution to {spec.score_description()}"


@st.fragment
def _dependence(gi: GlobalImportance, view: state.View, target: str,
                labels: Mapping[str, str]) -> None:
    st.subheader("Dependence")
    order = gi.to_frame().sort_values(target, ascending=False)["feature"].tolist()
    feature = st.selectbox("Feature", order, key="gl_feature", format_func=labels.__getitem__,
                           help="How this feature's value moves its attribution (one dot per "
                                "sampled test exposure).")  # options are plain text
    from explain import dependence

    frame = dependence(gi, feature, None if target == BLEND else target)
    st.plotly_chart(charts.dependence_scatter(frame, feature, labels[feature],
                                              unit=_unit(view, target)), key="gl_dependence")
    from ui import pdp_view

    pdp_view.draw_partial_dependence(view.project(), view, feature)


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Global feature importance")
    if view is None:
        return
    widgets.weights_caption(view)
    a, b = st.columns(2)
    target = a.selectbox("Importance for", [BLEND, *view.task_names()], key="gl_task",
                         format_func=lambda t: "the blend (current weights)" if t == BLEND
                         else f"task {t}",  # options are plain text, not Markdown
                         help="The blended score, or one task's score (in its own units).")
    n = b.selectbox("Sampled test exposures", _SAMPLES, index=1, key="gl_n",
                    help="SHAP values are computed on a reproducible sample of the test "
                         "window; more rows are steadier but slower.")
    with widgets.guard():
        project = view.project()
        gi = state.global_importance(project, view.stamp, view.weights, view.transform, n)
        from explain import beeswarm_frame, feature_labels

        frame = gi.to_frame()
        labels = feature_labels(frame["feature"], frame["description"])
        unit = _unit(view, target)
        left, right = st.columns(2, gap="medium")
        with left:
            st.markdown("**Mean |attribution|** — top 15 features, coloured by group")
            st.plotly_chart(charts.importance_bars(frame, target, labels, unit=f"mean |{unit}|"),
                            key="gl_bars")
            groups = gi.by_group(None if target == BLEND else target)
            st.markdown("**By feature group** — mean |sum of the group's attributions|")
            st.plotly_chart(charts.signed_bars(groups, unit=f"mean |{unit}|", signed=False,
                                               colours=charts.group_colours(list(groups))),
                            key="gl_groups")
        with right:
            bees = beeswarm_frame(gi, None if target == BLEND else target, max_features=12)
            st.markdown("**Attribution of every sampled exposure** (colour: feature value)")
            order = list(dict.fromkeys(bees["feature"]))
            st.plotly_chart(charts.importance_strip(bees, order, labels, unit=unit), key="gl_strip")
        _dependence(gi, view, target, labels)
        st.markdown("**All features** (mean |attribution|; tasks in their own score units)")
        table = frame.drop(columns="description").rename(columns={"feature": "column"})
        table.insert(0, "feature", [labels[f] for f in frame["feature"]])
        cc = {c: st.column_config.NumberColumn(format="%.4f")
              for c in [BLEND, *view.task_names()]}
        cc["column"] = st.column_config.TextColumn(help="Raw column name.")
        st.dataframe(table, hide_index=True, key="gl_table", column_config=cc)


main()
