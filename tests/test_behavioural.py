"""The paper's behavioural attention model: reference arrays, a brute-force twin, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gaincell.attention import (
    PAPER_COEFFICIENTS,
    AttentionTrace,
    behavioural_attention,
    cubic_current,
    quantize,
)

PAPER_ARRAYS = Path(__file__).parents[1] / "data/reference/paper_64x64_arrays.npz"


def test_reproduces_the_papers_64x64_arrays() -> None:
    ref = np.load(PAPER_ARRAYS)
    assert ref["q"].shape == (10, 64, 64)
    trace = behavioural_attention(
        ref["q"], ref["k"], ref["v"], levels=None, decay_per_token=0, window=64, tile=64
    )
    assert isinstance(trace, AttentionTrace)
    # The authors computed the arrays in reduced precision; these bounds are the documented
    # agreement of an exact float64 implementation.
    assert np.abs(trace.s - ref["s"]).max() < 0.5
    assert np.abs(trace.phi - ref["phi_s"]).max() < 0.006
    assert np.abs(trace.output - ref["output"]).max() < 0.01


def test_cubic_current_matches_the_cell_characteristic() -> None:
    # The paper's SPICE characteristic spans about -10.15 uA .. +9.97 uA at V_in = 0.9 V.
    f = cubic_current(np.array([-0.45, 0.45]))
    assert f[0] == pytest.approx(-10.2, abs=0.3)
    assert f[1] == pytest.approx(10.0, abs=0.4)


def _f_brute(y: float) -> float:
    """The bivariate cubic at x = 0.9, summed term by term in the paper's coefficient order."""
    total, idx = 0.0, 0
    for i in range(4):
        for j in range(4 - i):
            total += PAPER_COEFFICIENTS[idx] * 0.9**j * y**i
            idx += 1
    return total


def _q_brute(x: float, lo: float, hi: float, levels: int) -> float:
    step = (hi - lo) / (levels - 1)
    return step * round(min(max(x, lo), hi) / step)  # the reference grid; round(): half to even


def _attention_brute(q, k, v, *, s_sat, out_scale, levels, lam, window, tile):
    """One batch element, explicit loops over t, s and d."""
    n_tok, dim = q.shape
    q = [[_q_brute(x, 0.0, 1.0, levels[0]) for x in row] for row in q]
    k = [[_q_brute(x, 0.0, 0.9, levels[1]) for x in row] for row in k]
    v = [[_q_brute(x, 0.0, 0.9, levels[1]) for x in row] for row in v]
    s_mat = np.zeros((n_tok, n_tok))
    phi = np.zeros((n_tok, n_tok))
    for t in range(n_tok):
        for s in range(n_tok):
            if not t - window < s <= t:
                continue
            a = math.exp(-lam * (t - s))
            s_mat[t, s] = sum(q[t][d] * _f_brute(a * (k[s][d] - 0.45)) for d in range(dim))
            phi[t, s] = min(max(s_mat[t, s] / s_sat, 0.0), 1.0)
    out = np.zeros((n_tok, dim))
    for t in range(n_tok):
        for start in range(0, n_tok, tile):
            for d in range(dim):
                partial = 0.0
                for s in range(start, min(start + tile, n_tok)):
                    a = math.exp(-lam * (t - s))
                    partial += phi[t, s] * _f_brute(a * (v[s][d] - 0.45))
                clamped = min(max(partial / out_scale, -1.0), 1.0)
                out[t, d] += _q_brute(clamped, -1.0, 1.0, levels[2])
    return s_mat, phi, out


