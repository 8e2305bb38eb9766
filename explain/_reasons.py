"""Reasons in words: two or three short sentences per recommendation, by template.

Built from the largest blended attributions and the task shares. Known feature
families (category affinity, "relative to what this user usually picks", prior
exposures, past rates) get their own phrasing; any other feature is described
generically from its ``FeatureSpec.description`` and display value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from explain._display import MINUS, feature_labels, format_contribution, format_value
from explain._types import Attribution, TaskExplanation
from recsys.tasks import TaskSpec

__all__ = ["feature_phrase", "reasons_for", "task_phrase"]

_SECOND = 0.2
"""A third sentence needs at least this fraction of the top contribution."""

Phrase = Callable[[str, object, float, Mapping[str, object]], str | None]


def _pct(v: object) -> str:
    if not isinstance(v, int | float):
        return format_value(v)
    p = 100 * v
    return "0%" if p == 0 else f"{p:.2g}%" if abs(p) < 1 else f"{p:.1f}%"


def _value_text(name: str, v: object) -> str:
    """Rates read as percentages, anything else as its display value."""
    is_rate = name.endswith("_rate") or "_per_" in name
    if is_rate and isinstance(v, int | float) and 0 <= v <= 1:
        return _pct(v)
    return format_value(v)


def _category_of(values: Mapping[str, object]) -> str:
    cat = values.get("item_category")
    return str(cat) if cat not in (None, "") else "this category"


def _affinity(name: str, v: object, c: float, values: Mapping[str, object]) -> str | None:
    if name != "user_category_affinity":
        return None
    cat = _category_of(values)
    if c < 0:
        return f"little past interest of this user in {cat}"
    strong = isinstance(v, int | float) and v >= 0.3
    return f"{'strong match with' if strong else 'matches'} this user's interest in {cat}"


def _category_views(name: str, v: object, c: float, values: Mapping[str, object]) -> str | None:
    if name != "user_category_exposures" or not isinstance(v, int | float):
        return None
    cat = _category_of(values)
    if v <= 0:
        return f"this user has never browsed {cat}"
    if v < 10:
        only = "only " if c < 0 else ""
        return f"this user has browsed {cat} {only}{format_value(v)} time{'s' if v != 1 else ''}"
    return f"this user often browses {cat}, {format_value(v)} past views"


def _prior_views(name: str, v: object, c: float, values: Mapping[str, object]) -> str | None:
    if name != "user_item_prior_exposures":
        return None
    if not isinstance(v, int | float) or v <= 0:
        return "new to this user (never shown before)"
    return f"already shown to this user {format_value(v)} time{'s' if v != 1 else ''}"


def _relative(name: str, v: object, c: float, values: Mapping[str, object]) -> str | None:
    if not (name.startswith("item_") and name.endswith("_vs_user")):
        return None
    attr = name[len("item_"):-len("_vs_user")].replace("_", " ")
    own = values.get(name[: -len("_vs_user")])
    head = f"{attr} {format_value(own)}" if own is not None else attr
    if not isinstance(v, int | float):
        return f"no {attr} history for this user to compare with"
    if v == 0:
        return f"{head} is in line with what this user usually picks"
    side = "above" if v > 0 else "below"
    return f"{head} is {format_value(abs(v))} {side} what this user usually picks"


_PHRASES: tuple[Phrase, ...] = (_affinity, _category_views, _prior_views, _relative)


_VERBS = {"lead": "lifts the score", "also": "also lifts it", "against": "holds it back"}
_CLAUSES = {"lead": "which lifts the score", "also": "which also lifts it",
            "against": "which holds it back"}


def feature_phrase(name: str, description: str, value: object, contribution: float,
                   values: Mapping[str, object], role: str | None = None) -> str:
    """Describe one feature's part in a score in a short clause (no trailing contribution).

    ``values`` maps every feature name to its display value (for context such as the
    item's category). Known feature families have their own wording; any other
    feature reads "<description> of <value> lifts the score" (or "holds it back";
    ``role`` "also" gives "also lifts it"); a categorical one "<description> is
    <label>, which lifts the score".
    """
    for phrase in _PHRASES:
        text = phrase(name, value, contribution, values)
        if text is not None:
            return text
    if role is None:
        role = "lead" if contribution >= 0 else "against"
    shown = _value_text(name, value)
    if isinstance(value, str):  # a category: "item's brand is Nexora, which lifts the score"
        return f"{description} is {shown}, {_CLAUSES.get(role, _CLAUSES['lead'])}"
    return f"{description} of {shown} {_VERBS.get(role, _VERBS['lead'])}"


def _level(z: float, *, minimise: bool) -> str:
    if minimise:
        z = -z
    if z >= 1.0:
        return "very low" if minimise else "very high"
    if z >= 0.25:
        return "low" if minimise else "high"
    if z > -0.25:
        return "typical"
    return "high" if minimise else "low"


def task_phrase(spec: TaskSpec, ex: TaskExplanation, z: float) -> str:
    """E.g. "high predicted purchase probability (1.2%; task share 61%)".

    ``z`` is the task score in standard deviations from its training mean.
    """
    level = _level(z, minimise=spec.direction == "minimize")
    share = f"task share {ex.share_fraction * 100:.0f}%".replace("-", MINUS)
    if spec.kind == "binary":
        what, shown = f"{spec.name} probability", _pct(ex.prediction)
    elif spec.kind == "regression":
        what, shown = spec.name, format_value(float(f"{ex.prediction:.4g}"))
    else:
        what, shown = f"{spec.name} ranking score", format_value(float(f"{ex.prediction:.3g}"))
    return f"{level} predicted {what} ({shown}; {share})"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _driver(attr: Attribution, j: int, values: Mapping[str, object], labels: Mapping[str, str],
            role: str) -> str:
    c = float(attr.values[j])
    name = attr.feature_names[j]
    body = feature_phrase(name, labels[name], attr.feature_values[j], c, values, role)
    return _sentence(f"{body} ({format_contribution(c)})")


def reasons_for(attr: Attribution, tasks: Mapping[str, TaskExplanation],
                specs: Sequence[TaskSpec], z: Mapping[str, float] | None = None
                ) -> tuple[str, ...]:
    """Explain a score in up to three sentences.

    The sentences name the top positive feature, the task with the largest share, and
    the strongest counter-force (or the second driver) if it matters.

    ``z`` gives each task's score in standard deviations from its training mean (for
    "high"/"low"); without it the task's transformed score is used.
    """
    values = dict(zip(attr.feature_names, attr.feature_values, strict=True))
    labels = feature_labels(attr.feature_names, attr.descriptions)
    v = np.asarray(attr.values)
    out: list[str] = []
    pos = int(np.argmax(v)) if v.size else -1
    top = float(v[pos]) if pos >= 0 else 0.0
    if top > 0:
        out.append(_driver(attr, pos, values, labels, "lead"))
    by_name = {s.name: s for s in specs}
    if tasks:
        best = max(tasks, key=lambda t: tasks[t].share_fraction)
        zz = (z or {}).get(best, tasks[best].transformed)
        out.append(_sentence(task_phrase(by_name[best], tasks[best], zz)))
    if v.size:
        neg = int(np.argmin(v))
        runner = int(np.argsort(-v, kind="stable")[1]) if v.size > 1 else -1
        if v[neg] < 0 and -v[neg] >= _SECOND * max(top, 1e-12):
            out.append(_driver(attr, neg, values, labels, "against"))
        elif runner >= 0 and v[runner] > 0 and v[runner] >= _SECOND * top:
            out.append(_driver(attr, runner, values, labels, "also"))
    return tuple(out)
