"""Shared features: point in time, no leakage, same formulas for training and serving."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import load_dataset
from recsys.features import build_features
from recsys.features._aggregate import keyed_totals, lookup_keyed, prior_sums


def test_prior_sums_counts_only_strictly_earlier_rows() -> None:
    key = np.array([0, 0, 1, 0, 0, 1], dtype=np.int64)
    ts = np.array([1, 2, 2, 2, 5, 7], dtype=np.int64)
    val = np.array([[1.0], [10.0], [100.0], [1000.0], [5.0], [7.0]])
    out = prior_sums(key, ts, val)[:, 0]
    # rows 1 and 3 share key 0 and time 2: neither sees the other
    assert out.tolist() == [0.0, 1.0, 0.0, 1.0, 1011.0, 100.0]


def test_keyed_totals_and_lookup_round_trip() -> None:
    keys, sums = keyed_totals(np.array([5, 2, 5, 9], dtype=np.int64),
                              np.array([[1.0], [2.0], [3.0], [4.0]]))
    assert keys.tolist() == [2, 5, 9]
    assert sums[:, 0].tolist() == [2.0, 4.0, 4.0]
    got = lookup_keyed(keys, sums, np.array([9, 3, 5], dtype=np.int64))[:, 0]
    assert got.tolist() == [4.0, 0.0, 4.0]


def _with_labels_changed(ds, rows: np.ndarray, label: str):  # noqa: ANN001, ANN202
    inter = ds.interactions.copy()
    col = inter[label].to_numpy(copy=True)
    col[rows] = 1.0 - col[rows]
    inter[label] = col
    return replace(ds, interactions=inter)


def test_test_window_labels_never_reach_any_feature(small_config: Path) -> None:
    ds = load_dataset(small_config)
    base = build_features(ds)
    test_rows = np.flatnonzero((ds.interactions["window"] == "test").to_numpy())
    flipped = build_features(_with_labels_changed(ds, test_rows, "click"))
    np.testing.assert_array_equal(base.rows.X, flipped.rows.X)
    np.testing.assert_array_equal(base.store.user_totals, flipped.store.user_totals)
    np.testing.assert_array_equal(base.store.item_totals, flipped.store.item_totals)


def test_a_rows_own_label_does_not_feed_its_features(small_config: Path) -> None:
    ds = load_dataset(small_config)
    base = build_features(ds)
    labelled = (ds.interactions["window"] == "train") & (ds.interactions["timestamp"]
                                                          >= base.history_end)
    train = np.flatnonzero(labelled.to_numpy())
    row = train[len(train) // 2]
    flipped = build_features(_with_labels_changed(ds, np.array([row]), "click"))
    np.testing.assert_array_equal(base.rows.X[row], flipped.rows.X[row])
    # ... but later rows of the same user do see it
    user = ds.interactions["user_id"].to_numpy()
    later = np.flatnonzero(user == user[row])
    later = later[later > row]
    assert not np.array_equal(base.rows.X[later], flipped.rows.X[later])


def test_serving_features_equal_point_in_time_features_of_test_rows(small_config: Path) -> None:
    ds = load_dataset(small_config)
    built = build_features(ds)
    store = built.store
    test_rows = np.flatnonzero((ds.interactions["window"] == "test").to_numpy())[:500]
    inter = ds.interactions.iloc[test_rows]
    served = store.features_for(store.user_codes(inter["user_id"].to_numpy()),
                                store.item_codes(inter["item_id"].to_numpy()))
    names = served.names()
    keep = [j for j, s in enumerate(served.specs) if s.group != "context"]
    np.testing.assert_allclose(served.X[:, keep], built.rows.X[test_rows][:, keep],
                               rtol=1e-6, equal_nan=True)
    assert "context_device" in names


def test_features_have_names_groups_and_descriptions(small_config: Path) -> None:
    built = build_features(load_dataset(small_config))
    specs = {s.name: s for s in built.rows.specs}
    assert specs["user_click_rate"].group == "user"
    assert specs["item_price"].group == "item"
    assert specs["user_category_affinity"].group == "user×item"
    assert specs["context_device"].group == "context"
    assert specs["latent_affinity"].group == "latent"
    assert specs["user_purchase_per_click"].description == "user's past purchase rate per click"
    assert specs["item_category"].categories is not None
    assert len(specs) == built.rows.X.shape[1]


def test_category_affinity_tracks_the_users_clicks(small_config: Path) -> None:
    ds = load_dataset(small_config)
    built = build_features(ds)
    frame = built.rows.to_frame()
    test = (ds.interactions["window"] == "test").to_numpy()
    clicked = ds.interactions["click"].to_numpy() > 0
    aff = frame["user_category_affinity"].to_numpy()
    # on test rows, items in categories the user clicked more get clicked more
    hi = aff[test] > np.nanmedian(aff[test])
    assert clicked[test][hi].mean() > clicked[test][~hi].mean()


def test_features_are_deterministic(small_config: Path) -> None:
    ds = load_dataset(small_config)
    a, b = build_features(ds), build_features(ds)
    np.testing.assert_array_equal(a.rows.X, b.rows.X)
    pd.testing.assert_index_equal(a.store.user_ids, b.store.user_ids)


@pytest.mark.parametrize("latent", ["latent_affinity", "latent_score"])
def test_latent_features_exist_for_users_with_history(small_config: Path, latent: str) -> None:
    built = build_features(load_dataset(small_config))
    col = built.rows.to_frame()[latent].to_numpy()
    assert np.isfinite(col).mean() > 0.9
