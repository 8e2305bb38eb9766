"""Speed of the Global page at demo scale (server side, ``AppTest``).

Measures
--------
1. The first run of ``/global`` (project load and the SHAP of the default 1,000-row sample).
2. Choosing the 2,000-row sample: right after the page first shows, and after the user
   has read the page for ``--think`` seconds (on another transform, so nothing is cached
   yet for it when the page opens).
3. A weight-slider move (``weight_click``), median and 90th percentile of ``--moves``
   moves, with the 2,000-row sample: the blend with a numeric and with a categorical
   feature in the dependence plot, and a task chosen instead of the blend.
4. A breakdown of one rerun's work outside Streamlit (``--parts``): each figure of the page
   built and serialised as ``st.plotly_chart`` does, best of five.

The last column is the page before issue 10 §3 (one SHAP call per sample size, figures
built trace by trace, an SVG strip), measured back to back with this version on the same
2-core machine (load average about 3, 2026-11-30): numbers move with the machine's load,
so compare a new run with a fresh baseline run, not across machines.

Usage: ``.venv/bin/python bench/bench_global.py [--project artifacts/demo] [--moves 8]
[--think 15] [--parts]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench_dashboard import served

ROOT = Path(__file__).resolve().parents[1]
BEFORE = {
    "first run": "7.10 s",
    "right after": "2.73 s",
    "other transform": "1.63 s",
    "s after the page shows": "2.80 s",
    "blend, numeric": "median 0.473 s, p90 0.512 s",
    "blend, categorical": "median 0.507 s, p90 0.518 s",
    "task click": "median 0.497 s, p90 0.503 s",
}
"""The same measurements before this version (see the module docstring), by row."""


def _timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _moves(at: object, moves: int, start: float) -> tuple[float, float]:
    """(median, p90) seconds of ``moves`` weight-slider moves."""
    times = sorted(_timed(at.slider(key="weight_click").set_value(round(start + 0.1 * j, 1)).run)
                   for j in range(moves))
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def _check(at: object, what: str) -> None:
    if at.exception:
        raise RuntimeError(f"{what}: {at.exception[0].value}")


def bench_page(moves: int, think: float) -> list[tuple[str, str]]:
    """(what, timing) rows of the page measurements."""
    from streamlit.testing.v1 import AppTest  # noqa: TID251 - the bench drives the UI

    rows: list[tuple[str, str]] = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.query_params["page"] = "global"
    rows.append(("first run (load + 1,000-row sample)", f"{_timed(at.run):7.2f} s"))
    _check(at, "first run")
    pick = _timed(at.selectbox(key="gl_n").set_value(2000).run)
    _check(at, "2,000 sample")
    rows.append(("choose 2,000 rows right after the page shows", f"{pick:7.2f} s"))
    at.selectbox(key="gl_n").set_value(1000).run()
    shown = _timed(at.selectbox(key="transform").set_value("percentile").run)
    rows.append(("other transform, 1,000 rows (new sample)", f"{shown:7.2f} s"))
    time.sleep(think)
    pick = _timed(at.selectbox(key="gl_n").set_value(2000).run)
    _check(at, "2,000 sample after reading")
    rows.append((f"choose 2,000 rows {think:.0f} s after the page shows", f"{pick:7.2f} s"))
    at.selectbox(key="transform").set_value("zscore").run()
    at.selectbox(key="gl_n").set_value(2000).run()
    features = at.selectbox(key="gl_feature").options
    numeric = "item_price" if "item_price" in features else features[0]
    categorical = "item_brand" if "item_brand" in features else features[-1]
    cases = [("blend, numeric feature", "blend", numeric),
             ("blend, categorical feature", "blend", categorical),
             ("task click, categorical feature", "click", categorical)]
    for j, (name, target, feature) in enumerate(cases):
        at.selectbox(key="gl_task").set_value(target).run()
        at.selectbox(key="gl_feature").set_value(feature).run()
        _check(at, name)
        median, p90 = _moves(at, moves, 1.1 + 0.1 * moves * j)
        _check(at, f"{name} moves")
        rows.append((f"slider move, 2,000 rows, {name}",
                     f"median {median:5.3f} s, p90 {p90:5.3f} s"))
    return rows


def bench_parts(project_dir: Path) -> list[tuple[str, str]]:
    """Best-of-five time of each piece of one slider-move rerun (2,000 rows, the blend,
    item_brand in the dependence plot), figures built and serialised as
    ``st.plotly_chart`` does (``to_dict`` + ``plotly.io.to_json``)."""
    import plotly.io as pio

    from explain import feature_associations, feature_labels, global_importance, partial_dependence
    from recsys.project import Project
    from ui import global_view
    from ui.pdp_view import pdp_figure

    project = Project.load(str(project_dir))
    sample = global_importance(project, n=2000)
    tasks = tuple(project.tasks)
    names = [s.name for s in project.feature_specs]
    feature = "item_brand" if "item_brand" in names else names[0]
    pd_ = partial_dependence(project, feature, n_pairs=500, grid=20)
    weights = {tasks[0].name: 1.7}
    gi = sample.reweight(weights)
    frame = gi.to_frame()
    labels = feature_labels(frame["feature"], frame["description"])
    text = "contribution to the blended score"

    def serialised(fig: object) -> str:
        return pio.to_json(fig.to_dict(), validate=False)  # type: ignore[attr-defined]

    parts = {
        "reweight + to_frame": lambda: sample.reweight(weights).to_frame(),
        "bars + groups + strip": lambda: [serialised(f) for f in global_view.overview_figures(
            gi, frame, "blend", labels, text)],
        f"dependence ({feature})": lambda: serialised(global_view.dependence_figure(
            gi, feature, "blend", labels, text)),
        f"dependence ({feature}, colour by item_price)": lambda: serialised(
            global_view.dependence_figure(gi, feature, "blend", labels, text, "item_price")),
        "partial dependence figure": lambda: serialised(pdp_figure(
            pd_.reweight(weights), None, tasks, label=labels[feature])),
        "feature associations (cached per sample)": lambda: feature_associations(gi),
    }
    return [(name, f"{1e3 * min(_timed(fn) for _ in range(5)):7.1f} ms")
            for name, fn in parts.items()]


def main() -> None:
    """Run the benchmarks and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT / "artifacts/demo")
    parser.add_argument("--moves", type=int, default=8)
    parser.add_argument("--think", type=float, default=15.0)
    parser.add_argument("--parts", action="store_true")
    args = parser.parse_args()
    with served(args.project):
        print(f"project {args.project.resolve()} (Global page, AppTest, server side)")
        print(f"  {'':<55} {'now':<28} before")
        for what, value in bench_page(args.moves, args.think):
            before = next((b for k, b in BEFORE.items() if k in what), "")
            print(f"  {what:<55} {value:<28} {before}")
        if args.parts:
            print("one rerun's figures, built and serialised (best of 5)")
            for what, value in bench_parts(args.project):
                print(f"  {what:<55} {value}")


if __name__ == "__main__":
    main()
