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
dimension (V-tile output width / T_MAX with its sign), three ways against SPICE:

- ``phi``: Phi(Q.K^T);
- ``output``: Phi(S).V given SPICE's Phi pulses (the second operation on its own);
- ``chained``: the model's own Phi into its own V tile, against SPICE's output (the whole
  step, errors of the first operation carried into the second).

Errors are normalized to the SPICE values' range, or to one counter level where the range is
smaller (NRMSE, max error); ``sign_errors`` counts
outputs whose sign differs from SPICE's where SPICE's magnitude is above one counter level.
A file may hold cases at several corners and temperatures (a validation matrix): each case is
modelled at its own, and :func:`condition_metrics` reports each condition on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gaincell.attention.behavioural import OUT_RANGE, PAPER_COEFFICIENTS, cubic_current
from gaincell.attention.column import ColumnTrajectory
from gaincell.attention.energy import energy_shipped
from gaincell.attention.head import HeadCircuits, HeadConfig, cell_pulse_energies, tile_model
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


COUNTER_LEVEL = (OUT_RANGE[1] - OUT_RANGE[0]) / (HeadConfig().levels[2] - 1)
"""One level of the output counter in model units (the sign criterion's threshold)."""
OPERATIONS = {"phi": "phi", "output": "output_v_given_phi", "chained": "output"}
"""Operation -> the model output compared with SPICE (``spice/phi`` for ``phi``, else
``spice/output``)."""

CircuitsFor = Callable[[str, float], HeadCircuits]


def surrogate_circuits() -> CircuitsFor:
    """(corner, temperature) -> the shipped surrogates' circuits, built once per condition,
    with energy models when the energy surrogates are shipped."""
    return lru_cache(maxsize=None)(partial(HeadCircuits.from_surrogates, energy=energy_shipped()))


def signed_output(modelled: dict[str, Array]) -> Array:
    """A :func:`tile_model` result's signed V tile output in model units (width / T_MAX, the
    sign of ``out_negative``), as :attr:`TileResult.output` is SPICE's."""
    return np.where(modelled["out_negative"], -1, 1) * modelled["out_width"] / T_MAX


