"""A small TOML writer for the shapes ``config.toml`` uses (the standard library only reads).

Tables, arrays of tables and tables inside them; values are strings, integers, finite
floats, booleans and lists of those. Anything else is refused rather than guessed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps_toml"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"toml value '{where}': {value} is not finite; TOML configs here "
                             "hold finite numbers only")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise TypeError(f"toml value '{where}': cannot write {type(value).__name__}; use a string, "
                    "number, boolean or list")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit(path: tuple[str, ...], table: Mapping[str, Any], header: str | None,
          lines: list[str]) -> None:
    if header is not None:
        if lines:
            lines.append("")
        lines.append(header)
    dotted = ".".join(_key(p) for p in path)
    for k, v in table.items():
        if not isinstance(v, Mapping) and not _is_table_array(v):
            lines.append(f"{_key(k)} = {_value(v, '.'.join((*path, k)))}")
    for k, v in table.items():
        sub = f"{dotted}.{_key(k)}" if dotted else _key(k)
        if isinstance(v, Mapping):
            _emit((*path, k), v, f"[{sub}]", lines)
        elif _is_table_array(v):
            for item in v:
                _emit((*path, k), item, f"[[{sub}]]", lines)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """TOML text of ``data`` (keys in their order; ``tomllib.loads`` gives ``data`` back).

    Raises
    ------
    TypeError
        A value of a type TOML configs here do not use (e.g. a date or ``None``).
    ValueError
        A float that is not finite.
    """
    lines: list[str] = []
    _emit((), data, None, lines)
    return "\n".join(lines) + "\n"
