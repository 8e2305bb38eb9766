"""Tests of ``recsys.blend``: transforms, weights, the blend and the fused top-K."""

from __future__ import annotations

import json
import warnings
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from numpy.typing import NDArray

from recsys.blend import (
    TRANSFORM_KINDS,
    BlendSpec,
    BlendWeights,
    Transform,
    TransformKind,
    blend,
    fit_transform,
    top_k,
)
from recsys.errors import BlendError

KINDS: list[TransformKind] = list(TRANSFORM_KINDS)
TASKS = ["ctr", "cvr", "dwell", "returns"]

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
wide = st.floats(-3e3, 3e3, allow_nan=False, allow_subnormal=False)
weight = st.floats(0.0, 10.0, allow_subnormal=False)
four_weights = st.lists(weight, min_size=4, max_size=4)
# no deadline: the first example may load numba kernels; 60 examples keep the file quick
PROPERTY = settings(deadline=None, max_examples=60)
training = hnp.arrays(np.float64, st.integers(1, 40), elements=finite)
queries = hnp.arrays(np.float64, st.integers(1, 40), elements=wide)


def fit_quiet(kind: TransformKind, scores: NDArray[Any], **kw: Any) -> Transform:
    """``fit_transform`` without the degenerate-fit warning (tested on its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fit_transform(kind, scores, **kw)


# ---------------------------------------------------------------- transforms


@PROPERTY
@given(kind=st.sampled_from(KINDS), data=training, x=queries)
def test_transform_is_monotone(kind: TransformKind, data: NDArray[Any], x: NDArray[Any]) -> None:
    tr = fit_quiet(kind, data, n_knots=33)
    xs = np.sort(np.concatenate([x, data]))
    with np.errstate(over="ignore"):  # a tiny fitted range can overflow float32 to inf
        for g in (tr.apply(xs), tr.apply(xs.astype(np.float32))):
            assert np.all(g[1:] >= g[:-1])  # (not np.diff: inf - inf is NaN)
    assert np.all(tr.slope(xs) >= 0)


@PROPERTY
@given(kind=st.sampled_from(KINDS), data=training, x=queries, x0=queries, same=st.data())
def test_quotient_times_step_is_the_transformed_step(
    kind: TransformKind, data: NDArray[Any], x: NDArray[Any], x0: NDArray[Any], same: Any
) -> None:
    tr = fit_quiet(kind, data, n_knots=65)
    n = min(x.size, x0.size)
    x, x0 = x[:n], x0[:n].copy()
    tie = same.draw(hnp.arrays(np.bool_, n))
    x0[tie] = x[tie]  # include x == x0
    gx, g0 = tr.apply(x), tr.apply(x0)
    lhs = tr.quotient(x, x0) * (x - x0)
    scale = np.maximum(np.maximum(np.abs(gx), np.abs(g0)), 1.0)
    assert np.all(np.abs(lhs - (gx - g0)) <= 1e-9 * scale)


@pytest.mark.parametrize("kind", KINDS)
def test_quotient_is_slope_at_x0(kind: TransformKind, rng: np.random.Generator) -> None:
    tr = fit_transform(kind, rng.normal(size=500), n_knots=11)
    x = np.concatenate([rng.normal(size=50), np.asarray(tr.params), [-9.0, 9.0]])
    np.testing.assert_array_equal(tr.quotient(x, x), tr.slope(x))


def test_percentile_quotient_across_knots_and_tiny_steps(rng: np.random.Generator) -> None:
    tr = fit_transform("percentile", rng.normal(size=2000), n_knots=21)
    k = np.asarray(tr.params)
    x0 = np.array([k[3] - 1e-14, k[5] - 0.01, -50.0, k[-1], -50.0, k[0]])
    x = np.array([k[3] + 1e-14, k[9] + 0.01, 50.0, 60.0, k[1], np.inf])
    q = tr.quotient(x, x0)
    slopes = sorted([tr.slope(x0[0]), tr.slope(x[0])])
    assert slopes[0] < slopes[1] and slopes[0] <= q[0] <= slopes[1]  # tiny step over a knot
    gap = (tr.apply(x) - tr.apply(x0))[:5]  # interp's own rounding is ~1e-17 here
    np.testing.assert_allclose(q[:5] * (x - x0)[:5], gap, rtol=1e-12, atol=1e-15)
    assert q[2] == pytest.approx(1 / 100) and q[3] == 0.0 and q[5] == 0.0


def test_percentile_slope_uses_right_piece_and_is_zero_outside() -> None:
    tr = Transform("percentile", (0.0, 1.0, 3.0))  # probabilities 0, 0.5, 1
    np.testing.assert_allclose(
        tr.slope([-1.0, 0.0, 0.5, 1.0, 2.9, 3.0, 4.0]), [0, 0.5, 0.5, 0.25, 0.25, 0, 0]
    )
    np.testing.assert_allclose(tr.apply([-1.0, 0.0, 1.0, 2.0, 3.0, 7.0]), [0, 0, 0.5, 0.75, 1, 1])


def test_zscore_standardises_training_data(rng: np.random.Generator) -> None:
    data = rng.normal(5.0, 3.0, size=10_000)
    z = fit_transform("zscore", data).apply(data)
    assert abs(z.mean()) < 1e-12
    assert z.std() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(fit_transform("zscore", data).quotient(data, 0.0), 1 / data.std())


def test_percentile_maps_median_to_one_half(rng: np.random.Generator) -> None:
    data = rng.lognormal(size=10_001)
    tr = fit_transform("percentile", data)
    assert tr.apply(np.median(data)) == pytest.approx(0.5, abs=1e-3)
    assert tr.apply(data).min() == 0.0 and tr.apply(data).max() == 1.0


def test_minmax_maps_range_to_unit_interval_without_clipping() -> None:
    tr = fit_transform("minmax", np.array([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(tr.apply([2.0, 6.0, 8.0]), [0.0, 1.0, 1.5])


@pytest.mark.parametrize("kind", KINDS)
def test_nan_and_dtypes(kind: TransformKind, rng: np.random.Generator) -> None:
    data = rng.normal(size=300)
    tr = fit_transform(kind, np.concatenate([data, [np.nan, np.inf, np.nan]]))
    assert tr == fit_transform(kind, data)  # non-finite scores are ignored in the fit
    out = tr.apply(np.array([np.nan, 0.0]))
    assert np.isnan(out[0]) and not np.isnan(out[1])
    assert np.isnan(tr.slope([np.nan])[0])
    assert np.isnan(tr.quotient([np.nan, 1.0], [0.0, np.nan])).all()
    assert tr.apply(np.arange(3, dtype=np.float32)).dtype == np.float32
    assert tr.apply(np.arange(3)).dtype == np.float64


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_round_trips_through_json(kind: TransformKind, rng: np.random.Generator) -> None:
    tr = fit_transform(kind, rng.normal(size=1000) * 1e-3 + 1 / 3)
    back = Transform.from_dict(json.loads(json.dumps(tr.to_dict())))
    assert back == tr
    x = rng.normal(size=20)
    np.testing.assert_array_equal(back.apply(x), tr.apply(x))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("zscore", (3.0, 1.0)), ("minmax", (3.0, 4.0)), ("percentile", (2.5, 3.5))],
)
def test_degenerate_fit(kind: TransformKind, expected: tuple[float, float]) -> None:
    with pytest.warns(RuntimeWarning, match=f"transform '{kind}': fewer than 2 distinct finite"):
        tr = fit_transform(kind, np.array([3.0, 3.0, np.nan]))
    assert tr.params == expected
    with pytest.warns(RuntimeWarning, match=r"\(0 finite of 2\)"):
        empty = fit_transform(kind, np.array([np.nan, np.nan]))
    assert np.isfinite(empty.apply(np.array([0.0, 1.0]))).all()


def test_percentile_merges_equal_quantiles() -> None:
    tr = fit_transform("percentile", np.array([0.0] * 50 + [1.0, 2.0, 3.0]), n_knots=101)
    assert np.all(np.diff(tr.params) > 0) and tr.params[0] == 0.0 and tr.params[-1] == 3.0
    noisy = fit_transform("percentile", np.array([1.0, 1.0 + 2e-16, 3.0]), n_knots=5)
    assert noisy.params == (1.0, 2.0, 3.0)  # 1 ulp apart: float noise, merged
    close = fit_transform("percentile", np.array([1e6, 1e6 + 1e-7]))
    assert close.params == (1e6, 1e6 + 1e-7)  # all quantiles within the noise band


def test_transform_errors_name_the_problem() -> None:
    with pytest.raises(
        BlendError, match="unknown transform 'log'; valid kinds are 'zscore', 'percentile', 'minmax'"
    ):
        fit_transform("log", np.arange(3.0))  # type: ignore[arg-type]
    with pytest.raises(BlendError, match="n_knots must be >= 2, got 1"):
        fit_transform("percentile", np.arange(3.0), n_knots=1)
    with pytest.raises(
        BlendError, match=r"'zscore': params must be \(mean, std > 0\), got \(0.0, 0.0\)"
    ):
        Transform("zscore", (0.0, 0.0))
    with pytest.raises(BlendError, match=r"'minmax': params must be \(lo, hi > lo\)"):
        Transform("minmax", (1.0, 1.0))
    with pytest.raises(BlendError, match="at least 2 strictly increasing knots, got 3"):
        Transform("percentile", (0.0, 2.0, 1.0))
    with pytest.raises(BlendError, match="params must be finite numbers"):
        Transform("zscore", (np.nan, 1.0))
    with pytest.raises(
        BlendError, match="needs keys 'kind' and 'params', got \\{'kind': 'zscore'\\}"
    ):
        Transform.from_dict({"kind": "zscore"})
    with pytest.raises(BlendError, match="params must be numbers, got \\['a', 1\\]"):
        Transform.from_dict({"kind": "zscore", "params": ["a", 1]})


# ---------------------------------------------------------------- weights


def test_blend_weights_keep_order_and_copy_on_write() -> None:
    w = BlendWeights.of({"cvr": 2, "ctr": 0.5})
    assert w.weights == (("cvr", 2.0), ("ctr", 0.5))
    assert w.get("ctr") == 0.5
    d = w.as_dict()
    d["ctr"] = 9.0
    assert w.as_dict() == {"cvr": 2.0, "ctr": 0.5}
    np.testing.assert_array_equal(w.vector(["ctr", "cvr"], [1, -1]), [0.5, -2.0])


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"ctr": -0.2}, "task 'ctr': blend weight must be >= 0, got -0.2; minimise a task"),
        ({"ctr": float("nan")}, "task 'ctr': blend weight must be a finite number, got nan"),
        ({"ctr": float("inf")}, "task 'ctr': blend weight must be a finite number, got inf"),
        ({"ctr": "high"}, "task 'ctr': blend weight must be a finite number, got 'high'"),
        ({"": 1.0}, "task names must be distinct, non-empty strings, got ''"),
    ],
)
def test_invalid_weights_raise(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(BlendError, match=message):
        BlendWeights.of(mapping)
    if "" not in mapping:  # the spec validates the same way
        spec = BlendSpec.resolve(["ctr", "cvr"], [1, 1], {"ctr": 1, "cvr": 1},
                                 transform="zscore", k=5)
        with pytest.raises(BlendError, match=message):
            spec.replace(mapping)


def test_weight_task_errors_name_tasks_with_did_you_mean() -> None:
    w = BlendWeights.of({"ctr": 1.0, "cvrr": 1.0})
    both = r"unknown task 'cvrr' \(did you mean 'cvr'\?\); no weight for task 'cvr'"
    with pytest.raises(BlendError, match=both):
        w.vector(["ctr", "cvr"])
    missing = r"no weight for task 'cvr' .*; no weight for task 'dwell' \(0 turns a task off\)"
    with pytest.raises(BlendError, match=missing):
        BlendWeights.of({"ctr": 1.0}).vector(["ctr", "cvr", "dwell"])
    with pytest.raises(BlendError, match=r"unknown task 'crt' \(did you mean 'ctr'\?\)"):
        w.get("crt")
    with pytest.raises(BlendError, match="task 'ctr': sign must be \\+1 \\(maximise\\) or -1"):
        w.vector(["ctr", "cvrr"], [0.5, 1.0])
    with pytest.raises(BlendError, match="expected 2 signs, got 1"):
        w.vector(["ctr", "cvrr"], [1.0])
    with pytest.raises(BlendError, match="distinct, non-empty strings, got 'a'"):
        BlendWeights((("a", 1.0), ("a", 2.0)))


# ---------------------------------------------------------------- BlendSpec and blend


def _spec(weights: dict[str, float] | None = None, **kw: Any) -> BlendSpec:
    return BlendSpec.resolve(["ctr", "cvr", "returns"], [1, 1, -1],
                             {"ctr": 1.0, "cvr": 2.0, "returns": 0.5}, weights,
                             transform=kw.pop("transform", "zscore"), k=kw.pop("k", 10))


def test_spec_resolves_partial_weights_in_task_order() -> None:
    spec = _spec({"returns": 3.0, "ctr": 0.0})
    assert spec.weights.as_dict() == {"ctr": 0.0, "cvr": 2.0, "returns": 3.0}
    np.testing.assert_array_equal(spec.signed, [0.0, 2.0, -3.0])
    assert not spec.signed.flags.writeable
    assert spec.to_dict() == {"weights": {"ctr": 0.0, "cvr": 2.0, "returns": 3.0},
                              "transform": "zscore", "k": 10}
    moved = spec.replace({"cvr": 1.5}, transform="percentile", k=3)
    assert (moved.weights.get("cvr"), moved.transform, moved.k) == (1.5, "percentile", 3)
    assert spec.weights.get("cvr") == 2.0  # frozen: replace makes a new spec


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"weights": {"ctrr": 1.0}}, r"unknown task 'ctrr' \(did you mean 'ctr'\?\); tasks are ctr"),
        ({"weights": {"cvr": -1.0}}, "task 'cvr': blend weight must be >= 0, got -1.0"),
        ({"weights": {"cvr": float("nan")}}, "task 'cvr': blend weight must be a finite number"),
        ({"transform": "rank"}, "unknown transform 'rank'; valid kinds are 'zscore', 'percentile'"),
        ({"k": 0}, "K must be a whole number >= 1, got 0"),
        ({"k": 2.5}, "K must be a whole number >= 1, got 2.5"),
    ],
)
def test_every_bad_request_is_one_blend_error(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(BlendError, match=message):
        _spec(kw.pop("weights", None), **kw)


dyadic = st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
small_tables = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5),
                                                 st.integers(1, 9)),
                          elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]))


@PROPERTY
@given(table=small_tables, w1=four_weights, w2=four_weights, a=weight, b=weight)
def test_blend_is_linear_in_the_weights(table: NDArray[Any], w1: list[float], w2: list[float],
                                        a: float, b: float) -> None:
    n = table.shape[0]
    v1, v2 = np.array(w1[:n]), np.array(w2[:n])
    np.testing.assert_allclose(blend(table, a * v1 + b * v2),
                               a * blend(table, v1) + b * blend(table, v2), rtol=1e-9, atol=1e-6)


@PROPERTY
@given(table=small_tables, ws=st.lists(dyadic, min_size=4, max_size=4), perm=st.randoms(),
       k=st.integers(1, 12))
def test_top_k_ignores_task_order(table: NDArray[Any], ws: list[float], perm: Any,
                                  k: int) -> None:
    n = table.shape[0]
    order = list(range(n))
    perm.shuffle(order)
    w = np.array(ws[:n]) * np.where(np.arange(n) == 0, -1.0, 1.0)
    idx, score = top_k(table, w, k)
    idx2, score2 = top_k(table[order], w[order], k)  # dyadic values: every sum is exact
    np.testing.assert_array_equal(idx, idx2)
    np.testing.assert_array_equal(score, score2)


@PROPERTY
@given(table=small_tables, ws=st.lists(dyadic, min_size=4, max_size=4), data=st.data())
def test_top_k_rank_is_monotone_in_an_items_task_score(table: NDArray[Any], ws: list[float],
                                                        data: st.DataObject) -> None:
    n_tasks, _, n_cand = table.shape
    w = np.array(ws[:n_tasks])
    t = data.draw(st.integers(0, n_tasks - 1))
    c = data.draw(st.integers(0, n_cand - 1))
    bump = data.draw(st.sampled_from([0.5, 1.0, 4.0]))
    higher = table.copy()
    higher[t, :, c] += bump  # a better score on a task with weight >= 0
    rank = lambda tab: np.argsort(top_k(tab, w, n_cand)[0], axis=1)[:, c]  # noqa: E731
    assert np.all(rank(higher) <= rank(table))
    assert np.all(blend(higher, w)[:, c] >= blend(table, w)[:, c])


# ---------------------------------------------------------------- top_k and blend


def reference_top_k(
    table: NDArray[Any], w: NDArray[Any], k: int, valid: NDArray[np.bool_] | None
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Rank by a full stable sort of the blended score (float64, summed in task order), NaN last."""
    score = np.zeros(table.shape[1:])
    for t in range(table.shape[0]):
        score += w[t] * table[t].astype(np.float64)
    if valid is not None:
        score[~valid] = np.nan
    pad = np.full((score.shape[0], max(k - score.shape[1], 0)), np.nan)
    score = np.concatenate([score, pad], axis=1)
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]
    best = np.take_along_axis(score, order, axis=1)
    return np.where(np.isnan(best), -1, order).astype(np.int32), best.astype(np.float32)


