"""Attention-head benchmarks: one decode step of a full head (M = 1024, d = 64) and a
1024-token sequence on one core, from the shipped surrogates (with numba, the compiled kernels
against the numpy path, taking turns); and the wall time of a whole
SPICE tile against the array simulation of the same tile (from a validation file).

Run: ``.venv/bin/python benchmarks/bench_head.py [tile_validation.h5]`` (default: the shipped
``data/tiles/tile_validation_sky130.h5``). Prints a Markdown table and writes
``benchmarks/results/head.json``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, before numpy loads

import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TypeVar  # noqa: E402

import numpy as np  # noqa: E402

from gaincell.attention import fused  # noqa: E402
from gaincell.attention.energy import energy_shipped  # noqa: E402
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig  # noqa: E402
from gaincell.circuits.files import TILE_DIR  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
KERNELS = fused.ENABLED  # as installed; the benchmark switches it per variant
T = TypeVar("T")


def decode_steps(
    variants: dict[str, tuple[HeadCircuits, HeadConfig, bool]],
    repeats: int = 300,
    block: int = 20,
) -> dict[str, dict]:
    """Median and p90 seconds of one step with a full 1024-token window (tables built
    beforehand), per variant (circuits, head configuration, whether the compiled kernels run).
    Each head's steps run one after the other, as a decode loop runs them, in blocks of
    ``block`` steps; the variants take turns block by block so they share the machine's
    noise and their ratios hold. The first step of each block, with the other heads' tables
    in the caches instead of its own, is reported apart (``cold_median_s``)."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.uniform(0, hi, (1024 + repeats, 64)) for hi in (1.0, 0.9, 0.9))
    heads = {
        name: GainCellHead(circuits, config) for name, (circuits, config, _) in variants.items()
    }
    for name, head in heads.items():
        fused.ENABLED = variants[name][-1]
        for t in range(1024):  # fill the window
            head.step(q[t], k[t], v[t])
    times: dict[str, list[float]] = {name: [] for name in heads}
    cold: dict[str, list[float]] = {name: [] for name in heads}
    for first in range(1024, 1024 + repeats, block):
        for name, head in heads.items():
            fused.ENABLED = variants[name][-1]
            for t in range(first, min(first + block, 1024 + repeats)):
                started = time.perf_counter()
                head.step(q[t], k[t], v[t])
                (cold if t == first else times)[name].append(time.perf_counter() - started)
    fused.ENABLED = KERNELS
    return {
        name: {
            "median_s": float(np.median(ts)),
            "p90_s": float(np.percentile(ts, 90)),
            "cold_median_s": float(np.median(cold[name])),
        }
        for name, ts in times.items()
    }


def sequence(circuits: HeadCircuits) -> float:
    """Seconds for ``run`` on 1024 tokens (fresh head: includes building the tables)."""
    rng = np.random.default_rng(1)
    q, k, v = (rng.uniform(0, hi, (1024, 64)) for hi in (1.0, 0.9, 0.9))
    started = time.perf_counter()
    GainCellHead(circuits, HeadConfig()).run(q, k, v)
    return time.perf_counter() - started


def tile_times(path: Path) -> dict[str, float] | None:
    """SPICE versus array-simulation seconds per tile case, from a validation file."""
    if not path.is_file():
        return None
    from gaincell.attention.validate import load_validation

    outputs, attrs = load_validation(path)
    n = outputs["spice/phi"].shape[0]
    spice = float(attrs["spice_seconds"]) / n
    array = float(attrs["array_seconds_per_case"])
    return {
        "cases": n,
        "spice_s_per_case": spice,
        "spice_jobs": int(attrs.get("jobs", 2)),
        "array_s_per_case": array,
        "speedup": spice / array,
    }


