"""Parse and check ``config.toml``: the dataset's files, split, tasks and model settings.

The schema is strict: an unknown key is an error with a did-you-mean hint, so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from recsys.blend import TransformKind
from recsys.errors import SchemaError

__all__ = [
    "BlendConfig",
    "CandidatesConfig",
    "DataConfig",
    "EngineConfig",
    "FeedbackConfig",
    "FeaturesConfig",
    "ModelParams",
    "ProjectConfig",
    "RegressionLoss",
    "SplitConfig",
    "TaskConfig",
    "load_config",
    "parse_config",
]

RegressionLoss = Literal["regression", "huber", "poisson", "tweedie", "gamma"]
"""LightGBM losses a regression task may use (``regression`` is squared error)."""

_STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
"""Unknown keys are errors; numbers must be finite (``inf`` or ``nan`` would save a project
that cannot be used)."""


class DataConfig(BaseModel):
    """Where the tables are (paths relative to the config file)."""

    model_config = _STRICT
    interactions: str
    users: str | None = None
    items: str | None = None
    item_title: str | None = None
    """Display column of items (e.g. ``title``)."""
    item_category: str | None = None
    """Categorical column of items used for category affinity, candidates and diversity."""
    context: list[str] | None = None
    """Context columns of interactions used as features; default: every column that is
    neither an id, the timestamp nor a task label."""


class SplitConfig(BaseModel):
    """Split in time.

    The newest ``test_fraction`` of the events is the test window and the
    ``validation_fraction`` before it is used for early stopping.
    """

    model_config = _STRICT
    test_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    validation_fraction: float = Field(default=0.1, gt=0.0, lt=0.9)
    by: Literal["events", "time"] = "events"
    """``events``: cut at quantiles of event time, so the fractions are shares of the
    rows and an outlier timestamp cannot empty a window; ``time``: cut the time span
    ``[min, max]`` itself (shares of the calendar)."""

    @model_validator(mode="after")
    def _fit(self) -> SplitConfig:
        if self.test_fraction + self.validation_fraction >= 0.9:
            raise ValueError(
                "test_fraction + validation_fraction must leave at least 10% of time for "
                f"training, got {self.test_fraction} + {self.validation_fraction}"
            )
        return self


class ModelParams(BaseModel):
    """LightGBM settings shared by all tasks (each task may override them)."""

    model_config = _STRICT
    seed: int | None = None
    n_estimators: int | None = Field(default=None, ge=1, le=20000)
    learning_rate: float | None = Field(default=None, gt=0.0, le=1.0)
    num_leaves: int | None = Field(default=None, ge=2, le=4096)
    max_depth: int | None = Field(default=None, ge=-1, le=64)
    min_child_samples: int | None = Field(default=None, ge=1)
    subsample: float | None = Field(default=None, gt=0.0, le=1.0)
    colsample_bytree: float | None = Field(default=None, gt=0.0, le=1.0)
    reg_lambda: float | None = Field(default=None, ge=0.0)
    reg_alpha: float | None = Field(default=None, ge=0.0)
    early_stopping_rounds: int | None = Field(default=None, ge=1)
    max_bin: int | None = Field(default=None, ge=3, le=1023)
    n_jobs: int | None = None
    objective: RegressionLoss | None = None
    """Loss of a regression task (only in its own ``[task.model]``): ``tweedie`` or
    ``poisson`` for zero-inflated counts and amounts (revenue), ``huber`` for heavy tails,
    ``gamma`` for positive skewed values; default ``regression`` (squared error).
    ``poisson``, ``tweedie`` and ``gamma`` model log(mean): the task's score is the log of
    the predicted value."""

    def merged(self, override: ModelParams | None) -> dict[str, Any]:
        """Merge ``override``'s set values on top of these settings, dropping unset ones."""
        out = {k: v for k, v in self.model_dump().items() if v is not None}
        if override is not None:
            out.update({k: v for k, v in override.model_dump().items() if v is not None})
        return out


class TaskConfig(BaseModel):
    """One objective: a label column learned by one LightGBM model."""

    model_config = _STRICT
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str
    kind: Literal["binary", "regression", "rank"]
    weight: float = Field(default=1.0, ge=0.0)
    direction: Literal["maximize", "minimize"] = "maximize"
    given: str | None = None
    model: ModelParams | None = None


