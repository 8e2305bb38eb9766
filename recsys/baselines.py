"""Trivial baselines of each task on the test rows, and user-bootstrap confidence intervals.

Every model metric is reported beside the best of these baselines, on the same rows:

``item``
    The item's historical label rate (binary) or mean (regression, rank), smoothed
    toward the global one: ``(label sum + s · global) / (exposures + s)`` over the rows
    before the test window (the train and validation windows), ``s`` the config's
    ``features.smoothing``. These are the numbers of the model's own item-rate feature,
    so a model that only learned item popularity shows no lift over it.
``global``
    The global rate or mean of the same rows, one constant for every row (AUC 0.5).
``random``
    A random order of each user's test exposures: AUC and GAUC 0.5, NDCG@K and recall@K
    their exact expectations over permutations.

Confidence intervals are percentile intervals over `N_BOOTSTRAP` resamples of the test
users (seed `SEED`): each resample draws users with replacement and recomputes every
metric from per-user sufficient statistics (pooled AUC by one weighted pass per
resample). The lift's interval is paired: model and baseline see the same resampled users.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recsys._metrics_kernels import _resampled_sums
from recsys.metrics import GroupRanking, ranking_by_group, weighted_auc
from recsys.tasks import TaskSpec, natural_prediction

__all__ = ["BASELINES", "CONFIDENCE", "N_BOOTSTRAP", "SEED", "MetricReport", "UserBootstrap",
           "item_baseline", "metric_reports", "natural_prediction", "random_ranking",
           "ranking_reports", "user_mean_report"]

BASELINES = ("item", "global", "random")
"""Baseline names, as in `MetricReport.baselines`."""
N_BOOTSTRAP = 200
"""Bootstrap resamples of the test users."""
CONFIDENCE = 0.95
"""Coverage of the percentile confidence intervals."""
SEED = 0
"""Seed of the user resamples (same seed, same intervals)."""
_CLIP = 1e-7


@dataclass(frozen=True, slots=True)
class MetricReport:
    """One metric of one task beside its best baseline, with bootstrap intervals."""

    task: str
    metric: str
    """``auc``, ``log_loss``, ``rmse``, ``mae``, ``ndcg@K``, ``recall@K``, ``mrr``, ``gauc``."""
    value: float
    """The model's metric on the test rows; NaN when not defined (see `reason`)."""
    ci_low: float
    ci_high: float
    baseline_name: str | None
    """The best baseline on this metric (one of `BASELINES`); None if none applies."""
    baseline_value: float
    lift: float
    """Improvement over the best baseline, > 0 when the model is better: ``value -
    baseline`` where higher is better, ``baseline - value`` where lower is."""
    lift_ci_low: float
    lift_ci_high: float
    n_rows: int
    """Test rows behind the metric (for per-user metrics: rows of the users counted)."""
    n_positives: int
    """Rows with label > 0 among them."""
    n_users: int
    """Users behind the metric (for NDCG: users with a positive; GAUC: with both)."""
    higher_is_better: bool
    baselines: Mapping[str, float] = field(default_factory=dict)
    """Every applicable baseline's value, by name."""
    reason: str | None = None
    """Why `value` is not available, when it is NaN."""

    @property
    def beats_baseline(self) -> bool:
        """True when the lift's whole confidence interval is above 0."""
        return bool(self.lift_ci_low > 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: NaN written as None."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            out[name] = {b: _num(x) for b, x in v.items()} if name == "baselines" else _num(v)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricReport:
        """Inverse of :meth:`to_dict` (None back to NaN)."""
        def f(key: str) -> float:
            v = d.get(key)
            return math.nan if v is None else float(v)
        return cls(task=str(d["task"]), metric=str(d["metric"]), value=f("value"),
                   ci_low=f("ci_low"), ci_high=f("ci_high"),
                   baseline_name=d.get("baseline_name"), baseline_value=f("baseline_value"),
                   lift=f("lift"), lift_ci_low=f("lift_ci_low"), lift_ci_high=f("lift_ci_high"),
                   n_rows=int(d["n_rows"]), n_positives=int(d["n_positives"]),
                   n_users=int(d["n_users"]), higher_is_better=bool(d["higher_is_better"]),
                   baselines={b: math.nan if v is None else float(v)
                              for b, v in (d.get("baselines") or {}).items()},
                   reason=d.get("reason"))


def _num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer | np.bool_):
        return v.item()
    return v


@dataclass(frozen=True, slots=True)
class _Estimate:
    """A point estimate and its bootstrap draws."""

    value: float
    draws: NDArray[np.float64]

    @classmethod
    def constant(cls, value: float, n: int) -> _Estimate:
        return cls(float(value), np.full(n, float(value)))


