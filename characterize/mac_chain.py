"""The whole chain in one transient: Q pulses -> K column -> ReLU charge-to-pulse -> Phi pulse
-> V column -> signed charge-to-pulse (the paper's Fig. 2d/e), with energy per operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Quantity, Task
from gaincell.characterize.measure import drawn_power, energy, pulse_width
from gaincell.circuits.design import GEAR, LOGIC_THRESHOLD_V, T_MAX, V_DD
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

ROWS = 8
"""Rows of each column in ``mac_chain_tb``."""
K_MAC = (10e-9, 25e-9)
RELU_CONVERSION = (27e-9, 45e-9)
V_MAC = (27e-9, 42e-9)
SIGNED_CONVERSION = (45e-9, 68e-9)
"""Windows of the testbench's phases, in seconds."""
RESET_RELEASE = 9e-9
"""When the K converter's reset is released (``vrstk`` falls) [s]: 1 ns before the MAC."""
STOP_S = 68e-9
"""End of the transient, in seconds."""
K_CELLS_WINDOW = (9.5e-9, 26.5e-9)
V_CELLS_WINDOW = (26.5e-9, 45e-9)
"""Where each column's cells' energy is integrated [s]: from just before their pulses to well
after the last one ends (the K pulses end by 25 ns; the V pulses start at 27 ns)."""

WAVEFORMS = {
    "v_q0": "v(q0)",
    "v_colk": "v(colk)",
    "v_phi": "v(phi)",
    "v_colv": "v(colv)",
    "v_out": "v(out)",
    "v_sign": "v(sign)",
}
"""Stored waveform -> ngspice vector."""

# Case 0: a hand-picked case with a clearly positive first product (Phi about half scale) and
# a negative second product, so the figure shows every stage working.
DEMO_CASE = {
    "wq": [15e-9, 12e-9, 10e-9, 8e-9, 6e-9, 4e-9, 15e-9, 9e-9],
    "k": [1.35, 1.25, 1.30, 1.10, 0.60, 0.90, 1.20, 0.70],
    "v": [0.50, 1.30, 0.90, 0.60, 1.20, 0.55, 0.90, 0.70],
    "wp": [0.0, 6e-9, 3e-9, 10e-9, 2e-9, 8e-9, 5e-9, 12e-9],
}


def case_inputs(case: int, seed: int) -> dict[str, list[float]]:
    """Inputs of one case: Q pulse widths ``wq`` (s), stored K and V values ``k``, ``v`` (V) and
    the other tokens' Phi widths ``wp`` (s; entry 0 unused: row 0 takes the real Phi pulse)."""
    if case == 0:
        return {name: list(values) for name, values in DEMO_CASE.items()}
    rng = np.random.default_rng([seed, case])
    return {
        "wq": list(rng.uniform(0, T_MAX, ROWS)),
        "k": list(rng.uniform(0.45, 1.35, ROWS)),
        "v": list(rng.uniform(0.45, 1.35, ROWS)),
        "wp": [0.0, *rng.uniform(0, T_MAX, ROWS - 1)],
    }


def cells_energy(
    t: np.ndarray,
    vec: dict[str, np.ndarray],
    rows: list[str],
    widths: list[float],
    window: tuple[float, float],
) -> float:
    """Energy of a column's ideally driven cells over ``window`` [J], as ``multiplier-pulse``
    counts a pulse: the cells' supply ``vdda`` (net charge, for the rows' cells: the other
    column's cells are idle meanwhile) and each row's enable driver ``v<row>`` (charge it
    delivers while rising, to the pulse's middle) and its complement's inverting source
    ``e<complement>`` (:func:`complement`: the charge it delivers as it rises back after the
    middle), every charge x 1.8 V."""
    start, stop = window
    supply = energy(t, -vec["i(vdda)"], start, stop)
    drive = 0.0
    for row, width in zip(rows, widths, strict=True):
        middle = _pulse_start(row) + 0.5 * float(width)
        drive += energy(t, -vec[f"i(v{row})"], start, middle)
        drive += energy(t, -vec[f"i(e{complement(row)})"], middle, stop)
    return V_DD * (supply + drive)


