"""Benchmark candidate scoring: LightGBM's ``Booster.predict`` against :class:`recsys._forest.Forest`.

For every task model of a trained project, the raw scores of the same candidate rows
(features as training's scoring stage builds them), timed in one run, alternating the two
(best of ``--repeat``), with a check that the results are bit-equal. The ratio is what to
compare; absolute times follow the machine's load, printed beside them.

Usage::

    .venv/bin/python bench/bench_forest.py --artifacts artifacts/demo [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from recsys._forest import Forest
from recsys.artifacts import load_artifacts
from recsys.project import Project


def _best(fn, repeat: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", type=Path, default=Path("artifacts/demo"))
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    project = Project.load(args.artifacts)
    store = project.feature_store()
    cands = project.candidates()
    u, c = np.nonzero(cands >= 0)
    pick = np.random.default_rng(0).choice(u.size, min(args.rows, u.size), replace=False)
    X = store.features_for(u[pick], cands[u[pick], c[pick]]).X
    print(f"{X.shape[0]:,} candidate rows x {X.shape[1]} features; "
          f"load average {os.getloadavg()[0]:.1f}")
    total_lgb = total_forest = 0.0
    models = load_artifacts(args.artifacts).models
    for name in project.model_names:
        model = models[name]
        booster, trees = model.booster_, model.best_iteration_
        forest = Forest.from_booster(booster, trees)
        forest.predict(X[:10])  # compile outside the timing
        ref = booster.predict(X, raw_score=True, num_iteration=trees)
        assert np.array_equal(forest.predict(X), ref), f"{name}: Forest differs from LightGBM"
        t_lgb = _best(lambda b=booster, k=trees: b.predict(X, raw_score=True, num_iteration=k),
                      args.repeat)
        t_forest = _best(lambda f=forest: f.predict(X), args.repeat)
        total_lgb, total_forest = total_lgb + t_lgb, total_forest + t_forest
        print(f"  {name:<12} {trees:4d} trees  LightGBM {t_lgb * 1e3:8.1f} ms   "
              f"Forest {t_forest * 1e3:8.1f} ms   {t_lgb / t_forest:4.1f}x  (bit-equal)")
    print(f"all models: LightGBM {total_lgb:.2f} s, Forest {total_forest:.2f} s, "
          f"{total_lgb / total_forest:.1f}x; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
