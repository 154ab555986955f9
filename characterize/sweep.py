"""Run a sweep specification in parallel worker processes and store it as HDF5."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gaincell.characterize.base import Task
from gaincell.characterize.parallel import PoolOptions, WorkerLost, imap_unordered
from gaincell.characterize.registry import get_characterization
from gaincell.characterize.spec import MAX_POINTS, SweepSpec
from gaincell.characterize.store import AxisData, CharacterizationData, write_characterization
from gaincell.circuits.files import stamp
from gaincell.circuits.h5 import (
    StoreError,
    atomic_h5,
    atomic_output,
    check_writable,
    open_h5,
    output_lock,
)
from gaincell.circuits.montecarlo import with_sample
from gaincell.circuits.netlist import Deck
from gaincell.circuits.pdk import PDK_NAME
from gaincell.circuits.runner import RunLimits
from gaincell.errors import GaincellError


class SweepError(GaincellError, RuntimeError):
    """A sweep that cannot run or finish: a journal in the way, or nothing simulated."""


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


def run_task(spec_json: str, task: Task, limits: RunLimits | None = None) -> TaskResult:
    """Worker entry point: simulate one task. The worker keeps its last deck loaded, so the
    models are parsed once per corner per worker. An analysis past ``limits`` that the
    characterization does not catch itself makes the whole block NaN, with the reason."""
    from gaincell.circuits.runner import SpiceLimitError, get_runner

    spec = SweepSpec.from_json(spec_json)
    characterization = get_characterization(spec.circuit)
    runner = get_runner()
    deck = _deck(spec.circuit, task.corner)
    text = deck.text
    if spec.monte_carlo is not None and task.sample is not None:
        text = with_sample(text, spec.monte_carlo.deck_lines(task.sample))
    loads_before = runner.loads
    started = time.perf_counter()
    with runner.limited(limits or RunLimits()), runner.loaded(text, reuse=True) as circuit:
        loaded = time.perf_counter()
        try:
            arrays = characterization.simulate(circuit, spec, task)
        except SpiceLimitError as error:
            arrays = {}
            characterization.failures.append(_block_failure(spec, task, error.reason))
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


def _block_failure(spec: SweepSpec, task: Task, reason: str) -> dict:
    """A failure record covering a whole task (every temperature, the block's outer points)."""
    outer = next(iter(get_characterization(spec.circuit).axis_specs))
    values = spec.axes[outer].values()[task.start : task.stop]
    return {
        "corner": task.corner,
        **({} if task.sample is None else {"sample": task.sample}),
        "temperature": None,
        "point": {outer: [float(v) for v in values]},
        "reason": reason,
    }


def _missing(task: Task, results: dict[Task, TaskResult]) -> list[Task]:
    """What of ``task`` still has to run: nothing, all of it, or (when it was split into single
    points after losing its worker) the points not yet committed."""
    if task in results:
        return []
    points = [Task(task.corner, i, i + 1, task.sample) for i in range(task.start, task.stop)]
    done = [point for point in points if point in results]
    return [p for p in points if p not in results] if done else [task]


_BLOCK_NAME = re.compile(
    r"block-(?P<corner>[a-z]+)(?:-s(?P<sample>\d+))?-(?P<start>\d+)-(?P<stop>\d+)"
)
"""A journal block's file stem (:meth:`Journal._name`): ``block-ss-0-5``, and with Monte Carlo
``block-ss-s7-0-5``."""


class Journal:
    """The finished blocks of a sweep that is still running or was interrupted.

    A folder beside the output, ``<out>.journal/``, holds ``spec.json`` (the sweep) and one
    HDF5 file per finished task, each written under a temporary name and renamed, so a kill
    at any moment leaves only complete blocks. ``--resume`` reads them and runs the rest; the
    folder is removed once the output is written.
    """

    def __init__(self, out: Path, spec: SweepSpec, tasks: list[Task], resume: bool) -> None:
        self.folder = out.with_name(out.name + ".journal")
        self.spec_json = spec.to_json()
        self.tasks = tasks
        """The blocks of the run (on resume: those the interrupted run used, whatever --jobs)."""
        if self.folder.is_dir() and not (self.folder / "spec.json").is_file():
            shutil.rmtree(self.folder)  # killed before its first write: nothing to keep
        if self.folder.exists():
            if not resume:
                raise SweepError(
                    f"{self.folder} holds the finished blocks of an interrupted run of {out}: "
                    "add --resume to finish it, or delete that folder to start again"
                )
            recorded = self.folder / "spec.json"
            if not recorded.is_file() or recorded.read_text() != self.spec_json:
                raise SweepError(
                    f"{self.folder} belongs to a different sweep than this command's; "
                    "resume with the same command, or delete that folder"
                )
            layout = json.loads((self.folder / "blocks.json").read_text())
            # [corner, start, stop] (before Monte Carlo) or [corner, start, stop, sample]
            self.tasks = [Task(*entry) for entry in layout]
        else:
            self.folder.mkdir()
            layout = [[t.corner, t.start, t.stop, t.sample] for t in tasks]
            for name, text in (("blocks.json", json.dumps(layout)), ("spec.json", self.spec_json)):
                # spec.json last: it marks the journal as started
                with atomic_output(self.folder / name, suffixes=(".json",)) as temporary:
                    temporary.write_text(text)

    @staticmethod
    def _name(task: Task) -> str:
        sample = "" if task.sample is None else f"s{task.sample}-"
        return f"block-{task.corner}-{sample}{task.start}-{task.stop}.h5"

    def finished(self) -> dict[Task, TaskResult]:
        """Every block committed so far (unreadable ones are deleted and run again)."""
        done: dict[Task, TaskResult] = {}
        for leftover in self.folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)  # a write cut short by a kill
        for path in sorted(self.folder.glob("block-*.h5")):
            name = _BLOCK_NAME.fullmatch(path.stem)
            try:
                if name is None:
                    raise ValueError(f"not a block name: {path.name}")
                sample = None if name["sample"] is None else int(name["sample"])
                task = Task(name["corner"], int(name["start"]), int(name["stop"]), sample)
                done[task] = _read_block(path)
            except (OSError, KeyError, ValueError):  # StoreError is a ValueError
                path.unlink(missing_ok=True)
        return done

    def commit(self, task: Task, result: TaskResult) -> None:
        """Store one finished block (atomically)."""
        _write_block(self.folder / self._name(task), result)

    def remove(self) -> None:
        """Delete the journal (after the output is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_block(path: Path, result: TaskResult) -> None:
    with atomic_h5(path) as h5:
        for name, array in result.arrays.items():
            h5.create_dataset(name, data=np.asarray(array, dtype=np.float64))
        h5.attrs["ngspice_version"] = result.ngspice_version
        h5.attrs["load_seconds"] = result.load_seconds
        h5.attrs["simulate_seconds"] = result.simulate_seconds
        h5.attrs["pid"] = result.pid
        h5.attrs["failures"] = json.dumps(result.failures)


def _read_block(path: Path) -> TaskResult:
    with open_h5(path, "journal block", StoreError) as h5:
        return TaskResult(
            {name: dataset[()] for name, dataset in h5.items()},
            str(h5.attrs["ngspice_version"]),
            float(h5.attrs["load_seconds"]),
            float(h5.attrs["simulate_seconds"]),
            int(h5.attrs["pid"]),
            json.loads(h5.attrs["failures"]),
        )


def simulate_spec(
    spec: SweepSpec,
    jobs: int = 1,
    progress: bool = True,
    *,
    options: PoolOptions | None = None,
    limits: RunLimits | None = None,
    journal: Journal | None = None,
) -> tuple[dict[str, np.ndarray], SweepReport]:
    """Run every task of ``spec`` and assemble full arrays (corner, temperature, ...).

    Tasks go to the workers one block at a time; each finished block is committed to
    ``journal`` (when given) as it arrives, and blocks the journal already holds are not run.
    A block whose worker died is run again point by point (each outer-axis value on its own),
    so only the point that kills its worker is stored as NaN, with the reason.
    """
    characterization = get_characterization(spec.circuit)
    tasks = journal.tasks if journal else characterization.tasks(spec, jobs)
    results: dict[Task, TaskResult] = journal.finished() if journal else {}
    # Each piece still to run, with the block it belongs to (the bar counts whole blocks).
    block_of = {piece: task for task in tasks for piece in _missing(task, results)}
    todo = list(block_of)
    spec_json = spec.to_json()
    started = time.perf_counter()
    with tqdm(
        total=len(tasks),
        initial=len(tasks) - len(set(block_of.values())),
        desc=f"{spec.circuit} ({len(tasks)} blocks)",
        disable=not progress,
        unit="block",
    ) as bar:
        while todo:
            lost: list[Task] = []
            for index, result in imap_unordered(
                run_task, [(spec_json, task, limits) for task in todo], jobs, options
            ):
                task = todo[index]
                if isinstance(result, WorkerLost):
                    if task.stop - task.start > 1:
                        lost.append(task)
                        continue
                    result = TaskResult(
                        {}, "", 0.0, 0.0, 0, [_block_failure(spec, task, result.reason)]
                    )
                results[task] = result
                if journal:
                    journal.commit(task, result)
                if not _missing(block_of[task], results):
                    bar.update()
            # Split the blocks that lost their worker into single points and run those.
            split = {
                Task(t.corner, i, i + 1, t.sample): block_of[t]
                for t in lost
                for i in range(t.start, t.stop)
            }
            block_of |= split
            todo = list(split)
    seconds = time.perf_counter() - started
    arrays: dict[str, np.ndarray] = {}
    samples = (spec.monte_carlo.samples,) if spec.monte_carlo else ()
    for task, result in results.items():
        where = (spec.corners.index(task.corner),) + (() if task.sample is None else (task.sample,))
        for name, block in result.arrays.items():
            if name not in arrays:
                shape = (
                    len(spec.corners),
                    *samples,
                    len(spec.temperatures),
                    characterization.blocked_axis_length(spec),
                    *block.shape[2:],
                )
                arrays[name] = np.full(shape, np.nan)
            arrays[name][(*where, slice(None), slice(task.start, task.stop))] = block
    ordered = [
        results[t]
        for t in sorted(
            results, key=lambda t: (spec.corners.index(t.corner), t.sample or 0, t.start)
        )
    ]
    if not arrays:
        reasons = sorted({f["reason"] for r in ordered for f in r.failures})
        if journal:
            journal.remove()  # nothing worth resuming
        raise SweepError(f"every point of the sweep failed: {'; '.join(reasons)}")
    for result in ordered:
        result.arrays = {}
    return arrays, SweepReport(spec.points, seconds, ordered)


SAMPLE_AXIS_DESCRIPTION = (
    "Monte Carlo sample: the ngspice seed (.option seed) it was drawn with, in sample order "
    "(sample i of base seed S has seed MonteCarlo(seed=S).sample_seed(i))"
)
"""Description of the ``sample`` axis of a Monte Carlo characterization."""


def _with_sample_axis(names: tuple[str, ...], spec: SweepSpec) -> tuple[str, ...]:
    """A quantity's axes with ``sample`` after ``corner`` when the sweep is Monte Carlo."""
    return (names[0], "sample", *names[1:]) if spec.monte_carlo else names


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
    *,
    options: PoolOptions | None = None,
    limits: RunLimits | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> SweepReport:
    """Simulate ``spec`` and write it to ``out`` (atomically; an existing file is replaced
    only with ``overwrite``). The output path and the sweep's size (at most ``max_points``)
    are checked before any simulation runs, and ``<out>.lock`` is held until the write.

    Finished blocks are committed to a :class:`Journal` beside ``out`` as they arrive; if the
    run is interrupted or killed, ``resume=True`` runs only the blocks it lacks and writes the
    same file an uninterrupted run would. ``limits`` default to the characterization's
    :attr:`~gaincell.characterize.base.Characterization.run_limits`.
    """
    spec.check_size(max_points)
    out = check_writable(out, overwrite=overwrite)
    with output_lock(out):
        characterization = get_characterization(spec.circuit)
        for corner in spec.corners:  # model and netlist problems surface before workers start
            _deck(spec.circuit, corner)
        journal = Journal(out, spec, characterization.tasks(spec, jobs), resume)
        arrays, report = simulate_spec(
            spec,
            jobs=jobs,
            progress=progress,
            options=options,
            limits=limits or characterization.run_limits,
            journal=journal,
        )
        axes = {
            "corner": AxisData(np.array(spec.corners), "", "process corner (n first, p second)"),
        }
        if spec.monte_carlo:
            axes["sample"] = AxisData(spec.monte_carlo.seeds(), "", SAMPLE_AXIS_DESCRIPTION)
        axes["temperature"] = AxisData(
            np.array(spec.temperatures), "degC", "simulation temperature"
        )
        for name, (values, units, description) in characterization.axis_values(spec).items():
            axes[name] = AxisData(values, units, description)
        quantities = {q.name: q for q in characterization.quantities}
        axes_of = {
            name: _with_sample_axis(characterization.quantity_axes(quantities[name]), spec)
            for name in arrays
        }
        version = next(t.ngspice_version for t in report.tasks if t.ngspice_version)
        data = CharacterizationData(
            circuit=spec.circuit,
            axes=axes,
            quantities=arrays,
            quantity_axes=axes_of,
            units={name: quantities[name].units for name in arrays},
            descriptions={name: quantities[name].description for name in arrays},
            provenance=provenance(spec, version)
            | {"failures": [f for task in report.tasks for f in task.failures]},
        )
        write_characterization(out, data, overwrite=overwrite)
        journal.remove()
    return report
