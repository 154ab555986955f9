"""Whole-tile validation: SPICE of 64x64 tiles against the surrogate-driven array simulation
and the behavioural model (the paper's Fig. 5a/b).

For each random case (one query against a freshly written K tile and V tile), three models:

- ``spice``: :mod:`gaincell.characterize.tile` (every column in ngspice, ideal input drivers);
- ``array``: :func:`gaincell.attention.head.tile_model` from the shipped surrogates at the same
  corner and temperature (the Phi(S).V operation is also evaluated on SPICE's own Phi pulses, so
  each operation is compared on its own: ``array_v_given_phi``);
- ``behavioural``: the paper's equations with its constants (s_sat 80, out_scale 40), and
  ``behavioural_matched`` with the constants these sky130 converters implement
  (:meth:`HeadCircuits.equivalent_constants`).

Compared quantities: Phi per token (K-tile output width / T_MAX) and the signed output per
dimension (V-tile output width / T_MAX with its sign). Errors are normalized to the SPICE
values' range (NRMSE, max error).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gaincell.attention.behavioural import PAPER_COEFFICIENTS, cubic_current
from gaincell.attention.head import HeadCircuits, tile_model
from gaincell.characterize.tile import (
    T_MAX,
    TileCase,
    TileResult,
    read_tile_results,
    run_tile_cases,
    write_tile_results,
)
from gaincell.circuits.design import STORE_OFFSET
from gaincell.errors import InputError

Array = NDArray[np.float64]

MODELS = ("array", "behavioural", "behavioural_matched")
"""Models compared with SPICE."""


def _behavioural_tile(
    case: TileCase, phi_in: Array | None, s_sat: float, out_scale: float
) -> tuple[Array, Array]:
    """The paper's equations on one tile (no quantization, no decay): Phi per token and the
    clamped output per dimension (with ``phi_in`` as the V rows' inputs if given)."""
    f_k = cubic_current(case.k - STORE_OFFSET, PAPER_COEFFICIENTS)
    f_v = cubic_current(case.v - STORE_OFFSET, PAPER_COEFFICIENTS)
    phi = np.clip(f_k @ case.q / s_sat, 0.0, 1.0)
    inputs = phi if phi_in is None else phi_in
    return phi, np.clip(inputs @ f_v / out_scale, -1.0, 1.0)


def model_outputs(
    cases: list[TileCase], results: list[TileResult], circuits: HeadCircuits
) -> dict[str, Array]:
    """Phi and outputs of every model for ``cases`` (SPICE's from ``results``), each (case, n).
    ``*_v_given_phi`` outputs take SPICE's Phi pulses as the V rows' inputs."""
    constants = circuits.equivalent_constants()
    out: dict[str, list[Array]] = {}

    def add(name: str, value: Array) -> None:
        out.setdefault(name, []).append(np.asarray(value, dtype=np.float64))

    for case, result in zip(cases, results, strict=True):
        spice_phi_in = result.v_in_width / T_MAX
        add("spice/phi", result.k_width / T_MAX)
        add("spice/output", (1 - 2 * result.out_sign) * result.out_width / T_MAX)
        chained = tile_model(circuits, case.q, case.k, case.v)
        given = tile_model(circuits, case.q, case.k, case.v, v_input_widths=result.v_in_width)
        add("array/phi", chained["phi_width"] / T_MAX)
        add("array/output", np.where(chained["out_negative"], -1, 1) * chained["out_width"] / T_MAX)
        add(
            "array/output_v_given_phi",
            np.where(given["out_negative"], -1, 1) * given["out_width"] / T_MAX,
        )
        for name, s_sat, out_scale in (
            ("behavioural", 80.0, 40.0),
            ("behavioural_matched", constants["s_sat"], constants["out_scale"]),
        ):
            phi, output = _behavioural_tile(case, None, s_sat, out_scale)
            add(f"{name}/phi", phi)
            add(f"{name}/output", output)
            add(
                f"{name}/output_v_given_phi",
                _behavioural_tile(case, spice_phi_in, s_sat, out_scale)[1],
            )
    return {name: np.stack(values) for name, values in out.items()}


def error_metrics(outputs: dict[str, Array]) -> dict[str, dict[str, float]]:
    """``model/operation`` -> NRMSE and max error (normalized to the SPICE values' range) and
    the number of points (failed SPICE columns, NaN, are left out). Operations: ``phi``
    (Phi(Q.K^T)) and ``output`` (Phi(S).V on SPICE's Phi pulses)."""
    metrics = {}
    for model in MODELS:
        for operation, key in (("phi", "phi"), ("output", "output_v_given_phi")):
            reference = outputs[f"spice/{operation}"].ravel()
            predicted = outputs[f"{model}/{key}"].ravel()
            ok = np.isfinite(reference)
            span = float(np.ptp(reference[ok])) if ok.any() else float("nan")
            error = predicted[ok] - reference[ok]
            metrics[f"{model}/{operation}"] = {
                "nrmse": float(np.sqrt(np.mean(error**2)) / span),
                "max_error": float(np.max(np.abs(error)) / span),
                "points": int(ok.sum()),
            }
    return metrics


@dataclass
class TileValidation:
    """A finished validation run."""

    path: Path
    """The HDF5 file."""
    cases: int
    """Number of cases."""
    size: int
    """Tile size (tokens; equal to dims for square tiles)."""
    metrics: dict[str, dict[str, float]]
    """``model/operation`` -> nrmse, max_error, points."""
    spice_seconds: float
    """Wall time of the SPICE runs."""
    array_seconds_per_case: float
    """Wall time of the array simulation of one case (both tiles)."""
    equivalent_constants: dict[str, float]
    """The converters' s_sat and out_scale in the paper's units."""


def validate_tiles(
    n_cases: int,
    *,
    size: int = 64,
    seed: int = 0,
    jobs: int = 2,
    corner: str = "tt",
    temperature: float = 27.0,
    out: str | Path,
    progress: bool = False,
) -> TileValidation:
    """Run ``n_cases`` random ``size x size`` cases in SPICE, the array simulation and the
    behavioural model; write everything to ``out``."""
    from gaincell.circuits.h5 import check_writable

    if n_cases < 1:
        raise InputError(f"--cases must be at least 1, got {n_cases}")
    if size < 1:
        raise InputError(f"--size must be at least 1, got {size}")
    out = check_writable(out)  # before hours of SPICE
    circuits = HeadCircuits.from_surrogates(corner, temperature)
    started = time.perf_counter()
    cases, results = run_tile_cases(
        n_cases,
        size,
        seed,
        jobs=jobs,
        corner=corner,
        temperature=temperature,
        progress=progress,
    )
    spice_seconds = time.perf_counter() - started
    return _compare_and_write(cases, results, circuits, out, spice_seconds, jobs)


def revalidate(source: str | Path, *, out: str | Path) -> TileValidation:
    """Recompute the array simulation and the behavioural model for the SPICE results stored in
    ``source`` (e.g. after the surrogates changed) and write them with those results to
    ``out``; no SPICE runs. The corner and temperature are the stored ones."""
    from gaincell.circuits.h5 import check_writable

    out = check_writable(out)
    stored = read_tile_results(source)
    first = stored.results[0]
    circuits = HeadCircuits.from_surrogates(first.corner, first.temperature)
    attrs = stored.provenance
    return _compare_and_write(
        stored.cases,
        stored.results,
        circuits,
        out,
        float(attrs.get("spice_seconds", float("nan"))),
        int(attrs.get("jobs", 0)),
    )


def _compare_and_write(
    cases: list[TileCase],
    results: list[TileResult],
    circuits: HeadCircuits,
    out: Path,
    spice_seconds: float,
    jobs: int,
) -> TileValidation:
    started = time.perf_counter()
    for case in cases:
        tile_model(circuits, case.q, case.k, case.v)
    array_seconds = (time.perf_counter() - started) / len(cases)
    outputs = model_outputs(cases, results, circuits)
    metrics = error_metrics(outputs)
    constants = circuits.equivalent_constants()
    extra = {name: value for name, value in outputs.items() if not name.startswith("spice/")}
    described = {
        name: {
            "units": "",
            "description": _DESCRIPTIONS[name.split("/")[1]].format(model=name.split("/")[0]),
        }
        for name in extra
    }
    root: dict[str, Any] = {
        "metrics": metrics,
        "spice_seconds": spice_seconds,
        "jobs": jobs,
        "array_seconds_per_case": array_seconds,
        "equivalent_constants": constants,
        "circuits": circuits.description,
        "scale_derivation": circuits.derivation,
    }
    write_tile_results(out, cases, results, extra, described, root)
    return TileValidation(
        out, len(cases), int(cases[0].k.shape[0]), metrics, spice_seconds, array_seconds, constants
    )


_DESCRIPTIONS = {
    "phi": "{model}: Phi per token (K tile output width / t_max)",
    "output": "{model}: signed V tile output (width / t_max), on its own Phi pulses",
    "output_v_given_phi": "{model}: signed V tile output on SPICE's Phi pulses",
}


def load_validation(path: str | Path) -> tuple[dict[str, Array], dict[str, Any]]:
    """Outputs of every model (``spice/phi`` ... as in :func:`model_outputs`) and the root
    attributes (metrics, timings, constants) of a validation file."""
    stored = read_tile_results(path)
    outputs = {
        "spice/phi": np.stack([r.k_width / T_MAX for r in stored.results]),
        "spice/output": np.stack(
            [(1 - 2 * r.out_sign) * r.out_width / T_MAX for r in stored.results]
        ),
    } | {name: np.asarray(v, dtype=np.float64) for name, v in stored.extra.items()}
    return outputs, stored.provenance
