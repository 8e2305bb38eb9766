"""Tests of ``recsys.metrics``: hand-computed cases, pure-Python references, invariances."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from numpy.typing import NDArray

from recsys.metrics import (
    RankingMetrics,
    binary_metrics,
    catalogue_coverage,
    intra_list_diversity,
    novelty,
    pareto_mask,
    ranking_by_group,
    ranking_metrics,
    ranking_metrics_many,
    regression_metrics,
    simplex_grid,
    topk_hits,
    weighted_auc,
)

NAN = float("nan")
SCORES = [0.0, -0.0, 1.0, -1.0, 2.5, NAN, math.inf, -math.inf]
GAINS = [0.0, 0.0, 1.0, 2.0, 0.5]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def fields(m: RankingMetrics) -> NDArray[np.float64]:
    return np.array([m.ndcg, m.recall, m.mrr, m.gauc])


def undefined(offsets: list[int] | NDArray[np.integer], rel: list[float] | NDArray[np.floating],
              ) -> list[bool]:
    """Which of (NDCG, recall, MRR, GAUC) must be NaN, from the groups alone: the first
    three when no group has a relevant row, GAUC when no group has both a relevant and
    an irrelevant row. Every other metric must be a finite number."""
    bounds = zip(offsets[:-1], offsets[1:], strict=False)
    groups = [np.asarray(rel[lo:hi], dtype=float) for lo, hi in bounds]
    has_pos = any((g > 0).any() for g in groups)
    has_pair = any((g > 0).any() and (g <= 0).any() for g in groups)
    return [not has_pos] * 3 + [not has_pair]


def assert_defined_where_expected(m: RankingMetrics, offsets: list[int] | NDArray[np.integer],
                                  rel: list[float] | NDArray[np.floating]) -> None:
    """NaN exactly where the metric is undefined, finite and within [0, 1] elsewhere."""
    got = fields(m)
    assert np.isnan(got).tolist() == undefined(offsets, rel), got
    ok = ~np.isnan(got)
    assert np.isfinite(got[ok]).all() and ((got[ok] >= 0) & (got[ok] <= 1 + 1e-12)).all(), got


def rank(s: list[float]) -> list[int]:
    """Positions by descending score, ties by position, NaN last."""
    return sorted(range(len(s)), key=lambda i: (math.isnan(s[i]), 0.0 if math.isnan(s[i]) else -s[i], i))


def beats(a: float, b: float) -> float:
    """1 if score ``a`` ranks above ``b``, 1/2 on a tie (NaN ties NaN), else 0."""
    if math.isnan(a) or math.isnan(b):
        return 0.5 if math.isnan(a) and math.isnan(b) else float(math.isnan(b))
    return 1.0 if a > b else 0.5 if a == b else 0.0


def reference(offsets: list[int], s: list[float], rel: list[float], k: int) -> NDArray[np.float64]:
    """Straightforward per-group NDCG@k, recall@k, MRR and size-weighted AUC."""
    sums, n_rel, auc_sum, auc_w = np.zeros(3), 0, 0.0, 0
    for lo, hi in zip(offsets[:-1], offsets[1:], strict=True):
        sg, rg = s[lo:hi], rel[lo:hi]
        ranked = [rg[i] for i in rank(sg)]
        pos = [i for i in range(len(rg)) if rg[i] > 0]
        neg = [i for i in range(len(rg)) if rg[i] <= 0]
        if not pos:
            continue
        dcg = sum(g / math.log2(r + 2) for r, g in enumerate(ranked[:k]))
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(rg, reverse=True)[:k]))
        first = next(r for r, g in enumerate(ranked) if g > 0)
        sums += [dcg / idcg, sum(g > 0 for g in ranked[:k]) / len(pos), 1 / (first + 1)]
        n_rel += 1
        if neg:
            auc = sum(beats(sg[i], sg[j]) for i in pos for j in neg) / (len(pos) * len(neg))
            auc_sum, auc_w = auc_sum + len(rg) * auc, auc_w + len(rg)
    means = sums / n_rel if n_rel else np.full(3, NAN)
    return np.append(means, auc_sum / auc_w if auc_w else NAN)


@st.composite
def ranking_case(draw: st.DrawFn) -> tuple[list[int], list[float], list[list[float]], int]:
    sizes = draw(st.lists(st.integers(0, 9), min_size=0, max_size=6))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    n = offsets[-1]
    s = draw(st.lists(st.sampled_from(SCORES) | st.floats(-5, 5), min_size=n, max_size=n))
    n_tasks = draw(st.integers(1, 3))
    rels = [draw(st.lists(st.sampled_from(GAINS), min_size=n, max_size=n)) for _ in range(n_tasks)]
    return offsets, s, rels, draw(st.integers(1, 6))


# ------------------------------------------------------------------- ranking


def test_relevant_at_rank_two() -> None:
    m = ranking_metrics(np.array([0, 3]), np.array([0.9, 0.8, 0.1]), np.array([0, 1, 0.0]), 2)
    assert m.mrr == 0.5
    assert m.ndcg == pytest.approx(1 / math.log2(3))
    assert m.recall == 1.0
    assert m.gauc == 0.5  # beats one negative of two


def test_graded_gains_and_cutoff() -> None:
    offs, s, rel = np.array([0, 3]), np.array([3.0, 2.0, 1.0]), np.array([1.0, 0.0, 3.0])
    m = ranking_metrics(offs, s, rel, 3)
    assert m.ndcg == pytest.approx((1 + 3 / 2) / (3 + 1 / math.log2(3)))
    m1 = ranking_metrics(offs, s, rel, 1)
    assert (m1.ndcg, m1.recall, m1.mrr) == (pytest.approx(1 / 3), 0.5, 1.0)


def test_ties_keep_row_order_and_nan_ranks_last() -> None:
    tie = ranking_metrics(np.array([0, 2]), np.array([1.0, 1.0]), np.array([0, 1.0]), 5)
    assert (tie.mrr, tie.gauc) == (0.5, 0.5)
    nan = ranking_metrics(np.array([0, 3]), np.array([NAN, -np.inf, 0.0]), np.array([1, 0, 0.0]), 5)
    assert (nan.mrr, nan.gauc) == (1 / 3, 0.0)


def test_groups_without_relevance_are_excluded_and_gauc_weighted() -> None:
    offs = np.array([0, 2, 6, 9, 9])
    s = np.array([2.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    rel = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    m = ranking_metrics(offs, s, rel, 10)
    assert m.mrr == pytest.approx((1 + 1 / 4) / 2)
    assert m.gauc == pytest.approx((2 * 1.0 + 4 * 0.0) / 6)
    empty = ranking_metrics(np.array([0, 2]), np.array([1.0, 2.0]), np.zeros(2), 3)
    assert np.isnan(fields(empty)).all()
    only_pos = ranking_metrics(np.array([0, 2]), np.array([1.0, 2.0]), np.ones(2), 3)
    assert only_pos.ndcg == 1.0 and np.isnan(only_pos.gauc)


@settings(deadline=None, max_examples=100)
@given(case=ranking_case())
def test_kernel_matches_reference(case: tuple[list[int], list[float], list[list[float]], int]) -> None:
    offsets, s, rels, k = case
    got = ranking_metrics_many(np.array(offsets), np.array(s), np.array(rels).reshape(len(rels), -1), k)
    for m, rel in zip(got, rels, strict=True):
        assert_defined_where_expected(m, offsets, rel)
        np.testing.assert_allclose(fields(m), reference(offsets, s, rel, k), rtol=1e-12, equal_nan=True)
    s32 = np.array(s, np.float32)  # float32 scores may tie where float64 ones did not
    one = ranking_metrics(np.array(offsets), s32, np.array(rels[0]), k)
    expected = reference(offsets, s32.astype(np.float64).tolist(), rels[0], k)
    np.testing.assert_allclose(fields(one), expected, rtol=1e-12, equal_nan=True)


@settings(deadline=None, max_examples=60)
@given(case=ranking_case())
def test_per_group_terms_average_to_the_metrics(
        case: tuple[list[int], list[float], list[list[float]], int]) -> None:
    offsets, s, rels, k = case
    rel = np.array(rels).reshape(len(rels), -1)
    whole = ranking_metrics_many(np.array(offsets), np.array(s), rel, k)
    for g, m, r in zip(ranking_by_group(np.array(offsets), np.array(s), rel, k), whole, rel,
                       strict=True):
        assert_defined_where_expected(m, offsets, r)
        assert g.size.tolist() == np.diff(offsets).tolist()
        mean = (lambda x: np.nanmean(x) if (~np.isnan(x)).any() else NAN)  # noqa: E731
        gauc = (np.nansum(g.auc * g.size) / g.size[~np.isnan(g.auc)].sum()
                if (~np.isnan(g.auc)).any() else NAN)
        np.testing.assert_allclose([mean(g.ndcg), mean(g.recall), mean(g.mrr), gauc],
                                   fields(m), rtol=1e-12, equal_nan=True)


def test_weighted_auc_is_the_auc_of_repeated_rows(rng: np.random.Generator) -> None:
    groups = rng.integers(0, 6, 80)
    y = (rng.random(80) < 0.4).astype(float)
    s = np.round(rng.normal(size=80), 1)  # ties across groups
    w = rng.integers(0, 4, (3, 6)).astype(float)
    got = weighted_auc(y, s, groups, np.vstack([np.ones(6), w]))
    assert got[0] == pytest.approx(binary_metrics(y, s).auc, abs=1e-12)
    for row, expected in zip(w, got[1:], strict=True):
        reps = row[groups].astype(int)
        yy, ss = np.repeat(y, reps), np.repeat(s, reps)
        want = binary_metrics(yy, ss).auc if 0 < yy.sum() < yy.size else NAN
        np.testing.assert_allclose(expected, want, atol=1e-12, equal_nan=True)
    with pytest.raises(ValueError, match="weights: expected shape"):
        weighted_auc(y, s, groups, np.ones((2, 3)))


def test_large_groups_match_reference(rng: np.random.Generator) -> None:
    # groups longer than one insertion-sort run exercise the merge passes
    offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 300, 12))])
    n = int(offsets[-1])
    s = rng.choice(np.array(SCORES + [3.0, 4.0, 5.0]), n)
    rel = rng.choice(np.array(GAINS), (2, n))
    for m, r in zip(ranking_metrics_many(offsets, s, rel, 20), rel, strict=True):
        expected = reference(offsets.tolist(), s.tolist(), r.tolist(), 20)
        np.testing.assert_allclose(fields(m), expected, rtol=1e-12)


@settings(deadline=None, max_examples=50)
@given(case=ranking_case(), seed=st.integers(0, 2**16), scale=st.floats(0.01, 100))
def test_invariant_to_row_permutation_and_positive_scale(
    case: tuple[list[int], list[float], list[list[float]], int], seed: int, scale: float
) -> None:
    offsets, _, rels, k = case
    rng = np.random.default_rng(seed)
    offs, rel = np.array(offsets), np.array(rels).reshape(len(rels), -1)
    s = rng.permutation(rel.shape[1]).astype(np.float64)  # distinct scores
    groups = [lo + rng.permutation(hi - lo) for lo, hi in zip(offs[:-1], offs[1:], strict=True)]
    perm = np.concatenate([np.arange(0), *groups])
    whole = ranking_metrics_many(offs, s, rel, k)
    for m, r in zip(whole, rel, strict=True):  # comparing NaN with NaN proves nothing
        assert_defined_where_expected(m, offs, r)
    base = [fields(m) for m in whole]
    for s2, rel2 in ((s[perm], rel[:, perm]), (s * scale, rel)):
        for b, m in zip(base, ranking_metrics_many(offs, s2, rel2, k), strict=True):
            np.testing.assert_allclose(fields(m), b, rtol=1e-12, equal_nan=True)


@settings(deadline=None, max_examples=50)
@given(case=ranking_case())
def test_perfect_ranking(case: tuple[list[int], list[float], list[list[float]], int]) -> None:
    offsets, _, rels, k = case
    rel = np.array(rels[0])
    m = ranking_metrics(np.array(offsets), rel, rel, k)
    assert_defined_where_expected(m, offsets, rel)
    no_pos, _, _, no_pair = undefined(offsets, rel)
    if not no_pos:  # some group has a relevant row: a perfect ranking scores 1
        assert m.ndcg == pytest.approx(1.0) and m.mrr == 1.0
    if not no_pair:  # some group has a relevant and an irrelevant row
        assert m.gauc == 1.0


def test_ranking_input_errors() -> None:
    offs, s, rel = np.array([0, 2]), np.array([1.0, 2.0]), np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="k: must be >= 1, got 0"):
        ranking_metrics(offs, s, rel, 0)
    with pytest.raises(ValueError, match=r"relevances: expected shape \(n_tasks, 2\)"):
        ranking_metrics(offs, s, rel[:1], 3)
    with pytest.raises(ValueError, match="must not be NaN"):
        ranking_metrics(offs, s, np.array([NAN, 1.0]), 3)
    # a negative relevance (a loss-making sale) gains nothing, like 0
    neg = ranking_metrics(offs, np.array([2.0, 1.0]), np.array([-5.0, 1.0]), 3)
    zero = ranking_metrics(offs, np.array([2.0, 1.0]), np.array([0.0, 1.0]), 3)
    assert neg.ndcg == zero.ndcg < 1.0
    for bad in ([1, 2], [0, 1], [0, 3, 2], []):
        with pytest.raises(ValueError, match="offsets: must start at 0, never decrease"):
            ranking_metrics(np.array(bad, np.int64), s, rel, 3)
    with pytest.raises(ValueError, match="offsets: expected integers, got dtype float64"):
        ranking_metrics(np.array([0.0, 2.0]), s, rel, 3)
    with pytest.raises(ValueError, match=r"scores: expected a 1-d array, got shape \(1, 2\)"):
        ranking_metrics(offs, s[None], rel, 3)


# ------------------------------------------------------- pointwise metrics


def test_binary_metrics_by_hand() -> None:
    m = binary_metrics([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.4])
    assert m.auc == 0.875 and m.positive_rate == 0.5 and m.n == 4
    assert m.log_loss == pytest.approx(-(2 * math.log(0.9) + math.log(0.4) + math.log(0.6)) / 4)
    clipped = binary_metrics([1, 0], [0.0, 1.0])
    assert clipped.log_loss == pytest.approx(-math.log(1e-7), rel=1e-6)
    assert np.isnan(binary_metrics([1, 1], [0.2, 0.3]).auc)
    assert np.isnan(binary_metrics([], []).log_loss)


def test_binary_auc_matches_pairwise_count(rng: np.random.Generator) -> None:
    for _ in range(10):
        y = rng.integers(0, 2, 60)
        p = rng.integers(0, 5, 60) / 4  # many ties
        pairs = [beats(a, b) for a, ya in zip(p, y, strict=True) for b, yb in zip(p, y, strict=True)
                 if ya == 1 and yb == 0]
        assert binary_metrics(y, p).auc == pytest.approx(np.mean(pairs), abs=1e-12)


def test_pointwise_errors() -> None:
    with pytest.raises(ValueError, match="y and p: lengths differ, 2 != 3"):
        binary_metrics([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y: labels must be 0 or 1"):
        binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="y and p: contain NaN"):
        binary_metrics([0, 1], [0.1, NAN])
    with pytest.raises(ValueError, match="y and pred: lengths differ"):
        regression_metrics([0.0], [1.0, 2.0])


def test_regression_metrics_by_hand() -> None:
    m = regression_metrics([1.0, 2.0], [2.0, 4.0])
    assert (m.rmse, m.mae, m.n) == (pytest.approx(math.sqrt(2.5)), 1.5, 2)
    assert np.isnan(regression_metrics([], []).rmse)


# ------------------------------------------------------------ top-k lists


def test_topk_hits_by_hand() -> None:
    topk = np.array([[1, 2, -1], [3, 3, 4], [5, -1, -1]], np.int32)
    m = topk_hits(topk, np.array([0, 2, 3, 3]), np.array([2, 5, 3], np.int32))
    assert (m.hit_rate, m.recall, m.n_users) == (1.0, 0.75, 2)  # user 2 has no positives
    none = topk_hits(topk[:1], np.array([0, 0]), np.array([], np.int32))
    assert none.n_users == 0 and np.isnan(none.recall)


@settings(deadline=None, max_examples=60)
@given(lists=st.lists(st.tuples(st.lists(st.integers(-1, 7), min_size=3, max_size=3),
                                st.sets(st.integers(0, 9), max_size=4)), max_size=8))
def test_topk_hits_matches_reference(lists: list[tuple[list[int], set[int]]]) -> None:
    topk = np.array([t for t, _ in lists], np.int32).reshape(len(lists), 3)
    indptr = np.concatenate([[0], np.cumsum([len(p) for _, p in lists])]).astype(np.int64)
    items = np.array([i for _, p in lists for i in sorted(p)], np.int32)
    users = [(len(set(t) & p), len(p)) for t, p in lists if p]
    m = topk_hits(topk, indptr, items)
    assert m.n_users == len(users)
    if users:
        assert m.hit_rate == pytest.approx(np.mean([h > 0 for h, _ in users]))
        assert m.recall == pytest.approx(np.mean([h / n for h, n in users]))
        assert np.nanmean(m.per_user, axis=0) == pytest.approx([m.hit_rate, m.recall])
    assert np.isnan(m.per_user[:, 0]).sum() == len(lists) - len(users)


def test_list_metrics_by_hand() -> None:
    topk = np.array([[1, 2, -1], [3, 3, 4], [0, -1, -1]])
    assert catalogue_coverage(topk, 10) == 0.5
    # pairs: (1, 2) differ; (3, 3) same, (3, 4) twice differ; the one-item list is left out
    assert intra_list_diversity(topk, np.array([0, 0, 1, 1, 2], np.int32)) == pytest.approx(
        (1 + 2 / 3) / 2
    )
    pop = np.array([4.0, 1.0, 2.0, 0.0, 1.0])  # shares 1/2, 1/8, 1/4, 0, 1/8
    bits = [3, 2, -math.log2(1e-12), -math.log2(1e-12), 3, 1]
    assert novelty(topk, pop) == pytest.approx(np.mean(bits))
    assert novelty(topk, pop / pop.sum()) == pytest.approx(np.mean(bits))
    assert np.isnan(intra_list_diversity(topk[2:], np.zeros(5, np.int32)))
    assert np.isnan(novelty(np.full((2, 3), -1), pop))


@settings(deadline=None, max_examples=60)
@given(lists=st.lists(st.lists(st.integers(-1, 5), min_size=4, max_size=4), max_size=6),
       cat=st.lists(st.integers(0, 2), min_size=6, max_size=6))
def test_diversity_matches_reference(lists: list[list[int]], cat: list[int]) -> None:
    shares = []
    for row in lists:
        c = [cat[i] for i in row if i >= 0]
        pairs = [(a, b) for i, a in enumerate(c) for b in c[i + 1 :]]
        if pairs:
            shares.append(np.mean([a != b for a, b in pairs]))
    got = intra_list_diversity(np.array(lists, np.int64).reshape(len(lists), 4), np.array(cat))
    assert (np.isnan(got) and not shares) or got == pytest.approx(np.mean(shares))


def test_list_metric_errors() -> None:
    with pytest.raises(ValueError, match=r"topk: expected shape \(n_users, k\) with k >= 1"):
        catalogue_coverage(np.zeros((2, 0), np.int32), 5)
    with pytest.raises(ValueError, match=r"topk: item indices must lie in \[-1, 5\), got 0..5"):
        catalogue_coverage(np.array([[0, 5]]), 5)
    with pytest.raises(ValueError, match="topk: expected integer item indices"):
        intra_list_diversity(np.array([[0.0, 1.0]]), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match=r"pos_indptr: expected n_users \+ 1 = 2 entries, got 3"):
        topk_hits(np.array([[0, 1]]), np.array([0, 1, 1]), np.array([1]))
    with pytest.raises(ValueError, match="item_popularity: must be finite, non-negative"):
        novelty(np.array([[0]]), np.zeros(3))


# ------------------------------------------------------------ weight sweeps


@pytest.mark.parametrize(("n_tasks", "steps"), [(1, 2), (2, 2), (3, 5), (4, 11), (5, 6)])
def test_simplex_grid(n_tasks: int, steps: int) -> None:
    grid = simplex_grid(n_tasks, steps)
    assert grid.shape == (math.comb(steps - 1 + n_tasks - 1, n_tasks - 1), n_tasks)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0, rtol=1e-12)
    units = grid * (steps - 1)
    np.testing.assert_allclose(units, np.round(units), atol=1e-9)
    assert (grid >= 0).all() and len(np.unique(grid, axis=0)) == len(grid)
    assert [tuple(r) for r in grid] == sorted((tuple(r) for r in grid), reverse=True)
    assert grid[0, 0] == 1.0 and grid[-1, -1] == 1.0


def test_simplex_grid_errors() -> None:
    with pytest.raises(ValueError, match="need n_tasks >= 1 and steps >= 2, got 3, 1"):
        simplex_grid(3, 1)
    with pytest.raises(ValueError, match="rows exceed 1000000; use fewer steps"):
        simplex_grid(10, 101)


def brute_pareto(x: NDArray[np.float64], maximize: NDArray[np.bool_]) -> NDArray[np.bool_]:
    y = np.where(maximize, x, -x)
    ok = ~np.isnan(y).any(axis=1)
    return np.array([
        ok[i] and not any(ok[j] and (y[j] >= y[i]).all() and (y[j] > y[i]).any() for j in range(len(y)))
        for i in range(len(y))
    ], dtype=bool)  # fmt: skip


@settings(deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, NAN]), min_size=3, max_size=3),
                     max_size=25),
       maximize=st.lists(st.booleans(), min_size=3, max_size=3))
def test_pareto_matches_brute_force(rows: list[list[float]], maximize: list[bool]) -> None:
    pts, mx = np.array(rows).reshape(len(rows), 3), np.array(maximize)
    np.testing.assert_array_equal(pareto_mask(pts, mx), brute_pareto(pts, mx))


def test_pareto_by_hand() -> None:
    pts = np.array([[1, 2], [2, 1], [1, 1], [NAN, 5], [2, 1], [0, 0]], float)
    got = pareto_mask(pts, np.array([True, True]))
    np.testing.assert_array_equal(got, [True, True, False, False, True, False])
    got = pareto_mask(pts, np.array([False, False]))
    np.testing.assert_array_equal(got, [False, False, False, False, False, True])
    with pytest.raises(ValueError, match=r"pareto_mask: expected points \(n_points, m\)"):
        pareto_mask(pts, np.array([True]))
