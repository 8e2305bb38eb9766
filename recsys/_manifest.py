"""The schema of ``manifest.json`` and the integrity rules of a saved project.

Every check here runs before any table or model is parsed:

- the manifest is JSON, an object, of this format version, and matches :class:`Manifest`
  whole (strict types, no unknown keys; only ``metrics`` is free-form JSON);
- every path in it (``files`` keys, ``models.<name>.file``) is relative, normalised,
  free of ``..`` and, symbolic links resolved, inside the project directory;
- every file the loader opens is listed in ``files`` and matches its SHA-256, and the
  bytes that are parsed are the bytes that were hashed (:func:`read_verified`).

Messages name the project by its directory name, never by a server path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recsys.blend import Transform, TransformKind
from recsys.config import ProjectConfig
from recsys.errors import ArtifactError
from recsys.features import FeatureSpec, Layout
from recsys.tasks import TaskSpec

__all__ = ["FORMAT_VERSION", "RETRAIN", "Manifest", "one_line", "package_version",
           "path_problem", "project_label", "read_manifest", "read_verified", "sha256_file",
           "verify_files"]

FORMAT_VERSION = 2
"""Version of the saved-project layout; 2 added the schema, required hashes and safe paths."""
RETRAIN = "retrain the project (`recsys train --config FILE --out DIR`)"
_MAX_MANIFEST_BYTES = 64 << 20
_MAX_LINES = 20
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


class MetricsEntry(BaseModel):
    """Training metrics: free-form JSON except ``tasks`` (per-task model metrics)."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    tasks: dict[str, dict[str, Any]]


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
        The parsed JSON, as written (what :attr:`LoadedArtifacts.manifest` holds).

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
    if not _inside(mpath.resolve(), root):
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
        raise ArtifactError("\n".join(_cap([f"{where}: manifest.json: {p}; {RETRAIN}"
                                            for p in _schema_problems(err)]))) from None
    problems = _consistency(manifest)
    if problems:
        raise ArtifactError("\n".join(_cap([f"{where}: manifest.json: {p}; {RETRAIN}"
                                            for p in problems])))
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
    head = f"{where}: manifest.json: format version {_show(v)}"
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
                         f"{_show(value)}")
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            msg = msg[:1].lower() + msg[1:]
            lines.append(f"key '{key}': {msg} (got {_show(value)})")
    return lines


def _consistency(m: Manifest) -> list[str]:
    """Cross-key rules the per-key schema cannot express."""
    problems = []
    names = [t.name for t in m.tasks]
    problems += [f"key 'tasks': task name '{n}' is repeated" for n in sorted(set(names))
                 if names.count(n) > 1]
    needed = {name for t in m.tasks for name in t.models()}
    problems += [f"key 'models': task '{n}' needs a model entry 'models.{n}'"
                 for n in sorted(needed - set(m.models))]
    problems += [f"key 'models.{n}' is not a task of the project" for n in m.models
                 if n not in needed]
    problems += [f"key 'models.{t.name}.objective' must be '{t.objective}' (task kind "
                 f"'{t.kind}'), got {_show(m.models[t.name].objective)}" for t in m.tasks
                 if t.name in m.models and m.models[t.name].objective != t.objective]
    kinds = set(get_args(TransformKind))
    problems += [f"key 'transforms.{n}' must hold the transforms {sorted(kinds)}" for n in names
                 if set(m.transforms.get(n, {})) != kinds]
    feats = [f.name for f in m.features]
    problems += [f"key 'features': feature name '{n}' is repeated" for n in sorted(set(feats))
                 if feats.count(n) > 1]
    for rel in m.files:
        bad = path_problem(rel)
        if bad:
            problems.append(f"key 'files': path {_show(rel)} {bad}")
    for name, entry in m.models.items():
        bad = path_problem(entry.file)
        if bad:
            problems.append(f"key 'models.{name}.file': path {_show(entry.file)} {bad}")
    return problems


def path_problem(rel: str) -> str | None:
    """Why ``rel`` is not a safe project-relative path (``None`` if it is one)."""
    if not rel:
        return "is empty"
    if "\\" in rel or "\x00" in rel or PureWindowsPath(rel).drive:
        return "must use '/' separators, without a drive or NUL"
    pure = PurePosixPath(rel)
    if pure.is_absolute():
        return "must be relative to the project directory"
    if ".." in pure.parts:
        return "must not contain '..'"
    if pure.as_posix() != rel or "." in rel.split("/"):
        return f"is not normalised; write it as '{pure.as_posix()}'"
    return None


# -- files ----------------------------------------------------------------------------------
def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _locate(root: Path, rel: str) -> Path:
    """The real path of ``rel`` under ``root``; ``ValueError`` saying why it is refused."""
    bad = path_problem(rel)
    if bad:
        raise ValueError(f"path {_show(rel)} {bad}")
    path = root / rel
    real = path.resolve()
    if not _inside(real, root):
        raise ValueError("is a symbolic link to outside the project directory")
    if not path.exists():
        raise ValueError("is missing")
    if not real.is_file():
        raise ValueError("is not a regular file")
    return real


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, as 64 lower-case hex digits."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_files(root: Path, manifest: Manifest, where: str, opened: Iterable[str]) -> None:
    """Check that every file in ``opened`` is listed and every listed file matches its hash.

    Raises
    ------
    ArtifactError
        One line per problem file.
    """
    problems = [f"{where}: file '{rel}' is read by the loader but not listed in "
                f"manifest.json 'files'; {RETRAIN}"
                for rel in dict.fromkeys(opened) if rel not in manifest.files]
    for rel, digest in manifest.files.items():
        try:
            real = _locate(root, rel)
            if sha256_file(real) != digest:
                raise ValueError("does not match its recorded SHA-256 (modified after "
                                 "training)")
        except ValueError as err:
            problems.append(f"{where}: file '{rel}' {err}; {RETRAIN}")
        except OSError as err:
            problems.append(f"{where}: file '{rel}' cannot be read ({err.strerror}); "
                            "check its permissions")
    if problems:
        raise ArtifactError("\n".join(_cap(problems)))


def read_verified(root: Path, files: Mapping[str, str], rel: str, where: str) -> bytes:
    """The bytes of ``rel``, read once and checked against the manifest's SHA-256.

    Parse these bytes (never re-open the file), so what is parsed is what was hashed.
    """
    digest = files.get(rel)
    if digest is None:
        raise ArtifactError(f"{where}: file '{rel}' is not listed in manifest.json 'files'; "
                            f"{RETRAIN}")
    try:
        data = _locate(root, rel).read_bytes()
    except ValueError as err:
        raise ArtifactError(f"{where}: file '{rel}' {err}; {RETRAIN}") from None
    except OSError as err:
        raise ArtifactError(f"{where}: file '{rel}' cannot be read ({err.strerror}); check "
                            "its permissions") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise ArtifactError(f"{where}: file '{rel}' does not match its recorded SHA-256 "
                            f"(modified after loading); {RETRAIN}")
    return data


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
    return f" {_show(v)}" if isinstance(v, str | int | float) and not isinstance(v, bool) else ""


def _show(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def one_line(err: BaseException) -> str:
    """An exception's message on one line, at most 160 characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _cap(lines: list[str]) -> list[str]:
    if len(lines) <= _MAX_LINES:
        return lines
    return [*lines[:_MAX_LINES], f"... and {len(lines) - _MAX_LINES} more problems"]
