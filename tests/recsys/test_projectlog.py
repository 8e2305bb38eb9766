"""The project log: append-only flags safe under concurrent writers, and the run log."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from recsys.errors import OutputError, SchemaError
from recsys.projectlog import ProjectLog, log_path


def test_log_lives_beside_the_project(tmp_path: Path) -> None:
    assert log_path(tmp_path / "artifacts" / "demo") == \
        tmp_path.resolve() / "artifacts" / "demo.log.sqlite"


def test_latest_flag_wins_and_clear_withdraws(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "p.log.sqlite")
    log.add_flag("i1", "bad", user_id="u1", note="broken image", weights={"click": 1.0})
    log.add_flag("i2", "good", user_id="u1")
    log.add_flag("i3", "irrelevant")  # every user
    log.add_flag("i2", "irrelevant", user_id="u1")
    log.add_flag("i1", "clear", user_id="u1")
    flags = log.flags()
    assert flags.excluded_pairs() == {("u1", "i2")}
    assert flags.excluded_items() == {"i3"}
    assert flags.excluded_for("u1") == {"i2", "i3"} and flags.excluded_for("u9") == {"i3"}
    assert [f.kind for f in log.history()] == ["bad", "good", "irrelevant", "irrelevant", "clear"]
    assert log.history()[0].note == "broken image" and log.history()[0].weights == {"click": 1.0}


def test_flags_are_append_only(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "p.log.sqlite")
    log.add_flag("i1", "bad", user_id="u1")
    con = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE flags SET kind = 'good'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM flags")
    con.close()


def test_bad_flags_are_refused(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "p.log.sqlite")
    with pytest.raises(SchemaError, match="flag kind 'awful' is not one of bad, irrelevant"):
        log.add_flag("i1", "awful")
    with pytest.raises(SchemaError, match="item id is empty"):
        log.add_flag(" ", "bad")
    link = tmp_path / "l.log.sqlite"
    link.symlink_to(tmp_path / "p.log.sqlite")
    with pytest.raises(OutputError, match="not a regular file"):
        ProjectLog(link).add_flag("i1", "bad")


def test_reading_a_missing_log_creates_nothing(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "none.log.sqlite")
    assert len(log.flags()) == 0 and log.runs() == []
    assert not log.path.exists()


def test_exclusion_mask_marks_flagged_candidates(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "p.log.sqlite")
    log.add_flag("i1", "bad", user_id="u0")
    log.add_flag("i2", "bad")
    log.add_flag("i3", "good", user_id="u1")
    log.add_flag("gone", "bad")  # an item no longer in the catalogue is ignored
    cand = np.array([[1, 2, 3], [2, 3, 1]])
    mask = log.flags().exclusion_mask(["u0", "u1"], {"i1": 1, "i2": 2, "i3": 3}, cand)
    assert mask.tolist() == [[True, True, False], [True, False, False]]


_WRITER = """
import sys
from recsys.projectlog import ProjectLog
log = ProjectLog(sys.argv[1])
for n in range(40):
    log.add_flag(f"i{n}", "bad", user_id=f"w{sys.argv[2]}", source="cli")
"""


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.log.sqlite"
    ProjectLog(path).add_flag("i0", "good", user_id="seed")
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WRITER), str(path), str(w)],
                              cwd=Path(__file__).parents[2]) for w in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    history = ProjectLog(path).history()
    assert len(history) == 1 + 4 * 40
    assert len({(f.user_id, f.item_id) for f in history}) == 1 + 4 * 40


def test_runs_are_recorded_and_found_by_prefix(tmp_path: Path) -> None:
    log = ProjectLog(tmp_path / "p.log.sqlite")
    manifest = {"created_at": "2026-11-30T10:00:00+00:00", "data_fingerprint": "abc",
                "config": {"a": 1}, "package_version": "0.2.0", "files": {"x": "1"},
                "metrics": {"tasks": {"click": {"auc": 0.7}},
                            "health": {"warnings": [{"code": "few_positives"}]}},
                "dataset": {"n_users": 3}, "candidates": {"per_user": 10}}
    entry = log.record_run(manifest, tmp_path / "demo", importance={"click": {"f": 1.0}},
                           top_k={"u1": ["i1", "i2"]})
    (back,) = log.runs()
    assert back.run_id == entry.run_id and back.metrics["tasks"]["click"]["auc"] == 0.7
    assert back.warnings[0]["code"] == "few_positives" and back.top_k == {"u1": ("i1", "i2")}
    assert back.summary["project"] == "demo" and back.importance == {"click": {"f": 1.0}}
    assert log.run(entry.run_id[:10]).run_id == entry.run_id
    with pytest.raises(SchemaError, match="run 'nope' is not in the run log"):
        log.run("nope")


def test_every_path_to_a_project_finds_the_same_log(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert log_path(tmp_path / "alias") == log_path(tmp_path / "real") == \
        tmp_path.resolve() / "real.log.sqlite"
