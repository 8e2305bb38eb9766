"""``Project``: a trained project loaded from disk, ready to recommend, evaluate and sweep.

>>> from recsys import Project
>>> p = Project.load("artifacts/demo")                       # doctest: +SKIP
>>> p.recommend("u00042", weights={"purchase": 2.0}, k=10)   # doctest: +SKIP

Callers use this typed surface (ids, score tables, feature rows of any (user, item)
pair, predictions and attributions of any feature matrix) and never reach into the
loaded artifacts. Every blend request resolves into one :class:`recsys.blend.BlendSpec`
(:meth:`Project.spec`).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.artifacts import LoadedArtifacts, load_artifacts
from recsys.blend import BlendSpec, BlendWeights, Transform, TransformKind
from recsys.errors import BlendError, SchemaError
from recsys.evaluate import EvalContext, Evaluation, Sweep, evaluate_blend, sweep_weights
from recsys.features import FeatureFrame, FeatureSpec, FeatureStore
from recsys.health import ModelHealth, model_health
from recsys.projectlog import ProjectLog
from recsys.standing import ItemStanding, item_standing
from recsys.tasks import TaskSpec, natural_prediction, task_score

__all__ = ["Project", "RankedItem", "RankedList", "RowScores", "WeightsLike"]

WeightsLike = BlendWeights | Mapping[str, float] | None
_SMALL_BATCH = 256
"""Below this many rows one LightGBM thread is faster than a team (no thread wake-up)."""


@dataclass(frozen=True, slots=True)
class RankedItem:
    """One recommended item."""

    rank: int
    item_id: str
    title: str
    score: float
    """Blended score the ranking used."""
    tasks: Mapping[str, float]
    """Each task's transformed score g_t(s_t) (before weighting)."""
    predictions: Mapping[str, float]
    """Each task's prediction in its natural unit: probability for binary tasks (entire
    space for conditional ones), predicted value for regression, score for rank."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rank": self.rank, "item_id": self.item_id, "title": self.title,
                "score": self.score, "tasks": dict(self.tasks),
                "predictions": dict(self.predictions)}


@dataclass(frozen=True, slots=True)
class RankedList:
    """A user's top-K list at given weights."""

    user_id: str
    weights: BlendWeights
    transform: str
    items: tuple[RankedItem, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per item: rank, item_id, title, score, then a column per task score."""
        rows = []
        for it in self.items:
            row = {"rank": it.rank, "item_id": it.item_id, "title": it.title, "score": it.score}
            row.update({f"{t}": v for t, v in it.tasks.items()})
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True)
class RowScores:
    """Every task's score of some feature rows, and the blend (:meth:`Project.score_rows`)."""

    spec: BlendSpec
    margins: NDArray[np.float64]
    """(n_models, n) model margins."""
    raw: NDArray[np.float64]
    """(n_tasks, n) raw task scores s_t."""
    transformed: NDArray[np.float64]
    """(n_tasks, n) g_t(s_t) under ``spec.transform``."""
    prediction: NDArray[np.float64]
    """(n_tasks, n) natural-unit predictions."""
    blended: NDArray[np.float64]
    """(n,) the blended score at ``spec``."""


class Project:
    """A trained project: tasks, models, feature store and score tables.

    Use :meth:`load`; the constructor takes already-loaded artifacts.
    """

    def __init__(self, artifacts: LoadedArtifacts) -> None:
        """Wrap verified artifacts (prefer :meth:`load`)."""
        self.artifacts = artifacts
        sc = artifacts.scores
        self.tasks: tuple[TaskSpec, ...] = sc.tasks
        # transformed score tables of every user, built on first use per (transform,
        # candidates|test); one user's rows are computed alone until then
        self._tables: dict[tuple[str, bool], NDArray[np.float32]] = {}
        self._tables_lock = threading.Lock()
        self._sweeps: dict[tuple[str, int, int], Sweep] = {}
        self._eval_context: EvalContext | None = None
        self._boot_context: EvalContext | None = None
        items = artifacts.items
        title_col = artifacts.manifest["dataset"].get("item_title")
        ids = items["item_id"].astype(str).to_numpy()
        titles = items[title_col].astype(str).to_numpy() if title_col in items else ids
        order = artifacts.store.item_ids.get_indexer(ids)
        self._titles = np.empty(len(ids), dtype=object)
        self._titles[order] = titles

    @property
    def eval_context(self) -> EvalContext:
        """What evaluation needs besides the scores (built on first use, then shared).

        Its user resamples are not drawn (see :meth:`evaluate` with ``intervals``).
        """
        with self._tables_lock:
            if self._eval_context is None:
                a = self.artifacts
                self._eval_context = EvalContext.build(self.tasks, a.scores.test, a.store,
                                                       a.manifest["metrics"], bootstrap=False)
            return self._eval_context

    def _interval_context(self) -> EvalContext:
        ctx = self.eval_context
        with self._tables_lock:
            if self._boot_context is None:
                self._boot_context = ctx.with_bootstrap()  # drawn once, seeded
            return self._boot_context

    @classmethod
    def load(cls, path: str | Path) -> Project:
        """Load and verify a project saved by ``recsys train``."""
        return cls(load_artifacts(path))

    # -- basics -------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """Artifacts directory."""
        return self.artifacts.root

    @property
    def manifest(self) -> dict[str, Any]:
        """The parsed manifest.json."""
        return self.artifacts.manifest

    def task_names(self) -> list[str]:
        """Task names in config order."""
        return [t.name for t in self.tasks]

    def task(self, name: str) -> TaskSpec:
        """Return the spec of one task."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise BlendError(f"unknown task '{name}'; tasks are {', '.join(self.task_names())}")

    def spec(self, weights: WeightsLike | BlendSpec = None, *, transform: str | None = None,
             k: int | None = None) -> BlendSpec:
        """Resolve a blend request into a :class:`BlendSpec`.

        The config's weights are overridden by ``weights`` (partial is fine), and the
        config's transform and K apply unless given. A :class:`BlendSpec` passes through (with ``transform`` / ``k`` applied). Raises
        :class:`BlendError` for an unknown task, a bad weight, transform or K.
        """
        if isinstance(weights, BlendSpec):
            return weights.replace(transform=transform, k=k)
        blend = self.manifest["config"]["blend"]
        return BlendSpec.resolve(self.task_names(), [t.sign for t in self.tasks],
                                 {t.name: t.weight for t in self.tasks}, weights,
                                 transform=transform or blend["transform"],
                                 k=int(blend["k"]) if k is None else k)

    def user_ids(self) -> pd.Index:
        """Every user id."""
        return self.artifacts.store.user_ids

    def item_ids(self) -> pd.Index:
        """Every item id (position = item code)."""
        return self.artifacts.store.item_ids

    def user_code(self, user_id: object) -> int:
        """Row code of a user id, or :class:`SchemaError` with a hint."""
        code = int(self.artifacts.store.user_codes([str(user_id)])[0])
        if code < 0:
            some = ", ".join(self.user_ids()[:3])
            raise SchemaError(f"unknown user '{user_id}'; user ids look like {some}")
        return code

    def item_code(self, item_id: object) -> int:
        """Row code of an item id, or :class:`SchemaError`."""
        code = int(self.artifacts.store.item_codes([str(item_id)])[0])
        if code < 0:
            some = ", ".join(self.artifacts.store.item_ids[:3])
            raise SchemaError(f"unknown item '{item_id}'; item ids look like {some}")
        return code

    def title(self, item_code: int) -> str:
        """Display title of an item code."""
        return str(self._titles[item_code])

    def item_category(self) -> str | None:
        """Return the items table's category column (``data.item_category``), if any."""
        return self.manifest["dataset"].get("item_category")

    def user_table(self) -> pd.DataFrame:
        """Return the users table the project was trained on (``user_id`` and attributes)."""
        return self.artifacts.users

    def item_table(self) -> pd.DataFrame:
        """Return the items table the project was trained on (``item_id``, title, attributes)."""
        return self.artifacts.items

    @property
    def feature_specs(self) -> tuple[FeatureSpec, ...]:
        """The model inputs, in column order."""
        return self.artifacts.store.specs

    @property
    def model_names(self) -> tuple[str, ...]:
        """The trained models, in the order of :meth:`margins`' rows."""
        return self.artifacts.scores.models

    def candidates(self) -> NDArray[np.int32]:
        """(n_users, n_cand) candidate item codes, -1 in empty slots (read-only)."""
        out = self.artifacts.scores.cand_items.view()
        out.flags.writeable = False
        return out

    def candidate_sources(self) -> NDArray[np.int8]:
        """(n_users, n_cand) code of the source that proposed each candidate (read-only).

        The codes index the sources listed in ``manifest["candidates"]``.
        """
        out = self.artifacts.cand_source.view()
        out.flags.writeable = False
        return out

    # -- scoring ------------------------------------------------------------------------
    def _table(self, kind: TransformKind, test: bool) -> NDArray[np.float32]:
        with self._tables_lock:
            table = self._tables.get((kind, test))
            if table is None:
                table = self.artifacts.scores.transformed(kind, test=test)
                table.flags.writeable = False
                self._tables[(kind, test)] = table
            return table

    def _user_table(self, kind: TransformKind, u: int) -> NDArray[np.float32]:
        """(n_tasks, 1, n_cand) one user's transformed scores, without the whole table."""
        table = self._tables.get((kind, False))
        if table is not None:
            return table[:, u : u + 1, :]
        return self.artifacts.scores.transformed(kind, users=slice(u, u + 1))

    def transformed_table(self, transform: str | None = None) -> NDArray[np.float32]:
        """(n_tasks, n_users, n_cand) transformed task scores of every candidate (read-only)."""
        return self._table(self.spec(transform=transform).transform, False)

    def test_table(self, transform: str | None = None) -> NDArray[np.float32]:
        """(n_tasks, n_test) transformed task scores of the test exposures (read-only)."""
        return self._table(self.spec(transform=transform).transform, True)

    def transform(self, task: str, kind: str | None = None) -> Transform:
        """Return the fitted transform of one task (``kind``: the config's by default)."""
        return self.artifacts.scores.transform(task, self.spec(transform=kind).transform)

    def predictions(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Natural-unit predictions from raw task scores (n_tasks, ...)."""
        return np.stack([natural_prediction(t, raw[k]) for k, t in enumerate(self.tasks)])

    def _valid(self, rows: slice | NDArray[np.integer],
               exclude_items: Collection[str] = ()) -> NDArray[np.bool_]:
        cand = self.artifacts.scores.cand_items[rows]
        valid = cand >= 0
        if exclude_items:
            codes = self.artifacts.store.item_codes([str(i) for i in exclude_items])
            valid &= ~np.isin(cand, codes[codes >= 0])
        return valid

    def recommend_all(self, weights: WeightsLike | BlendSpec = None, *, k: int | None = None,
                      transform: str | None = None
                      ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-K item codes (n_users, k; -1 padded) and blended scores for every user."""
        spec = self.spec(weights, transform=transform, k=k)
        cols, scores = spec.top_k(self._table(spec.transform, False), valid=self._valid(slice(None)))
        cand = self.artifacts.scores.cand_items
        items = np.where(cols >= 0, np.take_along_axis(cand, np.maximum(cols, 0), axis=1), -1)
        return items.astype(np.int32), scores

    def recommend(self, user_id: object, *, weights: WeightsLike | BlendSpec = None,
                  k: int | None = None, transform: str | None = None,
                  exclude_items: Collection[str] = ()) -> RankedList:
        """Rank the user's top-K candidates under the blend.

        ``exclude_items`` are item ids never to list (e.g. the analyst's flags in force:
        ``project.log().flags().excluded_for(user_id)``); the list fills up from the next
        candidates.
        """
        u = self.user_code(user_id)
        spec = self.spec(weights, transform=transform, k=k)
        table = self._user_table(spec.transform, u)
        cols, scores = spec.top_k(table, valid=self._valid(slice(u, u + 1), exclude_items))
        cand = self.artifacts.scores.cand_items[u]
        preds = self.predictions(self.artifacts.scores.task_scores(users=slice(u, u + 1))[:, 0])
        items = []
        for r, (c, s) in enumerate(zip(cols[0], scores[0], strict=True)):
            if c < 0:
                break
            code = int(cand[c])
            items.append(RankedItem(
                rank=r + 1, item_id=str(self.artifacts.store.item_ids[code]),
                title=self.title(code), score=float(s),
                tasks={t.name: float(table[j, 0, c]) for j, t in enumerate(self.tasks)},
                predictions={t.name: float(preds[j, c]) for j, t in enumerate(self.tasks)},
            ))
        return RankedList(user_id=str(user_id), weights=spec.weights, transform=spec.transform,
                          items=tuple(items))

    def candidate_scores(self, user_id: object, *, weights: WeightsLike | BlendSpec = None,
                         transform: str | None = None
                         ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return the user's candidate item codes and their blended scores.

        Empty slots are dropped and the order is the candidate order: what
        :meth:`recommend` ranks.
        """
        u = self.user_code(user_id)
        spec = self.spec(weights, transform=transform)
        cand = self.artifacts.scores.cand_items[u]
        ok = cand >= 0
        blended = spec.blend(self._user_table(spec.transform, u)[:, 0, :])
        return cand[ok].astype(np.int64), blended[ok]

    # -- any feature row ----------------------------------------------------------------
    def features_for(self, user_id: object, item_ids: Collection[str]) -> FeatureFrame:
        """Features of (user, item) pairs as of the test cutoff.

        The items may be any catalogue items, candidates or not.
        """
        u = self.user_code(user_id)
        codes = np.array([self.item_code(i) for i in item_ids], dtype=np.int64)
        return self.artifacts.store.features_for(np.full(codes.size, u), codes)

    def pair_features(self, users: NDArray[np.integer],
                      items: NDArray[np.integer]) -> FeatureFrame:
        """Features of (user code, item code) pairs as of the test cutoff."""
        return self.artifacts.store.features_for(np.asarray(users), np.asarray(items))

    def test_rows(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Return the test exposures' feature rows and their stored margins.

        The rows are (n_test, n_features) and the margins (n_models, n_test), both in the
        order of :meth:`test_table`.
        """
        return self.artifacts.test_features.X, self.artifacts.scores.test.margins

    def feature_store(self) -> FeatureStore:
        """Return the cutoff feature store.

        It serves the features of any (user, item) pair and the source attributes they
        are built from (what-if edits start here).
        """
        return self.artifacts.store

    def _check_rows(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        Xf = np.ascontiguousarray(X, dtype=np.float32)
        n_f = len(self.feature_specs)
        if Xf.ndim != 2 or Xf.shape[1] != n_f:
            raise SchemaError(f"feature rows must have shape (n, {n_f}), got {Xf.shape}; "
                              "build them with Project.features_for or pair_features")
        return Xf

    def margins(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """(n_models, n) every model's margin of feature rows ``X`` (n, n_features)."""
        Xf = self._check_rows(X)
        if not Xf.shape[0]:
            return np.zeros((len(self.model_names), 0))
        return np.stack([self.artifacts.models[m].predict(Xf) for m in self.model_names])

    def contributions(self, X: NDArray[np.floating]) -> dict[str, NDArray[np.float64]]:
        """Per model, TreeSHAP values of ``X`` in margin space (n, n_features + 1).

        The last column is the expected value. Small batches run on one LightGBM thread,
        which on a busy machine is many times faster than waking a team.
        """
        Xf = self._check_rows(X)
        threads = 1 if Xf.shape[0] < _SMALL_BATCH else 0
        out = {}
        for m in self.model_names:
            model = self.artifacts.models[m]
            contrib = model.booster_.predict(Xf, pred_contrib=True,
                                             num_iteration=model.best_iteration_,
                                             num_threads=threads)
            out[m] = np.asarray(contrib, dtype=np.float64)
        return out

    def stored_margins(self, users: NDArray[np.integer],
                       items: NDArray[np.integer]) -> NDArray[np.float64]:
        """(n_models, n) the score table's margins of (user code, item code) pairs.

        NaN where the item is not among the user's candidates.
        """
        sc = self.artifacts.scores
        u = np.asarray(users, dtype=np.int64)
        i = np.asarray(items, dtype=np.int64)
        eq = sc.cand_items[u] == i[:, None]
        has = eq.any(axis=1)
        out = sc.cand_margins[:, u, eq.argmax(axis=1)].astype(np.float64)
        out[:, ~has] = np.nan
        return out

    def task_scores(self, margins: NDArray[np.floating]) -> NDArray[np.float64]:
        """(n_tasks, n) raw task scores from (n_models, n) margins."""
        by = {m: np.asarray(margins[j], dtype=np.float64)
              for j, m in enumerate(self.model_names)}
        return np.stack([task_score(t, by) for t in self.tasks])

    def score_rows(self, X: NDArray[np.floating], weights: WeightsLike | BlendSpec = None, *,
                   transform: str | None = None,
                   margins: NDArray[np.floating] | None = None) -> RowScores:
        """Score any feature rows through every task model and the blend.

        ``margins`` (n_models, n) skips the models (e.g. :meth:`stored_margins`).
        """
        spec = self.spec(weights, transform=transform)
        m = self.margins(X) if margins is None else np.asarray(margins, dtype=np.float64)
        raw = self.task_scores(m)
        g = np.stack([self.artifacts.scores.transform(t.name, spec.transform).apply(raw[j])
                      for j, t in enumerate(self.tasks)]) if len(self.tasks) else raw
        return RowScores(spec=spec, margins=m, raw=raw, transformed=g,
                         prediction=self.predictions(raw), blended=spec.blend(g))

    def log(self) -> ProjectLog:
        """Open the project's log of feedback flags and runs (``<name>.log.sqlite`` beside it)."""
        return ProjectLog.of(self.root)

    def standing(self, user_id: object, item_id: object, *,
                 weights: WeightsLike | BlendSpec = None, transform: str | None = None,
                 k: int | None = None) -> ItemStanding:
        """Say where any catalogue item stands for the user ("why not this item?").

        Whether a candidate source proposed it, its blended score and rank among the
        candidates, and the rules keeping it out of the list (see :mod:`recsys.standing`).
        Flags are read from :meth:`log`; :class:`SchemaError` for an unknown user or item.
        """
        return item_standing(self, user_id, item_id, self.spec(weights, transform=transform, k=k),
                             flags=self.log().flags())

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, weights: WeightsLike | BlendSpec = None, *, transform: str | None = None,
                 k: int | None = None, intervals: bool = True) -> Evaluation:
        """Per-task metrics of the blended ranking at ``weights``.

        Without ``intervals``, the metrics alone (no bootstrap intervals or baselines):
        what a dashboard needs on a slider move. See
        :func:`recsys.evaluate.evaluate_blend`.
        """
        spec = self.spec(weights, transform=transform, k=k)
        top, _ = self.recommend_all(spec)
        ctx = self._interval_context() if intervals else self.eval_context
        return evaluate_blend(ctx, self.test_table(spec.transform), spec, top,
                              intervals=intervals)

    def sweep(self, *, steps: int = 11, transform: str | None = None,
              k: int | None = None) -> Sweep:
        """Evaluate a grid over the weight simplex; mark the Pareto-efficient points.

        The sweep saved with the project (the config's transform and K, 11 steps) is read
        from its file, checked against its hash; any other is computed once per loaded
        project and kept.
        """
        spec = self.spec(transform=transform, k=k)
        key = (spec.transform, spec.k, steps)
        with self._tables_lock:
            done = self._sweeps.get(key)
        if done is not None:
            return done
        saved = self.manifest.get("sweep")
        if saved is not None and (saved["transform"], saved["k"], saved["steps"]) == key:
            done = self.artifacts.lazy.sweep()
        if done is None:
            done = sweep_weights(self.eval_context, self.test_table(spec.transform), spec,
                                 steps=steps)
        with self._tables_lock:
            return self._sweeps.setdefault(key, done)

    def health(self) -> ModelHealth:
        """Model health recorded at training.

        Metrics beside baselines with confidence intervals, warnings, learning and
        diagnostic curves (see :mod:`recsys.health`).
        """
        return model_health(self)

    def user_history(self, user_id: object, *, n: int = 20) -> pd.DataFrame:
        """Return the user's most recent exposures before the test window, newest first."""
        hist = self.artifacts.lazy.history()
        code = int(self.artifacts.store.user_codes([str(user_id)])[0])
        rows = hist.of_user(code) if code >= 0 else hist.of_user(0).iloc[:0]
        rows = rows.sort_values("timestamp", ascending=False).head(n).copy()
        codes = self.artifacts.store.item_codes(rows["item_id"].to_numpy())
        rows.insert(2, "title", [self.title(c) if c >= 0 else "" for c in codes])
        return rows.reset_index(drop=True)
