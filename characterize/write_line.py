"""The write on loaded lines: the DAC's share of a write bit line and a cell's share of its
write word line (``write_line_tb``), per written value."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import CORE_DEVICE_MAX_V, Axis, AxisSpec, SettingSpec
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.characterize.measure import energy
from gaincell.circuits.design import GEAR, V_DD, V_MID
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

V_WORD_LINE = 3.3
"""The write word line's high level [V] (``vwwl_level`` in the testbench)."""
LINE_CELLS = 64
"""Cells on each line of the testbench: the written one and 63 others (a 64x64 tile)."""
MET2_CAPACITANCE_PER_M = 2 * 37.759e-12 + 16.9423e-12 * 0.14
"""Wire capacitance of a minimum-width (0.14 um) sky130 met2 line [F/m]: two edges of
37.759e-6 pF/um (= 37.759e-12 F/m) and 0.14 um of 16.9423e-6 pF/um^2 to the substrate (the
sky130_fd_sc_hd tech LEF's EDGECAPACITANCE and CPERSQDIST), about 0.078 fF/um."""
SETTLE_S = 2e-9
"""After the bit line returns to mid-rail, how long the run goes on (the line settles)."""


class WriteLineCharacterization(Characterization):
    """One write of ``gaincell_multiplier`` on a bit line and a word line of 64 cells each."""

    name = "write-line"
    surrogate_quantity = "e_write"
    holdout_points = 2
    netlists = ("gaincell_multiplier", "write_line_tb")
    axes = ("corner", "temperature", "v_store")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.45, 1.35, 10), 0.0, CORE_DEVICE_MAX_V, "V", "value written (the DAC's level)"
        ),
    }
    setting_specs = {  # noqa: RUF012
        "time_step": SettingSpec(20e-12, 1e-13, 1e-9, "s", "transient print step (tran tstep)"),
        "t_write": SettingSpec(10e-9, 4e-9, 1e-6, "s", "end of the write word line's pulse"),
        "cell_pitch": SettingSpec(
            6e-6,
            1e-7,
            1e-3,
            "m",
            "length of line per cell (an estimate from the devices' sizes: no layout here)",
        ),
        "wire_capacitance": SettingSpec(
            MET2_CAPACITANCE_PER_M, 0.0, 1e-9, "F/m", "the lines' wire capacitance per length"
        ),
    }
    quantities = (
        Quantity(
            "e_write",
            "J",
            "energy of writing one cell: the DAC's share of its bit line plus 1/64 of its "
            "word line's",
        ),
        Quantity(
            "e_dac",
            "J",
            "energy the bit-line DAC draws from 1.8 V to move its 64-cell line from mid-rail "
            "to the value and back (charge drawn x 1.8 V)",
        ),
        Quantity(
            "e_word_line",
            "J",
            "energy the word-line driver draws from 3.3 V to pulse a word line of 64 written "
            "cells (charge drawn x 3.3 V)",
        ),
        Quantity(
            "c_bit_line",
            "F",
            "the bit line's capacitance seen by the DAC: charge moved to set the line before "
            "the word line opens / the swing (wire and the cells' drains); NaN at mid-rail",
        ),
        Quantity(
            "v_written",
            "V",
            "the written cell's storage node at the end (after the word line's feedthrough)",
        ),
    )

    standalone_vectors = ("i(vdacs)", "i(vwwl)", "v(wbl)", "v(wwl)", "v(xcell.store)")

    def _setup_commands(self, spec: SweepSpec) -> list[str]:
        s = spec.settings
        wire = s["cell_pitch"] * LINE_CELLS * s["wire_capacitance"]
        return [
            f"alterparam t_write={s['t_write']:.6g}",
            f"alterparam c_wire_bl={wire:.6g}",
            f"alterparam c_wire_wl={wire:.6g}",
            "reset",  # re-evaluates parameters; also restores the deck's temperature
            GEAR,
        ]

    @staticmethod
    def stop_time(spec: SweepSpec) -> float:
        """End of the run [s]: the bit line back at mid-rail and settled."""
        return spec.settings["t_write"] + 2.5e-9 + SETTLE_S

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        return [
            *self._setup_commands(spec),
            f"option temp={temperature:.12g}",
            *self._value_commands(spec, value),
        ]

    def _value_commands(self, spec: SweepSpec, value: float) -> list[str]:
        step = spec.settings["time_step"]
        return [
            f"alter vinit dc={value:.12g}",
            f"tran {step:.6g} {self.stop_time(spec):.9g} 0 {step:.6g}",
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        values = spec.v_store.values()[task.start : task.stop]
        n_t, n_v = len(spec.temperatures), len(values)
        out = {q.name: np.full((n_t, n_v), np.nan) for q in self.quantities}
        stop = self.stop_time(spec)
        line_set = (1.0e-9, 2.0e-9)  # the DAC moves the line to the value (vphase 1 .. 1.5 ns)
        for command in self._setup_commands(spec):
            circuit.command(command)
        for ti, temperature in enumerate(spec.temperatures):
            circuit.command(f"option temp={temperature:.12g}")
            for vi, value in enumerate(values):
                point = {"v_store": float(value)}
                if not self.run_point(
                    circuit, self._value_commands(spec, value), task.corner, temperature, point
                ):
                    continue
                vec = circuit.vectors(["time", "i(vdacs)", "i(vwwl)", "v(xcell.store)"])
                t = vec["time"]
                # charge each driver draws from its supply (into its line: -i); what a
                # falling line returns goes to ground
                dac = energy(t, np.maximum(-vec["i(vdacs)"], 0.0), 0.0, stop)
                word = energy(t, np.maximum(-vec["i(vwwl)"], 0.0), 0.0, stop)
                out["e_dac"][ti, vi] = V_DD * dac
                out["e_word_line"][ti, vi] = V_WORD_LINE * word
                out["e_write"][ti, vi] = V_DD * dac + V_WORD_LINE * word / LINE_CELLS
                swing = float(value) - V_MID
                moved = energy(t, -vec["i(vdacs)"], *line_set)  # signed, line only
                out["c_bit_line"][ti, vi] = moved / swing if abs(swing) > 1e-3 else np.nan
                out["v_written"][ti, vi] = vec["v(xcell.store)"][-1]
        return out
