"""The head's energy bookkeeping: every operation charged once, coded and per-cell paths
agreeing, the trace's parts adding up."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gaincell.attention import GainCellHead, HeadCircuits, HeadConfig
from gaincell.attention.energy import MODULES, total
from gaincell.errors import InputError


def _on_levels(shape: tuple[int, ...], levels: int, high: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, levels, shape) * high / (levels - 1)


def test_coded_and_per_cell_paths_charge_the_same_energy(energy_models):
    """Inputs already on the DAC and pulse levels: the coded tables and the per-cell
    evaluation see the same cells and pulses, so they must charge the same energy."""
    circuits = replace(HeadCircuits.ideal(), energy=energy_models())
    tokens, d, window = 40, 8, 32
    q = _on_levels((tokens, d), 16, 1.0, 1)
    k, v = _on_levels((tokens, d), 8, 0.9, 2), _on_levels((tokens, d), 8, 0.9, 3)
    coded = GainCellHead(circuits, HeadConfig(d=d, window=window, tile=16)).run(q, k, v)
    cells = GainCellHead(circuits, HeadConfig(d=d, window=window, tile=16, levels=None))
    per_cell = cells.run(q, k, v)
    assert coded.energy is not None and per_cell.energy is not None
    for name in MODULES:
        np.testing.assert_allclose(coded.energy[name], per_cell.energy[name], rtol=1e-9)


def test_each_module_is_what_its_operations_cost(energy_models):
    models = energy_models()
    circuits = replace(HeadCircuits.ideal(), energy=models)
    config = HeadConfig(d=4, window=8, tile=4)
    head = GainCellHead(circuits, config)
    rng = np.random.default_rng(5)
    q, k, v = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 0.9, (3, 4)), rng.uniform(0, 0.9, (3, 4))
    steps = [head.step(q[t], k[t], v[t]) for t in range(3)]
    step = steps[-1]
    assert step.energy is not None
    on = config.step_time  # no power gating: biased the whole step
    relu = np.sum(1e-12 + 1e-3 * np.abs(step.column_charge) + 3e-4 * on)
    signed = np.sum(2e-12 + 2e-3 * np.abs(step.tile_charge) + 4e-4 * on)
    assert step.energy["relu_conversion"] == pytest.approx(relu, rel=1e-12)
    assert step.energy["signed_conversion"] == pytest.approx(signed, rel=1e-12)
    assert step.energy["digital"] == pytest.approx(4e-9)
    # writes: one K and one V cell per dimension, at their DAC bit-line voltages
    assert 8 * 1e-14 * 0.45 <= step.energy["write"] <= 8 * 1e-14 * 1.35
    # the K array: every held slot's cells in rows with a query pulse
    assert step.energy["k_array"] > 0 and step.energy["v_array"] >= 0
    # power gating charges the bias only for the converters' own time
    gated = GainCellHead(replace(circuits, energy=energy_models(converter_on_time=30e-9)), config)
    gated_step = [gated.step(q[t], k[t], v[t]) for t in range(3)][-1]
    assert gated_step.energy is not None
    saved = step.energy["relu_conversion"] - gated_step.energy["relu_conversion"]
    assert saved == pytest.approx(8 * 3e-4 * (on - 30e-9), rel=1e-9)


def test_the_trace_carries_each_tokens_energy_and_none_without_models(energy_models):
    circuits = replace(HeadCircuits.ideal(), energy=energy_models())
    rng = np.random.default_rng(7)
    q, k, v = (rng.uniform(0, 0.9, (2, 5, 4)) for _ in range(3))  # a batch of 2
    trace = GainCellHead(circuits, HeadConfig(d=4, window=8, tile=4)).run(q, k, v)
    assert trace.energy is not None
    assert all(trace.energy[name].shape == (2, 5) for name in MODULES)
    assert np.all(total(trace.energy) > 4e-9)
    plain = GainCellHead(HeadCircuits.ideal(), HeadConfig(d=4, window=8, tile=4)).run(q, k, v)
    assert plain.energy is None


def test_bad_energy_parameters_are_refused(energy_models):
    with pytest.raises(InputError, match="digital"):
        energy_models(digital=-1.0)
    with pytest.raises(InputError, match="converter_on_time"):
        energy_models(converter_on_time=float("nan"))


def test_a_tile_model_charges_each_column_its_cells_and_converter(energy_models):
    from gaincell.attention import tile_model
    from gaincell.characterize.tile import T_STOP

    circuits = replace(HeadCircuits.ideal(), energy=energy_models())
    rng = np.random.default_rng(9)
    q, k, v = rng.uniform(0, 1, 4), rng.uniform(0, 0.9, (6, 4)), rng.uniform(0, 0.9, (6, 4))
    q[0] = 0.0  # a row without a pulse costs nothing
    out = tile_model(circuits, q, k, v)
    widths = q * circuits.t_max
    volts = k.T + 0.45  # ideal leakage at hold 0: the written values
    expected = ((1e-15 * (1 + volts) + 2e-7 * volts * widths[:, None]) * (widths > 0)[:, None]).sum(
        0
    )
    np.testing.assert_allclose(out["energy_k_cells"], expected, rtol=1e-12)
    converter = 1e-12 + 1e-3 * np.abs(out["charge_k"]) + 3e-4 * T_STOP
    np.testing.assert_allclose(out["energy_k_converter"], converter, rtol=1e-12)
    assert out["energy_v_cells"].shape == (4,) and np.all(out["energy_v_converter"] > 0)
    assert "energy_k_cells" not in tile_model(HeadCircuits.ideal(), q, k, v)
    # the tile holds its converters in reset through its write, longer than the
    # characterization testbench: each converter is charged the reset power's excess for it
    from gaincell.characterize.c2p import TESTBENCH_RESET_S
    from gaincell.characterize.tile import RESET_END

    reset = energy_models(
        relu_reset=lambda q: np.full(np.shape(q), 3.5e-4),
        signed_reset=lambda q: np.full(np.shape(q), 4.2e-4),
    )
    held = tile_model(replace(circuits, energy=reset), q, k, v)
    longer = RESET_END - TESTBENCH_RESET_S
    np.testing.assert_allclose(held["energy_k_converter"], converter + 0.5e-4 * longer, rtol=1e-12)
    np.testing.assert_allclose(
        held["energy_v_converter"], out["energy_v_converter"] + 0.2e-4 * longer, rtol=1e-12
    )
    assert reset.reset_beyond("relu", np.zeros(3), TESTBENCH_RESET_S).tolist() == [0.0] * 3
    assert energy_models().reset_beyond("signed", np.zeros(2), 1e-6).tolist() == [0.0] * 2


def test_energy_metrics_compare_each_tile_and_part_with_spice():
    from gaincell.attention.validate import ENERGY_PARTS, energy_metrics

    spice = {f"spice/energy_{p}": np.full((2, 3), 1e-12) for p in ENERGY_PARTS}
    array = {f"array/energy_{p}": np.full((2, 3), 1.02e-12) for p in ENERGY_PARTS}
    array["array/energy_v_converter"] = np.full((2, 3), 0.9e-12)
    metrics = energy_metrics(spice | array)
    assert metrics["k_tile"]["worst"] == pytest.approx(0.02)
    assert metrics["v_tile"]["relative_error"] == pytest.approx([-0.04, -0.04])
    assert metrics["v_converter"]["worst"] == pytest.approx(0.1)
    # a V tile Phi gave no pulse: its cells drew integration noise in SPICE and nothing in the
    # array; that part is not compared on its own (its tile is)
    spice["spice/energy_v_cells"][1] = [1e-16, -2e-16, 1e-16]
    array["array/energy_v_cells"][1] = 0.0
    metrics = energy_metrics(spice | array)
    assert metrics["v_cells"]["relative_error"] == [pytest.approx(0.02), None]
    assert metrics["v_cells"]["worst"] == pytest.approx(0.02)
    assert abs(metrics["v_tile"]["relative_error"][1]) < 0.1
    spice["spice/energy_v_cells"][0] = 0.0
    assert energy_metrics(spice | array)["v_cells"] == {
        "relative_error": [None, None],
        "worst": None,
    }
    # files from before energies were measured: nothing to compare
    spice["spice/energy_k_cells"][:] = np.nan
    assert energy_metrics(spice | array) == {}
    assert energy_metrics({"spice/phi": np.zeros((1, 3))}) == {}


def test_the_mac_chain_transients_cells_energy_is_predicted_within_5_percent():
    """Every corner, four temperatures, six random cases of the whole-chain transient: the
    array simulation's pulse energies of a column's ideally driven cells against SPICE's."""
    from gaincell.attention.energy import energy_shipped
    from gaincell.attention.validate import ENERGY_TOLERANCE, mac_chain_energy
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    if not energy_shipped():
        pytest.skip("the energy surrogates are not shipped")
    result = mac_chain_energy(CHARACTERIZATION_DIR / "mac_chain_energy_sky130.h5")
    assert result["k"]["spice_J"].shape == (5, 4, 6)
    for kind in ("k", "v"):
        error = result[kind]["relative_error"]
        assert np.all(np.isfinite(error))
        assert np.sqrt(np.mean(error**2)) < 0.015, kind
    assert result["v"]["worst"] < ENERGY_TOLERANCE
    # sf / -40 C, case 5: mostly sinking cells pull the K column 170 mV below mid-rail, where
    # their pulses draw 5..8 % more than at mid-rail; each pulse at the column voltage the
    # column model gives (7.0 % off when every pulse was charged at mid-rail).
    assert result["k"]["worst"] < ENERGY_TOLERANCE


