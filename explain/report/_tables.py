"""A report as tidy tables, spreadsheet-safe cells and safe file names."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from explain._types import BlendedAttribution
from explain.report._build import ExplanationReport
from explain.report._segment import SEGMENT_COLUMNS

__all__ = ["BASE_FEATURE", "BLEND", "export_tables", "health_tables", "metric_rows",
           "neutralise", "neutralise_frame", "pdp_table", "safe_filename"]

BLEND = "blend"
"""``task`` value of the blended score's attributions."""
BASE_FEATURE = "(base)"
"""``feature`` value of the base-value row: per (user, item, task) the rows sum to the score."""
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def neutralise(text: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with ``'``.

    Cells starting with ``= + - @``, tab or carriage return are neutralised, except
    plain numbers such as ``-0.5`` (which a spreadsheet reads as numbers, not formulas).
    """
    if text and text.startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with every text cell passed through :func:`neutralise`.

    Numeric columns are left numeric.
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        is_text = col.map(type).eq(str) if col.dtype == object else col.notna()
        text = col.where(is_text, "").astype(str)
        hit = is_text & text.str.startswith(_TRIGGERS) & ~text.str.fullmatch(_NUMBER)
        if hit.any():
            out[c] = col.mask(hit, "'" + text)
    if any(isinstance(c, str) and neutralise(c) != c for c in out.columns):
        out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_filename(name: str, default: str = "report") -> str:
    """Return a file name safe on every OS.

    ASCII letters, digits and ``._-`` only; no path parts, no leading dot, no reserved
    device name, at most 120 characters.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    text = re.sub(r"_{2,}", "_", text).strip("._-")
    stem = text.split(".")[0]
    if stem.upper() in _RESERVED:
        text = "_" + text
    text = text[:120].rstrip("._-")
    return text or default


def _cell(v: object) -> str:
    """Write a display value as plain machine-readable text ("" if missing)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return str(v)


def _rec_row(e: BlendedAttribution, tasks: list[str]) -> dict[str, object]:
    top = "; ".join(f"{f} ({c:+.3f})" for f, _, c in e.attribution.top(3))
    row: dict[str, object] = {
        "user_id": e.user_id, "rank": e.rank, "item_id": e.item_id, "title": e.title,
        "score": e.score, "base": e.attribution.base_value, "top_features": top,
        "reasons": " ".join(e.reasons)}
    for t in tasks:
        te = e.tasks[t]
        row |= {f"{t}_prediction": te.prediction, f"{t}_transformed": te.transformed,
                f"{t}_share": te.share, f"{t}_share_fraction": te.share_fraction}
    return row


def _long(items: list[BlendedAttribution], tasks: list[str]) -> pd.DataFrame:
    """Long attributions of every item, built with array operations."""
    first = items[0].attribution
    nf, labels = len(first.feature_names), [BLEND, *tasks]
    per_item = len(labels) * (nf + 1)
    vals = np.empty((len(items), len(labels), nf + 1))
    for r, e in enumerate(items):
        attrs = [e.attribution] + [e.tasks[t].attribution for t in tasks]
        for a, attr in enumerate(attrs):
            vals[r, a, 0] = attr.base_value
            vals[r, a, 1:] = attr.values
    shown = np.array([[""] + [_cell(v) for v in e.attribution.feature_values] for e in items],
                     dtype=object)
    return pd.DataFrame({
        "user_id": np.repeat([e.user_id for e in items], per_item),
        "rank": np.repeat([e.rank for e in items], per_item),
        "item_id": np.repeat([e.item_id for e in items], per_item),
        "task": np.tile(np.repeat(labels, nf + 1), len(items)),
        "feature": np.tile([BASE_FEATURE, *first.feature_names], len(items) * len(labels)),
        "group": np.tile(["base", *first.groups], len(items) * len(labels)),
        "value": np.repeat(shown[:, None, :], len(labels), axis=1).ravel(),
        "attribution": vals.ravel()})


def _wide_rows(e: BlendedAttribution, tasks: list[str]) -> list[dict[str, object]]:
    attrs = [(BLEND, e.attribution)] + [(t, e.tasks[t].attribution) for t in tasks]
    return [{"user_id": e.user_id, "rank": e.rank, "item_id": e.item_id, "task": t,
             BASE_FEATURE: a.base_value,
             **dict(zip(a.feature_names, a.values.tolist(), strict=True))} for t, a in attrs]


_REPORT_COLUMNS = ["task", "metric", "value", "ci_low", "ci_high", "baseline_name",
                   "baseline_value", "lift", "lift_ci_low", "lift_ci_high", "n_rows",
                   "n_positives", "n_users", "higher_is_better", "reason"]
_WARNING_COLUMNS = ["code", "task", "message", "figures"]


def health_tables(report: ExplanationReport) -> dict[str, pd.DataFrame]:
    """Return the model health as tables (no rows when the project recorded none).

    ``health``: one row per (task, metric): the model's value and confidence interval,
    the best baseline and the lift over it with its interval, counts, and one
    ``baseline_<name>`` column per baseline. ``health_warnings``: code, task (empty for
    the whole project), message and the figures behind it as JSON text.
    """
    h = report.health
    if h is None:
        return {"health": pd.DataFrame(columns=_REPORT_COLUMNS),
                "health_warnings": pd.DataFrame(columns=_WARNING_COLUMNS)}
    rows = []
    for r in h.reports:
        d = r.to_dict()
        row = {c: d[c] for c in _REPORT_COLUMNS}
        row |= {f"baseline_{b}": v for b, v in d["baselines"].items()}
        rows.append(row)
    warnings = [{"code": w.code, "task": w.task or "", "message": w.message,
                 "figures": json.dumps(w.to_dict()["figures"], sort_keys=True)}
                for w in h.warnings]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=_REPORT_COLUMNS)
    return {"health": frame, "health_warnings": pd.DataFrame(warnings, columns=_WARNING_COLUMNS)}


_PD_LONG = ["feature", "description", "value", "label", "task", "prediction", "score"]


def pdp_table(report: ExplanationReport,
              layout: Literal["long", "wide"] = "long") -> pd.DataFrame:
    """Return the report's partial dependence, most important feature first.

    ``long``: :meth:`explain.PartialDependence.to_frame` of each feature with its
    ``description``: one row per (feature, grid value, task or ``"blend"``) with the mean
    natural-unit ``prediction`` (NaN for the blend) and mean transformed ``score`` (the
    blended score for the blend). ``wide``: one row per (feature, grid value) with
    ``<task>_prediction`` and ``<task>_score`` columns and ``blend``.
    """
    tasks = report.task_names()
    wide_cols = ["feature", "description", "value", "label",
                 *[f"{t}_{q}" for t in tasks for q in ("prediction", "score")], BLEND]
    parts = []
    for p in report.partial_dependence:
        if layout == "long":
            frame = p.to_frame()
            frame.insert(1, "description", p.feature.description)
        else:
            frame = pd.DataFrame({"feature": p.feature.name, "description": p.feature.description,
                                  "value": p.grid, "label": p.labels()})
            for k, t in enumerate(p.tasks):
                frame[f"{t}_prediction"], frame[f"{t}_score"] = p.prediction[k], p.transformed[k]
            frame[BLEND] = p.blended
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=_PD_LONG if layout == "long" else wide_cols)
    return pd.concat(parts, ignore_index=True)


def metric_rows(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Return ``Evaluation.to_dict()`` in long form: one row per (section, task, metric).

    Each row holds the value, its interval, the best baseline and the lift, and why a
    value is missing (``scope``: every row covers all users; a segment's own metrics are
    in ``segment_metrics``).
    """
    rows: list[dict[str, Any]] = []
    for sec in ("tasks", "ranking", "topk"):
        for task, block in (metrics.get(sec) or {}).items():
            ci, base = block.get("ci") or {}, block.get("baseline") or {}
            for m, v in block.items():
                if isinstance(v, dict) or m.endswith("_reason"):
                    continue
                b = base.get(m) or {}
                lo, hi = ci.get(m) or (None, None)
                blo, bhi = b.get("lift_ci") or (None, None)
                rows.append({"scope": "all users", "section": sec, "task": task, "metric": m,
                             "value": v,
                             "ci_low": lo, "ci_high": hi, "baseline": b.get("name", ""),
                             "baseline_value": b.get("value"), "lift": b.get("lift"),
                             "lift_ci_low": blo, "lift_ci_high": bhi,
                             "note": block.get(f"{m}_reason", "")})
    for m in ("coverage", "diversity", "novelty"):
        rows.append({"scope": "all users", "section": "catalogue", "task": "", "metric": m,
                     "value": metrics.get(m),
                     "note": metrics.get(f"{m}_reason", "")})
    return pd.DataFrame(rows)


def export_tables(report: ExplanationReport,
                  layout: Literal["long", "wide"] = "long") -> dict[str, pd.DataFrame]:
    """Return the report as tables (not neutralised; see :func:`neutralise_frame`).

    ``recommendations``: one row per (user, item): rank, title, score, base, top
    features, reasons and per task ``<task>_prediction``, ``_transformed``, ``_share``,
    ``_share_fraction``.

    ``attributions``: ``long`` (CSV/Parquet) has one row per (user, item, task,
    feature) with columns user_id, rank, item_id, task (a task name or ``"blend"``),
    feature, group, value (display value as text) and attribution, plus a
    ``"(base)"`` row per (user, item, task) so each group of rows sums to the score
    (``blend``) or the raw task score. ``wide`` (XLSX) has one row per (user, item,
    task) and a column per feature, with the feature values in a separate
    ``feature_values`` table.

    ``health`` and ``health_warnings``: see :func:`health_tables`.

    ``partial_dependence``: see :func:`pdp_table`.

    ``segment_metrics``: for a segment's report, its NDCG@K and GAUC per task beside all
    users' (:meth:`explain.report.SegmentMetrics.to_frame`); no rows otherwise.
    """
    tasks = report.task_names()
    items = [e for u in report.users for e in u.items]
    rec = pd.DataFrame([_rec_row(e, tasks) for e in items])
    if rec.empty:
        rec = pd.DataFrame(columns=["user_id", "rank", "item_id", "title", "score", "base"])
    out = {"recommendations": rec}
    if layout == "long":
        out["attributions"] = _long(items, tasks) if items else pd.DataFrame(columns=[
            "user_id", "rank", "item_id", "task", "feature", "group", "value", "attribution"])
    else:
        out["attributions"] = pd.DataFrame([r for e in items for r in _wide_rows(e, tasks)])
        out["feature_values"] = pd.DataFrame([
            {"user_id": e.user_id, "rank": e.rank, "item_id": e.item_id,
             **{f: _cell(v) for f, v in zip(e.attribution.feature_names,
                                            e.attribution.feature_values, strict=True)}}
            for e in items])
    seg = report.segment.to_frame() if report.segment is not None else \
        pd.DataFrame(columns=SEGMENT_COLUMNS)
    return out | health_tables(report) | {"partial_dependence": pdp_table(report, layout),
                                          "segment_metrics": seg}
