"""Convert raw id, timestamp and label columns, marking the values that fail.

Used by :mod:`recsys.validate`, which turns the failure masks into messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["NS_MAX", "NS_MIN", "Times", "to_floats", "to_ids", "to_timestamps", "unit_hint"]

NS_MIN, NS_MAX = pd.Timestamp.min, pd.Timestamp.max
"""The range of ``datetime64[ns]``: 1677-09-21 to 2262-04-11."""


def to_ids(raw: pd.Series) -> pd.Categorical:
    """Ids as a categorical over sorted ``str`` ids; null or empty ids get code -1.

    Only the distinct values are converted to text (integral floats without ``.0``), so
    integer ids cost one integer factorisation.
    """
    codes, uniques = pd.factorize(raw)
    distinct = pd.Series(uniques)
    if isinstance(distinct.dtype, pd.CategoricalDtype):
        distinct = distinct.astype(object)
    if pd.api.types.is_float_dtype(distinct.dtype):
        v = distinct.to_numpy(dtype="float64", na_value=np.nan)
        if bool(np.all(v == np.round(v))):
            distinct = distinct.astype("Int64")
    text = distinct.astype("str")
    integral = text.str.fullmatch(r"-?\d+(\.0+)?")
    if bool(integral.all()) and bool(text.str.contains(".", regex=False).any()):
        text = text.str.replace(r"\.0+$", "", regex=True)  # "101.0" in a CSV reads as 101
    text_codes, categories = pd.factorize(text.mask(text == ""), sort=True)
    codes = np.where(codes < 0, -1, text_codes[codes])
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype="str"))


def _from_unix(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, unit="s", errors="coerce")


@dataclass(frozen=True, slots=True, eq=False)
class Times:
    """Converted timestamps and the masks of the values that failed."""

    values: pd.Series
    """Naive ``datetime64[ns]`` (UTC for zone-aware input), NaT where a mask is set."""
    unparseable: np.ndarray
    late: np.ndarray
    """After ``pandas.Timestamp.max`` (2262-04-11), the end of nanosecond time."""
    early: np.ndarray
    """Before ``pandas.Timestamp.min`` (1677-09-21)."""
    numbers: np.ndarray | None
    """The values as unix seconds, if the column holds numbers."""


def to_timestamps(raw: pd.Series) -> Times:
    """Convert a timestamp column; tell unparseable values from out-of-range ones."""
    dtype = raw.dtype
    numbers = None
    if isinstance(dtype, pd.DatetimeTZDtype):
        t = raw.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(dtype):
        t = raw
    elif pd.api.types.is_bool_dtype(dtype):
        t = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    elif pd.api.types.is_numeric_dtype(dtype):
        numbers = raw.to_numpy(dtype="float64", na_value=np.nan)
        t = _from_unix(raw)
    else:
        text = raw.astype("str")
        sample = pd.to_numeric(text.dropna().head(1000), errors="coerce")
        if sample.notna().mean() > 0.5:
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
            t = _from_unix(pd.Series(numbers, index=raw.index))
        else:
            t = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            t = t.dt.tz_localize(None)
    nat = t.isna().to_numpy()
    late, early = np.zeros(len(t), bool), np.zeros(len(t), bool)
    if numbers is not None:  # a number too large for any datetime is out of range
        over = nat & np.isfinite(numbers)
        late, early = over & (numbers > 0), over & (numbers < 0)
    if t.dtype != "datetime64[ns]":  # coarser units reach beyond the datetime64[ns] range
        late |= (t > NS_MAX).to_numpy()
        early |= (t < NS_MIN).to_numpy()
    bad = nat & ~late & ~early
    t = t.mask(bad | late | early).astype("datetime64[ns]")
    return Times(t, bad, late, early, numbers)


def unit_hint(numbers: np.ndarray | None, mask: np.ndarray) -> str:
    """Return a hint such as ``the values look like unix milliseconds ...; `` when they do.

    The hint is empty when the typical value looks like unix seconds or ``numbers`` is None.
    """
    if numbers is None:
        return ""
    typical = float(np.median(np.abs(numbers[mask])))
    for low, unit, factor in ((1e17, "nanoseconds", "1e9"), (1e14, "microseconds", "1e6"),
                              (1e11, "milliseconds", "1000")):
        if typical >= low:
            return f"the values look like unix {unit}, not seconds (divide by {factor}); "
    return ""


def to_floats(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels as float64 and the mask of non-numeric values."""
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(raw), bool)
    num = pd.to_numeric(raw.astype(object), errors="coerce")
    values = num.to_numpy(dtype="float64", na_value=np.nan)
    return values, np.isnan(values) & raw.notna().to_numpy()
