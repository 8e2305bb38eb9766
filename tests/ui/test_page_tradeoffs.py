"""Trade-offs page."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles

from recsys.blend import BlendSpec


def test_tradeoffs_shows_metrics_front_and_sensitivity(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    assert titles(at) == ["Trade-offs"]
    metrics = frame_with(at, "NDCG@10")
    assert list(metrics["task"]) == ["click", "purchase", "revenue", "returned"]
    pareto = figure(at, "to_pareto")
    names = [t["name"] for t in pareto["data"]]
    assert names == ["dominated on these axes", "on the frontier",
                     "frontier of click vs purchase", "current weights"]
    faded, solid = pareto["data"][0], pareto["data"][1]
    assert len(decode(faded["x"])) + len(decode(solid["x"])) == 286  # 4 tasks, step 0.1
    assert faded["opacity"] < 0.5 and solid["opacity"] == 1  # dominated points greyed out
    front_x = decode(pareto["data"][2]["x"])
    assert (front_x[1:] >= front_x[:-1]).all()
    # the solid points are exactly the 2-D frontier: none dominates another on both axes
    fx, fy = decode(solid["x"]), decode(solid["y"])
    assert len(fx) == len(front_x)
    for x, y in zip(fx, fy, strict=True):
        assert not ((fx >= x) & (fy >= y) & ((fx > x) | (fy > y))).any()
    star = pareto["data"][3]
    click_ndcg = metrics.set_index("task").loc["click", "NDCG@10"]
    assert decode(star["x"])[0] == click_ndcg
    assert "NDCG@10 of click" in pareto["layout"]["xaxis"]["title"]["text"]
    sens = figure(at, "to_sens")
    assert len(sens["data"]) == 4


def test_axes_can_be_any_two_tasks(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    at.selectbox(key="to_x").set_value("revenue").run()
    at.selectbox(key="to_y").set_value("returned").run()
    layout = figure(at, "to_pareto")["layout"]
    assert "revenue" in layout["xaxis"]["title"]["text"]
    assert "returned" in layout["yaxis"]["title"]["text"]


def test_target_search_applies_weights(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    at.selectbox(key="to_goal").set_value("revenue").run()
    at.multiselect(key="to_keep").set_value(["click", "returned"]).run()
    at.slider(key="to_pct").set_value(90).run()
    found = frame_with(at, "weight proposed").set_index("task")
    assert list(found.index) == ["click", "purchase", "revenue", "returned"]
    assert found.loc["click", "constraint"] == "within 90%"
    assert found.loc["returned", "direction"] == "lower is better"
    change = found["NDCG@10 proposed"] - found["NDCG@10 now"]
    assert np.allclose(found["change"], change)
    zero = [t for t in found.index if found.loc[t, "weight proposed"] == 0]
    warned = " ".join(w.value for w in at.warning)
    assert all(t in warned for t in zero) and (not zero or "turns off" in warned)
    at.button(key="to_apply").click().run()
    for task in found.index:
        assert at.slider(key=f"weight_{task}").value == round(float(found.loc[task,
                                                                               "weight proposed"]), 1)


def test_target_search_says_when_it_cannot(open_page: Callable[..., AppTest]) -> None:
    at = open_page("tradeoffs")
    at.selectbox(key="to_goal").set_value("revenue").run()
    assert at.multiselect(key="to_keep").value == ["click"]  # one task kept by default
    at.multiselect(key="to_keep").set_value(["click", "purchase", "returned"]).run()
    at.slider(key="to_pct").set_value(100).run()
    assert any("No swept weights keep every task" in w.value for w in at.warning)
    assert frame_with(at, "weight proposed") is not None  # the closest point is shown



def test_the_front_is_read_from_the_saved_sweep_never_recomputed(
        open_copy: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    """A freshly loaded project (a copy: nothing cached yet) draws its front from
    ``scores/sweep.json``; only another transform computes a sweep."""
    calls: list[str] = []

    def forbidden(ctx: object, table: object, spec: BlendSpec, *, steps: int) -> object:
        calls.append(spec.transform)
        raise AssertionError("the dashboard recomputed the saved sweep")

    import recsys.project

    real_sweep = recsys.project.sweep_weights
    monkeypatch.setattr("recsys.project.sweep_weights", forbidden)
    at = open_copy("tradeoffs")
    assert calls == []
    pareto = figure(at, "to_pareto")
    assert sum(len(decode(t["x"])) for t in pareto["data"][:2]) == 286
    at.slider(key="weight_purchase").set_value(2.5).run()  # new weights: same sweep
    assert not at.exception and calls == []
    # put the real one back (not monkeypatch.undo(): that would also unset the
    # BLENDSCOPE_ARTIFACTS the copied_root fixture set with the same monkeypatch)
    monkeypatch.setattr("recsys.project.sweep_weights", real_sweep)
    at.selectbox(key="transform").set_value("percentile").run()  # computed on demand
    assert not at.exception
    assert len(decode(figure(at, "to_pareto")["data"][0]["x"])) > 0
