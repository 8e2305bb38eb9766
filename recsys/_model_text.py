"""A structural check of LightGBM model text, done in Python before LightGBM reads it.

LightGBM parses the trees of a model string in parallel (OpenMP) and a malformed tree
there ends the whole process with ``std::terminate`` (exit code 134) instead of raising
``LightGBMError``: a Streamlit server would die with it. So before handing text to
``lightgbm.Booster`` we check, cheaply, everything that parser and prediction rely on:
the header, the ``tree_sizes`` offsets, and in every tree the fields, their lengths and
number formats, feature and child indices, and that the nodes form one tree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = ["check_model_text"]

_NUM = rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)"
_FLOATS = re.compile(rb"(?:%s)(?: (?:%s))*" % (_NUM, _NUM))
_INTS = re.compile(rb"-?\d{1,10}(?: -?\d{1,10})*")
_Num = TypeVar("_Num", np.int64, np.float64)
_HEADER = ("version", "num_class", "num_tree_per_iteration", "max_feature_idx", "objective",
           "feature_names", "feature_infos")
_END = b"\nend of trees\n"
_TRAILER = re.compile(rb"\n(?:feature_importances:\n(?:[^\n=]+=\d+\n)*)?"
                      rb"\n?parameters:\n(?:\[\w+: [^\n]*\]\n)*\n?end of parameters\n"
                      rb"\n?pandas_categorical:null\n?")
"""What LightGBM writes after the trees (parameters are informational; never parsed)."""
_MAX_TREE_FIELDS = 22
"""LightGBM reads at most this many ``key=value`` lines of a tree."""


class _Bad(ValueError):
    """One problem, worded for "file '...' is not a valid LightGBM model: <problem>"."""


def check_model_text(data: bytes, *, objective: str, feature_names: Sequence[str]) -> str:
    """Check a LightGBM text model and return the part LightGBM should read.

    Parameters
    ----------
    data : bytes
        The model file's bytes (offsets in ``tree_sizes`` count bytes).
    objective : str
        The LightGBM objective the manifest records for the model.
    feature_names : sequence of str
        The project's feature names, in column order.

    Returns
    -------
    str
        The header and the trees up to ``end of trees``: everything prediction needs. The
        trailer (feature importances, training parameters) is checked but not passed on.

    Raises
    ------
    ValueError
        The first reason LightGBM could fail or abort on ``data``.
    """
    if not data.startswith(b"tree\n"):
        raise _Bad("it does not start with LightGBM's 'tree' line")
    if b"\r" in data or b"\x00" in data:
        raise _Bad("it contains carriage returns or NUL bytes")
    first, end = data.find(b"\nTree="), data.find(_END)
    if first < 0 or end < first:
        raise _Bad("it has no trees or no 'end of trees' line (truncated?)")
    if not _TRAILER.fullmatch(data, end + len(_END)):
        raise _Bad("the feature importances or parameters after 'end of trees' are damaged")
    _check(data, first, end, objective, [re.sub(r"\s", "_", n) for n in feature_names])
    try:
        return data[:end + len(_END)].decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad("it is not UTF-8 text") from None


def _check(data: bytes, first: int, end: int, objective: str, names: list[str]) -> None:
    header = _header(data[5:first + 1])
    got = header["feature_names"].decode("utf-8", "replace").split(" ")
    if got != names:
        k = next((k for k, (a, b) in enumerate(zip(got, names, strict=False)) if a != b),
                 min(len(got), len(names)))
        model = repr(got[k]) if k < len(got) else "missing"
        project = repr(names[k]) if k < len(names) else "missing"
        raise _Bad(f"its {len(got)} feature names are not the project's {len(names)}: "
                   f"feature {k} is {model} in the model but {project} in the project")
    n_feat = len(names)
    if header["max_feature_idx"] != str(n_feat - 1).encode() or \
            len(header["feature_infos"].split(b" ")) != n_feat:
        raise _Bad(f"'max_feature_idx' or 'feature_infos' do not fit its {n_feat} features")
    if header["num_class"] != b"1" or header["num_tree_per_iteration"] != b"1":
        raise _Bad("it must have num_class=1 and num_tree_per_iteration=1")
    if header["objective"].split(b" ")[0] != objective.encode():
        raise _Bad(f"its objective is not '{objective}', as the manifest says")
    for i, block in enumerate(_blocks(data[first + 1:end + 1], header.get("tree_sizes"))):
        _tree(block, i, n_feat)


def _header(text: bytes) -> dict[str, bytes]:
    fields: dict[str, bytes] = {}
    for line in text.split(b"\n"):
        if not line:
            continue
        key, sep, value = line.partition(b"=")
        if not sep:
            raise _Bad(f"header line {_show(line)} is not key=value")
        fields[key.decode("utf-8", "replace")] = value
    missing = [k for k in _HEADER if k not in fields]
    if missing:
        raise _Bad(f"its header has no {', '.join(repr(k) for k in missing)}")
    return fields


def _blocks(trees: bytes, sizes_text: bytes | None) -> list[bytes]:
    """Split the trees' text into one block per tree.

    The cuts are at the ``tree_sizes`` offsets, as LightGBM does, or before each
    ``Tree=`` line when the model has no ``tree_sizes``.
    """
    if sizes_text is None:
        starts = [0, *(m.start() + 1 for m in re.finditer(rb"\nTree=", trees))]
        return [trees[a:b] for a, b in zip(starts, [*starts[1:], len(trees)], strict=True)]
    if not _INTS.fullmatch(sizes_text):
        raise _Bad("'tree_sizes' is not a list of integers")
    sizes = [int(s) for s in sizes_text.split(b" ")]
    if min(sizes) <= 0 or sum(sizes) != len(trees):
        raise _Bad(f"'tree_sizes' add up to {sum(sizes)} bytes but its trees take "
                   f"{len(trees)} (edited or truncated)")
    offsets = np.cumsum([0, *sizes]).tolist()
    return [trees[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def _tree(block: bytes, i: int, n_feat: int) -> None:
    lines = block.split(b"\n")
    if lines[0] != b"Tree=%d" % i:
        raise _Bad(f"tree {i} does not start with the line 'Tree={i}' (got {_show(lines[0])})")
    fields: dict[str, bytes] = {}
    for k, line in enumerate(lines[1:], start=1):
        if not line:
            if any(lines[k:]):
                raise _Bad(f"tree {i}: unexpected text after the tree's blank line")
            break
        key, sep, value = line.partition(b"=")
        if not sep or len(fields) == _MAX_TREE_FIELDS:
            raise _Bad(f"tree {i}: line {_show(line)} is not one of its key=value fields")
        fields[key.decode("utf-8", "replace")] = value
    else:
        raise _Bad(f"tree {i} does not end with a blank line (truncated?)")
    tree = _Fields(fields, i)
    n_leaves, n_cat = tree.scalar("num_leaves"), tree.scalar("num_cat")
    if n_leaves < 1 or n_cat < 0:
        raise _Bad(f"tree {i}: num_leaves must be >= 1 and num_cat >= 0")
    tree.floats("leaf_value", n_leaves)
    tree.floats("leaf_weight", n_leaves, required=False)
    tree.ints("leaf_count", n_leaves, required=False)
    if fields.get("is_linear", b"0") != b"0":
        raise _Bad(f"tree {i}: linear trees are not supported")
    if "shrinkage" in fields:
        tree.floats("shrinkage", 1)
    if n_leaves == 1:
        return
    n = n_leaves - 1
    split = tree.ints("split_feature", n)
    if split.min() < 0 or split.max() >= n_feat:
        raise _Bad(f"tree {i}: a split feature index is outside 0..{n_feat - 1}")
    threshold = tree.floats("threshold", n)
    decision = tree.ints("decision_type", n)
    if decision.min() < 0 or decision.max() > 15 or np.any((decision >> 2) & 3 == 3):
        raise _Bad(f"tree {i}: 'decision_type' holds an unknown value")
    for name in ("split_gain", "internal_value", "internal_weight"):
        tree.floats(name, n, required=False)
    tree.ints("internal_count", n, required=False)
    _shape(tree.ints("left_child", n), tree.ints("right_child", n), n_leaves, i)
    categorical = (decision & 1) == 1
    if n_cat == 0:
        if categorical.any():
            raise _Bad(f"tree {i}: a categorical split but num_cat=0")
        return
    bounds = tree.ints("cat_boundaries", n_cat + 1)
    if bounds[0] != 0 or np.any(np.diff(bounds) < 0):
        raise _Bad(f"tree {i}: 'cat_boundaries' must rise from 0")
    bits = tree.ints("cat_threshold", int(bounds[-1]))
    if bits.size and (bits.min() < 0 or bits.max() >= 1 << 32):
        raise _Bad(f"tree {i}: 'cat_threshold' holds a value outside 32 bits")
    cats = threshold[categorical]
    if np.any((cats < 0) | (cats >= n_cat) | (cats != np.floor(cats))):
        raise _Bad(f"tree {i}: a categorical split points outside its {n_cat} category sets")


class _Fields:
    """A tree's ``key=value`` fields, parsed on demand and checked."""

    def __init__(self, fields: dict[str, bytes], i: int) -> None:
        self.fields, self.i = fields, i

    def scalar(self, key: str) -> int:
        return int(self.ints(key, 1)[0])

    def ints(self, key: str, n: int, *, required: bool = True) -> NDArray[np.int64]:
        return self._parse(key, n, np.int64, required=required)

    def floats(self, key: str, n: int, *, required: bool = True) -> NDArray[np.float64]:
        return self._parse(key, n, np.float64, required=required)

    def _parse(self, key: str, n: int, dtype: type[_Num], *, required: bool) -> NDArray[_Num]:
        """``n`` space-separated values of field ``key`` (none if absent and not required)."""
        raw = self.fields.get(key)
        if raw is None:
            if required:
                raise _Bad(f"tree {self.i}: field '{key}' is missing")
            return np.zeros(0, dtype=dtype)
        if n == 0 and raw == b"":
            return np.zeros(0, dtype=dtype)
        integer = dtype is np.int64
        if not (_INTS if integer else _FLOATS).fullmatch(raw):
            raise _Bad(f"tree {self.i}: field '{key}' is not a list of "
                       f"{'integers' if integer else 'numbers'}")
        values = np.array(raw.split(b" "), dtype=dtype)
        if values.size != n:
            raise _Bad(f"tree {self.i}: field '{key}' has {values.size} values, expected {n}")
        return values


def _shape(left: NDArray[np.int64], right: NDArray[np.int64], n_leaves: int, i: int) -> None:
    """Check that ``left`` and ``right`` form one tree.

    Children point inside the tree, every node but the root is a child exactly once, and
    every node is reachable from the root (so there is no cycle).
    """
    children = np.concatenate([left, right]).astype(np.int64)
    inner, leaves = children[children >= 0], ~children[children < 0]
    ok = (inner.size == n_leaves - 2 and leaves.size == n_leaves
          and np.array_equal(np.sort(inner), np.arange(1, n_leaves - 1))
          and np.array_equal(np.sort(leaves), np.arange(n_leaves)))
    if ok:
        seen, todo = 1, [0]
        while todo:
            node = todo.pop()
            for child in (int(left[node]), int(right[node])):
                if child >= 0:
                    seen += 1
                    todo.append(child)
        ok = seen == n_leaves - 1
    if not ok:
        raise _Bad(f"tree {i}: 'left_child' / 'right_child' do not form one tree of "
                   f"{n_leaves} leaves")


def _show(line: bytes) -> str:
    text = line[:40].decode("utf-8", "replace")
    return repr(text + ("..." if len(line) > 40 else ""))
