"""Fuzzing: on small random datasets and configs, training succeeds or says why.

Whatever the tables and the config hold (degenerate labels, one user, missing columns,
non-finite weights, self-referencing conditional tasks...), ``recsys.train.train``
either returns a project or raises a :class:`recsys.errors.BlendscopeError`, whose
message the CLI prints as ``error: ...`` lines; never any other exception.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from recsys.errors import BlendscopeError
from recsys.train import train

FUZZ = settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
START = np.datetime64("2026-01-01T00:00:00", "s")
KINDS = ("binary", "regression", "rank")
# mostly valid values, so that many examples get past validation into training
LABELS = {
    "binary": st.sampled_from(["random"] * 5 + ["zeros", "ones", "one_two"]),
    "regression": st.sampled_from(["random"] * 5 + ["constant", "huge", "nan"]),
    "rank": st.sampled_from(["random"] * 5 + ["zeros", "negative"]),
}
WEIGHTS = st.sampled_from([1.0] * 8 + [0.5, 0.0, float("inf"), float("nan")])


@dataclass(frozen=True)
class Task:
    kind: str
    labels: str
    weight: float
    given: int | None
    """Index of the parent task (may be the task itself)."""


FLAWS = ("no_rows", "few_rows", "one_user", "one_item", "instant", "drop_user_id",
         "drop_item_id", "drop_timestamp", "drop_t0", "drop_hour")


@dataclass(frozen=True)
class Case:
    n_users: int
    n_items: int
    n_rows: int
    span: int
    """Seconds between the first and the last possible timestamp."""
    tasks: tuple[Task, ...]
    fmt: str
    items_table: bool
    users_table: bool
    flaw: str | None
    """One thing broken on purpose (see :data:`FLAWS`), or None."""
    per_user: int
    odd_names: bool
    """Attribute and context column names with characters LightGBM rejects."""
    seed: int


@st.composite
def tasks(draw: st.DrawFn) -> tuple[Task, ...]:
    n = draw(st.integers(1, 3))
    out = []
    for k in range(n):
        kind = draw(st.sampled_from(KINDS))
        given_ = draw(st.integers(0, n - 1)) if draw(st.integers(0, 3)) == 0 else None
        out.append(Task(kind, draw(LABELS[kind]), draw(WEIGHTS), given_ if k else None))
    return tuple(out)


cases = st.builds(
    Case,
    n_users=st.integers(2, 15),
    n_items=st.integers(2, 10),
    n_rows=st.integers(40, 300),
    span=st.sampled_from([3_600, 86_400, 30 * 86_400]),
    tasks=tasks(),
    fmt=st.sampled_from(["csv", "parquet"]),
    items_table=st.booleans(),
    users_table=st.booleans(),
    flaw=st.sampled_from((None,) * len(FLAWS) + FLAWS),  # half of the cases have a flaw
    per_user=st.integers(1, 40),
    odd_names=st.booleans(),
    seed=st.integers(0, 2**16),
)


def _labels(task: Task, rng: np.random.Generator, n: int) -> np.ndarray:
    if task.kind == "binary":
        values = {"random": rng.integers(0, 2, n), "zeros": np.zeros(n, int),
                  "ones": np.ones(n, int), "one_two": rng.integers(1, 3, n)}[task.labels]
        return values.astype(float)
    if task.kind == "rank":
        values = {"random": rng.integers(0, 4, n), "zeros": np.zeros(n, int),
                  "negative": rng.integers(-2, 3, n)}[task.labels]
        return values.astype(float)
    values = rng.normal(10.0, 5.0, n)
    if task.labels == "constant":
        values[:] = 3.0
    elif task.labels == "huge" and n:
        values[rng.integers(0, n)] = 1e300
    elif task.labels == "nan" and n:
        values[rng.integers(0, n)] = np.nan
    return values


def write_case(case: Case, root: Path) -> Path:
    """Write the random dataset and its config; return the config path."""
    rng = np.random.default_rng(case.seed)
    flaw = case.flaw or ""
    n = {"no_rows": 0, "few_rows": 5}.get(flaw, case.n_rows)
    seconds = rng.integers(0, 2 if flaw == "instant" else case.span + 1, n)
    n_users = 1 if flaw == "one_user" else case.n_users
    n_items = 1 if flaw == "one_item" else case.n_items
    inter = pd.DataFrame({
        "user_id": [f"u{k}" for k in rng.integers(0, n_users, n)],
        "item_id": [f"i{k}" for k in rng.integers(0, n_items, n)],
        "timestamp": START + seconds.astype("timedelta64[s]"),
        "device": rng.choice(["app", "web"], n),
        "hour": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 24, n)),
    })
    for k, task in enumerate(case.tasks):
        inter[f"t{k}"] = _labels(task, rng, n)
    if flaw.startswith("drop_"):
        inter = inter.drop(columns=flaw.removeprefix("drop_"))
    tables = {"interactions": inter}
    if case.users_table:
        tables["users"] = pd.DataFrame({"user_id": [f"u{k}" for k in range(case.n_users)],
                                        "age": rng.integers(18, 80, case.n_users),
                                        "segment": rng.choice(["a", "b", None], case.n_users)})
    if case.items_table:
        tables["items"] = pd.DataFrame({"item_id": [f"i{k}" for k in range(case.n_items)],
                                        "title": [f"Item {k}" for k in range(case.n_items)],
                                        "genre": rng.choice(["x", "y"], case.n_items),
                                        "price": rng.uniform(1, 100, case.n_items)})
    if case.odd_names:
        renames = {"device": "device:kind", "hour": "hour {utc}", "age": "age[years]",
                   "segment": 'seg "a", b', "price": "price[USD]", "genre": "genre, main"}
        tables = {k: v.rename(columns=renames) for k, v in tables.items()}
    lines = ["[data]"]
    for role, frame in tables.items():
        name = f"{role}.{case.fmt}"
        if case.fmt == "csv":
            frame.to_csv(root / name, index=False)
        else:
            frame.to_parquet(root / name, index=False)
        lines.append(f"{role} = {json.dumps(name)}")
    if case.items_table:
        genre = "genre, main" if case.odd_names else "genre"
        lines += ['item_title = "title"', f"item_category = {json.dumps(genre)}"]
    for k, task in enumerate(case.tasks):
        weight = {float("inf"): "inf"}.get(task.weight, repr(task.weight))
        lines += ["", "[[task]]", f'name = "t{k}"', f'label = "t{k}"', f'kind = "{task.kind}"',
                  f"weight = {'nan' if task.weight != task.weight else weight}"]
        if task.given is not None:
            lines.append(f'given = "t{task.given}"')
    lines += ["", "[candidates]", f"per_user = {case.per_user}", "", "[features]",
              "latent_dim = 2", "", "[model]", "seed = 1", "n_estimators = 5",
              "min_child_samples = 2"]
    config = root / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.mark.slow
@FUZZ
@given(case=cases)
def test_train_succeeds_or_raises_a_blendscope_error(case: Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_case(case, Path(tmp))
        try:
            project = train(config)
        except BlendscopeError as err:
            assert str(err).strip(), "an error must say what is wrong"
            assert "Traceback" not in str(err)
            return
        assert set(project.models) == {f"t{k}" for k in range(len(case.tasks))}
        assert project.scores.cand_items.shape[1] <= case.n_items


def test_a_plain_case_trains(tmp_path: Path) -> None:
    """The generator itself writes trainable data (so the fuzzing explores past loading)."""
    case = Case(n_users=8, n_items=6, n_rows=300, span=30 * 86_400,
                tasks=(Task("binary", "random", 1.0, None), Task("regression", "random", 0.5,
                                                                  None)),
                fmt="csv", items_table=True, users_table=True, flaw=None, per_user=4,
                odd_names=True, seed=3)
    project = train(write_case(case, tmp_path))
    assert set(project.models) == {"t0", "t1"}
