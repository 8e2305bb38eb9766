"""Data: train a new project from uploaded files or from the demo generator."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from recsys.errors import SchemaError
from ui import state, training
from ui.uploads import check_upload, safe_name


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
        left, right = st.columns(2)
        name = left.text_input("Project name", "demo-small", key="data_demo_name",
                               help="Directory created under the artifacts root.")
        with right:
            budget = training.tune_box("data_demo_tune")
        replace = st.checkbox("Replace an existing project of that name", key="data_demo_replace",
                              help="Only a project trained by Blendscope is ever replaced.")
        go = st.form_submit_button("Generate and train", key="data_demo_go", type="primary",
                                   help="Write the dataset to a temporary folder, then train.")
    if not go or (out := training.target(name.strip(), replace)) is None:
        return
    from recsys.demo import write_demo

    with tempfile.TemporaryDirectory(prefix="blendscope-demo-") as tmp:
        try:
            config = write_demo(Path(tmp) / "data", n_users=int(n_users), n_items=int(n_items),
                                n_exposures=int(n_exp), seed=int(seed))
        except SchemaError as err:
            training.problems("The demo sizes are invalid", err.problems, Path(tmp))
            return
        if training.train(config, out, Path(tmp), budget):
            training.opened(out.name)


def _upload() -> None:
    limit = st.get_option("server.maxUploadSize")
    st.caption(f"Upload the dataset's `config.toml` and the files it names (CSV or Parquet, at "
               f"most {limit} MB each). The config's data paths must name these files (matched "
               "by file name); any other path is refused.")
    with st.form("data_upload_form"):
        config = st.file_uploader("config.toml", type=["toml"], key="data_config",
                                  help="Tasks, split, candidates and model settings.")
        files = st.file_uploader("interactions, users and items", type=["csv", "parquet"],
                                 accept_multiple_files=True, key="data_files",
                                 help="One row per exposure (interactions); optional users "
                                      f"and items tables. At most {limit} MB per file.")
        left, right = st.columns(2)
        name = left.text_input("Project name", "uploaded", key="data_upload_name",
                               help="Directory created under the artifacts root.")
        with right:
            budget = training.tune_box("data_upload_tune")
        replace = st.checkbox("Replace an existing project of that name",
                              key="data_upload_replace",
                              help="Only a project trained by Blendscope is ever replaced.")
        go = st.form_submit_button("Validate and train", key="data_upload_go", type="primary",
                                   help="Check every file against the config, then train.")
    if not go:
        return
    if config is None or not files:
        st.error("upload a config.toml and at least the interactions file")
        return
    uploads = {n: f for f in files if (n := safe_name(f.name))}
    config_name = safe_name(config.name) or "config.toml"
    try:
        checked = check_upload(config_name, config.getvalue(), list(uploads))
    except SchemaError as err:
        training.problems(f"The upload has {len(err.problems)} problem(s)", err.problems)
        return
    if (out := training.target(name.strip(), replace)) is None:
        return
    with tempfile.TemporaryDirectory(prefix="blendscope-upload-") as tmp:
        folder = Path(tmp)
        for rel, base in checked.files.items():  # relative, inside the folder (checked)
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(uploads[base].getvalue())
        (folder / config_name).write_bytes(config.getvalue())
        if training.train(folder / config_name, out, folder, budget):
            training.opened(out.name)


def main() -> None:
    """Render the page."""
    st.title("Data")
    if state.read_only():
        st.info("This dashboard is read-only (`BLENDSCOPE_READ_ONLY` is set): training, "
                "uploads and replacing projects are disabled. Train projects on the server "
                "with `recsys train`; they appear in the sidebar.")
        return
    st.markdown(f"Train a new project into `{state.artifacts_label()}<name>`. Validation "
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