@dataclass(frozen=True, slots=True)
class UserBootstrap:
    """Resamples of a test set's users, as bootstrap counts per user."""

    offsets: NDArray[np.int64]
    """(n_users + 1,) each user's rows, as in `recsys.scoring.TestExposures.offsets`."""
    weights: NDArray[np.integer]
    """(n_resamples, n_users) times each user is drawn in each resample (small integers)."""
    group: NDArray[np.int64]
    """(n_rows,) user index of each row."""

    @classmethod
    def draw(cls, offsets: NDArray[np.int64], n_resamples: int = N_BOOTSTRAP,
             seed: int = SEED) -> UserBootstrap:
        """Draw ``n_resamples`` resamples of the users, with replacement."""
        offs = np.asarray(offsets, dtype=np.int64)
        n = offs.size - 1
        picks = np.random.default_rng(seed).integers(0, max(n, 1), size=(n_resamples, n))
        flat = (np.arange(n_resamples)[:, None] * n + picks).ravel()
        counts = np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n)
        small = counts.max(initial=0) < 2**16
        return cls(offsets=offs, weights=counts.astype(np.uint16) if small else counts,
                   group=np.repeat(np.arange(n, dtype=np.int64), np.diff(offs)))

    @property
    def n_users(self) -> int:
        """Users resampled."""
        return int(self.offsets.size - 1)

    def row_means(self, columns: Sequence[NDArray[np.floating]]) -> list[_Estimate]:
        """Estimate the pooled means of per-row values over all rows.

        Several arrays in one pass: each is the users' own means weighted by their row
        counts.
        """
        counts = np.bincount(self.group, minlength=self.n_users).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_user = [np.bincount(self.group, weights=np.asarray(v, dtype=np.float64),
                                    minlength=self.n_users) / counts for v in columns]
        return self.group_means([(v, counts) for v in per_user])

    def group_means(self, columns: Sequence[tuple[NDArray[np.floating],
                                                  NDArray[np.floating | np.integer] | None]]
                    ) -> list[_Estimate]:
        """Estimate the weighted means of several per-user value arrays.

        Users with NaN are left out. All columns share one pass over the resamples; each
        column is ``(values, weight or None)``.
        """
        parts = []
        for values, weight in columns:
            v = np.asarray(values, dtype=np.float64)
            ok = ~np.isnan(v)
            w = ok * (1.0 if weight is None else np.asarray(weight, dtype=np.float64))
            parts += [np.where(ok, v, 0.0) * w, w]
        if not parts:
            return []
        stacked = np.column_stack(parts)
        active = np.flatnonzero((stacked[:, 1::2] != 0).any(axis=1))  # users that count
        total = stacked.sum(axis=0)
        draws = _resampled_sums(self.weights, np.ascontiguousarray(stacked[active]), active)
        with np.errstate(invalid="ignore", divide="ignore"):
            return [_Estimate(float(total[j] / total[j + 1]) if total[j + 1] > 0 else math.nan,
                              draws[:, j] / draws[:, j + 1]) for j in range(0, len(parts), 2)]

    def group_mean(self, values: NDArray[np.floating],
                   weight: NDArray[np.floating] | None = None) -> _Estimate:
        """Weighted mean of per-user values, users with NaN left out."""
        return self.group_means([(values, weight)])[0]

    def auc(self, y: NDArray[np.floating], scores: NDArray[np.floating]) -> _Estimate:
        """Pooled AUC of all rows and of each resample."""
        w = np.vstack([np.ones((1, self.n_users)), self.weights])
        out = weighted_auc(y, scores, self.group, w)
        return _Estimate(float(out[0]), out[1:])


def item_baseline(item_totals: NDArray[np.floating], label: int,
                  smoothing: float) -> tuple[NDArray[np.float64], float]:
    """Each item's smoothed historical label rate or mean, and the global one.

    Parameters
    ----------
    item_totals : ndarray of float, shape (n_items, 1 + n_labels)
        Per item: exposures, then each label's sum, over the rows before the test window
        (`recsys.features.FeatureStore.item_totals`).
    label : int
        Which label (column ``1 + label``).
    smoothing : float
        Pseudo-count ``s`` of ``(sum + s · global) / (exposures + s)``.

    Returns
    -------
    (ndarray of shape (n_items,), float)
        Item values (the global value for an item never seen) and the global value.
    """
    totals = np.asarray(item_totals, dtype=np.float64)
    cnt, lab = totals[:, 0], totals[:, 1 + label]
    glob = float(lab.sum() / cnt.sum()) if cnt.sum() > 0 else 0.0
    den = cnt + smoothing
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(den > 0, (lab + smoothing * glob) / np.where(den > 0, den, 1.0), glob)
    return rate, glob


