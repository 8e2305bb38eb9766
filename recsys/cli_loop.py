"""``recsys flags`` and ``recsys runs``: the analyst's loop from a terminal.

Flags and runs live in the project log (:mod:`recsys.projectlog`), beside the project
directory, so they survive retraining.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recsys._cli_shared import ArtifactsOpt, TableJson, table

if TYPE_CHECKING:
    from recsys.projectlog import ProjectLog

__all__ = ["flags_app", "runs_app"]

flags_app = typer.Typer(help="Feedback flags on recommendations: add, list, export.",
                        no_args_is_help=True)
runs_app = typer.Typer(help="Run history: every training of a project, and comparisons.",
                       no_args_is_help=True)


class FlagKindOpt(StrEnum):
    """Flag kinds."""

    bad = "bad"
    irrelevant = "irrelevant"
    good = "good"
    clear = "clear"


class CsvJson(StrEnum):
    """Export formats."""

    csv = "csv"
    json = "json"


def _log(artifacts: Path) -> ProjectLog:
    from recsys.atomic import is_project_dir
    from recsys.errors import ArtifactError
    from recsys.projectlog import ProjectLog

    if not is_project_dir(artifacts):
        raise ArtifactError(f"{artifacts}: not a Blendscope project (no manifest.json); "
                            "train one with `recsys train --config FILE --out DIR`")
    return ProjectLog.of(artifacts)


@flags_app.command("add")
def flags_add(
    artifacts: ArtifactsOpt,
    item: Annotated[str, typer.Option("--item", "-i", help="Item id.")],
    kind: Annotated[FlagKindOpt, typer.Option("--kind", help="bad | irrelevant | good, or "
                                              "clear to withdraw the flag in force.")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="User id; omit to flag "
                                             "the item for every user.")] = None,
    note: Annotated[str, typer.Option("--note", help="Why, in a few words.")] = "",
) -> None:
    """Flag a recommendation.

    Bad and irrelevant flags keep the item out of lists and of the next training's
    candidates.
    """
    from recsys.project import Project

    project = Project.load(artifacts)
    project.item_code(item)  # unknown ids get a clear error
    if user is not None:
        project.user_code(user)
    flag = project.log().add_flag(item, kind.value, user_id=user, note=note, source="cli")
    who = f"user {user}" if user is not None else "every user"
    typer.echo(f"flagged {item} as {flag.kind} for {who} (entry {flag.id})")


def _flag_rows(artifacts: Path, everything: bool) -> list[dict[str, object]]:
    log = _log(artifacts)
    flags = log.history() if everything else list(log.flags().flags)
    return [{**f.to_dict(), "user_id": f.user_id or "(every user)",
             "weights": json.dumps(dict(f.weights), sort_keys=True)} for f in flags]


@flags_app.command("list")
def flags_list(
    artifacts: ArtifactsOpt,
    every: Annotated[bool, typer.Option("--history", help="Every entry, not only the flags "
                                        "in force.")] = False,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """List the flags in force (latest per user and item), or every entry with --history."""
    rows = _flag_rows(artifacts, every)
    if fmt is TableJson.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(table([{k: r[k] for k in ("id", "created_at", "user_id", "item_id", "kind",
                                          "note", "source")} for r in rows]))


@flags_app.command("export")
def flags_export(
    artifacts: ArtifactsOpt,
    fmt: Annotated[CsvJson, typer.Option("--format", "-f")] = CsvJson.csv,
    every: Annotated[bool, typer.Option("--history", help="Every entry, not only the flags "
                                        "in force.")] = False,
) -> None:
    """Every flag as CSV or JSON on standard output (note, weights and scenario in force)."""
    rows = _flag_rows(artifacts, every)
    if fmt is CsvJson.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    buf = io.StringIO()
    cols = ["id", "created_at", "user_id", "item_id", "kind", "note", "weights", "transform",
            "scenario", "source"]
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:  # formula-like text is neutralised for spreadsheets
        writer.writerow({k: (f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in r.items()})
    typer.echo(buf.getvalue(), nl=False)


@runs_app.command("list")
def runs_list(
    artifacts: ArtifactsOpt,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Every recorded training of the project, oldest first."""
    from recsys.runs import run_rows

    rows = run_rows(_log(artifacts).runs())
    typer.echo(json.dumps(rows, indent=2, default=str) if fmt is TableJson.json
               else table(rows))


@runs_app.command("compare")
def runs_compare(
    artifacts: ArtifactsOpt,
    a: Annotated[str, typer.Argument(help="Earlier run id (a unique prefix is enough).")],
    b: Annotated[str, typer.Argument(help="Later run id.")],
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Compare two runs.

    Shows which metrics changed significantly, which features' importance moved, and how
    much the top-K lists overlap.
    """
    from recsys.runs import compare_runs

    log = _log(artifacts)
    cmp = compare_runs(log.run(a), log.run(b))
    if fmt is TableJson.json:
        typer.echo(json.dumps(cmp.to_dict(), indent=2, default=float))
        return
    typer.echo(f"run {cmp.a} → {cmp.b}: top-K overlap {cmp.overlap_text()} over "
               f"{cmp.n_common_users} users in both")
    typer.echo("\nmetrics")
    typer.echo(table([m.to_row() for m in cmp.metrics]))
    typer.echo("\nfeature importance (share of gain) that moved most")
    typer.echo(table([f.to_row() for f in cmp.features[:10]]))
