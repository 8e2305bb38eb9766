"""Write a tuned copy of ``config.toml``: the original's settings with new ``[task.model]`` values.

The original is never replaced: the output must be another regular file (not a
directory, a symlink, the config itself or one of its data files). Data paths are
rewritten relative to the new file's directory so they still name the same files, and
the text is checked with :func:`recsys.config.load_config` before it is put in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys._toml import dumps_toml
from recsys.atomic import check_writable_file, write_bytes_atomic
from recsys.config import load_config
from recsys.errors import OutputError, SchemaError

if TYPE_CHECKING:
    from recsys.tune import TuneResult

__all__ = ["check_tuned_output", "write_tuned_config"]

_DATA_FILES = ("interactions", "users", "items")


def _data_files(config: Path) -> list[Path]:
    """Return the resolved paths of the config's data files (none if it cannot be read)."""
    try:
        data = load_config(config).data
    except SchemaError:
        return []
    root = config.resolve().parent
    return [(root / rel).resolve() for rel in (data.interactions, data.users, data.items) if rel]


def check_tuned_output(config_path: str | Path, out_path: str | Path) -> Path:
    """Check where a tuned config is to be written; return it as a ``Path``.

    Refuses an output that would replace the config, one of its data files, a directory,
    a symlink or a device.

    Raises
    ------
    OutputError
        Naming the path and the fix.
    """
    config, out = Path(config_path), check_writable_file(out_path)
    if out.resolve() == config.resolve() or (out.exists() and config.exists()
                                             and os.path.samefile(out, config)):
        raise OutputError(f"{out}: is the config being tuned; write the tuned config to a new "
                          "file, e.g. --out tuned.toml, and keep the original")
    if out.resolve() in _data_files(config):
        raise OutputError(f"{out}: is a data file of {config}; write the tuned config to a "
                          "new file, e.g. tuned.toml")
    return out


def _moved_paths(data: dict[str, Any], src_dir: Path, dst_dir: Path) -> dict[str, Any]:
    """Rewrite ``[data]``'s relative file paths to name the same files from ``dst_dir``."""
    out = dict(data)
    for key in _DATA_FILES:
        rel = data.get(key)
        if not isinstance(rel, str) or Path(rel).is_absolute() or src_dir == dst_dir:
            continue
        target = (src_dir / rel).resolve()
        try:
            out[key] = Path(os.path.relpath(target, dst_dir)).as_posix()
        except ValueError:  # another drive (Windows): no relative path exists
            out[key] = target.as_posix()
    return out


def _updated(raw: dict[str, Any], result: TuneResult) -> dict[str, Any]:
    """Put every tuned task's changed settings into its ``[task.model]`` of the config."""
    changed = {t.task: t.changed() for t in result.tasks}
    tasks = []
    for entry in raw.get("task", []):
        new = changed.get(entry.get("name"), {})
        if new:
            entry = {**entry, "model": {**entry.get("model", {}),
                                        **{k: after for k, (_, after) in new.items()}}}
        tasks.append(entry)
    return {**raw, "task": tasks}


def _header(text: str, config: Path, result: TuneResult) -> str:
    """Return the original's leading comment lines and a note on where the file came from."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    lines.append(f"# Tuned by `recsys tune` from {config.name} (budget {result.budget_seconds:g}"
                 f" s, seed {result.seed}); comments of the original are not kept.")
    return "\n".join(lines) + "\n"


def _verified(text: str, out: Path, data_before: list[Path]) -> None:
    """Load ``text`` as a config file beside ``out``; its data paths must name the same files."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.check-", suffix=".toml", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        load_config(tmp)
        if _data_files(Path(tmp)) != data_before:
            raise SchemaError(f"{out}: the rewritten data paths do not name the original data "
                              "files; write the tuned config next to the original")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_tuned_config(result: TuneResult, config_path: str | Path,
                       out_path: str | Path) -> Path:
    """Write ``config_path`` with the tuned ``[task.model]`` settings to ``out_path``.

    Every other setting of the original is kept; only settings whose tuned value differs
    from the config's are written. Relative data paths are rewritten so they still name
    the same files from the new location. The file is checked and then written
    atomically; the original is never touched.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        If ``out_path`` is the config itself, one of its data files, a directory, a
        symlink, a device or in a missing directory.
    SchemaError
        If the config changed since it was tuned, or names tasks the result lacks.
    """
    config = Path(config_path)
    out = check_tuned_output(config, out_path)
    load_config(config)
    data = config.read_bytes()
    if result.config_digest and hashlib.sha256(data).hexdigest() != result.config_digest:
        raise SchemaError(f"{config}: the file changed since it was tuned; tune it again "
                          "before writing the tuned config")
    text = data.decode("utf-8-sig")
    raw = tomllib.loads(text)
    names = {t.get("name") for t in raw.get("task", [])}
    missing = [t.task for t in result.tasks if t.task not in names]
    if missing:
        raise SchemaError(f"{config}: tuned task(s) {', '.join(missing)} are not in this config; "
                          "write the result with the config it was tuned on")
    new = _updated(raw, result)
    new["data"] = _moved_paths(raw["data"], config.resolve().parent, out.resolve().parent)
    body = _header(text, config, result) + dumps_toml(new)
    if tomllib.loads(body) != new:  # the writer must give back exactly what it was handed
        raise SchemaError(f"{out}: the tuned config did not read back as written; this is a "
                          "bug, please report it with the config")
    _verified(body, out, _data_files(config))
    return write_bytes_atomic(out, body.encode("utf-8"))
