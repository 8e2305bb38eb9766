"""Every broken dataset of ``tests/data/bad``: a clear message, exit 2, nothing written.

The corpus is generated into a temporary directory by ``tests/data/bad/make_corpus.py``
(also runnable by hand: ``python tests/data/bad/make_corpus.py OUTDIR``).
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from recsys.cli import main
from recsys.data import load_dataset
from recsys.errors import SchemaError

MAKE_CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad" / "make_corpus.py"
PROGRESS = re.compile(r"^\[\s*\d+%\]")
"""The train command's progress lines (``[  0%]    0.0s  loading ...``)."""
MAX_LINE = 300


def _load_corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", MAKE_CORPUS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_corpus", module)
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_module()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad-corpus")
    corpus.write_corpus(out)
    return out


def snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` (and root itself) with (is_dir, size, mtime_ns)."""
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0,
                                       p.stat().st_mtime_ns) for p in paths}


def expected(case: Path) -> str:
    return (case / "expect.txt").read_text(encoding="utf-8").strip()


def test_corpus_is_large_enough() -> None:
    assert len(corpus.ERRORS) >= 40
    assert not set(corpus.ERRORS) & set(corpus.WARNINGS)


@pytest.mark.parametrize("name", sorted(corpus.ERRORS))
def test_bad_dataset_exits_2_with_clear_lines_and_writes_nothing(
    name: str, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case, out = corpus_dir / name, tmp_path / "project"
    before, outside = snapshot(case), sorted(tmp_path.iterdir())
    code = main(["train", "--config", str(case / "config.toml"), "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if not PROGRESS.match(ln)]
    assert lines, "no error message"
    for line in lines:
        assert line.startswith(("error: ", "warning")), line
        shown = line.replace(str(case) + "/", "")  # the config's absolute path is the user's
        assert len(shown) < MAX_LINE, line
    assert expected(case) in err
    assert not out.exists()
    assert sorted(tmp_path.iterdir()) == outside
    assert snapshot(case) == before


def test_errors_do_not_cascade(corpus_dir: Path) -> None:
    """One root cause, one line: later stages do not repeat what an earlier one found."""
    one_line = ["missing_interactions", "wrong_delimiter", "binary_one_two", "label_nan",
                "timestamp_year_2999", "given_self", "duplicate_task_names", "weight_inf",
                "config_not_utf8", "parquet_that_is_csv", "single_user", "timestamp_future"]
    for name in one_line:
        with pytest.raises(SchemaError) as info:
            load_dataset(corpus_dir / name / "config.toml")
        assert len(info.value.problems) == 1, (name, info.value.problems)


@pytest.mark.parametrize("name", sorted(corpus.WARNINGS))
def test_warning_cases_load_and_say_so(name: str, corpus_dir: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    case = corpus_dir / name
    with caplog.at_level(logging.WARNING, logger="recsys.data"):
        ds = load_dataset(case / "config.toml")
    text = expected(case)
    assert text in caplog.text
    assert any(text in w for w in ds.warnings) or not text
    assert len(ds.warnings) == (1 if text else 0)


def test_cp1252_file_is_decoded(corpus_dir: Path) -> None:
    ds = load_dataset(corpus_dir / "cp1252_csv" / "config.toml")
    assert ds.items["title"].iloc[0] == "Café crème 0 – €"


def test_per_user_is_clamped_to_the_catalogue(corpus_dir: Path) -> None:
    ds = load_dataset(corpus_dir / "per_user_above_catalogue" / "config.toml")
    assert ds.config.candidates.per_user == len(ds.items) == 8


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(corpus.WARNINGS))
def test_warning_cases_train(name: str, corpus_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "project"
    code = main(["train", "--config", str(corpus_dir / name / "config.toml"), "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert (out / "manifest.json").is_file()
