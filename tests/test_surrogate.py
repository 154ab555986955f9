"""Surrogates: fitting, fresh-SPICE validation, the domain policies, the file format, and the
paper's ten coefficients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator, RegularGridInterpolator

from gaincell.attention import PAPER_COEFFICIENTS as PAPER_COEFFICIENTS_TUPLE
from gaincell.cli import main as cli
from gaincell.surrogate import POLICIES, SurrogateError, load, save, shipped
from gaincell.surrogate.fitting import FitOptions, fit
from gaincell.surrogate.interpolate import interpolate
from gaincell.surrogate.models import compute_metrics

REPO = Path(__file__).resolve().parent.parent
PAPER_IV = REPO / "data/reference/paper_gain_cell_iv.npz"
PAPER_COEFFICIENTS = np.array(PAPER_COEFFICIENTS_TUPLE)


def test_paper_coefficients_are_reproduced_to_1e_4():
    model = fit(PAPER_IV, FitOptions(kind="poly", order=3, input_level=0.9))
    coefficients = model.coefficients_at()
    np.testing.assert_allclose(coefficients, PAPER_COEFFICIENTS, rtol=1e-4)
    # and the model is the paper's f(y): I_out at y = +-0.45 V in amperes
    assert model(v_store=0.9) == pytest.approx(10.31e-6, rel=2e-3)
    assert model.metrics.kind == "in-sample"


@pytest.mark.parametrize("method", ["linear", "pchip"])
def test_interpolation_matches_scipy(method):
    rng = np.random.default_rng(3)
    x, y = np.sort(rng.uniform(0, 9, 11)), np.sort(rng.uniform(-2, 2, 6))
    grid = np.sin(x)[:, None] * np.exp(y)[None, :]
    px, py = rng.uniform(x[0], x[-1], 500), rng.uniform(y[0], y[-1], 500)
    ours = interpolate([x, y], grid, [px, py], method)
    theirs = RegularGridInterpolator((x, y), grid, method=method)(np.c_[px, py])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    if method == "pchip":
        line = interpolate([x], np.sin(x), [px], "pchip")
        np.testing.assert_allclose(line, PchipInterpolator(x, np.sin(x))(px), atol=1e-12)


def test_cubic_is_exact_for_quadratics():
    rng = np.random.default_rng(4)
    x, y = np.sort(rng.uniform(0, 3, 9)), np.sort(rng.uniform(0, 3, 7))
    grid = (x**2)[:, None] - 2 * x[:, None] * y[None, :] + 3 * (y**2)[None, :]
    px, py = rng.uniform(x[0], x[-1], 300), rng.uniform(y[0], y[-1], 300)
    np.testing.assert_allclose(
        interpolate([x, y], grid, [px, py], "cubic"),
        px**2 - 2 * px * py + 3 * py**2,
        atol=1e-10,
    )


@pytest.fixture(scope="module")
def validated(small_sweep) -> object:
    """A grid surrogate of the small real sweep, validated against fresh ngspice points."""
    return fit(small_sweep, FitOptions(kind="grid", method="linear", holdout=5, seed=7), jobs=2)


@pytest.mark.spice
def test_fit_validates_against_fresh_off_grid_spice_points(validated, small_sweep):
    metrics = validated.metrics
    assert metrics.kind == "spice-holdout"
    # 5 x 15 lattice at the one off-grid temperature (56 C, between 27 and 85), per corner
    assert metrics.points == {"tt": 75, "ff": 75}
    assert set(validated.validation.inputs["temperature"]) == {56.0}
    inputs = validated.validation.inputs
    from gaincell.characterize.store import read_characterization

    grid = read_characterization(small_sweep).axes["v_store"].values
    assert np.min(np.abs(inputs["v_store"][:, None] - grid[None, :])) > 1e-4  # off-grid
    # A coarse 19 x 10 grid still stays within a few percent of full scale.
    assert metrics.worst() < 0.05
    assert 0.99 < metrics.worst("r2") <= 1.0


@pytest.mark.spice
def test_stored_metrics_match_a_recomputation(tmp_path, validated):
    path = save(validated, tmp_path / "m.h5")
    model = load(path)
    v = model.validation
    predicted = np.concatenate(
        [
            model(
                **{k: a[v.corner == i] for k, a in v.inputs.items()},
                corner=c,
                out_of_domain="extrapolate",
            )
            for i, c in enumerate(model.domain.corners)
        ]
    )
    order = np.concatenate(
        [np.flatnonzero(v.corner == i) for i in range(len(model.domain.corners))]
    )
    np.testing.assert_allclose(predicted, v.predicted[order], rtol=1e-12)
    again = compute_metrics(
        v.predicted,
        v.reference,
        v.corner,
        model.domain.corners,
        model.metrics.full_scale,
        model.metrics.kind,
    )
    for key in ("rmse_fs", "max_error_fs", "r2", "points"):
        assert getattr(again, key) == pytest.approx(getattr(model.metrics, key), rel=1e-12)


@pytest.mark.spice
def test_round_trip_save_load(tmp_path, validated):
    path = save(validated, tmp_path / "m.h5")
    model = load(path)
    rng = np.random.default_rng(0)
    vs, vi = rng.uniform(0.45, 1.35, 100), rng.uniform(0, 1.8, 100)
    for corner in ("tt", "ff"):
        np.testing.assert_array_equal(
            model(v_store=vs, v_in=vi, temperature=60.0, corner=corner),
            validated(v_store=vs, v_in=vi, temperature=60.0, corner=corner),
        )
    assert model.domain == validated.domain
    assert model.provenance["source_sha256"] == validated.provenance["source_sha256"]
    assert model.provenance["source_provenance"]["ngspice_version"]
    with h5py.File(path) as h5:
        assert h5.attrs["schema_version"] == 1
        assert h5["model/values"].attrs["units"] == "A"


@pytest.mark.spice
def test_broadcasting_and_positional_inputs(validated):
    out = validated(np.linspace(0.5, 1.3, 3)[:, None], np.linspace(0, 1.8, 4))
    assert out.shape == (3, 4)
    assert out[2, 3] == validated(v_store=1.3, v_in=1.8, temperature=27.0)
    with pytest.raises(SurrogateError, match="unknown input 'vin'"):
        validated(v_store=1.0, vin=1.0)
    with pytest.raises(SurrogateError, match="corner 'sf' not in"):
        validated(v_store=1.0, v_in=1.0, corner="sf")


@pytest.mark.spice
def test_domain_policies(validated):
    inside, outside = np.array([0.9, 1.35]), np.array([0.9, 1.5])
    with pytest.raises(SurrogateError, match=r"v_store=1.5 V is outside the domain \[0.45, 1.35\]"):
        validated(v_store=outside, v_in=1.8)
    assert validated.policy == "error" and set(POLICIES) == {"error", "clamp", "nan", "extrapolate"}
    clamped = validated(v_store=outside, v_in=1.8, out_of_domain="clamp")
    np.testing.assert_array_equal(clamped, validated(v_store=inside, v_in=1.8))
    nan = validated(v_store=outside, v_in=1.8, out_of_domain="nan")
    assert np.isfinite(nan[0]) and np.isnan(nan[1])
    extrapolated = validated(v_store=outside, v_in=1.8, out_of_domain="extrapolate")
    nodes = validated.nodes["v_store"]
    edge = validated(v_store=nodes[-2:], v_in=1.8)
    slope = (edge[1] - edge[0]) / (nodes[-1] - nodes[-2])
    assert extrapolated[1] == pytest.approx(edge[1] + slope * (1.5 - nodes[-1]), rel=1e-9)
    with pytest.raises(SurrogateError, match="temperature=100"):
        validated(v_store=1.0, v_in=1.0, temperature=100.0)


@pytest.mark.spice
def test_corrupt_and_foreign_files_give_clear_errors(tmp_path, small_sweep):
    with pytest.raises(SurrogateError, match="is not a gaincell surrogate file"):
        load(small_sweep)  # a characterization file, not a surrogate
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(SurrogateError, match="not a readable HDF5 file"):
        load(junk)
    damaged = tmp_path / "damaged.h5"
    save(fit(small_sweep, FitOptions(holdout=0)), damaged)
    with h5py.File(damaged, "a") as h5:
        del h5["model/values"]
    with pytest.raises(SurrogateError, match="damaged surrogate file"):
        load(damaged)
    with pytest.raises(SurrogateError, match="no shipped surrogate 'nonsense'"):
        load("nonsense")
    with pytest.raises(SurrogateError, match="not found"):
        load(tmp_path / "missing.h5")


KNOWN_MISSES: dict[str, float] = {}
"""Shipped surrogates that miss the 1 % target: worst hold-out error they are held to."""


def test_shipped_surrogates_load_without_ngspice_and_meet_their_targets():
    names = shipped()
    assert {
        "multiplier",
        "multiplier-poly",
        "multiplier-pulse",
        "cell-load",
        "leakage",
        "relu-c2p",
        "signed-c2p",
        "relu-c2p-step",
        "signed-c2p-step",
        "relu-c2p-recovery",
    } <= set(names)
    multiplier = load("multiplier")
    assert multiplier.metrics.kind == "spice-holdout"
    assert set(multiplier.domain.corners) == {"tt", "ss", "ff", "sf", "fs"}
    assert multiplier.metrics.worst() <= 0.01  # the target at every corner
    # Every shipped surrogate: within 1 % of full scale on fresh SPICE points, at the
    # off-grid temperatures of its hold-out too, but for the known misses (README), guarded
    # at their level.
    for name in names:
        metrics = load(name).metrics
        assert metrics.kind == "spice-holdout", name
        assert metrics.worst() <= KNOWN_MISSES.get(name, 0.01), (name, metrics.worst())
    # Loading and evaluating import neither PySpice nor the PDK code.
    code = (
        "import sys; from gaincell.surrogate import load; m = load('multiplier');"
        "m(v_store=1.2, v_in=1.8); l = load('leakage'); l.v_store(1e-3, 1.2);"
        "assert 'PySpice' not in sys.modules and 'gaincell.circuits.pdk' not in sys.modules, "
        "sorted(k for k in sys.modules if 'Spice' in k or 'pdk' in k)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize("name", ["multiplier-pulse", "relu-c2p", "multiplier"])
def test_outer_product_calls_give_the_numbers_of_the_general_path(name):
    """Inputs that vary along separate axes are evaluated one grid axis at a time (the head's
    tables): bit-identical to the same points broadcast in full, on and off the nodes, on the
    step axis's threshold, beyond the domain under every policy that allows it."""
    model = load(name)
    rng = np.random.default_rng(7)
    axes = {}
    count = 12 if len(model.inputs) <= 2 else 4  # enough points for the outer path
    for i, n in enumerate(model.inputs):
        lo, hi = model.domain.ranges[n]
        points = np.concatenate(
            [rng.uniform(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), count), model.nodes[n][:2]]
        )
        if n in model.step_axes:
            points = np.append(points, [lo, model.step_from or lo, 0.5 * model.nodes[n][1]])
        shape = [1] * len(model.inputs)
        shape[i] = -1
        axes[n] = points.reshape(shape)
    full = dict(zip(axes, (a.copy() for a in np.broadcast_arrays(*axes.values())), strict=True))
    for corner in model.domain.corners:
        for policy in ("extrapolate", "clamp", "nan"):
            fast = model(**axes, corner=corner, out_of_domain=policy)
            slow = model(**full, corner=corner, out_of_domain=policy)
            assert fast.shape == slow.shape
            assert np.array_equal(fast, slow, equal_nan=True), (corner, policy)
    inside = {n: np.clip(a, *model.domain.ranges[n]) for n, a in axes.items()}
    transposed = {n: np.swapaxes(a, 0, -1) for n, a in inside.items()}  # axes in another order
    broadcast = np.broadcast_arrays(*transposed.values())
    expected = model(**dict(zip(transposed, (a.copy() for a in broadcast), strict=True)))
    assert np.array_equal(model(**transposed), expected)