def test_a_pulse_is_charged_at_the_column_voltage_it_saw():
    """The pulse energy's entries at each of the surrogate's column voltages: at mid-rail the
    mid-rail affine law, 300 mV below it the surrogate there (within the affine fit's error);
    the edges at the pulse's end, the conducting part at the mean over it."""
    from gaincell.attention.energy import EnergyModels, energy_shipped, pulse_energy
    from gaincell.surrogate import load

    if not energy_shipped():
        pytest.skip("the energy surrogates are not shipped")
    models = EnergyModels.from_surrogates("sf", -40.0)
    columns = models.pulse_columns
    assert min(abs(c - 0.9) for c in columns) < 1e-9 and len(columns) >= 3
    surrogate = load("multiplier-pulse-energy").at(corner="sf", temperature=-40.0)
    leak = load("leakage")
    for bit_line in (0.45, 0.9, 1.35):
        stored = leak(v_store=bit_line, time=0.0, temperature=-40.0, corner="sf")
        entries = models.pulse(np.atleast_1d(stored))[0]
        for v_col in (0.6, 0.9):
            for width in (2e-9, 8e-9, 15e-9):
                got = pulse_energy(entries, np.array(width), columns, v_col, v_col)
                expected = surrogate(v_store=bit_line, width=width, v_col=v_col)
                assert got == pytest.approx(expected, rel=0.03), (bit_line, v_col, width)
    # A sinking cell's edges draw more with its column low at the end, not with the mean.
    entries = models.pulse(
        np.atleast_1d(leak(v_store=1.35, time=0.0, temperature=-40.0, corner="sf"))
    )[0]
    mid = pulse_energy(entries, np.array(8e-9), columns)
    low_end = pulse_energy(entries, np.array(8e-9), columns, 0.73, 0.9)
    assert low_end > 1.04 * mid
