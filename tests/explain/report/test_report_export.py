"""Every export format opens, parses and is safe."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from explain import build_report, export_report, report_filename, safe_filename, write_report
from explain.report import ExplanationReport, export_tables, neutralise
from explain.report._pdf import expected_pages
from recsys.errors import ExplanationError
from recsys.project import Project

SCRIPT = '<script>alert("x")</script> & "Co"'
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def report(project: Project) -> ExplanationReport:
    return build_report(project, [str(u) for u in project.user_ids()[:2]], k=4,
                        selection="two users")


@pytest.fixture(scope="module")
def tricky(report: ExplanationReport) -> ExplanationReport:
    """The report with hostile item titles."""
    first = report.users[0]
    items = list(first.items)
    items[0] = dataclasses.replace(items[0], title=SCRIPT)
    items[1] = dataclasses.replace(items[1], title=FORMULA)
    users = (dataclasses.replace(first, items=tuple(items)), *report.users[1:])
    return dataclasses.replace(report, users=users)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]


def test_html_is_offline_and_escaped(report: ExplanationReport,
                                     tricky: ExplanationReport) -> None:
    html = export_report(report, "html").decode("utf-8")
    assert "http://" not in html and "https://" not in html
    assert html.count("<li><code>") == len(report.health.warnings)  # type: ignore[union-attr]
    assert "Model health" in html and "lift 95% CI" in html
    parser = _Links()
    parser.feed(export_report(tricky, "html").decode("utf-8"))
    assert parser.urls and all(u.startswith("#") for u in parser.urls)
    assert "script" not in parser.tags and "iframe" not in parser.tags
    text = export_report(tricky, "html").decode("utf-8")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Co&#34;" in text
    assert "<script" not in text
    n_items = sum(len(u.items) for u in report.users)
    assert html.count('<article class="item"') == n_items
    assert html.count('<svg class="waterfall"') == n_items
    assert html.count('<svg class="pdp"') == len(report.partial_dependence) == 3
    assert report.users[0].items[0].reasons[0].replace("'", "&#39;") in html


def test_pdf_pages_and_text(report: ExplanationReport, tricky: ExplanationReport) -> None:
    reader = PdfReader(io.BytesIO(export_report(tricky, "pdf")))
    assert len(reader.pages) == expected_pages(report) == 2 + 1 + 2 * (1 + 2)
    first = reader.pages[0].extract_text()
    assert report.title in first and "Provenance" in first and "Metrics" in first
    health = reader.pages[1].extract_text()
    assert "Model health" in health and "baseline" in health
    assert report.health is not None and report.health.warnings
    assert f"[{report.health.warnings[0].code}]" in health
    user = report.users[1]
    assert f"User {user.user_id}" in reader.pages[6].extract_text()
    cards = reader.pages[7].extract_text()
    assert user.items[0].title in cards and user.items[0].item_id in cards
    assert "<script>" in reader.pages[4].extract_text()
    plain = dataclasses.replace(report, health=None, partial_dependence=())
    assert len(PdfReader(io.BytesIO(export_report(plain, "pdf"))).pages) == \
        expected_pages(plain) == 1 + 2 * (1 + 2)


def _zip_frames(data: bytes, ext: str) -> dict[str, pd.DataFrame]:
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == sorted(
            [f"attributions.{ext}", f"recommendations.{ext}", f"health.{ext}",
             f"health_warnings.{ext}", f"partial_dependence.{ext}", f"segment_metrics.{ext}",
             "provenance.json"])
        for name in zf.namelist():
            raw = zf.read(name)
            if name.endswith(".csv"):
                out[name.split(".")[0]] = pd.read_csv(io.BytesIO(raw), dtype={"value": str},
                                                      keep_default_na=False)
            elif name.endswith(".parquet"):
                out[name.split(".")[0]] = pd.read_parquet(io.BytesIO(raw))
            else:
                assert json.loads(raw)["provenance"]["k"] == 4
    return out


def test_csv_parquet_xlsx_agree(report: ExplanationReport) -> None:
    csv = _zip_frames(export_report(report, "csv"), "csv")
    pq = _zip_frames(export_report(report, "parquet"), "parquet")
    for name in ("recommendations", "attributions"):
        pd.testing.assert_frame_equal(csv[name], pq[name], check_dtype=False)
    long = csv["attributions"]
    sums = long.groupby(["user_id", "item_id", "task"])["attribution"].sum()
    rec = csv["recommendations"].set_index(["user_id", "item_id"])
    for (u, i, task), total in sums.items():
        if task == "blend":
            assert total == pytest.approx(rec.loc[(u, i), "score"], abs=1e-9)
    assert csv["health"][["task", "metric"]].equals(pq["health"][["task", "metric"]])
    np.testing.assert_allclose(csv["health"]["value"].astype(float), pq["health"]["value"])
    assert csv["health_warnings"]["message"].tolist() == pq["health_warnings"]["message"].tolist()
    book = pd.read_excel(io.BytesIO(export_report(report, "xlsx")), sheet_name=None)
    assert list(book) == ["recommendations", "attributions", "feature_values", "health",
                          "health_warnings", "partial_dependence", "segment_metrics", "metrics",
                          "provenance"]
    assert book["segment_metrics"].empty  # two users, not a segment
    assert set(book["metrics"]["scope"]) == {"all users"}
    health = book["health"]
    assert report.health is not None and len(health) == len(report.health.reports)
    click = health[(health["task"] == "click") & (health["metric"] == "auc")].iloc[0]
    assert click["ci_low"] <= click["value"] <= click["ci_high"]
    assert click["baseline_name"] == "item" and click["baseline_global"] == 0.5
    metrics = book["metrics"]
    assert {"section", "metric", "value", "ci_low", "ci_high", "baseline", "lift"} <= set(metrics)
    mrr = metrics[(metrics["task"] == "revenue") & (metrics["metric"] == "mrr")].iloc[0]
    assert pd.isna(mrr["value"]) and "binary tasks" in mrr["note"]
    pd.testing.assert_frame_equal(book["recommendations"], csv["recommendations"],
                                  check_dtype=False)
    wide = book["attributions"].melt(["user_id", "rank", "item_id", "task"],
                                     var_name="feature", value_name="attribution")
    merged = long.merge(wide, on=["user_id", "rank", "item_id", "task", "feature"])
    assert len(merged) == len(long)
    np.testing.assert_allclose(merged["attribution_x"], merged["attribution_y"], rtol=1e-12)


def test_formula_titles_are_neutralised(tricky: ExplanationReport) -> None:
    csv = _zip_frames(export_report(tricky, "csv"), "csv")
    titles = csv["recommendations"]["title"].tolist()
    assert "'" + FORMULA in titles and FORMULA not in titles
    assert csv["recommendations"]["score"].dtype == np.float64
    values = csv["attributions"]["value"]
    negative = values[values.str.startswith("-")]
    assert len(negative) and all(float(v) < 0 for v in negative)  # numbers stay numbers
    wb = load_workbook(io.BytesIO(export_report(tricky, "xlsx")))
    ws = wb["recommendations"]
    header = [c.value for c in ws[1]]
    cells = [row[header.index("title")] for row in ws.iter_rows(min_row=2)]
    hit = [c for c in cells if c.value == "'" + FORMULA]
    assert hit and all(c.data_type == "s" for c in hit)
    assert isinstance(ws.cell(2, header.index("score") + 1).value, float)
    pq = _zip_frames(export_report(tricky, "parquet"), "parquet")
    assert FORMULA in pq["recommendations"]["title"].tolist()  # data, not a spreadsheet


def test_json_is_the_whole_report(report: ExplanationReport) -> None:
    d = json.loads(export_report(report, "json"))
    assert [u["user_id"] for u in d["users"]] == [u.user_id for u in report.users]
    item = d["users"][0]["items"][0]
    assert item["base"] + sum(a["contribution"] for a in item["attributions"]) == \
        pytest.approx(item["score"], abs=1e-9)
    assert d["provenance"]["transform"] == report.provenance.transform
    assert len(d["health"]["reports"]) == len(report.health.reports)  # type: ignore[union-attr]


@pytest.mark.parametrize("text, safe", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1+1", "'+1+1"), ("@x", "'@x"), ("-2+3", "'-2+3"),
    ("\tx", "'\tx"), ("-0.5", "-0.5"), ("+3e-2", "+3e-2"), ("plain", "plain"), ("", "")])
def test_neutralise(text: str, safe: str) -> None:
    assert neutralise(text) == safe


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "etc_passwd"), ("CON.html", "_CON.html"), ("", "report"),
    ("Résumé Ünïcode.pdf", "Resume_Unicode.pdf"), ("a<b>:c|d?.csv", "a_b_c_d_.csv"),
    (".hidden", "hidden")])
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_write_report_is_atomic(report: ExplanationReport, tmp_path) -> None:  # noqa: ANN001
    name = report_filename(report, "csv")  # the project, the users and the weights
    weights = "-".join(f"{t}{w:g}" for t, w in report.provenance.weights.items())
    assert name == f"blendscope-demo-2-users-{weights}.zip"
    (tmp_path / "sub").mkdir()  # write_report refuses to create directories
    out = write_report(report, "json", tmp_path / "sub" / "r.json")
    assert json.loads(out.read_text(encoding="utf-8"))["title"] == report.title
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]
    with pytest.raises(ExplanationError, match="unknown format 'docx'"):
        export_report(report, "docx")  # type: ignore[arg-type]
    assert set(export_tables(report, "wide")) == {"recommendations", "attributions",
                                                  "feature_values", "health", "health_warnings",
                                                  "partial_dependence", "segment_metrics"}
