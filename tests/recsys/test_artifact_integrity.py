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

import numpy as np
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


# -- lazily read files: the sweep, the history, the memory-mapped score tables ---------------
def _rehash(project: Path, rel: str) -> None:
    import hashlib

    manifest = json.loads((project / "manifest.json").read_text())
    manifest["files"][rel] = hashlib.sha256((project / rel).read_bytes()).hexdigest()
    (project / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_a_saved_project_carries_its_sweep_and_serves_it_without_recomputing(
        small_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = json.loads((small_artifacts / "manifest.json").read_text())
    blend = manifest["config"]["blend"]
    assert manifest["sweep"] == {"file": "scores/sweep.json", "transform": blend["transform"],
                                 "k": blend["k"], "steps": 11}
    assert "scores/sweep.json" in manifest["files"]
    project = Project.load(small_artifacts)
    expected = project.sweep(transform="minmax")  # computed: not the saved transform

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the saved sweep must be read, not recomputed")

    monkeypatch.setattr("recsys.project.sweep_weights", forbidden)
    saved = project.sweep()
    assert saved.transform == blend["transform"] and saved.k == blend["k"]
    assert saved.weights.shape == (286, 4) and saved.pareto.any()
    assert project.sweep() is saved  # read once per loaded project
    assert project.sweep(transform="minmax") is expected  # computed once, then kept
    assert Project.load(small_artifacts).sweep().ndcg.tolist() == saved.ndcg.tolist()


def test_the_saved_sweep_equals_a_fresh_computation(small_project: Project) -> None:
    from recsys.evaluate import sweep_weights

    spec = small_project.spec()
    fresh = sweep_weights(small_project.eval_context, small_project.test_table(), spec,
                          steps=11)
    saved = small_project.sweep()
    np.testing.assert_array_equal(saved.weights, fresh.weights)
    np.testing.assert_array_equal(saved.ndcg, fresh.ndcg)
    np.testing.assert_array_equal(saved.pareto, fresh.pareto)


def test_an_edited_sweep_is_refused_when_read(small_artifacts: Path, tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(small_artifacts, copy)
    sweep = copy / "scores" / "sweep.json"
    sweep.write_text(sweep.read_text().replace('"k": ', '"k": 1', 1))
    _rehash(copy, "scores/sweep.json")  # a deliberate edit passes the hash
    project = Project.load(copy)
    with pytest.raises(ArtifactError, match=r"^project 'demo': file 'scores/sweep\.json' does "
                                            r"not hold the sweep the manifest describes \("
                                            r"'k' is 1\d+, expected \d+\); retrain"):
        project.sweep()


def test_a_sweep_changed_after_loading_is_refused_when_read(small_artifacts: Path,
                                                            tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(small_artifacts, copy)
    project = Project.load(copy)
    sweep = copy / "scores" / "sweep.json"
    sweep.write_text(sweep.read_text().replace("0.", "0.9", 1))
    with pytest.raises(ArtifactError, match=r"'scores/sweep\.json' does not match its recorded "
                                            r"SHA-256"):
        project.sweep()


def test_history_changed_on_disk_is_refused_when_first_read(small_artifacts: Path,
                                                            tmp_path: Path) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(small_artifacts, copy)
    history = copy / "catalog" / "history.parquet"
    data = bytearray(history.read_bytes())
    data[len(data) // 2] ^= 0x55
    history.write_bytes(bytes(data))
    project = Project.load(copy)  # large tables are hashed as they are first read
    user = project.user_ids()[0]
    assert project.recommend(user).items  # recommending never touches the history
    with pytest.raises(ArtifactError, match=r"'catalog/history\.parquet' does not match its "
                                            r"recorded SHA-256"):
        project.user_history(user)


def test_candidate_score_tables_are_memory_mapped_float32(small_project: Project) -> None:
    scores = small_project.artifacts.scores
    assert isinstance(scores.cand_margins, np.memmap)
    assert scores.cand_margins.dtype == np.float32 and not scores.cand_margins.flags.writeable
    assert isinstance(scores.cand_items, np.memmap) and scores.cand_items.dtype == np.int32
    manifest = small_project.manifest
    assert {"scores/cand_items.npy", "scores/cand_source.npy",
            "scores/cand_margins.npy"} <= set(manifest["files"])
    assert "scores/candidates.parquet" not in manifest["files"]
    # the config transform's table is saved too: a first evaluation computes no transform
    assert manifest["transformed"] == {"file": "scores/cand_transformed.npy",
                                       "transform": manifest["config"]["blend"]["transform"]}
    table = small_project.transformed_table()
    assert isinstance(table, np.memmap) and table.dtype == np.float32
    assert isinstance(small_project.transformed_table("percentile"), np.ndarray)  # computed


def test_one_users_list_never_builds_the_whole_table(small_artifacts: Path) -> None:
    project = Project.load(small_artifacts)
    user = project.user_ids()[7]
    ranked = project.recommend(user, weights={"purchase": 2.0})
    codes, blended = project.candidate_scores(user, weights={"purchase": 2.0})
    assert project._tables == {}  # noqa: SLF001 - what a dashboard user's first list costs
    items, scores = project.recommend_all(weights={"purchase": 2.0})
    u = project.user_code(user)
    listed = [project.item_code(it.item_id) for it in ranked.items]
    assert listed == [c for c in items[u].tolist() if c >= 0]
    np.testing.assert_array_equal([it.score for it in ranked.items],
                                  scores[u][: len(listed)])
    assert project.recommend(user, weights={"purchase": 2.0}) == ranked  # full table now


def test_user_history_reads_only_that_user(small_project: Project) -> None:
    history = small_project.artifacts.history
    for user in small_project.user_ids()[:25]:
        rows = history[history["user_id"].astype(str) == str(user)]
        expected = rows.sort_values("timestamp", ascending=False).head(20)
        got = small_project.user_history(user, n=20)
        np.testing.assert_array_equal(got["item_id"].astype(str), expected["item_id"].astype(str))
        np.testing.assert_array_equal(got["timestamp"], expected["timestamp"])
    assert small_project.user_history("no-such-user").empty


def test_the_saved_transformed_table_is_what_the_transform_computes(
        small_project: Project) -> None:
    import dataclasses

    scores = small_project.artifacts.scores
    kind = small_project.spec().transform
    computed = dataclasses.replace(scores, saved_tables={}).transformed(kind)
    np.testing.assert_array_equal(scores.transformed(kind), computed)
    np.testing.assert_array_equal(scores.transformed(kind, users=slice(3, 5)), computed[:, 3:5])
