"""Charge-to-pulse converters and the MAC chain in real ngspice: ReLU, saturation, sign."""

from __future__ import annotations

import re

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
@pytest.mark.parametrize("converter", ["relu", "signed"])
def test_a_conversion_costs_picojoules_mostly_static_bias(converter, request):
    """Energy per conversion: supply and reference, a few pJ; the control drivers' gate
    loads tens of fJ, the same at every charge; the static bias ~0.1..1 mW, which over the
    40 ns transient is most of the total."""
    c = request.getfixturevalue(converter)
    assert np.all((c["e_conversion"] > 0.1e-12) & (c["e_conversion"] < 100e-12))
    assert np.all((c["e_drivers"] > 5e-15) & (c["e_drivers"] < 0.2e-12))
    assert np.ptp(c["e_drivers"]) < 0.2 * c["e_drivers"].mean()
    assert np.all((c["p_static"] > 0.05e-3) & (c["p_static"] < 1e-3))
    assert np.all(c["e_total"] > c["e_conversion"])
    assert np.all(c["p_static"] * 40e-9 > 0.5 * c["e_total"])
    # the cycle above the bias: what the data costs, the bias added back for the 40 ns
    cycle = c["e_cycle"] + c["p_static"] * 40e-9 - c["e_drivers"]
    np.testing.assert_allclose(cycle, c["e_total"], rtol=1e-12)
    assert np.all(np.abs(c["e_cycle"]) < 0.3 * c["e_total"])
    # held in reset (column tied to mid-rail, the comparator balanced) the converter draws
    # what it does holding no charge, more than holding one; the same at every charge (the
    # charge arrives after the reset)
    away = np.abs(c["charge"]) >= 0.3e-12
    assert np.all(c["p_reset"][away] > 1.02 * c["p_static"][away])
    assert np.all(c["p_reset"] < 1.3 * c["p_static"])
    assert np.ptp(c["p_reset"]) < 1e-3 * c["p_reset"].mean()


@pytest.mark.parametrize("converter", ["relu", "signed"])
def test_the_testbenches_hold_the_reset_the_energy_model_assumes(converter):
    """``e_cycle`` holds the testbench's reset (``trst``), which the energy model's
    correction for longer resets (``EnergyModels.reset_beyond``) counts from."""
    from gaincell.characterize.c2p import RESET_WINDOW_S, TESTBENCH_RESET_S
    from gaincell.circuits.netlist import load_netlist

    text = load_netlist(f"{converter}_c2p_tb").text
    assert re.search(r"\btrst=(\S+)", text).group(1) == f"{TESTBENCH_RESET_S * 1e9:g}n"
    assert 0 < RESET_WINDOW_S[0] < RESET_WINDOW_S[1] < TESTBENCH_RESET_S


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


@pytest.mark.spice
def test_bisection_finds_the_shipped_switching_point():
    """relu-c2p-step at tt/27 C with two offsets: the minimum pulse just above the point it
    finds, and the point itself where the shipped file has it."""
    from gaincell.characterize import read_characterization
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    spec = SweepSpec(
        circuit="relu-c2p-step",
        axes={"offset": Axis(0.1e-15, 0.4e-15, 2)},
        corners=("tt",),
        temperatures=(27.0,),
        settings={"time_step": 20e-12},
    )
    arrays, report = simulate_spec(spec, jobs=1, progress=False)
    assert not [f for task in report.tasks for f in task.failures]
    width, point = arrays["width"][0, 0], arrays["point"][0, 0]
    assert np.all(width > 0.2e-9) and width[1] > width[0]
    shipped = read_characterization(CHARACTERIZATION_DIR / "relu_c2p_step_sky130.h5")
    at_27 = shipped.select("point", corner="tt", temperature=27.0)
    assert point[0] == pytest.approx(float(np.ravel(at_27)[0]), abs=0.05e-15)
    with pytest.raises(SpecError, match="positive only"):
        SweepSpec(circuit="relu-c2p-step", axes={"offset": Axis(-1e-15, 1e-15, 3)})


def test_step_surrogates_place_the_converters_switch():
    """The array's converter transfer switches where the bisections found the points, with
    the output the step sweep measured either side (no SPICE: shipped surrogates)."""
    from gaincell.surrogate import load
    from gaincell.surrogate.converter import ConverterTransfer, aux_at

    for name in ("relu-c2p", "signed-c2p"):
        near = load(f"{name}-step")
        offset = float(near.nodes["offset"][1])
        for corner, temperature in (("ss", 85.0), ("ff", -40.0), ("fs", 41.0)):
            transfer = ConverterTransfer.from_surrogate(load(name), corner, temperature, near=near)
            on = aux_at(near, "on_threshold", corner, temperature)
            above = near(offset=offset, temperature=temperature, corner=corner)
            width, negative = transfer(np.array([on + offset]))
            assert width[0] == pytest.approx(float(above), rel=1e-9) and not negative[0]
            if name == "relu-c2p":
                assert transfer.threshold == on
                assert transfer(np.array([on - 1e-19]))[0][0] == 0.0
                continue
            flip = aux_at(near, "sign_threshold", corner, temperature)
            assert transfer.threshold == flip <= on
            width, negative = transfer(np.array([flip - offset, 0.5 * (flip + on)]))
            assert negative.tolist() == [True, flip == on]
            assert width[0] > 0.3e-9
            if on > flip:  # the dead band: a positive sign and no pulse
                assert width[1] == 0.0


@pytest.mark.spice
@pytest.mark.slow
def test_comparator_remembers_an_excursion():
    """relu-c2p-recovery at ss / 85 C: a 100 mV excursion ending 1.5 ns before the window
    moves the switching point well above the rested and static ones (the rested one above the
    static one too), and the comparator model fitted on the points reproduces them."""
    from gaincell.characterize.converter_recovery import EXCURSION_C_PER_V, STATIC_GAP_S, TIMING
    from gaincell.surrogate.recovery import fit_recovery, switching_points

    spec = SweepSpec(
        circuit="relu-c2p-recovery",
        axes={"excursion": Axis(0.01, 0.1, 2, "log"), "gap": Axis(1.5e-9, 3e-9, 2)},
        corners=("ss",),
        temperatures=(85.0,),
    )
    arrays, report = simulate_spec(spec, jobs=2, progress=False)
    assert not [f for task in report.tasks for f in task.failures]
    points = arrays["point"][0, 0]  # (excursion, gap)
    rested = arrays["rested_point"][0, 0, 0]
    static = float(arrays["static_point"][0, 0, 0, 0])
    assert 1e-15 < static < 6e-15
    assert np.all(rested > static + 0.1e-15)
    assert rested[0] > rested[1]  # the shorter gap
    assert np.all(points > rested) and points[1, 0] > static + 3e-15
    excursion = np.repeat(spec.axes["excursion"].values() * EXCURSION_C_PER_V, 2)
    gap = np.tile(spec.axes["gap"].values(), 2)
    timing = TIMING
    model = fit_recovery(
        np.concatenate([excursion, [0, 0, 0]]),
        np.concatenate([gap, spec.axes["gap"].values(), [STATIC_GAP_S]]),
        np.concatenate([points.ravel(), rested, [static]]),
        static,
        timing,
    )
    assert model.fit_max_error < 1.5e-15
    fitted = switching_points(model, excursion, gap, timing)
    np.testing.assert_allclose(fitted, points.ravel(), atol=1.5e-15)
