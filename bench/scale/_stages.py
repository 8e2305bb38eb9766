"""Child process of the scale bench: run the pipeline once, stage by stage.

Run by ``bench_scale.py`` in a fresh process per size, so each size starts from an empty
heap. Prints one JSON object on stdout: every stage's wall time, peak RSS and RSS at its
start, the candidate recall (per source) and the machine's load average.

Peak RSS per stage is the kernel's own high-water mark (``VmHWM``), reset at the start of
every stage by writing ``5`` to ``/proc/self/clear_refs``, so it sees every allocation,
whichever thread makes it and whether or not Python holds the GIL. Where the reset is
refused, a thread sampling ``VmRSS`` every 10 ms stands in (and says so).

Modes:

- ``full``: :func:`recsys.train.train` with a progress callback (each message starts a
  stage: features, candidates, each task's training, scoring, transforms, evaluation,
  health), then saving, loading the project back, evaluating the blend and the sweep;
- ``candidates``: loading, features and candidate generation only (with the exclusions
  training uses), plus each source's recall on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _status_mb(key: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss_mb: float
    start_rss_mb: float


@dataclass
class StageMeter:
    """Times consecutive stages and records each one's peak RSS."""

    stages: list[Stage] = field(default_factory=list)
    method: str = "VmHWM reset per stage"
    _name: str | None = None
    _t0: float = 0.0
    _start_rss: float = 0.0
    _sampled_peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            self.method = "VmRSS sampled every 10 ms (VmHWM reset refused)"
            threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._sampled_peak = max(self._sampled_peak, _status_mb("VmRSS"))

    def _peak(self) -> float:
        return _status_mb("VmHWM") if self.method.startswith("VmHWM") else self._sampled_peak

    def start(self, name: str) -> None:
        """Close the running stage (if any) and start ``name``."""
        self.close()
        self._start_rss = _status_mb("VmRSS")
        if self.method.startswith("VmHWM"):
            _CLEAR_REFS.write_text("5")
        self._sampled_peak = self._start_rss
        self._name, self._t0 = name, time.perf_counter()

    def close(self) -> None:
        """Record the running stage."""
        if self._name is not None:
            self.stages.append(Stage(self._name, time.perf_counter() - self._t0,
                                     max(self._peak(), self._start_rss), self._start_rss))
            self._name = None


_PROGRESS = [(r"loading and validating", "load + validate"),
             (r"building shared features", "features"),
             (r"generating candidates", "candidates"),
             (r"training model '([^']+)'", "train {0}"),
             (r"scoring candidates", "scoring"),
             (r"fitting score transforms", "transforms"),
             (r"evaluating", "evaluation (recall, metrics)"),
             (r"checking model health", "health (baselines, CIs)")]


def stage_name(message: str) -> str:
    """Short stage name of one of train()'s progress messages."""
    for pattern, name in _PROGRESS:
        hit = re.search(pattern, message)
        if hit:
            return name.format(*hit.groups())
    return " ".join(message.split()[:3])


def _positives(ds: Any, store: Any) -> tuple[np.ndarray, np.ndarray]:
    """Test-window positives of the primary label, as train() scores candidate recall."""
    inter = ds.interactions
    primary = store.layout.primary
    pos = (inter["window"] == "test").to_numpy().copy()
    if primary >= 0:
        pos &= inter[store.layout.labels[primary]].to_numpy() > 0
    return (store.user_codes(inter["user_id"].to_numpy()[pos]).astype(np.int64),
            store.item_codes(inter["item_id"].to_numpy()[pos]).astype(np.int64))


def run_full(config: Path, out: Path, meter: StageMeter) -> dict[str, Any]:
    from recsys.artifacts import save_project
    from recsys.project import Project
    from recsys.train import train

    tp = train(config, progress=lambda message, _: meter.start(stage_name(message)))
    meter.start("saving")
    save_project(tp, out)
    n_pairs = int((tp.candidates.items >= 0).sum())
    recall, trees = tp.metrics["candidate_recall"], tp.metrics["trees"]
    del tp
    meter.start("load project")
    project = Project.load(out)
    meter.start("evaluate blend")
    project.evaluate()
    meter.start("sweep")
    project.sweep()
    meter.close()
    return {"recall": recall, "candidate_pairs": n_pairs, "trees": trees}


def run_candidates(config: Path, meter: StageMeter) -> dict[str, Any]:
    from recsys.candidates import SOURCES, candidate_recall, generate_candidates
    from recsys.data import load_dataset
    from recsys.features import build_features
    from recsys.train import _exclusion_keys

    meter.start("load + validate")
    ds = load_dataset(config)
    meter.start("features")
    store = build_features(ds).store
    meter.start("candidates")
    per_user = ds.config.candidates.per_user
    exclude = _exclusion_keys(ds, store)
    cands = generate_candidates(store, per_user=per_user,
                                sources=tuple(ds.config.candidates.sources), exclude=exclude)
    meter.close()
    users, items = _positives(ds, store)
    n_i = len(store.item_ids)
    alone = {}
    for s in SOURCES:
        one = generate_candidates(store, per_user=per_user, sources=(s,), exclude=exclude)
        alone[s] = candidate_recall(one, users, items, n_i)["all"]
    return {"recall": candidate_recall(cands, users, items, n_i), "recall_alone": alone,
            "candidate_pairs": int((cands.items >= 0).sum())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mode", choices=("full", "candidates"), default="full")
    args = ap.parse_args()
    load_before = os.getloadavg()
    meter = StageMeter()
    t0 = time.perf_counter()
    extra = (run_full(args.config, args.out, meter) if args.mode == "full"
             else run_candidates(args.config, meter))
    result = {"mode": args.mode, "seconds": time.perf_counter() - t0,
              "stages": [asdict(s) for s in meter.stages], "rss_method": meter.method,
              "load_before": load_before, "load_after": os.getloadavg(), **extra}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
