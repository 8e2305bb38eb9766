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
    # a segment's PDF is a summary: front page, summary page, then an overview and an item
    # page per user (the first 10)
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


def _bought(project: Project) -> tuple[str, str]:
    """A user and an item they bought before the test window (never a candidate again)."""
    for uid in project.user_ids():
        hist = project.user_history(uid, n=10_000)
        pos = hist[hist["revenue"] > 0]
        if not pos.empty:
            return str(uid), str(pos["item_id"].iloc[0])
    raise AssertionError("nobody bought anything before the test window")


def test_explain_vs_any_catalogue_item_shows_its_standing(
        project: Project, project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    user, bought = _bought(project)
    top = project.recommend(user, k=1).items[0]
    code, out, _ = _run(capsys, "explain", "-a", str(project_dir), "-u", user, "-i",
                        top.item_id, "--vs", bought, "--top", "3")
    assert code == 0
    standing, _, pair = out.partition("\n\n")
    n = int((project.candidates()[project.user_code(user)] >= 0).sum())
    head = f"vs {bought} \"{project.title(project.item_code(bought))}\": not a candidate · score "
    assert standing.startswith(head) and f" of {n + 1} candidates (" in standing
    assert "  - The user already had a positive 'revenue' on this item before the test " \
           "window" in standing
    assert pair.startswith(f"user {user} · {top.item_id}") and "gap " in pair
    code, out, _ = _run(capsys, "explain", "-a", str(project_dir), "-u", user, "-i",
                        top.item_id, "--vs", bought, "-f", "json")
    d = json.loads(out)
    a, b = d["standing"]["item"], d["standing"]["vs"]
    assert (a["item_id"], a["candidate"], a["rank"], a["excluded_by"]) == (top.item_id, True, 1, [])
    assert a["score"] == pytest.approx(top.score, abs=1e-5)
    assert (b["item_id"], b["candidate"], b["source"]) == (bought, False, None)
    assert [e["rule"] for e in b["excluded_by"]] == ["history"]
    assert 1 <= b["rank"] <= n + 1 and b["n_candidates"] == n
    assert d["gap"] == pytest.approx(a["score"] - b["score"], abs=1e-5)  # SHAP vs live score


def test_explain_vs_unknown_item_is_one_line(project_dir: Path, user_id: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "explain", "-a", str(project_dir), "-u", user_id, "-i",
                          "i0001", "--vs", "nope")
    assert code == 2 and out == ""
    assert err.splitlines() == ["error: explain: unknown item 'nope'; item ids look like "
                                "i0001, i0002, i0003"]
