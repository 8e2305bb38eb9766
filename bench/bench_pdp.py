"""Benchmark partial dependence: ``partial_dependence`` (500 pairs × 20 grid points),
``reweight`` (a slider move) and ``ice_lines`` (a user's top 5), against the bare
prediction of the same rows.

Usage::

    .venv/bin/python bench/bench_pdp.py --artifacts artifacts/demo [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from explain import ice_lines, partial_dependence
from recsys.project import Project

FEATURES = ("item_price", "item_discount", "context_device", "item_brand")


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _line(what: str, times: list[float], unit: float = 1e3, suffix: str = "ms") -> str:
    return (f"{what}: median {unit * statistics.median(times):.2f} {suffix}, "
            f"best {unit * min(times):.2f} {suffix} (n={len(times)})")


def bench(project: Project, repeat: int) -> None:
    """Print the timings; the first call of each kind warms LightGBM and numba."""
    names = [s.name for s in project.feature_specs]
    partial_dependence(project, "item_price")  # warm-up: lazy model load
    for feature in [f for f in FEATURES if f in names]:
        pd_ = partial_dependence(project, feature)
        rows = pd_.n_pairs * pd_.grid.size
        X = np.repeat(project.test_rows()[0][pd_.rows][None], pd_.grid.size, axis=0)
        X = X.reshape(rows, -1)
        full = _times(lambda f=feature: partial_dependence(project, f), repeat)
        bare = _times(lambda X=X: project.margins(X), repeat)
        print(_line(f"partial_dependence({feature}) {pd_.n_pairs} pairs × {pd_.grid.size} "
                    f"grid = {rows:,} rows", full)
              + f"; bare margins of the same rows {1e3 * min(bare):.2f} ms "
              f"(overhead {100 * (min(full) / min(bare) - 1):+.0f}%)")
    pd_ = partial_dependence(project, "item_price")
    tasks = project.task_names()
    moves = [{t: float(w) for t, w in zip(tasks, ws, strict=True)}
             for ws in np.random.default_rng(0).uniform(0, 5, (200, len(tasks)))]
    per = _times(lambda: [pd_.reweight(w) for w in moves], repeat)
    print(_line("reweight (one slider move, no prediction)",
                [t / len(moves) for t in per], 1e6, "µs"))
    users = [str(u) for u in project.user_ids()[:repeat * 4]]
    ice_lines(project, users[0], "item_price", grid=pd_.grid)
    ice = [_times(lambda u=u: ice_lines(project, u, "item_price", grid=pd_.grid), 1)[0]
           for u in users]
    print(_line(f"ice_lines(top 5 × {pd_.grid.size} grid, recommend included) over "
                f"{len(users)} users", ice))
    grid_int = _times(lambda: ice_lines(project, users[0], "item_price", grid=20), repeat)
    print(_line("ice_lines with its own grid (reads the 500-pair sample)", grid_int))


def main() -> None:
    """Time partial dependence on a trained project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default="artifacts/demo")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    t = time.perf_counter()
    project = Project.load(args.artifacts)
    print(f"loaded {args.artifacts} in {time.perf_counter() - t:.2f} s; "
          f"{project.test_rows()[0].shape[0]:,} test exposures, "
          f"{len(project.model_names)} models")
    bench(project, args.repeat)


if __name__ == "__main__":
    main()
