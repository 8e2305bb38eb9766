"""Reports page: every format downloads bytes that parse."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from ui_helpers import frame_with, titles


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, str, str | None]]:
    """(data, mime type, file name) of every file handed to the media store."""
    seen: list[tuple[bytes, str, str | None]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        seen.append((path_or_data, mimetype, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _text(fmt: str, data: bytes) -> str:
    """The human-readable text of an HTML or PDF report."""
    if fmt == "html":
        parser = _Text()
        parser.feed(data.decode("utf-8"))
        parser.close()
        return " ".join(parser.chunks)
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _parse(fmt: str, data: bytes) -> int:
    """Number of recommendation rows found in a data file."""
    if fmt == "json":
        return len(json.loads(data)["users"][0]["items"])
    if fmt == "xlsx":
        return len(pd.read_excel(io.BytesIO(data), sheet_name="recommendations"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        name = next(n for n in z.namelist() if n.startswith("recommendations"))
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        return len(read(io.BytesIO(z.read(name))))


@pytest.mark.parametrize("fmt", ["html", "pdf", "csv", "parquet", "json", "xlsx"])
def test_download_yields_bytes_that_parse(open_page: Callable[..., AppTest], fmt: str,
                                          downloads: list[tuple[bytes, str, str | None]]) -> None:
    at = open_page("reports", user="u00001")
    assert titles(at) == ["Reports"]
    at.number_input(key="rep_k").set_value(4).run()
    at.selectbox(key="rep_fmt").set_value(fmt).run()
    assert not at.download_button  # nothing is built before the button is pressed
    at.button(key="rep_build").click().run()
    assert not at.exception
    button = at.download_button(key="rep_download")
    assert button.label.startswith("Download")
    data, mime, name = downloads[-1]
    assert name and name.startswith("blendscope-demo-user-u00001-click")
    preview = frame_with(at, "title")
    assert len(preview) == 4
    if fmt in ("html", "pdf"):
        text = " ".join(_text(fmt, data).split())
        assert all(" ".join(t.split()) in text for t in preview["title"])
    else:
        assert _parse(fmt, data) == 4


def test_segment_report_lists_segment_users(open_page: Callable[..., AppTest],
                                            downloads: list[tuple[bytes, str, str | None]]) -> None:
    at = open_page("reports")
    at.segmented_control(key="rep_mode").set_value("Segment").run()
    at.selectbox(key="rep_seg_col").set_value("segment").run()
    value = at.selectbox(key="rep_seg_val").value
    at.number_input(key="rep_seg_n").set_value(3).run()
    at.selectbox(key="rep_fmt").set_value("json").run()
    at.button(key="rep_build").click().run()
    report = json.loads(downloads[-1][0])
    assert len(report["users"]) == 3
    assert all(u["attributes"]["segment"] == value for u in report["users"])
    assert report["selection"] == f"segment = {value}"
    at.slider(key="weight_click").set_value(2.0).run()
    assert not at.download_button
    assert any("settings changed" in i.value for i in at.info)


def test_segment_pdf_is_a_summary_named_after_segment_and_weights(
        open_page: Callable[..., AppTest], downloads: list[tuple[bytes, str, str | None]]) -> None:
    from pypdf import PdfReader

    at = open_page("reports")
    at.segmented_control(key="rep_mode").set_value("Segment").run()
    at.selectbox(key="rep_seg_col").set_value("segment").run()
    at.selectbox(key="rep_seg_val").set_value("premium").run()
    at.number_input(key="rep_seg_n").set_value(12).run()
    at.number_input(key="rep_k").set_value(3).run()
    at.selectbox(key="rep_fmt").set_value("pdf").run()
    assert at.segmented_control(key="rep_detail_segment").value == "summary"
    at.number_input(key="rep_top").set_value(2).run()
    at.button(key="rep_build").click().run()
    assert not at.exception
    data, mime, name = downloads[-1]
    assert mime == "application/pdf"
    assert name == "blendscope-demo-segment-premium-click1-purchase1-revenue0.5-returned0.5.pdf"
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1 + 1 + 2 * (1 + 1)  # front, summary, the first 2 of 12 users
    assert "Summary · segment = premium" in reader.pages[1].extract_text()
    at.segmented_control(key="rep_detail_segment").set_value("full").run()
    assert at.number_input(key="rep_top").disabled
    at.button(key="rep_build").click().run()
    assert len(PdfReader(io.BytesIO(downloads[-1][0])).pages) == 1 + 1 + 1 + 12 * (1 + 1)


def test_feedback_report_download_keeps_notes_as_text(
        copied_root, open_copy: Callable[..., AppTest],  # noqa: ANN001
        downloads: list[tuple[bytes, str, str | None]]) -> None:
    from recsys.project import Project

    project = Project.load(copied_root / "demo")
    item = str(project.item_ids()[0])
    project.log().add_flag(item, "bad", user_id=str(project.user_ids()[0]),
                           note="<img src=x onerror=alert(1)> **loud**", source="api")
    at = open_copy("reports")
    at.segmented_control(key="rep_kind").set_value("Feedback").run()
    at.selectbox(key="rep_fmt").set_value("html").run()
    assert not at.download_button
    at.button(key="rep_build").click().run()
    assert not at.exception
    data, mime, name = downloads[-1]
    assert mime == "text/html" and name and name.startswith("blendscope-demo-feedback-")
    html = data.decode("utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt; **loud**" in html and "<img" not in html
    preview = frame_with(at, "item_id")
    assert preview["item_id"].tolist() == [item]
    project.log().add_flag(item, "clear", user_id=str(project.user_ids()[0]))
    at.run()  # a new flag: the built file no longer matches the log
    assert not at.download_button
