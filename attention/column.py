"""The MAC on a real column line: the cells' charge with the column voltage they move.

A column is the converter's integration node (about 2 pF), not a virtual ground: as the cells
deliver charge the column leaves mid-rail (0.55 .. 1.4 V on a 64-row tile) and each cell's
current depends on it (the read pair's output conductance; near the rails its triode region).
Every row's pulse starts at the same time and ends at its own width, so over the MAC the set
of conducting rows shrinks at each pulse end. With ``x = V_col - V_mid = -Q / C`` and each
conducting cell's current a polynomial ``sum_k c_k x^k``, the column charge obeys

    dQ/dt = sum over conducting rows of sum_k c_k x^k,   x = -Q / C,

which :func:`mac_charge` integrates exactly over the pulse ends (piecewise-constant sets of
conducting rows) by Picard iteration on a time mesh: between mesh points the column voltage is
taken as linear, so the mean of ``x^k`` over a mesh interval is closed form. The column moves
slowly against the MAC time (its time constant C / sum g is tens of ns), so a few iterations
converge to well under 0.1 % of the charge.

The edge charge of each pulse (its enables' switching, see ``multiplier_pulse_tb``) is added
at the start of the MAC.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

PICARD_ITERATIONS = 4
"""Fixed-point iterations of the column trajectory (each one is a closed-form pass)."""
MESH_STEP_S = 1e-9
"""Longest interval of the time mesh besides the pulse ends [s]."""


def mean_powers(x_a: Array, x_b: Array, order: int) -> Array:
    """Mean of ``x^k`` for k = 0..order over a linear ramp from ``x_a`` to ``x_b``, stacked on
    a new last axis: ``(x_b^(k+1) - x_a^(k+1)) / ((k + 1) (x_b - x_a))`` written without the
    division (the sum of ``x_a^i x_b^(k-i)`` over i, divided by k + 1)."""
    powers_a = [np.ones_like(x_a)]
    powers_b = [np.ones_like(x_b)]
    for _ in range(order):
        powers_a.append(powers_a[-1] * x_a)
        powers_b.append(powers_b[-1] * x_b)
    means = [
        sum(powers_a[i] * powers_b[k - i] for i in range(k + 1)) / (k + 1) for k in range(order + 1)
    ]
    return np.stack(means, axis=-1)


def mac_charge(
    coefficients: Array,
    edge: Array,
    widths: Array,
    capacitance: float,
    x_range: tuple[float, float],
    *,
    t_max: float | None = None,
) -> Array:
    """Charge each column draws over one MAC [C] (positive discharges the column).

    coefficients: ``(B, cols, rows, K + 1)``, each cell's current ``sum_k c_k x^k`` [A] with
    ``x = V_col - V_mid`` [V]; edge: ``(B, cols, rows)`` charge per pulse beyond the current
    [C]; widths: ``(B, rows)`` pulse width of each row [s], shared by the columns (rows with
    width 0 do not conduct and add no edge charge); capacitance: the column's [F]; x_range:
    the column excursion the polynomials hold for (x is clipped to it). ``t_max``: the mesh
    covers 0 .. max(widths, t_max) with steps of at most :data:`MESH_STEP_S`.
    """
    batch, cols, _, terms = coefficients.shape
    order = terms - 1
    widths = np.clip(np.asarray(widths, dtype=np.float64), 0.0, None)
    on = widths > 0
    q0 = np.einsum("bcr,br->bc", edge, on.astype(np.float64))
    longest = float(max(widths.max(initial=0.0), t_max or 0.0))
    if longest <= 0:
        return q0
    grid = np.linspace(0.0, longest, int(np.ceil(longest / MESH_STEP_S)) + 1)[1:]
    # Mesh: the pulse ends and a uniform grid, per batch element; intervals (t_{s-1}, t_s].
    mesh = np.sort(np.concatenate([widths, np.broadcast_to(grid, (batch, grid.size))], axis=1))
    mesh = np.minimum(mesh, longest)
    dt = np.diff(mesh, axis=1, prepend=0.0)  # (B, S)
    # Rows conducting over (t_{s-1}, t_s] are those with width >= t_s: with the rows in
    # ascending width, a suffix; suffix sums of the coefficients give each interval's total.
    order_rows = np.argsort(widths, axis=1)
    sorted_widths = np.take_along_axis(widths, order_rows, axis=1)
    first = np.stack(
        [np.searchsorted(sorted_widths[b], mesh[b], side="left") for b in range(batch)]
    )  # (B, S): index of the first conducting row in the sorted order
    ordered = np.take_along_axis(coefficients, order_rows[:, None, :, None], axis=2)
    suffix = np.concatenate(
        [np.cumsum(ordered[:, :, ::-1], axis=2)[:, :, ::-1], np.zeros((batch, cols, 1, terms))],
        axis=2,
    )  # (B, cols, rows + 1, K + 1)
    totals = np.take_along_axis(suffix, first[:, None, :, None], axis=2)  # (B, cols, S, K+1)
    lo, hi = x_range
    # Picard: start from the ideal (x = 0) trajectory, then re-integrate on the column
    # voltage of the previous pass (linear between mesh points).
    charge_steps = totals[..., 0] * dt[:, None, :]
    q = q0[..., None] + np.cumsum(charge_steps, axis=-1)  # (B, cols, S) at the mesh points
    for _ in range(PICARD_ITERATIONS):
        x = np.clip(-np.concatenate([q0[..., None], q], axis=-1) / capacitance, lo, hi)
        means = mean_powers(x[..., :-1], x[..., 1:], order)  # (B, cols, S, K + 1)
        current = np.einsum("bcsk,bcsk->bcs", totals, means)
        q = q0[..., None] + np.cumsum(current * dt[:, None, :], axis=-1)
    return q[..., -1]
