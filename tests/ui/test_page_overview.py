"""Overview page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import frame_with, titles


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


def test_overview_compares_with_config_weights(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.slider(key="weight_click").set_value(0.0).run()
    at.slider(key="weight_purchase").set_value(0.0).run()
    blend = frame_with(at, "NDCG@10 now")
    assert (blend["Δ NDCG"] != 0).any()
    assert (blend["Δ NDCG"] == blend["NDCG@10 now"] - blend["NDCG@10 config"]).all()
