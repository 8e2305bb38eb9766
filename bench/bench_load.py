"""Dashboard under load: N concurrent browser sessions moving the weight sliders.

For each level N (default 1, 5, 20) the benchmark opens N headless Chromium pages (one
browser, one context per session) on the Recommendations page of a real
``streamlit run app.py``, each with its own user. Every session then moves the weight
sliders one keyboard step at a time towards its own seeded target weights (a new target
when reached) for a fixed time, and times each rerun *in the page*: from the ``keydown``
until the app's script state is ``notRunning``, the status widget no longer says
"Running" and the page's weights caption shows the new weights (a MutationObserver
stamps the moment, so Playwright's polling and the benchmark's own event loop are not
counted). Each session stops at its final weights; the benchmark then reads those
weights back from the page's URL (``w_<task>=``), reads the item ids of the displayed
top-K from the data grid's accessible DOM (glide data grid draws on a canvas but keeps a
``table[role=grid]`` of the visible cells: the viewport is made wide enough for the
``item_id`` column, with a horizontal-scroll fallback) and compares them with
``Project.recommend(user, weights=..., k=..., transform=...)``.

Reported per level: reruns, p50 / p95 rerun time, the peak resident memory of the
server's process tree (sum of VmRSS of the process and its children, sampled every
0.25 s; psutil if installed, else /proc), the peak of the benchmark's other children
(Playwright's driver and Chromium; pages shared between processes count in each, so an
upper bound), the time until all N sessions showed their first ranking, how many
sessions' top-K matched, step errors, and the machine's mean 1-minute load average
during the level (other work on the machine slows every figure: read them with it).

Usage::

    .venv/bin/python bench/bench_load.py --project artifacts/demo [--levels 1,5,20]
        [--seconds 60] [--seed 7] [--snapshot] [--shots DIR]

``--snapshot`` copies the project to a temporary artifacts root first (others retraining
``artifacts/demo`` cannot disturb the run); otherwise the root holds a symlink to it.
``--shots DIR`` saves a screenshot of a session whenever one of its steps fails.
Needs ``/usr/bin/chromium`` and playwright (never ``playwright install``). ``make
bench-load`` runs it on ``artifacts/demo``; it is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NAME = "demo"
VIEWPORT = {"width": 1900, "height": 1000}
"""Wide enough for the whole recommendations grid (its ``item_id`` column is last)."""
W_MAX, W_STEP = 5.0, 0.1
TARGET_MAX = 3.0
"""Targets are drawn on the slider grid in [0, TARGET_MAX] (at least one task >= 0.5)."""
RERUN_TIMEOUT_MS = 180_000
OPEN_TIMEOUT_MS = 600_000
SHOTS: Path | None = None
"""Where to save a screenshot of a session when a step fails (``--shots``)."""

# Installed in every page before the app's scripts: stamps the keydown of a slider step
# and the first moment the rerun it caused is finished and shown.
PROBE_JS = """
(() => {
  const b = window.__bl = {t0: null, t1: null, expect: null};
  const done = () => {
    if (b.expect === null || b.t0 === null || b.t1 !== null) return;
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return;
    const sw = document.querySelector('[data-testid="stStatusWidget"]');
    if (sw && sw.textContent.includes('Running')) return;
    const caps = document.querySelectorAll('[data-testid="stCaptionContainer"]');
    for (const c of caps) {
      if (c.textContent.startsWith(b.expect)) { b.t1 = performance.now(); return; }
    }
  };
  window.__blCheck = done;
  window.addEventListener('keydown', () => {
    if (b.expect !== null && b.t0 === null) b.t0 = performance.now();
  }, true);
  new MutationObserver(done).observe(document, {subtree: true, childList: true,
    characterData: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();
"""
ARM_JS = ("e => { const b = window.__bl; b.expect = e; b.t0 = null; b.t1 = null; }")
WAIT_JS = ("() => { const b = window.__bl; if (b.t1 === null) { window.__blCheck(); }"
           " return b.t1 !== null ? [b.t1 - b.t0] : null; }")
IDLE_JS = """
expect => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const sw = document.querySelector('[data-testid="stStatusWidget"]');
  if (sw && sw.textContent.includes('Running')) return false;
  const caps = Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'));
  if (!caps.some(c => c.textContent.startsWith(expect))) return false;
  return Array.from(document.querySelectorAll('[data-testid="stDataFrame"] table[role=grid]'))
    .some(t => t.querySelectorAll('tbody tr').length > 0);
}
"""
GRID_JS = """
() => {
  for (const df of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    const table = df.querySelector('table[role=grid]');
    if (!table) continue;
    const names = {};
    for (const th of table.querySelectorAll('thead th')) {
      names[th.getAttribute('aria-colindex')] = th.textContent.trim();
    }
    const cols = Object.values(names);
    if (!cols.includes('rank') || !cols.includes('title')) continue;  // not the top-K grid
    const rows = {};
    for (const tr of table.querySelectorAll('tbody tr')) {
      const row = {};
      for (const td of tr.children) {
        const name = names[td.getAttribute('aria-colindex')];
        if (name !== undefined) row[name] = td.textContent;
      }
      rows[tr.getAttribute('aria-rowindex')] = row;
    }
    return {columns: cols, rows: rows, count: table.getAttribute('aria-rowcount')};
  }
  return null;
}
"""
SCROLL_JS = """
left => {
  for (const df of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    const heads = Array.from(df.querySelectorAll('table[role=grid] thead th'))
      .map(th => th.textContent.trim());
    if (!heads.includes('rank')) continue;
    const sc = df.querySelector('.dvn-scroller');
    if (sc) { sc.scrollLeft = left ? sc.scrollWidth : 0; return true; }
  }
  return false;
}
"""


# -- server and memory -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(artifacts: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BLENDSCOPE_ARTIFACTS=str(artifacts))
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_health(url: str, proc: subprocess.Popen[bytes], log: Path,
                 timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return time.perf_counter() - start
        except OSError:
            if proc.poll() is not None or time.perf_counter() - start > timeout:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"streamlit did not start:\n{tail}") from None
            time.sleep(0.1)


def _children() -> dict[int, list[int]]:
    """``{pid: [child pids]}`` of every process (psutil if installed, else /proc)."""
    out: dict[int, list[int]] = {}
    try:
        import psutil  # optional
    except ImportError:
        psutil = None
    if psutil is not None:
        for p in psutil.process_iter(["ppid"]):
            out.setdefault(p.info["ppid"] or 0, []).append(p.pid)
        return out
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_mb(pid: int, children: dict[int, list[int]], include_root: bool = True,
                 exclude: frozenset[int] = frozenset()) -> float:
    """Sum of VmRSS (MB) of ``pid`` (unless ``include_root`` is false) and its
    descendants, without the subtrees rooted at ``exclude``."""
    total_kb, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in exclude:
            continue
        todo.extend(children.get(p, []))
        if p != pid or include_root:
            total_kb += _rss_kb(p)
    return total_kb / 1024


class PeakSampler:
    """Samples in a thread the RSS of the server's process tree and of this process's
    other descendants (Playwright's driver and Chromium); ``reset()`` starts new peaks."""

    def __init__(self, server: int, every: float = 0.25) -> None:
        self.server, self.every = server, every
        self.peak = {"server": 0.0, "client": 0.0}
        self.loads: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        children = _children()
        now = {"server": _tree_rss_mb(self.server, children),
               "client": _tree_rss_mb(os.getpid(), children, include_root=False,
                                      exclude=frozenset({self.server}))}
        load = os.getloadavg()[0]
        with self._lock:
            self.loads.append(load)
            for name, mb in now.items():
                self.peak[name] = max(self.peak[name], mb)

    def reset(self) -> None:
        with self._lock:
            self.peak = dict.fromkeys(self.peak, 0.0)
            self.loads = []

    def read(self) -> dict[str, float]:
        """Peaks since ``reset()``, and ``load``: the mean 1-minute load average."""
        self.sample()
        with self._lock:
            return self.peak | {"load": statistics.fmean(self.loads)}

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- sessions ------------------------------------------------------------------------------
@dataclass
class Task:
    name: str
    label: str
    default: float


@dataclass
class Session:
    index: int
    user: str
    rng: random.Random
    weights: dict[str, float] = field(default_factory=dict)
    target: dict[str, float] = field(default_factory=dict)
    times_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    url: str = ""
    shown: list[str] = field(default_factory=list)
    sliders: dict[str, float] = field(default_factory=dict)


def _caption(tasks: list[Task], weights: dict[str, float]) -> str:
    """The start of the page's weights caption (``widgets.weights_caption``)."""
    return "Weights: " + " · ".join(f"{t.name} {weights[t.name]:.1f}" for t in tasks)


def _new_target(sess: Session, tasks: list[Task]) -> None:
    steps = round(TARGET_MAX / W_STEP)
    while True:
        target = {t.name: round(sess.rng.randint(0, steps) * W_STEP, 1) for t in tasks}
        if max(target.values()) >= 0.5 and target != sess.weights:
            sess.target = target
            return


def _next_step(sess: Session, tasks: list[Task]) -> tuple[Task, str]:
    """The next slider step towards the target: raise weights before lowering any, one
    slider at a time (so the weights never all reach zero)."""
    if sess.weights == sess.target:
        _new_target(sess, tasks)
    ups = [t for t in tasks if sess.target[t.name] > sess.weights[t.name]]
    downs = [t for t in tasks if sess.target[t.name] < sess.weights[t.name]]
    if ups:
        return ups[0], "ArrowRight"
    return downs[0], "ArrowLeft"


async def _read_grid(page: Any) -> list[dict[str, str]]:
    """Rows (rank order) of the top-K grid with its ``item_id`` column, from the DOM."""
    grid = await page.evaluate(GRID_JS)
    if grid is None:
        raise RuntimeError("no recommendations grid on the page")
    if "item_id" not in grid["columns"]:  # column scrolled out of view: scroll right
        await page.evaluate(SCROLL_JS, True)
        await page.wait_for_function(
            "() => Array.from(document.querySelectorAll('table[role=grid] thead th'))"
            ".some(th => th.textContent.trim() === 'item_id')", timeout=10_000)
        right = await page.evaluate(GRID_JS)
        await page.evaluate(SCROLL_JS, False)
        for key, row in right["rows"].items():
            grid["rows"].setdefault(key, {}).update(row)
        grid["columns"] = list(dict.fromkeys([*grid["columns"], *right["columns"]]))
    rows = [grid["rows"][k] for k in sorted(grid["rows"], key=int)]
    if int(grid["count"] or 0) - 1 != len(rows):
        raise RuntimeError(f"grid shows {len(rows)} of {int(grid['count']) - 1} rows")
    return rows


async def _open(browser: Any, url: str, sess: Session, tasks: list[Task]) -> Any:
    """The session's page, once it shows its first ranking (``None`` if it never does)."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(PROBE_JS)
    page = await context.new_page()
    try:
        await page.goto(f"{url}/?project={NAME}&page=recommendations&user={sess.user}",
                        timeout=OPEN_TIMEOUT_MS)
        await page.get_by_role("heading", name="Recommendations").wait_for(
            timeout=OPEN_TIMEOUT_MS)
        # the first runs (URL restore, switch_page) redraw the sidebar: wait until idle
        await page.wait_for_function(IDLE_JS, arg="Weights: ", timeout=OPEN_TIMEOUT_MS,
                                     polling=100)
        sess.weights = await _sliders(page, tasks, OPEN_TIMEOUT_MS)
        await page.wait_for_function(IDLE_JS, arg=_caption(tasks, sess.weights),
                                     timeout=OPEN_TIMEOUT_MS, polling=100)
    except Exception as err:  # reported with the session; the others go on
        sess.errors.append(f"opening: {_first_line(err)}")
        await _shot(page, f"open-{sess.index}")
        return None
    return page


async def _drive(page: Any, sess: Session, tasks: list[Task], deadline: float) -> None:
    """Slider steps until ``deadline`` (the step under way is finished and counted)."""
    _new_target(sess, tasks)
    while time.monotonic() < deadline:
        task, key = _next_step(sess, tasks)
        delta = W_STEP if key == "ArrowRight" else -W_STEP
        want = dict(sess.weights)
        want[task.name] = round(min(max(want[task.name] + delta, 0.0), W_MAX), 1)
        await page.evaluate(ARM_JS, _caption(tasks, want))
        slider = page.locator(f'input[type=range][aria-label="{task.label}"]')
        try:
            await slider.press(key, timeout=60_000)
            handle = await page.wait_for_function(WAIT_JS, timeout=RERUN_TIMEOUT_MS,
                                                  polling=20)
            sess.times_ms.append(float((await handle.json_value())[0]))
            sess.weights = want
        except Exception as err:  # recorded, then resynchronised
            sess.errors.append(f"{task.name} {key}: {_first_line(err)}")
            await _shot(page, f"error-{sess.index}-{len(sess.errors)}")
            try:
                sess.weights = await _sliders(page, tasks)
            except Exception as again:  # the page lost its sliders: give this session up
                sess.errors.append(f"resync: {_first_line(again)}")
                return
            if len(sess.errors) >= 5:
                return


async def _sliders(page: Any, tasks: list[Task],
                   timeout: float = RERUN_TIMEOUT_MS) -> dict[str, float]:
    """The weights the page's sliders show."""
    out = {}
    for t in tasks:
        value = await page.locator(f'input[type=range][aria-label="{t.label}"]').get_attribute(
            "aria-valuetext", timeout=timeout)
        out[t.name] = float(value or "nan")
    return out


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:160]}"


async def _shot(page: Any, name: str) -> None:
    """A screenshot of the page under ``--shots`` (nothing without it)."""
    if SHOTS is None:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        await page.screenshot(path=str(SHOTS / f"{name}.png"), timeout=30_000)
    except Exception:  # a screenshot is a courtesy
        pass


async def _finish(page: Any, sess: Session, tasks: list[Task]) -> None:
    """Wait until the last rerun is shown, then read the URL, sliders and grid."""
    try:
        await page.wait_for_function(IDLE_JS, arg=_caption(tasks, sess.weights),
                                     timeout=RERUN_TIMEOUT_MS, polling=100)
        want = [f"w_{t.name}={sess.weights[t.name]:.1f}" for t in tasks]
        await page.wait_for_function(
            "want => want.every(w => window.location.search.includes(w))", arg=want,
            timeout=10_000, polling=100)
    except Exception as err:  # reported with the session
        sess.errors.append(f"final state: {_first_line(err)}")
        await _shot(page, f"final-{sess.index}")
    sess.url = page.url
    try:
        sess.sliders = await _sliders(page, tasks)
        sess.shown = [row.get("item_id", "?") for row in await _read_grid(page)]
    except Exception as err:  # reported with the session
        sess.errors.append(f"reading the page: {_first_line(err)}")


async def run_level(url: str, n: int, seconds: float, users: list[str], tasks: list[Task],
                    seed: int) -> tuple[list[Session], float]:
    """N sessions for ``seconds``; returns them and the time until all were ready."""
    from playwright.async_api import async_playwright

    sessions = [Session(index=i, user=users[i % len(users)],
                        rng=random.Random(f"{seed}/{n}/{i}")) for i in range(n)]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            start = time.perf_counter()
            pages = await asyncio.gather(*(_open(browser, url, s, tasks) for s in sessions))
            ready = time.perf_counter() - start
            deadline = time.monotonic() + seconds
            live = [(p, s) for p, s in zip(pages, sessions, strict=True) if p is not None]
            await asyncio.gather(*(_drive(p, s, tasks, deadline) for p, s in live))
            await asyncio.gather(*(_finish(p, s, tasks) for p, s in live))
        finally:
            await browser.close()
    return sessions, ready


# -- verification and report -----------------------------------------------------------------
def verify(project: Any, sess: Session, tasks: list[Task]) -> tuple[bool, str]:
    """Does the page's top-K equal ``Project.recommend`` at the URL's weights?"""
    if not sess.url:
        return False, f"user {sess.user}: the page never showed a ranking"
    query = {k: v[-1] for k, v in parse_qs(urlparse(sess.url).query).items()}
    try:
        weights = {t.name: float(query[f"w_{t.name}"]) for t in tasks}
        k, transform, user = int(query["k"]), query["transform"], query["user"]
    except (KeyError, ValueError) as err:
        return False, f"URL lacks the view ({err}): {sess.url}"
    notes = []
    if user != sess.user:
        notes.append(f"URL user {user} != session user {sess.user}")
    if weights != sess.sliders:
        notes.append(f"URL weights {weights} != sliders {sess.sliders}")
    if weights != sess.weights:
        notes.append(f"URL weights {weights} != the session's last step {sess.weights}")
    want = [it.item_id for it in project.recommend(user, weights=weights, k=k, transform=transform).items]
    start = [it.item_id for it in project.recommend(user, k=k, transform=transform).items]
    if sess.shown != want:
        notes.append(f"shown {sess.shown} != recommend {want}")
    ws = " ".join(f"{t.name}={weights[t.name]:.1f}" for t in tasks)
    moved = "differs from" if want != start else "same as"
    return not notes, f"user {user} k={k} {transform} {ws} (top-{k} {moved} the start)" + \
        ("" if not notes else " | " + "; ".join(notes))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def main() -> None:
    """Run every level and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT / "artifacts" / NAME)
    parser.add_argument("--levels", default="1,5,20",
                        help="comma-separated numbers of concurrent sessions")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="slider-moving time per level")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--snapshot", action="store_true",
                        help="copy the project to a temporary artifacts root first")
    parser.add_argument("--shots", type=Path, default=None,
                        help="save a screenshot here whenever a session's step fails")
    args = parser.parse_args()
    global SHOTS
    SHOTS = args.shots
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if not (args.project / "manifest.json").is_file():
        sys.exit(f"no trained project at {args.project}; run `make demo` first")
    if not CHROMIUM.exists():
        sys.exit("/usr/bin/chromium is absent (apt-get install -y chromium)")
    sys.path.insert(0, str(ROOT))
    from recsys.project import Project

    root = Path(tempfile.mkdtemp(prefix="bench-load-"))
    if args.snapshot:
        shutil.copytree(args.project, root / NAME)
    else:
        (root / NAME).symlink_to(args.project.resolve(), target_is_directory=True)
    project = Project.load(root / NAME)
    tasks = [Task(t.name, f"{t.name} (minimised)" if t.direction == "minimize" else t.name,
                  float(t.weight)) for t in project.tasks]
    k = project.spec().k
    ids = [str(u) for u in project.user_ids()]
    picker = random.Random(args.seed)
    users: list[str] = []
    for u in picker.sample(ids, min(len(ids), 4 * max(levels))):
        if len(project.recommend(u, k=k).items) == k:
            users.append(u)
        if len(users) == max(levels):
            break
    print(f"project {args.project.resolve()} ({'snapshot' if args.snapshot else 'linked'}"
          f" as {root / NAME}); tasks {', '.join(t.name for t in tasks)}; K={k}")
    print(f"levels {levels}, {args.seconds:g} s of slider steps per level, seed {args.seed}, "
          f"{os.cpu_count()} CPUs")

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "streamlit.log"
    proc = _start_server(root, port, log)
    results = []
    try:
        health = _wait_health(url, proc, log)
        print(f"server pid {proc.pid} healthy after {health:.1f} s on {url}")
        with PeakSampler(proc.pid) as sampler:
            for n in levels:
                sampler.reset()
                start = time.perf_counter()
                sessions, ready = asyncio.run(
                    run_level(url, n, args.seconds, users, tasks, args.seed))
                wall = time.perf_counter() - start
                peak = sampler.read()
                if proc.poll() is not None:
                    raise RuntimeError(f"the server died: {log.read_text()[-3000:]}")
                times = [t for s in sessions for t in s.times_ms]
                ok = 0
                print(f"\nlevel {n}: {len(times)} reruns, ready in {ready:.1f} s, "
                      f"level wall time {wall:.1f} s")
                for s in sessions:
                    good, detail = verify(project, s, tasks)
                    ok += good
                    errs = f" ({len(s.errors)} errors: {s.errors[0]})" if s.errors else ""
                    print(f"  session {s.index:2d} {'OK' if good else 'MISMATCH':8s} "
                          f"{len(s.times_ms):4d} reruns  {detail}{errs}")
                results.append((n, len(sessions), len(times), _pct(times, 50),
                                _pct(times, 95), peak["server"], ok, peak["client"], ready,
                                sum(len(s.errors) for s in sessions), peak["load"]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)  # a link or a copy, never the project

    print("\nrerun = keydown on a slider until the run has finished and the page shows the "
          "new weights (timed in the page)")
    head = (f"{'level':>5} {'sessions':>8} {'reruns':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'server RSS MB':>13} {'top-10 matches':>14} {'client RSS MB':>13} "
            f"{'ready s':>7} {'errors':>6} {'load':>5}")
    print(head)
    print("-" * len(head))
    for n, sess, reruns, p50, p95, rss, ok, client, ready, errors, load in results:
        print(f"{n:>5} {sess:>8} {reruns:>7} {p50:8.0f} {p95:8.0f} {rss:13.0f} "
              f"{f'{ok}/{sess}':>14} {client:13.0f} {ready:7.1f} {errors:>6} {load:5.1f}")
    print("server RSS: peak over the level of the streamlit process tree. client RSS: peak of "
          "this benchmark's other children (Playwright's driver and Chromium; VmRSS summed "
          "per process, so shared pages count repeatedly). ready: until every session showed "
          "its first ranking. load: mean 1-minute load average during the level (the "
          "machine's, other work included).")


if __name__ == "__main__":
    main()
