"""Tests of the demo e-commerce dataset generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.config import load_config
from recsys.demo import DemoData, generate_demo, write_demo
from recsys.errors import SchemaError

SMALL = {"n_users": 300, "n_items": 80, "n_exposures": 20_000}
MEDIUM = {"n_users": 1_500, "n_items": 250, "n_exposures": 100_000}
CATEGORIES = {
    "Electronics", "Fashion", "Home", "Outdoor", "Beauty",
    "Books", "Toys", "Sports", "Grocery", "Garden",
}


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(**SMALL, seed=7)


@pytest.fixture(scope="module")
def medium() -> pd.DataFrame:
    """Medium-size interactions joined with item attributes."""
    data = generate_demo(**MEDIUM, seed=11)
    return data.interactions.merge(data.items, on="item_id", how="left", validate="many_to_one")


def _assert_same(a: DemoData, b: DemoData) -> None:
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    pd.testing.assert_frame_equal(a.users, b.users)
    pd.testing.assert_frame_equal(a.items, b.items)


def test_same_seed_gives_identical_frames(small: DemoData) -> None:
    _assert_same(small, generate_demo(**SMALL, seed=7))


def test_different_seed_gives_different_frames(small: DemoData) -> None:
    other = generate_demo(**SMALL, seed=8)
    assert not other.items["title"].equals(small.items["title"])
    assert not other.users["segment"].equals(small.users["segment"])
    assert not other.interactions["item_id"].equals(small.interactions["item_id"])


def test_columns_and_dtypes(small: DemoData) -> None:
    expected = {
        "users": ["user_id", "segment", "region", "age_band", "tenure_days"],
        "items": ["item_id", "title", "category", "brand", "price", "quality", "discount"],
        "interactions": [
            "user_id", "item_id", "timestamp", "device", "click", "purchase", "revenue",
            "returned",
        ],
    }
    for name, columns in expected.items():
        assert list(getattr(small, name).columns) == columns
    text = {
        "users": ["user_id", "segment", "region", "age_band"],
        "items": ["item_id", "title", "category", "brand"],
        "interactions": ["user_id", "item_id", "device"],
    }
    for name, columns in text.items():
        frame = getattr(small, name)
        assert all(pd.api.types.is_string_dtype(frame[c]) for c in columns), name
    assert small.users["tenure_days"].dtype == np.int64
    assert (small.items[["price", "quality", "discount"]].dtypes == np.float64).all()
    inter = small.interactions
    assert inter["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert (inter[["click", "purchase", "returned"]].dtypes == np.int64).all()
    assert inter["revenue"].dtype == np.float64


def test_ids_are_formatted_unique_and_consistent(small: DemoData) -> None:
    users, items, inter = small.users, small.items, small.interactions
    assert users["user_id"].iloc[0] == "u00001" and users["user_id"].iloc[-1] == "u00300"
    assert items["item_id"].iloc[0] == "i0001" and items["item_id"].iloc[-1] == "i0080"
    assert users["user_id"].is_unique and items["item_id"].is_unique
    assert set(inter["user_id"]) == set(users["user_id"])  # every user is exposed
    assert set(inter["item_id"]) <= set(items["item_id"])
    assert inter.groupby("user_id").size().min() >= 5
    assert len(inter) == SMALL["n_exposures"]


def test_ids_widen_to_fit_large_counts() -> None:
    items = generate_demo(n_users=10, n_items=12_000, n_exposures=10, seed=1).items
    assert items["item_id"].iloc[0] == "i00001" and items["item_id"].iloc[-1] == "i12000"


def test_attribute_values(small: DemoData) -> None:
    users, items, inter = small.users, small.items, small.interactions
    assert set(users["segment"]) == {"bargain", "mainstream", "premium"}
    assert set(users["region"]) <= {"North", "South", "East", "West", "Central"}
    assert set(users["age_band"]) <= {"18-24", "25-34", "35-44", "45-54", "55+"}
    assert (users["tenure_days"] >= 1).all()
    assert set(items["category"]) == CATEGORIES  # every category has an item, even at 80 items
    assert items.groupby("brand")["category"].nunique().max() == 1
    assert (items["price"] > 0).all()
    assert items["quality"].between(0.0, 5.0).all()
    assert items["discount"].between(0.0, 0.6).all() and (items["discount"] > 0).any()
    assert set(inter["device"]) == {"mobile", "desktop", "app"}
    assert inter["timestamp"].is_monotonic_increasing
    assert inter["timestamp"].min() >= pd.Timestamp("2026-01-01")
    assert inter["timestamp"].max() < pd.Timestamp("2026-04-01")


def test_catalogue_is_realistic(medium: pd.DataFrame) -> None:
    items = medium.drop_duplicates("item_id")
    assert items["title"].nunique() / len(items) > 0.9
    assert items["title"].str.split().str.len().min() >= 3  # brand + adjective + noun
    median = items.groupby("category")["price"].median()
    assert median["Books"] < 30 < 100 < median["Electronics"]
    counts = medium.groupby("item_id").size()
    assert counts.max() > 10 * counts.median()  # heavy-tailed popularity, not uniform


def test_label_hierarchy(small: DemoData) -> None:
    inter = small.interactions
    assert set(np.unique(inter[["click", "purchase", "returned"]])) <= {0, 1}
    assert (inter["purchase"] <= inter["click"]).all()
    assert (inter["returned"] <= inter["purchase"]).all()
    price = inter["item_id"].map(small.items.set_index("item_id")["price"])
    np.testing.assert_array_equal(inter["revenue"], price * inter["purchase"])


def test_rates_hit_targets(medium: pd.DataFrame) -> None:
    click = medium["click"].mean()
    purchase_given_click = medium["purchase"].sum() / medium["click"].sum()
    return_given_purchase = medium["returned"].sum() / medium["purchase"].sum()
    assert 0.06 <= click <= 0.10
    assert 0.15 <= purchase_given_click <= 0.25
    assert 0.10 <= return_given_purchase <= 0.20


def test_discounts_draw_clicks_but_convert_less(medium: pd.DataFrame) -> None:
    high, low = medium[medium["discount"] >= 0.3], medium[medium["discount"] < 0.1]
    assert high["click"].mean() > 1.5 * low["click"].mean()
    high_cvr = high["purchase"].sum() / high["click"].sum()
    low_cvr = low["purchase"].sum() / low["click"].sum()
    assert high_cvr < 0.9 * low_cvr


def test_returns_fall_with_quality(medium: pd.DataFrame) -> None:
    bought = medium[medium["purchase"] == 1]
    rate = bought.groupby(pd.cut(bought["quality"], [0.0, 3.5, 4.2, 5.0]), observed=True)[
        "returned"
    ].mean()
    assert rate.is_monotonic_decreasing and rate.iloc[0] > 2 * rate.iloc[-1]


def test_expensive_items_earn_more_but_are_clicked_less(medium: pd.DataFrame) -> None:
    tier = pd.qcut(medium["price"], 3, labels=["cheap", "mid", "expensive"])
    by_tier = medium.groupby(tier, observed=True)[["click", "revenue"]].mean()
    assert by_tier.loc["expensive", "click"] < by_tier.loc["cheap", "click"]
    assert by_tier.loc["expensive", "revenue"] > 3 * by_tier.loc["cheap", "revenue"]


def test_app_clicks_more_than_desktop(medium: pd.DataFrame) -> None:
    rate = medium.groupby("device")["click"].mean()
    assert rate["app"] > rate["mobile"] > rate["desktop"]


def test_write_demo_round_trips(tmp_path: Path, small: DemoData) -> None:
    out = tmp_path / "nested" / "demo"
    config_path = write_demo(out, **SMALL, seed=7)
    assert config_path == out / "config.toml"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml", "interactions.parquet", "items.parquet", "users.parquet",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["demo"]  # no temporary directory left
    cfg = load_config(config_path)
    assert [t.name for t in cfg.tasks] == ["click", "purchase", "revenue", "returned"]
    assert cfg.tasks[1].given == "click" and cfg.tasks[3].direction == "minimize"
    assert (cfg.data.item_title, cfg.data.item_category, cfg.data.context) == (
        "title", "category", ["device"],
    )
    assert cfg.model.seed == 7 and cfg.candidates.per_user == 100
    loaded = DemoData(
        interactions=pd.read_parquet(out / cfg.data.interactions),
        users=pd.read_parquet(out / str(cfg.data.users)),
        items=pd.read_parquet(out / str(cfg.data.items)),
    )
    _assert_same(loaded, small)


def test_write_demo_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("keep me", encoding="utf-8")
    write_demo(tmp_path, **SMALL, seed=3)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "keep me"
    assert load_config(tmp_path / "config.toml").model.seed == 3


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"n_users": 5}, r"n_users must be >= 10, got 5"),
        ({"n_items": 3}, r"n_items must be >= 10, got 3"),
        ({"n_users": 100, "n_exposures": 99}, r"n_exposures must be >= n_users \(100\).*got 99"),
        ({"n_users": 10.5}, r"n_users must be an integer, got 10.5"),
        ({"seed": -1}, r"seed must be >= 0, got -1"),
    ],
)
def test_bad_sizes_raise(sizes: dict[str, float], message: str) -> None:
    args = {"n_users": 20, "n_items": 20, "n_exposures": 200, "seed": 0, **sizes}
    with pytest.raises(SchemaError, match=message):
        generate_demo(**args)  # type: ignore[arg-type]


def test_bad_sizes_list_every_problem_and_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"n_users must .*\n.*n_items must") as err:
        write_demo(tmp_path / "out", n_users=1, n_items=1, n_exposures=1)
    assert len(err.value.problems) == 2
    assert list(tmp_path.iterdir()) == []


def test_training_memory_matches_the_measured_peaks() -> None:
    from recsys.demo import training_memory

    assert training_memory(1_000_000) == pytest.approx(2.0e9, rel=0.05)
    assert training_memory(3_000_000) == pytest.approx(5.2e9, rel=0.05)


def test_demo_too_large_for_this_machine_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import recsys.demo
    from recsys.cli import main

    monkeypatch.setattr(recsys.demo, "_memory_limit", lambda: (24_000_000_000, None))
    with pytest.raises(SchemaError) as info:
        write_demo(tmp_path / "big", n_exposures=50_000_000)
    assert info.value.problems == [
        "demo data: 50,000,000 exposures need about 80.4 GB of memory to train, more than "
        "the 24.0 GB this machine has; pass --exposures 15,000,000 or fewer"
    ]
    code = main(["demo-data", "--out", str(tmp_path / "big"), "--exposures", "50000000"])
    assert code == 2 and "need about 80.4 GB" in capsys.readouterr().err
    assert not (tmp_path / "big").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_demo_larger_than_free_memory_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import recsys.demo

    monkeypatch.setattr(recsys.demo, "_memory_limit", lambda: (None, 100_000_000))
    with caplog.at_level("WARNING", logger="recsys.demo"):
        write_demo(tmp_path / "d", n_users=20, n_items=20, n_exposures=200)
    assert caplog.messages == [
        "demo data: 200 exposures need about 0.4 GB of memory to train, but only 0.1 GB is "
        "free now; close other programs before training"
    ]
