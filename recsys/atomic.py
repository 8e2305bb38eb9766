"""Safe outputs: nothing half-written is ever visible, and nothing we do not own is lost.

- :class:`OutputDir` claims an output directory: it refuses paths whose replacement
  would destroy something Blendscope does not own (a user's directory, a file, the
  current directory, the dataset being read), takes an exclusive lock so two writers
  never race, and cleans up what killed runs left behind.
- :meth:`OutputDir.stage` yields an empty temporary sibling; when the block succeeds it
  is swapped into place with one atomic ``renameat2(RENAME_EXCHANGE)``, so there is no
  moment at which the final name is missing. Where the kernel or file system cannot
  exchange (not Linux), two renames are used and the next claim restores a project that
  a kill between them left under ``.<name>.old-*``.
- :func:`write_bytes_atomic` writes one file through a temporary sibling, refusing
  directories, symlinks, devices and missing parents, and keeping an existing file's mode.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import shutil
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from recsys.errors import OutputError

__all__ = ["OutputDir", "check_replaceable", "check_writable_file", "is_project_dir",
           "staged_dir", "write_bytes_atomic"]

OwnerCheck = Callable[[Path], bool]
"""``owned(path) -> bool``: is this existing, non-empty directory ours to replace?"""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def is_project_dir(path: Path) -> bool:
    """Tell whether ``path`` holds a Blendscope project (a ``manifest.json`` we wrote)."""
    manifest = path / "manifest.json"
    if not manifest.is_file() or manifest.is_symlink():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data and "package_version" in data


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_replaceable(out: Path, *, protect: Iterable[Path] = (),
                      owned: OwnerCheck = is_project_dir, what: str = "project") -> None:
    """Refuse an output directory whose replacement would destroy what we do not own.

    Allowed: a path that does not exist, an empty directory, or a directory ``owned``
    recognises (by default, an earlier Blendscope project).

    Parameters
    ----------
    out : Path
        The directory about to be written or replaced.
    protect : iterable of Path
        Paths that must survive (the config and data files being read): ``out`` may be
        neither one of them nor an ancestor of one.
    owned : callable
        Recognises a directory that may be replaced.
    what : str
        What ``out`` will hold, for messages ("project", "dataset").

    Raises
    ------
    OutputError
        Naming the path, why it is refused and what to do instead.
    """
    if not str(out):
        raise OutputError("output path is empty; name a new directory, e.g. artifacts/demo")
    if out.is_symlink():
        raise OutputError(f"{out}: is a symbolic link; name a real directory for the {what}")
    target = out.resolve()
    if target == Path(target.anchor):
        raise OutputError(f"{out}: is the file-system root; name a new directory")
    cwd = Path.cwd().resolve()
    if _is_within(cwd, target):
        raise OutputError(f"{out}: is the current directory or one of its parents; "
                          f"name a new directory for the {what}, e.g. artifacts/demo")
    home = Path.home().resolve()
    if target == home:
        raise OutputError(f"{out}: is your home directory; name a new directory")
    for p in protect:
        kept = Path(p).resolve()
        if _is_within(kept, target):
            raise OutputError(f"{out}: holds {p}, which this run reads; choose an output "
                              f"directory outside the dataset")
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{out}: exists and is not a directory; nothing was changed — "
                          f"choose another path for the {what}")
    try:
        entries = sorted(x.name for x in target.iterdir())
    except OSError as err:
        raise OutputError(f"{out}: cannot be listed ({err.strerror})") from None
    if entries and not owned(target):
        shown = ", ".join(entries[:4]) + (" …" if len(entries) > 4 else "")
        raise OutputError(f"{out}: directory is not empty and is not a previous Blendscope {what} "
                          f"(holds {shown}); nothing was changed — choose a new or empty "
                          "directory")


@functools.cache
def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; ``False`` where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


class OutputDir:
    """An output directory claimed for writing: checked, locked, leftovers cleaned.

    Use as a context manager; the lock (``.<name>.lock`` beside the directory, holding
    the writer's pid) is held until the block ends, so a second writer fails at once
    with :class:`OutputError` instead of racing. Then call :meth:`stage`.

    Parameters
    ----------
    out : str or Path
        The directory to write.
    protect, owned, what
        As in :func:`check_replaceable`.
    """

    def __init__(self, out: str | Path, *, protect: Iterable[Path] = (),
                 owned: OwnerCheck = is_project_dir, what: str = "project") -> None:
        if not str(out):
            raise OutputError("output path is empty; name a new directory, e.g. artifacts/demo")
        self.path = Path(out).absolute()
        self.display = str(out)
        self.protect = tuple(Path(p) for p in protect)
        self.owned = owned
        self.what = what
        self._fd: int | None = None

    # -- locking -------------------------------------------------------------------------
    @property
    def _lock_path(self) -> Path:
        return self.path.parent / f".{self.path.name}.lock"

    def _acquire(self) -> None:
        import fcntl

        while True:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                writer = "training" if self.what == "project" else self.what
                raise OutputError(f"another {writer} is writing {self.display} "
                                  f"(pid {holder}); wait for it to finish or choose another "
                                  "output") from None
            # the lock file may have been removed by the previous holder between our open
            # and our flock: then we hold a lock nobody else can see, so try again
            try:
                same = os.fstat(fd).st_ino == os.stat(self._lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
                self._fd = fd
                return
            os.close(fd)

    def _release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self._lock_path.unlink()
        os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> OutputDir:
        check_replaceable(self.path, protect=self.protect, owned=self.owned, what=self.what)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            self._recover()
            check_replaceable(self.path, protect=self.protect, owned=self.owned,
                              what=self.what)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._release()

    # -- leftovers of killed runs ----------------------------------------------------------
    def _leftovers(self, kind: str) -> list[Path]:
        prefix = f".{self.path.name}.{kind}-"
        return sorted((p for p in self.path.parent.iterdir()
                       if p.name.startswith(prefix) and p.is_dir() and not p.is_symlink()),
                      key=lambda p: p.stat().st_mtime_ns)

    def _recover(self) -> None:
        """Recover from a killed writer; call under the lock.

        Put back a project that a killed two-rename swap left aside, then delete stale
        temporary directories (no other writer can be using them).
        """
        olds = self._leftovers("old")
        if not self.path.exists() and olds:
            os.rename(olds.pop(), self.path)
        for p in [*olds, *self._leftovers("tmp")]:
            shutil.rmtree(p, ignore_errors=True)

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(self) -> Iterator[Path]:
        """Yield an empty temporary sibling; on success swap it into place atomically.

        On an error the temporary directory is removed and the old content is untouched.
        """
        if self._fd is None:
            raise OutputError(f"{self.display}: stage() needs the claim; use "
                              "`with OutputDir(...) as out, out.stage() as tmp:`")
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.tmp-", dir=self.path.parent))
        try:
            os.chmod(tmp, 0o777 & ~_umask())
            yield tmp
            check_replaceable(self.path, protect=self.protect, owned=self.owned,
                              what=self.what)
            self._swap(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _swap(self, tmp: Path) -> None:
        if not self.path.exists():
            os.rename(tmp, self.path)
            return
        if _exchange(tmp, self.path):
            return  # tmp now holds the old content; the caller's finally removes it
        old = self.path.with_name(f".{self.path.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(self.path, old)
        try:
            os.rename(tmp, self.path)
        except OSError:
            os.rename(old, self.path)
            raise
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(out: str | Path, *, claim: OutputDir | None = None,
               protect: Iterable[Path] = (), owned: OwnerCheck = is_project_dir,
               what: str = "project") -> Iterator[Path]:
    """Yield an empty temporary sibling of ``out`` and swap it into place on success.

    With ``claim`` (an entered :class:`OutputDir` for ``out``) the caller already holds
    the lock, e.g. across a long training; otherwise ``out`` is claimed for the block.
    """
    if claim is not None:
        with claim.stage() as tmp:
            yield tmp
        return
    with OutputDir(out, protect=protect, owned=owned, what=what) as own, own.stage() as tmp:
        yield tmp


def _umask() -> int:
    """Return the process umask, read without changing it.

    ``os.umask`` would race other threads' file creation in a multi-session server.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def check_writable_file(path: str | Path) -> Path:
    """Check a file output path; return it as a ``Path``.

    Refuses a path that is empty, a directory, a symlink, a device or other special file,
    or whose parent directory does not exist.

    Raises
    ------
    OutputError
        Naming the path and the fix.
    """
    if not str(path):
        raise OutputError("output path is empty; name a file, e.g. report.html")
    p = Path(path)
    if p.is_symlink():
        raise OutputError(f"{path}: is a symbolic link; write to a regular file instead")
    if p.is_dir():
        raise OutputError(f"{path}: is a directory; name a file inside it, e.g. "
                          f"{p / 'report.html'}")
    if p.exists() and not stat.S_ISREG(p.stat().st_mode):
        raise OutputError(f"{path}: is a device or special file, not a regular file; "
                          "name a regular file")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: directory '{parent}' does not exist; create it first")
    return p


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary sibling file, then rename it to ``path``.

    A new file gets the usual mode (0666 less the umask); an existing regular file keeps
    its mode. Directories, symlinks, devices and missing parents are refused
    (:func:`check_writable_file`).
    """
    p = check_writable_file(path)
    mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
