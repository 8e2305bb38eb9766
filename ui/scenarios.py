"""Named weight scenarios, stored as JSON beside the projects (``<artifacts>/scenarios.json``).

Plain Python (no Streamlit): every write goes to a temporary sibling file that is then
renamed into place, under an advisory lock, so two sessions saving at once never leave
a half-written or lost file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.atomic import write_bytes_atomic

__all__ = ["Scenario", "ScenarioError", "ScenarioStore"]

_NAME = re.compile(r"^[\w .,:()+\-]{1,60}$")
_VERSION = 1


class ScenarioError(ValueError):
    """A scenario name or file is unusable; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Saved blend settings of one project."""

    name: str
    weights: Mapping[str, float]
    transform: str
    k: int
    saved_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the name, which is the key)."""
        return {"weights": dict(self.weights), "transform": self.transform, "k": self.k,
                "saved_at": self.saved_at}


@dataclass(frozen=True, slots=True)
class ScenarioStore:
    """The scenarios file of one artifacts directory."""

    path: Path

    @classmethod
    def beside(cls, artifacts_root: str | Path) -> ScenarioStore:
        """The store at ``<artifacts_root>/scenarios.json``."""
        return cls(Path(artifacts_root) / "scenarios.json")

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"version": _VERSION, "projects": {}}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ScenarioError(f"scenarios file {self.path} is unreadable ({err}); "
                                "delete or fix it") from None
        if not isinstance(data, dict) or not isinstance(data.get("projects"), dict):
            raise ScenarioError(f"scenarios file {self.path} has no 'projects' table; "
                                "delete or fix it")
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=True)
        write_bytes_atomic(self.path, text.encode("utf-8"))

    def list(self, project: str) -> dict[str, Scenario]:
        """The project's scenarios by name, sorted by name."""
        raw = self._read()["projects"].get(project, {})
        out = {}
        for name in sorted(raw):
            d = raw[name]
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                out[name] = Scenario(name=name, weights={str(t): float(w) for t, w in
                                                         d["weights"].items()},
                                     transform=str(d["transform"]), k=int(d["k"]),
                                     saved_at=str(d.get("saved_at", "")))
        return out

    def save(self, project: str, scenario: Scenario) -> Scenario:
        """Add or replace a scenario; :class:`ScenarioError` for a bad name."""
        name = scenario.name.strip()
        if not _NAME.match(name):
            raise ScenarioError(f"scenario name {scenario.name!r} is not allowed; use 1-60 "
                                "letters, digits, spaces or . , : ( ) + - _")
        stamped = Scenario(name=name, weights=dict(scenario.weights),
                           transform=scenario.transform, k=scenario.k,
                           saved_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        with self._locked():
            data = self._read()
            data["projects"].setdefault(project, {})[name] = stamped.to_dict()
            self._write(data)
        return stamped

    def delete(self, project: str, name: str) -> None:
        """Remove a scenario; :class:`ScenarioError` if there is none of that name."""
        with self._locked():
            data = self._read()
            scen = data["projects"].get(project, {})
            if name not in scen:
                raise ScenarioError(f"scenario {name!r} of project '{project}' does not exist "
                                    "(deleted in another session?)")
            del scen[name]
            self._write(data)
