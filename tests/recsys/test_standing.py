"""Where any catalogue item stands for a user: candidate or not, score, rank, and the rule
that keeps it out of the list ("why not this item?")."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from explain import explain_item
from recsys.artifacts import save_project
from recsys.candidates import SEEN, SOURCES, exclusion_label
from recsys.errors import SchemaError
from recsys.project import Project
from recsys.projectlog import Flag, FlagSet
from recsys.standing import item_standing

BLENDS = [{}, {"weights": {"returned": 2.0, "click": 0.3}, "transform": "percentile"}]
"""The config's blend, and another one (weights and transform)."""


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The small demo dataset trained with 12 candidates per user (of 80 items), so the
    sources leave items out (in the small project every item not bought is a candidate)."""
    from recsys.demo import write_demo
    from recsys.train import train

    config = write_demo(tmp_path_factory.mktemp("narrow-data"), n_users=300, n_items=80,
                        n_exposures=20_000, seed=11)  # tests/conftest.py SMALL
    config.write_text(config.read_text().replace("per_user = 100", "per_user = 12"))
    return Project.load(save_project(train(config), tmp_path_factory.mktemp("narrow") / "demo"))


@pytest.fixture(scope="module")
def user(small_project: Project) -> str:
    """A user with a full candidate list and a full top-10."""
    cand = small_project.candidates()
    for r, uid in enumerate(small_project.user_ids()):
        if (cand[r] >= 0).all() and len(small_project.recommend(uid, k=10).items) == 10:
            return str(uid)
    raise AssertionError("no user with a full candidate list in the test project")


def _non_candidates(project: Project, user: str) -> list[str]:
    """Items the sources did not propose to ``user`` (and the user never bought)."""
    cand = set(project.candidates()[project.user_code(user)].tolist())
    hist = project.user_history(user, n=10_000)
    bought = set(hist.loc[hist["revenue"] > 0, "item_id"].astype(str))
    return [str(i) for c, i in enumerate(project.item_ids()) if c not in cand and i not in bought]


def _bought(project: Project, label: str) -> tuple[str, str, int]:
    """(user, item, times) of a pre-test positive on ``label``."""
    for uid in project.user_ids():
        hist = project.user_history(uid, n=10_000)
        pos = hist[hist[label] > 0]
        if not pos.empty:
            item = str(pos["item_id"].iloc[0])
            return str(uid), item, int((pos["item_id"] == item).sum())
    raise AssertionError(f"nobody has a '{label}' positive before the test window")


@pytest.mark.parametrize("blend", BLENDS, ids=["config", "reweighted"])
def test_a_candidate_stands_where_recommend_lists_it(small_project: Project, user: str,
                                                     blend: dict) -> None:
    n = int((small_project.candidates()[small_project.user_code(user)] >= 0).sum())
    ranked = small_project.recommend(user, k=n, **blend)
    assert len(ranked.items) == n
    slots = small_project.candidates()[small_project.user_code(user)]
    sources = small_project.candidate_sources()[small_project.user_code(user)]
    for it in ranked.items:
        s = small_project.standing(user, it.item_id, k=10, **blend)
        assert (s.candidate, s.rank, s.exclusions) == (True, it.rank, ())
        assert s.score == pytest.approx(it.score, rel=1e-6, abs=1e-6)
        code = small_project.item_code(it.item_id)
        assert s.source == SOURCES[int(sources[slots == code][0])]
        assert (s.in_top_k, s.listed) == (it.rank <= 10, it.rank <= 10)
        assert s.n_candidates == n - 1 and s.title == it.title


@pytest.mark.parametrize("blend", BLENDS, ids=["config", "reweighted"])
def test_a_non_candidate_is_scored_live_and_ranked_against_the_candidates(
        narrow: Project, blend: dict) -> None:
    user = str(narrow.user_ids()[7])
    spec = narrow.spec(blend.get("weights"), transform=blend.get("transform"))
    cand_scores = narrow.candidate_scores(user, weights=spec)[1]
    assert cand_scores.size == 12
    ranks = []
    for item in _non_candidates(narrow, user)[::6]:
        s = narrow.standing(user, item, **blend)
        assert not s.candidate and s.source is None and math.isfinite(s.score)
        # the SHAP explanation of the same pair sums to the same live score
        e = explain_item(narrow, user, item, weights=spec)
        assert s.score == pytest.approx(e.score, rel=1e-5, abs=1e-5)
        assert 1 <= s.rank <= cand_scores.size + 1 and s.n_candidates == cand_scores.size
        above = np.sort(cand_scores)[::-1][: s.rank - 1]
        assert (above >= s.score).all()  # every candidate ranked above scores at least as much
        assert (cand_scores[cand_scores < s.score].size == cand_scores.size - s.rank + 1)
        assert s.in_top_k == (s.rank <= spec.k) and not s.listed
        ranks.append(s.rank)
    assert len(set(ranks)) > 2 and min(ranks) <= spec.k  # some would make the top-K


def test_an_item_not_proposed_says_so(narrow: Project) -> None:
    user = str(narrow.user_ids()[3])
    s = narrow.standing(user, _non_candidates(narrow, user)[0])
    assert [e.rule for e in s.exclusions] == ["not_proposed"]
    assert s.reasons() == ["No candidate source proposed this item: all 12 candidate slots "
                           "went to items the sources ranked higher."]


def test_an_item_already_bought_is_excluded_by_that_rule(small_project: Project) -> None:
    label = exclusion_label(small_project.manifest["config"]["candidates"]["exclude"],
                            small_project.tasks)
    assert label == "revenue"  # unset in the config: the last conditional task's label
    uid, item, times = _bought(small_project, label)
    s = small_project.standing(uid, item)
    assert not s.candidate and not s.listed
    assert [e.rule for e in s.exclusions] == ["history"]  # explained: not "not proposed"
    reason = s.reasons()[0]
    assert reason.startswith(f"The user already had a positive '{label}' on this item before "
                             "the test window (")
    assert ("once" if times == 1 else f"{times} times") in reason
    assert reason.endswith(f"items with an earlier '{label}' positive are never proposed again.")


def test_flags_keep_items_out(small_artifacts: Path, tmp_path: Path, user: str) -> None:
    shutil.copytree(small_artifacts, tmp_path / "demo")  # the flags go to the copy's log
    project = Project.load(tmp_path / "demo")
    top = project.recommend(user, k=3).items
    project.log().add_flag(top[0].item_id, "bad", user_id=user, note="wrong size")
    flagged = project.standing(user, top[0].item_id)
    assert flagged.candidate and flagged.rank == 1 and not flagged.listed
    assert [e.rule for e in flagged.exclusions] == ["flag"]
    assert flagged.reasons()[0].startswith("Flagged 'bad' for this user on ")
    assert '(note: "wrong size")' in flagged.reasons()[0]
    # the list closes up: the next item takes the flagged one's place, as recommend lists it
    shown = project.recommend(user, k=3, exclude_items=project.log().flags().excluded_for(user))
    assert shown.items[0].item_id == top[1].item_id
    nxt = project.standing(user, top[1].item_id)
    assert (nxt.rank, nxt.listed) == (1, True)
    assert project.standing(project.user_ids()[0], top[0].item_id).exclusions == ()


def test_a_flag_after_training_does_not_explain_a_missing_candidate(narrow: Project) -> None:
    user = str(narrow.user_ids()[3])
    item = _non_candidates(narrow, user)[0]
    new = Flag(id=1, created_at="2999-01-01T00:00:00+00:00", user_id=None, item_id=item,
               kind="irrelevant")
    s = item_standing(narrow, user, item, narrow.spec(), flags=FlagSet((new,)))
    assert [e.rule for e in s.exclusions] == ["flag", "not_proposed"]
    assert s.reasons()[0].startswith("Flagged 'irrelevant' for every user on 2999-01-01: ")


def test_a_flag_set_before_training_explains_a_missing_candidate(narrow: Project) -> None:
    user = str(narrow.user_ids()[3])
    item = _non_candidates(narrow, user)[0]
    old = Flag(id=1, created_at="2000-01-02T03:04:05+00:00", user_id=user, item_id=item,
               kind="irrelevant")
    s = item_standing(narrow, user, item, narrow.spec(), flags=FlagSet((old,)))
    assert s.reasons() == ["Flagged 'irrelevant' for this user on 2000-01-02: flagged items "
                           "are kept out of the lists and out of the next training's "
                           "candidates."]


def test_to_dict_is_json(narrow: Project) -> None:
    user = str(narrow.user_ids()[3])
    item = _non_candidates(narrow, user)[0]
    d = json.loads(json.dumps(narrow.standing(user, item).to_dict()))
    assert d["item_id"] == item and d["candidate"] is False and d["source"] is None
    assert d["excluded_by"][0]["rule"] == "not_proposed"
    assert {"score", "rank", "k", "in_top_k", "listed", "n_candidates"} <= set(d)


def test_unknown_ids_are_schema_errors(small_project: Project, user: str) -> None:
    with pytest.raises(SchemaError, match=r"unknown item 'nope'; item ids look like i\d+"):
        small_project.standing(user, "nope")
    with pytest.raises(SchemaError, match=r"unknown user 'ghost'; user ids look like u\d+"):
        small_project.standing("ghost", "i0001")


def test_exclusion_label_is_derived_in_one_place() -> None:
    tasks = [SimpleNamespace(label="click", given=None), SimpleNamespace(label="buy", given="click"),
             SimpleNamespace(label="rev", given="click"), SimpleNamespace(label="ret", given=None)]
    assert exclusion_label(None, tasks) == "rev"
    assert exclusion_label("buy", tasks) == "buy"
    assert exclusion_label(SEEN, tasks) == "seen"
    assert exclusion_label(None, tasks[:1]) is None
