"""Charge-to-pulse converters: output pulse width (and sign) versus the integrated charge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import Axis, AxisSpec, SettingSpec, SpecError
from gaincell.characterize.base import Characterization, Extra, Quantity, Task
from gaincell.characterize.measure import control_energy, drawn_power, energy, pulse_width
from gaincell.characterize.store import CharacterizationData
from gaincell.circuits.design import GEAR, LOGIC_THRESHOLD_V, V_MID
from gaincell.circuits.runner import LoadedCircuit, RunLimits

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

STATIC_WINDOW_S = 3e-9
"""Length of the quiet window before the conversion opens over which the static bias power
is averaged [s] (the MAC charge has been delivered, the converter only holds it)."""

TESTBENCH_RESET_S = 2e-9
"""How long the testbenches hold the converter in reset from the start (``trst`` in
``relu_c2p_tb.sp`` and ``signed_c2p_tb.sp``) [s]: ``e_total`` and ``e_cycle`` hold that much
reset."""

RESET_WINDOW_S = (0.2e-9, 1.8e-9)
"""Where in the testbench's reset the reset power is averaged [s] (clear of its release)."""

DRIVER_GUARD_S = 1e-9
"""How long before the window opens its driver's charge is counted from [s] (the reset has
fallen long before)."""

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
    # One conversion takes well under a second at the default step; the finest allowed step
    # over the longest window (1e-13 s to 1 us) ran for minutes past 2.6 GB before limits.
    run_limits = RunLimits(timeout=300.0, max_memory=2 * 2**30)
    signed = False
    """Whether the converter also outputs a sign."""
    surrogate_quantity = "width"
    holdout_points = 9

    def surrogate_extras(self, data: CharacterizationData) -> dict[str, Extra]:
        """Where the converter switches and its column capacitance (see
        :func:`converter_extras`)."""
        return converter_extras(data)

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
                "e_drivers",
                "J",
                "energy of the reset and conversion-window drivers for one conversion (ideal "
                "sources counted as CMOS drivers: the charge each moves on its load times "
                "1.8 V; the reset line's is the charge its fall removes, which its rise in the "
                "next cycle puts back)",
            ),
            Quantity(
                "p_static",
                "W",
                "mean power drawn from the supply and the reference over the quiet "
                f"{STATIC_WINDOW_S * 1e9:g} ns before the conversion window (charge held, "
                "comparator and bias mirrors on): the static bias power",
            ),
            Quantity(
                "p_reset",
                "W",
                "mean power drawn from the supply and the reference while the converter is held "
                f"in reset ({RESET_WINDOW_S[0] * 1e9:g} .. {RESET_WINDOW_S[1] * 1e9:g} ns: column "
                "tied to mid-rail, comparator and bias on): 20 .. 30 % above the static bias; a "
                "reset longer than the testbench's costs the difference",
            ),
        )
        base += (
            Quantity(
                "e_cycle",
                "J",
                "energy of one conversion cycle (reset, MAC, conversion) above the static "
                "bias: e_total - p_static x the transient's length, plus e_drivers (what the "
                "data costs; the bias is p_static x however long the converter is powered)",
            ),
        )
        if self.signed:
            base += (Quantity("sign", "", "latched sign output at the end: 1 = negative charge"),)
        return base

    @property
    def standalone_vectors(self) -> tuple[str, ...]:  # type: ignore[override]
        names = (
            "v(out)",
            "v(vdd)",
            "i(vdd)",
            "v(vmid)",
            "i(vmid)",
            "v(col)",
            "i(vrst)",
            "i(vconv)",
        )
        return (*names, "v(sign)") if self.signed else names

    def point_commands(self, spec: SweepSpec, value: float, temperature: float) -> list[str]:
        settings = spec.settings
        return [
            f"alterparam qin={value:.9g}",
            "reset",  # re-evaluates parameters, and restores the deck's temperature
            f"option temp={temperature:.12g}",
            GEAR,
            f"tran {settings['time_step']:.6g} {settings['t_stop']:.9g}",
        ]

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        charges = spec.axes["charge"].values()[task.start : task.stop]
        settings = spec.settings
        n_t, n_q = len(spec.temperatures), len(charges)
        out = {q.name: np.full((n_t, n_q), np.nan) for q in self.quantities}
        names = ["time", *self.standalone_vectors]
        for ti, temperature in enumerate(spec.temperatures):
            for qi, charge in enumerate(charges):
                commands = self.point_commands(spec, charge, temperature)
                if not self.run_point(
                    circuit, commands, task.corner, temperature, {"charge": float(charge)}
                ):
                    continue
                vec = circuit.vectors(names)
                t = vec["time"]
                start, stop = settings["conv_start"], settings["t_stop"]
                out["width"][ti, qi] = pulse_width(t, vec["v(out)"], LOGIC_THRESHOLD_V, start, stop)
                # Energy drawn from the supply and the reference; what they take back is lost.
                power = drawn_power(vec["v(vdd)"], vec["i(vdd)"]) + drawn_power(
                    vec["v(vmid)"], vec["i(vmid)"]
                )
                out["e_conversion"][ti, qi] = energy(t, power, start, stop)
                out["e_total"][ti, qi] = energy(t, power, 0.0, stop)
                out["v_col"][ti, qi] = float(np.interp(start, t, vec["v(col)"]))
                # 50 ps edges get 2 .. 3 steps: ~10 % of tens of fJ, nothing beside the pJ
                out["e_drivers"][ti, qi] = control_energy(
                    t,
                    vec["i(vrst)"],
                    vec["i(vconv)"],
                    (0.0, start - DRIVER_GUARD_S),
                    (start - DRIVER_GUARD_S, 0.5 * (start + settings["conv_stop"])),
                )
                quiet = start - STATIC_WINDOW_S
                out["p_static"][ti, qi] = energy(t, power, quiet, start) / STATIC_WINDOW_S
                reset_from, reset_to = RESET_WINDOW_S
                out["p_reset"][ti, qi] = energy(t, power, reset_from, reset_to) / (
                    reset_to - reset_from
                )
                out["e_cycle"][ti, qi] = (
                    out["e_total"][ti, qi]
                    - out["p_static"][ti, qi] * stop
                    + out["e_drivers"][ti, qi]
                )
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


