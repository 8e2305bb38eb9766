"""Project analyses (subsets of users, segments, sensitivity, target search) agree with
Project.evaluate."""

from __future__ import annotations

import numpy as np
import pytest

from recsys import analysis
from recsys.errors import BlendError


@pytest.fixture(scope="module")
def weights(small_project):  # noqa: ANN001, ANN201
    return small_project.spec().weights.as_dict()


def test_ranking_ndcg_equals_evaluate(small_project, weights) -> None:  # noqa: ANN001
    ev = small_project.evaluate(weights, transform="percentile", k=5).to_dict()
    ndcg, gauc = analysis.ranking_ndcg(small_project, small_project.spec(weights, transform="percentile", k=5))
    for t, n, g in zip(small_project.task_names(), ndcg, gauc, strict=True):
        assert n == ev["ranking"][t]["ndcg@5"]
        assert g == ev["ranking"][t]["gauc"]


def test_segments_partition_the_users(small_project, weights) -> None:  # noqa: ANN001
    frame = analysis.segment_frame(small_project, "region", small_project.spec(weights, transform="zscore", k=10))
    overall, parts = frame.iloc[0], frame.iloc[1:]
    assert overall["region"] == "all users"
    assert parts["users"].sum() == overall["users"]
    assert parts["test users"].sum() == overall["test users"]
    ev = small_project.evaluate(weights, transform="zscore", k=10).to_dict()
    assert overall["NDCG@10 click"] == ev["ranking"]["click"]["ndcg@10"]
    one = parts.iloc[0]
    users = analysis.user_attributes(small_project)
    codes = small_project.user_ids().get_indexer(
        users.loc[users["region"] == one["region"], "user_id"])
    test = small_project.eval_context.test
    mask = np.isin(test.users[test.offsets[:-1]], codes)
    ndcg, _ = analysis.ranking_ndcg(small_project, small_project.spec(weights, transform="zscore", k=10), groups=mask)
    assert one["NDCG@10 click"] == ndcg[0]


def test_sensitivity_moves_one_weight(small_project, weights) -> None:  # noqa: ANN001
    frame = analysis.sensitivity_frame(small_project, "revenue", small_project.spec(weights, transform="zscore", k=10))
    assert sorted(set(frame["weight"])) == list(analysis.SENSITIVITY_GRID)
    at_current = frame[frame["weight"] == weights["revenue"]].set_index("task")["ndcg"]
    ev = small_project.evaluate(weights, transform="zscore", k=10).to_dict()
    assert at_current["click"] == ev["ranking"]["click"]["ndcg@10"]


def test_target_search_respects_every_bound(small_project) -> None:  # noqa: ANN001
    sweep = small_project.sweep(steps=6)
    frame = sweep.to_frame()
    res = analysis.target_search(sweep, "revenue", {"click": 97})
    best = res.point
    assert res.feasible and res.shortfall == {"click": 0.0}
    ok = frame[frame["ndcg_click"] >= 0.97 * frame["ndcg_click"].max()]
    assert best["ndcg_revenue"] == ok["ndcg_revenue"].max()
    assert res.zero_weights == tuple(t for t in sweep.tasks if best[f"w_{t}"] == 0)
    # a minimised task can be constrained too: returned stays <= its lowest / 0.8
    both = analysis.target_search(sweep, "purchase", {"click": 80, "returned": 80})
    low = frame["ndcg_returned"].min()
    allowed = frame[(frame["ndcg_click"] >= 0.8 * frame["ndcg_click"].max())
                    & (frame["ndcg_returned"] <= low / 0.8 + 1e-12)]
    assert not allowed.empty and both.feasible
    assert both.point["ndcg_returned"] <= low / 0.8 + 1e-12
    assert both.point["ndcg_purchase"] == allowed["ndcg_purchase"].max()
    # the old search kept click only and silently dropped returned's weight
    click_only = analysis.target_search(sweep, "purchase", {"click": 80})
    assert click_only.point["ndcg_purchase"] >= both.point["ndcg_purchase"]
    mini = analysis.target_search(sweep, "returned", {"purchase": 50})
    assert mini.point["ndcg_returned"] == frame.loc[
        frame["ndcg_purchase"] >= 0.5 * frame["ndcg_purchase"].max(), "ndcg_returned"].min()


def test_target_search_says_when_bounds_conflict(small_project) -> None:  # noqa: ANN001
    sweep = small_project.sweep(steps=6)
    every = {t: 100.0 for t in sweep.tasks if t != "revenue"}
    res = analysis.target_search(sweep, "revenue", every)
    frame = sweep.to_frame()
    tops = {t: frame[f"ndcg_{t}"].max() if up else frame[f"ndcg_{t}"].min()
            for t, up in zip(sweep.tasks, sweep.maximize, strict=True)}
    at_best = all(frame[f"ndcg_{t}"].eq(v).any() for t, v in tops.items())
    assert at_best  # each task's best is reached somewhere, but not all at one point:
    assert not res.feasible and max(res.shortfall.values()) > 0
    with pytest.raises(BlendError, match="unknown task 'clicks'"):
        analysis.target_search(sweep, "revenue", {"clicks": 90})
    with pytest.raises(BlendError, match=r"percentage in \(0, 100\], got 120"):
        analysis.target_search(sweep, "revenue", {"click": 120})

