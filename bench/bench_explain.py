"""Benchmark explanations: one user's top-K, batch attribution vs bare ``pred_contrib``,
report export per format, and how tree shape trades SHAP time against AUC.

Usage::

    .venv/bin/python bench/bench_explain.py --artifacts artifacts/demo [--users 100]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from explain import (
    build_report,
    explain_pairs,
    explain_top,
    export_report,
    global_importance,
    to_explanations,
)
from recsys.models import TaskModel
from recsys.project import Project

FORMATS = ("html", "pdf", "csv", "parquet", "json", "xlsx")


def _time(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_one_user(project: Project, n_users: int = 20) -> None:
    """explain_top for several users: median and worst time, and the bare SHAP share."""
    users = [str(u) for u in project.user_ids()[:n_users]]
    explain_top(project, users[0])  # warm caches (numba, LightGBM)
    times = [_time(lambda u=u: explain_top(project, u))[0] for u in users]
    u = project.user_code(users[0])
    items = project.recommend(users[0]).items
    codes = np.array([project.item_code(it.item_id) for it in items])
    X = project.pair_features(np.full(codes.size, u), codes).X
    bare = statistics.median(_time(lambda: project.contributions(X), 20))
    print(f"one user's top-{len(items)} explanation (explain_top, all tasks, reasons): "
          f"median {1e3 * statistics.median(times):.1f} ms, max {1e3 * max(times):.1f} ms "
          f"over {len(users)} users; bare pred_contrib of the 10 rows {1e3 * bare:.1f} ms")


def bench_batch(project: Project, n_users: int = 200) -> None:
    """Rows/s of vectorised blended attribution against the bare pred_contrib calls."""
    top, _ = project.recommend_all(k=10)
    top = top[:n_users]
    rows, cols = np.nonzero(top >= 0)
    users, items = rows.astype(np.int64), top[rows, cols].astype(np.int64)
    X = project.pair_features(users, items).X
    bare_t, full_t = [], []
    for _ in range(3):  # interleaved, best of three: the machine may be shared
        bare_t += _time(lambda: project.contributions(X))
        full_t += _time(lambda: explain_pairs(project, users, items))
    bare, full = min(bare_t), min(full_t)
    batch = explain_pairs(project, users, items)
    objects = min(_time(lambda: to_explanations(project, batch, users, items), 2))
    n = users.size
    print(f"batch attribution of {n} rows × {len(project.model_names)} models: bare pred_contrib "
          f"{n / bare:,.0f} rows/s; features + SHAP + rescale {n / full:,.0f} rows/s "
          f"(ratio {full / bare:.3f}, overhead {100 * (full / bare - 1):+.1f}%); "
          f"+ explanation objects and reasons {1e3 * objects:.0f} ms "
          f"({100 * objects / bare:.1f}% of bare)")


def bench_global(project: Project, n: int = 2000) -> None:
    """global_importance on ``n`` sampled test exposures."""
    t = time.perf_counter()
    gi = global_importance(project, n=n)
    dt = time.perf_counter() - t
    top = gi.to_frame().head(3)["feature"].tolist()
    print(f"global importance on {n:,} test exposures: {dt:.2f} s ({n / dt:,.0f} rows/s); "
          f"top features {', '.join(top)}")


def bench_report(project: Project, n_users: int, out_dir: Path | None) -> None:
    """Build one report of ``n_users`` users and time every export format."""
    users = [str(u) for u in project.user_ids()[:n_users]]
    t = time.perf_counter()
    rep = build_report(project, users)
    build = time.perf_counter() - t
    print(f"{n_users}-user report: build {build:.2f} s "
          f"({sum(len(u.items) for u in rep.users)} items)")
    for fmt in FORMATS:
        t = time.perf_counter()
        data = export_report(rep, fmt)  # type: ignore[arg-type]
        dt = time.perf_counter() - t
        print(f"  {fmt:8s} {dt:6.2f} s  {len(data) / 1e6:7.2f} MB  (build + export "
              f"{build + dt:.2f} s)")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"report-{n_users}.{fmt}").write_bytes(data)


def bench_tree_shape(project: Project, n_train: int = 40_000) -> None:
    """Train the click model with three tree shapes; SHAP rows/s against test AUC."""
    X, _ = project.test_rows()
    test = project.eval_context.test
    y = test.labels[project.task_names().index("click")]
    order = np.argsort(test.timestamps, kind="stable")
    cut = int(0.7 * order.size)
    train_idx, eval_idx = order[:cut][-n_train:], order[cut:]
    val = train_idx[-n_train // 5:]
    fit = train_idx[: -n_train // 5]
    cats = [j for j, s in enumerate(project.feature_specs) if s.is_categorical]
    names = [s.name for s in project.feature_specs]
    Xs = X[eval_idx[:2000]]
    print("click model shape vs SHAP cost (2,000 rows) and AUC "
          f"(trained on {fit.size:,} exposures, evaluated on {eval_idx.size:,}):")
    print(f"  {'max_depth':>9} {'num_leaves':>10} {'trees':>6} {'SHAP rows/s':>12} "
          f"{'predict rows/s':>15} {'AUC':>7}")
    for depth, leaves in ((3, 7), (6, 31), (10, 127)):
        model = TaskModel(objective="binary", n_estimators=300, max_depth=depth,
                          num_leaves=leaves, learning_rate=0.1, name=f"click-d{depth}")
        model.fit(X[fit], y[fit], eval_set=(X[val], y[val]), feature_names=names,
                  categorical_features=cats)
        shap_t = min(_time(lambda m=model: m.contributions(Xs), 2))
        pred_t = min(_time(lambda m=model: m.predict(Xs), 3))
        auc = roc_auc_score(y[eval_idx], model.predict(X[eval_idx]))
        print(f"  {depth:>9} {leaves:>10} {model.best_iteration_:>6} {Xs.shape[0] / shap_t:>12,.0f}"
              f" {Xs.shape[0] / pred_t:>15,.0f} {auc:>7.4f}")


def main() -> None:
    """Run every benchmark on a trained project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts/demo"))
    parser.add_argument("--users", type=int, default=100, help="users in the report benchmark")
    parser.add_argument("--out-dir", type=Path, default=None, help="keep the report files here")
    parser.add_argument("--skip-shape", action="store_true", help="skip the tree-shape table")
    args = parser.parse_args()
    project = Project.load(args.artifacts)
    m = project.manifest
    print(f"project {args.artifacts}: {m['dataset']['n_users']:,} users, "
          f"{m['dataset']['n_items']:,} items, {m['dataset']['n_exposures']:,} exposures, "
          f"trees {m['metrics']['trees']}")
    bench_one_user(project)
    bench_batch(project)
    bench_global(project)
    bench_report(project, args.users, args.out_dir)
    if not args.skip_shape:
        bench_tree_shape(project)


if __name__ == "__main__":
    main()
