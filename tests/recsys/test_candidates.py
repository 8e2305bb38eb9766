"""Candidate generation: several sources, no duplicates, exclusions, recall.

The sources are checked on hand-made stores (exact expected lists) and against a dense
users × items reference on small random stores, which is what generation must never
build at scale.
"""

from __future__ import annotations

import tracemalloc

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys.candidates as cand
from recsys.candidates import SOURCES, CandidateSet, candidate_recall, generate_candidates
from recsys.features import FeatureStore, GlobalStats, Layout

Pairs = list[tuple[int, int, int, int]]
"""(user, item, exposures, positives) of distinct pairs before the cutoff."""


def make_store(pairs: Pairs | np.ndarray, *, n_users: int, item_category: list[int] | np.ndarray,
               n_categories: int, latent_user: np.ndarray | None = None,
               latent_item: np.ndarray | None = None) -> FeatureStore:
    """A FeatureStore holding what candidate generation reads, built from pair totals."""
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 4)
    u, i, exp, pos = p.T
    cat = np.asarray(item_category, dtype=np.int64)
    n_i = cat.size
    ui = u * n_i + i
    order = np.argsort(ui)
    uc_keys, uc_inv = np.unique(u * n_categories + cat[i], return_inverse=True)
    uc_totals = np.column_stack([np.bincount(uc_inv, weights=exp), np.bincount(uc_inv, weights=pos)])
    layout = Layout(labels=("click",), label_kinds=("binary",), conditional=(), primary=0,
                    user_attrs=(), item_attrs=(), numeric_item_attrs=(), category="category",
                    category_levels=tuple(f"c{k}" for k in range(n_categories)), context=(),
                    latent_dim=2, smoothing=20.0)
    f32 = np.float32
    return FeatureStore(
        layout=layout,
        stats=GlobalStats(label_mean=np.zeros(1), conditional_rate=np.zeros(0),
                          category_share=np.full(n_categories, 1 / n_categories)),
        user_ids=pd.Index([f"u{k}" for k in range(n_users)]),
        item_ids=pd.Index([f"i{k}" for k in range(n_i)]),
        user_static=np.zeros((n_users, 0), f32), item_static=np.zeros((n_i, 0), f32),
        item_numeric=np.zeros((n_i, 0)), item_category=cat,
        user_totals=np.column_stack([np.bincount(u, weights=exp, minlength=n_users),
                                     np.bincount(u, weights=pos, minlength=n_users)]),
        item_totals=np.column_stack([np.bincount(i, weights=exp, minlength=n_i),
                                     np.bincount(i, weights=pos, minlength=n_i)]),
        uc_keys=uc_keys.astype(np.int64), uc_totals=uc_totals,
        ui_keys=ui[order], ui_totals=np.column_stack([exp, pos])[order].astype(np.float64),
        user_context=np.zeros((n_users, 0), f32),
        latent_user=(np.zeros((n_users, 2), f32) if latent_user is None
                     else latent_user.astype(f32)),
        latent_item=np.zeros((n_i, 2), f32) if latent_item is None else latent_item.astype(f32),
    )


def _rows(cands: CandidateSet) -> list[list[int]]:
    return [[int(x) for x in row if x >= 0] for row in cands.items]


# --- each source on a hand-made store ---------------------------------------------------

def test_popular_ranks_by_positives_then_exposures() -> None:
    pairs = [(0, 0, 10, 2), (0, 1, 3, 5), (1, 2, 4, 5), (1, 3, 7, 0), (0, 4, 1, 1)]
    store = make_store(pairs, n_users=2, item_category=[0] * 5, n_categories=1)
    got = generate_candidates(store, per_user=3, sources=("popular",))
    assert _rows(got) == [[2, 1, 0], [2, 1, 0]]  # 5.004, 5.003, 2.010
    assert np.all(got.source == SOURCES.index("popular"))


def test_category_fills_a_one_category_user_from_the_whole_catalogue() -> None:
    # categories of items 0..5: two items each; user 2 sets the items' popularity
    crowd = [(2, 1, 5, 5), (2, 0, 5, 1), (2, 2, 5, 4), (2, 3, 5, 2), (2, 5, 5, 3), (2, 4, 5, 0)]
    pairs = crowd + [(0, 4, 3, 3), (1, 3, 1, 0)]
    store = make_store(pairs, n_users=4, item_category=[0, 0, 1, 1, 2, 2], n_categories=3)
    got = _rows(generate_candidates(store, per_user=6, sources=("category",)))
    # user 0 clicked in category 2 only: its items first (by popularity), then every
    # other item by popularity; user 3 has no history: the catalogue by popularity
    assert got[0] == [4, 5, 1, 2, 3, 0]
    assert got[3] == [1, 2, 4, 5, 3, 0]  # 5.005, 4.005, 3.008, 3.005, 2.006, 1.005
    assert got[1][:3] == [2, 1, 4]  # one exposure lifts item 2 (category 1) above item 1
    assert all(len(row) == 6 for row in got)


