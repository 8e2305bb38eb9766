"""The Dask engine (issue 11): ``[engine]`` checks, and the small project trained on a real
2-worker ``distributed.LocalCluster`` compared with the in-process run."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from recsys.artifacts import save_project
from recsys.config import EngineConfig, parse_config
from recsys.engine import _Rows, early_stopping_round, open_engine
from recsys.errors import SchemaError
from recsys.models import TaskModel
from recsys.project import Project
from recsys.train import TrainedProject, _score_candidates, train

ENGINE = '\n[engine]\nkind = "dask"\nscheduler = "local"\nworkers = 2\n'
BASE = {"data": {"interactions": "x.csv"},
        "task": [{"name": "click", "label": "click", "kind": "binary"}]}

# Largest in-process vs Dask differences allowed on the small project (test window of
# 4,000 exposures), per metric and task. Data-parallel LightGBM bins each worker's share
# of the features on that worker's rows and bags per worker, so the trees differ a
# little, and the workers' LightGBM ranks follow Dask's (unordered) worker list, so two
# Dask runs differ from each other too. The metrics' own noise sets the bound: "returned"
# has 11 positives in the test window, so one positive moving a few places moves its AUC
# by several hundredths.
AUC_TOL = {"click": 0.03, "purchase": 0.04, "returned": 0.12}
RMSE_REL_TOL = 0.02


def _config(engine: dict[str, object]) -> object:
    return parse_config({**BASE, "engine": engine})


@pytest.mark.parametrize(("engine", "match"), [
    ({"kind": "dask"}, r"engine: kind = \"dask\" needs a scheduler"),
    ({"kind": "dask", "scheduler": "tcp:/10.0.0.5"},
     r"engine\.scheduler: use \"local\" .* or a scheduler address \"tcp://host:port\".*"
     r"\(got 'tcp:/10\.0\.0\.5'\)"),
    ({"kind": "dask", "scheduler": "localhost:8786"}, r"engine\.scheduler: .*got 'localhost"),
    ({"kind": "dask", "scheduler": "local", "worker": 2},
     r"unknown key 'engine\.worker' \(did you mean 'workers'\?\)"),
    ({"kind": "spark"}, r"engine\.kind: input should be 'local' or 'dask'"),
    ({"scheduler": "local"}, r"scheduler is only used with kind = \"dask\""),
    ({"kind": "dask", "scheduler": "tcp://10.0.0.5:8786", "workers": 4},
     r"workers is only used with scheduler = \"local\""),
    ({"kind": "dask", "scheduler": "local", "workers": 0}, r"engine\.workers: .*1"),
    ({"kind": "dask", "scheduler": "local", "memory_limit": "lots"},
     r"engine\.memory_limit: use a size such as \"4GB\""),
])
def test_bad_engine_tables_are_clear_errors(engine: dict[str, object], match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        _config(engine)


def test_engine_table_defaults_to_local_and_survives_the_manifest_round_trip() -> None:
    assert parse_config(BASE).engine == EngineConfig(kind="local")
    cfg = parse_config({**BASE, "engine": {"kind": "dask", "scheduler": "tcp://[::1]:8786"}})
    assert cfg.engine.scheduler == "tcp://[::1]:8786"
    for c in (cfg, parse_config(BASE)):
        assert parse_config(c.model_dump(mode="json")) == c


def test_the_local_engine_opens_nothing() -> None:
    with open_engine(EngineConfig()) as engine:
        assert engine is None


def test_early_stopping_round_is_lightgbms_rule(rng: np.random.Generator) -> None:
    X = rng.normal(size=(3000, 5)).astype(np.float32)
    y = (X[:, 0] + rng.normal(scale=2.0, size=3000) > 0).astype(int)
    Xv = rng.normal(size=(1000, 5)).astype(np.float32)
    yv = (Xv[:, 0] + rng.normal(scale=2.0, size=1000) > 0).astype(int)
    params = {"n_estimators": 200, "learning_rate": 0.3, "num_leaves": 31, "verbosity": -1,
              "min_child_samples": 5, "deterministic": True, "n_jobs": 1}
    for rounds in (3, 10):
        grown = lgb.LGBMClassifier(**params).fit(X, y, eval_X=(Xv,), eval_y=(yv,))
        curve = grown.evals_result_["valid_0"]["binary_logloss"]
        stopped = lgb.LGBMClassifier(**params).fit(
            X, y, eval_X=(Xv,), eval_y=(yv,), callbacks=[lgb.early_stopping(rounds, verbose=False)])
        best, stop = early_stopping_round(curve, rounds, higher_is_better=False)
        assert best == stopped.best_iteration_ < 200
        assert stop == len(stopped.evals_result_["valid_0"]["binary_logloss"])
    assert early_stopping_round([0.1, 0.3, 0.2, 0.25], 2, higher_is_better=True) == (2, 4)
    assert early_stopping_round([3.0, 2.0, 1.0], 5, higher_is_better=False) == (3, 3)


@pytest.fixture(scope="module")
def dask_trained(small_config: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedProject:
    """The small project trained with ``[engine] kind = "dask"`` on 2 local workers."""
    root = tmp_path_factory.mktemp("small-dask")
    for f in small_config.parent.iterdir():
        if f.name != "config.toml":
            (root / f.name).symlink_to(f)
    (root / "config.toml").write_text(small_config.read_text() + ENGINE)
    return train(root / "config.toml")


@pytest.mark.slow
def test_dask_metrics_are_within_tolerance_of_the_local_run(
        small_trained: TrainedProject, dask_trained: TrainedProject) -> None:
    local, dask = small_trained.metrics, dask_trained.metrics
    assert dask["engine"]["kind"] == "dask" and dask["engine"]["workers"] == 2
    assert "engine" not in local
    for task, tol in AUC_TOL.items():
        assert abs(dask["tasks"][task]["auc"] - local["tasks"][task]["auc"]) <= tol, task
    rmse = dask["tasks"]["revenue"]["rmse"], local["tasks"]["revenue"]["rmse"]
    assert abs(rmse[0] - rmse[1]) <= RMSE_REL_TOL * rmse[1]
    assert dask["candidate_recall"] == local["candidate_recall"]  # candidates run in process
    for name, model in dask_trained.models.items():
        assert model.booster_.current_iteration() == model.best_iteration_ == dask["trees"][name]
        curve = model.evals_result_
        assert len(curve["train"]) == len(curve["validation"]) == 1  # one metric each
        assert len(next(iter(curve["validation"].values()))) >= model.best_iteration_


@pytest.mark.slow
def test_worker_scoring_equals_in_process_scoring(dask_trained: TrainedProject) -> None:
    store, cands = dask_trained.features.store, dask_trained.candidates
    names = tuple(dask_trained.models)
    here = _score_candidates(store, cands, dask_trained.models, names)
    np.testing.assert_array_equal(dask_trained.scores.cand_margins, here)
    assert np.isfinite(here[:, cands.items >= 0]).all()


@pytest.mark.slow
def test_a_dask_project_saves_loads_explains_and_recommends(
        dask_trained: TrainedProject, tmp_path: Path) -> None:
    project = Project.load(save_project(dask_trained, tmp_path / "dask"))
    assert project.manifest["metrics"]["engine"]["workers"] == 2
    ranked = project.recommend(project.user_ids()[3], k=10)
    assert len({it.item_id for it in ranked.items}) == 10
    X, stored = project.test_rows()
    contrib = project.contributions(X[:200])
    for k, name in enumerate(project.model_names):
        np.testing.assert_allclose(contrib[name].sum(axis=1), stored[k, :200], atol=1e-4)


def test_ranker_rows_are_dealt_out_in_whole_queries(rng: np.random.Generator) -> None:
    sizes = rng.integers(1, 6, size=9)
    X = np.arange(sizes.sum(), dtype=np.float32)[:, None]
    query = np.repeat(np.arange(sizes.size), sizes)
    parts = _Rows(X, query.astype(np.float64), sizes).deal(2)
    assert [p.group.tolist() for p in parts] == [sizes[0::2].tolist(), sizes[1::2].tolist()]
    for k, p in enumerate(parts):
        assert sorted(set(p.y.astype(int))) == list(range(k, sizes.size, 2))
        assert p.X.shape[0] == p.group.sum()


@pytest.mark.slow
def test_a_ranker_fits_on_a_running_scheduler(rng: np.random.Generator) -> None:
    from distributed import LocalCluster

    n_q, per_q = 300, 10
    X = rng.normal(size=(n_q * per_q, 4)).astype(np.float32)
    rel = np.clip(np.round(X[:, 0] + rng.normal(scale=0.7, size=X.shape[0])), 0, 3)
    group = np.full(n_q, per_q)
    tr, va = slice(0, 2000), slice(2000, None)
    kw = {"objective": "lambdarank", "n_estimators": 40, "min_child_samples": 5,
          "name": "rank"}
    local = TaskModel(**kw).fit(X[tr], rel[tr], group=group[:200], eval_set=(X[va], rel[va]),
                                eval_group=group[200:])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            open_engine(EngineConfig(kind="dask", scheduler=cluster.scheduler_address)) as eng:
        assert eng is not None and eng.info.workers == 2
        model = eng.fit(TaskModel(**kw), X[tr], rel[tr], group=group[:200],
                        eval_set=(X[va], rel[va]), eval_group=group[200:])
    ndcg = {m: m.evals_result_["validation"]["ndcg@10"][m.best_iteration_ - 1]
            for m in (local, model)}
    assert 0.7 < ndcg[model] and abs(ndcg[model] - ndcg[local]) < 0.03
    assert model.booster_.current_iteration() == model.best_iteration_ <= 40
    np.testing.assert_allclose(model.predict(X[va]), model.booster_.predict(X[va], raw_score=True))
