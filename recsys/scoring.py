"""Margins of every task model for every (user, candidate) and every test exposure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    saved_tables: Mapping[TransformKind, NDArray[np.float32]] = field(default_factory=dict)
    """:meth:`transformed` candidate tables saved with the project (memory-mapped)."""

    def _margins(self, arr: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        return {m: arr[k] for k, m in enumerate(self.models)}

    @property
    def n_users(self) -> int:
        """Rows of the candidate table (one per user code)."""
        return int(self.cand_items.shape[0])

    def task_scores(self, *, test: bool = False,
                    users: slice | None = None) -> NDArray[np.float64]:
        """(n_tasks, ...) raw task scores (entire-space for conditional tasks).

        ``users`` limits the candidate table to a slice of user codes (only the rows
        asked for are read: the margins may be memory-mapped).
        """
        src = self.test.margins if test else self.cand_margins
        if users is not None and not test:
            src = src[:, users]
        return np.stack([task_score(t, self._margins(src)) for t in self.tasks])

    def transform(self, task: str, kind: TransformKind) -> Transform:
        """Return the fitted transform of one task."""
        try:
            return self.transforms[task][kind]
        except KeyError:
            raise BlendError(f"task '{task}': no fitted '{kind}' transform") from None

    def transformed(self, kind: TransformKind, *, test: bool = False,
                    users: slice | None = None) -> NDArray[np.float32]:
        """(n_tasks, ...) task scores mapped through each task's ``kind`` transform.

        Candidates: all users (built in blocks of users, so the float64 raw scores of
        the whole table never exist at once), or the slice ``users`` of user codes. A
        user's row is the same whether it is computed alone or with the whole table.
        """
        saved = self.saved_tables.get(kind)
        if saved is not None and not test:
            return saved if users is None else np.asarray(saved[:, users])
        if test or users is not None:
            raw = self.task_scores(test=test, users=users)
            out = np.empty(raw.shape, dtype=np.float32)
            for k, t in enumerate(self.tasks):
                out[k] = self.transform(t.name, kind).apply(raw[k])
            return out
        n_users, n_cand = self.cand_items.shape
        out = np.empty((len(self.tasks), n_users, n_cand), dtype=np.float32)
        step = max(1, _BLOCK_CELLS // max(n_cand, 1))
        for start in range(0, n_users, step):
            block = slice(start, min(start + step, n_users))
            out[:, block] = self.transformed(kind, users=block)
        return out


_BLOCK_CELLS = 1 << 20
"""Candidate cells per block when a whole transformed table is built."""
