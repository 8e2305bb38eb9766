"""`recsys tune` and `recsys.tune`: per-task search, the tuned config it writes, the CLI."""

from __future__ import annotations

import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from recsys._toml import dumps_toml
from recsys.cli import main
from recsys.config import load_config
from recsys.errors import OutputError, SchemaError
from recsys.tune import TuneResult, parse_budget, tune, write_tuned_config

TRIALS = 3


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def config(small_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small demo dataset whose models use one thread (fast on busy cores)."""
    data = tmp_path_factory.mktemp("tune") / "data"
    shutil.copytree(small_config.parent, data)
    cfg = data / "config.toml"
    text = cfg.read_text()
    assert "\n[model]\n" in text
    cfg.write_text(text.replace("\n[model]\n", "\n[model]\nn_jobs = 1\n"))
    return cfg


@pytest.fixture(scope="module")
def tuned(config: Path) -> TuneResult:
    return tune(config, budget_seconds=600, n_trials=TRIALS, seed=3)


def _without_task_models(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "data": {k: v for k, v in raw["data"].items()
                            if k not in ("interactions", "users", "items")},
            "task": [{k: v for k, v in t.items() if k != "model"} for t in raw["task"]]}


def test_after_is_never_worse_and_every_task_is_searched(tuned: TuneResult) -> None:
    assert [t.task for t in tuned.tasks] == ["click", "purchase", "revenue", "returned"]
    for t in tuned.tasks:
        assert t.n_trials == TRIALS and t.note is None
        # each model's own early-stopping metric: the demo's revenue uses a Tweedie loss
        assert t.metric == {"binary": "logloss", "regression": "tweedie"}[t.kind]
        assert t.after <= t.before  # both losses; the first trial is the config's settings
        assert t.before_params["num_leaves"] == 31 and t.before_params["learning_rate"] == 0.1
    assert any(t.changed() for t in tuned.tasks)
    assert tuned.task("click").metric == "logloss"
    with pytest.raises(SchemaError, match="no task 'clik' \\(did you mean 'click'\\?\\)"):
        tuned.task("clik")


def test_written_config_differs_only_in_task_models(tuned: TuneResult, config: Path) -> None:
    elsewhere = config.parent.parent / "elsewhere"
    elsewhere.mkdir()
    out = write_tuned_config(tuned, config, elsewhere / "tuned.toml")
    before = tomllib.loads(config.read_text())
    after = tomllib.loads(out.read_text())
    assert _without_task_models(after) == _without_task_models(before)
    for task, old, t in zip(after["task"], before["task"], tuned.tasks, strict=True):
        assert task.get("model", {}) == {**old.get("model", {}),
                                         **{k: new for k, (_, new) in t.changed().items()}}
    assert after["model"] == before["model"]  # the shared [model] table is untouched
    loaded = load_config(out)
    assert [t.name for t in loaded.tasks] == [t.task for t in tuned.tasks]
    # data paths were rewritten relative to the new location and name the same files
    assert after["data"]["interactions"] == "../data/interactions.parquet"
    for key in ("interactions", "users", "items"):
        assert (out.parent / after["data"][key]).resolve() == \
            (config.parent / before["data"][key]).resolve()
    assert tomllib.loads(config.read_text()) == before  # the original is not touched


def test_the_written_settings_are_the_scored_ones(tuned: TuneResult, config: Path,
                                                  tmp_path: Path) -> None:
    from recsys.data import load_dataset
    from recsys.features import build_features
    from recsys.tasks import task_specs
    from recsys.train import fit_task_model, task_rows

    out = write_tuned_config(tuned, config, tmp_path / "tuned.toml")
    ds = load_dataset(out)
    built = build_features(ds)
    click = task_specs(ds.config)[0]
    model = fit_task_model(click, ds, built, task_rows(ds, built, click))
    logloss = model.evals_result_["validation"]["binary_logloss"][model.best_iteration_ - 1]
    assert logloss == pytest.approx(tuned.task("click").after, rel=1e-9)


def test_same_seed_same_choice(tuned: TuneResult, config: Path) -> None:
    again = tune(config, budget_seconds=600, n_trials=TRIALS, seed=3, tasks=["click"])
    first, second = tuned.task("click"), again.task("click")
    assert second.params == first.params
    assert (second.before, second.after) == (first.before, first.after)


def test_progress_messages_and_fractions(config: Path) -> None:
    seen: list[tuple[str, float]] = []
    tune(config, budget_seconds=600, n_trials=2, tasks=["revenue"],
         progress=lambda m, f: seen.append((m, f)))
    messages = [m for m, _ in seen]
    assert "task revenue: trial 2, best tweedie " in "\n".join(messages)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_unknown_task_and_bad_arguments(config: Path) -> None:
    with pytest.raises(SchemaError, match="task 'clck' is not in the config \\(did you mean "
                                          "'click'\\?\\)"):
        tune(config, budget_seconds=60, tasks=["clck"])
    with pytest.raises(SchemaError, match="budget_seconds must be a positive number"):
        tune(config, budget_seconds=0)
    with pytest.raises(SchemaError, match="n_trials must be at least 1"):
        tune(config, budget_seconds=60, n_trials=0)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h", 3600),
                                               ("600", 600), ("1.5m", 90), (" 2H ", 7200)])
def test_parse_budget(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["abc", "0", "0s", "-5s", "10x", "", "1e400", "m"])
def test_parse_budget_refuses(text: str) -> None:
    with pytest.raises(SchemaError, match="expected a positive duration .* e.g. 90s, 10m, 1h"):
        parse_budget(text)


def test_writing_refuses_the_config_itself_and_other_non_files(tuned: TuneResult, config: Path,
                                                               tmp_path: Path) -> None:
    original = config.read_bytes()
    for same in (config, config.parent / "." / "config.toml"):
        with pytest.raises(OutputError, match="is the config being tuned; write the tuned "
                                              "config to a new file"):
            write_tuned_config(tuned, config, same)
    with pytest.raises(OutputError, match="is a data file of"):
        write_tuned_config(tuned, config, config.parent / "interactions.parquet")
    with pytest.raises(OutputError, match="is a directory"):
        write_tuned_config(tuned, config, tmp_path)
    link = tmp_path / "link.toml"
    link.symlink_to(config)
    with pytest.raises(OutputError, match="is a symbolic link"):
        write_tuned_config(tuned, config, link)
    assert config.read_bytes() == original


def test_writing_refuses_a_config_edited_since_tuning(tuned: TuneResult, config: Path,
                                                      tmp_path: Path) -> None:
    edited = tmp_path / "config.toml"
    edited.write_text(config.read_text().replace("per_user = 100", "per_user = 50"))
    for name in ("interactions.parquet", "users.parquet", "items.parquet"):
        (tmp_path / name).symlink_to(config.parent / name)
    with pytest.raises(SchemaError, match="changed since it was tuned; tune it again"):
        write_tuned_config(tuned, edited, tmp_path / "tuned.toml")
    assert not (tmp_path / "tuned.toml").exists()


def test_cli_out_equal_to_config_exits_2_and_leaves_it(config: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    original = config.read_bytes()
    code, _, err = run(capsys, "tune", "--config", str(config), "--budget", "10s",
                       "--out", str(config.parent / "." / config.name))
    assert code == 2
    assert "is the config being tuned" in err and "Traceback" not in err
    assert config.read_bytes() == original


@pytest.mark.parametrize("budget", ["ten", "0", "5y"])
def test_cli_bad_budget_exits_2(budget: str, config: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tune", "--config", str(config), "--budget", budget,
                       "--out", str(tmp_path / "tuned.toml"))
    assert code == 2
    assert f"error: budget '{budget}': expected a positive duration" in err
    assert not (tmp_path / "tuned.toml").exists()


def test_cli_respects_the_budget_and_prints_the_table(config: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    out = tmp_path / "tuned.toml"
    started = time.perf_counter()
    code, stdout, err = run(capsys, "tune", "--config", str(config), "--budget", "5s",
                            "--out", str(out))
    assert code == 0, err
    assert time.perf_counter() - started < 60  # a behaviour check with a generous margin
    assert "task click: trial 1, best logloss" in err and "s  building shared features" in err
    header = stdout.splitlines()[1]
    assert header.split() == ["task", "metric", "before", "after", "change", "trials",
                              "seconds", "params", "changed"]
    assert f"wrote {out}" in stdout
    load_config(out)


def test_cli_trials_per_task_and_tasks(config: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tuned.toml"
    code, stdout, err = run(capsys, "tune", "--config", str(config), "--budget", "10m",
                            "--tasks", "returned", "--trials-per-task", "2", "--out", str(out))
    assert code == 0, err
    rows = [ln.split() for ln in stdout.splitlines()[3:] if ln and not ln.startswith("wrote")]
    assert [(r[0], r[5]) for r in rows] == [("returned", "2")]


def test_toml_writer_round_trips_awkward_values() -> None:
    data = {"data": {"interactions": 'a "quoted"\\path\n\t\x7f\x01 é.csv', "context": ["x", "y"]},
            "odd key": {"ok": True, "n": -3, "f": 1e-05, "big": 1e16, "empty": []},
            "task": [{"name": "a", "model": {"learning_rate": 0.05}}, {"name": "b"}]}
    assert tomllib.loads(dumps_toml(data)) == data
    with pytest.raises(ValueError, match="not finite"):
        dumps_toml({"model": {"learning_rate": float("nan")}})
    with pytest.raises(TypeError, match="cannot write NoneType"):
        dumps_toml({"model": {"seed": None}})
