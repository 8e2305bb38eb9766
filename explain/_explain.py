"""Explain a user's items: blended attributions, task shares, pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from explain._batch import AttributionBatch, attribute_rows
from explain._display import display_rows
from explain._reasons import reasons_for
from explain._types import Attribution, BlendedAttribution, PairwiseAttribution, TaskExplanation
from recsys.blend import BlendSpec
from recsys.errors import ExplanationError, SchemaError
from recsys.project import Project, WeightsLike

__all__ = ["attribute_pair", "explain_items", "explain_item", "explain_pair", "explain_pairs",
           "explain_top", "to_explanations"]

_TOP_PAIR = 5


def _user_code(project: Project, user_id: object) -> int:
    try:
        return project.user_code(user_id)
    except SchemaError as err:
        raise ExplanationError(f"explain: {err}") from None


def _item_codes(project: Project, item_ids: Sequence[object]) -> NDArray[np.int64]:
    ids = project.item_ids()
    codes = ids.get_indexer([str(i) for i in item_ids]) if item_ids else \
        np.zeros(0, dtype=np.int64)
    unknown = [str(i) for i, c in zip(item_ids, codes, strict=True) if c < 0]
    if unknown:
        some = ", ".join(ids[:3])
        raise ExplanationError(f"explain: unknown item '{unknown[0]}'"
                               f"{f' (and {len(unknown) - 1} more)' if len(unknown) > 1 else ''}"
                               f"; item ids look like {some}")
    return np.asarray(codes, dtype=np.int64)


def explain_pairs(project: Project, users: NDArray[np.integer], items: NDArray[np.integer], *,
                  weights: WeightsLike | BlendSpec = None,
                  transform: str | None = None) -> AttributionBatch:
    """Attributions of (user code, item code) pairs as arrays, one SHAP call per model."""
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64)
    X = project.pair_features(u, i).X if u.size else \
        np.zeros((0, len(project.feature_specs)), np.float32)
    return attribute_rows(project, X, weights, transform=transform,
                          margins=project.stored_margins(u, i))


def to_explanations(project: Project, batch: AttributionBatch, users: NDArray[np.integer],
                    items: NDArray[np.integer],
                    ranks: Sequence[int | None] | None = None) -> list[BlendedAttribution]:
    """Wrap the rows of ``batch`` (for these user and item codes) into explanation objects."""
    specs = batch.specs
    names = tuple(s.name for s in specs)
    groups = tuple(str(s.group) for s in specs)
    descs = tuple(s.description for s in specs)
    shown = display_rows(specs, batch.X)
    share = batch.share
    denom = np.abs(share).sum(axis=0)
    frac = np.divide(share, denom, out=np.zeros_like(share), where=denom > 0)
    w = batch.weights.as_dict()
    z = np.stack([project.transform(t, "zscore").apply(batch.task_score[k])
                  for k, t in enumerate(batch.tasks)]) if len(batch) else share
    user_ids = project.user_ids().to_numpy(dtype=object)[np.asarray(users, dtype=np.int64)]
    item_ids = project.item_ids().to_numpy(dtype=object)[np.asarray(items, dtype=np.int64)]
    out = []
    for r in range(len(batch)):
        tasks = {}
        for t, name in enumerate(batch.tasks):
            attr = Attribution(batch.task_values[t, r], float(batch.task_base[t, r]), names,
                               shown[r], groups, descs)
            tasks[name] = TaskExplanation(
                task=name, margin=float(batch.task_score[t, r]),
                transformed=float(batch.transformed[t, r]),
                weight=float(batch.signed_weight[t]), share=float(share[t, r]),
                share_fraction=float(frac[t, r]), prediction=float(batch.prediction[t, r]),
                attribution=attr)
        blended = Attribution(batch.values[r], float(batch.base[r]), names, shown[r], groups,
                              descs)
        out.append(BlendedAttribution(
            user_id=str(user_ids[r]), item_id=str(item_ids[r]),
            title=project.title(int(items[r])), score=float(batch.score[r]), attribution=blended,
            tasks=tasks,
            reasons=reasons_for(blended, tasks, project.tasks,
                                {t: float(z[k, r]) for k, t in enumerate(batch.tasks)}),
            rank=None if ranks is None else ranks[r], weights=w, transform=batch.transform))
    return out


def explain_items(project: Project, user_id: object, item_ids: Sequence[str], *,
                  weights: WeightsLike | BlendSpec = None,
                  transform: str | None = None) -> list[BlendedAttribution]:
    """Explain several items for one user, batched (one ``pred_contrib`` call per model).

    Parameters
    ----------
    project : Project
        A loaded project.
    user_id : str
        The user.
    item_ids : sequence of str
        Items to explain (any items, not only the user's candidates).
    weights : BlendSpec, BlendWeights or mapping, optional
        Blend weights (tasks not given keep the config weight), or a resolved spec.
    transform : {"zscore", "percentile", "minmax"}, optional
        Score transform (default: the config's).

    Returns
    -------
    list of BlendedAttribution
        In the order of ``item_ids``. For a candidate item ``score`` is the score
        ``Project.recommend`` ranks by; ``attribution`` sums to it exactly.
    """
    u = _user_code(project, user_id)
    codes = _item_codes(project, list(item_ids))
    users = np.full(codes.size, u, dtype=np.int64)
    batch = explain_pairs(project, users, codes, weights=weights, transform=transform)
    return to_explanations(project, batch, users, codes)


def explain_item(project: Project, user_id: object, item_id: str, *,
                 weights: WeightsLike | BlendSpec = None,
                 transform: str | None = None) -> BlendedAttribution:
    """Explain one item for one user (see :func:`explain_items`)."""
    return explain_items(project, user_id, [item_id], weights=weights, transform=transform)[0]


def explain_top(project: Project, user_id: object, *, weights: WeightsLike | BlendSpec = None,
                k: int | None = None, transform: str | None = None) -> list[BlendedAttribution]:
    """Explain the user's current top-K list (as ``Project.recommend`` ranks it)."""
    spec = project.spec(weights, transform=transform, k=k)
    _user_code(project, user_id)
    ranked = project.recommend(user_id, weights=spec)
    out = explain_items(project, user_id, [it.item_id for it in ranked.items], weights=spec)
    return [_with_rank(e, it.rank) for e, it in zip(out, ranked.items, strict=True)]


def _with_rank(e: BlendedAttribution, rank: int) -> BlendedAttribution:
    return BlendedAttribution(e.user_id, e.item_id, e.title, e.score, e.attribution, e.tasks,
                              e.reasons, rank, e.weights, e.transform)


def attribute_pair(a: BlendedAttribution, b: BlendedAttribution) -> PairwiseAttribution:
    """Why ``a`` scores above (or below) ``b``: ``Φ(a) − Φ(b)``, summing to the score gap.

    Antisymmetric: ``attribute_pair(b, a)`` has exactly the negated values.
    """
    if a.user_id != b.user_id:
        raise ExplanationError(f"attribute_pair: items belong to different users "
                               f"('{a.user_id}' vs '{b.user_id}'); compare two items of one user")
    if (dict(a.weights), a.transform) != (dict(b.weights), b.transform):
        raise ExplanationError(
            f"attribute_pair: '{a.item_id}' and '{b.item_id}' were explained at different "
            f"weights or transforms ({dict(a.weights)}, {a.transform} vs {dict(b.weights)}, "
            f"{b.transform}); explain both with the same settings")
    fa, fb = a.attribution, b.attribution
    if fa.feature_names != fb.feature_names:
        raise ExplanationError("attribute_pair: the two explanations have different features; "
                               "explain both items with the same project")
    diff = fa.values - fb.values
    attr = Attribution(diff, fa.base_value - fb.base_value, fa.feature_names, fa.feature_values,
                       fa.groups, fa.descriptions)
    rows = [(f, va, vb, float(d)) for f, va, vb, d in
            zip(fa.feature_names, fa.feature_values, fb.feature_values, diff, strict=True)]
    for_a = tuple(sorted((r for r in rows if r[3] > 0), key=lambda r: -r[3])[:_TOP_PAIR])
    for_b = tuple(sorted((r for r in rows if r[3] < 0), key=lambda r: r[3])[:_TOP_PAIR])
    return PairwiseAttribution(
        user_id=a.user_id, item_a=a.item_id, item_b=b.item_id, gap=a.score - b.score,
        attribution=attr, tasks={t: a.tasks[t].share - b.tasks[t].share for t in a.tasks},
        top_for_a=for_a, top_for_b=for_b, values_b=fb.feature_values, title_a=a.title,
        title_b=b.title)


def explain_pair(project: Project, user_id: object, item_a: str, item_b: str, *,
                 weights: WeightsLike | BlendSpec = None,
                 transform: str | None = None) -> PairwiseAttribution:
    """Explain why ``item_a`` scores above (or below) ``item_b`` for ``user_id``.

    Any two catalogue items may be compared, candidates or not.
    """
    a, b = explain_items(project, user_id, [item_a, item_b], weights=weights,
                         transform=transform)
    return attribute_pair(a, b)
