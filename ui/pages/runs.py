"""Runs: every recorded training of the project, its metrics across runs with confidence
bands, and a comparison of two runs (significance, feature moves, top-K overlap)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import charts, compute, state, widgets
from ui import health_charts as hc
from ui.text import md_escape

if TYPE_CHECKING:
    from recsys.projectlog import RunEntry

_MOVES = 12
_NUM = st.column_config.NumberColumn(format="%.4f")
_RUN_CONFIG = {
    "run": st.column_config.TextColumn(width=120, help="Run number and training time (UTC); "
                                       "the run ids are in the pickers below."),
    "data": st.column_config.TextColumn(width=76, help="Fingerprint of the dataset."),
    "config": st.column_config.TextColumn(width=76, help="Hash of the configuration."),
    "exposures": st.column_config.NumberColumn(width=84, format="%d"),
    "warnings": st.column_config.NumberColumn(width=72, help="Model-health warnings."),
}


def _across(runs: list[RunEntry], labels: list[str]) -> None:
    st.subheader("Metrics across runs")
    tasks = compute.run_tasks(runs)
    if not tasks:
        st.info("No run recorded metric reports (they were trained before model health).")
        return
    task = st.selectbox("Task", tasks, key="runs_task",
                        help="Each panel: one metric of this task per run, with its 95% "
                             "interval (band) and the best baseline (dotted).")
    st.plotly_chart(hc.run_metric_lines(compute.run_series(runs, task), labels),
                    key="runs_lines", config={"displayModeBar": False})


def _compare(runs: list[RunEntry], labels: list[str]) -> None:
    from recsys.runs import compare_runs

    st.subheader("Compare two runs")
    names = dict(zip([r.run_id for r in runs], labels, strict=True))
    left, right = st.columns(2)
    a = left.selectbox("Before", list(names), index=len(runs) - 2, key="runs_a",
                       format_func=lambda r: f"{names[r]} ({r})", help="The earlier run.")
    b = right.selectbox("After", list(names), index=len(runs) - 1, key="runs_b",
                        format_func=lambda r: f"{names[r]} ({r})", help="The later run.")
    if a == b:
        st.info("Pick two different runs.")
        return
    by_id = {r.run_id: r for r in runs}
    comp = compare_runs(by_id[a], by_id[b])
    verdicts = pd.Series([m.verdict for m in comp.metrics]).value_counts()
    cols = st.columns(4)
    cols[0].metric("Better", int(verdicts.get("better", 0)),
                   help="Metrics whose change is significant and in the good direction: the "
                        "difference's 95% interval (from both runs' intervals) excludes 0.")
    cols[1].metric("Worse", int(verdicts.get("worse", 0)),
                   help="Metrics significantly worse after than before.")
    cols[2].metric("No significant change", int(verdicts.get("no significant change", 0)),
                   help="Changes within both runs' uncertainty.")
    cols[3].metric(f"Top-{comp.k} overlap" if comp.k else "Top-K overlap",
                   comp.overlap_text().split(" at ")[0],
                   help=f"Mean share of each user's top-K (config weights) the two runs have "
                        f"in common, over {comp.n_common_users:,} users in both.")
    same = [f"data {'unchanged' if comp.same_data else 'changed'}",
            f"config {'unchanged' if comp.same_config else 'changed'}"]
    st.caption(" · ".join(same))
    changes = pd.DataFrame([m.to_row() for m in comp.metrics])
    if not changes.empty:
        changes["metric"] = changes["metric"].map(compute.metric_label)
    st.dataframe(changes, hide_index=True, key="runs_changes", height=36 + 35 * len(changes),
                 column_config={
                     "before": _NUM, "after": _NUM, "change": st.column_config.NumberColumn(
                         format="%+.4f", help="After minus before."),
                     "verdict": st.column_config.TextColumn(
                         width="medium", help="better / worse only when significant.")})
    moves = comp.features[:_MOVES]
    st.markdown(f"**Features whose importance moved most** (share of the model's split gain, "
                f"top {len(moves)})")
    if not moves:
        st.caption("No feature importance was recorded for these runs.")
        return
    st.plotly_chart(charts.signed_bars({f"{m.task} · {m.feature}": 100 * m.delta
                                        for m in moves}, unit="change in gain share (pp)"),
                    key="runs_moves_bars", config={"displayModeBar": False})
    with st.expander("The same as a table (before and after)"):
        st.dataframe(pd.DataFrame([m.to_row() for m in moves]), hide_index=True,
                     key="runs_moves", height=36 + 35 * len(moves), column_config={
                         c: st.column_config.NumberColumn(format="%.1f")
                         for c in ("before %", "after %", "change (pp)")})


def main() -> None:
    """Render the page."""
    view = widgets.page_view("Runs")
    if view is None:
        return
    with widgets.guard():
        project = view.project()
        runs = state.runs(project, view.stamp, state.log_version(project))
        if not runs:
            st.info(f"No training of project '{md_escape(view.name)}' is recorded yet. Every "
                    "training from the **Data** page or `recsys train` is recorded: train "
                    "again to compare.")
            return
        labels = [compute.run_label(i, r) for i, r in enumerate(runs)]
        table = pd.DataFrame(compute.run_rows(runs, labels))
        st.dataframe(table, hide_index=True, key="runs_table", column_config=_RUN_CONFIG,
                     column_order=[c for c in table if c not in ("run_id", "created_at")])
        if len(runs) == 1:
            st.info("Only one run is recorded: train again (on the **Data** page or with "
                    "`recsys train`) to compare runs.")
        _across(runs, labels)
        if len(runs) > 1:
            _compare(runs, labels)


main()
