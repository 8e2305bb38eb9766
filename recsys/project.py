"""``Project``: a trained project loaded from disk, ready to recommend, evaluate and sweep.

>>> from recsys import Project
>>> p = Project.load("artifacts/demo")                       # doctest: +SKIP
>>> p.recommend("u00042", {"purchase": 2.0}, k=10)           # doctest: +SKIP
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
from recsys.blend import BlendWeights, TransformKind, top_k
from recsys.errors import BlendError, SchemaError
from recsys.evaluate import EvalContext, Evaluation, Sweep, evaluate_blend, sweep_weights
from recsys.features import FeatureFrame
from recsys.health import ModelHealth, model_health
from recsys.projectlog import ProjectLog
from recsys.tasks import TaskSpec, natural_prediction, task_score

__all__ = ["Project", "RankedItem", "RankedList", "WeightsLike"]

WeightsLike = BlendWeights | Mapping[str, float] | None
_KINDS: tuple[TransformKind, ...] = ("zscore", "percentile", "minmax")


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


class Project:
    """A trained project: tasks, models, feature store and score tables.

    Use :meth:`load`; the constructor takes already-loaded artifacts.
    """

    def __init__(self, artifacts: LoadedArtifacts) -> None:
        self.artifacts = artifacts
        sc = artifacts.scores
        self.tasks: tuple[TaskSpec, ...] = sc.tasks
        # transformed score tables, built on first use per (transform, candidates|test)
        self._tables: dict[tuple[str, bool], NDArray[np.float32]] = {}
        self._tables_lock = threading.Lock()
        self._raw = {False: sc.task_scores(), True: sc.task_scores(test=True)}
        items = artifacts.items
        title_col = artifacts.manifest["dataset"].get("item_title")
        ids = items["item_id"].astype(str).to_numpy()
        titles = items[title_col].astype(str).to_numpy() if title_col in items else ids
        order = artifacts.store.item_ids.get_indexer(ids)
        self._titles = np.empty(len(ids), dtype=object)
        self._titles[order] = titles
        store = artifacts.store
        self.eval_context = EvalContext.build(self.tasks, sc.test, store,
                                              artifacts.manifest["metrics"])

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
        """The spec of one task."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise BlendError(f"unknown task '{name}'; tasks are {', '.join(self.task_names())}")

    def default_weights(self) -> BlendWeights:
        """The weights set in the config."""
        return BlendWeights.of({t.name: t.weight for t in self.tasks})

    def default_transform(self) -> TransformKind:
        """The transform set in the config."""
        return self.manifest["config"]["blend"]["transform"]  # type: ignore[no-any-return]

    def default_k(self) -> int:
        """K set in the config."""
        return int(self.manifest["config"]["blend"]["k"])

    def weights(self, weights: WeightsLike = None) -> BlendWeights:
        """Complete, validated weights: config weights overridden by ``weights``."""
        base = self.default_weights().as_dict()
        given = weights.as_dict() if isinstance(weights, BlendWeights) else dict(weights or {})
        merged = BlendWeights.of({**base, **given})
        merged.vector(self.task_names())  # unknown task names raise here, with a hint
        return merged

    def signed_vector(self, weights: WeightsLike = None) -> NDArray[np.float64]:
        """Signed weight per task (negative for minimised tasks)."""
        return self.weights(weights).vector(self.task_names(), [t.sign for t in self.tasks])

    def _kind(self, transform: str | None) -> TransformKind:
        kind = transform or self.default_transform()
        if kind not in _KINDS:
            raise BlendError(f"unknown transform '{kind}'; use one of {', '.join(_KINDS)}")
        return kind  # type: ignore[return-value]

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

    # -- scoring ------------------------------------------------------------------------
    def _table(self, kind: TransformKind, test: bool) -> NDArray[np.float32]:
        with self._tables_lock:
            table = self._tables.get((kind, test))
            if table is None:
                table = self.artifacts.scores.transformed(kind, test=test, raw=self._raw[test])
                table.flags.writeable = False
                self._tables[(kind, test)] = table
            return table

    def transformed_table(self, transform: str | None = None) -> NDArray[np.float32]:
        """(n_tasks, n_users, n_cand) transformed task scores of every candidate (read-only)."""
        return self._table(self._kind(transform), False)

    def test_table(self, transform: str | None = None) -> NDArray[np.float32]:
        """(n_tasks, n_test) transformed task scores of the test exposures (read-only)."""
        return self._table(self._kind(transform), True)

    def predictions(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        """Natural-unit predictions from raw task scores (n_tasks, ...)."""
        return np.stack([natural_prediction(t, raw[k]) for k, t in enumerate(self.tasks)])

    def recommend_all(self, weights: WeightsLike = None, k: int | None = None,
                      transform: str | None = None) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """Top-K item codes (n_users, k; -1 padded) and blended scores for every user."""
        kk = k or self.default_k()
        cols, scores = top_k(self.transformed_table(transform), self.signed_vector(weights), kk,
                             valid=self.artifacts.scores.cand_items >= 0)
        cand = self.artifacts.scores.cand_items
        items = np.where(cols >= 0, np.take_along_axis(cand, np.maximum(cols, 0), axis=1), -1)
        return items.astype(np.int32), scores

    def recommend(self, user_id: object, weights: WeightsLike = None, k: int | None = None,
                  transform: str | None = None, *,
                  exclude_items: Collection[str] = ()) -> RankedList:
        """The user's top-K candidates under the blend.

        ``exclude_items`` are item ids never to list (e.g. the analyst's flags in force:
        ``project.log().flags().excluded_for(user_id)``); the list fills up from the next
        candidates.
        """
        u = self.user_code(user_id)
        kind = self._kind(transform)
        w = self.weights(weights)
        table = self.transformed_table(kind)[:, u : u + 1, :]
        valid = self.artifacts.scores.cand_items[u : u + 1] >= 0
        if exclude_items:
            codes = self.artifacts.store.item_codes([str(i) for i in exclude_items])
            valid = valid & ~np.isin(self.artifacts.scores.cand_items[u : u + 1],
                                     codes[codes >= 0])
        cols, scores = top_k(table, self.signed_vector(w), k or self.default_k(), valid=valid)
        cand = self.artifacts.scores.cand_items[u]
        raw = self._raw[False][:, u, :]
        preds = self.predictions(raw)
        items = []
        for r, (c, s) in enumerate(zip(cols[0], scores[0], strict=True)):
            if c < 0:
                break
            code = int(cand[c])
            items.append(RankedItem(
                rank=r + 1, item_id=str(self.artifacts.store.item_ids[code]),
                title=self.title(code), score=float(s),
                tasks={t.name: float(table[j, 0, c])
                       for j, t in enumerate(self.tasks)},
                predictions={t.name: float(preds[j, c]) for j, t in enumerate(self.tasks)},
            ))
        return RankedList(user_id=str(user_id), weights=w, transform=kind, items=tuple(items))

    def log(self) -> ProjectLog:
        """The project's log of feedback flags and runs (``<name>.log.sqlite`` beside it)."""
        return ProjectLog.of(self.root)

    def features_for(self, user_id: object, item_ids: list[str]) -> FeatureFrame:
        """Features of (user, item) pairs as of the test cutoff."""
        u = self.user_code(user_id)
        codes = np.array([self.item_code(i) for i in item_ids], dtype=np.int64)
        return self.artifacts.store.features_for(np.full(codes.size, u), codes)

    def raw_task_scores(self, margins: Mapping[str, NDArray[np.floating]]) -> NDArray[np.float64]:
        """(n_tasks, n) raw task scores from model margins."""
        return np.stack([task_score(t, margins) for t in self.tasks])

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, weights: WeightsLike = None, transform: str | None = None,
                 k: int | None = None) -> Evaluation:
        """Per-task metrics of the blended ranking at ``weights`` (see
        :func:`recsys.evaluate.evaluate_blend`)."""
        kind = self._kind(transform)
        w = self.weights(weights)
        top, _ = self.recommend_all(w, k, kind)
        return evaluate_blend(self.eval_context, self.test_table(kind), self.signed_vector(w), w,
                              kind, k or self.default_k(), top)

    def sweep(self, steps: int = 11, transform: str | None = None,
              k: int | None = None) -> Sweep:
        """Evaluate a grid over the weight simplex; mark the Pareto-efficient points."""
        kind = self._kind(transform)
        return sweep_weights(self.eval_context, self.test_table(kind), steps, kind,
                             k or self.default_k())

    def health(self) -> ModelHealth:
        """Model health recorded at training: metrics beside baselines with confidence
        intervals, warnings, learning and diagnostic curves (see :mod:`recsys.health`)."""
        return model_health(self)

    def user_history(self, user_id: object, n: int = 20) -> pd.DataFrame:
        """The user's most recent exposures before the test window, newest first."""
        hist = self.artifacts.history
        rows = hist[hist["user_id"].astype(str) == str(user_id)]
        rows = rows.sort_values("timestamp", ascending=False).head(n).copy()
        codes = self.artifacts.store.item_codes(rows["item_id"].to_numpy())
        rows.insert(2, "title", [self.title(c) if c >= 0 else "" for c in codes])
        return rows.reset_index(drop=True)
