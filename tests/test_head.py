"""The surrogate-driven attention head: equal to the behavioural model when built from ideal
circuits, decode mode equal to whole-sequence mode, sane scale factors from the surrogates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gaincell.attention import (
    GainCellHead,
    HeadCircuits,
    HeadConfig,
    behavioural_attention,
    tile_model,
)
from gaincell.errors import InputError


def _qkv(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    # slightly outside the ranges on purpose: both models clamp
    return (
        rng.uniform(-0.05, 1.05, shape),
        rng.uniform(-0.05, 0.95, shape),
        rng.uniform(-0.05, 0.95, shape),
    )


@pytest.mark.parametrize("levels", [(16, 8, 32), None])
def test_ideal_circuits_equal_the_behavioural_model(levels):
    rng = np.random.default_rng(1)
    q, k, v = _qkv(rng, (2, 96, 8))
    config = HeadConfig(d=8, window=96, tile=32, levels=levels)
    trace = GainCellHead(HeadCircuits.ideal(), config).run(q, k, v)
    reference = behavioural_attention(q, k, v, levels=levels, window=96, tile=32)
    for name in ("s", "phi", "output"):
        np.testing.assert_allclose(
            getattr(trace, name), getattr(reference, name), atol=1e-9, rtol=0
        )


def test_ideal_circuits_equal_the_model_with_paper_defaults_on_a_full_window():
    rng = np.random.default_rng(2)
    q, k, v = _qkv(rng, (1024, 64))
    trace = GainCellHead(HeadCircuits.ideal()).run(q, k, v)
    reference = behavioural_attention(q, k, v)
    for name in ("s", "phi", "output"):
        np.testing.assert_allclose(
            getattr(trace, name), getattr(reference, name), atol=1e-9, rtol=0
        )


def test_sliding_window_wraps_like_the_model_in_the_linear_regime():
    # Past the window the physical ring mixes old and new tokens in one tile, the model tiles
    # by absolute position; without clamps or quantization the sums agree.
    rng = np.random.default_rng(3)
    q, k, v = _qkv(rng, (150, 4))
    circuits = HeadCircuits.ideal(s_sat=1e6, out_scale=1e6)
    config = HeadConfig(d=4, window=64, tile=16, levels=None)
    trace = GainCellHead(circuits, config).run(q, k, v)
    reference = behavioural_attention(
        q, k, v, levels=None, window=64, tile=16, s_sat=1e6, out_scale=1e6
    )
    for name in ("s", "phi", "output"):
        np.testing.assert_allclose(
            getattr(trace, name), getattr(reference, name), atol=1e-12, rtol=1e-9
        )


def test_decode_steps_equal_the_whole_sequence():
    rng = np.random.default_rng(4)
    q, k, v = _qkv(rng, (3, 40, 8))
    head = GainCellHead(HeadCircuits.ideal(), HeadConfig(d=8, window=32, tile=16))
    trace = head.run(q, k, v)
    head.reset((3,))
    for t in range(40):
        step = head.step(q[:, t], k[:, t], v[:, t])
        np.testing.assert_array_equal(step.output, trace.output[:, t])
        held = step.positions >= 0
        np.testing.assert_array_equal(step.phi[:, held], trace.phi[:, t, step.positions[held]])
    assert head.position == 40


@pytest.fixture(scope="module")
def sky130() -> HeadCircuits:
    return HeadCircuits.from_surrogates("tt", 27.0)


def test_scale_factors_come_from_the_surrogates(sky130):
    from gaincell.surrogate import load

    # the effective current of a floating cell over a PWM pulse, at the ends of the range
    swing = sky130.multiplier(np.array([1.35]))[0] - sky130.multiplier(np.array([0.45]))[0]
    assert sky130.current_scale == pytest.approx(swing / sky130.derivation["paper_swing_uA"])
    # it exceeds the DC current (held storage node) by the read's coupling into the node
    dc = load("multiplier").at(corner="tt", temperature=27.0, v_in=1.8)
    dc_swing = dc(v_store=1.35) - dc(v_store=0.45)
    assert 1.05 < swing / dc_swing < 1.4
    assert sky130.derivation["pulse_affine_max_error_C"] < 1e-15  # charge = a w + b holds
    dc_based = HeadCircuits.from_surrogates("tt", 27.0, pulse=None)
    assert dc_based.current_scale == pytest.approx(dc_swing / sky130.derivation["paper_swing_uA"])
    assert sky130.t_max == pytest.approx(15e-9, rel=0.01)  # the converter's window
    constants = sky130.equivalent_constants()
    assert 50 < constants["s_sat"] < 250 and 50 < constants["out_scale"] < 250
    # The write path pre-compensates the feedthrough: the stored value is the DAC level.
    targets = np.array([0.45, 0.9, 1.35])
    np.testing.assert_allclose(
        sky130.leakage(np.zeros(3), sky130.bit_line(targets)), targets, atol=2e-4
    )


def test_surrogate_head_tracks_the_behavioural_first_product(sky130):
    rng = np.random.default_rng(5)
    q, k, v = _qkv(rng, (128, 64))
    trace = GainCellHead(sky130, HeadConfig(window=128)).run(q, k, v)
    reference = behavioural_attention(q, k, v, window=128)
    held = np.tril(np.ones((128, 128), dtype=bool))
    error = trace.s[held] - reference.s[held]
    # The sky130 cell is not the paper's cubic, and every pulse adds its edges' charge (about
    # -1 fC per cell): close once scaled, with an offset of a few % of the range.
    assert np.sqrt(np.mean(error**2)) / np.ptp(reference.s[held]) < 0.10
    assert np.corrcoef(trace.s[held], reference.s[held])[0, 1] > 0.97
    assert np.all((trace.phi >= 0) & (trace.phi <= 1))
    assert np.all(trace.phi[~held] == 0)


def test_leakage_lowers_old_tokens_products(sky130):
    # One stored K column read at growing ages: |S| shrinks as the cells leak.
    head = GainCellHead(sky130, HeadConfig(step_time=1e-6))  # 3-bit DAC: table path
    head.reset()
    q = np.ones(64)
    first = head.step(q, np.full(64, 0.9), np.full(64, 0.45))
    s_new = first.s[0]
    for _ in range(1022):
        last = head.step(np.zeros(64), np.full(64, 0.45), np.full(64, 0.45))
    s_old = head.step(q, np.full(64, 0.45), np.full(64, 0.45)).s[0]
    assert last.positions[0] == 0
    assert 0 < s_old < s_new


def test_tile_model_of_a_fresh_tile(sky130):
    rng = np.random.default_rng(6)
    q, k, v = rng.uniform(0, 1, 16), rng.uniform(0, 0.9, (16, 16)), rng.uniform(0, 0.9, (16, 16))
    out = tile_model(sky130, q, k, v)
    assert out["phi_width"].shape == (16,) and out["out_width"].shape == (16,)
    assert np.all((out["out_width"] >= 0) & (out["out_width"] <= sky130.t_max_out))
    # With ideal circuits the tile is the behavioural model's single-tile step.
    ideal = HeadCircuits.ideal()
    fresh = tile_model(ideal, q, k, v)
    reference = behavioural_attention(
        np.tile(q, (16, 1)), k, v, levels=None, decay_per_token=0, window=16, tile=16
    )
    # the last query row sees all 16 tokens
    np.testing.assert_allclose(fresh["phi_width"] / ideal.t_max, reference.phi[-1], atol=1e-12)
    signed = np.where(fresh["out_negative"], -1, 1) * fresh["out_width"] / ideal.t_max
    np.testing.assert_allclose(signed, reference.output[-1], atol=1e-12)


def test_a_column_that_was_above_mid_rail_late_gives_no_pulse():
    """The ReLU comparator's memory in the array (ss / 85 C): two K columns end at the same
    charge just above the static switching point; the one whose path was 40 fC above mid-rail
    until 1.5 ns before the MAC's end gets no pulse, the one that got there early does, and the
    model without the memory gives both a pulse."""
    from gaincell.attention.head import _k_columns, _phi_widths

    circuits = HeadCircuits.from_surrogates("ss", 85.0)
    recovery = circuits.relu_recovery
    assert recovery is not None and 1e-10 < recovery.tau < 1e-8
    final = recovery.static + 1.5e-15
    # Rows conduct 15 ns and 13.5 ns. Column 0: together they lift the column by 40 fC over
    # 13.5 ns, then row 0 alone brings it to `final` in the last 1.5 ns; column 1: row 0
    # alone at a constant current, the same end.
    widths = np.array([[15e-9, 13.5e-9]])
    cells = np.zeros((1, 2, 2, 4))  # constant currents: no column dependence, no load
    late = (final + 40e-15) / 1.5e-9
    cells[0, 0, 0, 0] = late
    cells[0, 1, 0, 0] = -40e-15 / 13.5e-9 - late
    cells[0, 0, 1, 0] = final / 15e-9
    bare = replace(
        circuits,
        column=replace(
            circuits.column, conducting_load=False, idle_load=0.0, turn_off_charge=False
        ),
    )
    charge, pulses, _ = _k_columns(bare, cells, np.zeros((1, 2, 2)), widths)
    np.testing.assert_allclose(charge[0], final, rtol=1e-6)
    assert list(pulses[0]) == [False, True]
    widths_out = _phi_widths(bare, charge, pulses)[0]
    assert widths_out[0] == 0 and widths_out[1] > 0.3e-9
    static = replace(bare, relu_recovery=None)
    assert np.all(
        _phi_widths(static, *_k_columns(static, cells, np.zeros((1, 2, 2)), widths)[:2])[0] > 0
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 100, "tile": 64}, "multiple of tile"),
        ({"d": 0}, "HeadConfig.d must be a positive integer"),
        ({"levels": (16, 8)}, "HeadConfig.levels"),
        ({"step_time": -1.0}, "HeadConfig.step_time must be positive"),
        ({"mismatch": 1}, "HeadConfig.mismatch must be True or False"),
        ({"seed": -2}, "HeadConfig.seed"),
    ],
)
def test_bad_configuration_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HeadConfig(**kwargs)


def test_config_round_trips_through_json():
    config = HeadConfig(d=32, window=256, tile=32, levels=(8, 4, 16), step_time=1e-7)
    assert HeadConfig.from_json(config.to_json()) == config


def test_bad_step_input_is_named():
    head = GainCellHead(HeadCircuits.ideal(), HeadConfig(d=4, window=8, tile=4))
    with pytest.raises(ValueError, match=r"q must have shape \(4,\)"):
        head.step(np.zeros(5), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="k holds non-finite"):
        head.step(np.zeros(4), np.full(4, np.nan), np.zeros(4))


def test_a_short_pulse_delivers_what_the_pulse_surrogate_says(sky130):
    """Under 1 ns a pulse's charge bends away from the ``a x width + b`` line fitted over
    1..15 ns (by up to 0.4 fC): the array takes it from the pulse surrogate at its width."""
    from gaincell.surrogate import load

    pulse = load("multiplier-pulse")
    line = HeadCircuits.from_surrogates("tt", 27.0, short_pulses=False)
    for k_value, width in ((0.0, 0.30e-9), (0.2, 0.45e-9), (0.9, 0.75e-9), (0.5, 2e-9)):
        q = np.array([width / sky130.t_max])
        k, v = np.array([[k_value]]), np.array([[0.45]])
        charge = tile_model(sky130, q, k, v)["charge_k"][0]
        expected = pulse(v_store=k_value + 0.45, width=width, v_col=0.9, temperature=27.0)
        # one cell barely moves a 2 pF column (< 1 mV)
        assert abs(charge - expected) < 0.03e-15, (k_value, width, charge, expected)
        if k_value == 0.0:  # the lowest written value bends most
            assert abs(tile_model(line, q, k, v)["charge_k"][0] - expected) > 0.1e-15


def test_mismatch_is_static_hardware_drawn_from_the_monte_carlo_surrogates(sky130):
    """HeadConfig(mismatch=True, seed=S): one draw per cell and converter when the head is
    built; the same seed is the same hardware, another seed another; mismatch=False is the
    nominal head (every existing result)."""
    from gaincell.characterize import read_characterization
    from gaincell.characterize.spread import spread
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    rng = np.random.default_rng(5)
    q, k, v = _qkv(rng, (96, 64))
    config = HeadConfig(window=64, mismatch=True, seed=3)
    head = GainCellHead(sky130, config)
    first, again = head.run(q, k, v), head.run(q, k, v)
    assert np.array_equal(first.output, again.output)  # static: not redrawn per run or token
    same = GainCellHead(sky130, config).run(q, k, v)
    other = GainCellHead(sky130, replace(config, seed=4)).run(q, k, v)
    nominal = GainCellHead(sky130, replace(config, mismatch=False)).run(q, k, v)
    assert np.array_equal(first.phi, same.phi)
    assert not np.array_equal(first.phi, other.phi)
    span = np.ptp(nominal.phi[-32:])
    error = np.sqrt(np.mean((first.phi[-32:] - nominal.phi[-32:]) ** 2)) / span
    assert 0.002 < error < 0.1, error  # mismatch moves Phi, by percent, not by its range
    # The drawn devices spread as SPICE's Monte Carlo samples do.
    drawn = head.mismatch
    reference = {
        s.name: s
        for s in spread(read_characterization(CHARACTERIZATION_DIR / "relu_c2p_mc_sky130.h5"))
    }
    assert drawn.relu_offset.std() == pytest.approx(reference["offset"].sigma, rel=0.25)
    assert drawn.relu_gain.std() == pytest.approx(reference["slope"].relative, rel=0.25)
    pulse = read_characterization(CHARACTERIZATION_DIR / "multiplier_pulse_mc_sky130.h5")
    top = pulse.quantities["charge"][0, :, 0, -1, :, -1] / 15e-9  # 1.35 V, 15 ns cell
    spice_sigma = top.std(axis=0, ddof=1).mean()  # the two column levels
    assert drawn.cell_k[:, :, -1, 0].std() == pytest.approx(spice_sigma, rel=0.25)


def test_tile_model_draws_a_tile_pair_of_the_heads_hardware(sky130):
    """tile_model(mismatch_seed=S): every K and V cell of the tile at its own stored voltage and
    every converter a drawn instance; the same seed the same devices (those of the first tile
    of a head drawn with S), another seed others; no seed: the nominal tile unchanged."""
    from gaincell.attention.mismatch import draw_array_mismatch, draw_tile_mismatch
    from gaincell.circuits.design import KV_RANGE, STORE_OFFSET

    rng = np.random.default_rng(11)
    q, k, v = rng.uniform(0, 1, 16), rng.uniform(0, 0.9, (16, 16)), rng.uniform(0, 0.9, (16, 16))
    nominal = tile_model(sky130, q, k, v)
    first = tile_model(sky130, q, k, v, mismatch_seed=7)
    again = tile_model(sky130, q, k, v, mismatch_seed=7)
    other = tile_model(sky130, q, k, v, mismatch_seed=8)
    for name in ("charge_k", "charge_v", "phi_width"):
        assert np.array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name]), name
    assert np.array_equal(nominal["charge_k"], tile_model(sky130, q, k, v)["charge_k"])
    # Mismatch moves each column's charge by a fraction of a percent of its full scale.
    moved = np.abs(first["charge_k"] - nominal["charge_k"]) / np.ptp(nominal["charge_k"])
    assert 1e-4 < moved.mean() < 0.05, moved.mean()
    # Cells written at the DAC's code voltages get the head's per-code deviations.
    codes = np.linspace(*KV_RANGE, 8) + STORE_OFFSET
    chosen = rng.integers(0, 8, (2, 16, 16))
    tile = draw_tile_mismatch(codes[chosen[0]], codes[chosen[1]], 7)
    head = draw_array_mismatch(window=16, d=16, tile=16, code_volts=codes, seed=7)
    rows, cols = np.indices((16, 16))
    np.testing.assert_allclose(tile.cell_k, head.cell_k[rows, cols, chosen[0]], atol=1e-18)
    np.testing.assert_allclose(tile.cell_v, head.cell_v[rows, cols, chosen[1]], atol=1e-18)
    assert np.array_equal(tile.relu_offset, head.relu_offset)
    assert np.array_equal(tile.signed_gain, head.signed_gain)
    flat = HeadCircuits.from_surrogates("tt", 27.0, column=False)
    with pytest.raises(InputError, match="needs circuits with a column model"):
        tile_model(flat, q, k, v, mismatch_seed=7)


def test_mismatch_without_dac_looks_each_cell_up_at_its_written_voltage(sky130):
    """HeadConfig(levels=None, mismatch=True): each written cell's deviation at its own stored
    voltage (no DAC codes); the same hardware as with a DAC (the same draws), so the two
    heads' mismatch moves Phi by about as much."""
    rng = np.random.default_rng(8)
    q, k, v = _qkv(rng, (80, 64))
    results = {}
    for levels in (None, (16, 8, 32)):
        config = HeadConfig(window=64, levels=levels, mismatch=True, seed=5)
        drawn = GainCellHead(sky130, config).run(q, k, v)
        again = GainCellHead(sky130, config).run(q, k, v)
        nominal = GainCellHead(sky130, replace(config, mismatch=False)).run(q, k, v)
        assert np.array_equal(drawn.phi, again.phi)
        results[levels] = np.sqrt(np.mean((drawn.phi[-16:] - nominal.phi[-16:]) ** 2))
    assert 0.002 < results[None] < 0.1
    assert results[None] == pytest.approx(results[(16, 8, 32)], rel=0.5)
    head = GainCellHead(sky130, HeadConfig(window=64, levels=None, mismatch=True, seed=5))
    assert head.mismatch.table_k.shape[:2] == (64, 64)
    coded = GainCellHead(sky130, HeadConfig(window=64, mismatch=True, seed=5)).mismatch
    np.testing.assert_array_equal(head.mismatch.relu_offset, coded.relu_offset)


