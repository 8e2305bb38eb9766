"""The analyst's loop from the CLI: flags keep items out of lists and survive retraining;
every training is recorded and two runs compare."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recsys.artifacts import save_project
from recsys.cli import main
from recsys.project import Project
from recsys.runs import record_training


@pytest.fixture
def project_dir(small_artifacts: Path, tmp_path: Path) -> Path:
    out = tmp_path / "art" / "demo"
    shutil.copytree(small_artifacts, out)
    return out


def _top(project_dir: Path, user: str, capsys: pytest.CaptureFixture[str],
         *extra: str) -> list[str]:
    assert main(["recommend", "-a", str(project_dir), "-u", user, "--format", "json",
                 *extra]) == 0
    return [r["item_id"] for r in json.loads(capsys.readouterr().out)]


def test_flagged_items_leave_the_list_and_survive_retraining(
        project_dir: Path, small_trained, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    user = str(Project.load(project_dir).user_ids()[3])
    before = _top(project_dir, user, capsys)
    assert main(["flags", "add", "-a", str(project_dir), "-u", user, "-i", before[0],
                 "--kind", "bad", "--note", "wrong size"]) == 0
    assert main(["flags", "add", "-a", str(project_dir), "-i", before[1],
                 "--kind", "irrelevant"]) == 0  # every user
    capsys.readouterr()
    after = _top(project_dir, user, capsys)
    assert before[0] not in after and before[1] not in after
    assert after[:8] == before[2:10]  # the list fills up from the next candidates
    assert _top(project_dir, user, capsys, "--ignore-flags") == before
    save_project(small_trained, project_dir)  # a retraining replaces the directory ...
    assert _top(project_dir, user, capsys) == after  # ... and the flags still hold
    assert main(["flags", "list", "-a", str(project_dir), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(f["user_id"], f["item_id"], f["kind"]) for f in listed} == {
        (user, before[0], "bad"), ("(every user)", before[1], "irrelevant")}
    assert main(["flags", "export", "-a", str(project_dir)]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0].startswith("id,created_at,user_id,item_id,kind,note")
    assert "wrong size" in csv_text


def test_unknown_ids_and_kinds_exit_2(project_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flags", "add", "-a", str(project_dir), "-i", "nope", "--kind", "bad"]) == 2
    assert "unknown item 'nope'" in capsys.readouterr().err
    assert main(["flags", "add", "-a", str(project_dir), "-i", "x", "--kind", "awful"]) == 2
    assert not (project_dir.parent / "demo.log.sqlite").exists()


def test_runs_are_listed_and_compared(project_dir: Path, small_trained,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    first = record_training(project_dir, small_trained.models)
    save_project(small_trained, project_dir)
    second = record_training(project_dir, small_trained.models)
    assert main(["runs", "list", "-a", str(project_dir), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in rows] == [first.run_id, second.run_id]
    assert main(["runs", "compare", "-a", str(project_dir), first.run_id, second.run_id,
                 "--format", "json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    # the same data and models: identical lists, nothing changed significantly
    assert cmp["overlap"] == 1.0 and cmp["same_data"] and cmp["same_config"]
    assert cmp["metrics"] and not any(m["significant"] for m in cmp["metrics"])
    assert all(abs(f["delta"]) < 1e-12 for f in cmp["features"])
    assert main(["runs", "compare", "-a", str(project_dir), first.run_id, "zzz"]) == 2
    assert "run 'zzz' is not in the run log" in capsys.readouterr().err


def test_the_next_training_never_proposes_flagged_items(small_config: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from recsys.projectlog import ProjectLog

    out = tmp_path / "art" / "demo"
    assert main(["train", "--config", str(small_config), "--out", str(out)]) == 0
    project = Project.load(out)
    user = str(project.user_ids()[5])
    top = [r.item_id for r in project.recommend(user).items]
    log = ProjectLog.of(out)
    log.add_flag(top[0], "bad", user_id=user)
    log.add_flag(top[1], "irrelevant")  # every user
    capsys.readouterr()
    assert main(["train", "--config", str(small_config), "--out", str(out)]) == 0
    assert "2 feedback flags in force" in capsys.readouterr().err
    again = Project.load(out)
    u, i1, i2 = again.user_code(user), again.item_code(top[0]), again.item_code(top[1])
    cand = again.artifacts.scores.cand_items
    assert i1 not in cand[u] and not (cand == i2).any()
    # two trainings of the same directory are two runs in its log
    assert len(ProjectLog.of(out).runs()) == 2
