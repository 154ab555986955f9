"""The paper's behavioural model of gain-cell attention (Leroux et al., arXiv 2409.19315).

One head of attention as the analog hardware computes it, in the model's units (uA for a cell
current, the same units for the summed products):

1. q, k and v are clamped to the circuits' ranges (q in [0, 1] as a pulse width, k and v in
   [0, 0.9] V as stored voltages) and optionally quantized (DAC resolution).
2. First product ``S[t, s] = sum_d q[t, d] * f(y_k[s, d])`` with ``y = V_store - 0.45`` and the
   cell's cubic current ``f``; the stored value leaks as ``y * exp(-lambda * (t - s))``.
   Token ``t`` attends to ``s`` with ``t - window < s <= t``; other entries are 0.
3. ``Phi = clamp(S / s_sat, 0, 1)`` (the ReLU charge-to-pulse circuit), masked entries 0.
4. Second product per tile of ``tile`` token positions: ``sum_s Phi[t, s] * f(y_v[s, d])``,
   divided by ``out_scale``, clamped to [-1, 1], quantized, and the tiles summed digitally.

Because ``f`` is a polynomial in ``y``, ``f(a * y) = sum_i a**i * g_i(y)`` with
``g_i(y) = coef_i * y**i``; the age-dependent decay therefore factors out of the sum over ``d``
and both products reduce to a few matrix products, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.circuits.design import KV_RANGE, Q_RANGE, STORE_OFFSET
from gaincell.errors import InputError

PAPER_COEFFICIENTS: tuple[float, ...] = (
    0.17393044,
    0.15653739,
    0.14088365,
    0.12679529,
    5.51975209,
    4.96777688,
    4.4709992,
    -1.44776001,
    -1.30298401,
    46.05483778,
)
"""The paper's bivariate-cubic fit of the cell current [uA]; ``c_k`` of ``x**j * y**i``, i outer."""

X_MAX = 0.9
"""Input pulse amplitude [V]: the fit's ``x`` is fixed there (the input is the pulse width)."""

OUT_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class AttentionTrace:
    """The intermediate and final arrays of one behavioural attention evaluation."""

    s: NDArray[np.float64]
    """First product ``S`` [uA-equivalent], shape ``(..., T, T)``; masked entries are 0."""
    phi: NDArray[np.float64]
    """Activation ``clamp(S / s_sat, 0, 1)``, shape ``(..., T, T)``; masked entries are 0."""
    output: NDArray[np.float64]
    """Attention output, the sum of the tiles' clamped (and quantized) outputs, ``(..., T, d)``."""
    energy: dict[str, NDArray[np.float64]] | None = None
    """Energy per token by module [J], each ``(..., T)`` (the array simulation with energy
    models, :mod:`gaincell.attention.energy`); None where nothing draws energy."""


def _power_coefficients(coefficients: Sequence[float], x_max: float) -> NDArray[np.float64]:
    """Collapse the bivariate fit at ``x = x_max`` to ``a_i`` of ``f(y) = sum_i a_i * y**i``."""
    c = np.asarray(coefficients, dtype=np.float64)
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise InputError("coefficients must be a flat sequence of finite numbers")
    # The basis i + j <= order has (order + 1)(order + 2) / 2 terms.
    order = round((math.sqrt(8 * c.size + 1) - 3) / 2)
    if order < 0 or (order + 1) * (order + 2) // 2 != c.size:
        raise InputError(
            f"coefficients has {c.size} entries; a full bivariate polynomial needs a "
            "triangular number (1, 3, 6, 10, ...)"
        )
    a = np.zeros(order + 1)
    k = 0
    for i in range(order + 1):  # k runs over i outer, j inner, as in the paper's code
        for j in range(order + 1 - i):
            a[i] += c[k] * x_max**j
            k += 1
    return a


