"""Data page: train from the demo generator or uploaded files; failures save nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import errors, frame_with, titles

from recsys.demo import write_demo
from recsys.projectlog import ProjectLog


def _demo_form(at: AppTest, name: str, users: int, items: int, exposures: int) -> AppTest:
    at.number_input(key="data_users").set_value(users)
    at.number_input(key="data_items").set_value(items)
    at.number_input(key="data_exposures").set_value(exposures)
    at.text_input(key="data_demo_name").input(name)
    return at.button(key="data_demo_go").click().run(timeout=180)


@pytest.mark.slow
def test_demo_generator_trains_a_project(open_page: Callable[..., AppTest],
                                         artifacts_root: Path) -> None:
    at = open_page("data")
    assert titles(at) == ["Data"]
    _demo_form(at, "tiny", 300, 80, 20_000)
    assert not at.exception and not errors(at)
    assert (artifacts_root / "tiny" / "manifest.json").is_file()
    (run,) = ProjectLog.of(artifacts_root / "tiny").runs()  # recorded for the Runs page
    assert run.summary["project"] == "tiny" and run.top_k and run.importance
    at.button(key="data_open").click().run(timeout=120)
    assert at.selectbox(key="project").value == "tiny"
    assert at.selectbox(key="project").options == ["demo", "tiny"]
    assert at.query_params["project"] == "tiny"


@pytest.mark.slow
def test_tune_before_training_trains_with_the_tuned_config(
        open_page: Callable[..., AppTest], artifacts_root: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import training

    monkeypatch.setattr(training, "TUNE_BUDGETS", {0: "no", 3: "3 s"})  # keep the test short
    at = open_page("data")
    at.selectbox(key="data_demo_tune").set_value(3)
    _demo_form(at, "tuned", 300, 80, 20_000)
    assert not at.exception and not errors(at), [e.value for e in at.exception]
    tuning = frame_with(at, "trials")
    assert list(tuning["task"]) == ["click", "purchase", "revenue", "returned"]
    assert (tuning["trials"] >= 1).all()
    assert (artifacts_root / "tuned" / "manifest.json").is_file()
    assert len(ProjectLog.of(artifacts_root / "tuned").runs()) == 1


def test_bad_project_name_saves_nothing(open_page: Callable[..., AppTest],
                                        artifacts_root: Path) -> None:
    at = open_page("data")
    _demo_form(at, "../escape", 300, 80, 20_000)
    assert any("not allowed" in e for e in errors(at))
    _demo_form(at, "demo", 300, 80, 20_000)
    assert any("already exists" in e for e in errors(at))
    assert sorted(p.name for p in artifacts_root.iterdir()) == ["demo"]


def test_invalid_demo_sizes_are_listed(open_page: Callable[..., AppTest],
                                       artifacts_root: Path) -> None:
    at = open_page("data")
    _demo_form(at, "small", 300, 80, 100)
    assert any("demo sizes are invalid" in e for e in errors(at))
    assert any("n_exposures" in m.value for m in at.markdown)
    assert not (artifacts_root / "small").exists()


def test_uploaded_dataset_problems_are_listed(open_page: Callable[..., AppTest],
                                              artifacts_root: Path, tmp_path: Path) -> None:
    config = write_demo(tmp_path / "data", n_users=50, n_items=20, n_exposures=2_000)
    text = config.read_text().replace('label = "click"', 'label = "clicked"')
    at = open_page("data")
    at.segmented_control(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="data_config").upload("config.toml", text.encode(), "text/plain")
    for name in ("interactions.parquet", "users.parquet", "items.parquet"):
        at.file_uploader(key="data_files").upload(name, (config.parent / name).read_bytes())
    at.text_input(key="data_upload_name").input("broken")
    at.button(key="data_upload_go").click().run(timeout=60)
    assert not at.exception
    assert any("problem" in e and "nothing was saved" in e for e in errors(at))
    listed = [m.value for m in at.markdown if "clicked" in m.value]
    assert listed and listed[0].startswith("- ")
    assert sorted(p.name for p in artifacts_root.iterdir()) == ["demo"]


def test_upload_needs_a_config(open_page: Callable[..., AppTest]) -> None:
    at = open_page("data")
    at.segmented_control(key="data_source").set_value("Upload files").run()
    at.button(key="data_upload_go").click().run()
    assert any("config.toml" in e for e in errors(at))
