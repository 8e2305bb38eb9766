"""A corpus of malformed saved projects, each made in code from a valid one.

``CASES`` lists :class:`Case` ``(name, breaker, expect)``: ``breaker(project_dir)``
damages a copy of a valid project in place, and ``expect`` is a regular expression the
load error must match (it names the problem). :func:`make` copies a project and breaks
the copy. Some breakers recompute the damaged file's SHA-256 in the manifest, as someone
editing a file on purpose would, so that the checks after the hash have to catch it.

Used by ``tests/recsys/test_artifact_integrity.py`` (library and CLI) and
``tests/ui/test_malformed_projects_ui.py`` (dashboard).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["CASES", "Case", "make"]


class Case(NamedTuple):
    """One way to break a project."""

    name: str
    """Directory name of the broken project (also the test id)."""
    breaker: Callable[[Path], None]
    """Damages the project directory it is given, in place."""
    expect: str
    """Regular expression the ``ArtifactError`` message must match."""


def make(valid: Path, dest_root: Path, case: Case) -> Path:
    """Copy the project ``valid`` to ``dest_root / case.name`` and break the copy."""
    dest = dest_root / case.name
    shutil.copytree(valid, dest, symlinks=True)
    case.breaker(dest)
    return dest


# -- helpers --------------------------------------------------------------------------------
def _manifest(d: Path) -> dict[str, Any]:
    return json.loads((d / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _write_manifest(d: Path, m: object) -> None:
    (d / "manifest.json").write_text(json.dumps(m, indent=2), encoding="utf-8")


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    """A breaker that edits the parsed manifest."""

    def breaker(d: Path) -> None:
        m = _manifest(d)
        change(m)
        _write_manifest(d, m)

    return breaker


def _rehash(d: Path, rel: str) -> None:
    """Record the current SHA-256 of ``rel`` in the manifest (a deliberate edit)."""
    m = _manifest(d)
    m["files"][rel] = hashlib.sha256((d / rel).read_bytes()).hexdigest()
    _write_manifest(d, m)


def _flip(rel: str) -> Callable[[Path], None]:
    """Flip one byte in the middle of ``rel`` (hash left as it was)."""

    def breaker(d: Path) -> None:
        data = bytearray((d / rel).read_bytes())
        data[len(data) // 2] ^= 0x55
        (d / rel).write_bytes(bytes(data))

    return breaker


def _rewrite(rel: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """Replace ``rel``'s bytes by ``change(bytes)`` and recompute its hash."""

    def breaker(d: Path) -> None:
        (d / rel).write_bytes(change((d / rel).read_bytes()))
        _rehash(d, rel)

    return breaker


def _table(rel: str, change: Callable[[pa.Table], pa.Table]) -> Callable[[Path], None]:
    """Rewrite the Parquet table ``rel`` as ``change(table)`` and recompute its hash."""

    def edit(data: bytes) -> bytes:
        out = io.BytesIO()
        pq.write_table(change(pq.read_table(io.BytesIO(data))), out)
        return out.getvalue()

    return _rewrite(rel, edit)


