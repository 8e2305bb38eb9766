"""Load the dataset that ``config.toml`` describes: read, validate, convert, split by time.

:func:`load_dataset` reads every input file, runs all checks of :mod:`recsys.validate`
plus the ones that need the time split (empty windows, one-class training labels) and
raises a single :class:`~recsys.errors.SchemaError` listing every problem. Only a
dataset that meets the contract comes back, as an immutable :class:`Dataset`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.config import ProjectConfig, SplitConfig, load_config
from recsys.errors import SchemaError
from recsys.validate import SourceTable, check_tables

__all__ = [
    "WINDOWS",
    "Dataset",
    "assign_windows",
    "load_dataset",
    "read_table",
    "split_bounds",
]

WINDOWS: tuple[str, str, str] = ("train", "validation", "test")
"""Categories of the ``window`` column, oldest first."""

_SORT = ["timestamp", "user_id", "item_id"]
_PARQUET = (".parquet", ".pq")
_SEPARATORS = {".csv": ",", ".csv.gz": ",", ".tsv": "\t", ".tsv.gz": "\t"}
_ID_COLUMNS = ("user_id", "item_id")


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """A validated dataset, split by time. Treat the frames as read-only.

    Compared by identity (``==`` on frames is elementwise); compare ``fingerprint``
    to tell whether two datasets come from the same bytes.
    """

    config: ProjectConfig
    """The parsed ``config.toml``."""
    root: Path
    """Directory of ``config.toml``; input paths are relative to it."""
    interactions: pd.DataFrame
    """``user_id`` and ``item_id`` (str), ``timestamp`` (naive datetime64[ns]), each task
    label (float64), the context columns (category or float64) and ``window`` (category
    of :data:`WINDOWS`); sorted stably by timestamp, user_id, item_id; index 0..n-1."""
    users: pd.DataFrame
    """``user_id`` (str) and attributes (text as category, numbers as float64); without a
    users file, the sorted ids of every user in the interactions."""
    items: pd.DataFrame
    """``item_id`` (str) and attributes like ``users``, the title column kept as str;
    without an items file, the sorted ids of every item in the interactions."""
    val_start: pd.Timestamp
    """First instant of the validation window."""
    test_start: pd.Timestamp
    """First instant of the test window."""
    fingerprint: str
    """SHA-256 hex digest of the config file and every input file, in a fixed order."""
    context_columns: tuple[str, ...]
    """Context columns of the interactions, in file (or configured) order."""


def split_bounds(timestamps: pd.Series, split: SplitConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of the validation and of the test window.

    With ``span = max - min`` of the timestamps, the test window starts at
    ``max - test_fraction * span`` and the validation window starts
    ``validation_fraction * span`` before that.

    Parameters
    ----------
    timestamps : pandas.Series
        Naive datetime64 values; NaT is ignored.
    split : SplitConfig
        The window fractions.

    Returns
    -------
    tuple of pandas.Timestamp
        ``(val_start, test_start)``.
    """
    tmin, tmax = timestamps.min(), timestamps.max()
    span = tmax - tmin
    test_start = tmax - span * split.test_fraction
    return test_start - span * split.validation_fraction, test_start


def assign_windows(
    timestamps: pd.Series, val_start: pd.Timestamp, test_start: pd.Timestamp
) -> pd.Categorical:
    """Label timestamps ``train``, ``validation`` (from ``val_start``) or ``test``.

    Parameters
    ----------
    timestamps : pandas.Series
        Naive datetime64 values.
    val_start, test_start : pandas.Timestamp
        Window boundaries, as from :func:`split_bounds`.

    Returns
    -------
    pandas.Categorical
        Categories :data:`WINDOWS`; NaT falls in ``train``.
    """
    ts = timestamps.to_numpy(dtype="datetime64[ns]")
    codes = (ts >= np.datetime64(val_start, "ns")).astype(np.int8)
    codes += ts >= np.datetime64(test_start, "ns")
    return pd.Categorical.from_codes(codes, categories=list(WINDOWS))


