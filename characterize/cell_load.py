"""The capacitance a gain cell adds to its column line, input off and input on
(``netlists/cell_load_tb.sp``: why it matters for the array's column charge, and why the
conducting load is measured across the input's turn-off), and the charge the cell gives back
to the column when its input turns off.

Why the turn-off charge: a pulse's edge charge (``multiplier_pulse_tb``: charge per pulse
beyond current x width) is the sum of what its turn-on draws (the enables' channels and the
read pair's internal nodes, -3.4 .. +0.9 fC by the stored value) and what its turn-off returns
(+0.4 fC, nearly independent of it). On a 64-row column the turn-on charges lift the line by
about 40 mV for as long as the rows conduct, and the cells' currents follow that voltage; the
array simulation needs the split, not only the sum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import CORE_DEVICE_MAX_V, Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Extra, Quantity, Task
from gaincell.characterize.measure import energy
from gaincell.characterize.store import CharacterizationData
from gaincell.circuits.design import GEAR
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

T_OFF_S = 23e-9
"""When the conducting cells' input turns off (on from 15 ns: an 8 ns pulse)."""
T_EDGE_S = 100e-12
"""Duration of each column step."""
T_LEAD_S = 200e-12
"""The column's step ends this long before the input turns off."""
T_BACK_S = 24e-9
"""When the columns step back to mid-rail (the input is off by then)."""
INPUT_EDGE_S = 50e-12
"""The input's edges (as in the tiles and multiplier_pulse_tb)."""
GUARD_S = 20e-12
"""Margin from the column's and the input's edges for the current readings."""


SOURCES = ("i(vcola)", "i(vcolp)", "i(vcolm)", "i(vcolr)")
"""The column sources' currents: idle cell, conducting cells stepped up and down, reference."""


class CellLoadCharacterization(Characterization):
    """``cell_load_tb``: one transient per written value gives both loads."""

    name = "cell-load"
    surrogate_quantity = "c_on"
    holdout_points = 4
    netlists = ("gaincell_multiplier", "cell_load_tb")
    axes = ("corner", "temperature", "v_store")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.45, 1.35, 7), 0.0, CORE_DEVICE_MAX_V, "V", "value written (V_init)"
        ),
    }
    setting_specs = {  # noqa: RUF012
        "time_step": SettingSpec(5e-12, 1e-13, 2e-11, "s", "transient step (tran tstep)"),
        "dv": SettingSpec(0.2, 0.02, 0.4, "V", "the columns' step from mid-rail"),
    }
    quantities = (
        Quantity(
            "c_on",
            "F",
            "load a cell puts on its column while its input is on: the charge it keeps from "
            "a column step made just before the input turns off, per volt (mean of a step "
            "up and a step down; the idle load included)",
        ),
        Quantity(
            "c_off",
            "F",
            "load a cell puts on its column with its input off (the enables' drains): "
            "charge per volt of a column step",
        ),
        Quantity(
            "i_on",
            "A",
            "the conducting cell's current with the column at mid-rail, 8 ns into the pulse "
            "(positive sinks current from the column)",
        ),
        Quantity(
            "q_off",
            "C",
            "charge the conducting cell draws from its column (held at mid-rail) across its "
            "input's turn-off beyond its steady current up to the pulse's 50 % point (negative "
            "returns charge to the column; the rest of the pulse's edge charge is its turn-on)",
        ),
    )

    def check_spec(self, spec: SweepSpec) -> None:
        if not spec.settings["dv"] > 0:
            raise SpecError("setting dv must be positive")

    def surrogate_extras(self, data: CharacterizationData) -> dict[str, Extra]:
        """The idle load per corner and temperature (mean over written values: it varies by
        well under 1 % with them), and the turn-off charge per written value."""
        return {
            "q_off": (
                data.quantities["q_off"],
                "C",
                "charge a conducting cell draws from its column across its input's turn-off "
                "(axes corner, temperature, v_store)",
            ),
            "v_store": (data.axes["v_store"].values, "V", "written values of the q_off table"),
            "c_off": (
                np.nanmean(data.quantities["c_off"], axis=-1),
                "F",
                "load a cell with its input off puts on its column, per corner and "
                "temperature (axes corner, temperature)",
            ),
            "temperatures": (
                data.axes["temperature"].values,
                "degC",
                "temperatures of the per-corner-and-temperature entries",
            ),
        }

    standalone_vectors = SOURCES

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        s = spec.settings
        return [
            f"alterparam dv={s['dv']:.9g}",
            f"alterparam t_off={T_OFF_S:.9g}",
            f"alterparam t_edge={T_EDGE_S:.9g}",
            f"alterparam t_lead={T_LEAD_S:.9g}",
            f"alterparam t_back={T_BACK_S:.9g}",
            f"alterparam edge={INPUT_EDGE_S:.9g}",
            "reset",  # re-evaluates parameters; restores the deck's temperature
            f"option temp={temperature:.12g}",
            GEAR,
            f"alter vinit dc={value:.12g}",
            f"tran {s['time_step']:.6g} {T_BACK_S + T_EDGE_S + 1e-9:.9g}",
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        values = spec.v_store.values()[task.start : task.stop]
        shape = (len(spec.temperatures), len(values))
        out = {q.name: np.full(shape, np.nan) for q in self.quantities}
        for ti, temperature in enumerate(spec.temperatures):
            for vi, value in enumerate(values):
                commands = self.point_commands(spec, float(value), temperature)
                if not self.run_point(
                    circuit, commands, task.corner, temperature, {"v_store": float(value)}
                ):
                    continue
                vec = circuit.vectors(["time", *SOURCES])
                for name, measured in measure_loads(vec, spec.settings["dv"]).items():
                    out[name][ti, vi] = measured
        return out


def measure_loads(vectors: dict[str, np.ndarray], dv: float) -> dict[str, float]:
    """``c_off``, ``c_on``, ``i_on`` and ``q_off`` from one transient of ``cell_load_tb``
    (``time`` and :data:`SOURCES`), the columns stepped by ``dv``."""
    t = vectors["time"]
    # A source's current flows into its + node: the cell's current is -i(source).
    cell = {name: -vectors[name] for name in SOURCES}
    step = T_OFF_S - T_LEAD_S - T_EDGE_S
    hold = (t >= T_OFF_S - T_LEAD_S + GUARD_S) & (t <= T_OFF_S - GUARD_S)
    # Time the stepped columns conduct at their new level: the hold, half the column's step,
    # half the input's falling edge.
    conducting = T_LEAD_S + 0.5 * (T_EDGE_S + INPUT_EDGE_S)
    idle, conducting_cells, reference = SOURCES[0], SOURCES[1:3], SOURCES[3]
    # Charges are integrals of the currents (measure.energy integrates any waveform).
    c_off = energy(t, cell[idle], step - GUARD_S, T_OFF_S) / dv
    kept = []
    for name, sign in zip(conducting_cells, (1.0, -1.0), strict=True):
        extra = float(np.mean(cell[name][hold] - cell[reference][hold]))
        difference = energy(t, cell[name] - cell[reference], t[0], t[-1])
        kept.append((difference - extra * conducting) / (sign * dv))
    i_on = float(np.mean(cell[reference][hold]))
    # The reference cell's turn-off: from the hold's start to the end, less its steady current
    # up to the input's 50 % point.
    since = T_OFF_S - T_LEAD_S
    q_off = energy(t, cell[reference], since, t[-1]) - i_on * (T_OFF_S + 0.5 * INPUT_EDGE_S - since)
    return {"c_off": c_off, "c_on": c_off + float(np.mean(kept)), "i_on": i_on, "q_off": q_off}