def model_outputs(
    cases: list[TileCase],
    results: list[TileResult],
    circuits: HeadCircuits | CircuitsFor,
) -> dict[str, Array]:
    """Phi and outputs of every model for ``cases`` (SPICE's from ``results``), each (case, n).
    ``*_v_given_phi`` outputs take SPICE's Phi pulses as the V rows' inputs. ``circuits``:
    one set for every case, or (corner, temperature) -> the circuits of each case's own."""
    out: dict[str, list[Array]] = {}

    def add(name: str, value: Array) -> None:
        out.setdefault(name, []).append(np.asarray(value, dtype=np.float64))

    for case, result in zip(cases, results, strict=True):
        if isinstance(circuits, HeadCircuits):
            case_circuits = circuits
        else:
            case_circuits = circuits(result.corner, result.temperature)
        constants = case_circuits.equivalent_constants()
        spice_phi_in = result.v_in_width / T_MAX
        add("spice/phi", result.phi)
        add("spice/output", result.output)
        chained = tile_model(case_circuits, case.q, case.k, case.v)
        given = tile_model(case_circuits, case.q, case.k, case.v, v_input_widths=result.v_in_width)
        add("array/phi", chained["phi_width"] / T_MAX)
        add("array/output", signed_output(chained))
        add("array/output_v_given_phi", signed_output(given))
        if "energy_k_cells" in chained:  # K from the chained run, V on SPICE's Phi pulses
            for part in ENERGY_PARTS:
                add(
                    f"array/energy_{part}", (chained if part[0] == "k" else given)[f"energy_{part}"]
                )
                kind, what = part.split("_")
                measured = getattr(result, kind)
                add(
                    f"spice/energy_{part}",
                    measured.e_cells + measured.e_rows if what == "cells" else measured.e_converter,
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


ENERGY_PARTS = ("k_cells", "k_converter", "v_cells", "v_converter")
"""Energy per tile column compared with SPICE: each tile's cells (supply and row drivers) and
converters."""
ENERGY_TOLERANCE = 0.05
"""The array simulation's energy of a tile must be within 5 % of SPICE's."""
PART_FLOOR = 1e-4
"""A part of a tile's energy that SPICE measured below this fraction of the tile's is not
compared on its own (relative error None): a V tile that Phi gives no pulse draws only
integration noise in its cells (a few fJ either sign over a tile, ~1e-5 of it), which no
relative error describes, while one real pulse's cells draw ~1e-3 of it. The tile's total is
compared as always."""


def energy_metrics(outputs: dict[str, Array]) -> dict[str, Any]:
    """Relative error of the array simulation's energy against SPICE per case and tile (K,
    V: all its columns' cells and converters) and per part (None where SPICE measured under
    :data:`PART_FLOOR` of the tile), and the worst (None: no case compared); empty when SPICE
    measured no energy (files from before energies were measured)."""
    if "spice/energy_k_cells" not in outputs:
        return {}
    spice = {part: outputs[f"spice/energy_{part}"].sum(axis=1) for part in ENERGY_PARTS}
    array = {part: outputs[f"array/energy_{part}"].sum(axis=1) for part in ENERGY_PARTS}
    if not all(np.all(np.isfinite(values)) for values in spice.values()):
        return {}
    out: dict[str, Any] = {}
    measured_tile: dict[str, Array] = {}  # SPICE's energy per case of each tile
    for tile in ("k", "v"):
        parts = [p for p in ENERGY_PARTS if p.startswith(tile)]
        measured = measured_tile[tile] = sum(spice[p] for p in parts)
        modelled = sum(array[p] for p in parts)
        out[f"{tile}_tile"] = {
            "spice_J": measured.tolist(),
            "array_J": modelled.tolist(),
            "relative_error": ((modelled - measured) / measured).tolist(),
            "worst": float(np.max(np.abs((modelled - measured) / measured))),
        }
    for part in ENERGY_PARTS:
        compared = np.abs(spice[part]) >= PART_FLOOR * np.abs(measured_tile[part[0]])
        error = (array[part] - spice[part]) / np.where(compared, spice[part], 1.0)
        out[part] = {
            "relative_error": [
                float(e) if c else None for e, c in zip(error, compared, strict=True)
            ],
            "worst": float(np.max(np.abs(error[compared]))) if compared.any() else None,
        }
    return out


def error_metrics(
    outputs: dict[str, Array], cases: NDArray[np.bool_] | None = None
) -> dict[str, dict[str, float]]:
    """``model/operation`` -> NRMSE and max error (normalized to the SPICE values' range, at
    least one counter level),
    the number of points (failed SPICE columns, NaN, are left out) and, for the two output
    operations, ``sign_errors``: outputs of the wrong sign where SPICE's |output| is above one
    counter level. Operations: :data:`OPERATIONS`. ``cases``: only these cases (a mask)."""
    metrics = {}
    for model in MODELS:
        for operation, key in OPERATIONS.items():
            source = "phi" if operation == "phi" else "output"
            reference = outputs[f"spice/{source}"]
            predicted = outputs[f"{model}/{key}"]
            if cases is not None:
                reference, predicted = reference[cases], predicted[cases]
            reference, predicted = reference.ravel(), predicted.ravel()
            ok = np.isfinite(reference)
            # The SPICE range, or one counter level where every value sits within one (e.g. no
            # Phi pulse at all at a corner): an error is then counted in counter levels.
            span = max(float(np.ptp(reference[ok])), COUNTER_LEVEL) if ok.any() else float("nan")
            error = predicted[ok] - reference[ok]
            entry = {
                "nrmse": float(np.sqrt(np.mean(error**2)) / span),
                "max_error": float(np.max(np.abs(error)) / span),
                "points": int(ok.sum()),
            }
            if source == "output":
                counted = np.abs(reference[ok]) > COUNTER_LEVEL
                wrong = np.sign(predicted[ok]) != np.sign(reference[ok])
                entry["sign_errors"] = int(np.count_nonzero(counted & wrong))
                entry["sign_checked"] = int(np.count_nonzero(counted))
            metrics[f"{model}/{operation}"] = entry
    return metrics


def condition_metrics(
    outputs: dict[str, Array], results: list[TileResult]
) -> dict[str, dict[str, dict[str, float]]]:
    """``"<corner>/<temperature>"`` -> :func:`error_metrics` over that condition's cases."""
    conditions = [f"{r.corner}/{r.temperature:g}" for r in results]
    return {
        name: error_metrics(outputs, np.array([c == name for c in conditions]))
        for name in dict.fromkeys(conditions)
    }


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
    """``model/operation`` -> nrmse, max_error, points (sign_errors for outputs)."""
    by_condition: dict[str, dict[str, dict[str, float]]]
    """``"corner/temperature"`` -> the same metrics over that condition's cases."""
    spice_seconds: float
    """Wall time of the SPICE runs."""
    array_seconds_per_case: float
    """Wall time of the array simulation of one case (both tiles)."""
    equivalent_constants: dict[str, float]
    """The converters' s_sat and out_scale in the paper's units (first condition)."""
    energy: dict[str, Any] = field(default_factory=dict)
    """:func:`energy_metrics` (empty without SPICE energies or energy models)."""
    mismatch: dict[str, Any] = field(default_factory=dict)
    """:func:`gaincell.attention.tile_mismatch.mismatch_metrics` of the Monte Carlo cases and
    their nominal twins (empty without Monte Carlo cases)."""


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
    overwrite: bool = False,
    mismatch_seed: int | None = None,
) -> TileValidation:
    """Run ``n_cases`` random ``size x size`` cases in SPICE, the array simulation and the
    behavioural model; write everything to ``out`` (replaced only with ``overwrite``). With
    ``mismatch_seed`` each case runs twice in SPICE: with nominal devices and as a Monte Carlo
    array (every cell and converter its own sky130 mismatch draw; each case its own array),
    the two compared in distribution with the array simulation's own drawn devices
    (:mod:`gaincell.attention.tile_mismatch`)."""
    from gaincell.circuits.h5 import check_writable

    if n_cases < 1:
        raise InputError(f"--cases must be at least 1, got {n_cases}")
    if size < 1:
        raise InputError(f"--size must be at least 1, got {size}")
    out = check_writable(out, overwrite=overwrite)  # before hours of SPICE
    circuits = surrogate_circuits()
    circuits(corner, temperature)  # fails now, not after the SPICE runs, if a model is missing
    started = time.perf_counter()
    cases, results = [], []
    for devices in (None,) if mismatch_seed is None else (None, mismatch_seed):
        drawn, measured = run_tile_cases(
            n_cases,
            size,
            seed,
            jobs=jobs,
            corner=corner,
            temperature=temperature,
            progress=progress,
            mismatch_seed=devices,
        )
        cases, results = cases + drawn, results + measured
    spice_seconds = time.perf_counter() - started
    return _compare_and_write(cases, results, circuits, out, spice_seconds, jobs, overwrite)


