"""Run training and candidate scoring on a Dask cluster (``[engine] kind = "dask"``).

:func:`open_engine` opens the cluster once per :func:`recsys.train.train` run and yields
a :class:`DaskEngine` (or None for ``kind = "local"``, the in-process path). The engine

- fits each task's model with ``lightgbm.dask`` (:meth:`DaskEngine.fit`): data-parallel
  LightGBM, one partition of the training rows per worker, and keeps the fitted booster
  as an ordinary :class:`recsys.models.TaskModel`, so saving, loading and SHAP are the
  same as for a model fitted in process;
- scores the candidate pairs (:meth:`DaskEngine.score_candidates`) in blocks of users
  with ``dask.array.map_blocks``; every block builds its feature rows with
  ``FeatureStore.features_for`` and predicts every model (:func:`score_block`, which the
  in-process path runs too). The store, the models and the candidate table are sent to
  every worker once (``client.scatter(..., broadcast=True)``).

Everything else (loading, features, candidates, test scoring, transforms, evaluation)
runs in the calling process.

Early stopping: ``lightgbm.dask`` (4.7) has no early stopping; the callback run on every
worker can stop workers at different rounds and hang the job (LightGBM issues #3712,
#6351). So the engine grows the configured ``n_estimators`` trees, records the validation
loss of every round on the whole validation window (each worker holds a copy of it and
LightGBM's curve comes from the first worker), then applies the callback's own rule
(the best round, unless no round improves on it within ``early_stopping_rounds``) to that
curve and keeps the model up to the chosen round. The kept number of trees is what the
in-process early stopping would pick on the same curve; the cost is growing up to
``n_estimators`` trees instead of stopping ``early_stopping_rounds`` after the best.

Results are close to, not equal to, the in-process run: data-parallel LightGBM sums
histograms across workers, but each worker builds the bin boundaries of its share of
the features from its own rows and bags its own rows, so splits differ slightly.

Worker processes are started with the ``spawn`` method: numba and LightGBM use GNU
OpenMP, which is unsafe in a child forked from a process that has used it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
from numpy.typing import NDArray

from recsys.config import EngineConfig
from recsys.errors import SchemaError
from recsys.features import FeatureStore
from recsys.models import TaskModel, check_objective

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskEngine", "EngineInfo", "early_stopping_round", "open_engine", "score_block"]

log = logging.getLogger(__name__)

_CURVE_SAMPLE = 100_000
"""At most this many training rows (whole queries for a ranker) measure the training curve."""


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """The cluster a project was trained on (``metrics["engine"]``)."""

    workers: int
    """Worker processes when the engine opened."""
    threads_per_worker: int
    """Threads of the first worker (LightGBM's ``num_threads`` there)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the manifest's ``metrics.engine``)."""
        return {"kind": "dask", "workers": self.workers,
                "threads_per_worker": self.threads_per_worker}


def score_block(store: FeatureStore, items: NDArray[np.integer], first_user: int,
                models: Mapping[str, TaskModel], names: tuple[str, ...]) -> NDArray[np.float32]:
    """Margins of a block of users' candidate pairs, per model.

    Parameters
    ----------
    store : FeatureStore
        Serves the pairs' features as of the test cutoff.
    items : ndarray of int, shape (n_users, per_user)
        The block's rows of the candidate table (item codes; -1: an empty slot).
    first_user : int
        User code of the block's first row.
    models : mapping of str to TaskModel
        The fitted models.
    names : tuple of str
        Models to predict, in output order.

    Returns
    -------
    ndarray of float32, shape (len(names), n_users, per_user)
        Raw margins; NaN in empty slots.
    """
    out = np.full((len(names),) + items.shape, np.nan, dtype=np.float32)
    r, c = np.nonzero(items >= 0)
    if r.size:
        X = store.features_for(r + first_user, items[r, c]).X
        for k, name in enumerate(names):
            out[k, r, c] = models[name].predict(X)
    return out


def early_stopping_round(curve: list[float], rounds: int, *, higher_is_better: bool
                         ) -> tuple[int, int]:
    """Apply ``lightgbm.early_stopping``'s rule to a recorded validation curve.

    Parameters
    ----------
    curve : list of float
        The validation metric after each boosting round.
    rounds : int
        ``early_stopping_rounds``: stop once this many rounds have not improved on the best.
    higher_is_better : bool
        True for ``ndcg``/``map``/``auc``, False for losses.

    Returns
    -------
    best : int
        The 1-based round early stopping keeps.
    stop : int
        The 1-based round training would have stopped after.
    """
    best, best_score = 0, None
    for i, score in enumerate(curve):
        if best_score is None or (score > best_score if higher_is_better else score < best_score):
            best, best_score = i, score
        elif i - best >= rounds:
            return best + 1, i + 1
    return best + 1, len(curve)


class DaskEngine:
    """An open Dask client that fits task models and scores candidates on its workers.

    Made by :func:`open_engine`; not usable after the ``with`` block ends.

    Parameters
    ----------
    client : distributed.Client
        The connected client (not set as Dask's default scheduler).
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        workers = client.scheduler_info()["workers"]
        self.info = EngineInfo(workers=len(workers),
                               threads_per_worker=int(next(iter(workers.values()))["nthreads"]))

    def worker_addresses(self) -> list[str]:
        """Addresses of the connected workers, sorted."""
        return sorted(self._client.scheduler_info()["workers"])

    def fit(self, model: TaskModel, X: NDArray[np.floating], y: NDArray[np.floating], *,
            group: NDArray[np.integer] | None = None,
            eval_set: tuple[NDArray[np.floating], NDArray[np.floating]] | None = None,
            eval_group: NDArray[np.integer] | None = None,
            feature_names: list[str] | None = None,
            categorical_features: list[int] | None = None) -> TaskModel:
        """Fit ``model`` (unfitted, its settings as given) on the cluster; return it fitted.

        Takes :meth:`TaskModel.fit`'s arguments. The training rows are dealt out to the
        workers (whole queries for a ranker); the validation rows in ``eval_set``, and a
        sample of at most 100,000 training rows for the training curve, go whole to every
        worker. ``n_estimators`` trees are grown and the model is cut at the round
        early stopping would keep (:func:`early_stopping_round`).
        """
        objective = check_objective(model.objective, name=model.name)
        X = np.ascontiguousarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ValueError(f"task '{model.name}': X has shape {X.shape} but y has "
                             f"{y.shape[0]} rows; they must match")
        if objective == "lambdarank" and group is None:
            raise ValueError(f"task '{model.name}': lambdarank needs group sizes; pass group=")
        names = feature_names or [f"f{j}" for j in range(X.shape[1])]
        label = np.int64 if objective == "binary" else np.float64
        y = y.astype(label)
        sample = _curve_sample(y.shape[0], group)
        evals = [_Rows(X[sample.rows], y[sample.rows], sample.group)]
        if eval_set is not None and len(eval_set[1]) > 0:
            evals.append(_Rows(np.asarray(eval_set[0], dtype=np.float32),
                               np.asarray(eval_set[1], dtype=np.float64).astype(label),
                               eval_group))
        est = self._fit_dask(model, _Rows(X, y, group), evals,
                             feature_name=names, categorical_feature=categorical_features or "auto")
        curves = {name: {m: [float(v) for v in vals] for m, vals in metrics.items()}
                  for name, metrics in est.evals_result_.items()}
        grown = est.booster_.current_iteration()
        best, stop = grown, grown
        valid = curves.get("validation", {})
        if valid:  # one metric: the objective's own (ndcg@10 for a ranker)
            metric = next(iter(valid))
            best, stop = early_stopping_round(
                valid[metric], model.early_stopping_rounds,
                higher_is_better=metric.startswith(("ndcg", "map", "auc")))
        booster = lgb.Booster(model_str=est.booster_.model_to_string(num_iteration=best))
        model.booster_ = booster
        model.feature_names_ = list(names)
        model.n_features_in_ = X.shape[1]
        model.best_iteration_ = best
        model.evals_result_ = {name: {m: v[:stop] for m, v in metrics.items()}
                               for name, metrics in curves.items()}
        log.info("task %s: %d trees (of %d grown on %d workers)", model.name, best, grown,
                 self.info.workers)
        return model

    def _fit_dask(self, model: TaskModel, train: _Rows, evals: list[_Rows],
                  **fit_kw: Any) -> lgb.LGBMModel:
        """Send the rows to the workers and run ``lightgbm.dask``; return its estimator."""
        import lightgbm.dask as lgb_dask

        workers = self.worker_addresses()
        parts = train.deal(len(workers))
        params = model._lgb_params()
        params.pop("n_jobs")  # lightgbm.dask uses each worker's threads
        factory = {"binary": lgb_dask.DaskLGBMClassifier,
                   "lambdarank": lgb_dask.DaskLGBMRanker}.get(model.objective,
                                                               lgb_dask.DaskLGBMRegressor)
        est = factory(client=self._client, **params)
        X, y, g = self._arrays(parts, workers)
        # every worker gets a whole copy of each evaluation set: its curve is the full set's
        copies = [self._arrays([e] * len(workers), workers) for e in evals]
        kw: dict[str, Any] = dict(fit_kw, eval_X=tuple(c[0] for c in copies),
                                  eval_y=tuple(c[1] for c in copies),
                                  eval_names=["train", "validation"][:len(evals)])
        if model.objective == "lambdarank":
            kw.update(group=g, eval_group=[c[2] for c in copies], eval_at=[10])
        with self._client.as_current(), warnings.catch_warnings():
            # the Dask estimators' own n_jobs=None default trips this warning on every fit
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
            return est.fit(X, y, **kw)  # lightgbm.dask waits on the current client

    def _arrays(self, parts: list[_Rows], workers: list[str]) -> tuple[Any, Any, Any]:
        """Dask arrays (X, y, group sizes) of one chunk per part, part k on worker k."""
        import dask.array as da

        xs, ys, gs = [], [], []
        for part, worker in zip(parts, workers, strict=True):
            fx, fy = self._client.scatter([part.X, part.y], workers=[worker], hash=False)
            xs.append(da.from_delayed(fx, shape=part.X.shape, dtype=np.float32))
            ys.append(da.from_delayed(fy, shape=part.y.shape, dtype=part.y.dtype))
            if part.group is not None:
                fg = self._client.scatter(part.group, workers=[worker], hash=False)
                gs.append(da.from_delayed(fg, shape=part.group.shape, dtype=np.int64))
        return (da.concatenate(xs), da.concatenate(ys),
                da.concatenate(gs) if gs else None)

    def score_candidates(self, store: FeatureStore, items: NDArray[np.integer],
                         models: Mapping[str, TaskModel], names: tuple[str, ...], *,
                         chunk: int) -> NDArray[np.float32]:
        """Margins of every candidate pair, per model, scored on the workers.

        Blocks of users of about ``chunk`` pairs each; returns what
        ``recsys.train._score_candidates`` returns in process (the same numbers: every
        pair's features and prediction do not depend on the blocking).
        """
        import dask.array as da

        n_users = items.shape[0]
        if n_users == 0:
            return np.full((len(names),) + items.shape, np.nan, dtype=np.float32)
        step = max(1, chunk // max(1, items.shape[1]))
        store_f = self._client.scatter(store, broadcast=True)
        items_f = self._client.scatter(items, broadcast=True)
        models_f = self._client.scatter([dict(models)], broadcast=True)[0]
        users = da.arange(n_users, chunks=step)
        out = users.map_blocks(_score_users, store=store_f, items=items_f, models=models_f,
                               names=names, new_axis=[0, 2], dtype=np.float32,
                               chunks=((len(names),), users.chunks[0], (items.shape[1],)),
                               meta=np.empty((0, 0, 0), np.float32))
        result = self._client.compute(out, sync=True)
        self._client.cancel([store_f, items_f, models_f])
        return np.asarray(result, dtype=np.float32)


def _score_users(users: NDArray[np.int64], *, store: FeatureStore, items: NDArray[np.integer],
                 models: Mapping[str, TaskModel], names: tuple[str, ...]) -> NDArray[np.float32]:
    """One block of :meth:`DaskEngine.score_candidates` (a run of user codes), on a worker."""
    if users.size == 0:
        return np.zeros((len(names), 0, items.shape[1]), np.float32)
    first = int(users[0])
    return score_block(store, items[first:first + users.size], first, models, names)


@dataclass(frozen=True, slots=True)
class _Rows:
    """Rows of one fit: features, labels and (ranker) query sizes."""

    X: NDArray[np.float32]
    y: NDArray[Any]
    """Labels: int64 for a classifier, float64 otherwise."""
    group: NDArray[np.integer] | None = None

    def deal(self, n: int) -> list[_Rows]:
        """Split into ``n`` parts, rows (whole queries for a ranker) dealt out in turn."""
        if self.group is None:
            return [_Rows(self.X[k::n], self.y[k::n]) for k in range(n)]
        sizes = np.asarray(self.group, dtype=np.int64)
        owner = np.repeat(np.arange(sizes.size) % n, sizes)
        return [_Rows(self.X[owner == k], self.y[owner == k], sizes[k::n]) for k in range(n)]


@dataclass(frozen=True, slots=True)
class _Sample:
    rows: NDArray[np.int64]
    group: NDArray[np.int64] | None


def _curve_sample(n_rows: int, group: NDArray[np.integer] | None) -> _Sample:
    """Every k-th training row (whole queries for a ranker), at most ``_CURVE_SAMPLE`` rows."""
    step = max(1, -(-n_rows // _CURVE_SAMPLE))
    if group is None:
        return _Sample(np.arange(0, n_rows, step, dtype=np.int64), None)
    sizes = np.asarray(group, dtype=np.int64)
    keep = np.arange(sizes.size) % step == 0
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rows = np.concatenate([np.arange(s, s + z) for s, z in zip(starts[keep], sizes[keep],
                                                                  strict=True)]) \
        if keep.any() else np.zeros(0, np.int64)
    return _Sample(rows.astype(np.int64), sizes[keep])


@contextmanager
def open_engine(config: EngineConfig) -> Iterator[DaskEngine | None]:
    """Open the engine ``config`` describes for the duration of a ``with`` block.

    Yields None for ``kind = "local"`` (run in this process). For ``kind = "dask"``,
    starts a ``distributed.LocalCluster`` of worker processes (``scheduler = "local"``)
    or connects to a running scheduler (``scheduler = "tcp://host:port"``), and closes
    the client, and a cluster it started, on exit.

    Raises
    ------
    SchemaError
        If the scheduler cannot be reached or has no workers.
    """
    if config.kind == "local":
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    # numba and LightGBM use GNU OpenMP, unsafe after fork: workers are spawned
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        cluster = None
        if config.scheduler == "local":
            cluster = LocalCluster(n_workers=config.workers or 2,
                                   threads_per_worker=config.threads_per_worker,
                                   memory_limit=config.memory_limit or "auto",
                                   processes=True, dashboard_address=None)
            address: Any = cluster
        else:
            address = config.scheduler
        try:
            client = Client(address, set_as_default=False, timeout="30s")
        except (OSError, TimeoutError) as err:
            if cluster is not None:
                cluster.close()
            raise SchemaError(f"engine.scheduler: cannot reach the Dask scheduler at "
                              f"{config.scheduler!r} ({err}); start it (`dask scheduler`) "
                              "or fix the address") from None
        try:
            if not client.scheduler_info()["workers"]:
                raise SchemaError(f"engine.scheduler: the Dask scheduler at "
                                  f"{config.scheduler!r} has no workers; start some "
                                  "(`dask worker <address>`)")
            engine = DaskEngine(client)
            log.info("dask engine: %d workers, %d threads each", engine.info.workers,
                     engine.info.threads_per_worker)
            yield engine
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

