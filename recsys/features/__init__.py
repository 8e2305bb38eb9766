"""Shared features: user, item, user×item, context and latent, computed without leakage."""

from recsys.features._build import BuiltFeatures, FeatureStore, build_features
from recsys.features._layout import GlobalStats, Layout
from recsys.features._specs import GROUPS, FeatureFrame, FeatureGroup, FeatureSpec

__all__ = [
    "GROUPS",
    "BuiltFeatures",
    "FeatureFrame",
    "FeatureGroup",
    "FeatureSpec",
    "FeatureStore",
    "GlobalStats",
    "Layout",
    "build_features",
]
