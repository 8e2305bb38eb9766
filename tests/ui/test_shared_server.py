"""The dashboard on a shared server: uploads name only uploaded files, server paths stay
hidden, projects Blendscope does not own are never replaced, read-only mode and the
login gate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import all_texts, errors, titles, unescape

from recsys.demo import write_demo

FILES = ("interactions.parquet", "users.parquet", "items.parquet")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.toml of a tiny demo dataset (never trained here)."""
    return write_demo(tmp_path_factory.mktemp("upload"), n_users=50, n_items=20,
                      n_exposures=2_000)


def _upload(at: AppTest, config: bytes, files: dict[str, bytes], name: str = "uploaded",
            replace: bool = False) -> AppTest:
    at.segmented_control(key="data_source").set_value("Upload files").run()
    at.file_uploader(key="data_config").upload("config.toml", config, "text/plain")
    for fname, data in files.items():
        at.file_uploader(key="data_files").upload(fname, data)
    at.text_input(key="data_upload_name").input(name)
    if replace:
        at.checkbox(key="data_upload_replace").check()
    return at.button(key="data_upload_go").click().run(timeout=60)


def _shown(at: AppTest) -> list[str]:
    return [unescape(t) for t in all_texts(at)]


def _no_server_temp_path(at: AppTest) -> None:
    leaked = [t for t in _shown(at) if "blendscope-upload-" in t or "blendscope-demo-" in t]
    assert not leaked


@pytest.mark.parametrize("key, value", [
    ("users", "/etc/passwd"),
    ("items", "../x.csv"),
    ("interactions", "ABSOLUTE"),
    ("users", "not_uploaded.parquet"),
    ("items", "sub/../../items.parquet"),
])
def test_config_may_name_only_uploaded_files(open_page: Callable[..., AppTest], dataset: Path,
                                             artifacts_root: Path, key: str,
                                             value: str) -> None:
    if value == "ABSOLUTE":
        value = str(dataset.parent / "interactions.parquet")  # exists on the server
    text = dataset.read_text().replace(f'{key} = "{key}.parquet"', f'{key} = "{value}"')
    files = {f: (dataset.parent / f).read_bytes() for f in FILES if not f.startswith(key)}
    at = _upload(open_page("data"), text.encode(), files)
    assert not at.exception
    shown = "\n".join(_shown(at))
    uploaded = ", ".join(sorted(files))
    assert (f"config.toml: data.{key} = '{value}'" in shown
            and f"not one of the uploaded files ({uploaded}); name an uploaded file" in shown)
    assert sorted(p.name for p in artifacts_root.iterdir()) == ["demo"]
    assert not at.get("status")  # training never started
    _no_server_temp_path(at)


def test_config_paths_match_uploads_by_file_name(open_page: Callable[..., AppTest],
                                                 dataset: Path, artifacts_root: Path) -> None:
    text = dataset.read_text().replace('users = "users.parquet"', 'users = "tables/users.parquet"')
    text = text.replace('label = "click"', 'label = "clicked"')  # stop at validation
    files = {f: (dataset.parent / f).read_bytes() for f in FILES}
    at = _upload(open_page("data"), text.encode(), files)
    shown = "\n".join(_shown(at))
    assert "clicked" in shown and "not one of the uploaded files" not in shown
    _no_server_temp_path(at)


@pytest.mark.parametrize("config, expected", [
    (b"\xff\xfe[data]\n", "config.toml: is not UTF-8 text"),
    (b"[data\ninteractions = 1", "config.toml: not valid TOML: "),
    (b"[data]\ninteractions = 3\n", "config.toml: missing required key 'task'"),
])
def test_unreadable_configs_are_problems(open_page: Callable[..., AppTest], dataset: Path,
                                         config: bytes, expected: str) -> None:
    files = {f: (dataset.parent / f).read_bytes() for f in FILES}
    at = _upload(open_page("data"), config, files)
    assert not at.exception
    assert any("The upload has" in e for e in errors(at))
    assert any(expected in t for t in _shown(at))


