"""The PDF summary page of a segment (or any list of users), and the front page's charts.

A summary page holds the segment's own ranking metrics beside all users' (with intervals
and the users behind them), each task's mean share of the listed items' scores, the
blend's top features and the model-health warnings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from explain._display import format_contribution
from explain._palette import hex_rgb, task_colour
from explain._plots import NEGATIVE, POSITIVE
from explain.report._build import ExplanationReport
from explain.report._pdf_canvas import RGB, Doc, Run
from explain.report._summary import (
    detailed_users,
    feature_means,
    segment_display,
    task_label,
    task_shares,
)

__all__ = ["front_charts", "hbars", "heading", "segment_grid", "summary_page"]

_LAST_LINE_Y = 272.0
_GREY: RGB = (110, 110, 110)
_POS, _NEG = hex_rgb(POSITIVE), hex_rgb(NEGATIVE)


def heading(pdf: Doc, text: str, size: float = 13) -> None:
    """Write a bold heading at the cursor (wrapped at spaces), then select body text at 9 pt."""
    pdf.use("B", size)
    lines = pdf.wrap(text, pdf.epw)
    y, step = pdf.get_y(), size * 0.5
    pdf.texts([(pdf.l_margin, y + step * (i + 0.85), ln) for i, ln in enumerate(lines)])
    pdf.set_y(y + step * len(lines) + 1)
    pdf.use("", 9)


def note(pdf: Doc, text: str, size: float = 7.5, color: RGB = _GREY) -> None:
    """Write a wrapped paragraph at the cursor."""
    pdf.use("", size)
    lines = pdf.wrap(text, pdf.epw)
    y, step = pdf.get_y(), size * 0.5
    pdf.texts([(pdf.l_margin, y + step * (i + 0.8), ln) for i, ln in enumerate(lines)], color)
    pdf.set_y(y + step * len(lines) + 1.5)


def hbars(pdf: Doc, title: str, labels: Sequence[str], values: Sequence[float],
          colours: Sequence[RGB], x0: float, w: float, *, texts: Sequence[str] | None = None,
          label_w: float = 48.0) -> float:
    """Draw horizontal bars from a zero line, one row per label; return the height drawn.

    Each value is written at its bar's end; drawing starts at the cursor.
    """
    y0, row = pdf.get_y(), 5.0
    pdf.use("B", 8)
    pdf.texts([(x0, y0 + 3, title)])
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    value_w = 22.0  # room for the values beyond the bars' ends, on the sides they reach
    left = x0 + label_w + (value_w if lo < 0 else 2.0)
    bars = x0 + w - (value_w if hi > 0 or lo == hi else 2.0) - left
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return left + (v - lo) / span * bars

    pdf.use("", 7)
    top = y0 + 5
    rects: list[tuple[float, float, float, float, RGB]] = []
    right: list[Run] = []
    after: list[Run] = []
    before: list[Run] = []
    for r, (label, v, c) in enumerate(zip(labels, values, colours, strict=True)):
        y = top + r * row
        right.append((x0 + label_w - 1.5, y + 3.4, pdf.fit(label, label_w - 2)))
        shown = (texts[r] if texts is not None else format_contribution(v)) \
            if math.isfinite(v) else "n/a"
        if not math.isfinite(v):
            after.append((x(0.0) + 1, y + 3.4, shown))
            continue
        a, b = sorted((x(0.0), x(v)))
        rects.append((a, y + 0.8, max(b - a, 0.3), row - 1.6, c))
        (after if v >= 0 else before).append((b + 1 if v >= 0 else a - 1, y + 3.4, shown))
    pdf.fill_rects(rects)
    pdf.right_texts(right)
    pdf.texts(after)
    pdf.right_texts(before)
    pdf.stroke([(x(0.0), top, x(0.0), top + row * len(labels))], (150, 150, 150))
    return 5 + row * len(labels) + 2


def _share_bars(pdf: Doc, report: ExplanationReport, x0: float, w: float) -> float:
    shares = task_shares(report)
    return hbars(pdf, "Mean task share of the listed items' scores",
                 [task_label(report, s.task) for s in shares], [s.share for s in shares],
                 [hex_rgb(task_colour(k)) for k in range(len(shares))], x0, w,
                 texts=[f"{s.share:+.3f} ({100 * s.fraction:.0f}%)".replace("-", "\u2212")
                        for s in shares])


def front_charts(pdf: Doc, report: ExplanationReport) -> None:
    """Draw the task shares and the mean contribution by feature group, one under the other.

    Charts that would not fit above the footer are left out.
    """
    items = [e for u in report.users for e in u.items]
    groups: dict[str, list[float]] = {}
    for e in items:
        for g, v in e.attribution.by_group().items():
            groups.setdefault(g, []).append(v)
    if pdf.get_y() + 2 + 7 + 5 * len(report.tasks) > _LAST_LINE_Y:
        return
    pdf.set_y(pdf.get_y() + 2)
    pdf.set_y(pdf.get_y() + _share_bars(pdf, report, 12, 186))
    if not groups or pdf.get_y() + 7 + 5 * len(groups) > _LAST_LINE_Y:
        return
    means = [sum(v) / len(v) for v in groups.values()]
    pdf.set_y(pdf.get_y() + hbars(pdf, "Mean contribution by feature group", list(groups),
                                  means, [_POS if m >= 0 else _NEG for m in means], 12, 186))


def segment_grid(pdf: Doc, report: ExplanationReport) -> None:
    """Draw the segment's NDCG@K and GAUC beside all users' (nothing without a segment)."""
    head, rows = segment_display(report)
    if rows:
        pdf.grid(head, rows, (50, 18, 16, 28, 14, 16, 28, 14),
                 (False, False, True, True, True, True, True, True), size=7)


def _warnings(pdf: Doc, report: ExplanationReport) -> None:
    h = report.health
    pdf.use("B", 9)
    pdf.texts([(12, pdf.get_y() + 3.5, "Model health warnings")])
    pdf.set_y(pdf.get_y() + 5.5)
    if h is None:
        note(pdf, "This project was trained without health checks; retrain it to see "
                  "baselines, confidence intervals and warnings.", color=(0, 0, 0))
        return
    if not h.warnings:
        note(pdf, "No health warnings.", color=(0, 0, 0))
        return
    for n, w in enumerate(h.warnings):
        if pdf.get_y() > _LAST_LINE_Y - 4:
            note(pdf, f"… and {len(h.warnings) - n} more warnings (full mode, JSON or XLSX "
                      "export).", color=(0, 0, 0))
            break
        note(pdf, f"• [{w.code}] {w.task or 'all tasks'}: {w.message}", color=(0, 0, 0))


def summary_page(pdf: Doc, report: ExplanationReport, top_users: int) -> None:
    """Draw the summary page.

    Who the report covers, the segment's metrics, task shares, the blend's top features
    and the health warnings.
    """
    pdf.add_page()
    heading(pdf, f"Summary · {report.selection or 'selected users'}", 13)
    shown, seg = len(detailed_users(report, "summary", top_users)), report.segment
    who = (f"{seg.ranking.users:,} users in the segment ({seg.ranking.test_users:,} with test "
           f"exposures); this report lists {len(report.users):,} of them. " if seg is not None
           else f"This report lists {len(report.users):,} user(s). ")
    note(pdf, who + f"The first {shown:,} follow in detail; the full PDF mode and the CSV, "
                    "JSON and XLSX exports hold every listed user.", 8.5, (0, 0, 0))
    if seg is not None:
        heading(pdf, f"Ranking metrics at these weights (top {seg.ranking.k})", 11)
        note(pdf, "Each user's logged test exposures re-ranked by the blend. Intervals: 95% "
                  "bootstrap over the users behind each value (users with a test positive for "
                  "NDCG, with both classes for GAUC). For a task marked lower is better the "
                  "blend should rank its positives low.")
        segment_grid(pdf, report)
    y = pdf.get_y()
    h1 = _share_bars(pdf, report, 12, 186)
    pdf.set_y(y + h1 + 1)
    feats = feature_means(report)
    y = pdf.get_y()
    h2 = hbars(pdf, "Top features of the blend (mean contribution over the listed items; "
               "ranked by mean |contribution|)", [f.label for f in feats],
          [f.mean for f in feats], [_POS if f.mean >= 0 else _NEG for f in feats], 12, 186,
          label_w=70)
    pdf.set_y(y + h2 + 2)
    _warnings(pdf, report)