def _co_store() -> FeatureStore:
    positives = {0: [0, 1, 2], 1: [0, 1], 2: [0, 1, 3], 3: [2, 4], 4: [0]}
    pairs = [(u, i, 1, 1) for u, items in positives.items() for i in items] + [(5, 5, 2, 0)]
    return make_store(pairs, n_users=6, item_category=[0] * 6, n_categories=1)


def test_cooccurrence_proposes_the_items_co_engaged_most() -> None:
    # counts: (0,1)=3, (0,2)=(0,3)=(1,2)=(1,3)=(2,4)=1
    got = generate_candidates(_co_store(), per_user=3, sources=("cooccurrence",))
    assert _rows(got) == [[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2], [1, 2, 3], []]
    assert _rows(generate_candidates(_co_store(), per_user=4, sources=("cooccurrence",)))[1] \
        == [0, 1, 2, 3]  # 0:3, 1:3, 2:2, 3:2


def test_each_item_keeps_its_top_neighbours() -> None:
    neighbours = cand._neighbours(cand._history(_co_store()), 2).toarray()
    assert neighbours[0].tolist() == [0, 3, 1, 0, 0, 0]  # 1 (3), then 2 before 3 (tie)
    assert neighbours[4].tolist() == [0, 0, 1, 0, 0, 0]
    assert np.all(np.diag(neighbours) == 0)


def test_cooccurrence_counts_each_users_most_engaged_positives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cand, "_HISTORY", 2)
    pairs = [(0, 0, 5, 3), (0, 1, 5, 2), (0, 2, 5, 1), (1, 2, 1, 1), (1, 3, 1, 1)]
    store = make_store(pairs, n_users=2, item_category=[0] * 4, n_categories=1)
    history = cand._history(store).toarray()
    assert history.tolist() == [[1, 1, 0, 0], [0, 0, 1, 1]]


def test_latent_proposes_the_nearest_items_by_dot_product() -> None:
    lu = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    li = np.array([[0.5, 0.5], [2.0, -1.0], [-1.0, 0.2], [0.0, 3.0], [1.0, 1.0]])
    store = make_store([(0, 0, 1, 0)], n_users=3, item_category=[0] * 5, n_categories=1,
                       latent_user=lu, latent_item=li)
    got = generate_candidates(store, per_user=5, sources=("latent",))
    # user 0: 2, 1, 0.5 (items 1, 4, 0), 0 (item 3), item 2 negative: never
    # user 1: 3, 1, 0.5, 0.2; item 1 negative; user 2 has no factor: nothing
    assert _rows(got) == [[1, 4, 0, 3], [3, 4, 0, 2], []]


# --- against a dense reference on random stores -----------------------------------------

def _random_store(rng: np.random.Generator, n_users: int = 60, n_items: int = 45,
                  n_categories: int = 4, integer_factors: bool = True) -> FeatureStore:
    n_pairs = n_users * 6
    keys = np.unique(rng.integers(0, n_users * n_items, n_pairs))
    u, i = np.divmod(keys, n_items)
    exp = rng.integers(1, 4, keys.size)
    pos = np.minimum(exp, rng.integers(0, 3, keys.size)) * (rng.random(keys.size) < 0.6)
    if integer_factors:  # exact dot products, many ties
        lu, li = rng.integers(-2, 3, (n_users, 3)), rng.integers(-2, 3, (n_items, 3))
    else:
        lu, li = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    lu[:3] = 0  # users without a factor
    return make_store(np.column_stack([u, i, exp, pos]), n_users=n_users,
                      item_category=rng.integers(0, n_categories, n_items),
                      n_categories=n_categories, latent_user=lu, latent_item=li)


def _best(scores: np.ndarray, m: int, keep: np.ndarray) -> list[int]:
    """Codes of the m best kept scores, ties to the lower code."""
    codes = np.flatnonzero(keep)
    return codes[np.lexsort((codes, -scores[codes]))][:m].tolist()


