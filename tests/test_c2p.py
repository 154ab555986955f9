"""Charge-to-pulse converters and the MAC chain in real ngspice: ReLU, saturation, sign."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.characterize import Axis, SpecError, SweepSpec
from gaincell.characterize.sweep import simulate_spec


def _transfer(circuit: str) -> dict[str, np.ndarray]:
    spec = SweepSpec(circuit=circuit, axes={"charge": Axis(-0.6e-12, 1.5e-12, 8)}, corners=("tt",))
    arrays, report = simulate_spec(spec, jobs=1, progress=False)
    assert not [f for task in report.tasks for f in task.failures]
    return {name: values[0, 0] for name, values in arrays.items()} | {
        "charge": spec.axes["charge"].values()
    }


@pytest.fixture(scope="module")
def relu():
    return _transfer("relu-c2p")


@pytest.fixture(scope="module")
def signed():
    return _transfer("signed-c2p")


@pytest.mark.spice
def test_relu_is_zero_for_negative_charge(relu):
    assert np.all(relu["width"][relu["charge"] <= 0] < 0.2e-9)


@pytest.mark.spice
def test_relu_grows_with_charge_then_saturates_at_t_max(relu):
    positive = relu["width"][relu["charge"] > 0]
    assert np.all(np.diff(positive) >= -0.05e-9)
    assert positive[0] > 0.5e-9
    assert relu["width"][-1] == pytest.approx(15e-9, abs=0.6e-9)  # 1.5 pC: beyond saturation


@pytest.mark.spice
def test_relu_conversion_costs_picojoules(relu):
    assert np.all((relu["e_conversion"] > 0.1e-12) & (relu["e_conversion"] < 100e-12))


@pytest.mark.spice
def test_signed_width_follows_magnitude_and_sign(signed):
    charge, width, sign = signed["charge"], signed["width"], signed["sign"]
    assert np.all(sign[charge < -0.05e-12] == 1)
    assert np.all(sign[charge > 0.05e-12] == 0)
    negative = charge < -0.1e-12
    assert np.all(width[negative] > 0.5e-9)
    # |Q| larger -> wider, on each side
    assert width[0] > width[np.flatnonzero(negative)[-1]]
    positive = charge > 0.1e-12
    assert np.all(np.diff(width[positive]) >= -0.05e-9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"time_step": -1e-12}, "time_step must be positive"),
        ({"conv_start": 40e-9, "conv_stop": 30e-9}, "conversion window"),
    ],
)
def test_bad_transient_settings(settings, message):
    with pytest.raises(SpecError, match=message):
        SweepSpec(circuit="relu-c2p", settings=settings)


@pytest.mark.spice
def test_mac_chain_demo_case_runs_the_whole_chain():
    spec = SweepSpec(circuit="mac-chain", axes={"case": Axis(0, 1, 2)})
    arrays, _ = simulate_spec(spec, jobs=1, progress=False)
    assert 1e-9 < arrays["phi_width"][0, 0, 0] < 15e-9  # the demo case's first product is positive
    colk = arrays["v_colk"][0, 0, 0]
    assert colk.min() < 0.85  # the K column really integrated charge
    e_mac = arrays["e_mac_cell"][0, 0]
    assert np.all((e_mac > 1e-15) & (e_mac < 200e-15))  # femtojoules per cell per MAC
