"""What-if edits: ``explain.whatif``, ``recsys.features.edit_pair`` and ``recsys whatif``."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from explain import whatif
from recsys.cli import main
from recsys.errors import SchemaError
from recsys.features import edit_pair, editable_attributes
from recsys.project import Project

W = {"purchase": 2.0, "returned": 1.0}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _outsider(project: Project, user_id: str) -> str:
    """An item that is not among the user's candidates."""
    codes, _ = project.candidate_scores(user_id)
    return str(project.item_ids()[np.setdiff1d(np.arange(len(project.item_ids())), codes)[0]])


def _col(project: Project, feature: str) -> int:
    return [s.name for s in project.feature_specs].index(feature)


def test_current_values_change_nothing_bit_for_bit(project: Project, user_id: str) -> None:
    items = [it.item_id for it in project.recommend(user_id, weights=W).items[:3]]
    for item in [*items, _outsider(project, user_id)]:
        plain = whatif(project, user_id, item, changes={}, weights=W)
        same = {a.key: a.value for a in plain.attributes}
        w = whatif(project, user_id, item, changes=same, weights=W)
        assert len(w.changes) == len(plain.attributes) >= 8
        assert all(e.before == e.after and not e.moved for e in w.changes)
        assert w.moved == ()
        assert (w.score_before, w.score_after) == (plain.score_before, plain.score_before)
        assert (w.rank_before, w.rank_after) == (plain.rank_before, plain.rank_before)
        for t in w.tasks:
            assert (t.score_before, t.transformed_before, t.prediction_before) == (
                t.score_after, t.transformed_after, t.prediction_after)
        assert np.array_equal(w.before.values, w.after.values)
        assert not np.any(w.change().values)


def test_before_is_what_recommend_shows(project: Project, user_id: str) -> None:
    ranked = project.recommend(user_id, weights=W, k=10, transform="percentile")
    for it in ranked.items:
        w = whatif(project, user_id, it.item_id, changes={}, weights=W, transform="percentile")
        assert w.candidate and w.rank_before == w.rank_after == it.rank
        assert w.score_before == pytest.approx(it.score, abs=1e-5)
        for t in w.tasks:
            assert t.transformed_before == pytest.approx(it.tasks[t.task], abs=1e-5)
            assert t.prediction_before == pytest.approx(it.predictions[t.task], rel=1e-4,
                                                        abs=1e-7)
    assert w.n_candidates == project.candidate_scores(user_id)[0].size


@pytest.mark.parametrize("changes", [
    {"price": 4.5}, {"segment": "premium", "device": "desktop"},
    {"category": "Books", "quality": 1.0, "discount": 0.5}, {"tenure_days": "12"},
    {"latent_score": 3.0},
])
def test_the_change_is_explained_exactly(project: Project, user_id: str,
                                         changes: dict[str, object]) -> None:
    for it in project.recommend(user_id, weights=W).items[:4:3]:
        w = whatif(project, user_id, it.item_id, changes=changes, weights=W)
        gap = w.score_after - w.score_before
        assert gap != 0
        assert w.change().values.sum() == pytest.approx(gap, rel=1e-9, abs=1e-12)
        assert w.change().total() == pytest.approx(w.score_after, rel=1e-12)
        assert w.before.total() == pytest.approx(w.score_before, rel=1e-12)
        assert w.after.total() == pytest.approx(w.score_after, rel=1e-12)
        assert w.change(changed_only=True).values.sum() == pytest.approx(gap, rel=1e-9)
        shares = sum(t.weight * (t.transformed_after - t.transformed_before) for t in w.tasks)
        assert shares == pytest.approx(gap, rel=1e-9)
        d = json.loads(json.dumps(w.to_dict(), allow_nan=False))
        assert sum(r["change"] for r in d["attribution"]) == pytest.approx(
            d["score"]["change"], rel=1e-9)


def test_rank_moves_with_the_new_score(project: Project, user_id: str) -> None:
    spec = project.spec(W)
    codes, blended = project.candidate_scores(user_id, weights=spec)
    last = project.recommend(user_id, weights=W, k=len(codes)).items[-1]
    w = whatif(project, user_id, last.item_id, changes={"latent_score": 50.0}, weights=W)
    others = np.delete(blended, np.flatnonzero(codes == project.item_code(last.item_id)))
    assert w.rank_before == len(codes)
    assert w.rank_after == int(np.count_nonzero(others >= np.float32(w.score_after))) + 1
    outsider = whatif(project, user_id, _outsider(project, user_id), changes={}, weights=W)
    assert not outsider.candidate and "if it were scored" in outsider.notes[-1]
    assert outsider.rank_before == spec.rank_of(outsider.score_before, blended)


