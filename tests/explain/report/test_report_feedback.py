"""The feedback report: flags written into a copied project's log, counted every way,
exported in every format with data strings kept as text; ``recsys report --kind feedback``."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from explain.report import (
    FeedbackReport,
    build_feedback_report,
    export_feedback,
    feedback_filename,
)
from recsys.cli import main
from recsys.project import Project

SCRIPT = '<script>alert("x")</script> **bold** [link](http://x.example)'
FORMULA = "=HYPERLINK(\"http://x.example\")"


@pytest.fixture(scope="module")
def copied(small_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small project whose log holds a few flags (the session's stays clean)."""
    root = tmp_path_factory.mktemp("feedback") / "demo"
    shutil.copytree(small_artifacts, root)
    project = Project.load(root)
    users = project.user_table().set_index("user_id")["segment"]
    premium = [str(u) for u in users[users == "premium"].index[:2]]
    bargain = str(users[users == "bargain"].index[0])
    items = [str(i) for i in project.item_ids()[:4]]
    log = project.log()
    log.add_flag(items[0], "bad", user_id=premium[0], note=SCRIPT, scenario="<b>promo</b>",
                 weights={"click": 1.0, "purchase": 2.0}, transform="zscore", source="dashboard")
    log.add_flag(items[0], "irrelevant", user_id=premium[1], note=FORMULA,
                 weights={"click": 1.0, "purchase": 2.0}, transform="zscore")
    log.add_flag(items[1], "good", user_id=bargain, weights={"click": 1.0, "purchase": 1.0})
    log.add_flag(items[2], "bad", note="never for anyone", weights={"click": 1.0})  # every user
    log.add_flag(items[3], "bad", user_id=bargain)
    log.add_flag(items[3], "clear", user_id=bargain)  # withdrawn: not in force
    log.add_flag("gone", "irrelevant", user_id=bargain)  # an item the catalogue lost
    return root


@pytest.fixture(scope="module")
def report(copied: Path) -> FeedbackReport:
    return build_feedback_report(Project.load(copied))


def test_flags_are_counted_by_kind_segment_category_weights_and_item(
        report: FeedbackReport, copied: Path) -> None:
    project = Project.load(copied)
    items = [str(i) for i in project.item_ids()[:3]]
    flags = report.flags
    assert len(flags) == 5 and report.log_entries == 7
    assert dict(zip(report.by_kind()["kind"], report.by_kind()["flags"], strict=True)) == {
        "bad": 1, "irrelevant": 2, "never": 1, "good": 1}
    assert flags.loc[flags["item_id"] == items[2], "user_id"].tolist() == ["every user"]
    assert flags.loc[flags["item_id"] == "gone", "title"].tolist() == ["(not in the catalogue)"]
    seg = report.by_segment()
    seg = seg[seg["attribute"] == "segment"].set_index("value")
    assert seg.loc["premium", ["bad", "irrelevant", "total"]].tolist() == [1, 1, 2]
    assert seg.loc["bargain", ["good", "irrelevant", "total"]].tolist() == [1, 1, 2]
    assert seg["never"].sum() == 0  # a flag for every user has no segment
    weights = report.by_weights().set_index("weights")
    assert weights.loc["click 1 · purchase 2", ["total", "transform"]].tolist() == [2, "zscore"]
    assert weights.loc["(not recorded)", "total"] == weights.loc["click 1", "total"] == 1
    top = report.top_items()
    assert top["item_id"].iloc[0] == items[0]
    assert top.iloc[0][["bad", "irrelevant", "total", "users"]].tolist() == [1, 1, 2, 2]
    assert top["title"].iloc[0] == project.title(0)
    category = project.item_table().set_index("item_id")["category"]
    by_cat = report.tables()["by_category"].set_index("category")["total"]
    assert by_cat.get(category[items[0]]) >= 2 and by_cat["—"] == 1  # the lost item


def test_every_format_keeps_data_strings_as_text(report: FeedbackReport) -> None:
    html = export_feedback(report, "html").decode("utf-8")
    assert "<script" not in html and "<b>promo" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; **bold**" in html
    assert "&lt;b&gt;promo&lt;/b&gt;" in html and "http://" in html  # text, never a link
    assert "<a " not in html
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        export_feedback(report, "pdf"))).pages)
    assert "Items flagged most" in text and "By user segment" in text and "<script>" in text
    with zipfile.ZipFile(io.BytesIO(export_feedback(report, "csv"))) as zf:
        assert sorted(zf.namelist()) == ["about.json", "by_category.csv", "by_kind.csv",
                                         "by_segment.csv", "by_weights.csv", "flags.csv",
                                         "top_items.csv"]
        flags = pd.read_csv(io.BytesIO(zf.read("flags.csv")), keep_default_na=False)
    assert "'" + FORMULA in flags["note"].tolist()  # neutralised for spreadsheets
    d = json.loads(export_feedback(report, "json"))
    assert SCRIPT in [f["note"] for f in d["flags"]] and d["log_entries"] == 7
    book = pd.read_excel(io.BytesIO(export_feedback(report, "xlsx")), sheet_name=None)
    assert list(book) == ["flags", "by_kind", "by_segment", "by_category", "by_weights",
                          "top_items", "about"]
    assert "'" + FORMULA in book["flags"]["note"].tolist()
    with zipfile.ZipFile(io.BytesIO(export_feedback(report, "parquet"))) as zf:
        raw = pd.read_parquet(io.BytesIO(zf.read("flags.parquet")))
    assert FORMULA in raw["note"].tolist()  # data, not a spreadsheet
    assert feedback_filename(report, "csv").startswith("blendscope-demo-feedback-")
    assert feedback_filename(report, "csv").endswith(".zip")


def test_an_empty_log_gives_an_empty_report(project: Project) -> None:
    empty = build_feedback_report(project)
    assert empty.flags.empty and empty.by_segment().empty and empty.top_items().empty
    assert "No flag to count here." in export_feedback(empty, "html").decode("utf-8")
    assert len(PdfReader(io.BytesIO(export_feedback(empty, "pdf"))).pages) == 1


def test_cli_feedback_report(copied: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.json"
    assert main(["report", "-a", str(copied), "--kind", "feedback", "-f", "json",
                 "-o", str(out)]) == 0
    assert "(5 flags in force, json" in capsys.readouterr().out
    assert len(json.loads(out.read_text(encoding="utf-8"))["flags"]) == 5
    assert main(["report", "-a", str(copied), "--kind", "feedback", "-f", "html",
                 "-o", str(tmp_path / "f.html"), "--segment", "segment=premium"]) == 2
    assert "covers every flag in force; drop --segment" in capsys.readouterr().err
