"""PDF report with fpdf2 (tables, vector waterfalls) and matplotlib (summary charts).

No browser and no system package: the DejaVu Sans font that matplotlib ships is
embedded for Unicode text. Layout (A4 portrait): one summary page, one model-health page
(when the project recorded health), a partial-dependence page (four features a page),
then per user one overview page (top-K table and task-share chart) and item pages with
three item cards each, so a report has
``1 + [health] + ceil(n_pd / 4) + Σ_users (1 + ceil(n_items / 3))`` pages.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib.figure import Figure

from explain._display import format_contribution
from explain._plots import NEGATIVE, POSITIVE, waterfall_steps
from explain._types import BlendedAttribution
from explain.report._build import ExplanationReport, UserReport
from explain.report._html import (
    _MODELS,
    _fmt,
    _metric_tables,
    _mfmt,
    _pct,
    health_display,
)
from explain.report._pdp_charts import PALETTE as _PALETTE
from explain.report._pdp_charts import draw_pdp, pdp_caption
from explain.report._pdp_charts import hex_rgb as _rgb

__all__ = ["CARDS_PER_PAGE", "expected_pages", "render_pdf"]

CARDS_PER_PAGE = 3
_CARD_H = 88.0
_LAST_LINE_Y = 268.0  # warnings below this go to a "... more" line, keeping one page
_FONT = "DejaVu"
_PDP_PER_PAGE = 4


def expected_pages(report: ExplanationReport) -> int:
    """Number of pages :func:`render_pdf` produces for ``report``."""
    health = 1 if report.health is not None else 0
    pdp = math.ceil(len(report.partial_dependence) / _PDP_PER_PAGE)
    return 1 + health + pdp + sum(1 + math.ceil(len(u.items) / CARDS_PER_PAGE) for u in report.users)


class _Doc(FPDF):  # type: ignore[misc]
    """A4 document with the report title in the footer."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = title
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        self.add_font(_FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(_FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(title)
        self.set_creator("Blendscope")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(_FONT, "", 7)
        self.set_text_color(120, 120, 120)
        self.cell(0, 4, f"{self.report_title} · page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)


def _heading(pdf: _Doc, text: str, size: float = 13) -> None:
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, "", 9)
    pdf.ln(1)


def _table(pdf: _Doc, header: list[str], rows: list[list[str]],
           widths: tuple[float, ...] | None = None, size: float = 8) -> None:
    pdf.set_font(_FONT, "", size)
    style = FontFace(family=_FONT, emphasis="BOLD", fill_color=(238, 241, 246))
    with pdf.table(col_widths=widths, line_height=size * 0.5, text_align="LEFT",
                   headings_style=style, first_row_as_headings=True,
                   borders_layout="HORIZONTAL_LINES") as table:
        for row in [header, *rows]:
            cells = table.row()
            for v in row:
                cells.cell(v)
    pdf.ln(2)


def _grid(pdf: _Doc, header: list[str], rows: list[list[str]], widths: tuple[float, ...],
          numeric: tuple[bool, ...], size: float = 7.5) -> None:
    """A fast one-line-per-row table drawn with ``text`` (cells cut to fit)."""
    row_h, x0 = size * 0.55, pdf.l_margin
    y = pdf.get_y()
    pdf.set_fill_color(238, 241, 246)
    pdf.rect(x0, y, sum(widths), row_h, style="F")
    pdf.set_draw_color(215, 215, 215)
    for r, cells in enumerate([header, *rows]):
        pdf.set_font(_FONT, "B" if r == 0 else "", size)
        x = x0
        for text, w, num in zip(cells, widths, numeric, strict=True):
            shown = _fit(pdf, text, w - 2)
            tx = x + w - 1 - pdf.get_string_width(shown) if num else x + 1
            pdf.text(tx, y + row_h * 0.72, shown)
            x += w
        y += row_h
        pdf.line(x0, y, x0 + sum(widths), y)
    pdf.set_y(y + 3)


def _png(fig: Figure) -> io.BytesIO:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    buf.seek(0)
    return buf


def _share_chart(pdf: _Doc, items: tuple[BlendedAttribution, ...], tasks: list[str],
                 y0: float) -> None:
    """Stacked horizontal bars (vector): each task's share of each item's score; a black
    tick marks the score."""
    label_w, x0, w, row = 58.0, 12.0, 186.0, 5.0
    bars = w - label_w - 4
    shares = np.array([[e.tasks[t].share for t in tasks] for e in items])
    lo = min(0.0, float(np.minimum(shares, 0).sum(axis=1).min()))
    hi = max(0.0, float(np.maximum(shares, 0).sum(axis=1).max()))
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return x0 + label_w + (v - lo) / span * bars

    pdf.set_font(_FONT, "", 7)
    lx = x0 + label_w
    for k, t in enumerate(tasks):  # legend
        pdf.set_fill_color(*_rgb(_PALETTE[k % len(_PALETTE)]))
        pdf.rect(lx, y0, 3, 3, style="F")
        pdf.text(lx + 4, y0 + 2.6, t)
        lx += 8 + pdf.get_string_width(t)
    pdf.text(x0, y0 + 2.6, "Task shares of each item's score (tick: score)")
    top = y0 + 6
    pdf.set_draw_color(150, 150, 150)
    pdf.line(x(0.0), top, x(0.0), top + row * len(items))
    for r, e in enumerate(items):
        y = top + r * row
        label = _fit(pdf, f"#{e.rank} {e.title}", label_w - 2)
        pdf.text(x0 + label_w - 2 - pdf.get_string_width(label), y + 3.4, label)
        pos = neg = 0.0
        for k, s in enumerate(shares[r]):
            start = pos if s >= 0 else neg
            pdf.set_fill_color(*_rgb(_PALETTE[k % len(_PALETTE)]))
            a, b = sorted((x(start), x(start + s)))
            pdf.rect(a, y + 0.7, max(b - a, 0.05), row - 1.4, style="F")
            pos, neg = (pos + s, neg) if s >= 0 else (pos, neg + s)
        pdf.set_draw_color(0, 0, 0)
        pdf.line(x(e.score), y + 0.2, x(e.score), y + row - 0.2)
        pdf.set_draw_color(150, 150, 150)


def _fit(pdf: _Doc, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` mm in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pdf.get_string_width(text[:mid] + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def _summary_chart(report: ExplanationReport) -> io.BytesIO:
    """Mean task share fraction and mean feature-group contribution over all items."""
    items = [e for u in report.users for e in u.items]
    tasks = report.task_names()
    fig = Figure(figsize=(7.2, 2.4))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    shares = [float(np.mean([e.tasks[t].share_fraction for e in items])) if items else 0.0
              for t in tasks]
    ax1.barh(tasks[::-1], shares[::-1], color=[POSITIVE if s >= 0 else NEGATIVE
                                               for s in shares[::-1]])
    ax1.set_title("mean task share of the score", fontsize=9)
    groups: dict[str, list[float]] = {}
    for e in items:
        for g, v in e.attribution.by_group().items():
            groups.setdefault(g, []).append(v)
    names = list(groups)[::-1]
    means = [float(np.mean(groups[g])) for g in names]
    ax2.barh(names, means, color=[POSITIVE if m >= 0 else NEGATIVE for m in means])
    ax2.set_title("mean contribution by feature group", fontsize=9)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=7)
        ax.axvline(0, color="#999", linewidth=0.8)
    fig.tight_layout()
    return _png(fig)


def _summary_page(pdf: _Doc, report: ExplanationReport) -> None:
    pdf.add_page()
    prov = report.provenance
    _heading(pdf, report.title, 16)
    pdf.multi_cell(0, 4.5, f"{report.selection or 'selected users'} · {len(report.users)} "
                   f"user(s) · top {prov.k} · transform {prov.transform} · built "
                   f"{prov.created_at}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _heading(pdf, "Provenance", 11)
    weights = " · ".join(f"{t} = {w:g}" for t, w in prov.weights.items())
    rows = [["Blendscope", f"{prov.package_version} (trained with {prov.trained_with}, "
                           f"{prov.project_created_at})"],
            ["Project", prov.project], ["Data fingerprint", prov.data_fingerprint],
            *[[p, h] for p, h in prov.model_files.items()],
            ["Weights", weights], ["Transform", prov.transform]]
    _table(pdf, ["item", "value"], rows, (38, 148), size=7)
    _heading(pdf, "Metrics at these weights", 11)
    skip = _MODELS if report.health is not None else None  # shown on the health page
    for title, table in _metric_tables(dict(report.metrics), with_ci=False):
        if title == skip:
            continue
        pdf.set_font(_FONT, "B", 8)
        pdf.cell(0, 4.5, title, new_x="LMARGIN", new_y="NEXT")
        _table(pdf, ["task", *table["columns"]], [[t, *row] for t, row in table["rows"]])
    m = report.metrics
    why = f" ({m['diversity_reason']})" if m.get("diversity_reason") else ""
    pdf.multi_cell(0, 4.5, f"Coverage {_mfmt(m.get('coverage'))} · diversity "
                   f"{_mfmt(m.get('diversity'))}{why} · novelty {_mfmt(m.get('novelty'))} bits",
                   new_x="LMARGIN", new_y="NEXT")
    if pdf.get_y() < 205:
        pdf.image(_summary_chart(report), x=12, w=186)


def _health_page(pdf: _Doc, report: ExplanationReport) -> None:
    """Model metrics beside baselines with intervals, then the warnings (one page)."""
    pdf.add_page()
    h = report.health
    _heading(pdf, "Model health (test window)", 13)
    if h is None:
        return
    pdf.set_font(_FONT, "", 7.5)
    pdf.multi_cell(0, 4, "Each model's metrics beside the best trivial baseline on the same rows "
                   "(the item's historical rate or mean, the global one, random order), with "
                   f"{h.confidence:.0%} confidence intervals over {h.n_bootstrap} resamples of "
                   "users; lift > 0 means better than the baseline.", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.ln(1)
    head, rows = health_display(report)
    widths = (18.0, 17.0, 14.0, 26.0, 14.0, 24.0, 15.0, 30.0, 14.0, 14.0)
    _grid(pdf, head, rows, widths, (False, False, *([True] * 8)), size=6.5)
    _heading(pdf, "Warnings", 11)
    pdf.set_font(_FONT, "", 7.5)
    if not h.warnings:
        pdf.multi_cell(0, 4, "No health warnings.", new_x="LMARGIN", new_y="NEXT")
    for n, w in enumerate(h.warnings):
        if pdf.get_y() > _LAST_LINE_Y:
            pdf.multi_cell(0, 4, f"… and {len(h.warnings) - n} more warnings (see the JSON or "
                           "XLSX export)", new_x="LMARGIN", new_y="NEXT")
            break
        pdf.multi_cell(0, 3.8, f"• [{w.code}] {w.task or 'all tasks'}: {w.message}",
                       new_x="LMARGIN", new_y="NEXT")


def _pdp_pages(pdf: _Doc, report: ExplanationReport) -> None:
    """Partial dependence of the most important features, four charts a page."""
    pds = report.partial_dependence
    for start in range(0, len(pds), _PDP_PER_PAGE):
        pdf.add_page()
        _heading(pdf, f"Partial dependence of the {len(pds)} most important features", 13)
        pdf.set_font(_FONT, "", 7.5)
        pdf.multi_cell(0, 4, pdp_caption(pds[0].n_pairs), new_x="LMARGIN", new_y="NEXT")
        for p in pds[start:start + _PDP_PER_PAGE]:
            pdf.ln(2)
            pdf.set_font(_FONT, "B", 9)
            pdf.cell(0, 5, _fit(pdf, f"{p.feature.description} ({p.feature.name})", 186),
                     new_x="LMARGIN", new_y="NEXT")
            draw_pdp(pdf, p, report.tasks, x0=12, y0=pdf.get_y() + 1, width=186, height=44,
                     font=_FONT)
            pdf.set_y(pdf.get_y() + 47)


def _user_page(pdf: _Doc, user: UserReport, tasks: list[str]) -> None:
    pdf.add_page()
    _heading(pdf, f"User {user.user_id}", 14)
    if user.attributes:
        pdf.multi_cell(0, 4.5, " · ".join(f"{k}: {_fmt(v)}" for k, v in user.attributes.items()),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    if not user.items:
        pdf.multi_cell(0, 5, "No recommendations (no valid candidates).")
        return
    pdf.set_font(_FONT, "", 7.5)
    pdf.set_text_color(110, 110, 110)
    pdf.cell(0, 4, "Top-K at these weights; per task, its share of the blended score.",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    header = ["#", "item", "score", *tasks]
    rows = [[str(e.rank), e.title, _fmt(e.score),
             *[_pct(e.tasks[t].share_fraction) for t in tasks]] for e in user.items]
    share_w = min(22.0, 110.0 / max(len(tasks), 1))
    widths = (8.0, 186 - 8 - 18 - share_w * len(tasks), 18.0, *([share_w] * len(tasks)))
    _grid(pdf, header, rows, widths, (True, False, True, *([True] * len(tasks))))
    if pdf.get_y() + 8 + 5 * len(user.items) < 280:
        _share_chart(pdf, user.items, tasks, pdf.get_y() + 2)


def _waterfall(pdf: _Doc, e: BlendedAttribution, x0: float, y0: float, w: float) -> None:
    steps = waterfall_steps(e.attribution, 8)
    label_w, value_w, row = 62.0, 16.0, 4.4
    bars = w - label_w - value_w
    ends = [0.0] + [s.start for s in steps] + [s.end for s in steps]
    lo, hi = min(ends), max(ends)
    span = (hi - lo) or 1.0
    pdf.set_font(_FONT, "", 6.5)
    pdf.set_draw_color(190, 190, 190)
    zero = x0 + label_w + (0 - lo) / span * bars
    pdf.line(zero, y0, zero, y0 + row * len(steps))
    for r, s in enumerate(steps):
        y = y0 + r * row
        label = _fit(pdf, s.short_label(44), label_w - 3)  # keeps the value
        pdf.text(x0 + label_w - 1.5 - pdf.get_string_width(label), y + 3.0, label)
        a = x0 + label_w + (min(s.start, s.end) - lo) / span * bars
        b = x0 + label_w + (max(s.start, s.end) - lo) / span * bars
        pdf.set_fill_color(*_rgb(s.color))
        pdf.rect(a, y + 0.6, max(b - a, 0.3), row - 1.2, style="F")
        text = _fmt(s.end) if s.kind in ("base", "total") else format_contribution(s.delta)
        pdf.text(x0 + label_w + bars + 1, y + 3.0, text)


def _card(pdf: _Doc, e: BlendedAttribution, tasks: list[str], y0: float) -> None:
    pdf.set_draw_color(200, 200, 200)
    pdf.rect(12, y0, 186, _CARD_H - 3)
    pdf.set_xy(15, y0 + 2)
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(145, 5, _fit(pdf, f"#{e.rank} {e.title}", 143))
    pdf.set_font(_FONT, "", 9)
    pdf.cell(35, 5, f"score {_fmt(e.score)}", align="R")
    pdf.set_xy(15, y0 + 8)
    pdf.set_font(_FONT, "", 7)
    pdf.set_text_color(110, 110, 110)
    pdf.cell(0, 3.5, f"item {e.item_id}")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(_FONT, "", 8)
    pdf.set_xy(15, y0 + 12.5)
    for reason in e.reasons:
        line = f"• {reason}"
        pdf.set_x(15)
        if pdf.get_string_width(line) <= 178:
            pdf.cell(180, 3.8, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(180, 3.8, line, new_x="LMARGIN", new_y="NEXT")
    top = max(y0 + 27, pdf.get_y() + 1.5)
    _waterfall(pdf, e, 14, top, 118)
    pdf.set_font(_FONT, "B", 6.5)
    for c, text in ((136, "task"), (158, "prediction"), (180, "share")):
        pdf.text(c, top + 3, text)
    pdf.set_font(_FONT, "", 6.5)
    for r, t in enumerate(tasks, start=1):
        te = e.tasks[t]
        y = top + 3 + r * 4.2
        pdf.text(136, y, _fit(pdf, t, 21))
        pdf.text(158, y, _fmt(te.prediction))
        pdf.text(180, y, _pct(te.share_fraction))


def render_pdf(report: ExplanationReport) -> bytes:
    """The report as PDF bytes (see the module docstring for the page layout)."""
    pdf = _Doc(report.title)
    _summary_page(pdf, report)
    if report.health is not None:
        _health_page(pdf, report)
    _pdp_pages(pdf, report)
    tasks = report.task_names()
    for user in report.users:
        _user_page(pdf, user, tasks)
        for start in range(0, len(user.items), CARDS_PER_PAGE):
            pdf.add_page()
            pdf.set_font(_FONT, "B", 9)
            end = min(start + CARDS_PER_PAGE, len(user.items))
            span = f"item {end}" if end == start + 1 else f"items {start + 1}–{end}"
            pdf.cell(0, 5, f"User {user.user_id} · {span}", new_x="LMARGIN", new_y="NEXT")
            for j, e in enumerate(user.items[start:start + CARDS_PER_PAGE]):
                _card(pdf, e, tasks, 19 + j * _CARD_H)
    return bytes(pdf.output())