def test_coded_column_sums_equal_the_sums_of_every_gathered_cell():
    """The decode step's K sums from a (code, width) histogram times the (age, code) table
    are the sums over every gathered cell, mismatch and short pulses included."""
    from gaincell.attention.column import row_sums
    from gaincell.attention.head import (
        _code_width_counts,
        _coded_row_sums,
        _pulse_edge,
        _short_weights,
    )

    rng = np.random.default_rng(2)
    batch, window, d, codes, entries = 2, 12, 9, 8, 6
    nodes = np.array([0.1e-9, 0.3e-9, 0.6e-9, 1e-9])
    coefficients = rng.normal(size=(window, codes, entries))
    edge = rng.normal(size=(window, codes))
    short_by_age = rng.normal(size=(window, codes, nodes.size))  # taken by each slot's age
    age_index = rng.permutation(window)
    short = short_by_age[age_index]
    code = rng.integers(0, codes, (batch, window, d))
    # quantized widths (repeats), no pulse, short pulses, one past the mesh step
    widths = rng.choice([0.0, 0.2e-9, 0.45e-9, 1e-9, 2e-9, 7.5e-9, 15e-9], (batch, d))
    extra = rng.normal(size=(batch, window, d, 2))
    histogram = _code_width_counts(code, widths, codes)
    sums = _coded_row_sums(
        coefficients, edge, (short_by_age, age_index), histogram, widths, nodes, extra
    )
    slots = np.arange(window)[None, None, :]
    cells = coefficients[slots, code.transpose(0, 2, 1)]  # (B, d rows, W columns, entries)
    cells[..., :2] += extra.transpose(0, 2, 1, 3)
    full_edge = np.concatenate(
        [edge[slots, code.transpose(0, 2, 1)][..., None], short[slots, code.transpose(0, 2, 1)]],
        axis=-1,
    )

    class Nodes:
        short_pulses = nodes

    reference = row_sums(cells, _pulse_edge(Nodes, full_edge, widths), widths)
    assert _short_weights(nodes, widths).any()  # the case holds short pulses
    for name in ("times", "conducting", "pulsed", "edge"):
        np.testing.assert_allclose(
            getattr(sums, name), getattr(reference, name), rtol=1e-12, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("mismatch", [False, True])
def test_a_coded_decode_step_equals_the_products_of_every_gathered_cell(sky130, mismatch):
    """The DAC-coded step (K sums by histogram, V rows gathered only where Phi pulses) gives
    what the products of every cell gathered from the (age, code) table give."""
    from gaincell.attention.head import _products

    rng = np.random.default_rng(9)
    q, k, v = _qkv(rng, (150, 64))
    head = GainCellHead(sky130, HeadConfig(window=128, mismatch=mismatch, seed=2))
    for t in range(149):
        head.step(q[t], k[t], v[t])
    c = head.config
    ages = head.position - head.written_at
    valid = head.written_at >= 0
    widths = quantize_q(q[149], c) * sky130.t_max
    got = head._coded_column_products(widths, ages, valid)
    table = head._cell_table()[np.clip(ages, 0, c.window - 1)]
    split = table.shape[-1] - sky130.edge_entries
    slots_k, slots_v = np.arange(c.window)[None, None, :], np.arange(c.window)[None, :, None]
    code_k = head._code_k.transpose(0, 2, 1)
    cells_k, cells_v = (
        table[..., :split][slots_k, code_k],
        table[..., :split][slots_v, head._code_v],
    )
    if mismatch:
        cells_k[..., :2] += head._extra_k.transpose(0, 2, 1, 3)
        cells_v[..., :2] += head._extra_v
    expected = _products(
        sky130,
        c,
        widths,
        cells_k,
        cells_v,
        valid,
        table[..., split:][slots_k, code_k],
        table[..., split:][slots_v, head._code_v],
        mismatch=head.mismatch,
    )
    for name in ("phi", "output", "column_charge", "tile_charge"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-9, atol=1e-24, err_msg=name)
    assert (got["phi"] > 0).any() and (got["phi"] == 0).any()  # both kinds of V rows


def quantize_q(q: np.ndarray, config: HeadConfig) -> np.ndarray:
    from gaincell.attention.behavioural import quantize
    from gaincell.circuits.design import Q_RANGE

    return quantize(np.clip(q, *Q_RANGE), *Q_RANGE, config.levels[0])[None]
