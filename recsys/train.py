"""Train a project: dataset → features → candidates → one model per task → scores."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.blend import TRANSFORM_KINDS, fit_transform
from recsys.candidates import (
    SEEN,
    CandidateSet,
    candidate_recall,
    exclusion_label,
    generate_candidates,
)
from recsys.config import ProjectConfig
from recsys.data import Dataset, load_dataset
from recsys.engine import DaskEngine, open_engine, score_block
from recsys.features import BuiltFeatures, FeatureStore, build_features
from recsys.health import FitSummary, LearningCurve, PriorTotals, assess_models
from recsys.metrics import binary_metrics, ranking_metrics, regression_metrics
from recsys.models import TaskModel, group_sizes
from recsys.projectlog import FlagSet
from recsys.scoring import ScoreTable, TestExposures
from recsys.tasks import TaskSpec, natural_prediction, task_score, task_specs

__all__ = ["Progress", "TaskRows", "TrainedProject", "fit_task_model", "fit_task_models",
           "model_params", "task_rows", "train"]

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""Called with a stage description and the overall fraction done (0..1)."""


_SCORE_CHUNK = 200_000


@dataclass(frozen=True, slots=True)
class TrainedProject:
    """Everything training produces, before it is written to disk."""

    dataset: Dataset
    features: BuiltFeatures
    candidates: CandidateSet
    models: dict[str, TaskModel]
    scores: ScoreTable
    metrics: dict[str, Any]
    test_rows: NDArray[np.int64]
    """Row numbers (in ``dataset.interactions``) of the test exposures, in score order."""


def model_params(cfg: ProjectConfig, task: TaskSpec) -> dict[str, Any]:
    """Return the task's LightGBM settings as :class:`TaskModel` keywords.

    ``[model]`` with the task's own ``[task.model]`` on top, unset ones left to the
    model's defaults.
    """
    own = next(t.model for t in cfg.tasks if t.name == task.name)
    params = cfg.model.merged(own)
    params.pop("objective", None)  # the task's loss: TaskSpec.objective
    if "seed" in params:
        params["random_state"] = params.pop("seed")
    return params


