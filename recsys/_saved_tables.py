"""A saved project's tables read back into a feature store and score tables.

Every Parquet table is parsed from the bytes whose SHA-256 was just checked (never
re-opened); the candidate score arrays are ``.npy`` files, hashed when the project is
loaded and then memory-mapped read-only (``np.load(mmap_mode="r")``, never unpickled), so
a 400k-user table costs no copy and pages in as users are looked at. The test features
and the history are read (and hashed) on first use (:mod:`recsys._lazy_tables`). What
every table holds is checked against the manifest before it is used: required columns,
numeric types, finite values, id and code ranges, shapes (a candidates table of
``n_users × per_user`` rows), unique ids and labels a task's kind allows. Anything else
that does not fit becomes an :class:`~recsys.errors.ArtifactError` too, never a pyarrow,
pandas or numpy traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from recsys._integrity import RETRAIN, one_line, read_verified
from recsys._lazy_tables import LAZY_FILES, LazyTables
from recsys.candidates import SOURCES
from recsys.errors import ArtifactError
from recsys.features import FeatureStore, GlobalStats
from recsys.scoring import ScoreTable, TestExposures

if TYPE_CHECKING:
    from recsys._manifest import Manifest
    from recsys.tasks import TaskSpec

__all__ = ["CANDIDATE_ARRAYS", "TABLES", "SavedTables", "eager_files", "opened_files",
           "read_tables"]


@dataclass(frozen=True, slots=True)
class SavedTables:
    """Everything :func:`read_tables` reads (what the models are scored and explained on)."""

    store: FeatureStore
    scores: ScoreTable
    users: pd.DataFrame
    items: pd.DataFrame
    cand_source: NDArray[np.int8]
    lazy: LazyTables
    """The tables read on first use: test features, history, the saved sweep."""


TABLES = ("features/users.parquet", "features/items.parquet",
          "features/user_category.parquet", "features/user_item.parquet",
          "scores/test.parquet", "catalog/users.parquet", "catalog/items.parquet")
"""The Parquet tables :func:`read_tables` parses when the project loads."""
CANDIDATE_ARRAYS = ("scores/cand_items.npy", "scores/cand_source.npy", "scores/cand_margins.npy")
"""The candidate score tables: item codes (n_users, n_cand) int32, source codes int8 and
margins (n_models, n_users, n_cand) float32, memory-mapped."""
_LEGACY_CANDIDATES = "scores/candidates.parquet"
"""Where projects saved before the ``.npy`` arrays kept the candidates (read whole)."""


def _legacy(m: Manifest) -> bool:
    return CANDIDATE_ARRAYS[0] not in m.files and _LEGACY_CANDIDATES in m.files


def opened_files(m: Manifest) -> list[str]:
    """Every file the loader may open (each must be listed in ``files``)."""
    cand = [_LEGACY_CANDIDATES] if _legacy(m) else list(CANDIDATE_ARRAYS)
    extra = [e.file for e in (m.sweep, m.transformed) if e is not None]
    return [*TABLES, *cand, *LAZY_FILES, *extra, *(e.file for e in m.models.values())]


def eager_files(m: Manifest) -> dict[str, str]:
    """List the files hashed when the project loads.

    All listed files but the large ones hashed as they are read on first use
    (:data:`recsys._lazy_tables.LAZY_FILES`); the small sweep file is hashed both now and
    when it is read.
    """
    return {rel: digest for rel, digest in m.files.items() if rel not in LAZY_FILES}


class _Reader:
    """Reads the project's Parquet tables from verified bytes and checks what it reads."""

    def __init__(self, root: Path, files: Mapping[str, str], where: str) -> None:
        self.root, self.files, self.where = root, files, where

    def fail(self, rel: str, problem: str) -> ArtifactError:
        return ArtifactError(f"{self.where}: file '{rel}' {problem}; {RETRAIN}")

    def frame(self, rel: str, columns: Iterable[str] = ()) -> pd.DataFrame:
        """Read the table ``rel``, which must hold ``columns``.

        Read without Arrow's thread pools: a pool thread still alive when the process
        exits can abort it (``std::terminate``, apache/arrow#34314), turning the CLI's
        exit code 2 after a refused project into 134.
        """
        data = read_verified(self.root, self.files, rel, self.where)
        try:
            table = pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False,
                                                                use_pandas_metadata=True)
            df = table.to_pandas(use_threads=False)
        except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError) as err:
            raise self.fail(rel, f"is not a readable Parquet table ({one_line(err)})") from None
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise self.fail(rel, f"has no column '{missing[0]}'")
        return df

    def numbers(self, rel: str, df: pd.DataFrame, column: str, dtype: type,
                bounds: tuple[int, int] | None = None, *, finite: bool = False
                ) -> NDArray[Any]:
        """Return a numeric column as ``dtype``, checked.

        Every value must be finite when ``finite``, ``bounds`` or an integer ``dtype`` is
        given, and in ``[lo, hi)`` when ``bounds = (lo, hi)``.
        """
        col = df[column]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise self.fail(rel, f"has a non-numeric column '{column}' ({col.dtype})")
        values = col.to_numpy()
        finite = finite or bounds is not None or np.issubdtype(dtype, np.integer)
        if finite and not np.all(np.isfinite(values)):
            raise self.fail(rel, f"has missing or infinite values in column '{column}'")
        if bounds and len(values) and (values.min() < bounds[0] or values.max() >= bounds[1]):
            raise self.fail(rel, f"has values outside {bounds[0]}..{bounds[1] - 1} in column "
                                 f"'{column}'")
        return values.astype(dtype)

    def array(self, rel: str, dtype: type, shape: tuple[int, ...],
              bounds: tuple[int, int] | None = None) -> NDArray[Any]:
        """Memory-map the ``.npy`` file ``rel`` read-only (already hashed at load).

        It must hold a C-ordered array of exactly ``dtype`` (byte order included) and
        ``shape``, with every value in ``[lo, hi)`` when ``bounds = (lo, hi)``. Nothing is
        unpickled: an object array is refused.
        """
        try:
            arr = np.load(self.root / rel, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError, TypeError) as err:
            raise self.fail(rel, f"is not a readable .npy array ({one_line(err)})") from None
        if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype):
            raise self.fail(rel, f"holds {getattr(arr, 'dtype', type(arr).__name__)} values, "
                                 f"expected {np.dtype(dtype)}")
        if arr.shape != shape or not arr.flags.c_contiguous:
            raise self.fail(rel, f"has shape {arr.shape}, expected {shape}")
        if bounds and arr.size and (arr.min() < bounds[0] or arr.max() >= bounds[1]):
            raise self.fail(rel, f"has values outside {bounds[0]}..{bounds[1] - 1}")
        return arr


