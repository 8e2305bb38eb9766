"""One LightGBM model per task, in the scikit-learn estimator style."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
from lightgbm.callback import CallbackEnv
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import Tags
from sklearn.utils.validation import validate_data

from recsys._forest import Forest
from recsys.errors import NotFittedError, SchemaError

__all__ = ["Objective", "TaskModel", "TaskModelNotFittedError", "check_objective", "group_sizes"]

log = logging.getLogger(__name__)

Objective = Literal["binary", "regression", "lambdarank", "huber", "poisson", "tweedie", "gamma"]
_ESTIMATORS: dict[Objective, type[lgb.LGBMModel]] = {
    "binary": lgb.LGBMClassifier,
    "regression": lgb.LGBMRegressor,
    "lambdarank": lgb.LGBMRanker,
    "huber": lgb.LGBMRegressor,
    "poisson": lgb.LGBMRegressor,
    "tweedie": lgb.LGBMRegressor,
    "gamma": lgb.LGBMRegressor,
}


def check_objective(objective: str, *, name: str) -> Objective:
    """Return ``objective`` as an :data:`Objective`, or raise :class:`SchemaError`.

    The error names the task ``name`` and lists the valid objectives.
    """
    if objective not in _ESTIMATORS:
        raise SchemaError(f"task '{name}': unknown objective {objective!r}; "
                          f"use one of {sorted(_ESTIMATORS)}")
    return objective


class TaskModelNotFittedError(NotFittedError, SklearnNotFittedError):
    """A :class:`TaskModel` was used before ``fit`` (ours and scikit-learn's error)."""


def group_sizes(group_codes: NDArray[np.integer]) -> NDArray[np.int64]:
    """Sizes of consecutive runs of equal codes (LightGBM's ``group`` for ranking)."""
    codes = np.asarray(group_codes)
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.diff(np.r_[starts, codes.size]).astype(np.int64)


def _train_loss_recorder(out: dict[str, list[float]]) -> Callable[[CallbackEnv], None]:
    """Make a LightGBM callback appending the training metrics of every iteration to ``out``.

    It reads the booster's own training scores (no prediction pass, unlike putting the
    training set in ``eval_set``, which the classifier's label encoding copies), and early
    stopping never sees it.
    """
    def record(env: CallbackEnv) -> None:
        if not isinstance(env.model, lgb.Booster):
            raise TypeError("the training-loss recorder needs a Booster, not lgb.cv's CVBooster")
        for result in env.model.eval_train():
            out.setdefault(result.metric_name, []).append(float(result.metric_value))
    return record


_FORESTS: weakref.WeakKeyDictionary[lgb.Booster, tuple[int, Forest]] = \
    weakref.WeakKeyDictionary()
_FORESTS_LOCK = threading.Lock()


def _forest(booster: lgb.Booster, trees: int) -> Forest:
    """Return the booster's first ``trees`` trees flattened for prediction (built once).

    :class:`~recsys._forest.Forest` predicts ``booster.predict(X, raw_score=True,
    num_iteration=trees)`` bit for bit, in about half the time on candidate batches. The
    cache lives beside the booster (not in the model, whose state ``predict`` must not
    change) and goes with it.
    """
    with _FORESTS_LOCK:
        hit = _FORESTS.get(booster)
    if hit is not None and hit[0] == trees:
        return hit[1]
    forest = Forest.from_booster(booster, trees)
    with _FORESTS_LOCK:
        _FORESTS[booster] = (trees, forest)
    return forest


class TaskModel(BaseEstimator):
    """A LightGBM booster for one task: classifier, regressor or lambdarank ranker.

    ``predict`` returns the raw margin (log-odds for binary, the prediction for
    regression, the ranking score for lambdarank); that is the space the blend and the
    SHAP values live in.

    Parameters
    ----------
    objective : {"binary", "regression", "lambdarank", "huber", "poisson", "tweedie", "gamma"}
        The learning problem; the last four are regression losses (poisson, tweedie and
        gamma predict log(mean) as the raw margin).
    n_estimators : int
        Maximum number of boosting rounds (early stopping may use fewer).
    learning_rate : float
        Shrinkage per round.
    num_leaves : int
        Maximum leaves per tree.
    max_depth : int
        Maximum tree depth (-1: unlimited). Shallower trees make SHAP cheaper.
    min_child_samples : int
        Minimum rows in a leaf.
    subsample, colsample_bytree : float
        Row and feature sampling ratios.
    reg_lambda, reg_alpha : float
        L2 and L1 regularisation.
    early_stopping_rounds : int
        Stop when the validation metric has not improved for this many rounds.
    max_bin : int
        Histogram bins per feature (fewer: faster training, coarser splits).
    random_state : int
        Seed; training is deterministic for a given seed and thread count.
    n_jobs : int
        LightGBM threads.
    name : str
        Task name, used in messages.
    """

    def __init__(
        self,
        *,
        objective: Objective = "binary",
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int = 6,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        early_stopping_rounds: int = 20,
        max_bin: int = 63,
        random_state: int = 7,
        n_jobs: int = 2,
        name: str = "task",
    ) -> None:
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.early_stopping_rounds = early_stopping_rounds
        self.max_bin = max_bin
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.name = name

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1 if self.subsample < 1.0 else 0,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "reg_alpha": self.reg_alpha,
            "max_bin": self.max_bin,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
            "objective": self.objective,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(
        self,
        X: NDArray[np.floating],
        y: NDArray[np.floating],
        *,
        group: NDArray[np.integer] | None = None,
        eval_set: tuple[NDArray[np.floating], NDArray[np.floating]] | None = None,
        eval_group: NDArray[np.integer] | None = None,
        feature_names: list[str] | None = None,
        categorical_features: list[int] | None = None,
    ) -> Self:
        """Train the booster, early-stopping on ``eval_set`` if given.

        ``group`` / ``eval_group`` are the query sizes for lambdarank.
        """
        check_objective(self.objective, name=self.name)
        n_x, n_y = np.shape(X)[0] if np.ndim(X) else 0, np.shape(y)[0] if np.ndim(y) else 0
        if n_x != n_y:
            raise ValueError(f"task '{self.name}': X has shape {np.shape(X)} but y has {n_y} "
                             "rows; they must match")
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_all_finite="allow-nan",
                             y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        if self.objective == "lambdarank" and group is None:
            raise ValueError(f"task '{self.name}': lambdarank needs group sizes; pass group=")
        names = feature_names or [f"f{j}" for j in range(X.shape[1])]
        est = _ESTIMATORS[self.objective](**self._lgb_params())
        kw: dict[str, Any] = {
            "feature_name": names,
            "categorical_feature": categorical_features or "auto",
        }
        if self.objective == "lambdarank":
            kw["group"] = group
            kw["eval_at"] = [10]
        if self.objective == "binary":
            y = y.astype(np.int64)
        train_curve: dict[str, list[float]] = {}
        callbacks = [_train_loss_recorder(train_curve)]
        if eval_set is not None and len(eval_set[1]) > 0:
            Xv = np.asarray(eval_set[0], dtype=np.float32)
            yv = np.asarray(eval_set[1], dtype=np.float64)
            if self.objective == "binary":
                yv = yv.astype(np.int64)
            kw["eval_X"] = (Xv,)
            kw["eval_y"] = (yv,)
            kw["eval_names"] = ["validation"]
            if self.objective == "lambdarank":
                kw["eval_group"] = [eval_group]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        est.fit(X, y, callbacks=callbacks, **kw)
        self.booster_: lgb.Booster = est.booster_
        self.feature_names_: list[str] = list(names)
        self.n_features_in_: int = X.shape[1]
        self.best_iteration_: int = int(est.best_iteration_ or est.booster_.num_trees())
        self.evals_result_: dict[str, dict[str, list[float]]] = {
            "train": train_curve, **{name: {m: [float(v) for v in vals]
                                            for m, vals in metrics.items()}
                                     for name, metrics in est.evals_result_.items()}}
        """Per data set (``train``, ``validation``) and metric, the value at each iteration
        (the learning curves)."""
        log.info("task %s: %d trees", self.name, self.best_iteration_)
        return self

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check(self) -> lgb.Booster:
        booster = getattr(self, "booster_", None)
        if booster is None:
            raise TaskModelNotFittedError(
                f"TaskModel '{self.name}' is not fitted; call fit() first")
        return booster

    def predict(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """Raw margins of ``X`` (LightGBM's raw scores, computed by :class:`~recsys._forest.Forest`)."""
        booster = self._check()
        X = validate_data(self, X, reset=False, dtype=np.float32, ensure_all_finite="allow-nan")
        return _forest(booster, self.best_iteration_).predict(X)

    def contributions(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """TreeSHAP values in margin space; the last column is the expected value."""
        booster = self._check()
        X = np.asarray(X, dtype=np.float32)
        return np.asarray(booster.predict(X, pred_contrib=True,
                                          num_iteration=self.best_iteration_), dtype=np.float64)

    def to_text(self) -> str:
        """LightGBM's text model format (never pickle)."""
        return str(self._check().model_to_string(num_iteration=self.best_iteration_))

    @classmethod
    def from_text(cls, text: str, *, objective: Objective, name: str) -> TaskModel:
        """Rebuild a fitted model from :meth:`to_text` output."""
        model = cls(objective=objective, name=name)
        booster = lgb.Booster(model_str=text)
        model.booster_ = booster
        model.feature_names_ = list(booster.feature_name())
        model.n_features_in_ = booster.num_feature()
        model.best_iteration_ = booster.current_iteration()
        return model
