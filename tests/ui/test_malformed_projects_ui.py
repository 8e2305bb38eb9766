"""The dashboard on every malformed project of the corpus (``tests/recsys/
malformed_projects.py``): an error naming the problem, never a traceback, never a server
path; and a real ``streamlit run`` server that opens such projects in Chromium keeps
serving (a LightGBM abort on a malformed model would kill it)."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import CHROMIUM, CHROMIUM_ARGS, streamlit_server, unescape, wait_idle

from tests.recsys.malformed_projects import CASES, Case, make

APP = Path(__file__).resolve().parents[2] / "app.py"
FIRST_RUN_TIMEOUT = 120
BROWSER_CASES = ("garbage_model_rehashed", "truncated_model_rehashed", "model_byte_flip",
                 "tasks_dict", "symlink_outside", "candidates_row_count_rehashed")
"""Projects opened in the real server: the two LightGBM would abort on come first."""


@pytest.fixture(scope="module")
def malformed_root(small_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artifacts root holding every malformed project of the corpus."""
    root = tmp_path_factory.mktemp("malformed-ui") / "artifacts"
    root.mkdir()
    for case in CASES:
        make(small_artifacts, root, case)
    return root


@pytest.fixture(scope="module")
def user_item(small_project) -> tuple[str, str]:  # noqa: ANN001 - Project
    """A user and their top item: the Explain page would load a model for them."""
    user = small_project.user_ids()[0]
    return user, small_project.recommend(user).items[0].item_id


def _every_text(at: AppTest) -> list[str]:
    """Every element's protobuf as text (labels, bodies, tooltips, options, values)."""
    return [str(node.proto) for node in at._tree if getattr(node, "proto", None) is not None]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_malformed_project_is_an_error_not_a_traceback(
        case: Case, malformed_root: Path, user_item: tuple[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(malformed_root))
    user, item = user_item
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params = {"project": case.name, "page": "explain", "user": user, "item": item}
    at.run(timeout=FIRST_RUN_TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="project").value == case.name
    shown = "\n".join(unescape(e.value) for e in at.error)
    assert re.search(case.expect, shown), shown
    assert "Traceback" not in shown
    for text in _every_text(at):
        flat = unescape(text.replace("\\\\", "\\"))
        assert str(malformed_root.parent) not in flat, flat[:300]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at "
                    "/usr/bin/chromium (apt-get install -y chromium)")
def test_a_real_server_survives_opening_malformed_projects(
        small_artifacts: Path, tmp_path: Path, user_item: tuple[str, str]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path / "artifacts"
    root.mkdir()
    cases = [c for name in BROWSER_CASES for c in CASES if c.name == name]
    for case in cases:
        make(small_artifacts, root, case)
    user, item = user_item
    with streamlit_server(root) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for case in cases:
            query = urllib.parse.urlencode({"project": case.name, "page": "explain",
                                            "user": user, "item": item})
            page.goto(f"{url}/?{query}")
            alert = page.locator('[data-testid="stAlertContentError"]').first
            alert.wait_for(timeout=90_000)
            wait_idle(page)
            shown = " ".join(page.locator('[data-testid="stAlertContentError"]')
                             .all_inner_texts())
            assert re.search(case.expect, " ".join(shown.replace("\u2060", "").split())), shown
            body = page.inner_text("body")
            assert "Traceback" not in body and str(root) not in body
            assert page.locator('[data-testid="stException"]').count() == 0
            assert urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).read() == b"ok"
        browser.close()
        assert urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).read() == b"ok"