# small integers and halves make exact ties; NaN tests skipping
cell = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]) | st.floats(-5, 5, width=32)
tables = hnp.arrays(
    np.float32, st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 12)), elements=cell
)
task_weights = st.sampled_from([0.0, 0.5, 1.0, -1.0, 2.0, 0.3])


@st.composite
def score_tables(draw: st.DrawFn) -> tuple[NDArray[np.float32], NDArray[np.float64], int, Any]:
    table = draw(tables)
    n_tasks, n_users, n_cand = table.shape
    w = np.array(draw(st.lists(task_weights, min_size=n_tasks, max_size=n_tasks)))
    valid = draw(st.none() | hnp.arrays(np.bool_, (n_users, n_cand)))
    return table, w, draw(st.integers(1, n_cand + 3)), valid


@settings(deadline=None, max_examples=120)
@given(case=score_tables())
def test_top_k_equals_a_full_stable_sort(case: Any) -> None:
    table, w, k, valid = case
    index, score = top_k(table, w, k, valid=valid)
    ref_index, ref_score = reference_top_k(table, w, k, valid)
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_array_equal(score, ref_score)
    blended = blend(table, w).astype(np.float32)
    np.testing.assert_array_equal(
        score, np.where(index >= 0, np.take_along_axis(blended, np.maximum(index, 0), 1), np.nan)
    )