def random_ranking(offsets: NDArray[np.int64], relevance: NDArray[np.floating],
                   k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Compute the expected NDCG@k and recall@k of each user's rows in random order.

    A row is at each rank with probability 1/n, so E[DCG] = Σ gains · Σ_{r<min(k, n)}
    disc(r) / n and E[recall] = min(k, n) / n. NaN for users without a relevant row.
    """
    offs = np.asarray(offsets, dtype=np.int64)
    rel = np.asarray(relevance, dtype=np.float64)
    n = np.diff(offs)
    grp = np.repeat(np.arange(n.size), n)
    order = np.lexsort((-rel, grp))
    rank = np.arange(rel.size) - offs[grp]
    disc = np.where(rank < k, 1.0 / np.log2(rank + 2.0), 0.0)
    idcg = np.bincount(grp, weights=rel[order] * disc, minlength=n.size)
    gain = np.bincount(grp, weights=rel, minlength=n.size)
    cum = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, int(n.max(initial=0)) + 2)))]
    top = np.minimum(n, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = np.where(idcg > 0, gain / np.maximum(n, 1) * cum[top] / idcg, np.nan)
        recall = np.where(idcg > 0, top / np.maximum(n, 1), np.nan)
    return ndcg, recall


def _interval(draws: NDArray[np.float64]) -> tuple[float, float]:
    d = draws[np.isfinite(draws)]
    if d.size == 0:
        return math.nan, math.nan
    tail = 50.0 * (1.0 - CONFIDENCE)
    lo, hi = np.percentile(d, [tail, 100.0 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class _Counts:
    n_rows: int
    n_positives: int
    n_users: int


def _report(task: str, metric: str, higher: bool, model: _Estimate,
            baselines: Mapping[str, _Estimate], counts: _Counts,
            reason: str | None = None) -> MetricReport:
    """Pick the best baseline and compute the paired lift and the intervals."""
    sign = 1.0 if higher else -1.0
    usable = {b: e for b, e in baselines.items() if math.isfinite(e.value)}
    best = max(usable, key=lambda b: sign * usable[b].value) if usable else None
    lo, hi = _interval(model.draws)
    if best is None or not math.isfinite(model.value):
        lift, lift_lo, lift_hi = math.nan, math.nan, math.nan
    else:
        lift = sign * (model.value - usable[best].value)
        lift_lo, lift_hi = _interval(sign * (model.draws - usable[best].draws))
    return MetricReport(
        task=task, metric=metric, value=model.value, ci_low=lo, ci_high=hi,
        baseline_name=best, baseline_value=usable[best].value if best else math.nan,
        lift=lift, lift_ci_low=lift_lo, lift_ci_high=lift_hi, n_rows=counts.n_rows,
        n_positives=counts.n_positives, n_users=counts.n_users, higher_is_better=higher,
        baselines={b: e.value for b, e in baselines.items()},
        reason=reason if not math.isfinite(model.value) else None)


def ranking_reports(task: TaskSpec, model: GroupRanking, item: GroupRanking,
                    y: NDArray[np.float64], boot: UserBootstrap, k: int,
                    metrics: tuple[str, ...] = ("ndcg", "recall", "mrr", "gauc"), *,
                    higher_is_better: bool = True) -> list[MetricReport]:
    """Ranking metrics of each user's test exposures beside the item and random orders.

    ``model`` and ``item`` are `recsys.metrics.ranking_by_group` results for the task's
    label; MRR is reported for binary tasks only (with graded labels every rated row
    counts as relevant, so the first relevant row is always first). For a blend that
    should rank a minimised task's positives last, pass ``higher_is_better=False`` and
    the item order reversed (lowest rate first).
    """
    n_b = boot.weights.shape[0]
    rnd = dict(zip(("ndcg", "recall"), random_ranking(boot.offsets, y, k), strict=True))
    pos = np.bincount(boot.group, weights=(y > 0).astype(np.float64), minlength=boot.n_users)
    has_pos, both = ~np.isnan(model.ndcg), ~np.isnan(model.auc)
    no_mrr = task.kind != "binary"
    columns: dict[tuple[str, str], tuple[NDArray[np.float64], NDArray[np.int64] | None]] = {}
    for m in metrics:
        if m == "gauc":
            columns |= {(m, "model"): (model.auc, model.size), (m, "item"): (item.auc, item.size)}
        elif not (m == "mrr" and no_mrr):
            columns |= {(m, "model"): (getattr(model, m), None),
                        (m, "item"): (getattr(item, m), None)}
            if m in rnd:
                columns[(m, "random")] = (rnd[m], None)
    est = dict(zip(columns, boot.group_means(list(columns.values())), strict=True))
    if "gauc" in metrics:
        est[("gauc", "random")] = _Estimate.constant(0.5 if both.any() else math.nan, n_b)
    out = []
    for m in metrics:
        users = both if m == "gauc" else has_pos
        counts = _Counts(int(model.size[users].sum()), int(pos[users].sum()), int(users.sum()))
        why = {"gauc": "no user has both relevant (label > 0) and other test exposures",
               "mrr": (f"mrr is defined for binary tasks; '{task.name}' is {task.kind} "
                       "(every row with label > 0 counts as relevant)") if no_mrr else None
               }.get(m) or "no test exposure has label > 0"
        model_est = est.get((m, "model"), _Estimate.constant(math.nan, n_b))
        base = {b: e for (mm, b), e in est.items() if mm == m and b != "model"}
        name = f"{m}@{k}" if m in ("ndcg", "recall") else m
        out.append(_report(task.name, name, higher_is_better, model_est, base, counts, why))
    return out


def _pooled_counts(y: NDArray[np.float64], boot: UserBootstrap) -> _Counts:
    return _Counts(int(y.size), int((y > 0).sum()), int((np.diff(boot.offsets) > 0).sum()))


def metric_reports(task: TaskSpec, y: NDArray[np.floating], score: NDArray[np.floating],
                   item_value: NDArray[np.floating], global_value: float,
                   boot: UserBootstrap, k: int) -> list[MetricReport]:
    """Every health metric of one task, beside its baselines.

    Parameters
    ----------
    task : TaskSpec
        The task (its kind picks the metrics).
    y : ndarray of float, shape (n_rows,)
        Test labels, grouped by user as ``boot.offsets``.
    score : ndarray of float, shape (n_rows,)
        The task's score of each row (`recsys.tasks.task_score`).
    item_value : ndarray of float, shape (n_rows,)
        The row item's baseline value (`item_baseline`, gathered by row).
    global_value : float
        The global rate or mean.
    boot : UserBootstrap
        Resamples of the test users.
    k : int
        Cut-off of NDCG@k.

    Returns
    -------
    list of MetricReport
        Binary: auc, log_loss, ndcg@k, gauc. Regression: rmse, mae, ndcg@k, gauc.
        Rank: ndcg@k, gauc.
    """
    yy = np.asarray(y, dtype=np.float64)
    pred = natural_prediction(task, score)
    item = np.asarray(item_value, dtype=np.float64)
    glob = np.full(yy.size, global_value)
    n_b, counts = boot.weights.shape[0], _pooled_counts(yy, boot)
    out: list[MetricReport] = []
    if task.kind == "binary":
        one_class = "the test labels hold one class only"
        half = _Estimate.constant(0.5 if 0 < counts.n_positives < yy.size else math.nan, n_b)
        out.append(_report(task.name, "auc", True, boot.auc(yy, pred),
                           {"item": boot.auc(yy, item), "global": half, "random": half},
                           counts, one_class))

        def loss(p: NDArray[np.float64]) -> NDArray[np.float64]:
            pc = np.clip(p, _CLIP, 1 - _CLIP)
            return -(yy * np.log(pc) + (1.0 - yy) * np.log1p(-pc))
        m, i, g = boot.row_means([loss(pred), loss(item), loss(glob)])
        out.append(_report(task.name, "log_loss", False, m, {"item": i, "global": g}, counts,
                           "no test rows"))
    elif task.kind == "regression":
        sq = boot.row_means([np.square(p - yy) for p in (pred, item, glob)])
        m, i, g = (_Estimate(math.sqrt(e.value), np.sqrt(e.draws)) for e in sq)
        out.append(_report(task.name, "rmse", False, m, {"item": i, "global": g}, counts,
                           "no test rows"))
        m, i, g = boot.row_means([np.abs(p - yy) for p in (pred, item, glob)])
        out.append(_report(task.name, "mae", False, m, {"item": i, "global": g}, counts,
                           "no test rows"))
    if (yy < 0).any() or np.isnan(yy).any():
        reason = f"ranking metrics need labels >= 0; '{task.label}' has negative values"
        nan = _Estimate.constant(math.nan, n_b)
        return out + [_report(task.name, m, True, nan, {}, counts, reason)
                      for m in (f"ndcg@{k}", "gauc")]
    model_g, item_g = (ranking_by_group(boot.offsets, s, yy[np.newaxis], k)[0]
                       for s in (score, item))
    return out + ranking_reports(task, model_g, item_g, yy, boot, k, ("ndcg", "gauc"))


def user_mean_report(task: str, metric: str, values: NDArray[np.floating], boot: UserBootstrap,
                     n_positives: int, reason: str) -> MetricReport:
    """Report a per-user metric's mean and its interval, without a baseline.

    Users with NaN are left out (e.g. top-K hit rate over candidates).
    """
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    counts = _Counts(int(np.diff(boot.offsets)[ok].sum()), int(n_positives), int(ok.sum()))
    return _report(task, metric, True, boot.group_mean(v), {}, counts, reason)
