"""Candidate generation: several sources, no duplicates, exclusions, recall."""

from __future__ import annotations

import numpy as np

from recsys.candidates import SOURCES, CandidateSet, candidate_recall, generate_candidates


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
