"""The sidebar's scenarios: save (asking before overwriting), preview, load and delete named
blend settings; the loaded scenario's name stays in the link while its settings are in
force."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.scenarios import Scenario, ScenarioError, ScenarioStore
from ui.text import md_escape, md_lines

SCENARIO_NAME, SCENARIO_PICK = "scenario_name", "scenario_pick"
CONFIRM = "_scenario_confirm"
"""Name of a scenario the user asked to save over (awaiting confirmation)."""
ACTIVE = "_scenario_active"
"""``(project, Scenario)`` last saved or loaded; in the link while its settings hold."""


def _settings(view: state.View) -> tuple[dict[str, float], str, int]:
    return view.weights_dict(), view.transform, view.k


def _matches(scen: Scenario, view: state.View) -> bool:
    weights, transform, k = _settings(view)
    return (transform, k) == (scen.transform, scen.k) and all(
        abs(weights.get(t, 0.0) - float(w)) < 1e-9 for t, w in scen.weights.items()
        if t in weights)


def active_name(view: state.View) -> str | None:
    """The scenario whose settings are in force (last saved or loaded), if any."""
    project, scen = st.session_state.get(ACTIVE, (None, None))
    return scen.name if scen is not None and project == view.name and _matches(scen, view) \
        else None


def _save(store: ScenarioStore, view: state.View, overwrite: bool = False) -> None:
    ss = st.session_state
    if state.read_only():
        state.notify("read-only dashboard: scenarios cannot be saved", "error")
        return
    name = str(ss.get(SCENARIO_NAME, "")).strip()
    try:
        existing = store.list(view.name).get(name)
        if existing is not None and not overwrite:
            ss[CONFIRM] = name
            return
        weights, transform, k = _settings(view)
        saved = store.save(view.name, Scenario(name=name, weights=weights, transform=transform,
                                               k=k))
    except (ScenarioError, OSError) as err:
        state.notify(str(err), "error")
        return
    ss.pop(CONFIRM, None)
    ss[SCENARIO_PICK] = saved.name
    ss[ACTIVE] = (view.name, saved)
    state.notify(f"{'replaced' if overwrite else 'saved'} scenario '{saved.name}'")


def _load(store: ScenarioStore, view: state.View) -> None:
    name = st.session_state.get(SCENARIO_PICK)
    try:
        scen = store.list(view.name).get(name or "")
    except ScenarioError as err:
        state.notify(str(err), "error")
        return
    if scen is None:
        state.notify(f"scenario {name!r} no longer exists", "error")
        return
    ss = st.session_state
    for t in view.tasks:
        ss[state.WEIGHT + t.name] = state.parse_weight(str(scen.weights.get(t.name, 0.0)), 0.0)
    ss[state.TRANSFORM] = scen.transform if scen.transform in state.TRANSFORMS else view.transform
    ss[state.K] = min(max(int(scen.k), 1), state.K_MAX)
    ss[ACTIVE] = (view.name, scen)
    unknown = sorted(set(scen.weights) - set(view.task_names()))
    extra = f" (ignored unknown tasks: {', '.join(unknown)})" if unknown else ""
    state.notify(f"loaded scenario '{scen.name}'{extra}")


def _delete(store: ScenarioStore, view: state.View) -> None:
    if state.read_only():
        state.notify("read-only dashboard: scenarios cannot be deleted", "error")
        return
    name = st.session_state.get(SCENARIO_PICK)
    try:
        store.delete(view.name, str(name))
    except (ScenarioError, OSError) as err:
        state.notify(str(err), "error")
        return
    st.session_state.pop(SCENARIO_PICK, None)
    state.notify(f"deleted scenario '{name}'", "info")


def _describe(scen: Scenario) -> str:
    weights = " · ".join(f"{md_escape(t)} {float(w):g}" for t, w in scen.weights.items())
    when = f", saved {md_escape(scen.saved_at[:16].replace('T', ' '))}" if scen.saved_at else ""
    return f"{weights} — {md_escape(state.TRANSFORMS.get(scen.transform, scen.transform))}, " \
           f"K = {scen.k}{when}"


def _preselect(names: list[str]) -> None:
    """A link's ``scenario=NAME`` picks that scenario once (its settings come from the
    link's own weights)."""
    ss = st.session_state
    want = state.url_value("scenario")
    if want and not ss.get("_scenario_url_done"):
        ss["_scenario_url_done"] = True
        if want in names:
            ss.setdefault(SCENARIO_PICK, want)


def render(view: state.View) -> None:
    """Draw the Scenarios expander."""
    ss = st.session_state
    store = ScenarioStore.beside(state.artifacts_root())
    writable = not state.read_only()
    try:
        saved = store.list(view.name)
    except ScenarioError as err:
        st.error(md_lines(err))
        saved = {}
    names = list(saved)
    _preselect(names)
    with st.expander("Scenarios", expanded=bool(ss.get(CONFIRM))):
        if writable:
            st.text_input("Name", key=SCENARIO_NAME, placeholder="e.g. revenue push",
                          help="Save the current weights, transform and K under this name.")
            st.button("Save current weights", key="scenario_save", on_click=_save,
                      args=(store, view), help="Shared by all sessions of this server.")
            pending = ss.get(CONFIRM)
            if pending in saved:
                st.warning(f"A scenario named '{md_escape(pending)}' exists: "
                           f"{_describe(saved[pending])}. Replace it?")
                yes, no = st.columns(2)
                yes.button("Replace", key="scenario_overwrite", on_click=_save,
                           args=(store, view, True), type="primary",
                           help="Save the current settings under this name for every session.")
                no.button("Keep it", key="scenario_keep", on_click=ss.pop, args=(CONFIRM, None),
                          help="Leave the saved scenario as it is.")
        st.selectbox("Saved scenarios", names, key=SCENARIO_PICK, index=None,
                     placeholder="none saved yet" if not names else "pick one",
                     help="Scenarios saved for this project.")
        picked = saved.get(ss.get(SCENARIO_PICK) or "")
        if picked is not None:
            st.caption(f"Preview: {_describe(picked)}")
        left, right = st.columns(2)
        left.button("Load", key="scenario_load", on_click=_load, args=(store, view),
                    disabled=not names, help="Set the sliders, transform and K to the scenario.")
        if writable:
            right.button("Delete", key="scenario_delete", on_click=_delete, args=(store, view),
                         disabled=not names, help="Remove the scenario for every session.")
        else:
            st.caption("Read-only dashboard: saving and deleting scenarios is disabled.")
