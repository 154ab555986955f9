"""Surrogate benchmarks: evaluations per second on one thread (2-D multiplier slice, full
3-input multiplier, the paper-style polynomial), the speed-up over one SPICE point, and fit
times.

Run: ``.venv/bin/python benchmarks/bench_surrogate.py`` (about half a minute on 2 cores).
Prints a Markdown table and writes ``benchmarks/results/surrogate.json``.
"""

from __future__ import annotations

import os

# One thread for every numeric library: set before numpy is imported.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from gaincell.circuits.files import CHARACTERIZATION_DIR  # noqa: E402
from gaincell.surrogate import load  # noqa: E402
from gaincell.surrogate.interpolate import interpolate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CHARACTERIZATION = CHARACTERIZATION_DIR
POINTS = 1_000_000
"""Random in-domain points per evaluation."""
REPEATS = 5
"""Evaluations are timed best of this many."""
TARGET_EVALS_PER_S = 1e7
"""Target for the 2-D multiplier surrogate on one core."""


def best_of(function: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Fastest of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def evaluation_rates(points: int = POINTS, seed: int = 0) -> dict[str, dict[str, float]]:
    """Evaluations per second of the shipped multiplier surrogates on ``points`` random
    in-domain points: the 2-D slice at tt, 27 C (public call and the bare interpolation
    kernel), the full 3-input grid call, and the order-3 polynomial."""
    grid = load("multiplier")
    poly = load("multiplier-poly")
    slice_2d = grid.at(corner="tt", temperature=27.0)
    rng = np.random.default_rng(seed)

    def uniform(model: Any, name: str) -> np.ndarray:
        low, high = model.domain.ranges[name]
        return rng.uniform(low, high, points)

    v_store, v_in, temperature = (uniform(grid, n) for n in ("v_store", "v_in", "temperature"))
    nodes = [slice_2d.nodes["v_store"], slice_2d.nodes["v_in"]]
    cases: dict[str, tuple[str, Callable[[], Any]]] = {
        "grid_2d": (
            "multiplier.at(tt, 27 C)(v_store, v_in), linear",
            lambda: slice_2d(v_store=v_store, v_in=v_in),
        ),
        "grid_2d_kernel": (
            "same, interpolate() kernel only (no argument/domain checks)",
            lambda: interpolate(nodes, slice_2d.values[0], [v_store, v_in], "linear"),
        ),
        "grid_3d": (
            "multiplier(v_store, v_in, temperature, corner=tt), linear",
            lambda: grid(v_store=v_store, v_in=v_in, temperature=temperature, corner="tt"),
        ),
        "poly": (
            "multiplier-poly(v_store, v_in=1.8, temperature, corner=tt), order 3",
            lambda: poly(v_store=v_store, v_in=1.8, temperature=temperature, corner="tt"),
        ),
        "poly_27c": (
            "multiplier-poly(v_store, v_in=1.8) at 27 C (default), order 3",
            lambda: poly(v_store=v_store, v_in=1.8),
        ),
    }
    out = {}
    for key, (label, function) in cases.items():
        function()  # warm-up
        seconds = best_of(function)
        out[key] = {
            "label": label,
            "points": points,
            "seconds": seconds,
            "evals_per_s": points / seconds,
            "s_per_eval": seconds / points,
        }
    return out


def spice_point_seconds(repeats: int = 20) -> dict[str, float]:
    """Seconds per multiplier DC point in ngspice (tt, 27 C): one isolated ``dc`` point on the
    loaded deck (median of ``repeats`` after a warm-up), amortised over a 91 x 37 nested
    ``dc`` on the same deck, and through ``simulate_spec`` for a 2 x 2 sweep."""
    from gaincell.characterize import Axis, SweepSpec
    from gaincell.characterize.multiplier import MultiplierCharacterization
    from gaincell.characterize.sweep import simulate_spec
    from gaincell.circuits.runner import get_runner

    characterization = MultiplierCharacterization()
    deck = characterization.deck("tt").text
    runner = get_runner()
    started = time.perf_counter()
    with runner.loaded(deck, reuse=True):
        pass
    load_seconds = time.perf_counter() - started
    # a hair past the start: ngspice's dc then takes exactly one step
    one_point = "dc vin 1.2 1.2001 0.1 vwbl 1.1 1.1001 0.1"
    single = []
    with runner.loaded(deck, reuse=True) as circuit:
        circuit.command("option temp=27")
        circuit.command(one_point)  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            circuit.command(one_point)
            current = circuit.vectors(["i(vout)"])["i(vout)"]
            single.append(time.perf_counter() - started)
        if current.size != 1:
            raise RuntimeError(f"one-point dc returned {current.size} points")
        dense = SweepSpec(axes={"v_in": Axis(0.0, 1.8, 37), "v_store": Axis(0.45, 1.35, 91)})
        sweep = characterization.dc_command(dense, dense.v_store.start, dense.v_store.stop)
        circuit.command(sweep)  # warm-up
        sweeps = []
        for _ in range(3):
            started = time.perf_counter()
            circuit.command(sweep)
            vectors = circuit.vectors(["i(vout)"])
            sweeps.append(time.perf_counter() - started)
        if vectors["i(vout)"].size != dense.points:
            raise RuntimeError(f"dense dc returned {vectors['i(vout)'].size} points")
    small = SweepSpec(
        axes={"v_in": Axis(0.6, 1.8, 2), "v_store": Axis(0.5, 1.3, 2)},
        corners=("tt",),
        temperatures=(27.0,),
    )
    simulate_spec(small, jobs=1, progress=False)  # warm-up (deck parsed once)
    spec_times = []
    for _ in range(5):
        started = time.perf_counter()
        simulate_spec(small, jobs=1, progress=False)
        spec_times.append(time.perf_counter() - started)
    return {
        "ngspice": runner.version,
        "deck_load_s": load_seconds,
        "single_dc_point_s": statistics.median(single),
        "dense_points": dense.points,
        "dense_dc_s_per_point": min(sweeps) / dense.points,
        "simulate_spec_2x2_s_per_point": statistics.median(spec_times) / small.points,
    }


def fit_seconds() -> dict[str, float]:
    """Wall time of :func:`gaincell.surrogate.fit` on the shipped characterizations: fit only
    (``holdout=0``) for the multiplier grid, its order-3 polynomial and the leakage model; and
    the multiplier grid with its fresh-SPICE hold-out (12 lattice points, one worker)."""
    from gaincell.surrogate import FitOptions, fit

    multiplier = CHARACTERIZATION / "multiplier_sky130.h5"
    leakage = CHARACTERIZATION / "leakage_sky130.h5"
    cases: dict[str, Callable[[], Any]] = {
        "multiplier_grid": lambda: fit(multiplier, FitOptions(kind="grid", holdout=0)),
        "multiplier_poly": lambda: fit(
            multiplier, FitOptions(kind="poly", order=3, input_level=1.8, holdout=0)
        ),
        "leakage_grid": lambda: fit(leakage, FitOptions(kind="grid", holdout=0)),
        "multiplier_grid_holdout12": lambda: fit(
            multiplier, FitOptions(kind="grid", holdout=12), jobs=1
        ),
    }
    out = {}
    for key, function in cases.items():
        out[key] = best_of(function, 1 if key.endswith("holdout12") else 3)
    return out


def main() -> None:
    rates = evaluation_rates()
    spice = spice_point_seconds()
    fits = fit_seconds()
    two_d = rates["grid_2d"]
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, one thread",
        "evaluation": rates,
        "spice": spice,
        "speedup_vs_single_dc_point": spice["single_dc_point_s"] / two_d["s_per_eval"],
        "speedup_vs_dense_dc_point": spice["dense_dc_s_per_point"] / two_d["s_per_eval"],
        "fit_s": fits,
        "target_evals_per_s": TARGET_EVALS_PER_S,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "surrogate.json").write_text(json.dumps(results, indent=2))

    print(f"machine: {results['machine']}; {spice['ngspice']}; {results['date']}")
    print("| measure | value | target |")
    print("|---|---|---|")
    for key, row in rates.items():
        target = f">= {TARGET_EVALS_PER_S:.0e}/s" if key == "grid_2d" else ""
        print(
            f"| {row['label']}, {row['points']:.0e} points | {row['evals_per_s']:.3g} evals/s "
            f"({row['s_per_eval'] * 1e9:.0f} ns/eval) | {target} |"
        )
    print(
        f"| one multiplier DC point in ngspice (loaded deck, tt, 27 C) | "
        f"{spice['single_dc_point_s'] * 1e6:.0f} µs | |"
    )
    print(
        f"| per point of a {spice['dense_points']}-point nested dc (same deck) | "
        f"{spice['dense_dc_s_per_point'] * 1e6:.1f} µs | |"
    )
    print(
        f"| per point of simulate_spec, 2 x 2 at tt | "
        f"{spice['simulate_spec_2x2_s_per_point'] * 1e6:.0f} µs | |"
    )
    print(f"| deck load (tt multiplier deck) | {spice['deck_load_s'] * 1e3:.0f} ms | |")
    print(
        f"| 2-D surrogate speed-up over one DC point | "
        f"{results['speedup_vs_single_dc_point']:,.0f}x | |"
    )
    print(
        f"| 2-D surrogate speed-up over a swept DC point | "
        f"{results['speedup_vs_dense_dc_point']:,.0f}x | |"
    )
    for key, label in (
        ("multiplier_grid", "fit multiplier grid (holdout=0)"),
        ("multiplier_poly", "fit multiplier order-3 poly at v_in = 1.8 V (holdout=0)"),
        ("leakage_grid", "fit leakage (holdout=0)"),
        ("multiplier_grid_holdout12", "fit multiplier grid + SPICE hold-out (12, jobs=1)"),
    ):
        seconds = fits[key]
        shown = f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
        print(f"| {label} | {shown} | |")


if __name__ == "__main__":
    main()
