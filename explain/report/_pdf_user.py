"""A user's PDF pages: an overview (top-K table, task-share bars), then item cards.

Drawn in batches on :class:`explain.report._pdf_canvas.Doc` (one content-stream chunk per
run of text, bars or rules), so a user's five pages cost a few milliseconds.
"""

from __future__ import annotations

import math

import numpy as np

from explain._display import format_contribution
from explain._palette import hex_rgb, task_colour
from explain._plots import NEGATIVE, NEUTRAL, POSITIVE, waterfall_steps
from explain._types import BlendedAttribution
from explain.report._build import UserReport
from explain.report._html import _fmt, _pct
from explain.report._pdf_canvas import RGB, Doc

__all__ = ["CARDS_PER_PAGE", "user_pages", "user_page_count"]

CARDS_PER_PAGE = 3
_CARD_H = 88.0
_GREY: RGB = (110, 110, 110)
_RULE: RGB = (190, 190, 190)
_STEP_RGB = {c: hex_rgb(c) for c in (POSITIVE, NEGATIVE, NEUTRAL)}
"""The waterfall's colours as (r, g, b)."""
_REASON_LINES = 6
"""Reason lines a card shows (the waterfall keeps its room below them)."""


def user_page_count(user: UserReport) -> int:
    """Pages :func:`user_pages` draws for ``user``."""
    return 1 + math.ceil(len(user.items) / CARDS_PER_PAGE)


def user_pages(pdf: Doc, user: UserReport, tasks: list[str]) -> None:
    """Draw the user's overview page, then their item cards, three a page."""
    _overview(pdf, user, tasks)
    for start in range(0, len(user.items), CARDS_PER_PAGE):
        pdf.add_page()
        end = min(start + CARDS_PER_PAGE, len(user.items))
        span = f"item {end}" if end == start + 1 else f"items {start + 1}–{end}"
        pdf.use("B", 9)
        pdf.texts([(12, 15.5, pdf.fit(f"User {user.user_id} · {span}", 186))])
        for j, e in enumerate(user.items[start:end]):
            _card(pdf, e, tasks, 19 + j * _CARD_H)


def _overview(pdf: Doc, user: UserReport, tasks: list[str]) -> None:
    pdf.add_page()
    pdf.use("B", 14)
    pdf.texts([(12, 17.5, pdf.fit(f"User {user.user_id}", 186))])
    y = 21.5
    if user.attributes:
        pdf.use("", 9)
        lines = pdf.wrap(" · ".join(f"{k}: {_fmt(v)}" for k, v in user.attributes.items()), 186)
        pdf.texts([(12, y + 3.3 + 4.5 * i, ln) for i, ln in enumerate(lines)])
        y += 4.5 * len(lines) + 1
    pdf.use("", 7.5)
    if not user.items:
        pdf.texts([(12, y + 4, "No recommendations (no valid candidates).")])
        return
    pdf.texts([(12, y + 2.8, "Top-K at these weights; per task, its share of the blended "
                             "score.")], _GREY)
    pdf.set_y(y + 4)
    header = ["#", "item", "score", *tasks]
    rows = [[str(e.rank), e.title, _fmt(e.score),
             *[_pct(e.tasks[t].share_fraction) for t in tasks]] for e in user.items]
    share_w = min(22.0, 110.0 / max(len(tasks), 1))
    widths = (8.0, 186 - 8 - 18 - share_w * len(tasks), 18.0, *([share_w] * len(tasks)))
    pdf.grid(header, rows, widths, (True, False, True, *([True] * len(tasks))))
    if pdf.get_y() + 8 + 5 * len(user.items) < 280:
        share_chart(pdf, user.items, tasks, pdf.get_y() + 2)


