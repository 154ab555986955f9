"""Compiled loops for the decode step's inner work (numba, the ``fast`` extra): each one the
numpy code it stands for, with its temporaries fused away.

A decode step with a full window integrates 1024 K and 1024 V columns over their MAC and
prices every pulse at its column's voltage; in numpy that is some fifty array passes of
0.05 .. 0.3 ms each. :func:`picard_paths` does the Picard passes of
:func:`attention.column.integrate_columns` operation for operation (bit-identical);
:func:`v_column_sums` and :func:`v_pulse_energy` add the same terms as the numpy path in
another order (a row's whole intervals counted once; one running sum),
equal to a sum's rounding (1e-14 relative). ``tests/test_fused.py`` holds each against its
numpy original.

Without numba, or with ``GAINCELL_KERNELS=numpy`` in the environment, :data:`ENABLED` is False
and every caller keeps its numpy path (the reference).
"""

from __future__ import annotations

import importlib.util
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

            names = globals()
            for name in _HELPERS:
                if not isinstance(names[name], numba.core.dispatcher.Dispatcher):
                    names[name] = numba.njit(cache=True, nogil=True)(names[name])
            self.compiled = numba.njit(cache=True, nogil=True)(self.function)
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


@_Kernel
def v_column_sums(
    table: Array,
    edge_table: Array,
    short_table: Array,
    age_index: NDArray[np.intp],
    codes: NDArray[np.intp],
    extras: Array,
    slots: NDArray[np.intp],
    tiles: int,
    full: NDArray[np.intp],
    partial: Array,
    short_weights: Array,
    steps: int,
) -> tuple[Array, Array, Array]:
    """The V tiles' row sums (conducting (B x tiles, d, entries, S), pulsed, edge) for
    DAC-coded cells: tile t's rows are the slots ``slots[t]`` Phi pulses, the cell of row i in
    column c ``table[age_index[slots[t, i]], codes[b, slots[t, i], c]]`` with ``extras`` of the
    same (empty: none); rows' conduction per (t, i): whole intervals ``0 .. full - 1``
    (-1: no pulse),
    ``partial`` of interval ``full``, ``short_weights`` (t, i, nodes) on the short-pulse
    entries (:func:`attention.head._row_conduction`).

    A row conducting whole intervals is counted once where its run ends and the runs summed
    from the last interval back, so a cell costs its entries, not entries x intervals. Row by
    row over a tile's columns: a row's cells come from its age's few codes."""
    jobs, kept = slots.shape
    d = codes.shape[2]
    entries = table.shape[2]
    nodes = short_weights.shape[2]
    conducting = np.empty((jobs, d, entries, steps))
    pulsed = np.zeros((jobs, d, entries))
    edge = np.zeros((jobs, d))
    ends = np.empty((d, steps + 1, entries))
    parts = np.empty((d, steps + 1, entries))
    row_edge = np.empty(table.shape[1])
    for t in range(jobs):
        b = t // tiles
        ends[:] = 0.0
        parts[:] = 0.0
        for i in range(kept):
            end = full[t, i]
            if end < 0:
                continue
            slot = slots[t, i]
            age = age_index[slot]
            fraction = partial[t, i]
            for code in range(table.shape[1]):  # the row's edge charge per code
                row_edge[code] = edge_table[age, code]
                if nodes:
                    added = 0.0
                    for m in range(nodes):
                        added += short_table[age, code, m] * short_weights[t, i, m]
                    row_edge[code] += added
            for c in range(d):
                code = codes[b, slot, c]
                edge[t, c] += row_edge[code]
                for e in range(entries):
                    cell = table[age, code, e]
                    if extras.shape[0] and e < 2:
                        cell += extras[b, slot, c, e]
                    pulsed[t, c, e] += cell
                    ends[c, end, e] += cell
                    parts[c, end, e] += fraction * cell
        for c in range(d):
            for e in range(entries):
                run = ends[c, steps, e]
                for s in range(steps - 1, -1, -1):
                    conducting[t, c, e, s] = run + parts[c, s, e]
                    run += ends[c, s, e]
    return conducting, pulsed, edge


@_Kernel
def v_pulse_energy(
    table: Array,
    age_index: NDArray[np.intp],
    codes: NDArray[np.intp],
    slots: NDArray[np.intp],
    tiles: int,
    widths: Array,
    end_volts: Array,
    mean_volts: Array,
    first: float,
    step: float,
    last: float,
) -> Array:
    """The V array's pulse energy per batch element [J], (B,): every cell of the rows Phi
    pulses (:func:`v_column_sums`' rows: tile t's row i is slot ``slots[t, i]`` with width
    ``widths[t, i]``), its entries ``table[age, code]`` (2 x count: the edges' energy at each
    column node, then the conducting part's [J / s], :attr:`attention.energy.EnergyModels.pulse`)
    at its column's voltage at the pulse's end ``end_volts[t, i, c]`` and over it
    ``mean_volts[t, i, c]``; the column nodes equally spaced from ``first`` by ``step`` to
    ``last`` (:func:`attention.energy.table_pulse_energy`)."""
    jobs, kept = slots.shape
    d = codes.shape[2]
    count = table.shape[2] // 2
    energy = np.zeros(jobs // tiles)
    for t in range(jobs):
        b = t // tiles
        for i in range(kept):
            width = widths[t, i]
            if not width > 0:
                continue
            slot = slots[t, i]
            age = age_index[slot]
            for c in range(d):
                code = codes[b, slot, c]
                low, fraction = _node_interval(end_volts[t, i, c], first, step, last, count)
                below = table[age, code, low]
                edges = below + fraction * (table[age, code, low + 1] - below)
                low, fraction = _node_interval(mean_volts[t, i, c], first, step, last, count)
                below = table[age, code, count + low]
                slope = below + fraction * (table[age, code, count + low + 1] - below)
                energy[b] += edges + slope * width
    return energy
