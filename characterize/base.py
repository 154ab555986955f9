"""The characterization interface: one class per circuit family, one obvious override point."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from gaincell.characterize.axes import AxisSpec, SettingSpec, SpecError
from gaincell.characterize.store import CharacterizationData
from gaincell.circuits.netlist import Deck, assemble_deck, load_netlist
from gaincell.circuits.runner import LoadedCircuit, RunLimits, SpiceError

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

Extra = tuple[np.ndarray, str, str]
"""An extra array a surrogate carries: (values, units, description)."""


@dataclass(frozen=True)
class Quantity:
    """A measured quantity stored as one HDF5 dataset."""

    name: str
    """Dataset name, e.g. ``i_out``."""
    units: str
    """SI units, e.g. ``A``."""
    description: str
    """One line saying what it is and its sign convention."""
    axes: tuple[str, ...] | None = None
    """Its axes, outermost first, if not all of the characterization's axes (always a
    leading part of them)."""


@dataclass(frozen=True)
class Task:
    """One unit of parallel work: a corner and a block of the outer in-ngspice axis.

    Every temperature of the spec runs inside the task on the same loaded deck.
    """

    corner: str
    """Process corner."""
    start: int
    """First index of the block along the blocked axis."""
    stop: int
    """One past the last index of the block."""
    sample: int | None = None
    """Monte Carlo sample index (None: the nominal models)."""


def per_sample(spec: SweepSpec, tasks: list[Task]) -> list[Task]:
    """``tasks`` as they are, or with Monte Carlo each of them once per sample (the same block
    of a sample may run in several tasks: the sample's seed draws the same devices each time)."""
    if spec.monte_carlo is None:
        return tasks
    return [
        Task(t.corner, t.start, t.stop, sample)
        for t in tasks
        for sample in range(spec.monte_carlo.samples)
    ]


class Characterization(ABC):
    """A circuit family that can be swept.

    Subclasses set the class attributes and implement :meth:`simulate`, which receives a
    loaded deck and returns the measured arrays of one task.
    """

    name: str
    """Registry name used by the CLI (``gaincell characterize <name>``)."""
    netlists: tuple[str, ...]
    """Netlist files (``netlists/<name>.sp``) that make the deck, subcircuits first."""
    quantities: tuple[Quantity, ...]
    """What :meth:`simulate` returns, in order."""
    axes: tuple[str, ...]
    """Dataset axis names, outermost first; corner and temperature always lead."""
    axis_specs: ClassVar[dict[str, AxisSpec]]
    """The in-ngspice axes, in dataset order: defaults, limits, units. The first is split
    into blocks across tasks."""
    setting_specs: ClassVar[dict[str, SettingSpec]] = {}
    """Scalar settings (time step, hold time, ...)."""

    # -- what the surrogate layer needs to know about this circuit --------------------------
    surrogate_quantity: ClassVar[str | None] = None
    """The quantity a surrogate models by default; None: the circuit is not fitted."""
    no_surrogate_reason: ClassVar[str] = "it has no surrogate quantity"
    """Why it is not fitted (when :attr:`surrogate_quantity` is None)."""
    surrogate_model: ClassVar[str] = "grid"
    """Model the default quantity is fitted with: ``grid``, or ``leakage`` (waveforms over
    hold time with an exponential tail)."""
    holdout_points: ClassVar[int] = 0
    """Fresh SPICE lattice points along the first (one analysis each) axis per corner for
    validating a surrogate; 0 = not validated."""
    surrogate_step_axes: ClassVar[tuple[str, ...]] = ()
    """Axes whose first node stands apart in a grid surrogate (``GridSurrogate.step_axes``):
    the value steps between the first and second node instead of ramping."""
    surrogate_step_from: ClassVar[float | None] = None
    """On the step axis, inputs up to this value give the first node's value (the testbench's
    own threshold, e.g. no pulse under 1 ps); None: only the first node itself."""
    surrogate_log_axes: ClassVar[tuple[str, ...]] = ()
    """Axes a grid surrogate interpolates in ``log(1 + x / x_0)`` (``x_0`` its first node):
    log-spaced axes over decades."""
    instance_axes: ClassVar[tuple[str, ...]] = ()
    """Axes along which one deck holds different device instances (the pulse testbench's 16
    cells, one per width): with Monte Carlo, each point of them is another cell's draw, so a
    sample's curve along them is not one instance."""
    run_limits: ClassVar[RunLimits] = RunLimits(timeout=600.0, max_memory=4 * 2**30)
    """Default limits on one analysis: a point past them is halted and stored as NaN with the
    reason (``--timeout``, ``--max-memory`` override them)."""
    mid_rail: ClassVar[float | None] = None
    """Zero of the signed weight [V] (polynomial fits use y = v_store - mid_rail)."""

    def surrogate_extras(self, data: CharacterizationData) -> dict[str, Extra]:
        """Extra arrays a surrogate of this circuit carries, computed from its
        characterization file: ``name -> (values, units, description)``."""
        return {}

    def __init__(self) -> None:
        self.failures: list[dict] = []
        """Points that failed in this task: ``{corner, temperature, point, reason}``."""

    def quantity_axes(self, quantity: Quantity) -> tuple[str, ...]:
        """The axes of one quantity."""
        return quantity.axes or self.axes

    def run_point(
        self,
        circuit: LoadedCircuit,
        commands: list[str],
        corner: str,
        temperature: float,
        point: dict,
    ) -> bool:
        """Run ``commands``; on an ngspice failure record it in :attr:`failures` and return
        False so the caller stores NaN and the job goes on."""
        try:
            for command in commands:
                circuit.command(command)
        except SpiceError as error:
            self.failures.append(
                {
                    "corner": corner,
                    "temperature": temperature,
                    "point": point,
                    "reason": error.reason,
                }
            )
            return False
        return True

    def check_spec(self, spec: SweepSpec) -> None:  # noqa: B027 (optional hook)
        """Extra consistency checks beyond per-axis limits; raise ``SpecError``."""

    def deck(self, corner: str) -> Deck:
        """The deck for one corner (analyses are sent as commands by :meth:`simulate`)."""
        return assemble_deck(
            [load_netlist(name) for name in self.netlists],
            corner,
            title=f"gaincell {self.name} characterization, corner {corner}",
        )

    def blocked_axis_length(self, spec: SweepSpec) -> int:
        """Length of the axis that tasks split into blocks (the first in-ngspice axis)."""
        return spec.axes[next(iter(self.axis_specs))].points

    def tasks(self, spec: SweepSpec, jobs: int) -> list[Task]:
        """Split the sweep into tasks: per corner, blocks of the outer axis so that there are
        at least four tasks per worker (keeps both cores busy until the end)."""
        length = self.blocked_axis_length(spec)
        if spec.monte_carlo:  # a sample is one deck load: it runs whole, samples spread out
            return per_sample(spec, [Task(corner, 0, length) for corner in spec.corners])
        blocks_per_corner = max(1, min(length // 2, -(-4 * jobs // len(spec.corners))))
        edges = np.linspace(0, length, blocks_per_corner + 1).round().astype(int)
        return [
            Task(corner, int(a), int(b))
            for corner in spec.corners
            for a, b in pairwise(edges)
            if b > a
        ]

    @abstractmethod
    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        """Run every temperature of ``spec`` on the block ``task`` of the loaded ``circuit``.

        Returns one array per :attr:`quantities` entry shaped
        ``(len(spec.temperatures), task.stop - task.start, *inner axes)``.
        """

    standalone_vectors: ClassVar[tuple[str, ...]] = ()
    """Vectors the standalone deck of one point writes with ``wrdata`` (after the scale)."""

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        """ngspice commands that simulate one ``value`` of the outer (blocked) axis at one
        temperature on a freshly loaded deck, exactly as :meth:`simulate` does."""
        raise NotImplementedError(f"{self.name} has no per-point commands")

    def standalone_output(self) -> str:
        """Where the standalone deck's ``wrdata`` writes, relative to the folder ngspice runs
        in (``gaincell deck`` creates ``build/``)."""
        return f"build/{self.name.replace('-', '_')}.txt"

    def standalone_control(self, spec: SweepSpec, value: float | None = None) -> str:
        """ngspice ``.control`` commands for plain ``ngspice -b``: simulate one ``value`` of the
        outer axis (default: its middle value) at the spec's first temperature and write
        :attr:`standalone_vectors` with ``wrdata`` to :meth:`standalone_output`."""
        outer = next(iter(self.axis_specs))
        if value is None:
            values = spec.axes[outer].values()
            value = float(values[len(values) // 2])
        limits = self.axis_specs[outer]
        if not (math.isfinite(value) and limits.low <= value <= limits.high):  # user input (--at)
            raise SpecError(
                f"{self.name}: the point to simulate, {outer} = {value}, must be a finite "
                f"number within {limits.low:g}..{limits.high:g} {limits.units}"
            )
        out = self.standalone_output()
        return "\n".join(
            [
                "set wr_vecnames",
                "set wr_singlescale",
                *self.point_commands(spec, value, spec.temperatures[0]),
                f"wrdata {out} {' '.join(self.standalone_vectors)}",
                f"echo {self.name}: {outer} = {value:.6g}, wrote {out}",
                "quit 0",
            ]
        )

    def axis_values(self, spec: SweepSpec) -> dict[str, tuple[np.ndarray, str, str]]:
        """``name -> (values, units, description)`` for the in-ngspice axes."""
        return {
            name: (spec.axes[name].values(), axis.units, axis.description)
            for name, axis in self.axis_specs.items()
        }
