"""Segments page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import figure, frame_with, titles


def test_segments_match_the_overall_evaluation(open_page: Callable[..., AppTest]) -> None:
    at = open_page("segments")
    assert titles(at) == ["Segments"]
    table = frame_with(at, "test users")
    at.switch_page("ui/pages/overview.py").run()
    blend = frame_with(at, "NDCG@10 now").set_index("task")
    overall = table[table["segment"] == "all users"].set_index("task")
    for task in ("click", "purchase", "revenue", "returned"):
        assert abs(overall.loc[task, "NDCG@10"] - blend.loc[task, "NDCG@10 now"]) < 1e-12
    parts = table[(table["segment"] != "all users") & (table["task"] == "click")]
    assert parts["segment users"].sum() == overall.loc["click", "segment users"] == 300


def test_segment_column_can_change(open_page: Callable[..., AppTest]) -> None:
    at = open_page("segments")
    at.selectbox(key="seg_column").set_value("region").run()
    assert "region" in frame_with(at, "test users").columns
    assert figure(at, "seg_shares")["layout"]["barmode"] == "relative"


def test_segment_metrics_have_intervals_and_directions(open_page: Callable[..., AppTest]) -> None:
    at = open_page("segments")
    table = frame_with(at, "test users")
    parts = table[table["segment"] != "all users"]
    for task in ("click", "purchase", "returned"):
        rows = parts[parts["task"] == task]
        real = 0
        for value, ci, n in zip(rows["NDCG@10"], rows["95% CI"], rows["users"], strict=True):
            if n < 2:  # no interval from fewer than two users, and the table says so
                assert ci == "—"
                continue
            low, high = (float(x) for x in ci.strip("[]").split(", "))
            assert low <= round(value, 3) + 1e-3 and round(value, 3) - 1e-3 <= high
            real += high > low  # a real interval, not a point
        assert real >= 1
    fig = figure(at, "seg_ndcg")
    titles_ = [a["text"] for a in fig["layout"]["annotations"]]
    assert any("returned" in t and "lower is better" in t for t in titles_)
    assert any("click" in t and "higher is better" in t for t in titles_)
    points = [d for d in fig["data"] if d.get("error_y")]
    assert len(points) == 4  # one panel per task, each with its intervals
    # each panel zooms to its own values: the axis does not start at 0
    assert all(fig["layout"][ax].get("tickformat") == ".3f"
               for ax in ("yaxis", "yaxis2", "yaxis3", "yaxis4"))
