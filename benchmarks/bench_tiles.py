"""Tile-matrix benchmarks (issue 9): SPICE time of the validation matrix and of one case, the
array simulation's time per case on one core, and what each part of the array simulation
contributes to its agreement with SPICE (ablation per corner and temperature).

Run: ``.venv/bin/python benchmarks/bench_tiles.py`` (reads the shipped
``data/tiles/tile_matrix_{64,16}_sky130.h5``). Prints Markdown tables and writes
``benchmarks/results/tiles.json``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, before numpy loads

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gaincell.attention.head import HeadCircuits, tile_model  # noqa: E402
from gaincell.attention.validate import ABLATIONS, ablation  # noqa: E402
from gaincell.characterize.tile import read_tile_results  # noqa: E402
from gaincell.circuits.files import TILE_DIR  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MATRICES = {size: TILE_DIR / f"tile_matrix_{size}_sky130.h5" for size in (64, 16)}
DEV_SET = TILE_DIR / "tile_validation_sky130.h5"
"""Three 64x64 tt/27 C cases run on a quiet machine (the matrix ran with the cores shared)."""
TARGET_SPEEDUP = 1e5
"""The array simulation must be at least this much faster than SPICE per case."""


def timing(path) -> dict[str, float]:
    """SPICE seconds (whole file, per case) from the file; the array simulation's seconds per
    case measured here (best of 3 passes over every case, circuits built beforehand)."""
    stored = read_tile_results(path)
    build = lru_cache(maxsize=None)(HeadCircuits.from_surrogates)
    for result in stored.results:
        build(result.corner, result.temperature)
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        for case, result in zip(stored.cases, stored.results, strict=True):
            tile_model(build(result.corner, result.temperature), case.q, case.k, case.v)
        best = min(best, (time.perf_counter() - started) / len(stored.cases))
    spice = float(stored.provenance["spice_seconds"])
    per_case = spice / len(stored.cases)
    # One core against one core: the seconds each column's ngspice run took, summed per case.
    column_seconds = [np.nansum(r.k.seconds) + np.nansum(r.v.seconds) for r in stored.results]
    cpu = float(np.median(column_seconds))
    return {
        "cases": len(stored.cases),
        "spice_s": spice,
        "spice_s_per_case": per_case,
        "spice_jobs": int(stored.provenance.get("jobs", 2)),
        "spice_column_s_per_case_median": cpu,
        "array_s_per_case": float(best),
        "speedup": per_case / float(best),
        "speedup_one_core": cpu / float(best),
    }


def main() -> None:
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}",
        "timing": {},
        "ablation": {},
    }
    print(f"machine: {results['machine']}; {results['date']}")
    print(
        "| tiles | cases | SPICE (jobs) | SPICE per case | SPICE per case, one core | "
        "array per case | speed-up (wall) | speed-up (one core) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    timed = {f"{size}x{size}": path for size, path in MATRICES.items()}
    for name, path in (timed | {"64x64 quiet (tt/27 C)": DEV_SET}).items():
        if not path.is_file():
            continue
        t = timing(path)
        results["timing"][name] = t
        print(
            f"| {name} | {t['cases']} | {t['spice_s'] / 60:.1f} min ({t['spice_jobs']}) "
            f"| {t['spice_s_per_case']:.0f} s | {t['spice_column_s_per_case_median']:.0f} s "
            f"| {t['array_s_per_case'] * 1e3:.2f} ms | x{t['speedup']:,.0f} "
            f"| x{t['speedup_one_core']:,.0f} (target x{TARGET_SPEEDUP:,.0f}) |"
        )
    for size, path in MATRICES.items():
        if not path.is_file():
            continue
        stored = read_tile_results(path)
        table = ablation(stored.cases, stored.results)
        results["ablation"][size] = table
        conditions = list(next(iter(table.values())))
        print(f"\n{size}x{size}: array simulation NRMSE vs SPICE, phi / output / chained")
        print("| variant | " + " | ".join(conditions) + " |")
        print("|---|" + "---|" * len(conditions))
        for variant in ABLATIONS:
            cells = [
                " / ".join(
                    f"{table[variant][c][f'array/{op}']['nrmse']:.2%}"
                    for op in ("phi", "output", "chained")
                )
                for c in conditions
            ]
            print(f"| {variant} | " + " | ".join(cells) + " |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tiles.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
