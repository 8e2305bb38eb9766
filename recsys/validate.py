"""Check raw tables against the dataset contract, reporting every problem at once.

Each problem is one line naming the file, the column and up to three example rows
(1-based data rows, as in the file) with the offending values. All checks are
vectorised, so millions of rows take seconds. The id, timestamp and label columns are
converted on the way (ids to ``str``, timestamps to naive ``datetime64[ns]``, labels to
``float64``) and handed back, so :func:`recsys.data.load_dataset` parses them only once.
Conversions live in :mod:`recsys._convert`; checks that need the time split (empty
windows, no labelled training rows, one-class training labels) live in
:mod:`recsys.data`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys._convert import NS_MAX, NS_MIN, Times, to_floats, to_ids, to_timestamps, unit_hint
from recsys.config import ProjectConfig, TaskConfig

__all__ = ["CheckedTables", "SourceTable", "check_tables", "validate_tables"]

_CORE = ("user_id", "item_id", "timestamp")
_RESERVED = "window"
_TIME_HINT = "expected a datetime, unix seconds or ISO-8601 text"
_F32_LIMIT = 1e38
"""Largest magnitude accepted in a label or numeric attribute: features are float32
(max 3.4e38), and a difference of two such values must stay finite."""
_RANGE_RULE = "is beyond the float32 range the models use (|value| <= 1e+38)"


@dataclass(frozen=True, slots=True, eq=False)
class SourceTable:
    """A named table."""

    name: str
    """How problems name the file: its path as written in the config."""
    frame: pd.DataFrame
    """The rows, in file order."""


@dataclass(frozen=True, slots=True, eq=False)
class CheckedTables:
    """What :func:`check_tables` found: every problem and the converted tables."""

    problems: tuple[str, ...]
    """One line per problem; empty when the tables meet the contract."""
    interactions: pd.DataFrame | None
    """File-ordered ``user_id`` and ``item_id`` (categorical over sorted str ids),
    ``timestamp`` (naive datetime64[ns]), labels (float64) and the raw context columns,
    each only if present; ``None`` if there is no interactions table."""
    users: SourceTable | None
    """The users table, ``user_id`` categorical like above; ``None`` if absent or id-less."""
    items: SourceTable | None
    """The items table, ``item_id`` categorical like above; ``None`` if absent or id-less."""
    context_columns: tuple[str, ...]
    """Resolved context columns of the interactions."""


def validate_tables(
    config: ProjectConfig,
    interactions: SourceTable | None,
    users: SourceTable | None = None,
    items: SourceTable | None = None,
    *,
    source: str = "config.toml",
) -> list[str]:
    """Every way the tables break the contract, one line each (empty if none).

    See :func:`check_tables` for the parameters.
    """
    return list(check_tables(config, interactions, users, items, source=source).problems)


def check_tables(
    config: ProjectConfig,
    interactions: SourceTable | None,
    users: SourceTable | None = None,
    items: SourceTable | None = None,
    *,
    source: str = "config.toml",
) -> CheckedTables:
    """Validate the raw tables and convert their ids, timestamps and labels.

    Parameters
    ----------
    config : ProjectConfig
        The parsed configuration.
    interactions, users, items : SourceTable or None
        Raw tables; ``None`` when not configured or not readable (reported elsewhere).
    source : str
        Name of the configuration file in messages.

    Returns
    -------
    CheckedTables
        All problems found (deduplicated, in discovery order) and the converted tables,
        which are complete only when there are no problems.
    """
    problems = _check_config(config, source)
    users = _entity(users, "user_id", {}, problems)
    extra = {c: f"data.{k}" for k, c in _item_columns(config).items()}
    items = _entity(items, "item_id", extra, problems)
    frame: pd.DataFrame | None = None
    context: tuple[str, ...] = ()
    if interactions is not None:
        frame, context = _interactions(config, interactions, problems)
        for tab, col in ((users, "user_id"), (items, "item_id")):
            if tab is not None and col in frame:
                _members(interactions.name, col, frame[col], tab, problems)
        _conditional(config, interactions.name, frame, problems)
    return CheckedTables(tuple(dict.fromkeys(problems)), frame, users, items, context)


# --- formatting ----------------------------------------------------------------------


def _short(value: object) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return "null"
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(pd.Timestamp(value))
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 30 else text[:27] + "..."


def _found(values: pd.Series, mask: np.ndarray) -> str:
    """Up to three distinct offending values (``2, 3``)."""
    distinct = pd.unique(values.iloc[np.flatnonzero(mask)[:10_000]])
    shown = [f"{v:g}" if isinstance(v, float | np.floating) else _short(v) for v in distinct[:3]]
    return ", ".join(shown) + (", ..." if len(distinct) > 3 else "")


def _where(mask: np.ndarray, values: pd.Series | list[str] | None = None) -> str:
    """``in 3 rows, e.g. rows 5, 9, 12 (values 2.0, 2.0, 2.0)`` for the True rows of mask."""
    rows = np.flatnonzero(mask)
    head = rows[:3]
    n, s = len(rows), "s" if len(head) > 1 else ""
    text = f"in {n} row{'s' if n != 1 else ''}, e.g. row{s} " + ", ".join(str(r + 1) for r in head)
    if isinstance(values, pd.Series):
        values = [_short(v) for v in values.iloc[head]]
    if values is not None:
        text += f" (value{s} {', '.join(values)})"
    return text


def _missing(name: str, column: str, role: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    return f"{name}: column '{column}' ({role}) is missing{hint}; the file has: {shown}"


# --- time checks -------------------------------------------------------------------


def _check_times(name: str, raw: pd.Series, times: Times, problems: list[str]) -> None:
    where = f"{name}: column 'timestamp'"
    if times.unparseable.any():
        problems.append(
            f"{where}: cannot parse timestamps ({_TIME_HINT}) {_where(times.unparseable, raw)}"
        )
    for mask, side in ((times.late, f"after {NS_MAX:%Y-%m-%d}"),
                       (times.early, f"before {NS_MIN:%Y-%m-%d}")):
        if mask.any():
            problems.append(
                f"{where}: timestamps out of range ({side}) {_where(mask, raw)}; "
                f"{unit_hint(times.numbers, mask)}correct or remove those rows"
            )
    limit = pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)
    future = (times.values > limit).to_numpy()
    if future.any():
        problems.append(
            f"{where}: timestamps in the future (after {limit:%Y-%m-%d %H:%M} UTC, a day from "
            f"now) {_where(future, times.values)}; they would stretch the time split, so "
            "remove or correct them"
        )


# --- checks --------------------------------------------------------------------------


def _item_columns(config: ProjectConfig) -> dict[str, str]:
    cols = {"item_title": config.data.item_title, "item_category": config.data.item_category}
    return {k: v for k, v in cols.items() if v is not None}


def _labels(config: ProjectConfig) -> dict[str, str]:
    """Label column -> role text, in task order."""
    out: dict[str, str] = {}
    for t in config.tasks:
        out.setdefault(t.label, f"label of task '{t.name}'")
    return out


def _check_config(config: ProjectConfig, source: str) -> list[str]:
    problems = []
    if config.data.items is None:
        for key, col in _item_columns(config).items():
            problems.append(f"{source}: data.{key} = '{col}' needs an items file; set data.items")
    labels = _labels(config)
    for t in config.tasks:
        if t.label in _CORE or t.label == _RESERVED:
            problems.append(f"{source}: task '{t.name}': label '{t.label}' is a reserved column")
    for col in config.data.context or []:
        if col in _CORE or col in labels or col == _RESERVED:
            role = labels.get(col, "a reserved column")
            problems.append(f"{source}: data.context lists '{col}', which is {role}; remove it")
    return problems


def _entity(
    table: SourceTable | None, id_col: str, extra: dict[str, str], problems: list[str]
) -> SourceTable | None:
    """Check a users/items table; return it with ``str`` ids (``None`` if it has none)."""
    if table is None:
        return None
    name, frame = table.name, table.frame
    columns = [str(c) for c in frame.columns]
    for col, role in {id_col: "id", **extra}.items():
        if col not in frame:
            problems.append(_missing(name, col, role, columns))
    skip = {id_col, *extra}
    _check_numbers(name, frame, [c for c in columns if c not in skip], problems)
    if id_col not in frame:
        return None
    ids = _checked_ids(name, frame[id_col], problems)
    codes = pd.Series(ids.codes)
    dup = (codes.duplicated(keep=False) & (codes >= 0)).to_numpy()
    if dup.any():
        n = codes[dup].nunique()
        problems.append(
            f"{name}: column '{id_col}': ids must be unique, {n} repeated {_where(dup, pd.Series(ids))}"
        )
    return SourceTable(name, frame.assign(**{id_col: ids}))


def _checked_ids(name: str, raw: pd.Series, problems: list[str]) -> pd.Categorical:
    ids = to_ids(raw)
    null = np.asarray(ids.codes) < 0
    if null.any():
        problems.append(
            f"{name}: column '{raw.name}': ids must not be empty, found null {_where(null)}"
        )
    return ids


def _interactions(
    config: ProjectConfig, table: SourceTable, problems: list[str]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Check ids, timestamps and labels; return the converted columns and the context."""
    name, raw = table.name, table.frame
    columns = [str(c) for c in raw.columns]
    labels = _labels(config)
    context = config.data.context
    if context is None:
        context = [c for c in columns if c not in _CORE and c not in labels and c != _RESERVED]
    wanted = dict.fromkeys(_CORE, "required") | labels | dict.fromkeys(context, "context")
    for col, role in wanted.items():
        if col not in raw:
            problems.append(_missing(name, col, role, columns))
    if raw.empty:
        problems.append(f"{name}: the file has no data rows")
    if _RESERVED in raw:
        problems.append(f"{name}: column '{_RESERVED}' is reserved for the time split; rename it")
    out: dict[str, pd.Series | np.ndarray] = {}
    for col in ("user_id", "item_id"):
        if col in raw:
            out[col] = _checked_ids(name, raw[col], problems)
            _one_id(name, col, out[col], problems)
    if "timestamp" in raw:
        times = to_timestamps(raw["timestamp"])
        out["timestamp"] = times.values
        _check_times(name, raw["timestamp"], times, problems)
    for col in labels:
        if col in raw:
            out[col] = _label_values(name, col, raw[col], problems)
            for task in config.tasks:
                if task.label == col:
                    _label_kind(name, task, out[col], problems)
    frame = pd.DataFrame(out, index=raw.index)
    present = [col for col in context if col in raw]
    _check_numbers(name, raw, present, problems)
    for col in present:
        frame[col] = raw[col]
    return frame, tuple(context)