def test_price_moves_price_vs_user_by_the_price_delta(project: Project, user_id: str) -> None:
    store = project.feature_store()
    u = project.user_code(user_id)
    i = project.item_code(project.recommend(user_id).items[0].item_id)
    old = next(a.value for a in editable_attributes(store, u, i) if a.key == "price")
    pair = edit_pair(store, u, i, {"price": old + 7.25})
    (edit,) = pair.edits
    assert (edit.before, edit.after, edit.moved) == (old, old + 7.25, ("item_price_vs_user",))
    j, k = _col(project, "item_price"), _col(project, "item_price_vs_user")
    delta = pair.after[0] - pair.before[0]
    assert delta[j] == pytest.approx(7.25, abs=1e-5)
    assert delta[k] == pytest.approx(7.25, abs=1e-5)
    assert np.flatnonzero(delta).tolist() == sorted([j, k])


def test_an_item_given_another_items_attributes_gets_its_features(project: Project,
                                                                  user_id: str) -> None:
    """Derived features come from the same formulas: item A with every attribute of item B
    has B's attribute, category-affinity and vs-user features exactly."""
    store = project.feature_store()
    u = project.user_code(user_id)
    names = [s.name for s in project.feature_specs]
    cats = {a.value: c for c in range(len(project.item_ids()))
            for a in editable_attributes(store, u, c) if a.key == "category"}
    (a_cat, a), (b_cat, b) = list(cats.items())[:2]
    assert a_cat != b_cat
    attrs_b = {x.key: x.value for x in editable_attributes(store, u, b) if x.owner == "item"}
    pair = edit_pair(store, u, a, attrs_b)
    real = project.pair_features(np.array([u]), np.array([b])).X[0]
    same = [n for n in names if n.startswith(("item_category", "item_brand", "user_category"))
            or n in ("item_price", "item_quality", "item_discount") or n.endswith("_vs_user")]
    assert len(same) == 10
    for n in same:
        assert pair.after[0, names.index(n)] == real[names.index(n)], n
    cat_edit = next(e for e in pair.edits if e.key == "category")
    assert "user_category_affinity" in cat_edit.moved
    kept = [n for n in names if n.startswith(("user_", "latent", "context")) and n not in same]
    for n in kept:
        assert pair.after[0, names.index(n)] == pair.before[0, names.index(n)], n


def test_a_feature_set_alone_says_it_breaks_consistency(project: Project, user_id: str) -> None:
    item = project.recommend(user_id).items[0].item_id
    w = whatif(project, user_id, item, changes={"item_price_vs_user": 0.0})
    (edit,) = w.changes
    assert (edit.owner, edit.after, edit.moved) == ("feature", 0.0, ())
    assert w.moved == ("item_price_vs_user",)
    assert any("breaks consistency" in n for n in w.notes)


@pytest.mark.parametrize(("changes", "message"), [
    ({"prce": 3}, r"unknown attribute or feature 'prce' \(did you mean 'price'\?\); "
                  r"attributes are segment, region, age_band, tenure_days, category, brand, "
                  r"price, quality, discount, device; features are user_segment, .*latent_score"),
    ({"price": "cheap"}, r"^price is numeric: expected a number, got 'cheap'$"),
    ({"segment": "premum"}, r"^segment: unknown level 'premum' \(did you mean 'premium'\?\); "
                            r"levels are bargain, mainstream, premium$"),
    ({"device": 3}, r"^device: unknown level 3; levels are app, desktop, mobile$"),
    ({"price": float("nan")}, r"^price: expected a finite number, got nan$"),
    ({"tenure_days": "-inf"}, r"^tenure_days: expected a finite number, got '-inf'$"),
    ({"price": 1e39}, r"^price: expected a finite number, got 1e\+39$"),
    ({"price": 1, "item_price": 2}, r"^item_price: sets 'item_price' again \(so does price\)"),
])
def test_bad_changes_name_the_allowed_values(project: Project, user_id: str,
                                             changes: dict[str, object], message: str) -> None:
    item = project.recommend(user_id).items[0].item_id
    with pytest.raises(SchemaError, match=message):
        whatif(project, user_id, item, changes=changes)


def test_every_problem_is_reported_one_line_each(project: Project, user_id: str) -> None:
    item = project.recommend(user_id).items[0].item_id
    with pytest.raises(SchemaError) as info:
        whatif(project, user_id, item, changes={"prce": 1, "price": "x", "segment": "y"})
    assert len(info.value.problems) == 3
    assert str(info.value).count("\n") == 2