def cubic_current(
    y: ArrayLike, coefficients: Sequence[float] = PAPER_COEFFICIENTS, x_max: float = X_MAX
) -> NDArray[np.float64]:
    """The cell current ``f(y)`` [uA] for a signed stored value ``y = V_store - 0.45`` [V]."""
    a = _power_coefficients(coefficients, x_max)
    return np.polynomial.polynomial.polyval(np.asarray(y, dtype=np.float64), a)


def quantize(x: ArrayLike, lo: float, hi: float, levels: int) -> NDArray[np.float64]:
    """Clamp ``x`` to ``[lo, hi]`` and round it to the grid ``step * round(x / step)`` with
    ``step = (hi - lo) / (levels - 1)``, exactly as the paper's reference code does
    (``np.round`` rounds half to even).

    The grid is anchored at 0, not at ``lo``: for q, k and v (``lo = 0``) that is the same thing;
    for the signed output it keeps an empty tile's 0 at 0 (anchored at ``lo = -1`` it would read
    as +1/31 and every empty tile would add it), at the price that the extreme codes can sit
    half a step beyond ``[lo, hi]`` when ``(hi - lo) / step`` is odd, as in the reference.
    """
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or levels < 2:
        raise InputError(f"levels must be an integer >= 2, got {levels!r}")
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InputError(f"quantization range must be finite with hi > lo, got [{lo}, {hi}]")
    step = (hi - lo) / (levels - 1)
    clamped = np.clip(np.asarray(x, dtype=np.float64), lo, hi)
    return step * np.round(clamped / step)


def _check_levels(levels: object) -> tuple[int, int, int] | None:
    if levels is None:
        return None
    if (
        not isinstance(levels, Sequence)
        or len(levels) != 3
        or any(isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2 for n in levels)
    ):
        raise InputError(
            "levels must be None or a tuple (q_levels, kv_levels, out_levels) of integers >= 2, "
            f"got {levels!r}"
        )
    return int(levels[0]), int(levels[1]), int(levels[2])


