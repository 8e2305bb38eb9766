"""Overview: what Blendscope is, the dataset, model quality and the blend at a glance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state, widgets
from ui.text import md_escape

INTRO = (
    "Blendscope trains one LightGBM model per objective (click, purchase, revenue, returns…) "
    "and ranks each user's candidates by a weighted blend of the task scores. "
    "Move the sliders in the sidebar and rankings, metrics and trade-offs update in place; "
    "a copied link reproduces what you see. "
    "Every score is explained exactly: per-feature SHAP attributions add up to the blended "
    "score the ranking used."
)


_MODEL_COLUMNS = {
    "auc": ("AUC", "ROC AUC on the test window (entire space for conditional tasks).", "%.3f"),
    "log_loss": ("log loss", "Mean binary cross-entropy of the predicted probability.", "%.4f"),
    "positive_rate": ("positive rate", "Share of test exposures with a positive label.",
                      "%.4f"),
    "auc_given_parent": ("AUC | parent", "AUC of the conditional model among exposures whose "
                                         "parent label is positive.", "%.3f"),
    "rmse": ("RMSE", "Root mean squared error, in the label's units.", "%.3f"),
    "mae": ("MAE", "Mean absolute error, in the label's units.", "%.3f"),
    "mean": ("mean label", "Mean of the label on the test window.", "%.3f"),
    "ndcg@10": ("NDCG@10", "Ranking quality of the task's own model.", "%.3f"),
    "mrr": ("MRR", "Mean reciprocal rank of the first positive.", "%.3f"),
    "trees": ("trees", "Boosting rounds kept by early stopping.", "%d"),
}


def _facts(manifest: dict) -> None:
    d = manifest["dataset"]
    cols = st.columns(5)
    cols[0].metric("Users", f"{d['n_users']:,}", help="Users in the dataset's users table.")
    cols[1].metric("Items", f"{d['n_items']:,}", help="Items in the catalog.")
    cols[2].metric("Exposures", f"{d['n_exposures']:,}",
                   help="Rows of the interactions table: one per item shown to a user.")
    cols[3].metric("From", d["time_min"][:10], help="Earliest exposure timestamp.")
    cols[4].metric("To", d["time_max"][:10],
                   help=f"Latest exposure. The test window starts {d['test_start'][:16]}, "
                        f"validation {d['val_start'][:16]}.")
    tasks = state.tasks_of(manifest)
    rates = d["label_rates"]
    cols = st.columns(len(tasks))
    for col, t in zip(cols, tasks, strict=True):
        unit = "mean per exposure" if t.kind == "regression" else "of exposures"
        value = f"{rates[t.name]:.3f}" if t.kind == "regression" else f"{rates[t.name]:.2%}"
        name = md_escape(t.name)
        title = f"{name} mean label" if t.kind == "regression" else f"{name} label rate"
        col.metric(title, value,
                   help=f"Label '{md_escape(t.label)}' ({t.kind}): {unit}, over all exposures.")


def _models(manifest: dict) -> None:
    m = manifest["metrics"]
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Per-task model metrics** (test window, independent of the weights)")
        frame = pd.DataFrame(m["tasks"]).T.rename_axis("task").reset_index()
        frame["trees"] = frame["task"].map(m.get("trees", {}))
        st.dataframe(frame, hide_index=True, key="overview_models", placeholder="—",
                     column_config={c: st.column_config.NumberColumn(label, help=h, format=f)
                                    for c, (label, h, f) in _MODEL_COLUMNS.items()})
    with right:
        rec = m["candidate_recall"]
        st.metric("Candidate recall", f"{rec['all']:.1%}",
                  help="Share of test-window positives (primary task) that appear among the "
                       "user's candidates: the ceiling of any blend.")
        by_source = pd.DataFrame({"source": list(rec), "recall": list(rec.values())})
        st.dataframe(by_source[by_source["source"] != "all"], hide_index=True,
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
            a, b = now["ranking"][t.name], base["ranking"][t.name]
            better = "lower is better" if t.direction == "minimize" else "higher is better"
            rows.append({"task": t.name, "direction": better,
                         f"NDCG@{k} now": a[f"ndcg@{k}"], f"NDCG@{k} config": b[f"ndcg@{k}"],
                         "Δ NDCG": a[f"ndcg@{k}"] - b[f"ndcg@{k}"],
                         f"recall@{k} now": a[f"recall@{k}"], "GAUC now": a["gauc"],
                         f"hit rate@{k} now": now["topk"].get(t.name, {}).get(f"hit_rate@{k}")})
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
            diff = now[name] - base[name]
            col.metric(name.capitalize(), fmt.format(now[name]), delta_color="off",
                       delta=f"{diff:+.3f} vs config" if abs(diff) >= 5e-4 else None,
                       help=helptext)


def main() -> None:
    """Render the page."""
    st.title("Blendscope")
    st.markdown(INTRO)
    view = state.current_view()
    if view is None:
        widgets.no_project()
        return
    manifest = view.manifest()
    st.subheader(f"Dataset — project '{md_escape(view.name)}'")
    _facts(manifest)
    _models(manifest)
    _blend(view)


main()
