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
    overall = table[table["segment"] == "all users"].iloc[0]
    for task in ("click", "purchase", "revenue", "returned"):
        assert abs(overall[f"NDCG@10 {task}"] - blend.loc[task, "NDCG@10 now"]) < 1e-12
    parts = table[table["segment"] != "all users"]
    assert parts["users"].sum() == overall["users"] == 300


def test_segment_column_can_change(open_page: Callable[..., AppTest]) -> None:
    at = open_page("segments")
    at.selectbox(key="seg_column").set_value("region").run()
    assert "region" in frame_with(at, "test users").columns
    assert figure(at, "seg_shares")["layout"]["barmode"] == "relative"
