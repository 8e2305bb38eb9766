"""The feedback report as one file: HTML, PDF, CSV or Parquet (ZIP), JSON or XLSX.

Every data string (titles, notes, user attributes, scenario names) is text: escaped by
Jinja2 in HTML, neutralised against formulas in CSV and XLSX, plain in PDF and JSON.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jinja2
import pandas as pd

from explain.report._export import ReportFormat, _sheet, _zip
from explain.report._feedback import FLAG_KINDS_SHOWN, FeedbackReport
from explain.report._tables import neutralise_frame, safe_filename
from recsys.atomic import write_bytes_atomic
from recsys.errors import ExplanationError

__all__ = ["export_feedback", "feedback_filename", "write_feedback"]

_SECTIONS = (
    ("by_kind", "Flags in force by kind",
     "bad and irrelevant keep an item out of the user's list; never keeps it out of every "
     "list; good marks a recommendation as right."),
    ("top_items", "Items flagged most", "users: how many users flagged the item themselves."),
    ("by_segment", "By user segment",
     "Per-user flags by each categorical user attribute (never-recommend flags apply to every "
     "user and are not counted here)."),
    ("by_category", "By item category", ""),
    ("by_weights", "By the blend weights in view when the flag was set", ""),
    ("flags", "Flags in force", "The latest flag of each (user, item); cleared flags dropped."),
)
_LISTED = ("time", "user_id", "item", "kind", "note", "weights", "scenario")
"""Columns of the flag list in HTML and PDF (the data exports hold every column)."""
_LIST_WIDTHS = (22.0, 17.0, 52.0, 14.0, 38.0, 29.0, 14.0)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.title }}</title>
<style>
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #222; margin: 24px auto;
       max-width: 1100px; padding: 0 16px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 28px;
border-bottom: 2px solid #0072B2; padding-bottom: 3px; } .muted { color: #666; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
@page { size: A4; margin: 12mm; }
</style></head><body>
<h1>{{ r.title }}</h1>
<p class="muted">Project {{ r.project }} · {{ n_flags }} flag(s) in force · {{ r.log_entries }}
log entries · built {{ r.created_at }}</p>
{% for key, title, caption, columns, rows, numeric in sections %}
<section id="{{ key }}"><h2>{{ title }}</h2>
{% if caption %}<p class="muted">{{ caption }}</p>{% endif %}
{% if rows %}<table><tr>{% for c in columns %}<th{% if numeric[loop.index0] %} class="num"{% endif %}>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for v in row %}<td{% if numeric[loop.index0] %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>{% else %}<p>No flag to count here.</p>{% endif %}
</section>
{% endfor %}
<footer><p class="muted">Built by Blendscope from the project's append-only flag log.</p></footer>
</body></html>
"""


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _shown(report: FeedbackReport) -> list[tuple[str, str, str, list[str], list[list[str]],
                                                 list[bool]]]:
    """(key, title, caption, columns, text rows, numeric columns) of each section."""
    tables = report.tables()
    out = []
    for key, title, caption in _SECTIONS:
        df = tables[key]
        if key == "flags":
            df = df.assign(item=df["title"] + " (" + df["item_id"] + ")",
                           time=df["time"].str[:16])[list(_LISTED)]
        numeric = [c in (*FLAG_KINDS_SHOWN, "total", "users", "flags", "id") for c in df.columns]
        rows = [[_cell(v) for v in rec] for rec in df.itertuples(index=False, name=None)]
        out.append((key, title, caption, [str(c) for c in df.columns], rows, numeric))
    return out


def _html(report: FeedbackReport) -> bytes:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env.from_string(_TEMPLATE).render(
        r=report, n_flags=f"{len(report.flags):,}", sections=_shown(report)).encode("utf-8")


