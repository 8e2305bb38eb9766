"""Training from the Data page: the target directory, progress and error display.

Shared by the demo and upload forms of ``ui/pages/data.py``. Every message names files
as the config does (server temporary folders are cut out) and shows data values as
text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from recsys.errors import BlendscopeError, OutputError, SchemaError
from ui import state
from ui.text import md_escape, md_lines
from ui.uploads import scrub

__all__ = ["TUNE_BUDGETS", "opened", "problems", "target", "train", "tune_box"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
TUNE_BUDGETS = {0: "no: train with the config's settings", 60: "1 min", 180: "3 min",
                600: "10 min"}
"""Choices of "Tune before training": seconds of search (``recsys.tune``) -> label."""


def target(name: str, replace: bool) -> Path | None:
    """``<artifacts>/<name>``, or ``None`` after showing why it cannot be used."""
    if not _NAME.match(name):
        st.error(f"project name {md_escape(repr(name))} is not allowed: use 1-40 letters, "
                 "digits, - or _, starting with a letter or digit")
        return None
    out = state.artifacts_root() / name
    if (out.exists() or out.is_symlink()) and not replace:
        st.error(f"project '{name}' already exists; tick 'replace an existing project' or "
                 "choose another name")
        return None
    from recsys.atomic import check_replaceable

    try:  # the shared ownership rule: replace only an earlier Blendscope project
        check_replaceable(out)
    except OutputError as err:
        st.error(md_lines(err))
        return None
    return out


def problems(intro: str, lines: list[str], folder: Path | None = None) -> None:
    """An error line, then each problem as a list item (shown as text, ``folder`` cut
    out)."""
    st.error(f"{intro}; nothing was saved:")
    shown = [scrub(line, folder) if folder else line for line in lines]
    st.markdown("\n".join(f"- {md_escape(line)}" for line in shown))


def tune_box(key: str) -> int:
    """The "Tune before training" budget picker of a form (seconds; 0: no tuning)."""
    return int(st.selectbox(
        "Tune before training", list(TUNE_BUDGETS), key=key, format_func=TUNE_BUDGETS.get,
        help="Search each task's LightGBM settings on the validation window for this long "
             "(the config's own settings are the first trial, so tuning never does worse "
             "there), write the tuned config beside the original, then train with it."))


def _tuned(config: Path, budget: int, folder: Path) -> Path | None:
    """Tune within ``budget`` seconds and write ``<config>.tuned.toml`` beside the config;
    the tuned config, or ``None`` after showing why not."""
    from recsys.tune import tune, write_tuned_config

    bar = st.progress(0.0, text=f"tuning for up to {TUNE_BUDGETS[budget]}: loading…")

    def progress(message: str, fraction: float) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"tuning — {message}")

    try:
        result = tune(config, budget_seconds=budget, progress=progress)
        out = write_tuned_config(result, config, config.with_name(f"{config.stem}.tuned.toml"))
    except SchemaError as err:
        problems(f"Tuning found {len(err.problems)} problem(s)", err.problems, folder)
        return None
    except BlendscopeError as err:
        st.error(f"Tuning failed; nothing was saved: {md_lines(scrub(str(err), folder))}")
        return None
    bar.progress(1.0, text=f"tuned in {result.seconds:.0f} s; training with the tuned settings")
    rows = [{"task": t.task, "metric": t.metric, "config's settings": t.before,
             "tuned": t.after, "trials": t.n_trials,
             "changed": "; ".join(f"{k} {a:g} → {b:g}" for k, (a, b) in t.changed().items())
             or (t.note or "kept the config's")} for t in result.tasks]
    st.dataframe(rows, hide_index=True, key="data_tuning", column_config={
        "config's settings": st.column_config.NumberColumn(format="%.4f", help="Validation "
                                                           "metric with the config's settings."),
        "tuned": st.column_config.NumberColumn(format="%.4f", help="Validation metric with "
                                               "the tuned settings."),
        "changed": st.column_config.TextColumn(width="large")})
    return out


def train(config: Path, out: Path, folder: Path, tune_seconds: int = 0) -> bool:
    """Train and save with a progress bar per stage (after tuning for ``tune_seconds``, if
    any); ``True`` on success. Messages name files as the config does: the server
    ``folder`` holding them is cut out."""
    from recsys.artifacts import save_project
    from recsys.train import train as train_project

    if tune_seconds:
        tuned = _tuned(config, tune_seconds, folder)
        if tuned is None:
            return False
        config = tuned

    bar = st.progress(0.0, text="starting…")
    status = st.status(f"Training '{out.name}'", expanded=True)
    start = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{stage} ({fraction:.0%})")
        status.write(f"{time.perf_counter() - start:6.1f} s — {stage}")

    try:
        tp = train_project(config, progress=progress)
        progress("saving artifacts", 0.98)
        path = save_project(tp, out)
    except SchemaError as err:
        status.update(label="The dataset was rejected; nothing was saved", state="error")
        problems(f"The dataset has {len(err.problems)} problem(s)", err.problems, folder)
        return False
    except BlendscopeError as err:
        status.update(label="Training failed; nothing was saved", state="error")
        st.error(md_lines(scrub(str(err), folder)))
        return False
    progress("recording the run", 0.99)
    _record(path, tp.models, folder)
    progress("done", 1.0)
    status.update(label=f"Trained '{out.name}' in {time.perf_counter() - start:.0f} s",
                  state="complete", expanded=False)
    return True


def _record(path: Path, models: Mapping[str, Any], folder: Path) -> None:
    """Append the run to the project's log (for the Runs page), as ``recsys train`` does;
    a log that cannot be written costs the comparison, not the trained project."""
    from recsys.runs import record_training

    try:
        record_training(path, models)
    except (BlendscopeError, OSError) as err:
        st.warning("The project was saved, but its run could not be recorded for the Runs "
                   f"page: {md_lines(scrub(str(err), folder))}")


def opened(name: str) -> None:
    """A button that opens the new project."""
    st.button(f"Open project '{name}'", key="data_open", on_click=state.reset_view,
              args=(name,), type="primary", help="Load the new project in the sidebar.")