def read_tables(root: Path, manifest: Manifest, where: str) -> SavedTables:
    """Read and check every table of the project at ``root`` (files already verified).

    Raises
    ------
    ArtifactError
        Naming the file and what is wrong with it.
    """
    tables = _Reader(root, manifest.files, where)
    try:
        return _assemble(manifest, tables)
    except ArtifactError:
        raise
    except (ValueError, KeyError, IndexError, pa.ArrowException) as err:
        raise ArtifactError(f"{where}: the saved tables do not fit the manifest "
                            f"({type(err).__name__}: {one_line(err)}); {RETRAIN}") from None


def _assemble(m: Manifest, tables: _Reader) -> SavedTables:
    store = _store(m, tables)
    scores, cand_source = _scores(m, tables, store)
    catalog = {}
    for kind, ids in (("users", store.user_ids), ("items", store.item_ids)):
        rel, column = f"catalog/{kind}.parquet", f"{kind[:-1]}_id"
        catalog[kind] = frame = tables.frame(rel, [column])
        listed = pd.Index(frame[column].astype(str))
        if len(listed) != len(ids) or (ids.get_indexer(listed) < 0).any():  # ids are unique
            raise tables.fail(rel, f"does not list the {len(ids)} {kind} of "
                                   f"features/{kind}.parquet")
    lazy = LazyTables(tables.root, m, tables.where, store, len(scores.test))
    lazy.check_present()
    return SavedTables(store=store, scores=scores, users=catalog["users"],
                       items=catalog["items"], cand_source=cand_source, lazy=lazy)


