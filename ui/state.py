"""Session-state keys, URL state, the current view and every cache wrapper of the dashboard.

Projects load once per server (``st.cache_resource``: shared, never mutated). Results
over every user (evaluations, the sweep, segments) and the user and item tables are shared
per project stamp with ``st.cache_resource`` too: computed once per weight setting and
never copied on a rerun (at 400k users a copy per rerun costs more than the page); small
per-user frames use ``st.cache_data``. The
current weights, transform, K, user, item and page live in ``st.session_state`` and
in the URL query string, so a copied link reproduces the view.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from recsys.blend import TRANSFORM_LABELS
from recsys.errors import ArtifactError
from recsys.tasks import TaskSpec
from ui.text import md_escape, md_lines

if TYPE_CHECKING:
    from explain import BlendedAttribution, GlobalImportance, PairwiseAttribution, WhatIf
    from recsys._manifest import Manifest
    from recsys.evaluate import Evaluation, Sweep
    from recsys.health import ModelHealth
    from recsys.project import Project
    from recsys.projectlog import Flag, FlagSet, RunEntry

# -- session-state keys ---------------------------------------------------------------------
PROJECT = "project"
"""Sidebar selectbox: name of the loaded project (a directory under the artifacts root)."""
TRANSFORM = "transform"
K = "k"
WEIGHT = "weight_"
"""Prefix of the per-task weight sliders: ``weight_<task>``."""
USER = "user"
"""Selected user id (plain state, shared by the pages; widgets copy into it)."""
ITEM = "item"
"""Selected item id on the Explain page."""
ITEM_USER = "_item_user"
"""The user :data:`ITEM` was picked for (a new user starts from their top item)."""
RANKINGS = "rankings"
"""``{user: (signature, item ids, previous item ids)}`` for the moved-up/down markers."""
URL_SEEN = "_url_seen"
URL_PENDING = "_url_pending"
REPORT = "_report"
"""The last report built in this session: (project stamp, request, file and preview)."""
NOTICE = "_notice"
"""A one-off message shown on the next run (e.g. after a callback)."""
SHOW_FLAGGED = "show_flagged"
"""Sidebar toggle: list items flagged bad or irrelevant (greyed, marked) instead of hiding them."""
FLAG_NOTICE = "_flag_notice"
"""``(kind, message)`` of the last flag write, shown once beside the flag controls."""
URL_EXTRA = "_url_extra"
"""``(page, {parameter: value})``: what one page adds to the link (the What-if edits)."""
WHATIF_PAIR = "_whatif_pair"
"""(project stamp, user, item) the What-if form holds values for (a new pair starts over)."""

TRANSFORMS: dict[str, str] = dict(TRANSFORM_LABELS)
"""Transform kind -> label (:data:`recsys.blend.TRANSFORM_LABELS`)."""
W_MAX, W_STEP, K_MAX = 5.0, 0.1, 100
W_LIMIT = 100.0
"""Largest weight the dashboard accepts (typed or in a link); sliders stretch to it."""
ENV_ARTIFACTS = "BLENDSCOPE_ARTIFACTS"
ENV_READ_ONLY = "BLENDSCOPE_READ_ONLY"
"""Set to ``1`` (or ``true``/``yes``/``on``) on a shared server: no training, no uploads,
no scenario saving or deleting; browsing only."""
_TRUE = frozenset({"1", "true", "yes", "on"})


ENV_REQUIRE_LOGIN = "BLENDSCOPE_REQUIRE_LOGIN"
"""Set to ``1`` to show nothing until the visitor logs in (``st.login``, OIDC configured
in ``.streamlit/secrets.toml`` ``[auth]``)."""


def read_only() -> bool:
    """Whether the dashboard runs read-only (``$BLENDSCOPE_READ_ONLY``, read on every run)."""
    return os.environ.get(ENV_READ_ONLY, "").strip().lower() in _TRUE


def login_required() -> bool:
    """Whether visitors must log in first (``$BLENDSCOPE_REQUIRE_LOGIN``)."""
    return os.environ.get(ENV_REQUIRE_LOGIN, "").strip().lower() in _TRUE


# -- projects -------------------------------------------------------------------------------
def artifacts_root() -> Path:
    """Directory holding the projects: ``$BLENDSCOPE_ARTIFACTS`` (relative to the working
    directory), else ``artifacts/`` beside ``app.py``."""
    env = os.environ.get(ENV_ARTIFACTS)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "artifacts"


def artifacts_label() -> str:
    """How pages name the artifacts folder: its own name only, never the server's full
    path (a shared dashboard must not show where it runs)."""
    return f"{artifacts_root().name}/"


def list_projects(root: Path | None = None) -> list[str]:
    """Names of the sub-directories of the artifacts root that hold a ``manifest.json``."""
    root = root or artifacts_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if not p.name.startswith(".") and (p / "manifest.json").is_file())


def project_stamp(path: Path) -> str:
    """Cache key of a project on disk: its path and the manifest's modification time."""
    return f"{path.resolve()}@{(path / 'manifest.json').stat().st_mtime_ns}"


