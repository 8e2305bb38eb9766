"""The files of a saved project: safe relative paths, SHA-256 checks, verified reads.

Every path a manifest names must be relative, normalised, free of ``..`` and, symbolic
links resolved, inside the project directory, and must be a regular file. Every file the
loader opens is listed in the manifest's ``files`` and matches its SHA-256; the bytes
that are parsed are the bytes that were hashed (:func:`read_verified`). Messages name
the project (``where``), never a server path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from recsys.errors import ArtifactError

__all__ = ["RETRAIN", "cap_lines", "inside", "one_line", "path_problem", "read_verified",
           "sha256_file", "show_value", "verify_files"]

RETRAIN = "retrain the project (`recsys train --config FILE --out DIR`)"
"""The fix every integrity message ends with."""
_MAX_LINES = 20


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


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _locate(root: Path, rel: str) -> Path:
    """Return the real path of ``rel`` under ``root``; ``ValueError`` says why it is refused."""
    bad = path_problem(rel)
    if bad:
        raise ValueError(f"path {show_value(rel)} {bad}")
    path = root / rel
    real = path.resolve()
    if not inside(real, root):
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


def verify_files(root: Path, files: Mapping[str, str], where: str,
                 opened: Iterable[str]) -> None:
    """Check the project's files against the manifest's list.

    Every file in ``opened`` must be listed in ``files`` (relative path -> SHA-256), and
    every listed file must be safe to open and match its hash.

    Raises
    ------
    ArtifactError
        One line per problem file.
    """
    problems = [f"{where}: file '{rel}' is read by the loader but not listed in "
                f"manifest.json 'files'; {RETRAIN}"
                for rel in dict.fromkeys(opened) if rel not in files]
    for rel, digest in files.items():
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
        raise ArtifactError("\n".join(cap_lines(problems)))


def read_verified(root: Path, files: Mapping[str, str], rel: str, where: str) -> bytes:
    """Read the bytes of ``rel`` once and check them against the manifest's SHA-256.

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
                            f"(modified after the project was checked); {RETRAIN}")
    return data


def one_line(err: BaseException) -> str:
    """Return an exception's message on one line, at most 160 characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."



def show_value(v: object) -> str:
    """``repr(v)``, cut to 60 characters."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def cap_lines(lines: list[str]) -> list[str]:
    """At most 20 problem lines, then one saying how many more there are."""
    if len(lines) <= _MAX_LINES:
        return lines
    return [*lines[:_MAX_LINES], f"... and {len(lines) - _MAX_LINES} more problems"]
