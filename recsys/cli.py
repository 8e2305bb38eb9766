"""``recsys``: the Blendscope command line (same API as the dashboard).

Exit codes: 0 success, 2 bad input or usage (one message per problem), 1 unexpected error.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from recsys._cli_shared import (
    ArtifactsOpt,
    TableJson,
    TransformOption,
    WeightOpt,
    load_project,
    parse_weights,
    table,
    val,
)
from recsys.cli_explain import explain_app
from recsys.cli_loop import flags_app, runs_app
from recsys.errors import BlendscopeError

app = typer.Typer(
    help="Blendscope: explainable multi-objective recommendation. Train one LightGBM model "
    "per task, blend their scores with your weights, rank, evaluate and explain.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Turn public dataset layouts into a Blendscope dataset.",
                         no_args_is_help=True)
app.add_typer(explain_app)  # no name: explain, whatif, report and pdp are top-level commands
app.add_typer(import_app, name="import")
app.add_typer(flags_app, name="flags")
app.add_typer(runs_app, name="runs")

__all__ = ["app", "dataset_paths", "main", "parse_weights", "run"]


class TableJsonCsv(StrEnum):
    """Output formats of recommend."""

    table = "table"
    json = "json"
    csv = "csv"


def _err(message: str) -> None:
    for line in message.splitlines():
        typer.echo(f"error: {line}", err=True)


def dataset_paths(config: Path) -> list[Path]:
    """List what ``train --out`` must never replace.

    That is the config file, its directory and every data file it names (the config's
    own errors are reported by training itself).
    """
    from recsys.config import load_config
    from recsys.errors import SchemaError

    paths = [config, config.parent]
    try:
        data = load_config(config).data
    except SchemaError:
        return paths
    for rel in (data.interactions, data.users, data.items):
        if rel:
            paths.append(config.parent / rel)
    return paths


def _interval(lo: float, hi: float, signed: bool = False) -> str:
    if "n/a" in (val(lo), val(hi)):
        return "n/a"
    return f"[{val(lo, signed)}, {val(hi, signed)}]"


def _report_rows(reports: Any, level: str, baselines: bool = True) -> list[dict[str, Any]]:
    """One table row per `recsys.baselines.MetricReport`."""
    rows = []
    for r in reports:
        row: dict[str, Any] = {"task": r.task, "metric": r.metric, "value": val(r.value),
                               level: _interval(r.ci_low, r.ci_high)}
        if baselines:
            row |= {"baseline": r.baseline_name or "-", "baseline value": val(r.baseline_value),
                    "lift": val(r.lift, True),
                    f"lift {level}": _interval(r.lift_ci_low, r.lift_ci_high, True)}
        row |= {"positives": r.n_positives, "rows": r.n_rows, "users": r.n_users}
        if r.reason:
            row["note"] = r.reason
        rows.append(row)
    return rows


def _health_text(health: Any) -> str:
    """Metrics beside baselines with intervals, then one line per warning."""
    level = f"{health.confidence:.0%} CI"
    lines = [f"model metrics on the test window beside the best trivial baseline ({level} over "
             f"{health.n_bootstrap} resamples of users; lift > 0: better than the baseline)",
             table(_report_rows(health.reports, level)), ""]
    lines += [w.line() for w in health.warnings] or ["no health warnings"]
    return "\n".join(lines)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write the dataset to.")],
    users: Annotated[int, typer.Option(help="Number of users.")] = 10_000,
    items: Annotated[int, typer.Option(help="Number of items.")] = 2_000,
    exposures: Annotated[int, typer.Option(help="Number of exposures (rows).")] = 500_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
) -> None:
    """Write the deterministic demo e-commerce dataset (tables + config.toml)."""
    from recsys.demo import write_demo

    path = write_demo(out, n_users=users, n_items=items, n_exposures=exposures, seed=seed)
    typer.echo(f"wrote {path}")


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="The dataset's config.toml.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Directory for the trained project: new, "
                                     "empty, or an earlier Blendscope project (replaced "
                                     "atomically; anything else is refused).")],
) -> None:
    """Validate a dataset, build features and candidates, train one model per task, save.

    Progress goes to stderr; a per-task metrics table is printed at the end. Items the
    analysts flagged bad or irrelevant on an earlier run of OUT (`recsys flags`) are never
    candidates; the run is recorded in OUT's log (`recsys runs list`).
    """
    from recsys.artifacts import save_project
    from recsys.atomic import OutputDir
    from recsys.train import train as run

    started = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        elapsed = time.perf_counter() - started
        typer.echo(f"[{100 * fraction:3.0f}%] {elapsed:6.1f}s  {stage}", err=True)

    with OutputDir(out, protect=dataset_paths(config)) as claim:
        from recsys.projectlog import ProjectLog

        flags = ProjectLog.of(out).flags()  # the analysts' flags on earlier runs of `out`
        if len(flags):
            progress(f"{len(flags)} feedback flags in force: flagged items are never "
                     "candidates", 0.0)
        tp = run(config, progress=progress, flags=flags)
        progress("saving artifacts", 0.98)
        path = save_project(tp, out, claim=claim)
        from recsys.runs import record_training

        entry = record_training(path, tp.models)
    progress(f"saved {path} (run {entry.run_id} in {path.name}.log.sqlite)", 1.0)
    from recsys.health import ModelHealth

    typer.echo(_health_text(ModelHealth.from_dict(tp.metrics["health"])))
    recall = tp.metrics["candidate_recall"]
    typer.echo(f"candidate recall of test positives: {recall['all']:.3f} "
               f"({tp.scores.cand_items.shape[1]} candidates per user)")


@app.command()
def recommend(
    artifacts: ArtifactsOpt,
    user: Annotated[str, typer.Option("--user", "-u", help="User id.")],
    k: Annotated[int, typer.Option("--k", min=1, help="List length.")] = 10,
    weight: WeightOpt = None,
    transform: TransformOption = None,
    fmt: Annotated[TableJsonCsv, typer.Option("--format", "-f")] = TableJsonCsv.table,
    ignore_flags: Annotated[bool, typer.Option(
        "--ignore-flags", help="List items flagged bad or irrelevant too (see `recsys flags`)."
    )] = False,
) -> None:
    """List a user's top-K items under the blend: blended score and every task's score.

    Items flagged bad or irrelevant for this user, or for every user, are left out.
    """
    weights = parse_weights(weight)
    project = load_project(artifacts)
    flagged = set() if ignore_flags else project.log().flags().excluded_for(user)
    ranked = project.recommend(user, weights=weights, k=k,
                               transform=transform.value if transform else None,
                               exclude_items=flagged)
    records = [it.to_dict() for it in ranked.items]
    if fmt is TableJsonCsv.json:
        typer.echo(json.dumps(records, indent=2))
    elif fmt is TableJsonCsv.csv:
        typer.echo(ranked.to_frame().to_csv(index=False), nl=False)
    else:
        typer.echo(f"user {user} · weights {ranked.weights.as_dict()} · {ranked.transform}")
        typer.echo(table([{"rank": r["rank"], "item_id": r["item_id"], "title": r["title"],
                            "score": r["score"], **r["tasks"]} for r in records]))


@app.command()
def evaluate(
    artifacts: ArtifactsOpt,
    weight: WeightOpt = None,
    transform: TransformOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, help="Cut-off (default: config).")] = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Per-task metrics of the blended ranking on the test window.

    Every per-user metric comes with a bootstrap confidence interval over users and,
    where one applies, the best trivial baseline (item rate or mean, random order).
    """
    project = load_project(artifacts)
    ev = project.evaluate(parse_weights(weight), transform=transform.value if transform else None,
                          k=k)
    d = ev.to_dict()
    if fmt is TableJson.json:
        typer.echo(json.dumps(d, indent=2, allow_nan=False))
        return
    level = "95% CI"
    typer.echo(f"weights {d['weights']} · {d['transform']} · k={d['k']}")
    typer.echo("\nmodels (test window, independent of the weights)")
    if ev.health is not None:
        typer.echo(table(_report_rows(ev.health.reports, level)))
    else:
        typer.echo(table([{"task": t, **m} for t, m in d["tasks"].items()]))
    typer.echo("\nblended ranking of each user's test exposures")
    typer.echo(table(_report_rows([r for rs in ev.ranking_reports.values() for r in rs],
                                   level)))
    typer.echo("\ntop-K over candidates vs test positives")
    typer.echo(table(_report_rows([r for rs in ev.topk_reports.values() for r in rs], level,
                                   baselines=False)))
    diversity = val(ev.diversity) + (f" ({ev.diversity_reason})" if ev.diversity_reason else "")
    typer.echo(f"\ncoverage {val(ev.coverage)} · diversity {diversity} · "
               f"novelty {val(ev.novelty)} bits")


