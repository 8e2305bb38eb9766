"""Tests of ``recsys.data``: reading, conversion, sorting, time split and fingerprint."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.data import Dataset, load_dataset, read_table
from recsys.errors import SchemaError

BASE = 1_700_000_000  # 2023-11-14 22:13:20 UTC
DAY = 86_400
TASKS = """
[[task]]
name = "ctr"
label = "click"
kind = "binary"

[[task]]
name = "cvr"
label = "buy"
kind = "binary"
given = "ctr"

[[task]]
name = "dwell"
label = "dwell"
kind = "regression"

[[task]]
name = "grade"
label = "grade"
kind = "rank"
"""
ITEM_COLUMNS = 'item_title = "title"\nitem_category = "genre"\n'


def good_tables() -> dict[str, pd.DataFrame]:
    """30 interactions over 15 days (two per day), in shuffled file order.

    Windows: train = days 0-9 (rows i < 20), validation = days 10-11, test = days 12-14.
    """
    i = np.arange(30)
    inter = pd.DataFrame(
        {
            "user_id": 104 - i % 4,
            "item_id": [f"i{k % 5}" for k in i],
            "timestamp": BASE + (i // 2) * DAY,
            "click": i % 2,
            "buy": (i % 4 == 1).astype(int),
            "dwell": i * 1.5,
            "grade": i % 3,
            "device": np.array(["ios", "android", "web"])[i % 3],
            "hour": i % 24,
        }
    )
    users = pd.DataFrame(
        {"user_id": [101, 102, 103, 104], "age": [21, 35, 48, 60], "segment": list("abac")}
    )
    items = pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(5)],
            "title": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"],
            "genre": ["x", "x", "y", "y", "z"],
            "price": [1.0, 2.5, 3.0, 4.0, 5.5],
        }
    )
    inter = inter.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return {"interactions": inter, "users": users, "items": items}


def write_project(
    root: Path,
    tables: dict[str, pd.DataFrame | None] | None = None,
    *,
    fmt: str = "csv",
    data_extra: str = ITEM_COLUMNS,
    tasks: str = TASKS,
) -> Path:
    """Write the tables (``None`` = no such file) and a config naming them; return it."""
    tables = good_tables() if tables is None else tables
    root.mkdir(parents=True, exist_ok=True)
    lines = ["[data]"]
    for role, frame in tables.items():
        if frame is None:
            continue
        path = root / f"{role}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
        lines.append(f'{role} = "{path.name}"')
    split = "[split]\ntest_fraction = 0.2\nvalidation_fraction = 0.1\n"
    config = root / "config.toml"
    config.write_text("\n".join(lines) + "\n" + data_extra + "\n" + split + tasks)
    return config


def expected_order(frame: pd.DataFrame) -> list[float]:
    """The ``dwell`` values (unique per row) in (timestamp, user_id, item_id) order."""
    keys = [
        (t, str(u), str(i), d)
        for t, u, i, d in zip(
            frame["timestamp"], frame["user_id"], frame["item_id"], frame["dwell"], strict=True
        )
    ]
    return [k[3] for k in sorted(keys, key=lambda k: k[:3])]


def test_good_dataset_dtypes_order_and_windows(tmp_path: Path) -> None:
    tables = good_tables()
    ds = load_dataset(write_project(tmp_path, tables))
    inter = ds.interactions
    assert list(inter.columns) == [
        "user_id", "item_id", "timestamp", "click", "buy", "dwell", "grade", "device", "hour",
        "window",
    ]  # fmt: skip
    assert inter["user_id"].dtype == "str" and inter["item_id"].dtype == "str"
    assert inter["timestamp"].dtype == "datetime64[ns]"
    for col in ("click", "buy", "dwell", "grade", "hour"):
        assert inter[col].dtype == "float64", col
    assert isinstance(inter["device"].dtype, pd.CategoricalDtype)
    assert list(inter["window"].cat.categories) == ["train", "validation", "test"]
    assert ds.context_columns == ("device", "hour")
    assert list(inter.index) == list(range(30))
    assert inter["dwell"].tolist() == expected_order(tables["interactions"])
    # ties on timestamp are broken by user_id: the pair of day 0 is users 103, 104
    assert inter["user_id"].tolist()[:2] == ["103", "104"]
    start = pd.Timestamp(BASE, unit="s")
    assert inter["timestamp"].iloc[0] == start
    # split.by = "events": the newest 20% of the rows are the test window, the 10% before
    # it validation (rows tied at a boundary go to the later window)
    ts = inter["timestamp"].sort_values().reset_index(drop=True)
    assert ds.test_start == ts[24] and ds.val_start == ts[21]
    counts = inter["window"].value_counts()
    assert counts["test"] == (inter["timestamp"] >= ts[24]).sum() >= 6
    assert counts["validation"] == ((inter["timestamp"] >= ts[21])
                                    & (inter["timestamp"] < ts[24])).sum() > 0
    assert ds.root == tmp_path.resolve()


def test_split_by_time_cuts_the_calendar(tmp_path: Path) -> None:
    config = write_project(tmp_path, good_tables())
    config.write_text(config.read_text().replace("[split]\n", '[split]\nby = "time"\n'))
    ds = load_dataset(config)
    inter = ds.interactions
    start = pd.Timestamp(BASE, unit="s")
    assert ds.test_start == start + pd.Timedelta(hours=14 * 24 * 0.8)
    assert ds.val_start == start + pd.Timedelta(hours=14 * 24 * 0.7)
    counts = inter["window"].value_counts()
    assert (counts["train"], counts["validation"], counts["test"]) == (20, 4, 6)
    days = (inter["timestamp"] - start).dt.days
    assert set(days[inter["window"] == "validation"]) == {10, 11}
    assert set(days[inter["window"] == "test"]) == {12, 13, 14}


def test_an_outlier_timestamp_cannot_empty_a_window(tmp_path: Path) -> None:
    tables = good_tables()
    inter = tables["interactions"]
    inter.loc[0, "timestamp"] = BASE - 3650 * 86400  # one event ten years early
    config = write_project(tmp_path, tables)
    ds = load_dataset(config)  # split.by = "events" (default): every window keeps rows
    assert (ds.interactions["window"].value_counts() > 0).all()
    config.write_text(config.read_text().replace("[split]\n", '[split]\nby = "time"\n'))
    with pytest.raises(SchemaError, match=r'stretched by a few outlying timestamps .*set '
                                          r'split\.by = "events"'):
        load_dataset(config)


def test_users_and_items_attributes(tmp_path: Path) -> None:
    ds = load_dataset(write_project(tmp_path))
    assert ds.users["user_id"].tolist() == ["101", "102", "103", "104"]
    assert ds.users["age"].dtype == "float64"
    assert isinstance(ds.users["segment"].dtype, pd.CategoricalDtype)
    assert ds.items["title"].dtype == "str"
    assert ds.items["title"].tolist()[:2] == ["Alpha", "Beta"]
    assert isinstance(ds.items["genre"].dtype, pd.CategoricalDtype)
    assert ds.items["price"].dtype == "float64"


def test_without_users_and_items_files(tmp_path: Path) -> None:
    tables = good_tables()
    tables["users"] = tables["items"] = None
    ds = load_dataset(write_project(tmp_path, tables, data_extra=""))
    assert list(ds.users.columns) == ["user_id"]
    assert ds.users["user_id"].tolist() == ["101", "102", "103", "104"]
    assert ds.items["item_id"].tolist() == ["i0", "i1", "i2", "i3", "i4"]
    assert ds.items["item_id"].dtype == "str"


@pytest.fixture(scope="module")
def csv_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The good dataset from CSV with unix timestamps, loaded once for comparisons."""
    return load_dataset(write_project(tmp_path_factory.mktemp("csv")))


