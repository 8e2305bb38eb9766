"""Build an explanation report: provenance, metrics and every user's explained top-K."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explain._explain import explain_pairs, to_explanations
from explain._global import global_importance
from explain._pdp import PartialDependence, partial_dependence
from explain._types import BlendedAttribution
from explain.report._segment import Segment, SegmentMetrics, segment_metrics
from recsys.artifacts import package_version
from recsys.blend import BlendSpec
from recsys.errors import ArtifactError, ExplanationError
from recsys.health import ModelHealth
from recsys.project import Project, WeightsLike
from recsys.tasks import TaskSpec

__all__ = ["PDP_FEATURES", "ExplanationReport", "Provenance", "Segment", "UserReport",
           "build_report", "json_safe", "top_features", "users_in_segment"]

PDP_FEATURES = 3
"""Features whose partial dependence a report shows by default."""
_IMPORTANCE_ROWS = 300
"""Test exposures whose SHAP values rank the features for the partial-dependence section
(the top 3 are the same at 200, 300 and 500 rows on the demo; 0.3 s there)."""


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN/inf as None and NumPy scalars as Python numbers (for strict JSON)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_safe_item(d: dict[str, Any]) -> dict[str, Any]:
    """Return an item's dict with non-finite top-level numbers as None.

    Attribution values are always finite; display values are already JSON-safe.
    """
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in d.items()}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a report's numbers come from."""

    package_version: str
    """Blendscope version that built the report."""
    trained_with: str
    """Blendscope version that trained the project."""
    project_created_at: str
    data_fingerprint: str
    model_files: Mapping[str, str]
    """Model file -> SHA-256, from the project manifest."""
    weights: Mapping[str, float]
    transform: str
    k: int
    created_at: str
    """UTC time the report was built (ISO 8601)."""
    project: str
    """Name of the artifacts directory."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"package_version": self.package_version, "trained_with": self.trained_with,
                "project_created_at": self.project_created_at,
                "data_fingerprint": self.data_fingerprint, "model_files": dict(self.model_files),
                "weights": dict(self.weights), "transform": self.transform, "k": self.k,
                "created_at": self.created_at, "project": self.project}


@dataclass(frozen=True, slots=True)
class UserReport:
    """One user's explained top-K."""

    user_id: str
    attributes: Mapping[str, object]
    """The user's catalogue attributes (segment, region, ...)."""
    items: tuple[BlendedAttribution, ...]
    """Explained recommendations, best first (``rank`` set)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"user_id": self.user_id, "attributes": json_safe(dict(self.attributes)),
                "items": [json_safe_item(it.to_dict()) for it in self.items]}


@dataclass(frozen=True, slots=True)
class ExplanationReport:
    """Everything a report shows; rendered by :func:`explain.report.export_report`."""

    title: str
    provenance: Provenance
    metrics: Mapping[str, Any]
    """``Project.evaluate(...).to_dict()`` at the report's weights."""
    tasks: tuple[TaskSpec, ...]
    users: tuple[UserReport, ...]
    selection: str = ""
    """How the users were chosen (e.g. ``segment = premium``)."""
    health: ModelHealth | None = None
    """Model metrics beside trivial baselines with confidence intervals, and warnings,
    recorded at training (None for a project trained without them)."""
    partial_dependence: tuple[PartialDependence, ...] = ()
    """Partial dependence of the most important features (by blended mean |SHAP| on
    sampled test exposures), most important first, at the report's weights."""
    segment: SegmentMetrics | None = None
    """For a segment's report: the segment's own ranking metrics beside all users'
    (``metrics`` is the all-users evaluation)."""

    def task_names(self) -> list[str]:
        """Task names in order."""
        return [t.name for t in self.tasks]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON export (``metrics`` covers all users).

        ``{"title", "selection", "provenance", "tasks", "metrics",
        "health": {"reports", "warnings", ...} or null,
        "users": [{"user_id", "attributes", "items": [BlendedAttribution.to_dict()]}],
        "partial_dependence": [PartialDependence.to_dict()],
        "segment": SegmentMetrics.to_dict() or null}``.
        """
        return {
            "title": self.title, "selection": self.selection,
            "provenance": json_safe(self.provenance.to_dict()),
            "tasks": [t.to_dict() for t in self.tasks], "metrics": json_safe(dict(self.metrics)),
            "health": self.health.to_dict(curves=False) if self.health is not None else None,
            "users": [u.to_dict() for u in self.users],
            "partial_dependence": [json_safe(p.to_dict()) for p in self.partial_dependence],
            "segment": self.segment.to_dict() if self.segment is not None else None}


def _provenance(project: Project, weights: Mapping[str, float], kind: str, k: int) -> Provenance:
    m = project.manifest
    files = {p: h for p, h in m.get("files", {}).items() if p.startswith("models/")}
    return Provenance(
        package_version=package_version(), trained_with=str(m.get("package_version", "")),
        project_created_at=str(m.get("created_at", "")),
        data_fingerprint=str(m.get("data_fingerprint", "")), model_files=files,
        weights=dict(weights), transform=kind, k=k,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        project=project.root.name)


def _user_codes(project: Project, user_ids: Sequence[object]) -> np.ndarray:
    ids = list(dict.fromkeys(str(u) for u in user_ids))
    if not ids:
        raise ExplanationError("report: no users given; pass at least one user id")
    codes = project.user_ids().get_indexer(pd.Index(ids))
    unknown = [u for u, c in zip(ids, codes, strict=True) if c < 0]
    if unknown:
        some = ", ".join(project.user_ids()[:3])
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ExplanationError(f"report: unknown user '{unknown[0]}'{more}; user ids look "
                               f"like {some}")
    return np.asarray(codes, dtype=np.int64)


def _attributes(project: Project, user_ids: list[str]) -> dict[str, dict[str, object]]:
    users = project.user_table()
    if "user_id" not in users:
        return {}
    rows = users[users["user_id"].astype(str).isin(user_ids)]
    out = {}
    for rec in rows.to_dict("records"):
        uid = str(rec.pop("user_id"))
        out[uid] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in rec.items()}
    return out


def build_report(project: Project, user_ids: Sequence[str], *,
                 weights: WeightsLike | BlendSpec = None, transform: str | None = None,
                 k: int | None = None, title: str = "Blendscope recommendation report",
                 selection: str = "", pdp_features: int = PDP_FEATURES,
                 segment: Segment | None = None) -> ExplanationReport:
    """Explain the top-K of every user in ``user_ids`` at the given weights.

    All (user, item) pairs go through one ``pred_contrib`` call per model.

    Parameters
    ----------
    project : Project
        A loaded project.
    user_ids : sequence of str
        Users to report on (duplicates dropped, order kept).
    weights, transform
        As in :func:`explain.explain_items`.
    k : int, optional
        List length (default: the config's).
    title, selection : str
        Report title; how the users were chosen (shown in the report).
    pdp_features : int
        Show the partial dependence of this many features (:func:`top_features`); 0
        leaves the section out.
    segment : Segment, optional
        The segment ``user_ids`` stand for (often a sample of it, see
        :func:`users_in_segment`): the report then shows the ranking metrics of every
        user of the segment beside all users', and ``selection`` defaults to its label.
    """
    spec = project.spec(weights, transform=transform, k=k)
    w, kind, kk = spec.weights, spec.transform, spec.k
    codes = _user_codes(project, user_ids)
    top, _ = project.recommend_all(spec)
    top = top[codes]
    rows, cols = np.nonzero(top >= 0)
    users, items = codes[rows], top[rows, cols].astype(np.int64)
    batch = explain_pairs(project, users, items, weights=spec)
    explained = to_explanations(project, batch, users, items, ranks=(cols + 1).tolist())
    ids = [str(project.user_ids()[c]) for c in codes]
    attrs = _attributes(project, ids)
    per_user: dict[int, list[BlendedAttribution]] = {int(r): [] for r in range(codes.size)}
    for r, e in zip(rows.tolist(), explained, strict=True):
        per_user[r].append(e)
    sections = tuple(UserReport(uid, attrs.get(uid, {}), tuple(per_user[r]))
                     for r, uid in enumerate(ids))
    metrics = project.evaluate(spec).to_dict()
    try:
        health: ModelHealth | None = project.health()
    except ArtifactError:  # trained before health checks: the report says so
        health = None
    pdps = tuple(partial_dependence(project, f, weights=spec)
                 for f in top_features(project, spec, pdp_features))
    seg = None
    if segment is not None:
        members = users_in_segment(project, segment.column, segment.value)
        seg = segment_metrics(project, spec, segment, members)
        selection = selection or segment.label()
    return ExplanationReport(
        title=title, provenance=_provenance(project, w.as_dict(), kind, kk), metrics=metrics,
        tasks=project.tasks, users=sections, selection=selection, health=health,
        partial_dependence=pdps, segment=seg)


def top_features(project: Project, spec: BlendSpec, n: int = PDP_FEATURES) -> list[str]:
    """Return the ``n`` features with the largest blended mean |SHAP| at ``spec``.

    Measured on a fixed sample of test exposures (the Global page's ranking, on fewer rows).
    """
    if n <= 0:
        return []
    gi = global_importance(project, weights=spec, n=_IMPORTANCE_ROWS, random_state=0)
    return gi.to_frame()["feature"].head(int(n)).tolist()


def users_in_segment(project: Project, column: str, value: object, *, n: int | None = None,
                     random_state: int = 0) -> list[str]:
    """Return the users whose attribute ``column`` equals ``value``, in id order.

    Values compare as text, or as numbers for a numeric column; a reproducible sample of
    ``n`` is drawn if more users match.
    """
    users = project.user_table()
    cols = [c for c in users.columns if c != "user_id"]
    if column not in cols:
        raise ExplanationError(f"segment: unknown user column '{column}'; columns are "
                               f"{', '.join(cols) or '(none)'}")
    col = users[column]
    if pd.api.types.is_numeric_dtype(col):
        try:
            mask = col.to_numpy(dtype=np.float64) == float(str(value))
        except ValueError:
            raise ExplanationError(f"segment: column '{column}' is numeric, got {value!r}; "
                                   "give a number") from None
    else:
        mask = (col.astype(str) == str(value)).to_numpy()
    ids = sorted(users.loc[mask, "user_id"].astype(str).tolist())
    known = project.user_ids().get_indexer(pd.Index(ids)) >= 0 if ids else \
        np.zeros(0, dtype=bool)
    ids = [u for u, ok in zip(ids, known, strict=True) if ok]
    if not ids:
        some = ", ".join(map(str, pd.unique(col.dropna())[:5]))
        raise ExplanationError(f"segment: no user has {column} = {value!r}; values look like "
                               f"{some}")
    if n is not None and len(ids) > n:
        pick = np.random.default_rng(random_state).choice(len(ids), size=int(n), replace=False)
        ids = [ids[i] for i in sorted(pick)]
    return ids