def _task_windows(task: TaskSpec, cfg: ProjectConfig, ds: Dataset, train: NDArray[np.bool_],
                  val: NDArray[np.bool_]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Restrict the training and validation rows to one task's scope.

    A conditional task keeps its parent's positives only; other tasks keep every row.
    """
    if task.given is None:
        return train, val
    parent = next(t for t in cfg.tasks if t.name == task.given)
    scope = ds.interactions[parent.label].to_numpy() > 0
    return train & scope, val & scope


@dataclass(frozen=True, slots=True)
class TaskRows:
    """The rows one task's model is fitted on (row numbers in ``dataset.interactions``)."""

    train: NDArray[np.int64]
    """Labelled training rows after the history period (a conditional task: its parent's
    positives only), in fitting order."""
    validation: NDArray[np.int64]
    """Validation rows the model early-stops on, in fitting order."""
    group_train: NDArray[np.int64] | None = None
    """Query sizes of a rank task's training rows (one query per user and day); else None."""
    group_validation: NDArray[np.int64] | None = None
    """Query sizes of a rank task's validation rows; else None."""


def task_rows(ds: Dataset, built: BuiltFeatures, task: TaskSpec) -> TaskRows:
    """Select the training and validation rows of ``task``, as :func:`fit_task_model` uses them."""
    train, val = _task_windows(task, ds.config, ds, *_fit_windows(ds, built))
    tr, va = np.flatnonzero(train), np.flatnonzero(val)
    if task.kind != "rank":
        return TaskRows(train=tr, validation=va)
    inter = ds.interactions
    day = inter["timestamp"].dt.floor("D").to_numpy().astype(np.int64)
    user = inter["user_id"].to_numpy()
    def grouped(idx: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        order = np.lexsort((day[idx], user[idx]))
        idx = idx[order]
        codes = pd.factorize(pd.Series(user[idx]).astype(str) + "|" + day[idx].astype(str))[0]
        return idx, group_sizes(codes)
    tr, g_tr = grouped(tr)
    va, g_va = grouped(va)
    return TaskRows(train=tr, validation=va, group_train=g_tr, group_validation=g_va)


def fit_task_model(task: TaskSpec, ds: Dataset, built: BuiltFeatures, rows: TaskRows,
                   params: dict[str, Any] | None = None, *,
                   negatives: NDArray[np.float32] | None = None,
                   engine: DaskEngine | None = None) -> TaskModel:
    """Fit one task's model on ``rows``, early-stopped on their validation rows.

    ``params`` are :class:`TaskModel` keywords; default: the config's
    (:func:`model_params`). With an ``engine``, the model is fitted on its Dask workers
    (:meth:`recsys.engine.DaskEngine.fit`).
    """
    y_all = ds.interactions[task.label].to_numpy(dtype=np.float64)
    X = built.rows.X
    tr, va = rows.train, rows.validation
    kw = model_params(ds.config, task) if params is None else params
    model = TaskModel(objective=task.objective, name=task.name, **kw)
    X_fit, y_fit = X[tr], y_all[tr]
    if negatives is not None and negatives.shape[0]:  # [feedback] negatives_for
        X_fit = np.vstack([X_fit, negatives])
        y_fit = np.concatenate([y_fit, np.zeros(negatives.shape[0])])
    how: dict[str, Any] = dict(group=rows.group_train,
                               eval_set=(X[va], y_all[va]) if va.size else None,
                               eval_group=rows.group_validation,
                               feature_names=built.rows.names(),
                               categorical_features=built.rows.categorical_indices())
    return model.fit(X_fit, y_fit, **how) if engine is None \
        else engine.fit(model, X_fit, y_fit, **how)


def _fit_windows(ds: Dataset, built: BuiltFeatures) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Labelled training rows (after the history-only period) and validation rows."""
    win = ds.interactions["window"].to_numpy()
    ts = ds.interactions["timestamp"].to_numpy()
    return (win == "train") & (ts >= built.history_end.to_datetime64()), win == "validation"


def _fit_summaries(ds: Dataset, built: BuiltFeatures, tasks: tuple[TaskSpec, ...],
                   models: dict[str, TaskModel]) -> dict[str, FitSummary]:
    """Trees, window rows and learning curve of every task's model."""
    train, val = _fit_windows(ds, built)
    out = {}
    for t in tasks:
        tr, va = _task_windows(t, ds.config, ds, train, val)
        m = models[t.name]
        out[t.name] = FitSummary(
            trees=m.best_iteration_, rows={"train": int(tr.sum()), "validation": int(va.sum())},
            curve=LearningCurve.from_evals(t.name, getattr(m, "evals_result_", {}),
                                           m.best_iteration_))
    return out


def fit_task_models(ds: Dataset, built: BuiltFeatures, tasks: tuple[TaskSpec, ...],
                    progress: Progress, start: float, span: float, *,
                    negatives: NDArray[np.float32] | None = None,
                    engine: DaskEngine | None = None) -> dict[str, TaskModel]:
    """Fit one LightGBM model per task, early-stopped on the validation window.

    ``negatives`` are extra label-0 feature rows for the task ``[feedback] negatives_for``
    names (the analysts' flagged pairs), appended to its training rows only. ``engine``:
    fit on its Dask workers instead of in this process.
    """
    models: dict[str, TaskModel] = {}
    target = ds.config.feedback.negatives_for
    for k, task in enumerate(tasks):
        progress(f"training model '{task.name}' ({task.kind})", start + span * k / len(tasks))
        models[task.name] = fit_task_model(task, ds, built, task_rows(ds, built, task),
                                           negatives=negatives if task.name == target else None,
                                           engine=engine)
    return models


def feedback_negatives(flags: FlagSet | None, store: FeatureStore) -> NDArray[np.float32]:
    """Return the feature rows of the pairs flagged bad or irrelevant for one user.

    Features are as of the test cutoff, rows in sorted pair order; ids the dataset no
    longer has are skipped.
    """
    n_f = len(store.specs)
    if flags is None or not len(flags):
        return np.zeros((0, n_f), np.float32)
    pairs = sorted(flags.excluded_pairs())
    u = store.user_codes([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
    i = store.item_codes([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
    ok = (u >= 0) & (i >= 0)
    return store.features_for(u[ok], i[ok]).X if ok.any() else np.zeros((0, n_f), np.float32)


def _score_candidates(store: FeatureStore, cands: CandidateSet, models: dict[str, TaskModel],
                      names: tuple[str, ...], engine: DaskEngine | None = None
                      ) -> NDArray[np.float32]:
    if engine is not None:
        return engine.score_candidates(store, cands.items, models, names, chunk=_SCORE_CHUNK)
    out = np.full((len(names),) + cands.items.shape, np.nan, dtype=np.float32)
    # a block of users at a time (about _SCORE_CHUNK pairs): no copy of all pairs is held
    step = max(1, _SCORE_CHUNK // max(1, cands.items.shape[1]))
    for a in range(0, cands.items.shape[0], step):
        out[:, a:a + step] = score_block(store, cands.items[a:a + step], a, models, names)
    return out


def _test_exposures(ds: Dataset, store: FeatureStore, tasks: tuple[TaskSpec, ...],
                    margins: NDArray[np.float32], rows: NDArray[np.int64]) -> TestExposures:
    inter = ds.interactions.iloc[rows]
    users = store.user_codes(inter["user_id"].to_numpy())
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if users.size else users
    return TestExposures(
        users=users.astype(np.int64),
        items=store.item_codes(inter["item_id"].to_numpy()).astype(np.int64),
        timestamps=inter["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64),
        offsets=np.r_[starts, users.size].astype(np.int64),
        labels=np.stack([inter[t.label].to_numpy(dtype=np.float64) for t in tasks]),
        margins=margins,
    )


def _task_metrics(tasks: tuple[TaskSpec, ...], test: TestExposures,
                  margins: dict[str, NDArray[np.float32]], cutoff: int
                  ) -> dict[str, dict[str, float]]:
    """Compute the plain per-task model metrics (``metrics["tasks"]``).

    The same metrics with intervals and baselines are in ``metrics["health"]``.
    """
    out: dict[str, dict[str, float]] = {}
    for k, t in enumerate(tasks):
        y = test.labels[k]
        if t.kind == "binary":
            space = binary_metrics(y, natural_prediction(t, task_score(t, margins)))
            out[t.name] = {"auc": space.auc, "log_loss": space.log_loss}
            if t.given is not None:
                p = test.labels[[x.name for x in tasks].index(t.given)] > 0
                own = binary_metrics(y[p], 1 / (1 + np.exp(-margins[t.name][p].astype(float))))
                out[t.name]["auc_given_parent"] = own.auc
            out[t.name]["positive_rate"] = space.positive_rate
        elif t.kind == "regression":
            r = regression_metrics(y, natural_prediction(t, task_score(t, margins)))
            out[t.name] = {"rmse": r.rmse, "mae": r.mae, "mean": float(np.mean(y))}
        else:
            r2 = ranking_metrics(test.offsets, margins[t.name], y, cutoff)
            out[t.name] = {f"ndcg@{cutoff}": r2.ndcg, "gauc": r2.gauc}
    return out


def _exclusion_keys(ds: Dataset, store: FeatureStore) -> NDArray[np.int64]:
    label = exclusion_label(ds.config.candidates.exclude, ds.config.tasks)
    if label is None:
        return np.zeros(0, dtype=np.int64)
    inter = ds.interactions
    pre = (inter["window"] != "test").to_numpy().copy()
    if label != SEEN:
        pre &= inter[label].to_numpy() > 0
    u = store.user_codes(inter["user_id"].to_numpy()[pre])
    i = store.item_codes(inter["item_id"].to_numpy()[pre])
    return np.unique(u * len(store.item_ids) + i)


def _noop(stage: str, fraction: float) -> None:
    log.info("%3.0f%% %s", 100 * fraction, stage)


def _flag_exclusions(flags: FlagSet | None, store: FeatureStore
                     ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the pair keys and item codes the analysts flagged bad or irrelevant.

    Ids the dataset no longer has are ignored.
    """
    if flags is None or not len(flags):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = sorted(flags.excluded_pairs())
    u = store.user_codes([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
    i = store.item_codes([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
    ok = (u >= 0) & (i >= 0)
    items = store.item_codes(sorted(flags.excluded_items())) if flags.excluded_items() \
        else np.zeros(0, np.int64)
    return (np.unique(u[ok] * len(store.item_ids) + i[ok]).astype(np.int64),
            np.unique(items[items >= 0]).astype(np.int64))


def train(config_path: str | Path, *, progress: Progress | None = None,
          flags: FlagSet | None = None) -> TrainedProject:
    """Run the whole pipeline in memory (see :func:`recsys.artifacts.save_project`).

    ``flags`` (the analysts' feedback, :meth:`recsys.projectlog.ProjectLog.flags`): pairs
    and items flagged bad or irrelevant are never candidates.
    """
    say = progress or _noop
    say("loading and validating the dataset", 0.0)
    ds = load_dataset(config_path)
    tasks = task_specs(ds.config)
    say("building shared features", 0.05)
    built = build_features(ds)
    store = built.store
    say("generating candidates", 0.15)
    flagged_pairs, flagged_items = _flag_exclusions(flags, store)
    cands = generate_candidates(store, per_user=ds.config.candidates.per_user,
                                sources=tuple(ds.config.candidates.sources),
                                exclude=np.union1d(_exclusion_keys(ds, store), flagged_pairs),
                                exclude_items=flagged_items)
    negatives = feedback_negatives(flags, store) if ds.config.feedback.negatives_for else None
    names = tuple(t.name for t in tasks)
    if ds.config.engine.kind == "dask":
        say("starting the Dask engine", 0.2)
    with open_engine(ds.config.engine) as engine:  # None: this process ([engine] kind)
        models = fit_task_models(ds, built, tasks, say, 0.2, 0.55, negatives=negatives,
                                 engine=engine)
        say("scoring candidates", 0.75)
        cand_margins = _score_candidates(store, cands, models, names, engine)
    inter = ds.interactions
    test_mask = (inter["window"] == "test").to_numpy()
    rows = np.flatnonzero(test_mask)
    ucode = store.user_codes(inter["user_id"].to_numpy()[rows])
    rows = rows[np.lexsort((rows, ucode))]
    X_test = built.rows.X[rows]
    test_m = np.stack([models[n].predict(X_test) for n in names]).astype(np.float32)
    test = _test_exposures(ds, store, tasks, test_m, rows)
    say("fitting score transforms", 0.9)
    win = inter["window"].to_numpy()
    fit_rows = np.flatnonzero((win == "train")
                              & (inter["timestamp"] >= built.history_end).to_numpy())
    fit_rows = fit_rows[:: max(1, fit_rows.size // 200_000)]
    X_fit = built.rows.X[fit_rows]
    fit_m = {n: models[n].predict(X_fit) for n in names}
    transforms = {t.name: {k: fit_transform(k, task_score(t, fit_m)) for k in TRANSFORM_KINDS}
                  for t in tasks}
    scores = ScoreTable(tasks=tasks, models=names, cand_items=cands.items,
                        cand_margins=cand_margins, test=test, transforms=transforms)
    say("evaluating", 0.95)
    test_margins = {n: test_m[k] for k, n in enumerate(names)}
    primary = store.layout.primary
    pos = test_mask & ((inter[store.layout.labels[primary]].to_numpy() > 0)
                       if primary >= 0 else True)
    recall = candidate_recall(cands, store.user_codes(inter["user_id"].to_numpy()[pos]),
                              store.item_codes(inter["item_id"].to_numpy()[pos]),
                              len(store.item_ids))
    say("checking model health: baselines, confidence intervals, warnings", 0.97)
    health = assess_models(tasks, test, PriorTotals.from_store(store), ds.config.blend.k,
                           _fit_summaries(ds, built, tasks, models))
    metrics = {"tasks": _task_metrics(tasks, test, test_margins, ds.config.blend.k),
               "candidate_recall": recall,
               "trees": {n: models[n].best_iteration_ for n in names},
               "feedback": {"negatives_for": ds.config.feedback.negatives_for,
                            "negatives": 0 if negatives is None else int(negatives.shape[0])},
               "health": health.to_dict()}
    if engine is not None:
        metrics["engine"] = engine.info.to_dict()
    return TrainedProject(dataset=ds, features=built, candidates=cands, models=models,
                          scores=scores, metrics=metrics, test_rows=rows)
