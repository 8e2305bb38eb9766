"""Feature descriptions: names a person understands, groups for grouped explanations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["FeatureFrame", "FeatureGroup", "FeatureSpec", "GROUPS"]

FeatureGroup = Literal["user", "item", "user×item", "context", "latent"]
GROUPS: tuple[FeatureGroup, ...] = ("user", "item", "user×item", "context", "latent")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input."""

    name: str
    """Column name, e.g. ``user_click_rate``."""
    group: FeatureGroup
    """Which part of the world the feature describes."""
    description: str
    """A short human phrase, e.g. "user's past click rate"."""
    categories: tuple[str, ...] | None = None
    """Levels of a categorical feature (values are stored as their codes); None if numeric."""

    @property
    def is_categorical(self) -> bool:
        """Whether the feature is categorical."""
        return self.categories is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "group": self.group,
            "description": self.description,
            "categories": list(self.categories) if self.categories is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`."""
        cats, group = d.get("categories"), d["group"]
        if group not in GROUPS:
            raise ValueError(f"feature '{d['name']}': unknown group {group!r}; "
                             f"use one of {list(GROUPS)}")
        return cls(
            name=str(d["name"]),
            group=group,
            description=str(d["description"]),
            categories=tuple(str(c) for c in cats) if isinstance(cats, list) else None,
        )

    def decode(self, values: NDArray[np.floating]) -> NDArray[np.object_]:
        """Human-readable values: category labels for categorical features."""
        if self.categories is None:
            return np.asarray(values, dtype=object)
        cats = np.asarray(self.categories, dtype=object)
        out = np.full(values.shape, None, dtype=object)
        ok = np.isfinite(values) & (values >= 0) & (values < len(cats))
        out[ok] = cats[values[ok].astype(np.int64)]
        return out


@dataclass(frozen=True, slots=True)
class FeatureFrame:
    """A float32 feature matrix with its specs (categoricals as codes, NaN = missing)."""

    X: NDArray[np.float32]
    specs: tuple[FeatureSpec, ...]

    def names(self) -> list[str]:
        """Feature names in column order."""
        return [s.name for s in self.specs]

    def categorical_indices(self) -> list[int]:
        """Column indices of categorical features (for LightGBM)."""
        return [i for i, s in enumerate(self.specs) if s.is_categorical]

    def take(self, rows: NDArray[np.integer] | NDArray[np.bool_]) -> FeatureFrame:
        """Restrict the frame to some rows."""
        return FeatureFrame(self.X[rows], self.specs)

    def to_frame(self, *, decode: bool = True) -> pd.DataFrame:
        """Return the frame as a pandas DataFrame, codes decoded to labels if ``decode``."""
        cols = {}
        for j, s in enumerate(self.specs):
            col = self.X[:, j]
            cols[s.name] = s.decode(col) if (decode and s.is_categorical) else col
        return pd.DataFrame(cols)
