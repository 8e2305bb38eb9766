"""``recsys report --pdf-mode summary|full --top-users N``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from recsys.cli import main


@pytest.mark.parametrize("extra, pages", [
    ([], 1 + 1 + 3 * (1 + 1)),  # a segment: summary by default, the first 10 users
    (["--top-users", "1"], 1 + 1 + 1 * (1 + 1)),
    (["--pdf-mode", "full"], 1 + 1 + 1 + 3 * (1 + 1)),  # front, health, pdp, every user
])
def test_pdf_mode_and_top_users(project_dir: Path, tmp_path: Path, extra: list[str], pages: int,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.pdf"
    assert main(["report", "-a", str(project_dir), "--segment", "segment=premium",
                 "--max-users", "3", "--k", "3", "-f", "pdf", "-o", str(out), *extra]) == 0
    assert "(3 users, pdf" in capsys.readouterr().out
    reader = PdfReader(out)
    assert len(reader.pages) == pages
    if "full" not in extra:
        assert "Summary · segment = premium" in reader.pages[1].extract_text()


def test_a_user_list_is_full_unless_asked(project_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from recsys.project import Project

    ids = [str(u) for u in Project.load(project_dir).user_ids()[:3]]
    users = [a for u in ids for a in ("-u", u)]
    out = tmp_path / "r.pdf"
    assert main(["report", "-a", str(project_dir), *users, "--k", "3", "-f", "pdf",
                 "-o", str(out)]) == 0
    assert len(PdfReader(out).pages) == 1 + 1 + 1 + 3 * 2
    assert main(["report", "-a", str(project_dir), *users, "--k", "3", "-f", "pdf",
                 "-o", str(out), "--pdf-mode", "summary", "--top-users", "0"]) == 0
    assert len(PdfReader(out).pages) == 2
    assert main(["report", "-a", str(project_dir), *users, "-f", "pdf", "-o", str(out),
                 "--pdf-mode", "brief"]) == 2
    capsys.readouterr()