@app.command()
def sweep(
    artifacts: ArtifactsOpt,
    steps: Annotated[int, typer.Option(min=2, max=51, help="Grid points per weight axis.")] = 11,
    transform: TransformOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, help="Cut-off (default: config).")] = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
    all_points: Annotated[bool, typer.Option("--all", help="Show every grid point, "
                                             "not only the Pareto-efficient ones.")] = False,
) -> None:
    """Evaluate a grid over the weight simplex and list the Pareto-efficient points."""
    project = load_project(artifacts)
    sw = project.sweep(steps=steps, transform=transform.value if transform else None, k=k)
    if fmt is TableJson.json:
        typer.echo(json.dumps(sw.to_dict(pareto_only=not all_points), indent=2,
                              allow_nan=False))
        return
    df = sw.to_frame()
    shown = df if all_points else df[df["pareto"]]
    typer.echo(f"{len(df)} weight vectors, {int(df['pareto'].sum())} Pareto-efficient "
               f"(NDCG@{sw.k}; minimised tasks: lower is better)")
    typer.echo(table(shown.drop(columns=["pareto"] if not all_points else []).to_dict("records")))


@app.command("health")
def health_command(
    artifacts: ArtifactsOpt,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
    curves: Annotated[bool, typer.Option("--curves", help="With --format json: include the "
                                         "learning and diagnostic curves.")] = False,
) -> None:
    """Is each model better than trivial? Metrics beside baselines, and warnings.

    Every task's test metrics (AUC, log loss / RMSE, MAE; NDCG@K and GAUC of each user's
    test exposures) beside the best trivial baseline on the same rows (the item's
    historical rate or mean, the global one, random order), with bootstrap confidence
    intervals over users for the metric and for the lift, then the health warnings
    recorded at training (too few positives, constant scores, one-tree models, ...).
    """
    project = load_project(artifacts)
    health = project.health()
    if fmt is TableJson.json:
        typer.echo(json.dumps(health.to_dict(curves=curves), indent=2, allow_nan=False))
    else:
        typer.echo(_health_text(health))


