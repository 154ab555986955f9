"""gaincell error-budget: each non-ideality of a head alone against the ideal head."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.attention import HeadCircuits, HeadConfig
from gaincell.attention.budget import (
    ENTRIES,
    error_budget,
    ideal_circuits,
    read_budgets,
    write_budgets,
)
from gaincell.attention.simulate import random_qkv
from gaincell.circuits.design import KV_RANGE, STORE_OFFSET
from gaincell.circuits.h5 import StoreError
from gaincell.cli import main as cli
from gaincell.figures.error_budget import plot_error_budget


@pytest.fixture(scope="module")
def sky130() -> HeadCircuits:
    return HeadCircuits.from_surrogates("tt", 27.0)


def test_the_ideal_head_is_the_least_squares_line_of_the_cell(sky130):
    ideal = ideal_circuits(sky130)
    volts = np.linspace(*KV_RANGE, 181) + STORE_OFFSET
    line = ideal.multiplier(volts)
    steps = np.diff(line)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)  # a straight line
    residual = sky130.multiplier(volts) - line
    assert abs(residual.mean()) < 1e-6 * np.ptp(line)  # least squares: no mean left
    assert abs(np.dot(residual, volts - volts.mean())) < 1e-6 * np.ptp(line) * volts.size
    # linear converters with the sky130 converters' equivalent constants
    constants = sky130.equivalent_constants()
    q_relu = constants["s_sat"] * sky130.t_max * sky130.current_scale
    assert ideal.relu(np.array([0.5 * q_relu]))[0] == pytest.approx(0.5 * sky130.t_max)


def test_each_effect_alone_and_together(sky130, tmp_path):
    q, k, v = random_qkv(96, 64, 3)
    config = HeadConfig(window=64)
    budget = error_budget(sky130, q, k, v, config=config, seed=2)
    for quantity in (budget.phi, budget.output):
        assert list(quantity) == list(ENTRIES)
        assert all(np.isfinite(value) and value > 0 for value in quantity.values())
        # calibrating gain and offset can only leave less
        assert quantity["nonlinearity_calibrated"] <= quantity["nonlinearity"]
        # 65 ns steps over a 64-token window: the cells move by their first microseconds'
        # settling (up to 16 mV at 1.35 V), far from their ~50 ms retention
        assert quantity["leakage"] < 0.5 * quantity["quantization"]
    # with an 8-level DAC the quantization of Phi is about a step / sqrt(12) of a K value
    assert 0.003 < budget.phi["quantization"] < 0.1
    assert budget.phi["mismatch"] > 0.002
    # the same seed gives the same budget; another seed other devices
    again = error_budget(sky130, q, k, v, config=config, seed=2)
    assert again.output == budget.output
    other = error_budget(sky130, q, k, v, config=config, seed=3)
    assert other.output["mismatch"] != budget.output["mismatch"]
    assert other.output["quantization"] == budget.output["quantization"]
    path = write_budgets(tmp_path / "b.h5", {"tt/27": budget})
    read = read_budgets(path)["tt/27"]
    assert read.phi == budget.phi and read.settings == budget.settings
    with pytest.raises(StoreError, match="already exists"):
        write_budgets(path, {"tt/27": budget})
    png = plot_error_budget(path, tmp_path / "budget.png")
    assert png.stat().st_size > 20_000


def test_bad_budget_input_is_named(tmp_path, capsys):
    out = tmp_path / "b.h5"
    assert cli(["error-budget", "--tokens", "32", "--window", "64", "--out", str(out)]) == 2
    assert "--tokens (32) must be at least --window (64)" in capsys.readouterr().err
    assert cli(["error-budget", "--window", "100", "--out", str(out)]) == 2
    assert "multiple of tile" in capsys.readouterr().err
    assert cli(["error-budget", "--conditions", "xx/27", "--out", str(out)]) == 2
    assert not out.exists()