def _widths(numeric: list[bool]) -> tuple[float, ...]:
    """Column widths (mm): numbers 15 mm, text shares the rest of the page (70 mm at most)."""
    text = numeric.count(False)
    room = min((186.0 - 15.0 * (len(numeric) - text)) / max(text, 1), 70.0)
    return tuple(15.0 if n else room for n in numeric)


def _pdf(report: FeedbackReport) -> bytes:
    from explain.report._pdf_canvas import Doc  # fpdf2 and matplotlib load on first use
    from explain.report._pdf_summary import heading, note

    pdf = Doc(report.title)
    pdf.add_page()
    heading(pdf, report.title, 16)
    note(pdf, f"Project {report.project} · {len(report.flags):,} flag(s) in force · "
              f"{report.log_entries:,} log entries · built {report.created_at}", 9, (0, 0, 0))
    for key, title, caption, columns, rows, numeric in _shown(report):
        if key == "flags" and rows:
            pdf.add_page()
        elif pdf.get_y() > 240:
            pdf.add_page()
        heading(pdf, title, 11)
        if caption:
            note(pdf, caption)
        if not rows:
            note(pdf, "No flag to count here.", color=(0, 0, 0))
            continue
        widths = _LIST_WIDTHS if key == "flags" else _widths(numeric)
        pdf.grid(columns, rows, widths, numeric, size=7)
    return bytes(pdf.output())


def _tables_zip(report: FeedbackReport, fmt: str) -> bytes:
    files: dict[str, bytes] = {}
    for name, df in report.tables().items():
        if fmt == "csv":
            files[f"{name}.csv"] = neutralise_frame(df).to_csv(index=False).encode("utf-8")
        else:
            buf = io.BytesIO()
            df.astype({c: str for c in df.columns if df[c].dtype == object}).to_parquet(
                buf, index=False)
            files[f"{name}.parquet"] = buf.getvalue()
    about = {k: v for k, v in report.to_dict().items() if not isinstance(v, list)}
    files["about.json"] = json.dumps(about, indent=2, ensure_ascii=False).encode("utf-8")
    return _zip(files)


def _xlsx(report: FeedbackReport) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, df in report.tables().items():
        _sheet(wb, name, neutralise_frame(df))
    about = pd.DataFrame([{"key": k, "value": str(v)} for k, v in report.to_dict().items()
                          if not isinstance(v, list)])
    _sheet(wb, "about", neutralise_frame(about))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_feedback(report: FeedbackReport, fmt: ReportFormat) -> bytes:
    """Return the feedback report as the bytes of one file.

    ``html`` and ``pdf`` show every table (the flag list without transform and source);
    ``csv`` and ``parquet`` are a ZIP of the tables ``flags``, ``by_kind``,
    ``by_segment``, ``by_category``, ``by_weights`` and ``top_items`` plus
    ``about.json``; ``json`` is :meth:`FeedbackReport.to_dict`; ``xlsx`` has a sheet per
    table and ``about``.
    """
    if fmt == "html":
        return _html(report)
    if fmt == "pdf":
        return _pdf(report)
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"), default=str).encode("utf-8")
    if fmt in ("csv", "parquet"):
        return _tables_zip(report, fmt)
    if fmt == "xlsx":
        return _xlsx(report)
    raise ExplanationError(f"feedback report: unknown format {fmt!r}; use one of html, pdf, "
                           "csv, parquet, json, xlsx")


def feedback_filename(report: FeedbackReport, fmt: ReportFormat) -> str:
    """``blendscope-demo-feedback-20260101.html`` (csv and parquet: ``.zip``)."""
    day = report.created_at[:10].replace("-", "")
    ext = "zip" if fmt in ("csv", "parquet") else fmt
    return safe_filename(f"blendscope-{report.project}-feedback-{day}") + "." + ext


def write_feedback(report: FeedbackReport, fmt: ReportFormat, path: str | Path) -> Path:
    """Export and write atomically (temporary sibling file, then ``os.replace``)."""
    return write_bytes_atomic(Path(path), export_feedback(report, fmt))
