"""Load the dataset that ``config.toml`` describes: read, validate, convert, split by time.

:func:`load_dataset` reads every input file, runs all checks of :mod:`recsys.validate`
plus the ones that need the time split (empty windows, one-class training labels) and
raises a single :class:`~recsys.errors.SchemaError` listing every problem. Only a
dataset that meets the contract comes back, as an immutable :class:`Dataset`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys._read import read_source, read_table
from recsys.config import ProjectConfig, SplitConfig, load_config
from recsys.errors import SchemaError
from recsys.validate import SourceTable, check_tables

__all__ = [
    "WINDOWS",
    "Dataset",
    "assign_windows",
    "history_end",
    "load_dataset",
    "read_table",
    "split_bounds",
]

WINDOWS: tuple[str, str, str] = ("train", "validation", "test")
"""Categories of the ``window`` column, oldest first."""

log = logging.getLogger(__name__)

_SORT = ["timestamp", "user_id", "item_id"]
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
    warnings: tuple[str, ...] = ()
    """What loading accepted but warned about (also logged), one line each: a file read
    in a legacy encoding, duplicate exposures, candidates clamped to the catalogue."""


def split_bounds(timestamps: pd.Series, split: SplitConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of the validation and of the test window.

    ``split.by = "events"``: the test window starts at the event time below which
    ``1 - test_fraction`` of the rows fall, the validation window at the time below which
    ``1 - test_fraction - validation_fraction`` fall (rows tied at a boundary go to the
    later window). ``"time"``: with ``span = max - min``, the test window starts at
    ``max - test_fraction * span`` and the validation window ``validation_fraction *
    span`` before that.

    Parameters
    ----------
    timestamps : pandas.Series
        Naive datetime64 values; NaT is ignored.
    split : SplitConfig
        The window fractions and how they are measured.

    Returns
    -------
    tuple of pandas.Timestamp
        ``(val_start, test_start)``.
    """
    if split.by == "events":
        ts = np.sort(timestamps.dropna().to_numpy(dtype="datetime64[ns]"))
        at = lambda share: pd.Timestamp(ts[min(len(ts) - 1, int(len(ts) * share))])  # noqa: E731
        return at(1 - split.test_fraction - split.validation_fraction), \
            at(1 - split.test_fraction)
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
    notes: list[str] = []
    sources, paths, problems = _read_sources(config, root, notes)
    checked = check_tables(config, *sources, source=config_path.name)
    problems.extend(checked.problems)
    frame = checked.interactions
    name = config.data.interactions
    if problems or frame is None:  # the split checks below would only echo these problems
        _log(notes)
        raise SchemaError(list(dict.fromkeys(problems)) or [f"{name}: no interactions to load"])
    bounds = split_bounds(frame["timestamp"], config.split)
    problems = _check_split(config, name, frame, *bounds)
    if problems:
        _log(notes)
        raise SchemaError(problems)
    notes += _duplicate_exposures(name, frame)
    seen_users = frame["user_id"].cat.categories
    seen_items = frame["item_id"].cat.categories
    interactions = _finish_interactions(frame, checked.context_columns, *bounds)
    items = _finish_entity(checked.items, seen_items, "item_id", config.data.item_title)
    config = _clamp_candidates(config, len(items), config_path.name, notes)
    _log(notes)
    return Dataset(
        config=config,
        root=root,
        interactions=interactions,
        users=_finish_entity(checked.users, seen_users, "user_id", None),
        items=items,
        val_start=bounds[0],
        test_start=bounds[1],
        fingerprint=_fingerprint([config_path, *paths]),
        context_columns=checked.context_columns,
        warnings=tuple(notes),
    )


def _log(notes: list[str]) -> None:
    for note in notes:
        log.warning("%s", note)


