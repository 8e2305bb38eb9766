"""Write a corpus of broken Blendscope datasets, one directory per case.

Every case is a directory holding a ``config.toml``, its tables and ``expect.txt``: a
substring that the one-line error (or, for the warning cases, the warning) must
contain. ``recsys train --config CASE/config.toml --out OUT`` must exit 2 on every
error case, print one ``error: ...`` line per problem and write nothing.

Usage::

    python tests/data/bad/make_corpus.py OUTDIR

The corpus is generated at test time (``tests/recsys/test_bad_corpus.py``), not kept
in the repository. :func:`base_tables` is a tiny valid dataset that trains in seconds;
every case breaks one thing in it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ERRORS", "WARNINGS", "base_tables", "config_text", "write_corpus", "write_dataset"]

Tables = dict[str, pd.DataFrame]
Case = Callable[[Path], str]
"""Writes one dataset into the (existing, empty) directory and returns the expected text."""

START = 1_767_225_600  # 2026-01-01 00:00:00 UTC, unix seconds
DAY = 86_400
N_DAYS = 30
TASKS = """
[[task]]
name = "click"
label = "click"
kind = "binary"
weight = 1.0

[[task]]
name = "purchase"
label = "purchase"
kind = "binary"
given = "click"
weight = 1.0

[[task]]
name = "revenue"
label = "revenue"
kind = "regression"
weight = 0.5
"""
SETTINGS = """
[candidates]
per_user = 5

[features]
latent_dim = 2