def test_leakage_surrogate_allows_any_hold_time():
    leakage = load("leakage")
    t_end = leakage.t_end
    v = leakage.v_store(
        np.array([0.0, t_end * (1 - 1e-9), t_end, t_end * (1 + 1e-9), 10.0, 1e3]),
        1.35,
        temperature=27.0,
    )
    assert v[0] < 1.35  # the write's feedthrough already took some
    assert v[1] == pytest.approx(v[2], abs=1e-6) and v[3] == pytest.approx(v[2], abs=1e-6)
    assert np.all(np.diff(v) <= 1e-9)  # decays monotonically from a high value
    v_inf = leakage.v_inf(v_store=1.35, temperature=27.0)
    assert v[-1] == pytest.approx(v_inf, abs=1e-6)


def test_charge_to_pulse_surrogates_show_relu_and_saturation():
    relu = load("relu-c2p")
    charge = np.linspace(*relu.domain.ranges["charge"], 400)
    width = relu(charge=charge)
    assert np.all(width[charge < -0.05e-12] == 0.0)
    assert np.all(np.diff(width) >= -1e-12)
    assert width[-1] == pytest.approx(15e-9, rel=0.03)
    signed = load("signed-c2p")
    magnitude = signed(charge=charge)
    assert magnitude[0] == pytest.approx(15e-9, rel=0.05)
    assert magnitude[-1] == pytest.approx(15e-9, rel=0.05)
    threshold = signed.aux["sign_threshold"][0]
    assert np.all(np.abs(threshold) < 0.15e-12)


