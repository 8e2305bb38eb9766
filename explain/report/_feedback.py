"""The feedback report: the analysts' flags in force, counted every way that matters.

By kind, by user segment (each categorical user attribute), by item category, by the
blend weights in view when the flag was set, and the items flagged most, beside the list
of flags itself. Exported by :func:`explain.report.export_feedback`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from explain.report._build import json_safe
from recsys.analysis import user_attributes
from recsys.project import Project
from recsys.projectlog import EXCLUDING_KINDS, Flag

__all__ = ["EVERY_USER", "FLAG_KINDS_SHOWN", "FeedbackReport", "build_feedback_report"]

EVERY_USER = "every user"
"""How a flag on an item for every user is shown in ``user_id``."""
FLAG_KINDS_SHOWN = ("bad", "irrelevant", "never", "good")
"""Kinds of the flags in force, in the order tables show them; ``never`` is an excluding
flag for every user (the item is never recommended)."""
NOT_IN_CATALOGUE = "(not in the catalogue)"
TOP_ITEMS = 20
_FLAG_COLUMNS = ["id", "time", "user_id", "item_id", "title", "category", "kind", "note",
                 "weights", "transform", "scenario", "source"]


def _kind(flag: Flag) -> str:
    return "never" if flag.user_id is None and flag.kind in EXCLUDING_KINDS else flag.kind


def _weights_text(weights: dict[str, float] | Any) -> str:
    return " · ".join(f"{t} {w:g}" for t, w in weights.items()) or "(not recorded)"


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    """Everything the feedback report shows (tables are plain data, never markup)."""

    title: str
    project: str
    created_at: str
    """UTC time the report was built (ISO 8601)."""
    log_entries: int
    """Every entry of the append-only log, clears included."""
    flags: pd.DataFrame
    """One row per flag in force: id, time, user_id (``every user`` for a never-recommend
    flag), item_id, title, category, kind, note, weights (in view when set), transform,
    scenario, source, then ``user <attribute>`` per categorical user attribute."""
    segment_columns: tuple[str, ...]
    """The user attributes counted in :meth:`by_segment`."""

    def counts(self, by: str, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """Count flags per value of column ``by`` (rows) and kind, with a total, largest first."""
        frame = self.flags if frame is None else frame
        cols = [by, *FLAG_KINDS_SHOWN, "total"]
        if frame.empty:
            return pd.DataFrame(columns=cols)
        table = pd.crosstab(frame[by].fillna("—").astype(str), frame["kind"])
        table = table.reindex(columns=list(FLAG_KINDS_SHOWN), fill_value=0)
        table["total"] = table.sum(axis=1)
        table = table.sort_values("total", ascending=False, kind="stable")
        return table.rename_axis(index=by, columns=None).reset_index()[cols]

    def by_kind(self) -> pd.DataFrame:
        """Count flags per kind (every kind listed)."""
        n = self.flags["kind"].value_counts()
        return pd.DataFrame({"kind": list(FLAG_KINDS_SHOWN),
                             "flags": [int(n.get(k, 0)) for k in FLAG_KINDS_SHOWN]})

    def by_segment(self) -> pd.DataFrame:
        """Count per-user flags per (attribute, value) of each categorical user attribute.

        Never-recommend flags apply to every user and are not counted here.
        """
        own = self.flags[self.flags["user_id"] != EVERY_USER]
        parts = []
        for col in self.segment_columns:
            t = self.counts(f"user {col}", own).rename(columns={f"user {col}": "value"})
            t.insert(0, "attribute", col)
            parts.append(t)
        cols = ["attribute", "value", *FLAG_KINDS_SHOWN, "total"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def by_weights(self) -> pd.DataFrame:
        """Count flags per blend weights in view when they were set (transforms seen beside)."""
        t = self.counts("weights")
        seen = self.flags.groupby("weights")["transform"].agg(
            lambda s: ", ".join(sorted(set(s) - {""})))
        t.insert(1, "transform", t["weights"].map(seen).fillna("").astype(str))
        return t

    def top_items(self, n: int = TOP_ITEMS) -> pd.DataFrame:
        """Return the ``n`` items with the most flags.

        Columns: id, title, category, counts per kind, total and the users who flagged them.
        """
        t = self.counts("item_id")
        if t.empty:
            return pd.DataFrame(columns=["item_id", "title", "category", *FLAG_KINDS_SHOWN,
                                         "total", "users"])
        info = self.flags.drop_duplicates("item_id").set_index("item_id")
        own = self.flags[self.flags["user_id"] != EVERY_USER]
        users = own.groupby("item_id")["user_id"].nunique()
        t.insert(1, "title", t["item_id"].map(info["title"]))
        t.insert(2, "category", t["item_id"].map(info["category"]))
        t["users"] = t["item_id"].map(users).fillna(0).astype(int)
        return t.head(n).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return every table by name.

        ``flags``, ``by_kind``, ``by_segment``, ``by_category``, ``by_weights`` (the
        weights and transform in view when set) and ``top_items``.
        """
        return {"flags": self.flags, "by_kind": self.by_kind(), "by_segment": self.by_segment(),
                "by_category": self.counts("category"), "by_weights": self.by_weights(),
                "top_items": self.top_items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form.

        Title, project, created_at, log_entries and every table as a list of records.
        """
        return {"title": self.title, "project": self.project, "created_at": self.created_at,
                "log_entries": self.log_entries,
                **{name: json_safe(df.to_dict(orient="records"))
                   for name, df in self.tables().items()}}


def build_feedback_report(project: Project, *,
                          title: str = "Blendscope feedback report") -> FeedbackReport:
    """Read the project's flag log and gather the flags in force.

    Each flag comes with its item's title and category and its user's attributes.
    """
    log = project.log()
    history, in_force = log.history(), log.flags().flags
    codes = project.item_ids().get_indexer(pd.Index([f.item_id for f in in_force]))
    cat_col = project.item_category()
    items = project.item_table()
    category = (items.set_index(items["item_id"].astype(str))[cat_col]
                if cat_col and cat_col in items else pd.Series(dtype=object))
    rows = [{"id": f.id, "time": f.created_at[:19].replace("T", " "),
             "user_id": f.user_id or EVERY_USER, "item_id": f.item_id,
             "title": project.title(int(c)) if c >= 0 else NOT_IN_CATALOGUE,
             "category": category.get(f.item_id, "—"), "kind": _kind(f), "note": f.note,
             "weights": _weights_text(f.weights), "transform": f.transform,
             "scenario": f.scenario, "source": f.source}
            for f, c in zip(in_force, codes, strict=True)]
    frame = pd.DataFrame(rows, columns=_FLAG_COLUMNS)
    attrs = user_attributes(project)
    seg_cols = tuple(c for c in attrs.columns if c != "user_id")
    attrs = attrs.rename(columns={c: f"user {c}" for c in seg_cols})
    frame = frame.merge(attrs, on="user_id", how="left")
    return FeedbackReport(title=title, project=project.root.name,
                          created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                          log_entries=len(history), flags=frame, segment_columns=seg_cols)
