"""Blendscope engine: data, features, candidates, per-task models, blending, evaluation.

The most used names are importable from here (loaded on first use, so that
``import recsys.config`` stays light)::

    from recsys import Project, BlendWeights
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BlendWeights",
    "Dataset",
    "Project",
    "RankedList",
    "TaskModel",
    "TaskSpec",
    "load_dataset",
    "save_project",
]

_WHERE = {
    "BlendWeights": "recsys.blend",
    "Dataset": "recsys.data",
    "load_dataset": "recsys.data",
    "Project": "recsys.project",
    "RankedList": "recsys.project",
    "TaskModel": "recsys.models",
    "TaskSpec": "recsys.tasks",
    "save_project": "recsys.artifacts",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")
