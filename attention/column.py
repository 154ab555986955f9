"""The MAC on a real column line: the cells' charge with the column voltage they move.

A column is the converter's integration node (about 2 pF), not a virtual ground: as the cells
deliver charge the column leaves mid-rail (0.55 .. 1.4 V on a 64-row tile) and each cell's
current depends on it (the read pair's output conductance; near the rails its triode region).
Every row's pulse starts at the same time and ends at its own width, so over the MAC the set
of conducting rows shrinks at each pulse end. With ``x = V_col - V_mid = -Q / C`` and each
conducting cell's current a polynomial ``sum_k c_k x^k``, the column charge obeys

    dQ/dt = sum over conducting rows of sum_k c_k x^k,   x = -Q / C,

which :func:`mac_charge` integrates by Picard iteration on a uniform 1 ns time mesh: a row
conducts over the fraction of each interval before its pulse ends, and between mesh points the
column voltage is taken as linear, so the mean current over an interval is closed form
(the means of x^k over a linear ramp, :func:`ramp_means`, exact for the cells'
polynomials). Against a mesh on every pulse end the charges agree within 0.04 fC on 64-row
tiles. The column moves slowly against the MAC time (its time
constant C / sum g is tens of ns), so a few iterations converge to well under 0.1 % of the
charge.

The line's capacitance is the converter's plus what the cells put on it (``cell_load_tb``):
every cell's idle load, and while a row conducts its read pair's internal nodes, which keep
their share of the column's drop when the pulse ends; ``C(t) dx/dt = -(sum of currents)``.

The edge charge of each pulse (its enables' switching, see ``multiplier_pulse_tb``) is added
at the start of the MAC, or with the cells' turn-off charge (``cell_load_tb``) split as it
comes: the turn-on part at the start, the turn-off part as each row's pulse ends. On a 64-row
column the turn-on charges lift the line by about 40 mV while the rows conduct; with the whole
edge at the start the column sat too low and its charges came out 1.5..3 fC too small.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.attention import fused

Array = NDArray[np.float64]

PICARD_ITERATIONS = 3
"""Fixed-point iterations of the column trajectory (each one is a closed-form pass). On 64-row
tiles the column moves K-column charges by up to 64 fC; after 2 passes the charge is within
0.5 fC of the converged one, after 3 within 0.03 fC."""
MESH_STEP_S = 1e-9
"""Longest interval of the time mesh [s]."""


def ramp_means(x_a: Array, x_b: Array, order: int, out: Array | None = None) -> Iterator[Array]:
    """Mean of ``x^k`` for k = 1..order over a linear ramp from ``x_a`` to ``x_b``, one at a
    time: ``(x_b^(k+1) - x_a^(k+1)) / ((k + 1) (x_b - x_a))`` written without the division,
    S_k / (k + 1) with S_k = sum of ``x_a^i x_b^(k-i)`` = ``x_b S_(k-1) + x_a^k``. With
    ``out`` every mean is written there (the caller uses each before asking for the next)."""
    power_a, sums = np.ones_like(x_a), np.ones_like(x_a)
    for k in range(1, order + 1):
        np.multiply(power_a, x_a, out=power_a)
        np.multiply(x_b, sums, out=sums)
        sums += power_a
        yield np.multiply(sums, 1.0 / (k + 1), out=out)


def mean_powers(x_a: Array, x_b: Array, order: int) -> Array:
    """Mean of ``x^k`` for k = 0..order over a linear ramp (:func:`ramp_means`), stacked on a
    new last axis."""
    return np.stack([np.ones_like(x_a), *ramp_means(x_a, x_b, order)], axis=-1)


class ColumnTrajectory(NamedTuple):
    """A MAC's column charges and the path the columns took."""

    charge: Array
    """Charge each column delivers to its converter [C], (B, cols) (:func:`mac_charge`)."""
    times: Array
    """Mesh times from the MAC's start [s], (S + 1,)."""
    drop: Array
    """The columns' drop below mid-rail at the mesh times [V], (B, cols, S + 1); held after
    the last."""


