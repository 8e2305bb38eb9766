"""Overview: what Blendscope is, the dataset, model quality and the blend at a glance."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import compute, health_view, state, widgets
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys._manifest import Manifest

INTRO = (
    "Blendscope trains one LightGBM model per objective (click, purchase, revenue, returns…) "
    "and ranks each user's candidates by a weighted blend of the task scores. "
    "Move the sliders in the sidebar and rankings, metrics and trade-offs update in place; "
    "a copied link reproduces what you see. "
    "Every score is explained exactly: per-feature SHAP attributions add up to the blended "
    "score the ranking used."
)


def _facts(manifest: Manifest) -> None:
    d = manifest.dataset
    cols = st.columns(4)
    cols[0].metric("Users", f"{d.n_users:,}", help="Users in the dataset's users table.")
    cols[1].metric("Items", f"{d.n_items:,}", help="Items in the catalog.")
    cols[2].metric("Exposures", f"{d.n_exposures:,}",
                   help="Rows of the interactions table: one per item shown to a user.")
    days = (pd.Timestamp(d.time_max) - pd.Timestamp(d.time_min)).days + 1
    cols[3].metric("Days", f"{days:,}", help="Calendar days from the first to the last exposure.")
    st.caption(f"Exposures from {d.time_min[:10]} to {d.time_max[:10]}; validation "
               f"window from {d.val_start[:16]}, test window from {d.test_start[:16]}.")
    tasks = manifest.tasks
    rates = d.label_rates
    cols = st.columns(len(tasks))
    for col, t in zip(cols, tasks, strict=True):
        unit = "mean per exposure" if t.kind == "regression" else "of exposures"
        value = f"{rates[t.name]:.3f}" if t.kind == "regression" else f"{rates[t.name]:.2%}"
        name = md_escape(t.name)
        title = f"{name} mean label" if t.kind == "regression" else f"{name} label rate"
        col.metric(title, value,
                   help=f"Label '{md_escape(t.label)}' ({t.kind}): {unit}, over all exposures.")


def _models(view: state.View, manifest: Manifest) -> None:
    m = manifest.metrics
    st.markdown("**Per-task model metrics beside the best trivial baseline** (test window, "
                "independent of the weights; a lift whose interval includes 0 is not better "
                "than the baseline)")
    with widgets.guard():
        rows = compute.health_rows(state.health(view.stamp).reports, m.trees)
        health_view.report_table(rows, "overview_models", health_view.OVERVIEW_COLUMNS)
    rec = m.candidate_recall
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.metric("Candidate recall", f"{rec['all']:.1%}",
                help="Share of test-window positives (primary task) that appear among the "
                     "user's candidates: the ceiling of any blend.")
    by_source = pd.DataFrame({"source": list(rec), "recall": list(rec.values())})
    right.dataframe(by_source[by_source["source"] != "all"], hide_index=True,
                    key="overview_recall", column_config={"recall": st.column_config.
                    ProgressColumn("recall", min_value=0.0, max_value=1.0, format="%.3f",
                                   help="Recall of each candidate source on its own.")})


def _blend(view: state.View) -> None:
    st.subheader("Blended ranking at the current weights vs the config's")
    widgets.weights_caption(view)
    with widgets.guard():
        project = view.project()
        now = state.evaluation(project, view.stamp, view.weights, view.transform, view.k)
        base = state.evaluation(project, view.stamp, view.default_weights(), view.transform,
                                view.k)
        k = view.k
        rows = []
        for t in view.tasks:
            a, b = now.ranking[t.name], base.ranking[t.name]
            better = "lower is better" if t.direction == "minimize" else "higher is better"
            hits = now.topk.get(t.name)
            rows.append({"task": t.name, "direction": better,
                         f"NDCG@{k} now": a.ndcg, f"NDCG@{k} config": b.ndcg,
                         "Δ NDCG": a.ndcg - b.ndcg, f"recall@{k} now": a.recall,
                         "GAUC now": a.gauc,
                         f"hit rate@{k} now": None if hits is None else hits.hit_rate})
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="overview_blend", placeholder="—",
                     column_config={c: st.column_config.NumberColumn(format="%.4f")
                                    for c in rows[0] if c not in ("task", "direction")})
        cols = st.columns(3)
        for col, (name, fmt, helptext) in zip(cols, [
            ("coverage", "{:.1%}", "Share of the catalog that appears in some user's top-K."),
            ("diversity", "{:.3f}", "Intra-list diversity: share of item pairs in a top-K "
                                    "list from different categories (0–1)."),
            ("novelty", "{:.2f}", "Mean self-information of recommended items, "
                                  "-log2(popularity), in bits: higher = less popular items."),
        ], strict=True):
            value, diff = getattr(now, name), getattr(now, name) - getattr(base, name)
            col.metric(name.capitalize(), fmt.format(value) if math.isfinite(value) else "n/a",
                       delta_color="off",
                       delta=f"{diff:+.3f} vs config" if abs(diff) >= 5e-4 else None,
                       help=helptext)


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Blendscope")
    st.markdown(INTRO)
    if view is None:
        return
    manifest = view.manifest()
    st.subheader(f"Dataset — project '{md_escape(view.name)}'")
    _facts(manifest)
    _models(view, manifest)
    _blend(view)


main()
