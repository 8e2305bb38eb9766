"""Per-task LightGBM tuning within a time budget (``recsys tune``).

The dataset is loaded and its features built once; then each task gets a seeded Optuna
TPE study over its LightGBM settings, scored by the validation-window metric its model
early-stops on (log loss, l2 or NDCG@10). The first trial of every study is the config's
own settings, so the chosen settings are never worse on that window than the config's.
:func:`write_tuned_config` writes the choice as a new ``config.toml``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import re
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys._tuned_config import check_tuned_output, write_tuned_config
from recsys.config import _did_you_mean
from recsys.errors import SchemaError

if TYPE_CHECKING:
    import optuna

    from recsys.data import Dataset
    from recsys.features import BuiltFeatures
    from recsys.tasks import TaskSpec
    from recsys.train import TaskRows

__all__ = ["ParamValue", "TaskTuning", "TuneResult", "check_tuned_output", "parse_budget",
           "tune", "write_tuned_config"]

log = logging.getLogger(__name__)

ParamValue = int | float
Progress = Callable[[str, float], None]
"""Called with a message (``task click: trial 7, best logloss 0.2431``) and the fraction done."""

_LOAD_SHARE = 0.1
"""Share of the progress bar shown for loading the dataset and building features."""
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$", re.IGNORECASE)
_METRIC = {"binary": ("binary_logloss", "logloss", False), "regression": ("l2", "l2", False),
           "rank": ("ndcg@10", "ndcg@10", True)}
"""Per task kind: LightGBM's validation metric key, its display name, higher is better."""


def _metric(task: TaskSpec) -> tuple[str, str, bool]:
    """Return the validation metric the task's model early-stops on.

    It is LightGBM's default metric of the objective (a regression loss such as
    ``tweedie`` reports its own deviance).
    """
    if task.kind == "regression" and task.objective != "regression":
        return task.objective, task.objective, False
    return _METRIC[task.kind]


@dataclass(frozen=True, slots=True)
class _Range:
    """One searched parameter: bounds (widened to hold the config's value) and scale."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


_SPACE = (
    _Range("num_leaves", 8, 128, log=True, integer=True),
    _Range("max_depth", 3, 12, integer=True),
    _Range("learning_rate", 0.01, 0.3, log=True),
    _Range("min_child_samples", 5, 300, log=True, integer=True),
    _Range("subsample", 0.5, 1.0),
    _Range("colsample_bytree", 0.4, 1.0),
    _Range("reg_lambda", 1e-3, 30.0, log=True),
    _Range("n_estimators", 50, 1000, log=True, integer=True),
)
"""The searched LightGBM settings (names as in ``[task.model]``)."""


@dataclass(frozen=True, slots=True)
class TaskTuning:
    """The outcome of tuning one task."""

    task: str
    kind: str
    metric: str
    """Validation metric the search optimised (``logloss``, ``l2`` or ``ndcg@10``)."""
    higher_is_better: bool
    before: float
    """Validation metric with the config's settings (NaN when the task was not tuned)."""
    after: float
    """Validation metric with the chosen settings (NaN when the task was not tuned)."""
    params: dict[str, ParamValue]
    """Chosen value of every searched setting (the config's own where none was better)."""
    before_params: dict[str, ParamValue]
    """The config's value of every searched setting (LightGBM defaults where unset)."""
    n_trials: int
    seconds: float
    note: str | None = None
    """Why the task was not tuned, if it was not."""

    def changed(self) -> dict[str, tuple[ParamValue, ParamValue]]:
        """Return the settings whose chosen value differs: ``{name: (before, after)}``."""
        return {k: (self.before_params[k], v) for k, v in self.params.items()
                if v != self.before_params[k]}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN metrics as ``None``)."""
        def num(x: float) -> float | None:
            return None if math.isnan(x) else x
        return {"task": self.task, "kind": self.kind, "metric": self.metric,
                "higher_is_better": self.higher_is_better, "before": num(self.before),
                "after": num(self.after), "params": dict(self.params),
                "before_params": dict(self.before_params),
                "changed": {k: list(v) for k, v in self.changed().items()},
                "n_trials": self.n_trials, "seconds": self.seconds, "note": self.note}


@dataclass(frozen=True, slots=True)
class TuneResult:
    """What :func:`tune` found, ready for :func:`write_tuned_config`."""

    tasks: tuple[TaskTuning, ...]
    budget_seconds: float
    seed: int
    seconds: float
    """Wall time of the whole run, loading included."""
    config_digest: str = field(repr=False)
    """SHA-256 of the tuned config file's bytes (writing refuses a config edited since)."""

    def task(self, name: str) -> TaskTuning:
        """Return the tuning of task ``name``."""
        for t in self.tasks:
            if t.task == name:
                return t
        raise SchemaError(f"tune result: no task '{name}'"
                          f"{_did_you_mean(name, [t.task for t in self.tasks])}; tuned tasks: "
                          f"{', '.join(t.task for t in self.tasks)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"budget_seconds": self.budget_seconds, "seed": self.seed,
                "seconds": self.seconds, "tasks": [t.to_dict() for t in self.tasks]}