class ColumnSums(NamedTuple):
    """What a MAC's rows put on each column, summed over the rows: all that the column's
    integration (:func:`integrate_columns`) needs. :func:`row_sums` forms it from every
    cell; a caller whose cells come from a few shared values (DAC codes) can form the same
    sums without gathering the cells."""

    times: Array
    """Mesh times from the MAC's start [s], (S + 1,) (:func:`mac_mesh`)."""
    conducting: Array
    """(B, cols, entries, S): each coefficient entry summed over the rows, each row weighted
    by the fraction of the interval it conducts (:func:`conduction`)."""
    pulsed: Array
    """(B, cols, entries): each coefficient entry summed over the rows that pulse."""
    edge: Array
    """(B, cols): the edge charge of the rows that pulse [C]."""


def mac_mesh(widths: ArrayLike) -> Array:
    """The MAC's time mesh [s]: uniform, intervals of at most :data:`MESH_STEP_S`, over the
    longest width (one point, 0, when nothing pulses)."""
    longest = float(np.max(widths, initial=0.0))
    if longest <= 0:
        return np.zeros(1)
    steps = max(1, int(np.ceil(longest / MESH_STEP_S)))
    # np.linspace(0, longest, steps + 1) by its arithmetic, without its overhead (a decode
    # step makes two meshes)
    times = np.arange(steps + 1, dtype=np.float64) * (longest / steps)
    times[-1] = longest
    return times


def conduction(widths: ArrayLike, times: Array) -> Array:
    """(..., S): the fraction of each mesh interval a row of ``widths`` (...) conducts (its
    pulse starts with the MAC and ends at its width; exact for the charge at mid-rail)."""
    w = np.clip(np.asarray(widths, dtype=np.float64), 0.0, None)
    return np.clip((w[..., None] - times[:-1]) / np.diff(times), 0.0, 1.0)


def row_sums(coefficients: Array, edge: Array, widths: Array) -> ColumnSums:
    """:class:`ColumnSums` from every cell: coefficients ``(B, rows, cols, entries)``, edge
    ``(B, rows, cols)`` [C] and widths ``(B, rows)`` [s] as :func:`mac_charge` takes them."""
    batch, rows, cols, entries = coefficients.shape
    widths = np.clip(np.asarray(widths, dtype=np.float64), 0.0, None)
    pulsed = (widths > 0).astype(np.float64)
    times = mac_mesh(widths)
    stacked = coefficients.reshape(batch, rows, cols * entries)
    pulsed_sums = np.matmul(pulsed[:, None, :], stacked)[:, 0].reshape(batch, cols, entries)
    edge_sums = np.einsum("brc,br->bc", edge, pulsed)
    steps = times.size - 1
    if steps == 0:
        return ColumnSums(times, np.zeros((batch, cols, entries, 0)), pulsed_sums, edge_sums)
    active = conduction(widths, times)  # (B, rows, S)
    sums = np.matmul(np.swapaxes(active, 1, 2), stacked)  # (B, S, cols x E)
    conducting = np.ascontiguousarray(
        sums.reshape(batch, steps, cols, entries).transpose(0, 2, 3, 1)
    )
    return ColumnSums(times, conducting, pulsed_sums, edge_sums)


@overload
def mac_charge(
    coefficients: Array,
    edge: Array,
    widths: Array,
    capacitance: float,
    x_range: tuple[float, float],
    *,
    idle_load: float = ...,
    conducting_load: bool = ...,
    turn_off_charge: bool = ...,
    trajectory: Literal[False] = ...,
) -> Array: ...


@overload
def mac_charge(
    coefficients: Array,
    edge: Array,
    widths: Array,
    capacitance: float,
    x_range: tuple[float, float],
    *,
    idle_load: float = ...,
    conducting_load: bool = ...,
    turn_off_charge: bool = ...,
    trajectory: Literal[True],
) -> ColumnTrajectory: ...


