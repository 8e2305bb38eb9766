"""Waterfall geometry and renderers."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from explain import Attribution, plot_attribution, waterfall_figure, waterfall_steps


@pytest.fixture
def attr(rng: np.random.Generator) -> Attribution:
    n = 12
    return Attribution(rng.normal(size=n), 0.5, tuple(f"f{j}" for j in range(n)),
                       tuple(range(n)), ("item",) * n, ("d",) * n)


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


def test_renderers(attr: Attribution) -> None:
    ax = plot_attribution(attr, max_features=5, title="why")
    assert isinstance(ax.figure, Figure)
    assert len(ax.patches) == 8
    fig = waterfall_figure(attr, 5)
    trace = fig.data[0]
    assert list(trace.measure) == ["absolute"] + ["relative"] * 6 + ["total"]
    assert sum(trace.x[:-1]) == pytest.approx(attr.total())
