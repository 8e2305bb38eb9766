"""Analyst flags on Recommendations and Explain, the "show flagged items" toggle, read-only
mode and the Feedback page. Every test works on a copy of the session's project, so the
flags it writes stay in that copy's log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui_helpers import figure, frame_with, titles

from recsys.projectlog import ProjectLog

USER = "u00001"


def _items(at: AppTest) -> list[str]:
    return frame_with(at, "item_id")["item_id"].tolist()


def _flag(at: AppTest, prefix: str, kind: str, item: str | None = None,
          note: str = "") -> AppTest:
    if item is not None:
        at.selectbox(key=f"{prefix}_flag_item").set_value(item)
    at.selectbox(key=f"{prefix}_flag_kind").set_value(kind)
    if note:
        at.text_input(key=f"{prefix}_flag_note").input(note)
    at.button(key=f"{prefix}_flag_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_flagging_removes_the_item_at_once_and_logs_one_row(
        open_copy: Callable[..., AppTest], copied_root: Path) -> None:
    at = open_copy("recommendations", user=USER)
    at.slider(key="weight_revenue").set_value(1.5).run()
    before = _items(at)
    assert len(before) == 10
    _flag(at, "rec", "bad", before[0], note="wrong audience")
    after = _items(at)
    assert before[0] not in after and len(after) == 10
    assert after[:9] == before[1:]  # the rest moves up; the next candidate fills the list
    assert any("flagged" in s.value for s in at.success)
    history = ProjectLog.of(copied_root / "demo").history()
    assert len(history) == 1
    flag = history[0]
    assert (flag.user_id, flag.item_id, flag.kind, flag.note) == (USER, before[0], "bad",
                                                                  "wrong audience")
    assert dict(flag.weights) == {"click": 1.0, "purchase": 1.0, "revenue": 1.5,
                                  "returned": 0.5}
    assert (flag.transform, flag.scenario, flag.source) == ("zscore", "", "dashboard")
    assert at.text_input(key="rec_flag_note").value == ""


def test_show_flagged_items_greys_them_back_in(open_copy: Callable[..., AppTest]) -> None:
    at = open_copy("recommendations", user=USER)
    before = _items(at)
    _flag(at, "rec", "irrelevant", before[1])
    assert before[1] not in _items(at)
    at.toggle(key="show_flagged").set_value(True).run()
    table = frame_with(at, "item_id")
    assert table["item_id"].tolist() == before
    assert table.set_index("item_id").loc[before[1], "flag"] == "irrelevant"
    _flag(at, "rec", "clear", before[1])
    at.toggle(key="show_flagged").set_value(False).run()
    assert _items(at) == before


def test_never_recommend_leaves_every_users_list(open_copy: Callable[..., AppTest],
                                                 copied_root: Path, small_project) -> None:  # noqa: ANN001
    item = small_project.recommend(USER).items[0].item_id
    other = next(u for u in small_project.user_ids()[1:]
                 if item in [it.item_id for it in small_project.recommend(u).items])
    at = open_copy("recommendations", user=USER)
    _flag(at, "rec", "never", item)
    assert item not in _items(at)
    at.selectbox(key="rec_user").set_value(other).run()
    assert item not in _items(at)
    (flag,) = ProjectLog.of(copied_root / "demo").history()
    assert (flag.user_id, flag.kind) == (None, "bad")


def test_scenario_in_view_is_recorded(open_copy: Callable[..., AppTest],
                                      copied_root: Path) -> None:
    at = open_copy("recommendations", user=USER)
    at.text_input(key="scenario_name").input("revenue push")
    at.button(key="scenario_save").click().run()
    _flag(at, "rec", "good", _items(at)[2])
    assert ProjectLog.of(copied_root / "demo").history()[0].scenario == "revenue push"
    at.slider(key="weight_click").set_value(2.0).run()  # no longer the scenario's weights
    _flag(at, "rec", "good", _items(at)[3])
    assert ProjectLog.of(copied_root / "demo").history()[1].scenario == ""


def test_explain_flags_the_explained_item(open_copy: Callable[..., AppTest],
                                          copied_root: Path) -> None:
    at = open_copy("explain", user=USER)
    item = at.selectbox(key="exp_item").value
    _flag(at, "exp", "irrelevant", note="seen it")
    (flag,) = ProjectLog.of(copied_root / "demo").history()
    assert (flag.user_id, flag.item_id, flag.kind, flag.note) == (USER, item, "irrelevant",
                                                                  "seen it")
    assert item not in at.selectbox(key="exp_vs").options  # gone from the list it explains


@pytest.mark.parametrize("page", ["recommendations", "explain"])
def test_read_only_hides_the_flag_controls(open_copy: Callable[..., AppTest],
                                           monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    monkeypatch.setenv("BLENDSCOPE_READ_ONLY", "1")
    at = open_copy(page, user=USER)
    keys = {w.key for w in [*at.button, *at.selectbox, *at.text_input]}
    assert not {k for k in keys if "_flag_" in k}
    assert titles(at) == [page.capitalize()]


def test_feedback_page_counts_the_flags(open_copy: Callable[..., AppTest], copied_root: Path,
                                        small_project) -> None:  # noqa: ANN001
    log = ProjectLog.of(copied_root / "demo")
    users = list(small_project.user_ids()[:3])
    items = [it.item_id for it in small_project.recommend(users[0]).items]
    log.add_flag(items[0], "bad", user_id=users[0], note="n1", source="dashboard")
    log.add_flag(items[0], "bad", user_id=users[1], source="cli")
    log.add_flag(items[1], "good", user_id=users[2], source="dashboard")
    log.add_flag(items[2], "irrelevant", user_id=None, source="dashboard")
    log.add_flag(items[1], "clear", user_id=users[2], source="dashboard")
    at = open_copy("feedback")
    assert titles(at) == ["Feedback"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flags in force"] == "3" and metrics["Log entries"] == "5"
    assert metrics["Users with flags"] == "2" and metrics["Never recommended"] == "1"
    kinds = figure(at, "fb_kind")["data"]
    assert {t["name"] for t in kinds} == {"bad", "never"}
    top = figure(at, "fb_items")["data"]
    bad = next(t for t in top if t["name"] == "bad")
    assert f"({items[0]})" in bad["y"][0]  # flagged by two users: first
    log_frame = frame_with(at, "kind")
    assert log_frame["kind"].tolist() == ["clear", "never", "good", "bad", "bad"]
    assert log_frame["user_id"].tolist()[1] == "every user"
    assert figure(at, "fb_segment") and figure(at, "fb_category")


def test_feedback_page_without_flags(open_copy: Callable[..., AppTest]) -> None:
    at = open_copy("feedback")
    assert any("No flags yet" in i.value for i in at.info)


def test_hostile_flags_render_as_text(hostile_artifacts: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from ui_helpers import HOSTILE, RAW, markdown_texts

    from recsys.project import Project

    root = tmp_path / "artifacts"
    root.mkdir()
    shutil.copytree(hostile_artifacts, root / "demo")
    monkeypatch.setenv("BLENDSCOPE_ARTIFACTS", str(root))
    project = Project.load(root / "demo")
    log = project.log()
    for i, user in enumerate(HOSTILE):
        item = project.recommend(user).items[0].item_id
        log.add_flag(item, "bad", user_id=user, note=HOSTILE[-1 - i], scenario=HOSTILE[i])
    log.add_flag(project.recommend(HOSTILE[0]).items[1].item_id, "bad", note=HOSTILE[2])
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"),
                           default_timeout=60)
    at.query_params = {"page": "feedback"}
    at.run(timeout=120)
    for page in ("feedback", "recommendations"):
        at.switch_page(f"ui/pages/{page}.py").run(timeout=120)
        assert not at.exception, [e.value for e in at.exception]
        assert not [t for t in markdown_texts(at) for frag in RAW if frag in t]
    at.switch_page("ui/pages/feedback.py").run()
    for el in at.get("plotly_chart"):
        assert "<b>x</b>" not in el.proto.spec and "<script>" not in el.proto.spec
    assert set(frame_with(at, "note")["note"]) == set(HOSTILE)
