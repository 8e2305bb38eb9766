"""``export_report``: a report as the bytes of one file, in any supported format."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from explain.report._build import ExplanationReport
from explain.report._summary import TOP_USERS, Detail
from explain.report._tables import export_tables, metric_rows, neutralise_frame, safe_filename
from recsys.atomic import write_bytes_atomic
from recsys.errors import ExplanationError

__all__ = ["ReportFormat", "export_report", "report_filename", "write_report"]

ReportFormat = Literal["html", "pdf", "csv", "parquet", "json", "xlsx"]
FORMATS: tuple[str, ...] = get_args(ReportFormat)
_EXTENSION = {"csv": "zip", "parquet": "zip"}
MEDIA_TYPES = {"html": "text/html", "pdf": "application/pdf", "csv": "application/zip",
               "parquet": "application/zip", "json": "application/json",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def _provenance_json(report: ExplanationReport) -> bytes:
    body = {"title": report.title, "selection": report.selection,
            "provenance": report.provenance.to_dict(),
            "tasks": [t.to_dict() for t in report.tasks]}
    return json.dumps(body, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def _csv_zip(report: ExplanationReport) -> bytes:
    tables = export_tables(report, "long")
    files = {f"{name}.csv": neutralise_frame(df).to_csv(index=False).encode("utf-8")
             for name, df in tables.items()}
    files["provenance.json"] = _provenance_json(report)
    return _zip(files)


def _parquet_zip(report: ExplanationReport) -> bytes:
    files = {}
    for name, df in export_tables(report, "long").items():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        files[f"{name}.parquet"] = buf.getvalue()
    files["provenance.json"] = _provenance_json(report)
    return _zip(files)


def _sheet(wb: object, title: str, df: pd.DataFrame) -> None:
    ws = wb.create_sheet(title)  # type: ignore[attr-defined]
    ws.append([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([None if isinstance(v, float) and v != v else v for v in row])


def _xlsx(report: ExplanationReport) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, df in export_tables(report, "wide").items():
        _sheet(wb, name, neutralise_frame(df))
    _sheet(wb, "metrics", neutralise_frame(metric_rows(report.metrics)))  # all users
    prov = report.provenance.to_dict()
    flat = [{"key": k, "value": json.dumps(v) if isinstance(v, dict) else str(v)}
            for k, v in prov.items()]
    _sheet(wb, "provenance", neutralise_frame(pd.DataFrame(flat)))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_report(report: ExplanationReport, fmt: ReportFormat, *, detail: Detail | None = None,
                  top_users: int = TOP_USERS) -> bytes:
    """Return the report as the bytes of one file.

    ``detail`` and ``top_users`` shape the PDF (see below); the other formats hold every
    listed user.

    Formats
    -------
    html
        One self-contained, offline, printable page (inline SVG charts, no scripts).
    pdf
        A4 pages (fpdf2). ``detail="full"``: a front page, model health, partial
        dependence, then per user an overview and item cards. ``detail="summary"`` (the
        default for a segment's report): the front page, one summary page (the segment's
        metrics beside all users', task shares, the blend's top features, health
        warnings), then only the first ``top_users`` users' pages.
    csv, parquet
        A ZIP holding ``recommendations``, ``attributions`` (long form), ``health``,
        ``health_warnings``, ``partial_dependence`` and ``segment_metrics`` (see
        :func:`explain.report.export_tables`) plus ``provenance.json``. CSV text cells
        that a spreadsheet would run as formulas are prefixed with ``'``; Parquet keeps
        the data as it is (typed, for programs).
    json
        ``ExplanationReport.to_dict()``, compact UTF-8 (NaN written as null).
    xlsx
        Sheets ``recommendations``, ``attributions`` (wide: a column per feature),
        ``feature_values``, ``health`` (model metrics beside baselines with confidence
        intervals), ``health_warnings``, ``partial_dependence`` (wide: a row per feature
        value), ``segment_metrics``, ``metrics`` (all users, long: value, interval,
        baseline and lift per metric) and ``provenance``; formula-like text neutralised.
    """
    if fmt == "html":
        from explain.report._html import render_html

        return render_html(report).encode("utf-8")
    if fmt == "pdf":
        from explain.report._pdf import render_pdf

        return render_pdf(report, detail, top_users)
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"), default=str).encode("utf-8")
    writers = {"csv": _csv_zip, "parquet": _parquet_zip, "xlsx": _xlsx}
    if fmt not in writers:
        raise ExplanationError(f"export_report: unknown format {fmt!r}; use one of "
                               f"{', '.join(FORMATS)}")
    return writers[fmt](report)


def report_filename(report: ExplanationReport, fmt: ReportFormat) -> str:
    """Return a safe file name naming the project, the users and the weights.

    For example ``blendscope-demo-segment-premium-click1-purchase2-revenue0.5-returned0.5.pdf``
    (``user-u00042`` for one user, ``12-users`` for a list).
    """
    users, seg = report.users, report.segment
    if seg is not None:
        who = f"{seg.segment.column}-{seg.segment.value}"
    else:
        who = f"user-{users[0].user_id}" if len(users) == 1 else f"{len(users)}-users"
    weights = "-".join(f"{t}{w:g}" for t, w in report.provenance.weights.items())
    stem = safe_filename(f"blendscope-{report.provenance.project}-{who}-{weights}")
    return stem + "." + _EXTENSION.get(fmt, fmt)


def write_report(report: ExplanationReport, fmt: ReportFormat, path: str | Path, *,
                 detail: Detail | None = None, top_users: int = TOP_USERS) -> Path:
    """Export (see :func:`export_report`) and write atomically.

    The bytes go to a temporary sibling file, then ``os.replace`` moves it into place.
    """
    return write_bytes_atomic(Path(path), export_report(report, fmt, detail=detail,
                                                        top_users=top_users))