def assert_same_data(a: Dataset, b: Dataset) -> None:
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    pd.testing.assert_frame_equal(a.users, b.users)
    pd.testing.assert_frame_equal(a.items, b.items)
    assert (a.val_start, a.test_start) == (b.val_start, b.test_start)
    assert a.context_columns == b.context_columns
    assert a.config.tasks == b.config.tasks


@pytest.mark.parametrize("fmt", ["parquet", "tsv"])
def test_csv_and_other_formats_give_equal_datasets(
    tmp_path: Path, fmt: str, csv_dataset: Dataset
) -> None:
    other = load_dataset(write_project(tmp_path, fmt=fmt))
    assert_same_data(csv_dataset, other)
    assert csv_dataset.fingerprint != other.fingerprint


def test_int_and_float_ids_become_plain_strings(tmp_path: Path) -> None:
    tables = good_tables()
    for name in ("interactions", "users"):
        tables[name]["user_id"] = tables[name]["user_id"].astype("float64")
    ds = load_dataset(write_project(tmp_path, tables, fmt="parquet"))
    assert sorted(set(ds.interactions["user_id"])) == ["101", "102", "103", "104"]
    assert ds.users["user_id"].tolist() == ["101", "102", "103", "104"]


def test_csv_ids_keep_leading_zeros(tmp_path: Path) -> None:
    tables = good_tables()
    for name in ("interactions", "users"):
        tables[name]["user_id"] = "0" + tables[name]["user_id"].astype(str)
    ds = load_dataset(write_project(tmp_path, tables))
    assert ds.users["user_id"].tolist() == ["0101", "0102", "0103", "0104"]


