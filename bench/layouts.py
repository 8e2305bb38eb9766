"""Synthetic logs in public layouts that reproduce what makes real logs hard.

No public dataset ships with Blendscope, so benchmarks and tests use these stand-ins,
written in the real on-disk layouts and read through the documented import path:

- :func:`write_movielens_like`: MovieLens 100K files (``u.data``, ``u.user``, ``u.item``,
  latin-1). Users arrive over seven months and rate most of their movies within a few
  days of arriving, so most test-window ratings come from users first seen in the test
  window (about 85 % on the real 100K). Ratings follow user bias + movie bias + genre
  taste + noise, so a per-movie average is a strong baseline.
- :func:`write_sparse_events`: a Taobao-style ``user_id,item_id,category_id,behavior,
  timestamp`` CSV: very sparse (a few events per user), items that live for a few days
  (most test-window items are new), an item-level ``category_id``, an event-level
  ``device`` column, and one outlier event years before the rest.

Both are deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_movielens_like", "write_sparse_events"]

_GENRES = 19
_OCCUPATIONS = ("technician", "other", "writer", "executive", "administrator", "student",
                "lawyer", "educator", "scientist", "entertainment", "programmer", "librarian",
                "homemaker", "artist", "engineer", "marketing", "none", "healthcare",
                "retired", "salesman", "doctor")


def write_movielens_like(root: str | Path, *, n_users: int = 943, n_items: int = 1682,
                         n_ratings: int = 100_000, seed: int = 0) -> Path:
    """Write a MovieLens 100K layout to ``root``; return ``root``."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    # movies: genre flags, popularity, quality
    genre = rng.integers(0, _GENRES, n_items)
    second = np.where(rng.random(n_items) < 0.4, rng.integers(0, _GENRES, n_items), -1)
    quality = rng.normal(0.0, 0.45, n_items)
    popularity = np.exp(rng.normal(0.0, 1.3, n_items) + 0.8 * quality)
    year = rng.integers(1930, 1999, n_items)
    # users: bias, genre taste, arrival time, activity
    bias = rng.normal(0.0, 0.40, n_users)
    taste = rng.normal(0.0, 0.5, (n_users, _GENRES))
    age = np.clip(rng.normal(33, 11, n_users).round(), 7, 73).astype(int)
    activity = np.exp(rng.normal(0.0, 1.0, n_users))
    counts = np.maximum(20, np.round(activity / activity.sum() * n_ratings)).astype(int)
    counts = np.minimum(counts, n_items // 2)
    start = np.datetime64("1997-09-20", "s").astype(np.int64)
    span = 214 * 86400
    arrival = start + np.sort(rng.random(n_users)) * span
    rows_u, rows_i, rows_t = [], [], []
    p = popularity / popularity.sum()
    for u in range(n_users):
        items = rng.choice(n_items, size=counts[u], replace=False, p=p)
        # most ratings in a burst of a few days after arrival, a tail up to the end
        burst = rng.random(counts[u]) < 0.85
        offset = np.where(burst, rng.exponential(1.5 * 86400, counts[u]),
                          rng.random(counts[u]) * (start + span - arrival[u]))
        rows_u.append(np.full(counts[u], u))
        rows_i.append(items)
        rows_t.append(np.minimum(arrival[u] + offset, start + span))
    u = np.concatenate(rows_u)
    i = np.concatenate(rows_i)
    t = np.concatenate(rows_t).astype(np.int64)
    mu = (3.53 + bias[u] + quality[i] + taste[u, genre[i]]
          + np.where(second[i] >= 0, 0.5 * taste[u, np.maximum(second[i], 0)], 0.0))
    rating = np.clip(np.round(mu + rng.normal(0.0, 0.85, u.size)), 1, 5).astype(int)
    order = rng.permutation(u.size)
    data = pd.DataFrame({"u": u[order] + 1, "i": i[order] + 1, "r": rating[order],
                         "t": t[order]})
    data.to_csv(root / "u.data", sep="\t", header=False, index=False)
    gender = np.where(rng.random(n_users) < 0.71, "M", "F")
    occ = np.asarray(_OCCUPATIONS)[rng.integers(0, len(_OCCUPATIONS), n_users)]
    zips = rng.integers(1000, 99999, n_users)
    with open(root / "u.user", "w", encoding="latin-1") as f:
        for k in range(n_users):
            f.write(f"{k + 1}|{age[k]}|{gender[k]}|{occ[k]}|{zips[k]:05d}\n")
    with open(root / "u.item", "w", encoding="latin-1") as f:
        for k in range(n_items):
            flags = ["0"] * _GENRES
            flags[genre[k]] = "1"
            if second[k] >= 0:
                flags[second[k]] = "1"
            f.write(f"{k + 1}|Movie {k + 1} ({year[k]})|01-Jan-{year[k]}||"
                    f"http://example.invalid/{k + 1}|{'|'.join(flags)}\n")
    return root


def write_sparse_events(path: str | Path, *, n_users: int = 20_000, n_events: int = 200_000,
                        n_categories: int = 300, item_life_days: float = 3.0,
                        seed: int = 0) -> Path:
    """Write a sparse multi-behaviour event log (CSV) to ``path``; return it.

    Behaviours: ``pv`` (views), ``cart``, ``fav`` and ``buy``. A user views items of a
    few favourite categories; carting and buying depend on the user's propensity, the
    category's conversion and the item's hidden appeal; items are born continuously and
    stop being shown after ``item_life_days``, so most test-window items are new.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    days = 9.0
    start = np.datetime64("2017-11-25", "s").astype(np.int64)
    # user sessions: heavy-tailed activity, a few favourite categories
    activity = np.exp(rng.normal(0.0, 1.2, n_users))
    user = rng.choice(n_users, n_events, p=activity / activity.sum())
    favourites = rng.integers(0, n_categories, (n_users, 3))
    cat_pop = np.exp(rng.normal(0.0, 1.0, n_categories))
    explore = rng.random(n_events) < 0.3
    category = np.where(explore, rng.choice(n_categories, n_events, p=cat_pop / cat_pop.sum()),
                        favourites[user, rng.integers(0, 3, n_events)])
    t = start + rng.random(n_events) * days * 86400
    # items: each category has a stream of short-lived items; an event picks a live one
    per_day = 6
    slot = np.floor((t - start) / (item_life_days * 86400 / 2)).astype(np.int64)
    item_local = rng.integers(0, per_day, n_events)
    item = (category.astype(np.int64) * 10_000 + slot * per_day + item_local)
    appeal = rng.normal(0.0, 0.8, item.max() + 1)
    propensity = rng.normal(0.0, 0.8, n_users)
    conversion = rng.normal(0.0, 0.6, n_categories)
    fav_match = (favourites[user] == category[:, None]).any(axis=1)
    logit = (-3.6 + propensity[user] + conversion[category] + appeal[item]
             + 0.7 * fav_match)
    p_cart = 1 / (1 + np.exp(-logit))
    draw = rng.random(n_events)
    behaviour = np.full(n_events, "pv", dtype=object)
    behaviour[draw < p_cart * 0.6] = "fav"
    behaviour[draw < p_cart * 0.45] = "cart"
    behaviour[draw < p_cart * 0.25] = "buy"
    device = np.asarray(["app", "web", "mini"], dtype=object)[rng.integers(0, 3, n_events)]
    frame = pd.DataFrame({"user_id": user + 100_000, "item_id": item + 1_000_000,
                          "category_id": category + 1000, "behavior": behaviour,
                          "timestamp": t.astype(np.int64), "device": device})
    # one outlier event years before the rest (a clock reset on one device)
    frame.loc[0, "timestamp"] = np.datetime64("2009-06-01", "s").astype(np.int64)
    frame.to_csv(path, index=False)
    return path