def test_a_name_of_user_and_item_needs_its_owner(project: Project, user_id: str) -> None:
    store = project.feature_store()
    layout = store.layout
    (_, levels), *rest = layout.user_attrs
    clash = dataclasses.replace(store, layout=dataclasses.replace(
        layout, user_attrs=(("price", levels), *rest)))
    u = project.user_code(user_id)
    i = project.item_code(project.recommend(user_id).items[0].item_id)
    keys = [a.key for a in editable_attributes(clash, u, i)]
    assert "user.price" in keys and "item.price" in keys and "price" not in keys
    with pytest.raises(SchemaError, match=r"^'price' is both a user and an item attribute: "
                                          r"write user\.price or item\.price$"):
        edit_pair(clash, u, i, {"price": 3})
    (edit,) = edit_pair(clash, u, i, {"item.price": 3}).edits
    assert (edit.key, edit.owner, edit.after) == ("item.price", "item", 3.0)
    (edit,) = edit_pair(clash, u, i, {"user.price": levels[0]}).edits
    assert (edit.owner, edit.after) == ("user", levels[0])


def test_cli_json_happy_path(project: Project, project_dir: Path, user_id: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    item = project.recommend(user_id, weights=W).items[1]
    code, out, err = _run(capsys, "whatif", "--artifacts", str(project_dir), "--user", user_id,
                          "--item", item.item_id, "--set", "price=19.9", "--set",
                          "segment=premium", "--weight", "purchase=2", "--weight",
                          "returned=1", "--format", "json")
    assert (code, err) == (0, "")
    d = json.loads(out)
    assert d["rank"]["before"] == 2 and d["score"]["before"] == pytest.approx(item.score, abs=1e-5)
    assert [(c["name"], c["after"]) for c in d["changes"]] == [("price", 19.9),
                                                               ("segment", "premium")]
    assert d["changes"][0]["moved"] == ["item_price_vs_user"]
    assert sum(r["change"] for r in d["attribution"]) == pytest.approx(d["score"]["change"],
                                                                        rel=1e-9)
    assert set(d["tasks"]) == set(project.task_names())
    code, out, _ = _run(capsys, "whatif", "-a", str(project_dir), "-u", user_id, "-i",
                        item.item_id, "-s", "price=19.9", "--top", "3")
    assert code == 0
    assert "price (item): " in out and "-> 19.9; also moves item_price_vs_user" in out
    rank = next(it.rank for it in project.recommend(user_id, k=100).items
                if it.item_id == item.item_id)
    assert re.search(rf"^rank {rank} -> \d+ among \d+ candidates$", out, re.MULTILINE)
    assert "top features of the change" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "prce=1"], "error: unknown attribute or feature 'prce' (did you mean 'price'?)"),
    (["--set", "price=cheap"], "error: price is numeric: expected a number, got 'cheap'"),
    (["--set", "segment=gold"], "error: segment: unknown level 'gold'; levels are bargain, "
                                "mainstream, premium"),
    (["--set", "price"], "error: --set 'price': expected NAME=VALUE, e.g. price=19.9"),
    (["--set", "price=1", "--set", "price=2"], "error: --set price: given twice"),
    (["--weight", "nope=1"], "error: blend weights: unknown task 'nope'"),
])
def test_cli_bad_input_exits_2_with_nothing_on_stdout(
        project: Project, project_dir: Path, user_id: str, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    item = project.recommend(user_id).items[0].item_id
    code, out, err = _run(capsys, "whatif", "-a", str(project_dir), "-u", user_id, "-i", item,
                          *args)
    assert (code, out) == (2, "")
    assert message in err
    code, out, err = _run(capsys, "whatif", "-a", str(project_dir), "-u", "ghost", "-i", item)
    assert (code, out) == (2, "") and "error: unknown user 'ghost'" in err


def test_each_attribute_names_the_feature_that_carries_it(project: Project,
                                                          user_id: str) -> None:
    store = project.feature_store()
    specs = {s.name: s for s in project.feature_specs}
    attrs = editable_attributes(store, project.user_code(user_id), 0)
    assert [(a.owner, a.name) for a in attrs] == [
        ("user", "segment"), ("user", "region"), ("user", "age_band"), ("user", "tenure_days"),
        ("item", "category"), ("item", "brand"), ("item", "price"), ("item", "quality"),
        ("item", "discount"), ("context", "device")]
    for a in attrs:
        spec = specs[a.feature]
        want = f"{a.name} of the visit" if a.owner == "context" else f"{a.owner}'s {a.name}"
        assert (spec.description, spec.categories) == (want, a.levels)
