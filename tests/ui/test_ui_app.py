"""The app shell: structure rules, URL state, session isolation, no project."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import errors, titles

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "ui/pages").glob("*.py"))
WIDGETS = {"slider", "selectbox", "button", "number_input", "text_input", "checkbox",
           "radio", "multiselect", "download_button", "file_uploader", "segmented_control",
           "form_submit_button", "toggle", "select_slider", "text_area", "pills", "tabs",
           "data_editor", "date_input", "color_picker"}


def test_app_is_navigation_only() -> None:
    source = (ROOT / "app.py").read_text()
    assert len(source.splitlines()) <= 60
    assert "st.navigation(" in source and "pg.run()" in source


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_page_modules_are_small(page: Path) -> None:
    assert len(page.read_text().splitlines()) <= 150


@pytest.mark.parametrize("path", [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_widget_has_a_key_and_every_control_a_tooltip(path: Path) -> None:
    missing = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        kwargs = {kw.arg for kw in node.keywords}
        if node.func.attr in WIDGETS and "key" not in kwargs:
            missing.append(f"line {node.lineno}: {node.func.attr} without key=")
        if node.func.attr in (WIDGETS - {"tabs"}) | {"metric"} and "help" not in kwargs:
            missing.append(f"line {node.lineno}: {node.func.attr} without help=")
    assert not missing, missing


def test_url_state_round_trips(open_page: Callable[..., AppTest]) -> None:
    at = open_page(project="demo", page="recommendations", w_click="2.5", w_returned="0.0",
                   transform="percentile", k="5", user="u00042")
    assert titles(at) == ["Recommendations"]
    assert at.slider(key="weight_click").value == 2.5
    assert at.slider(key="weight_returned").value == 0.0
    assert at.selectbox(key="transform").value == "percentile"
    assert at.number_input(key="k").value == 5
    assert at.selectbox(key="rec_user").value == "u00042"
    at.slider(key="weight_purchase").set_value(3.0).run()
    qp = at.query_params
    assert (qp["page"], qp["project"], qp["transform"], qp["k"]) == (
        "recommendations", "demo", "percentile", "5")
    assert (qp["w_click"], qp["w_purchase"], qp["user"]) == ("2.5", "3.0", "u00042")
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20)
    again.query_params = dict(qp)
    again.run()
    assert titles(again) == ["Recommendations"]
    assert again.slider(key="weight_purchase").value == 3.0
    assert again.selectbox(key="rec_user").value == "u00042"
    shown = [df.value["item_id"].tolist() for df in at.dataframe if "item_id" in df.value]
    assert shown == [df.value["item_id"].tolist() for df in again.dataframe
                     if "item_id" in df.value]


def test_bad_url_values_fall_back_to_the_config(open_page: Callable[..., AppTest]) -> None:
    at = open_page(w_click="lots", transform="cubic", k="-3", project="nope", page="nowhere")
    assert titles(at) == ["Blendscope"]
    assert at.slider(key="weight_click").value == 1.0
    assert at.selectbox(key="transform").value == "zscore"
    assert at.number_input(key="k").value == 10
    assert at.selectbox(key="project").value == "demo"


def test_sessions_do_not_share_state(open_page: Callable[..., AppTest]) -> None:
    first = open_page()
    second = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20).run()
    first.slider(key="weight_click").set_value(4.0).run()
    second.run()
    assert second.slider(key="weight_click").value == 1.0
    assert second.query_params["w_click"] == "1.0"


def test_without_projects_the_app_explains_what_to_do(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(tmp_path / "empty"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=20).run()
    assert not at.exception
    assert any("Data" in i.value for i in at.info)
    assert not any(str(tmp_path) in i.value for i in at.info)  # no server path on show
    for page in ("recommendations", "tradeoffs", "segments", "data"):
        at.switch_page(f"ui/pages/{page}.py").run()
        assert not at.exception and not errors(at)
        shown = [e.value for e in (*at.info, *at.markdown, *at.caption)]
        assert not any(str(tmp_path) in v for v in shown)


def test_damaged_projects_are_errors_not_tracebacks(artifacts_root: Path,
                                                   small_artifacts: Path) -> None:
    import shutil

    tampered = artifacts_root / "tampered"
    shutil.copytree(small_artifacts, tampered)
    with (tampered / "models/click.txt").open("a") as f:
        f.write("\n")
    unreadable = artifacts_root / "unreadable"
    unreadable.mkdir()
    (unreadable / "manifest.json").write_text("{not json")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params = {"project": "tampered", "page": "recommendations"}
    at.run()
    assert not at.exception
    assert any("SHA-256" in e for e in errors(at))
    at.selectbox(key="project").set_value("unreadable").run()
    assert not at.exception
    assert any("manifest.json is unreadable" in e for e in errors(at))
    assert any("cannot be opened" in i.value for i in at.info)
    at.selectbox(key="project").set_value("demo").run()
    assert not at.exception and not errors(at)
