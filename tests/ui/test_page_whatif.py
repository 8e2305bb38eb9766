"""What-if page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import HOSTILE, RAW, decode, figure, frame_with, markdown_texts, titles

from explain import whatif
from recsys.project import Project


def _metric(at: AppTest, label: str) -> str:
    return next(str(m.value) for m in at.metric if m.label.startswith(label))


def test_editing_price_moves_the_score_and_reset_restores_it(
        open_page: Callable[..., AppTest], small_project: Project) -> None:
    at = open_page("whatif")
    assert titles(at) == ["What-if"]
    user, item = at.selectbox(key="wi_user").value, at.selectbox(key="exp_item").value
    before = small_project.recommend(user).items[0]
    assert item == before.item_id  # the user's top item by default
    assert float(_metric(at, "Blended score")) == pytest.approx(before.score, abs=1e-4)
    assert _metric(at, "Rank among") == "1"
    old = at.number_input(key="wi_item.price").value
    new = round(old * 4 + 50, 2)
    at.number_input(key="wi_item.price").set_value(new).run()
    assert not at.exception
    expected = whatif(small_project, user, item, changes={"price": new})
    shown = float(_metric(at, "Blended score"))
    assert shown == pytest.approx(expected.score_after, abs=1e-4)
    assert shown != pytest.approx(before.score, abs=1e-4)
    assert _metric(at, "Rank among") == str(expected.rank_after)
    assert at.query_params["set_price"] == str(new)
    changes = frame_with(at, "also recomputed")
    assert changes.to_dict("records") == [{
        "attribute": "price", "of": "item", "before": str(expected.changes[0].before),
        "after": str(new), "also recomputed": "price relative to what this user usually picks"}]
    x = decode(figure(at, "wi_waterfall")["data"][0]["x"])
    assert x[0] == pytest.approx(expected.score_before, abs=1e-9)
    assert x[:-1].sum() == pytest.approx(x[-1], abs=1e-9)
    assert x[-1] == pytest.approx(expected.score_after, abs=1e-9)
    tasks = frame_with(at, "prediction after")
    assert list(tasks["task"]) == small_project.task_names()
    at.button(key="wi_reset").click().run()
    assert at.number_input(key="wi_item.price").value == old
    assert float(_metric(at, "Blended score")) == pytest.approx(before.score, abs=1e-4)
    assert "set_price" not in at.query_params
    with pytest.raises(KeyError):
        figure(at, "wi_waterfall")


def test_the_link_holds_the_edits(open_page: Callable[..., AppTest],
                                  small_project: Project) -> None:
    item = small_project.recommend("u00005").items[2].item_id
    at = open_page("whatif", user="u00005", item=item, set_segment="premium",
                   set_quality="1.5", set_device="fax")
    assert (at.selectbox(key="wi_user").value, at.selectbox(key="exp_item").value) == (
        "u00005", item)
    assert at.selectbox(key="wi_user.segment").value == "premium"
    assert at.number_input(key="wi_item.quality").value == 1.5
    warning = next(w.value for w in at.warning if "does not fit" in w.value)
    assert "device" in warning and "fax" in warning
    expected = whatif(small_project, "u00005", item,
                      changes={"segment": "premium", "quality": 1.5})
    assert float(_metric(at, "Blended score")) == pytest.approx(expected.score_after, abs=1e-4)
    assert at.query_params["set_quality"] == "1.5"
    at.switch_page("ui/pages/explain.py").run()
    assert not any(k.startswith("set_") for k in at.query_params)


def test_hostile_attribute_values_are_text(open_hostile: Callable[..., AppTest]) -> None:
    at = open_hostile("whatif", user=HOSTILE[0])
    assert not at.exception
    category = at.selectbox(key="wi_item.category")
    assert all(re.fullmatch(r"\[\w+\]\(https://evil\.example/c\)", o) for o in category.options)
    assert "<b>app</b>" in at.selectbox(key="wi_context.device").options
    assert all(o.startswith("**") for o in at.selectbox(key="wi_user.segment").options)
    category.select_index(3 if category.index != 3 else 4).run()
    assert not at.exception
    changes = frame_with(at, "also recomputed")
    assert changes.loc[0, "after"] == category.options[3 if category.index == 3 else 4]
    assert not [f for t in markdown_texts(at) for f in RAW if f in t]
    assert not [t for t in markdown_texts(at) if re.search(r"https?://", t.replace("\\", ""))]
    spec = json.dumps(figure(at, "wi_waterfall"), ensure_ascii=False)
    assert "<b>" not in spec and "<script>" not in spec
