"""Tests for ``recsys.adapters``: MovieLens and event-log importers.

Fixtures are tiny files in the real public layouts, built in code under ``tmp_path``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.adapters import GENERATED_HEADER, import_events, import_movielens
from recsys.config import load_config
from recsys.errors import OutputError, SchemaError


def _flags(*genres: int) -> str:
    """The 19 pipe-separated 0/1 genre flags of a u.item line."""
    return "|".join("1" if i in genres else "0" for i in range(19))


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def make_ml100k(root: Path) -> Path:
    """Write a 3-user, 3-item MovieLens 100K layout (tab/pipe separated, latin-1)."""
    _write(
        root / "u.data",
        "1\t10\t5\t874965758\n1\t20\t3\t874965800\n2\t10\t4\t876893171\n"
        "2\t30\t1\t878542960\n3\t20\t4\t886397596\n",
    )
    _write(root / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n3|17|M|student|32067\n")
    _write(
        root / "u.item",
        f"10|Toy Story (1995)|01-Jan-1995||http://x/toy|{_flags(1, 5)}\n"
        f"20|Café Society|01-Jan-1997||http://x/cafe|{_flags(8)}\n"
        f"30|unknown|||http://x/unk|{_flags()}\n",
        encoding="latin-1",
    )
    return root


def make_ml1m(root: Path) -> Path:
    """Write a 2-user, 2-item MovieLens 1M layout (``::`` separated, latin-1)."""
    _write(
        root / "ratings.dat",
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n",
    )
    _write(root / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    _write(
        root / "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::Amélie: Le Fabuleux Destin (2001)::Comedy|Romance\n",
        encoding="latin-1",
    )
    return root


EVENTS_UNIX = (
    "user_id,item_id,behavior,timestamp\n"
    "u1,i1,pv,1511544070\n"
    "u1,i1,cart,1511544100\n"
    "u1,i1,buy,1511544200\n"
    "u1,i2,pv,1511540000\n"
    "u2,i1,fav,1511530000\n"
    "u2,i1,pv,1511531000\n"
    "u2,i3,pv,1511550000\n"
)


def _events_frame() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(EVENTS_UNIX), dtype={"user_id": str})


# ---------------------------------------------------------------- MovieLens


def test_movielens_100k_tables_and_config(tmp_path: Path) -> None:
    config_path = import_movielens(make_ml100k(tmp_path / "ml"), tmp_path / "out")
    out = config_path.parent
    inter = pd.read_parquet(out / "interactions.parquet")
    assert len(inter) == 5
    assert list(inter.columns) == ["user_id", "item_id", "timestamp", "rating", "like"]
    assert str(inter["timestamp"].dtype) == "datetime64[ns]"
    assert inter["timestamp"].iloc[0] == pd.Timestamp("1997-09-22 22:02:38")
    assert inter["user_id"].tolist()[:3] == ["1", "1", "2"]
    assert inter["rating"].tolist() == [5.0, 3.0, 4.0, 1.0, 4.0]
    assert inter["like"].tolist() == [1, 0, 1, 0, 1]
    assert inter["like"].dtype == np.int64
    items = pd.read_parquet(out / "items.parquet").set_index("item_id")
    assert items.loc["20", "title"] == "Café Society"
    assert items["genre"].to_dict() == {"10": "Action", "20": "Drama", "30": "unknown"}
    assert items["n_genres"].tolist() == [2, 1, 0]
    assert items.loc["10", "year"] == 1995 and items.loc["20", "year"] == 1997
    assert pd.isna(items.loc["30", "year"])
    users = pd.read_parquet(out / "users.parquet").set_index("user_id")
    assert users["age_band"].to_dict() == {"1": "18-24", "2": "50-55", "3": "under 18"}
    assert users.loc["2", "gender"] == "F" and users.loc["3", "occupation"] == "student"
    config = load_config(config_path)
    assert [(t.name, t.label, t.kind, t.weight) for t in config.tasks] == [
        ("rating", "rating", "regression", 1.0),
        ("like", "like", "binary", 1.0),
    ]
    assert all(t.given is None for t in config.tasks)
    assert (config.data.item_title, config.data.item_category) == ("title", "genre")
    assert (config.data.users, config.data.context) == ("users.parquet", [])
    assert (config.candidates.per_user, config.model.seed) == (100, 7)


def test_movielens_1m_tables(tmp_path: Path) -> None:
    config_path = import_movielens(make_ml1m(tmp_path / "ml"), tmp_path / "out")
    out = config_path.parent
    inter = pd.read_parquet(out / "interactions.parquet")
    pairs = inter[["user_id", "item_id"]].values.tolist()
    assert pairs == [["2", "1193"], ["1", "1193"], ["1", "661"]]  # sorted by time
    assert inter["like"].tolist() == [1, 1, 0]
    assert inter["timestamp"].iloc[0] == pd.Timestamp(978298413, unit="s")
    items = pd.read_parquet(out / "items.parquet").set_index("item_id")
    assert items.loc["661", "title"] == "Amélie: Le Fabuleux Destin (2001)"
    assert items["genre"].to_dict() == {"1193": "Drama", "661": "Comedy"}
    assert items["n_genres"].to_dict() == {"1193": 1, "661": 2}
    assert items["year"].to_dict() == {"1193": 1975, "661": 2001}
    users = pd.read_parquet(out / "users.parquet").set_index("user_id")
    assert users["age_band"].to_dict() == {"1": "under 18", "2": "56+"}
    assert users["occupation"].to_dict() == {"1": "K-12 student", "2": "self-employed"}
    assert [t.name for t in load_config(config_path).tasks] == ["rating", "like"]


def test_movielens_accepts_parent_of_unpacked_archive(tmp_path: Path) -> None:
    make_ml100k(tmp_path / "downloads" / "ml-100k")
    config_path = import_movielens(tmp_path / "downloads", tmp_path / "out")
    assert len(pd.read_parquet(config_path.parent / "interactions.parquet")) == 5


def test_movielens_unknown_layout_names_expected_files(tmp_path: Path) -> None:
    _write(tmp_path / "src" / "readme.txt", "hello")
    with pytest.raises(SchemaError, match=r"src: no MovieLens layout found; expected u\.data"):
        import_movielens(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_movielens_partial_layout_names_missing_file(tmp_path: Path) -> None:
    src = make_ml1m(tmp_path / "ml")
    (src / "movies.dat").unlink()
    with pytest.raises(SchemaError, match=r"looks like MovieLens 1M .* movies\.dat is missing"):
        import_movielens(src, tmp_path / "out")


def test_movielens_bad_values_name_file_column_and_lines(tmp_path: Path) -> None:
    src = make_ml100k(tmp_path / "ml")
    _write(src / "u.data", "1\t10\t5\t874965758\n1\t20\tfive\t874965800\n2\t10\t4\tsoon\n")
    with pytest.raises(SchemaError) as info:
        import_movielens(src, tmp_path / "out")
    assert info.value.problems == [
        "u.data: column 'rating': 1 value(s) are not numbers, e.g. line 2 'five'",
        "u.data: column 'timestamp': 1 value(s) are not numbers, e.g. line 3 'soon'",
    ]
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ml"]


def test_movielens_too_many_fields(tmp_path: Path) -> None:
    src = make_ml1m(tmp_path / "ml")
    _write(src / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109::9\n")
    with pytest.raises(SchemaError, match=r"ratings\.dat: cannot split into 4 fields.*line 2"):
        import_movielens(src, tmp_path / "out")


# ---------------------------------------------------------------- events


def test_events_csv_unix_seconds(tmp_path: Path) -> None:
    log = _write(tmp_path / "events.csv", EVENTS_UNIX)
    config_path = import_events(log, tmp_path / "out")
    inter = pd.read_parquet(config_path.parent / "interactions.parquet")
    assert list(inter.columns) == ["user_id", "item_id", "timestamp", "buy", "cart", "fav"]
    assert str(inter["timestamp"].dtype) == "datetime64[ns]"
    assert inter["timestamp"].is_monotonic_increasing
    rows = inter.set_index(["user_id", "item_id"])
    assert rows.loc[("u1", "i1"), "timestamp"] == pd.Timestamp(1511544070, unit="s")
    assert rows.loc[("u2", "i1"), "timestamp"] == pd.Timestamp(1511530000, unit="s")
    assert rows[["buy", "cart", "fav"]].to_dict("index") == {
        ("u2", "i1"): {"buy": 0, "cart": 0, "fav": 1},
        ("u1", "i2"): {"buy": 0, "cart": 0, "fav": 0},
        ("u1", "i1"): {"buy": 1, "cart": 1, "fav": 0},
        ("u2", "i3"): {"buy": 0, "cart": 0, "fav": 0},
    }
    assert inter["buy"].dtype == np.int64
    config = load_config(config_path)
    assert [(t.name, t.label, t.kind, t.weight, t.given) for t in config.tasks] == [
        ("buy", "buy", "binary", 1.0, None),
        ("cart", "cart", "binary", 1.0, None),
        ("fav", "fav", "binary", 1.0, None),
    ]
    assert (config.data.users, config.data.items, config.data.item_category) == (None, None, None)
    assert sorted(p.name for p in config_path.parent.iterdir()) == [
        "config.toml",
        "interactions.parquet",
    ]


def test_events_iso_strings_behaviour_alias_and_label_names(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "log.csv",
        "User_ID,item_id,Behaviour,timestamp\n"
        "7,007,PV,2017-11-25T08:00:00+08:00\n"
        "7,007,Add-To-Cart,2017-11-25 01:30:00\n"
        "8,007,click,2017-11-26T00:00:00Z\n",
    )
    inter = pd.read_parquet(import_events(log, tmp_path / "out").parent / "interactions.parquet")
    assert inter["user_id"].tolist() == ["7", "8"]
    assert inter["item_id"].tolist() == ["007", "007"]
    assert inter["timestamp"].tolist() == [
        pd.Timestamp("2017-11-25 00:00"),
        pd.Timestamp("2017-11-26"),
    ]
    assert inter["add_to_cart"].tolist() == [1, 0]


def test_events_parquet_with_integer_ids(tmp_path: Path) -> None:
    frame = _events_frame()
    frame["user_id"] = frame["user_id"].str[1:].astype("int64")
    instant = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    frame["timestamp"] = instant.dt.tz_convert("Asia/Shanghai")
    frame.to_parquet(tmp_path / "events.parquet")
    inter = pd.read_parquet(
        import_events(tmp_path / "events.parquet", tmp_path / "out").parent / "interactions.parquet"
    )
    assert len(inter) == 4
    assert set(inter["user_id"]) == {"1", "2"}
    first = inter.set_index(["user_id", "item_id"]).loc[("2", "i1"), "timestamp"]
    assert first == pd.Timestamp(1511530000, unit="s")


def test_events_match_a_naive_groupby(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 5_000
    events = pd.DataFrame({
        "user_id": rng.integers(0, 50, n).astype(str),
        "item_id": rng.integers(0, 80, n).astype(str),
        "behavior": rng.choice(["pv", "pv", "pv", "cart", "fav", "buy"], n),
        "timestamp": rng.integers(1_500_000_000, 1_510_000_000, n),
    })  # fmt: skip
    events.to_csv(tmp_path / "events.csv", index=False)
    got = pd.read_parquet(
        import_events(tmp_path / "events.csv", tmp_path / "out").parent / "interactions.parquet"
    )
    got = got.set_index(["user_id", "item_id"]).sort_index()
    pairs = events.groupby(["user_id", "item_id"])
    assert len(got) == pairs.ngroups
    expected_time = pd.to_datetime(pairs["timestamp"].min(), unit="s").astype("datetime64[ns]")
    assert (got["timestamp"] == expected_time.sort_index()).all()
    for label in ("buy", "cart", "fav"):
        had = (events["behavior"] == label).groupby([events["user_id"], events["item_id"]]).any()
        assert (got[label] == had.sort_index().astype("int64")).all()


# ---------------------------------------------------------------- event errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"events\.csv: file is empty"),
        (
            "user_id,item_id,behavior,timestamp\n",
            r"events\.csv: no events; the file has a header but no rows",
        ),
        (
            "userid,item_id,action,timestamp\nu1,i1,pv,1\n",
            r"events\.csv: missing column 'user_id' \(did you mean 'userid'\?\)",
        ),
        (
            "userid,item_id,action,timestamp\nu1,i1,pv,1\n",
            r"missing column 'behavior'; found 'userid', 'item_id'",
        ),
        (
            "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n",
            r"events\.csv: no column is named user_id, .* \(found '1', '2268318', .*prepend user_id,",
        ),
        (
            "user_id,item_id,behavior,timestamp\nu1,i1,pv,1511544070\nu1,i2,buy,yesterday\n"
            "u2,i1,buy,2017-13-45\n",
            r"events\.csv: column 'timestamp': 2 value\(s\) are neither unix seconds nor "
            r"ISO-8601 .* e\.g\. line 3 'yesterday', line 4 '2017-13-45'",
        ),
        (
            "user_id,item_id,behavior,timestamp\nu1,i1,pv,1511544070000\nu1,i2,buy,1511544070\n",
            r"column 'timestamp': 1 value\(s\) are too large for unix seconds .* line 2 1511544070000",
        ),
        (
            "user_id,item_id,behavior,timestamp\nu1,i1,pv,1\nu1,i2,view,2\nu2,i2,click,3\n",
            r"events\.csv: column 'behavior': 3 value\(s\) are views .* line 2 'pv', line 3 'view'",
        ),
        (
            "user_id,item_id,behavior,timestamp\nu1,,pv,1\nu1,i2,buy,\n",
            r"(?s)events\.csv: column 'item_id': 1 value\(s\) are empty, e\.g\. line 2 ''"
            r".*column 'timestamp': 1 value\(s\) are empty, e\.g\. line 3 \(empty\)",
        ),
    ],
)
def test_events_errors(tmp_path: Path, text: str, message: str) -> None:
    log = _write(tmp_path / "events.csv", text)
    with pytest.raises(SchemaError, match=message):
        import_events(log, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]


def test_events_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.csv: event log not found"):
        import_events(tmp_path / "nope.csv", tmp_path / "out")
    log = _write(tmp_path / "events.json", "{}")
    with pytest.raises(SchemaError, match=r"events\.json: unknown file type; expected \.csv"):
        import_events(log, tmp_path / "out")


def test_events_parquet_errors_count_rows_from_one(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2"],
            "item_id": ["i1", "i2", "i1"],
            "behaviour": ["pv", "buy", "buy"],
            "timestamp": ["2017-11-25T08:00:00", "later", None],
        }
    )
    frame.to_parquet(tmp_path / "events.parquet")
    with pytest.raises(SchemaError) as info:
        import_events(tmp_path / "events.parquet", tmp_path / "out")
    assert info.value.problems == [
        "events.parquet: column 'timestamp': 1 value(s) are empty, e.g. row 3 (empty)",
        "events.parquet: column 'timestamp': 1 value(s) are neither unix seconds nor "
        "ISO-8601 times such as 2017-11-25T08:00:00, e.g. row 2 'later'",
    ]


def test_failed_write_leaves_previous_import_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    import_movielens(make_ml100k(tmp_path / "ml"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail)
    with pytest.raises(OSError, match="disk full"):
        import_events(_write(tmp_path / "events.csv", EVENTS_UNIX), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "ml", "out"]


# ---------------------------------------------------------------- output directory


def test_reimport_replaces_a_previous_import(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_movielens(make_ml100k(tmp_path / "ml"), out)
    assert (out / "config.toml").read_text(encoding="utf-8").startswith(GENERATED_HEADER)
    log = _write(tmp_path / "events.csv", EVENTS_UNIX)
    import_events(log, out)
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "interactions.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "ml", "out"]


def test_empty_out_dir_is_used(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    import_events(_write(tmp_path / "events.csv", EVENTS_UNIX), tmp_path / "out")
    assert (tmp_path / "out" / "interactions.parquet").is_file()


def test_foreign_out_dir_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out / "config.toml", '[data]\ninteractions = "mine.csv"\n')
    log = _write(tmp_path / "events.csv", EVENTS_UNIX)
    with pytest.raises(
        OutputError, match=r"out: directory is not empty and is not a previous Blendscope import"
    ):
        import_events(log, out)
    assert [p.name for p in out.iterdir()] == ["config.toml"]


def test_previous_import_with_extra_files_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_events(_write(tmp_path / "events.csv", EVENTS_UNIX), out)
    _write(out / "notes.md", "keep me")
    with pytest.raises(OutputError, match=r"holds config\.toml, interactions\.parquet, notes\.md"):
        import_events(tmp_path / "events.csv", out)


def test_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = _write(tmp_path / "out", "x")
    with pytest.raises(OutputError, match=r"out: exists and is not a directory"):
        import_movielens(make_ml100k(tmp_path / "ml"), out)


# -- attributes kept, unused columns reported ---------------------------------------------------
TAOBAO_LIKE = (
    "user_id,item_id,category_id,behavior,timestamp,device,age\n"
    "1,10,5,pv,1511544070,ios,30\n"
    "1,10,5,buy,1511544080,android,30\n"
    "1,11,6,pv,1511544090,ios,30\n"
    "2,10,5,cart,1511544100,ios,40\n"
    "2,12,,pv,1511544110,web,40\n"
    "3,12,7,fav,1511544120,ios,\n"
)


def test_events_keep_item_and_user_attributes(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="recsys.adapters"):
        config_path = import_events(_write(tmp_path / "log.csv", TAOBAO_LIKE), tmp_path / "out")
    cfg = load_config(config_path)
    assert cfg.data.items == "items.parquet" and cfg.data.item_category == "category_id"
    assert cfg.data.users == "users.parquet"
    items = pd.read_parquet(tmp_path / "out" / "items.parquet")
    # a category id is a label (text), and item 12's blank first event takes its later value
    assert items.set_index("item_id")["category_id"].to_dict() == {"10": "5", "11": "6",
                                                                   "12": "7"}
    users = pd.read_parquet(tmp_path / "out" / "users.parquet").set_index("user_id")
    assert users.loc["1", "age"] == 30 and users.loc["2", "age"] == 40
    assert np.isnan(users.loc["3", "age"])
    unused = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(unused) == 1 and "column 'device'" in unused[0] and "not used" in unused[0]
    # the config names no absolute path of this machine
    assert str(tmp_path) not in config_path.read_text()


def test_movielens_keeps_a_zip_region(tmp_path: Path) -> None:
    import_movielens(make_ml100k(tmp_path / "ml"), tmp_path / "out")
    users = pd.read_parquet(tmp_path / "out" / "users.parquet").set_index("user_id")
    assert users["zip_region"].to_dict() == {"1": "zip 8", "2": "zip 9", "3": "zip 3"}
