"""Transient characterization benchmarks: transient points per second at jobs=1 and all cores,
parallel efficiency, and per worker the seconds spent loading decks versus simulating.

Run: ``.venv/bin/python benchmarks/bench_transient.py [preset ...]`` (default: every shipped
transient preset). Prints a Markdown table and writes ``benchmarks/results/transient.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from characterize.parallel import resolve_jobs
from characterize.spec import PRESET_DIR, SweepSpec
from characterize.sweep import simulate_spec
from circuits.runner import get_runner

RESULTS = Path(__file__).resolve().parent / "results"
TRANSIENT_PRESETS = ("leakage_sky130", "relu_c2p_sky130", "signed_c2p_sky130", "mac_chain_sky130")


def transients(spec: SweepSpec) -> int:
    """Transient runs in a sweep: one per point of the first (blocked) axis, corner and
    temperature; the other axes are samples of each waveform."""
    first = next(iter(spec.axes.values()))
    return first.points * len(spec.corners) * len(spec.temperatures)


def measure(spec: SweepSpec, jobs: int) -> dict:
    """Run once with a warm worker pool; per-worker load and simulate seconds."""
    simulate_spec(spec, jobs=jobs, progress=False)  # warm-up: pool start, page cache
    started = time.perf_counter()
    _, report = simulate_spec(spec, jobs=jobs, progress=False)
    seconds = time.perf_counter() - started
    per_worker: dict[int, dict[str, float]] = defaultdict(
        lambda: {"load_s": 0.0, "simulate_s": 0.0}
    )
    for task in report.tasks:
        per_worker[task.pid]["load_s"] += task.load_seconds
        per_worker[task.pid]["simulate_s"] += task.simulate_seconds
    return {
        "jobs": jobs,
        "transients": transients(spec),
        "seconds": seconds,
        "transients_per_s": transients(spec) / seconds,
        "workers": list(per_worker.values()),
    }


def main(presets: list[str]) -> None:
    cores = resolve_jobs(-1)
    rows = {}
    for preset in presets:
        if not (PRESET_DIR / f"{preset}.toml").is_file():
            continue
        spec = SweepSpec.from_toml(preset)
        one, many = measure(spec, 1), measure(spec, cores)
        rows[preset] = {
            "jobs1": one,
            "jobs_all": many,
            "parallel_efficiency": one["seconds"] / (many["seconds"] * cores),
        }
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        "ngspice": get_runner().version,
        "presets": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transient.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {results['machine']}; {results['ngspice']}; {results['date']}")
    print(
        f"| preset | transients | jobs=1 | jobs={cores} | efficiency "
        f"| per worker: load / simulate (jobs={cores}) |"
    )
    print("|---|---|---|---|---|---|")
    for preset, row in rows.items():
        one, many = row["jobs1"], row["jobs_all"]
        workers = ", ".join(
            f"{w['load_s']:.2f} s / {w['simulate_s']:.2f} s" for w in many["workers"]
        )
        print(
            f"| {preset} | {one['transients']} "
            f"| {one['seconds']:.2f} s ({one['transients_per_s']:.0f}/s) "
            f"| {many['seconds']:.2f} s ({many['transients_per_s']:.0f}/s) "
            f"| {row['parallel_efficiency']:.0%} | {workers} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or list(TRANSIENT_PRESETS))
