"""Explanations of blended multi-objective recommendations.

Exact, additive SHAP attributions of the blended score (DESIGN.md, "Explanations"),
per-task shares, pairwise "why A above B", global importance, reasons in words and
reports (:mod:`explain.report`). A plain library: it never imports Streamlit.

>>> from recsys.project import Project
>>> from explain import explain_top
>>> p = Project.load("artifacts/demo")                      # doctest: +SKIP
>>> [e.reasons for e in explain_top(p, "u00042")]           # doctest: +SKIP
"""

from explain._associations import FeatureAssociation, feature_associations
from explain._batch import AttributionBatch, attribute_rows
from explain._display import feature_labels, format_value
from explain._explain import (
    attribute_pair,
    explain_item,
    explain_items,
    explain_pair,
    explain_pairs,
    explain_top,
    to_explanations,
)
from explain._global import (
    BLEND,
    GlobalImportance,
    beeswarm_frame,
    dependence,
    global_importance,
    sample_rows,
)
from explain._pdp import IceLines, PartialDependence, ice_lines, partial_dependence, task_unit
from explain._plots import (
    NEGATIVE,
    POSITIVE,
    WaterfallStep,
    plot_attribution,
    waterfall_figure,
    waterfall_range,
    waterfall_steps,
)
from explain._reasons import feature_phrase, reasons_for, task_phrase
from explain._types import Attribution, BlendedAttribution, PairwiseAttribution, TaskExplanation
from explain._whatif import TaskChange, WhatIf, format_attribute, whatif
from explain.report import (
    ExplanationReport,
    build_report,
    export_report,
    export_tables,
    report_filename,
    safe_filename,
    users_in_segment,
    write_report,
)

__all__ = [
    "BLEND",
    "NEGATIVE",
    "POSITIVE",
    "Attribution",
    "AttributionBatch",
    "BlendedAttribution",
    "ExplanationReport",
    "FeatureAssociation",
    "GlobalImportance",
    "IceLines",
    "PairwiseAttribution",
    "PartialDependence",
    "TaskChange",
    "TaskExplanation",
    "WaterfallStep",
    "WhatIf",
    "attribute_pair",
    "attribute_rows",
    "beeswarm_frame",
    "build_report",
    "dependence",
    "explain_item",
    "explain_items",
    "explain_pair",
    "explain_pairs",
    "explain_top",
    "feature_associations",
    "export_report",
    "export_tables",
    "feature_labels",
    "feature_phrase",
    "format_attribute",
    "format_value",
    "global_importance",
    "ice_lines",
    "partial_dependence",
    "plot_attribution",
    "reasons_for",
    "report_filename",
    "safe_filename",
    "sample_rows",
    "task_phrase",
    "task_unit",
    "to_explanations",
    "users_in_segment",
    "waterfall_figure",
    "waterfall_range",
    "waterfall_steps",
    "whatif",
    "write_report",
]
