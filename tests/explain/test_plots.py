"""Waterfall geometry and renderers: what a reader sees on the bars, ticks and hover."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from explain import (
    NEGATIVE,
    POSITIVE,
    Attribution,
    feature_labels,
    plot_attribution,
    waterfall_figure,
    waterfall_range,
    waterfall_steps,
)
from explain._display import plot_escape
from recsys.errors import ExplanationError

NAMES = ("user_click_rate", "item_price", "item_brand", "latent_score")
DESCS = ("user's past click rate", "item's price", "item's <b>brand</b>", "")


@pytest.fixture
def attr(rng: np.random.Generator) -> Attribution:
    n = 12
    return Attribution(rng.normal(size=n), 0.5, tuple(f"f{j}" for j in range(n)),
                       tuple(range(n)), ("item",) * n, ("d",) * n)


def _named(values: list[float], base: float = 0.1) -> Attribution:
    return Attribution(np.array(values), base, NAMES, (0.081, 19.9, "Nexora", None),
                       ("user", "item", "item", "latent"), DESCS)


def test_steps_walk_from_base_to_total(attr: Attribution) -> None:
    steps = waterfall_steps(attr, 5)
    assert [s.kind for s in steps] == ["base"] + ["feature"] * 5 + ["other", "total"]
    assert steps[0].end == 0.5
    for prev, cur in zip(steps[1:-1], steps[2:-1], strict=False):
        assert cur.start == prev.end
    assert steps[-2].end == pytest.approx(attr.total())
    assert steps[-1].end == pytest.approx(attr.total())
    assert steps[-2].label == "7 other features"
    assert abs(steps[1].delta) == pytest.approx(np.abs(attr.values).max())


def test_labels_are_descriptions_unique_and_never_blank() -> None:
    labels = feature_labels(NAMES, DESCS)
    assert labels["user_click_rate"] == "user's past click rate"
    assert labels["latent_score"] == "latent_score"  # no description: the raw name
    shared = feature_labels(("a_x", "b_x"), ("price", "price"))
    assert shared == {"a_x": "price (a_x)", "b_x": "price (b_x)"}


def test_bars_show_readable_names_and_values_with_the_raw_name_on_hover() -> None:
    fig = waterfall_figure(waterfall_steps(_named([0.4, -0.3, 0.2, 0.1])), title="why",
                           unit="log-odds")
    trace = fig.data[0]
    ticks = list(trace.y)
    assert ticks[:3] == ["base", "user's past click rate = 0.081", "item's price = 19.9"]
    assert "user_click_rate" not in " ".join(ticks)
    assert "column: user_click_rate" in trace.hovertext[1]
    assert "column: item_price" in trace.hovertext[2]
    # descriptions are data: markup shows literally
    assert "item's &lt;b&gt;brand&lt;/b&gt; = Nexora" in ticks[3]
    assert not any("<b>" in t for t in (*ticks, *trace.hovertext))
    assert list(trace.text) == ["0.100", "+0.400", "\u22120.300", "+0.200", "+0.100", "0.500"]
    assert trace.increasing.marker.color == POSITIVE
    assert trace.decreasing.marker.color == NEGATIVE


def test_long_labels_wrap_instead_of_squeezing_the_bars() -> None:
    attr = Attribution(np.array([0.3]), 0.0, ("latent_affinity",), (0.25,), ("latent",),
                       ("taste match from the shared latent factors (cosine)",))
    tick = waterfall_figure(waterfall_steps(attr)).data[0].y[1]
    assert tick.replace("<br>", " ") == "taste match from the shared latent factors (cosine) = 0.25"
    assert "<br>" in tick


def test_pair_bars_show_both_items_values() -> None:
    attr = _named([0.4, -0.3, 0.2, 0.1], base=0.0)
    steps = waterfall_steps(attr, base_label="base difference", total_label="score gap",
                            values_b=(0.12, 45.0, "Northpeak", 3.0))
    labels = [s.label for s in steps]
    assert "item's price: 19.9 vs 45" in labels
    assert "user's past click rate: 0.081 vs 0.12" in labels
    assert "latent_score: missing vs 3" in labels
    trace = waterfall_figure(steps).data[0]
    price = next(h for h in trace.hovertext if "item's price" in h)
    assert "19.9 vs 45" in price and "column: item_price" in price
    with pytest.raises(ExplanationError, match="values_b has 2 values for 4 features"):
        waterfall_steps(attr, values_b=(1, 2))


def test_axis_zooms_to_the_bars_when_the_base_is_far_from_zero() -> None:
    attr = _named([0.6, -0.4, 0.3, -0.2], base=-6.4)
    steps = waterfall_steps(attr)
    lo, hi = waterfall_range(steps)
    levels = [v for s in steps[1:-1] for v in (s.start, s.end)] + [-6.4, attr.total()]
    assert lo < min(levels) and hi > max(levels)
    assert hi < 0  # 0 is far off: the axis does not stretch to it
    assert hi - lo < 2.0  # the bars use most of the width, not a sliver of [-6.6, 0]
    fig = waterfall_figure(steps)
    assert tuple(fig.layout.xaxis.range) == pytest.approx((lo, hi))


def test_axis_keeps_zero_when_it_is_near() -> None:
    lo, hi = waterfall_range(waterfall_steps(_named([0.6, -0.4, 0.3, -0.2], base=0.2)))
    assert lo < 0 < hi


def test_plotly_escape_matches_the_dashboards() -> None:
    from ui.text import plot_escape as ui_escape

    for s in ("<b>x</b>", "a & b\nc", "[click](https://evil.example)", "tab\there\x00"):
        assert plot_escape(s) == ui_escape(s)


def test_matplotlib_renderer(attr: Attribution) -> None:
    ax = plot_attribution(attr, max_features=5, title="why")
    assert isinstance(ax.figure, Figure)
    assert len(ax.patches) == 8
    named = plot_attribution(_named([0.6, -0.4, 0.3, -0.2], base=-6.4))
    ticks = [t.get_text() for t in named.get_yticklabels()]
    assert "user's past click rate = 0.081" in ticks
    assert named.get_xlim()[1] < 0


def test_plotly_measures_add_up(attr: Attribution) -> None:
    trace = waterfall_figure(waterfall_steps(attr, 5)).data[0]
    assert list(trace.measure) == ["absolute"] + ["relative"] * 6 + ["total"]
    assert sum(trace.x[:-1]) == pytest.approx(attr.total())
    assert len(set(trace.y)) == len(trace.y)  # "d (f3)": shared descriptions stay apart


def test_report_labels_keep_the_value_when_cut() -> None:
    attr = Attribution(np.array([0.3]), 0.0, ("item_price_vs_user",), (12.5,), ("user×item",),
                       ("price relative to what this user usually picks",))
    step = waterfall_steps(attr)[1]
    short = step.short_label(30)
    assert len(short) == 30 and short.endswith("… = 12.5")
    assert short.startswith("price relative to")
