"""Where any catalogue item stands for a user ("why not this item?").

Is it among the user's candidates, and which source proposed it; its blended score and
the rank it takes among the candidates at a blend; and the rules that keep it out of the
user's list, each as a plain sentence:

- ``history``: the user already had a positive on the exclusion label before the test
  window (:func:`recsys.candidates.exclusion_label`), so it is never proposed again;
- ``flag``: an analyst flagged it bad or irrelevant for this user or for every user
  (:meth:`recsys.projectlog.ProjectLog.flags`);
- ``not_proposed``: no candidate source proposed it (the sources ranked other items
  higher, or found too few).

>>> project.standing("u00042", "i0007").to_dict()   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from recsys.candidates import SEEN, SOURCES, exclusion_label
from recsys.projectlog import EXCLUDING_KINDS, Flag, FlagSet

if TYPE_CHECKING:
    from recsys.blend import BlendSpec
    from recsys.project import Project

__all__ = ["Exclusion", "ExclusionRule", "ItemStanding", "item_standing"]

ExclusionRule = Literal["history", "flag", "not_proposed"]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One rule that keeps an item out of a user's list."""

    rule: ExclusionRule
    """``history`` (an earlier positive on the exclusion label), ``flag`` (flagged bad or
    irrelevant) or ``not_proposed`` (no candidate source proposed it)."""
    reason: str
    """The rule as it applies here, in one plain sentence."""


@dataclass(frozen=True, slots=True)
class ItemStanding:
    """Where one catalogue item stands for one user at one blend."""

    user_id: str
    item_id: str
    title: str
    candidate: bool
    """Whether the item is among the user's candidates (what the lists rank)."""
    source: str | None
    """The candidate source that proposed it (:data:`recsys.candidates.SOURCES`); ``None``
    for a non-candidate."""
    score: float
    """Blended score: a candidate's stored score (what ``recommend`` ranks by); any other
    item scored live through the models at the same blend."""
    rank: int
    """1-based rank the score takes among the user's candidates, flagged-out ones left
    aside: a candidate's place in the list, another item's place if it were scored
    against the candidates (an equal score ranks after the ones already there)."""
    k: int
    """Length of the list (K)."""
    n_candidates: int
    """The user's candidates the rank is taken among (this item excluded)."""
    exclusions: tuple[Exclusion, ...]
    """Rules keeping the item out of the list; empty if nothing does."""

    @property
    def in_top_k(self) -> bool:
        """Whether :attr:`rank` is inside the top-K."""
        return self.rank <= self.k

    @property
    def listed(self) -> bool:
        """Whether the item shows in the user's list.

        That is, a candidate in the top-K that no rule keeps out.
        """
        return self.candidate and self.in_top_k and not self.exclusions

    def reasons(self) -> list[str]:
        """Return the exclusions' sentences."""
        return [e.reason for e in self.exclusions]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"user_id": self.user_id, "item_id": self.item_id, "title": self.title,
                "candidate": self.candidate, "source": self.source, "score": self.score,
                "rank": self.rank, "k": self.k, "in_top_k": self.in_top_k,
                "listed": self.listed, "n_candidates": self.n_candidates,
                "excluded_by": [{"rule": e.rule, "reason": e.reason}
                                for e in self.exclusions]}


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _history_rule(project: Project, user_id: str, item_id: str) -> Exclusion | None:
    """Say whether the user had a pre-test positive on the exclusion label for this item."""
    label = exclusion_label(project.manifest["config"]["candidates"].get("exclude"),
                            project.tasks)
    if label is None:
        return None
    hist = project.user_history(user_id, n=sys.maxsize)  # every pre-test exposure
    rows = hist[hist["item_id"].astype(str) == item_id]
    if label != SEEN:
        if label not in rows:  # a label no task learns is not kept in the history
            return None
        rows = rows[rows[label].to_numpy(dtype=np.float64) > 0]
    if rows.empty:
        return None
    when = f"{_times(len(rows))}, last on {rows['timestamp'].max():%Y-%m-%d}"
    if label == SEEN:
        return Exclusion("history", f"The user was already shown this item before the test "
                                    f"window ({when}); items a user has seen are never "
                                    "proposed again.")
    return Exclusion("history", f"The user already had a positive '{label}' on this item "
                                f"before the test window ({when}); items with an earlier "
                                f"'{label}' positive are never proposed again.")


