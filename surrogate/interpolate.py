"""Local N-D interpolation on rectilinear grids: linear, cubic and pchip.

Every method is evaluated from a stencil of grid nodes around each query point, reduced one
axis at a time (last axis first), so evaluation is vectorised numpy with no per-point Python
and no per-call spline construction:

- ``linear``: multilinear, 2 nodes per axis.
- ``cubic``: C1 piecewise-cubic Hermite whose node slopes are those of the parabola through
  the node and its two neighbours (Catmull-Rom on a uniform grid; one-sided parabola at the
  ends). Exact for quadratics; a local scheme, so a kink spreads over one cell only.
- ``pchip``: piecewise-cubic Hermite with Fritsch-Butland monotone slopes, the same slopes as
  ``scipy.interpolate.PchipInterpolator`` (equal to it in 1-D; applied axis by axis in N-D, as
  ``RegularGridInterpolator(method="pchip")`` does). No overshoot at kinks such as the
  charge-to-pulse converters' zero and saturation.

Outside the grid each method continues its edge cell's polynomial (used only by the
``extrapolate`` domain policy).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

METHODS = ("linear", "cubic", "pchip")
"""Interpolation methods this module knows."""

Array = NDArray[np.float64]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; known: {', '.join(METHODS)}")


def uniform_step(nodes: Array) -> float | None:
    """The node spacing if ``nodes`` are equally spaced (to 1e-9 of a step), else None."""
    step = (nodes[-1] - nodes[0]) / (nodes.size - 1)
    if step > 0 and np.all(np.abs(np.diff(nodes) - step) <= 1e-9 * step):
        return float(step)
    return None


def _locate(nodes: Array, u: Array) -> tuple[NDArray[np.intp], Array]:
    """Cell index ``i`` (``nodes[i] <= u < nodes[i+1]``, clipped to the edge cells) and the
    position ``t`` within it (outside [0, 1] beyond the grid). Equally spaced nodes are
    located arithmetically (no binary search: most of the time of a linear evaluation)."""
    step = uniform_step(nodes)
    if step is None:
        cell = np.clip(np.searchsorted(nodes, u, side="right") - 1, 0, nodes.size - 2)
    else:
        position = (u - nodes[0]) * (1.0 / step)
        np.clip(position, 0.0, nodes.size - 2, out=position)  # NaN stays NaN
        with np.errstate(invalid="ignore"):  # NaN -> some integer; its t is NaN anyway
            cell = position.astype(np.intp)
        np.clip(cell, 0, nodes.size - 2, out=cell)
    left = nodes[cell]
    return cell, (u - left) / (nodes[cell + 1] - left)


def _linear(nodes: list[Array], grid: Array, points: list[Array]) -> Array:
    """Multilinear interpolation: one flat base index per point, then the 2^d cell corners
    gathered with ``take`` and blended in place, last axis first."""
    grid = np.ascontiguousarray(grid)
    flat = grid.ravel()
    strides = [s // grid.itemsize for s in grid.strides]
    base = np.zeros(points[0].size, dtype=np.intp)
    axes: list[tuple[int, Array]] = []
    for axis_nodes, u, stride in zip(nodes, points, strides, strict=True):
        if axis_nodes.size == 1:  # a single node: the value there, whatever the coordinate
            continue
        cell, t = _locate(axis_nodes, u)
        base += cell * stride
        axes.append((stride, t))

    def blend(k: int, offset: int) -> Array:
        if k == len(axes):
            return flat.take(base + offset if offset else base)
        stride, t = axes[k]
        low, high = blend(k + 1, offset), blend(k + 1, offset + stride)
        high -= low
        high *= t
        low += high
        return low

    return blend(0, 0)


def _edge_slope(h0: Array, h1: Array, d0: Array, d1: Array, monotone: bool) -> Array:
    """Slope at an end node from its two cells (``h0``, ``d0`` the one touching it)."""
    slope = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if not monotone:
        return slope
    # scipy's pchip end condition: keep the sign of the end secant, limit overshoot.
    slope = np.where(np.sign(slope) != np.sign(d0), 0.0, slope)
    limit = (np.sign(d0) != np.sign(d1)) & (np.abs(slope) > np.abs(3.0 * d0))
    return np.where(limit, 3.0 * d0, slope)


def _inner_slope(h0: Array, h1: Array, d0: Array, d1: Array, monotone: bool) -> Array:
    """Slope at an interior node between a cell (``h0``, ``d0``) and the next (``h1``, ``d1``)."""
    if not monotone:
        return (h0 * d1 + h1 * d0) / (h0 + h1)
    w1, w2 = 2.0 * h1 + h0, h1 + 2.0 * h0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / d0 + w2 / d1)
    return np.where((d0 * d1) > 0, harmonic, 0.0)


def _hermite_reduce(
    values: Array,
    x: Array,
    t: Array,
    at_start: NDArray[np.bool_],
    at_end: NDArray[np.bool_],
    n_nodes: int,
    monotone: bool,
) -> Array:
    """Reduce the last axis (a 4-node stencil ``i-1 .. i+2``) of ``values`` to the cubic
    Hermite value in cell ``i``. ``x`` (P, 4) are the stencil's node positions (clipped
    duplicates at the grid's ends, flagged by ``at_start``/``at_end``)."""
    extra = values.ndim - 2  # stencil axes of other dimensions still to be reduced
    shape = (-1,) + (1,) * extra

    def col(a: Array, k: int) -> Array:
        return a[:, k].reshape(shape)

    v0, v1, v2, v3 = (values[..., k] for k in range(4))
    h_a, h_b, h_c = (col(np.diff(x, axis=1), k) for k in range(3))
    safe_a, safe_c = np.where(h_a > 0, h_a, 1.0), np.where(h_c > 0, h_c, 1.0)
    d_a, d_b, d_c = (v1 - v0) / safe_a, (v2 - v1) / h_b, (v3 - v2) / safe_c
    start, end = at_start.reshape(shape), at_end.reshape(shape)
    if n_nodes == 2:
        m1 = m2 = d_b
    else:
        m1 = np.where(
            start,
            _edge_slope(h_b, h_c, d_b, d_c, monotone),
            _inner_slope(h_a, h_b, d_a, d_b, monotone),
        )
        m2 = np.where(
            end,
            _edge_slope(h_b, h_a, d_b, d_a, monotone),
            _inner_slope(h_b, h_c, d_b, d_c, monotone),
        )
    s = t.reshape(shape)
    s2, s3 = s * s, s * s * s
    return (
        (2 * s3 - 3 * s2 + 1) * v1
        + (s3 - 2 * s2 + s) * h_b * m1
        + (-2 * s3 + 3 * s2) * v2
        + (s3 - s2) * h_b * m2
    )