@pytest.mark.spice
def test_cli_fit_and_list(tmp_path, small_sweep, capsys):
    out = tmp_path / "s.h5"
    assert (
        cli(["fit", str(small_sweep), "--kind", "poly", "--holdout", "0", "--out", str(out)]) == 0
    )
    assert load(out).kind == "poly"
    assert cli(["surrogates"]) == 0
    listing = capsys.readouterr().out
    assert "multiplier:" in listing and "spice-holdout" in listing
    assert (
        cli(
            [
                "fit",
                str(REPO / "data/characterization/mac_chain_sky130.h5"),
                "--out",
                str(tmp_path / "x.h5"),
            ]
        )
        == 2
    )
    assert "demonstration transient" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.spice
def test_positional_order_survives_save_and_load(tmp_path, validated):
    model = load(save(validated, tmp_path / "m.h5"))
    assert model.inputs == validated.inputs == ("v_store", "v_in", "temperature")
    assert model(1.2, 1.8) == validated(v_store=1.2, v_in=1.8)


@pytest.mark.spice
def test_files_differing_along_one_axis_merge(small_sweep):
    from dataclasses import replace

    from gaincell.characterize.store import read_characterization
    from gaincell.surrogate.fitting import merge_characterizations

    coarse = read_characterization(small_sweep)
    v_in = coarse.axes["v_in"]
    fine = replace(
        coarse,
        axes=coarse.axes | {"v_in": replace(v_in, values=v_in.values[:3] + 0.01)},
        quantities={k: v[..., :3] + 1.0 for k, v in coarse.quantities.items()},
    )
    merged = merge_characterizations([coarse, fine])
    values = merged.axes["v_in"].values
    assert values.size == v_in.values.size + 3 and np.all(np.diff(values) > 0)
    at = int(np.flatnonzero(np.isclose(values, v_in.values[1] + 0.01))[0])
    np.testing.assert_array_equal(
        merged.quantities["i_out"][..., at], coarse.quantities["i_out"][..., 1] + 1.0
    )
    # Blocks of a grid (two v_in ranges at two v_store ranges) merge a pair at a time.
    store = coarse.axes["v_store"]

    def shifted(part):
        return replace(
            part,
            axes=part.axes | {"v_store": replace(store, values=store.values + 2.0)},
            quantities={k: v + 10.0 for k, v in part.quantities.items()},
        )

    blocks = merge_characterizations([coarse, shifted(fine), fine, shifted(coarse)])
    assert blocks.axes["v_in"].values.size == values.size
    assert blocks.axes["v_store"].values.size == 2 * store.values.size
    np.testing.assert_array_equal(
        blocks.quantities["i_out"][..., store.values.size :, at],
        shifted(fine).quantities["i_out"][..., 1],
    )
    with pytest.raises(SurrogateError, match="one axis at a time"):
        merge_characterizations(
            [
                coarse,
                replace(
                    fine,
                    axes=fine.axes
                    | {
                        "v_store": replace(
                            coarse.axes["v_store"], values=coarse.axes["v_store"].values + 1
                        )
                    },
                ),
            ]
        )


def test_comparator_model_predicts_the_recovery_hold_out():
    """The ReLU comparator's model (surrogate/recovery.py), fitted at the characterized
    temperatures and refitted in between, predicts the recovery surrogate's fresh SPICE
    hold-out points (off-grid excursions, gaps and temperatures) at ss, the corner where the
    memory is largest, within 2 fC (the rested point alone misses them by up to 10 fC)."""
    from gaincell.surrogate.recovery import recovery_from_surrogate, switching_points

    surrogate = load("relu-c2p-recovery")
    held = surrogate.validation
    timing = np.asarray(surrogate.aux["timing"][0])
    corner = surrogate.domain.corners.index("ss")
    misses, shifts = [], []
    for temperature in np.unique(held.inputs["temperature"]):
        at = (held.corner == corner) & (held.inputs["temperature"] == temperature)
        model = recovery_from_surrogate(surrogate, "ss", float(temperature))
        predicted = switching_points(
            model, held.inputs["excursion"][at] * timing[4], held.inputs["gap"][at], timing
        )
        misses.append(np.max(np.abs(predicted - held.reference[at])))
        shifts.append(np.max(held.reference[at] - model.static))
    assert max(misses) < 2e-15, misses
    assert max(shifts) > 4e-15  # what the model is for