def read_table(
    path: Path, *, name: str | None = None, text_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``) or Parquet file.

    Parameters
    ----------
    path : Path
        The file; its suffix picks the reader.
    name : str, optional
        How messages name the file; default its file name.
    text_columns : collection of str
        CSV columns to read as text (so ids such as ``007`` keep their leading zeros);
        absent ones are ignored.

    Returns
    -------
    pandas.DataFrame
        The rows in file order, index 0..n-1.

    Raises
    ------
    SchemaError
        If the suffix is unknown, the file is missing or it cannot be parsed.
    """
    path = Path(path)
    label = name or path.name
    lower = path.name.lower()
    sep = next((s for suffix, s in _SEPARATORS.items() if lower.endswith(suffix)), None)
    if sep is None and not lower.endswith(_PARQUET):
        raise SchemaError(
            f"{label}: unknown file type; use .csv, .csv.gz, .tsv, .tsv.gz, .parquet or .pq"
        )
    if not path.is_file():
        raise SchemaError(f"{label}: file not found (looked for {path})")
    try:
        if sep is None:
            frame = pd.read_parquet(path)
        else:
            dtype = dict.fromkeys(text_columns, "str")
            frame = pd.read_csv(path, sep=sep, engine="pyarrow", dtype=dtype)
    except (OSError, ValueError, pa.ArrowException) as err:
        detail = (str(err).strip().splitlines() or [type(err).__name__])[0]
        kind = "Parquet" if sep is None else "CSV"
        raise SchemaError(f"{label}: cannot read the file as {kind}: {detail}") from None
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # a Parquet file written with an index (e.g. user_id)
    return frame


def load_dataset(config_path: str | Path) -> Dataset:
    """Load, validate and split the dataset described by ``config.toml``.

    Parameters
    ----------
    config_path : str or Path
        The configuration file; input paths in it are relative to its directory.

    Returns
    -------
    Dataset
        The converted, sorted and split dataset.

    Raises
    ------
    SchemaError
        Listing every problem found, one per line: configuration problems alone if the
        configuration is invalid, otherwise every file, column and split problem.
    """
    config_path = Path(config_path)
    config = load_config(config_path)
    root = config_path.resolve().parent
    sources, paths, problems = _read_sources(config, root)
    checked = check_tables(config, *sources, source=config_path.name)
    problems.extend(checked.problems)
    frame = checked.interactions
    bounds = None
    if frame is not None and "timestamp" in frame and frame["timestamp"].notna().any():
        bounds = split_bounds(frame["timestamp"], config.split)
        problems.extend(_check_split(config, config.data.interactions, frame, *bounds))
    problems = list(dict.fromkeys(problems))
    if problems or frame is None or bounds is None:
        raise SchemaError(problems or [f"{config.data.interactions}: no interactions to load"])
    seen_users = frame["user_id"].cat.categories
    seen_items = frame["item_id"].cat.categories
    interactions = _finish_interactions(frame, checked.context_columns, *bounds)
    title = config.data.item_title
    return Dataset(
        config=config,
        root=root,
        interactions=interactions,
        users=_finish_entity(checked.users, seen_users, "user_id", None),
        items=_finish_entity(checked.items, seen_items, "item_id", title),
        val_start=bounds[0],
        test_start=bounds[1],
        fingerprint=_fingerprint([config_path, *paths]),
        context_columns=checked.context_columns,
    )


def _read_sources(
    config: ProjectConfig, root: Path
) -> tuple[list[SourceTable | None], list[Path], list[str]]:
    """Read interactions, users and items; a missing or unreadable file is a problem."""
    tables: list[SourceTable | None] = []
    paths: list[Path] = []
    problems: list[str] = []
    data = config.data
    for rel in (data.interactions, data.users, data.items):
        if rel is None:
            tables.append(None)
            continue
        path = root / rel
        try:
            tables.append(SourceTable(rel, read_table(path, name=rel, text_columns=_ID_COLUMNS)))
            paths.append(path)
        except SchemaError as err:
            problems.extend(err.problems)
            tables.append(None)
    return tables, paths, problems


def _check_split(
    config: ProjectConfig,
    name: str,
    frame: pd.DataFrame,
    val_start: pd.Timestamp,
    test_start: pd.Timestamp,
) -> list[str]:
    """Report empty windows and binary labels with one class in the training window."""
    ts = frame["timestamp"]
    codes = np.array(assign_windows(ts, val_start, test_start).codes, dtype=np.int8)
    codes[ts.isna().to_numpy()] = -1
    tmin, tmax = ts.min(), ts.max()
    spans = [f"[{tmin}, {val_start})", f"[{val_start}, {test_start})", f"[{test_start}, {tmax}]"]
    problems = []
    for code, window in enumerate(WINDOWS):
        if not (codes == code).any():
            key = "validation_fraction" if window == "validation" else "test_fraction"
            problems.append(
                f"{name}: column 'timestamp': the {window} window {spans[code]} has no rows "
                f"(timestamps run from {tmin} to {tmax}); change split.{key} "
                "or add interactions in that period"
            )
    tasks = {t.name: t for t in config.tasks}
    train = codes == 0
    for task in config.tasks:
        if task.kind != "binary" or task.label not in frame:
            continue
        rows, among = train, "in the training window"
        parent = tasks.get(task.given or "")
        if parent is not None and parent.label in frame:
            rows = train & (frame[parent.label].to_numpy() == 1)
            among = f"among training rows where '{parent.label}' is 1"
        values = frame[task.label].to_numpy()[rows]
        classes = [k for k in (0, 1) if (values == k).any()]
        if len(classes) < 2:
            found = f"only class {classes[0]}" if classes else "no labelled rows"
            problems.append(
                f"{name}: column '{task.label}': binary task '{task.name}' has {found} "
                f"{among} {spans[0]}; it needs both 0 and 1 to learn"
            )
    return problems


def _feature(values: pd.Series) -> pd.Series:
    """Numbers (and booleans) as float64, anything else as category."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return pd.Series(values.to_numpy("float64", na_value=np.nan), index=values.index)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return values
    return values.astype("category")