def mac_charge(
    coefficients: Array,
    edge: Array,
    widths: Array,
    capacitance: float,
    x_range: tuple[float, float],
    *,
    idle_load: float = 0.0,
    conducting_load: bool = False,
    turn_off_charge: bool = False,
    trajectory: bool = False,
) -> Array | ColumnTrajectory:
    """Charge each column delivers to its converter over one MAC [C] (positive discharges
    the column), as the converter counts it: the charge its own capacitor would need for the
    column's final voltage, with the idle cells' load on the line.

    coefficients: ``(B, rows, cols, K + 1)`` (rows first: a row's cells are one block, so the
    sums over rows are one matrix product without a copy), each cell's current
    ``sum_k c_k x^k`` [A] with ``x = V_col - V_mid`` [V], and with ``conducting_load`` one more
    entry last: the capacitance the cell adds to the column while its row conducts, beyond
    ``idle_load`` [F], and with ``turn_off_charge`` one more after it: the part of the cell's
    edge charge that comes when its pulse ends [C] (the rest comes at the start);
    edge: ``(B, rows, cols)`` charge per pulse beyond the current [C];
    widths: ``(B, rows)`` pulse width of each row [s], shared by the columns (rows with width
    0 do not conduct and add no edge charge); capacitance: the converter's [F]; x_range: the
    column excursion the polynomials hold for (x is clipped to it); idle_load: the capacitance
    every cell adds to its column with its input off [F].

    The column's capacitance is the converter's, every row's idle load, and the conducting
    rows' extra load (their read pair's internal nodes follow the column through the enable,
    and keep their charge when the pulse ends): ``C(t) dx/dt = -sum of the cells' currents``.
    At the end only the converter and the idle loads remain on the line, and the converter's
    conversion ramp must discharge both: the equivalent charge of a bare converter (its
    characterization's input) is ``-(capacitance + rows idle_load) x_end``.

    With ``trajectory`` it returns a :class:`ColumnTrajectory`: also the column's drop at the
    mesh times (what the converter's comparator has seen, :mod:`surrogate.recovery`).
    This is :func:`integrate_columns` of :func:`row_sums`.
    """
    return integrate_columns(
        row_sums(coefficients, edge, widths),
        capacitance + coefficients.shape[1] * idle_load,
        x_range,
        conducting_load=conducting_load,
        turn_off_charge=turn_off_charge,
        trajectory=trajectory,
    )


def polynomial_order(entries: int, conducting_load: bool, turn_off_charge: bool) -> int:
    """The order of the cells' current polynomial in a table of ``entries`` entries before
    the edge charge: its coefficients, then the conducting load and the turn-off charge if
    the line has them."""
    return entries - 1 - int(conducting_load) - int(turn_off_charge)


def integrate_columns(
    sums: ColumnSums,
    idle: float,
    x_range: tuple[float, float],
    *,
    conducting_load: bool = False,
    turn_off_charge: bool = False,
    trajectory: bool = False,
) -> Array | ColumnTrajectory:
    """The columns' charges (or :class:`ColumnTrajectory`) from their row sums, as
    :func:`mac_charge` describes; ``idle``: the line's capacitance with every input off, the
    converter's and every row's idle load [F]."""
    times, conducting = sums.times, sums.conducting
    order = polynomial_order(conducting.shape[2], conducting_load, turn_off_charge)
    q0 = sums.edge
    steps = times.size - 1
    if steps == 0:
        if trajectory:
            return ColumnTrajectory(q0, np.zeros(1), (q0 / idle)[..., None])
        return q0
    dt = np.diff(times)
    totals = conducting
    # Charge arriving in each interval beyond the cells' currents: the rows' turn-off charges
    # as they stop (the drop of the conducting rows' sum; what is left at the end arrives in
    # the last interval). The turn-on part of the edge is already in q0.
    arriving: Array | float = 0.0  # (B, cols, S) with turn-off charges
    if turn_off_charge:
        conducting_off = totals[:, :, -1]  # (B, cols, S): mean over each interval
        total_off = sums.pulsed[..., -1]
        q0 = q0 - total_off
        before = np.concatenate([total_off[..., None], conducting_off[..., :-1]], axis=-1)
        arriving = before - conducting_off
        arriving[..., -1] += conducting_off[..., -1]
        totals = totals[:, :, :-1]
    if conducting_load:  # the column's capacitance over each interval, (B, cols, S)
        column_c = idle + totals[:, :, -1]
        totals = totals[:, :, :-1]
    else:
        column_c = np.full((*q0.shape, steps), idle)
    lo, hi = x_range
    # Picard: start from the ideal (x = 0) trajectory, then re-integrate on the column
    # voltage of the previous pass (linear between mesh points). u = -x, the column's drop.
    u0 = q0 / column_c[..., 0]

    def drop_path(current: Array) -> Array:
        """The drop at the mesh's later points from the mean currents over its intervals
        (in place: ``current`` is the caller's to give up)."""
        current *= dt
        current += arriving
        current /= column_c
        np.cumsum(current, axis=-1, out=current)
        current += u0[..., None]
        return current

    if fused.ENABLED:
        u = fused.picard_paths(
            totals,
            np.broadcast_to(arriving, column_c.shape),
            column_c,
            u0,
            dt,
            lo,
            hi,
            order,
            PICARD_ITERATIONS,
        )
        return _integrated(u0, u, idle, times, trajectory)
    u = drop_path(totals[:, :, 0].copy())
    mean_buffer = np.empty_like(u)
    for _ in range(PICARD_ITERATIONS):
        x = np.concatenate([u0[..., None], u], axis=-1)
        np.negative(x, out=x)
        np.clip(x, lo, hi, out=x)
        current = totals[:, :, 0].copy()
        for k, mean in enumerate(ramp_means(x[..., :-1], x[..., 1:], order, mean_buffer), 1):
            current += np.multiply(totals[:, :, k], mean, out=mean)
        u = drop_path(current)
    return _integrated(u0, u, idle, times, trajectory)


