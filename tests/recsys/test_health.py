"""Model health: baselines, bootstrap intervals, warnings, curves; on constructed data and
on the small demo project."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math

import numpy as np
import pytest

from recsys.baselines import (
    UserBootstrap,
    item_baseline,
    metric_reports,
    random_ranking,
)
from recsys.diagnostics import MAX_CURVE_POINTS, MAX_SCATTER_POINTS, reliability
from recsys.health import (
    MIN_TEST_POSITIVES,
    FitSummary,
    LearningCurve,
    ModelHealth,
    PriorTotals,
    assess_models,
)
from recsys.metrics import binary_metrics, ranking_metrics
from recsys.project import Project
from recsys.scoring import TestExposures as Exposures
from recsys.tasks import TaskSpec

CLICK = TaskSpec(name="click", label="click", kind="binary", weight=1.0)
RATING = TaskSpec(name="rating", label="rating", kind="regression", weight=1.0)


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in JSON")
    return json.loads(text, parse_constant=refuse)


def _exposures(sizes: list[int], labels: np.ndarray, margins: np.ndarray,
               items: np.ndarray | None = None) -> Exposures:
    n = int(sum(sizes))
    users = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    return Exposures(
        users=users, items=np.arange(n, dtype=np.int64) % 7 if items is None else items,
        timestamps=np.arange(n, dtype=np.int64) * 3_600 * 10**9,
        offsets=np.r_[0, np.cumsum(sizes)].astype(np.int64),
        labels=np.atleast_2d(labels).astype(np.float64),
        margins=np.atleast_2d(margins).astype(np.float32))


def _prior(n_items: int = 7, n_users: int = 1000) -> PriorTotals:
    totals = np.column_stack([np.full(n_items, 50.0), np.arange(n_items, dtype=float) + 1])
    return PriorTotals(item_totals=totals, labels=("click",), smoothing=10.0,
                       user_exposures=np.full(n_users, 5.0))


# -- baselines ----------------------------------------------------------------------------
def test_item_baseline_is_the_smoothed_rate_by_hand() -> None:
    totals = np.array([[10.0, 3.0], [0.0, 0.0], [5.0, 5.0]])
    rate, glob = item_baseline(totals, 0, smoothing=5.0)
    assert glob == pytest.approx(8 / 15)
    assert rate == pytest.approx([(3 + 5 * 8 / 15) / 15, 8 / 15, (5 + 5 * 8 / 15) / 10])
    raw, _ = item_baseline(totals, 0, smoothing=0.0)
    assert raw == pytest.approx([0.3, 8 / 15, 1.0])  # never-seen item: the global rate


def test_baselines_equal_hand_computed_values_on_a_tiny_example() -> None:
    # two users; user 0 sees items a, b, c and clicks b; user 1 sees a, c and clicks a
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    item = np.array([0.1, 0.4, 0.2, 0.1, 0.2])  # the rows' item rates
    score = np.array([-1.0, 1.0, 0.0, 0.5, -0.5])  # log-odds: a perfect ranking
    boot = UserBootstrap.draw(np.array([0, 3, 5]), n_resamples=20)
    reps = {r.metric: r for r in metric_reports(CLICK, y, score, item, 0.25, boot, k=2)}
    auc = reps["auc"]
    assert auc.value == 1.0
    # item rates: positives 0.4, 0.1 vs negatives 0.1, 0.2, 0.2 -> (3 + 0.5 + 0) / 6
    assert auc.baselines == {"item": pytest.approx(3.5 / 6), "global": 0.5, "random": 0.5}
    assert auc.baseline_name == "item" and auc.lift == pytest.approx(1 - 3.5 / 6)
    loss = reps["log_loss"]
    assert loss.baselines["global"] == pytest.approx(
        -(2 * math.log(0.25) + 3 * math.log(0.75)) / 5)
    assert loss.baselines["item"] == pytest.approx(binary_metrics(y, item).log_loss)
    assert not loss.higher_is_better and loss.lift == pytest.approx(
        min(loss.baselines.values()) - loss.value)
    ndcg = reps["ndcg@2"]
    assert ndcg.value == 1.0
    # random order: E[DCG] = gain * (1 + 1/log2 3) / n, ideal DCG 1
    expect = np.mean([(1 + 1 / math.log2(3)) / 3, (1 + 1 / math.log2(3)) / 2])
    assert ndcg.baselines["random"] == pytest.approx(expect)
    assert reps["gauc"].baselines["random"] == 0.5
    assert (auc.n_rows, auc.n_positives, auc.n_users) == (5, 2, 2)


def test_random_ndcg_is_the_mean_over_all_permutations() -> None:
    rel = np.array([3.0, 0.0, 1.0, 2.0, 0.0])
    ndcg, recall = random_ranking(np.array([0, 5]), rel, k=3)
    perms = list(itertools.permutations(range(5)))
    brute = np.mean([ranking_metrics(np.array([0, 5]), -np.argsort(p).astype(float), rel, 3).ndcg
                     for p in perms])
    assert ndcg[0] == pytest.approx(brute)
    assert recall[0] == pytest.approx(3 / 5)


def test_interval_holds_the_estimate_and_narrows_with_more_users() -> None:
    widths = []
    for n_users in (40, 1000):
        rng = np.random.default_rng(3)
        sizes = rng.integers(2, 8, n_users)
        n = int(sizes.sum())
        x = rng.normal(size=n)
        y = (x + rng.normal(size=n) > 1).astype(float)
        boot = UserBootstrap.draw(np.r_[0, np.cumsum(sizes)])
        for r in metric_reports(CLICK, y, x, np.full(n, y.mean()), y.mean(), boot, k=5):
            assert r.ci_low <= r.value <= r.ci_high, r
            assert r.lift_ci_low <= r.lift <= r.lift_ci_high, r
        auc = metric_reports(CLICK, y, x, np.full(n, y.mean()), y.mean(), boot, k=5)[0]
        assert auc.value == pytest.approx(binary_metrics(y, x).auc)
        widths.append(auc.ci_high - auc.ci_low)
    assert widths[1] < widths[0] / 2


def test_regression_metrics_and_their_baselines() -> None:
    y = np.array([4.0, 2.0, 5.0, 3.0])
    pred = np.array([4.0, 2.0, 4.0, 3.0])
    boot = UserBootstrap.draw(np.array([0, 2, 4]), n_resamples=10)
    item = np.array([4.0, 3.0, 4.0, 3.0])
    reps = {r.metric: r for r in metric_reports(RATING, y, pred, item, 3.5, boot, 3)}
    assert reps["rmse"].value == pytest.approx(0.5) and reps["mae"].value == pytest.approx(0.25)
    assert reps["rmse"].baselines["global"] == pytest.approx(math.sqrt(5 / 4))
    assert reps["mae"].baselines == {"item": pytest.approx(0.5), "global": pytest.approx(1.0)}
    assert reps["mae"].baseline_name == "item" and reps["mae"].lift == pytest.approx(0.25)
    assert reps["gauc"].reason and math.isnan(reps["gauc"].value)  # every rating is > 0


# -- warnings -----------------------------------------------------------------------------
def test_scores_constant_within_users_warn_and_show_no_lift() -> None:
    rng = np.random.default_rng(0)
    sizes = [6] * 300
    users = np.repeat(np.arange(300), 6)
    y = (rng.random(users.size) < 0.3).astype(float)
    margins = rng.normal(size=300)[users]  # differs between users only
    health = assess_models((CLICK,), _exposures(sizes, y, margins), _prior(), k=5)
    codes = [w.code for w in health.warnings]
    assert "constant_within_users" in codes and "constant_scores" not in codes
    lifts = {w.figures["metric"] for w in health.warnings if w.code == "no_lift"}
    assert {"ndcg@5", "gauc"} <= lifts
    gauc = health.report("click", "gauc")
    assert gauc.value == pytest.approx(0.5) and gauc.lift_ci_low <= 0
    line = next(w for w in health.warnings if w.code == "constant_within_users").line()
    assert line.startswith("warning: [constant_within_users] click: 100% of users")


def test_constant_scores_and_few_positives_warn() -> None:
    y = np.zeros(400)
    y[:12] = 1.0
    health = assess_models((CLICK,), _exposures([4] * 100, y, np.zeros(400)), _prior(), k=5)
    few = next(w for w in health.warnings if w.code == "few_positives")
    assert few.figures == {"n_positives": 12, "n_rows": 400, "threshold": MIN_TEST_POSITIVES}
    assert "only 12 test positives" in few.message
    assert [w.code for w in health.warnings].count("constant_scores") == 1
    assert health.report("click", "auc").value == 0.5


def test_fit_rules_few_trees_overfitting_small_windows_and_cold_start() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(600) < 0.2).astype(float)
    margins = rng.normal(size=600) + 2 * y
    evals = {"train": {"binary_logloss": [0.50, 0.40, 0.30, 0.20]},
             "validation": {"binary_logloss": [0.52, 0.50, 0.49, 0.51]}}
    curve = LearningCurve.from_evals("click", evals, best_iteration=3)
    assert curve is not None and curve.gap() == pytest.approx((0.19 / 0.30, 0.02 / 0.50))
    fit = FitSummary(trees=1, rows={"train": 5000, "validation": 40}, curve=curve)
    prior = dataclasses.replace(_prior(), user_exposures=np.zeros(1000))
    health = assess_models((CLICK,), _exposures([6] * 100, y, margins), prior, k=5,
                           fits={"click": fit})
    by = {w.code: w for w in health.warnings}
    assert {"few_trees", "overfitting", "small_window", "cold_start"} <= set(by)
    assert by["few_trees"].figures["trees"] == 1
    assert by["small_window"].figures["validation_rows"] == 40
    assert by["cold_start"].task is None and by["cold_start"].figures["cold_user_share"] == 1.0
    assert by["overfitting"].figures["gap"] == pytest.approx(0.19 / 0.30)
    assert health.curves["click"].best_iteration == 3


def test_learning_curve_keeps_at_most_200_points_and_the_best_iteration() -> None:
    evals = {"train": {"l2": list(np.linspace(2, 1, 1000))},
             "validation": {"l2": list(np.linspace(2, 1.5, 1000))}}
    c = LearningCurve.from_evals("rating", evals, best_iteration=777)
    assert c is not None and c.iteration.size <= MAX_CURVE_POINTS
    assert 777 in c.iteration and c.iteration[0] == 1 and c.iteration[-1] == 1000
    assert LearningCurve.from_evals("rating", {}, 3) is None


def test_reliability_of_calibrated_predictions_is_small() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(20_000)
    rel = reliability((rng.random(p.size) < p).astype(float), p)
    assert rel.count.sum() == p.size and rel.predicted.size == 10
    assert rel.ece < 0.02


def test_health_round_trips_through_strict_json() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.2).astype(float)
    health = assess_models((CLICK,), _exposures([5] * 100, y, rng.normal(size=500)), _prior(),
                           k=5)
    text = json.dumps(health.to_dict(), allow_nan=False)
    again = ModelHealth.from_dict(_strict(text))  # type: ignore[arg-type]
    assert [r.to_dict() for r in again.reports] == [r.to_dict() for r in health.reports]
    assert again.warnings == health.warnings
    assert again.diagnostics["click"].roc is not None


# -- the small demo project ---------------------------------------------------------------
def test_demo_project_has_baselines_for_every_task(small_project: Project) -> None:
    health = small_project.health()
    assert health.task_names() == small_project.task_names()
    for t in small_project.tasks:
        reports = health.reports_for(t.name)
        assert reports and all(r.baseline_name in ("item", "global", "random")
                               for r in reports if math.isfinite(r.value))
    click = health.report("click", "auc")
    assert click.baselines["global"] == 0.5 and click.value > 0.5
    assert click.value - 0.5 > 0 and click.ci_low > 0.5  # beats the global rate
    loss = health.report("click", "log_loss")
    assert loss.value < loss.baselines["global"]
    stored = small_project.manifest["metrics"]["tasks"]["click"]["auc"]
    assert click.value == pytest.approx(stored)


def test_demo_project_curves(small_project: Project) -> None:
    health = small_project.health()
    for t in small_project.tasks:
        curve = health.curves[t.name]
        assert 0 < curve.iteration.size <= MAX_CURVE_POINTS
        assert curve.validation.size == curve.train.size
        d = health.diagnostics[t.name]
        assert d.weekly.n_rows.sum() == len(small_project.artifacts.scores.test)
        if t.kind == "binary":
            assert d.roc is not None and d.roc.x.size <= MAX_CURVE_POINTS
            assert d.roc.x[0] == 0 and d.roc.y[-1] == pytest.approx(1.0)
            assert d.reliability is not None and d.reliability.count.size == 10
        else:
            assert d.scatter is not None and d.scatter.x.size <= MAX_SCATTER_POINTS
            assert d.residuals is not None and d.residuals.count.sum() == d.weekly.n_rows.sum()


def test_evaluate_json_is_strict_with_reasons(small_project: Project) -> None:
    d = _strict(json.dumps(small_project.evaluate().to_dict(), allow_nan=False))
    assert isinstance(d, dict)
    rev = d["ranking"]["revenue"]
    assert rev["mrr"] is None and "binary tasks" in rev["mrr_reason"]
    click = d["ranking"]["click"]
    assert click["mrr"] is not None and len(click["ci"]["ndcg@10"]) == 2
    assert click["baseline"]["ndcg@10"]["name"] in ("item", "random")
    assert d["tasks"]["click"]["baseline"]["auc"]["name"] == "item"
    lo, hi = d["topk"]["click"]["ci"]["hit_rate@10"]
    assert lo <= d["topk"]["click"]["hit_rate@10"] <= hi
    no_cat = dataclasses.replace(small_project.eval_context, has_category=False)
    from recsys.evaluate import evaluate_blend

    spec = small_project.spec(transform="zscore", k=10)
    top, _ = small_project.recommend_all(spec)
    ev = evaluate_blend(no_cat, small_project.test_table("zscore"), spec, top)
    out = ev.to_dict()
    assert out["diversity"] is None and "item category" in out["diversity_reason"]


def test_demo_returned_task_has_too_few_positives(small_project: Project) -> None:
    health = small_project.health()
    few = [w for w in health.warnings if w.code == "few_positives"]
    assert [w.task for w in few] == ["returned"]
    assert few[0].figures["n_positives"] == health.report("returned", "auc").n_positives < 30


def test_project_without_health_says_retrain(small_project: Project) -> None:
    from recsys.errors import ArtifactError

    old = copy.copy(small_project)
    old._eval_context = dataclasses.replace(small_project.eval_context, health=None)
    old._boot_context = None  # the copy draws its own resamples from the edited context
    with pytest.raises(ArtifactError, match="has no model health .* retrain it"):
        old.health()
    d = old.evaluate().to_dict()
    assert d["tasks"]["click"]["ci"] == {} and d["tasks"]["click"]["baseline"] == {}
