"""The project log: analysts' feedback flags and the history of trainings, in SQLite.

One database per project, ``<name>.log.sqlite`` beside the project directory
(``artifacts/demo`` -> ``artifacts/demo.log.sqlite``): outside the hashed artifact set,
so retraining (which replaces the directory) keeps it. Both tables are append-only
(triggers refuse UPDATE and DELETE): clearing a flag appends a ``clear`` entry, and the
latest entry of a (user, item) pair is the one in force. WAL mode and a busy timeout
let several dashboard sessions and CLI calls write at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from recsys.errors import OutputError, SchemaError

__all__ = ["FLAG_KINDS", "EXCLUDING_KINDS", "Flag", "FlagSet", "ProjectLog", "RunEntry",
           "config_hash", "log_path"]

FlagKind = Literal["bad", "irrelevant", "good", "clear"]
FLAG_KINDS: tuple[str, ...] = ("bad", "irrelevant", "good", "clear")
"""``clear`` withdraws the flag in force for the same (user, item)."""
EXCLUDING_KINDS: frozenset[str] = frozenset({"bad", "irrelevant"})
"""Flags that keep an item out of lists and out of the next training's candidates."""
EVERY_USER = ""
"""Stored user id of a flag on an item for every user ("never recommend")."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    user_id TEXT NOT NULL,          -- '' = every user
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bad', 'irrelevant', 'good', 'clear')),
    note TEXT NOT NULL DEFAULT '',
    weights TEXT NOT NULL DEFAULT '{}',
    transform TEXT NOT NULL DEFAULT '',
    scenario TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS flags_pair ON flags (user_id, item_id, id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    package_version TEXT NOT NULL,
    metrics TEXT NOT NULL,
    warnings TEXT NOT NULL,
    summary TEXT NOT NULL,
    importance TEXT NOT NULL DEFAULT '{}',
    topk BLOB
);
CREATE TRIGGER IF NOT EXISTS flags_append_only_u BEFORE UPDATE ON flags
BEGIN SELECT RAISE(ABORT, 'flags are append-only'); END;
CREATE TRIGGER IF NOT EXISTS flags_append_only_d BEFORE DELETE ON flags
BEGIN SELECT RAISE(ABORT, 'flags are append-only'); END;
CREATE TRIGGER IF NOT EXISTS runs_append_only_u BEFORE UPDATE ON runs
BEGIN SELECT RAISE(ABORT, 'runs are append-only'); END;
CREATE TRIGGER IF NOT EXISTS runs_append_only_d BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'runs are append-only'); END;
"""