def _reference_lists(store: FeatureStore, m: int, exclude: frozenset[int] = frozenset(),
                     exclude_items: frozenset[int] = frozenset()) -> dict[str, list[list[int]]]:
    """Every source's lists from dense users × items arrays (the brute force).

    The category list skips the excluded pairs and items itself.
    """
    n_u, n_i, n_c = len(store.user_ids), len(store.item_ids), store.n_categories
    pop = store.item_totals[:, 1] + 1e-3 * store.item_totals[:, 0]
    cat = store.item_category
    pop_c = np.bincount(cat, weights=pop, minlength=n_c)
    interest = np.zeros((n_u, n_c))
    uu, cc = np.divmod(store.uc_keys, n_c)
    interest[uu, cc] = store.uc_totals[:, 1] + cand._INTEREST_EXPOSURE * store.uc_totals[:, 0]
    norm = interest.sum(axis=1) + cand._INTEREST_PRIOR
    weight = interest / norm[:, None] / np.maximum(pop_c, 1e-300)[None, :]
    base = cand._INTEREST_PRIOR / norm / pop.sum()
    affinity = pop[None, :] * (weight[:, cat] + base[:, None])
    seen = np.zeros((n_u, n_i))
    pu, pi = np.divmod(store.ui_keys[store.ui_totals[:, 1] > 0], n_i)
    seen[pu, pi] = 1
    co = seen.T @ seen
    np.fill_diagonal(co, 0)
    cut = np.zeros_like(co)
    for r in range(n_i):
        top = _best(co[r], cand._NEIGHBOURS * m, co[r] > 0)
        cut[r, top] = co[r, top]
    co_scores = seen @ cut
    lat = store.latent_user.astype(float) @ store.latent_item.astype(float).T
    out: dict[str, list[list[int]]] = {s: [] for s in SOURCES}
    for u in range(n_u):
        out["popular"].append(_best(pop, m, np.ones(n_i, bool)))
        ok = np.array([u * n_i + i not in exclude and i not in exclude_items
                       for i in range(n_i)])
        out["category"].append(_best(affinity[u], m, ok))
        out["cooccurrence"].append(_best(co_scores[u], m, co_scores[u] > 0))
        has_factor = bool(np.any(store.latent_user[u] != 0))
        out["latent"].append(_best(lat[u], m, (lat[u] >= -1e-6) & has_factor))
    return out


def _reference_merge(store: FeatureStore, lists: dict[str, list[list[int]]],
                     sources: tuple[str, ...], m: int, exclude: set[int],
                     exclude_items: set[int]) -> list[list[int]]:
    """Weighted turns: the next slot to the source with fewest slots taken per share."""
    n_i = len(store.item_ids)
    h = store.user_totals[:, 1]
    rows = []
    for u in range(len(store.user_ids)):
        share = {s: 1.0 if s == "category" or len(sources) == 1 else
                 cand._SHARE_CAP[s] * (1 / (1 + h[u]) if s == "popular"
                                        else h[u] / (h[u] + cand._HALF_EVIDENCE))
                 for s in sources}
        todo = {s: lists[s][u][:cand._list_length(s, sources, m)] for s in sources}
        todo = {s: [x for x in row if x >= 0] for s, row in todo.items()}
        taken = dict.fromkeys(sources, 0)
        got: list[int] = []
        while len(got) < m:
            live = [s for s in sources if share[s] > 0 and todo[s]]
            if not live:
                break
            s = min(live, key=lambda t: (taken[t] + 0.5) / share[t])
            item = todo[s].pop(0)
            if item in got or item in exclude_items or u * n_i + item in exclude:
                continue
            got.append(item)
            taken[s] += 1
        rows.append(got)
    return rows