def _integrated(
    u0: Array, u: Array, idle: float, times: Array, trajectory: bool
) -> Array | ColumnTrajectory:
    """:func:`integrate_columns`' answer from the drop at the start ``u0`` (B, cols) and at
    the later mesh points ``u`` (B, cols, S)."""
    if trajectory:
        return ColumnTrajectory(
            idle * u[..., -1], times, np.concatenate([u0[..., None], u], axis=-1)
        )
    return idle * u[..., -1]


def pulse_end_drops(times: Array, drop: Array, widths: Array) -> tuple[Array, Array]:
    """Each row's column drop below mid-rail [V] at its pulse's end and averaged over its
    pulse, (B, rows, cols): ``times`` (S + 1,) and ``drop`` (B, cols, S + 1) a MAC's path
    (:class:`ColumnTrajectory`, linear between the mesh points, held after the last),
    ``widths`` (B, rows) the rows' pulses [s]; rows without a pulse get the drop at the start.
    Both are linear in the path, so each is one product with the rows' weights on the mesh
    (:func:`pulse_end_weights`), the same for every column."""
    at_end, over = pulse_end_weights(times, widths)  # (B, rows, S + 1)
    path = np.swapaxes(drop, 1, 2)  # (B, S + 1, cols)
    return np.matmul(at_end, path), np.matmul(over, path)


def pulse_end_weights(times: Array, widths: Array) -> tuple[Array, Array]:
    """Weights on the mesh points ``times`` (S + 1,) of a path linear between them and held
    after the last, (B, rows, S + 1) for ``widths`` (B, rows) [s]: the path's value at each
    pulse's end, and its mean over the pulse (the start's value for no pulse)."""
    w = np.clip(np.asarray(widths, dtype=np.float64), 0.0, None)
    points = times.size
    if points == 1:
        start = np.ones((*w.shape, 1))
        return start, start
    step = times[1] - times[0]  # the mesh is uniform (mac_mesh)
    position = np.clip(w / step, 0.0, points - 1)
    index = np.minimum(position.astype(np.intp), points - 2)[..., None]
    fraction = (position - index[..., 0])[..., None]
    node = np.arange(points)
    low, high = node == index, node == index + 1
    at_end = np.where(low, 1.0 - fraction, 0.0) + np.where(high, fraction, 0.0)
    # trapezoids over the whole intervals before the end's, then the end's part interval
    whole = step * ((node <= index) - 0.5 * (node == 0) - 0.5 * low)
    part = (
        step * fraction * np.where(low, 1.0 - 0.5 * fraction, np.where(high, 0.5 * fraction, 0.0))
    )
    held = np.clip(w - times[-1], 0.0, None)[..., None] * (node == points - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        over = np.where(w[..., None] > 0, (whole + part + held) / w[..., None], at_end)
    return at_end, over