def test_top_k_pads_short_lists_and_breaks_ties_by_index() -> None:
    table = np.array([[[1.0, 3.0, 3.0, np.nan], [np.nan] * 4]], dtype=np.float32)
    valid = np.array([[True, True, True, True], [True, True, True, True]])
    index, score = top_k(table, [2.0], 5, valid=valid)
    np.testing.assert_array_equal(index, [[1, 2, 0, -1, -1], [-1] * 5])
    np.testing.assert_array_equal(score[0, :3], [6.0, 6.0, 2.0])
    assert np.isnan(score[0, 3:]).all() and np.isnan(score[1]).all()
    assert index.dtype == np.int32 and score.dtype == np.float32
    index, _ = top_k(table, [2.0], 1, valid=np.array([[True, False, True, True], [False] * 4]))
    np.testing.assert_array_equal(index, [[2], [-1]])


@pytest.mark.parametrize("n_users", [50, 20_000])  # serial and parallel kernels
def test_blend_matches_tensordot(n_users: int, rng: np.random.Generator) -> None:
    table = rng.normal(size=(3, n_users, 20)).astype(np.float32)
    table[1, 4, 7] = np.nan
    w = np.array([0.5, -1.0, 2.0])
    out = blend(table, w)
    assert out.dtype == np.float64 and out.shape == (n_users, 20)
    np.testing.assert_array_equal(out[:3], blend(table[:, :3], w))  # parallel == serial
    expected = np.tensordot(w, table.astype(np.float64), axes=1)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert np.isnan(out[4, 7]) and np.isnan(out).sum() == 1
    valid = rng.random((n_users, 20)) < 0.7
    for tab in (table, table.astype(np.float64)):
        index, score = top_k(tab, w, 5, valid=valid)
        ref_index, ref_score = reference_top_k(tab, w, 5, valid)
        np.testing.assert_array_equal(index, ref_index)
        np.testing.assert_array_equal(score, ref_score)


def test_top_k_errors() -> None:
    table = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(BlendError, match="top_k: k must be >= 1, got 0"):
        top_k(table, [1.0, 1.0], 0)
    with pytest.raises(
        BlendError, match=r"top_k: table must have shape \(n_tasks, n_users, n_cand\), got \(3, 4\)"
    ):
        top_k(table[0], [1.0], 2)
    with pytest.raises(BlendError, match=r"top_k: w must hold 2 finite task weights, got \[1.0\]"):
        top_k(table, [1.0], 2)
    with pytest.raises(BlendError, match=r"blend: needs one finite weight per task, got "
                                         r"\[1.0, nan\] for a table of shape \(2, 3, 4\)"):
        blend(table, [1.0, np.nan])
    with pytest.raises(BlendError, match=r"top_k: valid must have shape \(3, 4\), got \(4, 3\)"):
        top_k(table, [1.0, 1.0], 2, valid=np.ones((4, 3), dtype=bool))
