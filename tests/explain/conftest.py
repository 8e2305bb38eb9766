"""Fixtures for the explanation tests: one small trained demo project per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.project import Project


@pytest.fixture(scope="session")
def project_dir(small_artifacts: Path) -> Path:
    """The shared small demo project (tests/conftest.py), saved."""
    return small_artifacts


@pytest.fixture(scope="session")
def project(small_project: Project) -> Project:
    """The shared small demo project, loaded."""
    return small_project


@pytest.fixture(scope="session")
def user_id(project: Project) -> str:
    """A user with a full top-10 list."""
    for uid in project.user_ids():
        if len(project.recommend(uid, k=10).items) == 10:
            return str(uid)
    raise AssertionError("no user with 10 recommendations in the test project")
