"""``recsys explain``, ``whatif``, ``report`` and ``pdp``: the commands that explain a project.

They are the only commands that need :mod:`explain`, which each imports when it runs.
:mod:`recsys.cli` adds :data:`explain_app` to the ``recsys`` app without a name, so
these commands sit beside ``train`` and ``recommend``.
"""

from __future__ import annotations

import json
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
from recsys.errors import SchemaError

__all__ = ["explain_app"]

explain_app = typer.Typer()
"""The explanation commands; :mod:`recsys.cli` merges them into the ``recsys`` app."""


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
    lines += [table(rows), "", table([
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
    lines += [table(rows), "", table([{"task": t, "share gap": g} for t, g in p.tasks.items()])]
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


@explain_app.command("explain")
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
    project = load_project(artifacts)
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
    lines += ["" if w.changes else "no changes: the pair as it is", table([
        {"task": t.task, "prediction before": f"{t.prediction_before:.4g}",
         "prediction after": f"{t.prediction_after:.4g}",
         "transformed before": t.transformed_before, "transformed after": t.transformed_after,
         "change": val(t.transformed_after - t.transformed_before, True)} for t in w.tasks]),
        "",
        f"blended score {w.score_before:.4f} -> {w.score_after:.4f} "
        f"({val(w.score_after - w.score_before, True)})",
        f"rank {w.rank_before} -> {w.rank_after} among {w.n_candidates} candidates",
        f"features whose value changed: {', '.join(w.moved) or 'none'}", "",
        "top features of the change (attribution after - before; all of them sum to the "
        "score change):"]
    rows = [{"feature": f, "before": format_value(a), "after": format_value(b),
             "change": val(d, True)} for f, a, b, d in w.top_changes(top)]
    lines += [table(rows)] + [f"note: {n}" for n in w.notes]
    return "\n".join(lines)


@explain_app.command("whatif")
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
    """Recompute scores, rank and attribution as if user or item attributes were different.

    Every feature derived from a changed attribute is recomputed with the training
    formulas; each task's prediction and the blended score before and after, the item's
    rank among the user's candidates, and the exact attribution of the change (it sums
    to the change of the blended score).
    """
    from explain import whatif

    edits, weights = _parse_sets(changes), parse_weights(weight)
    project = load_project(artifacts)
    w = whatif(project, user, item, changes=edits, weights=weights,
               transform=transform.value if transform else None)
    typer.echo(json.dumps(w.to_dict(), indent=2, allow_nan=False) if fmt is TextJson.json
               else _whatif_text(w, top))


class ReportKindOpt(StrEnum):
    """What a report covers."""

    explanations = "explanations"
    feedback = "feedback"


class PdfModeOpt(StrEnum):
    """How much of each user a PDF report shows."""

    summary = "summary"
    full = "full"


def _report_users(project: Any, users: list[str] | None, users_file: Path | None,
                  segment: str | None, max_users: int) -> tuple[list[str], str, Any]:
    """(user ids, how they were chosen, the Segment or None)."""
    from explain.report import Segment, users_in_segment
    from recsys.errors import ExplanationError

    given = [x for x in (users, users_file, segment) if x]
    if len(given) != 1:
        raise ExplanationError("report: choose the users with exactly one of --user, "
                               "--users-file or --segment COLUMN=VALUE")
    if users:
        return (list(users), f"users {', '.join(users[:5])}" + (" ..." if len(users) > 5 else ""),
                None)
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
        return ids, f"users from {users_file.name}", None
    column, sep, value = (segment or "").partition("=")
    if not sep or not column.strip():
        raise ExplanationError(f"report: --segment {segment!r}: expected COLUMN=VALUE, "
                               "e.g. segment=premium")
    seg = Segment(column.strip(), value.strip())
    ids = users_in_segment(project, seg.column, seg.value, n=max_users)
    return ids, seg.label(), seg


def _feedback_report(artifacts: Path, fmt: ReportFormatOpt, out: str,
                     given: dict[str, object]) -> None:
    """``report --kind feedback``: every flag in force, counted (see explain.report)."""
    from explain.report import build_feedback_report, write_feedback
    from recsys.errors import ExplanationError

    extra = [name for name, v in given.items() if v]
    if extra:
        raise ExplanationError(f"report --kind feedback covers every flag in force; drop "
                               f"{', '.join(extra)}")
    rep = build_feedback_report(load_project(artifacts))
    path = write_feedback(rep, fmt.value, out)
    typer.echo(f"wrote {path} ({len(rep.flags)} flags in force, {fmt.value}, "
               f"{path.stat().st_size:,} bytes)")


@explain_app.command("report")
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
    kind: Annotated[ReportKindOpt, typer.Option(
        "--kind", help="explanations: users' explained top-K lists; feedback: the analysts' "
        "flags in force by kind, user segment, item category and weights in view, and the "
        "items flagged most (no user options).")] = ReportKindOpt.explanations,
    pdf_mode: Annotated[PdfModeOpt | None, typer.Option(
        "--pdf-mode", help="summary: a summary page, then only the first --top-users users; "
        "full: every user's pages (default: summary for --segment, else full).")] = None,
    top_users: Annotated[int, typer.Option("--top-users", min=0, help="Users a summary PDF "
                                           "shows in detail.")] = 10,
) -> None:
    """Write an explanation report for users or a segment, or the feedback report.

    Formats: HTML, PDF, CSV or Parquet (a ZIP of tidy tables), JSON, XLSX; the file is
    written atomically. A segment's report shows the segment's own NDCG@K and GAUC
    (95% intervals over its users) beside all users'. A PDF in summary mode has a front
    page, a summary page and the first --top-users users; in full mode every user.
    """
    from explain import build_report, write_report
    from recsys.atomic import check_writable_file
    from recsys.errors import ExplanationError

    check_writable_file(out)
    if fmt.value in ("csv", "parquet") and not out.lower().endswith(".zip"):
        raise ExplanationError(f"report --format {fmt.value} writes a ZIP of tables "
                               f"(recommendations, attributions, health, provenance); name the "
                               f"file {Path(out).with_suffix('.zip').name}")
    if kind is ReportKindOpt.feedback:
        _feedback_report(artifacts, fmt, out, {
            "--user": user, "--users-file": users_file, "--segment": segment, "--k": k,
            "--weight": weight, "--transform": transform, "--pdf-mode": pdf_mode})
        return
    weights = parse_weights(weight)
    project = load_project(artifacts)
    ids, selection, seg = _report_users(project, user, users_file, segment, max_users)
    rep = build_report(project, ids, weights=weights,
                       transform=transform.value if transform else None, k=k,
                       selection=selection, segment=seg)
    path = write_report(rep, fmt.value, out, detail=pdf_mode.value if pdf_mode else None,
                        top_users=top_users)
    typer.echo(f"wrote {path} ({len(rep.users)} users, {fmt.value}, "
               f"{path.stat().st_size:,} bytes)")


@explain_app.command("pdp")
def pdp_command(
    artifacts: ArtifactsOpt,
    feature: Annotated[str, typer.Option("--feature", help="Raw feature (column) name, "
                                         "e.g. item_price.")],
    weight: WeightOpt = None,
    transform: TransformOption = None,
    fmt: Annotated[TableJson, typer.Option("--format", "-f")] = TableJson.table,
) -> None:
    """Partial dependence of each task's prediction and the blended score on one feature.

    The feature moves over a grid on 500 sampled test exposures, everything else unchanged.
    """
    from explain import partial_dependence

    weights = parse_weights(weight)
    pd_ = partial_dependence(load_project(artifacts), feature, weights=weights,
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
    typer.echo(table(rows))


