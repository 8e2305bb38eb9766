"""The panels of the Global page: importance charts, the shared-credit note, the dependence
plot (a fragment) and the feature table.

The figure builders (:func:`overview_figures`, :func:`dependence_figure`) are pure, so
``bench/bench_global.py`` times exactly what a rerun builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import streamlit as st

from explain import BLEND, beeswarm_frame, dependence
from ui import charts, state
from ui.text import md_escape

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from explain import FeatureAssociation, GlobalImportance

__all__ = ["dependence_figure", "draw_dependence", "draw_overview", "draw_table",
           "overview_figures", "shared_credit_note", "unit"]

STRIP_FEATURES = 12
"""Features in the strip, and the "top features" the shared-credit note looks at."""
NO_COLOUR = ""
"""The "colour by" choice that colours nothing."""


def unit(view: state.View, target: str) -> str:
    """What an attribution of ``target`` (the blend or a task) is a contribution to."""
    if target == BLEND:
        return "contribution to the blended score"
    spec = next(t for t in view.tasks if t.name == target)
    return f"contribution to {spec.score_description()}"


def _task(target: str) -> str | None:
    return None if target == BLEND else target


def _categorical(gi: GlobalImportance) -> frozenset[str]:
    return frozenset(s.name for s in gi.specs if s.is_categorical)


def overview_figures(gi: GlobalImportance, frame: pd.DataFrame, target: str,
                     labels: Mapping[str, str],
                     unit_text: str) -> tuple[go.Figure, go.Figure, go.Figure]:
    """(importance bars, group bars, strip) of ``target`` at ``gi``'s weights (``frame``:
    ``gi.to_frame()``)."""
    bars = charts.importance_bars(frame, target, labels, unit=f"mean |{unit_text}|")
    groups = gi.by_group(_task(target))
    group_bars = charts.signed_bars(groups, unit=f"mean |{unit_text}|", signed=False,
                                    colours=charts.group_colours(list(groups)))
    group_bars.update_xaxes(title_text=charts.wrapped_title(f"mean |{unit_text}|", 40))
    group_bars.update_layout(height=group_bars.layout.height + 16)  # a wrapped title's line
    bees = beeswarm_frame(gi, _task(target), max_features=STRIP_FEATURES)
    order = list(dict.fromkeys(bees["feature"]))
    strip = charts.importance_strip(bees, order, labels, unit=unit_text,
                                    categorical=_categorical(gi))
    return bars, group_bars, strip


def dependence_figure(gi: GlobalImportance, feature: str, target: str,
                      labels: Mapping[str, str], unit_text: str,
                      colour_by: str = NO_COLOUR) -> go.Figure:
    """The dependence plot of ``feature`` (coloured by feature ``colour_by``, if any)."""
    frame = dependence(gi, feature, _task(target), colour_by=colour_by or None)
    return charts.dependence_scatter(frame, feature, labels[feature], unit=unit_text,
                                     colour_label=labels.get(colour_by, ""))


def draw_overview(gi: GlobalImportance, frame: pd.DataFrame, view: state.View, target: str,
                  labels: Mapping[str, str]) -> None:
    """Feature bars on the left; group bars and the shared-credit note on the right; the
    strip of every sampled exposure below, full width (``frame``: ``gi.to_frame()``)."""
    text = unit(view, target)
    bars, group_bars, strip = state.global_overview(
        gi, frame, labels, view.stamp, view.transform, len(gi.rows), target,
        view.weights if target == BLEND else None, text)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown("**Mean |attribution|** — top 15 features, coloured by group (the colours "
                    "of the group chart)")
        st.plotly_chart(bars, key="gl_bars")
    with right:
        st.markdown("**By feature group** — mean |sum of the group's attributions|")
        st.plotly_chart(group_bars, key="gl_groups")
        top = frame.nlargest(STRIP_FEATURES, target)["feature"].tolist()
        pairs = state.global_associations(gi, view.stamp, view.transform, len(gi.rows))
        note = shared_credit_note(pairs, top, labels)
        if note:
            st.caption(note)
    st.markdown(f"**Attribution of every sampled exposure** — top {STRIP_FEATURES} features; "
                "colour: the feature's value (low → high), or its level for a categorical "
                "feature")
    st.plotly_chart(strip, key="gl_strip")


def shared_credit_note(pairs: Sequence[FeatureAssociation], top: Sequence[str],
                       labels: Mapping[str, str]) -> str:
    """Markdown naming, for each top feature (most important first), the features strongly
    associated with it ("" if none): the model may credit either of two such features, so
    their importances should be read together."""
    lines, seen = [], set()
    for feature in top:
        mine = sorted((p for p in pairs if feature in (p.feature, p.other)
                       and frozenset((p.feature, p.other)) not in seen),
                      key=lambda p: (_MEASURES.index(p.measure), -p.strength))
        if not mine:
            continue
        seen |= {frozenset((p.feature, p.other)) for p in mine}
        shown = [_partner(p, feature, labels) for p in mine[:_PARTNERS]]
        more = f" and {len(mine) - _PARTNERS} more" if len(mine) > _PARTNERS else ""
        lines.append(f"- **{md_escape(labels.get(feature, feature))}** with "
                     f"{', '.join(shown)}{more}")
        if len(lines) == _NOTE_LINES:
            break
    if not lines:
        return ""
    return ("**Correlated features share credit.** On this sample these features carry much "
            "the same information, so the model may credit either one of a pair and one can "
            "absorb the other's effect: read their importances together.\n\n"
            + "\n".join(lines))


_MEASURES = ("purity", "cramers_v", "spearman", "eta")
"""Order of the partners of a feature in the note: nesting first."""
_PARTNERS, _NOTE_LINES = 3, 4


def _partner(pair: FeatureAssociation, feature: str, labels: Mapping[str, str]) -> str:
    """How ``pair``'s other feature relates to ``feature`` (Markdown)."""
    other = pair.other if pair.feature == feature else pair.feature
    name = md_escape(labels.get(other, other))
    if pair.measure == "purity":
        inner = md_escape(labels.get(pair.feature, pair.feature))
        outer = md_escape(labels.get(pair.other, pair.other))
        return f"{name} (each {inner} falls within one {outer} for {pair.strength:.0%} of rows)"
    what = {"spearman": "rank correlation", "cramers_v": "Cramér's V",
            "eta": "correlation ratio η"}[pair.measure]
    return f"{name} ({what} {pair.strength:.2f})"