def _store(m: Manifest, tables: _Reader) -> FeatureStore:
    users = tables.frame("features/users.parquet", ["user_id"])
    items = tables.frame("features/items.parquet", ["item_id", "category"])
    ucat = tables.frame("features/user_category.parquet", ["key"])
    uit = tables.frame("features/user_item.parquet", ["key"])
    n_cat = max(1, len(m.layout.category_levels))
    store = FeatureStore(
        layout=m.layout, stats=GlobalStats.from_dict(m.global_stats.model_dump()),
        user_ids=pd.Index(users["user_id"].astype(str)),
        item_ids=pd.Index(items["item_id"].astype(str)),
        user_static=_read_matrix(users, "static_", np.float32),
        item_static=_read_matrix(items, "static_", np.float32),
        item_numeric=_read_matrix(items, "numeric_", np.float64),
        item_category=tables.numbers("features/items.parquet", items, "category", np.int64,
                                     (0, n_cat)),
        user_totals=_read_matrix(users, "total_", np.float64),
        item_totals=_read_matrix(items, "total_", np.float64),
        uc_keys=tables.numbers("features/user_category.parquet", ucat, "key", np.int64),
        uc_totals=_read_matrix(ucat, "total_", np.float64),
        ui_keys=tables.numbers("features/user_item.parquet", uit, "key", np.int64),
        ui_totals=_read_matrix(uit, "total_", np.float64),
        user_context=_read_matrix(users, "context_", np.float32),
        latent_user=_read_matrix(users, "latent_", np.float32),
        latent_item=_read_matrix(items, "latent_", np.float32),
    )
    for rel, ids in (("features/users.parquet", store.user_ids),
                     ("features/items.parquet", store.item_ids)):
        if not ids.is_unique:
            raise tables.fail(rel, f"repeats the id '{ids[ids.duplicated()][0]}'")
    names = [s.name for s in store.specs]
    if names != [f.name for f in m.features]:
        raise ArtifactError(f"{tables.where}: manifest.json: key 'features' does not list the "
                            f"{len(names)} features its layout defines; {RETRAIN}")
    if len(store.user_ids) and len(store.item_ids):  # every matrix fits the layout
        width = store.features_for(np.zeros(1, np.int64), np.zeros(1, np.int64)).X.shape[1]
        if width != len(names):
            raise ArtifactError(f"{tables.where}: the feature tables make {width} features, "
                                f"not the {len(names)} of the manifest; {RETRAIN}")
    return store