@pytest.mark.parametrize("integer_factors", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_source_matches_the_dense_reference(seed: int, integer_factors: bool) -> None:
    store = _random_store(np.random.default_rng(seed), integer_factors=integer_factors)
    ref = _reference_lists(store, 7)
    for s in SOURCES:
        got = generate_candidates(store, per_user=7, sources=(s,))
        want = [[x for x in row if x >= 0] for row in ref[s]]
        assert _rows(got) == want, s


@pytest.mark.parametrize("integer_factors", [True, False])
@pytest.mark.parametrize("spread", [0.2, 1.5])
def test_latent_search_over_many_items_matches_brute_force(integer_factors: bool,
                                                           spread: float) -> None:
    # many items, scanned in chunks in decreasing norm: with a narrow spread of norms the
    # best items lie in every chunk; with a wide one most chunks are cut by the norm bound
    rng = np.random.default_rng(8)
    n_u, n_i, m = 150, 3000, 40
    scale = np.exp(rng.normal(0.0, spread, (n_i, 1)))
    if integer_factors:
        lu = rng.integers(-3, 4, (n_u, 4)).astype(float)
        li = np.round(rng.integers(-3, 4, (n_i, 4)) * scale)
    else:
        lu, li = rng.normal(size=(n_u, 4)), rng.normal(size=(n_i, 4)) * scale
    store = make_store([(0, 0, 1, 0)], n_users=n_u, item_category=[0] * n_i, n_categories=1,
                       latent_user=lu, latent_item=li)
    lat = store.latent_user.astype(float) @ store.latent_item.astype(float).T
    has = np.any(store.latent_user != 0, axis=1)
    want = [_best(lat[u], m, (lat[u] >= -1e-6) & has[u]) for u in range(n_u)]
    assert _rows(generate_candidates(store, per_user=m, sources=("latent",))) == want


@pytest.mark.parametrize("seed", [3, 4])
def test_merged_candidates_match_the_reference_with_exclusions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    store = _random_store(rng)
    n_u, n_i = len(store.user_ids), len(store.item_ids)
    exclude = np.sort(rng.choice(n_u * n_i, 400, replace=False))
    exclude_items = np.array([0, 5, 9])
    sources = ("latent", "popular", "cooccurrence", "category")
    got = generate_candidates(store, per_user=9, sources=sources, exclude=exclude,
                              exclude_items=exclude_items)
    bans, never = frozenset(exclude.tolist()), frozenset(exclude_items.tolist())
    want = _reference_merge(store, _reference_lists(store, 9, bans, never), sources, 9,
                            set(bans), set(never))
    assert _rows(got) == want
    u, i = got.pairs()
    assert not np.isin(u * n_i + i, exclude).any()
    assert not np.isin(i, exclude_items).any()
    first = {(int(a), int(b)) for a, b in zip(*got.pairs(), strict=True)}
    assert len(first) == u.size  # no duplicates


def test_results_do_not_depend_on_blocks_or_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _random_store(np.random.default_rng(5), n_users=120, n_items=70)
    base = generate_candidates(store, per_user=12)
    again = generate_candidates(store, per_user=12)
    monkeypatch.setattr(cand, "BUDGET_BYTES", 4096)  # a handful of users per block
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        small = generate_candidates(store, per_user=12)
    finally:
        numba.set_num_threads(threads)
    for other in (again, small):
        np.testing.assert_array_equal(other.items, base.items)
        np.testing.assert_array_equal(other.source, base.source)


@pytest.mark.parametrize("budget", [1.0, 50.0, 1000.0])
def test_blocks_stay_within_the_budget(budget: float) -> None:
    cost = np.random.default_rng(6).integers(1, 40, 500).astype(float)
    cost[17] = 2000.0  # one element over the budget on its own
    blocks = cand._blocks(cost, budget)
    assert blocks[0][0] == 0 and blocks[-1][1] == cost.size
    assert all(a == b for (_, a), (b, _) in zip(blocks, blocks[1:], strict=False))
    for a, b in blocks:
        assert cost[a:b].sum() <= budget or b == a + 1


def test_working_memory_is_far_below_a_users_by_items_matrix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n_u, n_i = 4000, 3000
    store = _random_store(rng, n_users=n_u, n_items=n_i, n_categories=20,
                          integer_factors=False)
    generate_candidates(store, per_user=20)  # loads the kernels
    monkeypatch.setattr(cand, "BUDGET_BYTES", 1 << 20)
    tracemalloc.start()
    try:
        generate_candidates(store, per_user=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    dense = n_u * n_i * 8
    assert peak < dense / 8, f"peak {peak / 1e6:.1f} MB vs {dense / 1e6:.0f} MB dense"


# --- the trained small project ----------------------------------------------------------

def _test_positives(tp) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    inter = tp.dataset.interactions
    hit = (inter["window"] == "test") & (inter["click"] > 0)
    store = tp.features.store
    return (store.user_codes(inter.loc[hit, "user_id"].to_numpy()),
            store.item_codes(inter.loc[hit, "item_id"].to_numpy()))


def test_candidates_are_unique_and_fill_the_quota(small_trained) -> None:  # noqa: ANN001
    cands = generate_candidates(small_trained.features.store, per_user=20)
    assert cands.items.shape == (300, 20)
    for row in cands.items:
        filled = row[row >= 0]
        assert len(set(filled.tolist())) == filled.size == 20


def test_excluded_pairs_are_never_proposed(small_trained) -> None:  # noqa: ANN001
    store = small_trained.features.store
    full = generate_candidates(store, per_user=20)
    banned = np.sort(np.arange(300, dtype=np.int64) * 80 + full.items[:, 0])
    again = generate_candidates(store, per_user=20, exclude=banned)
    assert not np.any(again.items == full.items[:, :1])


def test_every_source_contributes(small_trained) -> None:  # noqa: ANN001
    used = {SOURCES[s] for s in np.unique(small_trained.candidates.source) if s >= 0}
    assert used == set(SOURCES)


def test_recall_beats_random_candidates(small_trained) -> None:  # noqa: ANN001
    store = small_trained.features.store
    cands = generate_candidates(store, per_user=20)
    recall = candidate_recall(cands, *_test_positives(small_trained), n_items=80)
    assert recall["all"] > 1.5 * 20 / 80
    assert abs(sum(v for k, v in recall.items() if k != "all") - recall["all"]) < 1e-9


def test_candidate_recall_counts_found_pairs() -> None:
    cands = CandidateSet(items=np.array([[0, 1, -1], [2, 0, 1]], dtype=np.int32),
                         source=np.array([[0, 1, -1], [2, 2, 3]], dtype=np.int8))
    got = candidate_recall(cands, np.array([0, 0, 1, 1]), np.array([1, 2, 2, 3]), n_items=4)
    assert got["all"] == 0.5
    assert got["category"] == 0.25 and got["cooccurrence"] == 0.25


# --- properties of what generation returns ----------------------------------------------

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), per_user=st.integers(1, 30),
       n_items=st.integers(5, 40), n_banned=st.integers(0, 300),
       sources=st.permutations(SOURCES).flatmap(
           lambda p: st.integers(1, len(p)).map(lambda k: tuple(p[:k]))))
