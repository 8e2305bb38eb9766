"""Runs page: the recorded trainings of the (copied) project, metrics across runs and the
comparison of two runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles

from recsys.artifacts import save_project
from recsys.projectlog import ProjectLog
from recsys.runs import compare_runs, record_training, reports_from_metrics


def test_no_run_says_train_again(open_copy: Callable[..., AppTest]) -> None:
    at = open_copy("runs")
    assert titles(at) == ["Runs"]
    assert any("train again to compare" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_one_run_is_listed_and_asks_for_another(open_copy: Callable[..., AppTest],
                                                copied_root: Path, small_trained) -> None:  # noqa: ANN001
    record_training(copied_root / "demo", small_trained.models)
    at = open_copy("runs")
    assert len(frame_with(at, "warnings")) == 1
    assert any("Only one run" in i.value and "train again" in i.value for i in at.info)
    assert at.selectbox(key="runs_task").options == ["click", "purchase", "revenue", "returned"]
    assert not [b for b in at.selectbox if b.key in ("runs_a", "runs_b")]


def test_two_runs_are_compared(open_copy: Callable[..., AppTest], copied_root: Path,
                               small_trained) -> None:  # noqa: ANN001
    demo = copied_root / "demo"
    first = record_training(demo, small_trained.models)
    save_project(small_trained, demo)  # the same models saved again: a second run
    second = record_training(demo, small_trained.models)
    assert first.run_id != second.run_id
    at = open_copy("runs")
    assert len(frame_with(at, "warnings")) == 2
    assert (at.selectbox(key="runs_a").value, at.selectbox(key="runs_b").value) == (
        first.run_id, second.run_id)
    runs = ProjectLog.of(demo).runs()
    comp = compare_runs(runs[0], runs[1])
    changes = frame_with(at, "verdict")
    assert len(changes) == len(comp.metrics) == len(reports_from_metrics(runs[1].metrics))
    assert set(changes["verdict"]) == {"no significant change"}  # same models, same metrics
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["No significant change"] == str(len(comp.metrics))
    assert metrics["Top-10 overlap"] == "1.00"
    lines = figure(at, "runs_lines")
    model = [t for t in lines["data"] if t.get("name") == "model"]
    click_auc = next(r for r in reports_from_metrics(runs[0].metrics)
                     if (r.task, r.metric) == ("click", "auc"))
    assert list(decode(model[0]["y"])) == [click_auc.value] * 2
    assert any(t.get("fill") == "tonexty" for t in lines["data"])  # the CI band
    at.selectbox(key="runs_a").set_value(second.run_id).run()
    assert any("two different runs" in i.value for i in at.info)
