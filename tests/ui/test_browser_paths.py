"""In Chromium: every page opens from its own path (``/overview`` included), and the
dashboard makes no request beyond its own server (it works offline)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from ui_helpers import BROWSER_MARKS, CHROMIUM
from ui_helpers import CHROMIUM_ARGS as ARGS

pytestmark = BROWSER_MARKS



def test_page_paths_open_and_nothing_leaves_the_server(server: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    host = urlsplit(server).netloc
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url)
                if urlsplit(r.url).netloc not in (host, "") and not r.url.startswith("data:")
                else None)
        for path, heading in (("overview", "Blendscope"), ("segments", "Segments")):
            page.goto(f"{server}/{path}")
            page.get_by_role("heading", name=heading).first.wait_for(timeout=90_000)
            assert "Page not found" not in page.inner_text("body"), path
        icon = page.evaluate("document.querySelector('link[rel*=icon]')?.href")
        assert icon and urlsplit(icon).netloc == host  # the page icon is served locally
        browser.close()
    assert outside == [], f"requests left the server: {sorted(set(outside))[:3]}"
