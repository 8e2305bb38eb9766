"""Shared features: user, item, user×item, context and latent, computed without leakage."""

from recsys.features._build import BuiltFeatures, FeatureStore, build_features
from recsys.features._layout import GlobalStats, Layout, Prior
from recsys.features._specs import GROUPS, FeatureFrame, FeatureGroup, FeatureSpec
from recsys.features._whatif import (
    Edit,
    EditableAttribute,
    PairEdit,
    edit_pair,
    editable_attributes,
)

__all__ = [
    "GROUPS",
    "BuiltFeatures",
    "Edit",
    "EditableAttribute",
    "FeatureFrame",
    "FeatureGroup",
    "FeatureSpec",
    "FeatureStore",
    "GlobalStats",
    "Layout",
    "PairEdit",
    "Prior",
    "build_features",
    "edit_pair",
    "editable_attributes",
]
