"""The schema of ``manifest.json``: every key typed, and the rules across keys.

:func:`read_manifest` runs before any table or model is parsed: the manifest must be
JSON, an object, of this format version, match :class:`Manifest` whole (strict types, no
unknown keys; only ``metrics`` is free-form JSON) and be consistent across keys, and
every path in it (``files`` keys, ``models.<name>.file``) must be a safe relative path
(:func:`recsys._integrity.path_problem`). The files themselves are checked by
:mod:`recsys._integrity`. Messages name the project by its directory name, never by a
server path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recsys._integrity import RETRAIN, cap_lines, inside, one_line, path_problem, show_value
from recsys.blend import Transform, TransformKind
from recsys.config import ProjectConfig
from recsys.errors import ArtifactError
from recsys.features import FeatureSpec, Layout
from recsys.tasks import TaskSpec

__all__ = ["FORMAT_VERSION", "Manifest", "SweepEntry", "TransformedEntry", "package_version", "project_label", "read_manifest"]

FORMAT_VERSION = 2
"""Version of the saved-project layout; 2 added the schema, required hashes and safe paths."""
_MAX_MANIFEST_BYTES = 64 << 20
_Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_Count = Annotated[int, Field(ge=0)]


def package_version() -> str:
    """Installed Blendscope version."""
    try:
        return version("blendscope")
    except PackageNotFoundError:
        return "0+unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ModelEntry(_Strict):
    """One saved LightGBM model."""

    objective: str
    """LightGBM objective; must be the task's (:attr:`TaskSpec.objective`)."""
    file: str
    """Path of the LightGBM text file, relative to the project directory."""


class GlobalStatsEntry(_Strict):
    """Population rates (see :class:`recsys.features.GlobalStats`)."""

    label_mean: list[float]
    conditional_rate: list[float]
    category_share: list[float]


class CandidatesEntry(_Strict):
    """Shape of the candidate table: ``n_users`` rows of ``per_user`` slots."""

    n_users: _Count
    per_user: Annotated[int, Field(ge=1)]


class DatasetEntry(_Strict):
    """What the project was trained on (no machine paths)."""

    n_users: _Count
    n_items: _Count
    n_exposures: _Count
    time_min: str
    time_max: str
    history_end: str
    val_start: str
    test_start: str
    windows: dict[str, _Count]
    label_rates: dict[str, float]
    fingerprint: str
    item_title: str | None
    item_category: str | None


class EngineEntry(_Strict):
    """Where the models were fitted and the candidates scored (``[engine] kind = "dask"``)."""

    kind: Literal["dask"]
    workers: Annotated[int, Field(ge=1)]
    """Dask workers at training time."""
    threads_per_worker: Annotated[int, Field(ge=1)]
    """Threads of the first worker (LightGBM's ``num_threads`` there)."""


class MetricsEntry(BaseModel):
    """Training metrics.

    ``tasks`` (per-task model metrics), the candidate recall per source, each model's
    trees and the recorded health (checked by ``ModelHealth.from_dict`` when used); other
    keys are free-form.
    """

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    tasks: dict[str, dict[str, Any]]
    candidate_recall: dict[str, float]
    """Share of test positives among the candidates: ``all`` and one per source."""
    trees: dict[str, int]
    """Trees kept by early stopping, per model."""
    health: dict[str, Any] | None = None
    engine: EngineEntry | None = None
    """The Dask cluster used; None: trained in one process (``[engine] kind = "local"``)."""


class SweepEntry(_Strict):
    """The weight sweep computed at save time (read lazily, hashed like every file)."""

    file: str
    """Path of the sweep JSON, relative to the project directory (listed in ``files``)."""
    transform: TransformKind
    k: Annotated[int, Field(ge=1)]
    steps: Annotated[int, Field(ge=1)]
    """Grid steps per unit of weight (``simplex_grid(n_tasks, steps)``)."""


class TransformedEntry(_Strict):
    """The candidates' transformed task scores saved for one transform (memory-mapped)."""

    file: str
    """Path of the float32 ``.npy`` array (n_tasks, n_users, n_cand), listed in ``files``."""
    transform: TransformKind


