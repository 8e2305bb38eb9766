"""Partial dependence and ICE: the demo's known drivers, the blend's linearity, the grid,
errors, reproducibility and the `recsys pdp` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from explain import IceLines, PartialDependence, ice_lines, partial_dependence
from recsys.cli import main
from recsys.errors import BlendError, ExplanationError
from recsys.project import Project

DRIVERS = [
    # (feature, task, sign) from recsys.demo._label, in the task's entire space:
    # click logit has +2.2·discount·(1.2 − 0.4t) and −0.35·sensitivity·price_z;
    # purchase = p(click)·p(buy | click), both logits fall with price (−0.35, −0.5 × sensitivity)
    ("item_discount", "click", +1),
    ("item_price", "click", -1),
    ("item_price", "purchase", -1),
]


@pytest.fixture(scope="module")
def price(project: Project) -> PartialDependence:
    return partial_dependence(project, "item_price")


@pytest.mark.parametrize("feature, task, sign", DRIVERS)
def test_known_drivers_have_the_documented_sign(project: Project, feature: str, task: str,
                                                sign: int) -> None:
    pd_ = partial_dependence(project, feature)
    curve = pd_.prediction[pd_.tasks.index(task)]
    rho = spearmanr(pd_.grid, curve).statistic
    assert sign * rho > 0.6, f"{task} vs {feature}: Spearman {rho:.2f}, expected sign {sign:+d}"
    assert np.ptp(curve) > 0.01 * np.abs(curve).mean()  # a real effect, not rounding


def test_one_batched_prediction_and_the_blend_is_the_mean_of_row_blends(
        project: Project, price: PartialDependence, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = project.score_rows
    monkeypatch.setattr(project, "score_rows", lambda X, *a, **kw: calls.append(len(X))
                        or real(X, *a, **kw))
    again = partial_dependence(project, "item_price", n_pairs=120, grid=7)
    assert calls == [120 * again.grid.size]
    monkeypatch.undo()
    # score every grid value on its own and average the rows' blended scores
    X = project.test_rows()[0][price.rows]
    j = [s.name for s in project.feature_specs].index("item_price")
    for g, v in enumerate(price.grid):
        edited = X.copy()
        edited[:, j] = v
        rows = project.score_rows(edited, price.spec)
        assert rows.blended.mean() == pytest.approx(price.blended[g], rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(rows.prediction.mean(axis=1), price.prediction[:, g],
                                   rtol=1e-9)
    np.testing.assert_allclose(price.blended, price.spec.blend(price.transformed), rtol=0)


def test_reweight_equals_a_fresh_computation(project: Project, price: PartialDependence) -> None:
    new = {"click": 0.2, "returned": 3.0}
    moved = price.reweight(new)
    fresh = partial_dependence(project, "item_price", weights=new)
    np.testing.assert_allclose(moved.blended, fresh.blended, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(moved.prediction, fresh.prediction)
    assert moved.spec == fresh.spec and moved.prediction is price.prediction
    assert not np.allclose(moved.blended, price.blended)
    with pytest.raises(BlendError, match="unknown task 'clck'"):
        price.reweight({"clck": 1.0})


def test_categorical_grid_is_every_level(project: Project) -> None:
    spec = next(s for s in project.feature_specs if s.name == "context_device")
    pd_ = partial_dependence(project, "context_device", grid=2)  # grid: numeric only
    np.testing.assert_array_equal(pd_.grid, np.arange(len(spec.categories or ())))
    assert pd_.labels() == list(spec.categories or ())
    frame = pd_.to_frame()
    assert list(frame.columns) == ["feature", "value", "label", "task", "prediction", "score"]
    assert len(frame) == (len(pd_.tasks) + 1) * pd_.grid.size
    blend = frame[frame["task"] == "blend"]
    assert blend["prediction"].isna().all()
    np.testing.assert_array_equal(blend["score"], pd_.blended)
    assert blend["label"].tolist() == list(spec.categories or ())
    d = json.loads(json.dumps(pd_.to_dict()))
    assert d["labels"] == list(spec.categories or ()) and d["n_pairs"] == pd_.n_pairs
    assert d["prediction"]["click"] == pd_.prediction[0].tolist()


def test_numeric_grid_is_observed_quantiles(price: PartialDependence) -> None:
    assert 2 <= price.grid.size <= 20 and np.all(np.diff(price.grid) > 0)
    observed = price.observed[np.isfinite(price.observed)]
    assert set(price.grid) <= set(observed)
    assert price.grid[0] == observed.min() and price.grid[-1] == observed.max()
    assert price.n_pairs == 500 and not price.blended.flags.writeable


def test_bad_requests(project: Project) -> None:
    with pytest.raises(ExplanationError, match=r"unknown feature 'item_prise' \(did you mean "
                       r"'item_price'\?\); features are user_segment, .*latent_score$"):
        partial_dependence(project, "item_prise")
    with pytest.raises(ExplanationError, match="n_pairs must be >= 1, got 0"):
        partial_dependence(project, "item_price", n_pairs=0)
    with pytest.raises(ExplanationError, match="grid must be >= 2, got 1"):
        partial_dependence(project, "item_price", grid=1)
    with pytest.raises(BlendError):
        partial_dependence(project, "item_price", weights={"click": -1.0})


def test_same_seed_same_curve(project: Project, price: PartialDependence) -> None:
    again = partial_dependence(project, "item_price", random_state=0)
    np.testing.assert_array_equal(again.rows, price.rows)
    np.testing.assert_array_equal(again.prediction, price.prediction)
    other = partial_dependence(project, "item_price", random_state=1)
    assert not np.array_equal(other.rows, price.rows)


def test_ice_lines_of_the_users_top_items(project: Project, user_id: str,
                                          price: PartialDependence) -> None:
    ice = ice_lines(project, user_id, "item_price", weights={"revenue": 2.0}, grid=price.grid)
    top = project.recommend(user_id, weights={"revenue": 2.0}, k=5)
    assert isinstance(ice, IceLines) and ice.item_ids == tuple(it.item_id for it in top.items)
    n_tasks = len(project.tasks)
    assert ice.prediction.shape == (n_tasks, 5, price.grid.size)
    np.testing.assert_array_equal(ice.grid, price.grid)
    # at its own value each item scores as it is (no edit)
    X = project.features_for(user_id, list(ice.item_ids)).X
    for i, v in enumerate(ice.current):
        own = ice_lines(project, user_id, "item_price", items=[ice.item_ids[i]], grid=[v],
                        weights={"revenue": 2.0})
        rows = project.score_rows(X[i:i + 1], ice.spec)
        np.testing.assert_allclose(own.prediction[:, 0, 0], rows.prediction[:, 0], rtol=1e-9)
        assert own.blended[0, 0] == pytest.approx(rows.blended[0], rel=1e-9)
    moved = ice.reweight({"revenue": 0.0})
    np.testing.assert_allclose(moved.blended, moved.spec.blend(ice.transformed))
    frame = ice.to_frame()
    assert len(frame) == 5 * (n_tasks + 1) * price.grid.size
    assert frame["item_id"].iloc[0] == ice.item_ids[0]
    assert json.loads(json.dumps(ice.to_dict()))["items"][0]["item_id"] == ice.item_ids[0]
    with pytest.raises(ExplanationError, match="grid must hold finite numbers"):
        ice_lines(project, user_id, "item_price", grid=[np.nan])


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_pdp(project: Project, project_dir: Path, price: PartialDependence,
                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "pdp", "--artifacts", str(project_dir), "--feature",
                        "item_price", "--format", "json")
    assert code == 0
    d = json.loads(out)
    np.testing.assert_allclose(d["blended"], price.blended, rtol=1e-12)
    code, out, _ = _run(capsys, "pdp", "-a", str(project_dir), "--feature", "context_device",
                        "-w", "returned=2", "--transform", "percentile")
    assert code == 0
    lines = out.splitlines()
    assert "context_device" in lines[0] and "returned=2" in lines[0] and "percentile" in lines[0]
    header = next(ln for ln in lines if ln.startswith("value"))
    assert header.split() == ["value", *project.task_names(), "blend"]
    assert [ln.split()[0] for ln in lines[-3:]] == ["app", "desktop", "mobile"]
    code, out, err = _run(capsys, "pdp", "-a", str(project_dir), "--feature", "item_prise")
    assert code == 2 and not out
    assert err.count("\n") == 1 and "did you mean 'item_price'?" in err
    assert "features are user_segment" in err
