"""Charge-to-pulse converters: output pulse width (and sign) versus the integrated charge."""

from __future__ import annotations

import numpy as np

from characterize.base import Characterization, Quantity, Task
from characterize.measure import energy, pulse_width
from characterize.spec import Axis, AxisSpec, SettingSpec, SpecError, SweepSpec
from circuits.runner import LoadedCircuit

LOGIC_THRESHOLD_V = 0.9
"""Half of the 1.8 V supply: where a digital output counts as high."""
GEAR = "option method=gear"
"""Gear integration for every transient: the default trapezoidal rule rings in the currents
of ideal sources driving capacitive nodes (+-80 uA from step to step in the MAC chain), which
the energy integrals would count as energy drawn."""

STATIC_WINDOW_S = 3e-9
"""Length of the quiet window before the conversion opens over which the static bias power
is averaged [s] (the MAC charge has been delivered, the converter only holds it)."""

_TIMING = {
    "time_step": SettingSpec(10e-12, 1e-13, 1e-9, "s", "transient step (tran tstep)"),
    "t_stop": SettingSpec(40e-9, 10e-9, 1e-6, "s", "end of the transient"),
    "conv_start": SettingSpec(20e-9, 1e-9, 1e-6, "s", "start of the conversion window"),
    "conv_stop": SettingSpec(35e-9, 1e-9, 1e-6, "s", "end of the conversion window (T_max later)"),
}


class ChargeToPulseCharacterization(Characterization):
    """Transfer of a charge-to-pulse converter: one transient per input charge (``qin``).

    The testbench integrates ``qin`` on the converter's column capacitor, opens the conversion
    window ``conv_start .. conv_stop`` and loads the output like the next array's inputs.
    """

    axes = ("corner", "temperature", "charge")
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "charge": AxisSpec(
            Axis(-1.2e-12, 1.6e-12, 57),
            -5e-12,
            5e-12,
            "C",
            "signed charge integrated on the column (positive discharges it, like positive "
            "gain-cell current)",
        ),
    }
    setting_specs = _TIMING
    signed = False
    """Whether the converter also outputs a sign."""

    def check_spec(self, spec: SweepSpec) -> None:
        settings = spec.settings
        for name in ("time_step", "t_stop", "conv_start", "conv_stop"):
            if settings.get(name, 1.0) <= 0:
                raise SpecError(f"setting {name} must be positive, got {settings[name]:g} s")
        if not settings["conv_start"] < settings["conv_stop"] <= settings["t_stop"]:
            raise SpecError("the conversion window must satisfy conv_start < conv_stop <= t_stop")

    @property
    def quantities(self) -> tuple[Quantity, ...]:  # type: ignore[override]
        base = (
            Quantity("width", "s", "output pulse width within the conversion window and after"),
            Quantity(
                "e_conversion",
                "J",
                "energy drawn from the converter's supply and mid-rail reference from the "
                "start of the conversion window to the end of the transient",
            ),
            Quantity(
                "e_total", "J", "energy drawn over the whole transient (reset, MAC, conversion)"
            ),
            Quantity(
                "v_col",
                "V",
                "column (integration node) voltage when the conversion window opens: the "
                "converter's column capacitance is charge / (0.9 V - v_col)",
            ),
            Quantity(
                "p_static",
                "W",
                "mean power drawn from the supply and the reference over the quiet "
                f"{STATIC_WINDOW_S * 1e9:g} ns before the conversion window (charge held, "
                "comparator and bias mirrors on): the static bias power",
            ),
        )
        if self.signed:
            base += (Quantity("sign", "", "latched sign output at the end: 1 = negative charge"),)
        return base

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        charges = spec.axes["charge"].values()[task.start : task.stop]
        settings = spec.settings
        n_t, n_q = len(spec.temperatures), len(charges)
        out = {q.name: np.full((n_t, n_q), np.nan) for q in self.quantities}
        tran = f"tran {settings['time_step']:.6g} {settings['t_stop']:.9g}"
        names = ["time", "v(out)", "v(vdd)", "i(vdd)", "v(vmid)", "i(vmid)", "v(col)"]
        if self.signed:
            names.append("v(sign)")
        for ti, temperature in enumerate(spec.temperatures):
            for qi, charge in enumerate(charges):
                commands = [
                    f"alterparam qin={charge:.9g}",
                    "reset",  # re-evaluates parameters, and restores the deck's temperature
                    f"option temp={temperature:.12g}",
                    GEAR,
                    tran,
                ]
                if not self.run_point(
                    circuit, commands, task.corner, temperature, {"charge": float(charge)}
                ):
                    continue
                vec = circuit.vectors(names)
                t = vec["time"]
                start, stop = settings["conv_start"], settings["t_stop"]
                out["width"][ti, qi] = pulse_width(t, vec["v(out)"], LOGIC_THRESHOLD_V, start, stop)
                # Energy drawn from the supply and the reference; what they take back is lost.
                power = np.maximum(vec["v(vdd)"] * -vec["i(vdd)"], 0.0) + np.maximum(
                    vec["v(vmid)"] * -vec["i(vmid)"], 0.0
                )
                out["e_conversion"][ti, qi] = energy(t, power, start, stop)
                out["e_total"][ti, qi] = energy(t, power, 0.0, stop)
                out["v_col"][ti, qi] = float(np.interp(start, t, vec["v(col)"]))
                quiet = start - STATIC_WINDOW_S
                out["p_static"][ti, qi] = energy(t, power, quiet, start) / STATIC_WINDOW_S
                if self.signed:
                    out["sign"][ti, qi] = float(vec["v(sign)"][-1] > LOGIC_THRESHOLD_V)
        return out


class ReluChargeToPulse(ChargeToPulseCharacterization):
    """The ReLU charge-to-pulse converter (the paper's HardSigmoid activation)."""

    name = "relu-c2p"
    netlists = ("c2p_blocks", "relu_c2p", "relu_c2p_tb")


class SignedChargeToPulse(ChargeToPulseCharacterization):
    """The signed charge-to-pulse converter (output magnitude pulse plus sign)."""

    name = "signed-c2p"
    netlists = ("c2p_blocks", "signed_c2p", "signed_c2p_tb")
    signed = True
