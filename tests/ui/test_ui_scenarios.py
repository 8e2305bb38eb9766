"""The scenarios file: atomic, per project, with readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ui.scenarios import Scenario, ScenarioError, ScenarioStore


def _scen(name: str, revenue: float = 2.0) -> Scenario:
    return Scenario(name=name, weights={"click": 1.0, "revenue": revenue}, transform="zscore",
                    k=10)


def test_save_list_delete(tmp_path: Path) -> None:
    store = ScenarioStore.beside(tmp_path)
    saved = store.save("demo", _scen("  push revenue "))
    assert saved.name == "push revenue" and saved.saved_at
    store.save("demo", _scen("b", 3.0))
    store.save("other", _scen("c"))
    got = store.list("demo")
    assert list(got) == ["b", "push revenue"]
    assert got["b"].weights == {"click": 1.0, "revenue": 3.0}
    store.save("demo", _scen("b", 4.0))
    assert store.list("demo")["b"].weights["revenue"] == 4.0
    store.delete("demo", "b")
    assert list(store.list("demo")) == ["push revenue"]
    assert list(store.list("other")) == ["c"]
    assert not list(tmp_path.glob(".scenarios.*"))  # no temporary file left behind


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "a/b", "<script>"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ScenarioError, match="scenario name .* is not allowed"):
        ScenarioStore.beside(tmp_path).save("demo", _scen(name))
    assert not (tmp_path / "scenarios.json").exists()


def test_deleting_a_missing_scenario_says_so(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario 'gone' of project 'demo' does not exist"):
        ScenarioStore.beside(tmp_path).delete("demo", "gone")


def test_corrupt_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text("{not json")
    store = ScenarioStore(path)
    with pytest.raises(ScenarioError, match="is unreadable .*delete or fix it"):
        store.list("demo")
    with pytest.raises(ScenarioError, match="is unreadable"):
        store.save("demo", _scen("a"))
    assert path.read_text() == "{not json"


def test_malformed_entries_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text(json.dumps({"version": 1, "projects": {"demo": {
        "ok": {"weights": {"click": 1}, "transform": "zscore", "k": 5},
        "bad": {"weights": "heavy"}}}}))
    assert list(ScenarioStore(path).list("demo")) == ["ok"]