def revalidate(
    source: str | Path | Sequence[str | Path], *, out: str | Path, overwrite: bool = False
) -> TileValidation:
    """Recompute the array simulation and the behavioural model for the SPICE results stored in
    ``source`` (e.g. after the surrogates changed) and write them with those results to
    ``out``; no SPICE runs. Several files (of one tile size, e.g. a corner x temperature
    matrix run one condition per file) are merged into ``out``; each case keeps its stored
    corner and temperature. Reads files of every tile-results format version."""
    from gaincell.circuits.h5 import StoreError, check_writable

    sources = [source] if isinstance(source, str | Path) else list(source)
    if not sources:
        raise InputError("--reuse needs at least one tile results file")
    if any(Path(s).resolve() == Path(out).resolve() for s in sources):
        raise InputError(f"--reuse and --out must be different files ({out})")
    out = check_writable(out, overwrite=overwrite)
    stored = [read_tile_results(s) for s in sources]
    shapes = {f.cases[0].k.shape for f in stored}
    if len(shapes) != 1:
        raise StoreError(f"files to merge must hold tiles of one shape, got {sorted(shapes)}")
    cases = [c for f in stored for c in f.cases]
    results = [r for f in stored for r in f.results]
    seconds = sum(float(f.provenance.get("spice_seconds", float("nan"))) for f in stored)
    jobs = int(stored[0].provenance.get("jobs", 0))
    return _compare_and_write(cases, results, surrogate_circuits(), out, seconds, jobs, overwrite)


TIMED_PASSES = 3
"""Least passes over a file's cases when timing the array simulation."""
TIMED_CASES = 30
"""Least case evaluations when timing the array simulation (a one-case file's single cold
call measured its first allocations, not the model)."""


