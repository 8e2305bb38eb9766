"""Tests of dataset validation: every broken input is reported, naming file and column."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.config import parse_config
from recsys.data import load_dataset
from recsys.errors import SchemaError
from recsys.validate import SourceTable, check_tables, validate_tables

BASE = 1_700_000_000
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
Tables = dict[str, pd.DataFrame | None]


def good_tables() -> Tables:
    """A valid dataset in file order: row ``i`` is on day ``i // 2``; rows 0-19 are train."""
    i = np.arange(30)
    inter = pd.DataFrame(
        {
            "user_id": 101 + i % 4,
            "item_id": [f"i{k % 5}" for k in i],
            "timestamp": BASE + (i // 2) * DAY,
            "click": i % 2,
            "buy": (i % 4 == 1).astype(int),
            "dwell": i * 1.5,
            "grade": i % 3,
            "device": np.array(["ios", "android", "web"])[i % 3],
        }
    )
    users = pd.DataFrame({"user_id": [101, 102, 103, 104], "age": [21, 35, 48, 60]})
    items = pd.DataFrame(
        {"item_id": [f"i{k}" for k in range(5)], "title": list("ABCDE"), "genre": list("xxyyz")}
    )
    return {"interactions": inter, "users": users, "items": items}


def write_project(
    root: Path,
    tables: Tables | None = None,
    *,
    fmt: str = "csv",
    data_extra: str = ITEM_COLUMNS,
    config_extra: str = "",
    absent: tuple[str, ...] = (),
) -> Path:
    """Write the tables and a config naming them (``absent`` ones named but not written)."""
    tables = good_tables() if tables is None else tables
    lines = ["[data]"]
    for role, frame in tables.items():
        if frame is None:
            continue
        path = root / f"{role}.{fmt}"
        lines.append(f'{role} = "{path.name}"')
        if role in absent:
            continue
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    config = root / "config.toml"
    config.write_text("\n".join(lines) + "\n" + data_extra + "\n" + config_extra + TASKS)
    return config


def problems_of(root: Path, tables: Tables | None = None, **kwargs: object) -> list[str]:
    """The problem lines ``load_dataset`` raises for this project (it must raise)."""
    with pytest.raises(SchemaError) as info:
        load_dataset(write_project(root, tables, **kwargs))  # type: ignore[arg-type]
    return info.value.problems


def edited(change: Callable[[Tables], None]) -> Tables:
    tables = good_tables()
    change(tables)
    return tables


def inter(tables: Tables) -> pd.DataFrame:
    frame = tables["interactions"]
    assert frame is not None
    return frame


def test_good_dataset_has_no_problems(tmp_path: Path) -> None:
    assert len(load_dataset(write_project(tmp_path)).interactions) == 30


# --- files and config ----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        SchemaError, match=r"users\.csv: file not found \(looked for .*users\.csv\)"
    ):
        load_dataset(write_project(tmp_path, absent=("users",)))


def test_unreadable_files_are_all_reported(tmp_path: Path) -> None:
    config = write_project(tmp_path, fmt="parquet")
    (tmp_path / "interactions.parquet").write_bytes(b"not a parquet file")
    (tmp_path / "items.parquet").write_bytes(b"")
    with pytest.raises(SchemaError) as info:
        load_dataset(config)
    assert [p.split(":")[0] for p in info.value.problems] == [
        "interactions.parquet",
        "items.parquet",
    ]
    assert "cannot read the file as Parquet" in info.value.problems[0]
    assert info.value.problems[1] == (
        "items.parquet: the file is empty (0 bytes); write the table into it"
    )


