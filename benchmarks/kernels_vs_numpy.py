"""The compiled kernels (numba, the ``fast`` extra) against the numpy path on whole heads:
window-256 heads at five corners and temperatures, two with mismatch, energy on, 300 steps
each with short Q pulses every third token; prints how many Phi pulse decisions and output
levels differ and the largest difference of each array relative to its scale.

Run: ``.venv/bin/python benchmarks/kernels_vs_numpy.py`` (about a minute).
``tests/test_fused.py`` holds a smaller set of the same.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, before numpy loads

import numpy as np  # noqa: E402

from gaincell.attention import fused  # noqa: E402
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig  # noqa: E402

CONDITIONS = [("ss", 85.0, False), ("ff", -40.0, True), ("sf", 27.0, False), ("fs", 125.0, True)]
CONDITIONS.append(("tt", 55.0, False))
STEPS = 300


def main() -> None:
    if not fused.ENABLED:
        raise SystemExit("numba is not installed (or GAINCELL_KERNELS=numpy): nothing to compare")
    worst: dict[str, float] = {}
    flips = 0
    for seed, (corner, temperature, mismatch) in enumerate(CONDITIONS, 1):
        circuits = HeadCircuits.from_surrogates(corner, temperature, energy=True)
        config = HeadConfig(window=256, mismatch=mismatch, seed=seed)
        rng = np.random.default_rng(seed)
        q = rng.uniform(-0.2, 1.0, (STEPS, 64))
        q[::3] *= rng.uniform(0, 0.1)  # short pulses: the short-pulse entries
        k, v = (rng.uniform(-0.1, 0.9, (STEPS, 64)) for _ in range(2))
        results = {}
        for enabled in (False, True):
            fused.ENABLED = enabled
            head = GainCellHead(circuits, config)
            results[enabled] = [head.step(q[t], k[t], v[t]) for t in range(STEPS)]
        fused.ENABLED = True
        for numpy_step, step in zip(results[False], results[True], strict=True):
            flips += int(np.sum(numpy_step.output != step.output))
            flips += int(np.sum((numpy_step.phi > 0) != (step.phi > 0)))
            pairs = {
                name: (getattr(numpy_step, name), getattr(step, name))
                for name in ("phi", "column_charge", "tile_charge")
            }
            for name, value in numpy_step.energy.items():
                pairs[f"energy {name}"] = (value, step.energy[name])
            for name, (expected, got) in pairs.items():
                scale = float(np.max(np.abs(expected))) or 1.0
                difference = float(np.max(np.abs(got - expected))) / scale
                worst[name] = max(worst.get(name, 0.0), difference)
        print(f"{corner} / {temperature:g} C, mismatch {mismatch}: differing so far {flips}")
    print(f"Phi pulse decisions and output levels that differ: {flips}")
    for name, value in worst.items():
        print(f"  {name}: largest difference {value:.1e} of its scale")


if __name__ == "__main__":
    main()
