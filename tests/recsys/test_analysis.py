"""Project analyses (subsets of users, segments, sensitivity, target search) agree with
Project.evaluate."""

from __future__ import annotations

import numpy as np
import pytest

from recsys import analysis


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


def test_target_search_respects_the_bound(small_project) -> None:  # noqa: ANN001
    sweep = small_project.sweep(steps=6)
    frame = sweep.to_frame()
    best = analysis.target_search(sweep, "revenue", "click", 97)
    assert best is not None
    ok = frame[frame["ndcg_click"] >= 0.97 * frame["ndcg_click"].max()]
    assert best["ndcg_revenue"] == ok["ndcg_revenue"].max()
    assert best["ndcg_click"] >= 0.97 * frame["ndcg_click"].max()
    low = analysis.target_search(sweep, "returned", "purchase", 50)
    assert low is not None and low["ndcg_returned"] == frame.loc[
        frame["ndcg_purchase"] >= 0.5 * frame["ndcg_purchase"].max(), "ndcg_returned"].min()
