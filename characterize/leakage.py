"""Storage leakage: write a value, hold it, and follow V_store over milliseconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import CORE_DEVICE_MAX_V, Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.characterize.measure import (
    LSB_V,
    energy,
    retention_time_constant,
    time_to_drift,
)
from gaincell.circuits.design import GEAR
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

HOLD_OFFSET_S = 3e-9
"""The hold starts this long after the write word line starts to fall (bit line parked)."""


class LeakageCharacterization(Characterization):
    """Retention of ``gaincell_multiplier`` in ``leakage_tb``: one transient per written value."""

    name = "leakage"
    surrogate_quantity = "v_store_t"
    surrogate_model = "leakage"
    holdout_points = 4
    netlists = ("gaincell_multiplier", "leakage_tb")
    axes = ("corner", "temperature", "v_store", "time")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.45, 1.35, 19), 0.0, CORE_DEVICE_MAX_V, "V", "value written (V_init)"
        ),
        "time": AxisSpec(
            Axis(1e-6, 0.1, 51, "log"), 1e-10, 10.0, "s", "hold time since the write ended"
        ),
    }
    setting_specs = {  # noqa: RUF012
        "time_step": SettingSpec(1e-9, 1e-13, 1e-6, "s", "transient print step (tran tstep)"),
        "t_write": SettingSpec(10e-9, 2e-9, 1e-6, "s", "end of the write pulse"),
    }
    quantities = (
        Quantity("v_store_t", "V", "storage-node voltage after each hold time"),
        Quantity(
            "v_written",
            "V",
            "storage-node voltage at the start of the hold (after the write "
            "word line's feedthrough)",
            ("corner", "temperature", "v_store"),
        ),
        Quantity(
            "tau",
            "s",
            "retention time constant: fit of v(t) = v_inf + (v0 - v_inf) exp(-t/tau)",
            ("corner", "temperature", "v_store"),
        ),
        Quantity(
            "t_level_loss",
            "s",
            f"time until V_store drifts by one 3-bit level ({LSB_V:.4f} V); "
            "NaN if not within the hold",
            ("corner", "temperature", "v_store"),
        ),
        Quantity(
            "t_half_level",
            "s",
            "time until V_store drifts by half a 3-bit level (it then "
            "reads as the neighbouring level); NaN if not within the hold",
            ("corner", "temperature", "v_store"),
        ),
        Quantity(
            "e_write",
            "J",
            "energy drawn from the bit-line and word-line drivers for one write "
            "from mid-rail (charge they take back is not recovered)",
            ("corner", "temperature", "v_store"),
        ),
    )

    def check_spec(self, spec: SweepSpec) -> None:
        time = spec.axes["time"]
        if not time.stop > 0:
            raise SpecError(f"hold time must be positive, got {time.stop:g} s")

    def written_values(self, spec: SweepSpec) -> np.ndarray:
        """The values written, one transient each (tests replace this to force a failure)."""
        return spec.v_store.values()

    standalone_vectors = ("v(xcell.store)", "v(wbl)", "i(vwbls)", "v(wwl)", "i(vwwl)")

    @staticmethod
    def hold_start(spec: SweepSpec) -> float:
        """When the hold begins [s]: the write's end plus a settling offset."""
        return spec.settings["t_write"] + HOLD_OFFSET_S

    @staticmethod
    def _setup_commands(spec: SweepSpec) -> list[str]:
        return [
            f"alterparam t_write={spec.settings['t_write']:.6g}",
            "reset",  # re-evaluates parameters; also restores the deck's temperature
            GEAR,
        ]

    def _value_commands(self, spec: SweepSpec, value: float) -> list[str]:
        stop = self.hold_start(spec) + spec.axes["time"].values()[-1]
        # Fine steps through the write, then let ngspice grow them over the long hold.
        tran = f"tran {spec.settings['time_step']:.6g} {stop:.9g} 0 {stop / 200:.6g}"
        return [f"alter vinit dc={value:.12g}", tran]

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        return [
            *self._setup_commands(spec),
            f"option temp={temperature:.12g}",
            *self._value_commands(spec, value),
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        values = self.written_values(spec)[task.start : task.stop]
        hold_times = spec.axes["time"].values()
        hold_start = self.hold_start(spec)
        n_t, n_v = len(spec.temperatures), len(values)
        out = {
            "v_store_t": np.full((n_t, n_v, len(hold_times)), np.nan),
            **{q.name: np.full((n_t, n_v), np.nan) for q in self.quantities[1:]},
        }
        for command in self._setup_commands(spec):
            circuit.command(command)
        for ti, temperature in enumerate(spec.temperatures):
            circuit.command(f"option temp={temperature:.12g}")
            for vi, value in enumerate(values):
                point = {"v_store": float(value)}
                commands = self._value_commands(spec, value)
                if not self.run_point(circuit, commands, task.corner, temperature, point):
                    continue
                vec = circuit.vectors(["time", *self.standalone_vectors])
                t, v = vec["time"], vec["v(xcell.store)"]
                held = t >= hold_start
                t_hold, v_hold = t[held] - hold_start, v[held]
                out["v_store_t"][ti, vi] = np.interp(hold_times, t_hold, v_hold)
                out["v_written"][ti, vi] = v_hold[0]
                out["tau"][ti, vi] = retention_time_constant(t_hold, v_hold)
                out["t_level_loss"][ti, vi] = time_to_drift(t_hold, v_hold, LSB_V)
                out["t_half_level"][ti, vi] = time_to_drift(t_hold, v_hold, LSB_V / 2)
                # Energy drawn from the drivers together (net of the two, as the shipped file
                # was made); what they take back is not recovered. This is the cell alone on
                # ideal lines: the write on loaded lines, the DAC's share, is ``write-line``.
                power = vec["v(wbl)"] * -vec["i(vwbls)"] + vec["v(wwl)"] * -vec["i(vwwl)"]
                out["e_write"][ti, vi] = energy(t, np.maximum(power, 0.0), 0.0, hold_start)
        return out