def share_chart(pdf: Doc, items: tuple[BlendedAttribution, ...], tasks: list[str],
                y0: float) -> None:
    """Draw each task's share of each item's score as stacked bars in task colours.

    A black tick marks the score.
    """
    label_w, x0, w, row = 58.0, 12.0, 186.0, 5.0
    bars = w - label_w - 4
    shares = np.array([[e.tasks[t].share for t in tasks] for e in items])
    lo = min(0.0, float(np.minimum(shares, 0).sum(axis=1).min()))
    hi = max(0.0, float(np.maximum(shares, 0).sum(axis=1).max()))
    span = (hi - lo) or 1.0
    colours = [hex_rgb(task_colour(k)) for k in range(len(tasks))]

    def x(v: float) -> float:
        return x0 + label_w + (v - lo) / span * bars

    pdf.use("", 7)
    rects, texts = [], [(x0, y0 + 2.6, "Task shares of each item's score (tick: score)")]
    lx = x0 + label_w
    for k, t in enumerate(tasks):  # legend
        rects.append((lx, y0, 3.0, 3.0, colours[k]))
        texts.append((lx + 4, y0 + 2.6, t))
        lx += 8 + pdf.width(t)
    top = y0 + 6
    ticks = [(x(0.0), top, x(0.0), top + row * len(items))]
    scores = []
    right = []
    for r, e in enumerate(items):
        y = top + r * row
        right.append((x0 + label_w - 2, y + 3.4, pdf.fit(f"#{e.rank} {e.title}", label_w - 2)))
        pos = neg = 0.0
        for k, s in enumerate(shares[r]):
            start = pos if s >= 0 else neg
            a, b = sorted((x(start), x(start + s)))
            rects.append((a, y + 0.7, max(b - a, 0.05), row - 1.4, colours[k]))
            pos, neg = (pos + s, neg) if s >= 0 else (pos, neg + s)
        scores.append((x(e.score), y + 0.2, x(e.score), y + row - 0.2))
    pdf.fill_rects(rects)
    pdf.texts(texts)
    pdf.right_texts(right)
    pdf.stroke(ticks, (150, 150, 150))
    pdf.stroke(scores, (0, 0, 0))


def _waterfall(pdf: Doc, e: BlendedAttribution, x0: float, y0: float, w: float) -> None:
    steps = waterfall_steps(e.attribution, 8)
    label_w, value_w, row = 62.0, 16.0, 4.4
    bars = w - label_w - value_w
    ends = [0.0] + [s.start for s in steps] + [s.end for s in steps]
    lo, hi = min(ends), max(ends)
    span = (hi - lo) or 1.0
    pdf.use("", 6.5)
    zero = x0 + label_w + (0 - lo) / span * bars
    labels, values, rects = [], [], []
    for r, s in enumerate(steps):
        y = y0 + r * row
        labels.append((x0 + label_w - 1.5, y + 3.0, pdf.fit(s.short_label(44), label_w - 3)))
        a = x0 + label_w + (min(s.start, s.end) - lo) / span * bars
        b = x0 + label_w + (max(s.start, s.end) - lo) / span * bars
        colour = _STEP_RGB.get(s.color) or hex_rgb(s.color)
        rects.append((a, y + 0.6, max(b - a, 0.3), row - 1.2, colour))
        values.append((x0 + label_w + bars + 1, y + 3.0,
                       _fmt(s.end) if s.kind in ("base", "total") else
                       format_contribution(s.delta)))
    pdf.stroke([(zero, y0, zero, y0 + row * len(steps))], _RULE)
    pdf.fill_rects(rects)
    pdf.right_texts(labels)
    pdf.texts(values)


def _card(pdf: Doc, e: BlendedAttribution, tasks: list[str], y0: float) -> None:
    pdf.stroke([(12, y0, 186, _CARD_H - 3)], (200, 200, 200), box=True)
    pdf.use("B", 10)
    pdf.texts([(15, y0 + 5.6, pdf.fit(f"#{e.rank} {e.title}", 143))])
    pdf.use("", 9)
    pdf.right_texts([(195, y0 + 5.6, f"score {_fmt(e.score)}")])
    pdf.use("", 7)
    pdf.texts([(15, y0 + 10.5, pdf.fit(f"item {e.item_id}", 178))], _GREY)
    pdf.use("", 8)
    lines = [ln for reason in e.reasons for ln in pdf.wrap(f"• {reason}", 178)]
    if len(lines) > _REASON_LINES:
        lines = [*lines[:_REASON_LINES - 1], pdf.fit(lines[_REASON_LINES - 1] + " …", 178)]
    pdf.texts([(15, y0 + 15.3 + 3.8 * i, ln) for i, ln in enumerate(lines)])
    top = max(y0 + 27, y0 + 14 + 3.8 * len(lines))
    _waterfall(pdf, e, 14, top, 118)
    pdf.use("B", 6.5)
    pdf.texts([(136, top + 3, "task"), (158, top + 3, "prediction"), (180, top + 3, "share")])
    pdf.use("", 6.5)
    runs, swatches = [], []
    for r, t in enumerate(tasks, start=1):
        te, y = e.tasks[t], top + 3 + r * 4.2
        swatches.append((136, y - 2.2, 2.4, 2.4, hex_rgb(task_colour(r - 1))))
        runs += [(139.5, y, pdf.fit(t, 18)), (158, y, _fmt(te.prediction)),
                 (180, y, _pct(te.share_fraction))]
    pdf.fill_rects(swatches)
    pdf.texts(runs)
