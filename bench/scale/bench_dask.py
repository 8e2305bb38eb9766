"""Dask bench (issue 11): the pipeline on a local Dask cluster against one process.

Run: ``.venv/bin/python bench/scale/bench_dask.py`` (after ``make bench-scale`` has written
``/tmp/blendscope-scale/data-3M``), or ``--data <config.toml> --workers 2``.

It trains the dataset twice, each time in a fresh child process (``_stages.py --mode
full``): as configured (``[engine] kind = "local"``), then from a copy of the config with
an ``[engine]`` table (``kind = "dask"``, ``scheduler = "local"``) next to symlinks of the
data files. For each run it prints every stage's wall time and the client's peak RSS,
and for the Dask run the peak RSS of every worker process (``VmHWM`` of each descendant
process of the child, polled every 100 ms; the Nanny spawns the workers as children of
the client process), then the per-task metric differences between the two projects
(read from their manifests).

Stage times include waiting for a shared machine: the load average before and after each
run is printed beside it. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path("/tmp/blendscope-scale/data-3M/config.toml")


def dask_copy(config: Path, work: Path, workers: int, memory_limit: str | None) -> Path:
    """A directory with symlinks to the data files and the config plus an ``[engine]``."""
    out = work / "data-dask"
    out.mkdir(parents=True, exist_ok=True)
    for f in config.parent.iterdir():
        if f.name != config.name and not (out / f.name).exists():
            (out / f.name).symlink_to(f.resolve())
    text = config.read_text(encoding="utf-8")
    if "[engine]" in text:
        raise SystemExit(f"bench-dask: {config} already has an [engine] table")
    engine = f'\n[engine]\nkind = "dask"\nscheduler = "local"\nworkers = {workers}\n'
    if memory_limit:
        engine += f'memory_limit = "{memory_limit}"\n'
    (out / "config.toml").write_text(text + engine, encoding="utf-8")
    return out / "config.toml"


class WorkerMemory:
    """Polls the peak RSS (``VmHWM``) of every descendant process of one child."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                kids = psutil.Process(self.pid).children(recursive=True)
            except psutil.Error:
                continue
            for p in kids:
                try:
                    hwm = _vmhwm_mb(p.pid)
                    role = "worker" if "spawn" in " ".join(p.cmdline()) else p.name()
                except (psutil.Error, OSError):
                    continue
                old_role, old_peak = self.peaks.get(p.pid, (role, 0.0))
                # a worker's command line reads empty while it exits: keep the first role
                self.peaks[p.pid] = ("worker" if "worker" in (role, old_role) else role,
                                     max(hwm, old_peak))

    def stop(self) -> dict[int, tuple[str, float]]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def _vmhwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(config: Path, out: Path) -> dict[str, Any]:
    """One full pipeline run in a child process; its stages and its workers' memory."""
    proc = subprocess.Popen([sys.executable, str(HERE / "_stages.py"), "--config", str(config),
                             "--out", str(out), "--mode", "full"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem = WorkerMemory(proc.pid)
    stdout, stderr = proc.communicate()
    peaks = mem.stop()
    if proc.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"bench-dask: {config} failed, exit {proc.returncode}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    result["children"] = [{"pid": pid, "role": role, "peak_rss_mb": mb}
                          for pid, (role, mb) in sorted(peaks.items())]
    result["metrics"] = json.loads((out / "manifest.json").read_text())["metrics"]
    return result


def print_comparison(local: dict[str, Any], dask: dict[str, Any], n_exposures: int) -> None:
    print(f"\n== stages (wall s): one process vs Dask, {dask['metrics']['engine']}")
    print(f"   {'stage':<32}{'local s':>9}{'dask s':>9}{'dask/local':>12}")
    sl = {s["name"]: s for s in local["stages"]}
    sd = {s["name"]: s for s in dask["stages"]}
    for name in [*sl, *(n for n in sd if n not in sl)]:
        a = sl.get(name, {}).get("seconds", float("nan"))
        b = sd.get(name, {}).get("seconds", float("nan"))
        print(f"   {name:<32}{a:9.1f}{b:9.1f}{b / a if a else float('nan'):12.2f}")
    print(f"   {'total':<32}{local['seconds']:9.1f}{dask['seconds']:9.1f}"
          f"{dask['seconds'] / local['seconds']:12.2f}")
    for what, r in (("local", local), ("dask", dask)):
        peak = max(s["peak_rss_mb"] for s in r["stages"])
        print(f"   {what}: client peak RSS {peak:,.0f} MB; load avg {r['load_before'][0]:.1f} "
              f"before, {r['load_after'][0]:.1f} after")
    workers = [c for c in dask["children"] if c["role"] == "worker"]
    for c in workers:
        print(f"   worker pid {c['pid']}: peak RSS {c['peak_rss_mb']:,.0f} MB "
              f"({c['peak_rss_mb'] / (n_exposures / 1e6):,.0f} MB per million exposures)")
    print("\n== per-task test metrics (local / dask / difference)")
    tl, td = local["metrics"]["tasks"], dask["metrics"]["tasks"]
    for task in tl:
        for metric, a in tl[task].items():
            b = td[task][metric]
            print(f"   {task:<12}{metric:<18}{a:10.4f}{b:10.4f}{b - a:+10.4f}")
    print("   trees kept: local " + json.dumps(local["metrics"]["trees"]) + ", dask "
          + json.dumps(dask["metrics"]["trees"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a dataset's config.toml")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default=None, help='per worker, e.g. "6GB"')
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"bench-dask: {args.data} not found; run `make bench-scale` first")
    n = json.loads(subprocess.run(
        [sys.executable, "-c", "import sys, pyarrow.parquet as pq, tomllib, pathlib;"
         "c = pathlib.Path(sys.argv[1]); t = tomllib.loads(c.read_text());"
         "print(pq.ParquetFile(c.parent / t['data']['interactions']).metadata.num_rows)",
         str(args.data)], capture_output=True, text=True, check=True).stdout)
    print(f"bench-dask: {args.data} ({n:,} exposures), {args.workers} workers, "
          f"{os.cpu_count()} cores, {psutil.virtual_memory().available / 2**30:.1f} GB free")
    work = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    try:
        t0 = time.perf_counter()
        local = run(args.data, work / "project-local")
        dask = run(dask_copy(args.data, work, args.workers, args.memory_limit),
                   work / "project-dask")
        print_comparison(local, dask, n)
        print(f"\n(bench wall time {time.perf_counter() - t0:.0f} s)")
        if args.json:
            args.json.write_text(json.dumps({"exposures": n, "local": local, "dask": dask},
                                            indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
