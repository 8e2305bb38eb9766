"""End-to-end `recsys train` at demo scale: wall time and peak memory.

Run: ``.venv/bin/python bench/bench_train.py [--config data/demo/config.toml]``.
Generates the demo dataset first if the config does not exist. Target: under 2 minutes
on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 120.0


def main() -> int:
    """Train once in a child process; print time, peak RSS and stage timings."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="data/demo/config.toml")
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    cfg = Path(args.config)
    if not cfg.is_file():
        subprocess.run([bin_dir / "recsys", "demo-data", "--out", str(cfg.parent)], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([bin_dir / "recsys", "train", "--config", str(cfg), "--out",
                               f"{tmp}/art"], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("recsys train at demo scale")
    print(f"  wall time      {wall:8.1f} s   (target < {TARGET_S:.0f} s: "
          f"{'ok' if wall < TARGET_S else 'MISSED'}; {wall / TARGET_S:.2f}x of budget)")
    print(f"  peak memory    {peak_mb:8.0f} MB")
    print("  stages (from progress on stderr):")
    for line in proc.stderr.splitlines():
        if line.startswith("["):
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