class Manifest(_Strict):
    """The whole ``manifest.json`` of a saved project (format :data:`FORMAT_VERSION`)."""

    format_version: int
    package_version: str
    created_at: str
    data_fingerprint: str
    config: ProjectConfig
    tasks: list[TaskSpec] = Field(min_length=1)
    models: dict[str, ModelEntry] = Field(min_length=1)
    features: list[FeatureSpec] = Field(min_length=1)
    layout: Layout
    global_stats: GlobalStatsEntry
    transforms: dict[str, dict[TransformKind, Transform]]
    candidates: CandidatesEntry
    dataset: DatasetEntry
    metrics: MetricsEntry
    files: dict[str, _Digest] = Field(min_length=1)
    """Every file of the project (relative path -> SHA-256); the loader opens no other."""
    sweep: SweepEntry | None = None
    """The sweep saved with the project (None: projects saved without one)."""
    transformed: TransformedEntry | None = None
    """The config transform's candidate table, saved (None: computed when first needed)."""


def project_label(path: str | Path) -> str:
    """``"project 'demo'"``: how messages name a project (never by its full path)."""
    p = Path(path)
    return f"project '{p.name or p.resolve().name}'"


def read_manifest(path: str | Path) -> tuple[Manifest, dict[str, Any]]:
    """Read and check ``manifest.json`` of the project at ``path`` (no file is hashed).

    Returns
    -------
    Manifest
        The validated manifest.
    dict
        The parsed JSON (what :attr:`LoadedArtifacts.manifest` holds), with ``config``
        and ``tasks`` as validated (defaults filled in).

    Raises
    ------
    ArtifactError
        One line per problem, each naming the project and the manifest key.
    """
    where = project_label(path)
    root = Path(path).resolve()
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ArtifactError(f"{where}: not a Blendscope project (no manifest.json); train one "
                            "with `recsys train --config FILE --out DIR`")
    if not inside(mpath.resolve(), root):
        raise ArtifactError(f"{where}: manifest.json is a symbolic link to outside the project "
                            f"directory; {RETRAIN}")
    text = _manifest_text(mpath, where)
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        detail = one_line(err)
        raise ArtifactError(f"{where}: manifest.json is unreadable: not valid JSON ({detail}); "
                            f"{RETRAIN}") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"{where}: manifest.json must hold a JSON object, got "
                            f"{_json_kind(raw)}; {RETRAIN}")
    _check_version(raw, where)
    try:
        manifest = Manifest.model_validate_json(text, strict=True)
    except ValidationError as err:
        raise ArtifactError("\n".join(cap_lines([f"{where}: manifest.json: {p}; {RETRAIN}"
                                                 for p in _schema_problems(err)]))) from None
    problems = _consistency(manifest)
    if problems:
        raise ArtifactError("\n".join(cap_lines([f"{where}: manifest.json: {p}; {RETRAIN}"
                                                 for p in problems])))
    # keys left out where the schema has defaults read as those defaults everywhere
    raw["config"] = manifest.config.model_dump(mode="json")
    raw["tasks"] = [t.to_dict() for t in manifest.tasks]
    return manifest, raw


def _manifest_text(mpath: Path, where: str) -> str:
    try:
        if mpath.stat().st_size > _MAX_MANIFEST_BYTES:
            raise ArtifactError(f"{where}: manifest.json is larger than "
                                f"{_MAX_MANIFEST_BYTES >> 20} MiB; {RETRAIN}")
        return mpath.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{where}: manifest.json is not UTF-8 text; {RETRAIN}") from None
    except OSError as err:
        raise ArtifactError(f"{where}: manifest.json cannot be read ({err.strerror}); check "
                            "its permissions") from None


def _check_version(raw: Mapping[str, Any], where: str) -> None:
    if "format_version" not in raw:
        raise ArtifactError(f"{where}: manifest.json: key 'format_version' is missing; "
                            f"{RETRAIN}")
    v = raw["format_version"]
    head = f"{where}: manifest.json: format version {show_value(v)}"
    if isinstance(v, str):
        raise ArtifactError(f"{head} is a string; expected the integer {FORMAT_VERSION}; "
                            f"{RETRAIN}")
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArtifactError(f"{head} is {_json_kind(v)}; expected the integer "
                            f"{FORMAT_VERSION}; {RETRAIN}")
    if v > FORMAT_VERSION:
        raise ArtifactError(f"{where}: written by a newer Blendscope (format {v}); this "
                            f"Blendscope ({package_version()}) reads format {FORMAT_VERSION}; "
                            "upgrade Blendscope")
    if v < FORMAT_VERSION:
        raise ArtifactError(f"{head} is older than this Blendscope reads ({FORMAT_VERSION}); "
                            f"{RETRAIN}")


