"""TaskModel: the per-task LightGBM wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from recsys.errors import NotFittedError
from recsys.models import TaskModel, group_sizes


def _data(rng: np.random.Generator, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 4)).astype(np.float32)
    logit = 2.0 * X[:, 0] - 1.0 * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, y


class TaskModelContract:
    """Behaviour every task variant must keep."""

    objective: str

    def fit_model(self, rng: np.random.Generator) -> tuple[TaskModel, np.ndarray]:
        X, y = _data(rng)
        kw = {}
        if self.objective == "lambdarank":
            kw["group"] = np.full(60, 10)
        model = TaskModel(objective=self.objective, n_estimators=30, min_child_samples=5,
                          name="t").fit(X, y, **kw)  # type: ignore[arg-type]
        return model, X

    def test_margins_follow_the_signal(self, rng: np.random.Generator) -> None:
        model, X = self.fit_model(rng)
        m = model.predict(X)
        assert np.corrcoef(m, X[:, 0])[0, 1] > 0.5

    def test_text_round_trip_predicts_the_same(self, rng: np.random.Generator) -> None:
        model, X = self.fit_model(rng)
        back = TaskModel.from_text(model.to_text(), objective=self.objective, name="t")  # type: ignore[arg-type]
        np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-12)

    def test_contributions_sum_to_margin(self, rng: np.random.Generator) -> None:
        model, X = self.fit_model(rng)
        contrib = model.contributions(X[:50])
        np.testing.assert_allclose(contrib.sum(axis=1), model.predict(X[:50]), rtol=1e-6,
                                   atol=1e-9)

    def test_same_seed_same_model(self, rng: np.random.Generator) -> None:
        a, X = self.fit_model(np.random.default_rng(3))
        b, _ = self.fit_model(np.random.default_rng(3))
        assert a.to_text() == b.to_text()


class TestBinary(TaskModelContract):
    objective = "binary"


class TestRegression(TaskModelContract):
    objective = "regression"


class TestLambdarank(TaskModelContract):
    objective = "lambdarank"


def test_predict_before_fit_names_the_task() -> None:
    with pytest.raises(NotFittedError, match="TaskModel 'ctr' is not fitted; call fit"):
        TaskModel(name="ctr").predict(np.zeros((2, 3)))


def test_lambdarank_needs_groups(rng: np.random.Generator) -> None:
    X, y = _data(rng, 40)
    with pytest.raises(ValueError, match="lambdarank needs group sizes"):
        TaskModel(objective="lambdarank", name="r").fit(X, y)


def test_shape_mismatch_is_reported(rng: np.random.Generator) -> None:
    X, y = _data(rng, 40)
    with pytest.raises(ValueError, match=r"X has shape \(40, 4\) but y has 39 rows"):
        TaskModel(name="c").fit(X, y[:-1])


def test_group_sizes_counts_runs() -> None:
    assert group_sizes(np.array([3, 3, 1, 1, 1, 3])).tolist() == [2, 3, 1]


@parametrize_with_checks([TaskModel(objective="regression", n_estimators=5,
                                    min_child_samples=1, early_stopping_rounds=2)])
def test_sklearn_estimator_contract(estimator, check) -> None:  # noqa: ANN001
    check(estimator)
