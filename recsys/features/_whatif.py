"""What-if edits of one (user, item) pair: change its source attributes, rebuild its features.

A pair's features are assembled (:meth:`FeatureStore.assemble`) from a :class:`Prior`:
the user's and the item's attributes, the user's usual visit context and the sums of
what happened before the cutoff. An edit changes attributes in that Prior and assembles
again, so every derived feature follows with the formulas of training: an item's price
also moves ``item_price_vs_user``; its category also moves the user's category affinity
and exposures (the user's history is never rewritten). One engineered feature may also
be set directly, by its feature name; nothing else follows it then (see
:attr:`PairEdit.notes`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from recsys.errors import SchemaError
from recsys.features._build import FeatureStore
from recsys.features._layout import Layout, Prior

__all__ = ["EditableAttribute", "Edit", "Owner", "PairEdit", "edit_pair", "editable_attributes"]

Owner = Literal["user", "item", "context"]
Value = str | float | None
"""A decoded value: a category level, a number, or None for missing."""
_OWNERS: tuple[Owner, ...] = ("user", "item", "context")


@dataclass(frozen=True, slots=True)
class EditableAttribute:
    """One source attribute of a pair, as a what-if form shows it."""

    name: str
    """Column name in the users or items table, or context column of the interactions."""
    owner: Owner
    """``user``, ``item`` or ``context`` (the user's usual visit context)."""
    key: str
    """What an edit calls it: ``name``, or ``owner.name`` where two owners share ``name``."""
    levels: tuple[str, ...] | None
    """Category levels; None for a numeric attribute."""
    value: Value
    """Current value (None: missing)."""
    feature: str
    """The model input that carries it as it is (other features derive from it too)."""

    @property
    def is_categorical(self) -> bool:
        """Whether the attribute takes one of :attr:`levels`."""
        return self.levels is not None


@dataclass(frozen=True, slots=True)
class Edit:
    """One validated change of a pair: an attribute, or one feature set directly."""

    key: str
    """The attribute's :attr:`EditableAttribute.key`, or the feature name."""
    owner: Owner | Literal["feature"]
    before: Value
    after: Value
    feature: str
    """The feature that carries the value."""
    moved: tuple[str, ...] = ()
    """Other features that change with it (empty for a feature set directly)."""


@dataclass(frozen=True, slots=True)
class PairEdit:
    """A pair's feature row before and after some edits (:func:`edit_pair`)."""

    attributes: tuple[EditableAttribute, ...]
    """Every editable attribute of the pair, at its current value."""
    edits: tuple[Edit, ...]
    """The edits, in the order given."""
    before: NDArray[np.float32]
    """(1, n_features) the pair's features as the store serves them."""
    after: NDArray[np.float32]
    """(1, n_features) the features with the edits applied."""
    notes: tuple[str, ...]
    """Caveats, e.g. that a feature set directly no longer agrees with the others."""


def _decode(code: float, levels: tuple[str, ...] | None) -> Value:
    """Decode a stored float32 code as a value: the level, the shortest float, or None."""
    if not math.isfinite(code):
        return None
    if levels is not None:
        return levels[int(code)] if 0 <= code < len(levels) else None
    return float(str(np.float32(code)))  # 30.99, not 30.989999771118164


def _columns(layout: Layout, n_features: int) -> dict[Owner, tuple[int, ...]]:
    """Feature column of each attribute, in the order :func:`assemble` writes them.

    User attributes come first, item attributes after the user's exposures and label
    rates, context just before the two latent columns.
    """
    nu, ni, nc = len(layout.user_attrs), len(layout.item_attrs), len(layout.context)
    item0 = nu + 1 + len(layout.labels)
    return {"user": tuple(range(nu)), "item": tuple(range(item0, item0 + ni)),
            "context": tuple(range(n_features - 2 - nc, n_features - 2))}


def _attrs_of(layout: Layout, owner: Owner) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    return {"user": layout.user_attrs, "item": layout.item_attrs, "context": layout.context}[owner]


def editable_attributes(store: FeatureStore, user: int, item: int) -> tuple[EditableAttribute, ...]:
    """Return the source attributes of (user code, item code) with their current values."""
    prior = store.prior_for(np.array([user]), np.array([item]))
    return _attributes(store, prior, [s.name for s in store.specs])


def _attributes(store: FeatureStore, prior: Prior,
                names: list[str]) -> tuple[EditableAttribute, ...]:
    layout = store.layout
    rows: dict[Owner, NDArray[np.float32]] = {
        "user": prior.user_static[0], "item": prior.item_static[0], "context": prior.context[0]}
    cols = _columns(layout, len(names))
    seen: dict[str, int] = {}
    for owner in _OWNERS:
        for name, _ in _attrs_of(layout, owner):
            seen[name] = seen.get(name, 0) + 1
    out = []
    for owner in _OWNERS:
        for k, (name, levels) in enumerate(_attrs_of(layout, owner)):
            out.append(EditableAttribute(
                name=name, owner=owner, key=name if seen[name] == 1 else f"{owner}.{name}",
                levels=levels, value=_decode(float(rows[owner][k]), levels),
                feature=names[cols[owner][k]]))
    return tuple(out)


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if not close:  # 'Premium' for 'premium'
        close = [o for o in options if o.lower() == word.lower()][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _parse(key: str, value: object, levels: tuple[str, ...] | None) -> tuple[float, str | None]:
    """(float32 code, problem) of a new value: a level, a number (or number text) or None."""
    if value is None:
        return math.nan, None
    if levels is not None:
        text = value if isinstance(value, str) else \
            str(value) if isinstance(value, int) and not isinstance(value, bool) else None
        if text in levels:
            return float(levels.index(text)), None
        hint = _did_you_mean(text, levels) if text is not None else ""
        return math.nan, f"{key}: unknown level {value!r}{hint}; levels are {', '.join(levels)}"
    number: float | None = None
    if isinstance(value, Real) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        return math.nan, f"{key} is numeric: expected a number, got {value!r}"
    code = float(np.float32(number)) if abs(number) < 3.4e38 else math.inf
    if not math.isfinite(code):
        return math.nan, f"{key}: expected a finite number, got {value!r}"
    return code, None


def _resolve(features: list[str], attrs: tuple[EditableAttribute, ...],
             name: str) -> EditableAttribute | int | str:
    """Find the attribute or feature column ``name`` means, or the problem with it."""
    by_key = {f"{a.owner}.{a.name}": a for a in attrs} | {a.key: a for a in attrs}
    if name in by_key:
        return by_key[name]
    owners = [a.owner for a in attrs if a.name == name]
    if len(owners) > 1:
        kinds = " and ".join(("an " if o == "item" else "a ") + o for o in owners)
        return f"'{name}' is both {kinds} attribute: write {' or '.join(f'{o}.{name}' for o in owners)}"
    if name in features:
        return features.index(name)
    keys = [a.key for a in attrs]
    return (f"unknown attribute or feature '{name}'{_did_you_mean(name, keys + features)}; "
            f"attributes are {', '.join(keys) or '(none)'}; features are {', '.join(features)}")


def _apply(store: FeatureStore, prior: Prior, user: int,
           changes: Sequence[tuple[EditableAttribute, float]]) -> Prior:
    """``prior`` (one row) with attribute codes replaced, and what follows from them."""
    layout = store.layout
    rows = {"user": prior.user_static.copy(), "item": prior.item_static.copy(),
            "context": prior.context.copy()}
    numeric, cat = prior.item_numeric.copy(), prior.item_category.copy()
    for a, code in changes:
        k = [n for n, _ in _attrs_of(layout, a.owner)].index(a.name)
        rows[a.owner][0, k] = code
        if a.owner == "item" and a.name in layout.numeric_item_attrs:  # as build_features
            numeric[0, layout.numeric_item_attrs.index(a.name)] = np.float32(code)
        if a.owner == "item" and a.name == layout.category:
            level = _decode(code, a.levels)
            cat[0] = layout.category_levels.index(str(level)) \
                if level in layout.category_levels else -1
    user_category = prior.user_category if np.array_equal(cat, prior.item_category) else \
        store.category_totals(np.array([user], dtype=np.int64), cat)
    return replace(prior, user_static=rows["user"], item_static=rows["item"],
                   context=rows["context"], item_numeric=numeric, item_category=cat,
                   user_category=user_category)


def _moved(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.bool_]:
    """Columns whose values differ (NaN equals NaN)."""
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


def edit_pair(store: FeatureStore, user: int, item: int,
              changes: Mapping[str, object]) -> PairEdit:
    """Validate ``changes`` of (user code, item code) and rebuild its features.

    Parameters
    ----------
    store : FeatureStore
        The cutoff feature store.
    user, item : int
        The pair's codes.
    changes : mapping
        ``{name: value}``. A name is an attribute (bare, or ``user.NAME`` / ``item.NAME``
        / ``context.NAME``; required where owners share a name) or a feature name. A value
        is a category level, a number (numeric text is read as a number) or None (missing).

    Returns
    -------
    PairEdit
        The features before and after.

    Raises
    ------
    SchemaError
        One line per problem: unknown or ambiguous name, text for a numeric value, an
        unknown level, a non-finite number, the same target twice; each names the
        allowed values.
    """
    u, i = np.array([user], dtype=np.int64), np.array([item], dtype=np.int64)
    prior = store.prior_for(u, i)
    specs = store.specs
    names = [s.name for s in specs]
    attrs = _attributes(store, prior, names)
    problems: list[str] = []
    targets: dict[int, str] = {}
    parsed: list[tuple[str, EditableAttribute | int, float]] = []
    for name, value in changes.items():
        found = _resolve(names, attrs, str(name))
        if isinstance(found, str):
            problems.append(found)
            continue
        target = found if isinstance(found, int) else names.index(found.feature)
        if target in targets:  # twice, or an attribute and the feature carrying it
            problems.append(f"{name}: sets '{names[target]}' again (so does "
                            f"{targets[target]}); set it once")
            continue
        targets[target] = str(name)
        levels = specs[found].categories if isinstance(found, int) else found.levels
        code, problem = _parse(str(name), value, levels)
        if problem:
            problems.append(problem)
        else:
            parsed.append((str(name), found, code))
    if problems:
        raise SchemaError(problems)
    before = store.assemble(prior)
    on_attrs = [(f, code) for _, f, code in parsed if isinstance(f, EditableAttribute)]
    after = store.assemble(_apply(store, prior, user, on_attrs)) if on_attrs else before.copy()
    edits, notes = [], []
    for key, found, code in parsed:
        if isinstance(found, EditableAttribute):
            alone = store.assemble(_apply(store, prior, user, [(found, code)]))
            moved = tuple(n for n, m in zip(names, _moved(alone[0], before[0]), strict=True)
                          if m and n != found.feature)
            edits.append(Edit(found.key, found.owner, found.value, _decode(code, found.levels),
                              found.feature, moved))
            continue
        levels = specs[found].categories
        after[0, found] = code
        edits.append(Edit(key, "feature", _decode(float(before[0, found]), levels),
                          _decode(code, levels), key))
        notes.append(f"feature '{key}' was set alone: the other features were not recomputed "
                     "to match, so the row breaks consistency with them (no real pair may "
                     "have it)")
    return PairEdit(attributes=attrs, edits=tuple(edits), before=before, after=after,
                    notes=tuple(notes))