def _one_id(name: str, col: str, ids: pd.Categorical, problems: list[str]) -> None:
    """Report a single distinct user (or item): it leaves nothing to learn."""
    if len(ids.categories) == 1 and bool((np.asarray(ids.codes) >= 0).all()):
        what = col.removesuffix("_id")
        problems.append(
            f"{name}: column '{col}': only one {what} ({ids.categories[0]!r}) in all "
            f"{len(ids)} rows; a recommender needs at least 2 users and 2 items to learn "
            f"from: add the interactions of other {what}s"
        )


def _label_values(name: str, col: str, raw: pd.Series, problems: list[str]) -> np.ndarray:
    values, nonnum = to_floats(raw)
    where = f"{name}: column '{col}'"
    if nonnum.any():
        found = _found(raw, nonnum)
        problems.append(f"{where}: label must be numeric, found {found} {_where(nonnum, raw)}")
    nonfinite = ~np.isfinite(values) & ~nonnum
    if nonfinite.any():
        as_series = pd.Series(values)
        found = _found(as_series, nonfinite)
        missing = np.isnan(values[nonfinite]).any()
        hint = "; empty or NA cells read as nan: fill them in or drop those rows" if missing else ""
        problems.append(
            f"{where}: label must be a finite number, found {found} "
            f"{_where(nonfinite, as_series)}{hint}"
        )
    _check_range(f"{where}: label", values, problems)
    return values


