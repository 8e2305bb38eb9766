"""What the features of a dataset are made of, and how they are assembled from prior sums."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from recsys.config import ProjectConfig
from recsys.features._specs import FeatureGroup, FeatureSpec

__all__ = [
    "GlobalStats",
    "Layout",
    "Prior",
    "assemble",
    "build_specs",
    "categories_of",
    "encode",
    "make_layout",
]


@dataclass(frozen=True, slots=True)
class Layout:
    """The dataset-specific shape of the feature set."""

    labels: tuple[str, ...]
    """Distinct task label columns, in task order."""
    label_kinds: tuple[str, ...]
    conditional: tuple[tuple[int, int], ...]
    """(child label index, parent label index) for each conditional task."""
    primary: int
    """Index of the label whose positives define interest (-1: every exposure)."""
    user_attrs: tuple[tuple[str, tuple[str, ...] | None], ...]
    item_attrs: tuple[tuple[str, tuple[str, ...] | None], ...]
    numeric_item_attrs: tuple[str, ...]
    category: str | None
    category_levels: tuple[str, ...]
    context: tuple[tuple[str, tuple[str, ...] | None], ...]
    latent_dim: int
    smoothing: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "labels": list(self.labels),
            "label_kinds": list(self.label_kinds),
            "conditional": [list(c) for c in self.conditional],
            "primary": self.primary,
            "user_attrs": [[n, list(c) if c is not None else None] for n, c in self.user_attrs],
            "item_attrs": [[n, list(c) if c is not None else None] for n, c in self.item_attrs],
            "numeric_item_attrs": list(self.numeric_item_attrs),
            "category": self.category,
            "category_levels": list(self.category_levels),
            "context": [[n, list(c) if c is not None else None] for n, c in self.context],
            "latent_dim": self.latent_dim,
            "smoothing": self.smoothing,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Layout:
        """Inverse of :meth:`to_dict`."""

        def attrs(x: list[Any]) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
            return tuple((str(n), tuple(c) if c is not None else None) for n, c in x)

        return cls(
            labels=tuple(d["labels"]),
            label_kinds=tuple(d["label_kinds"]),
            conditional=tuple((int(a), int(b)) for a, b in d["conditional"]),
            primary=int(d["primary"]),
            user_attrs=attrs(d["user_attrs"]),
            item_attrs=attrs(d["item_attrs"]),
            numeric_item_attrs=tuple(d["numeric_item_attrs"]),
            category=d["category"],
            category_levels=tuple(d["category_levels"]),
            context=attrs(d["context"]),
            latent_dim=int(d["latent_dim"]),
            smoothing=float(d["smoothing"]),
        )

    @property
    def n_user_sums(self) -> int:
        """Width of the per-user sums: exposures, positives, labels, positive-weighted attrs."""
        return 2 + len(self.labels) + len(self.numeric_item_attrs)


@dataclass(frozen=True, slots=True)
class GlobalStats:
    """Population rates that sparse per-key rates are shrunk toward."""

    label_mean: NDArray[np.float64]
    conditional_rate: NDArray[np.float64]
    category_share: NDArray[np.float64]

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready form."""
        return {
            "label_mean": self.label_mean.tolist(),
            "conditional_rate": self.conditional_rate.tolist(),
            "category_share": self.category_share.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> GlobalStats:
        """Inverse of :meth:`to_dict`."""
        return cls(*(np.asarray(d[k], dtype=np.float64) for k in
                     ("label_mean", "conditional_rate", "category_share")))


@dataclass(frozen=True, slots=True)
class Prior:
    """What was known about each row's user, item and pair before the row's time."""

    user: NDArray[np.float64]
    """(n, Layout.n_user_sums): exposures, positives, label sums, positive-weighted attrs."""
    item: NDArray[np.float64]
    """(n, 1 + n_labels): exposures, label sums."""
    user_category: NDArray[np.float64]
    """(n, 2): the user's exposures and positives in the row item's category."""
    user_item: NDArray[np.float64]
    """(n, 2): the user's earlier exposures to, and positives on, this very item."""
    user_static: NDArray[np.float32]
    item_static: NDArray[np.float32]
    item_numeric: NDArray[np.float64]
    item_category: NDArray[np.int64]
    context: NDArray[np.float32]
    latent_user: NDArray[np.float32]
    latent_item: NDArray[np.float32]


def categories_of(col: pd.Series) -> tuple[str, ...] | None:
    """Sorted string levels if the column is categorical-like, else None."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return tuple(sorted(str(c) for c in col.cat.categories))
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return None
    return tuple(sorted({str(v) for v in col.dropna().unique()}))


def encode(col: pd.Series, levels: tuple[str, ...] | None) -> NDArray[np.float32]:
    """Numeric values, or codes into ``levels`` (NaN for unknown or missing)."""
    if levels is None:
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
    codes = pd.Categorical(col.astype(str), categories=list(levels)).codes
    out = codes.astype(np.float32)
    out[codes < 0] = np.nan
    out[col.isna().to_numpy()] = np.nan
    return out


def _rate(num: NDArray, den: NDArray, prior: float | NDArray, s: float) -> NDArray[np.float64]:
    return (num + s * prior) / (den + s)


def assemble(layout: Layout, stats: GlobalStats, p: Prior) -> NDArray[np.float32]:
    """Build the feature matrix from what was known before each row (same for every window)."""
    s = layout.smoothing
    n_lab = len(layout.labels)
    cols: list[NDArray] = [p.user_static]
    u_cnt, u_pos = p.user[:, 0], p.user[:, 1]
    u_lab = p.user[:, 2 : 2 + n_lab]
    i_cnt, i_lab = p.item[:, 0], p.item[:, 1:]
    cond = dict(layout.conditional)

    def label_rates(cnt: NDArray, lab: NDArray) -> list[NDArray]:
        out = [cnt]
        for j in range(n_lab):
            if j in cond:
                par = cond[j]
                k = [c for c, _ in layout.conditional].index(j)
                out.append(_rate(lab[:, j], lab[:, par], stats.conditional_rate[k], s))
            else:
                out.append(_rate(lab[:, j], cnt, stats.label_mean[j], s))
        return out

    cols += label_rates(u_cnt, u_lab)
    cols.append(p.item_static)
    cols += label_rates(i_cnt, i_lab)
    if layout.category is not None:
        cat = p.item_category
        share = np.where(cat >= 0, stats.category_share[np.maximum(cat, 0)], np.nan)
        cols.append(_rate(p.user_category[:, 1], u_pos, share, 1.0))
        cols.append(p.user_category[:, 0])
    cols.append(p.user_item[:, 0])
    if layout.numeric_item_attrs:
        attr_sums = p.user[:, 2 + n_lab :]
        with np.errstate(invalid="ignore", divide="ignore"):
            typical = attr_sums / u_pos[:, None]
        typical[u_pos == 0] = np.nan
        cols.append(p.item_numeric - typical)
    cols.append(p.context)
    lu, li = p.latent_user.astype(np.float64), p.latent_item.astype(np.float64)
    dot = np.einsum("ij,ij->i", lu, li)
    norm = np.linalg.norm(lu, axis=1) * np.linalg.norm(li, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norm > 0, dot / norm, np.nan)
    cols += [cos, np.where(norm > 0, dot, np.nan)]
    parts = [c if c.ndim == 2 else c[:, None] for c in cols]
    return np.hstack(parts).astype(np.float32)


def build_specs(layout: Layout) -> tuple[FeatureSpec, ...]:
    """Feature specs in the column order :func:`assemble` produces.

    Names derived from data columns (attributes, labels, context) are made safe for
    LightGBM by :func:`_safe_names`; descriptions keep the original column names.
    """
    specs: list[tuple[FeatureSpec, bool]] = []  # (spec, named after a data column)
    for name, cats in layout.user_attrs:
        specs.append((FeatureSpec(_prefixed("user", name), "user", f"user's {name}", cats), True))
    specs += _rate_specs("user", "user", layout)
    for name, cats in layout.item_attrs:
        specs.append((FeatureSpec(_prefixed("item", name), "item", f"item's {name}", cats), True))
    specs += _rate_specs("item", "item", layout)
    if layout.category is not None:
        specs.append((FeatureSpec("user_category_affinity", "user×item",
                                  f"user's interest in the item's {layout.category}"), False))
        specs.append((FeatureSpec("user_category_exposures", "user×item",
                                  f"times the user saw items of this {layout.category}"), False))
    specs.append((FeatureSpec("user_item_prior_exposures", "user×item",
                              "times the user saw this item before"), False))
    for name in layout.numeric_item_attrs:
        specs.append((FeatureSpec(f"{_prefixed('item', name)}_vs_user", "user×item",
                                  f"{name} relative to what this user usually picks"), True))
    for name, cats in layout.context:
        specs.append((FeatureSpec(f"context_{name}", "context", f"{name} of the visit", cats),
                      True))
    specs.append((FeatureSpec("latent_affinity", "latent",
                              "taste match from the shared latent factors (cosine)"), False))
    specs.append((FeatureSpec("latent_score", "latent",
                              "strength of the latent user-item match"), False))
    return _safe_names(specs)


_UNSAFE = re.compile(r"[^\w.\-]")
"""Characters replaced in feature names: LightGBM rejects JSON punctuation (``"``, ``,``,
``:``, ``[``, ``]``, ``{``, ``}``), turns spaces into ``_`` and breaks on line breaks."""


def _safe_names(specs: list[tuple[FeatureSpec, bool]]) -> tuple[FeatureSpec, ...]:
    """Specs whose names LightGBM accepts and keeps as they are.

    Fixed names (``user_exposures``, ``latent_score``...) stay as they are, since
    explanations may refer to them. In a name derived from data columns, unsafe
    characters become ``_``, and a name already taken gets a ``_2``, ``_3``... suffix.
    The result depends only on the layout, so a saved project rebuilds the same names.
    """
    taken = {spec.name for spec, from_data in specs if not from_data}
    out: list[FeatureSpec] = []
    for spec, from_data in specs:
        if not from_data:
            out.append(spec)
            continue
        name = _UNSAFE.sub("_", spec.name) or "_"
        base, k = name, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        out.append(spec if name == spec.name else replace(spec, name=name))
    return tuple(out)


def _prefixed(prefix: str, name: str) -> str:
    return name if name.startswith(prefix + "_") else f"{prefix}_{name}"


def _rate_specs(prefix: str, group: FeatureGroup, layout: Layout) -> list[tuple[FeatureSpec, bool]]:
    who = "user" if prefix == "user" else "item"
    out = [(FeatureSpec(f"{prefix}_exposures", group, f"{who}'s past exposures"), False)]
    cond = dict(layout.conditional)
    for j, (lab, kind) in enumerate(zip(layout.labels, layout.label_kinds, strict=True)):
        if j in cond:
            par = layout.labels[cond[j]]
            name, desc = f"{prefix}_{lab}_per_{par}", f"{who}'s past {lab} rate per {par}"
        elif kind == "binary":
            name, desc = f"{prefix}_{lab}_rate", f"{who}'s past {lab} rate"
        else:
            name, desc = f"{prefix}_avg_{lab}", f"{who}'s past average {lab}"
        out.append((FeatureSpec(name, group, desc), True))
    return out


def make_layout(cfg: ProjectConfig, users: pd.DataFrame, items: pd.DataFrame,
                interactions: pd.DataFrame, context: tuple[str, ...]) -> Layout:
    """Lay out a dataset's features: labels, conditional tasks, attributes and context."""
    labels: list[str] = []
    kinds: list[str] = []
    for t in cfg.tasks:
        if t.label not in labels:
            labels.append(t.label)
            kinds.append(t.kind)
    by_name = {t.name: t for t in cfg.tasks}
    conditional = tuple(
        (labels.index(t.label), labels.index(by_name[t.given].label))
        for t in cfg.tasks if t.given is not None
    )
    primary = next((labels.index(t.label) for t in cfg.tasks
                    if t.kind == "binary" and t.given is None and t.direction == "maximize"), -1)
    title, category = cfg.data.item_title, cfg.data.item_category
    user_attrs = tuple((c, categories_of(users[c])) for c in users.columns if c != "user_id")
    item_attrs = tuple((c, categories_of(items[c])) for c in items.columns
                       if c not in ("item_id", title))
    numeric = tuple(c for c, cats in item_attrs if cats is None)
    levels = categories_of(items[category]) if category is not None else None
    return Layout(
        labels=tuple(labels),
        label_kinds=tuple(kinds),
        conditional=conditional,
        primary=primary,
        user_attrs=user_attrs,
        item_attrs=item_attrs,
        numeric_item_attrs=numeric,
        category=category,
        category_levels=levels or (),
        context=tuple((c, categories_of(interactions[c])) for c in context),
        latent_dim=cfg.features.latent_dim,
        smoothing=cfg.features.smoothing,
    )