def _array_seconds_per_case(
    cases: list[TileCase], results: list[TileResult], circuits: CircuitsFor
) -> float:
    """The array simulation's seconds per tile case: the median over passes through every
    case (at least :data:`TIMED_PASSES` passes and :data:`TIMED_CASES` evaluations)."""
    passes = max(TIMED_PASSES, -(-TIMED_CASES // len(cases)))
    per_pass = []
    for _ in range(passes):
        started = time.perf_counter()
        for case, result in zip(cases, results, strict=True):
            tile_model(circuits(result.corner, result.temperature), case.q, case.k, case.v)
        per_pass.append((time.perf_counter() - started) / len(cases))
    return float(np.median(per_pass))


def _compare_and_write(
    cases: list[TileCase],
    results: list[TileResult],
    circuits: CircuitsFor,
    out: Path,
    spice_seconds: float,
    jobs: int,
    overwrite: bool = False,
) -> TileValidation:
    for result in results:  # build each condition's circuits (and tables) before timing
        built = circuits(result.corner, result.temperature)
        if built.column is not None:
            built.written_cells(0.0)
        if built.energy is not None:
            built.written_energy(0.0)
    array_seconds = _array_seconds_per_case(cases, results, circuits)
    outputs = model_outputs(cases, results, circuits)
    # The nominal array is validated on nominal tiles; Monte Carlo tiles are compared in
    # distribution (their drawn devices are SPICE's own).
    nominal = np.array([c.mismatch_seed is None for c in cases])
    if not nominal.any():
        raise InputError("Monte Carlo tiles need their nominal twins (the same cases, nominal)")
    metrics = error_metrics(outputs, nominal)
    nominal_outputs = {name: value[nominal] for name, value in outputs.items()}
    energy = energy_metrics(nominal_outputs)
    by_condition = condition_metrics(
        nominal_outputs, [r for r, n in zip(results, nominal, strict=True) if n]
    )
    # Imported here: tile_mismatch builds on this module's outputs and constants.
    from gaincell.attention.tile_mismatch import mismatch_errors, mismatch_metrics, mismatch_pairs

    mismatch: dict[str, Any] = {}
    if mismatch_pairs(cases, results):
        mismatch = mismatch_metrics(mismatch_errors(cases, results, circuits))
    first = circuits(results[0].corner, results[0].temperature)
    constants = first.equivalent_constants()
    extra = {name: value for name, value in outputs.items() if not name.startswith("spice/")}
    described = {
        name: {
            "units": "J" if name.split("/")[1].startswith("energy_") else "",
            "description": _DESCRIPTIONS[name.split("/")[1]].format(model=name.split("/")[0]),
        }
        for name in extra
    }
    extra |= {name: value for name, value in outputs.items() if name.startswith("spice/energy_")}
    described |= {
        name: {"units": "J", "description": _DESCRIPTIONS[name.split("/")[1]].format(model="spice")}
        for name in outputs
        if name.startswith("spice/energy_")
    }
    root: dict[str, Any] = {
        "metrics": metrics,
        "metrics_by_condition": by_condition,
        "energy_metrics": energy,
        "mismatch_metrics": mismatch,
        "spice_seconds": spice_seconds,
        "jobs": jobs,
        "array_seconds_per_case": array_seconds,
        "equivalent_constants": constants,
        "circuits": first.description,
        "scale_derivation": first.derivation,
    }
    write_tile_results(out, cases, results, extra, described, root, overwrite=overwrite)
    return TileValidation(
        out,
        len(cases),
        int(cases[0].k.shape[0]),
        metrics,
        by_condition,
        spice_seconds,
        array_seconds,
        constants,
        energy,
        mismatch,
    )


ABLATIONS: dict[str, dict[str, Any]] = {
    "all models": {},
    "without the comparator's memory": {"relu_recovery": None},
    "without the edge charge's turn-off split": {"edge_split": False},
    "without the short pulses' own charge": {"short_pulses": False},
    "without the cells' column load": {"cell_load": None},
    "without the bisected switching points": {"relu_step": None, "signed_step": None},
    "without the column model": {"column": False},
    "without the converter steps": {"converter_steps": False},
    "without the column model or the steps": {"column": False, "converter_steps": False},
}
"""What each part of the array simulation contributes: ``HeadCircuits.from_surrogates``
options switched off one at a time."""


def ablation(
    cases: list[TileCase],
    results: list[TileResult],
    variants: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Variant -> :func:`condition_metrics` of the array simulation built with that
    variant's ``HeadCircuits.from_surrogates`` options (default :data:`ABLATIONS`)."""
    out = {}
    for name, options in (variants or ABLATIONS).items():

        def build(corner: str, temperature: float, options=options) -> HeadCircuits:
            return HeadCircuits.from_surrogates(corner, temperature, **options)

        outputs = model_outputs(cases, results, lru_cache(maxsize=None)(build))
        out[name] = condition_metrics(outputs, results)
    return out


_DESCRIPTIONS = {
    "energy_k_cells": "{model}: energy of each K column's cells, supply and row drivers [J]",
    "energy_k_converter": "{model}: energy of each K column's ReLU converter [J]",
    "energy_v_cells": "{model}: energy of each V column's cells on SPICE's Phi pulses [J]",
    "energy_v_converter": "{model}: energy of each V column's signed converter [J]",
    "phi": "{model}: Phi per token (K tile output width / t_max)",
    "output": "{model}: signed V tile output (width / t_max), on its own Phi pulses",
    "output_v_given_phi": "{model}: signed V tile output on SPICE's Phi pulses",
}


def load_validation(path: str | Path) -> tuple[dict[str, Array], dict[str, Any]]:
    """Outputs of every model (``spice/phi`` ... as in :func:`model_outputs`) and the root
    attributes (metrics, timings, constants) of a validation file."""
    stored = read_tile_results(path)
    outputs = {
        "spice/phi": np.stack([r.phi for r in stored.results]),
        "spice/output": np.stack([r.output for r in stored.results]),
    } | {name: np.asarray(v, dtype=np.float64) for name, v in stored.extra.items()}
    return outputs, stored.provenance


MAC_CHAIN_HOLD_S = 1.5e-9
"""From the mac-chain testbench's write word line falling (8 .. 9 ns) to its K MAC (10 ns):
the hold its cells are looked up at."""


def mac_chain_energy(path: str | Path) -> dict[str, Any]:
    """The array simulation's energy of the MAC-chain transients' ideally driven cells against
    SPICE's (``e_k_cells``: the K column's 8 cells on their Q pulses; ``e_v_cells``: V rows
    1..7 on the other tokens' Phi pulses), per corner, temperature and case: each column
    simulated as a tile of one column (:func:`~gaincell.attention.head.tile_model`, the V
    column's row 0 on SPICE's own Phi pulse), each cell's pulse energy at the column voltage
    its pulse saw (:func:`~gaincell.attention.head.cell_pulse_energies`). Returns per column
    kind the SPICE and array energies [J] (corners, temperatures, cases), their relative
    errors and the worst."""
    from gaincell.characterize.mac_chain import case_inputs
    from gaincell.characterize.store import read_characterization

    data = read_characterization(path)
    if "e_k_cells" not in data.quantities:
        raise InputError(f"{path} holds no per-column cell energies (a mac-chain file from before)")
    corners = [str(c) for c in data.axes["corner"].values]
    temperatures = [float(t) for t in data.axes["temperature"].values]
    cases = data.axes["case"].values.round().astype(int)
    seed = int(data.provenance["sweep_spec"]["settings"]["seed"])
    shape = (len(corners), len(temperatures), len(cases))
    array = {kind: np.full(shape, np.nan) for kind in ("k", "v")}
    hold = MAC_CHAIN_HOLD_S
    for ci, corner in enumerate(corners):
        for ti, temperature in enumerate(temperatures):
            circuits = HeadCircuits.from_surrogates(corner, temperature, energy=True)
            for ki, case in enumerate(cases):
                inputs = case_inputs(int(case), seed)
                wq, wp = (np.asarray(inputs[n], dtype=np.float64) for n in ("wq", "wp"))
                k_cells = np.asarray(inputs["k"], dtype=np.float64)[None] - STORE_OFFSET
                v_cells = np.asarray(inputs["v"], dtype=np.float64)[:, None] - STORE_OFFSET
                k_tile = tile_model(circuits, wq / circuits.t_max, k_cells, k_cells, hold_time=hold)
                phi_spice = float(data.quantities["phi_width"][ci, ti, ki])
                v_widths = np.concatenate([[phi_spice], wp[1:]])
                v_tile = tile_model(
                    circuits,
                    np.zeros(1),
                    v_cells,
                    v_cells,
                    hold_time=hold,
                    v_input_widths=v_widths,
                )
                for kind, cells, widths, tile, rows in (
                    ("k", k_cells.T, wq, k_tile, slice(None)),
                    ("v", v_cells, v_widths, v_tile, slice(1, None)),
                ):
                    column = ColumnTrajectory(
                        tile[f"charge_{kind}"][None],
                        tile[f"{kind}_times"],
                        tile[f"{kind}_drop"][None],
                    )
                    energies = cell_pulse_energies(circuits, cells, widths, hold, column)
                    array[kind][ci, ti, ki] = float(energies[rows].sum())
    out: dict[str, Any] = {}
    for kind in ("k", "v"):
        spice = data.quantities[f"e_{kind}_cells"]
        error = (array[kind] - spice) / spice
        out[kind] = {
            "spice_J": spice,
            "array_J": array[kind],
            "relative_error": error,
            "worst": float(np.nanmax(np.abs(error))),
        }
    out["conditions"] = {"corners": corners, "temperatures": temperatures, "cases": cases}
    return out