def log_path(project_dir: str | Path) -> Path:
    """Return the log path of a project directory, ``<parent>/<name>.log.sqlite``.

    Symlinks are resolved, so every path to one project finds the same log.
    """
    p = Path(project_dir).resolve()
    return p.parent / f"{p.name}.log.sqlite"


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of a config, keys sorted."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Flag:
    """One entry of the flag log."""

    id: int
    created_at: str
    user_id: str | None
    """``None`` for a flag on the item for every user."""
    item_id: str
    kind: str
    note: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)
    transform: str = ""
    scenario: str = ""
    source: str = ""
    """Where it was set: ``dashboard``, ``cli`` or ``api``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "created_at": self.created_at, "user_id": self.user_id,
                "item_id": self.item_id, "kind": self.kind, "note": self.note,
                "weights": dict(self.weights), "transform": self.transform,
                "scenario": self.scenario, "source": self.source}


@dataclass(frozen=True, slots=True)
class FlagSet:
    """The flags in force: the latest entry of each (user, item), ``clear`` dropped."""

    flags: tuple[Flag, ...]

    def excluded_pairs(self) -> set[tuple[str, str]]:
        """(user, item) pairs flagged ``bad`` or ``irrelevant`` for one user."""
        return {(f.user_id, f.item_id) for f in self.flags
                if f.user_id is not None and f.kind in EXCLUDING_KINDS}

    def excluded_items(self) -> set[str]:
        """Items flagged ``bad`` or ``irrelevant`` for every user."""
        return {f.item_id for f in self.flags if f.user_id is None and f.kind in EXCLUDING_KINDS}

    def excluded_for(self, user_id: str) -> set[str]:
        """Items never to show ``user_id``."""
        return self.excluded_items() | {i for u, i in self.excluded_pairs() if u == user_id}

    def exclusion_mask(self, user_ids: Sequence[str], item_codes: Mapping[str, int],
                       cand_items: NDArray[np.integer]) -> NDArray[np.bool_]:
        """(n_users, n_cand) ``True`` where a candidate is flagged out for its user.

        ``user_ids`` are the rows of ``cand_items`` (item codes); ``item_codes`` maps
        item ids to codes (unknown ids are ignored: flags may outlive a catalogue).
        """
        mask = np.zeros(cand_items.shape, dtype=bool)
        every = [item_codes[i] for i in self.excluded_items() if i in item_codes]
        if every:
            mask |= np.isin(cand_items, np.asarray(every))
        row = {u: r for r, u in enumerate(user_ids)}
        for u, i in self.excluded_pairs():
            r, c = row.get(u), item_codes.get(i)
            if r is not None and c is not None:
                mask[r] |= cand_items[r] == c
        return mask

    def __len__(self) -> int:
        return len(self.flags)


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One training, as recorded in the run log."""

    run_id: str
    created_at: str
    data_fingerprint: str
    config_hash: str
    package_version: str
    metrics: Mapping[str, Any]
    """The manifest's metrics (per-task metrics, baselines, CIs, curves)."""
    warnings: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Any]
    """Small facts: rows, users, items, candidates per user, project directory."""
    importance: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per task: each feature's share of the model's total split gain."""
    top_k: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Each user's top-K item ids at the config weights when the run was trained."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"run_id": self.run_id, "created_at": self.created_at,
                "data_fingerprint": self.data_fingerprint, "config_hash": self.config_hash,
                "package_version": self.package_version, "metrics": dict(self.metrics),
                "warnings": [dict(w) for w in self.warnings], "summary": dict(self.summary),
                "importance": {t: dict(v) for t, v in self.importance.items()}}


class ProjectLog:
    """Flags and runs of one project (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The SQLite file (use :func:`log_path` for a project directory). It is created,
        with its parent directory, on the first write.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, project_dir: str | Path) -> ProjectLog:
        """Open the log beside a project directory."""
        return cls(log_path(project_dir))

    @contextlib.contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            raise OutputError(f"{self.path}: project log is not a regular file; move it away")
        if not write and not self.path.exists():
            con = sqlite3.connect(":memory:")
        else:
            if not self.path.parent.is_dir():
                raise OutputError(f"{self.path}: directory '{self.path.parent}' does not exist")
            con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
        try:
            con.executescript(_SCHEMA)
            yield con
        except sqlite3.DatabaseError as err:
            raise OutputError(f"{self.path}: project log cannot be used ({err}); move it "
                              "away to start a new one") from None
        finally:
            con.close()

    # -- flags ----------------------------------------------------------------------------
    def add_flag(self, item_id: str, kind: str, *, user_id: str | None = None, note: str = "",
                 weights: Mapping[str, float] | None = None, transform: str = "",
                 scenario: str = "", source: str = "api") -> Flag:
        """Append a flag (``user_id=None``: the item for every user); return it."""
        if kind not in FLAG_KINDS:
            raise SchemaError(f"flag kind {kind!r} is not one of {', '.join(FLAG_KINDS)}")
        if not str(item_id).strip():
            raise SchemaError("flag: item id is empty")
        if len(note) > 2000:
            raise SchemaError(f"flag note is {len(note)} characters; keep it under 2000")
        w = {str(k): float(v) for k, v in (weights or {}).items()}
        row = (_now(), EVERY_USER if user_id is None else str(user_id), str(item_id), kind,
               note, json.dumps(w, sort_keys=True), transform, scenario, source)
        with self._connect(write=True) as con:
            cur = con.execute(
                "INSERT INTO flags (created_at, user_id, item_id, kind, note, weights, transform,"
                " scenario, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            fid = int(cur.lastrowid or 0)
        return Flag(id=fid, created_at=row[0], user_id=user_id, item_id=str(item_id), kind=kind,
                    note=note, weights=w, transform=transform, scenario=scenario, source=source)

    def history(self) -> list[Flag]:
        """Every flag entry, oldest first."""
        with self._connect(write=False) as con:
            rows = con.execute("SELECT id, created_at, user_id, item_id, kind, note, weights, "
                               "transform, scenario, source FROM flags ORDER BY id").fetchall()
        return [Flag(id=r[0], created_at=r[1], user_id=r[2] or None, item_id=r[3], kind=r[4],
                     note=r[5], weights=json.loads(r[6]), transform=r[7], scenario=r[8],
                     source=r[9]) for r in rows]

    def flags(self) -> FlagSet:
        """Return the flags in force (latest per pair; ``clear`` removes)."""
        latest: dict[tuple[str | None, str], Flag] = {}
        for f in self.history():
            latest[(f.user_id, f.item_id)] = f
        return FlagSet(tuple(f for f in latest.values() if f.kind != "clear"))

    # -- runs -----------------------------------------------------------------------------
    def record_run(self, manifest: Mapping[str, Any], project_dir: str | Path, *,
                   importance: Mapping[str, Mapping[str, float]] | None = None,
                   top_k: Mapping[str, Sequence[str]] | None = None) -> RunEntry:
        """Append the run a freshly saved manifest describes.

        The entry keeps its models' gain importance and every given user's top-K at the
        config weights (for comparisons).
        """
        metrics = dict(manifest.get("metrics", {}))
        health = metrics.get("health", {})
        warnings = tuple(health.get("warnings", [])) if isinstance(health, dict) else ()
        ds = manifest.get("dataset", {})
        created = str(manifest.get("created_at", _now()))
        entry = RunEntry(
            run_id=f"{created.replace(':', '').replace('-', '')[:15]}-"
                   f"{config_hash({'m': manifest.get('files', {})})[:6]}",
            created_at=created, data_fingerprint=str(manifest.get("data_fingerprint", "")),
            config_hash=config_hash(manifest.get("config", {})),
            package_version=str(manifest.get("package_version", "")), metrics=metrics,
            warnings=warnings,
            summary={"project": Path(project_dir).name, "n_users": ds.get("n_users"),
                     "n_items": ds.get("n_items"), "n_exposures": ds.get("n_exposures"),
                     "per_user": manifest.get("candidates", {}).get("per_user")},
            importance={t: dict(v) for t, v in (importance or {}).items()},
            top_k={str(u): tuple(map(str, v)) for u, v in (top_k or {}).items()})
        packed = zlib.compress(json.dumps({u: list(v) for u, v in entry.top_k.items()})
                               .encode("utf-8"), 6)
        with self._connect(write=True) as con:
            con.execute("INSERT OR IGNORE INTO runs (run_id, created_at, data_fingerprint, "
                        "config_hash, package_version, metrics, warnings, summary, importance, "
                        "topk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (entry.run_id, entry.created_at, entry.data_fingerprint,
                         entry.config_hash, entry.package_version,
                         json.dumps(entry.metrics, default=float),
                         json.dumps(list(entry.warnings), default=float),
                         json.dumps(entry.summary, default=str),
                         json.dumps(entry.importance), packed))
        return entry

    def runs(self) -> list[RunEntry]:
        """Every recorded run, oldest first."""
        with self._connect(write=False) as con:
            rows = con.execute("SELECT run_id, created_at, data_fingerprint, config_hash, "
                               "package_version, metrics, warnings, summary, importance, topk "
                               "FROM runs ORDER BY id").fetchall()
        return [RunEntry(run_id=r[0], created_at=r[1], data_fingerprint=r[2], config_hash=r[3],
                         package_version=r[4], metrics=json.loads(r[5]),
                         warnings=tuple(json.loads(r[6])), summary=json.loads(r[7]),
                         importance=json.loads(r[8]),
                         top_k={u: tuple(v) for u, v in
                                json.loads(zlib.decompress(r[9]) if r[9] else b"{}").items()})
                for r in rows]

    def run(self, run_id: str) -> RunEntry:
        """One run by id (a unique prefix is enough)."""
        runs = self.runs()
        found = [r for r in runs if r.run_id == run_id] or [r for r in runs
                                                            if r.run_id.startswith(run_id)]
        if len(found) != 1:
            shown = ", ".join(r.run_id for r in runs[-5:]) or "none recorded yet"
            what = "is ambiguous" if found else "is not in the run log"
            raise SchemaError(f"run '{run_id}' {what}; recent runs: {shown}")
        return found[0]
