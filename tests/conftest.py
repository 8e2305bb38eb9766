"""Shared fixtures: a seeded rng and one small demo project trained once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SMALL = {"n_users": 300, "n_items": 80, "n_exposures": 20_000, "seed": 11}


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator."""
    return np.random.default_rng(42)


@pytest.fixture(scope="session")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.toml of a small generated demo dataset."""
    from recsys.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("small-data"), **SMALL)


@pytest.fixture(scope="session")
def small_trained(small_config: Path):  # noqa: ANN201 - TrainedProject
    """The small dataset trained in memory."""
    from recsys.train import train

    return train(small_config)


@pytest.fixture(scope="session")
def small_artifacts(small_trained, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """The small project saved to disk."""
    from recsys.artifacts import save_project

    return save_project(small_trained, tmp_path_factory.mktemp("small-art") / "demo")


@pytest.fixture(scope="session")
def small_project(small_artifacts: Path):  # noqa: ANN201 - Project
    """The small project loaded back."""
    from recsys.project import Project

    return Project.load(small_artifacts)
