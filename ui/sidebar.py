"""The sidebar shown on every page: project, task weights, transform, K and scenarios."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from recsys.config import BlendConfig
from recsys.tasks import TaskSpec
from ui import scenario_panel, state
from ui.text import md_escape, md_lines


def _reset(tasks: Sequence[TaskSpec], blend: BlendConfig) -> None:
    for t in tasks:
        st.session_state[state.WEIGHT + t.name] = float(t.weight)
    st.session_state[state.TRANSFORM] = blend.transform
    st.session_state[state.K] = min(blend.k, state.K_MAX)
    state.notify(f"weights, transform ({state.TRANSFORMS[blend.transform]}) and K ({blend.k}) "
                 "reset to the config's", "info")


EXACT = "exact_"
"""Key prefix of the typed weights (number inputs mirroring the sliders)."""


def _typed(task: str, key: str) -> None:
    ss = st.session_state
    ss[state.WEIGHT + task] = state.parse_weight(str(ss[key]), 0.0)


def _exact_weights(tasks: Sequence[TaskSpec]) -> None:
    """Number inputs for weights beyond the sliders' 0–5 (up to ``W_LIMIT``), so every
    ``recsys --weight`` can be reproduced. Each mirrors its slider: its key carries the
    slider's value, so a slider move shows up here too."""
    ss = st.session_state
    with st.expander("Type exact weights", expanded=False):
        for t in tasks:
            current = float(ss[state.WEIGHT + t.name])
            key = f"{EXACT}{t.name}@{current:g}"
            st.number_input(md_escape(t.name), 0.0, state.W_LIMIT, value=current,
                            step=state.W_STEP, format="%.1f", key=key, on_change=_typed,
                            args=(t.name, key), help=f"Any weight from 0 to "
                            f"{state.W_LIMIT:g} (the slider stretches to hold it).")


def _init_defaults(tasks: Sequence[TaskSpec], blend: BlendConfig) -> None:
    """First values of the widgets: the link's, else the config's. A link value that had to
    be clamped or ignored is reported once (:data:`URL_NOTES`)."""
    ss = st.session_state
    notes: list[str] = []
    for t in tasks:
        if state.WEIGHT + t.name not in ss:
            raw = state.url_value(f"w_{t.name}")
            w = state.parse_weight(raw, float(t.weight))
            ss[state.WEIGHT + t.name] = w
            if raw is not None and _as_float(raw) != w:
                notes.append(f"w_{t.name}={raw!r} became {w:g}: weights are numbers from 0 to "
                             f"{state.W_LIMIT:g} in steps of {state.W_STEP:g}")
    if state.TRANSFORM not in ss:
        want = state.url_value("transform")
        ss[state.TRANSFORM] = want if want in state.TRANSFORMS else blend.transform
        if want is not None and want not in state.TRANSFORMS:
            notes.append(f"transform={want!r} is unknown (use {', '.join(state.TRANSFORMS)}); "
                         f"using {blend.transform}")
    if state.K not in ss:
        want = state.url_value("k") or ""
        ss[state.K] = min(int(want), state.K_MAX) if want.isdigit() and int(want) > 0 \
            else blend.k
        if want and str(ss[state.K]) != want:
            notes.append(f"k={want!r} became {ss[state.K]}: K is a whole number from 1 to "
                         f"{state.K_MAX}")
    if notes:
        ss[URL_NOTES] = ss.get(URL_NOTES, []) + notes


URL_NOTES = "_url_notes"
"""Link values that were clamped or ignored, shown once at the top of the sidebar."""


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def render() -> state.View | None:
    """Draw the sidebar and return the current view (``None`` without a project)."""
    ss = st.session_state
    root = state.artifacts_root()
    names = state.list_projects(root)
    with st.sidebar:
        if not names:
            st.info(f"No trained project under `{state.artifacts_label()}` yet: train one on the "
                    "**Data** page "
                    "or run `make demo`.")
            return None
        if ss.get(state.PROJECT) not in names:
            want = state.url_value("project")
            ss[state.PROJECT] = want if want in names else ("demo" if "demo" in names
                                                            else names[0])
            if want is not None and want not in names:
                ss[URL_NOTES] = [*ss.get(URL_NOTES, []), f"project={want!r} does not exist; "
                                 f"showing '{ss[state.PROJECT]}'"]
        st.selectbox("Project", names, key=state.PROJECT, on_change=state.reset_view,
                     help=f"Trained projects found in the artifacts directory "
                          f"`{root.name}/` (directories with a manifest.json).")
        try:
            manifest, tasks = state.describe(state.project_stamp(root / ss[state.PROJECT]))
        except ValueError as err:
            st.error(md_lines(err))
            return None
        _init_defaults(tasks, manifest.config.blend)
        for note in ss.pop(URL_NOTES, []):
            st.warning(md_lines(f"Link: {note}"), icon=":material/link_off:")
        st.markdown("**Blend weights**")
        for t in tasks:
            sign = "lowers" if t.direction == "minimize" else "raises"
            current = float(ss.get(state.WEIGHT + t.name, t.weight))
            # the range only grows (a changed range makes a new widget, which would drop a
            # value the slider itself set)
            top = ss[f"_wmax_{t.name}"] = max(ss.get(f"_wmax_{t.name}", state.W_MAX),
                                              state.slider_max(current))
            st.slider(state.task_label(t), 0.0, top, step=state.W_STEP,
                      key=state.WEIGHT + t.name, format="%.1f",
                      help=f"Weight of '{md_escape(t.name)}' ({t.kind}) in the blend: a higher "
                           f"weight {sign} items with a high predicted {md_escape(t.label)}. "
                           f"Config: {t.weight}.")
        _exact_weights(tasks)
        st.button("Reset to config", key="reset_weights", on_click=_reset,
                  args=(tasks, manifest.config.blend),
                  help="Set every slider, the transform and K back to the project's "
                       "config.toml.")
        st.selectbox("Score transform", list(state.TRANSFORMS), key=state.TRANSFORM,
                     format_func=state.TRANSFORMS.__getitem__,
                     help="How each task's raw score is mapped to a common scale before "
                          "weighting: z-score (mean 0, sd 1), percentile (0–1) or min-max (0–1).")
        st.number_input("K (list length)", min_value=1, max_value=state.K_MAX, step=1,
                        key=state.K, help="Length of the recommendation lists and the "
                                          "cut-off of NDCG@K, recall@K and hit rate@K.")
        st.toggle("Show flagged items (greyed)", key=state.SHOW_FLAGGED,
                  help="Items flagged bad, irrelevant or never-recommend leave the lists on "
                       "Recommendations and Explain; switch on to list them greyed and marked.")
        view = state.current_view()
        if view is not None:
            scenario_panel.render(view)
        state.show_notice()
    return view
