"""Explain page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, titles


def _metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def test_explain_waterfall_adds_up_to_the_score(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    assert titles(at) == ["Explain"]
    score, base = _metric(at, "Blended score"), _metric(at, "Base value")
    total = _metric(at, "Σ feature attributions")
    assert base + total == pytest.approx(score, abs=2e-4)
    fig = figure(at, "exp_waterfall")
    trace = fig["data"][0]
    x = decode(trace["x"])
    assert trace["measure"][0] == "absolute" and trace["measure"][-1] == "total"
    assert x[:-1].sum() == pytest.approx(x[-1], rel=1e-9, abs=1e-9)
    assert x[-1] == pytest.approx(score, abs=5e-5)
    shares = decode(figure(at, "exp_shares")["data"][0]["x"])
    assert shares.sum() == pytest.approx(score, abs=5e-4)
    assert len([m for m in at.markdown if m.value.startswith("- ")]) >= 1  # reasons


@pytest.mark.parametrize("task", ["click", "purchase", "revenue", "returned"])
def test_task_tabs_draw_only_when_open(open_page: Callable[..., AppTest], task: str) -> None:
    at = open_page("explain")
    with pytest.raises(KeyError):
        figure(at, f"exp_waterfall_{task}")
    at.session_state["exp_tab"] = task
    at.run()
    with pytest.raises(KeyError):
        figure(at, "exp_waterfall")
    trace = figure(at, f"exp_waterfall_{task}")["data"][0]
    x = decode(trace["x"])
    assert x[:-1].sum() == pytest.approx(x[-1], abs=1e-9)
    margin = float(next(m.value for m in at.metric if m.label == "Task score"))
    assert x[-1] == pytest.approx(margin, abs=5e-5)


def test_item_choice_and_pair_comparison(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    items = at.selectbox(key="exp_item").options
    assert len(items) == 10
    at.selectbox(key="exp_item").select_index(2).run()
    assert at.query_params["item"] == at.selectbox(key="exp_item").value
    vs = at.selectbox(key="exp_vs")
    vs.select_index(0).run()
    pair = figure(at, "exp_pair")["data"][0]
    x = decode(pair["x"])
    assert x[:-1].sum() == pytest.approx(x[-1], abs=1e-9)
    assert x[-1] < 0  # the first item of the list is above the third


def test_item_from_the_link_is_explained(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain", user="u00005", item="i0003")
    assert at.selectbox(key="exp_user").value == "u00005"
    assert at.selectbox(key="exp_item").value == "i0003"
    picked = at.selectbox(key="exp_item")
    assert "i0003" in picked.options[picked.index]


def test_unknown_item_in_the_link_is_a_warning(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain", item="nothing")
    assert any("'nothing'" in w.value for w in at.warning)
    assert at.selectbox(key="exp_item").index == 0


def test_a_new_user_starts_from_their_top_item(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    at.selectbox(key="exp_item").select_index(4).run()
    at.selectbox(key="exp_user").set_value("u00007").run()
    assert at.selectbox(key="exp_item").index == 0
    assert not any("not in the top" in o for o in at.selectbox(key="exp_item").options)