def _array(rel: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    """Rewrite the ``.npy`` array ``rel`` as ``change(array)`` and recompute its hash."""

    def edit(data: bytes) -> bytes:
        out = io.BytesIO()
        np.save(out, change(np.load(io.BytesIO(data))), allow_pickle=True)
        return out.getvalue()

    return _rewrite(rel, edit)


def _replace_column(name: str, values: Callable[[pa.Table], pa.Array]) -> Callable[
        [pa.Table], pa.Table]:
    def change(t: pa.Table) -> pa.Table:
        return t.set_column(t.column_names.index(name), name, values(t))

    return change


def _delete(rel: str) -> Callable[[Path], None]:
    def breaker(d: Path) -> None:
        (d / rel).unlink()

    return breaker


def _raw(text: str) -> Callable[[Path], None]:
    def breaker(d: Path) -> None:
        (d / "manifest.json").write_text(text, encoding="utf-8")

    return breaker


def _symlink_outside(d: Path) -> None:
    """``models/click.txt`` becomes a link to an identical copy outside the project (the
    hash still matches: the link itself must be refused)."""
    outside = d.parent / f".{d.name}-outside.txt"
    shutil.copyfile(d / "models/click.txt", outside)
    (d / "models/click.txt").unlink()
    os.symlink(outside, d / "models/click.txt")


def _garbage_model(data: bytes) -> bytes:
    """Shift the first tree by one byte so ``tree_sizes`` no longer fits: LightGBM's
    parallel tree parser calls ``std::terminate`` on it (exit code 134)."""
    return data.replace(b"\nTree=0\n", b"\nTree=0\n\n", 1)


def _set(keys: tuple[str, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        for k in keys[:-1]:
            m = m[k]
        m[keys[-1]] = value

    return change


def _pop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        for k in keys[:-1]:
            m = m[k]
        del m[keys[-1]]

    return change


def _to_dict(key: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m[key] = {str(i): v for i, v in enumerate(m[key])}

    return change


def _to_list(key: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m[key] = sorted(m[key])

    return change


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m[new] = m.pop(old)

    return change


def _rename_file(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m["files"][new] = m["files"].pop(old)

    return change


_SHA = "does not match its recorded SHA-256"
_MODEL = r"file 'models/click\.txt' is not a valid LightGBM model"

CASES: tuple[Case, ...] = (
    # damaged files, hashes untouched
    Case("model_byte_flip", _flip("models/click.txt"), rf"file 'models/click\.txt' {_SHA}"),
    Case("parquet_byte_flip", _flip("scores/test.parquet"),
         rf"file 'scores/test\.parquet' {_SHA}"),
    Case("npy_byte_flip", _flip("scores/cand_margins.npy"),
         rf"file 'scores/cand_margins\.npy' {_SHA}"),
    Case("sweep_byte_flip", _flip("scores/sweep.json"), rf"file 'scores/sweep\.json' {_SHA}"),
    Case("missing_model", _delete("models/purchase.txt"), r"'models/purchase\.txt' is missing"),
    Case("missing_table", _delete("catalog/history.parquet"),
         r"'catalog/history\.parquet' is missing"),
    # the manifest itself
    Case("manifest_not_json", _raw("{not json"), r"manifest\.json is unreadable: not valid JSON"),
    Case("manifest_empty", _raw(""), r"manifest\.json is unreadable: not valid JSON"),
    Case("manifest_is_list", _raw("[1, 2, 3]"), r"must hold a JSON object, got a list"),
    Case("version_string", _edit(_set(("format_version",), "1")),
         r"format version '1' is a string; expected the integer 2"),
    Case("version_future", _edit(_set(("format_version",), 3)),
         r"newer Blendscope \(format 3\).*upgrade Blendscope"),
    Case("version_old", _edit(_set(("format_version",), 1)),
         r"format version 1 is older .*retrain the project"),
    Case("version_missing", _edit(_pop("format_version")), r"key 'format_version' is missing"),
    Case("version_boolean", _edit(_set(("format_version",), True)),
         r"format version True is a boolean"),
    Case("tasks_dict", _edit(_to_dict("tasks")), r"key 'tasks' must be a list, got an object"),
    Case("files_list", _edit(_to_list("files")), r"key 'files' must be an object, got a list"),
    Case("layout_missing", _edit(_pop("layout")), r"key 'layout' is missing"),
    Case("dataset_missing", _edit(_pop("dataset")), r"key 'dataset' is missing"),
    Case("transforms_typo", _edit(_rename("transforms", "transfroms")),
         r"unknown key 'transfroms'"),
    Case("task_kind_bad", _edit(_set(("tasks", 0, "kind"), "classify")),
         r"key 'tasks\[0\]\.kind'"),
    Case("objective_mismatch", _edit(_set(("models", "click", "objective"), "regression")),
         r"key 'models\.click\.objective' must be 'binary'"),
    Case("hash_not_hex", _edit(_set(("files", "models/click.txt"), "abc")),
         r"key 'files\.models/click\.txt' must be a SHA-256"),
    # the list of hashes
    Case("files_deleted", _edit(_pop("files")), r"key 'files' is missing"),
    Case("files_empty", _edit(_set(("files",), {})), r"key 'files' must not be empty"),
    Case("model_unlisted", _edit(_pop("files", "models/click.txt")),
         r"file 'models/click\.txt' is read by the loader but not listed"),
    Case("table_unlisted", _edit(_pop("files", "scores/test.parquet")),
         r"file 'scores/test\.parquet' is read by the loader but not listed"),
    # paths
    Case("model_path_absolute", _edit(_set(("models", "click", "file"), "/etc/passwd")),
         r"key 'models\.click\.file': path '/etc/passwd' must be relative"),
    Case("model_path_parent", _edit(_set(("models", "click", "file"), "../x")),
         r"key 'models\.click\.file': path '\.\./x' must not contain '\.\.'"),
    Case("files_path_not_normalised", _edit(_rename_file("models/click.txt",
                                                         "./models/click.txt")),
         r"path '\./models/click\.txt' is not normalised"),
    Case("symlink_outside", _symlink_outside,
         r"file 'models/click\.txt' is a symbolic link to outside the project"),
    # deliberate edits with recomputed hashes
    Case("garbage_parquet_rehashed",
         _rewrite("features/items.parquet", lambda b: b"PAR1" + bytes(range(256)) * 8 + b"PAR1"),
         r"file 'features/items\.parquet' is not a readable Parquet table"),
    Case("garbage_model_rehashed", _rewrite("models/click.txt", _garbage_model),
         rf"{_MODEL}: 'tree_sizes' add up to"),
    Case("model_text_garbage_rehashed", _rewrite("models/click.txt",
                                                 lambda b: b"this is not a model\n" * 50),
         rf"{_MODEL}: it does not start with LightGBM's 'tree' line"),
    Case("truncated_model_rehashed", _rewrite("models/click.txt", lambda b: b[: len(b) // 2]),
         rf"{_MODEL}: it has no trees or no 'end of trees' line"),
    Case("model_features_renamed_rehashed",
         _rewrite("models/click.txt", lambda b: b.replace(b"user_click_rate", b"user_clack_rate")),
         rf"{_MODEL}: .* feature \d+ is 'user_clack_rate' in the model but 'user_click_rate'"),
    Case("candidates_row_count_rehashed", _array("scores/cand_items.npy", lambda a: a[:-1]),
         r"file 'scores/cand_items\.npy' has shape \(\d+, \d+\), expected \(\d+, \d+\)"),
    Case("candidates_item_strings_rehashed",
         _array("scores/cand_items.npy", lambda a: a.astype(str)),
         r"file 'scores/cand_items\.npy' holds <U\d+ values, expected int32"),
    Case("candidates_item_out_of_range_rehashed",
         _array("scores/cand_items.npy", lambda a: a + 10**6),
         r"file 'scores/cand_items\.npy' has values outside -1\.\.\d+"),
    Case("candidates_pickled_rehashed",
         _array("scores/cand_margins.npy", lambda a: a.astype(object)),
         r"file 'scores/cand_margins\.npy' is not a readable \.npy array"),
    Case("test_item_out_of_range_rehashed",
         _table("scores/test.parquet", _replace_column(
             "item", lambda t: pa.array([10**6] * t.num_rows, pa.int64()))),
         r"file 'scores/test\.parquet' has values outside 0\.\.\d+ in column 'item'"),
    Case("test_column_missing_rehashed",
         _table("scores/test.parquet", lambda t: t.drop_columns(["m_click"])),
         r"file 'scores/test\.parquet' has no column 'm_click'"),
)