@pytest.mark.parametrize(
    "convert",
    [
        lambda s: pd.to_datetime(s, unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S"),
        lambda s: pd.to_datetime(s, unit="s").dt.strftime("%Y-%m-%d %H:%M:%SZ"),
        lambda s: (pd.to_datetime(s, unit="s") + pd.Timedelta(hours=2)).dt.strftime(
            "%Y-%m-%dT%H:%M:%S+02:00"
        ),
        lambda s: s.astype("float64") + 0.0,
        lambda s: pd.to_datetime(s, unit="s").dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"),
    ],
    ids=["iso", "iso-z", "iso-offset", "unix-float", "tz-aware"],
)
def test_timestamp_formats_agree(tmp_path: Path, convert: object, csv_dataset: Dataset) -> None:
    tables = good_tables()
    tables["interactions"]["timestamp"] = convert(tables["interactions"]["timestamp"])  # type: ignore[operator]
    other = load_dataset(write_project(tmp_path, tables, fmt="parquet"))
    assert_same_data(csv_dataset, other)


def test_iso_csv_timestamps(tmp_path: Path) -> None:
    tables = good_tables()
    ts = pd.to_datetime(tables["interactions"]["timestamp"], unit="s")
    tables["interactions"]["timestamp"] = ts.dt.strftime("%Y-%m-%d %H:%M")
    ds = load_dataset(write_project(tmp_path, tables))
    assert ds.interactions["timestamp"].iloc[0] == pd.Timestamp("2023-11-14 22:13")
    assert ds.interactions["timestamp"].dtype == "datetime64[ns]"


def test_fingerprint_is_stable_and_tracks_every_file(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    first = load_dataset(config).fingerprint
    assert len(first) == 64 and first == load_dataset(config).fingerprint
    users = tmp_path / "users.csv"
    users.write_text(users.read_text().replace("21", "22"))
    second = load_dataset(config).fingerprint
    assert second != first
    config.write_text(config.read_text() + "\n# comment\n")
    assert load_dataset(config).fingerprint not in (first, second)


def test_dataset_is_frozen(tmp_path: Path) -> None:
    ds = load_dataset(write_project(tmp_path))
    with pytest.raises(AttributeError):
        ds.fingerprint = "x"  # type: ignore[misc]


def test_already_sorted_file_keeps_order(tmp_path: Path) -> None:
    tables = good_tables()
    frame = tables["interactions"]
    tables["interactions"] = frame.iloc[np.argsort(frame["dwell"].to_numpy())]
    # two rows share each timestamp: the first of each pair goes to the smaller user id,
    # so the file is already in (timestamp, user_id) order
    tables["interactions"]["user_id"] = 101 + np.arange(len(frame)) % 2
    ds = load_dataset(write_project(tmp_path, tables))
    assert ds.interactions["dwell"].tolist() == expected_order(tables["interactions"])


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".parquet", ".pq"])
def test_read_table_by_suffix(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"user_id": ["007", "7"], "x": [1.5, 2.0]})
    path = tmp_path / f"t{suffix}"
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    out = read_table(path, text_columns=("user_id", "item_id"))
    assert out["user_id"].tolist() == ["007", "7"]
    assert out["x"].tolist() == [1.5, 2.0]


