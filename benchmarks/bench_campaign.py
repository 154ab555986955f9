"""Campaign benchmarks (issue 11): the local worker pool against a Dask LocalCluster on the
same campaigns, and a worker's memory over 10,000 ngspice runs.

Run: ``.venv/bin/python benchmarks/bench_campaign.py`` (about five minutes on 2 cores).
Prints a Markdown table and writes ``benchmarks/results/campaign.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.parallel import PoolOptions, local_cluster
from gaincell.characterize.sweep import _deck, simulate_spec
from gaincell.circuits.runner import get_runner, resident_bytes

RESULTS = Path(__file__).resolve().parent / "results"
JOBS = 2
CAMPAIGNS = {
    "multiplier DC grid, 5 corners x 3 temperatures": SweepSpec(
        circuit="multiplier",
        corners=("tt", "ss", "ff", "sf", "fs"),
        temperatures=(-40.0, 27.0, 125.0),
        axes={"v_in": Axis(0.0, 1.8, 37), "v_store": Axis(0.45, 1.35, 91)},
    ),
    "relu-c2p transients, 5 corners x 24 charges": SweepSpec(
        circuit="relu-c2p",
        corners=("tt", "ss", "ff", "sf", "fs"),
        temperatures=(27.0,),
        axes={"charge": Axis(-2e-13, 1.4e-12, 24)},
    ),
}


def throughput() -> list[dict]:
    """Seconds and points per second of each campaign on both backends (same blocks)."""
    rows = []
    started = time.perf_counter()
    cluster = local_cluster(JOBS)
    cluster_start = time.perf_counter() - started
    try:
        for name, spec in CAMPAIGNS.items():
            timings = {}
            results = {}
            for backend, options in (
                ("local", PoolOptions()),
                ("dask", PoolOptions("dask", cluster.scheduler_address)),
            ):
                started = time.perf_counter()
                results[backend], _ = simulate_spec(spec, JOBS, progress=False, options=options)
                timings[backend] = time.perf_counter() - started
            same = all(
                np.array_equal(results["local"][k], results["dask"][k], equal_nan=True)
                for k in results["local"]
            )
            rows.append(
                {
                    "campaign": name,
                    "points": spec.points,
                    "local_s": timings["local"],
                    "dask_s": timings["dask"],
                    "local_points_per_s": spec.points / timings["local"],
                    "dask_points_per_s": spec.points / timings["dask"],
                    "identical": same,
                }
            )
    finally:
        cluster.close()
    return [{"dask_cluster_start_s": cluster_start}, *rows]


def memory_over_runs(runs: int = 10_000, every: int = 1_000) -> list[dict]:
    """Resident memory of one worker process running ``runs`` analyses the way a worker does
    (deck kept loaded, plots destroyed after each run)."""
    runner = get_runner()
    deck = _deck("multiplier", "tt").text
    samples = [{"runs": 0, "rss_mb": resident_bytes() / 2**20}]
    started = time.perf_counter()
    for run in range(1, runs + 1):
        with runner.loaded(deck, reuse=True) as circuit:
            circuit.command("op")
            circuit.vectors(["i(vout)"])
        if run % every == 0:
            samples.append(
                {
                    "runs": run,
                    "rss_mb": resident_bytes() / 2**20,
                    "seconds": time.perf_counter() - started,
                }
            )
    return samples


def main() -> None:
    rows = throughput()
    memory = memory_over_runs()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "jobs": JOBS,
        "throughput": rows,
        "memory": memory,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "campaign.json").write_text(json.dumps(result, indent=1))
    print(f"Dask LocalCluster start: {rows[0]['dask_cluster_start_s']:.1f} s")
    print("| campaign | points | local (2 workers) | Dask LocalCluster (2 x 1 thread) | same |")
    print("|---|---:|---:|---:|---|")
    for row in rows[1:]:
        print(
            f"| {row['campaign']} | {row['points']:,} | {row['local_s']:.1f} s "
            f"({row['local_points_per_s']:,.0f}/s) | {row['dask_s']:.1f} s "
            f"({row['dask_points_per_s']:,.0f}/s) | {'yes' if row['identical'] else 'NO'} |"
        )
    print("| runs | " + " | ".join(f"{m['runs']:,}" for m in memory) + " |")
    print("| RSS (MB) | " + " | ".join(f"{m['rss_mb']:.1f}" for m in memory) + " |")


if __name__ == "__main__":
    main()
