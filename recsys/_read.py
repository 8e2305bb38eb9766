"""Read one input table, CSV or Parquet, and say clearly why a file cannot be read.

Before parsing, the first bytes of the file are sniffed, so a Parquet file named
``.csv`` (or the reverse), a gzip file without ``.gz``, UTF-16 text, an empty file or a
directory each get a message with the fix instead of a parser's complaint. CSV is read
as UTF-8; a file that is not UTF-8 is read as Windows-1252 (or Latin-1) with a warning.
"""

from __future__ import annotations

import codecs
import gzip
import logging
from collections.abc import Collection
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from recsys.errors import SchemaError

__all__ = ["read_source", "read_table"]

log = logging.getLogger("recsys.data")

PARQUET = (".parquet", ".pq")
SEPARATORS = {".csv": ",", ".csv.gz": ",", ".tsv": "\t", ".tsv.gz": "\t"}
_NULLS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
"""Text read as missing, as in ``pandas.read_csv``."""
_SEP_NAMES = {",": "commas", "\t": "tabs", ";": "';'", "|": "'|'"}
_LEGACY = {"cp1252": "Windows-1252", "latin-1": "ISO-8859-1"}
_HEAD = 4096


def read_table(
    path: str | Path, *, name: str | None = None, text_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``) or Parquet file.

    Warnings (a file read in a legacy encoding) are logged.

    Parameters
    ----------
    path : str or Path
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
        If the suffix is unknown, the path is missing or a directory, the content is
        not of the suffix's format, or it cannot be parsed.
    """
    frame, notes = read_source(path, name=name, text_columns=text_columns)
    for note in notes:
        log.warning("%s", note)
    return frame


def read_source(
    path: str | Path, *, name: str | None = None, text_columns: Collection[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Like :func:`read_table`, but return the warnings instead of logging them."""
    path = Path(path)
    label = name or path.name
    lower = path.name.lower()
    sep = next((s for suffix, s in SEPARATORS.items() if lower.endswith(suffix)), None)
    if sep is None and not lower.endswith(PARQUET):
        raise SchemaError(
            f"{label}: unknown file type; use .csv, .csv.gz, .tsv, .tsv.gz, .parquet or .pq"
        )
    if path.is_dir():
        raise SchemaError(
            f"{label}: is a directory, not a file; name a .csv or .parquet file in the config"
        )
    if not path.is_file():
        raise SchemaError(f"{label}: file not found (looked for {path})")
    _sniff(path, label, sep, lower.endswith(".gz"))
    notes: list[str] = []
    if sep is None:
        frame = _parquet(path, label)
    else:
        table, encoding = _csv(path, label, sep, text_columns)
        if encoding is not None:
            notes.append(
                f"{label}: the file is not UTF-8; read it as {encoding} ({_LEGACY[encoding]}); "
                "check accented text and save the file as UTF-8 to silence this warning"
            )
        _check_header(label, table.column_names, sep)
        frame = table.to_pandas()
    names = [str(c) for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise SchemaError([
            f"{label}: column '{c}' appears {names.count(c)} times in the header; "
            "give every column a distinct name" for c in repeated
        ])
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # a Parquet file written with an index (e.g. user_id)
    return frame, notes


def _head(path: Path, label: str, gz: bool) -> bytes:
    try:
        if gz:
            with gzip.open(path, "rb") as handle:
                return handle.read(_HEAD)
        with path.open("rb") as handle:
            return handle.read(_HEAD)
    except (OSError, EOFError) as err:
        raise SchemaError(f"{label}: cannot read the file: {_first_line(err)}") from None


def _sniff(path: Path, label: str, sep: str | None, gz: bool) -> None:
    """Refuse an empty file or content that does not match the suffix, naming the fix."""
    if path.stat().st_size == 0:
        raise SchemaError(f"{label}: the file is empty (0 bytes); write the table into it")
    with path.open("rb") as handle:
        magic = handle.read(2)
    if gz and magic != b"\x1f\x8b":
        raise SchemaError(f"{label}: the file is not gzip-compressed; remove the .gz suffix")
    head = _head(path, label, gz)
    if not head:
        raise SchemaError(f"{label}: the file is empty once decompressed; write the table into it")
    kind = "CSV" if sep is not None else "Parquet"
    if head[:4] == b"PAR1" and sep is not None:
        raise SchemaError(f"{label}: the file is Parquet, not CSV; rename it to .parquet")
    if head[:2] == b"\x1f\x8b" and not gz:
        fix = "add .gz to its name" if sep is not None else "decompress it"
        raise SchemaError(f"{label}: the file is gzip-compressed; {fix}")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SchemaError(f"{label}: the file is UTF-16 text; save it as UTF-8")
    if sep is None and head[:4] != b"PAR1" and _looks_like_text(head):
        raise SchemaError(f"{label}: the file is CSV text, not Parquet; rename it to .csv")
    if sep is not None and b"\x00" in head:
        raise SchemaError(f"{label}: the file is binary, not {kind} text; check the path")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8", errors="strict")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # a character cut at the end of the sample is fine
            return False
        text = head[: err.start].decode("utf-8")
    return "\n" in text and any(sep in text for sep in _SEP_NAMES) and "\x00" not in text


def _parquet(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise SchemaError(f"{label}: cannot read the file as Parquet: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def _csv(
    path: Path, label: str, sep: str, text_columns: Collection[str]
) -> tuple[pa.Table, str | None]:
    """Parse the file; return the table and the legacy encoding used (None for UTF-8)."""
    try:
        table = _parse(path, label, sep, text_columns, "utf8")
        if not any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
            return table, None
    except _NotUtf8:
        pass
    encoding = _legacy_encoding(path)
    return _parse(path, label, sep, text_columns, encoding), encoding


class _NotUtf8(Exception):
    """The CSV reader met bytes that are not UTF-8."""


def _parse(path: Path, label: str, sep: str, text_columns: Collection[str],
           encoding: str) -> pa.Table:
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(text_columns, pa.large_string()),
        null_values=_NULLS, strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(
            str(path), read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=sep), convert_options=convert,
        )
    except (OSError, ValueError, pa.ArrowException) as err:
        utf8 = isinstance(err, UnicodeDecodeError) or "UTF8" in str(err)
        if utf8 and encoding == "utf8":
            raise _NotUtf8 from None
        raise SchemaError(f"{label}: cannot read the file as CSV: {_first_line(err)}") from None
    nulls = [i for i, t in enumerate(table.schema.types) if pa.types.is_null(t)]
    for i in nulls:  # an all-empty column reads as float64 NaN, as in pandas
        table = table.set_column(i, table.field(i).with_type(pa.float64()),
                                 table.column(i).cast(pa.float64()))
    return table


def _legacy_encoding(path: Path) -> str:
    """``cp1252`` if every byte decodes as Windows-1252, else ``latin-1`` (never fails)."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _check_header(label: str, names: list[str], sep: str) -> None:
    """Refuse a one-column header holding another separator: the wrong separator was used."""
    if len(names) != 1:
        return
    header = names[0]
    found = next((s for s in _SEP_NAMES if s != sep and s in header), None)
    if found is None:
        return
    shown = header if len(header) <= 60 else header[:57] + "..."
    if found == "\t":
        fix = "rename it to .tsv"
    elif found == "," and sep == "\t":
        fix = "rename it to .csv"
    else:
        fix = f"save it separated by {_SEP_NAMES[sep]}"
    raise SchemaError(
        f"{label}: the file looks separated by {_SEP_NAMES[found]} (header {shown!r}), but a "
        f"{'.tsv' if sep == chr(9) else '.csv'} file is read as separated by {_SEP_NAMES[sep]}; "
        f"{fix}"
    )
