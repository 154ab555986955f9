"""Transient characterization benchmarks: transient points per second at jobs=1 and all cores,
parallel efficiency, and per worker the seconds spent loading decks versus simulating.

Run: ``.venv/bin/python benchmarks/bench_transient.py [preset ...]`` (default: every shipped
transient preset). Each preset is cut to two corners (tt, ss) at 27 C so the whole benchmark
takes minutes, not hours; the per-transient cost does not depend on the cut. Prints a Markdown
table and writes ``benchmarks/results/transient.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from gaincell.characterize.parallel import resolve_jobs
from gaincell.characterize.spec import PRESET_DIR, SweepSpec
from gaincell.characterize.sweep import simulate_spec
from gaincell.circuits.runner import get_runner

RESULTS = Path(__file__).resolve().parent / "results"
TRANSIENT_PRESETS = ("leakage_sky130", "relu_c2p_sky130", "signed_c2p_sky130", "mac_chain_sky130")


def transients(spec: SweepSpec) -> int:
    """Transient runs in a sweep: one per point of the first (blocked) axis, corner and
    temperature; the other axes are samples of each waveform."""
    first = next(iter(spec.axes.values()))
    return first.points * len(spec.corners) * len(spec.temperatures)


FULL = ("leakage_sky130",)
"""Presets run whole: their transients take milliseconds, a cut would measure pool overhead."""


def benchmark_spec(spec: SweepSpec, preset: str) -> SweepSpec:
    """The preset cut to corners tt and ss at 27 C (whole for :data:`FULL`)."""
    if preset in FULL:
        return spec
    return replace(spec, corners=("tt", "ss"), temperatures=(27.0,))


def warm_up(spec: SweepSpec, jobs: int) -> None:
    """Start the worker pool and fill the page cache with a two-transient run."""
    first = next(iter(spec.axes))
    axis = spec.axes[first]
    start, second = axis.values()[:2]
    tiny = replace(axis, start=float(start), stop=float(second), points=2)
    simulate_spec(
        replace(spec, axes=spec.axes | {first: tiny}, corners=("tt",)), jobs=jobs, progress=False
    )


def measure(spec: SweepSpec, jobs: int) -> dict:
    """Run once with a warm worker pool; per-worker load and simulate seconds."""
    warm_up(spec, jobs)
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
        spec = benchmark_spec(SweepSpec.from_toml(preset), preset)
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
    path = RESULTS / "transient.json"
    if path.is_file():  # keep the other presets' rows when only some were run
        earlier = json.loads(path.read_text())
        results["presets"] = earlier.get("presets", {}) | results["presets"]
    path.write_text(json.dumps(results, indent=2))
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
            f"| {one['seconds']:.2f} s ({one['transients_per_s']:.2f}/s) "
            f"| {many['seconds']:.2f} s ({many['transients_per_s']:.2f}/s) "
            f"| {row['parallel_efficiency']:.0%} | {workers} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or list(TRANSIENT_PRESETS))
