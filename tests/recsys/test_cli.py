"""The `recsys` command line end to end on a small generated dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_train_recommend_evaluate_sweep(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data, art = tmp_path / "data", tmp_path / "art"
    code, out, _ = run(capsys, "demo-data", "--out", str(data), "--users", "200", "--items",
                       "60", "--exposures", "12000", "--seed", "3")
    assert code == 0 and (data / "config.toml").is_file()
    code, out, err = run(capsys, "train", "--config", str(data / "config.toml"), "--out", str(art))
    assert code == 0, err
    assert "training model 'click'" in err and "candidate recall" in out
    table, _, rest = out.partition("\n\n")
    assert "baseline" in table and "lift 95% CI" in table and "positives" in table
    assert rest.startswith(("warning: [", "no health warnings"))
    assert (art / "manifest.json").is_file() and (art / "models" / "purchase.txt").is_file()

    code, out, _ = run(capsys, "recommend", "--artifacts", str(art), "--user", "u00001",
                       "--k", "5", "--weight", "purchase=3", "--format", "json")
    assert code == 0
    recs = json.loads(out)
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
    assert set(recs[0]) >= {"rank", "item_id", "title", "score", "tasks"}
    assert set(recs[0]["tasks"]) == {"click", "purchase", "revenue", "returned"}
    assert recs[0]["score"] >= recs[-1]["score"]

    code, out, _ = run(capsys, "recommend", "--artifacts", str(art), "--user", "u00001",
                       "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("rank,item_id,title,score")

    code, out, _ = run(capsys, "evaluate", "--artifacts", str(art), "--format", "json")
    ev = json.loads(out)
    assert code == 0
    assert set(ev) >= {"tasks", "ranking", "coverage", "diversity", "novelty"}
    assert "auc" in ev["tasks"]["click"] and "rmse" in ev["tasks"]["revenue"]
    assert set(ev["ranking"]["click"]) >= {"ndcg@10", "recall@10", "mrr"}

    code, out, _ = run(capsys, "sweep", "--artifacts", str(art), "--steps", "3",
                       "--format", "json", "--all")
    sw = json.loads(out)
    assert code == 0 and len(sw["points"]) == sw["n_points"] == 10  # C(2 + 3, 3)
    assert any(p["pareto"] for p in sw["points"])
    code, out, _ = run(capsys, "sweep", "--artifacts", str(art), "--steps", "3",
                       "--format", "json")
    front = json.loads(out)
    assert code == 0 and all(p["pareto"] for p in front["points"])
    assert len(front["points"]) == front["n_pareto"] == sum(p["pareto"] for p in sw["points"])

    code, out, _ = run(capsys, "evaluate", "--artifacts", str(art))
    assert code == 0 and "blended ranking" in out


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    run(capsys, "demo-data", "--out", str(data), "--users", "50", "--items", "20",
        "--exposures", "2000")
    cfg = data / "config.toml"
    cfg.write_text(cfg.read_text().replace("per_user = 100", "per_usr = 100"))
    code, out, err = run(capsys, "train", "--config", str(cfg), "--out", str(tmp_path / "art"))
    assert code == 2
    assert "unknown key 'candidates.per_usr' (did you mean 'per_user'?)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "art").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_bad_weight_and_unknown_user_exit_2(small_artifacts: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recommend", "--artifacts", str(small_artifacts), "--user",
                       "u00001", "--weight", "click")
    assert code == 2 and "expected TASK=NUMBER" in err
    code, _, err = run(capsys, "recommend", "--artifacts", str(small_artifacts), "--user",
                       "ghost")
    assert code == 2 and "unknown user 'ghost'" in err
    code, _, err = run(capsys, "evaluate", "--artifacts", str(small_artifacts), "--weight",
                       "clikc=1")
    assert code == 2 and "did you mean 'click'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "recommend")
    assert code == 2


def test_missing_artifacts_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", "--artifacts", str(tmp_path / "nope"))
    assert code == 2 and "not a Blendscope project" in err


def _strict_json(text: str) -> dict:  # type: ignore[type-arg]
    def refuse(name: str) -> None:
        raise ValueError(f"bare {name} in JSON output")
    return json.loads(text, parse_constant=refuse)  # type: ignore[no-any-return]


def test_evaluate_json_is_strict_with_ci_and_baselines(small_artifacts: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "evaluate", "--artifacts", str(small_artifacts), "--format",
                         "json")
    assert code == 0, err
    ev = _strict_json(out)
    click = ev["tasks"]["click"]
    lo, hi = click["ci"]["auc"]
    assert lo <= click["auc"] <= hi
    assert click["baseline"]["auc"]["name"] == "item"
    assert set(click["baseline"]["auc"]) == {"name", "value", "lift", "lift_ci"}
    assert ev["ranking"]["revenue"]["mrr"] is None and ev["ranking"]["revenue"]["mrr_reason"]
    assert set(ev["ranking"]["click"]["ci"]) == {"ndcg@10", "recall@10", "mrr", "gauc"}
    assert ev["ranking"]["click"]["baseline"]["gauc"]["name"] in ("item", "random")
    code, out, _ = run(capsys, "evaluate", "--artifacts", str(small_artifacts))
    assert code == 0 and "n/a" in out and "mrr is defined for binary tasks" in out


def test_health_command_table_and_json(small_artifacts: Path, small_project,  # noqa: ANN001
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "health", "--artifacts", str(small_artifacts))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["task", "metric", "value", "95%"]
    health = small_project.health()
    assert sum(ln.startswith(("click ", "purchase ", "revenue ", "returned "))
               for ln in lines) == len(health.reports)
    assert [ln for ln in lines if ln.startswith("warning: ")] == [w.line()
                                                                  for w in health.warnings]
    code, out, _ = run(capsys, "health", "--artifacts", str(small_artifacts), "--format", "json")
    d = _strict_json(out)
    assert code == 0 and set(d) == {"k", "n_bootstrap", "confidence", "seed", "reports",
                                    "warnings"}
    assert {(r["task"], r["metric"]) for r in d["reports"]} >= {("click", "auc"),
                                                                ("revenue", "rmse")}
    assert all(set(w) == {"code", "task", "message", "figures"} for w in d["warnings"])
    code, out, _ = run(capsys, "health", "--artifacts", str(small_artifacts), "--format", "json",
                       "--curves")
    assert set(_strict_json(out)["learning_curves"]) == {"click", "purchase", "revenue",
                                                         "returned"}