def test_ragged_csv_is_unreadable(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    with (tmp_path / "interactions.csv").open("a") as handle:
        handle.write("101,i1,1700000000,1,0,1.0,2,ios,extra,fields\n")
    with pytest.raises(SchemaError, match=r"interactions\.csv: cannot read the file as CSV"):
        load_dataset(config)


def test_unknown_suffix(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    config.write_text(config.read_text().replace("users.csv", "users.xlsx"))
    with pytest.raises(SchemaError, match=r"users\.xlsx: unknown file type"):
        load_dataset(config)


def test_config_problems_are_reported(tmp_path: Path) -> None:
    extra = "[split]\ntest_fration = 0.2\n"
    with pytest.raises(
        SchemaError, match=r"unknown key 'split\.test_fration' \(did you mean 'test_fraction'\?\)"
    ):
        load_dataset(write_project(tmp_path, config_extra=extra))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"config file not found"):
        load_dataset(tmp_path / "nope.toml")


def test_config_checks_against_data(tmp_path: Path) -> None:
    tables = good_tables()
    tables["items"] = None
    extra = ITEM_COLUMNS + 'context = ["device", "click"]\n'
    problems = problems_of(tmp_path, tables, data_extra=extra)
    assert "config.toml: data.item_title = 'title' needs an items file; set data.items" in problems
    assert any(
        re.search(r"data\.context lists 'click', which is label of task 'ctr'", p) for p in problems
    )


def test_reserved_window_column(tmp_path: Path) -> None:
    tables = edited(lambda t: inter(t).insert(3, "window", "x"))
    with pytest.raises(SchemaError, match=r"interactions\.csv: column 'window' is reserved"):
        load_dataset(write_project(tmp_path, tables))


# --- columns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "old", "new", "pattern"),
    [
        ("interactions", "timestamp", "timestmp",
         r"interactions\.csv: column 'timestamp' \(required\) is missing \(did you mean 'timestmp'\?\)"),
        ("interactions", "user_id", "uid", r"interactions\.csv: column 'user_id' \(required\) is missing"),
        ("interactions", "item_id", "item", r"interactions\.csv: column 'item_id' \(required\) is missing"),
        ("interactions", "click", "clicks",
         r"interactions\.csv: column 'click' \(label of task 'ctr'\) is missing \(did you mean 'clicks'\?\)"),
        ("users", "user_id", "userid", r"users\.csv: column 'user_id' \(id\) is missing \(did you mean 'userid'\?\)"),
        ("items", "item_id", "iid", r"items\.csv: column 'item_id' \(id\) is missing"),
        ("items", "title", "name", r"items\.csv: column 'title' \(data\.item_title\) is missing"),
        ("items", "genre", "genres",
         r"items\.csv: column 'genre' \(data\.item_category\) is missing \(did you mean 'genres'\?\)"),
    ],
)  # fmt: skip
def test_missing_column(tmp_path: Path, table: str, old: str, new: str, pattern: str) -> None:
    tables = good_tables()
    frame = tables[table]
    assert frame is not None
    tables[table] = frame.rename(columns={old: new})
    with pytest.raises(SchemaError, match=pattern + r".*; the file has: "):
        load_dataset(write_project(tmp_path, tables))


def test_missing_context_column(tmp_path: Path) -> None:
    extra = ITEM_COLUMNS + 'context = ["devise"]\n'
    with pytest.raises(
        SchemaError,
        match=r"interactions\.csv: column 'devise' \(context\) is missing \(did you mean 'device'\?\)",
    ):
        load_dataset(write_project(tmp_path, data_extra=extra))


# --- values --------------------------------------------------------------------------


def test_binary_label_message_format(tmp_path: Path) -> None:
    tables = edited(lambda t: inter(t).__setitem__("click", inter(t)["click"].where(
        ~inter(t).index.isin([4, 8, 11]), 2)))  # fmt: skip
    assert problems_of(tmp_path, tables) == [
        "interactions.csv: column 'click': label must be 0 or 1 for a binary task, found 2 "
        "in 3 rows, e.g. rows 5, 9, 12 (values 2.0, 2.0, 2.0)"
    ]