def _read_sources(
    config: ProjectConfig, root: Path, notes: list[str]
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
            frame, found = read_source(path, name=rel, text_columns=_ID_COLUMNS)
            tables.append(SourceTable(rel, frame))
            notes.extend(found)
            paths.append(path)
        except SchemaError as err:
            problems.extend(err.problems)
            tables.append(None)
    return tables, paths, problems


def _duplicate_exposures(name: str, frame: pd.DataFrame) -> list[str]:
    """Warn if some rows repeat an earlier row's user, item and timestamp."""
    users, items = frame["user_id"].cat, frame["item_id"].cat
    pair = (users.codes.to_numpy(np.int64) * max(1, len(items.categories))
            + items.codes.to_numpy(np.int64))
    ts = frame["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    order = np.lexsort((pair, ts))  # stable: equal rows keep their file order
    same = (pair[order[1:]] == pair[order[:-1]]) & (ts[order[1:]] == ts[order[:-1]])
    rows = np.sort(order[1:][same])  # every repeat after the first
    if not rows.size:
        return []
    n, shown = rows.size, ", ".join(str(r + 1) for r in rows[:3])
    return [
        f"{name}: {n} duplicate exposure{'s' if n != 1 else ''} (same user_id, item_id and "
        f"timestamp as an earlier row), e.g. row{'s' if n != 1 else ''} {shown}; they count "
        "as separate exposures: drop them if they are logging repeats"
    ]


def _clamp_candidates(
    config: ProjectConfig, n_items: int, source: str, notes: list[str]
) -> ProjectConfig:
    """Cap ``candidates.per_user`` at the catalogue size, noting it in ``notes``."""
    per_user = config.candidates.per_user
    if per_user <= n_items:
        return config
    notes.append(
        f"{source}: candidates.per_user = {per_user} is more than the {n_items} items in the "
        f"catalogue; using per_user = {n_items}"
    )
    candidates = config.candidates.model_copy(update={"per_user": n_items})
    return config.model_copy(update={"candidates": candidates})


def _check_split(
    config: ProjectConfig,
    name: str,
    frame: pd.DataFrame,
    val_start: pd.Timestamp,
    test_start: pd.Timestamp,
) -> list[str]:
    """Report problems with the split of ``frame`` into windows.

    Empty windows, no labelled training rows (after the history period) and binary
    labels with one class among them.
    """
    ts = frame["timestamp"]
    codes = np.array(assign_windows(ts, val_start, test_start).codes, dtype=np.int8)
    codes[ts.isna().to_numpy()] = -1
    tmin, tmax = ts.min(), ts.max()
    spans = [f"[{tmin}, {val_start})", f"[{val_start}, {test_start})", f"[{test_start}, {tmax}]"]
    problems = []
    for code, window in enumerate(WINDOWS):
        if not (codes == code).any():
            where = (f" {spans[code]}" if config.split.by == "time" else "")
            problems.append(f"{name}: column 'timestamp': the {window} window{where} has no "
                            f"rows (timestamps run from {tmin} to {tmax}); "
                            + _empty_window_fix(config.split, ts, window))
    if problems:  # with an empty window, the class checks would only echo it
        return problems
    frac = config.features.history_fraction
    start = history_end(ts, val_start, frac, config.split.by)
    train = (codes == 0) & (ts >= start).to_numpy()
    span = f"[{start}, {val_start})"
    if not train.any():
        return [
            f"{name}: column 'timestamp': no training rows to learn from in {span}, after the "
            f"history period (features.history_fraction = {frac} keeps [{tmin}, {start}) "
            "for history only); lower features.history_fraction or add interactions in "
            "that period"
        ]
    tasks = {t.name: t for t in config.tasks}
    for task in config.tasks:
        if task.kind != "binary" or task.label not in frame:
            continue
        rows, among = train, "in the training rows"
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
                f"{among} {span}; it needs both 0 and 1 to learn"
            )
    return problems


def _empty_window_fix(split: SplitConfig, ts: pd.Series, window: str) -> str:
    """Why a window is empty, and the fix that helps."""
    key = "validation_fraction" if window == "validation" else "test_fraction"
    if split.by == "time":
        by_events = split.model_copy(update={"by": "events"})
        codes = assign_windows(ts, *split_bounds(ts, by_events)).codes
        if len(set(np.asarray(codes).tolist())) == len(WINDOWS):
            first, last = ts.quantile(0.01), ts.quantile(0.99)
            return (f"the time span is stretched by a few outlying timestamps or a long gap "
                    f"(98% of the rows fall in [{first}, {last}]); set split.by = \"events\" "
                    "to cut at quantiles of the events, or remove the outliers")
        return f"change split.{key} or add interactions in that period"
    top = ts.value_counts()
    return (f"{int(top.iloc[0])} of {len(ts)} rows share one timestamp, and equal times "
            "cannot be split; give the rows distinct timestamps")


def history_end(timestamps: pd.Series, val_start: pd.Timestamp, fraction: float,
                by: str = "events") -> pd.Timestamp:
    """Return the end of the history period.

    The history period is the first ``fraction`` of the training period
    ``[min, val_start)``, in events (``by="events"``) or in time (``"time"``).

    Rows before it only feed features; labelled training rows start there.
    """
    ts = timestamps.dropna().to_numpy(dtype="datetime64[ns]")
    before = np.sort(ts[ts < np.datetime64(val_start, "ns")])
    if by == "events" and before.size:
        return pd.Timestamp(before[min(before.size - 1, int(before.size * fraction))]) \
            if fraction > 0 else pd.Timestamp(before[0])
    tmin = pd.Timestamp(ts.min()) if ts.size else val_start
    return pd.Timestamp(tmin + (val_start - tmin) * fraction)


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
    """Convert a categorical id column to plain ``str`` (a dictionary take, not a per-row cast)."""
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