def test_candidates_are_unique_allowed_full_and_block_free(
        seed: int, per_user: int, n_items: int, n_banned: int,
        sources: tuple[str, ...]) -> None:
    rng = np.random.default_rng(seed)
    store = _random_store(rng, n_users=30, n_items=n_items, integer_factors=False)
    n_i = len(store.item_ids)
    exclude = np.unique(rng.integers(0, 30 * n_i, n_banned))
    never = rng.choice(n_i, 2, replace=False)
    got = generate_candidates(store, per_user=per_user, sources=sources, exclude=exclude,
                              exclude_items=never)
    u, i = got.pairs()
    assert not np.isin(u * n_i + i, exclude).any()
    assert not np.isin(i, never).any()
    assert np.unique(u * n_i + i).size == u.size
    assert np.all(got.valid == (got.source >= 0))
    assert np.all(np.diff(got.valid.astype(int), axis=1) <= 0)  # filled slots come first
    if "category" in sources:  # its list spans the catalogue: every user is served fully
        allowed = n_i - never.size - np.bincount(exclude // n_i, minlength=30) \
            + np.bincount(exclude // n_i, weights=np.isin(exclude % n_i, never), minlength=30)
        np.testing.assert_array_equal(got.valid.sum(axis=1), np.minimum(per_user, allowed))
    budget = cand.BUDGET_BYTES
    cand.BUDGET_BYTES = 2048  # a few users per block
    try:
        small = generate_candidates(store, per_user=per_user, sources=sources,
                                    exclude=exclude, exclude_items=never)
    finally:
        cand.BUDGET_BYTES = budget
    np.testing.assert_array_equal(small.items, got.items)
    np.testing.assert_array_equal(small.source, got.source)


def test_shares_follow_each_users_evidence() -> None:
    pairs = [(0, i, 2, 1) for i in range(20)] + [(1, 0, 1, 0)]
    store = make_store(pairs, n_users=2, item_category=[0] * 20, n_categories=1)
    share = dict(zip(SOURCES, cand._shares(store, SOURCES), strict=True))
    assert np.all(share["category"] == 1.0)
    assert share["popular"][1] > share["popular"][0]  # the cold user leans on popularity
    for s in ("cooccurrence", "latent"):  # the user with history on their own signal
        assert share[s][1] == 0.0 < share[s][0] <= cand._SHARE_CAP[s]
