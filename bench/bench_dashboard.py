"""Dashboard speed and weight at demo scale.

Measures
--------
1. Server-side rerun time of a weight-slider move (``AppTest``: ``slider.set_value(v).run()``),
   per page, median and 90th percentile over several moves; a rerun with nothing changed
   (what every other widget costs: nothing may be recomputed for all users); on
   Recommendations a user-id search and picking another user, on Explain the on-demand
   explanation of another item (the first one loads the models).
2. Time to interactive of ``streamlit run app.py``: until ``/_stcore/health`` answers,
   until the first page shows in headless Chromium, and until the Recommendations page
   shows its first ranking.
3. The server's resident memory (VmRSS) after walking every page in the browser.

Usage: ``.venv/bin/python bench/bench_dashboard.py [--project artifacts/demo] [--moves 10]``
(``--project /tmp/dash/p10m`` for the 400k-user project of issue 11)
(defaults to ``artifacts/demo``, else ``/tmp/afull``). Steps needing Chromium
(``/usr/bin/chromium``) are skipped with a note when it is absent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ["overview", "recommendations", "explain", "tradeoffs", "global", "segments",
         "reports", "data"]
IDLE_JS = ("() => document.querySelector('[data-testid=\"stApp\"]')"
           "?.getAttribute('data-test-script-state') === 'notRunning'")
TOP_JS = ("() => Array.from(document.querySelectorAll('.js-plotly-plot .yaxislayer-above text'))"
          ".some(t => t.textContent.startsWith('1. '))")


@contextmanager
def served(project: Path) -> Iterator[Path]:
    """Point the dashboard at ``project`` for the ``with`` block.

    Yields an artifacts root holding it as ``demo`` (a symlink in a temp dir, set as
    ``BLENDSCOPE_ARTIFACTS``); exits with a message if it is not a trained project.
    Only the link is removed afterwards, never the project.
    """
    if not (project / "manifest.json").is_file():
        sys.exit(f"no trained project at {project}; run `make demo` first")
    root = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    (root / "demo").symlink_to(project.resolve(), target_is_directory=True)
    os.environ["BLENDSCOPE_ARTIFACTS"] = str(root)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench_reruns(moves: int, task: str) -> tuple[dict[str, tuple[float, ...]],
                                                  dict[str, float]]:
    """Per page: (first run s, median rerun s, p90 rerun s, unchanged rerun s) of a move
    of ``task``'s weight slider; and the interactions (user search, another user, another
    item's explanation)."""
    from streamlit.testing.v1 import AppTest  # the bench drives the UI

    out, extra = {}, {}
    for page in ("recommendations", "overview", "explain", "tradeoffs", "segments"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.query_params["page"] = page
        first = _timed(at.run)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
        times = []
        for j in range(moves):
            slider = at.slider(key=f"weight_{task}").set_value(round(1.1 + 0.1 * j, 1))
            times.append(_timed(slider.run))
        times.sort()
        same = _timed(at.run)
        out[page] = (first, statistics.median(times), times[int(0.9 * (len(times) - 1))], same)
        if page == "recommendations":
            extra["user search s"] = _timed(at.text_input(key="rec_search").set_value("12").run)
            box = at.selectbox(key="rec_user")
            extra["another user s"] = _timed(box.set_value(box.options[3]).run)
        if page == "explain":
            box = at.selectbox(key="exp_item")
            extra["explain another item s"] = _timed(box.set_value(box.options[2]).run)
            extra["explain a third item s"] = _timed(box.set_value(box.options[4]).run)
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
    return out, extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start_server(artifacts: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BLENDSCOPE_ARTIFACTS=str(artifacts))
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/streamlit"), "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_health(url: str) -> None:
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.05)


def bench_server(artifacts: Path) -> dict[str, float]:
    """Time from `streamlit run` to health, first page and first ranking (the browser is
    already open, as a user's is); RSS idle and after walking every page."""
    if not CHROMIUM.exists():
        print("note: /usr/bin/chromium absent; browser timings skipped", file=sys.stderr)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    out: dict[str, float] = {}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS) \
            if CHROMIUM.exists() else None
        start = time.perf_counter()
        proc = _start_server(artifacts, port)
        try:
            _wait_health(url)
            out["health_s"] = time.perf_counter() - start
            out["rss_idle_mb"] = _rss_mb(proc.pid)
            if browser is None:
                return out
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/")
            page.get_by_role("heading", name="Blendscope").first.wait_for(timeout=600_000)
            page.wait_for_function(IDLE_JS, timeout=600_000)
            out["overview_ready_s"] = time.perf_counter() - start
            out["rss_overview_mb"] = _rss_mb(proc.pid)
            page.goto(f"{url}/recommendations")
            page.get_by_role("heading", name="Recommendations").wait_for(timeout=600_000)
            out["first_page_s"] = time.perf_counter() - start
            page.wait_for_function(TOP_JS, timeout=600_000)
            out["first_ranking_s"] = time.perf_counter() - start
            for slug in PAGES:
                page.goto(f"{url}/{'' if slug == 'overview' else slug}")
                page.locator("h1").first.wait_for(timeout=600_000)
                page.wait_for_timeout(300)
                page.wait_for_function(IDLE_JS, timeout=600_000)
            out["walk_all_pages_s"] = time.perf_counter() - start - out["first_ranking_s"]
            out["rss_after_walk_mb"] = _rss_mb(proc.pid)
        finally:
            if browser is not None:
                browser.close()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return out


def main() -> None:
    """Run the benchmarks and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT / "artifacts/demo"
    parser.add_argument("--project", type=Path,
                        default=default if default.is_dir() else Path("/tmp/afull"))
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-reruns", action="store_true")
    args = parser.parse_args()
    with served(args.project) as artifacts:
        print(f"project {args.project.resolve()}")
        if not args.skip_server:  # cold server first, before this process warms any cache
            for name, value in bench_server(artifacts).items():
                print(f"  server {name:<22} {value:8.2f}")
        if args.skip_reruns:
            return
        import json

        task = json.loads((args.project / "manifest.json").read_text())["tasks"][0]["name"]
        print(f"slider-move reruns (AppTest, {args.moves} moves of weight_{task})")
        print(f"  {'page':<16} {'first run s':>11} {'median s':>9} {'p90 s':>7} "
              f"{'unchanged s':>11}")
        pages, extra = bench_reruns(args.moves, task)
        for page, (first, median, p90, same) in pages.items():
            print(f"  {page:<16} {first:11.3f} {median:9.3f} {p90:7.3f} {same:11.3f}")
        for name, value in extra.items():
            print(f"  {name:<28} {value:8.3f}")


if __name__ == "__main__":
    main()
