"""Per-task regression losses: config checks, log-link margins, natural predictions."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.config import parse_config
from recsys.errors import SchemaError
from recsys.models import TaskModel
from recsys.tasks import TaskSpec, natural_prediction, task_specs

_BASE = {"data": {"interactions": "i.csv"},
         "task": [{"name": "click", "label": "click", "kind": "binary"},
                  {"name": "revenue", "label": "revenue", "kind": "regression"}]}


def _with(**changes: object) -> dict:
    raw = {"data": dict(_BASE["data"]), "task": [dict(t) for t in _BASE["task"]]}
    for key, value in changes.items():
        if key == "model":
            raw["model"] = value
        else:
            next(t for t in raw["task"] if t["name"] == key)["model"] = value
    return raw


def test_a_regression_task_takes_a_loss() -> None:
    cfg = parse_config(_with(revenue={"objective": "tweedie"}))
    revenue = task_specs(cfg)[1]
    assert revenue.objective == "tweedie" and revenue.log_link
    assert revenue.to_dict()["loss"] == "tweedie"
    assert TaskSpec(**revenue.to_dict()) == revenue  # round trip through the manifest
    plain = task_specs(parse_config(_with(revenue={"objective": "regression"})))[1]
    assert plain.objective == "regression" and not plain.log_link and plain.loss is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"click": {"objective": "tweedie"}}, "task 'click': model.objective = 'tweedie' is for "
                                          "regression tasks"),
    ({"model": {"objective": "poisson"}}, "set a regression loss per task"),
    ({"revenue": {"objective": "cubic"}}, "revenue"),
])
def test_losses_in_the_wrong_place_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_config(_with(**changes))


def test_tweedie_margins_are_log_means_on_zero_inflated_targets(rng: np.random.Generator) -> None:
    n = 6000
    X = rng.normal(size=(n, 3)).astype(np.float32)
    mean = np.exp(0.8 * X[:, 0] - 1.0)
    buys = rng.random(n) < 0.15
    y = np.where(buys, rng.gamma(2.0, mean / 0.3), 0.0)  # mostly zeros, heavy right tail
    model = TaskModel(objective="tweedie", n_estimators=60, random_state=3).fit(X, y)
    margin = model.predict(X)
    spec = TaskSpec(name="revenue", label="revenue", kind="regression", weight=1.0,
                    loss="tweedie")
    pred = natural_prediction(spec, margin)
    assert np.all(pred > 0)  # exp of the margin: never a negative amount
    assert abs(pred.mean() - y.mean()) / y.mean() < 0.25  # the scale of the target, not its log
    # ordered by the driver, like the truth
    assert np.corrcoef(np.log(pred), 0.8 * X[:, 0])[0, 1] > 0.75


def test_a_log_link_regression_can_be_conditional_and_chains_compose() -> None:
    raw = _with(revenue={"objective": "tweedie"})
    raw["task"].insert(1, {"name": "purchase", "label": "purchase", "kind": "binary",
                           "given": "click"})
    raw["task"][2]["given"] = "purchase"
    purchase, revenue = task_specs(parse_config(raw))[1:]
    from recsys.tasks import task_score, task_score_terms

    assert revenue.chain() == ("click", "purchase") and revenue.models() == (
        "click", "purchase", "revenue")
    assert task_score_terms(revenue) == (("click", True), ("purchase", True), ("revenue", False))
    assert revenue.score_description() == ("log p(click) + log p(purchase | click) + "
                                           "log E[revenue | purchase]")
    m = {"click": np.array([0.3]), "purchase": np.array([-1.2]), "revenue": np.array([2.5])}
    p_click, p_buy = 1 / (1 + np.exp(-0.3)), 1 / (1 + np.exp(1.2))
    expected = p_click * p_buy * np.exp(2.5)  # the entire-space expected revenue
    assert np.allclose(natural_prediction(revenue, task_score(revenue, m)), expected)
    assert TaskSpec(**revenue.to_dict()) == revenue


def test_a_squared_error_regression_cannot_be_conditional() -> None:
    raw = _with()
    raw["task"][1]["given"] = "click"
    with pytest.raises(SchemaError, match="needs a log-link loss"):
        parse_config(raw)
