"""Atomic writes: nothing half-written is ever visible under the final name."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["staged_dir", "write_bytes_atomic"]


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``out``; when the block ends without error,
    swap it into place of ``out`` (an older ``out`` is replaced, and put back if the swap
    fails). The temporary directory never outlives the block."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)
        yield tmp
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        if out.exists():
            os.replace(out, old)
        try:
            os.replace(tmp, out)
        except OSError:
            if old.exists():
                os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary sibling file, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
