"""Outputs never destroy what Blendscope does not own; swaps are atomic and locked."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recsys.artifacts import save_project
from recsys.atomic import OutputDir, check_replaceable, write_bytes_atomic
from recsys.cli import main
from recsys.errors import OutputError
from recsys.project import Project


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def _train(config: Path, out: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["train", "--config", str(config), "--out", out])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", ["user_dir", "file", "cwd", "parent_of_cwd", "dataset_dir",
                                  "ancestor_of_data", "symlink", "empty"])
def test_train_refuses_what_it_does_not_own(case: str, small_config: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_config.parent, data)
    config = data / "config.toml"
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work / "sub")
    targets = {
        "user_dir": str(work), "file": str(work / "notes.txt"), "cwd": ".",
        "parent_of_cwd": "..", "dataset_dir": str(data), "ancestor_of_data": str(tmp_path),
        "symlink": str(tmp_path / "link"), "empty": "",
    }
    (tmp_path / "link").symlink_to(work, target_is_directory=True)
    before = _snapshot(tmp_path)
    code, err = _train(config, targets[case], capsys)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert "nothing was changed" in lines[0] or "choose" in lines[0] or "name a" in lines[0]
    assert _snapshot(tmp_path) == before


def test_train_replaces_a_project_atomically_and_cleans_leftovers(
        small_trained, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "proj"
    save_project(small_trained, out)
    first = out.stat().st_ino
    # leftovers of killed runs
    (tmp_path / ".proj.tmp-dead1").mkdir()
    (tmp_path / ".proj.tmp-dead1" / "x").write_text("half written")
    (tmp_path / ".proj.old-dead2").mkdir()
    (tmp_path / "keep.txt").write_text("not ours")
    save_project(small_trained, out)
    assert out.stat().st_ino != first  # a new directory took the name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "proj"]
    Project.load(out)


def test_a_project_left_aside_by_a_killed_swap_is_restored(small_artifacts: Path,
                                                           tmp_path: Path) -> None:
    aside = tmp_path / ".proj.old-1234abcd"
    shutil.copytree(small_artifacts, aside)
    with OutputDir(tmp_path / "proj"):
        pass
    assert not aside.exists()
    Project.load(tmp_path / "proj")


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(
        small_config: Path, small_artifacts: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "proj"
    shutil.copytree(small_artifacts, out)
    with OutputDir(out):
        code, err = _train(small_config, str(out), capsys)
    assert code == 2
    assert f"another training is writing {out} (pid {os.getpid()})" in err
    Project.load(out)
    assert not (tmp_path / ".proj.lock").exists()


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from recsys.atomic import OutputDir
with OutputDir(Path(sys.argv[1])) as claim, claim.stage() as tmp:
    (tmp / "manifest.json").write_text("half")
    print("staged", flush=True)
    time.sleep(60)
"""


def test_killing_a_writer_mid_save_keeps_the_old_project(small_artifacts: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "proj"
    shutil.copytree(small_artifacts, out)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(out)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    Project.load(out)  # the final name never went missing
    assert any(p.name.startswith(".proj.tmp-") for p in tmp_path.iterdir())
    with OutputDir(out):  # the next claim cleans up after the killed run
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_check_replaceable_accepts_new_empty_and_project_dirs(small_artifacts: Path,
                                                              tmp_path: Path) -> None:
    check_replaceable(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    check_replaceable(small_artifacts)
    with pytest.raises(OutputError, match="holds .*config.toml, which this run reads"):
        check_replaceable(tmp_path, protect=[tmp_path / "data" / "config.toml"])


# -- single files (reports, scenarios) ---------------------------------------------------------
@pytest.mark.parametrize("case", ["directory", "empty", "missing_parent", "symlink", "device"])
def test_report_out_refuses_non_files(case: str, small_artifacts: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "real.html"
    target.write_text("keep")
    (tmp_path / "link.html").symlink_to(target)
    out = {"directory": str(tmp_path), "empty": "", "missing_parent": str(tmp_path / "no/x.html"),
           "symlink": str(tmp_path / "link.html"), "device": "/dev/null"}[case]
    before = _snapshot(tmp_path)
    code = main(["report", "--artifacts", str(small_artifacts), "--user", "u0001",
                 "--format", "html", "--out", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert _snapshot(tmp_path) == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_new_files_get_the_umask_mode_and_old_files_keep_theirs(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        new = write_bytes_atomic(tmp_path / "new.bin", b"x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
        kept = tmp_path / "kept.bin"
        kept.write_bytes(b"old")
        kept.chmod(0o604)
        write_bytes_atomic(kept, b"new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_bytes() == b"new"
    finally:
        os.umask(old)


def test_scenario_files_follow_the_same_rules(tmp_path: Path) -> None:
    from ui.scenarios import Scenario, ScenarioStore

    real = tmp_path / "elsewhere.json"
    real.write_text('{"version": 1, "projects": {}}')
    (tmp_path / "scenarios.json").symlink_to(real)
    store = ScenarioStore.beside(tmp_path)
    with pytest.raises(OutputError, match="symbolic link"):
        store.save("demo", Scenario(name="a", weights={"click": 1.0}, transform="zscore", k=10))
    assert real.read_text() == '{"version": 1, "projects": {}}'


def test_lock_file_records_the_writer_pid(tmp_path: Path) -> None:
    with OutputDir(tmp_path / "proj"):
        assert (tmp_path / ".proj.lock").read_text().strip() == str(os.getpid())
        with pytest.raises(OutputError, match=r"\(pid \d+\)"), OutputDir(tmp_path / "proj"):
            pass


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_zip_report_must_be_named_zip(fmt: str, small_artifacts: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"r.{fmt}"
    code = main(["report", "--artifacts", str(small_artifacts), "--user", "u0001",
                 "--format", fmt, "--out", str(out)])
    assert code == 2 and "name the file r.zip" in capsys.readouterr().err
    assert not out.exists()
