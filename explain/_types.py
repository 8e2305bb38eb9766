"""The explanation data objects: plain, immutable, JSON-ready.

All blend and pair arithmetic happens on :class:`Attribution` (never on
``shap.Explanation``, whose arithmetic also transforms the feature values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Attribution", "BlendedAttribution", "PairwiseAttribution", "TaskExplanation"]


def _json_value(v: object) -> object:
    """Convert a display value to JSON: numbers stay numbers, NaN becomes None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _json_value(v.item())
    return v


@dataclass(frozen=True, slots=True)
class Attribution:
    """Additive contributions of features to one score: ``base_value + values.sum()``."""

    values: NDArray[np.float64]
    """(n_features,) contribution of each feature."""
    base_value: float
    """The score with no feature information (the models' expected values)."""
    feature_names: tuple[str, ...]
    """Feature names, in model column order."""
    feature_values: tuple[object, ...]
    """Display values: category labels decoded, numbers rounded, None if missing."""
    groups: tuple[str, ...]
    """``FeatureSpec.group`` of each feature."""
    descriptions: tuple[str, ...]
    """``FeatureSpec.description`` of each feature."""

    def total(self) -> float:
        """``base_value + sum(values)``: the explained score."""
        return float(self.base_value + np.sum(self.values))

    def by_group(self) -> dict[str, float]:
        """Contributions summed per feature group, in first-seen group order."""
        out: dict[str, float] = {}
        for g, v in zip(self.groups, self.values, strict=True):
            out[g] = out.get(g, 0.0) + float(v)
        return out

    def top(self, n: int = 10) -> list[tuple[str, object, float]]:
        """Return the ``n`` largest contributions by size: (feature, value, contribution)."""
        order = np.argsort(-np.abs(self.values), kind="stable")[: max(int(n), 0)]
        return [(self.feature_names[j], self.feature_values[j], float(self.values[j]))
                for j in order]

    def index(self, feature: str) -> int:
        """Column of ``feature``; ``KeyError`` if absent."""
        try:
            return self.feature_names.index(feature)
        except ValueError:
            raise KeyError(feature) from None

    def records(self, *, sort: bool = True, describe: bool = True) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per feature.

        Keys: feature, group, description (if ``describe``), value, contribution; sorted
        by |contribution| (largest first) if ``sort``.
        """
        order = (np.argsort(-np.abs(self.values), kind="stable") if sort
                 else np.arange(self.values.size))
        values = self.values.tolist()
        out = []
        for j in order.tolist():
            rec: dict[str, Any] = {"feature": self.feature_names[j], "group": self.groups[j]}
            if describe:
                rec["description"] = self.descriptions[j]
            rec["value"] = _json_value(self.feature_values[j])
            rec["contribution"] = values[j]
            out.append(rec)
        return out


@dataclass(frozen=True, slots=True)
class TaskExplanation:
    """One task's part in a blended score."""

    task: str
    margin: float
    """Raw task score s_t (log-odds, entire-space log-probability, prediction or rank score)."""
    transformed: float
    """g_t(s_t): the task score in the blending space."""
    weight: float
    """Signed weight w_t · sign_t (negative for minimised tasks)."""
    share: float
    """w_t · sign_t · g_t(s_t): this task's part of the blended score."""
    share_fraction: float
    """``share / sum(|share|)`` over the tasks (signed; 0 if every share is 0)."""
    prediction: float
    """Prediction in the task's natural unit (probability, value or rank score)."""
    attribution: Attribution
    """Feature contributions in task-score space: ``base_value`` s_t0, total s_t."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"margin": self.margin, "transformed": self.transformed, "weight": self.weight,
                "share": self.share, "share_fraction": self.share_fraction,
                "prediction": self.prediction, "base": self.attribution.base_value,
                "attributions": self.attribution.records(describe=False)}


@dataclass(frozen=True, slots=True)
class BlendedAttribution:
    """Why one item got its blended score for one user.

    Holds the exact feature attributions, each task's share and reasons in words.
    """

    user_id: str
    item_id: str
    title: str
    score: float
    """Blended score; ``attribution.total()`` equals it to rounding."""
    attribution: Attribution
    """Feature contributions to the blended score (the rescale rule of DESIGN.md)."""
    tasks: Mapping[str, TaskExplanation]
    """Per task, in task order."""
    reasons: tuple[str, ...]
    """Two or three short sentences generated by template."""
    rank: int | None = None
    """Position in the user's top-K list, if the item came from one."""
    weights: Mapping[str, float] = field(default_factory=dict)
    """Blend weights used (unsigned, as set)."""
    transform: str = ""
    """Score transform used (``zscore``, ``percentile`` or ``minmax``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``base + sum(attributions[].contribution) == score``."""
        return {
            "user_id": self.user_id, "item_id": self.item_id, "title": self.title,
            "rank": self.rank, "score": self.score, "base": self.attribution.base_value,
            "weights": dict(self.weights), "transform": self.transform,
            "attributions": self.attribution.records(),
            "groups": self.attribution.by_group(),
            "tasks": {t: e.to_dict() for t, e in self.tasks.items()},
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class PairwiseAttribution:
    """Why item A scores above (or below) item B for one user: ``Φ(A) − Φ(B)``."""

    user_id: str
    item_a: str
    item_b: str
    gap: float
    """score(A) − score(B); ``attribution.total()`` equals it to rounding."""
    attribution: Attribution
    """Contribution differences; ``feature_values`` are A's values, base value 0."""
    tasks: Mapping[str, float]
    """Per task, share(A) − share(B)."""
    top_for_a: tuple[tuple[str, object, object, float], ...]
    """Features favouring A, largest first: (feature, value for A, value for B, difference)."""
    top_for_b: tuple[tuple[str, object, object, float], ...]
    """Features favouring B, most negative first, in the same form."""
    values_b: tuple[object, ...] = ()
    """B's display values, aligned with ``attribution.feature_names``."""
    title_a: str = ""
    title_b: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``base + sum(attributions[].contribution) == gap``."""
        recs = self.attribution.records()
        vb = dict(zip(self.attribution.feature_names, self.values_b, strict=False))
        for r in recs:
            r["value_vs"] = _json_value(vb.get(r["feature"]))

        def drivers(rows: tuple[tuple[str, object, object, float], ...]) -> list[dict[str, Any]]:
            return [{"feature": f, "value": _json_value(a), "value_vs": _json_value(b),
                     "contribution": c} for f, a, b, c in rows]

        return {"user_id": self.user_id, "item_id": self.item_a, "vs": self.item_b,
                "title": self.title_a, "title_vs": self.title_b, "gap": self.gap,
                "base": self.attribution.base_value, "attributions": recs,
                "groups": self.attribution.by_group(), "tasks": dict(self.tasks),
                "top_for_item": drivers(self.top_for_a), "top_for_vs": drivers(self.top_for_b)}
