"""Task specs, and how model margins become each task's score.

Conditional tasks are scored in the entire space (over all exposures, not only the
parent's positives).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from recsys.config import ProjectConfig, RegressionLoss, TaskConfig

if TYPE_CHECKING:
    from recsys.models import Objective

__all__ = ["TaskSpec", "log_sigmoid", "natural_prediction", "task_score", "task_score_terms",
           "task_specs"]

_OBJECTIVE: dict[str, Objective] = {"binary": "binary", "regression": "regression",
                                     "rank": "lambdarank"}
_LOG_LINK = frozenset({"poisson", "tweedie", "gamma"})


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One objective of the blend."""

    name: str
    label: str
    kind: Literal["binary", "regression", "rank"]
    weight: float
    """The weight set in the config (always >= 0; the direction gives the sign)."""
    direction: Literal["maximize", "minimize"] = "maximize"
    given: str | None = None
    """Parent task of a conditional task: its score is p(parent) · p(task | parent)."""
    ancestors: tuple[str, ...] = ()
    """Every task above a conditional task, root first, ending with ``given`` (e.g.
    ``("click", "purchase")`` for revenue given purchase given click)."""
    loss: RegressionLoss | None = None
    """A regression task's LightGBM objective when not squared error (``tweedie``,
    ``poisson``, ``gamma``, ``huber``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ancestors", tuple(self.ancestors))  # a JSON list -> tuple

    @property
    def objective(self) -> Objective:
        """LightGBM objective."""
        return self.loss or _OBJECTIVE[self.kind]

    @property
    def log_link(self) -> bool:
        """The model's margin is log(predicted value) (poisson, tweedie, gamma)."""
        return self.loss in _LOG_LINK

    @property
    def sign(self) -> float:
        """+1 for maximised tasks, -1 for minimised ones."""
        return -1.0 if self.direction == "minimize" else 1.0

    def models(self) -> tuple[str, ...]:
        """Names of the models whose margins make this task's score."""
        return (*self.chain(), self.name)

    def chain(self) -> tuple[str, ...]:
        """Return the ancestors of a conditional task, root first (empty for others)."""
        if self.given is None:
            return ()
        return self.ancestors or (self.given,)

    def score_description(self) -> str:
        """Describe what the task's score means, for people."""
        if self.given is not None:
            chain = self.chain()
            parts = [f"log p({chain[0]})"]
            parts += [f"log p({c} | {p})" for p, c in zip(chain, chain[1:], strict=False)]
            own = "E[" + self.label if self.kind == "regression" else "p(" + self.name
            close = "]" if self.kind == "regression" else ")"
            return " + ".join([*parts, f"log {own} | {self.given}{close}"])
        if self.log_link:
            return f"log of predicted {self.label}"
        return {"binary": f"log-odds of {self.label}", "regression": f"predicted {self.label}",
                "rank": f"ranking score for {self.label}"}[self.kind]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {"name": self.name, "label": self.label, "kind": self.kind,
                                  "weight": self.weight, "direction": self.direction,
                                  "given": self.given}
        if self.loss is not None:
            out["loss"] = self.loss
        if len(self.chain()) > 1:
            out["ancestors"] = list(self.ancestors)
        return out

    @classmethod
    def from_config(cls, t: TaskConfig, ancestors: tuple[str, ...] = ()) -> TaskSpec:
        """From the parsed config (``ancestors``: see :func:`task_specs`)."""
        loss = t.model.objective if t.model is not None else None
        return cls(name=t.name, label=t.label, kind=t.kind, weight=t.weight,
                   direction=t.direction, given=t.given,
                   ancestors=ancestors if len(ancestors) > 1 else (),
                   loss=None if loss in (None, "regression") else loss)


def task_specs(cfg: ProjectConfig) -> tuple[TaskSpec, ...]:
    """Task specs in config order, each conditional task with its chain of ancestors."""
    by_name = {t.name: t for t in cfg.tasks}

    def chain(t: TaskConfig) -> tuple[str, ...]:
        out: list[str] = []
        while t.given is not None and t.given not in out and len(out) < len(by_name):
            out.insert(0, t.given)
            t = by_name[t.given]
        return tuple(out)

    return tuple(TaskSpec.from_config(t, chain(t)) for t in cfg.tasks)


def log_sigmoid(x: NDArray[np.floating]) -> NDArray[np.float64]:
    """``log(1 / (1 + exp(-x)))``, stable for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return -np.logaddexp(0.0, -x)


def task_score_terms(task: TaskSpec) -> tuple[tuple[str, bool], ...]:
    """(model name, through log-sigmoid?) terms whose sum is the task's score."""
    if task.given is None:
        return ((task.name, False),)
    # each binary step adds log p(step | its parent); a log-link regression child's margin
    # is already log E[value | parent]
    return (*((a, True) for a in task.chain()), (task.name, task.kind == "binary"))


def task_score(task: TaskSpec, margins: Mapping[str, NDArray[np.floating]]) -> NDArray[np.float64]:
    """Compute the task's score from model margins.

    The score is the margin itself, or the entire-space log-probability
    ``log σ(m_parent) + log σ(m_child)`` for a conditional task
    (``log σ(m_parent) + m_child`` = log E[value] for a log-link regression child).
    """
    total: NDArray[np.float64] | None = None
    for model, through_sigmoid in task_score_terms(task):
        m = np.asarray(margins[model], dtype=np.float64)
        term = log_sigmoid(m) if through_sigmoid else m
        total = term if total is None else total + term
    assert total is not None  # noqa: S101 - every task has at least one term
    return total


def natural_prediction(task: TaskSpec, score: NDArray[np.floating]) -> NDArray[np.float64]:
    """Convert a task score to its natural unit.

    Probability for binary tasks (the score is the log-odds, or the entire-space
    log-probability of a conditional task), the predicted value for regression (``exp``
    of the score for a log-link loss), else the score.
    """
    s = np.asarray(score, dtype=np.float64)
    if task.kind == "binary":
        return np.exp(s) if task.given is not None else np.exp(log_sigmoid(s))
    return np.exp(s) if task.log_link else s