def test_non_numeric_label(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        inter(t)["grade"] = inter(t)["grade"].astype(str).where(inter(t).index != 6, "high")

    with pytest.raises(
        SchemaError,
        match=r"interactions\.csv: column 'grade': label must be numeric, found 'high' "
        r"in 1 row, e.g. row 7 \(value 'high'\)",
    ):
        load_dataset(write_project(tmp_path, edited(change)))


@pytest.mark.parametrize(
    ("column", "bad", "found"),
    [("dwell", np.inf, "inf"), ("dwell", -np.inf, "-inf"), ("click", np.nan, "nan")],
)
def test_non_finite_label(tmp_path: Path, column: str, bad: float, found: str) -> None:
    def change(t: Tables) -> None:
        frame = inter(t)
        frame[column] = frame[column].astype(float)
        frame.loc[[2, 3], column] = bad

    with pytest.raises(
        SchemaError,
        match=rf"interactions\.parquet: column '{column}': label must be a finite number, "
        rf"found {found} in 2 rows, e.g. rows 3, 4",
    ):
        load_dataset(write_project(tmp_path, edited(change), fmt="parquet"))


def test_rank_label_must_be_non_negative_integer(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        inter(t)["grade"] = inter(t)["grade"].astype(float)
        inter(t).loc[[0, 1, 2, 3], "grade"] = [-1.0, 2.5, -1.0, 3.0]

    with pytest.raises(
        SchemaError,
        match=r"interactions\.csv: column 'grade': label must be a non-negative integer for a "
        r"rank task, found -1, 2\.5 in 3 rows, e.g. rows 1, 2, 3 \(values -1\.0, 2\.5, -1\.0\)",
    ):
        load_dataset(write_project(tmp_path, edited(change)))


def test_regression_label_may_be_any_finite_number(tmp_path: Path) -> None:
    tables = edited(lambda t: inter(t).__setitem__("dwell", -inter(t)["dwell"] - 0.25))
    assert load_dataset(write_project(tmp_path, tables)).interactions["dwell"].max() < 0


@pytest.mark.parametrize(
    ("value", "shown"),
    [("yesterday", "'yesterday'"), (None, "null"), ("2024-13-45", "'2024-13-45'")],
)
def test_unparseable_timestamp(tmp_path: Path, value: str | None, shown: str) -> None:
    def change(t: Tables) -> None:
        ts = pd.to_datetime(inter(t)["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
        inter(t)["timestamp"] = ts.where(inter(t).index != 9, value)

    with pytest.raises(
        SchemaError,
        match=rf"interactions\.csv: column 'timestamp': cannot parse timestamps \(expected a "
        rf"datetime, unix seconds or ISO-8601 text\) in 1 row, e.g. row 10 \(value {shown}\)",
    ):
        load_dataset(write_project(tmp_path, edited(change)))


def test_unix_milliseconds_are_out_of_range(tmp_path: Path) -> None:
    tables = edited(lambda t: inter(t).__setitem__("timestamp", inter(t)["timestamp"] * 1000))
    with pytest.raises(
        SchemaError,
        match=r"column 'timestamp': timestamps out of range \(after 2262-04-11\) in 30 rows, "
        r"e\.g\. rows 1, 2, 3 \(values 1700000000000, .*\); the values look like unix "
        r"milliseconds, not seconds \(divide by 1000\); correct or remove those rows$",
    ):
        load_dataset(write_project(tmp_path, tables))


def test_null_ids(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        inter(t)["user_id"] = inter(t)["user_id"].astype(float).where(inter(t).index != 2)
        items = t["items"]
        assert items is not None
        items.loc[4, "item_id"] = ""

    problems = problems_of(tmp_path, edited(change))
    assert (
        "interactions.csv: column 'user_id': ids must not be empty, found null in 1 row, "
        "e.g. row 3" in problems
    )
    assert (
        "items.csv: column 'item_id': ids must not be empty, found null in 1 row, e.g. row 5"
        in problems
    )


def test_duplicate_ids(tmp_path: Path) -> None:
    tables = good_tables()
    users, items = tables["users"], tables["items"]
    assert users is not None and items is not None
    tables["users"] = pd.concat([users, users.iloc[[1]]], ignore_index=True)
    tables["items"] = pd.concat([items, items.iloc[[0, 0, 3]]], ignore_index=True)
    problems = problems_of(tmp_path, tables)
    assert (
        "users.csv: column 'user_id': ids must be unique, 1 repeated in 2 rows, "
        "e.g. rows 2, 5 (values '102', '102')" in problems
    )
    assert any(
        p.startswith("items.csv: column 'item_id': ids must be unique, 2 repeated in 5 rows")
        for p in problems
    )


def test_unknown_users_and_items(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        inter(t).loc[[5, 7], "user_id"] = 999
        inter(t).loc[[1], "item_id"] = "ghost"

    problems = problems_of(tmp_path, edited(change))
    assert (
        "interactions.csv: column 'user_id': 1 user id is not in users.csv in 2 rows, "
        "e.g. rows 6, 8 (values '999', '999'); add them to users.csv or drop those rows"
    ) in problems
    assert any(
        p.startswith(
            "interactions.csv: column 'item_id': 1 item id is not in items.csv in 1 row, e.g. row 2 (value 'ghost')"
        )
        for p in problems
    )


def test_conditional_child_positive_without_parent(tmp_path: Path) -> None:
    tables = edited(
        lambda t: inter(t).__setitem__("buy", inter(t)["buy"].where(inter(t).index != 4, 1))
    )
    with pytest.raises(
        SchemaError,
        match=r"interactions\.csv: column 'buy': task 'cvr' is conditional on task 'ctr' but is "
        r"positive where 'click' is not, in 1 row, e.g. row 5 \(value buy=1\.0/click=0\.0\)",
    ):
        load_dataset(write_project(tmp_path, tables))


# --- split ---------------------------------------------------------------------------
BY_TIME = '[split]\nby = "time"\n'


def test_empty_validation_window(tmp_path: Path) -> None:
    def change(t: Tables) -> None:  # days 10 and 11 move to day 9: nothing in [9.8, 11.2)
        ts = inter(t)["timestamp"]
        inter(t)["timestamp"] = ts.where(
            ~ts.between(BASE + 10 * DAY, BASE + 11 * DAY), BASE + 9 * DAY
        )

    with pytest.raises(
        SchemaError,
        match=r"interactions\.csv: column 'timestamp': the validation window "
        r"\[2023-11-24 17:25:20, 2023-11-26 03:01:20\) has no rows \(timestamps run from "
        r"2023-11-14 22:13:20 to 2023-11-28 22:13:20\); the time span is stretched by a few "
        r"outlying timestamps or a long gap .* set split\.by = \"events\"",
    ):
        load_dataset(write_project(tmp_path, edited(change), config_extra=BY_TIME))


def test_single_timestamp_empties_train_and_validation(tmp_path: Path) -> None:
    tables = edited(lambda t: inter(t).__setitem__("timestamp", BASE))
    problems = problems_of(tmp_path, tables)
    assert any(
        p.startswith("interactions.csv: column 'timestamp': the train window") for p in problems
    )
    assert any("the validation window" in p for p in problems)
    assert not any("the test window" in p for p in problems)


def test_one_class_in_training(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        frame = inter(t)
        train = frame.index < 20
        frame["click"] = frame["click"].where(~train, 1)
        frame["buy"] = frame["buy"].where(~train, 0)

    problems = problems_of(tmp_path, edited(change), config_extra=BY_TIME)
    # labelled training rows start after the history period (30% of the training window)
    assert (
        "interactions.csv: column 'click': binary task 'ctr' has only class 1 in the training "
        "rows [2023-11-17 20:46:56, 2023-11-24 17:25:20); it needs both 0 and 1 to learn"
    ) in problems
    assert any(
        p.startswith("interactions.csv: column 'buy': binary task 'cvr' has only class 0 among "
                     "training rows where 'click' is 1")
        for p in problems
    )  # fmt: skip


def test_both_classes_only_in_the_history_period_is_one_class(tmp_path: Path) -> None:
    def change(t: Tables) -> None:  # rows 0-5 (days 0-2) are history; 6-19 are labelled
        frame = inter(t)
        frame["click"] = np.where(frame.index < 6, frame.index % 2, 1)
        frame["buy"] = np.where(frame.index == 1, 1, 0)

    problems = problems_of(tmp_path, edited(change), config_extra=BY_TIME)
    assert any(p.startswith("interactions.csv: column 'click': binary task 'ctr' has only "
                            "class 1 in the training rows [2023-11-17") for p in problems)


def test_no_training_rows_after_the_history_period(tmp_path: Path) -> None:
    def change(t: Tables) -> None:  # training rows all on day 0, the rest from day 10 on
        ts = inter(t)["timestamp"]
        inter(t)["timestamp"] = ts.where(ts >= BASE + 10 * DAY, BASE)

    problems = problems_of(tmp_path, edited(change),
                           config_extra=BY_TIME + "[features]\nhistory_fraction = 0.5\n")
    assert problems == [
        "interactions.csv: column 'timestamp': no training rows to learn from in "
        "[2023-11-19 19:49:20, 2023-11-24 17:25:20), after the history period "
        "(features.history_fraction = 0.5 keeps [2023-11-14 22:13:20, 2023-11-19 19:49:20) "
        "for history only); lower features.history_fraction or add interactions in that period"
    ]


# --- everything at once --------------------------------------------------------------


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        frame = inter(t)
        frame.loc[3, "click"] = 7
        frame.loc[5, "item_id"] = None
        frame["dwell"] = frame["dwell"].where(frame.index != 8, np.nan)
        items = t["items"]
        assert items is not None
        t["items"] = pd.concat([items, items.iloc[[2]]], ignore_index=True)

    problems = problems_of(tmp_path, edited(change), absent=("users",))
    expected = [
        r"^users\.csv: file not found",
        r"^items\.csv: column 'item_id': ids must be unique",
        r"^interactions\.csv: column 'item_id': ids must not be empty.* row 6$",
        r"^interactions\.csv: column 'click': label must be 0 or 1 .* row 4 \(value 7\.0\)$",
        r"^interactions\.csv: column 'dwell': label must be a finite number, found nan",
    ]
    for pattern in expected:
        assert sum(bool(re.search(pattern, p)) for p in problems) == 1, (pattern, problems)
    assert len(problems) == len(expected)


def test_check_tables_converts_and_validate_tables_lists(tmp_path: Path) -> None:
    config = parse_config(
        {
            "data": {"interactions": "i.csv"},
            "task": [{"name": "ctr", "label": "y", "kind": "binary"}],
        }
    )
    raw = pd.DataFrame(
        {
            "user_id": [1.0, 2.0],
            "item_id": ["b", "a"],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "y": [1, 0],
        }
    )
    checked = check_tables(config, SourceTable("i.csv", raw))
    assert checked.problems == ()
    frame = checked.interactions
    assert frame is not None
    assert list(frame["user_id"].cat.categories) == ["1", "2"]
    assert frame["item_id"].astype(str).tolist() == ["b", "a"]
    assert frame["y"].dtype == "float64" and frame["timestamp"].dtype == "datetime64[ns]"
    bad = raw.assign(y=[1, 3])
    assert validate_tables(config, SourceTable("i.csv", bad)) == [
        "i.csv: column 'y': label must be 0 or 1 for a binary task, found 3 in 1 row, e.g. row 2 (value 3.0)"
    ]


# --- config messages -----------------------------------------------------------------


def _config_problems(tasks: list[dict[str, object]], **extra: object) -> list[str]:
    with pytest.raises(SchemaError) as info:
        parse_config({"data": {"interactions": "i.csv"}, "task": tasks, **extra})
    return info.value.problems


@pytest.mark.parametrize("weight", [float("inf"), float("nan")])
def test_non_finite_weight_is_refused(weight: float) -> None:
    problems = _config_problems([{"name": "ctr", "label": "y", "kind": "binary",
                                  "weight": weight}])
    assert problems == [f"config.toml: task 'ctr'.weight: input should be a finite number "
                        f"(got {weight!r})"]


def test_all_zero_weights_are_refused() -> None:
    tasks = [{"name": n, "label": n, "kind": "binary", "weight": 0.0} for n in ("a", "b")]
    assert _config_problems(tasks) == [
        "config.toml: every task weight is 0, so the blend would rank nothing; give at least "
        "one task a weight above 0"
    ]


def test_given_naming_itself_or_a_cycle() -> None:
    itself = [{"name": "a", "label": "a", "kind": "binary", "given": "a"}]
    assert _config_problems(itself) == [
        "config.toml: task 'a': given = 'a' names the task itself; name its parent task or "
        "remove given"
    ]
    loop = [{"name": "b", "label": "b", "kind": "binary", "given": "a"},
            {"name": "a", "label": "a", "kind": "binary", "given": "b"}]
    assert _config_problems(loop) == [
        "config.toml: tasks 'a', 'b': their given settings form a cycle (a -> b -> a); "
        "remove given from one of them"
    ]


def test_model_level_errors_do_not_print_the_whole_config() -> None:
    problems = _config_problems([{"name": "a", "label": "a", "kind": "binary"}],
                                split={"test_fraction": 0.5, "validation_fraction": 0.45})
    assert problems == [
        "config.toml: split: test_fraction + validation_fraction must leave at least 10% of "
        "time for training, got 0.5 + 0.45"
    ]
    long_name = "not a name " * 20
    problems = _config_problems([{"name": long_name, "label": "a", "kind": "binary"}])
    assert problems == [
        "config.toml: task 'not a name not a name not a...'.name: string should match pattern "
        "'^[A-Za-z_][A-Za-z0-9_]*$' (got 'not a name not a name not a name not a name not...')"
    ]


def test_config_file_problems(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"is a directory, not a config file; did you mean "
                                          r".*config\.toml\?"):
        load_dataset(write_project(tmp_path).parent)
    config = tmp_path / "latin.toml"
    config.write_bytes("# caf\xe9\n[data]\n".encode("latin-1"))
    with pytest.raises(SchemaError, match=r"latin\.toml: the file is not UTF-8 \(byte 0xe9 at "
                                          r"line 1, column 6\); save it as UTF-8$"):
        load_dataset(config)
    (tmp_path / "bom").mkdir()
    bom = write_project(tmp_path / "bom")
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    assert len(load_dataset(bom).interactions) == 30


# --- values beyond what the models can hold ------------------------------------------


def test_values_beyond_float32_are_refused(tmp_path: Path) -> None:
    def change(t: Tables) -> None:
        inter(t)["dwell"] = inter(t)["dwell"].where(inter(t).index != 2, 1e300)
        inter(t)["hour"] = np.where(inter(t).index == 5, -np.inf, 1.0)
        items = t["items"]
        assert items is not None
        items["weight"] = [1.0, 2.0, 5e38, 3.0, 4.0]

    problems = problems_of(tmp_path, edited(change), fmt="parquet")
    rule = "is beyond the float32 range the models use (|value| <= 1e+38)"
    assert problems == [
        f"items.parquet: column 'weight': value {rule}, found 5e+38 in 1 row, e.g. row 3 "
        "(value 5e+38); rescale the column or correct those rows",
        f"interactions.parquet: column 'dwell': label {rule}, found 1e+300 in 1 row, e.g. row 3 "
        "(value 1e+300); rescale the column or correct those rows",
        f"interactions.parquet: column 'hour': value {rule}, found -inf in 1 row, e.g. row 6 "
        "(value -inf); rescale the column or correct those rows",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2999-01-01T00:00:00", r"timestamps out of range \(after 2262-04-11\) in 1 row, e\.g\. "
                                r"row 10 \(value 2999-01-01 00:00:00\); correct or remove"),
        ("1500-06-01T00:00:00", r"timestamps out of range \(before 1677-09-21\) in 1 row"),
        ("2100-01-01T00:00:00", r"timestamps in the future \(after .* UTC, a day from now\) in 1 "
                                r"row, e\.g\. row 10 \(value 2100-01-01 00:00:00\); they would "
                                r"stretch the time split, so remove or correct them"),
    ],
)
def test_timestamps_out_of_range_or_in_the_future(tmp_path: Path, value: str,
                                                   message: str) -> None:
    def change(t: Tables) -> None:
        ts = pd.to_datetime(inter(t)["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
        inter(t)["timestamp"] = ts.where(inter(t).index != 9, value)

    problems = problems_of(tmp_path, edited(change))
    assert len(problems) == 1 and re.search(message, problems[0]), problems


@pytest.mark.parametrize("column", ["user_id", "item_id"])
def test_a_single_user_or_item_is_refused(tmp_path: Path, column: str) -> None:
    tables = edited(lambda t: inter(t).__setitem__(column, inter(t)[column].iloc[0]))
    what = column.removesuffix("_id")
    assert problems_of(tmp_path, tables) == [
        f"interactions.csv: column '{column}': only one {what} "
        f"('{inter(tables)[column].iloc[0]}') in all 30 rows; a recommender needs at least 2 "
        f"users and 2 items to learn from: add the interactions of other {what}s"
    ]


def test_split_checks_wait_for_clean_values(tmp_path: Path) -> None:
    """A bad label is reported once, not again as a one-class training window."""
    tables = edited(lambda t: inter(t).__setitem__("click", inter(t)["click"] + 1))
    problems = problems_of(tmp_path, tables)
    assert len(problems) == 1 and "label must be 0 or 1 for a binary task" in problems[0]
