"""Shared features: point in time, no leakage, same formulas for training and serving."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _offline(ds):  # noqa: ANN001, ANN202
    cfg = ds.config
    features = cfg.features.model_copy(update={"online": False})
    return replace(ds, config=cfg.model_copy(update={"features": features}))


def test_test_window_labels_never_reach_any_feature_offline(small_config: Path) -> None:
    ds = _offline(load_dataset(small_config))
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
    ds = _offline(load_dataset(small_config))
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


# -- online features: a store updated as events arrive ----------------------------------------
def test_online_test_rows_never_see_their_own_or_later_labels(small_config: Path) -> None:
    ds = load_dataset(small_config)
    assert ds.config.features.online
    base = build_features(ds)
    test = np.flatnonzero((ds.interactions["window"] == "test").to_numpy())
    ts = ds.interactions["timestamp"].to_numpy()
    row = test[len(test) // 2]
    # flip this row's label and every later label: nothing of this row (or earlier) moves
    later_or_same = np.flatnonzero(ts >= ts[row])
    flipped = build_features(_with_labels_changed(ds, later_or_same, "click"))
    before = np.flatnonzero(ts <= ts[row])
    np.testing.assert_array_equal(base.rows.X[before], flipped.rows.X[before])
    # the cutoff store that scores candidates never sees the test window
    np.testing.assert_array_equal(base.store.user_totals, flipped.store.user_totals)
    np.testing.assert_array_equal(base.store.item_totals, flipped.store.item_totals)
    np.testing.assert_array_equal(base.store.ui_totals, flipped.store.ui_totals)


def test_online_test_rows_see_earlier_test_window_events(small_config: Path) -> None:
    ds = load_dataset(small_config)
    online, offline = build_features(ds), build_features(_offline(ds))
    test = (ds.interactions["window"] == "test").to_numpy()
    np.testing.assert_array_equal(online.rows.X[~test], offline.rows.X[~test])
    assert not np.array_equal(online.rows.X[test], offline.rows.X[test])
    on = online.rows.to_frame()["user_exposures"].to_numpy()[test]
    off = offline.rows.to_frame()["user_exposures"].to_numpy()[test]
    assert (on >= off).all() and (on > off).mean() > 0.5


# -- feature names LightGBM accepts ------------------------------------------------------------
def test_feature_names_are_safe_for_lightgbm_and_keep_originals_for_display(
        small_config: Path) -> None:
    import re

    from recsys.features._layout import build_specs, make_layout

    ds = load_dataset(small_config)
    items = ds.items.rename(columns={"price": "price[USD]"}).assign(
        **{'{odd}: "x", y': 1.0, "exposures": 2.0, "a b": 3.0})
    users = ds.users.rename(columns={"segment": "seg:ment"})
    inter = ds.interactions.rename(columns={"device": "device,kind"})
    layout = make_layout(ds.config, users, items, inter, ("device,kind",))
    specs = build_specs(layout)
    names = [s.name for s in specs]
    assert len(set(names)) == len(names)  # item attribute 'exposures' vs the item_exposures rate
    assert all(re.fullmatch(r"[\w.\-]+", n) for n in names), names
    by_name = {s.name: s.description for s in specs}
    assert by_name["item_price_USD_"] == "item's price[USD]"
    assert by_name['item__odd____x___y'] == 'item\'s {odd}: "x", y'
    assert by_name["user_seg_ment"] == "user's seg:ment"
    assert by_name["context_device_kind"] == "device,kind of the visit"
    # fixed names stay (explanations refer to them); the data column gets the suffix
    assert [s.description for s in specs if s.name == "item_exposures"] == ["item's past exposures"]
    assert by_name["item_exposures_2"] == "item's exposures"
    assert "item_a_b" in names
    assert build_specs(layout) == specs  # a saved project rebuilds the same names


def test_items_without_a_category_never_read_another_users_totals() -> None:
    from recsys.features._aggregate import keyed_totals, lookup_keyed
    from recsys.features._build import user_category_key

    ncat = 3
    users = np.array([0, 0, 1, 1, 1], dtype=np.int64)
    cats = np.array([2, -1, -1, 0, 2], dtype=np.int64)
    keys = user_category_key(users, cats, ncat)
    # user 1's missing category used to be key 1*3-1 = 2: user 0's category 2
    assert keys[2] != keys[0] and len(set(keys.tolist())) == 5
    sums = np.arange(10, dtype=np.float64).reshape(5, 2)
    k, totals = keyed_totals(keys, sums)
    got = lookup_keyed(k, totals, user_category_key(np.array([1, 0]), np.array([-1, -1]), ncat))
    np.testing.assert_array_equal(got, [sums[2], sums[1]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.floats(-5, 5, width=16)),
                min_size=1, max_size=40),
       st.booleans())
def test_prior_sums_equal_a_brute_force_sum_of_strictly_earlier_rows(
        rows: list[tuple[int, int, float]], time_sorted: bool) -> None:
    if time_sorted:  # the Dataset's own order takes the stable-sort-by-key path
        rows = sorted(rows, key=lambda r: r[1])
    key = np.array([r[0] for r in rows], dtype=np.int64)
    ts = np.array([r[1] for r in rows], dtype=np.int64)
    val = np.array([[r[2], 1.0] for r in rows])
    want = np.array([[sum(val[j, c] for j in range(len(rows))
                          if key[j] == key[r] and ts[j] < ts[r]) for c in range(2)]
                     for r in range(len(rows))])
    np.testing.assert_allclose(prior_sums(key, ts, val), want, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=300), st.integers(0, 3))
def test_stable_argsort_equals_numpy_stable_sort(keys: list[int], narrow: int) -> None:
    """Ties keep their order (rows are in time order), over any key range."""
    key = np.asarray(keys, dtype=np.int64) // (2**(12 * narrow))  # many ties when narrow
    from recsys.features._aggregate import stable_argsort
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))