def _as_tokens(name: str, x: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 2:
        raise InputError(f"{name} must have shape (..., T, d), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains non-finite values")
    return arr


def behavioural_attention(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    *,
    coefficients: Sequence[float] = PAPER_COEFFICIENTS,
    s_sat: float = 80.0,
    out_scale: float = 40.0,
    levels: tuple[int, int, int] | None = (16, 8, 32),
    decay_per_token: float | None = 1.6e-4,
    window: int = 1024,
    tile: int = 64,
) -> AttentionTrace:
    """Attention as the paper's gain-cell hardware computes it (behavioural model).

    Args:
        q: queries, shape ``(..., T, d)``, pulse widths in [0, 1] (clamped).
        k: keys, shape ``(..., T, d)``, stored voltages in [0, 0.9] V (clamped).
        v: values, shape ``(..., T, d)``, stored voltages in [0, 0.9] V (clamped).
            Leading dimensions of q, k and v broadcast against each other.
        coefficients: the cell's bivariate polynomial fit [uA] (the paper's by default).
        s_sat: ``S`` at which the activation saturates at 1.
        out_scale: divisor of a tile's second product before its clamp to [-1, 1].
        levels: ``(q_levels, kv_levels, out_levels)``, or None for no quantization.
        decay_per_token: leakage rate lambda per token step; 0 or None for no decay.
        window: sliding-window length M: token t sees ``t - M < s <= t``.
        tile: token positions per array tile (tiles start at absolute position 0).

    Returns:
        The trace ``S``, ``Phi`` and the output.

    Raises:
        ValueError: on mismatched shapes, non-finite inputs or invalid parameters.
    """
    q_arr, k_arr, v_arr = _as_tokens("q", q), _as_tokens("k", k), _as_tokens("v", v)
    if not (k_arr.shape[-2:] == v_arr.shape[-2:] == q_arr.shape[-2:]):
        raise InputError(
            "q, k and v must share their last two dimensions (T, d), got shapes "
            f"{q_arr.shape}, {k_arr.shape} and {v_arr.shape}"
        )
    try:
        np.broadcast_shapes(q_arr.shape[:-2], k_arr.shape[:-2], v_arr.shape[:-2])
    except ValueError:
        raise InputError(
            "the leading (batch) dimensions of q, k and v do not broadcast: shapes "
            f"{q_arr.shape}, {k_arr.shape} and {v_arr.shape}"
        ) from None
    for name, value in (("window", window), ("tile", tile)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    for name, value in (("s_sat", s_sat), ("out_scale", out_scale)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be finite and > 0, got {value!r}")
    lam = 0.0 if decay_per_token is None else float(decay_per_token)
    if not (math.isfinite(lam) and lam >= 0):
        raise InputError(f"decay_per_token must be finite and >= 0 (or None), got {lam!r}")
    n_levels = _check_levels(levels)
    a = _power_coefficients(coefficients, X_MAX)

    # Clamp (the circuits' ranges), then quantize (the DACs) as the reference code does.
    if n_levels is None:
        q_arr = np.clip(q_arr, *Q_RANGE)
        k_arr = np.clip(k_arr, *KV_RANGE)
        v_arr = np.clip(v_arr, *KV_RANGE)
    else:
        q_arr = quantize(q_arr, *Q_RANGE, n_levels[0])
        k_arr = quantize(k_arr, *KV_RANGE, n_levels[1])
        v_arr = quantize(v_arr, *KV_RANGE, n_levels[1])
    y_k = k_arr - STORE_OFFSET
    y_v = v_arr - STORE_OFFSET

    n_tok = q_arr.shape[-2]
    pos = np.arange(n_tok)
    age = pos[:, None] - pos[None, :]  # age[t, s] = t - s: tokens since s was written
    mask = (age >= 0) & (age < window)
    # decay[t, s] = exp(-lambda * age) inside the window and 0 outside, so its powers carry the
    # mask too; without decay every power equals the mask and one matrix product suffices.
    decay = np.where(mask, np.exp(-lam * np.where(mask, age, 0)), 0.0)
    orders = range(len(a)) if lam > 0 else range(1)

    def g(y: NDArray[np.float64], i: int) -> NDArray[np.float64]:
        # The y**i part of f, or all of f when the decay is off (one term suffices then).
        return a[i] * y**i if lam > 0 else np.polynomial.polynomial.polyval(y, a)

    # First product: S = sum_i decay**i * (q @ g_i(y_k)^T), exact for a polynomial f.
    s = np.zeros(())
    for i in orders:
        s = s + decay**i * (q_arr @ np.swapaxes(g(y_k, i), -1, -2))
    s = np.where(mask, s, 0.0)
    phi = np.where(mask, np.clip(s / s_sat, 0.0, 1.0), 0.0)

    # Second product per tile: pad the token axis to whole tiles, then one batched matmul per
    # order over (n_tiles, T, tile) @ (n_tiles, tile, d).
    n_tiles = -(-n_tok // tile)
    pad = n_tiles * tile - n_tok
    partial = np.zeros(())
    for i in orders:
        w = phi * decay**i  # (..., T, T)
        w = np.pad(w, [(0, 0)] * (w.ndim - 1) + [(0, pad)])
        w = np.swapaxes(w.reshape(*w.shape[:-1], n_tiles, tile), -2, -3)  # (..., n, T, tile)
        gv = g(y_v, i)
        gv = np.pad(gv, [(0, 0)] * (gv.ndim - 2) + [(0, pad), (0, 0)])
        gv = gv.reshape(*gv.shape[:-2], n_tiles, tile, gv.shape[-1])  # (..., n, tile, d)
        partial = partial + w @ gv  # (..., n_tiles, T, d)
    tile_out = np.clip(partial / out_scale, *OUT_RANGE)
    if n_levels is not None:
        tile_out = quantize(tile_out, *OUT_RANGE, n_levels[2])
    output = tile_out.sum(axis=-3)  # the tiles' outputs are summed digitally
    return AttentionTrace(s=s, phi=phi, output=output)