def _scores(m: Manifest, tables: _Reader,
            store: FeatureStore) -> tuple[ScoreTable, NDArray[np.int8]]:
    tasks, names = tuple(m.tasks), tuple(m.models)
    n_users, n_items = len(store.user_ids), len(store.item_ids)
    n_u, per = m.candidates.n_users, m.candidates.per_user
    if n_u != n_users:
        raise tables.fail(CANDIDATE_ARRAYS[0] if not _legacy(m) else _LEGACY_CANDIDATES,
                          f"cannot hold the manifest's candidates: n_users = {n_u}, but "
                          f"features/users.parquet has {n_users} users")
    if _legacy(m):
        items, source, margins = _legacy_candidates(m, tables, n_items, names)
    else:
        items = tables.array(CANDIDATE_ARRAYS[0], np.int32, (n_u, per), (-1, n_items))
        source = tables.array(CANDIDATE_ARRAYS[1], np.int8, (n_u, per), (-1, len(SOURCES)))
        margins = tables.array(CANDIDATE_ARRAYS[2], np.float32, (len(names), n_u, per))
    rel_t = "scores/test.parquet"
    test = tables.frame(rel_t, ["user", "item", "timestamp", *(f"y_{t.name}" for t in tasks),
                                *(f"m_{n}" for n in names)])
    users_t = tables.numbers(rel_t, test, "user", np.int64, (0, n_users))
    if np.any(np.diff(users_t) < 0):
        raise tables.fail(rel_t, "is not grouped by user (column 'user' must not decrease)")
    starts = np.flatnonzero(np.r_[True, users_t[1:] != users_t[:-1]]) if len(test) else users_t
    texp = TestExposures(
        users=users_t, items=tables.numbers(rel_t, test, "item", np.int64, (0, n_items)),
        timestamps=tables.numbers(rel_t, test, "timestamp", np.int64, finite=True),
        offsets=np.r_[starts, len(test)].astype(np.int64),
        labels=np.stack([_labels(tables, test, t) for t in tasks]),
        margins=np.stack([tables.numbers(rel_t, test, f"m_{n}", np.float32) for n in names]),
    )
    saved = {}
    if m.transformed is not None:
        saved[m.transformed.transform] = tables.array(m.transformed.file, np.float32,
                                                      (len(tasks), n_u, per))
    scores = ScoreTable(tasks=tasks, models=names, cand_items=items, cand_margins=margins,
                        test=texp,
                        transforms={t: dict(kinds) for t, kinds in m.transforms.items()},
                        saved_tables=saved)
    return scores, source


def _legacy_candidates(m: Manifest, tables: _Reader, n_items: int, names: tuple[str, ...]
                       ) -> tuple[NDArray[np.int32], NDArray[np.int8], NDArray[np.float32]]:
    """Read the candidates of a project saved as one Parquet table (whole)."""
    rel, (n_u, per) = _LEGACY_CANDIDATES, (m.candidates.n_users, m.candidates.per_user)
    cand = tables.frame(rel, ["item", "source", *(f"m_{n}" for n in names)])
    if len(cand) != n_u * per:
        raise tables.fail(rel, f"has {len(cand)} rows; the manifest's candidates need "
                               f"n_users × per_user = {n_u} × {per} rows")
    items = tables.numbers(rel, cand, "item", np.int32, (-1, n_items)).reshape(n_u, per)
    source = tables.numbers(rel, cand, "source", np.int8, (-1, len(SOURCES)))
    margins = np.stack([tables.numbers(rel, cand, f"m_{n}", np.float32).reshape(n_u, per)
                        for n in names])
    return items, source.reshape(n_u, per), margins


def _labels(tables: _Reader, test: pd.DataFrame, task: TaskSpec) -> NDArray[np.float64]:
    """Test labels of ``task``, as the dataset contract allows them for its kind."""
    rel = "scores/test.parquet"
    y = tables.numbers(rel, test, f"y_{task.name}", np.float64, finite=True)
    bad = {"binary": (y != 0) & (y != 1), "rank": (y < 0) | (y != np.floor(y))}.get(task.kind)
    if bad is not None and bad.any():
        raise tables.fail(rel, f"column 'y_{task.name}' holds labels a {task.kind} task "
                               f"cannot have, e.g. {y[bad][0]:g}")
    return y


def _read_matrix(df: pd.DataFrame, prefix: str, dtype: type) -> NDArray[Any]:
    cols = sorted((c for c in df.columns if c.startswith(prefix) and c[len(prefix):].isdigit()),
                  key=lambda c: int(c[len(prefix):]))
    if not cols:
        return np.zeros((len(df), 0), dtype=dtype)
    return df[cols].to_numpy(dtype=dtype)