def _flag_reason(flag: Flag) -> Exclusion:
    who = "every user" if flag.user_id is None else "this user"
    note = f" (note: \"{flag.note}\")" if flag.note else ""
    return Exclusion("flag", f"Flagged '{flag.kind}' for {who} on {flag.created_at[:10]}"
                             f"{note}: flagged items are kept out of the lists and out of "
                             "the next training's candidates.")


def _flags_on(flags: FlagSet, user_id: str, item_id: str) -> list[Flag]:
    """Return the excluding flags in force on this item for this user (or every user)."""
    return [f for f in flags.flags if f.item_id == item_id and f.kind in EXCLUDING_KINDS
            and f.user_id in (None, user_id)]


def _before(flag: Flag, created_at: str) -> bool:
    """Whether ``flag`` was set before the project was trained (so candidates left it out)."""
    try:
        return dt.datetime.fromisoformat(flag.created_at) <= dt.datetime.fromisoformat(created_at)
    except (TypeError, ValueError):
        return False


def _not_proposed(n_found: int, per_user: int) -> Exclusion:
    if n_found >= per_user:
        why = f"all {per_user} candidate slots went to items the sources ranked higher"
    else:
        why = f"the sources found {n_found} items for this user, not this one"
    return Exclusion("not_proposed", f"No candidate source proposed this item: {why}.")


def item_standing(project: Project, user_id: object, item_id: object, spec: BlendSpec, *,
                  flags: FlagSet) -> ItemStanding:
    """Where ``item_id`` stands for ``user_id`` at ``spec`` (see :class:`ItemStanding`).

    Parameters
    ----------
    project : Project
        A loaded project.
    user_id, item_id : str
        Any user and any catalogue item; unknown ids raise :class:`SchemaError`.
    spec : BlendSpec
        The blend (weights, transform, K).
    flags : FlagSet
        The flags in force (``project.log().flags()``).
    """
    u, code = project.user_code(user_id), project.item_code(item_id)
    uid, iid = str(user_id), str(item_id)
    codes, scores = project.candidate_scores(uid, weights=spec)
    flagged = project.item_ids().get_indexer(sorted(flags.excluded_for(uid)))
    listable = ~np.isin(codes, flagged[flagged >= 0])
    at = np.flatnonzero(codes == code)
    slots = project.candidates()[u]
    if at.size:  # its place in the list: ties keep candidate order, as top-K does
        j = int(at[0])
        score = float(scores[j])
        later = scores[j + 1:][listable[j + 1:]]
        rank = spec.rank_of(score, scores[:j][listable[:j]]) + int(np.count_nonzero(later > score))
        source: str | None = SOURCES[int(project.candidate_sources()[u][slots == code][0])]
        others = int(listable.sum()) - int(listable[j])
    else:
        rows = project.score_rows(project.features_for(uid, [iid]).X, spec)
        score = float(rows.blended[0])
        rank, source, others = spec.rank_of(score, scores[listable]), None, int(listable.sum())
    on = _flags_on(flags, uid, iid)
    exclusions = [_flag_reason(f) for f in on]
    if not at.size:  # say why the candidates left it out
        history = _history_rule(project, uid, iid)
        exclusions = ([history] if history else []) + exclusions
        created = str(project.manifest.get("created_at", ""))
        if history is None and not any(_before(f, created) for f in on):
            exclusions.append(_not_proposed(int(codes.size), slots.size))
    return ItemStanding(user_id=uid, item_id=iid, title=project.title(code),
                        candidate=bool(at.size), source=source, score=score, rank=rank,
                        k=spec.k, n_candidates=others, exclusions=tuple(exclusions))
