"""The floating-cell pulse characterization: charge per PWM pulse, and why it is needed."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.store import read_characterization
from gaincell.characterize.sweep import run_sweep


@pytest.mark.spice
def test_pulse_charge_is_affine_in_width_and_exceeds_the_dc_current(tmp_path):
    spec = SweepSpec(
        circuit="multiplier-pulse",
        axes={
            "v_store": Axis(0.45, 1.35, 3),
            "v_col": Axis(0.6, 0.9, 2),
            "width": Axis(0.0, 15e-9, 16),
        },
        corners=("tt",),
        temperatures=(27.0,),
    )
    out = run_sweep(spec, tmp_path / "pulse.h5", jobs=1, progress=False)
    assert out.points == 96
    data = read_characterization(tmp_path / "pulse.h5")
    # (v_store, width) with the column at mid-rail
    charge = data.select("charge", corner="tt", temperature=27.0, v_col=0.9)
    widths = data.axes["width"].values
    assert np.all(np.abs(charge[:, 0]) < 1e-17)  # no pulse, no charge
    # sign of the weight; monotone in width; affine for w > 0 (edges add a fixed charge)
    assert np.all(np.diff(charge[0, 1:]) < 0) and np.all(np.diff(charge[2, 1:]) > 0)
    for row in charge:
        slope, offset = np.polyfit(widths[1:], row[1:], 1)
        assert np.max(np.abs(np.polyval([slope, offset], widths[1:]) - row[1:])) < 2e-16
    # the floating storage node: a 15 ns pulse delivers more than I_DC x 15 ns (held node)
    from gaincell.surrogate import load

    held = load("multiplier").at(corner="tt", temperature=27.0, v_in=1.8)
    ratio = charge[[0, 2], -1] / (held(v_store=np.array([0.45, 1.35])) * 15e-9)
    assert np.all((ratio > 1.05) & (ratio < 1.4))
    # energy: the two enable drivers cost the same for every pulse (their gate loads), the
    # supply what a sourcing cell gives the column at 1.8 V, little for a sinking one
    from gaincell.circuits.design import V_DD

    supply = data.select("e_supply", corner="tt", temperature=27.0, v_col=0.9)
    drivers = data.select("e_drivers", corner="tt", temperature=27.0, v_col=0.9)
    total = data.select("energy", corner="tt", temperature=27.0, v_col=0.9)
    assert np.allclose(total, supply + drivers)
    assert np.all(np.abs(drivers[:, 0]) < 1e-17) and np.all(np.abs(supply[:, 0]) < 1e-15)
    assert np.ptp(drivers[:, 1:]) < 0.1 * drivers[:, 1:].mean()  # about the same per pulse
    assert 2e-15 < drivers[:, 1:].mean() < 20e-15
    sourced = -charge[0, 1:]  # v_store 0.45 V sources charge into the column
    assert np.allclose(supply[0, 1:], V_DD * sourced, rtol=0.05, atol=1e-15)
    assert np.all(supply[2, 1:] < 0.2 * supply[0, 1:])  # a sinking cell draws little


def test_count_until_sets_the_end_of_the_counts_whatever_the_widths():
    """Sweeps of short widths count a pulse's charge and energy to the same end as the long
    sweep (setting count_until); 0 keeps the longest width + 3 ns; too short is refused."""
    from gaincell.characterize.axes import SpecError
    from gaincell.characterize.multiplier_pulse import MultiplierPulseCharacterization as Pulse

    def stop(settings: dict[str, float]) -> str:
        spec = SweepSpec(
            "multiplier-pulse",
            corners=("tt",),
            temperatures=(27.0,),
            axes={"width": Axis(0.0, 0.9e-9, 4)},
            settings=settings,
        )
        return Pulse()._value_commands(spec, 0.9)[-1].split()[-1]

    t_pulse = 10e-9 + 5e-9
    assert float(stop({})) == pytest.approx(t_pulse + 0.9e-9 + 3e-9)
    assert float(stop({"count_until": 18e-9})) == pytest.approx(t_pulse + 18e-9)
    with pytest.raises(SpecError, match="count_until"):
        stop({"count_until": 2e-9})


def test_widths_up_to_the_testbench_threshold_are_no_pulse_in_the_surrogate(tmp_path):
    """The testbench gives no pulse for a width up to 1 ps (its ``wk > 1p`` test): a grid
    surrogate over the width returns the zero-width value there, the pulse's above it, and
    keeps that threshold through save and load."""
    from gaincell.characterize.multiplier_pulse import NO_PULSE_UP_TO_S
    from gaincell.circuits.netlist import load_netlist
    from gaincell.surrogate import load, save
    from gaincell.surrogate.models import Domain, GridSurrogate

    assert "> 1p ?" in load_netlist("multiplier_pulse_tb").text
    assert NO_PULSE_UP_TO_S == 1e-12
    widths = np.array([0.0, 4e-12, 8e-12, 12e-12])
    model = GridSurrogate(
        nodes={"width": widths},
        values=np.array([[0.0, 10.0, 11.0, 12.0]]),
        method="linear",
        step_axes=("width",),
        step_from=NO_PULSE_UP_TO_S,
        circuit="multiplier-pulse",
        quantity="energy",
        units="J",
        domain=Domain({"width": (0.0, 12e-12)}, {"width": "s"}, ("tt",)),
    )
    probe = np.array([0.0, 0.5e-12, 1e-12, 2e-12, 4e-12, 6e-12])
    expected = [0.0, 0.0, 0.0, 9.5, 10.0, 10.5]  # above 1 ps: the pulse's line continued down
    np.testing.assert_allclose(model(width=probe, corner="tt"), expected)
    again = load(save(model, tmp_path / "step.h5"))
    np.testing.assert_allclose(again(width=probe, corner="tt"), expected)
