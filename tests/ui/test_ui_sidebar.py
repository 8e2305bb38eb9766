"""Sidebar: weights, reset, transform, K and named scenarios."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest
from ui_helpers import errors


def test_sliders_label_minimised_tasks(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    labels = {s.key: s.label for s in at.sidebar.slider}
    assert labels == {"weight_click": "click", "weight_purchase": "purchase",
                      "weight_revenue": "revenue", "weight_returned": "returned (minimised)"}
    assert all((s.min, s.max, s.step) == (0.0, 5.0, 0.1) for s in at.sidebar.slider)
    assert all(s.help for s in at.sidebar.slider)


def test_reset_restores_config_weights_transform_and_k(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.slider(key="weight_revenue").set_value(4.2).run()
    at.slider(key="weight_click").set_value(0.0).run()
    at.selectbox(key="transform").set_value("minmax").run()
    at.number_input(key="k").set_value(3).run()
    at.button(key="reset_weights").click().run()
    assert at.slider(key="weight_revenue").value == 0.5
    assert at.slider(key="weight_click").value == 1.0
    assert at.selectbox(key="transform").value == "zscore"
    assert at.number_input(key="k").value == 10


def test_link_values_that_were_clamped_or_ignored_are_reported(
        open_page: Callable[..., AppTest]) -> None:
    at = open_page(w_click="900", k="100000", transform="rank", project="nope")
    # shown as escaped text: compare without the Markdown escapes
    notes = " ".join(w.value for w in at.sidebar.warning).replace("\\", "").replace("\u2060", "")
    assert "w_click='900' became 100" in notes
    assert "k='100000' became 100" in notes
    assert "transform='rank' is unknown" in notes
    assert "project='nope' does not exist; showing 'demo'" in notes
    assert at.slider(key="weight_click").value == 100.0 and at.number_input(key="k").value == 100
    at.slider(key="weight_revenue").set_value(1.0).run()  # shown once, not on every rerun
    assert not at.sidebar.warning


def test_all_zero_weights_say_what_happened(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    for task in ("click", "purchase", "revenue", "returned"):
        at.slider(key=f"weight_{task}").set_value(0.0).run()
    assert any("Every blend weight is 0" in w.value for w in at.main.warning)
    at.slider(key="weight_click").set_value(0.5).run()
    assert not any("Every blend weight is 0" in w.value for w in at.main.warning)


def test_saved_scenario_reloads(open_page: Callable[..., AppTest], artifacts_root: Path) -> None:
    at = open_page()
    at.slider(key="weight_revenue").set_value(3.3).run()
    at.selectbox(key="transform").set_value("minmax").run()
    at.text_input(key="scenario_name").input("revenue push").run()
    at.button(key="scenario_save").click().run()
    assert not errors(at)
    stored = json.loads((artifacts_root / "scenarios.json").read_text())
    assert stored["projects"]["demo"]["revenue push"]["weights"]["revenue"] == 3.3
    at.button(key="reset_weights").click().run()
    at.selectbox(key="transform").set_value("zscore").run()
    assert at.slider(key="weight_revenue").value == 0.5
    at.selectbox(key="scenario_pick").set_value("revenue push").run()
    at.button(key="scenario_load").click().run()
    assert at.slider(key="weight_revenue").value == 3.3
    assert at.selectbox(key="transform").value == "minmax"
    assert at.query_params["w_revenue"] == "3.3"
    at.button(key="scenario_delete").click().run()
    assert at.selectbox(key="scenario_pick").options == []
    assert json.loads((artifacts_root / "scenarios.json").read_text())["projects"]["demo"] == {}


def test_scenarios_are_shared_between_sessions(open_page: Callable[..., AppTest],
                                               app: AppTest) -> None:
    at = open_page()
    at.text_input(key="scenario_name").input("shared").run()
    at.button(key="scenario_save").click().run()
    other = AppTest.from_file(app._script_path, default_timeout=20).run()
    assert other.selectbox(key="scenario_pick").options == ["shared"]


def test_bad_scenario_name_is_an_error(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.text_input(key="scenario_name").input("  ").run()
    at.button(key="scenario_save").click().run()
    assert any("scenario name" in e for e in errors(at))


def test_k_and_transform_reach_the_pages(open_page: Callable[..., AppTest]) -> None:
    at = open_page("recommendations")
    at.number_input(key="k").set_value(3).run()
    at.selectbox(key="transform").set_value("percentile").run()
    table = next(df.value for df in at.dataframe if "item_id" in df.value)
    assert len(table) == 3
    assert table["click"].between(0, 1).all()


def test_saving_over_a_scenario_asks_first(open_page: Callable[..., AppTest],
                                          artifacts_root: Path) -> None:
    at = open_page()
    at.slider(key="weight_revenue").set_value(2.0).run()
    at.text_input(key="scenario_name").input("push").run()
    at.button(key="scenario_save").click().run()
    stored = artifacts_root / "scenarios.json"
    assert json.loads(stored.read_text())["projects"]["demo"]["push"]["weights"]["revenue"] == 2.0
    at.slider(key="weight_revenue").set_value(4.0).run()
    at.button(key="scenario_save").click().run()
    # not saved yet: a warning shows the existing scenario and asks
    assert json.loads(stored.read_text())["projects"]["demo"]["push"]["weights"]["revenue"] == 2.0
    assert any("exists" in w.value and "revenue 2" in w.value for w in at.sidebar.warning)
    at.button(key="scenario_keep").click().run()
    assert not at.sidebar.warning
    at.button(key="scenario_save").click().run()
    at.button(key="scenario_overwrite").click().run()
    assert json.loads(stored.read_text())["projects"]["demo"]["push"]["weights"]["revenue"] == 4.0


def test_scenario_preview_and_name_in_the_link(open_page: Callable[..., AppTest]) -> None:
    at = open_page()
    at.slider(key="weight_click").set_value(3.0).run()
    at.text_input(key="scenario_name").input("clicky").run()
    at.button(key="scenario_save").click().run()
    assert at.query_params["scenario"] == "clicky"
    at.slider(key="weight_click").set_value(1.0).run()  # settings left the scenario
    assert "scenario" not in at.query_params
    at.selectbox(key="scenario_pick").set_value("clicky").run()
    preview = " ".join(c.value for c in at.sidebar.caption if c.value.startswith("Preview"))
    assert "click 3" in preview and "K = 10" in preview
    assert at.slider(key="weight_click").value == 1.0  # previewing loads nothing
    at.button(key="scenario_load").click().run()
    assert at.slider(key="weight_click").value == 3.0
    assert at.query_params["scenario"] == "clicky"


def test_weights_beyond_the_slider_range(open_page: Callable[..., AppTest]) -> None:
    at = open_page("overview", w_purchase="9")  # as `recsys --weight purchase=9` would
    slider = at.slider(key="weight_purchase")
    assert slider.value == 9.0 and slider.max == 9.0 and not at.sidebar.warning
    at.number_input(key="exact_revenue@0.5").set_value(12.5).run()
    assert at.slider(key="weight_revenue").value == 12.5
    assert at.slider(key="weight_revenue").max == 13.0
    assert at.query_params["w_revenue"] == "12.5"
    at.slider(key="weight_purchase").set_value(2.0).run()
    keys = [n.key for n in at.number_input if n.key.startswith("exact_purchase")]
    assert keys == ["exact_purchase@2"], keys
    assert at.number_input(key="exact_purchase@2").value == 2.0  # mirrors the slider
