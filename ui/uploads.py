"""Check an uploaded dataset before anything is written: the config may name only the
files uploaded with it (no Streamlit here).

On a shared server the uploaded ``config.toml`` is untrusted: a path such as
``/etc/passwd`` or ``../other/x.parquet`` would make the server read, validate (printing
example values) and train on a file of its own. :func:`check_upload` refuses any data
path that is absolute, leaves the upload folder (``..``) or whose base name is
not among the uploaded files, and reports undecodable or invalid TOML as problems
naming the uploaded file, never a server path.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from recsys.config import ProjectConfig, parse_config
from recsys.errors import SchemaError

__all__ = ["CheckedUpload", "check_upload", "safe_name", "scrub"]

_KEYS = ("interactions", "users", "items")


@dataclass(frozen=True, slots=True)
class CheckedUpload:
    """An uploaded config whose data paths all name uploaded files."""

    config: ProjectConfig
    """The parsed configuration."""
    files: Mapping[str, str]
    """``{path as written in the config: uploaded file name}``."""


def safe_name(name: str) -> str | None:
    """The base name of an uploaded file, or ``None`` if it is unusable (empty, ``.``,
    ``..`` or hidden)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return base if base and not base.startswith(".") else None


def _refusal(value: str, base: str, names: Collection[str]) -> str | None:
    """Why a config path cannot name an upload (``None`` if it may)."""
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() \
            or PureWindowsPath(value).drive:
        return "is an absolute path, not"
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        return "points outside the upload folder, not"
    return None if base in names else "is not"


def check_upload(config_name: str, config_bytes: bytes,
                 uploaded: Collection[str]) -> CheckedUpload:
    """Parse an uploaded ``config.toml`` and map its data paths to uploaded files.

    Parameters
    ----------
    config_name : str
        How messages name the config (the uploaded file's name).
    config_bytes : bytes
        The config file's content.
    uploaded : collection of str
        Base names of the data files uploaded with it.

    Returns
    -------
    CheckedUpload
        The configuration and which uploaded file each data path names (matched by
        base name, so ``data/items.csv`` names an uploaded ``items.csv``).

    Raises
    ------
    SchemaError
        One line per problem: not UTF-8, not TOML, not the schema, or a data path
        that is absolute, leaves the folder or names no uploaded file.
    """
    try:
        text = config_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SchemaError(f"{config_name}: is not UTF-8 text (undecodable byte at offset "
                          f"{err.start}); save it as UTF-8 and upload it again") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SchemaError(f"{config_name}: not valid TOML: {err}") from None
    config = parse_config(raw, source=config_name)
    names = sorted(set(uploaded))
    listed = ", ".join(names) or "none"
    files, problems = {}, []
    for key in _KEYS:
        value = getattr(config.data, key)
        if value is None:
            continue
        base = PurePosixPath(value.replace("\\", "/")).name
        why = _refusal(value, base, names)
        if why is None:
            files[value] = base
        else:
            problems.append(f"{config_name}: data.{key} = {value!r} {why} one of the uploaded "
                            f"files ({listed}); name an uploaded file")
    if problems:
        raise SchemaError(problems)
    return CheckedUpload(config=config, files=files)


def scrub(message: str, folder: Path) -> str:
    """``message`` with the server folder ``folder`` (and its resolved form) cut out, so
    paths read as the uploaded names (``/tmp/x/config.toml`` -> ``config.toml``)."""
    for prefix in {str(folder.resolve()), str(folder)}:
        message = message.replace(prefix + "/", "").replace(prefix, "the upload")
    return message
