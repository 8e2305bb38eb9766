"""Explain page, "Compare with another item": any catalogue item B (searchable by title
and id, kept in the link as ``vs``), where B stands for the user (candidate or not, rank,
the rule that keeps it out of the list) and why A scores above or below it.

Everything shown is computed by ``Project.standing`` and ``explain.explain_pair``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from explain import feature_labels, waterfall_figure, waterfall_steps
from ui import charts, state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from explain import PairwiseAttribution
    from recsys.project import Project, RankedList
    from recsys.standing import ItemStanding

__all__ = ["panel"]

_KEY = "exp_vs"
"""Widget key of the B picker (its value is ``vs`` in the link)."""
_BARS = 12


def _pick(project: Project, view: state.View, ranked: RankedList, item: str) -> str | None:
    """B: the list's items first (with their rank), then the rest of the catalogue."""
    labels = state.item_labels(project, view.stamp)
    listed = {it.item_id: f"{it.rank}. {labels[it.item_id]}" for it in ranked.items
              if it.item_id != item}
    options = [*listed, *(i for i in labels if i != item and i not in listed)]
    if not options:
        st.info("The catalogue has no other item to compare with.")
        return None
    ss = st.session_state
    linked = state.url_value("vs")
    if _KEY not in ss and linked is not None:  # the link's B, once per session
        if linked in labels:
            ss[_KEY] = linked
        else:
            st.warning(f"item '{md_escape(linked)}' (from the link) is not in this project; "
                       "pick another")
    if _KEY in ss and (ss[_KEY] == item or ss[_KEY] not in labels):
        del ss[_KEY]  # B became A, or is another project's item: start from the list
    shown = labels | listed
    vs = st.selectbox(
        "Compare with any item of the catalogue (type to search by title or id)", options,
        key=_KEY, format_func=shown.__getitem__, filter_mode="contains",
        persist_state="session",  # B stays picked across pages, as A does
        help="The user's list comes first (numbered by rank), then every other item: "
             "candidates outside the top K and items no candidate source proposed.")
    state.page_url("explain", {"vs": str(vs)})
    if st.query_params.get("vs") != vs:  # a fragment rerun skips app.py's write_url
        st.query_params["vs"] = str(vs)
    return str(vs)


def _standing(s: ItemStanding) -> None:
    """Where B stands: rank, score, source, listed or not, and what keeps it out."""
    st.markdown(f"**Where {md_escape(s.title)} (B) stands for this user**")
    cols = st.columns(4)
    total = s.n_candidates + 1
    cols[0].metric("Rank among the candidates" if s.candidate else "Rank if scored",
                   f"{s.rank} of {total}", f"{'inside' if s.in_top_k else 'outside'} the "
                   f"top {s.k}", delta_color="off", delta_arrow="off",
                   help=f"B's place among the user's {total} candidates at these weights "
                        "(flagged ones left aside)." if s.candidate else
                        f"Where B's score would place it if it were ranked against the "
                        f"user's {s.n_candidates} candidates at these weights.")
    cols[1].metric("Blended score", f"{s.score:.4f}",
                   help="The stored score the ranking uses." if s.candidate else
                        "Scored live by the task models at these weights: B is not a "
                        "candidate, so no score is stored for it.")
    cols[2].metric("Proposed by", s.source or "no source",
                   help="The candidate source that put B among the user's candidates "
                        "(popular, category, cooccurrence or latent).")
    cols[3].metric("In the list", "yes" if s.listed else "no",
                   help=f"Whether B shows in the user's top {s.k} at these weights.")
    if s.exclusions:
        st.markdown("**Kept out of the list because**")
        st.markdown("\n".join(f"- {md_escape(r)}" for r in s.reasons()))
    elif not s.listed:
        st.caption(f"B is a candidate, but {s.rank - 1} candidates score higher at these "
                   f"weights and the list shows the top {s.k}.")
    else:
        st.caption(f"B is in this user's top {s.k} at these weights.")


def _pair(pair: PairwiseAttribution, view: state.View) -> None:
    """Why A scores above (or below) B: Φ(A) − Φ(B) by feature and by task."""
    gap = f"{abs(pair.gap):.4f}"  # a size: "lower than", never "−0.4 below"
    how = "the same as" if gap == "0.0000" else "higher than" if pair.gap > 0 else "lower than"
    st.markdown(f"**{md_escape(pair.title_a)}** (A) scores **{gap}** {how} "
                f"**{md_escape(pair.title_b)}** (B); the bars add up to that gap.")
    left, right = st.columns([3, 2], gap="medium")
    steps = waterfall_steps(pair.attribution, _BARS, base_label="base difference",
                            total_label="score gap", values_b=pair.values_b or None)
    left.plotly_chart(waterfall_figure(steps, title="Φ(A) − Φ(B) by feature (values: A vs B)",
                                       unit="difference in blended score"), key="exp_pair")
    right.plotly_chart(charts.signed_bars(dict(pair.tasks), unit="share(A) − share(B)",
                                          colours=charts.task_colours(view.task_names())),
                       key="exp_pair_tasks")
    labels = feature_labels(pair.attribution.feature_names, pair.attribution.descriptions)
    rows = [{"favours": "A" if d > 0 else "B", "feature": labels[f], "column": f,
             "value A": str(a), "value B": str(b), "difference": d}
            for f, a, b, d in (*pair.top_for_a, *pair.top_for_b)]
    column = st.column_config.TextColumn(help="Raw column name.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="exp_pair_table",
                 column_config={"column": column})


@st.fragment
def panel(project: Project, view: state.View, user: str, item: str,
          ranked: RankedList) -> None:
    """Pick B, show where it stands, then explain A versus B (reruns on its own)."""
    st.subheader("Compare with another item")
    with widgets.guard():
        vs = _pick(project, view, ranked, item)
        if vs is None:
            return
        with st.container(border=True, key="exp_vs_standing"):
            _standing(project.standing(user, vs, weights=view.weights_dict(),
                                       transform=view.transform, k=view.k))
        _pair(state.pair_explanation(project, view.stamp, user, item, vs, view.weights,
                                     view.transform), view)