def parse_budget(text: str) -> float:
    """Seconds in a budget such as ``90s``, ``10m``, ``1h`` or ``600`` (plain seconds).

    Raises
    ------
    SchemaError
        If ``text`` is not a positive duration.
    """
    match = _BUDGET.match(str(text))
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0.0
    if not match or not 0 < seconds < math.inf:
        raise SchemaError(f"budget {str(text)!r}: expected a positive duration in seconds, "
                          "minutes or hours, e.g. 90s, 10m, 1h or 600")
    return seconds


def _selected(ds: Dataset, tasks: Sequence[str] | None) -> tuple[TaskSpec, ...]:
    from recsys.tasks import task_specs

    specs = task_specs(ds.config)
    if tasks is None:
        return specs
    names = [t.name for t in specs]
    wanted = [t.strip() for t in tasks]
    problems = [f"tune: task '{t}' is not in the config{_did_you_mean(t, names)}; tasks: "
                f"{', '.join(names)}" for t in wanted if t not in names]
    if not wanted or any(not t for t in wanted):
        problems.append(f"tune: the task list {list(tasks)!r} names an empty task; give task "
                        f"names separated by commas, e.g. {','.join(names[:2])}")
    if problems:
        raise SchemaError(problems)
    return tuple(t for t in specs if t.name in wanted)


def _current(ds: Dataset, task: TaskSpec) -> tuple[dict[str, Any], dict[str, ParamValue]]:
    """Return the task's TaskModel keywords from the config, and the searched ones."""
    from recsys.models import TaskModel
    from recsys.train import model_params

    params = {**TaskModel().get_params(), **model_params(ds.config, task)}
    params.pop("objective")
    params.pop("name")
    return params, {r.name: params[r.name] for r in _SPACE}


def _suggest(trial: optuna.Trial, current: dict[str, ParamValue]) -> dict[str, ParamValue]:
    """Suggest one trial's settings.

    A sampled float is rounded to 3 significant digits, so what the written config holds
    is exactly what was scored; the first trial (the config's own settings, enqueued)
    keeps its values as they are.
    """
    out: dict[str, ParamValue] = {}
    for r in _SPACE:
        value = current[r.name]
        low, high = min(r.low, value), max(r.high, value)
        log = r.log and low > 0
        if r.integer:
            out[r.name] = trial.suggest_int(r.name, int(low), int(high), log=log)
        else:
            x = trial.suggest_float(r.name, float(low), float(high), log=log)
            out[r.name] = x if trial.number == 0 else float(f"{x:.3g}")
    return out


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial INFO lines off for the block (progress goes to the callback)."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


@dataclass(frozen=True, slots=True)
class _Study:
    """One task's search: its rows, settings and the window of the progress bar."""

    task: TaskSpec
    rows: TaskRows
    base: dict[str, Any]
    current: dict[str, ParamValue]
    start: float
    span: float


def _tune_task(ds: Dataset, built: BuiltFeatures, s: _Study, *, timeout: float,
               n_trials: int | None, seed: int, say: Progress) -> TaskTuning:
    import optuna

    from recsys.train import fit_task_model

    key, metric, higher = _metric(s.task)
    began = time.perf_counter()

    def objective(trial: optuna.Trial) -> float:
        params = _suggest(trial, s.current)
        trial.set_user_attr("params", params)
        model = fit_task_model(s.task, ds, built, s.rows, {**s.base, **params})
        curve = model.evals_result_["validation"][key]
        return float(curve[model.best_iteration_ - 1])

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = (trial.number + 1) / n_trials if n_trials else 0.0
        spent = (time.perf_counter() - began) / timeout if timeout > 0 else 1.0
        say(f"task {s.task.name}: trial {trial.number + 1}, best {metric} "
            f"{study.best_value:.4f}", s.start + s.span * min(1.0, max(done, spent)))

    own_seed = (seed * 1_000_003 + zlib.crc32(s.task.name.encode())) % 2**32
    study = optuna.create_study(direction="maximize" if higher else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=own_seed))
    study.enqueue_trial(dict(s.current))
    study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=[report])
    first, best = study.trials[0], study.best_trial
    before = math.nan if first.value is None else first.value  # None: the trial failed
    return TaskTuning(task=s.task.name, kind=s.task.kind, metric=metric, higher_is_better=higher,
                      before=float(before), after=float(study.best_value),
                      params=dict(best.user_attrs["params"]), before_params=dict(s.current),
                      n_trials=len(study.trials), seconds=time.perf_counter() - began)