@st.fragment
def draw_dependence(gi: GlobalImportance, frame: pd.DataFrame, view: state.View, target: str,
                    labels: Mapping[str, str]) -> None:
    """Feature and colour pickers, the dependence plot and the partial dependence panel (a
    fragment: picking a feature reruns only this part; ``frame``: ``gi.to_frame()``)."""
    st.subheader("Dependence")
    order = frame.sort_values(target, ascending=False, kind="stable")["feature"]
    a, b = st.columns(2)
    feature = a.selectbox("Feature", order.tolist(), key="gl_feature",
                          format_func=labels.__getitem__,  # options are plain text
                          help="How this feature's value moves its attribution (one dot per "
                               "sampled test exposure; a box per level for a categorical "
                               "feature).")
    colour = b.selectbox("Colour by", [NO_COLOUR, *(f for f in order if f != feature)],
                         key="gl_colour",
                         format_func=lambda f: labels[f] if f else "none",
                         help="Colour the dots by another feature's value, to see whether "
                              "the effect depends on it (an interaction).")
    st.plotly_chart(dependence_figure(gi, feature, target, labels, unit(view, target), colour),
                    key="gl_dependence")
    from ui import pdp_view

    pdp_view.draw_partial_dependence(view.project(), view, feature)


def draw_table(frame: pd.DataFrame, view: state.View, target: str,
               labels: Mapping[str, str]) -> None:
    """Every feature's mean |attribution|, sorted by ``target``'s column."""
    what = "the blend" if target == BLEND else f"task {md_escape(target)}"
    st.markdown(f"**All features** (mean |attribution|, sorted by {what}; tasks in their own "
                "score units)")
    table = frame.sort_values(target, ascending=False, kind="stable")
    table = table.drop(columns="description").rename(columns={"feature": "column"})
    table.insert(0, "feature", [labels[f] for f in table["column"]])
    cc = {c: st.column_config.NumberColumn(format="%.4f") for c in [BLEND, *view.task_names()]}
    cc["column"] = st.column_config.TextColumn(help="Raw column name.")
    st.dataframe(table.reset_index(drop=True), hide_index=True, key="gl_table",
                 column_config=cc)
