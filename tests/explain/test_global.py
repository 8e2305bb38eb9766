"""Global importance and dependence."""

from __future__ import annotations

import numpy as np
import pytest

from explain import beeswarm_frame, dependence, global_importance
from recsys.errors import BlendError, ExplanationError
from recsys.project import Project


@pytest.fixture(scope="module")
def gi(project: Project):  # noqa: ANN201 - GlobalImportance
    return global_importance(project, weights={"purchase": 2.0}, transform="percentile", n=300,
                             random_state=3)


def test_sample_is_reproducible_and_additive(project: Project, gi) -> None:  # noqa: ANN001
    again = global_importance(project, weights={"purchase": 2.0}, transform="percentile", n=300,
                              random_state=3)
    np.testing.assert_array_equal(gi.rows, again.rows)
    np.testing.assert_array_equal(gi.values, again.values)
    assert gi.rows.size == 300 and np.all(np.diff(gi.rows) > 0)
    other = global_importance(project, n=300, random_state=4)
    assert not np.array_equal(gi.rows, other.rows)
    # each sampled row's attributions sum to its blended score on the stored test margins
    table = project.test_table("percentile")[:, gi.rows].astype(np.float64)
    blended = project.spec({"purchase": 2.0}).signed @ table
    np.testing.assert_allclose(gi.base + gi.values.sum(axis=1), blended, atol=1e-5)
    assert gi.weights["purchase"] == 2.0 and gi.transform == "percentile"


def test_to_frame_is_mean_abs_shap(gi) -> None:  # noqa: ANN001
    df = gi.to_frame()
    assert list(df.columns[:4]) == ["feature", "group", "description", "blend"]
    assert list(df.columns[4:]) == list(gi.tasks)
    assert df["blend"].is_monotonic_decreasing
    j = gi.feature_names().index(df["feature"][0])
    assert df["blend"][0] == pytest.approx(np.abs(gi.values[:, j]).mean())
    assert df["click"][0] == pytest.approx(np.abs(gi.task_values[0][:, j]).mean())
    assert set(gi.by_group()) == {"user", "item", "user×item", "context", "latent"}


def test_dependence_and_beeswarm(gi) -> None:  # noqa: ANN001
    dep = dependence(gi, "item_price")
    assert list(dep.columns) == ["value", "attribution"] and len(dep) == 300
    j = gi.feature_names().index("item_price")
    np.testing.assert_array_equal(dep["attribution"], gi.values[:, j])
    cat = dependence(gi, "item_category", task="click")
    levels = set(gi.specs[gi.feature_names().index("item_category")].categories)
    assert set(cat["value"].dropna()) <= levels
    bee = beeswarm_frame(gi, max_features=5)
    assert bee["feature"].nunique() == 5 and len(bee) == 5 * 300
    assert bee["value_rank"].between(0, 1).all()


def test_errors(project: Project, gi) -> None:  # noqa: ANN001
    with pytest.raises(ExplanationError, match="unknown feature 'nope'"):
        dependence(gi, "nope")
    with pytest.raises(ExplanationError, match="unknown task 'ctr'"):
        dependence(gi, "item_price", task="ctr")
    with pytest.raises(ExplanationError, match="n must be >= 1, got 0"):
        global_importance(project, n=0)


def test_reweight_equals_a_fresh_computation(project: Project, gi) -> None:  # noqa: ANN001
    new = {"click": 0.2, "purchase": 3.0, "revenue": 0.0, "returned": 2.0}
    fresh = global_importance(project, weights=new, transform=gi.transform, n=len(gi.rows),
                              random_state=3)
    moved = gi.reweight(new)
    np.testing.assert_allclose(moved.values, fresh.values, rtol=1e-9, atol=1e-12)
    assert moved.base == pytest.approx(fresh.base, rel=1e-9, abs=1e-12)
    assert moved.weights == fresh.weights
    # validated like every blend request (it used to skip weight validation)
    with pytest.raises(BlendError, match=r"unknown task 'clicks' \(did you mean 'click'\?\)"):
        gi.reweight({"clicks": 1.0})
    with pytest.raises(BlendError, match="task 'click': blend weight must be >= 0"):
        gi.reweight({"click": -1.0})
