"""Monte Carlo throughput (issue 13): samples per second per worker for the multiplier's DC
grid (the shipped preset's 37 x 19 points per sample) and for a converter transient (the
ReLU converter at 7 charges), on one worker and on two; each sample is one deck load with its
own seed.

    .venv/bin/python benchmarks/bench_montecarlo.py [--samples 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from gaincell.characterize import SweepSpec, run_sweep
from gaincell.circuits.montecarlo import MonteCarlo

RESULTS = Path(__file__).resolve().parent / "results"


def _rate(preset: str, samples: int, jobs: int) -> tuple[float, float]:
    """(seconds, samples per second per worker) of ``samples`` samples of ``preset``."""
    spec = SweepSpec.from_toml(preset)
    spec = replace(spec, monte_carlo=MonteCarlo(samples, seed=99, kind="mismatch"))
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run_sweep(spec, Path(folder) / "mc.h5", jobs=jobs, progress=False)
        seconds = time.perf_counter() - started
    return seconds, samples / seconds / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    rows = []
    for label, preset, samples in (
        ("multiplier DC grid (37 x 19)", "multiplier_mc_sky130", args.samples),
        ("ReLU converter, 7 transients", "relu_c2p_mc_sky130", max(4, args.samples // 4)),
    ):
        for jobs in (1, 2):
            seconds, rate = _rate(preset, samples, jobs)
            rows.append(
                {"what": label, "jobs": jobs, "samples": samples, "seconds": seconds, "rate": rate}
            )
    print("| what | workers | samples | seconds | samples/s per worker |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['what']} | {row['jobs']} | {row['samples']} | {row['seconds']:.1f} | "
            f"{row['rate']:.3g} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "montecarlo.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
