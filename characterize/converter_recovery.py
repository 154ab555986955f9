"""Where the ReLU converter switches when its column has just moved (``relu_c2p_recovery_tb``).

The converter's comparator runs continuously and is slow at small overdrive: whether it reads
"below mid-rail" when the conversion window opens depends on where the column was in the few
ns before, not only on where it is. The testbench lifts the column by an excursion at the
MAC's start (the tile's timing), brings it to a final charge with a 1 ns ramp ending ``gap``
before the window opens, and this characterization bisects the final charge above which a
pulse appears, per excursion and gap, per corner and temperature; and the same with no
excursion (the comparator at rest until the ramp) and with the ramp long before the window
(the static switching point). :mod:`surrogate.recovery` fits a comparator model to these
points for the array simulation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Extra, Quantity, Task, per_sample
from gaincell.characterize.converter_step import ConverterStepCharacterization
from gaincell.characterize.measure import pulse_width
from gaincell.characterize.store import CharacterizationData
from gaincell.characterize.tile import CONV_START, MAC_START, T_STOP
from gaincell.circuits.design import GEAR, LOGIC_THRESHOLD_V, T_MAX
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

NEAR_BRACKET_C = (-6e-15, 18e-15)
"""Final charges between which the switching point is searched first [C] (every point of
the shipped grid lies within -2.5 .. 12 fC)."""
NEAR_BISECTIONS = 12
"""Halvings of the near bracket: 24 fC / 2^12, the switching point to 0.006 fC (the
smallest corner's points span 2.8 fC: 0.2 % of it)."""
BRACKET_C = (-15e-15, 45e-15)
"""The wider bracket searched when the near one does not hold the switching point [C]."""
BISECTIONS = 14
"""Halvings of the wider bracket: 60 fC / 2^14, the switching point to 0.004 fC."""
GUESS_HALF_WIDTH_C = 0.6e-15
"""Half width of the bracket around the previous temperature's switching point [C] (adjacent
temperatures of the shipped grid moved it by at most 0.4 fC); tried first when there is one."""
GUESS_BISECTIONS = 8
"""Halvings of the bracket around a guess: 1.2 fC / 2^8, the switching point to 0.005 fC."""
RAMP_S = 1e-9
"""Length of the ramp to the final charge [s]."""
STATIC_GAP_S = 12e-9
"""Gap of the static switching point [s] (the comparator settles within ~5 ns)."""
EXCURSION_C_PER_V = 2e-12
"""Charge per volt of excursion [F]: the excursion axis is in volts of a ~2 pF column (the
converter's own capacitance is 1.97..1.98 pF); the comparator model works in charge."""
DECK_CHARGE_C = 10e-15
"""Final charge of the standalone deck [C] (above every switching point characterized)."""
TIMING = np.array([MAC_START, CONV_START, RAMP_S, STATIC_GAP_S, EXCURSION_C_PER_V])
"""The testbench as the comparator model reads it: excursion start, window start, ramp
length, static gap [s]; charge per volt of excursion [F]."""


class ReluConverterRecovery(Characterization):
    """The ReLU converter's switching point after a column excursion, by excursion and gap."""

    name = "relu-c2p-recovery"
    netlists = ("c2p_blocks", "relu_c2p", "relu_c2p_recovery_tb")
    axes = ("corner", "temperature", "excursion", "gap")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "excursion": AxisSpec(
            Axis(3e-3, 0.3, 5, "log"),
            1e-4,
            0.6,
            "V",
            "how far the column is lifted above mid-rail at the MAC's start (by charge on "
            "its capacitor, ~2 pF)",
        ),
        "gap": AxisSpec(
            Axis(1.5e-9, 4.5e-9, 8, "log"),  # denser where the recovery is steep
            0.5e-9,
            10e-9,
            "s",
            "time from the end of the column's last move to the conversion window",
            holdout_points=2,  # each value is a bisection
        ),
    }
    setting_specs = {  # noqa: RUF012
        # 10 ps: with 20 ps the comparator's recovery from a 100 mV excursion ending 4 ns
        # before the window came out 0.9 fC early at ss / 85 C (10 and 5 ps agree).
        "time_step": SettingSpec(10e-12, 1e-13, 1e-10, "s", "transient step (tran tstep)"),
    }
    quantities = (
        Quantity(
            "point",
            "C",
            "final charge above which the converter gives a pulse (bisection to 0.006 fC), "
            "after the excursion, its ramp ending gap before the window",
        ),
        Quantity(
            "rested_point",
            "C",
            "the same with no excursion (the comparator at rest until the ramp); stored at the "
            "first excursion only (NaN at the others)",
        ),
        Quantity(
            "static_point",
            "C",
            f"the same with no excursion and the ramp ending {STATIC_GAP_S * 1e9:g} ns before "
            "the window; stored at the first excursion only (NaN at the others), the same at "
            "every gap",
        ),
    )
    surrogate_quantity = "point"
    surrogate_log_axes = ("excursion",)
    holdout_points = 2

    def check_spec(self, spec: SweepSpec) -> None:
        gap = spec.axes["gap"]  # its ends: values() of a log axis through 0 would raise
        if max(gap.start, gap.stop) + RAMP_S > CONV_START - MAC_START - 1e-9:
            raise SpecError(
                "gaps must leave room for the excursion before the ramp: at most "
                f"{(CONV_START - MAC_START - 1e-9 - RAMP_S) * 1e9:g} ns"
            )

    def tasks(self, spec: SweepSpec, jobs: int) -> list[Task]:
        """Per corner, one task per excursion (every gap and temperature inside)."""
        length = spec.axes["excursion"].points
        return per_sample(
            spec, [Task(corner, i, i + 1) for corner in spec.corners for i in range(length)]
        )

    standalone_vectors = ("v(out)", "v(col)")

    def commands(
        self,
        spec: SweepSpec,
        excursion_v: float,
        gap: float,
        charge: float,
        temperature: float,
    ) -> list[str]:
        """ngspice commands for one transient: lifted by ``excursion_v`` [V], brought to
        ``charge`` [C] by a ramp ending ``gap`` [s] before the window."""
        return [
            f"alterparam qexc={excursion_v * EXCURSION_C_PER_V:.9g}",
            f"alterparam qfin={charge:.9g}",
            f"alterparam tret={CONV_START - gap - RAMP_S:.9g}",
            f"alterparam tramp={RAMP_S:.9g}",
            f"alterparam texc={MAC_START:.9g}",
            f"alterparam tconv={CONV_START:.9g}",
            f"alterparam tmax={T_MAX:.9g}",
            "reset",  # re-evaluates parameters; restores the deck's temperature
            f"option temp={temperature:.12g}",
            GEAR,
            f"tran {spec.settings['time_step']:.6g} {T_STOP:.9g}",
        ]

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        """One transient of the excursion ``value`` [V] at the spec's first gap, with a final
        charge of :data:`DECK_CHARGE_C` (``gaincell deck``)."""
        gap = float(spec.axes["gap"].values()[0])
        return self.commands(spec, value, gap, DECK_CHARGE_C, temperature)

    def _run(
        self,
        circuit: LoadedCircuit,
        spec: SweepSpec,
        corner: str,
        temperature: float,
        excursion_v: float,
        gap: float,
        charge: float,
    ) -> float:
        """Output width for one final charge [s]; NaN if ngspice failed."""
        commands = self.commands(spec, excursion_v, gap, charge, temperature)
        point = {"excursion": excursion_v, "gap": gap, "charge": charge}
        if not self.run_point(circuit, commands, corner, temperature, point):
            return np.nan
        vec = circuit.vectors(["time", "v(out)"])
        return pulse_width(vec["time"], vec["v(out)"], LOGIC_THRESHOLD_V, CONV_START, T_STOP)

    def _switching_point(
        self,
        circuit: LoadedCircuit,
        spec: SweepSpec,
        corner: str,
        temperature: float,
        excursion_v: float,
        gap: float,
        guess: float = np.nan,
    ) -> float:
        """The switching point [C]: bisected around ``guess`` (the previous temperature's
        point) if that brackets it, else within the near bracket, else the wide one."""

        def run(q: float) -> tuple[float, float]:
            return self._run(circuit, spec, corner, temperature, excursion_v, gap, q), np.nan

        def switched(width: float, _sign: float) -> bool:
            return width > 0

        searches = [(NEAR_BRACKET_C, NEAR_BISECTIONS), (BRACKET_C, BISECTIONS)]
        if np.isfinite(guess):
            around = (guess - GUESS_HALF_WIDTH_C, guess + GUESS_HALF_WIDTH_C)
            searches.insert(0, (around, GUESS_BISECTIONS))
        point = np.nan
        for bracket, halvings in searches:
            point = ConverterStepCharacterization._bisect(run, bracket, halvings, switched)
            if np.isfinite(point):
                break
        if not np.isfinite(point):
            self.failures.append(
                {
                    "corner": corner,
                    "temperature": temperature,
                    "point": {"excursion": excursion_v, "gap": gap},
                    "reason": "no switching point within the bracket (or ngspice failed)",
                }
            )
        return point

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        excursions = spec.axes["excursion"].values()[task.start : task.stop]
        gaps = spec.axes["gap"].values()
        shape = (len(spec.temperatures), len(excursions), len(gaps))
        out = {q.name: np.full(shape, np.nan) for q in self.quantities}
        for ti, temperature in enumerate(spec.temperatures):

            def at(
                name: str,
                where: tuple[int, int],
                excursion_v: float,
                gap: float,
                temperature: float = temperature,
                ti: int = ti,
            ) -> None:
                guess = out[name][(ti - 1, *where)] if ti > 0 else np.nan
                out[name][(ti, *where)] = self._switching_point(
                    circuit, spec, task.corner, temperature, excursion_v, gap, guess
                )

            if task.start == 0:  # the points without excursion, once per corner
                at("static_point", (0, 0), 0.0, STATIC_GAP_S)
                for gi, gap in enumerate(gaps):
                    at("rested_point", (0, gi), 0.0, float(gap))
            for gi, gap in enumerate(gaps):
                for ei, excursion in enumerate(excursions):
                    at("point", (ei, gi), float(excursion), float(gap))
        return out

    def surrogate_extras(self, data: CharacterizationData) -> dict[str, Extra]:
        """The rested and static switching points per corner and temperature, and the
        testbench's timing (what the comparator model is fitted to)."""
        return {
            "rested_point": (
                data.quantities["rested_point"][:, :, 0, :],
                "C",
                "switching point with no excursion, per gap (axes corner, temperature, gap)",
            ),
            "static_point": (
                data.quantities["static_point"][:, :, 0, 0],
                "C",
                "static switching point (axes corner, temperature)",
            ),
            "temperatures": (
                data.axes["temperature"].values,
                "degC",
                "temperatures of the per-corner-and-temperature entries",
            ),
            "timing": (
                TIMING,
                "s",
                "testbench: excursion start, window start, ramp length, static gap [s]; "
                "capacitance per volt of excursion [F]",
            ),
        }