[model]
seed = 1
n_estimators = 5
min_child_samples = 5
"""
DATA = """[data]
interactions = "interactions.csv"
users = "users.csv"
items = "items.csv"
item_title = "title"
item_category = "category"
"""

ERRORS: dict[str, Case] = {}
"""Cases that must fail with exit code 2, by directory name."""
WARNINGS: dict[str, Case] = {}
"""Cases that load (and train) but must warn, by directory name."""


def base_tables(seed: int = 0, n_users: int = 12, n_items: int = 8, n_rows: int = 240) -> Tables:
    """A small valid dataset: every user and item active, both classes in every window."""
    rng = np.random.default_rng(seed)
    user = np.arange(n_rows) % n_users
    item = rng.integers(0, n_items, n_rows)
    item[:n_items] = np.arange(n_items)
    click = (rng.random(n_rows) < 0.4).astype(int)
    click[:4] = [0, 1, 0, 1]
    purchase = click * (rng.random(n_rows) < 0.5)
    purchase[:4] = [0, 1, 0, 0]
    seconds = np.sort(rng.integers(0, N_DAYS * DAY, n_rows))
    inter = pd.DataFrame({
        "user_id": [f"u{k:02d}" for k in user],
        "item_id": [f"i{k:02d}" for k in item],
        "timestamp": START + seconds,
        "click": click,
        "purchase": purchase,
        "revenue": np.round(purchase * rng.uniform(5, 50, n_rows), 2),
        "device": np.array(["mobile", "desktop", "app"])[rng.integers(0, 3, n_rows)],
    })
    # both classes of click and of purchase-given-click in every window
    pattern = np.tile([1, 0, 1, 0, 0], n_rows // 5 + 1)[:n_rows]
    inter["click"] = np.where(np.arange(n_rows) % 7 == 0, 1, inter["click"] | pattern)
    inter["purchase"] = np.where(inter["click"] == 1, np.arange(n_rows) % 3 == 0, 0).astype(int)
    inter["revenue"] = np.round(inter["purchase"] * rng.uniform(5, 50, n_rows), 2)
    users = pd.DataFrame({
        "user_id": [f"u{k:02d}" for k in range(n_users)],
        "segment": np.array(["new", "loyal"])[np.arange(n_users) % 2],
        "age": 20 + np.arange(n_users) * 3,
    })
    items = pd.DataFrame({
        "item_id": [f"i{k:02d}" for k in range(n_items)],
        "title": [f"Item {k}" for k in range(n_items)],
        "category": np.array(["books", "toys", "games"])[np.arange(n_items) % 3],
        "price": np.round(rng.uniform(3, 90, n_items), 2),
    })
    return {"interactions": inter, "users": users, "items": items}


def config_text(*, data: str = DATA, tasks: str = TASKS, extra: str = SETTINGS) -> str:
    """The ``config.toml`` of the base dataset, with parts replaced."""
    return data + tasks + extra


def write_dataset(
    root: Path, tables: Tables | None = None, config: str | None = None, *, fmt: str = "csv"
) -> Path:
    """Write tables (CSV or Parquet, named ``<role>.<fmt>``) and the config; return it."""
    root.mkdir(parents=True, exist_ok=True)
    tables = base_tables() if tables is None else tables
    for role, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(root / f"{role}.parquet", index=False)
        else:
            frame.to_csv(root / f"{role}.csv", index=False)
    if config is None:
        config = config_text(data=DATA.replace(".csv", f".{fmt}"))
    path = root / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path


def case(name: str, *, warning: bool = False) -> Callable[[Case], Case]:
    """Register a case writer under ``name``."""

    def register(fn: Case) -> Case:
        (WARNINGS if warning else ERRORS)[name] = fn
        return fn

    return register


def _edit(root: Path, role: str, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    tables = base_tables()
    out = change(tables[role])
    if out is not None:
        tables[role] = out
    write_dataset(root, tables)


def _config(root: Path, config: str) -> None:
    write_dataset(root, base_tables(), config)


def _set(frame: pd.DataFrame, rows: list[int], column: str, value: object) -> pd.DataFrame:
    frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value
    return frame


# --- files ---------------------------------------------------------------------------


@case("missing_interactions")
def _(root: Path) -> str:
    write_dataset(root)
    (root / "interactions.csv").unlink()
    return "interactions.csv: file not found"


@case("missing_users")
def _(root: Path) -> str:
    write_dataset(root)
    (root / "users.csv").unlink()
    return "users.csv: file not found"


@case("empty_file")
def _(root: Path) -> str:
    write_dataset(root)
    (root / "interactions.csv").write_bytes(b"")
    return "interactions.csv: the file is empty"


@case("header_only")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.iloc[:0])
    return "interactions.csv: the file has no data rows"


@case("wrong_delimiter")
def _(root: Path) -> str:
    write_dataset(root)
    base_tables()["interactions"].to_csv(root / "interactions.csv", index=False, sep=";")
    return "separated by ';'"


@case("tab_in_csv")
def _(root: Path) -> str:
    write_dataset(root)
    base_tables()["items"].to_csv(root / "items.csv", index=False, sep="\t")
    return "items.csv: the file looks separated by tabs"


@case("garbage_bytes_csv")
def _(root: Path) -> str:
    write_dataset(root)
    noise = np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (root / "interactions.csv").write_bytes(noise)
    return "interactions.csv: the file is binary, not CSV text"


@case("garbage_bytes_parquet")
def _(root: Path) -> str:
    write_dataset(root, fmt="parquet")
    noise = np.random.default_rng(4).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (root / "items.parquet").write_bytes(noise)
    return "items.parquet: cannot read the file as Parquet"


@case("parquet_that_is_csv")
def _(root: Path) -> str:
    write_dataset(root, fmt="parquet")
    base_tables()["interactions"].to_csv(root / "interactions.parquet", index=False)
    return "interactions.parquet: the file is CSV text, not Parquet; rename it to .csv"


@case("csv_that_is_parquet")
def _(root: Path) -> str:
    write_dataset(root)
    base_tables()["users"].to_parquet(root / "users.csv", index=False)
    return "users.csv: the file is Parquet, not CSV; rename it to .parquet"


@case("data_path_is_directory")
def _(root: Path) -> str:
    write_dataset(root)
    (root / "items.csv").unlink()
    (root / "items.csv").mkdir()
    return "items.csv: is a directory, not a file"


@case("path_traversal")
def _(root: Path) -> str:
    _config(root, config_text(data=DATA.replace('"users.csv"', '"../../etc/passwd"')))
    return "../../etc/passwd: unknown file type"


@case("unknown_suffix")
def _(root: Path) -> str:
    _config(root, config_text(data=DATA.replace('"items.csv"', '"items.xlsx"')))
    return "items.xlsx: unknown file type"


@case("duplicate_header")
def _(root: Path) -> str:
    write_dataset(root)
    text = (root / "users.csv").read_text(encoding="utf-8")
    (root / "users.csv").write_text(text.replace("segment", "age", 1), encoding="utf-8")
    return "users.csv: column 'age' appears 2 times in the header"


@case("utf16_csv")
def _(root: Path) -> str:
    write_dataset(root)
    text = (root / "items.csv").read_text(encoding="utf-8")
    (root / "items.csv").write_bytes(text.encode("utf-16"))
    return "items.csv: the file is UTF-16 text; save it as UTF-8"


# --- config --------------------------------------------------------------------------


@case("config_not_utf8")
def _(root: Path) -> str:
    write_dataset(root)
    text = "# Données de démonstration\n" + config_text()
    (root / "config.toml").write_bytes(text.encode("latin-1"))
    return "config.toml: the file is not UTF-8"


@case("config_bad_toml")
def _(root: Path) -> str:
    _config(root, config_text() + "\n[model\nseed = 1\n")
    return "config.toml: not valid TOML"


@case("config_empty")
def _(root: Path) -> str:
    _config(root, "")
    return "missing required key 'data'"


@case("config_is_directory")
def _(root: Path) -> str:
    write_dataset(root)
    (root / "config.toml").unlink()
    (root / "config.toml").mkdir()
    return "config.toml: is a directory, not a config file"


@case("unknown_config_key")
def _(root: Path) -> str:
    _config(root, config_text(extra=SETTINGS.replace("per_user", "per_usr")))
    return "unknown key 'candidates.per_usr' (did you mean 'per_user'?)"


@case("weights_all_zero")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace("weight = 1.0", "weight = 0.0")
                              .replace("weight = 0.5", "weight = 0.0")))
    return "every task weight is 0"


@case("weight_inf")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace("weight = 0.5", "weight = inf")))
    return "task 'revenue'.weight: input should be a finite number"


@case("weight_nan")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace("weight = 0.5", "weight = nan")))
    return "task 'revenue'.weight: input should be a finite number"


@case("weight_negative")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace("weight = 0.5", "weight = -1.0")))
    return "task 'revenue'.weight: input should be greater than or equal to 0 (got -1.0)"


@case("given_self")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace('given = "click"', 'given = "purchase"')))
    return "task 'purchase': given = 'purchase' names the task itself"


@case("given_cycle")
def _(root: Path) -> str:
    tasks = TASKS.replace('kind = "binary"\nweight = 1.0\n\n',
                          'kind = "binary"\nweight = 1.0\ngiven = "purchase"\n\n', 1)
    _config(root, config_text(tasks=tasks))
    return "form a cycle"


@case("given_unknown")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace('given = "click"', 'given = "clik"')))
    return "given = 'clik' is not a task (did you mean 'click'?)"


@case("given_regression")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace('given = "click"', 'given = "revenue"')))
    return "given a binary parent; got binary given regression"


@case("duplicate_task_names")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace('name = "revenue"', 'name = "click"')))
    return "task names must be unique, repeated: click"


@case("split_too_large")
def _(root: Path) -> str:
    _config(root, config_text(extra=SETTINGS + "\n[split]\ntest_fraction = 0.5\n"
                                               "validation_fraction = 0.45\n"))
    return "test_fraction + validation_fraction must leave at least 10%"


@case("bad_task_kind")
def _(root: Path) -> str:
    _config(root, config_text(tasks=TASKS.replace('kind = "regression"', 'kind = "regresion"')))
    return "task 'revenue'.kind: input should be 'binary', 'regression' or 'rank'"


@case("item_title_without_items")
def _(root: Path) -> str:
    _config(root, config_text(data=DATA.replace('items = "items.csv"\n', "")))
    return "data.item_title = 'title' needs an items file"


# --- columns -------------------------------------------------------------------------


@case("missing_timestamp_column")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.rename(columns={"timestamp": "time_stamp"}))
    return "column 'timestamp' (required) is missing (did you mean 'time_stamp'?)"


@case("missing_label_column")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.drop(columns="revenue"))
    return "column 'revenue' (label of task 'revenue') is missing"


@case("missing_context_column")
def _(root: Path) -> str:
    _config(root, config_text(data=DATA + 'context = ["devise"]\n'))
    return "column 'devise' (context) is missing (did you mean 'device'?)"


@case("reserved_window_column")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(window="x"))
    return "column 'window' is reserved"


@case("items_without_id")
def _(root: Path) -> str:
    _edit(root, "items", lambda f: f.rename(columns={"item_id": "id"}))
    return "items.csv: column 'item_id' (id) is missing"


# --- values --------------------------------------------------------------------------


@case("label_nan")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [3, 9], "click", np.nan))
    return "column 'click': label must be a finite number, found nan"


@case("label_inf")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [5], "revenue", np.inf))
    return "column 'revenue': label must be a finite number, found inf"


@case("label_overflows_float32")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [7], "revenue", 1e300))
    return "column 'revenue': label is beyond the float32 range"


@case("attribute_overflows_float32")
def _(root: Path) -> str:
    _edit(root, "items", lambda f: _set(f, [2], "price", -1e300))
    return "items.csv: column 'price': value is beyond the float32 range"


@case("binary_one_two")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(click=f["click"] + 1))
    return "column 'click': label must be 0 or 1 for a binary task, found 2 in"


@case("label_text")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [4], "revenue", "high"))
    return "column 'revenue': label must be numeric, found 'high' in 1 row, e.g. row 5"


@case("label_na_text")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [4], "revenue", "n/a"))
    return "empty or NA cells read as nan"


@case("timestamp_unparseable")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [10], "timestamp", "yesterday"))
    return "cannot parse timestamps"


@case("timestamp_year_2999")
def _(root: Path) -> str:
    def change(f: pd.DataFrame) -> pd.DataFrame:
        text = pd.to_datetime(f["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
        return f.assign(timestamp=text.where(f.index != 12, "2999-01-01T00:00:00"))

    _edit(root, "interactions", change)
    return "out of range (after 2262-04-11) in 1 row, e.g. row 13"


@case("timestamp_milliseconds")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(timestamp=f["timestamp"] * 1000))
    return "unix milliseconds"


@case("timestamp_future")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [20, 21], "timestamp", 4_102_444_800))
    return "in the future"


@case("null_ids")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [6], "user_id", None))
    return "column 'user_id': ids must not be empty"


@case("duplicate_user_ids")
def _(root: Path) -> str:
    _edit(root, "users", lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True))
    return "users.csv: column 'user_id': ids must be unique"


@case("unknown_items")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: _set(f, [8], "item_id", "ghost"))
    return "1 item id is not in items.csv"


@case("child_without_parent")
def _(root: Path) -> str:
    def change(f: pd.DataFrame) -> pd.DataFrame:
        row = int(np.flatnonzero(f["click"].to_numpy() == 0)[0])
        f.loc[row, "purchase"] = 1
        return f

    _edit(root, "interactions", change)
    return "task 'purchase' is conditional on task 'click' but is positive where 'click' is not"


# --- split ---------------------------------------------------------------------------


@case("single_timestamp")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(timestamp=START))
    return "window"


@case("one_class_task")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(purchase=0, revenue=0.0))
    return "binary task 'purchase' has only class 0"


@case("single_user")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(user_id="u00"))
    return "only one user"


@case("single_item")
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: f.assign(item_id="i00"))
    return "only one item"


# --- warnings ------------------------------------------------------------------------


@case("cp1252_csv", warning=True)
def _(root: Path) -> str:
    tables = base_tables()
    tables["items"]["title"] = [f"Café crème {k} – €" for k in range(len(tables["items"]))]
    write_dataset(root, tables)
    text = (root / "items.csv").read_text(encoding="utf-8")
    (root / "items.csv").write_bytes(text.encode("cp1252"))
    return "items.csv: the file is not UTF-8; read it as cp1252"


@case("duplicate_exposures", warning=True)
def _(root: Path) -> str:
    _edit(root, "interactions", lambda f: pd.concat([f, f.iloc[[30, 31, 60]]]).sort_index())
    return "3 duplicate exposures"


@case("per_user_above_catalogue", warning=True)
def _(root: Path) -> str:
    _config(root, config_text(extra=SETTINGS.replace("per_user = 5", "per_user = 50")))
    return "candidates.per_user = 50 is more than the 8 items"


@case("odd_column_names", warning=True)
def _(root: Path) -> str:
    tables = base_tables()
    tables["items"] = tables["items"].rename(columns={"price": "price[USD]"})
    tables["items"]["{weird}: \"x\", y"] = np.arange(len(tables["items"])) % 2
    tables["users"] = tables["users"].rename(columns={"age": "age,years"})
    tables["interactions"] = tables["interactions"].rename(columns={"device": "device:type"})
    write_dataset(root, tables)
    return ""


def write_corpus(out: str | Path, *, warnings: bool = True) -> list[Path]:
    """Write every case into ``out/<case>/``; return the case directories, sorted."""
    out = Path(out)
    cases = {**ERRORS, **(WARNINGS if warnings else {})}
    dirs = []
    for name, fn in sorted(cases.items()):
        root = out / name
        root.mkdir(parents=True, exist_ok=False)
        expect = fn(root)
        (root / "expect.txt").write_text(expect + "\n", encoding="utf-8")
        dirs.append(root)
    return dirs


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/data/bad/make_corpus.py OUTDIR")
    written = write_corpus(sys.argv[1])
    print(f"wrote {len(written)} datasets to {sys.argv[1]}")  # noqa: T201