def test_matches_a_brute_force_loop_with_decay_window_tiles_and_quantization() -> None:
    rng = np.random.default_rng(7)
    shape = (2, 70, 5)
    q, k, v = rng.random(shape), 0.9 * rng.random(shape), 0.9 * rng.random(shape)
    # Small s_sat and out_scale so both clamps are exercised with d = 5; a large decay so
    # that it matters over the 20-token window; five tiles, of which the last is partial.
    params = dict(s_sat=6.0, out_scale=3.0, levels=(16, 8, 32), window=20, tile=16)
    trace = behavioural_attention(q, k, v, decay_per_token=0.05, **params)
    assert trace.s.shape == trace.phi.shape == (2, 70, 70)
    assert trace.output.shape == (2, 70, 5)
    assert 0 < np.mean(trace.phi == 1.0) < 0.5  # some but not all saturate
    for b in range(2):
        s_ref, phi_ref, out_ref = _attention_brute(q[b], k[b], v[b], lam=0.05, **params)
        np.testing.assert_allclose(trace.s[b], s_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(trace.phi[b], phi_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(trace.output[b], out_ref, rtol=0, atol=1e-12)
    # Leading dimensions broadcast: one query set against two key/value sets.
    shared = behavioural_attention(q[0], k, v, decay_per_token=0.05, **params)
    single = behavioural_attention(q[0], k[1], v[1], decay_per_token=0.05, **params)
    np.testing.assert_array_equal(shared.output[1], single.output)


@pytest.mark.parametrize("levels", [None, (16, 8, 32)])
def test_out_of_range_inputs_are_clamped(levels) -> None:
    rng = np.random.default_rng(3)
    shape = (40, 6)
    q = rng.uniform(-0.5, 1.5, shape)
    k = rng.uniform(-0.4, 1.3, shape)
    v = rng.uniform(-0.4, 1.3, shape)
    params = dict(levels=levels, window=16, tile=8, s_sat=5.0, out_scale=4.0)
    raw = behavioural_attention(q, k, v, **params)
    clamped = behavioural_attention(
        np.clip(q, 0, 1), np.clip(k, 0, 0.9), np.clip(v, 0, 0.9), **params
    )
    for name in ("s", "phi", "output"):
        np.testing.assert_array_equal(getattr(raw, name), getattr(clamped, name))


def test_quantize_levels() -> None:
    grid = quantize(np.linspace(-1, 2, 301), 0.0, 0.9, 8)
    assert np.unique(grid).size == 8
    assert grid.min() == 0.0 and grid.max() == pytest.approx(0.9)
    assert quantize(0.5 / 15, 0.0, 1.0, 16) == 0.0  # exactly half a step rounds to even


_X = np.zeros((8, 4))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((_X, np.zeros((8, 5)), _X), {}, "share their last two dimensions"),
        ((_X, _X, np.zeros((9, 4))), {}, "share their last two dimensions"),
        ((np.zeros(4), _X, _X), {}, "q must have shape"),
        ((np.zeros((2, 8, 4)), np.zeros((3, 8, 4)), _X), {}, "do not broadcast"),
        ((_X, _X, _X), {"window": 0}, "window must be an integer >= 1"),
        ((_X, _X, _X), {"tile": 0}, "tile must be an integer >= 1"),
        ((_X, _X, _X), {"tile": 2.5}, "tile must be an integer >= 1"),
        ((_X, _X, _X), {"s_sat": 0.0}, "s_sat must be finite and > 0"),
        ((_X, _X, _X), {"out_scale": -1.0}, "out_scale must be finite and > 0"),
        ((_X, _X, _X), {"levels": (16, 8)}, "levels must be None or a tuple"),
        ((_X, _X, _X), {"levels": (16, 1, 32)}, "levels must be None or a tuple"),
        ((_X, _X, _X), {"decay_per_token": -1e-3}, "decay_per_token must be"),
        ((_X, _X, _X), {"coefficients": (1.0, 2.0)}, "triangular number"),
        ((np.full((8, 4), np.nan), _X, _X), {}, "q contains non-finite values"),
    ],
)
def test_bad_input_raises_a_clear_error(args, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        behavioural_attention(*args, **kwargs)


def test_output_quantizer_keeps_an_empty_tile_at_zero() -> None:
    # Anchored at lo = -1 the 32-level grid has no 0, and each tile with nothing in view
    # would add 1/31 to the output; the reference grid step * round(x / step) keeps it at 0.
    assert quantize(0.0, -1.0, 1.0, 32) == 0.0
    q = np.full((130, 4), 0.5)
    kv = np.full((130, 4), 0.6)
    trace = behavioural_attention(q, kv, kv, window=1024, tile=64)
    first_alone = behavioural_attention(q[:1], kv[:1], kv[:1], window=1024, tile=64)
    np.testing.assert_array_equal(trace.output[0], first_alone.output[0])
