"""Save and load a trained project: manifest.json, LightGBM text models, Parquet tables.

Written to a temporary sibling directory and renamed into place. Loading refuses a
project unless the whole manifest matches its schema, every file it opens is listed in
the manifest, lies inside the project and matches its SHA-256 (checked before anything
parses it), and the tables have the shapes the manifest describes; see
:mod:`recsys._manifest`. Nothing is unpickled or executed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from recsys._integrity import RETRAIN, one_line, read_verified, verify_files
from recsys._integrity import sha256_file as _sha256
from recsys._manifest import (
    FORMAT_VERSION,
    Manifest,
    package_version,
    project_label,
    read_manifest,
)
from recsys._model_text import check_model_text
from recsys.atomic import OutputDir, staged_dir
from recsys.candidates import SOURCES
from recsys.errors import ArtifactError
from recsys.features import FeatureFrame, FeatureStore, GlobalStats
from recsys.scoring import ScoreTable, TestExposures

if TYPE_CHECKING:
    from recsys.models import TaskModel
    from recsys.tasks import TaskSpec
    from recsys.train import TrainedProject

__all__ = ["FORMAT_VERSION", "LoadedArtifacts", "Manifest", "ModelSet", "load_artifacts",
           "package_version", "read_manifest", "save_project"]


def _write_parquet(path: Path, columns: dict[str, NDArray[Any] | pd.Series]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: pa.array(np.asarray(v)) for k, v in columns.items()})
    pq.write_table(table, path, compression="zstd")


def _matrix_cols(prefix: str, arr: NDArray[Any]) -> dict[str, NDArray[Any]]:
    arr2 = arr.reshape(arr.shape[0], -1)
    return {f"{prefix}{j}": arr2[:, j] for j in range(arr2.shape[1])}


def _read_matrix(df: pd.DataFrame, prefix: str, dtype: type) -> NDArray[Any]:
    cols = sorted((c for c in df.columns if c.startswith(prefix) and c[len(prefix):].isdigit()),
                  key=lambda c: int(c[len(prefix):]))
    if not cols:
        return np.zeros((len(df), 0), dtype=dtype)
    return df[cols].to_numpy(dtype=dtype)


def _dataset_summary(tp: TrainedProject) -> dict[str, Any]:
    ds = tp.dataset
    inter = ds.interactions
    windows = inter["window"].value_counts().to_dict()
    return {
        "n_users": int(len(ds.users)), "n_items": int(len(ds.items)),
        "n_exposures": int(len(inter)),
        "time_min": str(inter["timestamp"].min()), "time_max": str(inter["timestamp"].max()),
        "history_end": str(tp.features.history_end),
        "val_start": str(ds.val_start), "test_start": str(ds.test_start),
        "windows": {str(k): int(v) for k, v in windows.items()},
        "label_rates": {t.name: float(inter[t.label].mean()) for t in ds.config.tasks},
        "fingerprint": ds.fingerprint,
        "item_title": ds.config.data.item_title, "item_category": ds.config.data.item_category,
    }


def _write_tables(tp: TrainedProject, out: Path) -> None:
    st, sc, ds = tp.features.store, tp.scores, tp.dataset
    _write_parquet(out / "features/users.parquet", {
        "user_id": st.user_ids.to_numpy(dtype=str), **_matrix_cols("static_", st.user_static),
        **_matrix_cols("total_", st.user_totals), **_matrix_cols("context_", st.user_context),
        **_matrix_cols("latent_", st.latent_user)})
    _write_parquet(out / "features/items.parquet", {
        "item_id": st.item_ids.to_numpy(dtype=str), **_matrix_cols("static_", st.item_static),
        **_matrix_cols("numeric_", st.item_numeric), "category": st.item_category,
        **_matrix_cols("total_", st.item_totals), **_matrix_cols("latent_", st.latent_item)})
    _write_parquet(out / "features/user_category.parquet",
                   {"key": st.uc_keys, **_matrix_cols("total_", st.uc_totals)})
    _write_parquet(out / "features/user_item.parquet",
                   {"key": st.ui_keys, **_matrix_cols("total_", st.ui_totals)})
    _write_parquet(out / "scores/candidates.parquet", {
        "item": sc.cand_items.ravel(), "source": tp.candidates.source.ravel(),
        **{f"m_{n}": sc.cand_margins[k].ravel() for k, n in enumerate(sc.models)}})
    t = sc.test
    _write_parquet(out / "scores/test.parquet", {
        "user": t.users, "item": t.items, "timestamp": t.timestamps,
        **{f"y_{task.name}": t.labels[k] for k, task in enumerate(sc.tasks)},
        **{f"m_{n}": t.margins[k] for k, n in enumerate(sc.models)}})
    _write_parquet(out / "features/test_rows.parquet",
                   _matrix_cols("f_", tp.features.rows.X[tp.test_rows]))
    users = ds.users.copy()
    items = ds.items.copy()
    out.joinpath("catalog").mkdir(parents=True, exist_ok=True)
    users.to_parquet(out / "catalog/users.parquet", index=False)
    items.to_parquet(out / "catalog/items.parquet", index=False)
    inter = ds.interactions
    hist = inter.loc[inter["window"] != "test",
                     ["user_id", "item_id", "timestamp", *dict.fromkeys(
                         t.label for t in ds.config.tasks)]]
    hist.to_parquet(out / "catalog/history.parquet", index=False)


def save_project(tp: TrainedProject, out_dir: str | Path, *,
                 claim: OutputDir | None = None) -> Path:
    """Write a trained project atomically into ``out_dir`` (replacing an older one)."""
    out = Path(out_dir)
    with staged_dir(out, claim=claim) as tmp:
        for name, model in tp.models.items():
            (tmp / "models").mkdir(exist_ok=True)
            (tmp / f"models/{name}.txt").write_text(model.to_text(), encoding="utf-8")
        _write_tables(tp, tmp)
        st, sc = tp.features.store, tp.scores
        files = {p.relative_to(tmp).as_posix(): _sha256(p)
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format_version": FORMAT_VERSION, "package_version": package_version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "data_fingerprint": tp.dataset.fingerprint,
            "config": tp.dataset.config.model_dump(mode="json"),
            "tasks": [t.to_dict() for t in sc.tasks],
            "models": {t.name: {"objective": t.objective, "file": f"models/{t.name}.txt"}
                       for t in sc.tasks},
            "features": [s.to_dict() for s in st.specs],
            "layout": st.layout.to_dict(), "global_stats": st.stats.to_dict(),
            "transforms": {t: {k: tr.to_dict() for k, tr in kinds.items()}
                           for t, kinds in sc.transforms.items()},
            "candidates": {"n_users": int(sc.cand_items.shape[0]),
                           "per_user": int(sc.cand_items.shape[1])},
            "dataset": _dataset_summary(tp), "metrics": tp.metrics, "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float),
                                           encoding="utf-8")
    return out.resolve()


class ModelSet(Mapping[str, "TaskModel"]):
    """The saved task models, each read from its LightGBM text file on first use.

    Recommending, evaluating and sweeping need only the stored score tables, so a
    dashboard or CLI call that does not explain never imports LightGBM (about 2.5 s).
    Reading a model re-checks the file's SHA-256 (it may have changed since loading) and
    its structure (:func:`recsys._model_text.check_model_text`) before LightGBM sees a
    byte: a malformed tree would abort the whole process inside LightGBM.
    Loading is thread-safe; a loaded model is shared and must not be mutated.
    """

    def __init__(self, root: Path, manifest: Manifest, where: str) -> None:
        self._root = root
        self._manifest = manifest
        self._where = where
        self._loaded: dict[str, TaskModel] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> TaskModel:
        with self._lock:
            model = self._loaded.get(name)
            if model is None:
                entry = self._manifest.models[name]  # KeyError for unknown names, as a Mapping should
                model = self._read(name, entry.file, entry.objective)
                self._loaded[name] = model
            return model

    def _read(self, name: str, rel: str, objective: str) -> TaskModel:
        from lightgbm.basic import LightGBMError

        from recsys.models import TaskModel

        text = _model_text(self._root, self._manifest, name, self._where)
        try:
            return TaskModel.from_text(text, objective=objective, name=name)  # type: ignore[arg-type]
        except (ValueError, LightGBMError) as err:
            raise ArtifactError(f"{self._where}: file '{rel}' is not a valid LightGBM model: "
                                f"{one_line(err)}; {RETRAIN}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._manifest.models)

    def __len__(self) -> int:
        return len(self._manifest.models)


def _model_text(root: Path, manifest: Manifest, name: str, where: str) -> str:
    """The verified, structurally checked text of model ``name`` (what LightGBM may read)."""
    entry = manifest.models[name]
    data = read_verified(root, manifest.files, entry.file, where)
    try:
        return check_model_text(data, objective=entry.objective,
                                feature_names=[f.name for f in manifest.features])
    except ValueError as err:
        raise ArtifactError(f"{where}: file '{entry.file}' is not a valid LightGBM model: "
                            f"{err}; {RETRAIN}") from None


@dataclass(frozen=True, slots=True)
class LoadedArtifacts:
    """A saved project read back and verified."""

    root: Path
    manifest: dict[str, Any]
    store: FeatureStore
    models: ModelSet
    scores: ScoreTable
    test_features: FeatureFrame
    users: pd.DataFrame
    items: pd.DataFrame
    history: pd.DataFrame
    cand_source: NDArray[np.int8]


def load_artifacts(path: str | Path) -> LoadedArtifacts:
    """Read a saved project, refusing it unless every check passes.

    The manifest is schema-checked whole, every file the loader opens must be listed in
    it and match its SHA-256 (checked before anything is parsed, and the parsed bytes are
    the hashed bytes), each model's text must pass a structural check, and the tables
    must have the columns, types and shapes the manifest describes. LightGBM reads the
    models lazily (see :class:`ModelSet`).

    Raises
    ------
    ArtifactError
        One line per problem, naming the project by its directory name.
    """
    where = project_label(path)
    root = Path(path).resolve()
    manifest, raw = read_manifest(path)
    verify_files(root, manifest.files, where,
                 opened=[*_TABLES, *(e.file for e in manifest.models.values())])
    problems = []
    for name in manifest.models:  # structure only: LightGBM is imported when one is used
        try:
            _model_text(root, manifest, name, where)
        except ArtifactError as err:
            problems.append(str(err))
    if problems:
        raise ArtifactError("\n".join(problems))
    tables = _Tables(root, manifest.files, where)
    try:
        return _assemble(root, manifest, raw, tables)
    except ArtifactError:
        raise
    except (ValueError, KeyError, IndexError, pa.ArrowException) as err:
        raise ArtifactError(f"{where}: the saved tables do not fit the manifest "
                            f"({type(err).__name__}: {one_line(err)}); {RETRAIN}") from None


_TABLES = ("features/users.parquet", "features/items.parquet",
           "features/user_category.parquet", "features/user_item.parquet",
           "features/test_rows.parquet", "scores/candidates.parquet", "scores/test.parquet",
           "catalog/users.parquet", "catalog/items.parquet", "catalog/history.parquet")
"""Every table :func:`load_artifacts` opens (models come from ``manifest.models``)."""


class _Tables:
    """Reads the project's Parquet tables from verified bytes and checks what it reads."""

    def __init__(self, root: Path, files: Mapping[str, str], where: str) -> None:
        self.root, self.files, self.where = root, files, where

    def fail(self, rel: str, problem: str) -> ArtifactError:
        return ArtifactError(f"{self.where}: file '{rel}' {problem}; {RETRAIN}")

    def frame(self, rel: str, columns: Iterable[str] = ()) -> pd.DataFrame:
        """The table, which must hold ``columns``.

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
        """A numeric column as ``dtype``; finite (when ``finite``, ``bounds`` or an integer
        ``dtype`` is given) and every value in ``[lo, hi)`` when ``bounds = (lo, hi)``."""
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


def _assemble(root: Path, m: Manifest, raw: dict[str, Any], tables: _Tables) -> LoadedArtifacts:
    store = _store(m, tables)
    scores, cand_source = _scores(m, tables, store)
    rel = "features/test_rows.parquet"
    tf = _read_matrix(tables.frame(rel), "f_", np.float32)
    if tf.shape != (len(scores.test), len(store.specs)):
        raise tables.fail(rel, f"has shape {tf.shape}, expected ({len(scores.test)} test "
                               f"exposures, {len(store.specs)} features)")
    catalog = {}
    for kind, ids in (("users", store.user_ids), ("items", store.item_ids)):
        rel, column = f"catalog/{kind}.parquet", f"{kind[:-1]}_id"
        catalog[kind] = frame = tables.frame(rel, [column])
        listed = frame[column].astype(str)
        if len(listed) != len(ids) or not listed.isin(ids).all():
            raise tables.fail(rel, f"does not list the {len(ids)} {kind} of "
                                   f"features/{kind}.parquet")
    return LoadedArtifacts(
        root=root, manifest=raw, store=store, models=ModelSet(root, m, tables.where),
        scores=scores, test_features=FeatureFrame(tf, store.specs),
        users=catalog["users"], items=catalog["items"],
        history=tables.frame("catalog/history.parquet", ["user_id", "item_id", "timestamp"]),
        cand_source=cand_source,
    )


def _store(m: Manifest, tables: _Tables) -> FeatureStore:
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


def _scores(m: Manifest, tables: _Tables,
            store: FeatureStore) -> tuple[ScoreTable, NDArray[np.int8]]:
    tasks, names = tuple(m.tasks), tuple(m.models)
    n_users, n_items = len(store.user_ids), len(store.item_ids)
    n_u, per = m.candidates.n_users, m.candidates.per_user
    rel = "scores/candidates.parquet"
    cand = tables.frame(rel, ["item", "source", *(f"m_{n}" for n in names)])
    if n_u != n_users or len(cand) != n_u * per:
        raise tables.fail(rel, f"has {len(cand)} rows; the manifest's candidates need "
                               f"n_users × per_user = {n_u} × {per} rows with n_users = "
                               f"{n_users} (the users of features/users.parquet)")
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
    scores = ScoreTable(
        tasks=tasks, models=names,
        cand_items=tables.numbers(rel, cand, "item", np.int32, (-1, n_items)).reshape(n_u, per),
        cand_margins=np.stack([tables.numbers(rel, cand, f"m_{n}", np.float32)
                               .reshape(n_u, per) for n in names]),
        test=texp, transforms={t: dict(kinds) for t, kinds in m.transforms.items()},
    )
    source = tables.numbers(rel, cand, "source", np.int8, (-1, len(SOURCES)))
    return scores, source.reshape(n_u, per)


def _labels(tables: _Tables, test: pd.DataFrame, task: TaskSpec) -> NDArray[np.float64]:
    """Test labels of ``task``, as the dataset contract allows them for its kind."""
    rel = "scores/test.parquet"
    y = tables.numbers(rel, test, f"y_{task.name}", np.float64, finite=True)
    bad = {"binary": (y != 0) & (y != 1), "rank": (y < 0) | (y != np.floor(y))}.get(task.kind)
    if bad is not None and bad.any():
        raise tables.fail(rel, f"column 'y_{task.name}' holds labels a {task.kind} task "
                               f"cannot have, e.g. {y[bad][0]:g}")
    return y