@st.cache_data(show_spinner=False, max_entries=16)
def read_manifest(stamp: str) -> Manifest:
    """The typed manifest, schema-checked (cheap: no file is hashed, no model loaded);
    ``ArtifactError`` naming each problem if it is not a valid manifest."""
    from recsys import artifacts

    return artifacts.read_manifest(Path(stamp.rsplit("@", 1)[0]))[0]


@st.cache_resource(show_spinner="Loading the project (models, features, score tables)…",
                   max_entries=2)
def load_project(stamp: str) -> Project:
    """The loaded project, shared by every session: never mutate it."""
    from recsys.project import Project

    return Project.load(stamp.rsplit("@", 1)[0])


@dataclass(frozen=True, slots=True)
class View:
    """What the sidebar selected: the arguments every page passes to the API."""

    name: str
    stamp: str
    tasks: tuple[TaskSpec, ...]
    weights: tuple[tuple[str, float], ...]
    transform: str
    k: int

    def weights_dict(self) -> dict[str, float]:
        """``{task: weight}``."""
        return dict(self.weights)

    def default_weights(self) -> tuple[tuple[str, float], ...]:
        """The config's weights."""
        return tuple((t.name, float(t.weight)) for t in self.tasks)

    def task_names(self) -> list[str]:
        """Task names in config order."""
        return [t.name for t in self.tasks]

    def project(self) -> Project:
        """The loaded project (cached, shared)."""
        return load_project(self.stamp)

    def manifest(self) -> Manifest:
        """The project's manifest, typed."""
        return read_manifest(self.stamp)


def describe(stamp: str) -> tuple[Manifest, tuple[TaskSpec, ...]]:
    """(manifest, tasks) of a project; ``ValueError`` saying why if it cannot be read."""
    try:
        manifest = read_manifest(stamp)
        tasks = tuple(manifest.tasks)
    except ArtifactError:
        raise  # one line per problem, naming the project (never its server path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        where = Path(stamp.rsplit("@", 1)[0]).name
        raise ValueError(f"project '{where}': manifest.json is unreadable or of another "
                         f"format ({type(err).__name__}); retrain the project") from None
    return manifest, tasks


def task_label(task: TaskSpec) -> str:
    """Slider label (Markdown): the task name, "(minimised)" for minimised tasks."""
    name = md_escape(task.name)
    return f"{name} (minimised)" if task.direction == "minimize" else name


def current_view() -> View | None:
    """The view set by the sidebar, or ``None`` when no project is loaded."""
    ss = st.session_state
    name = ss.get(PROJECT)
    if not name or name not in list_projects():
        return None
    stamp = project_stamp(artifacts_root() / name)
    try:
        tasks = describe(stamp)[1]
    except ValueError:
        return None
    weights = tuple((t.name, round(float(ss.get(WEIGHT + t.name, t.weight)), 1)) for t in tasks)
    return View(name=name, stamp=stamp, tasks=tasks, weights=weights,
                transform=ss.get(TRANSFORM, "zscore"), k=int(ss.get(K, 10)))


def reset_view(name: str | None = None) -> None:
    """Forget the weights, transform, K, user and item (a project switch); with ``name``,
    also select that project (only from a callback, before the sidebar is drawn)."""
    ss = st.session_state
    for key in [k for k in ss if str(k).startswith(WEIGHT)]:
        del ss[key]
    for key in (TRANSFORM, K, USER, ITEM, ITEM_USER, RANKINGS):
        ss.pop(key, None)
    ss[URL_PENDING] = {}
    if name is not None:
        ss[PROJECT] = name


