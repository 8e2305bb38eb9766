"""`recsys explain` and `recsys report`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from recsys.cli import main
from recsys.project import Project


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_json_sums_to_the_recommended_score(project: Project, project_dir: Path,
                                                    user_id: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    ranked = project.recommend(user_id, weights={"returned": 2.0}, k=2, transform="percentile")
    a, b = ranked.items
    code, out, _ = _run(capsys, "explain", "--artifacts", str(project_dir), "--user", user_id,
                        "--item", a.item_id, "--weight", "returned=2", "--transform",
                        "percentile", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert {"user_id", "item_id", "score", "base", "attributions", "tasks", "reasons"} <= set(d)
    assert d["score"] == pytest.approx(a.score, abs=1e-5)
    assert d["base"] + sum(x["contribution"] for x in d["attributions"]) == pytest.approx(
        d["score"], abs=1e-9)
    assert {"feature", "group", "value", "contribution"} <= set(d["attributions"][0])
    for t in d["tasks"].values():
        assert {"margin", "share", "base", "attributions"} <= set(t)
    code, out, _ = _run(capsys, "explain", "-a", str(project_dir), "-u", user_id, "-i",
                        a.item_id, "--vs", b.item_id, "-w", "returned=2", "--transform",
                        "percentile", "-f", "json")
    p = json.loads(out)
    assert (p["item_id"], p["vs"]) == (a.item_id, b.item_id)
    assert p["gap"] == pytest.approx(a.score - b.score, abs=1e-5)
    assert sum(x["contribution"] for x in p["attributions"]) == pytest.approx(p["gap"], abs=1e-9)


def test_explain_text(project_dir: Path, project: Project, user_id: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    item = project.recommend(user_id, k=1).items[0]
    code, out, _ = _run(capsys, "explain", "-a", str(project_dir), "-u", user_id, "-i",
                        item.item_id, "--top", "5")
    assert code == 0
    assert f"score {item.score:.4f}" in out and "reasons:" in out and "other features" in out
    code, _, err = _run(capsys, "explain", "-a", str(project_dir), "-u", "ghost", "-i", "x")
    assert code == 2 and "error: explain: unknown user 'ghost'" in err


def test_report_command(project_dir: Path, tmp_path: Path, project: Project,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.pdf"
    code, text, _ = _run(capsys, "report", "-a", str(project_dir), "--segment",
                         "segment=premium", "--max-users", "2", "--k", "3", "--format", "pdf",
                         "--out", str(out))
    assert code == 0 and "wrote" in text and "(2 users, pdf" in text
    # summary, model health, then an overview and an item page per user
    assert len(PdfReader(out).pages) == 1 + 1 + 2 * (1 + 1)
    users = tmp_path / "users.txt"
    ids = [str(u) for u in project.user_ids()[:2]]
    users.write_text("user_id\n# comment\n" + "\n".join(ids) + "\n", encoding="utf-8")
    code, _, _ = _run(capsys, "report", "-a", str(project_dir), "--users-file", str(users),
                      "-f", "json", "-o", str(tmp_path / "r.json"))
    d = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert code == 0 and [u["user_id"] for u in d["users"]] == ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.pdf", "users.txt"]
    code, _, err = _run(capsys, "report", "-a", str(project_dir), "-u", ids[0], "--segment",
                        "segment=premium", "-f", "html", "-o", str(tmp_path / "x.html"))
    assert code == 2 and "exactly one of --user, --users-file or --segment" in err
