"""The vectorised core: exact additivity, agreement with the ranking and with shap."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st

from explain import attribute_rows, explain_pairs
from recsys.errors import BlendError, ExplanationError
from recsys.models import TaskModel
from recsys.project import Project
from recsys.tasks import log_sigmoid

KINDS = ("zscore", "percentile", "minmax")
weight_values = st.floats(min_value=0.0, max_value=5.0, allow_nan=False, allow_infinity=False)


def _candidate_pairs(project: Project, users: list[int]) -> tuple[np.ndarray, np.ndarray]:
    cand = project.artifacts.scores.cand_items
    u, c = np.nonzero(cand[users] >= 0)
    return np.asarray(users)[u], cand[users][u, c].astype(np.int64)


def _n_features(project: Project) -> int:
    """Width of a feature row: one column per feature spec of the project's store."""
    return len(project.artifacts.store.specs)


def _task_names(project: Project) -> list[str]:
    return [t.name for t in project.tasks]


@settings(max_examples=25, deadline=None)
@given(data=st.data(), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16))
def test_blended_attributions_are_exactly_additive(project: Project, data: st.DataObject,
                                                   kind: str, seed: int) -> None:
    w = data.draw(st.fixed_dictionaries({t: weight_values for t in _task_names(project)}),
                  label="weights")
    users = np.random.default_rng(seed).choice(len(project.user_ids()), 3, replace=False)
    u, i = _candidate_pairs(project, users.tolist())
    b = explain_pairs(project, u, i, weights=w, transform=kind)
    assert b.values.shape == (u.size, _n_features(project))
    assert b.task_values.shape == (len(project.tasks), u.size, _n_features(project))
    np.testing.assert_allclose(b.base + b.values.sum(axis=1), b.score, rtol=1e-6, atol=1e-9)
    # every task, the conditional one included, is additive in its own score space
    np.testing.assert_allclose(b.task_base + b.task_values.sum(axis=2), b.task_score,
                               rtol=1e-9, atol=1e-9)
    # and the score is the weighted sum of the transformed task scores (the shares)
    np.testing.assert_allclose(b.share.sum(axis=0), b.score, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_score_equals_what_recommend_ranks_by(project: Project, user_id: str, kind: str) -> None:
    # distinct, uneven weights so that every task moves the ranking differently
    weights = {t: (1.0, 2.0, 0.3, 1.5)[j % 4] + j // 4 for j, t in enumerate(_task_names(project))}
    ranked = project.recommend(user_id, weights=weights, k=10, transform=kind)
    assert len(ranked.items) == 10
    u = project.user_code(user_id)
    codes = np.array([project.item_code(it.item_id) for it in ranked.items])
    b = explain_pairs(project, np.full(codes.size, u), codes, weights=weights, transform=kind)
    np.testing.assert_allclose(b.score, [it.score for it in ranked.items], rtol=0, atol=1e-5)
    for r, it in enumerate(ranked.items):
        assert list(it.tasks) == _task_names(project)
        np.testing.assert_allclose(b.transformed[:, r], list(it.tasks.values()), atol=1e-5)


def test_conditional_task_score_is_entire_space_log_probability(project: Project) -> None:
    u, i = _candidate_pairs(project, [0, 1])
    b = explain_pairs(project, u, i)
    m = project.stored_margins(u, i)
    models = list(project.artifacts.scores.models)
    conditional = [(j, t) for j, t in enumerate(project.tasks) if t.given is not None]
    assert conditional, "the project must have a conditional task"
    for j, task in conditional:
        # log p(root) + log p(step | parent)... + the task's own term given its parent:
        # log p(task | parent) for a binary task, log E[value | parent] for a log link
        chain = task.ancestors or (task.given,)
        expect = sum(log_sigmoid(m[models.index(a)]) for a in chain)
        own = m[models.index(task.name)]
        expect = expect + (log_sigmoid(own) if task.kind == "binary" else own)
        np.testing.assert_allclose(b.task_score[j], expect, rtol=0, atol=1e-12, err_msg=task.name)
        if task.kind == "binary" or task.log_link:
            np.testing.assert_allclose(b.prediction[j], np.exp(expect), rtol=1e-12,
                                       err_msg=task.name)


def test_pred_contrib_agrees_with_shap_tree_explainer(project: Project) -> None:
    X = project.artifacts.test_features.X[:40]
    cats = [j for j, s in enumerate(project.artifacts.store.specs) if s.is_categorical]
    assert cats, "the demo must have categorical features"
    contributions = project.contributions(X)
    for name, model in project.artifacts.models.items():  # binary, conditional, regression
        ours = contributions[name]
        np.testing.assert_allclose(ours, model.contributions(X), rtol=0, atol=1e-12)
        explainer = shap.TreeExplainer(model.booster_)
        theirs = np.asarray(explainer.shap_values(X.astype(np.float64)))
        np.testing.assert_allclose(ours[:, :-1], theirs.reshape(ours[:, :-1].shape),
                                   rtol=1e-6, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(ours[:, -1], np.ravel(explainer.expected_value)[0],
                                   rtol=1e-6, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(ours.sum(axis=1), model.predict(X), atol=1e-6)


def test_pred_contrib_agrees_with_shap_for_a_ranker(project: Project) -> None:
    arts = project.artifacts
    X = arts.test_features.X[:1200]
    y = arts.scores.test.labels[0][:1200]
    sizes = np.diff(arts.scores.test.offsets)
    sizes = sizes[np.cumsum(sizes) <= 1200]
    n = int(sizes.sum())
    cats = [j for j, s in enumerate(arts.store.specs) if s.is_categorical]
    model = TaskModel(objective="lambdarank", n_estimators=15, min_child_samples=5,
                      name="rank").fit(X[:n], y[:n], group=sizes, categorical_features=cats)
    ours = model.contributions(X[:40])
    theirs = shap.TreeExplainer(model.booster_).shap_values(X[:40].astype(np.float64))
    np.testing.assert_allclose(ours[:, :-1], theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1), model.predict(X[:40]), atol=1e-6)


def test_results_are_read_only(project: Project) -> None:
    u, i = _candidate_pairs(project, [2])
    b = explain_pairs(project, u, i)
    with pytest.raises(ValueError, match="read-only"):
        b.values[0, 0] = 1.0


def test_stored_margins_are_the_ones_explained(project: Project) -> None:
    u, i = _candidate_pairs(project, [3])
    stored = project.stored_margins(u, i)
    models = list(project.artifacts.scores.models)
    plain = [(j, t.name) for j, t in enumerate(project.tasks) if t.given is None]
    assert plain, "the project must have a task that is not conditional"
    for j, name in plain:  # an unconditional task's score is its model's stored margin
        only = {t: float(t == name) for t in _task_names(project)}
        b = explain_pairs(project, u, i, weights=only, transform="zscore")
        np.testing.assert_allclose(b.task_score[j], stored[models.index(name)], rtol=0,
                                   atol=1e-12, err_msg=name)


def test_inconsistent_margins_raise(project: Project) -> None:
    u, i = _candidate_pairs(project, [3])
    X = project.artifacts.store.features_for(u, i).X
    bad = project.stored_margins(u, i) + 1.0
    first = re.escape(list(project.artifacts.scores.models)[0])  # the first model checked
    with pytest.raises(ExplanationError, match=rf"model '{first}': SHAP values sum to .* retrain"):
        attribute_rows(project, X, margins=bad)


def test_rows_without_stored_margins_use_the_shap_sum(project: Project) -> None:
    X = project.artifacts.test_features.X[:20]
    b = attribute_rows(project, X, transform="percentile")
    np.testing.assert_allclose(b.base + b.values.sum(axis=1), b.score, rtol=1e-9, atol=1e-9)


def test_bad_inputs_raise(project: Project) -> None:
    nf = _n_features(project)
    assert nf == project.artifacts.test_features.X.shape[1]
    shape = rf"feature rows must have shape \(n, {nf}\)"
    with pytest.raises(ExplanationError, match=shape):
        attribute_rows(project, np.zeros((2, 3), dtype=np.float32))
    for wrong in (nf - 1, nf + 1):  # one column short or one too many
        with pytest.raises(ExplanationError, match=shape):
            attribute_rows(project, np.zeros((2, wrong), dtype=np.float32))
    with pytest.raises(BlendError, match="unknown transform 'rank'"):  # one error type
        attribute_rows(project, np.zeros((1, nf), dtype=np.float32), transform="rank")


def test_empty_batch(project: Project) -> None:
    nf = _n_features(project)
    b = attribute_rows(project, np.zeros((0, nf), dtype=np.float32))
    assert len(b) == 0
    assert b.values.shape == (0, nf)
    assert b.score.shape == (0,)
    assert list(b.tasks) == _task_names(project)