class CandidatesConfig(BaseModel):
    """How many candidate items each user gets, and from which sources."""

    model_config = _STRICT
    per_user: int = Field(default=100, ge=1, le=5000)
    sources: list[Literal["popular", "category", "cooccurrence", "latent"]] = [
        "popular",
        "category",
        "cooccurrence",
        "latent",
    ]
    exclude: str | None = None
    """Label whose positive (user, item) pairs before the test window are never
    recommended again (e.g. ``purchase``), or ``"seen"`` for every exposed pair;
    default: the label of the last conditional task in config order (the deepest step of
    a chain such as click → purchase), if any."""


class FeedbackConfig(BaseModel):
    """What the analysts' flags do at the next training (``[feedback]``).

    Pairs and items flagged ``bad`` or ``irrelevant`` are never candidates, whatever this
    says. With ``negatives_for = "click"``, every (user, item) pair flagged bad or
    irrelevant for that user also becomes one extra training row of the ``click`` model
    with label 0, with the pair's features as of the test cutoff (the feature store that
    serves candidates). Flags "for every user" add no rows. The task must be binary and
    not conditional (a conditional task learns only from its parent's positives).
    """

    model_config = _STRICT
    negatives_for: str | None = None
    """Task whose model learns the flagged pairs as negatives; default: none."""


class FeaturesConfig(BaseModel):
    """Shared-feature settings."""

    model_config = _STRICT
    latent_dim: int = Field(default=16, ge=2, le=256)
    history_fraction: float = Field(default=0.3, ge=0.0, lt=0.9)
    """Share of the training period used only as history (features and latent factors),
    never as labelled training rows."""
    smoothing: float = Field(default=20.0, ge=0.0)
    """Pseudo-count that shrinks sparse rates toward the global rate."""
    online: bool = True
    """Online features: each labelled row, test rows included, sees every event strictly
    before its own timestamp (a feature store updated as events arrive). ``false``
    freezes test rows' features at the test cutoff. Candidate top-K always uses the
    cutoff."""


class BlendConfig(BaseModel):
    """Default blending settings."""

    model_config = _STRICT
    transform: TransformKind = "zscore"
    k: int = Field(default=10, ge=1, le=1000)


_SCHEDULER = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")
_MEMORY = re.compile(r"^(auto|[0-9]+(\.[0-9]+)?\s*([kKMGT]i?B|B)?)$")


class EngineConfig(BaseModel):
    """Where training and candidate scoring run (``[engine]``).

    ``kind = "local"`` runs everything in this process. ``kind = "dask"`` fits each
    task's model with ``lightgbm.dask`` and scores the candidates on a Dask cluster
    (:mod:`recsys.engine`): ``scheduler = "local"`` starts a ``distributed.LocalCluster``
    on this machine, ``scheduler = "tcp://host:port"`` connects to a running scheduler.
    """

    model_config = _STRICT
    kind: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    """``"local"`` (start a cluster of worker processes here) or ``"tcp://host:port"``
    (an existing scheduler's address); needed, and only allowed, with ``kind = "dask"``."""
    workers: int | None = Field(default=None, ge=1, le=256)
    """Worker processes of a local cluster (default: 2)."""
    threads_per_worker: int | None = Field(default=None, ge=1, le=256)
    """Threads of each local worker (default: the machine's cores shared out among them)."""
    memory_limit: str | None = None
    """Memory cap of each local worker, in Dask's notation (``"4GB"``, ``"512MiB"``,
    ``"auto"``: the machine's memory shared out); default: ``"auto"``."""

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and value != "local" and not _SCHEDULER.match(value):
            raise ValueError('use "local" (start a cluster on this machine) or a scheduler '
                             'address "tcp://host:port", e.g. "tcp://10.0.0.5:8786"')
        return value

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value.strip()):
            raise ValueError('use a size such as "4GB" or "512MiB", or "auto"')
        return value

    @model_validator(mode="after")
    def _kind(self) -> EngineConfig:
        own = [k for k in ("workers", "threads_per_worker", "memory_limit")
               if getattr(self, k) is not None]
        if self.kind == "local":
            extra = (["scheduler"] if self.scheduler is not None else []) + own
            if extra:
                raise ValueError(f"{' and '.join(extra)} {'is' if len(extra) == 1 else 'are'} "
                                 'only used with kind = "dask"; set kind = "dask" or remove '
                                 f"{'it' if len(extra) == 1 else 'them'}")
        elif self.scheduler is None:
            raise ValueError('kind = "dask" needs a scheduler: scheduler = "local" (start '
                             'a cluster on this machine) or scheduler = "tcp://host:port" '
                             "(connect to a running one)")
        elif self.scheduler != "local" and own:
            raise ValueError(f"{' and '.join(own)} {'is' if len(own) == 1 else 'are'} only "
                             'used with scheduler = "local"; a running cluster\'s workers are '
                             "set where the cluster is started")
        return self