def sign_threshold(data: CharacterizationData) -> np.ndarray:
    """Charge at which the signed converter's sign output flips, per corner and temperature.

    The flip lies between the last charge read as negative and the first read as positive;
    within that bracket it is placed where the two straight flanks of the output width
    (|charge| plus the converter's offset: a V shape) meet, from the two points on each side
    next to the bracket."""
    sign, charge = data.quantities["sign"], data.axes["charge"].values
    width = data.quantities["width"]
    threshold = np.full(sign.shape[:2], np.nan)
    for index in np.ndindex(threshold.shape):
        negative = np.flatnonzero(sign[index] > 0.5)
        if not negative.size or negative[-1] + 1 >= charge.size:
            continue
        k = negative[-1]
        low, high = charge[k], charge[k + 1]
        threshold[index] = 0.5 * (low + high)
        if k >= 2 and k + 2 < charge.size:
            w = width[index]
            left = np.polyfit(charge[k - 2 : k], w[k - 2 : k], 1)
            right = np.polyfit(charge[k + 1 : k + 3], w[k + 1 : k + 3], 1)
            if right[0] != left[0]:
                vertex = (left[1] - right[1]) / (right[0] - left[0])
                threshold[index] = float(np.clip(vertex, low, high))
    return threshold


def on_threshold(data: CharacterizationData) -> np.ndarray:
    """Charge at which the ReLU converter starts to give a pulse, per corner and temperature.

    The converter switches from no pulse to its minimum pulse (the comparator's delay, about
    0.7 ns) at a small charge: the step lies between the last charge with no pulse and the
    first with one, and is placed at their midpoint (NaN if the sweep has no such pair)."""
    width, charge = data.quantities["width"], data.axes["charge"].values
    threshold = np.full(width.shape[:2], np.nan)
    for index in np.ndindex(threshold.shape):
        on = np.flatnonzero(width[index] > 0)
        if on.size and on[0] > 0:
            threshold[index] = 0.5 * (charge[on[0] - 1] + charge[on[0]])
    return threshold


def column_capacitance(data: CharacterizationData) -> np.ndarray:
    """The converter's column capacitance [F] per corner and temperature: the slope of the
    integrated charge over the column's drop from mid-rail when the conversion opens, within
    +-0.6 pC (both rails' margin)."""
    charge = data.axes["charge"].values
    drop = V_MID - data.quantities["v_col"]
    capacitance = np.full(drop.shape[:2], np.nan)
    for index in np.ndindex(capacitance.shape):
        ok = np.isfinite(drop[index]) & (np.abs(charge) <= 0.6e-12)
        if ok.sum() >= 2:
            capacitance[index] = np.polyfit(drop[index][ok], charge[ok], 1)[0]
    return capacitance


def converter_extras(data: CharacterizationData) -> dict[str, Extra]:
    """What a converter's surrogate carries beside its width: where it switches (the ReLU's
    first pulse, the signed converter's sign flip) and its column capacitance, per corner and
    temperature (axes corner, temperature; the temperatures in ``temperatures``)."""
    aux: dict[str, Extra] = {}
    if "sign" in data.quantities:
        aux["sign_threshold"] = (
            sign_threshold(data),
            "C",
            "charge below which the sign output reads negative, per corner and temperature "
            "(axes corner, temperature)",
        )
    else:
        aux["on_threshold"] = (
            on_threshold(data),
            "C",
            "charge above which the converter gives a pulse (no pulse below), per corner and "
            "temperature (axes corner, temperature)",
        )
    if "v_col" in data.quantities:
        aux["column_capacitance"] = (
            column_capacitance(data),
            "F",
            "the converter's column capacitance: charge over the column's drop from mid-rail "
            "at the conversion start, per corner and temperature (axes corner, temperature)",
        )
    aux["temperatures"] = (
        data.axes["temperature"].values,
        "degC",
        "temperatures of the per-corner-and-temperature entries",
    )
    return aux
