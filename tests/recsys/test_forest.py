"""Forest: compiled raw-score prediction equals LightGBM's own, bit for bit."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys._forest import Forest
from recsys.models import TaskModel

OBJECTIVES = ("binary", "regression", "tweedie", "lambdarank")


def _rows(rng: np.random.Generator, n: int) -> np.ndarray:
    """Numeric columns with missing values and zeros, and two categorical columns."""
    X = rng.normal(size=(n, 5)).astype(np.float32)
    X[rng.random(n) < 0.15, 1] = np.nan  # learned with missing values
    X[rng.random(n) < 0.3, 2] = 0.0  # many exact zeros
    X[:, 3] = rng.integers(0, 40, n)  # categorical, 40 levels
    X[:, 4] = rng.integers(0, 5, n)
    X[rng.random(n) < 0.1, 4] = np.nan
    return X


def _fit(objective: str, seed: int = 0, n: int = 3000) -> tuple[TaskModel, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = _rows(rng, n)
    signal = (X[:, 0] - np.nan_to_num(X[:, 1]) + (X[:, 3] % 7 == 0) * 1.5
              + (np.nan_to_num(X[:, 4], nan=9) == 2) + (X[:, 2] == 0) * 0.7)
    if objective == "binary":
        y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(float)
    elif objective == "lambdarank":
        y = np.clip(np.round(signal + rng.normal(size=n)), 0, 3)
    else:
        y = np.maximum(0.0, signal + rng.normal(size=n))
    kw = {"group": np.full(n // 10, 10)} if objective == "lambdarank" else {}
    model = TaskModel(objective=objective, n_estimators=60, min_child_samples=10, name="t")  # type: ignore[arg-type]
    model.fit(X, y, categorical_features=[3, 4], **kw)
    return model, X


@pytest.fixture(scope="module", params=OBJECTIVES)
def fitted(request: pytest.FixtureRequest) -> tuple[TaskModel, np.ndarray]:
    return _fit(request.param)


def _lightgbm(model: TaskModel, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.booster_.predict(X, raw_score=True,
                                             num_iteration=model.best_iteration_))


def test_predict_equals_lightgbm_bit_for_bit_on_training_rows(
        fitted: tuple[TaskModel, np.ndarray]) -> None:
    model, X = fitted
    assert np.array_equal(model.predict(X), _lightgbm(model, X))


def test_the_trees_use_every_kind_of_split(fitted: tuple[TaskModel, np.ndarray]) -> None:
    """The fixture exercises categorical splits and learned missing-value directions."""
    kinds = set()

    def walk(node: dict) -> None:  # type: ignore[type-arg]
        if "decision_type" in node:
            kinds.add((node["decision_type"], node["missing_type"]))
            walk(node["left_child"])
            walk(node["right_child"])
    for tree in fitted[0].booster_.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    assert ("==", "NaN") in kinds or ("==", "None") in kinds
    assert ("<=", "NaN") in kinds


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_predict_equals_lightgbm_on_hostile_rows(data: st.DataObject) -> None:
    """NaN, ±0, tiny and huge values, negative, fractional and unseen categories."""
    model, _ = _FIT_ONCE["binary"]
    values = st.one_of(
        st.just(float("nan")), st.just(0.0), st.just(-0.0), st.just(1e-36), st.just(-1e-36),
        st.floats(-5, 5, width=32), st.integers(-3, 70).map(float),
        st.floats(-1.5, 1.5, width=32), st.just(3e9), st.just(-3e9))
    rows = data.draw(st.lists(st.lists(values, min_size=5, max_size=5), min_size=1,
                              max_size=30))
    X = np.asarray(rows, dtype=np.float32)
    assert np.array_equal(model.predict(X), _lightgbm(model, X), equal_nan=True)
    X64 = X.astype(np.float64)
    forest = Forest.from_booster(model.booster_, model.best_iteration_)
    assert np.array_equal(forest.predict(X64),
                          model.booster_.predict(X64, raw_score=True,
                                                 num_iteration=model.best_iteration_))


_FIT_ONCE: dict[str, tuple[TaskModel, np.ndarray]] = {}
_FIT_ONCE["binary"] = _fit("binary", seed=1)


def test_fewer_trees_than_the_booster_holds() -> None:
    model, X = _FIT_ONCE["binary"]
    for k in (1, 5, model.best_iteration_):
        forest = Forest.from_booster(model.booster_, k)
        assert np.array_equal(forest.predict(X),
                              model.booster_.predict(X, raw_score=True, num_iteration=k))


def test_a_single_leaf_booster_predicts_its_constant() -> None:
    X = np.zeros((50, 2), np.float32)
    booster = lgb.train({"objective": "regression", "verbosity": -1, "min_data_in_leaf": 100},
                        lgb.Dataset(X, np.arange(50.0)), num_boost_round=2)
    forest = Forest.from_booster(booster)
    assert np.array_equal(forest.predict(X), booster.predict(X, raw_score=True))


def test_wrong_width_is_refused() -> None:
    model, _ = _FIT_ONCE["binary"]
    forest = Forest.from_booster(model.booster_, model.best_iteration_)
    with pytest.raises(ValueError, match="expected 5 feature columns"):
        forest.predict(np.zeros((3, 4), np.float32))


def test_prediction_follows_a_refit_booster() -> None:
    """The cached forest is rebuilt when the model's booster changes."""
    a, X = _fit("regression", seed=2)
    b, _ = _fit("regression", seed=3)
    before = a.predict(X)
    a.booster_, a.best_iteration_ = b.booster_, b.best_iteration_
    assert np.array_equal(a.predict(X), _lightgbm(b, X))
    assert not np.array_equal(a.predict(X), before)