class ProjectConfig(BaseModel):
    """The whole ``config.toml``."""

    model_config = _STRICT
    data: DataConfig
    split: SplitConfig = SplitConfig()
    task: list[TaskConfig] = Field(min_length=1)
    candidates: CandidatesConfig = CandidatesConfig()
    features: FeaturesConfig = FeaturesConfig()
    model: ModelParams = ModelParams(seed=7)
    blend: BlendConfig = BlendConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    engine: EngineConfig = EngineConfig()

    @model_validator(mode="after")
    def _tasks(self) -> ProjectConfig:
        names = [t.name for t in self.task]
        problems = []
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"task names must be unique, repeated: {', '.join(dupes)}")
        if all(t.weight == 0 for t in self.task):
            problems.append(
                "every task weight is 0, so the blend would rank nothing; "
                "give at least one task a weight above 0"
            )
        if self.model.objective is not None:
            problems.append("model.objective: set a regression loss per task, under that "
                            "task's [task.model], not for every task")
        for t in self.task:
            if t.model is not None and t.model.objective is not None and t.kind != "regression":
                problems.append(f"task '{t.name}': model.objective = '{t.model.objective}' is "
                                f"for regression tasks; a {t.kind} task has its own loss")
        if not dupes:  # with repeated names, given is ambiguous
            problems += _given_problems(self.task)
        problems += _feedback_problems(self.feedback, self.task)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def tasks(self) -> list[TaskConfig]:
        """The tasks in config order."""
        return list(self.task)


def _feedback_problems(feedback: FeedbackConfig, tasks: list[TaskConfig]) -> list[str]:
    """Why ``[feedback] negatives_for`` cannot be used, if it cannot."""
    name = feedback.negatives_for
    if name is None:
        return []
    by_name = {t.name: t for t in tasks}
    if name not in by_name:
        return [f"feedback.negatives_for: unknown task '{name}'"
                f"{_did_you_mean(name, list(by_name))}; tasks are {', '.join(by_name)}"]
    task = by_name[name]
    if task.kind != "binary" or task.given is not None:
        what = f"a {task.kind} task" if task.kind != "binary" else f"conditional on '{task.given}'"
        return [f"feedback.negatives_for: task '{name}' is {what}; flagged pairs become label-0 "
                "rows of a binary task without `given`"]
    return []


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _given_problems(tasks: list[TaskConfig]) -> list[str]:
    """Conditional tasks whose ``given`` is unknown, themselves, cyclic, non-binary or chained."""
    by_name = {t.name: t for t in tasks}
    problems: list[str] = []
    cycles: set[tuple[str, ...]] = set()
    for t in tasks:
        if t.given is None:
            continue
        parent = by_name.get(t.given)
        if t.given == t.name:
            problems.append(
                f"task '{t.name}': given = '{t.given}' names the task itself; "
                "name its parent task or remove given"
            )
        elif parent is None:
            hint = _did_you_mean(t.given, list(by_name))
            problems.append(f"task '{t.name}': given = '{t.given}' is not a task{hint}")
        elif (cycle := _cycle(t.name, by_name)) is not None:
            start = cycle.index(min(cycle))
            cycles.add(cycle[start:] + cycle[:start])
        elif parent.kind != "binary" or t.kind not in ("binary", "regression"):
            problems.append(
                f"task '{t.name}': a conditional task must be binary, or a regression with a "
                f"log-link loss, given a binary parent; got {t.kind} given {parent.kind}"
            )
        elif t.kind == "regression" and (t.model is None or t.model.objective not in
                                         ("tweedie", "poisson", "gamma")):
            problems.append(
                f"task '{t.name}': a regression task given '{parent.name}' needs a log-link "
                "loss so that its score is log p(parent) + log E[value | parent]; set "
                "[task.model] objective = \"tweedie\" (or poisson, gamma)"
            )

    for cycle in sorted(cycles):
        loop = " -> ".join((*cycle, cycle[0]))
        problems.append(
            f"tasks {', '.join(repr(n) for n in cycle)}: their given settings form a cycle "
            f"({loop}); remove given from one of them"
        )
    return problems


