"""A segment's report: its own metrics in every format, the summary PDF, the file name."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import zipfile

import pandas as pd
import pytest
from pypdf import PdfReader

from explain.report import (
    ExplanationReport,
    Segment,
    build_report,
    export_report,
    report_filename,
    users_in_segment,
)
from explain.report._pdf import expected_pages
from explain.report._pdf_canvas import Doc
from recsys.analysis import segment_frame
from recsys.errors import ExplanationError
from recsys.project import Project

WEIGHTS = {"click": 1.0, "purchase": 2.0, "revenue": 0.5, "returned": 0.5}
K = 4
PREMIUM = Segment("segment", "premium")


@pytest.fixture(scope="module")
def seg_report(project: Project) -> ExplanationReport:
    users = users_in_segment(project, "segment", "premium", n=5)
    return build_report(project, users, weights=WEIGHTS, k=K, segment=PREMIUM)


def _text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_segment_metrics_are_the_segments_own(project: Project,
                                               seg_report: ExplanationReport) -> None:
    seg = seg_report.segment
    assert seg is not None and seg_report.selection == "segment = premium"
    frame = segment_frame(project, "segment", project.spec(WEIGHTS, k=K)).set_index("segment")
    premium, every = frame.loc["premium"], frame.loc["all users"]
    assert seg.ranking.users == premium["users"] == len(users_in_segment(project, "segment",
                                                                         "premium"))
    assert seg.ranking.test_users == premium["test users"]
    for s, a in seg.pairs():
        col = f"NDCG@{K} {s.task}"
        assert s.ndcg == pytest.approx(premium[col], abs=1e-12, nan_ok=True)
        assert (s.ndcg_low, s.ndcg_high) == pytest.approx(  # NaN with fewer than 2 users
            (premium[f"{col} low"], premium[f"{col} high"]), abs=1e-12, nan_ok=True)
        assert s.ndcg_users == premium[f"{col} users"]
        assert s.gauc == pytest.approx(premium[f"GAUC {s.task}"], abs=1e-12, nan_ok=True)
        assert not s.gauc_users > 1 or s.gauc_low <= s.gauc <= s.gauc_high
        assert a.ndcg == pytest.approx(every[col], abs=1e-12)
        assert a.gauc == pytest.approx(every[f"GAUC {a.task}"], abs=1e-12)
        assert a.ndcg_users > s.ndcg_users
    assert any(abs(s.ndcg - a.ndcg) > 1e-6 for s, a in seg.pairs())  # not the all-users figure
    assert [s.higher_is_better for s, _ in seg.pairs()] == [
        t.direction == "maximize" for t in project.tasks]
    assert seg_report.metrics == project.evaluate(WEIGHTS, k=K).to_dict()  # still all users


def test_every_format_shows_the_segments_metrics(seg_report: ExplanationReport) -> None:
    seg = seg_report.segment
    assert seg is not None
    click = next(s for s, _ in seg.pairs() if s.task == "click")
    every = next(a for _, a in seg.pairs() if a.task == "click")
    shown, shown_all = f"{click.ndcg:.4f}", f"{every.ndcg:.4f}"
    html = export_report(seg_report, "html").decode("utf-8")
    assert "segment = premium (" in html and shown in html and shown_all in html
    assert "returned (lower is better)" in html and "— all users" in html
    pdf = _text(export_report(seg_report, "pdf"))
    assert shown in pdf and shown_all in pdf and "returned (lower is better)" in pdf
    d = json.loads(export_report(seg_report, "json"))
    tasks = {t["task"]: t for t in d["segment"]["segment"]["tasks"]}
    assert tasks["click"][f"ndcg@{K}"] == pytest.approx(click.ndcg)
    assert tasks["click"][f"ndcg@{K}_ci"] == pytest.approx([click.ndcg_low, click.ndcg_high])
    assert tasks["returned"]["higher_is_better"] is False
    assert d["segment"]["all_users"]["users"] == seg.overall.users
    with zipfile.ZipFile(io.BytesIO(export_report(seg_report, "csv"))) as zf:
        table = pd.read_csv(io.BytesIO(zf.read("segment_metrics.csv")))
    row = table[(table["scope"] == "segment") & (table["task"] == "click")
                & (table["metric"] == f"ndcg@{K}")].iloc[0]
    assert row["value"] == pytest.approx(click.ndcg) and row["users"] == click.ndcg_users
    assert len(table) == 2 * 2 * len(seg_report.tasks)
    book = pd.read_excel(io.BytesIO(export_report(seg_report, "xlsx")), sheet_name=None)
    pd.testing.assert_frame_equal(book["segment_metrics"], table, check_dtype=False)


def test_summary_pdf_shows_only_the_first_users(seg_report: ExplanationReport) -> None:
    per_user = [1 + math.ceil(len(u.items) / 3) for u in seg_report.users]
    summary = PdfReader(io.BytesIO(export_report(seg_report, "pdf", top_users=2)))
    assert len(summary.pages) == expected_pages(seg_report, top_users=2) == 1 + 1 + sum(
        per_user[:2])
    page2 = summary.pages[1].extract_text()
    assert "Summary · segment = premium" in page2 and "Top features of the blend" in page2
    assert "Mean task share" in page2 and "health warnings" in page2
    assert f"User {seg_report.users[1].user_id}" in summary.pages[2 + per_user[0]].extract_text()
    assert f"User {seg_report.users[2].user_id}" not in _text(export_report(seg_report, "pdf",
                                                                             top_users=2))
    full = PdfReader(io.BytesIO(export_report(seg_report, "pdf", detail="full")))
    health, pdp = 1, math.ceil(len(seg_report.partial_dependence) / 4)
    assert len(full.pages) == expected_pages(seg_report, "full") == 1 + health + pdp + sum(
        per_user)
    listed = dataclasses.replace(seg_report, segment=None)  # a list of users: full by default
    assert expected_pages(listed) == expected_pages(seg_report, "full")
    assert expected_pages(listed, "summary", 1) == 2 + per_user[0]
    with pytest.raises(ExplanationError, match="unknown detail 'brief'; use summary or full"):
        export_report(seg_report, "pdf", detail="brief")  # type: ignore[arg-type]


def test_file_name_names_the_segment_and_the_weights(seg_report: ExplanationReport) -> None:
    assert report_filename(seg_report, "pdf") == \
        "blendscope-demo-segment-premium-click1-purchase2-revenue0.5-returned0.5.pdf"
    odd = dataclasses.replace(seg_report, segment=dataclasses.replace(
        seg_report.segment, segment=Segment("région", "a/b <c>")))  # type: ignore[arg-type]
    assert report_filename(odd, "csv") == \
        "blendscope-demo-region-a_b_c_-click1-purchase2-revenue0.5-returned0.5.zip"
    html = export_report(odd, "html").decode("utf-8")  # the segment's value is text
    assert "région = a/b &lt;c&gt; (" in html and "<c>" not in html


def test_pdf_headers_break_only_between_words(seg_report: ExplanationReport) -> None:
    bare = dataclasses.replace(seg_report, health=None)  # the models table is on page 1
    text = PdfReader(io.BytesIO(export_report(bare, "pdf"))).pages[0].extract_text()
    assert re.search(r"auc_\s?given_\s?parent", text), text  # broken, if at all, after "_"
    assert re.search(r"positive_\s?rate", text)
    pdf = Doc("t")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 8)
    text = "auc_given_parent lift 95% CI"
    widest = max(pdf.width(w) for w in ("auc_given_", "parent", "lift", "95%", "CI"))
    for width in (widest, widest + 3, widest * 2, 200.0):
        lines = pdf.wrap(text, width)
        assert all(pdf.width(ln) <= width for ln in lines)
        assert "".join(ln if ln.endswith("_") else ln + " " for ln in lines).strip() == text
    assert pdf.wrap(text, widest)[0] == "auc_given_"