def cost_command() -> float | None:
    """Seconds of ``gaincell cost`` on 1024 random tokens, 12 heads (M = 1024, d = 64; the
    layer's heads taken alike), building the circuits included; None without the energy
    surrogates."""
    if not energy_shipped():
        return None
    from gaincell.attention.simulate import random_qkv
    from gaincell.attention.token_cost import token_cost

    started = time.perf_counter()
    token_cost(*random_qkv(1024, 64, 1), window=1024, heads=12)
    return time.perf_counter() - started


def with_kernels(enabled: bool, measure: Callable[[], T]) -> T:
    """``measure()`` with the compiled kernels on or off."""
    fused.ENABLED = enabled
    try:
        return measure()
    finally:
        fused.ENABLED = KERNELS


def main(argv: list[str]) -> None:
    validation = Path(argv[0]) if argv else TILE_DIR / "tile_validation_sky130.h5"
    circuits = HeadCircuits.from_surrogates("tt", 27.0)
    nominal, mismatch = HeadConfig(), HeadConfig(mismatch=True, seed=1)
    built = {"column model": (circuits, nominal), "column model, mismatch": (circuits, mismatch)}
    if energy_shipped():
        with_energy = HeadCircuits.from_surrogates("tt", 27.0, energy=True)
        built["column model, energy"] = (with_energy, nominal)
        built["column model, mismatch, energy"] = (with_energy, mismatch)
    built["no column model"] = (HeadCircuits.from_surrogates("tt", 27.0, column=False), nominal)
    if energy_shipped():
        built["no column model, energy"] = (
            HeadCircuits.from_surrogates("tt", 27.0, column=False, energy=True),
            nominal,
        )
    # with numba, each variant also with the numpy path (the kernels' reference)
    settings = {True: "", False: ", numpy"} if KERNELS else {False: ""}
    variants = {
        name + suffix: (*made, enabled)
        for name, made in built.items()
        for enabled, suffix in settings.items()
    }
    timed = {
        suffix: {
            "sequence_1024_s": with_kernels(enabled, lambda: sequence(circuits)),
            "cost_1024_tokens_12_heads_s": with_kernels(enabled, cost_command),
        }
        for enabled, suffix in settings.items()
    }
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}",
        "kernels": fused.backend(),
        "decode_step": decode_steps(variants),
        **timed[""],
        "numpy_path": timed.get(", numpy"),
        "tile": tile_times(validation),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "head.json").write_text(json.dumps(results, indent=2))
    steps = results["decode_step"]
    print(f"machine: {results['machine']}; {results['date']}")
    print("| measure | result | target |")
    print("|---|---|---|")
    print(f"kernels: {results['kernels']}")
    for name, step in steps.items():
        base = steps[name.replace(", energy", "")]["median_s"]
        ratio = f"; x{step['median_s'] / base:.2f} of the same without" if "energy" in name else ""
        print(
            f"| one decode step, M = 1024, d = 64, one core, {name} | "
            f"{step['median_s'] * 1e3:.3f} ms (p90 {step['p90_s'] * 1e3:.3f} ms{ratio}; "
            f"first of a block {step['cold_median_s'] * 1e3:.3f} ms) | <= 1 ms |"
        )
    for suffix, measured in timed.items():
        sequence_s, cost = measured["sequence_1024_s"], measured["cost_1024_tokens_12_heads_s"]
        print(f"| 1024-token sequence (`run`){suffix} | {sequence_s:.2f} s | <= 2 s |")
        if cost is not None:
            print(f"| `token_cost`, 1024 tokens, 12 heads{suffix} | {cost:.1f} s | < 10 s |")
    tile = results["tile"]
    if tile:
        print(
            f"| 64x64 tile case (K + V tile), SPICE on {tile['spice_jobs']} workers "
            f"| {tile['spice_s_per_case']:.0f} s | |"
        )
        print(
            f"| same case, array simulation | {tile['array_s_per_case'] * 1e3:.2f} ms "
            f"| speed-up x{tile['speedup']:,.0f} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
