"""Measurements extracted from waveforms: retention, level-loss time, pulse width, energy."""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

from gaincell.circuits.design import V_DD

KV_LEVELS = 8
"""The paper's K/V precision: 3 bits."""
STORE_RANGE_V = 0.9
"""Width of the stored-voltage range (0.45 .. 1.35 V): one 3-bit step is 0.9 V / 7."""
LSB_V = STORE_RANGE_V / (KV_LEVELS - 1)
"""One 3-bit level of the stored voltage, in volts."""


def retention_time_constant(t: np.ndarray, v: np.ndarray) -> float:
    """Time constant tau of ``v(t) = v_inf + (v(0) - v_inf) * exp(-t / tau)`` fitted to a hold
    waveform (``t`` from the start of the hold, increasing). NaN if the waveform does not
    decay enough to tell (less than 0.5 mV of change) or the fit fails."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    if t.size < 4 or not np.all(np.isfinite(v)):
        return float("nan")
    change = v[-1] - v[0]
    if abs(change) < 5e-4:
        return float("nan")
    # Start from the time the change reaches 63 %, from the data itself.
    crossed = np.flatnonzero(np.abs(v - v[0]) >= 0.632 * abs(change))
    tau0 = float(t[crossed[0]]) if crossed.size and t[crossed[0]] > 0 else float(t[-1])

    def model(time: np.ndarray, v0: float, v_inf: float, log_tau: float) -> np.ndarray:
        return v_inf + (v0 - v_inf) * np.exp(-time / np.exp(log_tau))

    try:
        (_, _, log_tau), _ = curve_fit(model, t, v, p0=(v[0], v[-1], np.log(tau0)), maxfev=5000)
    except (RuntimeError, ValueError):
        return float("nan")
    return float(np.exp(log_tau))


def time_to_drift(t: np.ndarray, v: np.ndarray, drift: float) -> float:
    """First time at which ``|v(t) - v(0)|`` reaches ``drift`` volts, interpolated between
    samples (log-time when both are positive). NaN if it never does within the waveform."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    distance = np.abs(v - v[0])
    above = np.flatnonzero(distance >= drift)
    if above.size == 0:
        return float("nan")
    k = int(above[0])
    if k == 0:
        return float(t[0])
    d0, d1 = distance[k - 1], distance[k]
    fraction = (drift - d0) / (d1 - d0) if d1 > d0 else 1.0
    t0, t1 = t[k - 1], t[k]
    if t0 > 0 and t1 > 0:
        return float(np.exp(np.log(t0) + fraction * (np.log(t1) - np.log(t0))))
    return float(t0 + fraction * (t1 - t0))


def energy(t: np.ndarray, power: np.ndarray, start: float, stop: float) -> float:
    """Integral of ``power`` over ``[start, stop]`` (trapezoid on the simulator's own steps,
    with the ends interpolated)."""
    t, power = np.asarray(t, float), np.asarray(power, float)
    inside = (t > start) & (t < stop)
    times = np.concatenate(([start], t[inside], [stop]))
    values = np.concatenate(
        ([np.interp(start, t, power)], power[inside], [np.interp(stop, t, power)])
    )
    return float(np.trapezoid(values, times))


def drawn_power(voltage: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Power an ideal voltage source delivers to the circuit [W] from its voltage and its
    branch current (SPICE's sign: positive into its + terminal); what it takes back is lost
    (a real supply does not recover it)."""
    return np.maximum(-np.asarray(voltage, float) * np.asarray(current, float), 0.0)


def metered_charge(t: np.ndarray, meter: np.ndarray, start: float, stop: float) -> float:
    """Charge a 1 pF meter (a current-controlled source into 1 pF: volts = pC) gained between
    ``start`` and ``stop`` [C], interpolated on the simulator's steps."""
    gained = np.interp(stop, t, meter) - np.interp(start, t, meter)
    return float(gained) * 1e-12


def control_energy(
    t: np.ndarray,
    reset_current: np.ndarray,
    window_current: np.ndarray,
    reset_falls: tuple[float, float],
    window_opens: tuple[float, float],
) -> float:
    """Energy of a converter's reset and window drivers counted as CMOS drivers [J]: the
    charge the reset line's fall removes over ``reset_falls`` (its rise in the next cycle
    puts it back) plus the charge the window line takes as it opens over ``window_opens``,
    times the 1.8 V swing. Currents are the sources' branch currents (into the line: -i),
    integrated on the simulator's steps."""
    fell = -energy(t, -np.asarray(reset_current, float), *reset_falls)
    opened = energy(t, -np.asarray(window_current, float), *window_opens)
    return V_DD * (fell + opened)


def pulse_width(t: np.ndarray, v: np.ndarray, threshold: float, start: float, stop: float) -> float:
    """Total time within ``[start, stop]`` that ``v`` is above ``threshold``, with crossings
    interpolated linearly (0 for no pulse)."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    inside = (t > start) & (t < stop)
    times = np.concatenate(([start], t[inside], [stop]))
    values = np.concatenate(([np.interp(start, t, v)], v[inside], [np.interp(stop, t, v)]))
    high = values - threshold
    width = 0.0
    for k in range(len(times) - 1):
        a, b = high[k], high[k + 1]
        dt = times[k + 1] - times[k]
        if a >= 0 and b >= 0:
            width += dt
        elif a >= 0 > b or b >= 0 > a:
            crossing = a / (a - b) * dt
            width += crossing if a >= 0 else dt - crossing
    return width