# -- URL state ------------------------------------------------------------------------------
def restore_url() -> bool:
    """On a session's first run, keep the query string for the widgets' initial values.

    Returns ``True`` on that first run.
    """
    ss = st.session_state
    if ss.get(URL_SEEN):
        return False
    ss[URL_SEEN] = True
    ss[URL_PENDING] = st.query_params.to_dict()
    for key in (USER, ITEM):
        if key in ss[URL_PENDING] and key not in ss:
            ss[key] = ss[URL_PENDING][key]
    return True


def url_value(key: str) -> str | None:
    """A value of the query string the session opened with (``None`` if absent)."""
    value = st.session_state.get(URL_PENDING, {}).get(key)
    return None if value is None else str(value)


def parse_weight(text: str | None, default: float) -> float:
    """A weight from the URL, snapped to the slider grid; ``default`` if unusable."""
    try:
        w = float(text) if text is not None else default
    except ValueError:
        return default
    return round(round(min(max(w, 0.0), W_LIMIT) / W_STEP) * W_STEP, 1) if w == w else default


def slider_max(weight: float) -> float:
    """A weight slider's range: 0–5, stretched to hold a larger weight (typed or linked)."""
    return max(W_MAX, float(math.ceil(weight)))


def url_state(view: View | None, page: str) -> dict[str, str]:
    """The query string describing the current view."""
    out = {"page": page}
    if view is None:
        return out
    ss = st.session_state
    out |= {"project": view.name, "transform": view.transform, "k": str(view.k)}
    out |= {f"w_{t}": f"{w:.1f}" for t, w in view.weights}
    for key in (USER, ITEM):
        if ss.get(key):
            out[key] = str(ss[key])
    from ui.scenario_panel import active_name

    scenario = active_name(view)
    if scenario:
        out["scenario"] = scenario
    extra_page, extra = ss.get(URL_EXTRA, ("", {}))
    return out | (extra if extra_page == page else {})


def page_url(page: str, params: Mapping[str, str]) -> None:
    """Put ``params`` in the link while ``page`` is shown (replacing its earlier ones)."""
    st.session_state[URL_EXTRA] = (page, dict(params))


def write_url(view: View | None, page: str) -> None:
    """Mirror the view into ``st.query_params`` (only when it changed)."""
    want = url_state(view, page)
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


# -- cached computations ----------------------------------------------------------------------
Weights = tuple[tuple[str, float], ...]


@st.cache_resource(show_spinner="Evaluating the blend over every user…", max_entries=64)
def evaluation(_project: Project, stamp: str, weights: Weights, transform: str,
               k: int) -> Evaluation:
    """``Project.evaluate`` without intervals (the pages show none), once per weight
    setting; shared and frozen: never mutate it."""
    return _project.evaluate(dict(weights), transform=transform, k=k, intervals=False)


@st.cache_resource(show_spinner="Sweeping the weight simplex (once per project, transform "
                              "and K)…", max_entries=16)
def sweep(_project: Project, stamp: str, transform: str, k: int, steps: int = 11) -> Sweep:
    """``Project.sweep``: the sweep saved with the project (the config's transform and K),
    else computed once per transform and K; shared, never mutate it."""
    return _project.sweep(steps=steps, transform=transform, k=k)


@st.cache_data(show_spinner=False, max_entries=256)
def user_history(_project: Project, stamp: str, user: str, n: int = 20) -> Any:
    """The user's most recent exposures before the test window."""
    return _project.user_history(user, n=n)


@st.cache_resource(show_spinner=False, max_entries=4)
def user_table(_project: Project, stamp: str) -> Any:
    """Users with their categorical attributes (``user_id`` first, as strings); shared,
    never mutate it."""
    from recsys.analysis import user_attributes

    return user_attributes(_project)


@st.cache_resource(show_spinner=False, max_entries=4)
def user_labels(_project: Project, stamp: str) -> dict[str, str]:
    """``{user_id: "user_id · attribute · attribute"}`` for pickers (shared: read only)."""
    users = user_table(_project, stamp).astype(str)
    others = [users[c] for c in users.columns if c != "user_id"]
    labels = users["user_id"].str.cat(others, sep=" · ") if others else users["user_id"]
    return dict(zip(users["user_id"], labels, strict=True))


