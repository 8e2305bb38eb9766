"""Reports of explanations and of the analysts' feedback flags.

Build once, export as HTML, PDF, CSV, Parquet, JSON or XLSX.
"""

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
from explain.report._feedback import FeedbackReport, build_feedback_report
from explain.report._feedback_export import export_feedback, feedback_filename, write_feedback
from explain.report._segment import Segment, SegmentMetrics
from explain.report._summary import DETAILS, TOP_USERS, Detail
from explain.report._tables import export_tables, neutralise, neutralise_frame, safe_filename

__all__ = [
    "DETAILS",
    "FORMATS",
    "MEDIA_TYPES",
    "TOP_USERS",
    "Detail",
    "ExplanationReport",
    "FeedbackReport",
    "Provenance",
    "ReportFormat",
    "Segment",
    "SegmentMetrics",
    "UserReport",
    "build_feedback_report",
    "build_report",
    "export_feedback",
    "export_report",
    "export_tables",
    "feedback_filename",
    "neutralise",
    "neutralise_frame",
    "report_filename",
    "safe_filename",
    "users_in_segment",
    "write_feedback",
    "write_report",
]
