"""A model of the ReLU converter's comparator memory, fitted to ``relu-c2p-recovery`` points.

The comparator is a continuous-time amplifier; what it reads when the conversion window opens
depends on where the column was in the last few ns. Its state ``s`` (in charge on the
converter's capacitor) follows a soft-saturating image of the column with one time constant:

    tau ds/dt = f(q(t) - q_static) - s,    f(z) = a asinh(z / a),

and the converter gives a pulse when ``s > 0`` at the window's start. ``q(t)`` is the column's
drop times the converter's capacitance (the charge a bare converter would hold; positive:
below mid-rail), ``q_static`` the switching point of a rested comparator, ``a`` how soon its
stages saturate (a 300 mV excursion holds it only ~6 a away). Two constants per corner and
temperature (``tau``, ``a``) are fitted to the bisected switching points after excursions of
3..300 mV ending 1.5..4.5 ns before the window, and with no excursion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from gaincell.surrogate.converter import aux_at

Array = NDArray[np.float64]

FIT_STEP_S = 20e-12
"""Time step of the testbench waveforms when fitting [s]."""


@dataclass(frozen=True)
class ComparatorRecovery:
    """The comparator's memory at one corner and temperature."""

    tau: float
    """Time constant of the comparator's state [s]."""
    soft: float
    """Charge scale where its response saturates (``a``) [C]."""
    static: float
    """Switching point of the rested comparator [C]."""
    delay: float = 0.0
    """How long before the window opens the decision is taken [s] (the comparator's output
    stage and the logic after it)."""
    fit_max_error: float = 0.0
    """Largest miss of the fitted switching points against the bisected ones [C]."""

    def drive(self, charge: Array) -> Array:
        """``f(q - q_static)``: what the state relaxes to with the column at ``charge``."""
        return self.soft * np.arcsinh((np.asarray(charge) - self.static) / self.soft)

    def rested_state(self) -> float:
        """The state when the column has sat at mid-rail (converter reset) for long."""
        return float(self.drive(np.array(0.0)))

    def advance(self, state: Array, drive_a: Array, drive_b: Array, dt: float | Array) -> Array:
        """The state after ``dt`` with the drive linear from ``drive_a`` to ``drive_b``
        (exact first-order hold)."""
        decay = np.exp(-np.asarray(dt) / self.tau)
        slope = (drive_b - drive_a) / np.asarray(dt)
        # s(dt) = d_b - slope tau + (s0 - d_a + slope tau) e^(-dt/tau)
        return drive_b - slope * self.tau + (state - drive_a + slope * self.tau) * decay

    def pulses(self, times: Array, charges: Array, window_opens: float) -> NDArray[np.bool_]:
        """Whether the converter gives a pulse: the column's charge ``charges`` (..., n) at
        ``times`` (n,) [s] from the MAC's start (linear between, the rested state before the
        first, held after the last), the window opening at ``window_opens`` [s]."""
        drive = self.drive(charges)
        state = np.full(drive.shape[:-1], self.rested_state())
        for i in range(drive.shape[-1] - 1):
            state = self.advance(state, drive[..., i], drive[..., i + 1], times[i + 1] - times[i])
        gap = window_opens - self.delay - times[-1]
        if gap > 0:
            state = self.advance(state, drive[..., -1], drive[..., -1], gap)
        return state > 0


def testbench_waveform(
    excursion: Array, gap: Array, final: Array, timing: Array
) -> tuple[Array, Array]:
    """Times (from the excursion's start) and charges of ``relu_c2p_recovery_tb``: lifted by
    ``excursion`` [C] over 1 ns, held, then a ramp to ``final`` [C] ending ``gap`` [s] before
    the window. Arrays broadcast; returns (times (..., 4), charges (..., 4))."""
    mac_start, conv_start, ramp, _, _ = timing
    span = conv_start - mac_start
    excursion, gap, final = np.broadcast_arrays(
        *(np.asarray(a, float) for a in (excursion, gap, final))
    )
    ramp_start = span - gap - ramp
    times = np.stack([np.zeros_like(gap), np.full_like(gap, 1e-9), ramp_start, span - gap], -1)
    charges = np.stack([np.zeros_like(final), -excursion, -excursion, final], -1)
    return times, charges


def _state_at_window(model: ComparatorRecovery, times: Array, charges: Array, span: float) -> Array:
    """The state at the window for per-point piecewise-linear waveforms (..., 4)."""
    drive = model.drive(charges)
    state = np.full(drive.shape[:-1], model.rested_state())
    for i in range(3):
        dt = np.maximum(times[..., i + 1] - times[..., i], 1e-15)
        state = model.advance(state, drive[..., i], drive[..., i + 1], dt)
    return model.advance(state, drive[..., -1], drive[..., -1], span - model.delay - times[..., -1])


def switching_points(
    model: ComparatorRecovery, excursion: Array, gap: Array, timing: Array
) -> Array:
    """The final charges at which ``model`` switches on the testbench's waveforms [C]."""
    span = timing[1] - timing[0]
    low = np.full(np.broadcast_shapes(np.shape(excursion), np.shape(gap)), -20e-15)
    high = np.full_like(low, 60e-15)
    for _ in range(40):  # bisection to 1e-25 C: the state rises with the final charge
        middle = 0.5 * (low + high)
        times, charges = testbench_waveform(excursion, gap, middle, timing)
        on = _state_at_window(model, times, charges, span) > 0
        high = np.where(on, middle, high)
        low = np.where(on, low, middle)
    return 0.5 * (low + high)


def fit_recovery(
    excursion: Array, gap: Array, points: Array, static: float, timing: Array
) -> ComparatorRecovery:
    """Fit ``tau`` and ``a`` to bisected switching ``points`` [C] after ``excursion`` [C]
    and ``gap`` [s] (flat arrays; no excursion is 0), the rested point ``static`` [C]."""

    def model(p: Array) -> ComparatorRecovery:
        return ComparatorRecovery(p[0] * 1e-9, p[1] * 1e-15, static, p[2] * 1e-9)

    def residual(p: Array) -> Array:
        return (switching_points(model(p), excursion, gap, timing) - points) * 1e15

    result = least_squares(
        residual, x0=[1.5, 3.0, 0.3], bounds=([0.05, 0.05, 0.0], [20.0, 200.0, 1.4])
    )
    best = model(result.x)
    miss = float(np.max(np.abs(switching_points(best, excursion, gap, timing) - points)))
    return ComparatorRecovery(best.tau, best.soft, static, best.delay, miss)


def recovery_from_surrogate(model: Any, corner: str, temperature: float) -> ComparatorRecovery:
    """The comparator model at ``corner`` and ``temperature`` from a ``relu-c2p-recovery``
    surrogate: its switching points at the characterized excursions and gaps (interpolated in
    temperature like the surrogate itself), fitted by :func:`fit_recovery`."""
    timing = np.asarray(model.aux["timing"][0], dtype=np.float64)
    excursions = model.nodes["excursion"] * timing[4]
    gaps = model.nodes["gap"]
    grid_e, grid_g = np.meshgrid(excursions, gaps, indexing="ij")
    points = model(excursion=grid_e / timing[4], gap=grid_g, temperature=temperature, corner=corner)
    rested = aux_at(model, "rested_point", corner, temperature)
    static = aux_at(model, "static_point", corner, temperature)
    excursion = np.concatenate([grid_e.ravel(), np.zeros(gaps.size), [0.0]])
    gap = np.concatenate([grid_g.ravel(), gaps, [timing[3]]])
    target = np.concatenate([np.ravel(points), rested, [static]])
    return fit_recovery(excursion, gap, target, static, timing)