def test_unreadable_table_names_the_upload_not_the_server(open_page: Callable[..., AppTest],
                                                          dataset: Path,
                                                          artifacts_root: Path) -> None:
    files = {f: (dataset.parent / f).read_bytes() for f in FILES}
    files["items.parquet"] = b"not a parquet file"
    at = _upload(open_page("data"), dataset.read_bytes(), files)
    assert not at.exception
    assert any(t.startswith("- items.parquet: cannot read the file as Parquet")
               for t in _shown(at))
    _no_server_temp_path(at)
    assert sorted(p.name for p in artifacts_root.iterdir()) == ["demo"]


def test_upload_limit_is_named(open_page: Callable[..., AppTest]) -> None:
    at = open_page("data")
    at.segmented_control(key="data_source").set_value("Upload files").run()
    assert any("at most 200 MB each" in c.value for c in at.caption)
    assert "200 MB" in at.file_uploader(key="data_files").help


@pytest.mark.parametrize("make", ["symlink", "folder", "file"])
def test_replace_refuses_what_blendscope_does_not_own(open_page: Callable[..., AppTest],
                                                      artifacts_root: Path, tmp_path: Path,
                                                      make: str) -> None:
    name = {"symlink": "demo", "folder": "notes", "file": "todo"}[make]
    if make == "folder":
        (artifacts_root / name).mkdir()
        (artifacts_root / name / "keep.txt").write_text("mine")
    elif make == "file":
        (artifacts_root / name).write_text("mine")
    at = open_page("data")
    at.text_input(key="data_demo_name").input(name)
    at.checkbox(key="data_demo_replace").check()
    at.button(key="data_demo_go").click().run(timeout=60)
    assert not at.exception
    assert any("nothing was changed" in e or "symbolic link" in e for e in errors(at))
    assert not at.get("status")  # refused before training
    assert (artifacts_root / "demo").is_symlink()
    if make == "folder":
        assert (artifacts_root / name / "keep.txt").read_text() == "mine"


def test_read_only_mode_hides_training_and_scenario_writes(
        open_page: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDSCOPE_READ_ONLY", "1")
    at = open_page("data")
    assert titles(at) == ["Data"]
    assert any("read-only" in i.value for i in at.info)
    assert not at.get("file_uploader") and not at.get("segmented_control")
    assert not [b for b in at.button if b.key.startswith("data_")]
    assert not at.get("checkbox") and not at.text_input
    keys = {w.key for w in [*at.sidebar.button, *at.sidebar.text_input]}
    assert "scenario_load" in keys
    assert not keys & {"scenario_save", "scenario_delete", "scenario_name"}
    assert any("Read-only dashboard" in c.value for c in at.sidebar.caption)
    at.switch_page("ui/pages/explain.py").run(timeout=60)  # browsing still works
    assert not at.exception and not errors(at), errors(at)
    assert at.selectbox(key="exp_item").options


def test_login_gate_stays_closed_without_configuration(
        app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDSCOPE_REQUIRE_LOGIN", "1")
    at = app.run(timeout=60)
    assert not at.exception
    assert titles(at) == ["Blendscope"]
    assert any("login is not configured" in e for e in errors(at))
    assert not at.sidebar.selectbox and not at.get("plotly_chart") and not at.dataframe


def test_logged_in_visitor_passes_the_gate(app: AppTest,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDSCOPE_REQUIRE_LOGIN", "1")
    app.user = {"is_logged_in": True, "email": "[me](https://evil.example)"}
    at = app.run(timeout=120)
    assert not at.exception and not errors(at)
    assert at.sidebar.selectbox(key="project").value == "demo" and at.dataframe
    who = next(c.value for c in at.sidebar.caption if c.value.startswith("Signed in as"))
    assert "](" not in who and unescape(who) == "Signed in as [me](https://evil.example)"
    assert at.sidebar.button(key="logout").label == "Log out"
