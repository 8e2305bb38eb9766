"""Save and load a trained project: manifest.json, LightGBM text models, Parquet tables.

Written to a temporary sibling directory and renamed into place; loading checks the
format version and every file's SHA-256 and refuses a tampered or mismatched set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from recsys.atomic import OutputDir, staged_dir
from recsys.blend import Transform
from recsys.errors import ArtifactError
from recsys.features import FeatureFrame, FeatureStore, GlobalStats, Layout
from recsys.scoring import ScoreTable, TestExposures
from recsys.tasks import TaskSpec

if TYPE_CHECKING:
    from recsys.models import TaskModel
    from recsys.train import TrainedProject

__all__ = ["FORMAT_VERSION", "LoadedArtifacts", "ModelSet", "load_artifacts",
           "package_version", "save_project"]

FORMAT_VERSION = 1


def package_version() -> str:
    """Installed Blendscope version."""
    try:
        return version("blendscope")
    except PackageNotFoundError:
        return "0+unknown"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        "fingerprint": ds.fingerprint, "root": str(ds.root),
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
    Loading is thread-safe; a loaded model is shared and must not be mutated.
    """

    def __init__(self, root: Path, specs: Mapping[str, Mapping[str, str]]) -> None:
        self._root = root
        self._specs = dict(specs)
        self._loaded: dict[str, TaskModel] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> TaskModel:
        with self._lock:
            model = self._loaded.get(name)
            if model is None:
                from recsys.models import TaskModel

                spec = self._specs[name]  # KeyError for unknown names, as a Mapping should
                text = (self._root / spec["file"]).read_text(encoding="utf-8")
                model = TaskModel.from_text(text, objective=spec["objective"],  # type: ignore[arg-type]
                                            name=name)
                self._loaded[name] = model
            return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


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


def _verify(root: Path) -> dict[str, Any]:
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ArtifactError(f"{root}: not a Blendscope project (no manifest.json); "
                            "train one with `recsys train --config FILE --out DIR`")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{mpath}: manifest is not valid JSON ({err})") from None
    fv = manifest.get("format_version")
    if fv != FORMAT_VERSION:
        raise ArtifactError(f"{mpath}: format version {fv!r} is not supported (this Blendscope "
                            f"reads version {FORMAT_VERSION}); retrain the project")
    problems = []
    for rel, digest in manifest.get("files", {}).items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{root}: file '{rel}' is missing")
        elif _sha256(p) != digest:
            problems.append(f"{root}: file '{rel}' does not match its recorded SHA-256 "
                            "(modified after training); retrain the project")
    if problems:
        raise ArtifactError("\n".join(problems))
    return manifest


def load_artifacts(path: str | Path) -> LoadedArtifacts:
    """Read a saved project, verifying the format version and file hashes."""
    root = Path(path).resolve()
    m = _verify(root)
    layout = Layout.from_dict(m["layout"])
    users = pd.read_parquet(root / "features/users.parquet")
    items = pd.read_parquet(root / "features/items.parquet")
    ucat = pd.read_parquet(root / "features/user_category.parquet")
    uit = pd.read_parquet(root / "features/user_item.parquet")
    store = FeatureStore(
        layout=layout, stats=GlobalStats.from_dict(m["global_stats"]),
        user_ids=pd.Index(users["user_id"].astype(str)),
        item_ids=pd.Index(items["item_id"].astype(str)),
        user_static=_read_matrix(users, "static_", np.float32),
        item_static=_read_matrix(items, "static_", np.float32),
        item_numeric=_read_matrix(items, "numeric_", np.float64),
        item_category=items["category"].to_numpy(dtype=np.int64),
        user_totals=_read_matrix(users, "total_", np.float64),
        item_totals=_read_matrix(items, "total_", np.float64),
        uc_keys=ucat["key"].to_numpy(np.int64), uc_totals=_read_matrix(ucat, "total_", np.float64),
        ui_keys=uit["key"].to_numpy(np.int64), ui_totals=_read_matrix(uit, "total_", np.float64),
        user_context=_read_matrix(users, "context_", np.float32),
        latent_user=_read_matrix(users, "latent_", np.float32),
        latent_item=_read_matrix(items, "latent_", np.float32),
    )
    tasks = tuple(TaskSpec(**t) for t in m["tasks"])
    models = ModelSet(root, m["models"])
    names = tuple(m["models"])
    n_u, per = m["candidates"]["n_users"], m["candidates"]["per_user"]
    cand = pd.read_parquet(root / "scores/candidates.parquet")
    test = pd.read_parquet(root / "scores/test.parquet")
    users_t = test["user"].to_numpy(np.int64)
    starts = np.flatnonzero(np.r_[True, users_t[1:] != users_t[:-1]]) if len(test) else users_t
    texp = TestExposures(
        users=users_t, items=test["item"].to_numpy(np.int64),
        timestamps=test["timestamp"].to_numpy(np.int64),
        offsets=np.r_[starts, len(test)].astype(np.int64),
        labels=np.stack([test[f"y_{t.name}"].to_numpy(np.float64) for t in tasks]),
        margins=np.stack([test[f"m_{n}"].to_numpy(np.float32) for n in names]),
    )
    transforms = {t: {k: Transform.from_dict(d) for k, d in kinds.items()}
                  for t, kinds in m["transforms"].items()}
    scores = ScoreTable(
        tasks=tasks, models=names,
        cand_items=cand["item"].to_numpy(np.int32).reshape(n_u, per),
        cand_margins=np.stack([cand[f"m_{n}"].to_numpy(np.float32).reshape(n_u, per)
                               for n in names]),
        test=texp, transforms=transforms,
    )
    tf = pd.read_parquet(root / "features/test_rows.parquet")
    return LoadedArtifacts(
        root=root, manifest=m, store=store, models=models, scores=scores,
        test_features=FeatureFrame(_read_matrix(tf, "f_", np.float32), store.specs),
        users=pd.read_parquet(root / "catalog/users.parquet"),
        items=pd.read_parquet(root / "catalog/items.parquet"),
        history=pd.read_parquet(root / "catalog/history.parquet"),
        cand_source=cand["source"].to_numpy(np.int8).reshape(n_u, per),
    )
