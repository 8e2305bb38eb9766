"""Hostile strings in a real browser: item titles, user ids and attribute values that are
Markdown or HTML, and a phishing ``?user=`` link, must reach the DOM as text.

Looks for what an unescaped string would have produced: links or images pointing at
``evil.example`` / ``x/y.png`` (HTML ``<a>``/``<img>`` or plotly's SVG ``<a>``), a
``<script>`` holding ``alert(1)``, and bold elements (HTML ``<strong>``/``<b>``, plotly's
bold ``<tspan>``) whose whole text is the inside of a data string. Screenshots go to
``$BLENDSCOPE_SHOTS`` (default ``test-artifacts/``).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import (
    BROWSER_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HOSTILE,
    PHISH,
    ROOT,
    full_shot,
    streamlit_server,
    wait_idle,
)

WIDTH = 1280
SHOTS = Path(os.environ.get("BLENDSCOPE_SHOTS", ROOT / "test-artifacts"))
INSIDES = ["bold", "x", "click", "img", "app", "Your session expired", "log in", "bargain",
           "mainstream", "premium"]
"""Texts a bold or link element would have if a data string had been rendered."""
INJECTED_JS = """insides => {
  const href = e => e.getAttribute('href') || e.getAttribute('xlink:href') || '';
  const bad = s => s.includes('evil.example') || s.includes('x/y.png');
  const bold = e => ['bold', '700'].includes(getComputedStyle(e).fontWeight);
  return {
    links: [...document.querySelectorAll('a')].map(href).filter(bad),
    images: [...document.querySelectorAll('img')].map(i => i.getAttribute('src') || '')
      .filter(bad),
    scripts: [...document.querySelectorAll('script')]
      .filter(s => s.textContent.includes('alert(1)')).length,
    bold: [...document.querySelectorAll('strong, b')].map(e => e.textContent.trim())
      .filter(t => insides.includes(t)),
    svgBold: [...document.querySelectorAll('svg tspan, svg text')].filter(bold)
      .map(e => e.textContent.trim()).filter(t => insides.includes(t)),
  };
}"""

pytestmark = BROWSER_MARKS


@pytest.fixture
def server(hostile_root: Path) -> Iterator[str]:
    """``streamlit run app.py`` over the hostile project."""
    with streamlit_server(hostile_root) as url:
        yield url


def _assert_nothing_injected(page: Any) -> None:
    found = page.evaluate(INJECTED_JS, INSIDES)
    assert found == {"links": [], "images": [], "scripts": 0, "bold": [], "svgBold": []}


def _open(page: Any, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for(timeout=90_000)
    wait_idle(page)


def test_hostile_strings_show_literally_in_chromium(server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = urllib.parse.quote(HOSTILE[0], safe="")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})

        _open(page, f"{server}/explain?user={user}", "Explain")
        page.get_by_text("Blended score", exact=True).first.wait_for(timeout=90_000)
        page.get_by_text("the bars add up to that gap").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 5",
                               timeout=60_000)
        wait_idle(page)
        compare = page.get_by_text("the bars add up to that gap").inner_text()
        assert any(h in compare for h in HOSTILE), compare  # titles, literally
        _assert_nothing_injected(page)
        full_shot(page, SHOTS / "hostile-1-explain.png", WIDTH)

        page.locator(".st-key-exp_item input[role=combobox]").click()
        options = page.get_by_role("option")
        options.first.wait_for(timeout=10_000)
        texts = options.all_inner_texts()
        assert any(h in t for t in texts for h in HOSTILE), texts
        _assert_nothing_injected(page)
        page.screenshot(path=str(SHOTS / "hostile-2-explain-items.png"))
        page.keyboard.press("Escape")

        phish = urllib.parse.quote(PHISH, safe="")
        _open(page, f"{server}/recommendations?user={phish}", "Recommendations")
        warning = page.get_by_text("(from the link) is not in project")
        warning.wait_for(timeout=60_000)
        assert PHISH in warning.inner_text().replace("\u2060", "")  # invisible joiners
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        wait_idle(page)
        labels = page.evaluate("() => [...document.querySelectorAll("
                               "'.js-plotly-plot .yaxislayer-above text')].map(t => t.textContent)")
        assert any(label.endswith(HOSTILE[3]) for label in labels), labels  # "<b>x</b>"
        _assert_nothing_injected(page)
        full_shot(page, SHOTS / "hostile-3-recommendations.png", WIDTH)

        _open(page, f"{server}/segments", "Segments")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        wait_idle(page)
        _assert_nothing_injected(page)
        full_shot(page, SHOTS / "hostile-4-segments.png", WIDTH)
        browser.close()
