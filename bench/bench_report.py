"""Benchmark report export: the PDF's per-user section, against HTML, for 50 and 200 users.

The per-user section's time is the export of the report minus the export of the same
report with no users (front page, health, partial dependence and font embedding are the
fixed part), divided by the users; each export is the best of ``--repeat`` runs, in CPU
time of this process (``time.process_time``: other work on a busy machine does not count)
with the wall-clock figure beside it. Also prints the summary PDF of the segment (front
page, summary page, first 10 users) and its page count.

Usage::

    .venv/bin/python bench/bench_report.py --artifacts artifacts/demo [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

from explain.report import (
    ExplanationReport,
    Segment,
    build_report,
    export_report,
    users_in_segment,
)
from explain.report._pdf import expected_pages
from recsys.project import Project

SEGMENT = Segment("segment", "premium")
SIZES = (50, 200)


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(CPU s, wall s) of the fastest of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        out.append((time.process_time() - c, time.perf_counter() - t))
    return min(out)


def _per_user(report: ExplanationReport, fmt: str, repeat: int) -> str:
    """The fixed part, the whole export and the per-user section of a full export."""
    empty = dataclasses.replace(report, users=())
    fixed = _best(lambda: export_report(empty, fmt, detail="full"), repeat)  # type: ignore[arg-type]
    whole = _best(lambda: export_report(report, fmt, detail="full"), repeat)  # type: ignore[arg-type]
    cpu, wall = ((w - f) / len(report.users) * 1e3 for w, f in zip(whole, fixed, strict=True))
    return (f"{whole[0]:.2f} s CPU ({fixed[0]:.2f} s without users); per-user section "
            f"{cpu:.1f} ms CPU per user ({wall:.1f} ms wall)")


def bench(project: Project, repeat: int) -> None:
    """Print the timings of each report size."""
    column, value = SEGMENT.column, SEGMENT.value
    export_report(build_report(project, users_in_segment(project, column, value, n=2)), "pdf")
    for n in SIZES:
        t = time.perf_counter()
        rep = build_report(project, users_in_segment(project, column, value, n=n),
                           segment=SEGMENT)
        print(f"{n} users of {SEGMENT.label()}: build {time.perf_counter() - t:.2f} s "
              f"({sum(len(u.items) for u in rep.users)} explained items)")
        for fmt in ("pdf", "html"):
            print(f"  {fmt:4s} full: {_per_user(rep, fmt, repeat)}")
        summary, _ = _best(lambda rep=rep: export_report(rep, "pdf"), repeat)
        print(f"  pdf  summary (default for a segment): {summary:.2f} s CPU, "
              f"{expected_pages(rep)} pages (full: {expected_pages(rep, 'full')})")


def main() -> None:
    """Time report exports on a trained project."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--artifacts", default="artifacts/demo")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t = time.perf_counter()
    project = Project.load(args.artifacts)
    print(f"loaded {args.artifacts} in {time.perf_counter() - t:.2f} s")
    bench(project, args.repeat)


if __name__ == "__main__":
    main()
