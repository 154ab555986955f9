"""Compiled loops for the decode step's inner work (numba, the ``fast`` extra): each one the
numpy code it stands for, with its temporaries fused away.

A decode step with a full window integrates 1024 K and 1024 V columns over their MAC and
prices every pulse at its column's voltage; in numpy that is some fifty array passes of
0.05 .. 0.3 ms each. :func:`picard_paths` does the Picard passes of
:func:`attention.column.integrate_columns` operation for operation (bit-identical);
:func:`k_paths` and :func:`v_paths` form a block of columns' row sums, integrate them
(:func:`_integrate_block`, the same passes, columns last so each loop is a vector loop) and
price the block's pulses while the block is in cache; they add the same terms as the numpy
path in another order (a row's whole intervals counted once; a column's cells of one code
and width together; one running sum), equal to a sum's rounding (1e-14 relative).
:func:`table_lookup` and :func:`table_pair_sums` are ``np.interp``'s arithmetic, each point's
node found from a bucket instead of by bisection. ``tests/test_fused.py`` holds each against
its numpy original.

Without numba, or with ``GAINCELL_KERNELS=numpy`` in the environment, :data:`ENABLED` is False
and every caller keeps its numpy path (the reference).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

ENABLED = (
    importlib.util.find_spec("numba") is not None
    and os.environ.get("GAINCELL_KERNELS", "numba") != "numpy"
)
"""Whether the compiled kernels are used (numba installed, not switched off); callers read it
at each call, so a test may switch it."""


def backend() -> str:
    """What runs the kernels, for ``gaincell info``."""
    if not ENABLED:
        return "numpy (install the fast extra, gaincell[fast], for compiled kernels)"
    from importlib.metadata import version

    return f"numba {version('numba')} (compiled on first use, cached)"


_HELPERS: list[str] = []
"""Module functions the kernels call, compiled in place (the module's name bound to the
compiled function) before the first kernel is."""


def _helper(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function the kernels call (:data:`_HELPERS`)."""
    _HELPERS.append(function.__name__)
    return function