def _cycle(name: str, by_name: dict[str, TaskConfig]) -> tuple[str, ...] | None:
    """Return the names on the ``given`` loop through ``name``, or None if it reaches a root."""
    path = [name]
    current = by_name[name].given
    while current is not None and current in by_name and current not in path:
        path.append(current)
        current = by_name[current].given
    return tuple(path) if current == name and len(path) > 1 else None


def _model_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at ``loc`` (for did-you-mean hints)."""
    current = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    break
    return list(current.model_fields)


def _where(loc: tuple[Any, ...], raw: Any) -> str:
    """``split.test_fraction``; list items of a task named by the task (``task 'ctr'.weight``)."""
    parts: list[str] = []
    node = raw
    for part in loc:
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None
        if isinstance(part, int):
            name = node.get("name") if isinstance(node, dict) else None
            if parts and isinstance(name, str):
                parts[-1] += f" '{name}'" if len(name) <= 30 else f" '{name[:27]}...'"
            elif parts:
                parts[-1] += f"[{part + 1}]"
            continue
        parts.append(str(part))
    return ".".join(parts)


def _has(node: dict[Any, Any] | list[Any], part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _shown(value: Any) -> str:
    """Return a short repr of a bad value, at most 60 characters."""
    if isinstance(value, str) and len(value) > 50:
        return repr(value[:47] + "...")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_errors(err: ValidationError, source: str, raw: Any = None) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        where = _where(loc, raw) or "(top level)"
        if e["type"] == "extra_forbidden":
            hint = _did_you_mean(str(loc[-1]), _model_fields(ProjectConfig, loc))
            lines.append(f"{source}: unknown key '{where}'{hint}")
        elif e["type"] == "missing":
            lines.append(f"{source}: missing required key '{where}'")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            value = e.get("input")
            got = "" if isinstance(value, dict | list) else f" (got {_shown(value)})"
            prefix = f"{where}: " if loc else ""
            for line in msg.splitlines():
                lines.append(f"{source}: {prefix}{line[:1].lower()}{line[1:]}{got}")
    return lines


def parse_config(raw: dict[str, Any], source: str = "config.toml") -> ProjectConfig:
    """Check a parsed TOML mapping against the schema.

    Raises
    ------
    SchemaError
        One line per problem, unknown keys with a did-you-mean hint.
    """
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as err:
        raise SchemaError(_format_errors(err, source, raw)) from None


def load_config(path: str | Path) -> ProjectConfig:
    """Read and check a ``config.toml`` file (UTF-8, a leading byte-order mark allowed).

    Raises
    ------
    SchemaError
        If the file is missing, a directory, not UTF-8, not TOML or breaks the schema.
    """
    path = Path(path)
    if path.is_dir():
        inner = path / "config.toml"
        hint = f"; did you mean {inner}?" if inner.is_file() else "; pass the config.toml file"
        raise SchemaError(f"{path}: is a directory, not a config file{hint}")
    if not path.is_file():
        raise SchemaError(f"{path}: config file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SchemaError(
            f"{path}: the file is not UTF-8 (byte 0x{data[err.start]:02x} at line {line}, "
            f"column {column}); save it as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SchemaError(f"{path}: not valid TOML: {err}") from None
    return parse_config(raw, source=str(path))
