"""Building reports and choosing users."""

from __future__ import annotations

import math

import pytest

from explain import build_report, users_in_segment
from recsys.errors import BlendError, ExplanationError
from recsys.project import Project


def test_report_holds_every_users_explained_top_k(project: Project) -> None:
    users = [str(u) for u in project.user_ids()[:3]]
    rep = build_report(project, users + users[:1], weights={"revenue": 2.0}, transform="minmax", k=4)
    assert [u.user_id for u in rep.users] == users
    for section in rep.users:
        ranked = project.recommend(section.user_id, weights={"revenue": 2.0}, k=4, transform="minmax")
        assert [e.item_id for e in section.items] == [it.item_id for it in ranked.items]
        assert [e.rank for e in section.items] == list(range(1, len(ranked.items) + 1))
        for e, it in zip(section.items, ranked.items, strict=True):
            assert e.score == pytest.approx(it.score, abs=1e-5)
            assert e.attribution.total() == pytest.approx(e.score, abs=1e-9)
        assert section.attributes["segment"] in {"bargain", "mainstream", "premium"}
    prov = rep.provenance
    assert prov.weights["revenue"] == 2.0 and prov.transform == "minmax" and prov.k == 4
    assert prov.data_fingerprint == project.manifest["data_fingerprint"]
    assert prov.model_files == {p: h for p, h in project.manifest["files"].items()
                                if p.startswith("models/")}
    assert len(prov.model_files) == 4
    assert rep.metrics == project.evaluate({"revenue": 2.0}, transform="minmax", k=4).to_dict()
    assert rep.health == project.health()
    d = rep.to_dict()
    assert set(d) == {"title", "selection", "provenance", "tasks", "metrics", "health", "users",
                      "partial_dependence", "segment"}
    assert d["segment"] is None and rep.segment is None  # users, not a segment
    assert all(v is None or math.isfinite(v) for v in _numbers(d))
    assert {r["metric"] for r in d["health"]["reports"] if r["task"] == "click"} == {
        "auc", "log_loss", "ndcg@4", "gauc"} - {"ndcg@4"} | {"ndcg@10"}
    assert [w["code"] for w in d["health"]["warnings"]] == [w.code for w in rep.health.warnings]


def _numbers(obj: object) -> list[float]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return [obj] if isinstance(obj, float) else []


def test_report_errors(project: Project) -> None:
    with pytest.raises(ExplanationError, match="no users given"):
        build_report(project, [])
    with pytest.raises(ExplanationError, match=r"unknown user 'ghost' \(and 1 more\)"):
        build_report(project, ["ghost", "spook"])
    with pytest.raises(BlendError, match="unknown transform 'log'"):
        build_report(project, [str(project.user_ids()[0])], transform="log")
    with pytest.raises(BlendError, match="K must be a whole number >= 1, got 0"):
        build_report(project, [str(project.user_ids()[0])], k=0)


def test_users_in_segment(project: Project) -> None:
    users = project.user_table()
    premium = users_in_segment(project, "segment", "premium")
    expect = sorted(users.loc[users["segment"] == "premium", "user_id"].astype(str))
    assert premium == expect
    some = users_in_segment(project, "segment", "premium", n=5, random_state=1)
    assert len(some) == 5 and set(some) <= set(premium) and some == sorted(some)
    assert some == users_in_segment(project, "segment", "premium", n=5, random_state=1)
    tenure = float(users["tenure_days"].iloc[0])
    assert str(users["user_id"].iloc[0]) in users_in_segment(project, "tenure_days", tenure)
    with pytest.raises(ExplanationError, match="unknown user column 'tier'; columns are segment"):
        users_in_segment(project, "tier", "gold")
    with pytest.raises(ExplanationError, match="no user has segment = 'vip'; values look like"):
        users_in_segment(project, "segment", "vip")
    with pytest.raises(ExplanationError, match="column 'tenure_days' is numeric, got 'long'"):
        users_in_segment(project, "tenure_days", "long")
