"""Strongly associated features of a global-importance sample: they share credit.

When two features carry the same information (an item's brand fixes its category; a
quality score and its user-relative version rank items alike), the trees may split on
either, so SHAP divides the effect between them in a way the data cannot decide: one can
absorb the other's effect. Their importances should be read together.

Measures, all on the sampled rows (0..1, missing values left out):

* two numeric features: ``|Spearman ρ|``;
* two categorical features: Cramér's V, and the *purity* of ``feature → other``, the share
  of rows whose ``other`` level is the most common one within their ``feature`` level (1:
  every level of ``feature`` is nested in one level of ``other``, as brands in categories);
* a categorical and a numeric feature: the correlation ratio η of the numeric one's ranks
  over the levels, adjusted for the number of levels (as an adjusted R²). On ranks, a
  number the level fixes exactly scores about ``sqrt(1 - 1/k²)`` with ``k`` equal levels
  (0.87 for two), still above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from explain._global import GlobalImportance
from recsys.features import FeatureSpec

__all__ = ["FeatureAssociation", "feature_associations"]

Measure = Literal["spearman", "cramers_v", "purity", "eta"]

_MIN_ROWS = 20
"""Fewer rows with both values present: no verdict on the pair."""
_MIN_ROWS_PER_LEVEL = 5
"""Purity counts only when ``feature``'s levels hold this many rows on average (a level
seen once is trivially pure)."""


@dataclass(frozen=True, slots=True)
class FeatureAssociation:
    """Two features strongly associated on the sample: the model may credit either."""

    feature: str
    """For ``purity``, the feature whose levels are nested in ``other``'s."""
    other: str
    measure: Measure
    strength: float
    """|Spearman ρ|, Cramér's V, purity of ``feature → other`` or adjusted η (0..1)."""

    def involves(self, features: set[str] | frozenset[str]) -> bool:
        """Whether either feature is in ``features``."""
        return self.feature in features or self.other in features


def feature_associations(gi: GlobalImportance, *, threshold: float = 0.7,
                         purity: float = 0.9) -> tuple[FeatureAssociation, ...]:
    """Pairs of features at least this strongly associated on ``gi``'s sampled rows.

    Parameters
    ----------
    gi : GlobalImportance
        The sample (its feature values; the attributions are not used).
    threshold : float
        Minimum ``|Spearman ρ|``, Cramér's V or adjusted η.
    purity : float
        Minimum purity of ``feature → other`` for two categorical features.

    Returns
    -------
    tuple of FeatureAssociation
        One per pair (its strongest measure; purity before Cramér's V when both pass),
        strongest first.
    """
    specs = gi.specs
    cat = [j for j, s in enumerate(specs) if s.is_categorical]
    num = [j for j, s in enumerate(specs) if not s.is_categorical]
    X = np.asarray(gi.X, dtype=np.float64)
    found = _numeric_pairs(X, num, specs, threshold)
    for a_i, a in enumerate(cat):
        for b in cat[a_i + 1:]:
            pair = _categorical_pair(X[:, a], X[:, b], specs[a].name, specs[b].name,
                                     threshold, purity)
            found += [pair] if pair is not None else []
        for b in num:
            eta = _eta(X[:, a], X[:, b])
            if eta >= threshold:
                found.append(FeatureAssociation(specs[a].name, specs[b].name, "eta", eta))
    return tuple(sorted(found, key=lambda f: -f.strength))


def _numeric_pairs(X: NDArray[np.float64], cols: list[int],
                   specs: tuple[FeatureSpec, ...], threshold: float) -> list[FeatureAssociation]:
    if len(cols) < 2:
        return []
    ranks = pd.DataFrame(X[:, cols]).rank()
    rho = ranks.corr(min_periods=_MIN_ROWS).to_numpy()
    out = []
    for i, j in zip(*np.triu_indices(len(cols), k=1), strict=True):
        if np.isfinite(rho[i, j]) and abs(rho[i, j]) >= threshold:
            out.append(FeatureAssociation(specs[cols[i]].name, specs[cols[j]].name,
                                          "spearman", float(abs(rho[i, j]))))
    return out


def _codes(a: NDArray[np.float64],
           b: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < _MIN_ROWS:
        return None
    return (np.unique(a[ok], return_inverse=True)[1], np.unique(b[ok], return_inverse=True)[1])


def _categorical_pair(a: NDArray[np.float64], b: NDArray[np.float64], name_a: str, name_b: str,
                      threshold: float, min_purity: float) -> FeatureAssociation | None:
    codes = _codes(a, b)
    if codes is None:
        return None
    ca, cb = codes
    table = np.zeros((ca.max() + 1, cb.max() + 1))
    np.add.at(table, (ca, cb), 1.0)
    n = table.sum()
    best: FeatureAssociation | None = None
    for (src, dst, t) in ((name_a, name_b, table), (name_b, name_a, table.T)):
        levels = t.shape[0]
        if t.shape[1] > 1 and n / levels >= _MIN_ROWS_PER_LEVEL:
            pure = float(t.max(axis=1).sum() / n)
            base = float(t.sum(axis=0).max() / n)  # guessing the commonest level of dst
            if pure >= min_purity and pure > base and (best is None or pure > best.strength):
                best = FeatureAssociation(src, dst, "purity", pure)
    if best is not None:
        return best
    v = _cramers_v(table)
    return FeatureAssociation(name_a, name_b, "cramers_v", v) if v >= threshold else None


def _cramers_v(table: NDArray[np.float64]) -> float:
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    k = min(table.shape) - 1
    if k < 1:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * k)))


def _eta(levels: NDArray[np.float64], values: NDArray[np.float64]) -> float:
    """Return the adjusted correlation ratio of ``values``' ranks over ``levels`` (0: undefined)."""
    codes = _codes(levels, values)
    if codes is None:
        return 0.0
    group = codes[0]
    ok = np.isfinite(levels) & np.isfinite(values)
    y = pd.Series(values[ok]).rank().to_numpy()
    n, k = y.size, int(group.max()) + 1
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0 or n <= k:
        return 0.0
    counts = np.bincount(group, minlength=k)
    means = np.bincount(group, weights=y, minlength=k) / np.maximum(counts, 1)
    within = float(((y - means[group]) ** 2).sum())
    adjusted = 1.0 - (within / total) * (n - 1) / (n - k)
    return float(np.sqrt(max(adjusted, 0.0)))
