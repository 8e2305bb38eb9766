"""Margins of every task model for every (user, candidate) and every test exposure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recsys.blend import Transform, TransformKind
from recsys.errors import BlendError
from recsys.tasks import TaskSpec, task_score

__all__ = ["ScoreTable", "TestExposures"]


@dataclass(frozen=True, slots=True)
class TestExposures:
    """The logged test-window exposures, grouped by user (contiguous, time-ordered)."""

    users: NDArray[np.int64]
    items: NDArray[np.int64]
    timestamps: NDArray[np.int64]
    offsets: NDArray[np.int64]
    """(n_groups + 1,) row offsets of each user's group."""
    labels: NDArray[np.float64]
    """(n_tasks, n) label of each task, in task order."""
    margins: NDArray[np.float32]
    """(n_models, n) margins, in :attr:`ScoreTable.models` order."""

    def __len__(self) -> int:
        return int(self.users.shape[0])


@dataclass(frozen=True, slots=True)
class ScoreTable:
    """Every model's margins over the candidates and the test exposures, as float32 arrays.

    Blending and evaluation run on these arrays only; no model is touched after training.
    """

    tasks: tuple[TaskSpec, ...]
    models: tuple[str, ...]
    cand_items: NDArray[np.int32]
    """(n_users, n_cand) item codes, -1 for empty slots."""
    cand_margins: NDArray[np.float32]
    """(n_models, n_users, n_cand) margins, NaN in empty slots."""
    test: TestExposures
    transforms: Mapping[str, Mapping[TransformKind, Transform]]
    """task name -> transform kind -> fitted transform."""

    def _margins(self, arr: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        return {m: arr[k] for k, m in enumerate(self.models)}

    def task_scores(self, *, test: bool = False) -> NDArray[np.float64]:
        """(n_tasks, ...) raw task scores (entire-space for conditional tasks)."""
        margins = self._margins(self.test.margins if test else self.cand_margins)
        return np.stack([task_score(t, margins) for t in self.tasks])

    def transform(self, task: str, kind: TransformKind) -> Transform:
        """Return the fitted transform of one task."""
        try:
            return self.transforms[task][kind]
        except KeyError:
            raise BlendError(f"task '{task}': no fitted '{kind}' transform") from None

    def transformed(self, kind: TransformKind, *, test: bool = False,
                    raw: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
        """(n_tasks, ...) task scores mapped through each task's ``kind`` transform.

        ``raw`` may pass already computed :meth:`task_scores` (same ``test``) to skip
        recomputing them.
        """
        if raw is None:
            raw = self.task_scores(test=test)
        out = np.empty(raw.shape, dtype=np.float32)
        for k, t in enumerate(self.tasks):
            out[k] = self.transform(t.name, kind).apply(raw[k])
        return out
