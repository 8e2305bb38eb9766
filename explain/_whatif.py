"""What-if: change a (user, item) pair's attributes and see its scores, rank and attribution move.

The edited row is rebuilt by :func:`recsys.features.edit_pair` (every derived feature
recomputed with the training formulas), scored through every task and the blend, and
re-ranked against the user's other candidates. The change is explained exactly: the
blended SHAP values of the new row minus those of the old row (one
:func:`~explain._batch.attribute_rows` call on both rows), which sum to the change of
the blended score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from explain._batch import AttributionBatch, attribute_rows
from explain._display import display_rows
from explain._types import Attribution, _json_value
from recsys.blend import BlendSpec
from recsys.features import Edit, EditableAttribute, edit_pair
from recsys.project import Project, WeightsLike

__all__ = ["TaskChange", "WhatIf", "format_attribute", "whatif"]


def format_attribute(value: object) -> str:
    """Format an attribute value as typed (``125.96``, ``563``, ``premium``; ``missing`` for None).

    Unlike feature values, it is never rounded to fewer digits than it holds.
    """
    if value is None:
        return "missing"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class TaskChange:
    """One task's scores before and after the edits."""

    task: str
    weight: float
    """Signed weight w_t · sign_t."""
    score_before: float
    """Raw task score s_t (log-odds, entire-space log-probability, value or rank score)."""
    score_after: float
    transformed_before: float
    """g_t(s_t): the task score in the blending space."""
    transformed_after: float
    prediction_before: float
    """Prediction in the task's natural unit (probability, value or rank score)."""
    prediction_after: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"weight": self.weight, "score_before": self.score_before,
                "score_after": self.score_after, "transformed_before": self.transformed_before,
                "transformed_after": self.transformed_after,
                "prediction_before": self.prediction_before,
                "prediction_after": self.prediction_after}


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A (user, item) pair before and after some edits of its attributes (:func:`whatif`)."""

    user_id: str
    item_id: str
    title: str
    weights: Mapping[str, float]
    """Blend weights used (unsigned, as set)."""
    transform: str
    changes: tuple[Edit, ...]
    """The edits: old and new value, and the other features each one moved."""
    moved: tuple[str, ...]
    """Every feature whose value changed, in column order."""
    tasks: tuple[TaskChange, ...]
    score_before: float
    """Blended score of the pair as it is: for a candidate item, the score
    ``Project.recommend`` ranks by (which rounds it to float32)."""
    score_after: float
    rank_before: int
    """1-based rank among the user's candidates (for an item that is not one: the rank
    it would take if it were scored)."""
    rank_after: int
    n_candidates: int
    """The user's candidates (this item included if it is one)."""
    candidate: bool
    """Whether the item is among the user's candidates."""
    before: Attribution
    """Exact blended attribution of the row as it is (sums to ``score_before``)."""
    after: Attribution
    """Exact blended attribution of the edited row (sums to ``score_after``)."""
    attributes: tuple[EditableAttribute, ...]
    """Every editable attribute of the pair at its current (before) value."""
    notes: tuple[str, ...] = ()
    """Caveats (a feature set alone, an item that is not a candidate)."""

    def change(self, *, changed_only: bool = False) -> Attribution:
        """Per feature, attribution after − before.

        It starts at ``score_before`` and sums to ``score_after`` (values shown are the
        new ones). ``changed_only`` keeps only the features whose value or attribution
        changed (a bar chart of the change).
        """
        diff = self.after.values - self.before.values
        keep = np.arange(diff.size)
        if changed_only:
            moved = set(self.moved)
            keep = np.flatnonzero((diff != 0) | np.array([f in moved for f in
                                                          self.after.feature_names]))
        a = self.after
        pick = lambda seq: tuple(seq[j] for j in keep)  # noqa: E731
        return Attribution(diff[keep], self.score_before, pick(a.feature_names),
                           pick(a.feature_values), pick(a.groups), pick(a.descriptions))

    def values_before(self, *, changed_only: bool = False) -> tuple[object, ...]:
        """Return the old row's display values, aligned with :meth:`change`."""
        names = self.change(changed_only=changed_only).feature_names
        where = {f: j for j, f in enumerate(self.before.feature_names)}
        return tuple(self.before.feature_values[where[f]] for f in names)

    def top_changes(self, n: int = 10) -> list[tuple[str, object, object, float]]:
        """Return the ``n`` largest attribution changes.

        Each is (feature, value before, value after, contribution after − before),
        largest |change| first; zero changes are left out.
        """
        ch = self.change(changed_only=True)
        vb = self.values_before(changed_only=True)
        order = np.argsort(-np.abs(ch.values), kind="stable")[: max(int(n), 0)]
        return [(ch.feature_names[j], vb[j], ch.feature_values[j], float(ch.values[j]))
                for j in order if ch.values[j] != 0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``sum(attribution[].change) == score.after − score.before``."""
        diff = self.after.values - self.before.values
        recs = []
        for j in np.argsort(-np.abs(diff), kind="stable").tolist():
            recs.append({"feature": self.after.feature_names[j], "group": self.after.groups[j],
                         "value_before": _json_value(self.before.feature_values[j]),
                         "value_after": _json_value(self.after.feature_values[j]),
                         "contribution_before": float(self.before.values[j]),
                         "contribution_after": float(self.after.values[j]),
                         "change": float(diff[j])})
        return {
            "user_id": self.user_id, "item_id": self.item_id, "title": self.title,
            "weights": dict(self.weights), "transform": self.transform,
            "changes": [{"name": e.key, "owner": e.owner, "feature": e.feature,
                         "before": _json_value(e.before), "after": _json_value(e.after),
                         "moved": list(e.moved)} for e in self.changes],
            "moved": list(self.moved),
            "tasks": {t.task: t.to_dict() for t in self.tasks},
            "score": {"before": self.score_before, "after": self.score_after,
                      "change": self.score_after - self.score_before},
            "rank": {"before": self.rank_before, "after": self.rank_after,
                     "candidates": self.n_candidates, "candidate": self.candidate},
            "base": self.before.base_value, "attribution": recs,
            "attributes": [{"name": a.name, "owner": a.owner, "key": a.key,
                            "levels": None if a.levels is None else list(a.levels),
                            "value": _json_value(a.value), "feature": a.feature}
                           for a in self.attributes],
            "notes": list(self.notes),
        }


def _attributions(batch: AttributionBatch) -> tuple[Attribution, Attribution]:
    names = tuple(s.name for s in batch.specs)
    groups = tuple(str(s.group) for s in batch.specs)
    descs = tuple(s.description for s in batch.specs)
    shown = display_rows(batch.specs, batch.X)
    before, after = (Attribution(batch.values[r], float(batch.base[r]), names, shown[r], groups,
                                 descs) for r in (0, 1))
    return before, after


def _ranks(spec: BlendSpec, candidates: NDArray[np.float64], slot: int | None,
           scores: NDArray[np.float64]) -> list[int]:
    """Rank of each of ``scores`` for one item among the other candidates' blended scores.

    The item is in candidate ``slot`` (None: not a candidate). Ties are broken as
    ``top_k`` breaks them: by slot (an item that is not a candidate goes after equal
    scores).
    """
    if slot is None:
        return [spec.rank_of(s, candidates) for s in scores]
    earlier, later = candidates[:slot], candidates[slot + 1:]
    return [spec.rank_of(s, earlier) + int(np.count_nonzero(later > s)) for s in scores]


def whatif(project: Project, user_id: object, item_id: object, *,
           changes: Mapping[str, object], weights: WeightsLike | BlendSpec = None,
           transform: str | None = None) -> WhatIf:
    """Change a (user, item) pair's attributes and rescore, re-rank and explain it.

    Parameters
    ----------
    project : Project
        A loaded project.
    user_id, item_id : str
        The pair (any catalogue item, candidate or not).
    changes : mapping
        ``{name: value}``: an attribute (``price``, ``segment``; ``user.NAME`` or
        ``item.NAME`` where both have one) set to a level, a number or None (missing), or
        one feature set alone by its feature name (see :func:`recsys.features.edit_pair`).
        Empty: the pair as it is.
    weights : BlendSpec, BlendWeights or mapping, optional
        Blend weights (tasks not given keep the config weight), or a resolved spec.
    transform : {"zscore", "percentile", "minmax"}, optional
        Score transform (default: the config's).

    Returns
    -------
    WhatIf
        Scores, rank and attributions before and after. Setting attributes to their
        current values changes nothing, bit for bit.

    Raises
    ------
    SchemaError
        Unknown user or item; one line per bad change, naming the allowed values.
    """
    spec = project.spec(weights, transform=transform)
    u, i = project.user_code(user_id), project.item_code(item_id)
    pair = edit_pair(project.feature_store(), u, i, changes)
    X = np.vstack([pair.before, pair.after])
    margins = project.stored_margins(np.array([u, u]), np.array([i, i]))
    if not np.array_equal(pair.before, pair.after, equal_nan=True):
        margins[:, 1] = np.nan  # explain the SHAP sum of the new row
    batch = attribute_rows(project, X, spec, margins=margins)
    codes, blended = project.candidate_scores(user_id, weights=spec)
    hit = np.flatnonzero(codes == i)
    slot = int(hit[0]) if hit.size else None
    table_scores = spec.blend(batch.transformed.astype(np.float32))  # as the score table
    rank_before, rank_after = _ranks(spec, blended, slot, table_scores)
    tasks = tuple(TaskChange(
        task=t, weight=float(batch.signed_weight[k]),
        score_before=float(batch.task_score[k, 0]), score_after=float(batch.task_score[k, 1]),
        transformed_before=float(batch.transformed[k, 0]),
        transformed_after=float(batch.transformed[k, 1]),
        prediction_before=float(batch.prediction[k, 0]),
        prediction_after=float(batch.prediction[k, 1])) for k, t in enumerate(batch.tasks))
    names = [s.name for s in batch.specs]
    differs = ~((X[0] == X[1]) | (np.isnan(X[0]) & np.isnan(X[1])))
    notes = pair.notes if slot is not None else (*pair.notes, (
        f"item '{item_id}' is not among the user's {codes.size} candidates: its rank is the "
        "one it would take if it were scored"))
    before, after = _attributions(batch)
    return WhatIf(
        user_id=str(user_id), item_id=str(item_id), title=project.title(i),
        weights=spec.weights.as_dict(), transform=spec.transform, changes=pair.edits,
        moved=tuple(n for n, d in zip(names, differs, strict=True) if d), tasks=tasks,
        score_before=float(batch.score[0]), score_after=float(batch.score[1]),
        rank_before=rank_before, rank_after=rank_after,
        n_candidates=int(codes.size), candidate=slot is not None, before=before, after=after,
        attributes=pair.attributes, notes=tuple(notes))
