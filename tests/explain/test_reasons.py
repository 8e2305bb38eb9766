"""Reasons in words."""

from __future__ import annotations

import re

import numpy as np
import pytest

from explain import Attribution, TaskExplanation, explain_top, feature_phrase, reasons_for
from explain._display import format_contribution
from recsys.project import Project
from recsys.tasks import TaskSpec

NAMES = ("item_category", "user_category_affinity", "item_price", "item_price_vs_user",
         "user_click_rate", "item_brand")
VALUES = ("Outdoor", 0.42, 42.99, 12.5, 0.081, "Northpeak")
DESCS = ("item's category", "user's interest in the item's category", "item's price",
         "price relative to what this user usually picks", "user's past click rate",
         "item's brand")


def _attr(values: list[float]) -> Attribution:
    return Attribution(np.array(values, dtype=np.float64), 0.1, NAMES, VALUES,
                       ("item", "user×item", "item", "user×item", "user", "item"), DESCS)


def _task(name: str, share: float, frac: float, pred: float, attr: Attribution) -> TaskExplanation:
    return TaskExplanation(name, -1.0, share, 1.0, share, frac, pred, attr)


SPECS = (TaskSpec("click", "click", "binary", 1.0),
         TaskSpec("purchase", "purchase", "binary", 1.0, given="click"),
         TaskSpec("returned", "returned", "binary", 1.0, direction="minimize"))


def test_reasons_read_naturally_for_known_features() -> None:
    attr = _attr([0.05, 0.42, 0.0, -0.18, 0.1, 0.02])
    tasks = {"click": _task("click", 0.3, 0.3, 0.12, attr),
             "purchase": _task("purchase", 0.6, 0.6, 0.021, attr),
             "returned": _task("returned", 0.1, 0.1, 0.001, attr)}
    reasons = reasons_for(attr, tasks, SPECS, {"click": 0.5, "purchase": 1.3, "returned": -1})
    assert reasons == (
        "Strong match with this user's interest in Outdoor (+0.42).",
        "Very high predicted purchase probability (2.1%; task share 60%).",
        "Price 42.99 is 12.5 above what this user usually picks (\u22120.18).",
    )


def test_generic_features_use_their_description() -> None:
    v = {"item_brand": "Northpeak"}
    assert feature_phrase("item_brand", "item's brand", "Northpeak", 0.3, v) == \
        "item's brand is Northpeak, which lifts the score"
    assert feature_phrase("user_click_rate", "user's past click rate", 0.081, -0.2, v) == \
        "user's past click rate of 8.1% holds it back"
    assert feature_phrase("weather", "weather at the visit", None, 0.1, v, "also") == \
        "weather at the visit of missing also lifts it"


def test_second_driver_when_nothing_holds_it_back() -> None:
    attr = _attr([0.3, 0.0, 0.0, 0.0, 0.5, -0.01])
    tasks = {"click": _task("click", 1.0, 1.0, 0.2, attr)}
    reasons = reasons_for(attr, tasks, SPECS[:1])
    assert reasons[0] == "User's past click rate of 8.1% lifts the score (+0.50)."
    assert reasons[2] == "Item's category is Outdoor, which also lifts it (+0.30)."


def test_reasons_on_the_demo_name_the_top_feature(project: Project, user_id: str) -> None:
    specs = {s.name: s for s in project.feature_specs}
    for e in explain_top(project, user_id, k=10):
        attr = e.attribution
        j = int(np.argmax(attr.values))
        name, value, c = attr.feature_names[j], attr.feature_values[j], attr.values[j]
        assert c > 0
        first = e.reasons[0]
        assert format_contribution(float(c)) in first
        values = dict(zip(attr.feature_names, attr.feature_values, strict=True))
        phrase = feature_phrase(name, specs[name].description, value, float(c), values, "lead")
        assert first.lower().startswith(phrase.lower()[:20])
        if specs[name].is_categorical:
            assert str(value) in first
        if name.startswith("user_category_"):
            assert str(values["item_category"]) in first
        best = max(e.tasks, key=lambda t: e.tasks[t].share_fraction)
        assert f"predicted {best}" in e.reasons[1]
        assert f"task share {e.tasks[best].share_fraction * 100:.0f}%" in e.reasons[1]
        assert 2 <= len(e.reasons) <= 3
        assert all(len(r) < 160 for r in e.reasons)


def test_small_rates_keep_two_digits() -> None:
    v: dict[str, object] = {}
    assert feature_phrase("item_returned_rate", "item's past returned rate", 0.00043, -0.1, v) \
        == "item's past returned rate of 0.043% holds it back"


@pytest.mark.parametrize("c, text", [(0.4234, "+0.42"), (-0.18, "\u22120.18"),
                                     (0.0004, "+0.0004"), (0.0, "0.00")])
def test_contribution_format(c: float, text: str) -> None:
    assert format_contribution(c) == text


def test_years_and_small_ids_print_without_separators() -> None:
    from explain._display import format_value

    assert format_value(1942.0) == "1942" and format_value(2017) == "2017"
    assert format_value(25000) == "25,000" and format_value(123456.0) == "1.235e+05"
    assert format_value(-3.0) == "\u22123"


_DOUBLE_NEGATIVE = re.compile(r"[\u2212-]\s?\d[\d.,]*%?\)?\s+(below|lower|less|under|fewer)|"
                              r"\bnot\s+un|\bno\s+(?:not|never)\b")


def test_relative_phrases_state_a_size_and_a_direction() -> None:
    v: dict[str, object] = {"item_price": 42.99}
    below = feature_phrase("item_price_vs_user", "price relative to what this user usually "
                           "picks", -12.5, -0.2, v)
    assert below == "price 42.99 is 12.5 below what this user usually picks"
    assert not _DOUBLE_NEGATIVE.search(below)


def test_no_double_negatives_on_the_demo(project: Project, user_id: str) -> None:
    texts = [r for e in explain_top(project, user_id, k=10) for r in e.reasons]
    assert texts and not [t for t in texts if _DOUBLE_NEGATIVE.search(t)]
    assert _DOUBLE_NEGATIVE.search("scores \u22121.25 below B")  # the check bites


def test_a_blank_description_reads_as_the_column_name() -> None:
    attr = Attribution(np.array([0.5]), 0.0, ("weather",), (3.0,), ("context",), ("",))
    reasons = reasons_for(attr, {}, ())
    assert reasons == ("Weather of 3 lifts the score (+0.50).",)
