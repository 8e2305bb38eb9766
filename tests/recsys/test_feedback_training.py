"""``[feedback] negatives_for``: flagged pairs become label-0 rows of one task's model."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from recsys.config import load_config, parse_config
from recsys.errors import SchemaError
from recsys.projectlog import ProjectLog


def _with_feedback(config: Path, task: str) -> Path:
    out = config.with_name(f"config-feedback-{task}.toml")
    out.write_text(config.read_text(encoding="utf-8")
                   + f'\n[feedback]\nnegatives_for = "{task}"\n', encoding="utf-8")
    return out


def test_flagged_pairs_teach_the_chosen_model(small_config: Path, small_trained, small_project,  # noqa: ANN001
                                              tmp_path: Path) -> None:
    from recsys.train import train

    users = [str(u) for u in small_project.user_ids()[:40]]
    pairs = [(u, small_project.recommend(u, k=1).items[0].item_id) for u in users]
    log = ProjectLog.of(tmp_path / "p")
    for u, i in pairs:
        log.add_flag(i, "bad", user_id=u)
    log.add_flag(pairs[0][1], "bad")  # for every user: excluded, but adds no training row
    tp = train(_with_feedback(small_config, "click"), flags=log.flags())
    assert tp.metrics["feedback"] == {"negatives_for": "click", "negatives": len(pairs)}
    store = tp.features.store
    u = store.user_codes([p[0] for p in pairs])
    i = store.item_codes([p[1] for p in pairs])
    X = store.features_for(u, i).X
    before = small_trained.models["click"].predict(X)
    after = tp.models["click"].predict(X)
    assert after.mean() < before.mean()  # the flagged pairs now look less clickable
    # the other models are trained exactly as without feedback
    for name in ("purchase", "returned"):
        np.testing.assert_array_equal(tp.models[name].predict(X),
                                      small_trained.models[name].predict(X))


def test_without_the_setting_flags_only_exclude(small_trained) -> None:  # noqa: ANN001
    assert small_trained.metrics["feedback"] == {"negatives_for": None, "negatives": 0}


@pytest.mark.parametrize(("task", "message"), [
    ("clik", r"feedback.negatives_for: unknown task 'clik' \(did you mean 'click'\?\)"),
    ("revenue", "task 'revenue' is a regression task"),
    ("purchase", "task 'purchase' is conditional on 'click'"),
])
def test_negatives_need_a_binary_root_task(small_config: Path, task: str, message: str) -> None:
    raw = tomllib.loads(small_config.read_text(encoding="utf-8"))
    raw["feedback"] = {"negatives_for": task}
    with pytest.raises(SchemaError, match=message):
        parse_config(raw)
    assert load_config(small_config).feedback.negatives_for is None
