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

from recsys.blend import TRANSFORM_KINDS
from recsys.cli_loop import ArtifactsOpt, TableJson, flags_app, runs_app
from recsys.errors import BlendscopeError, SchemaError

app = typer.Typer(
    help="Blendscope: explainable multi-objective recommendation. Train one LightGBM model "
    "per task, blend their scores with your weights, rank, evaluate and explain.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Turn public dataset layouts into a Blendscope dataset.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(flags_app, name="flags")
app.add_typer(runs_app, name="runs")

__all__ = ["app", "dataset_paths", "main", "parse_weights", "run"]


class TableJsonCsv(StrEnum):
    """Output formats of recommend."""

    table = "table"
    json = "json"
    csv = "csv"


TransformOpt = StrEnum("TransformOpt", {k: k for k in TRANSFORM_KINDS})  # type: ignore[misc]
"""Score transforms (:data:`recsys.blend.TRANSFORM_KINDS`)."""


WeightOpt = Annotated[list[str] | None, typer.Option(
    "--weight", "-w", metavar="TASK=W",
    help="Override one task's blend weight (>= 0); repeat for several tasks.")]
TransformOption = Annotated[TransformOpt | None, typer.Option(
    "--transform", help="Score transform before blending (default: the config's).")]


def parse_weights(items: list[str] | None) -> dict[str, float]:
    """``["click=2", "purchase=0.5"]`` -> ``{"click": 2.0, "purchase": 0.5}``."""
    out: dict[str, float] = {}
    problems = []
    for raw in items or []:
        name, sep, value = raw.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            problems.append(f"--weight {raw!r}: expected TASK=NUMBER, e.g. click=1.5")
    if problems:
        raise SchemaError(problems)
    return out


def _err(message: str) -> None:
    for line in message.splitlines():
        typer.echo(f"error: {line}", err=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    cols = list(dict.fromkeys(c for r in rows for c in r))
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.rjust(w) if _num(v) else v.ljust(w)  # noqa: E731
                                  for v, w in zip(vals, width, strict=True)).rstrip()
    return "\n".join([line(cols), line(["-" * w for w in width])] + [line(r) for r in cells])


def _num(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def dataset_paths(config: Path) -> list[Path]:
    """The config file, its directory and every data file it names: what ``train --out``
    must never replace (the config's own errors are reported by training itself)."""
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


def _load(artifacts: Path) -> Any:
    from recsys.project import Project

    return Project.load(artifacts)


def _val(v: float, signed: bool = False) -> str:
    if v is None or v != v or v in (float("inf"), float("-inf")):
        return "n/a"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def _interval(lo: float, hi: float, signed: bool = False) -> str:
    if "n/a" in (_val(lo), _val(hi)):
        return "n/a"
    return f"[{_val(lo, signed)}, {_val(hi, signed)}]"


def _report_rows(reports: Any, level: str, baselines: bool = True) -> list[dict[str, Any]]:
    """One table row per `recsys.baselines.MetricReport`."""
    rows = []
    for r in reports:
        row: dict[str, Any] = {"task": r.task, "metric": r.metric, "value": _val(r.value),
                               level: _interval(r.ci_low, r.ci_high)}
        if baselines:
            row |= {"baseline": r.baseline_name or "-", "baseline value": _val(r.baseline_value),
                    "lift": _val(r.lift, True),
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
             _table(_report_rows(health.reports, level)), ""]
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
    """A user's top-K items under the blend: blended score and every task's score.

    Items flagged bad or irrelevant for this user, or for every user, are left out.
    """
    weights = parse_weights(weight)
    project = _load(artifacts)
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
        typer.echo(_table([{"rank": r["rank"], "item_id": r["item_id"], "title": r["title"],
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
    project = _load(artifacts)
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
        typer.echo(_table(_report_rows(ev.health.reports, level)))
    else:
        typer.echo(_table([{"task": t, **m} for t, m in d["tasks"].items()]))
    typer.echo("\nblended ranking of each user's test exposures")
    typer.echo(_table(_report_rows([r for rs in ev.ranking_reports.values() for r in rs],
                                   level)))
    typer.echo("\ntop-K over candidates vs test positives")
    typer.echo(_table(_report_rows([r for rs in ev.topk_reports.values() for r in rs], level,
                                   baselines=False)))
    diversity = _val(ev.diversity) + (f" ({ev.diversity_reason})" if ev.diversity_reason else "")
    typer.echo(f"\ncoverage {_val(ev.coverage)} · diversity {diversity} · "
               f"novelty {_val(ev.novelty)} bits")


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
    project = _load(artifacts)
    sw = project.sweep(steps=steps, transform=transform.value if transform else None, k=k)
    if fmt is TableJson.json:
        typer.echo(json.dumps(sw.to_dict(pareto_only=not all_points), indent=2,
                              allow_nan=False))
        return
    df = sw.to_frame()
    shown = df if all_points else df[df["pareto"]]
    typer.echo(f"{len(df)} weight vectors, {int(df['pareto'].sum())} Pareto-efficient "
               f"(NDCG@{sw.k}; minimised tasks: lower is better)")
    typer.echo(_table(shown.drop(columns=["pareto"] if not all_points else []).to_dict("records")))


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
    project = _load(artifacts)
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
        rows.append({"task": t.task, "metric": t.metric, "before": _val(t.before),
                     "after": _val(t.after), "change": _val(t.after - t.before, True),
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
    typer.echo(_table(_tune_rows(result)))
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
    """Multi-behaviour event log → one exposure per user-item pair with any event, one binary
    task per non-view behaviour; item- and user-level columns become items/users tables."""
    from recsys.adapters import import_events as run

    logging.getLogger("recsys.adapters").setLevel(logging.INFO)
    typer.echo(f"wrote {run(path, out)}")


class TextJson(StrEnum):
    """Output formats of explain."""

    text = "text"
    json = "json"


class ReportFormatOpt(StrEnum):
    """File formats of report."""

    html = "html"
    pdf = "pdf"
    csv = "csv"
    parquet = "parquet"
    json = "json"
    xlsx = "xlsx"


def _bar(value: float, scale: float, width: int = 16) -> str:
    n = int(round(abs(value) / scale * width)) if scale > 0 else 0
    return ("+" if value >= 0 else "-") * min(n, width)


def _explain_text(e: Any, top: int) -> str:
    from explain import waterfall_steps

    lines = [f"user {e.user_id} · item {e.item_id} \"{e.title}\" · {e.transform} · weights "
             + ", ".join(f"{t}={w:g}" for t, w in e.weights.items()),
             f"score {e.score:.4f} = base {e.attribution.base_value:.4f} + feature contributions",
             ""]
    steps = waterfall_steps(e.attribution, top)
    scale = max((abs(s.delta) for s in steps[1:-1]), default=0.0)
    rows = [{"step": s.label, "contribution": s.end if s.kind in ("base", "total") else s.delta,
             "bar": "" if s.kind in ("base", "total") else _bar(s.delta, scale)} for s in steps]
    lines += [_table(rows), "", _table([
        {"task": t, "margin": x.margin, "transformed": x.transformed, "weight": x.weight,
         "share": x.share, "share %": f"{100 * x.share_fraction:.0f}%",
         "prediction": x.prediction} for t, x in e.tasks.items()]), "", "reasons:"]
    lines += [f"  - {r}" for r in e.reasons]
    return "\n".join(lines)


def _pair_text(p: Any, top: int) -> str:
    lines = [f"user {p.user_id} · {p.item_a} \"{p.title_a}\" vs {p.item_b} \"{p.title_b}\"",
             f"gap {p.gap:+.4f} = sum of contribution differences", ""]
    rows = [{"feature": f, "value": str(a), "vs": str(b), "difference": d}
            for f, a, b, d in (*p.top_for_a[:top], *p.top_for_b[:top])]
    lines += [_table(rows), "", _table([{"task": t, "share gap": g} for t, g in p.tasks.items()])]
    return "\n".join(lines)


def _standing_text(s: Any) -> str:
    """Where the --vs item stands: candidate or not, score, rank and what keeps it out."""
    where = f"candidate from source '{s.source}'" if s.candidate else "not a candidate"
    verb = "ranks" if s.candidate else "would rank"
    inside = "inside" if s.in_top_k else "outside"
    lines = [f"vs {s.item_id} \"{s.title}\": {where} · score {s.score:.4f} · {verb} "
             f"{s.rank} of {s.n_candidates + 1} candidates ({inside} the top {s.k})"]
    lines += [f"  - {r}" for r in s.reasons()] or ["  - Listed: in the user's top-K."]
    return "\n".join(lines)


@app.command("explain")
def explain_command(
    artifacts: ArtifactsOpt,
    user: Annotated[str, typer.Option("--user", "-u", help="User id.")],
    item: Annotated[str, typer.Option("--item", "-i", help="Item id to explain.")],
    vs: Annotated[str | None, typer.Option("--vs", help="Any catalogue item: explain why ITEM "
                                           "scores above (or below) it.")] = None,
    weight: WeightOpt = None,
    transform: TransformOption = None,
    fmt: Annotated[TextJson, typer.Option("--format", "-f")] = TextJson.text,
    top: Annotated[int, typer.Option("--top", min=1, help="Features shown in text.")] = 10,
) -> None:
    """Why an item got its blended score for a user (with --vs: why it beats another).

    Exact feature contributions that sum to the score `recommend` shows, each task's
    share of the score, and reasons in words. --vs takes any catalogue item and first
    says where it stands: candidate or not, its rank, and what keeps it out of the list.
    """
    from explain import explain_item, explain_pair

    weights = parse_weights(weight)
    project = _load(artifacts)
    kind = transform.value if transform else None
    if vs is not None:  # any catalogue item, candidate or not
        pair = explain_pair(project, user, item, vs, weights=weights, transform=kind)
        stand = {role: project.standing(user, i, weights=weights, transform=kind)
                 for role, i in (("item", item), ("vs", vs))}
        out = json.dumps(pair.to_dict() | {"standing": {r: s.to_dict() for r, s in stand.items()}},
                         indent=2) if fmt is TextJson.json \
            else _standing_text(stand["vs"]) + "\n\n" + _pair_text(pair, top)
    else:
        e = explain_item(project, user, item, weights=weights, transform=kind)
        out = json.dumps(e.to_dict(), indent=2) if fmt is TextJson.json else _explain_text(e, top)
    typer.echo(out)


def _parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["price=19.9", "segment=premium"]`` -> ``{"price": "19.9", "segment": "premium"}``."""
    out: dict[str, str] = {}
    problems = []
    for raw in items or []:
        name, sep, value = (part.strip() for part in raw.partition("="))
        if not sep or not name:
            problems.append(f"--set {raw!r}: expected NAME=VALUE, e.g. price=19.9")
        elif name in out:
            problems.append(f"--set {name}: given twice; set it once")
        else:
            out[name] = value
    if problems:
        raise SchemaError(problems)
    return out


def _whatif_text(w: Any, top: int) -> str:
    from explain import format_attribute, format_value

    lines = [f"user {w.user_id} · item {w.item_id} \"{w.title}\" · {w.transform} · weights "
             + ", ".join(f"{t}={v:g}" for t, v in w.weights.items()), ""]
    lines += [f"{e.key} ({e.owner}): {format_attribute(e.before)} -> {format_attribute(e.after)}"
              + (f"; also moves {', '.join(e.moved)}" if e.moved else "") for e in w.changes]
    lines += ["" if w.changes else "no changes: the pair as it is", _table([
        {"task": t.task, "prediction before": f"{t.prediction_before:.4g}",
         "prediction after": f"{t.prediction_after:.4g}",
         "transformed before": t.transformed_before, "transformed after": t.transformed_after,
         "change": _val(t.transformed_after - t.transformed_before, True)} for t in w.tasks]),
        "",
        f"blended score {w.score_before:.4f} -> {w.score_after:.4f} "
        f"({_val(w.score_after - w.score_before, True)})",
        f"rank {w.rank_before} -> {w.rank_after} among {w.n_candidates} candidates",
        f"features whose value changed: {', '.join(w.moved) or 'none'}", "",
        "top features of the change (attribution after - before; all of them sum to the "
        "score change):"]
    rows = [{"feature": f, "before": format_value(a), "after": format_value(b),
             "change": _val(d, True)} for f, a, b, d in w.top_changes(top)]
    lines += [_table(rows)] + [f"note: {n}" for n in w.notes]
    return "\n".join(lines)


@app.command("whatif")
def whatif_command(
    artifacts: ArtifactsOpt,
    user: Annotated[str, typer.Option("--user", "-u", help="User id.")],
    item: Annotated[str, typer.Option("--item", "-i", help="Item id (any catalogue item).")],
    changes: Annotated[list[str] | None, typer.Option(
        "--set", "-s", metavar="NAME=VALUE", help="Change one attribute (price=19.9, "
        "segment=premium; user.NAME or item.NAME where both have NAME), or set one feature "
        "alone by its feature name; repeat for several.")] = None,
    weight: WeightOpt = None,
    transform: TransformOption = None,
    fmt: Annotated[TextJson, typer.Option("--format", "-f")] = TextJson.text,
    top: Annotated[int, typer.Option("--top", min=1, help="Features shown in text.")] = 10,
) -> None:
    """What if a user's or an item's attributes were different? Scores, rank, attribution.

    Every feature derived from a changed attribute is recomputed with the training
    formulas; each task's prediction and the blended score before and after, the item's
    rank among the user's candidates, and the exact attribution of the change (it sums
    to the change of the blended score).
    """
    from explain import whatif

    edits, weights = _parse_sets(changes), parse_weights(weight)
    project = _load(artifacts)
    w = whatif(project, user, item, changes=edits, weights=weights,
               transform=transform.value if transform else None)
    typer.echo(json.dumps(w.to_dict(), indent=2, allow_nan=False) if fmt is TextJson.json
               else _whatif_text(w, top))


def _report_users(project: Any, users: list[str] | None, users_file: Path | None,
                  segment: str | None, max_users: int) -> tuple[list[str], str]:
    from explain import users_in_segment
    from recsys.errors import ExplanationError

    given = [x for x in (users, users_file, segment) if x]
    if len(given) != 1:
        raise ExplanationError("report: choose the users with exactly one of --user, "
                               "--users-file or --segment COLUMN=VALUE")
    if users:
        return list(users), f"users {', '.join(users[:5])}" + (" ..." if len(users) > 5 else "")
    if users_file is not None:
        if not users_file.is_file():
            raise ExplanationError(f"report: users file '{users_file}' does not exist")
        raw = users_file.read_bytes()
        try:
            if b"\0" in raw:
                raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), raw.index(b"\0") + 1,
                                         "NUL byte")
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ExplanationError(f"report: users file '{users_file}' is not UTF-8 text "
                                   f"(byte {err.start}: {err.reason}); give one user id per "
                                   "line") from None
        ids = [ln.strip() for ln in text.splitlines()]
        ids = [x for x in ids if x and not x.startswith("#") and x != "user_id"]
        return ids, f"users from {users_file.name}"
    column, sep, value = (segment or "").partition("=")
    if not sep or not column.strip():
        raise ExplanationError(f"report: --segment {segment!r}: expected COLUMN=VALUE, "
                               "e.g. segment=premium")
    ids = users_in_segment(project, column.strip(), value.strip(), n=max_users)
    return ids, f"segment {column.strip()} = {value.strip()}"


@app.command("report")
def report_command(
    artifacts: ArtifactsOpt,
    fmt: Annotated[ReportFormatOpt, typer.Option("--format", "-f", help="File format.")],
    out: Annotated[str, typer.Option("--out", "-o", help="File to write (csv and parquet "
                                     "write a ZIP of tables); a regular file in an existing "
                                     "directory, never a directory, symlink or device.")],
    user: Annotated[list[str] | None, typer.Option("--user", "-u", help="User id; repeat for "
                                                   "several users.")] = None,
    users_file: Annotated[Path | None, typer.Option("--users-file", help="Text file with one "
                                                    "user id per line.")] = None,
    segment: Annotated[str | None, typer.Option("--segment", metavar="COLUMN=VALUE",
                                                help="Users with this attribute.")] = None,
    k: Annotated[int | None, typer.Option("--k", min=1, help="List length (default: "
                                          "config).")] = None,
    weight: WeightOpt = None,
    transform: TransformOption = None,
    max_users: Annotated[int, typer.Option("--max-users", min=1, help="Sample at most this many "
                                           "users of a segment.")] = 100,
) -> None:
    """Write an explanation report for one user, a list of users or a segment.

    Formats: HTML, PDF, CSV or Parquet (a ZIP of tidy tables), JSON, XLSX; the file is
    written atomically.
    """
    from explain import build_report, write_report
    from recsys.atomic import check_writable_file
    from recsys.errors import ExplanationError

    check_writable_file(out)
    if fmt.value in ("csv", "parquet") and not out.lower().endswith(".zip"):
        raise ExplanationError(f"report --format {fmt.value} writes a ZIP of tables "
                               f"(recommendations, attributions, health, provenance); name the "
                               f"file {Path(out).with_suffix('.zip').name}")
    weights = parse_weights(weight)
    project = _load(artifacts)
    ids, selection = _report_users(project, user, users_file, segment, max_users)
    rep = build_report(project, ids, weights=weights,
                       transform=transform.value if transform else None, k=k,
                       selection=selection)
    path = write_report(rep, fmt.value, out)
    typer.echo(f"wrote {path} ({len(rep.users)} users, {fmt.value}, "
               f"{path.stat().st_size:,} bytes)")


@app.command("pdp")
def pdp_command(
    artifacts: ArtifactsOpt,
    feature: Annotated[str, typer.Option("--feature", help="Raw feature (column) name, "
                                         "e.g. item_price.")],
    weight: WeightOpt = None,
    transform: TransformOption = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Partial dependence: each task's mean prediction, and the blended score, as one
    feature moves over a grid on 500 sampled test exposures (everything else unchanged)."""
    from explain import partial_dependence

    weights = parse_weights(weight)
    pd_ = partial_dependence(_load(artifacts), feature, weights=weights,
                             transform=transform.value if transform else None)
    if fmt is TableJson.json:
        typer.echo(json.dumps(pd_.to_dict(), indent=2))
        return
    spec = pd_.spec
    typer.echo(f"partial dependence of {feature} ({pd_.feature.description}) over "
               f"{pd_.n_pairs} sampled test exposures · transform {spec.transform} · weights "
               + ", ".join(f"{t}={w:g}" for t, w in spec.weights.weights))
    typer.echo("task columns: mean prediction (probability or value); blend: mean blended "
               "score\n")
    rows = [{"value": label, **{t: f"{pd_.prediction[k, g]:.4g}" for k, t in enumerate(pd_.tasks)},
             "blend": float(pd_.blended[g])} for g, label in enumerate(pd_.labels())]
    typer.echo(_table(rows))


class _LowerLevel(logging.Formatter):
    """``warning: message`` (like ``error: ...``), ``info: ...`` for progress notes."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "py.warnings":  # warnings.warn: drop the file:line and source line
            text = str(record.args[0]) if record.args else record.getMessage()
            first = text.splitlines()[0] if text else ""
            found = re.match(r"^.*?:\d+: \w+: (.*)$", first)
            record = logging.makeLogRecord({**record.__dict__, "args": (),
                                            "msg": found.group(1) if found else first})
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging() -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_blendscope", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(_LowerLevel())
        handler._blendscope = True  # type: ignore[attr-defined]
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
