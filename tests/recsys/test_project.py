"""Project API: recommend, evaluate, sweep; artifacts verified; deterministic training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from recsys.artifacts import load_artifacts, save_project
from recsys.errors import ArtifactError, BlendError, SchemaError
from recsys.project import Project
from recsys.train import train


def test_recommend_lists_k_candidates_best_first(small_project: Project) -> None:
    user = small_project.user_ids()[5]
    ranked = small_project.recommend(user, k=10)
    scores = [it.score for it in ranked.items]
    assert len(ranked.items) == 10
    assert scores == sorted(scores, reverse=True)
    assert len({it.item_id for it in ranked.items}) == 10
    assert all(it.title for it in ranked.items)
    # the blended score is the weighted sum of the shown task scores
    w = small_project.spec().signed
    for it in ranked.items:
        parts = np.array([it.tasks[t] for t in small_project.task_names()])
        assert it.score == pytest.approx(float(w @ parts), rel=1e-5, abs=1e-5)


def test_conditional_task_is_scored_in_the_entire_space(small_project: Project) -> None:
    ranked = small_project.recommend(small_project.user_ids()[0], k=20)
    for it in ranked.items:
        assert 0 < it.predictions["purchase"] <= it.predictions["click"] < 1


def test_already_bought_items_are_never_recommended(small_trained, small_project: Project) -> None:  # noqa: ANN001
    inter = small_trained.dataset.interactions
    bought = inter[(inter["window"] != "test") & (inter["purchase"] > 0)]
    top, _ = small_project.recommend_all(k=10)
    store = small_project.artifacts.store
    u = store.user_codes(bought["user_id"].to_numpy())
    i = store.item_codes(bought["item_id"].to_numpy())
    assert not np.any(top[u] == i[:, None])


def test_weights_change_the_ranking(small_project: Project) -> None:
    top_click, _ = small_project.recommend_all({"click": 5, "purchase": 0, "revenue": 0,
                                                "returned": 0}, k=10)
    top_rev, _ = small_project.recommend_all({"click": 0, "purchase": 0, "revenue": 5,
                                              "returned": 0}, k=10)
    changed = np.mean(np.any(top_click != top_rev, axis=1))
    assert changed > 0.5


def test_weights_move_the_per_task_metrics(small_project: Project) -> None:
    a = small_project.evaluate({"click": 1, "purchase": 0, "revenue": 0, "returned": 0})
    b = small_project.evaluate({"click": 0, "purchase": 0, "revenue": 0, "returned": 1})
    # ranking by low return risk puts returned items last: returned NDCG drops
    assert b.ranking["returned"].ndcg < a.ranking["returned"].ndcg
    d = a.to_dict()
    assert set(d["ranking"]) == {"click", "purchase", "revenue", "returned"}
    assert 0 <= d["ranking"]["click"]["ndcg@10"] <= 1
    assert 0 < d["coverage"] <= 1 and 0 <= d["diversity"] <= 1 and d["novelty"] > 0
    assert d["tasks"]["click"]["auc"] > 0.55


def test_sweep_marks_a_pareto_front(small_project: Project) -> None:
    sw = small_project.sweep(steps=5)
    frame = sw.to_frame()
    assert len(frame) == 35  # C(4 + 3, 3)
    assert frame["pareto"].any() and not frame["pareto"].all()
    np.testing.assert_allclose(sw.weights.sum(axis=1), 1.0)


def test_unknown_names_are_clear_errors(small_project: Project) -> None:
    with pytest.raises(SchemaError, match="unknown user 'nobody'"):
        small_project.recommend("nobody")
    with pytest.raises(BlendError, match="clik"):
        small_project.recommend(small_project.user_ids()[0], weights={"clik": 1.0})
    with pytest.raises(BlendError, match="must be >= 0"):
        small_project.recommend(small_project.user_ids()[0], weights={"click": -1.0})


def test_tampered_artifacts_are_refused(small_artifacts: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_artifacts, copy)
    model = copy / "models" / "click.txt"
    model.write_text(model.read_text().replace("learning_rate", "learning_rat", 1))
    with pytest.raises(ArtifactError, match="models/click.txt' does not match its recorded"):
        load_artifacts(copy)


def test_other_format_versions_are_refused(small_artifacts: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_artifacts, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"written by a newer Blendscope \(format 99\).*"
                                            "upgrade Blendscope"):
        load_artifacts(copy)
    manifest["format_version"] = 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="format version 1 is older than this Blendscope "
                                            r"reads \(2\); retrain the project"):
        load_artifacts(copy)


def test_missing_directory_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="recsys train"):
        Project.load(tmp_path)


def test_training_is_deterministic(small_config: Path, small_trained, tmp_path: Path) -> None:  # noqa: ANN001
    again = train(small_config)
    for name, model in small_trained.models.items():
        assert model.to_text() == again.models[name].to_text()
    np.testing.assert_array_equal(small_trained.scores.cand_items, again.scores.cand_items)
    np.testing.assert_array_equal(small_trained.scores.cand_margins, again.scores.cand_margins)
    a = Project.load(save_project(small_trained, tmp_path / "a"))
    b = Project.load(save_project(again, tmp_path / "b"))
    np.testing.assert_array_equal(a.recommend_all()[0], b.recommend_all()[0])
    assert a.manifest["files"] == b.manifest["files"]


def test_save_replaces_atomically(small_trained, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "p"
    save_project(small_trained, out)
    save_project(small_trained, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
    assert Project.load(out).task_names() == ["click", "purchase", "revenue", "returned"]
