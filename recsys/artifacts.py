"""Save and load a trained project: manifest.json, LightGBM text models, Parquet tables.

Written to a temporary sibling directory and renamed into place, with the candidate
score tables as ``.npy`` arrays (memory-mapped when loaded) and the weight sweep at the
config's transform and K (``scores/sweep.json``, so no dashboard ever recomputes it).
Loading refuses a project unless the whole manifest matches its schema (:mod:`recsys._manifest`), every
file it opens is listed in the manifest, lies inside the project and matches its SHA-256,
checked before anything parses it (:mod:`recsys._integrity`), every model text passes a
structural check before LightGBM reads it (:mod:`recsys._model_text`), and the tables
have the columns, types and shapes the manifest describes (:mod:`recsys._saved_tables`).
Nothing is unpickled or executed.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping
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
from recsys._lazy_tables import HISTORY_ROW_GROUP, HISTORY_USER, SWEEP_FILE, LazyTables, sweep_json
from recsys._manifest import (
    FORMAT_VERSION,
    Manifest,
    package_version,
    project_label,
    read_manifest,
)
from recsys._model_text import check_model_text
from recsys._saved_tables import CANDIDATE_ARRAYS, eager_files, opened_files, read_tables
from recsys.atomic import OutputDir, staged_dir
from recsys.errors import ArtifactError
from recsys.features import FeatureFrame, FeatureStore
from recsys.scoring import ScoreTable

if TYPE_CHECKING:
    from recsys.evaluate import Sweep
    from recsys.models import TaskModel
    from recsys.train import TrainedProject

__all__ = ["FORMAT_VERSION", "SWEEP_STEPS", "LoadedArtifacts", "Manifest", "ModelSet",
           "load_artifacts", "package_version", "read_manifest", "save_project"]

TRANSFORMED_FILE = "scores/cand_transformed.npy"
"""The config transform's candidate table (what the first evaluation would compute)."""
SWEEP_STEPS = 11
"""Grid steps of the sweep saved with a project (weights 0, 0.1, ..., 1)."""


def _write_parquet(path: Path, columns: dict[str, NDArray[Any] | pd.Series]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: pa.array(np.asarray(v)) for k, v in columns.items()})
    pq.write_table(table, path, compression="zstd")


def _matrix_cols(prefix: str, arr: NDArray[Any]) -> dict[str, NDArray[Any]]:
    arr2 = arr.reshape(arr.shape[0], -1)
    return {f"{prefix}{j}": arr2[:, j] for j in range(arr2.shape[1])}


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
    for rel, arr, dtype in zip(CANDIDATE_ARRAYS, (sc.cand_items, tp.candidates.source,
                                                  sc.cand_margins),
                               (np.int32, np.int8, np.float32), strict=True):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(out / rel, np.ascontiguousarray(arr, dtype=dtype), allow_pickle=False)
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
    # grouped by user code (file order within a user), with the code, so that one user's
    # rows are found without hashing every id of the table (recsys._lazy_tables.History)
    codes = st.user_codes(hist["user_id"].to_numpy())
    order = np.argsort(codes, kind="stable")
    hist = hist.iloc[order].assign(**{HISTORY_USER: codes[order].astype(np.int32)})
    hist.to_parquet(out / "catalog/history.parquet", index=False,
                    row_group_size=HISTORY_ROW_GROUP)


def save_project(tp: TrainedProject, out_dir: str | Path, *,
                 claim: OutputDir | None = None) -> Path:
    """Write a trained project atomically into ``out_dir`` (replacing an older one)."""
    out = Path(out_dir)
    with staged_dir(out, claim=claim) as tmp:
        for name, model in tp.models.items():
            (tmp / "models").mkdir(exist_ok=True)
            (tmp / f"models/{name}.txt").write_text(model.to_text(), encoding="utf-8")
        _write_tables(tp, tmp)
        sweep = _saved_sweep(tp)
        (tmp / SWEEP_FILE).write_text(sweep_json(sweep, SWEEP_STEPS), encoding="utf-8")
        kind = tp.dataset.config.blend.transform
        np.save(tmp / TRANSFORMED_FILE, tp.scores.transformed(kind), allow_pickle=False)
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
            "sweep": {"file": SWEEP_FILE, "transform": sweep.transform, "k": sweep.k,
                      "steps": SWEEP_STEPS},
            "transformed": {"file": TRANSFORMED_FILE, "transform": kind},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=float),
                                           encoding="utf-8")
    return out.resolve()


