"""Explanation reports: build once, export as HTML, PDF, CSV, Parquet, JSON or XLSX."""

from explain.report._build import (
    ExplanationReport,
    Provenance,
    UserReport,
    build_report,
    users_in_segment,
)
from explain.report._export import (
    FORMATS,
    MEDIA_TYPES,
    ReportFormat,
    export_report,
    report_filename,
    write_report,
)
from explain.report._tables import export_tables, neutralise, neutralise_frame, safe_filename

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "ExplanationReport",
    "Provenance",
    "ReportFormat",
    "UserReport",
    "build_report",
    "export_report",
    "export_tables",
    "neutralise",
    "neutralise_frame",
    "report_filename",
    "safe_filename",
    "users_in_segment",
    "write_report",
]
