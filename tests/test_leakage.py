"""Retention: extraction on synthetic waveforms, the real leakage sweep, a forced failure."""

from __future__ import annotations

import numpy as np
import pytest

from gaincell.characterize import Axis, SpecError, SweepSpec
from gaincell.characterize.leakage import LeakageCharacterization
from gaincell.characterize.measure import LSB_V, energy, retention_time_constant, time_to_drift
from gaincell.characterize.store import read_characterization
from gaincell.characterize.sweep import run_sweep


@pytest.mark.parametrize(
    ("tau", "v0", "v_inf"), [(5e-3, 1.3, 0.1), (40e-3, 0.45, 0.9), (1e-4, 0.9, 0.0)]
)
def test_retention_recovered_from_a_synthetic_exponential(tau, v0, v_inf):
    t = np.geomspace(1e-7, 10 * tau, 400)
    v = v_inf + (v0 - v_inf) * np.exp(-t / tau)
    assert retention_time_constant(t, v) == pytest.approx(tau, rel=1e-6)
    # drift is measured from the first sample, at t[0] > 0
    expected = -tau * np.log(np.exp(-t[0] / tau) - LSB_V / abs(v0 - v_inf))
    assert time_to_drift(t, v, LSB_V) == pytest.approx(expected, rel=2e-3)


def test_no_decay_gives_nan_not_a_number_made_up():
    t = np.geomspace(1e-6, 1e-1, 20)
    assert np.isnan(retention_time_constant(t, np.full_like(t, 0.9)))
    assert np.isnan(time_to_drift(t, np.full_like(t, 0.9), LSB_V))


def test_energy_integrates_power():
    t = np.linspace(0, 1e-8, 101)
    assert energy(t, np.full_like(t, 2e-3), 0, 5e-9) == pytest.approx(1e-11)


@pytest.fixture(scope="module")
def leakage_file(tmp_path_factory):
    spec = SweepSpec(
        circuit="leakage",
        axes={"v_store": Axis(0.45, 1.35, 3), "time": Axis(1e-6, 0.05, 21, "log")},
        corners=("tt",),
        temperatures=(-40.0, 85.0),
    )
    out = tmp_path_factory.mktemp("leak") / "leak.h5"
    run_sweep(spec, out, jobs=1, progress=False)
    return read_characterization(out)


@pytest.mark.spice
def test_stored_values_decay_within_milliseconds(leakage_file):
    v_t = leakage_file.quantities["v_store_t"][0]  # temperature, v_store, time
    written = leakage_file.quantities["v_written"][0]
    # the 3.3 V word line falling pulls the node down by 12-36 mV (charge injection, feedthrough)
    assert np.all((written < [[0.45, 0.9, 1.35]]) & (written > [[0.41, 0.86, 1.30]]))
    assert np.all(np.abs(v_t[..., 0] - written) < 0.02)  # 1 us later: still there
    assert np.all(v_t[..., -1] < v_t[..., 0] - 0.05)  # 50 ms later: clearly decayed
    tau = leakage_file.quantities["tau"]
    assert np.all((tau > 1e-3) & (tau < 1.0))
    assert not np.allclose(tau[0, 0], tau[0, 1])  # temperature really changes the models


@pytest.mark.spice
def test_write_energy_is_positive_femtojoules(leakage_file):
    e = leakage_file.quantities["e_write"]
    assert np.all((e > 1e-17) & (e < 1e-12))


@pytest.mark.spice
def test_forced_convergence_failure_is_nan_with_reason_and_the_job_goes_on(tmp_path, monkeypatch):
    def with_a_bad_point(self, spec):
        values = spec.v_store.values().copy()
        values[1] = 1e4  # a 10 kV write: ngspice's transient cannot converge
        return values

    monkeypatch.setattr(LeakageCharacterization, "written_values", with_a_bad_point)
    spec = SweepSpec(
        circuit="leakage",
        axes={"v_store": Axis(0.45, 1.35, 3), "time": Axis(1e-6, 1e-3, 5, "log")},
    )
    out = tmp_path / "leak.h5"
    run_sweep(spec, out, jobs=1, progress=False)
    data = read_characterization(out)
    v_t = data.quantities["v_store_t"][0, 0]
    assert np.all(np.isnan(v_t[1])) and np.isnan(data.quantities["tau"][0, 0, 1])
    assert np.all(np.isfinite(v_t[[0, 2]]))  # the points before and after still ran
    (failure,) = data.provenance["failures"]
    assert failure["point"]["v_store"] == pytest.approx(1e4)
    assert "timestep too small" in failure["reason"].lower()


@pytest.mark.parametrize(
    ("settings", "axes", "message"),
    [
        ({"time_step": -1e-9}, {}, "time_step must be positive"),
        ({"time_step": 0.0}, {}, "time_step must be positive"),
        ({}, {"time": Axis(1e-6, 0.0, 5, "log")}, "hold time must be positive"),
        ({"hold": 1.0}, {}, "has no setting hold"),
    ],
)
def test_bad_leakage_specs(settings, axes, message):
    with pytest.raises(SpecError, match=message):
        SweepSpec(circuit="leakage", settings=settings, axes=axes)