def _saved_sweep(tp: TrainedProject) -> Sweep:
    """Sweep at the config's transform and K (what the Trade-offs page shows first)."""
    from recsys.blend import BlendSpec
    from recsys.evaluate import EvalContext, sweep_weights

    sc, blend = tp.scores, tp.dataset.config.blend
    spec = BlendSpec.resolve([t.name for t in sc.tasks], [t.sign for t in sc.tasks],
                             {t.name: t.weight for t in sc.tasks}, None,
                             transform=blend.transform, k=int(blend.k))
    ctx = EvalContext.build(sc.tasks, sc.test, tp.features.store, tp.metrics,
                            bootstrap=False)
    return sweep_weights(ctx, sc.transformed(spec.transform, test=True), spec,
                         steps=SWEEP_STEPS)


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
                entry = self._manifest.models[name]  # KeyError for unknown names
                model = self._read(name, entry.file, entry.objective)
                self._loaded[name] = model
            return model

    def _read(self, name: str, rel: str, objective: str) -> TaskModel:
        from lightgbm.basic import LightGBMError

        from recsys.models import TaskModel, check_objective

        text = _model_text(self._root, self._manifest, name, self._where)
        try:
            return TaskModel.from_text(text, objective=check_objective(objective, name=name),
                                       name=name)
        except (ValueError, LightGBMError) as err:
            raise ArtifactError(f"{self._where}: file '{rel}' is not a valid LightGBM model: "
                                f"{one_line(err)}; {RETRAIN}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._manifest.models)

    def __len__(self) -> int:
        return len(self._manifest.models)


def _model_text(root: Path, manifest: Manifest, name: str, where: str) -> str:
    """Return model ``name``'s text, verified and structurally checked for LightGBM."""
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
    """Candidate tables memory-mapped read-only; test exposures in memory."""
    users: pd.DataFrame
    items: pd.DataFrame
    cand_source: NDArray[np.int8]
    lazy: LazyTables
    """Test features, history and the saved sweep, read and hashed on first use."""

    @property
    def test_features(self) -> FeatureFrame:
        """Feature rows of the test exposures (read on first use)."""
        return self.lazy.test_features()

    @property
    def history(self) -> pd.DataFrame:
        """Exposures before the test window (read on first use)."""
        return self.lazy.history().frame()


def load_artifacts(path: str | Path) -> LoadedArtifacts:
    """Read a saved project, refusing it unless every check passes.

    The manifest is schema-checked whole, every file the loader opens must be listed in
    it and match its SHA-256 (checked before anything is parsed, and the parsed bytes are
    the hashed bytes), each model's text must pass a structural check, and the tables
    must have the columns, types and shapes the manifest describes. LightGBM reads the
    models lazily (see :class:`ModelSet`); the test features, history and saved sweep are
    hashed and read on first use (:class:`recsys._lazy_tables.LazyTables`), and the
    candidate arrays are memory-mapped after their hash is checked.

    Raises
    ------
    ArtifactError
        One line per problem, naming the project by its directory name.
    """
    where = project_label(path)
    root = Path(path).resolve()
    manifest, raw = read_manifest(path)
    eager = eager_files(manifest)
    verify_files(root, eager, where, opened=[rel for rel in opened_files(manifest)
                                             if rel in eager or rel not in manifest.files])
    problems = []
    for name in manifest.models:  # structure only: LightGBM is imported when one is used
        try:
            _model_text(root, manifest, name, where)
        except ArtifactError as err:
            problems.append(str(err))
    if problems:
        raise ArtifactError("\n".join(problems))
    t = read_tables(root, manifest, where)
    return LoadedArtifacts(root=root, manifest=raw, store=t.store,
                           models=ModelSet(root, manifest, where), scores=t.scores,
                           users=t.users, items=t.items, cand_source=t.cand_source,
                           lazy=t.lazy)
