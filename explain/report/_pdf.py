"""PDF report with fpdf2: tables, vector charts and waterfalls, no browser.

The DejaVu Sans font that matplotlib ships is embedded for Unicode text. Layout (A4
portrait), by ``detail``:

``full``
    a front page (provenance, metrics at these weights, task shares and feature-group
    charts), one model-health page (when the project recorded health), partial
    dependence (four features a page), then per user an overview page (top-K table and
    task-share bars) and item pages of three cards each:
    ``1 + [health] + ceil(n_pd / 4) + Σ_users (1 + ceil(n_items / 3))`` pages.
``summary`` (the default for a segment)
    the front page, one summary page (the segment's metrics beside all users', task
    shares, the blend's top features, health warnings), then only the first
    ``top_users`` users: ``2 + Σ_first users (1 + ceil(n_items / 3))`` pages.
"""

from __future__ import annotations

import math

from explain.report._build import ExplanationReport
from explain.report._html import _MODELS, _metric_tables, _mfmt, health_display
from explain.report._pdf_canvas import FONT, Doc
from explain.report._pdf_summary import (
    front_charts,
    heading,
    note,
    segment_grid,
    summary_page,
)
from explain.report._pdf_user import CARDS_PER_PAGE, user_page_count, user_pages
from explain.report._pdp_charts import draw_pdp, pdp_caption
from explain.report._summary import TOP_USERS, Detail, detailed_users, resolve_detail

__all__ = ["CARDS_PER_PAGE", "expected_pages", "render_pdf"]

_LAST_LINE_Y = 268.0  # warnings below this go to a "... more" line, keeping one page
_PDP_PER_PAGE = 4


def expected_pages(report: ExplanationReport, detail: Detail | None = None,
                   top_users: int = TOP_USERS) -> int:
    """Return the number of pages :func:`render_pdf` produces for ``report``."""
    mode = resolve_detail(report, detail)
    users = sum(user_page_count(u) for u in detailed_users(report, mode, top_users))
    if mode == "summary":
        return 2 + users
    health = 1 if report.health is not None else 0
    return 1 + health + math.ceil(len(report.partial_dependence) / _PDP_PER_PAGE) + users


def _front_page(pdf: Doc, report: ExplanationReport, summary: bool) -> None:
    pdf.add_page()
    prov = report.provenance
    heading(pdf, report.title, 16)
    note(pdf, f"{report.selection or 'selected users'} · {len(report.users)} user(s) · top "
              f"{prov.k} · transform {prov.transform} · built {prov.created_at}", 9, (0, 0, 0))
    pdf.ln(1)
    heading(pdf, "Provenance", 11)
    weights = " · ".join(f"{t} = {w:g}" for t, w in prov.weights.items())
    rows = [["Blendscope", f"{prov.package_version} (trained with {prov.trained_with}, "
                           f"{prov.project_created_at})"],
            ["Project", prov.project], ["Data fingerprint", prov.data_fingerprint],
            *[[p, h] for p, h in prov.model_files.items()],
            ["Weights", weights], ["Transform", prov.transform]]
    pdf.fitted_table(["item", "value"], rows, (38, 148), size=7)
    seg = report.segment
    heading(pdf, "Metrics at these weights", 11)
    if seg is not None and summary:
        note(pdf, f"The segment's own ranking metrics ({seg.segment.label()}) are on the "
                  "summary page; the tables here cover all users.")
    elif seg is not None:
        pdf.use("B", 8)
        pdf.cell(0, 4.5, f"{seg.segment.label()} ({seg.ranking.users:,} users) beside all users",
                 new_x="LMARGIN", new_y="NEXT")
        segment_grid(pdf, report)
    skip = _MODELS if report.health is not None else None  # shown on the health page
    scope = " — all users" if seg is not None else ""
    for title, table in _metric_tables(dict(report.metrics), with_ci=False,
                                       tasks=report.tasks):
        if title == skip:
            continue
        pdf.use("B", 8)
        pdf.cell(0, 4.5, title + scope, new_x="LMARGIN", new_y="NEXT")
        cols = table["columns"]
        width = min(136.0 / max(len(cols), 1), 30.0)
        pdf.grid(["task", *cols], [[t, *row] for t, row in table["rows"]],
                 (50.0, *([width] * len(cols))), (False, *([True] * len(cols))))
    m = report.metrics
    why = f" ({m['diversity_reason']})" if m.get("diversity_reason") else ""
    note(pdf, f"Coverage {_mfmt(m.get('coverage'))} · diversity {_mfmt(m.get('diversity'))}"
              f"{why} · novelty {_mfmt(m.get('novelty'))} bits", 9, (0, 0, 0))
    if not summary:
        front_charts(pdf, report)


def _health_page(pdf: Doc, report: ExplanationReport) -> None:
    """Model metrics beside baselines with intervals, then the warnings (one page)."""
    pdf.add_page()
    h = report.health
    heading(pdf, "Model health (test window)", 13)
    if h is None:
        return
    note(pdf, "Each model's metrics beside the best trivial baseline on the same rows (the "
              "item's historical rate or mean, the global one, random order), with "
              f"{h.confidence:.0%} confidence intervals over {h.n_bootstrap} resamples of "
              "users; lift > 0 means better than the baseline.", color=(0, 0, 0))
    head, rows = health_display(report)
    widths = (18.0, 17.0, 14.0, 26.0, 14.0, 24.0, 15.0, 30.0, 14.0, 14.0)
    pdf.grid(head, rows, widths, (False, False, *([True] * 8)), size=6.5)
    heading(pdf, "Warnings", 11)
    if not h.warnings:
        note(pdf, "No health warnings.", color=(0, 0, 0))
    for n, w in enumerate(h.warnings):
        if pdf.get_y() > _LAST_LINE_Y:
            note(pdf, f"… and {len(h.warnings) - n} more warnings (see the JSON or XLSX "
                      "export)", color=(0, 0, 0))
            break
        note(pdf, f"• [{w.code}] {w.task or 'all tasks'}: {w.message}", color=(0, 0, 0))


def _pdp_pages(pdf: Doc, report: ExplanationReport) -> None:
    """Partial dependence of the most important features, four charts a page."""
    pds = report.partial_dependence
    for start in range(0, len(pds), _PDP_PER_PAGE):
        pdf.add_page()
        heading(pdf, f"Partial dependence of the {len(pds)} most important features", 13)
        note(pdf, pdp_caption(pds[0].n_pairs), color=(0, 0, 0))
        for p in pds[start:start + _PDP_PER_PAGE]:
            pdf.ln(2)
            pdf.use("B", 9)
            pdf.cell(0, 5, pdf.fit(f"{p.feature.description} ({p.feature.name})", 186),
                     new_x="LMARGIN", new_y="NEXT")
            draw_pdp(pdf, p, report.tasks, x0=12, y0=pdf.get_y() + 1, width=186, height=44,
                     font=FONT)
            pdf.set_y(pdf.get_y() + 47)


def render_pdf(report: ExplanationReport, detail: Detail | None = None,
               top_users: int = TOP_USERS) -> bytes:
    """Render the report as PDF bytes (see the module docstring for the page layout)."""
    mode = resolve_detail(report, detail)
    pdf = Doc(report.title)
    _front_page(pdf, report, summary=mode == "summary")
    if mode == "summary":
        summary_page(pdf, report, top_users)
    else:
        if report.health is not None:
            _health_page(pdf, report)
        _pdp_pages(pdf, report)
    tasks = report.task_names()
    for user in detailed_users(report, mode, top_users):
        user_pages(pdf, user, tasks)
    return bytes(pdf.output())