@st.cache_resource(show_spinner=False, max_entries=64)
def sensitivity(_project: Project, stamp: str, task: str, weights: Weights, transform: str,
                k: int) -> Any:
    """NDCG@K of every task as ``task``'s weight moves over 0..5, the others fixed."""
    from recsys.analysis import sensitivity_frame

    return sensitivity_frame(_project, task, _project.spec(dict(weights), transform=transform,
                                                           k=k))


@st.cache_resource(show_spinner="Evaluating every segment…", max_entries=32)
def segment_table(_project: Project, stamp: str, column: str, weights: Weights,
                  transform: str, k: int) -> Any:
    """Per-segment ranking metrics and mean task contributions (see ``recsys.analysis``),
    once per column and weight setting; shared, never mutate it."""
    from recsys.analysis import segment_frame

    return segment_frame(_project, column, _project.spec(dict(weights), transform=transform,
                                                         k=k))


@st.cache_data(show_spinner=False, max_entries=256)
def explanation(_project: Project, stamp: str, user: str, item: str, weights: Weights,
                transform: str) -> BlendedAttribution:
    """``explain.explain_item`` for one (user, item): only what is on screen."""
    from explain import explain_item

    return explain_item(_project, user, item, weights=dict(weights), transform=transform)


@st.cache_data(show_spinner=False, max_entries=256)
def whatif(_project: Project, stamp: str, user: str, item: str,
           changes: tuple[tuple[str, object], ...], weights: Weights, transform: str) -> WhatIf:
    """``explain.whatif``: the pair rescored, re-ranked and explained after ``changes``."""
    from explain import whatif as compute

    return compute(_project, user, item, changes=dict(changes), weights=dict(weights),
                   transform=transform)


@st.cache_data(show_spinner=False, max_entries=128)
def pair_explanation(_project: Project, stamp: str, user: str, a: str, b: str,
                     weights: Weights, transform: str) -> PairwiseAttribution:
    """``explain.explain_pair``: why ``a`` scores above (or below) ``b``."""
    from explain import explain_pair

    return explain_pair(_project, user, a, b, weights=dict(weights), transform=transform)


def _global_sample(_project: Project, stamp: str, transform: str, n: int) -> GlobalImportance:
    """SHAP of ``n`` sampled test exposures; weight-independent, shared (read-only).

    Waits for :func:`_sample_job` (at once if a prefetch has finished it); a failed
    computation is forgotten, so the next run tries again.
    """
    job = _sample_job(_project, stamp, transform, n)
    try:
        if job.done():
            return job.result()  # type: ignore[no-any-return]
        with st.spinner("Computing SHAP values on a sample of test exposures…"):
            return job.result()  # type: ignore[no-any-return]
    except Exception:
        for m in {*(m for m in GLOBAL_SAMPLES if m < n), n}:  # the chain it was built on
            _sample_job.clear(_project, stamp, transform, m)
        raise


def global_importance(_project: Project, stamp: str, weights: Weights, transform: str,
                      n: int) -> GlobalImportance:
    """``explain.global_importance`` at these weights: the cached sample, reweighted
    (a slider move recomputes no SHAP value)."""
    return _global_sample(_project, stamp, transform, n).reweight(dict(weights))


GLOBAL_SAMPLES = (500, 1000, 2000)
"""Sample sizes the Global page offers; each sample extends the next smaller one."""
_SHAP_BATCH = 250
"""Rows per TreeSHAP call of a sample: under 256, LightGBM runs on one thread
(``Project.contributions``), leaving the other core to the dashboard."""


def prefetch_global_sample(_project: Project, stamp: str, transform: str, n: int) -> None:
    """Start computing the next larger sample than ``n`` in the background, so choosing it
    takes no SHAP time once the user has looked at the page for a few seconds."""
    bigger = [m for m in GLOBAL_SAMPLES if m > n]
    if bigger:
        _sample_job(_project, stamp, transform, bigger[0])


