"""Recommendations page."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from ui_helpers import figure, frame_with, titles


def _items(at: AppTest) -> list[str]:
    return frame_with(at, "item_id")["item_id"].tolist()


def test_moving_a_weight_changes_the_ranking(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    assert titles(at) == ["Recommendations"]
    before = _items(at)
    assert len(before) == 10
    at.slider(key="weight_click").set_value(0.0).run()
    at.slider(key="weight_purchase").set_value(0.0).run()
    at.slider(key="weight_revenue").set_value(5.0).run()
    after = _items(at)
    assert after != before
    moved = frame_with(at, "moved")["moved"].tolist()
    assert any(m.startswith(("▲", "▼")) or m == "new" for m in moved)


def test_items_that_left_the_list_are_named(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    at.slider(key="weight_click").set_value(0.0).run()
    at.slider(key="weight_revenue").set_value(5.0).run()
    at.slider(key="weight_purchase").set_value(0.0).run()
    last = _items(at)
    at.slider(key="weight_returned").set_value(5.0).run()  # one more change, then compare
    now = set(_items(at))
    gone = [i for i in last if i not in now]
    caption = " ".join(c.value for c in at.caption if "since the last change" in c.value)
    plain = caption.replace("\\", "")
    assert gone, "the change should push some item out"
    assert "left the list" in plain and all(f"({i})" in plain for i in gone)
    assert not any(f"({i})" in plain for i in now)


def test_table_scores_add_up_and_shares_are_plotted(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    table = frame_with(at, "blended score")
    assert table["blended score"].is_monotonic_decreasing
    fig = figure(at, "rec_shares")
    assert [trace["name"] for trace in fig["data"]] == ["click", "purchase", "revenue",
                                                          "returned"]
    assert fig["layout"]["barmode"] == "relative"
    hist = frame_with(at, "outcome")
    assert hist["timestamp"].is_monotonic_decreasing
    parts = {p for o in hist["outcome"] for p in o.split(", ")}
    assert parts <= {"—", "click", "purchase", "revenue", "returned"}


def test_filters_restrict_the_user_list(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    segments = at.selectbox(key="rec_filter_segment").options
    assert segments[0] == "any" and len(segments) > 2
    at.selectbox(key="rec_filter_segment").set_value(segments[1]).run()
    users = at.selectbox(key="rec_user").options
    assert users and all(segments[1] in u for u in users)
    at.text_input(key="rec_search").input("zzz-no-such-user").run()
    assert any("No user matches" in w.value for w in at.warning)


def test_unknown_user_in_the_link_is_a_warning(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations", user="nobody")
    assert any("'nobody'" in w.value for w in at.warning)
    assert at.selectbox(key="rec_user").value == "u00001"
