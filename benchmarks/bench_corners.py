"""The decode step (M = 1024, d = 64, one core, column model, compiled kernels) with the
energy bookkeeping at every corner, with and without mismatch: the same random inputs at
each, so the heads differ in their circuits only (and in how many K columns give a Phi pulse,
which sets the V tiles' work). The heads take turns in blocks of 20 steps
(:func:`bench_head.decode_steps`).

Run: ``.venv/bin/python benchmarks/bench_corners.py``. Prints a Markdown table and writes
``benchmarks/results/corners.json``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, before numpy loads

import json  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import numpy as np  # noqa: E402
from bench_head import KERNELS, RESULTS, decode_steps  # noqa: E402

from gaincell.attention.energy import energy_shipped  # noqa: E402
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig  # noqa: E402

CONDITIONS = (("tt", 27.0), ("ss", 85.0), ("ff", -40.0), ("sf", 125.0), ("fs", -5.0))
"""Corner and temperature [C] of each head."""


def pulsing_columns(circuits: HeadCircuits) -> int:
    """How many of the 1024 K columns give a Phi pulse in a step with a full window, on the
    decode steps' inputs (:func:`bench_head.decode_steps`, seed 0)."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.uniform(0, hi, (1025, 64)) for hi in (1.0, 0.9, 0.9))
    head = GainCellHead(circuits, HeadConfig())
    for t in range(1025):
        result = head.step(q[t], k[t], v[t])
    return int(np.count_nonzero(result.phi))


def main() -> None:
    if not (KERNELS and energy_shipped()):
        raise SystemExit("needs the compiled kernels (gaincell[fast]) and the energy surrogates")
    variants, pulses = {}, {}
    for corner, temperature in CONDITIONS:
        circuits = HeadCircuits.from_surrogates(corner, temperature, energy=True)
        name = f"{corner} / {temperature:g} C"
        pulses[name] = pulsing_columns(circuits)
        variants[name] = (circuits, HeadConfig(), True)
        variants[name + ", mismatch"] = (circuits, HeadConfig(mismatch=True, seed=1), True)
    steps = decode_steps(variants)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "decode_step_with_energy": steps,
        "pulsing_columns": pulses,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "corners.json").write_text(json.dumps(results, indent=2))
    print(f"{results['date']}")
    print("| corner | K columns pulsing (of 1024) | step with energy | with mismatch too |")
    print("|---|---|---|---|")
    for name, count in pulses.items():
        alone, both = steps[name], steps[name + ", mismatch"]
        print(
            f"| {name} | {count} | {alone['median_s'] * 1e3:.3f} ms "
            f"(p90 {alone['p90_s'] * 1e3:.3f}) | {both['median_s'] * 1e3:.3f} ms "
            f"(p90 {both['p90_s'] * 1e3:.3f}) |"
        )


if __name__ == "__main__":
    main()
