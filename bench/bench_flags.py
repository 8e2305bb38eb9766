"""Flag write latency: one analyst alone, and several sessions writing at once.

Appends flags to a project log (``NAME.log.sqlite``, WAL mode, append-only) in a scratch
directory and reports the median and p95 time of one ``ProjectLog.add_flag`` call, then
the same with 4 processes writing concurrently (each flag is one committed transaction),
and the time to read every flag back (``flags()``), which the dashboard does per rerun.

    python bench/bench_flags.py [--flags 300] [--writers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.projectlog import ProjectLog  # noqa: E402


def _write(project: Path, n: int, tag: int) -> list[float]:
    log = ProjectLog.of(project)
    out = []
    for j in range(n):
        t = time.perf_counter()
        log.add_flag(f"i{j % 500:04d}", ("bad", "irrelevant", "good")[j % 3],
                     user_id=f"u{tag:02d}{j:05d}", note="bench",
                     weights={"click": 1.0, "purchase": 2.0}, transform="zscore",
                     source="bench")
        out.append(time.perf_counter() - t)
    return out


def _worker(args: tuple[str, int, int]) -> list[float]:
    project, n, tag = args
    return _write(Path(project), n, tag)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {1e3 * statistics.median(values):.2f} ms, p95 {1e3 * p95:.2f} ms " \
           f"over {len(values)} flags"


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=300, help="Flags per writer.")
    parser.add_argument("--writers", type=int, default=4, help="Concurrent writer processes.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bench"
        project.mkdir()
        alone = _write(project, args.flags, 99)
        print(f"one writer: {_ms(alone)}")
        with mp.get_context("spawn").Pool(args.writers) as pool:
            start = time.perf_counter()
            parts = pool.map(_worker, [(str(project), args.flags, w) for w in range(args.writers)])
            wall = time.perf_counter() - start
        together = [v for p in parts for v in p]
        print(f"{args.writers} writers at once: {_ms(together)}; "
              f"{len(together) / wall:,.0f} flags/s in total")
        log = ProjectLog.of(project)
        reads = []
        for _ in range(5):
            t = time.perf_counter()
            flags = log.flags()
            reads.append(time.perf_counter() - t)
        print(f"reading {len(flags):,} flags back: {1e3 * min(reads):.1f} ms (best of 5)")
        expected = args.flags * (args.writers + 1)
        assert len(flags) == expected, f"lost flags: {len(flags)} of {expected}"


if __name__ == "__main__":
    main()
