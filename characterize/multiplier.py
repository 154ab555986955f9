"""The signed gain-cell multiplier: DC output current over (V_store, V_in) in one nested ``dc``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import CORE_DEVICE_MAX_V, Axis, AxisSpec, SpecError
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.circuits.design import V_MID
from gaincell.circuits.runner import LoadedCircuit, RunLimits, SpiceError

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec


class MultiplierCharacterization(Characterization):
    """DC characteristic of ``gaincell_multiplier`` in ``multiplier_tb``."""

    name = "multiplier"
    surrogate_quantity = "i_out"
    holdout_points = 12
    mid_rail = V_MID
    # A whole DC grid of one block takes seconds; minutes means something is wrong.
    run_limits = RunLimits(timeout=120.0, max_memory=2 * 2**30)
    netlists = ("gaincell_multiplier", "multiplier_tb")
    quantities = (
        Quantity(
            "i_out",
            "A",
            "current from the column line into the cell's out pin (held at 0.9 V); "
            "positive when v_store > mid-rail",
        ),
        Quantity("i_supply", "A", "current drawn from the 1.8 V read supply"),
    )
    axes = ("corner", "temperature", "v_store", "v_in")

    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "v_store": AxisSpec(
            Axis(0.45, 1.35, 91),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "stored voltage (signed weight = v_store - 0.9 V)",
        ),
        "v_in": AxisSpec(
            Axis(0.0, 1.8, 37),
            0.0,
            CORE_DEVICE_MAX_V,
            "V",
            "input level on the read enables (0 = off, 1.8 V = full)",
        ),
    }

    def check_spec(self, spec: SweepSpec) -> None:
        for name in self.axis_specs:
            if spec.axes[name].scale != "linear":
                raise SpecError(f"multiplier axis {name} must be linear (ngspice dc steps)")

    @staticmethod
    def dc_command(spec: SweepSpec, store_start: float, store_stop: float) -> str:
        """Nested dc: vin is the inner (fast) sweep, vwbl (which sets V_store) the outer one."""
        v_in, store_step = spec.v_in, spec.v_store.step
        # ngspice accumulates start + k * step; a hundredth of a step past the stop keeps the
        # last point whatever the rounding (arbitrary steps, e.g. the surrogates' hold-outs).
        return (
            f"dc vin {v_in.start:.12g} {v_in.stop + 0.01 * v_in.step:.12g} {v_in.step:.12g} "
            f"vwbl {store_start:.12g} {store_stop + 0.01 * store_step:.12g} {store_step:.12g}"
        )

    def standalone_output(self) -> str:
        return "build/multiplier_dc.txt"

    def standalone_control(self, spec: SweepSpec, value: float | None = None) -> str:
        """The whole (v_store, v_in) sweep of one corner and temperature (``value`` unused)."""
        out = self.standalone_output()
        return "\n".join(
            [
                "set wr_vecnames",
                "set wr_singlescale",
                f"option temp={spec.temperatures[0]:.12g}",
                self.dc_command(spec, spec.v_store.start, spec.v_store.stop),
                "let i_out = -i(vout)",
                f"wrdata {out} v(wbl) v(in) i_out",
                f"echo multiplier: wrote {out} (columns v_store v_in i_out)",
                "quit 0",
            ]
        )

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        v_in = spec.v_in
        stores = spec.v_store.values()[task.start : task.stop]
        n_store, n_in = len(stores), v_in.points
        sweep = self.dc_command(spec, stores[0], stores[-1])
        out = {q.name: np.empty((len(spec.temperatures), n_store, n_in)) for q in self.quantities}
        for t_index, temperature in enumerate(spec.temperatures):
            circuit.command(f"option temp={temperature:.12g}")
            circuit.command(sweep)
            vectors = circuit.vectors(["i(vout)", "i(vdd)", "v(in)", "v(wbl)"])
            if vectors["i(vout)"].size != n_store * n_in:
                raise SpiceError(
                    f"dc sweep returned {vectors['i(vout)'].size} points, expected "
                    f"{n_store} x {n_in}",
                    deck=circuit.deck,
                    run_dir=circuit.run_dir,
                )
            grid_in = vectors["v(in)"].reshape(n_store, n_in)
            grid_store = vectors["v(wbl)"].reshape(n_store, n_in)
            if not (
                np.allclose(grid_in, v_in.values()[None, :], atol=1e-9)
                and np.allclose(grid_store, stores[:, None], atol=1e-9)
            ):
                raise SpiceError(
                    "dc sweep points differ from the requested grid",
                    deck=circuit.deck,
                    run_dir=circuit.run_dir,
                )
            out["i_out"][t_index] = -vectors["i(vout)"].reshape(n_store, n_in)
            out["i_supply"][t_index] = -vectors["i(vdd)"].reshape(n_store, n_in)
        return out