def _tune_rows(result: Any) -> list[dict[str, Any]]:
    """One before/after row per task of a `recsys.tune.TuneResult`."""
    rows = []
    for t in result.tasks:
        changed = ", ".join(f"{k} {a:g}→{b:g}" for k, (a, b) in t.changed().items())
        rows.append({"task": t.task, "metric": t.metric, "before": val(t.before),
                     "after": val(t.after), "change": val(t.after - t.before, True),
                     "trials": t.n_trials, "seconds": f"{t.seconds:.1f}",
                     "params changed": t.note or changed or "none (the config's were best)"})
    return rows


@app.command("tune")
def tune_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="The dataset's config.toml.")],
    budget: Annotated[str, typer.Option("--budget", "-b", help="Time for the whole run, "
                                        "loading included: 90s, 10m, 1h or plain seconds.")],
    out: Annotated[str, typer.Option("--out", "-o", help="File for the tuned config: a new "
                                     "file, never the config itself (directories, symlinks "
                                     "and devices are refused).")],
    tasks: Annotated[str | None, typer.Option("--tasks", metavar="TASK,TASK", help="Tune only "
                                              "these tasks (default: every task).")] = None,
    trials_per_task: Annotated[int | None, typer.Option(
        "--trials-per-task", min=1, help="Stop each task's search after N trials (the budget "
        "still applies).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the search: the same seed and trials give "
                                      "the same choice.")] = 7,
) -> None:
    """Search each task's LightGBM settings on the validation window; write a tuned config.

    One seeded TPE search per task (the budget is shared among them) over num_leaves,
    max_depth, learning_rate, min_child_samples, subsample, colsample_bytree, reg_lambda
    and n_estimators, scored by the validation metric the model early-stops on. The first
    trial is the config's own settings, so a task's result is never worse on that window.
    The new config keeps every other setting; train it with `recsys train`.
    """
    from recsys.tune import check_tuned_output, parse_budget, tune, write_tuned_config

    seconds = parse_budget(budget)
    check_tuned_output(config, out)
    started = time.perf_counter()

    def progress(stage: str, fraction: float) -> None:
        elapsed = time.perf_counter() - started
        typer.echo(f"[{100 * fraction:3.0f}%] {elapsed:6.1f}s  {stage}", err=True)

    result = tune(config, budget_seconds=seconds, seed=seed, progress=progress,
                  tasks=tasks.split(",") if tasks is not None else None,
                  n_trials=trials_per_task)
    path = write_tuned_config(result, config, out)
    typer.echo(f"validation metric before and after tuning ({result.seconds:.0f} s of a "
               f"{seconds:g} s budget; logloss and l2: lower is better, ndcg: higher)")
    typer.echo(table(_tune_rows(result)))
    typer.echo(f"wrote {path}; train it with: recsys train --config {path} --out artifacts/NAME")


