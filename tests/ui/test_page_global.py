"""Global page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles


def test_global_importance_for_blend_and_tasks(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    assert titles(at) == ["Global feature importance"]
    table = frame_with(at, "blend")
    assert table["blend"].is_monotonic_decreasing
    bars = figure(at, "gl_bars")
    shown = [v for t in bars["data"] for v in decode(t["x"])]
    assert max(shown) == table["blend"].max()
    assert figure(at, "gl_strip")["data"]
    at.selectbox(key="gl_task").set_value("purchase").run()
    bars = figure(at, "gl_bars")
    shown = [v for t in bars["data"] for v in decode(t["x"])]
    assert max(shown) == frame_with(at, "blend")["purchase"].max()
    assert "log p(click)" in bars["layout"]["xaxis"]["title"]["text"]


def test_blend_name_matches_the_library() -> None:
    import explain

    assert explain.BLEND == "blend"


def test_dependence_plot_follows_the_feature(open_page: Callable[..., AppTest],
                                            small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    at.selectbox(key="gl_feature").set_value("item_price").run()
    dep = figure(at, "gl_dependence")
    assert dep["layout"]["xaxis"]["title"]["text"].startswith("item_price")
    assert len(decode(dep["data"][0]["x"])) == min(1000, len(small_project.eval_context.test))