def _finish_interactions(
    frame: pd.DataFrame, context: tuple[str, ...], val_start: pd.Timestamp, test_start: pd.Timestamp
) -> pd.DataFrame:
    """Typed context, ``window``, str ids; sorted stably by timestamp, user_id, item_id."""
    out = frame.assign(**{col: _feature(frame[col]) for col in context})
    users, items = out["user_id"].cat, out["item_id"].cat
    # categories are sorted, so the codes order like the ids themselves
    pair = users.codes.to_numpy(np.int64) * len(items.categories) + items.codes.to_numpy(np.int64)
    ts = out["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    order = _sort_order(ts, pair, len(users.categories) * len(items.categories))
    if order is not None:
        out = out.take(order)
    out = out.reset_index(drop=True)
    out["user_id"] = _id_strings(out["user_id"])
    out["item_id"] = _id_strings(out["item_id"])
    out["window"] = assign_windows(out["timestamp"], val_start, test_start)
    return out


def _sort_order(ts: np.ndarray, pair: np.ndarray, n_pairs: int) -> np.ndarray | None:
    """Stable order by ``(ts, pair)``; ``None`` if already sorted.

    One stable argsort of a combined key when ``ts`` (divided by its common step) times
    ``n_pairs`` fits in int64, else a two-key lexsort.
    """
    step = np.diff(ts)
    if bool(np.all((step > 0) | ((step == 0) & (np.diff(pair) >= 0)))):
        return None
    offset = ts - ts.min()
    unit = int(np.gcd.reduce(offset)) or 1
    if (int(offset.max()) // unit + 1) * max(n_pairs, 1) < 2**62:
        return np.argsort(offset // unit * n_pairs + pair, kind="stable")
    return np.lexsort((pair, ts))


def _id_strings(ids: pd.Series) -> pd.Series:
    """A categorical id column as plain ``str`` (a dictionary take, not a per-row cast)."""
    categories = pa.array(ids.cat.categories.to_numpy(dtype=object), type=pa.large_string())
    values = categories.take(pa.array(ids.cat.codes.to_numpy()))
    return pd.Series(pd.array(values, dtype="str"), index=ids.index, name=ids.name)


def _finish_entity(
    table: SourceTable | None, seen: pd.Index, id_col: str, title: str | None
) -> pd.DataFrame:
    """Users/items with typed attributes, or ``seen``: the sorted ids of the interactions."""
    if table is None:
        return pd.DataFrame({id_col: pd.Series(seen, dtype="str")})
    frame = table.frame.reset_index(drop=True)
    for col in frame.columns:
        if col == id_col:
            frame[col] = _id_strings(frame[col])
        elif col == title:
            frame[col] = frame[col].astype("str")
        else:
            frame[col] = _feature(frame[col])
    return frame


def _fingerprint(paths: list[Path]) -> str:
    """SHA-256 over each file's size and bytes, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
