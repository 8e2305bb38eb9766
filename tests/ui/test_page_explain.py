"""Explain page."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, markdown_texts, titles

DESCRIPTIONS = {"user_click_rate": "user's past click rate", "item_price": "item's price",
                "item_category": "item's category", "latent_score":
                "strength of the latent user-item match",
                "user_category_affinity": "user's interest in the item's category"}
"""Raw column → the readable label the demo project's feature specs give it."""


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


def _features(trace: dict) -> list[tuple[str, str]]:
    """(tick label, hover text) of each feature bar (between base and "other"/total)."""
    return [(str(y), str(h)) for y, h in zip(trace["y"], trace["hovertext"], strict=True)
            if "column: " in str(h)]


def test_waterfall_bars_read_as_descriptions(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    bars = _features(figure(at, "exp_waterfall")["data"][0])
    assert len(bars) >= 5
    for tick, hover in bars:
        raw = re.search(r"column: (\w+)", hover).group(1)
        assert raw not in tick.replace("<br>", " ")
        if raw in DESCRIPTIONS:
            assert tick.replace("<br>", " ").startswith(DESCRIPTIONS[raw] + " = ")
    assert {re.search(r"column: (\w+)", h).group(1) for _, h in bars} & set(DESCRIPTIONS)


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
    levels = np.concatenate([[x[0]], x[0] + np.cumsum(x[1:-1]), [x[-1]]])
    lo, hi = figure(at, f"exp_waterfall_{task}")["layout"]["xaxis"]["range"]
    assert lo < levels.min() and hi > levels.max()
    span = levels.max() - levels.min()
    if min(abs(levels.min()), abs(levels.max())) > span and levels.min() * levels.max() > 0:
        assert not lo <= 0 <= hi  # far from 0: the axis zooms to the bars


def test_purchase_waterfall_zooms_away_from_zero(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    at.session_state["exp_tab"] = "purchase"
    at.run()
    fig = figure(at, "exp_waterfall_purchase")
    base = decode(fig["data"][0]["x"])[0]
    lo, hi = fig["layout"]["xaxis"]["range"]
    assert base < -2 and hi < 0  # log p(purchase) is far below 0: 0 is off the axis


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
    bars = _features(pair)
    assert bars and all(re.search(r": \S.* vs \S", tick.replace("<br>", " "))
                        for tick, _ in bars)  # A's and B's values on every bar
    said = next(t for t in markdown_texts(at) if "the bars add up to that gap" in t)
    assert "lower than" in said and "below" not in said and "\u2212" not in said
    table = frame_with(at, "favours")
    assert list(table.columns[:3]) == ["favours", "feature", "column"]
    assert (table["feature"] != table["column"]).all()
    assert {DESCRIPTIONS[c] for c in table["column"] if c in DESCRIPTIONS} <= set(table["feature"])


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
