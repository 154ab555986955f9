"""The gain-cell multiplier behaves as a signed multiplier (real ngspice, small grids)."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.store import read_characterization
from gaincell.characterize.sweep import simulate_spec


@pytest.fixture(scope="module")
def tt_grid():
    spec = SweepSpec(
        axes={"v_in": Axis(0.0, 1.8, 7), "v_store": Axis(0.45, 1.35, 46)}, corners=("tt",)
    )
    arrays, _ = simulate_spec(spec, jobs=1, progress=False)
    return spec, arrays["i_out"][0, 0]  # v_store x v_in


@pytest.mark.spice
def test_no_current_when_input_inactive(tt_grid):
    _, i_out = tt_grid
    assert np.max(np.abs(i_out[:, 0])) < 1e-9  # V_in = 0: both enables off


@pytest.mark.spice
def test_current_monotonic_in_v_store_at_full_input(tt_grid):
    _, i_out = tt_grid
    assert np.all(np.diff(i_out[:, -1]) > 0)


@pytest.mark.spice
def test_sign_changes_near_mid_rail(tt_grid):
    spec, i_out = tt_grid
    v_store = spec.v_store.values()
    zero = np.interp(0.0, i_out[:, -1], v_store)
    assert abs(zero - 0.9) < 0.05
    assert i_out[0, -1] < 0 < i_out[-1, -1]


@pytest.mark.spice
def test_full_scale_is_a_few_microamps(tt_grid):
    _, i_out = tt_grid
    assert 2e-6 < np.max(np.abs(i_out[:, -1])) < 20e-6


@pytest.mark.spice
def test_current_grows_with_input_level(tt_grid):
    _, i_out = tt_grid
    assert np.all(np.diff(np.abs(i_out[0, :])) > 0)  # V_store = 0.45 V: more input, more current


@pytest.mark.spice
def test_parallel_results_equal_serial_in_input_order(small_spec, small_sweep):
    data = read_characterization(small_sweep)
    serial, _ = simulate_spec(small_spec, jobs=1, progress=False)
    # Blocks differ between 1 and 2 workers, so each dc sweep starts Newton from another
    # point: results agree to solver precision, not bit for bit.
    np.testing.assert_allclose(data.quantities["i_out"], serial["i_out"], rtol=1e-9, atol=1e-18)
    assert list(data.axes["corner"].values) == ["tt", "ff"]
    # ff is stronger than tt at the ends of the range: corners are really different models
    tt, ff = (
        data.select("i_out", corner="tt", temperature=27),
        data.select("i_out", corner="ff", temperature=27),
    )
    assert abs(ff[-1, -1]) > abs(tt[-1, -1])


def test_every_corner_and_temperature_shipped_is_sane():
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    data = read_characterization(CHARACTERIZATION_DIR / "multiplier_sky130.h5")
    assert list(data.axes["corner"].values) == ["tt", "ss", "ff", "sf", "fs"]
    assert list(data.axes["temperature"].values) == [-40.0, -5.0, 27.0, 55.0, 85.0, 125.0]
    i_out = data.quantities["i_out"]
    assert np.isfinite(i_out).all()
    full = i_out[..., -1]  # corner, temperature, v_store
    assert np.all(np.diff(full, axis=-1) > 0)
    assert np.max(np.abs(i_out[..., 0])) < 1e-10  # input off: below 0.1 nA everywhere
