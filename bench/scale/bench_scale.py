"""Scale bench (issue 11): the pipeline stage by stage at growing sizes.

Run: ``make bench-scale`` or
``.venv/bin/python bench/scale/bench_scale.py --sizes 1M 3M --candidates-only 10M``.

For each size it writes ``recsys demo-data`` with users = exposures / 25 and items =
exposures / 125 under ``--work`` (kept and reused), then runs the pipeline in a fresh
child process (``_stages.py``) and prints every stage's wall time and peak RSS, the
candidate recall per source, and the growth exponent of time and peak RSS between
consecutive sizes (``log(t2 / t1) / log(n2 / n1)``: 1 is linear). Sizes given to
``--candidates-only`` run loading, features and candidates only (plus each source's
recall on its own), for sizes where the whole pipeline does not fit yet.

The machine is shared: the load average before and after each run is printed beside it.
Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = "targets (issue 11): 10M end to end < 600 s and < 8 GB; every stage exponent <= 1.1"


def parse_size(text: str) -> int:
    """``"3M"``, ``"500k"`` or ``"3000000"`` as an int."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def make_data(work: Path, n: int) -> tuple[Path, float]:
    """Write (or reuse) the demo dataset of ``n`` exposures; return its config and seconds."""
    out = work / f"data-{label(n)}"
    config = out / "config.toml"
    if config.is_file():
        return config, 0.0
    t0 = time.perf_counter()
    subprocess.run([Path(sys.executable).parent / "recsys", "demo-data", "--out", str(out),
                    "--exposures", str(n), "--users", str(n // 25), "--items", str(n // 125)],
                   check=True, capture_output=True)
    return config, time.perf_counter() - t0


def with_per_user(config: Path, per_user: int | None) -> Path:
    """``config``, or a sibling copy whose ``[candidates] per_user`` is ``per_user``."""
    if per_user is None:
        return config
    text = config.read_text()
    if "per_user = " not in text:
        raise SystemExit(f"bench-scale: {config} has no per_user line to change")
    out = config.with_name(f"config-per-user-{per_user}.toml")
    out.write_text("\n".join(f"per_user = {per_user}" if line.startswith("per_user = ")
                             else line for line in text.splitlines()) + "\n")
    return out


def run_size(work: Path, n: int, mode: str, keep: bool,
             per_user: int | None = None) -> dict[str, Any]:
    config, gen_s = make_data(work, n)
    config = with_per_user(config, per_user)
    out = work / f"project-{label(n)}"
    proc = subprocess.run([sys.executable, str(HERE / "_stages.py"), "--config", str(config),
                           "--out", str(out), "--mode", mode],
                          capture_output=True, text=True, check=False)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"bench-scale: {label(n)} ({mode}) failed, exit {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["exposures"], result["data_seconds"] = n, gen_s
    result["per_user"] = per_user or 100
    return result


def print_run(r: dict[str, Any]) -> None:
    n = r["exposures"]
    lb, la = r["load_before"], r["load_after"]
    print(f"\n== {label(n)} exposures ({n // 25:,} users, {n // 125:,} items), mode {r['mode']}: "
          f"{r['per_user']} candidates per user: {r['seconds']:.1f} s, peak RSS {max(s['peak_rss_mb'] for s in r['stages']):,.0f} MB"
          f"  [load avg {lb[0]:.1f} before, {la[0]:.1f} after]")
    if r["data_seconds"]:
        print(f"   (data generation {r['data_seconds']:.0f} s, not counted)")
    print(f"   {'stage':<30}{'wall s':>9}{'peak RSS MB':>13}{'RSS at start':>14}")
    for s in r["stages"]:
        print(f"   {s['name']:<30}{s['seconds']:9.1f}{s['peak_rss_mb']:13,.0f}"
              f"{s['start_rss_mb']:14,.0f}")
    rec = ", ".join(f"{k} {v:.3f}" for k, v in r["recall"].items())
    print(f"   candidate recall (credited to the first source): {rec}; "
          f"{r['candidate_pairs']:,} pairs")
    if "trees" in r:
        print("   trees kept per model (scoring cost per pair grows with them): "
              + ", ".join(f"{k} {v}" for k, v in r["trees"].items()))
    if "recall_alone" in r:
        print("   recall of each source alone: "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["recall_alone"].items()))


def exponent(a: float, b: float, na: int, nb: int) -> float:
    return (math.log(b / a) / math.log(nb / na) if a > 0 and b > 0 and na != nb
            else float("nan"))


def print_exponents(runs: list[dict[str, Any]]) -> None:
    runs = sorted(runs, key=lambda r: r["exposures"])
    if len(runs) < 2:
        return
    print("\n== growth exponents between sizes (time / peak RSS; 1.0 = linear)")
    names = [s["name"] for s in runs[-1]["stages"]]
    for r in runs[:-1]:
        names += [s["name"] for s in r["stages"] if s["name"] not in names]
    pairs = list(zip(runs, runs[1:], strict=False))
    head = "".join(f"{label(a['exposures'])}->{label(b['exposures'])}".rjust(18)
                   for a, b in pairs)
    print(f"   {'stage':<30}{head}")
    for name in [*names, "total"]:
        cells = []
        for a, b in pairs:
            sa = {s["name"]: s for s in a["stages"]}
            sb = {s["name"]: s for s in b["stages"]}
            if name == "total" and a["mode"] == b["mode"]:
                ta, tb = a["seconds"], b["seconds"]
                ma = max(s["peak_rss_mb"] for s in a["stages"])
                mb = max(s["peak_rss_mb"] for s in b["stages"])
            elif name in sa and name in sb:
                ta, tb = sa[name]["seconds"], sb[name]["seconds"]
                ma, mb = sa[name]["peak_rss_mb"], sb[name]["peak_rss_mb"]
            else:
                cells.append("-".rjust(18))
                continue
            n1, n2 = a["exposures"], b["exposures"]
            cells.append(f"{exponent(ta, tb, n1, n2):6.2f} / {exponent(ma, mb, n1, n2):5.2f}"
                         .rjust(18))
        print(f"   {name:<30}{''.join(cells)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["1M", "3M"],
                    help="exposures for the whole pipeline (default: 1M 3M)")
    ap.add_argument("--candidates-only", nargs="*", default=[],
                    help="exposures for loading + features + candidates only (e.g. 10M)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/blendscope-scale"),
                    help="where the generated datasets (kept) and projects go")
    ap.add_argument("--keep", action="store_true", help="keep the trained projects too")
    ap.add_argument("--per-user", type=int, default=None,
                    help="candidates per user for every run (default: the data's config, 100)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"bench-scale: {TARGETS}")
    full = [run_size(args.work, parse_size(s), "full", args.keep, args.per_user)
            for s in args.sizes]
    for r in full:
        print_run(r)
    print_exponents(full)
    only = [run_size(args.work, parse_size(s), "candidates", args.keep, args.per_user)
            for s in args.candidates_only]
    for r in only:
        print_run(r)
    if only:
        print("\n== candidate stage, all sizes (time s / peak RSS MB)")
        for r in sorted(full + only, key=lambda r: r["exposures"]):
            c = next(s for s in r["stages"] if s["name"] == "candidates")
            print(f"   {label(r['exposures']):>5}  {c['seconds']:7.1f} s  "
                  f"{c['peak_rss_mb']:8,.0f} MB  ({r['mode']})")
        print_exponents([*full, *only])
    return 0


if __name__ == "__main__":
    sys.exit(main())
