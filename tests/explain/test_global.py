"""Global importance and dependence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from explain import (
    GlobalImportance,
    beeswarm_frame,
    dependence,
    feature_associations,
    global_importance,
    sample_rows,
)
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
    levels = gi.specs[gi.feature_names().index("item_category")].categories
    assert list(cat["value"].cat.categories) == list(levels)  # in the feature's level order
    codes = gi.X[:, gi.feature_names().index("item_category")]
    assert list(cat["value"].astype(str)) == [levels[int(c)] for c in codes]
    bee = beeswarm_frame(gi, max_features=5)
    assert bee["feature"].nunique() == 5 and len(bee) == 5 * 300
    assert bee["value_rank"].between(0, 1).all()
    top = gi.to_frame()["feature"][:5].tolist()
    assert list(dict.fromkeys(bee["feature"])) == top  # most important first
    for f in top:  # each block is that feature's attributions, in row order
        j = gi.feature_names().index(f)
        np.testing.assert_array_equal(bee.loc[bee["feature"] == f, "attribution"],
                                      gi.values[:, j])


def test_dependence_colours_by_another_feature(gi) -> None:  # noqa: ANN001
    dep = dependence(gi, "item_price", colour_by="item_category")
    assert list(dep.columns) == ["value", "attribution", "colour"]
    assert isinstance(dep["colour"].dtype, pd.CategoricalDtype)
    np.testing.assert_array_equal(dep["colour"].astype(str),
                                  dependence(gi, "item_category")["value"].astype(str))
    numeric = dependence(gi, "item_category", colour_by="item_price")
    np.testing.assert_array_equal(numeric["colour"], dep["value"])
    with pytest.raises(ExplanationError, match="unknown feature 'nope'"):
        dependence(gi, "item_price", colour_by="nope")


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


def test_samples_of_one_seed_are_nested() -> None:
    small, large = sample_rows(4000, 500, 7), sample_rows(4000, 1000, 7)
    assert small.size == 500 and large.size == 1000 and np.all(np.diff(large) > 0)
    assert np.isin(small, large).all()
    assert not np.isin(sample_rows(4000, 500, 8), large).all()  # another seed, other rows
    np.testing.assert_array_equal(sample_rows(30, 100, 7), np.arange(30))  # all if fewer


def test_a_larger_sample_reuses_a_smaller_one(project: Project, gi) -> None:  # noqa: ANN001
    fresh = global_importance(project, weights=gi.weights, transform=gi.transform, n=700,
                              random_state=3)
    grown = global_importance(project, weights=gi.weights, transform=gi.transform, n=700,
                              random_state=3, reuse=gi, batch_size=128)
    np.testing.assert_array_equal(grown.rows, fresh.rows)
    np.testing.assert_array_equal(grown.X, fresh.X)
    np.testing.assert_allclose(grown.values, fresh.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grown.task_values, fresh.task_values, rtol=1e-12, atol=1e-12)
    assert grown.base == pytest.approx(fresh.base, rel=1e-12)
    assert not grown.values.flags.writeable  # shared between sessions


def test_reuse_is_refused_across_transforms_or_seeds(project: Project, gi) -> None:  # noqa: ANN001
    with pytest.raises(ExplanationError, match="cannot reuse a sample of 300 rows "
                                               r"\(transform percentile, seed 3\)"):
        global_importance(project, transform="zscore", n=600, random_state=3, reuse=gi)
    with pytest.raises(ExplanationError, match="seed 4\\); pass a smaller sample"):
        global_importance(project, transform="percentile", n=600, random_state=4, reuse=gi)
    with pytest.raises(ExplanationError, match="batch_size must be >= 1, got 0"):
        global_importance(project, n=10, batch_size=0)


def _with_columns(gi: GlobalImportance, columns: dict[str, np.ndarray]) -> GlobalImportance:
    X = np.array(gi.X)
    for name, values in columns.items():
        X[:, gi.feature_names().index(name)] = values
    return dataclasses.replace(gi, X=X)


def _independent(gi: GlobalImportance, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every feature drawn independently (categoricals as random codes of their levels)."""
    n = len(gi.rows)
    return {s.name: rng.integers(0, len(s.categories), n).astype(np.float32)
            if s.is_categorical else rng.normal(size=n).astype(np.float32) for s in gi.specs}


def test_associations_find_constructed_pairs_only(gi, rng: np.random.Generator) -> None:  # noqa: ANN001
    cols = _independent(gi, rng)
    assert feature_associations(_with_columns(gi, cols)) == ()
    n = len(gi.rows)
    brand = rng.integers(0, 40, n)
    cols["item_brand"] = brand.astype(np.float32)
    cols["item_category"] = (brand // 4).astype(np.float32)  # each brand within one category
    cols["item_quality"] = cols["item_price"] ** 3 + rng.normal(0, 0.01, n)  # monotone
    cols["user_click_rate"] = -cols["user_exposures"]  # a perfect negative rank correlation
    found = {(a.feature, a.other): a for a in feature_associations(_with_columns(gi, cols))}
    assert set(found) == {("item_brand", "item_category"), ("item_price", "item_quality"),
                          ("user_exposures", "user_click_rate")}  # pairs in column order
    assert found[("user_exposures", "user_click_rate")].strength == pytest.approx(1.0)
    nested = found[("item_brand", "item_category")]
    assert (nested.measure, nested.strength) == ("purity", 1.0)
    assert found[("item_price", "item_quality")].measure == "spearman"
    assert found[("item_price", "item_quality")].strength > 0.99


def test_associations_of_a_categorical_and_a_number(gi, rng: np.random.Generator) -> None:  # noqa: ANN001
    cols = _independent(gi, rng)
    device = cols["context_device"]
    cols["item_price"] = device * 10 + rng.normal(0, 0.1, len(device))  # fixed by the level
    found = feature_associations(_with_columns(gi, cols))
    assert [(a.feature, a.other, a.measure) for a in found] == [
        ("context_device", "item_price", "eta")]
    assert found[0].strength > 0.9  # on ranks: at most sqrt(1 - 1/9) with 3 equal levels
    cols["item_price"] = rng.normal(size=len(device))
    cols["item_price"][:: 2] = np.nan  # missing values are left out, never flagged
    assert feature_associations(_with_columns(gi, cols)) == ()


def test_associations_of_the_sample(gi) -> None:  # noqa: ANN001
    found = feature_associations(gi)
    assert [a.strength for a in found] == sorted((a.strength for a in found), reverse=True)
    assert all(0.7 <= a.strength <= 1.0 + 1e-12 for a in found)
    # the demo generator gives every brand one category: brand is nested in category
    assert any((a.feature, a.other, a.measure) == ("item_brand", "item_category", "purity")
               for a in found)
