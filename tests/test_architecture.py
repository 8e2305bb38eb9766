"""The layering rules of DESIGN.md, checked on the source: the engine never imports the
pages or the explanations, only the CLI (a face) sits above both, and callers use the
typed ``Project`` surface instead of reaching into the loaded artifacts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = {"recsys/cli_explain.py"}
"""The command line's explanation commands: the only engine module allowed to import ``explain``."""
ARTIFACT_OWNERS = {"recsys/project.py", "recsys/artifacts.py"}


def _modules(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("path", _modules("recsys", "explain"), ids=lambda p: p.name)
def test_engine_never_imports_streamlit_or_pages(path: Path) -> None:
    found = _imports(path) & {"streamlit", "ui", "app"}
    assert not found, f"{path.relative_to(ROOT)} imports {sorted(found)}"


@pytest.mark.parametrize("path", _modules("recsys"), ids=lambda p: p.name)
def test_only_the_cli_imports_explanations(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    if rel in FACES:
        return
    assert "explain" not in _imports(path), f"{rel} imports explain; only the CLI may"


def _artifact_reach_ins(path: Path) -> list[int]:
    """Lines that read ``<something>.artifacts.<field>`` (the loaded artifacts' fields)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(node.lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                  and node.value.attr == "artifacts")


@pytest.mark.parametrize("path", _modules("recsys", "explain", "ui", "bench"),
                         ids=lambda p: p.name)
def test_callers_use_the_project_surface(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    if rel in ARTIFACT_OWNERS:
        return
    lines = _artifact_reach_ins(path)
    assert not lines, f"{rel} reaches into Project.artifacts at lines {lines}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nx = project.artifacts.store.specs\n")
    assert "streamlit" in _imports(bad)
    assert _artifact_reach_ins(bad) == [2]
