"""End to end in a real browser: Debian's headless Chromium driven by Playwright against
``streamlit run app.py`` on the session's small project."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import BROWSER_MARKS, CHROMIUM, ROOT, full_shot, streamlit_server, wait_idle
from ui_helpers import CHROMIUM_ARGS as ARGS

from recsys.projectlog import ProjectLog

SHOTS = ROOT / "test-artifacts"
USER = "u00001"
TOP_JS = ("() => Array.from(document.querySelectorAll('.js-plotly-plot .yaxislayer-above text'))"
          ".map(t => t.textContent).find(s => s.startsWith('1. '))")
"""The first label of the task-shares chart: "1. <title of the top item>"."""

pytestmark = BROWSER_MARKS



def _presses(project) -> tuple[str, int]:  # noqa: ANN001
    """A task slider and how many ArrowRight steps change the user's top item."""
    base = project.spec().weights.as_dict()
    top = project.recommend(USER, weights=base).items[0].item_id
    best: tuple[str, int] | None = None
    for task in ("revenue", "click", "purchase"):
        for n in range(1, int((5.0 - base[task]) / 0.1) + 1):
            w = round(base[task] + 0.1 * n, 1)
            if project.recommend(USER, weights={**base, task: w}).items[0].item_id != top:
                if best is None or n < best[1]:
                    best = (task, n)
                break
    assert best is not None, "no single-task change moves the top item"
    return best


def test_slider_explain_and_report_in_chromium(server: str, small_project) -> None:  # noqa: ANN001
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(exist_ok=True)
    task, presses = _presses(small_project)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)

        def idle() -> None:
            page.wait_for_timeout(300)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stApp\"]')"
                "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=90_000)

        def shot(name: str) -> None:
            height = page.evaluate(
                "document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
            page.set_viewport_size({"width": 1400, "height": max(900, int(height))})
            page.screenshot(path=str(SHOTS / f"{name}.png"))
            page.set_viewport_size({"width": 1400, "height": 900})

        def top_item() -> str:
            page.locator(".js-plotly-plot .yaxislayer-above text").first.wait_for(
                timeout=60_000)
            return str(page.evaluate(TOP_JS))

        page.goto(f"{server}/recommendations?user={USER}")
        page.get_by_role("heading", name="Recommendations").wait_for(timeout=90_000)
        idle()
        before = top_item()
        assert before.startswith("1. ")
        shot("browser-1-recommendations")

        slider = page.locator(f'input[type=range][aria-label="{task}"]')
        value = float(slider.get_attribute("aria-valuetext") or "nan")
        slider.focus()
        for _ in range(presses):
            value = round(value + 0.1, 1)
            slider.press("ArrowRight")
            page.wait_for_function(
                "([el, v]) => el.getAttribute('aria-valuetext') === v",
                arg=[slider.element_handle(), f"{value:.1f}"], timeout=30_000)
            idle()
        page.wait_for_function(f"t => ({TOP_JS})() !== t", arg=before, timeout=30_000)
        after = top_item()
        assert after != before
        assert f"w_{task}={value:.1f}" in page.url
        shot("browser-2-after-slider")

        page.locator('[data-testid="stSidebarNav"] a', has_text="Explain").click()
        page.get_by_role("heading", name="Explain").wait_for(timeout=60_000)
        idle()
        page.get_by_text("Blended score", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("Why this item, in words").wait_for()
        shot("browser-3-explain")

        page.locator('[data-testid="stSidebarNav"] a', has_text="Reports").click()
        page.get_by_role("heading", name="Reports").wait_for(timeout=60_000)
        idle()
        page.get_by_role("button", name="Build report").click()
        idle()
        button = page.get_by_role("button", name="Download HTML")
        button.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as info:
            button.click()
        target = SHOTS / "browser-report.html"
        info.value.save_as(target)
        html = target.read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html")
        assert USER in html
        shot("browser-4-reports")
        browser.close()


LABELS_JS = ("() => Array.from(document.querySelectorAll('.js-plotly-plot .yaxislayer-above text'))"
             ".map(t => t.textContent).filter(s => /^\\d+\\. /.test(s))"
             ".sort((a, b) => parseInt(a) - parseInt(b))")
"""The task-shares chart's labels in rank order: "1. <title>", "2. <title>"… (the list)."""


def test_flagged_item_leaves_the_list_in_chromium(copied_root: Path, small_project) -> None:  # noqa: ANN001
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(exist_ok=True)
    top = small_project.recommend(USER).items[0]
    with streamlit_server(copied_root) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/recommendations?user={USER}")
        page.get_by_role("heading", name="Recommendations").wait_for(timeout=90_000)
        page.locator(".js-plotly-plot .yaxislayer-above text").first.wait_for(timeout=90_000)
        wait_idle(page)
        before = page.evaluate(LABELS_JS)
        assert before[0] == f"1. {top.title[:28]}"
        page.get_by_role("textbox", name="Note (optional)").fill("wrong audience")
        page.get_by_role("button", name="Flag", exact=True).click()
        page.get_by_text(f"flagged {top.item_id} as bad for {USER}").wait_for(timeout=60_000)
        wait_idle(page)
        page.wait_for_function(f"b => ({LABELS_JS})()[0] !== b", arg=before[0], timeout=30_000)
        after = page.evaluate(LABELS_JS)
        assert [a.split(". ", 1)[1] for a in after[:9]] == [b.split(". ", 1)[1]
                                                            for b in before[1:10]]
        assert len(after) == len(before)
        full_shot(page, SHOTS / "browser-5-flagged.png", 1280)
        browser.close()
    (flag,) = ProjectLog.of(copied_root / "demo").history()
    assert (flag.item_id, flag.user_id, flag.note, flag.source) == (
        top.item_id, USER, "wrong audience", "dashboard")


RANK_JS = ("() => Array.from(document.querySelectorAll('[data-testid=\"stMetric\"]'))"
           ".filter(m => m.innerText.includes('Rank among'))"
           ".map(m => m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim())[0]")
"""The What-if page's rank metric ("1", "4"…)."""


def test_whatif_price_edit_moves_the_rank_in_chromium(server: str, small_project) -> None:  # noqa: ANN001
    sync_api = pytest.importorskip("playwright.sync_api")
    from explain import whatif

    SHOTS.mkdir(exist_ok=True)
    moves = [(it, p, whatif(small_project, USER, it.item_id, changes={"price": p}).rank_after)
             for it in small_project.recommend(USER).items[:3] for p in (0.5, 5.0, 300.0)]
    item, price, rank = next((it, p, r) for it, p, r in moves if r != it.rank)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{server}/whatif?user={USER}&item={item.item_id}")
        page.get_by_role("heading", name="What-if").wait_for(timeout=90_000)
        box = page.get_by_role("spinbutton", name="price")
        box.wait_for(timeout=90_000)
        wait_idle(page)
        page.wait_for_function(f"() => ({RANK_JS})() === '{item.rank}'", timeout=90_000)
        box.fill(f"{price:g}")
        box.press("Enter")
        page.wait_for_function(f"() => ({RANK_JS})() === '{rank}'", timeout=90_000)
        wait_idle(page)
        assert f"set_price={price}" in page.url
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        full_shot(page, SHOTS / "browser-6-whatif.png", 1280)
        page.get_by_role("button", name="Reset to current values").click()
        page.wait_for_function(f"() => ({RANK_JS})() === '{item.rank}'", timeout=60_000)
        browser.close()