class _Kernel:
    """A kernel compiled by numba on its first call (numba is imported then, not with the
    package), cached on disk; no fast-math, so the IEEE order of each operation is kept."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.compiled: Callable[..., Any] | None = None
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__

    def __call__(self, *args: Any) -> Any:
        if self.compiled is None:
            import numba

            # numpy's error model: a division is the IEEE one (no zero check), so loops with
            # one become vector loops
            compile = numba.njit(cache=True, nogil=True, error_model="numpy")
            names = globals()
            for name in _HELPERS:
                if not isinstance(names[name], numba.core.dispatcher.Dispatcher):
                    names[name] = compile(names[name])
            self.compiled = compile(self.function)
        return self.compiled(*args)


@_helper
def _node_interval(x: float, first: float, step: float, last: float, count: int) -> tuple:
    """The interval of ``count`` equally spaced nodes (``first`` by ``step`` to ``last``) ``x``
    falls in and where in it (0..1), clamped to the ends: the arithmetic of
    :func:`attention.energy.node_interval` for one value."""
    position = (min(max(x, first), last) - first) / step
    low = min(int(position), count - 2)
    return low, position - low


@_Kernel
def picard_paths(
    totals: Array,
    arriving: Array,
    column_c: Array,
    u0: Array,
    dt: Array,
    lo: float,
    hi: float,
    order: int,
    iterations: int,
) -> Array:
    """The columns' drop below mid-rail at the mesh's later points, (B, cols, S):
    :func:`attention.column.integrate_columns`' Picard passes, column by column.

    totals (B, cols, entries, S): the conducting rows' coefficient sums over each interval
    (entries 0 .. order used); arriving (B, cols, S): charge arriving in each interval beyond
    the currents [C]; column_c (B, cols, S): the line's capacitance [F]; u0 (B, cols): the
    drop at the start [V]; dt (S,): the intervals [s]; lo, hi: the excursion the
    polynomials hold for."""
    batch, cols, _, steps = totals.shape
    u = np.empty((batch, cols, steps))
    x = np.empty(steps + 1)
    power_a = np.empty(steps)
    sums = np.empty(steps)
    current = np.empty(steps)
    for b in range(batch):
        for c in range(cols):
            start = u0[b, c]
            acc = 0.0
            for s in range(steps):
                acc += (totals[b, c, 0, s] * dt[s] + arriving[b, c, s]) / column_c[b, c, s]
                u[b, c, s] = acc + start
            for _ in range(iterations):
                x[0] = min(max(-start, lo), hi)
                for s in range(steps):
                    x[s + 1] = min(max(-u[b, c, s], lo), hi)
                for s in range(steps):
                    power_a[s] = 1.0
                    sums[s] = 1.0
                    current[s] = totals[b, c, 0, s]
                for k in range(1, order + 1):
                    inverse = 1.0 / (k + 1)
                    for s in range(steps):
                        power_a[s] = power_a[s] * x[s]
                        sums[s] = x[s + 1] * sums[s] + power_a[s]
                        current[s] += totals[b, c, k, s] * (sums[s] * inverse)
                acc = 0.0
                for s in range(steps):
                    acc += (current[s] * dt[s] + arriving[b, c, s]) / column_c[b, c, s]
                    u[b, c, s] = acc + start
    return u


@_helper
def _trapezoids_block(path: Array, step: float, integral: Array, n: int) -> None:
    """``integral`` (S + 1, columns): the trapezoid integral of ``n`` columns' ``path``
    (S + 1, columns) on a mesh ``step`` apart from its start to each point."""
    for j in range(n):
        integral[0, j] = 0.0
    for k in range(1, path.shape[0]):
        for j in range(n):
            integral[k, j] = integral[k - 1, j] + step * 0.5 * (path[k - 1, j] + path[k, j])


@_helper
def _width_nodes(
    path: Array,
    integral: Array,
    width: float,
    step: float,
    last_time: float,
    n: int,
    column_nodes: tuple,
    lows: NDArray[np.intp],
    fractions: Array,
) -> None:
    """Where ``n`` columns (``path`` (S + 1, columns) their drop below ``v_mid`` on a mesh
    ``step`` apart, the last point at ``last_time``; ``integral`` its :func:`_trapezoids_block`)
    stand on the ``count`` column nodes (``column_nodes``: ``v_mid``, then the nodes' ``first``,
    ``spacing``, ``last`` and ``count``) at the end of a pulse of ``width`` > 0 [s] and on
    average over it: the lower node and where between it
    and the next, ``lows[0]``, ``fractions[0]`` at the end, ``lows[1]``, ``fractions[1]``
    over it (:func:`attention.column.pulse_end_drops` by its weights' arithmetic, then
    :func:`_node_interval`, column by column)."""
    v_mid, first, spacing, last, count = column_nodes
    points = path.shape[0]
    position = min(max(width / step, 0.0), points - 1.0)
    index = min(int(position), points - 2)
    fraction = position - index
    held = max(width - last_time, 0.0)
    for j in range(n):
        below, above = path[index, j], path[index + 1, j]
        end = (1.0 - fraction) * below + fraction * above
        part = step * fraction * (below * (1.0 - 0.5 * fraction) + above * (0.5 * fraction))
        mean = (integral[index, j] + part + held * path[points - 1, j]) / width
        lows[0, j], fractions[0, j] = _node_interval(v_mid - end, first, spacing, last, count)
        lows[1, j], fractions[1, j] = _node_interval(v_mid - mean, first, spacing, last, count)


@_helper
def _cell_price(
    entries: Array, low_end: int, at_end: float, low_mean: int, at_mean: float, width: float
) -> float:
    """A cell's pulse energy [J] from its ``entries`` (2 x nodes: the edges' energy at each
    column node, then the conducting part's [J / s]), its column between nodes ``low_end``
    and the next (``at_end`` of the way) at the pulse's end and between ``low_mean`` (into
    the second half) and the next (``at_mean``) on average over it, for a pulse of
    ``width`` [s] (:func:`attention.energy.table_pulse_energy`'s arithmetic)."""
    below = entries[low_end]
    edges = below + at_end * (entries[low_end + 1] - below)
    below = entries[low_mean]
    slope = below + at_mean * (entries[low_mean + 1] - below)
    return edges + slope * width


@_helper
def _through_intervals(
    per_width: Array,
    level_full: NDArray[np.intp],
    level_fraction: Array,
    n: int,
    weight: Array,
    run: Array,
) -> None:
    """What ``n`` columns' rows of each width (``per_width`` (widths, columns): their count,
    or their cells' sum, per width in increasing order) put through each of the S mesh
    intervals, ``weight`` (S, columns): those whose run passes the interval whole, and those
    ending in it by their fraction (:func:`_row_conduction`, ``level_full``,
    ``level_fraction`` per width; -1: no pulse); and in ``run`` (columns,) all of them. The
    widths from the longest down: a longer width's run ends no earlier."""
    steps = weight.shape[0]
    for j in range(n):
        run[j] = 0.0
    u = per_width.shape[0] - 1
    while u >= 0 and level_full[u] == steps:
        for j in range(n):
            run[j] += per_width[u, j]
        u -= 1
    for s in range(steps - 1, -1, -1):
        for j in range(n):
            weight[s, j] = run[j]
        while u >= 0 and level_full[u] == s:
            f = level_fraction[u]
            for j in range(n):
                rows = per_width[u, j]
                weight[s, j] += f * rows
                run[j] += rows
            u -= 1


@_helper
def _row_conduction(width: float, times: Array, steps: int) -> tuple:
    """How a row pulsing ``width`` [s] conducts on the mesh ``times`` (``steps`` intervals):
    the whole intervals (those :func:`attention.column.conduction` gives 1) and the fraction
    of the next (0 after the last), by the same arithmetic."""
    full = 0
    for s in range(steps):
        if (width - times[s]) / (times[s + 1] - times[s]) >= 1.0:
            full += 1
    fraction = 0.0
    if full < steps:
        fraction = min(max((width - times[full]) / (times[full + 1] - times[full]), 0.0), 1.0)
    return full, fraction


@_helper
def _short_tent(width: float, nodes: Array, node_step: float) -> tuple:
    """A pulse's weights on the short-pulse ``nodes`` (:func:`attention.head._short_weights`,
    by the same arithmetic as :func:`attention.energy.hat_weights`; ``node_step`` > 0: the
    nodes are equally spaced): the lower node and the two weights, (-1, 0, 0) for a pulse
    of the last node or longer (no short-pulse part)."""
    count = nodes.size
    if count == 0 or not width < nodes[count - 1]:
        return -1, 0.0, 0.0
    if count == 1:  # flat below the only node
        return 0, 1.0, 0.0
    if node_step > 0:
        position = min(max((width - nodes[0]) / node_step, 0.0), count - 1.0)
        low = min(int(position), count - 2)
        return low, max(1.0 - abs(position - low), 0.0), max(1.0 - abs(position - (low + 1)), 0.0)
    at = min(max(width, nodes[0]), nodes[count - 1])
    low = 0
    while low < count - 2 and nodes[low + 1] <= at:  # searchsorted(side="right") - 1
        low += 1
    fraction = (at - nodes[low]) / (nodes[low + 1] - nodes[low])
    return low, 1.0 - fraction, fraction


@functools.lru_cache(maxsize=16)
def picard_inverses(order: int) -> tuple:
    """What the path kernels' Picard passes take for a current polynomial of ``order``
    (:func:`attention.column.polynomial_order`): 1 / (k + 1) for k = 1 .. order, a tuple (the
    kernels compile for its length and unroll the terms)."""
    return tuple(1.0 / (k + 1) for k in range(1, order + 1))


BLOCK = 64
"""Columns integrated together (one V tile; K columns in runs of as many): the block's
sums stay in cache and every loop over its columns is one vector loop."""


@_helper
def _integrate_block(
    totals: Array,
    pulsed: Array,
    edge: Array,
    n: int,
    dt: Array,
    idle: float,
    lo: float,
    hi: float,
    inverses: tuple,
    conducting_load: bool,
    turn_off_charge: bool,
    iterations: int,
    work: Array,
    drop: Array,
    charge_out: Array,
    drop_out: Array,
) -> None:
    """:func:`attention.column.integrate_columns` of ``n`` columns, operation for operation,
    from their sums laid out columns last: conducting ``totals`` (entries, S, block), pulsed
    (entries, block), edge (block,), ``dt`` (S,) the mesh's intervals [s]. Writes the
    columns' charges [C] to ``charge_out`` (n,) and their drops at the mesh points [V] to
    ``drop_out`` (n, S + 1); ``work`` (3, max(S, 3), block) and ``drop`` (S + 1, block) are
    scratch (the Picard passes' state, columns last). ``inverses``: the polynomial's
    1 / (k + 1), k = 1 .. order (:func:`picard_inverses`): a tuple, so its terms unroll and
    each pass over a mesh interval is one vector loop over the columns, a column's terms in
    registers."""
    entries, steps = totals.shape[0], totals.shape[1]
    arriving, column_c = work[0], work[1]
    start, acc, x_a = work[2, 0], work[2, 1], work[2, 2]
    load_entry = entries - 1 - int(turn_off_charge)
    for j in range(n):
        start[j] = edge[j]
    for s in range(steps):
        for j in range(n):
            arriving[s, j] = 0.0
            column_c[s, j] = idle
    if turn_off_charge:  # the rows' turn-off charges arrive as they stop
        off = entries - 1
        for j in range(n):
            start[j] = start[j] - pulsed[off, j]
            arriving[0, j] = pulsed[off, j] - totals[off, 0, j]
        for s in range(1, steps):
            for j in range(n):
                arriving[s, j] = totals[off, s - 1, j] - totals[off, s, j]
        for j in range(n):
            arriving[steps - 1, j] += totals[off, steps - 1, j]
    if conducting_load:
        for s in range(steps):
            for j in range(n):
                column_c[s, j] = idle + totals[load_entry, s, j]
    for j in range(n):
        start[j] = start[j] / column_c[0, j]
        acc[j] = 0.0
    for s in range(steps):
        d = dt[s]
        for j in range(n):
            acc[j] += (totals[0, s, j] * d + arriving[s, j]) / column_c[s, j]
            drop[s + 1, j] = acc[j] + start[j]
    for _ in range(iterations):
        for j in range(n):
            x_a[j] = min(max(-start[j], lo), hi)
            acc[j] = 0.0
        # an interval's mean current on the previous pass's path, then the new path through
        # it: the previous pass's drop at the interval's end is read before it is replaced
        for s in range(steps):
            d = dt[s]
            for j in range(n):
                below = x_a[j]
                above = min(max(-drop[s + 1, j], lo), hi)
                power_a = 1.0
                sums = 1.0
                current = totals[0, s, j]
                for k in range(len(inverses)):
                    power_a = power_a * below
                    sums = above * sums + power_a
                    current += totals[k + 1, s, j] * (sums * inverses[k])
                x_a[j] = above
                acc[j] += (current * d + arriving[s, j]) / column_c[s, j]
                drop[s + 1, j] = acc[j] + start[j]
    for j in range(n):
        drop[0, j] = start[j]
        charge_out[j] = idle * drop[steps, j]
        for s in range(steps + 1):
            drop_out[j, s] = drop[s, j]


def k_paths(
    main: Array,
    short_table: Array,
    age_index: NDArray[np.intp],
    codes: NDArray[np.intp],
    *rest: Any,
) -> tuple[Array, Array, Array]:
    """The K columns' charges, drops and pulse energy: :func:`_k_paths` of these arguments
    (the rest after ``codes`` as it takes them), with its scratch for the counts: a block's
    rows counted per (width, code) in one byte when a column cannot hold more rows than that
    (the counts then stay in L1), else in floats."""
    d, n_codes = codes.shape[2], main.shape[1]
    count_type = np.uint8 if d <= np.iinfo(np.uint8).max else np.float64
    by_width = np.empty((d, n_codes, BLOCK), dtype=count_type)
    code_range = tuple(range(n_codes))  # a compile-time count: the sums over codes unroll
    return _k_paths(code_range, by_width, main, short_table, age_index, codes, *rest)


@_Kernel
def _k_paths(
    code_range: tuple,
    by_width: NDArray[Any],
    main: Array,
    short_table: Array,
    age_index: NDArray[np.intp],
    codes: NDArray[np.intp],
    extras: Array,
    widths: Array,
    times: Array,
    nodes: Array,
    node_step: float,
    idle: float,
    lo: float,
    hi: float,
    inverses: tuple,
    conducting_load: bool,
    turn_off_charge: bool,
    iterations: int,
    energy_table: Array,
    valid: NDArray[np.bool_],
    v_mid: float,
    first_node: float,
    node_spacing: float,
    last_node: float,
) -> tuple[Array, Array, Array]:
    """``code_range`` (0 .. codes - 1, a tuple: numba compiles for its length, so a sum over
    the codes is one expression, kept in a register); ``by_width`` (d, codes, :data:`BLOCK`):
    scratch for the counts (any number type holding d).

    The K columns' charges (B, W) [C] and drops below mid-rail at the mesh ``times``
    (B, W, S + 1) [V]: their row sums (:func:`attention.head._coded_row_sums`, each cell the
    (age, code) entry ``main[age_index[w], codes[b, w, i]]``, current coefficients then edge
    charge, with ``extras`` on its first two coefficients (B, blocks, d, 2, :data:`BLOCK`: slot
    w's at ``[:, w // BLOCK, ..., w % BLOCK]``), empty: none; rows of
    ``widths`` (B, d) [s]; short pulses as :func:`v_paths`) integrated on the column
    (:func:`_integrate_block`), a block of columns at a time. A column's sums are its count
    of rows per (code, width) times the table, as the numpy path's histogram (the same terms
    in another order).

    And the array's pulse energy per batch element [J], (B,) (zeros if ``energy_table`` is
    empty): every cell of the written slots (``valid`` (W,)), its entries
    ``energy_table[age, code]`` (2 x nodes: the edges' energy at each column node, then the
    conducting part's [J / s], :attr:`attention.energy.EnergyModels.pulse`) at its column's
    voltage at its width's end and over it (:func:`_width_nodes` of the column's path,
    ``v_mid`` less the drop, on the column nodes equally spaced from ``first_node`` by
    ``node_spacing`` to ``last_node``; :func:`attention.energy.table_pulse_energy`), a
    column's cells a width at a time, while the block's paths are in cache."""
    batch, window, d = codes.shape
    n_codes, entries = main.shape[1], main.shape[2] - 1
    steps = times.size - 1
    n_nodes = nodes.size
    priced = energy_table.shape[0] > 0
    node_count = energy_table.shape[2] // 2
    column_nodes = (v_mid, first_node, node_spacing, last_node, node_count)
    dt = np.diff(times)
    mesh = dt[0]
    charge = np.empty((batch, window))
    drop_out = np.empty((batch, window, steps + 1))
    energy = np.zeros(batch)
    weight = np.empty((steps, BLOCK))
    code_weight = np.empty((n_codes, steps, BLOCK))
    code_run = np.empty((n_codes, BLOCK))
    table = np.empty((n_codes, entries + 1, BLOCK))
    totals = np.empty((entries, steps, BLOCK))
    pulsed = np.empty((entries, BLOCK))
    edge = np.empty(BLOCK)
    extra_by_width = np.empty((d, 2, BLOCK))
    run = np.empty(BLOCK)
    work = np.empty((3, max(steps, 3), BLOCK))
    drop = np.empty((steps + 1, BLOCK))
    integral = np.empty((steps + 1, BLOCK))
    node_low = np.empty((d, 2, BLOCK), dtype=np.intp)
    node_at = np.empty((d, 2, BLOCK))
    full = np.empty(d, dtype=np.intp)
    low = np.empty(d, dtype=np.intp)
    w_low = np.empty(d)
    w_high = np.empty(d)
    level = np.empty(d, dtype=np.intp)
    level_full = np.empty(d, dtype=np.intp)
    level_fraction = np.empty(d)
    for b in range(batch):
        levels = np.unique(widths[b])  # the rows' widths, each counted once
        for u in range(levels.size):
            level_full[u] = -1
            if levels[u] > 0:
                level_full[u], level_fraction[u] = _row_conduction(levels[u], times, steps)
        by_level = np.argsort(widths[b], kind="mergesort")  # the rows a width at a time
        level_start = np.searchsorted(widths[b][by_level], levels)
        level_start = np.append(level_start, d)
        for i in range(d):
            full[i] = -1
            low[i] = -1
            if widths[b, i] > 0:
                level[i] = np.searchsorted(levels, widths[b, i])
                full[i] = level_full[level[i]]
                low[i], w_low[i], w_high[i] = _short_tent(widths[b, i], nodes, node_step)
        for first in range(0, window, BLOCK):
            n = min(BLOCK, window - first)
            by_width[: levels.size] = 0
            block_codes = codes[b, first : first + n]
            for i in range(d):
                if full[i] < 0:
                    continue
                u = level[i]
                for j in range(n):
                    by_width[u, block_codes[j, i], j] += 1
            block_ages = age_index[first : first + n]
            for code in range(n_codes):
                for e in range(entries + 1):
                    for j in range(n):
                        table[code, e, j] = main[block_ages[j], code, e]
            for code in range(n_codes):
                _through_intervals(
                    by_width[: levels.size, code],
                    level_full,
                    level_fraction,
                    n,
                    code_weight[code],
                    code_run[code],
                )
            for e in range(entries):  # each sum over the codes in registers
                for s in range(steps):
                    for j in range(n):
                        total = 0.0
                        for code in range(len(code_range)):
                            total += table[code, e, j] * code_weight[code, s, j]
                        totals[e, s, j] = total
                for j in range(n):
                    total = 0.0
                    for code in range(len(code_range)):
                        total += table[code, e, j] * code_run[code, j]
                    pulsed[e, j] = total
            for j in range(n):
                total = 0.0
                for code in range(len(code_range)):
                    total += table[code, entries, j] * code_run[code, j]
                edge[j] = total
            if n_nodes:  # the short pulses' part of their cells' edge charge
                for i in range(d):
                    if full[i] < 0 or low[i] < 0:
                        continue
                    for j in range(n):
                        age, code = age_index[first + j], codes[b, first + j, i]
                        added = 0.0
                        added += short_table[age, code, low[i]] * w_low[i]
                        if low[i] + 1 < n_nodes:
                            added += short_table[age, code, low[i] + 1] * w_high[i]
                        edge[j] += added
            if extras.shape[0]:  # each cell's own deviation, as it conducts: summed per
                # width, then through the intervals as the counts
                extra_by_width[: levels.size] = 0.0
                for i in range(d):
                    if full[i] < 0:
                        continue
                    u = level[i]
                    for e in range(2):
                        for j in range(n):
                            extra_by_width[u, e, j] += extras[b, first // BLOCK, i, e, j]
                for e in range(2):
                    _through_intervals(
                        extra_by_width[: levels.size, e], level_full, level_fraction, n, weight, run
                    )
                    for s in range(steps):
                        for j in range(n):
                            totals[e, s, j] += weight[s, j]
                    for j in range(n):
                        pulsed[e, j] += run[j]
            _integrate_block(
                totals,
                pulsed,
                edge,
                n,
                dt,
                idle,
                lo,
                hi,
                inverses,
                conducting_load,
                turn_off_charge,
                iterations,
                work,
                drop,
                charge[b, first : first + n],
                drop_out[b, first : first + n],
            )
            if not priced:
                continue
            _trapezoids_block(drop, mesh, integral, n)
            for u in range(levels.size):
                if levels[u] > 0:
                    _width_nodes(
                        drop,
                        integral,
                        levels[u],
                        mesh,
                        times[steps],
                        n,
                        column_nodes,
                        node_low[u],
                        node_at[u],
                    )
            for j in range(n):  # column by column, its cells a width at a time
                if not valid[first + j]:
                    continue  # an empty slot's cells draw nothing
                cells = codes[b, first + j]
                prices = energy_table[age_index[first + j]]  # (codes, 2 x nodes)
                total = 0.0
                for u in range(levels.size):
                    width = levels[u]
                    if not width > 0:
                        continue
                    low_end, at_end = node_low[u, 0, j], node_at[u, 0, j]
                    low_mean, at_mean = node_count + node_low[u, 1, j], node_at[u, 1, j]
                    for r in range(level_start[u], level_start[u + 1]):
                        total += _cell_price(
                            prices[cells[by_level[r]]], low_end, at_end, low_mean, at_mean, width
                        )
                energy[b] += total
    return charge, drop_out, energy


@_Kernel
def v_paths(
    main: Array,
    short_table: Array,
    age_index: NDArray[np.intp],
    codes: NDArray[np.intp],
    extras: Array,
    slots: NDArray[np.intp],
    tiles: int,
    widths: Array,
    times: Array,
    nodes: Array,
    node_step: float,
    idle: float,
    lo: float,
    hi: float,
    inverses: tuple,
    conducting_load: bool,
    turn_off_charge: bool,
    iterations: int,
    energy_table: Array,
    v_mid: float,
    first_node: float,
    node_spacing: float,
    last_node: float,
) -> tuple[Array, Array, Array]:
    """The V tiles' column charges (B x tiles, d) [C] and drops at the mesh ``times``
    (B x tiles, d, S + 1) [V]: each tile's row sums for DAC-coded cells, then its columns
    integrated (:func:`_integrate_block`). Tile t's rows are the slots ``slots[t]`` Phi
    pulses for ``widths[t]`` [s] (0: padding, no pulse); the cell of row i in column c is the
    (age, code) entry ``main[age_index[slots[t, i]], codes[b, slots[t, i], c]]`` (its current
    coefficients, then its edge charge [C] last) with ``extras`` (B, W, d, 2) added to its
    first two coefficients (empty: none) and, for a pulse under the last of the short-pulse
    ``nodes`` (empty: none; ``node_step`` > 0 if equally spaced), ``short_table``'s entries
    at its width.

    Each row's conduction is worked out here (:func:`_row_conduction`); a row conducting
    whole intervals is counted once where its run ends and the runs summed from the last
    interval back, so a cell costs its entries, not entries x intervals. Row by row over a
    tile's columns (a row's cells come from its age's few codes), entry by entry.

    And the array's pulse energy per batch element [J], (B,) (zeros if ``energy_table`` is
    empty): every cell of the rows Phi pulses, its entries ``energy_table[age, code]`` at its
    column's voltage at its pulse's end and over it, as :func:`k_paths` prices them, while
    the tile's paths are in cache."""
    jobs, kept = slots.shape
    d = codes.shape[2]
    n_codes, entries = main.shape[1], main.shape[2] - 1
    steps = times.size - 1
    dt = np.diff(times)
    charge = np.empty((jobs, d))
    drop_out = np.empty((jobs, d, steps + 1))
    ends = np.empty((steps + 1, entries, d))
    parts = np.empty((steps + 1, entries, d))
    totals = np.empty((entries, steps, d))
    pulsed = np.empty((entries, d))
    edge = np.empty(d)
    run = np.empty(d)
    work = np.empty((3, max(steps, 3), d))
    drop = np.empty((steps + 1, d))
    row_edge = np.empty(n_codes)
    cell = np.empty(d)
    priced = energy_table.shape[0] > 0
    node_count = energy_table.shape[2] // 2
    column_nodes = (v_mid, first_node, node_spacing, last_node, node_count)
    mesh = dt[0]
    energy = np.zeros(jobs // tiles)
    integral = np.empty((steps + 1, d))
    node_low = np.empty((2, d), dtype=np.intp)
    node_at = np.empty((2, d))
    for t in range(jobs):
        b = t // tiles
        ends[:] = 0.0
        parts[:] = 0.0
        edge[:] = 0.0
        for i in range(kept):
            width = widths[t, i]
            if not width > 0:
                continue
            full, fraction = _row_conduction(width, times, steps)
            slot = slots[t, i]
            age = age_index[slot]
            low, w_low, w_high = _short_tent(width, nodes, node_step)
            for code in range(n_codes):  # the row's edge charge per code
                row_edge[code] = main[age, code, entries]
                if low >= 0:
                    added = 0.0
                    added += short_table[age, code, low] * w_low
                    if low + 1 < nodes.size:
                        added += short_table[age, code, low + 1] * w_high
                    row_edge[code] += added
            for c in range(d):
                edge[c] += row_edge[codes[b, slot, c]]
            for e in range(entries):
                for c in range(d):
                    cell[c] = main[age, codes[b, slot, c], e]
                if extras.shape[0] and e < 2:
                    for c in range(d):
                        cell[c] += extras[b, slot, c, e]
                for c in range(d):
                    ends[full, e, c] += cell[c]
                    parts[full, e, c] += fraction * cell[c]
        for e in range(entries):  # through the intervals; all of them: the pulsed sums
            for c in range(d):
                run[c] = ends[steps, e, c]
            for s in range(steps - 1, -1, -1):
                for c in range(d):
                    totals[e, s, c] = run[c] + parts[s, e, c]
                    run[c] += ends[s, e, c]
            for c in range(d):
                pulsed[e, c] = run[c]
        _integrate_block(
            totals,
            pulsed,
            edge,
            d,
            dt,
            idle,
            lo,
            hi,
            inverses,
            conducting_load,
            turn_off_charge,
            iterations,
            work,
            drop,
            charge[t],
            drop_out[t],
        )
        if not priced:
            continue
        _trapezoids_block(drop, mesh, integral, d)
        spent = 0.0
        for i in range(kept):
            width = widths[t, i]
            if not width > 0:
                continue
            slot = slots[t, i]
            prices = energy_table[age_index[slot]]
            _width_nodes(
                drop, integral, width, mesh, times[steps], d, column_nodes, node_low, node_at
            )
            for c in range(d):
                low_end, low_mean = node_low[0, c], node_count + node_low[1, c]
                spent += _cell_price(
                    prices[codes[b, slot, c]],
                    low_end,
                    node_at[0, c],
                    low_mean,
                    node_at[1, c],
                    width,
                )
        energy[b] += spent
    return charge, drop_out, energy


@_Kernel
def cut_values(values: Array, fractions: Array) -> Array:
    """:func:`surrogate.recovery.cut_points` of ``values`` (m, n), each interval cut at
    ``fractions`` (its ``substeps`` cuts, the last 1), by the same arithmetic; transposed,
    ((n - 1) x substeps + 1, m): the rows last, as :func:`recovery_states` takes them."""
    m, n = values.shape
    substeps = fractions.size
    by_point = np.ascontiguousarray(values.T)
    cuts = np.empty(((n - 1) * substeps + 1, m))
    for r in range(m):
        cuts[0, r] = by_point[0, r]
    for i in range(n - 1):
        for k in range(substeps):
            for r in range(m):
                low, high = by_point[i, r], by_point[i + 1, r]
                cuts[1 + i * substeps + k, r] = low + fractions[k] * (high - low)
    return cuts


@_Kernel
def recovery_states(
    times: Array,
    drive: Array,
    window_opens: float,
    fractions: Array,
    tau: float,
    rested: float,
) -> Array:
    """The ReLU comparator's state when the window opens, (m,), for ``m`` columns whose
    drive at the cuts of the mesh ``times`` (n,) [s] is ``drive`` ((n - 1) x substeps + 1,
    m) (:meth:`surrogate.recovery.ComparatorRecovery.drive` of :func:`cut_values`, the
    columns last): :meth:`ComparatorRecovery.state`'s closed-form steps (its ``tau``, rested
    state), each interval cut at ``fractions`` (its ``substeps`` cuts, the last 1); the cuts'
    decays and weights once for all columns, a column's steps summed in order (not pairwise)
    and with the C library's exp (equal to 1e-15 of the state's scale), the columns side by
    side."""
    cuts, m = drive.shape
    n = times.size
    substeps = fractions.size
    cut_t = np.empty(cuts)
    cut_t[0] = times[0]
    for i in range(n - 1):
        for k in range(substeps):
            cut_t[1 + i * substeps + k] = times[i] + fractions[k] * (times[i + 1] - times[i])
    end = max(window_opens, times[n - 1])
    dt = np.empty(cuts - 1)
    decay = np.empty(cuts - 1)
    weight = np.empty(cuts - 1)
    for j in range(cuts - 1):
        dt[j] = max(cut_t[j + 1] - cut_t[j], 1e-18)
        decay[j] = math.exp(-dt[j] / tau)
        weight[j] = math.exp(-(end - cut_t[j + 1]) / tau)
    rested_part = rested * math.exp(-(end - cut_t[0]) / tau)
    held = -math.expm1(-(end - cut_t[cuts - 1]) / tau)
    states = np.empty(m)
    for r in range(m):
        states[r] = rested_part
    for j in range(cuts - 1):
        for r in range(m):
            slope_tau = (drive[j + 1, r] - drive[j, r]) / dt[j] * tau
            offset = drive[j + 1, r] - slope_tau + (slope_tau - drive[j, r]) * decay[j]
            states[r] += offset * weight[j]
    for r in range(m):
        states[r] = states[r] + drive[cuts - 1, r] * held
    return states


@_Kernel
def pulsed_rows(per_tile: Array, tiles: int) -> tuple[Array, NDArray[np.intp]]:
    """Per tile (rows of ``per_tile`` (B x tiles, tile), each row's Phi width [s]), the rows
    with a pulse first, in order, then those without, as many as the most any tile has (at
    least one): their widths and slots, (B x tiles, kept) each
    (:func:`attention.head._pulsed_rows`' stable sort, the same rows)."""
    jobs, tile = per_tile.shape
    kept = 1
    for t in range(jobs):
        count = 0
        for r in range(tile):
            if per_tile[t, r] > 0:
                count += 1
        kept = max(kept, count)
    widths = np.empty((jobs, kept))
    slots = np.empty((jobs, kept), dtype=np.intp)
    for t in range(jobs):
        i = 0
        for pulsed in (True, False):
            for r in range(tile):
                if i < kept and (per_tile[t, r] > 0) == pulsed:
                    widths[t, i] = per_tile[t, r]
                    slots[t, i] = (t % tiles) * tile + r
                    i += 1
    return widths, slots


@_Kernel
def code_width_counts(
    codes: NDArray[np.intp], level_of: NDArray[np.intp], n_codes: int, n_levels: int
) -> Array:
    """Per column, how many of its rows hold each code at each width level, (B, W, n_codes,
    n_levels): codes (B, W, d) of the cells, level_of (B, d) each row's width level
    (:func:`attention.head._code_width_counts`, whose ``bincount`` it counts the same)."""
    batch, window, d = codes.shape
    counts = np.zeros((batch, window, n_codes, n_levels))
    for b in range(batch):
        for w in range(window):
            for i in range(d):
                counts[b, w, codes[b, w, i], level_of[b, i]] += 1.0
    return counts


@_helper
def _last_at_or_below(
    nodes: Array, x: float, origin: float, scale: float, bucket_low: NDArray[np.intp]
) -> int:
    """``np.searchsorted(nodes, x, side="right") - 1`` for increasing ``nodes``: the last node
    at or below ``x`` (-1: none), stepped to from the last node at or below the start of
    ``x``'s bucket (:func:`attention.energy.node_buckets`: ``origin``, ``scale`` buckets per
    unit, ``bucket_low``), a node or two away (a bisection's steps go either way at random
    and are mispredicted)."""
    count, buckets = nodes.size, bucket_low.size
    position = (x - origin) * scale if scale > 0 else 0.0
    if not position > 0.0:  # before the first bucket, or NaN
        position = 0.0
    low = bucket_low[int(min(position, buckets - 1.0))]
    while low + 1 < count and nodes[low + 1] <= x:
        low += 1
    while low >= 0 and nodes[low] > x:
        low -= 1
    if math.isnan(x):  # NaN sorts last (one return: an early one made each call ~10x dearer)
        low = count - 1
    return low


@_helper
def _interp(x: float, nodes: Array, values: Array, slopes: Array, low: int) -> float:
    """``np.interp(x, nodes, values)`` by its arithmetic, given the interval ``low`` (the
    last node at or below ``x``, -1 below the first) and the ``slopes`` between the nodes as
    ``np.interp`` works them out."""
    last = nodes.size - 1
    if low < 0:
        return values[0]
    if low >= last:
        return values[last]
    if nodes[low] == x:
        return values[low]
    return slopes[low] * (x - nodes[low]) + values[low]


@_Kernel
def table_lookup(
    points: Array,
    nodes: Array,
    values: Array,
    slopes: Array,
    origin: float,
    scale: float,
    bucket_low: NDArray[np.intp],
) -> Array:
    """``np.interp(points, nodes, values)`` for flat ``points`` (n,), by its arithmetic
    (:func:`_interp`, the ``slopes`` as it works them out) on strictly increasing ``nodes``
    with finite values, each point's node found from its bucket
    (:func:`_last_at_or_below`); NaN gives NaN. A decode step looks its converters' widths
    up this way: np.interp's bisection costs ~3x as much right after the path kernels."""
    out = np.empty(points.size)
    for i in range(points.size):
        x = points[i]
        low = _last_at_or_below(nodes, x, origin, scale, bucket_low)
        out[i] = _interp(x, nodes, values, slopes, low) if x == x else x
    return out


@_Kernel
def table_pair_sums(
    charges: Array,
    nodes: Array,
    cycle: Array,
    cycle_slopes: Array,
    static: Array,
    static_slopes: Array,
    origin: float,
    scale: float,
    bucket_low: NDArray[np.intp],
    on_time: float,
) -> tuple[Array, Array]:
    """Per row of ``charges`` (B, n) [C], the sum of each converter's cycle plus its static
    bias for ``on_time`` [s], and of the bias alone [J], (B,) each: ``cycle`` [J] and
    ``static`` [W] given on the same increasing ``nodes`` [C] with their slopes between,
    linear between, flat beyond (:func:`attention.energy.conversion_energy`, each charge
    looked up once for both, from its bucket: :func:`_last_at_or_below`)."""
    batch, n = charges.shape
    per = np.zeros(batch)
    held = np.zeros(batch)
    for b in range(batch):
        total, bias_total = 0.0, 0.0
        for i in range(n):
            q = charges[b, i]
            low = _last_at_or_below(nodes, q, origin, scale, bucket_low)
            bias = _interp(q, nodes, static, static_slopes, low) * on_time
            total += _interp(q, nodes, cycle, cycle_slopes, low) + bias
            bias_total += bias
        per[b], held[b] = total, bias_total
    return per, held
