"""Global page."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, titles, unescape

READABLE = {"user_click_rate": "user's past click rate", "item_price": "item's price",
            "latent_score": "strength of the latent user-item match"}
"""Raw column → the readable label the demo project's feature specs give it."""


def _ticks(values: list[object]) -> list[str]:
    return [str(v).replace("<br>", " ") for v in values]


def test_global_importance_for_blend_and_tasks(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    assert titles(at) == ["Global feature importance"]
    table = frame_with(at, "blend")
    assert table["blend"].is_monotonic_decreasing
    bars = figure(at, "gl_bars")
    shown = [v for t in bars["data"] for v in decode(t["x"])]
    assert max(shown) == table["blend"].max()
    assert figure(at, "gl_strip")["data"]
    at.selectbox(key="gl_task").set_value("purchase").run()
    bars = figure(at, "gl_bars")
    shown = [v for t in bars["data"] for v in decode(t["x"])]
    assert max(shown) == frame_with(at, "blend")["purchase"].max()
    assert "log p(click)" in bars["layout"]["xaxis"]["title"]["text"].replace("<br>", " ")


def test_features_are_named_by_description(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    table = frame_with(at, "blend")
    assert list(table.columns[:2]) == ["feature", "column"]
    named = dict(zip(table["column"], table["feature"], strict=True))
    assert {c: named[c] for c in READABLE} == READABLE
    assert "description" not in table.columns  # the label is the description
    bars = figure(at, "gl_bars")["data"]
    ticks = [t for trace in bars for t in _ticks(trace["y"])]
    raws = [str(c) for trace in bars for c in trace["customdata"]]
    assert ticks == [named[c] for c in raws]  # readable on the axis, raw on hover
    assert "column: %{customdata}" in bars[0]["hovertemplate"]
    assert not set(ticks) & set(table["column"])
    strip = figure(at, "gl_strip")
    assert set(_ticks(strip["layout"]["yaxis"]["ticktext"])) <= set(table["feature"])
    assert all("column: " in t["hovertemplate"] for t in strip["data"])


def test_blend_name_matches_the_library() -> None:
    import explain

    assert explain.BLEND == "blend"


def test_dependence_plot_follows_the_feature(open_page: Callable[..., AppTest],
                                            small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    at.selectbox(key="gl_feature").set_value("item_price").run()
    dep = figure(at, "gl_dependence")
    assert dep["layout"]["xaxis"]["title"]["text"] == "item's price (feature value)"
    assert "column: item_price" in dep["data"][0]["hovertemplate"]
    assert len(decode(dep["data"][0]["x"])) == min(1000, len(small_project.eval_context.test))


def test_partial_dependence_beside_the_dependence_plot(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    pdp = figure(at, "gl_pdp")
    panels = [a["text"] for a in pdp["layout"]["annotations"]]
    assert panels == ["click", "purchase", "revenue", "returned (minimised)",
                      "blend (current weights)"]
    lines = [d for d in pdp["data"] if d.get("xaxis")]
    assert len(lines) == 5 and all(len(decode(d["y"])) >= 2 for d in lines)


def _sample(project):  # noqa: ANN001, ANN202 - the page's sample at the config's blend
    from explain import global_importance

    return global_importance(project, n=1000)


def test_strip_colours_categorical_features_by_level(open_page: Callable[..., AppTest],
                                                     small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    strip = figure(at, "gl_strip")["data"]
    specs = {s.name: s for s in small_project.feature_specs}
    by_feature: dict[str, list[dict]] = {}
    for trace in strip:
        if trace.get("legendgroup"):
            by_feature.setdefault(trace["legendgroup"], []).append(trace)
    assert by_feature, "no categorical feature among the strip's rows"
    gi = _sample(small_project)
    from explain import dependence, feature_labels

    labels = feature_labels([s.name for s in gi.specs], [s.description for s in gi.specs])
    for feature, traces in by_feature.items():
        assert specs[feature].is_categorical
        names = [t["name"] for t in traces]
        colours = [t["marker"]["color"] for t in traces]
        assert len(traces) >= 2 and len(set(names)) == len(names)
        assert all(isinstance(c, str) for c in colours) and len(set(colours)) == len(colours)
        assert all(t["showlegend"] for t in traces)
        assert traces[0]["legendgrouptitle"]["text"] == labels[feature]
        levels = dependence(gi, feature)["value"].astype(str)
        attributions = dependence(gi, feature)["attribution"].to_numpy(np.float32)
        for t in traces:  # each level's dots are the attributions of its rows
            if t["name"] in specs[feature].categories:
                np.testing.assert_allclose(np.sort(decode(t["x"])),
                                           np.sort(attributions[levels == t["name"]]))
        assert sum(len(decode(t["x"])) for t in traces) == len(gi.rows)
    numeric = [t for t in strip if not t.get("legendgroup")]
    assert all(t["marker"]["colorscale"] for t in numeric)  # numbers keep the low→high scale
    assert sum(bool(t["marker"].get("showscale")) for t in numeric) == 1


def test_interaction_colouring_changes_the_dependence_colours(
        open_page: Callable[..., AppTest], small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    at.selectbox(key="gl_feature").set_value("item_price").run()
    plain = figure(at, "gl_dependence")["data"]
    assert len(plain) == 1 and isinstance(plain[0]["marker"]["color"], str)
    assert at.selectbox(key="gl_colour").value == ""  # none by default
    at.selectbox(key="gl_colour").set_value("user_click_rate").run()
    fig = figure(at, "gl_dependence")
    dots = fig["data"][0]
    from explain import dependence

    expected = dependence(_sample(small_project), "item_price", colour_by="user_click_rate")
    np.testing.assert_allclose(decode(dots["marker"]["color"]), expected["colour"])
    np.testing.assert_allclose(decode(dots["x"]), expected["value"])
    # the scale spans the 5th to 95th percentile, so a few large values do not darken the rest
    low, high = np.nanpercentile(expected["colour"], [5, 95])
    assert (dots["marker"]["cmin"], dots["marker"]["cmax"]) == pytest.approx((low, high))
    assert "past click rate" in dots["marker"]["colorbar"]["title"]["text"].replace("<br>", " ")
    at.selectbox(key="gl_colour").set_value("user_segment").run()
    fig = figure(at, "gl_dependence")
    traces = fig["data"]
    segments = dependence(_sample(small_project), "item_price",
                          colour_by="user_segment")["colour"].astype(str)
    assert sorted(t["name"] for t in traces) == sorted(set(segments))
    assert len({t["marker"]["color"] for t in traces}) == len(traces)
    for t in traces:  # each level's trace holds that level's rows
        np.testing.assert_allclose(np.sort(decode(t["x"])),
                                   np.sort(expected["value"][segments == t["name"]]))
    assert fig["layout"]["legend"]["title"]["text"] == "user's segment:"


def test_categorical_dependence_is_a_box_per_level(open_page: Callable[..., AppTest],
                                                   small_project) -> None:  # noqa: ANN001
    at = open_page("global")
    at.selectbox(key="gl_feature").set_value("item_category").run()
    fig = figure(at, "gl_dependence")
    boxes = [t for t in fig["data"] if t["type"] == "box"]
    dots = [t for t in fig["data"] if t["type"] == "scatter"]
    assert len(boxes) == 1 and len(dots) == 1
    from explain import dependence

    frame = dependence(_sample(small_project), "item_category")
    present = [c for c in frame["value"].cat.categories if (frame["value"] == c).any()]
    ticks = fig["layout"]["xaxis"]["ticktext"]
    assert ticks == present  # in the feature's level order
    pos = decode(boxes[0]["x"]).astype(int)
    levels = np.asarray(ticks, dtype=object)[pos]
    np.testing.assert_array_equal(levels, frame["value"].astype(str))  # one box per level
    np.testing.assert_allclose(decode(boxes[0]["y"]), frame["attribution"], rtol=1e-6)
    assert np.all(np.abs(decode(dots[0]["x"]) - pos) <= 0.3)  # dots jittered around it
    at.selectbox(key="gl_feature").set_value("item_brand").run()
    ticks = figure(at, "gl_dependence")["layout"]["xaxis"]["ticktext"]
    brands = dependence(_sample(small_project), "item_brand")["value"].nunique()
    if brands > 20:  # the 20 most frequent, then the rest as one box
        assert len(ticks) == 21 and ticks[-1] == f"other levels ({brands - 20})"


def test_table_order_follows_the_selected_task(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    assert frame_with(at, "blend")["blend"].is_monotonic_decreasing
    for task in ("purchase", "returned"):
        at.selectbox(key="gl_task").set_value(task).run()
        table = frame_with(at, "blend")
        assert table[task].is_monotonic_decreasing
        bars = figure(at, "gl_bars")["data"]
        top = max(((v, c) for t in bars for v, c in zip(decode(t["x"]), t["customdata"],
                                                        strict=True)))
        assert table["column"][0] == top[1]  # the table's first row is the longest bar


def _note(at: AppTest) -> str:
    notes = [unescape(c.value) for c in at.caption if "share credit" in c.value]
    return notes[0] if notes else ""


def test_note_names_features_that_share_credit(open_page: Callable[..., AppTest]) -> None:
    at = open_page("global")
    note = _note(at)
    # the demo generator puts every brand in one category, and brand is a top feature
    assert "**item's brand** with item's category (each item's brand falls within one " \
           "item's category for 100% of rows)" in note


def test_note_names_a_constructed_pair_of_top_features(
        open_page: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    import explain
    from explain import FeatureAssociation
    from ui import state

    pair = [FeatureAssociation("user_click_rate", "item_discount_vs_user", "spearman", 0.83)]
    monkeypatch.setattr(explain, "feature_associations", lambda gi: tuple(pair))
    state.global_associations.clear()
    at = open_page("global")
    assert ("**user's past click rate** with discount relative to what this user usually "
            "picks (rank correlation 0.83)") in _note(at)
    table = frame_with(at, "blend")
    low = table["column"].tolist()[-2:]  # two of the least important features
    pair[:] = [FeatureAssociation(low[0], low[1], "spearman", 0.9)]
    state.global_associations.clear()
    at.run()
    assert _note(at) == ""  # only pairs involving a top feature are named
    state.global_associations.clear()


def test_slider_move_recomputes_no_shap(open_page: Callable[..., AppTest],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import explain
    from ui import state

    calls: list[tuple[int, int | None]] = []
    real = explain.global_importance

    def counting(*args: object, **kw: object):  # noqa: ANN202
        reuse = kw.get("reuse")
        calls.append((kw["n"], None if reuse is None else len(reuse.rows)))  # type: ignore
        return real(*args, **kw)

    monkeypatch.setattr(explain, "global_importance", counting)  # state imports it lazily
    state._sample_job.clear()  # this test's samples are computed afresh
    at = open_page("global")
    at.selectbox(key="gl_n").set_value(2000).run()
    # each sample computed once, extending the next smaller one (2000 was prefetched)
    assert sorted(calls) == [(500, None), (1000, 500), (2000, 1000)]
    before = figure(at, "gl_bars")
    at.slider(key="weight_click").set_value(3.0).run()
    assert not at.exception
    assert len(calls) == 3  # a weight move reweights the cached sample
    assert figure(at, "gl_bars") != before
    at.selectbox(key="gl_n").set_value(500).run()
    assert len(calls) == 3  # smaller samples are cached too


def test_task_figures_are_reused_on_a_slider_move(open_page: Callable[..., AppTest],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import global_view, state

    built: list[str] = []
    real = global_view.overview_figures

    def counting(gi, frame, target, *rest):  # noqa: ANN001, ANN002, ANN202
        built.append(target)
        return real(gi, frame, target, *rest)

    monkeypatch.setattr(global_view, "overview_figures", counting)  # state imports it lazily
    state.global_overview.clear()
    at = open_page("global")
    at.selectbox(key="gl_task").set_value("purchase").run()
    before = figure(at, "gl_strip")
    assert built == ["blend", "purchase"]
    at.slider(key="weight_click").set_value(4.3).run()
    assert built == ["blend", "purchase"]  # a task's figures do not depend on the weights
    assert figure(at, "gl_strip") == before
    at.selectbox(key="gl_task").set_value("blend").run()
    at.slider(key="weight_click").set_value(4.4).run()
    assert built == ["blend", "purchase", "blend", "blend"]  # the blend's do
