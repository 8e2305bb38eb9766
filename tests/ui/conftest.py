"""Fixtures of the dashboard tests: the session's small demo project under a fresh
artifacts root per test, and an ``AppTest`` of ``app.py`` pointed at it.

The project itself is trained once per session by ``small_artifacts`` in
``tests/conftest.py`` (write_demo with 300 users, 80 items, 20k exposures + train +
save_project); each test links it as ``<tmp>/artifacts/demo`` so that scenarios and
newly trained projects never leak between tests.

``hostile_artifacts`` is a second small project whose item titles, some user ids and
attribute, category and device values are Markdown/HTML (see ``ui_helpers.HOSTILE``):
everything the dashboard shows of it must read as text.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import HOSTILE

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


def _opener(app: AppTest) -> Callable[..., AppTest]:
    def _open(page: str = "overview", /, **query: str) -> AppTest:
        app.query_params.update(query)
        app.run(timeout=FIRST_RUN_TIMEOUT)
        if page != "overview":
            app.switch_page(f"ui/pages/{page}.py").run(timeout=FIRST_RUN_TIMEOUT)
        assert not app.exception, [e.value for e in app.exception]
        return app

    return _open


@pytest.fixture
def open_page(app: AppTest) -> Callable[..., AppTest]:
    """``open_page("explain")``: run the app, switch to a page and run it."""
    return _opener(app)


@pytest.fixture
def copied_root(small_artifacts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``<tmp>/artifacts/demo`` as a *copy* of the session's project: the flags and runs a
    test writes go to its own ``demo.log.sqlite`` (a symlinked project would share the
    log beside the session's project with every other test)."""
    root = tmp_path / "artifacts"
    root.mkdir()
    shutil.copytree(small_artifacts, root / "demo")
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(root))
    return root


@pytest.fixture
def open_copy(copied_root: Path) -> Callable[..., AppTest]:
    """``open_page`` on the copied project (see :func:`copied_root`)."""
    return _opener(AppTest.from_file(str(APP), default_timeout=20))


@pytest.fixture(scope="session")
def hostile_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project (demo sizes as ``tests/conftest.py`` SMALL) whose item titles
    cycle through :data:`HOSTILE`, whose first users are named by them, and whose
    categories, segments and one device are Markdown/HTML too."""
    from recsys.artifacts import save_project
    from recsys.demo import write_demo
    from recsys.train import train

    config = write_demo(tmp_path_factory.mktemp("hostile-data"), n_users=300, n_items=80,
                        n_exposures=20_000, seed=11)
    folder = config.parent
    items = pd.read_parquet(folder / "items.parquet")
    items["title"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(items))]
    items["category"] = "[" + items["category"] + "](https://evil.example/c)"
    items.to_parquet(folder / "items.parquet", index=False)
    users = pd.read_parquet(folder / "users.parquet")
    renamed = dict(zip(users["user_id"][: len(HOSTILE)], HOSTILE, strict=True))
    users["user_id"] = users["user_id"].replace(renamed)
    users["segment"] = "**" + users["segment"] + "**"
    users.to_parquet(folder / "users.parquet", index=False)
    inter = pd.read_parquet(folder / "interactions.parquet")
    inter["user_id"] = inter["user_id"].replace(renamed)
    inter["device"] = inter["device"].replace({"app": "<b>app</b>"})
    inter.to_parquet(folder / "interactions.parquet", index=False)
    return save_project(train(config), tmp_path_factory.mktemp("hostile-art") / "hostile")


@pytest.fixture
def hostile_root(hostile_artifacts: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    """``<tmp>/artifacts`` holding the hostile project as ``demo``."""
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / "demo").symlink_to(hostile_artifacts, target_is_directory=True)
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(root))
    return root


@pytest.fixture
def open_hostile(hostile_root: Path) -> Callable[..., AppTest]:
    """``open_page`` on the hostile project."""
    return _opener(AppTest.from_file(str(APP), default_timeout=20))



@pytest.fixture
def server(artifacts_root: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free port over the session's project; stopped after."""
    from ui_helpers import streamlit_server

    with streamlit_server(artifacts_root) as url:
        yield url