def _check_range(where: str, values: np.ndarray, problems: list[str], *,
                 infinite: bool = False) -> None:
    """Report finite values (and, if ``infinite``, infinities) float32 features cannot hold."""
    with np.errstate(invalid="ignore"):
        bad = np.abs(values) > _F32_LIMIT
    if not infinite:
        bad &= np.isfinite(values)
    if bad.any():
        series = pd.Series(values)
        problems.append(
            f"{where} {_RANGE_RULE}, found {_found(series, bad)} {_where(bad, series)}; "
            "rescale the column or correct those rows"
        )


def _check_numbers(name: str, frame: pd.DataFrame, columns: list[str],
                   problems: list[str]) -> None:
    """Numeric attribute or context columns must fit float32 features (empty = missing)."""
    for col in columns:
        dtype = frame[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            values = frame[col].to_numpy(dtype="float64", na_value=np.nan)
            _check_range(f"{name}: column '{col}': value", values, problems, infinite=True)


def _label_kind(name: str, task: TaskConfig, values: np.ndarray, problems: list[str]) -> None:
    finite = np.isfinite(values)
    if task.kind == "binary":
        bad = finite & (values != 0) & (values != 1)
        rule = "must be 0 or 1 for a binary task"
    elif task.kind == "rank":
        bad = finite & ((values < 0) | (values != np.floor(values)))
        rule = "must be a non-negative integer for a rank task"
    else:
        return
    if bad.any():
        vals = pd.Series(values)
        problems.append(
            f"{name}: column '{task.label}': label {rule}, found {_found(vals, bad)} "
            f"{_where(bad, vals)}"
        )


def _members(name: str, col: str, ids: pd.Series, table: SourceTable, problems: list[str]) -> None:
    """Report interactions whose id is missing from the users/items table."""
    known = ids.cat.categories.astype(object)
    found = pd.Index(table.frame[col].cat.categories.astype(object))
    missing = found.get_indexer(known) < 0
    codes = ids.cat.codes.to_numpy()
    unknown = (codes >= 0) & missing[codes]
    if unknown.any():
        n, what = int(missing.sum()), col.removesuffix("_id")
        problems.append(
            f"{name}: column '{col}': {n} {what} id{'s are' if n != 1 else ' is'} not in "
            f"{table.name} {_where(unknown, ids)}; add them to {table.name} or drop those rows"
        )


def _conditional(
    config: ProjectConfig, name: str, frame: pd.DataFrame, problems: list[str]
) -> None:
    tasks = {t.name: t for t in config.tasks}
    for child in config.tasks:
        parent = tasks.get(child.given or "")
        if parent is None or child.label not in frame or parent.label not in frame:
            continue
        c, p = frame[child.label].to_numpy(), frame[parent.label].to_numpy()
        bad = (c > 0) & np.isfinite(p) & ~(p > 0)
        if bad.any():
            shown = [
                f"{child.label}={float(c[i])!r}/{parent.label}={float(p[i])!r}"
                for i in np.flatnonzero(bad)[:3]
            ]
            problems.append(
                f"{name}: column '{child.label}': task '{child.name}' is conditional on task "
                f"'{parent.name}' but is positive where '{parent.label}' is not, "
                f"{_where(bad, shown)}; set it to 0 there or fix '{parent.label}'"
            )
