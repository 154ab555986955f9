"""The gain cell as the array uses it: charge delivered by one PWM input pulse, storage node
floating (see ``netlists/multiplier_pulse_tb.sp`` for why this differs from the DC sweep)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import CORE_DEVICE_MAX_V, Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.characterize.measure import metered_charge
from gaincell.circuits.design import GEAR, V_DD
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

CELLS = 16
"""Cells in the testbench: pulse widths are simulated 16 per transient."""
SETTLE_S = 3e-9
"""Time after the longest pulse until the charge is read."""
NO_PULSE_UP_TO_S = 1e-12
"""Widths up to this give no pulse in ``multiplier_pulse_tb`` (its ``wk > 1p`` test) [s]."""
PRE_PULSE_S = 0.5e-9
"""How long before the pulse the charge and the energy are counted from [s]."""


class MultiplierPulseCharacterization(Characterization):
    """``multiplier_pulse_tb``: one transient per written value and block of 16 widths."""

    name = "multiplier-pulse"
    surrogate_quantity = "charge"
    instance_axes = ("width",)  # cell k of the testbench gets width k
    holdout_points = 8
    # a pulse of zero width delivers no charge, any pulse at least its edge charge
    surrogate_step_axes = ("width",)
    # the testbench's `wk > 1p ? vdd : 0`: a width up to 1 ps is no pulse
    surrogate_step_from = NO_PULSE_UP_TO_S
    netlists = ("gaincell_multiplier", "multiplier_pulse_tb")
    axes = ("corner", "temperature", "v_store", "v_col", "width")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.45, 1.35, 37),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "value written on the bit line (signed weight = v_store - 0.9 V)",
        ),
        "v_col": AxisSpec(
            Axis(0.3, 1.5, 7),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "column line voltage held during the pulse (0.9 V = mid-rail virtual ground; an "
            "array's column moves as the cells integrate on the converter's capacitor)",
            holdout_points=4,
        ),
        "width": AxisSpec(
            Axis(0.0, 15e-9, 16), 0.0, 100e-9, "s", "input pulse width at the 50 % points"
        ),
    }
    setting_specs = {  # noqa: RUF012
        "time_step": SettingSpec(20e-12, 1e-13, 1e-9, "s", "transient print step (tran tstep)"),
        "t_write": SettingSpec(10e-9, 2e-9, 1e-6, "s", "end of the write pulse"),
        "count_until": SettingSpec(
            0.0,
            0.0,
            1e-6,
            "s",
            "end of the transient and of the charge and energy counts, after the pulse start "
            "(0: the longest width + 3 ns); sweeps of short widths set the long sweep's end, "
            "so a pulse's energy (the cell's supply keeps drawing after it) is counted alike",
            positive=False,
        ),
    }
    quantities = (
        Quantity(
            "charge",
            "C",
            "charge the cell draws from the column (held at v_col) for one pulse, edges and "
            "storage-node coupling included; positive when v_store > mid-rail",
        ),
        Quantity(
            "e_supply",
            "J",
            "energy the cell draws from its own supply for one pulse (what a sourcing cell "
            "gives the column, its read pair's crowbar and the supply's share of the edges), "
            f"from {PRE_PULSE_S * 1e9:g} ns before the pulse to the end of the transient",
        ),
        Quantity(
            "e_drivers",
            "J",
            "energy of the pulse's two enable drivers (ideal sources counted as CMOS drivers: "
            "the charge each delivers into its node times its 1.8 V swing), same window",
        ),
        Quantity("energy", "J", "e_supply + e_drivers: what one pulse costs the cell's row"),
    )

    def check_spec(self, spec: SweepSpec) -> None:
        for name in ("width", "v_col"):
            if spec.axes[name].scale != "linear":
                raise SpecError(f"multiplier-pulse {name} axis must be linear")
        if spec.settings.get("time_step", 1.0) <= 0:
            raise SpecError(f"setting time_step must be positive, got {spec.settings['time_step']}")
        count_until = spec.settings.get("count_until", 0.0)
        needed = float(spec.axes["width"].values().max()) + SETTLE_S
        if count_until and count_until < needed:
            raise SpecError(
                f"setting count_until = {count_until:g} s must be 0 or at least the longest "
                f"width + {SETTLE_S:g} s ({needed:g} s)"
            )

    standalone_vectors = tuple(f"v(q{k})" for k in range(CELLS))

    @staticmethod
    def t_pulse(spec: SweepSpec) -> float:
        """When the input pulses start [s]."""
        return spec.settings["t_write"] + 5e-9

    @classmethod
    def _block_commands(cls, spec: SweepSpec, block: np.ndarray, column: float) -> list[str]:
        """Set up one block of up to :data:`CELLS` widths (one cell each) with the column held
        at ``column`` volts."""
        padded = np.concatenate([block, np.zeros(CELLS - len(block))])
        # one parameter per alterparam: ngspice ignores the rest of a longer line
        return [
            *(f"alterparam w{k}={width:.9g}" for k, width in enumerate(padded)),
            f"alterparam t_write={spec.settings['t_write']:.6g}",
            f"alterparam t_pulse={cls.t_pulse(spec):.9g}",
            f"alterparam vcol_level={column:.9g}",
            "reset",  # re-evaluates parameters; restores the deck's temperature
            GEAR,
        ]

    def _value_commands(self, spec: SweepSpec, value: float) -> list[str]:
        count_until = spec.settings.get("count_until", 0.0) or (
            float(spec.axes["width"].values().max()) + SETTLE_S
        )
        stop = self.t_pulse(spec) + count_until
        return [f"alter vinit dc={value:.12g}", f"tran {spec.settings['time_step']:.6g} {stop:.9g}"]

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        """One written value with the first block of widths (cell k gets width k), the column
        at the middle of its axis (mid-rail by default)."""
        columns = spec.axes["v_col"].values()
        return [
            *self._block_commands(
                spec, spec.axes["width"].values()[:CELLS], columns[len(columns) // 2]
            ),
            f"option temp={temperature:.12g}",
            *self._value_commands(spec, value),
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        values = spec.v_store.values()[task.start : task.stop]
        widths = spec.axes["width"].values()
        columns = spec.axes["v_col"].values()
        t_pulse = self.t_pulse(spec)
        shape = (len(spec.temperatures), len(values), len(columns), len(widths))
        out = {q.name: np.full(shape, np.nan) for q in self.quantities}
        meters = list(self.standalone_vectors)
        energy_meters = [f"v({m}{k})" for k in range(CELLS) for m in ("sup", "din", "dinb")]
        for ci, column in enumerate(columns):
            for start in range(0, len(widths), CELLS):
                block = widths[start : start + CELLS]
                for command in self._block_commands(spec, block, column):
                    circuit.command(command)
                for ti, temperature in enumerate(spec.temperatures):
                    circuit.command(f"option temp={temperature:.12g}")
                    for vi, value in enumerate(values):
                        point = {
                            "v_store": float(value),
                            "v_col": float(column),
                            "widths": [float(w) for w in block],
                        }
                        commands = self._value_commands(spec, value)
                        if not self.run_point(circuit, commands, task.corner, temperature, point):
                            continue
                        vec = circuit.vectors(["time", *meters, *energy_meters])
                        t = vec["time"]
                        since = t_pulse - PRE_PULSE_S
                        for k, width in enumerate(block):
                            at = (ti, vi, ci, start + k)
                            # the enable rises at the pulse's start, its complement at its end
                            middle = t_pulse + 0.5 * float(width)
                            charges = {
                                name: metered_charge(t, vec[f"v({name}{k})"], *window)
                                for name, window in (
                                    ("q", (since, t[-1])),
                                    ("sup", (since, t[-1])),
                                    ("din", (since, middle)),
                                    ("dinb", (middle, t[-1])),
                                )
                            }
                            out["charge"][at] = charges["q"]
                            out["e_supply"][at] = V_DD * charges["sup"]
                            out["e_drivers"][at] = V_DD * (charges["din"] + charges["dinb"])
                            out["energy"][at] = out["e_supply"][at] + out["e_drivers"][at]
        return out