def test_read_table_restores_parquet_index(tmp_path: Path) -> None:
    path = tmp_path / "users.parquet"
    pd.DataFrame({"user_id": ["a", "b"], "age": [1, 2]}).set_index("user_id").to_parquet(path)
    assert list(read_table(path).columns) == ["user_id", "age"]


def test_read_table_rejects_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"")
    with pytest.raises(SchemaError, match=r"t\.xlsx: unknown file type; use \.csv"):
        read_table(path)


# --- reading awkward files -------------------------------------------------------------


def test_empty_cells_in_an_integer_column_read_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("user_id,click\n007,1\n8,\n9,0\n", encoding="utf-8")
    out = read_table(path, text_columns=("user_id",))
    assert out["user_id"].tolist() == ["007", "8", "9"]
    assert out["click"].tolist()[::2] == [1.0, 0.0] and np.isnan(out["click"].iloc[1])


def test_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffuser_id,x\n1,2\n".encode())
    assert list(read_table(path).columns) == ["user_id", "x"]


@pytest.mark.parametrize(
    ("text", "encoding", "name"),
    [("Café – €", "cp1252", "Windows-1252"), ("Caf\xe9 \x81", "latin-1", "ISO-8859-1")],
)
def test_legacy_encodings_are_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, encoding: str, name: str
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(f"item_id,title\ni1,{text}\n".encode(encoding))
    with caplog.at_level("WARNING", logger="recsys.data"):
        out = read_table(path, text_columns=("item_id",))
    assert out["title"].tolist() == [text]
    assert caplog.messages == [
        f"items.csv: the file is not UTF-8; read it as {encoding} ({name}); check accented "
        "text and save the file as UTF-8 to silence this warning"
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.csv", b"", r"t\.csv: the file is empty \(0 bytes\)"),
        ("t.csv", b"PAR1\x00\x00", r"t\.csv: the file is Parquet, not CSV; rename it to \.parquet"),
        ("t.parquet", b"a,b\n1,2\n", r"t\.parquet: the file is CSV text, not Parquet; rename it"),
        ("t.csv", gzip.compress(b"a,b\n1,2\n"), r"t\.csv: the file is gzip-compressed; add \.gz"),
        ("t.csv.gz", b"a,b\n1,2\n", r"t\.csv\.gz: the file is not gzip-compressed; remove"),
        ("t.csv", "a,b\n1,2\n".encode("utf-16"), r"t\.csv: the file is UTF-16 text; save it"),
        ("t.csv", b"a;b;c\n1;2;3\n", r"t\.csv: the file looks separated by ';' \(header "
                                     r"'a;b;c'\), but a \.csv file is read as separated by "
                                     r"commas; save it separated by commas"),
        ("t.tsv", b"a,b,c\n1,2,3\n", r"t\.tsv: the file looks separated by commas .*; rename "
                                     r"it to \.csv"),
        ("t.csv", b"a,b,a\n1,2,3\n", r"t\.csv: column 'a' appears 2 times in the header"),
    ],
)
def test_read_table_names_what_the_file_really_is(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SchemaError, match=message):
        read_table(path)


def test_read_table_refuses_a_directory(tmp_path: Path) -> None:
    (tmp_path / "t.csv").mkdir()
    with pytest.raises(SchemaError, match=r"t\.csv: is a directory, not a file"):
        read_table(tmp_path / "t.csv")


def test_dataset_warnings_duplicates_and_candidate_clamp(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tables = good_tables()
    tables["interactions"] = pd.concat([tables["interactions"], tables["interactions"].iloc[[4]]],
                                       ignore_index=True)
    config = write_project(tmp_path, tables)
    config.write_text(config.read_text() + "\n[candidates]\nper_user = 100\n")
    with caplog.at_level("WARNING", logger="recsys.data"):
        ds = load_dataset(config)
    assert ds.config.candidates.per_user == 5
    assert ds.warnings == (
        "interactions.csv: 1 duplicate exposure (same user_id, item_id and timestamp as an "
        "earlier row), e.g. row 31; they count as separate exposures: drop them if they are "
        "logging repeats",
        "config.toml: candidates.per_user = 100 is more than the 5 items in the catalogue; "
        "using per_user = 5",
    )
    assert caplog.messages == list(ds.warnings)
