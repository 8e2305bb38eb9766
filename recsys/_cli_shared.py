"""What the ``recsys`` command modules share: common options and plain-text output.

:mod:`recsys.cli` (the app), :mod:`recsys.cli_loop` and :mod:`recsys.cli_explain` all
import from here and never from each other at import time, so typer can read every
command's annotations without an import cycle.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recsys.blend import TRANSFORM_KINDS
from recsys.errors import SchemaError

if TYPE_CHECKING:
    from recsys.project import Project

__all__ = ["ArtifactsOpt", "TableJson", "TransformOpt", "TransformOption", "WeightOpt",
           "load_project", "parse_weights", "table", "val"]

ArtifactsOpt = Annotated[Path, typer.Option(
    "--artifacts", "-a", help="Directory of a trained project (from `recsys train`).")]


class TableJson(StrEnum):
    """Output formats of evaluate, sweep, health, pdp, flags list and runs."""

    table = "table"
    json = "json"


# StrEnum's functional form takes the members from a mapping; mypy only understands
# enums written as classes, so it rejects this call.
TransformOpt = StrEnum("TransformOpt", {k: k for k in TRANSFORM_KINDS})  # type: ignore[misc]
"""Score transforms (:data:`recsys.blend.TRANSFORM_KINDS`)."""


WeightOpt = Annotated[list[str] | None, typer.Option(
    "--weight", "-w", metavar="TASK=W",
    help="Override one task's blend weight (>= 0); repeat for several tasks.")]
TransformOption = Annotated[TransformOpt | None, typer.Option(
    "--transform", help="Score transform before blending (default: the config's).")]


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["click=2", "purchase=0.5"]`` -> ``{"click": 2.0, "purchase": 0.5}``."""
    out: dict[str, float] = {}
    problems = []
    for raw in items or []:
        name, sep, value = raw.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            problems.append(f"--weight {raw!r}: expected TASK=NUMBER, e.g. click=1.5")
    if problems:
        raise SchemaError(problems)
    return out


def load_project(artifacts: Path) -> Project:
    """Load the trained project in ``artifacts`` (the engine is imported on first use)."""
    from recsys.project import Project

    return Project.load(artifacts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    """Render rows as an aligned plain-text table (numbers right-aligned, floats 4 dp)."""
    if not rows:
        return "(no rows)"
    cols = list(dict.fromkeys(c for r in rows for c in r))
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.rjust(w) if _num(v) else v.ljust(w)  # noqa: E731
                                  for v, w in zip(vals, width, strict=True)).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in width])] + [line(r) for r in cells])


def _num(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def val(v: float | None, signed: bool = False) -> str:
    """Format a metric with 4 decimals (``signed``: with its sign); ``n/a`` if not finite."""
    if v is None or v != v or v in (float("inf"), float("-inf")):
        return "n/a"
    return f"{v:+.4f}" if signed else f"{v:.4f}"
