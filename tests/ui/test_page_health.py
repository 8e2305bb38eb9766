"""Model health page, the warnings banner on every project page, and the Overview's
metrics-beside-baseline table."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import decode, figure, frame_with, markdown_texts, titles, unescape

from recsys.health import model_health
from ui import compute
from ui.text import md_escape


@pytest.fixture(scope="module")
def health(small_project):  # noqa: ANN001, ANN201 - Project -> ModelHealth
    return model_health(small_project)


def test_every_task_beside_its_baseline_with_the_library_numbers(
        open_page: Callable[..., AppTest], health) -> None:  # noqa: ANN001
    at = open_page("health")
    assert titles(at) == ["Model health"]
    tasks = health.task_names()
    frames = [df.value for df in at.dataframe if "lift 95% CI" in df.value]
    assert len(frames) == len(tasks) == 4
    for task, frame in zip(tasks, frames, strict=True):
        reports = health.reports_for(task)
        assert len(frame) == len(reports)
        for r, (_, row) in zip(reports, frame.iterrows(), strict=True):
            assert row["metric"] == compute.metric_label(r.metric, r.higher_is_better)
            assert row["model"] == f"{r.value:.4g}"
            assert row["95% CI"] == f"[{r.ci_low:.3g}, {r.ci_high:.3g}]"
            assert row["baseline"] == f"{r.baseline_name} {r.baseline_value:.4g}"
            assert row["lift 95% CI"] == f"[{r.lift_ci_low:+.3g}, {r.lift_ci_high:+.3g}]"
            assert (row["positives"], row["rows"], row["users"]) == (
                r.n_positives, r.n_rows, r.n_users)
            if r.lift_ci_low > 0:
                assert row["lift"] == f"{r.lift:+.4g}"
            elif r.lift_ci_high < 0:
                assert row["lift"] == "worse than baseline"
            else:
                assert row["lift"] == "not better than baseline"
    lifts = [v for f in frames for v in f["lift"]]
    assert "not better than baseline" in lifts  # the small project has such metrics


def test_warnings_are_listed_in_words_and_no_banner_on_the_page(
        open_page: Callable[..., AppTest], health) -> None:  # noqa: ANN001
    at = open_page("health")
    assert health.warnings
    text = "\n".join(markdown_texts(at))
    for w in health.warnings:
        assert md_escape(w.message) in text
    assert f"Warnings ({len(health.warnings)})" in [s.value for s in at.subheader]
    assert not [w for w in at.warning if "model-health warning" in w.value]


def test_curves_come_from_the_recorded_diagnostics(open_page: Callable[..., AppTest],
                                                   health) -> None:  # noqa: ANN001
    at = open_page("health")
    curve = health.curves["click"]
    fig = figure(at, "hl_curve_click")
    names = [t["name"] for t in fig["data"]]
    assert names == ["training", "validation"]
    np.testing.assert_allclose(decode(fig["data"][0]["y"]), curve.train)
    np.testing.assert_allclose(decode(fig["data"][1]["y"]), curve.validation)
    assert fig["layout"]["xaxis"]["title"]["text"] == "boosting iteration"
    rel = health.diagnostics["click"].reliability
    assert any(f"ECE {rel.ece:.3g}" in str(t["name"]) for t in figure(at, "hl_rel_click")["data"])
    roc = figure(at, "hl_roc_click")
    np.testing.assert_allclose(decode(roc["data"][1]["x"]), health.diagnostics["click"].roc.x)
    weekly = figure(at, "hl_week_click")["data"][0]
    assert list(weekly["x"]) == list(health.diagnostics["click"].weekly.week_start)
    at.session_state["hl_tab"] = "revenue"  # the regression task's tab
    at.run()
    assert not at.exception
    diag = health.diagnostics["revenue"]
    pva = figure(at, "hl_pva_revenue")
    np.testing.assert_allclose(decode(pva["data"][1]["y"]), diag.scatter.y)
    res = figure(at, "hl_res_revenue")
    assert decode(res["data"][0]["y"]).sum() == diag.residuals.count.sum()
    assert res["layout"]["yaxis"]["title"]["text"].startswith("test rows")


def test_the_page_opens_in_under_a_second(open_page: Callable[..., AppTest]) -> None:
    at = open_page("overview")  # warm: imports and the manifest read
    at.switch_page("ui/pages/health.py").run()
    took = []
    for _ in range(3):
        at.switch_page("ui/pages/overview.py")
        start = time.perf_counter()
        at.switch_page("ui/pages/health.py").run()
        took.append(time.perf_counter() - start)
        assert not at.exception
    assert min(took) < 1.0, took


@pytest.mark.parametrize("page", ["overview", "recommendations", "runs", "feedback"])
def test_banner_lists_the_warnings_and_links_to_the_page(
        open_page: Callable[..., AppTest], health, page: str) -> None:  # noqa: ANN001
    at = open_page(page)
    banners = [w.value for w in at.warning if "model-health warning" in w.value]
    assert len(banners) == 1
    n = len(health.warnings)
    assert unescape(banners[0]).startswith(f"**{n} model-health warnings** — ")
    assert "no lift over a baseline" in banners[0]
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["health"]


def test_overview_table_shows_baselines_lift_and_positives(
        open_page: Callable[..., AppTest], health) -> None:  # noqa: ANN001
    at = open_page()
    table = frame_with(at, "lift 95% CI")
    assert list(table.columns) == ["task", "metric", "model", "baseline", "lift", "lift 95% CI",
                                   "positives", "trees"]
    assert list(table["task"]) == [r.task for r in health.reports]
    assert list(table["positives"]) == [r.n_positives for r in health.reports]
    assert list(table["baseline"]) == [f"{r.baseline_name} {r.baseline_value:.4g}"
                                       for r in health.reports]
    assert table["trees"].notna().all()


def test_banner_summary_counts_each_kind() -> None:
    from recsys.health import HealthWarning

    ws = (HealthWarning("no_lift", "a", "m1"), HealthWarning("few_trees", "b", "m2"),
          HealthWarning("no_lift", "c", "m3"))
    text, first = compute.warning_summary(ws)
    assert text == "1 too few trees, 2 no lift over a baseline"
    assert first is ws[1]
    assert compute.warning_summary(()) == ("", None)
