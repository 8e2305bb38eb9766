"""The files of a saved project read on first use: test features, history, saved sweep.

A dashboard showing one user's list needs none of them, so loading only checks that they
are there (listed, safe paths, regular files). Each is read once per loaded project, the
first time it is asked for, from bytes checked against the manifest's SHA-256 as they are
read (:func:`recsys._integrity.read_verified`: what is parsed is what was hashed); a
tampered file is refused then with the same :class:`~recsys.errors.ArtifactError` a load
gives. Reading is thread-safe (every dashboard session shares one project).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

from recsys._integrity import RETRAIN, _locate, one_line, read_verified, sha256_file
from recsys.errors import ArtifactError
from recsys.features import FeatureFrame, FeatureStore

if TYPE_CHECKING:
    from recsys._manifest import Manifest
    from recsys.evaluate import Sweep

__all__ = ["HISTORY_ROW_GROUP", "HISTORY_USER", "LAZY_FILES", "History", "LazyTables", "sweep_json"]

LAZY_FILES = ("features/test_rows.parquet", "catalog/history.parquet")
"""Tables read (and hashed) on first use; the saved sweep is read the same way."""
SWEEP_FILE = "scores/sweep.json"
HISTORY_ROW_GROUP = 32_768
"""Rows per Parquet row group of the saved history (one user's rows read at a time)."""
HISTORY_USER = "user"
"""The history's column of user codes (the table is saved grouped by it)."""
"""Where :func:`recsys.artifacts.save_project` writes the sweep."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class History:
    """The exposures before the test window, read one user at a time."""

    file: pq.ParquetFile | None
    """The history grouped by user code, memory-mapped after its hash was checked (None:
    a project saved before grouping, held whole in ``whole``)."""
    lo: NDArray[np.int64]
    """Per row group of ``file``, its smallest user code."""
    hi: NDArray[np.int64]
    """Per row group of ``file``, its largest user code."""
    whole: pd.DataFrame | None = None
    """Older projects: the whole table, ``order`` grouping its rows by user code."""
    order: NDArray[np.int64] | None = None
    offsets: NDArray[np.int64] | None = None
    """(n_users + 1,) where each user's rows start in ``order``."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_user(self, code: int) -> pd.DataFrame:
        """Return the rows of user code ``code`` in file order (no pass over the table)."""
        if self.whole is not None and self.order is not None and self.offsets is not None:
            return self.whole.iloc[self.order[self.offsets[code]:self.offsets[code + 1]]]
        if self.file is None:
            raise ValueError("a History holds either a file or the whole table")
        groups = np.flatnonzero((self.lo <= code) & (self.hi >= code)).tolist()
        with self.lock:
            table = self.file.read_row_groups(groups, use_threads=False,
                                              use_pandas_metadata=True) if groups \
                else self.file.schema_arrow.empty_table()
        table = table.filter(pc.equal(table[HISTORY_USER], code)).drop_columns([HISTORY_USER])
        return table.to_pandas(use_threads=False)

    def frame(self) -> pd.DataFrame:
        """Return the whole table (``user_id``, ``item_id``, ``timestamp``, labels)."""
        if self.whole is not None:
            return self.whole
        if self.file is None:
            raise ValueError("a History holds either a file or the whole table")
        with self.lock:
            table = self.file.read(use_threads=False, use_pandas_metadata=True)
        return table.drop_columns([HISTORY_USER]).to_pandas(use_threads=False)


def sweep_json(sweep: Sweep, steps: int) -> str:
    """Return the saved form of a sweep: tasks, transform, K, steps, weights, NDCG."""
    ndcg = [[v if math.isfinite(v) else None for v in row] for row in sweep.ndcg.tolist()]
    return json.dumps({"tasks": list(sweep.tasks), "transform": sweep.transform, "k": sweep.k,
                       "steps": steps, "weights": sweep.weights.tolist(), "ndcg": ndcg})


class LazyTables:
    """Reads :data:`LAZY_FILES` and the saved sweep of one project on first use."""

    def __init__(self, root: Path, manifest: Manifest, where: str, store: FeatureStore,
                 n_test: int) -> None:
        self._root, self._m, self._where = root, manifest, where
        self._store, self._n_test = store, n_test
        self._done: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _fail(self, rel: str, problem: str) -> ArtifactError:
        return ArtifactError(f"{self._where}: file '{rel}' {problem}; {RETRAIN}")

    def check_present(self) -> None:
        """Refuse the project now if a file read later is missing or unsafe to open."""
        sweep = [self._m.sweep.file] if self._m.sweep is not None else []
        problems = []
        for rel in (*LAZY_FILES, *sweep):
            try:
                _locate(self._root, rel)
            except ValueError as err:
                problems.append(str(self._fail(rel, str(err))))
        if problems:
            raise ArtifactError("\n".join(problems))

    def _once(self, key: str, build: Callable[[], _T]) -> _T:
        with self._lock:
            if key not in self._done:
                self._done[key] = build()
            return self._done[key]

    def _frame(self, rel: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        from recsys._saved_tables import _Reader

        return _Reader(self._root, self._m.files, self._where).frame(rel, columns)

    def test_features(self) -> FeatureFrame:
        """Feature rows of the test exposures (n_test, n_features), float32."""
        return self._once("test_features", self._read_test_features)

    def _read_test_features(self) -> FeatureFrame:
        from recsys._saved_tables import _read_matrix

        rel, specs = LAZY_FILES[0], self._store.specs
        X = _read_matrix(self._frame(rel), "f_", np.float32)
        if X.shape != (self._n_test, len(specs)):
            raise self._fail(rel, f"has shape {X.shape}, expected ({self._n_test} test "
                                  f"exposures, {len(specs)} features)")
        return FeatureFrame(X, specs)

    def history(self) -> History:
        """Return the pre-test exposures, indexed by user."""
        return self._once("history", self._read_history)

    def _read_history(self) -> History:
        rel = LAZY_FILES[1]
        try:
            real = _locate(self._root, rel)
            if sha256_file(real) != self._m.files[rel]:
                raise ValueError("does not match its recorded SHA-256 (modified after the "
                                 "project was checked)")
            file = pq.ParquetFile(pa.memory_map(str(real)))
            names = file.schema_arrow.names
        except ValueError as err:
            raise self._fail(rel, str(err)) from None
        except (pa.ArrowException, OSError) as err:
            raise self._fail(rel, f"is not a readable Parquet table ({one_line(err)})") from None
        if HISTORY_USER not in names:  # saved before grouping: read whole
            return self._whole_history(rel)
        col = names.index(HISTORY_USER)
        lo, hi = [], []
        for g in range(file.metadata.num_row_groups):
            stats = file.metadata.row_group(g).column(col).statistics
            if stats is None or not stats.has_min_max:
                raise self._fail(rel, f"has no statistics of column '{HISTORY_USER}'")
            lo.append(int(stats.min))
            hi.append(int(stats.max))
        lo_a, hi_a = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        if np.any(lo_a[1:] < hi_a[:-1]) or np.any(lo_a > hi_a):
            raise self._fail(rel, f"is not grouped by user (column '{HISTORY_USER}')")
        return History(file=file, lo=lo_a, hi=hi_a)

    def _whole_history(self, rel: str) -> History:
        frame = self._frame(rel, ("user_id", "item_id", "timestamp"))
        codes = self._store.user_codes(frame["user_id"].to_numpy())
        order = np.argsort(codes, kind="stable").astype(np.int64)
        n_users = len(self._store.user_ids)
        offsets = np.searchsorted(codes[order], np.arange(n_users + 1) - 0.5).astype(np.int64)
        # rows of users not in the feature store (code -1) sort first and are never shown
        empty = np.zeros(0, dtype=np.int64)
        return History(file=None, lo=empty, hi=empty, whole=frame, order=order,
                       offsets=offsets)

    def sweep(self) -> Sweep | None:
        """Return the saved sweep (``None`` for projects saved without one)."""
        return self._once("sweep", self._read_sweep)

    def _read_sweep(self) -> Sweep | None:
        entry = self._m.sweep
        if entry is None:
            return None
        data = read_verified(self._root, self._m.files, entry.file, self._where)
        try:
            return _parse_sweep(json.loads(data), self._m, entry.steps)
        except (ValueError, TypeError, KeyError) as err:
            raise self._fail(entry.file, f"does not hold the sweep the manifest describes "
                                         f"({one_line(err)})") from None


def _parse_sweep(raw: Any, m: Manifest, steps: int) -> Sweep:
    from recsys.evaluate import Sweep
    from recsys.metrics import pareto_mask, simplex_grid

    entry = m.sweep
    tasks = [t.name for t in m.tasks]
    if entry is None or not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    want = {"tasks": tasks, "transform": entry.transform, "k": entry.k, "steps": steps}
    for key, value in want.items():
        if raw.get(key) != value:
            raise ValueError(f"'{key}' is {raw.get(key)!r}, expected {value!r}")
    grid = simplex_grid(len(tasks), steps)
    weights = np.asarray(raw["weights"], dtype=np.float64)
    ndcg = np.asarray([[math.nan if v is None else v for v in row] for row in raw["ndcg"]],
                      dtype=np.float64)
    if weights.shape != grid.shape or not np.allclose(weights, grid, rtol=0, atol=1e-12):
        raise ValueError(f"'weights' is not the {grid.shape[0]}-point grid of {steps} steps")
    if ndcg.shape != grid.shape:
        raise ValueError(f"'ndcg' has shape {ndcg.shape}, expected {grid.shape}")
    maximize = np.array([t.direction == "maximize" for t in m.tasks])
    return Sweep(tasks=tuple(tasks), maximize=tuple(bool(v) for v in maximize), weights=grid,
                 ndcg=ndcg, pareto=pareto_mask(ndcg, maximize), k=entry.k,
                 transform=entry.transform)
