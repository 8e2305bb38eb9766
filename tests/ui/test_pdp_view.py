"""The partial-dependence view: the pure figure, and the drawn view in a one-call page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure

from explain import ice_lines, partial_dependence, task_unit
from recsys.features import FeatureSpec
from recsys.project import Project
from ui.pdp_view import pdp_figure

SCRIPT = """
from ui import pdp_view, state
import streamlit as st

stamp = state.project_stamp(state.artifacts_root() / "demo")
_, tasks = state.describe(stamp)
w = st.number_input("returned", value=0.5, key="w")
weights = tuple((t.name, w if t.name == "returned" else float(t.weight)) for t in tasks)
view = state.View(name="demo", stamp=stamp, tasks=tasks, weights=weights, transform="zscore",
                  k=10)
st.session_state[state.USER] = st.session_state.get("pick", "")
pdp_view.draw_partial_dependence(view.project(), view, st.session_state.get("feature",
                                                                             "item_price"))
"""


def _numbers(trace: dict) -> np.ndarray:
    return decode(trace["y"]).astype(float)


def _marks(fig: dict, bold: bool | None = None) -> list[dict]:
    """The curves and points drawn (not the two legend-only entries); ``bold``: PD only,
    ``False``: ICE only."""
    out = [t for t in fig["data"] if t.get("showlegend") is False]
    if bold is None:
        return out
    return [t for t in out if (t["line"]["width"] > 3) == bold]


def test_figure_panels_and_marks(small_project: Project) -> None:
    pd_ = partial_dependence(small_project, "item_discount", n_pairs=200)
    user = str(small_project.user_ids()[0])
    ice = ice_lines(small_project, user, "item_discount", grid=pd_.grid)
    fig = pdp_figure(pd_, ice, small_project.tasks, label="item's discount").to_dict()
    n_panels = len(small_project.tasks) + 1
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles == [*small_project.task_names()[:-1], "returned (minimised)",
                      "blend (current weights)"]
    bold, thin = _marks(fig, True), _marks(fig, False)
    assert len(bold) == n_panels and len(thin) == n_panels * len(ice.item_ids)
    np.testing.assert_allclose(_numbers(bold[-1]), pd_.blended)
    np.testing.assert_allclose(_numbers(bold[0]), pd_.prediction[0])
    assert all(0 < t["opacity"] < 1 for t in thin)
    assert "column: item_discount" in bold[0]["hovertemplate"]
    assert fig["layout"]["yaxis"]["title"]["text"] == task_unit(small_project.tasks[0])


def test_categorical_levels_are_points_and_labels_are_escaped(small_project: Project) -> None:
    pd_ = partial_dependence(small_project, "context_device", n_pairs=100)
    hostile = FeatureSpec("context_device", "context", "<b>x</b>",
                          ("<script>", "desktop", "mobile"))
    shown = dataclasses.replace(pd_, feature=hostile)
    fig = pdp_figure(shown, None, small_project.tasks, label="<b>x</b>").to_dict()
    marks = _marks(fig)
    assert all(t["mode"] == "markers" for t in marks)
    assert list(marks[0]["x"]) == ["&lt;script&gt;", "desktop", "mobile"]
    assert "<b>" not in str(fig) and "&lt;b&gt;x&lt;/b&gt;" in marks[0]["hovertemplate"]
    assert fig["layout"]["xaxis"]["type"] == "category"


def test_skewed_feature_gets_a_log_axis(small_project: Project) -> None:
    pd_ = partial_dependence(small_project, "item_price", n_pairs=200)
    fig = pdp_figure(pd_, None, small_project.tasks, label="item's price").to_dict()
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert "log scale" in fig["layout"]["xaxis4"]["title"]["text"]


@pytest.fixture
def page(artifacts_root: Path) -> AppTest:
    return AppTest.from_string(SCRIPT, default_timeout=120)


def test_view_draws_and_reweights_without_predicting(page: AppTest, small_project: Project,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    user = str(small_project.user_ids()[3])
    page.session_state["pick"] = user
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    fig = figure(page, "gl_pdp")
    names = [t.get("name", "") for t in fig["data"]]
    assert any(f"user {user}'s top 5" in n for n in names)
    caption = page.caption[0].value
    assert "500 sampled test exposures" in caption and "never occur" in caption
    before = [_numbers(t) for t in _marks(fig, True)]

    import explain

    def fail(*args: object, **kw: object) -> None:
        raise AssertionError("a weight change computed the partial dependence again")

    monkeypatch.setattr(explain, "partial_dependence", fail)  # the view imports it lazily
    page.number_input(key="w").set_value(3.0).run()
    assert not page.exception, [e.value for e in page.exception]
    after = [_numbers(t) for t in _marks(figure(page, "gl_pdp"), True)]
    for a, b in zip(before[:-1], after[:-1], strict=True):
        np.testing.assert_array_equal(a, b)  # task curves do not depend on the weights
    assert not np.allclose(before[-1], after[-1])  # the blend does


def test_unknown_feature_is_an_error_not_a_crash(page: AppTest) -> None:
    page.session_state["feature"] = "item_prise"
    page.run()
    assert not page.exception
    assert "unknown feature 'item_prise'" in page.error[0].value
    assert "did you mean 'item_price'" in page.error[0].value
