"""Presentation helpers agree with the engine."""

from __future__ import annotations

import numpy as np
import pytest

from ui import compute


@pytest.fixture(scope="module")
def weights(small_project):  # noqa: ANN001, ANN201
    return small_project.spec().weights.as_dict()


def test_contributions_sum_to_the_score(small_project, weights) -> None:  # noqa: ANN001
    uid = small_project.user_ids()[3]
    ranked = small_project.recommend(uid, weights=weights, k=10)
    frame = compute.task_contributions(ranked, small_project)
    sums = frame[small_project.task_names()].sum(axis=1).to_numpy()
    np.testing.assert_allclose(sums, [it.score for it in ranked.items], rtol=1e-5, atol=1e-5)
    assert (frame["returned"] * np.array([it.tasks["returned"] for it in ranked.items])
            <= 0).all()  # a minimised task's contribution has the opposite sign
