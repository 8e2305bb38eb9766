"""Trade-offs page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles


def test_tradeoffs_shows_metrics_front_and_sensitivity(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    assert titles(at) == ["Trade-offs"]
    metrics = frame_with(at, "NDCG@10")
    assert list(metrics["task"]) == ["click", "purchase", "revenue", "returned"]
    pareto = figure(at, "to_pareto")
    names = [t["name"] for t in pareto["data"]]
    assert names == ["weight grid (hover: weights)", "efficient over all tasks",
                     "frontier of click vs purchase", "current weights"]
    assert len(decode(pareto["data"][0]["x"])) == 286  # 4 tasks, step 0.1
    front_x = decode(pareto["data"][2]["x"])
    assert (front_x[1:] >= front_x[:-1]).all()
    star = pareto["data"][3]
    click_ndcg = metrics.set_index("task").loc["click", "NDCG@10"]
    assert decode(star["x"])[0] == click_ndcg
    assert "NDCG@10 of click" in pareto["layout"]["xaxis"]["title"]["text"]
    sens = figure(at, "to_sens")
    assert len(sens["data"]) == 4


def test_axes_can_be_any_two_tasks(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    at.selectbox(key="to_x").set_value("revenue").run()
    at.selectbox(key="to_y").set_value("returned").run()
    layout = figure(at, "to_pareto")["layout"]
    assert "revenue" in layout["xaxis"]["title"]["text"]
    assert "returned" in layout["yaxis"]["title"]["text"]


def test_target_search_applies_weights(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    at.selectbox(key="to_goal").set_value("revenue").run()
    at.selectbox(key="to_keep").set_value("click").run()
    at.slider(key="to_pct").set_value(90).run()
    found = frame_with(at, "revenue")
    weights = found.iloc[0]
    at.button(key="to_apply").click().run()
    for task in ("click", "purchase", "revenue", "returned"):
        assert at.slider(key=f"weight_{task}").value == round(float(weights[task]), 1)