@st.cache_resource(show_spinner=False, max_entries=1)
def _sample_threads() -> Any:
    """The ``ThreadPoolExecutor`` computing SHAP samples (shared by every session)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="blendscope-shap")


@st.cache_resource(show_spinner=False, max_entries=16)
def _sample_job(_project: Project, stamp: str, transform: str, n: int) -> Any:
    """A ``concurrent.futures.Future`` of the ``n``-row sample, computed once per server on
    :func:`_sample_threads`: the next smaller sample of :data:`GLOBAL_SAMPLES` (its own
    job, submitted first) plus the rows it lacks. A job waits only for jobs submitted
    before it, so the pool cannot deadlock."""
    smaller = [m for m in GLOBAL_SAMPLES if m < n]
    base = _sample_job(_project, stamp, transform, smaller[-1]) if smaller else None
    return _sample_threads().submit(_grow_sample, _project, transform, n, base)


def _grow_sample(project: Project, transform: str, n: int, base: Any) -> GlobalImportance:
    from explain import global_importance as compute

    return compute(project, transform=transform, n=n, batch_size=_SHAP_BATCH,
                   reuse=base.result() if base is not None else None)


@st.cache_resource(show_spinner=False, max_entries=16)
def global_associations(_gi: GlobalImportance, stamp: str, transform: str,
                        n: int) -> tuple[Any, ...]:
    """``explain.feature_associations`` of the ``n``-row sample (weight-independent): a
    tuple of ``explain.FeatureAssociation``."""
    from explain import feature_associations

    return feature_associations(_gi)


@st.cache_resource(show_spinner=False, max_entries=16)
def global_overview(_gi: GlobalImportance, _frame: pd.DataFrame, _labels: Mapping[str, str],
                    stamp: str, transform: str, n: int, target: str, weights: Weights | None,
                    unit: str) -> tuple[Any, Any, Any]:
    """The Global page's (feature bars, group bars, strip) of ``target`` (``_frame``:
    ``_gi.to_frame()``); ``weights`` is None for a task, whose figures do not depend on
    them, so a slider move reuses them. Shared: ``st.plotly_chart`` only reads a figure."""
    from ui.global_view import overview_figures

    return overview_figures(_gi, _frame, target, _labels, unit)


@st.cache_data(show_spinner="Building the report…", max_entries=16)
def report(_project: Project, stamp: str, users: tuple[str, ...], weights: Weights,
           transform: str, k: int, fmt: str, title: str, selection: str,
           segment: tuple[str, str] | None = None, detail: str | None = None,
           top_users: int = 10) -> tuple[bytes, str, str, Any]:
    """(file bytes, file name, media type, recommendations preview frame) of a report;
    ``segment`` (column, value): the users stand for it (its own metrics are shown);
    ``detail``, ``top_users``: the PDF's summary or full mode."""
    from explain.report import (
        MEDIA_TYPES,
        Segment,
        build_report,
        export_report,
        export_tables,
        report_filename,
    )

    rep = build_report(_project, list(users), weights=dict(weights), transform=transform, k=k,
                       title=title, selection=selection,
                       segment=Segment(*segment) if segment is not None else None)
    data = export_report(rep, fmt, detail=detail, top_users=top_users)  # type: ignore[arg-type]
    preview = export_tables(rep)["recommendations"]
    return data, report_filename(rep, fmt), MEDIA_TYPES[fmt], preview  # type: ignore[arg-type]


# -- model health, flags and runs -------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=16)
def health(stamp: str) -> ModelHealth:
    """What :func:`recsys.health.model_health` returns (``ModelHealth.from_dict`` of the
    manifest's ``metrics.health``, recorded at training), read from the manifest alone: no
    model or score table is loaded, so the Model health page and the warnings banner cost
    milliseconds. Shared and frozen: never mutate it. ``ArtifactError`` if absent."""
    from recsys.health import ModelHealth

    recorded = read_manifest(stamp).metrics.health
    if recorded is None:
        name = Path(stamp.rsplit("@", 1)[0]).name
        raise ArtifactError(f"project '{name}' has no model health (trained by an older "
                            "Blendscope); retrain it on the Data page or with `recsys train`")
    return ModelHealth.from_dict(recorded)


def log_version(project: Project) -> tuple[int, ...]:
    """Changes whenever the project's log is written, by any session or the CLI: the cache
    key of the flag and run reads (sizes and times of the SQLite file and its WAL)."""
    path = project.log().path
    out: list[int] = []
    for p in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            st_ = p.stat()
            out += [st_.st_mtime_ns, st_.st_size]
    return tuple(out)


