"""Fixtures of the dashboard tests: the session's small demo project under a fresh
artifacts root per test, and an ``AppTest`` of ``app.py`` pointed at it.

The project itself is trained once per session by ``small_artifacts`` in
``tests/conftest.py`` (write_demo with 300 users, 80 items, 20k exposures + train +
save_project); each test links it as ``<tmp>/artifacts/demo`` so that scenarios and
newly trained projects never leak between tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
FIRST_RUN_TIMEOUT = 120
"""The first run of a session imports the engine and loads the project (JIT included)."""


@pytest.fixture
def artifacts_root(small_artifacts: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """``<tmp>/artifacts`` holding the session's project as ``demo``."""
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / "demo").symlink_to(small_artifacts, target_is_directory=True)
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(root))
    return root


@pytest.fixture
def app(artifacts_root: Path) -> AppTest:
    """An AppTest of the dashboard (not yet run)."""
    return AppTest.from_file(str(APP), default_timeout=20)


@pytest.fixture
def open_page(app: AppTest) -> Callable[..., AppTest]:
    """``open_page("explain")``: run the app, switch to a page and run it."""

    def _open(page: str = "overview", /, **query: str) -> AppTest:
        app.query_params.update(query)
        app.run(timeout=FIRST_RUN_TIMEOUT)
        if page != "overview":
            app.switch_page(f"ui/pages/{page}.py").run(timeout=FIRST_RUN_TIMEOUT)
        assert not app.exception, [e.value for e in app.exception]
        return app

    return _open

