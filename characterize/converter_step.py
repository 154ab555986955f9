"""Where each charge-to-pulse converter switches, to a few hundredths of a fC, and its
transfer right around it.

On a 64-row tile the column charges sit within a few fC of the converters' switching points
more often than not at some corners (at ss / 85 C random data leaves 96 % of the K columns
negative): whether the ReLU converter gives its ~0.7 ns minimum pulse or nothing, and which
sign the signed converter latches, is decided there. A charge grid cannot place that point
closer than its step, so this characterization finds it by bisection, per corner and
temperature, and then samples the output at fixed offsets from it.

The signed converter has two such points: its sign flips at one, and just above it (up to
a few tenths of a fC) it gives no pulse at all before its minimum pulse appears: a positive
sign with a zero output. Both are bisected. The ReLU converter has one: its pulse appears.

These transients need a 10 ps step: at 20 ps the output within 0.3 fC of the switching
points is not converged (at sf and fs it came and went like a metastable band: pulse, no
pulse, pulse with increasing charge); 10 ps and 5 ps agree to 1.3 ps and on both points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from gaincell.characterize.axes import Axis, AxisSpec, SpecError
from gaincell.characterize.base import Extra, Quantity, Task, per_sample
from gaincell.characterize.c2p import _TIMING, ChargeToPulseCharacterization
from gaincell.characterize.measure import pulse_width
from gaincell.characterize.store import CharacterizationData
from gaincell.circuits.design import LOGIC_THRESHOLD_V
from gaincell.circuits.runner import LoadedCircuit

if TYPE_CHECKING:
    from gaincell.characterize.spec import SweepSpec

BRACKET_C = (-15e-15, 15e-15)
"""Charges between which the switching point is searched [C] (every corner and temperature
of the shipped grids switches within +-8 fC)."""
BISECTIONS = 16
"""Halvings of the bracket: 30 fC / 2^16, the switching point to 0.0005 fC (a hundredth of
the first offset: the width there rises by ~1.3 ps per 0.001 fC, so 0.004 fC left up to
5 ps, 0.5 % of the output's range, in each of a fitted point and a hold-out point)."""
DEADBAND_C = 4e-15
"""How far above the sign flip the signed converter's first pulse is searched [C]."""
DEADBAND_BISECTIONS = 10
"""Halvings of that bracket: 4 fC / 2^10, the pulse's appearance to 0.004 fC."""
DEADBAND_PROBE_C = 0.005e-15
"""Just above the sign flip [C]: a pulse there means no dead band within the resolution."""


class ConverterStepCharacterization(ChargeToPulseCharacterization):
    """A converter's switching points (bisection) and its output at offsets from them."""

    axes = ("corner", "temperature", "offset")
    # the comparator's resolution time grows with log(1 / overdrive): interpolate there
    surrogate_log_axes = ("offset",)
    axis_specs = {  # noqa: RUF012 (a class-level table, never mutated)
        "offset": AxisSpec(
            Axis(0.05e-15, 3.2e-15, 7, "log"),
            0.01e-15,
            10e-15,
            "C",
            "distance of the charge above the point where the pulse appears (and for the "
            "signed converter also below its sign flip); no point on either: each is known "
            "to its bisection's resolution only",
        ),
    }
    setting_specs = _TIMING
    holdout_points = 6
    surrogate_quantity = "width"

    @property
    def quantities(self) -> tuple[Quantity, ...]:  # type: ignore[override]
        base = (
            Quantity(
                "width",
                "s",
                "output pulse width at the point where the pulse appears plus the offset",
            ),
            Quantity(
                "point",
                "C",
                "charge above which the converter gives a pulse (bisection; for the signed "
                "converter the positive side); the same at every offset",
            ),
        )
        if self.signed:
            base += (
                Quantity(
                    "sign_point",
                    "C",
                    "charge below which the sign output reads negative (bisection); the same "
                    "at every offset",
                ),
                Quantity(
                    "width_below",
                    "s",
                    "output pulse width at the sign flip minus the offset (the negative side)",
                ),
                Quantity("sign", "", "latched sign above the pulse's point (0 expected)"),
                Quantity("sign_below", "", "latched sign below the sign flip (1 expected)"),
            )
        return base

    def check_spec(self, spec: SweepSpec) -> None:
        super().check_spec(spec)
        offset = spec.axes["offset"]  # its ends: values() of a log axis through 0 would raise
        if min(offset.start, offset.stop) <= 0:
            raise SpecError("offsets are distances from the switching point: positive only")

    def tasks(self, spec: SweepSpec, jobs: int) -> list[Task]:
        """One task per corner: the bisections run once per corner and temperature."""
        return per_sample(
            spec, [Task(corner, 0, spec.axes["offset"].points) for corner in spec.corners]
        )

    def _point(
        self, circuit: LoadedCircuit, spec: SweepSpec, corner: str, temperature: float, q: float
    ) -> tuple[float, float]:
        """(width, sign) of one charge; NaNs if ngspice failed."""
        commands = self.point_commands(spec, q, temperature)
        if not self.run_point(circuit, commands, corner, temperature, {"charge": q}):
            return np.nan, np.nan
        names = ["time", "v(out)", *(["v(sign)"] if self.signed else [])]
        vec = circuit.vectors(names)
        start, stop = spec.settings["conv_start"], spec.settings["t_stop"]
        width = pulse_width(vec["time"], vec["v(out)"], LOGIC_THRESHOLD_V, start, stop)
        sign = float(vec["v(sign)"][-1] > LOGIC_THRESHOLD_V) if self.signed else np.nan
        return width, sign

    def simulate(
        self, circuit: LoadedCircuit, spec: SweepSpec, task: Task
    ) -> dict[str, np.ndarray]:
        offsets = spec.axes["offset"].values()[task.start : task.stop]
        shape = (len(spec.temperatures), len(offsets))
        out = {q.name: np.full(shape, np.nan) for q in self.quantities}
        corner = task.corner
        for ti, temperature in enumerate(spec.temperatures):

            def run(q: float, temperature: float = temperature) -> tuple[float, float]:
                return self._point(circuit, spec, corner, temperature, q)

            if self.signed:
                flip = self._bisect(run, BRACKET_C, BISECTIONS, lambda w, s: s < 0.5)
                if not np.isfinite(flip):
                    self._no_point(corner, temperature, "sign flip", BRACKET_C)
                    continue
                bracket = (flip + DEADBAND_PROBE_C, flip + DEADBAND_C)
                width, _ = run(bracket[0])
                point = (
                    flip  # a pulse at once: no dead band within the resolution
                    if width > 0
                    else self._bisect(run, bracket, DEADBAND_BISECTIONS, lambda w, s: w > 0)
                )
            else:
                point = self._bisect(run, BRACKET_C, BISECTIONS, lambda w, s: w > 0)
            if not np.isfinite(point):
                self._no_point(corner, temperature, "first pulse", BRACKET_C)
                continue
            out["point"][ti] = point
            for oi, offset in enumerate(offsets):
                out["width"][ti, oi], sign = run(point + float(offset))
                if self.signed:
                    out["sign"][ti, oi] = sign
                    out["width_below"][ti, oi], out["sign_below"][ti, oi] = run(flip - offset)
            if self.signed:
                out["sign_point"][ti] = flip
        return out

    @staticmethod
    def _bisect(
        run: Callable[[float], tuple[float, float]],
        bracket: tuple[float, float],
        halvings: int,
        switched: Callable[[float, float], bool],
    ) -> float:
        """Where ``switched(width, sign)`` turns true within ``bracket`` [C], to the
        bisection's resolution; NaN if the bracket's ends do not differ or ngspice failed."""
        low, high = bracket
        ends = [run(q) for q in bracket]
        if not all(np.isfinite(w) for w, _ in ends):
            return np.nan
        if [switched(*end) for end in ends] != [False, True]:
            return np.nan
        for _ in range(halvings):
            middle = 0.5 * (low + high)
            width, sign = run(middle)
            if not np.isfinite(width):
                return np.nan
            if switched(width, sign):
                high = middle
            else:
                low = middle
        return 0.5 * (low + high)

    def _no_point(
        self, corner: str, temperature: float, what: str, bracket: tuple[float, float]
    ) -> None:
        self.failures.append(
            {
                "corner": corner,
                "temperature": temperature,
                "point": {"bracket": list(bracket)},
                "reason": f"no {what} within the bracket (or ngspice failed)",
            }
        )

    def surrogate_extras(self, data: CharacterizationData) -> dict[str, Extra]:
        """The switching points per corner and temperature, and for the signed converter its
        output below the sign flip (the surrogate models the width above the pulse's point)."""
        extras: dict[str, Extra] = {
            "on_threshold": (
                data.quantities["point"][..., 0],
                "C",
                "charge above which the converter gives a pulse (bisection), per corner and "
                "temperature (axes corner, temperature)",
            ),
            "temperatures": (
                data.axes["temperature"].values,
                "degC",
                "temperatures of the per-corner-and-temperature entries",
            ),
        }
        if self.signed:
            extras["sign_threshold"] = (
                data.quantities["sign_point"][..., 0],
                "C",
                "charge below which the sign output reads negative (bisection), per corner "
                "and temperature (axes corner, temperature)",
            )
            extras["width_below"] = (
                data.quantities["width_below"],
                "s",
                "output width at the sign flip minus each offset of the surrogate's offset "
                "axis (axes corner, temperature, offset)",
            )
        return extras


class ReluConverterStep(ConverterStepCharacterization):
    """The ReLU converter's switch-on point: no pulse below it, its minimum pulse above."""

    name = "relu-c2p-step"
    netlists = ("c2p_blocks", "relu_c2p", "relu_c2p_tb")


class SignedConverterStep(ConverterStepCharacterization):
    """The signed converter's sign flip, where its pulse appears above it, and its output
    either side."""

    name = "signed-c2p-step"
    netlists = ("c2p_blocks", "signed_c2p", "signed_c2p_tb")
    signed = True