# -- schema problems as sentences ---------------------------------------------------------
_EXPECTED = {"list_type": "a list", "tuple_type": "a list", "dict_type": "an object",
             "model_type": "an object", "model_attributes_type": "an object",
             "dataclass_type": "an object", "dataclass_args_type": "an object",
             "int_type": "an integer", "float_type": "a number", "string_type": "a string",
             "bool_type": "true or false"}


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_problems(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors(include_url=False):
        loc, kind, value = tuple(e["loc"]), e["type"], e.get("input")
        key = _key(loc)
        if kind == "missing":
            lines.append(f"key '{key}' is missing")
        elif kind in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"unknown key '{key}'")
        elif loc and loc[-1] == "[key]":
            lines.append(f"key '{key}' is not allowed here: {e['msg']}")
        elif kind in _EXPECTED:
            lines.append(f"key '{key}' must be {_EXPECTED[kind]}, got {_json_kind(value)}"
                         f"{_scalar(value)}")
        elif kind in ("too_short", "string_too_short"):
            lines.append(f"key '{key}' must not be empty")
        elif kind == "string_pattern_mismatch":
            lines.append(f"key '{key}' must be a SHA-256 (64 lower-case hex digits), got "
                         f"{show_value(value)}")
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            msg = msg[:1].lower() + msg[1:]
            lines.append(f"key '{key}': {msg} (got {show_value(value)})")
    return lines


def _consistency(m: Manifest) -> list[str]:
    """Cross-key rules the per-key schema cannot express."""
    problems = []
    names = [t.name for t in m.tasks]
    problems += [f"key 'tasks': task name '{n}' is repeated" for n in sorted(set(names))
                 if names.count(n) > 1]
    problems += [f"key 'tasks[{k}].weight' must be a finite number >= 0, got {t.weight}"
                 for k, t in enumerate(m.tasks) if not 0 <= t.weight < float("inf")]
    needed = {name for t in m.tasks for name in t.models()}
    problems += [f"key 'models': task '{n}' needs a model entry 'models.{n}'"
                 for n in sorted(needed - set(m.models))]
    problems += [f"key 'models.{n}' is not a task of the project" for n in m.models
                 if n not in needed]
    problems += [f"key 'models.{t.name}.objective' must be '{t.objective}' (task kind "
                 f"'{t.kind}'), got {show_value(m.models[t.name].objective)}" for t in m.tasks
                 if t.name in m.models and m.models[t.name].objective != t.objective]
    kinds = set(get_args(TransformKind))
    problems += [f"key 'transforms.{n}' must hold the transforms {sorted(kinds)}" for n in names
                 if set(m.transforms.get(n, {})) != kinds]
    feats = [f.name for f in m.features]
    problems += [f"key 'features': feature name '{n}' is repeated" for n in sorted(set(feats))
                 if feats.count(n) > 1]
    problems += _layout_problems(m)
    for rel in m.files:
        bad = path_problem(rel)
        if bad:
            problems.append(f"key 'files': path {show_value(rel)} {bad}")
    extra = {"sweep": m.sweep.file if m.sweep is not None else None,
             "transformed": m.transformed.file if m.transformed is not None else None}
    problems += [f"key '{key}.file': {show_value(rel)} is not listed in 'files'"
                 for key, rel in extra.items() if rel is not None and rel not in m.files]
    for name, entry in m.models.items():
        bad = path_problem(entry.file)
        if bad:
            problems.append(f"key 'models.{name}.file': path {show_value(entry.file)} {bad}")
    return problems


def _layout_problems(m: Manifest) -> list[str]:
    """List where the layout does not fit the tasks or the population rates the layout."""
    lay, stats, problems = m.layout, m.global_stats, []
    n = len(lay.labels)
    if set(lay.labels) != {t.label for t in m.tasks} or len(lay.label_kinds) != n:
        problems.append("key 'layout.labels' / 'layout.label_kinds' must list the tasks' "
                        f"labels, got {show_value(list(lay.labels))}")
    if any(not (0 <= a < n and 0 <= b < n) for a, b in lay.conditional) or \
            not -1 <= lay.primary < n:
        problems.append(f"key 'layout.conditional' / 'layout.primary' must index the {n} "
                        "labels")
    if len(stats.label_mean) != n or len(stats.conditional_rate) != len(lay.conditional) or (
            lay.category_levels and len(stats.category_share) != len(lay.category_levels)):
        problems.append("key 'global_stats' does not fit the layout's labels, conditional "
                        "tasks and categories")
    return problems


# -- small helpers ----------------------------------------------------------------------------
def _json_kind(v: object) -> str:
    if v is None:
        return "null"
    for t, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"),
                    (str, "a string"), (list, "a list"), (dict, "an object")):
        if isinstance(v, t):
            return name
    return type(v).__name__


def _scalar(v: object) -> str:
    plain = isinstance(v, str | int | float) and not isinstance(v, bool)
    return f" {show_value(v)}" if plain else ""
