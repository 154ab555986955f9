"""Run a sweep specification in parallel worker processes and store it as HDF5."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from gaincell.characterize.base import Task
from gaincell.characterize.parallel import run_parallel
from gaincell.characterize.registry import get_characterization
from gaincell.characterize.spec import MAX_POINTS, SweepSpec
from gaincell.characterize.store import AxisData, CharacterizationData, write_characterization
from gaincell.circuits.files import stamp
from gaincell.circuits.h5 import check_writable
from gaincell.circuits.netlist import Deck
from gaincell.circuits.pdk import PDK_NAME


@dataclass
class TaskResult:
    """What one worker task returns."""

    arrays: dict[str, np.ndarray]
    """Measured quantities of the task's block."""
    ngspice_version: str
    """Version reported by the worker's libngspice."""
    load_seconds: float
    """Time spent parsing decks (0 when the worker's loaded deck was reused)."""
    simulate_seconds: float
    """Time spent in analyses and reading vectors."""
    pid: int
    """Worker process id."""
    failures: list[dict] = field(default_factory=list)
    """Points that failed (stored as NaN), with ngspice's reason."""


@dataclass
class SweepReport:
    """Timing of a finished sweep, for the CLI summary and the benchmarks."""

    points: int
    """Simulated points."""
    seconds: float
    """Wall time of the parallel part."""
    tasks: list[TaskResult] = field(default_factory=list)
    """Per-task results (arrays dropped)."""


@lru_cache(maxsize=8)
def _deck(circuit: str, corner: str) -> Deck:
    return get_characterization(circuit).deck(corner)


def run_tasks(spec_json: str, tasks: list[Task]) -> list[TaskResult]:
    """Worker entry point: simulate a contiguous run of tasks, reloading the deck only when the
    corner changes."""
    return [run_task(spec_json, task) for task in tasks]


def partition(tasks: list[Task], jobs: int, corners: int) -> list[list[Task]]:
    """Split tasks into contiguous work units: one per worker when parallel (each worker then
    loads about corners/jobs + 1 decks instead of one per task), one per corner when serial
    (for the progress bar)."""
    units = jobs if jobs > 1 else corners
    edges = np.linspace(0, len(tasks), min(units, len(tasks)) + 1).round().astype(int)
    return [tasks[a:b] for a, b in pairwise(edges) if b > a]


def run_task(spec_json: str, task: Task) -> TaskResult:
    """Simulate one task. The worker keeps its last deck loaded, so the models are parsed once
    per corner per worker."""
    from gaincell.circuits.runner import get_runner

    spec = SweepSpec.from_json(spec_json)
    characterization = get_characterization(spec.circuit)
    runner = get_runner()
    deck = _deck(spec.circuit, task.corner)
    loads_before = runner.loads
    started = time.perf_counter()
    with runner.loaded(deck.text, reuse=True) as circuit:
        loaded = time.perf_counter()
        arrays = characterization.simulate(circuit, spec, task)
    finished = time.perf_counter()
    load_seconds = loaded - started if runner.loads > loads_before else 0.0
    return TaskResult(
        arrays,
        runner.version,
        load_seconds,
        finished - loaded,
        os.getpid(),
        characterization.failures,
    )


def simulate_spec(
    spec: SweepSpec, jobs: int = 1, progress: bool = True
) -> tuple[dict[str, np.ndarray], SweepReport]:
    """Run every task of ``spec`` and assemble full arrays (corner, temperature, ...)."""
    characterization = get_characterization(spec.circuit)
    tasks = characterization.tasks(spec, jobs)
    units = partition(tasks, jobs, len(spec.corners))
    started = time.perf_counter()
    unit_results = run_parallel(
        run_tasks,
        [(spec.to_json(), unit) for unit in units],
        jobs=jobs,
        progress=progress,
        description=f"{spec.circuit} ({len(tasks)} blocks in {len(units)} units)",
    )
    seconds = time.perf_counter() - started
    results = [result for unit in unit_results for result in unit]
    arrays: dict[str, np.ndarray] = {}
    for task, result in zip(tasks, results, strict=True):
        corner_index = spec.corners.index(task.corner)
        for name, block in result.arrays.items():
            if name not in arrays:
                shape = (
                    len(spec.corners),
                    len(spec.temperatures),
                    characterization.blocked_axis_length(spec),
                    *block.shape[2:],
                )
                arrays[name] = np.full(shape, np.nan)
            arrays[name][corner_index, :, task.start : task.stop] = block
    for result in results:
        result.arrays = {}
    return arrays, SweepReport(spec.points, seconds, list(results))


def provenance(spec: SweepSpec, ngspice_version: str) -> dict[str, Any]:
    """Provenance attributes for a sweep of ``spec``."""
    characterization = get_characterization(spec.circuit)
    hashes: dict[str, str] = {}
    version = ""
    decks = [_deck(spec.circuit, corner) for corner in spec.corners]
    for deck in decks:
        hashes.update(deck.models.file_hashes())
        version = deck.models.location.version
    return {
        "ngspice_version": ngspice_version,
        "pdk_name": PDK_NAME,
        "pdk_version": version,
        "model_files_sha256": hashes,
        "netlist": decks[0].netlist_text,
        "netlist_sha256": decks[0].netlist_sha256,
        "netlist_files": list(characterization.netlists),
        "sweep_spec": spec.to_json(),
        **stamp(),
    }


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    jobs: int = 1,
    progress: bool = True,
    max_points: int = MAX_POINTS,
    overwrite: bool = False,
) -> SweepReport:
    """Simulate ``spec`` and write it to ``out`` (atomically; an existing file is replaced
    only with ``overwrite``). The output path and the sweep's size (at most ``max_points``)
    are checked before any simulation runs."""
    spec.check_size(max_points)
    out = check_writable(out, overwrite=overwrite)
    characterization = get_characterization(spec.circuit)
    for corner in spec.corners:  # model and netlist problems surface before workers start
        _deck(spec.circuit, corner)
    arrays, report = simulate_spec(spec, jobs=jobs, progress=progress)
    axes = {
        "corner": AxisData(np.array(spec.corners), "", "process corner (n first, p second)"),
        "temperature": AxisData(np.array(spec.temperatures), "degC", "simulation temperature"),
    }
    for name, (values, units, description) in characterization.axis_values(spec).items():
        axes[name] = AxisData(values, units, description)
    quantities = {q.name: q for q in characterization.quantities}
    data = CharacterizationData(
        circuit=spec.circuit,
        axes=axes,
        quantities=arrays,
        quantity_axes={name: characterization.quantity_axes(quantities[name]) for name in arrays},
        units={name: quantities[name].units for name in arrays},
        descriptions={name: quantities[name].description for name in arrays},
        provenance=provenance(spec, report.tasks[0].ngspice_version)
        | {"failures": [f for task in report.tasks for f in task.failures]},
    )
    write_characterization(out, data, overwrite=overwrite)
    return report