def complement(row: str) -> str:
    """The node of a row's complementary enable in ``mac_chain_tb``: ``q3`` -> ``qb3``."""
    return f"{row[0]}b{row[1:]}"


def _pulse_start(row: str) -> float:
    """When a row's input pulse starts [s]: Q rows with the K MAC, Phi rows with the V MAC."""
    return K_MAC[0] if row[0] == "q" else V_MAC[0]


class MacChainCharacterization(Characterization):
    """``mac_chain_tb``: one transient per case, waveforms resampled on a uniform time grid."""

    name = "mac-chain"
    no_surrogate_reason = (
        "mac-chain is a demonstration transient of the whole chain; fit its parts "
        "(multiplier, relu-c2p, signed-c2p) instead"
    )
    netlists = ("gaincell_multiplier", "c2p_blocks", "relu_c2p", "signed_c2p", "mac_chain_tb")
    axes = ("corner", "temperature", "case", "time")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "case": AxisSpec(Axis(0, 3, 4), 0, 10_000, "", "case index (0 = demo case, others random)"),
        "time": AxisSpec(Axis(0.0, 68e-9, 681), 0.0, 68e-9, "s", "time in the transient"),
    }
    setting_specs = {  # noqa: RUF012
        "time_step": SettingSpec(20e-12, 1e-13, 1e-9, "s", "transient step (tran tstep)"),
        "seed": SettingSpec(2024, 0, 2**31, "", "random seed of cases 1 and up", positive=False),
    }
    quantities = tuple(
        Quantity(name, "V", f"{vector} during the chain") for name, vector in WAVEFORMS.items()
    ) + tuple(
        Quantity(name, units, text, ("corner", "temperature", "case"))
        for name, units, text in (
            ("phi_width", "s", "width of the Phi pulse from the ReLU converter"),
            ("out_width", "s", "width of the signed converter's output pulse"),
            ("out_sign", "", "signed converter's sign at the end (1 = negative)"),
            (
                "e_k_cells",
                "J",
                "the K column's 8 cells over the K MAC (9.5 .. 26.5 ns): their supply's charge "
                "and the charge their enable drivers and complements deliver (each rising "
                "edge), x 1.8 V, the convention of multiplier-pulse's energy",
            ),
            (
                "e_v_cells",
                "J",
                "the V column's rows 1..7 (ideally driven) over the V MAC (26.5 .. 45 ns), "
                "as e_k_cells",
            ),
            (
                "e_v0_supply",
                "J",
                "V row 0's supply over the V MAC, x 1.8 V (its enables are the ReLU "
                "converter's Phi and inverter, counted in the converter's supply)",
            ),
            (
                "e_mac_cell",
                "J",
                "energy per cell per multiply-accumulate: (e_k_cells + e_v_cells + "
                "e_v0_supply) / 16",
            ),
            ("e_relu_conversion", "J", "converter supply and reference energy, 27 .. 45 ns"),
            ("e_signed_conversion", "J", "converter supply and reference energy, 45 .. 68 ns"),
            (
                "e_write_cell",
                "J",
                "energy per cell of writing K and V, 0 .. 10 ns: word line and "
                "bit-line drivers, divided by the 16 cells",
            ),
        )
    )

    def check_spec(self, spec: SweepSpec) -> None:
        case = spec.axes["case"]
        if case.start != int(case.start) or case.step != 1:
            raise SpecError("axis case must count whole cases, e.g. 0:3:4")

    standalone_vectors = tuple(WAVEFORMS.values())

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        inputs = case_inputs(round(value), int(spec.settings["seed"]))
        params = " ".join(
            [f"wq{i}={w:.6g}" for i, w in enumerate(inputs["wq"])]
            + [f"wp{i}={w:.6g}" for i, w in enumerate(inputs["wp"]) if i > 0]
        )
        commands = [f"alterparam {p}" for p in params.split()] + ["reset"]
        commands += [f"alter vwk{i} dc={k:.6g}" for i, k in enumerate(inputs["k"])]
        commands += [f"alter vwv{i} dc={v:.6g}" for i, v in enumerate(inputs["v"])]
        return [
            *commands,
            f"option temp={temperature:.12g}",
            GEAR,
            f"tran {spec.settings['time_step']:.6g} {STOP_S:.6g}",
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        cases = spec.axes["case"].values()[task.start : task.stop].round().astype(int)
        grid = spec.axes["time"].values()
        n_t, n_c = len(spec.temperatures), len(cases)
        out = {
            q.name: np.full((n_t, n_c, len(grid)) if q.axes is None else (n_t, n_c), np.nan)
            for q in self.quantities
        }
        drivers = [f"q{i}" for i in range(ROWS)] + [f"p{i}" for i in range(1, ROWS)]
        complements = [complement(d) for d in drivers]
        writers = [f"w{col}{i}" for col in "kv" for i in range(ROWS)]
        names = (
            [
                "time",
                *WAVEFORMS.values(),
                "v(vdda)",
                "i(vdda)",
                "i(vdda0)",
                "v(vdd)",
                "i(vdd)",
                "v(vmid)",
                "i(vmid)",
                "v(wwl)",
                "i(vwwl)",
            ]
            + [f"v({d})" for d in drivers]
            + [f"i(v{d})" for d in drivers]
            + [f"i(e{c})" for c in complements]
            + [f"v({w})" for w in writers]
            + [f"i(v{w})" for w in writers]
        )
        for ti, temperature in enumerate(spec.temperatures):
            for ci, case in enumerate(cases):
                commands = self.point_commands(spec, case, temperature)
                point = {"case": int(case)}
                if not self.run_point(circuit, commands, task.corner, temperature, point):
                    continue
                vec = circuit.vectors(names)
                t = vec["time"]
                for name, vector in WAVEFORMS.items():
                    out[name][ti, ci] = np.interp(grid, t, vec[vector])
                out["phi_width"][ti, ci] = pulse_width(
                    t, vec["v(phi)"], LOGIC_THRESHOLD_V, *RELU_CONVERSION
                )
                out["out_width"][ti, ci] = pulse_width(
                    t, vec["v(out)"], LOGIC_THRESHOLD_V, *SIGNED_CONVERSION
                )
                out["out_sign"][ti, ci] = float(vec["v(sign)"][-1] > LOGIC_THRESHOLD_V)

                def drawn(source: str, node: str, vec: dict = vec) -> np.ndarray:
                    return drawn_power(vec[f"v({node})"], vec[f"i({source})"])

                inputs = case_inputs(int(case), int(spec.settings["seed"]))
                for name, window, kind, widths in (
                    ("e_k_cells", K_CELLS_WINDOW, "q", inputs["wq"]),
                    ("e_v_cells", V_CELLS_WINDOW, "p", inputs["wp"][1:]),
                ):
                    rows = [d for d in drivers if d[0] == kind]
                    out[name][ti, ci] = cells_energy(t, vec, rows, widths, window)
                out["e_v0_supply"][ti, ci] = V_DD * energy(t, -vec["i(vdda0)"], *V_CELLS_WINDOW)
                out["e_mac_cell"][ti, ci] = (
                    out["e_k_cells"][ti, ci] + out["e_v_cells"][ti, ci] + out["e_v0_supply"][ti, ci]
                ) / (2 * ROWS)
                converter = drawn("vdd", "vdd") + drawn("vmid", "vmid")
                out["e_relu_conversion"][ti, ci] = energy(t, converter, *RELU_CONVERSION)
                out["e_signed_conversion"][ti, ci] = energy(t, converter, *SIGNED_CONVERSION)
                write_power = drawn("vwwl", "wwl") + sum(drawn(f"v{w}", w) for w in writers)
                out["e_write_cell"][ti, ci] = energy(t, write_power, 0.0, 10e-9) / (2 * ROWS)
        return out
