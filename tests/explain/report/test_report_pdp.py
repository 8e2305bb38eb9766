"""Every report format carries the partial dependence of the most important features."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from explain import build_report, export_report, global_importance
from explain.report import ExplanationReport, export_tables
from explain.report._pdf import expected_pages
from recsys.features import FeatureSpec
from recsys.project import Project

HOSTILE = '<script>alert("pd")</script>'


@pytest.fixture(scope="module")
def report(project: Project) -> ExplanationReport:
    return build_report(project, [str(project.user_ids()[0])], k=3,
                        weights={"returned": 1.5})


def test_the_three_most_important_features_at_the_reports_weights(
        project: Project, report: ExplanationReport) -> None:
    pds = report.partial_dependence
    spec = project.spec({"returned": 1.5}, k=3)
    ranking = global_importance(project, weights=spec, n=300).to_frame()["feature"].tolist()
    assert [p.feature.name for p in pds] == ranking[:3]
    assert all(p.spec.weights == spec.weights and p.n_pairs == 500 for p in pds)
    none = build_report(project, [str(project.user_ids()[0])], k=3, pdp_features=0)
    assert none.partial_dependence == ()
    assert "partial-dependence" not in export_report(none, "html").decode("utf-8")
    assert export_tables(none)["partial_dependence"].empty
    assert json.loads(export_report(none, "json"))["partial_dependence"] == []


def _expected_long(report: ExplanationReport) -> pd.DataFrame:
    return pd.concat([p.to_frame() for p in report.partial_dependence], ignore_index=True)


def test_csv_and_parquet_zips_hold_the_long_table(report: ExplanationReport) -> None:
    want = _expected_long(report)
    for fmt in ("csv", "parquet"):
        with zipfile.ZipFile(io.BytesIO(export_report(report, fmt))) as zf:
            raw = zf.read(f"partial_dependence.{fmt}")
        got = pd.read_csv(io.BytesIO(raw), dtype={"label": str}, keep_default_na=False,
                          na_values={"prediction": [""]}) if fmt == "csv" else \
            pd.read_parquet(io.BytesIO(raw))
        assert list(got.columns) == ["feature", "description", "value", "label", "task",
                                     "prediction", "score"]
        assert got["feature"].tolist() == want["feature"].tolist()
        assert got["task"].tolist() == want["task"].tolist()
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-12)
        np.testing.assert_allclose(got["prediction"], want["prediction"], rtol=1e-12)
        assert got.loc[got["task"] == "blend", "prediction"].isna().all()


def test_json_and_xlsx_hold_the_table(report: ExplanationReport) -> None:
    d = json.loads(export_report(report, "json"))["partial_dependence"]
    assert [p["feature"]["name"] for p in d] == [p.feature.name for p in
                                                  report.partial_dependence]
    first = report.partial_dependence[0]
    assert d[0]["blended"] == pytest.approx(first.blended.tolist(), rel=1e-12)
    assert d[0]["labels"] == first.labels()
    book = pd.read_excel(io.BytesIO(export_report(report, "xlsx")),
                         sheet_name="partial_dependence")
    assert len(book) == sum(p.grid.size for p in report.partial_dependence)
    rows = book[book["feature"] == first.feature.name]
    np.testing.assert_allclose(rows["blend"], first.blended, rtol=1e-12)
    np.testing.assert_allclose(rows["click_prediction"], first.prediction[0], rtol=1e-12)
    assert {f"{t}_score" for t in report.task_names()} <= set(book.columns)


def test_html_and_pdf_draw_a_chart_per_feature(report: ExplanationReport) -> None:
    html = export_report(report, "html").decode("utf-8")
    section = html[html.index('<section id="partial-dependence">'):]
    section = section[:section.index("</section>")]
    assert "Partial dependence of the 3 most important features" in section
    assert section.count('<svg class="pdp"') == 3 and "never occur" in section
    for p in report.partial_dependence:
        assert f'<span class="id">{p.feature.name}</span>' in section
    assert section.count("<polyline") + section.count("<circle") >= 3 * 5
    reader = PdfReader(io.BytesIO(export_report(report, "pdf")))
    assert len(reader.pages) == expected_pages(report) == 2 + 1 + 2
    page = reader.pages[2].extract_text()
    assert "Partial dependence of the 3 most important features" in page
    for p in report.partial_dependence:
        assert f"({p.feature.name})" in page


def test_feature_text_is_escaped(report: ExplanationReport) -> None:
    first = report.partial_dependence[0]
    bad = FeatureSpec(first.feature.name, first.feature.group, HOSTILE,
                      first.feature.categories)
    tricky = dataclasses.replace(report, partial_dependence=(
        dataclasses.replace(first, feature=bad), *report.partial_dependence[1:]))
    html = export_report(tricky, "html").decode("utf-8")
    assert "<script" not in html and "&lt;script&gt;" in html
    assert HOSTILE in PdfReader(io.BytesIO(export_report(tricky, "pdf"))).pages[2].extract_text()
    with zipfile.ZipFile(io.BytesIO(export_report(tricky, "csv"))) as zf:
        table = pd.read_csv(io.BytesIO(zf.read("partial_dependence.csv")))
    assert table.loc[0, "description"] == HOSTILE
