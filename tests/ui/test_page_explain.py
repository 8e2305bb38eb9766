"""Explain page."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import HOSTILE, RAW, decode, figure, frame_with, markdown_texts, titles, unescape

from recsys.project import Project
from ui.text import md_escape

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


def _bought(project: Project) -> tuple[str, str]:
    """A user and an item they bought before the test window: never proposed again, so
    outside their candidates and their top-K."""
    for uid in project.user_ids()[5:]:
        hist = project.user_history(uid, n=10_000)
        pos = hist[hist["revenue"] > 0]
        if not pos.empty:
            return str(uid), str(pos["item_id"].iloc[0])
    raise AssertionError("nobody bought anything before the test window")


def _metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


def test_any_catalogue_item_can_be_b(open_page: Callable[..., AppTest],
                                     small_project: Project) -> None:
    user, bought = _bought(small_project)
    at = open_page("explain", user=user)
    box = at.selectbox(key="exp_vs")
    a = at.selectbox(key="exp_item").value
    assert len(box.options) == len(small_project.item_ids()) - 1  # every item but A
    label = f"{small_project.title(small_project.item_code(bought))} ({bought})"
    assert label in box.options  # searchable by title and id
    ranks = [f"{it.rank}. " for it in small_project.recommend(user).items if it.item_id != a]
    assert [o[: len(r)] for o, r in zip(box.options, ranks, strict=False)] == ranks  # list first
    box.set_value(bought).run()
    assert not at.exception
    assert at.query_params["vs"] == bought
    s = small_project.standing(user, bought)
    assert not s.candidate
    shown = _metrics(at)
    inside = "inside" if s.in_top_k else "outside"
    assert shown["Rank if scored"] == (f"{s.rank} of {s.n_candidates + 1}",
                                       f"{inside} the top 10")
    assert shown["Blended score"][0] == f"{s.score:.4f}"
    assert shown["Proposed by"][0] == "no source" and shown["In the list"][0] == "no"
    texts = markdown_texts(at)
    assert "**Kept out of the list because**" in texts
    reason = next(t for t in texts if t.startswith("- ") and "before the test window" in t)
    assert unescape(reason) == f"- {s.reasons()[0]}"
    pair = figure(at, "exp_pair")["data"][0]
    x = decode(pair["x"])
    assert x[-1] == pytest.approx(
        small_project.standing(user, a).score - s.score, abs=1e-4)  # A's score − B's
    assert x[:-1].sum() == pytest.approx(x[-1], abs=1e-9)


def test_b_in_the_list_shows_its_rank(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain")
    at.selectbox(key="exp_vs").select_index(1).run()  # the list's second other item
    shown = _metrics(at)
    assert shown["Rank among the candidates"][1] == "inside the top 10"
    assert shown["In the list"][0] == "yes" and shown["Proposed by"][0] != "no source"
    assert any("is in this user's top 10" in c.value for c in at.caption)


def test_b_from_the_link(open_page: Callable[..., AppTest], small_project: Project) -> None:
    user, bought = _bought(small_project)
    at = open_page("explain", user=user, vs=bought)
    assert at.selectbox(key="exp_vs").value == bought
    assert at.query_params["vs"] == bought and "Rank if scored" in _metrics(at)


def test_unknown_b_in_the_link_is_a_warning(open_page: Callable[..., AppTest]) -> None:
    at = open_page("explain", vs="[nothing](https://evil.example)")
    warning = next(w.value for w in at.warning if "from the link" in w.value)
    assert md_escape("[nothing](https://evil.example)") in warning
    assert at.selectbox(key="exp_vs").index == 0


def test_hostile_titles_of_b_are_text(open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("explain", user=HOSTILE[0])
    box = at.selectbox(key="exp_vs")
    outside = next(o for o in box.options if not o[0].isdigit())  # not in the list
    assert any(h in outside for h in HOSTILE)  # options are plain text, as in the data
    box.select_index(box.options.index(outside)).run()
    assert not at.exception
    texts = markdown_texts(at)
    head = next(t for t in texts if t.startswith("**Where ") and t.endswith("for this user**"))
    assert any(md_escape(h) in head for h in HOSTILE)
    assert not [(f, t) for t in texts for f in RAW if f in t]


def test_b_survives_a_visit_to_another_page(open_page: Callable[..., AppTest],
                                            small_project: Project) -> None:
    user, bought = _bought(small_project)
    at = open_page("explain", user=user)
    at.selectbox(key="exp_vs").set_value(bought).run()
    at.switch_page("ui/pages/recommendations.py").run()
    assert "vs" not in at.query_params  # only the Explain page puts B in the link
    at.switch_page("ui/pages/explain.py").run()
    assert at.selectbox(key="exp_vs").value == bought and at.query_params["vs"] == bought