def interpolate(
    nodes: list[Array], grid: Array, points: list[Array], method: str = "linear"
) -> Array:
    """Interpolate ``grid`` (shape ``[len(n) for n in nodes]``) at ``points`` (one flat array
    per axis, equal lengths) with ``method``; returns a flat array."""
    _check_method(method)
    if method == "linear":
        return _linear(nodes, grid, points)
    n_axes = len(nodes)
    n_points = points[0].size
    offsets = np.array([0, 1]) if method == "linear" else np.array([-1, 0, 1, 2])
    width = offsets.size
    strides = np.array(grid.strides) // grid.itemsize
    flat_grid = grid.ravel()
    flat_index = np.zeros((n_points,) + (1,) * n_axes, dtype=np.intp)
    located = []
    for axis, (axis_nodes, u) in enumerate(zip(nodes, points, strict=True)):
        n = axis_nodes.size
        if n == 1:  # a single node: the value there, whatever the coordinate
            located.append(None)
            continue
        cell, t = _locate(axis_nodes, u)
        index = np.clip(cell[:, None] + offsets[None, :], 0, n - 1)
        shape = [n_points] + [1] * n_axes
        shape[axis + 1] = width
        flat_index = flat_index + (index * strides[axis]).reshape(shape)
        located.append((cell, t, index))
    values = flat_grid[flat_index]
    # Reduce the last axis first; single-node axes only drop their dimension.
    for axis in reversed(range(n_axes)):
        item = located[axis]
        if item is None:
            values = values[..., 0]
            continue
        cell, t, index = item
        if method == "linear":
            tt = t.reshape((-1,) + (1,) * (values.ndim - 2))
            values = values[..., 0] * (1.0 - tt) + values[..., 1] * tt
        else:
            n = nodes[axis].size
            values = _hermite_reduce(
                values,
                nodes[axis][index],
                t,
                cell == 0,
                cell + 1 == n - 1,
                n,
                monotone=method == "pchip",
            )
    return values.reshape(n_points)


def reduce_axis(
    values: Array, axis: int, nodes: Array, points: Array, method: str = "linear"
) -> Array:
    """``values`` (a grid, possibly already reduced on its later axes) with axis ``axis`` (on
    ``nodes``) interpolated at ``points`` (1-D): that axis's length becomes ``points.size``.
    Each entry is computed with the arithmetic :func:`interpolate` uses for that axis (the
    same numbers, last axis first, as a reduction of the outer product's points)."""
    _check_method(method)
    along = np.moveaxis(values, axis, 0)  # (n, rest...)
    n = nodes.size
    if n == 1:  # a single node: the value there, whatever the coordinate
        return np.moveaxis(np.repeat(along[:1], points.size, axis=0), 0, axis)
    cell, t = _locate(nodes, points)
    shape = (-1,) + (1,) * (along.ndim - 1)
    if method == "linear":  # as _linear's blend: low + t (high - low)
        low, high = along[cell], along[cell + 1]
        high = high - low
        high *= t.reshape(shape)
        low += high
        return np.moveaxis(low, 0, axis)
    index = np.clip(cell[:, None] + np.array([-1, 0, 1, 2])[None, :], 0, n - 1)
    stencil = np.moveaxis(along[index], 1, -1)  # (points, rest..., 4)
    reduced = _hermite_reduce(
        stencil, nodes[index], t, cell == 0, cell + 1 == n - 1, n, monotone=method == "pchip"
    )
    return np.moveaxis(reduced, 0, axis)
