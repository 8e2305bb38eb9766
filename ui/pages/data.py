"""Data: train a new project from uploaded files or from the demo generator."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import streamlit as st

from recsys.errors import BlendscopeError, SchemaError
from ui import state

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def _target(name: str, replace: bool) -> Path | None:
    """``<artifacts>/<name>``, or ``None`` after showing why it cannot be used."""
    if not _NAME.match(name):
        st.error(f"project name {name!r} is not allowed: use 1-40 letters, digits, - or _, "
                 "starting with a letter or digit")
        return None
    out = state.artifacts_root() / name
    if out.exists() and not replace:
        st.error(f"project '{name}' already exists under {state.artifacts_root()}/; tick "
                 "'replace an existing project' or choose another name")
        return None
    return out


def _train(config: Path, out: Path) -> bool:
    """Train and save with a progress bar per stage; ``True`` on success."""
    from recsys.artifacts import save_project
    from recsys.train import train

    bar = st.progress(0.0, text="starting…")
    status = st.status(f"Training '{out.name}'", expanded=True)
    start = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{stage} ({fraction:.0%})")
        status.write(f"{time.perf_counter() - start:6.1f} s — {stage}")

    try:
        tp = train(config, progress=progress)
        progress("saving artifacts", 0.98)
        save_project(tp, out)
    except SchemaError as err:
        status.update(label="The dataset was rejected; nothing was saved", state="error")
        st.error(f"The dataset has {len(err.problems)} problem(s); nothing was saved:")
        st.markdown("\n".join(f"- {p}" for p in err.problems))
        return False
    except BlendscopeError as err:
        status.update(label="Training failed; nothing was saved", state="error")
        st.error(str(err))
        return False
    progress("done", 1.0)
    status.update(label=f"Trained '{out.name}' in {time.perf_counter() - start:.0f} s",
                  state="complete", expanded=False)
    return True


def _opened(name: str) -> None:
    st.button(f"Open project '{name}'", key="data_open", on_click=state.reset_view,
              args=(name,), type="primary", help="Load the new project in the sidebar.")


def _demo() -> None:
    with st.form("data_demo_form"):
        a, b, c, d = st.columns(4)
        n_users = a.number_input("Users", 10, 1_000_000, 2_000, 500, key="data_users",
                                 help="Number of synthetic users.")
        n_items = b.number_input("Items", 10, 200_000, 500, 100, key="data_items",
                                 help="Number of catalog items.")
        n_exp = c.number_input("Exposures", 10, 50_000_000, 100_000, 10_000, key="data_exposures",
                               help="Rows of the interactions table (≥ users). 500k train in "
                                    "about a minute.")
        seed = d.number_input("Seed", 0, 2**31 - 1, 7, key="data_seed",
                              help="Same seed, same data.")
        name = st.columns(2)[0].text_input("Project name", "demo-small", key="data_demo_name",
                             help="Directory created under the artifacts root.")
        replace = st.checkbox("Replace an existing project of that name", key="data_demo_replace",
                              help="Otherwise an existing project is never overwritten.")
        go = st.form_submit_button("Generate and train", key="data_demo_go", type="primary",
                                   help="Write the dataset to a temporary folder, then train.")
    if not go or (out := _target(name.strip(), replace)) is None:
        return
    from recsys.demo import write_demo

    with tempfile.TemporaryDirectory(prefix="blendscope-demo-") as tmp:
        try:
            config = write_demo(Path(tmp) / "data", n_users=int(n_users), n_items=int(n_items),
                                n_exposures=int(n_exp), seed=int(seed))
        except SchemaError as err:
            st.error("The demo sizes are invalid; nothing was saved:")
            st.markdown("\n".join(f"- {p}" for p in err.problems))
            return
        if _train(config, out):
            _opened(out.name)


def _upload() -> None:
    st.caption("Upload the dataset's `config.toml` and the files it names (CSV or Parquet); "
               "paths in the config are matched to the uploaded file names.")
    with st.form("data_upload_form"):
        config = st.file_uploader("config.toml", type=["toml"], key="data_config",
                                  help="Tasks, split, candidates and model settings.")
        files = st.file_uploader("interactions, users and items", type=["csv", "parquet"],
                                 accept_multiple_files=True, key="data_files",
                                 help="One row per exposure (interactions); optional users "
                                      "and items tables.")
        name = st.columns(2)[0].text_input("Project name", "uploaded", key="data_upload_name",
                             help="Directory created under the artifacts root.")
        replace = st.checkbox("Replace an existing project of that name",
                              key="data_upload_replace",
                              help="Otherwise an existing project is never overwritten.")
        go = st.form_submit_button("Validate and train", key="data_upload_go", type="primary",
                                   help="Check every file against the config, then train.")
    if not go:
        return
    if config is None or not files:
        st.error("upload a config.toml and at least the interactions file")
        return
    if (out := _target(name.strip(), replace)) is None:
        return
    with tempfile.TemporaryDirectory(prefix="blendscope-upload-") as tmp:
        for f in [config, *files]:
            (Path(tmp) / Path(f.name).name).write_bytes(f.getvalue())
        if _train(Path(tmp) / Path(config.name).name, out):
            _opened(out.name)


def main() -> None:
    """Render the page."""
    st.title("Data")
    st.markdown(f"Train a new project into `{state.artifacts_root()}/<name>`. Validation "
                "runs first and lists every problem; nothing is saved unless training "
                "succeeds.")
    source = st.segmented_control("Source", ["Demo generator", "Upload files"],
                                  default="Demo generator", key="data_source", required=True,
                                  help="Synthetic e-commerce data, or your own tables.")
    if source == "Upload files":
        _upload()
    else:
        _demo()


main()
