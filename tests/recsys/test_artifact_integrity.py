"""Artifact integrity that cannot be switched off: every malformed project of the corpus
(``malformed_projects.CASES``) is refused with an ``ArtifactError`` naming the problem,
both by ``Project.load`` and by the ``recsys`` CLI run as a separate process (LightGBM
aborts the whole process on a malformed model, so only a subprocess can show that it
never gets to read one)."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recsys.artifacts import FORMAT_VERSION, load_artifacts
from recsys.errors import ArtifactError
from recsys.project import Project
from tests.recsys.malformed_projects import CASES, Case, make

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(small_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding every malformed project of the corpus."""
    root = tmp_path_factory.mktemp("malformed")
    for case in CASES:
        make(small_artifacts, root, case)
    return root


@pytest.fixture(scope="module")
def user_item(small_project: Project) -> tuple[str, str]:
    """A user and the top item of their list (what `recsys explain` is asked about)."""
    user = small_project.user_ids()[0]
    return user, small_project.recommend(user).items[0].item_id


def _load_error(path: Path) -> str:
    with pytest.raises(ArtifactError) as info:
        Project.load(path)
    return str(info.value)


def test_the_corpus_is_large_and_named_uniquely() -> None:
    names = [c.name for c in CASES]
    assert len(names) >= 15 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_load_refuses_each_malformed_project(corpus: Path, case: Case) -> None:
    message = _load_error(corpus / case.name)
    assert re.search(case.expect, message), message
    assert "Traceback" not in message and str(corpus) not in message
    for line in message.splitlines():
        assert line.startswith(f"project '{case.name}': "), line
        assert "retrain the project" in line or "upgrade Blendscope" in line, line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_cli_exits_2_with_one_error_line_per_problem(corpus: Path, case: Case,
                                                     user_item: tuple[str, str]) -> None:
    user, item = user_item
    proc = subprocess.run(
        [sys.executable, "-m", "recsys.cli", "explain", "--artifacts", str(corpus / case.name),
         "--user", user, "--item", item],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [f"error: {line}" for line in _load_error(corpus / case.name).splitlines()]
    assert re.search(case.expect, proc.stderr)


def test_a_valid_project_is_format_2_with_every_file_hashed(small_artifacts: Path) -> None:
    manifest = json.loads((small_artifacts / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 2
    assert "root" not in manifest["dataset"]
    on_disk = {p.relative_to(small_artifacts).as_posix() for p in small_artifacts.rglob("*")
               if p.is_file() and p.name != "manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {m["file"] for m in manifest["models"].values()} <= set(manifest["files"])
    assert str(small_artifacts.parent) not in json.dumps(manifest)


def test_files_beside_the_hashed_set_are_allowed(small_artifacts: Path, tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(small_artifacts, copy)
    (copy / "scenarios.json").write_text("{}")
    (copy / "notes").mkdir()
    (copy / "notes" / "todo.txt").write_text("feedback store lives here")
    assert Project.load(copy).task_names() == ["click", "purchase", "revenue", "returned"]


def test_a_model_changed_after_loading_is_refused_before_lightgbm(small_artifacts: Path,
                                                                  tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(small_artifacts, copy)
    art = load_artifacts(copy)
    model = copy / "models" / "click.txt"
    model.write_bytes(model.read_bytes().replace(b"\nTree=0\n", b"\nTree=0\n\n", 1))
    with pytest.raises(ArtifactError, match=r"'models/click\.txt' does not match its recorded "
                                            r"SHA-256 \(modified after the project was checked\)"):
        art.models["click"]
    assert art.models["purchase"].predict(art.test_features.X[:3]).shape == (3,)


def test_messages_name_the_project_not_its_path(small_artifacts: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"^project 'nothing': not a Blendscope project "
                                            r"\(no manifest\.json\); train one"):
        Project.load(tmp_path / "nothing")


def test_model_text_check_leaves_lightgbm_nothing_to_abort_on(small_artifacts: Path,
                                                              tmp_path: Path) -> None:
    """Random edits of a model text either fail the Python check or load and predict in
    LightGBM without killing the process (run in a subprocess: an abort is exit 134)."""
    from recsys._model_text import check_model_text

    manifest = json.loads((small_artifacts / "manifest.json").read_text())
    names = [f["name"] for f in manifest["features"]]
    data = (small_artifacts / "models" / "click.txt").read_bytes()
    check_model_text(data, objective="binary", feature_names=names)  # the original passes
    rnd = random.Random(20)
    passed = []
    for _ in range(600):
        mutated = bytearray(data)
        for _ in range(rnd.choice((1, 1, 2, 4))):
            pos = rnd.randrange(len(mutated))
            if rnd.random() < 0.7:
                mutated[pos] = rnd.choice(b"0123456789 -.=\nT" + bytes([rnd.randrange(256)]))
            else:
                del mutated[pos]
        try:
            passed.append(check_model_text(bytes(mutated), objective="binary",
                                           feature_names=names))
        except ValueError:
            continue
    assert 20 < len(passed) < 600
    (tmp_path / "models.json").write_text(json.dumps(passed))
    script = textwrap.dedent(f"""
        import json, numpy as np, lightgbm as lgb
        X = np.random.default_rng(0).normal(size=(64, {len(names)})).astype(np.float32)
        for text in json.load(open({str(tmp_path / "models.json")!r})):
            try:
                b = lgb.Booster(model_str=text)
                b.predict(X, raw_score=True)
                b.predict(X, pred_contrib=True)
            except lgb.basic.LightGBMError:
                pass
        print("survived")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.parametrize(("path", "problem"), [
    ("models/click.txt", None),
    ("", "is empty"),
    ("/etc/passwd", "must be relative"),
    ("../x", "must not contain '..'"),
    ("models/../../x", "must not contain '..'"),
    ("./models/click.txt", "is not normalised"),
    ("models//click.txt", "is not normalised"),
    ("models/", "is not normalised"),
    ("models\\click.txt", "must use '/' separators"),
    ("C:/x", "must use '/' separators"),
])
def test_path_rules(path: str, problem: str | None) -> None:
    from recsys._manifest import path_problem

    got = path_problem(path)
    assert got is None if problem is None else problem in (got or ""), got
