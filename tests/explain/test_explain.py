"""Item, top-K and pairwise explanations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explain import attribute_pair, explain_item, explain_items, explain_pair, explain_top
from recsys.errors import ExplanationError
from recsys.project import Project

W = {"click": 1.0, "purchase": 1.5, "revenue": 0.5, "returned": 1.0}


def test_top_matches_recommend(project: Project, user_id: str) -> None:
    ranked = project.recommend(user_id, weights=W, k=10, transform="percentile")
    top = explain_top(project, user_id, weights=W, k=10, transform="percentile")
    assert [e.item_id for e in top] == [it.item_id for it in ranked.items]
    assert [e.rank for e in top] == list(range(1, 11))
    for e, it in zip(top, ranked.items, strict=True):
        assert e.score == pytest.approx(it.score, abs=1e-5)
        assert e.attribution.total() == pytest.approx(e.score, rel=1e-9, abs=1e-9)
        assert e.title == it.title
        assert e.transform == "percentile"
        assert dict(e.weights) == W
        for t, te in e.tasks.items():
            assert te.transformed == pytest.approx(it.tasks[t], abs=1e-5)
            assert te.prediction == pytest.approx(it.predictions[t], rel=1e-4, abs=1e-7)
            assert te.attribution.total() == pytest.approx(te.margin, abs=1e-9)


def test_task_shares_sum_to_the_score(project: Project, user_id: str) -> None:
    for e in explain_top(project, user_id, weights=W, k=5):
        shares = [te.share for te in e.tasks.values()]
        assert sum(shares) == pytest.approx(e.score, abs=1e-9)
        assert sum(abs(te.share_fraction) for te in e.tasks.values()) == pytest.approx(1.0)
        returned = e.tasks["returned"]
        assert returned.weight == -1.0
        assert returned.share == pytest.approx(-returned.transformed)


def test_items_keep_order_and_any_item_can_be_explained(project: Project, user_id: str) -> None:
    items = [str(i) for i in project.item_ids()[:6]][::-1]
    out = explain_items(project, user_id, items, weights=W)
    assert [e.item_id for e in out] == items
    for e in out:
        assert e.attribution.total() == pytest.approx(e.score, abs=1e-9)
        assert e.rank is None
    assert explain_items(project, user_id, []) == []


def test_explain_item_json_form_sums_to_score(project: Project, user_id: str) -> None:
    item = project.recommend(user_id, k=1).items[0]
    d = json.loads(json.dumps(explain_item(project, user_id, item.item_id).to_dict()))
    assert d["score"] == pytest.approx(item.score, abs=1e-5)
    assert d["base"] + sum(a["contribution"] for a in d["attributions"]) == pytest.approx(
        d["score"], abs=1e-9)
    for t in d["tasks"].values():
        assert t["base"] + sum(a["contribution"] for a in t["attributions"]) == pytest.approx(
            t["margin"], abs=1e-9)
    assert 2 <= len(d["reasons"]) <= 3


def test_pair_is_antisymmetric_and_sums_to_the_gap(project: Project, user_id: str) -> None:
    a, b, c = explain_top(project, user_id, weights=W, k=3)
    ab, ba = attribute_pair(a, c), attribute_pair(c, a)
    np.testing.assert_array_equal(ab.attribution.values, -ba.attribution.values)
    assert ab.gap == -ba.gap
    assert ab.attribution.total() == pytest.approx(a.score - c.score, abs=1e-9)
    assert ab.attribution.base_value == 0.0
    assert ab.tasks == {t: -g for t, g in ba.tasks.items()}
    assert sum(ab.tasks.values()) == pytest.approx(ab.gap, abs=1e-9)
    assert all(d > 0 for *_, d in ab.top_for_a) and all(d < 0 for *_, d in ab.top_for_b)
    assert [r[0] for r in ab.top_for_a] == [r[0] for r in ba.top_for_b]
    same = explain_pair(project, user_id, a.item_id, c.item_id, weights=W)
    np.testing.assert_allclose(same.attribution.values, ab.attribution.values, atol=1e-12)
    d = same.to_dict()
    assert (d["item_id"], d["vs"]) == (a.item_id, c.item_id)
    assert d["base"] + sum(x["contribution"] for x in d["attributions"]) == pytest.approx(
        d["gap"], abs=1e-9)


def test_pair_needs_matching_settings(project: Project, user_id: str) -> None:
    a = explain_top(project, user_id, weights=W, k=1)[0]
    b = explain_top(project, user_id, weights=W, k=1, transform="minmax")[0]
    with pytest.raises(ExplanationError, match="at different weights or transforms"):
        attribute_pair(a, b)
    other = str(project.user_ids()[0] if project.user_ids()[0] != user_id
                else project.user_ids()[1])
    c = explain_top(project, other, weights=W, k=1)[0]
    with pytest.raises(ExplanationError, match="items belong to different users"):
        attribute_pair(a, c)


def test_unknown_ids_raise(project: Project, user_id: str) -> None:
    with pytest.raises(ExplanationError, match="unknown user 'nobody'; user ids look like"):
        explain_top(project, "nobody")
    with pytest.raises(ExplanationError, match=r"unknown item 'x1' \(and 1 more\)"):
        explain_items(project, user_id, ["x1", "x2"])


def test_attribution_helpers(project: Project, user_id: str) -> None:
    e = explain_top(project, user_id, k=1)[0]
    attr = e.attribution
    top = attr.top(3)
    assert [abs(c) for *_, c in top] == sorted((abs(c) for *_, c in top), reverse=True)
    assert abs(top[0][2]) == pytest.approx(np.abs(attr.values).max())
    groups = attr.by_group()
    assert set(groups) == set(attr.groups)
    assert sum(groups.values()) == pytest.approx(attr.values.sum())
    j = attr.index("item_category")
    assert attr.feature_values[j] in project.feature_specs[j].categories
