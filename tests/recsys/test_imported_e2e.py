"""Every CLI command works on datasets imported from MovieLens and event-log layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main

GENRES = 19


def _ml100k(root: Path, rng: np.random.Generator) -> Path:
    """A MovieLens 100K directory with enough structured ratings to train on."""
    root.mkdir()
    n_users, n_items = 120, 60
    taste = rng.normal(size=(n_users, 3))
    style = rng.normal(size=(n_items, 3))
    rows = []
    for u in range(n_users):
        seen = rng.choice(n_items, size=rng.integers(15, 40), replace=False)
        for i in seen:
            score = 3 + taste[u] @ style[i] + rng.normal(0, 0.5)
            rating = int(np.clip(round(score), 1, 5))
            ts = 880_000_000 + int(rng.integers(0, 200 * 86_400))
            rows.append(f"{u + 1}\t{i + 1}\t{rating}\t{ts}")
    (root / "u.data").write_text("\n".join(rows) + "\n")
    occ = ["writer", "engineer", "student"]
    (root / "u.user").write_text("\n".join(
        f"{u + 1}|{20 + u % 40}|{'MF'[u % 2]}|{occ[u % 3]}|0{u:04d}" for u in range(n_users)) + "\n")
    items = []
    for i in range(n_items):
        flags = ["0"] * GENRES
        flags[1 + i % 18] = "1"
        items.append(f"{i + 1}|Film {i} (19{70 + i % 30})|01-Jan-19{70 + i % 30}||http://x|"
                     + "|".join(flags))
    (root / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    return root


def _events(path: Path, rng: np.random.Generator) -> Path:
    n = 9000
    user = rng.integers(0, 150, n)
    item = (user % 7) * 8 + rng.integers(0, 12, n)
    ts = 1_700_000_000 + np.sort(rng.integers(0, 60 * 86_400, n))
    affinity = (item % 8) < 3
    behavior = np.where(rng.random(n) < np.where(affinity, 0.3, 0.08),
                        rng.choice(["cart", "buy", "fav"], n), "pv")
    pd.DataFrame({"user_id": user, "item_id": item, "behavior": behavior,
                  "timestamp": ts}).to_csv(path, index=False)
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("layout", ["movielens", "events"])
def test_import_train_recommend_evaluate_sweep(layout: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    data, art = tmp_path / "data", tmp_path / "art"
    src = _ml100k(tmp_path / "ml-100k", rng) if layout == "movielens" else _events(
        tmp_path / "events.csv", rng)
    code, _, err = _cli(capsys, "import", layout, str(src), "--out", str(data))
    assert code == 0, err
    code, out, err = _cli(capsys, "train", "--config", str(data / "config.toml"),
                          "--out", str(art))
    assert code == 0, err
    manifest = json.loads((art / "manifest.json").read_text())
    tasks = [t["name"] for t in manifest["tasks"]]
    assert tasks == (["rating", "like"] if layout == "movielens" else ["buy", "cart", "fav"])
    user = "1"
    code, out, err = _cli(capsys, "recommend", "--artifacts", str(art), "--user", user,
                          "--format", "json", "--k", "5")
    assert code == 0, err
    recs = json.loads(out)
    assert len(recs) == 5 and set(recs[0]["tasks"]) == set(tasks)
    if layout == "movielens":
        rated = pd.read_parquet(data / "interactions.parquet")
        before = rated[(rated["user_id"] == user)]["item_id"].tolist()
        test_start = pd.Timestamp(manifest["dataset"]["test_start"])
        seen = set(rated[(rated["user_id"] == user)
                         & (rated["timestamp"] < test_start)]["item_id"])
        assert before and not seen & {r["item_id"] for r in recs}
        assert recs[0]["title"].startswith("Film ")
    for cmd in (["evaluate"], ["sweep", "--steps", "4"]):
        code, out, err = _cli(capsys, *cmd, "--artifacts", str(art), "--format", "json")
        assert code == 0, err
        assert json.loads(out)
