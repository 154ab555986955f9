"""A model of the ReLU converter's comparator memory, fitted to ``relu-c2p-recovery`` points.

The comparator is a continuous-time amplifier; what it reads when the conversion window opens
depends on where the column was in the last few ns. Its state ``s`` (in charge on the
converter's capacitor) follows a soft-saturating image of the column with one time constant:

    tau ds/dt = f(q(t)) - s,    f(q) = a asinh((q - c) / a) - a asinh((q_static - c) / a),

and the converter gives a pulse when ``s > 0`` at the window's start. ``q(t)`` is the column's
drop times the converter's capacitance (the charge a bare converter would hold; positive:
below mid-rail), ``q_static`` the switching point of a rested comparator, ``a`` how soon its
stages saturate, ``c`` where they are balanced (above ``q_static``: the reset level holds the
state further from its threshold than the same charge past it). Three constants per corner
and temperature are fitted, when the surrogate is fitted, to the bisected switching points
after excursions of 3..300 mV ending 1.5..4.5 ns before the window and with no excursion
(at ss / 85 C within 1.1 fC, RMS 0.4 fC, where the rested comparator's point alone misses by
up to 10 fC; on a 6 ns return ramp it was never fitted to, within 0.4 fC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from gaincell.surrogate.converter import aux_at
from gaincell.surrogate.models import SurrogateError

Array = NDArray[np.float64]

MESH_SUBSTEPS = 4
"""Cuts per interval of a column path (the array simulation's 1 ns mesh: 250 ps)."""
FIT_SUBSTEPS = 20
"""Cuts per segment of the testbench's waveform when fitting (its 1 ns ramp: 50 ps)."""


@dataclass(frozen=True)
class ComparatorRecovery:
    """The comparator's memory at one corner and temperature."""

    tau: float
    """Time constant of the comparator's state [s]."""
    soft: float
    """Charge scale where its response saturates (``a``) [C]."""
    static: float
    """Switching point of the rested comparator [C]."""
    center: float
    """Charge at which its stages are balanced (``c``) [C]."""
    fit_max_error: float = 0.0
    """Largest miss of the fitted switching points against the bisected ones [C]."""

    def drive(self, charge: Array) -> Array:
        """``f(q)``: what the state relaxes to with the column at ``charge`` (0 at the static
        switching point)."""
        a, c = self.soft, self.center
        return a * (np.arcsinh((np.asarray(charge) - c) / a) - np.arcsinh((self.static - c) / a))

    def rested_state(self) -> float:
        """The state when the column has sat at mid-rail (converter reset) for long."""
        return float(self.drive(np.array(0.0)))

    def state(
        self, times: Array, charges: Array, window_opens: Array | float, substeps: int
    ) -> Array:
        """The state when the window opens for column charges ``charges`` (..., n) [C] at
        ``times`` (..., n) [s] from the MAC's start (linear between, the rested state before
        the first, held after the last). Each interval is cut in ``substeps``, the drive
        taken linear between the cuts. Over one cut of length dt with the drive linear from
        d_a to d_b the state's exact step is s' = d_b - m tau + (s - d_a + m tau) e^(-dt/tau)
        (m the drive's slope); the steps compose in closed form, one sum instead of a loop."""
        times = np.broadcast_to(times, charges.shape)
        cut_t, cut_q = cut_points(times, substeps), cut_points(charges, substeps)
        drive = self.drive(cut_q)
        end = np.maximum(np.asarray(window_opens, dtype=np.float64), times[..., -1])
        dt = np.maximum(np.diff(cut_t, axis=-1), 1e-18)
        decay = np.exp(-dt / self.tau)
        slope_tau = (drive[..., 1:] - drive[..., :-1]) / dt * self.tau
        # One step: s' = d s + c with c = (d_b - slope tau) + (slope tau - d_a) d; each c
        # then decays over what follows it up to the window, the last drive held after the
        # last cut.
        offsets = drive[..., 1:] - slope_tau + (slope_tau - drive[..., :-1]) * decay
        weights = np.exp(-(end[..., None] - cut_t[..., 1:]) / self.tau)
        rested = self.rested_state() * np.exp(-(end - cut_t[..., 0]) / self.tau)
        held = drive[..., -1] * -np.expm1(-(end - cut_t[..., -1]) / self.tau)
        return rested + np.sum(offsets * weights, axis=-1) + held

    def pulses(
        self, times: Array, charges: Array, window_opens: float, substeps: int = MESH_SUBSTEPS
    ) -> NDArray[np.bool_]:
        """Whether the converter gives a pulse: its state is above 0 when the window opens
        (:meth:`state`)."""
        return self.state(times, charges, window_opens, substeps) > 0


def cut_fractions(substeps: int) -> Array:
    """Where each mesh interval is cut, as fractions of it: ``substeps`` of them, the last 1."""
    return np.linspace(0.0, 1.0, substeps + 1)[1:]


def cut_points(values: Array, substeps: int) -> Array:
    """``values`` (..., n) at the mesh's points, linear between, at each interval's
    ``substeps`` cuts (:func:`cut_fractions`): (..., (n - 1) * substeps + 1), the first point
    first."""
    fractions = cut_fractions(substeps)
    low, high = values[..., :-1, None], values[..., 1:, None]
    between = (low + fractions * (high - low)).reshape(*values.shape[:-1], -1)
    return np.concatenate([values[..., :1], between], -1)


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


def switching_points(
    model: ComparatorRecovery, excursion: Array, gap: Array, timing: Array
) -> Array:
    """The final charges at which ``model`` switches on the testbench's waveforms [C]."""
    span = timing[1] - timing[0]
    low = np.full(np.broadcast_shapes(np.shape(excursion), np.shape(gap)), -20e-15)
    high = np.full_like(low, 60e-15)
    for _ in range(32):  # bisection to 2e-23 C: the state rises with the final charge
        middle = 0.5 * (low + high)
        times, charges = testbench_waveform(excursion, gap, middle, timing)
        on = model.pulses(times, charges, span, FIT_SUBSTEPS)
        high = np.where(on, middle, high)
        low = np.where(on, low, middle)
    return 0.5 * (low + high)


def fit_recovery(
    excursion: Array,
    gap: Array,
    points: Array,
    static: float,
    timing: Array,
    near: ComparatorRecovery | None = None,
) -> ComparatorRecovery:
    """Fit ``tau``, ``a`` and ``c`` to bisected switching ``points`` [C] after ``excursion``
    [C] and ``gap`` [s] (flat arrays; no excursion is 0), the static point ``static`` [C]:
    from ``near`` (the neighbouring temperature's fit, so the constants move continuously
    with temperature where several fit about as well), else the best of a few starts (the
    misfit has local minima in ``c``)."""

    def model(p: Array) -> ComparatorRecovery:
        return ComparatorRecovery(p[0] * 1e-9, p[1] * 1e-15, static, p[2] * 1e-15)

    def residual(p: Array) -> Array:
        return (switching_points(model(p), excursion, gap, timing) - points) * 1e15

    best = None
    # Bounds keep the constants in one regime across corners and temperatures (they are
    # interpolated in temperature): tau 0.1..10 ns, a 0.5..50 fC, c within 30 fC of the point.
    lower = [0.1, 0.5, static * 1e15 - 30.0]
    upper = [10.0, 50.0, static * 1e15 + 30.0]
    starts = [[1.2, 4.0, static * 1e15 + center] for center in (0.0, 2.0, 5.0, 10.0)]
    if near is not None:
        offset = (near.center - near.static) * 1e15  # c relative to the point
        starts = [[near.tau * 1e9, near.soft * 1e15, static * 1e15 + offset]]
    for start in starts:
        start = np.clip(start, lower, upper)
        # Finite differences far above the bisection's resolution.
        result = least_squares(residual, x0=start, bounds=(lower, upper), diff_step=1e-3)
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    fitted = model(best.x)
    miss = float(np.max(np.abs(best.fun))) * 1e-15
    return ComparatorRecovery(fitted.tau, fitted.soft, static, fitted.center, miss)


PARAMETERS = ("tau", "soft", "center")
"""The fitted constants, in the order of the surrogate's ``recovery_parameters`` entry."""


def recovery_extras(model: Any) -> dict[str, tuple[Array, str, str]]:
    """The comparator model fitted at every corner and temperature node of a
    ``relu-c2p-recovery`` grid surrogate (its switching points, the rested and static ones),
    as aux entries: ``recovery_parameters`` (corner, temperature, 3) and
    ``recovery_fit_max_error`` (corner, temperature)."""
    excursion, gap, timing = _testbench_points(model)
    rested, static = model.aux["rested_point"][0], model.aux["static_point"][0]
    shape = (len(model.domain.corners), model.nodes["temperature"].size)
    parameters, misses = np.zeros((*shape, len(PARAMETERS))), np.zeros(shape)
    fitted = None
    for ci, ti in np.ndindex(shape):  # temperatures in order within each corner
        target = np.concatenate([model.values[ci, ti].ravel(), rested[ci, ti], [static[ci, ti]]])
        near = fitted if ti > 0 else None
        fitted = fit_recovery(excursion, gap, target, float(static[ci, ti]), timing, near)
        parameters[ci, ti] = [getattr(fitted, name) for name in PARAMETERS]
        misses[ci, ti] = fitted.fit_max_error
    return {
        "recovery_parameters": (
            parameters,
            "s, C, C",
            "comparator model (surrogate/recovery.py): tau [s], soft a [C], center c [C] per "
            "corner and temperature (axes corner, temperature, parameter)",
        ),
        "recovery_fit_max_error": (
            misses,
            "C",
            "largest miss of the comparator model's switching points against the bisected "
            "ones (axes corner, temperature)",
        ),
    }


def _testbench_points(model: Any) -> tuple[Array, Array, Array]:
    """The testbench's excursions [C] and gaps [s] of every fitted point (the grid's, then the
    rested ones, then the static one), and the timing."""
    timing = np.asarray(model.aux["timing"][0], dtype=np.float64)
    grid_e, grid_g = np.meshgrid(
        model.nodes["excursion"] * timing[4], model.nodes["gap"], indexing="ij"
    )
    gaps = model.nodes["gap"]
    excursion = np.concatenate([grid_e.ravel(), np.zeros(gaps.size), [0.0]])
    gap = np.concatenate([grid_g.ravel(), gaps, [timing[3]]])
    return excursion, gap, timing


def _node_model(model: Any, corner_index: int, temperature_index: int) -> ComparatorRecovery:
    """The comparator model stored for one corner and temperature node."""
    tau, soft, center = model.aux["recovery_parameters"][0][corner_index, temperature_index]
    return ComparatorRecovery(
        float(tau),
        float(soft),
        float(model.aux["static_point"][0][corner_index, temperature_index]),
        float(center),
        float(model.aux["recovery_fit_max_error"][0][corner_index, temperature_index]),
    )


def recovery_from_surrogate(model: Any, corner: str, temperature: float) -> ComparatorRecovery:
    """The comparator model at ``corner`` and ``temperature`` from a ``relu-c2p-recovery``
    surrogate: at a characterized temperature the constants fitted there; between them fitted
    (from the nearest one's) to the surrogate's switching points at ``temperature``, about a
    second (the constants themselves do not interpolate: at ff and fs several sets fit about
    as well)."""
    if "recovery_parameters" not in model.aux:
        raise SurrogateError(f"{model.name} has no comparator model; refit it")
    corner_index = model.domain.corners.index(corner)
    temperatures = np.asarray(model.aux["temperatures"][0], dtype=np.float64)
    nearest = int(np.argmin(np.abs(temperatures - temperature)))
    if abs(temperatures[nearest] - temperature) < 1e-6 or temperatures.size == 1:
        return _node_model(model, corner_index, nearest)
    excursion, gap, timing = _testbench_points(model)
    grid_e = excursion[: -model.nodes["gap"].size - 1] / timing[4]
    grid_g = gap[: -model.nodes["gap"].size - 1]
    points = model(excursion=grid_e, gap=grid_g, temperature=temperature, corner=corner)
    rested = aux_at(model, "rested_point", corner, temperature)
    static = aux_at(model, "static_point", corner, temperature)
    target = np.concatenate([np.ravel(points), rested, [static]])
    near = _node_model(model, corner_index, nearest)
    return fit_recovery(excursion, gap, target, static, timing, near)