@import_app.command("movielens")
def import_movielens(
    src: Annotated[Path, typer.Argument(help="MovieLens 100K or 1M directory.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset directory to write.")],
) -> None:
    """MovieLens 100K/1M → dataset with tasks `rating` (regression) and `like` (rating >= 4)."""
    from recsys.adapters import import_movielens as run

    logging.getLogger("recsys.adapters").setLevel(logging.INFO)
    typer.echo(f"wrote {run(src, out)}")


@import_app.command("events")
def import_events(
    path: Annotated[Path, typer.Argument(help="CSV/Parquet with user_id,item_id,behavior,"
                                         "timestamp.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset directory to write.")],
) -> None:
    """Multi-behaviour event log → one exposure per user-item pair with any event.

    One binary task per non-view behaviour; item- and user-level columns become
    items/users tables.
    """
    from recsys.adapters import import_events as run

    logging.getLogger("recsys.adapters").setLevel(logging.INFO)
    typer.echo(f"wrote {run(path, out)}")


class _LowerLevel(logging.Formatter):
    """``warning: message`` (like ``error: ...``), ``info: ...`` for progress notes."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "py.warnings":  # warnings.warn: drop the file:line and source line
            # warnings.warn is logged as ("%s", message); args is a tuple, never a mapping
            args = record.args if isinstance(record.args, tuple) else ()
            text = str(args[0]) if args else record.getMessage()
            first = text.splitlines()[0] if text else ""
            found = re.match(r"^.*?:\d+: \w+: (.*)$", first)
            record = logging.makeLogRecord({**record.__dict__, "args": (),
                                            "msg": found.group(1) if found else first})
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging() -> None:
    root = logging.getLogger()
    if not any(isinstance(h.formatter, _LowerLevel) for h in root.handlers):  # once per process
        handler = logging.StreamHandler()
        handler.setFormatter(_LowerLevel())
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``recsys`` console script; returns the exit code."""
    _setup_logging()
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as ex:  # click prints usage errors itself and exits 2
        code = ex.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BlendscopeError as err:
        _err(str(err))
        return 2
    return 0


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code.

    Exits with ``os._exit`` after flushing, so a library thread still running at
    interpreter shutdown (Arrow's pools, apache/arrow#34314) cannot turn the exit code
    into an abort.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