@st.cache_data(show_spinner=False, max_entries=64)
def flag_set(_project: Project, stamp: str, version: tuple[int, ...]) -> FlagSet:
    """The flags in force (``ProjectLog.flags``) at this log ``version``."""
    return _project.log().flags()


@st.cache_data(show_spinner=False, max_entries=16)
def flag_history(_project: Project, stamp: str, version: tuple[int, ...]) -> list[Flag]:
    """Every flag entry, oldest first (``ProjectLog.history``)."""
    return _project.log().history()


@st.cache_resource(show_spinner=False, max_entries=8)
def runs(_project: Project, stamp: str, version: tuple[int, ...]) -> list[RunEntry]:
    """Every recorded training of the project, oldest first (``ProjectLog.runs``); shared
    (each run keeps thousands of users' top-K): never mutate it."""
    return _project.log().runs()


@st.cache_resource(show_spinner=False, max_entries=4)
def item_table(_project: Project, stamp: str) -> Any:
    """``item_id``, ``title`` and (if the dataset names one) ``category`` of every item;
    shared, never mutate it."""
    ids = _project.item_ids()
    out = pd.DataFrame({"item_id": ids.astype(str),
                        "title": [_project.title(c) for c in range(len(ids))]})
    category = _project.item_category()
    items = _project.item_table()
    if category and category in items:
        by_id = dict(zip(items["item_id"].astype(str), items[category].astype(str),
                         strict=True))
        out["category"] = out["item_id"].map(by_id).fillna("—")
    return out


@st.cache_resource(show_spinner=False, max_entries=4)
def item_labels(_project: Project, stamp: str) -> dict[str, str]:
    """``{item_id: "title (item_id)"}`` of the whole catalogue, in item order: the options
    of a picker searchable by title and id (plain text: a selectbox shows it as such);
    shared, read only."""
    return {str(i): f"{_project.title(c)} ({i})" for c, i in enumerate(_project.item_ids())}


@dataclass(frozen=True, slots=True)
class UserLookup:
    """What the user picker needs on every rerun, computed once per project."""

    ids: frozenset[str]
    """Every user id (membership of a linked or remembered user)."""
    levels: Mapping[str, tuple[str, ...]]
    """Sorted values of each user attribute (the filters' options)."""


@st.cache_resource(show_spinner=False, max_entries=4)
def user_lookup(_project: Project, stamp: str) -> UserLookup:
    """The :class:`UserLookup` of :func:`user_table` (shared, frozen)."""
    users = user_table(_project, stamp)
    return UserLookup(ids=frozenset(users["user_id"]),
                      levels={c: tuple(sorted(users[c].unique())) for c in users.columns
                              if c != "user_id"})


# -- small helpers ----------------------------------------------------------------------------
def dropped_items(user: str) -> list[str]:
    """Items of the user's list before the last change that are no longer in it, in their
    old order (see :func:`ranking_moves`, which keeps both lists)."""
    _, last, before = st.session_state.get(RANKINGS, {}).get(user, (None, None, None))
    if not before or not last:
        return []
    now = set(last)
    return [i for i in before if i not in now]


def ranking_moves(user: str, signature: tuple[Any, ...], items: Sequence[str]) -> list[str]:
    """Markers "▲ n" / "▼ n" / "new" of each item versus the ranking before the last change.

    Keeps the previous list of each user in ``st.session_state[RANKINGS]``.
    """
    book = st.session_state.setdefault(RANKINGS, {})
    sig, last, before = book.get(user, (None, None, None))
    if sig != signature:
        before = last
        book[user] = (signature, list(items), before)
    if not before:
        return [""] * len(items)
    where = {item: r for r, item in enumerate(before)}
    out = []
    for r, item in enumerate(items):
        if item not in where:
            out.append("new")
        elif where[item] > r:
            out.append(f"▲ {where[item] - r}")
        elif where[item] < r:
            out.append(f"▼ {r - where[item]}")
        else:
            out.append("")
    return out


def notify(message: str, kind: str = "success") -> None:
    """Show ``message`` on the next run (used from callbacks)."""
    st.session_state[NOTICE] = (kind, message)


def show_notice() -> None:
    """Display (once) a message left by :func:`notify`."""
    kind, message = st.session_state.pop(NOTICE, (None, None))
    if message:
        getattr(st, kind)(md_lines(message))
