"""The multiplier's dependence on its column line's voltage: DC output current at full input
over (V_store, V_col).

In the array the column is not a virtual ground: it is the converter's integration node, and
64 cells swing it from about 0.6 V to 1.35 V during the MAC (``attention.spice_tile``). The
read pair's output current depends on that voltage (channel-length modulation and, near the
rails, the triode region), so the array simulation integrates the column voltage through the
MAC with this transfer. Same testbench as the DC characterization (``multiplier_tb``), with
the column source ``vout`` swept instead of held at mid-rail.
"""

from __future__ import annotations

import numpy as np

from characterize.base import Characterization, Quantity, Task
from characterize.multiplier import V_DD
from characterize.spec import CORE_DEVICE_MAX_V, Axis, AxisSpec, SettingSpec, SpecError, SweepSpec
from circuits.runner import LoadedCircuit, SpiceError


class MultiplierColumnCharacterization(Characterization):
    """``multiplier_tb`` with a nested ``dc`` over the column voltage (inner) and the stored
    value (outer), the enables at a fixed input level (full by default)."""

    name = "multiplier-column"
    netlists = ("gaincell_multiplier", "multiplier_tb")
    quantities = (
        Quantity(
            "i_out",
            "A",
            "current from the column line (held at v_col) into the cell's out pin at the input "
            "level v_in; positive discharges the column",
        ),
    )
    axes = ("corner", "temperature", "v_store", "v_col")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.25, 1.55, 53),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "stored voltage (signed weight = v_store - 0.9 V); beyond the written 0.45 .. 1.35 V "
            "because a read pulse moves the floating storage node by up to ~80 mV",
        ),
        "v_col": AxisSpec(
            Axis(0.3, 1.5, 25),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "column line voltage (mid-rail 0.9 V is the DC characterization's virtual ground)",
        ),
    }
    setting_specs = {  # noqa: RUF012
        "v_in": SettingSpec(V_DD, 0.0, CORE_DEVICE_MAX_V, "V", "input level on the enables"),
    }

    def check_spec(self, spec: SweepSpec) -> None:
        for name in self.axis_specs:
            if spec.axes[name].scale != "linear":
                raise SpecError(f"multiplier-column axis {name} must be linear (ngspice dc steps)")

    @staticmethod
    def dc_command(spec: SweepSpec, store_start: float, store_stop: float) -> str:
        """Nested dc: vout (the column) is the inner sweep, vwbl (V_store) the outer one."""
        v_col, store_step = spec.axes["v_col"], spec.v_store.step
        return (
            f"dc vout {v_col.start:.12g} {v_col.stop + 0.01 * v_col.step:.12g} {v_col.step:.12g} "
            f"vwbl {store_start:.12g} {store_stop + 0.01 * store_step:.12g} {store_step:.12g}"
        )

    def standalone_control(self, spec: SweepSpec) -> str:
        return "\n".join(
            [
                "set wr_vecnames",
                "set wr_singlescale",
                f"alter vin dc={spec.settings['v_in']:.12g}",
                self.dc_command(spec, spec.v_store.start, spec.v_store.stop),
                "let i_out = -i(vout)",
                "wrdata multiplier_column_dc.txt v(wbl) v(out) i_out",
                "echo multiplier-column: wrote multiplier_column_dc.txt (v_store v_col i_out)",
                "quit 0",
            ]
        )

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        v_col = spec.axes["v_col"]
        stores = spec.v_store.values()[task.start : task.stop]
        n_store, n_col = len(stores), v_col.points
        sweep = self.dc_command(spec, stores[0], stores[-1])
        out = np.empty((len(spec.temperatures), n_store, n_col))
        circuit.command(f"alter vin dc={spec.settings['v_in']:.12g}")
        for t_index, temperature in enumerate(spec.temperatures):
            circuit.command(f"option temp={temperature:.12g}")
            circuit.command(sweep)
            vectors = circuit.vectors(["i(vout)", "v(out)", "v(wbl)"])
            if vectors["i(vout)"].size != n_store * n_col:
                raise SpiceError(
                    f"dc sweep returned {vectors['i(vout)'].size} points, expected "
                    f"{n_store} x {n_col}",
                    deck=circuit.deck,
                    run_dir=circuit.run_dir,
                )
            grid_col = vectors["v(out)"].reshape(n_store, n_col)
            grid_store = vectors["v(wbl)"].reshape(n_store, n_col)
            if not (
                np.allclose(grid_col, v_col.values()[None, :], atol=1e-9)
                and np.allclose(grid_store, stores[:, None], atol=1e-9)
            ):
                raise SpiceError(
                    "dc sweep points differ from the requested grid",
                    deck=circuit.deck,
                    run_dir=circuit.run_dir,
                )
            out[t_index] = -vectors["i(vout)"].reshape(n_store, n_col)
        return {"i_out": out}
