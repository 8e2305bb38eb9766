"""Overview page."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from streamlit.testing.v1 import AppTest
from ui_helpers import frame_with, titles

from recsys.project import Project


def test_overview_shows_dataset_models_and_blend(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    assert titles(at) == ["Blendscope"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Users"] == "300" and metrics["Items"] == "80"
    assert metrics["Exposures"] == "20,000"
    assert {"click label rate", "returned label rate", "Candidate recall"} <= set(metrics)
    assert all(m.help for m in at.metric)
    models = frame_with(at, "lift 95% CI")  # each metric beside its best baseline
    assert list(dict.fromkeys(models["task"])) == ["click", "purchase", "revenue", "returned"]
    blend = frame_with(at, "NDCG@10 now")
    assert (blend["NDCG@10 now"] == blend["NDCG@10 config"]).all()


def test_overview_compares_with_config_weights(open_page: Callable[..., AppTest],
                                               small_project: Project) -> None:
    at = open_page()
    at.slider(key="weight_click").set_value(0.0).run()
    at.slider(key="weight_purchase").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    transform, k = at.session_state["transform"], int(at.session_state["k"])
    blend = frame_with(at, f"NDCG@{k} now").set_index("task")
    # the expectation comes from the engine, not from the frame under test
    config = {t.name: float(t.weight) for t in small_project.tasks}
    moved = {**config, "click": 0.0, "purchase": 0.0}
    now = small_project.evaluate(moved, transform=transform, k=k).ranking
    base = small_project.evaluate(config, transform=transform, k=k).ranking
    tasks = small_project.task_names()
    assert list(blend.index) == tasks
    want_now = [now[t].ndcg for t in tasks]
    want_base = [base[t].ndcg for t in tasks]
    want_delta = [now[t].ndcg - base[t].ndcg for t in tasks]
    assert np.isfinite(want_delta).all()
    assert any(abs(d) > 1e-6 for d in want_delta), "moving two weights to 0 changed no NDCG"
    np.testing.assert_allclose(blend[f"NDCG@{k} now"].to_numpy(float), want_now,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(blend[f"NDCG@{k} config"].to_numpy(float), want_base,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(blend["Δ NDCG"].to_numpy(float), want_delta, rtol=0, atol=1e-12)
