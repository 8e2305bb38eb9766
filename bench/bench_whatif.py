"""Benchmark what-if edits: one ``explain.whatif`` call (validate the change, rebuild the
pair's features, SHAP of the old and new rows, blend, re-rank) must answer in <= 100 ms.

Usage::

    .venv/bin/python bench/bench_whatif.py --artifacts artifacts/demo [--n 50] [--seed 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from explain import attribute_rows, whatif
from recsys.features import EditableAttribute, edit_pair, editable_attributes
from recsys.project import Project

BUDGET_MS = 100.0


def _new_value(a: EditableAttribute, rng: np.random.Generator) -> object:
    """Another level, or the number scaled by 0.5-1.5 (1.0 where it is missing)."""
    if a.levels is not None:
        others = [lv for lv in a.levels if lv != a.value] or list(a.levels)
        return others[int(rng.integers(len(others)))]
    base = 1.0 if a.value is None else float(a.value)
    return round(base * float(rng.uniform(0.5, 1.5)), 2)


def _edits(project: Project, n: int, seed: int) -> list[tuple[str, str, dict[str, object]]]:
    """``n`` random (user, candidate item, one attribute change) triples."""
    rng = np.random.default_rng(seed)
    store, users = project.feature_store(), project.user_ids()
    out = []
    while len(out) < n:
        user = str(users[int(rng.integers(len(users)))])
        codes, _ = project.candidate_scores(user)
        if not codes.size:
            continue
        item = int(codes[int(rng.integers(codes.size))])
        attrs = editable_attributes(store, project.user_code(user), item)
        a = attrs[int(rng.integers(len(attrs)))]
        out.append((user, str(project.item_ids()[item]), {a.key: _new_value(a, rng)}))
    return out


def _ms(times: list[float]) -> str:
    p95 = float(np.percentile(times, 95))
    return (f"median {1e3 * statistics.median(times):.1f} ms, p95 {1e3 * p95:.1f} ms, "
            f"max {1e3 * max(times):.1f} ms")


def main() -> None:
    """Time ``n`` random edits after a warm-up and print median and p95."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", type=Path, default=Path("artifacts/demo"))
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    project = Project.load(args.artifacts)
    store = project.feature_store()
    print(f"{args.artifacts}: {len(project.user_ids()):,} users, {len(project.item_ids()):,} "
          f"items, {len(project.feature_specs)} features, {len(project.model_names)} models")
    for user, item, change in _edits(project, 5, args.seed + 1):  # warm-up: tables, JIT
        whatif(project, user, item, changes=change)
    edits = _edits(project, args.n, args.seed)
    total, features, shap = [], [], []
    for user, item, change in edits:
        t0 = time.perf_counter()
        w = whatif(project, user, item, changes=change)
        total.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pair = edit_pair(store, project.user_code(user), project.item_code(item), change)
        features.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        attribute_rows(project, np.vstack([pair.before, pair.after]))
        shap.append(time.perf_counter() - t0)
        gap = w.score_after - w.score_before
        assert abs(w.change().values.sum() - gap) <= 1e-9 * max(1.0, abs(gap)), w.change()
    print(f"one what-if edit (explain.whatif, {args.n} random single-attribute edits of "
          f"candidate pairs): {_ms(total)}")
    print(f"  of which rebuilding the features (edit_pair): {_ms(features)}")
    print(f"  of which SHAP + blend of both rows (attribute_rows): {_ms(shap)}")
    verdict = "within" if float(np.percentile(total, 95)) * 1e3 <= BUDGET_MS else "OVER"
    print(f"p95 {verdict} the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
