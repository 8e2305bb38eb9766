"""Global page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles

READABLE = {"user_click_rate": "user's past click rate", "item_price": "item's price",
            "latent_score": "strength of the latent user-item match"}
"""Raw column → the readable label the demo project's feature specs give it."""


def _ticks(values: list[object]) -> list[str]:
    return [str(v).replace("<br>", " ") for v in values]


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
    assert "log p(click)" in bars["layout"]["xaxis"]["title"]["text"].replace("<br>", " ")


def test_features_are_named_by_description(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    table = frame_with(at, "blend")
    assert list(table.columns[:2]) == ["feature", "column"]
    named = dict(zip(table["column"], table["feature"], strict=True))
    assert {c: named[c] for c in READABLE} == READABLE
    assert "description" not in table.columns  # the label is the description
    bars = figure(at, "gl_bars")["data"]
    ticks = [t for trace in bars for t in _ticks(trace["y"])]
    raws = [str(c) for trace in bars for c in trace["customdata"]]
    assert ticks == [named[c] for c in raws]  # readable on the axis, raw on hover
    assert "column: %{customdata}" in bars[0]["hovertemplate"]
    assert not set(ticks) & set(table["column"])
    strip = figure(at, "gl_strip")
    assert set(_ticks(strip["layout"]["yaxis"]["ticktext"])) <= set(table["feature"])
    assert all("column: " in t["hovertemplate"] for t in strip["data"])


def test_blend_name_matches_the_library() -> None:
    import explain

    assert explain.BLEND == "blend"


def test_dependence_plot_follows_the_feature(open_page: Callable[..., AppTest],
                                            small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    at.selectbox(key="gl_feature").set_value("item_price").run()
    dep = figure(at, "gl_dependence")
    assert dep["layout"]["xaxis"]["title"]["text"] == "item's price (feature value)"
    assert "column: item_price" in dep["data"][0]["hovertemplate"]
    assert len(decode(dep["data"][0]["x"])) == min(1000, len(small_project.eval_context.test))


def test_partial_dependence_beside_the_dependence_plot(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    pdp = figure(at, "gl_pdp")
    panels = [a["text"] for a in pdp["layout"]["annotations"]]
    assert panels == ["click", "purchase", "revenue", "returned (minimised)",
                      "blend (current weights)"]
    lines = [d for d in pdp["data"] if d.get("xaxis")]
    assert len(lines) == 5 and all(len(decode(d["y"])) >= 2 for d in lines)