def _untuned(task: TaskSpec, current: dict[str, ParamValue], note: str) -> TaskTuning:
    _, metric, higher = _metric(task)
    return TaskTuning(task=task.name, kind=task.kind, metric=metric, higher_is_better=higher,
                      before=math.nan, after=math.nan, params=dict(current),
                      before_params=dict(current), n_trials=0, seconds=0.0, note=note)


def _noop(message: str, fraction: float) -> None:
    log.info("%3.0f%% %s", 100 * fraction, message)


def tune(config_path: str | Path, *, budget_seconds: float,
         tasks: Sequence[str] | None = None, seed: int = 7,
         progress: Progress | None = None, n_trials: int | None = None) -> TuneResult:
    """Search each task's LightGBM settings on the validation window within a time budget.

    Parameters
    ----------
    config_path : str or Path
        The dataset's ``config.toml``.
    budget_seconds : float
        Wall time for the whole run, loading included. What is left after loading is
        shared among the tasks (time one task leaves unused goes to the next); a study
        stops at its share, so the run ends at most one trial past the budget. A task
        whose turn comes after the budget is spent keeps the config's settings.
    tasks : sequence of str, optional
        Task names to tune; default: every task.
    seed : int
        Seed of the search (each task's sampler is seeded from it and the task's name, so a
        task's choice does not depend on which other tasks are tuned): the same config,
        seed and ``n_trials`` give the same choice.
    progress : callable, optional
        Called with a message and the fraction done; default: log at INFO.
    n_trials : int, optional
        Stop each study after this many trials (the budget still applies); the first
        trial is always the config's own settings.

    Returns
    -------
    TuneResult
        Per task the chosen settings, the validation metric before and after, trials and
        seconds.

    Raises
    ------
    SchemaError
        If the dataset or config is invalid, a task name is unknown, the budget is not
        positive, or a task has no training or validation rows.
    """
    started = time.perf_counter()
    if not 0 < budget_seconds < math.inf:
        raise SchemaError(f"tune: budget_seconds must be a positive number of seconds, got "
                          f"{budget_seconds!r}")
    if n_trials is not None and n_trials < 1:
        raise SchemaError(f"tune: n_trials must be at least 1, got {n_trials}")
    from recsys.data import load_dataset
    from recsys.features import build_features
    from recsys.train import task_rows

    deadline = started + budget_seconds
    say = progress or _noop
    digest = hashlib.sha256(Path(config_path).read_bytes()).hexdigest() \
        if Path(config_path).is_file() else ""
    say("loading and validating the dataset", 0.0)
    ds = load_dataset(config_path)
    specs = _selected(ds, tasks)
    say("building shared features", _LOAD_SHARE / 2)
    built = build_features(ds)
    rows = {t.name: task_rows(ds, built, t) for t in specs}
    empty = [f"tune: task '{t.name}' has no {w} rows to tune on; widen the split or "
             "leave the task out with --tasks" for t in specs
             for w, n in (("training", rows[t.name].train.size),
                          ("validation", rows[t.name].validation.size)) if n == 0]
    if empty:
        raise SchemaError(empty)
    results: list[TaskTuning] = []
    with _quiet_optuna():
        for k, task in enumerate(specs):
            base, current = _current(ds, task)
            left = deadline - time.perf_counter()
            if left <= 0:
                results.append(_untuned(task, current, "not tuned: the time budget was spent "
                                        "before its turn; give a larger --budget"))
                continue
            span = (1 - _LOAD_SHARE) / len(specs)
            study = _Study(task=task, rows=rows[task.name], base=base, current=current,
                           start=_LOAD_SHARE + span * k, span=span)
            say(f"task {task.name}: tuning {task.kind} model on {study.rows.train.size:,} "
                f"training and {study.rows.validation.size:,} validation rows", study.start)
            results.append(_tune_task(ds, built, study, timeout=left / (len(specs) - k),
                                      n_trials=n_trials, seed=seed, say=say))
    say("done", 1.0)
    return TuneResult(tasks=tuple(results), budget_seconds=float(budget_seconds), seed=seed,
                      seconds=time.perf_counter() - started, config_digest=digest)
