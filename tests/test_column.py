"""The MAC on a moving column (attention.column) and the converters' step
(surrogate.converter): numpy only, against closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaincell.attention.column import (
    MESH_STEP_S,
    mac_charge,
    mac_mesh,
    mean_powers,
    pulse_end_drops,
)


def test_mean_powers_match_numerical_means():
    x_a, x_b = np.array([-0.3, 0.2, 0.1]), np.array([0.4, 0.2, -0.5])
    means = mean_powers(x_a, x_b, 3)
    ramp = np.linspace(0.0, 1.0, 200_001)[:, None]
    x = x_a + (x_b - x_a) * ramp
    for k in range(4):
        np.testing.assert_allclose(means[:, k], np.mean(x**k, axis=0), rtol=1e-4, atol=1e-9)


def test_the_mac_mesh_is_numpys_linspace_over_the_longest_width():
    rng = np.random.default_rng(4)
    for longest in [*rng.uniform(1e-12, 40e-9, 2000), *(np.arange(1, 41) * 1.00036012e-9)]:
        widths = np.array([[0.0, longest * 0.5, longest]])
        steps = max(1, int(np.ceil(longest / MESH_STEP_S)))
        np.testing.assert_array_equal(mac_mesh(widths), np.linspace(0.0, longest, steps + 1))
    np.testing.assert_array_equal(mac_mesh(np.zeros((2, 3))), [0.0])


def test_constant_currents_give_the_ideal_products():
    rng = np.random.default_rng(1)
    currents = rng.uniform(-6e-6, 6e-6, (2, 8, 5))  # (batch, rows, cols)
    edge = rng.uniform(-3e-15, 1e-15, (2, 8, 5))
    widths = rng.uniform(0, 15e-9, (2, 8))
    widths[:, 0] = 0.0  # a row without a pulse adds neither current nor edge charge
    coefficients = np.concatenate([currents[..., None], np.zeros((2, 8, 5, 3))], axis=-1)
    charge = mac_charge(coefficients, edge, widths, 2e-12, (-0.6, 0.6))
    ideal = np.einsum("brc,br->bc", currents, widths) + np.einsum(
        "brc,br->bc", edge, (widths > 0).astype(float)
    )
    np.testing.assert_allclose(charge, ideal, rtol=1e-12, atol=1e-24)


def test_linear_column_conductance_matches_the_exponential_solution():
    # One row, current a + g x with x = -Q / C: Q(t) = (a C / g) (1 - exp(-g t / C)).
    a, g, capacitance, width = 5e-6, 60e-6, 2e-12, 15e-9
    coefficients = np.array([[[[a, g, 0.0, 0.0]]]])
    no_edge, widths = np.zeros((1, 1, 1)), np.array([[width]])
    charge = mac_charge(coefficients, no_edge, widths, capacitance, (-1, 1))
    exact = a * capacitance / g * (1 - np.exp(-g * width / capacitance))
    assert charge[0, 0] == pytest.approx(exact, rel=1e-4)
    assert exact < a * width * 0.85  # the column's drop matters here (more than 15 %)


def test_cell_loads_share_the_charge_as_capacitors_do():
    """Constant currents, every row idle-loaded and one row's conducting load: the column's
    final drop is the charge over everything on the line while the rows conduct; the
    converter counts the drop times its own and the idle loads' capacitance."""
    capacitance, idle, extra = 2e-12, 0.6e-15, 0.7e-15
    currents = np.array([3e-6, -1e-6, 2e-6])
    width = 10e-9  # every row conducts the whole MAC: the line's capacitance is constant
    coefficients = np.zeros((1, 3, 1, 5))
    coefficients[0, :, 0, 0] = currents
    coefficients[0, :, 0, -1] = extra
    widths = np.full((1, 3), width)
    charge = mac_charge(
        coefficients,
        np.zeros((1, 3, 1)),
        widths,
        capacitance,
        (-1, 1),
        idle_load=idle,
        conducting_load=True,
    )[0, 0]
    line = capacitance + 3 * (idle + extra)
    expected = (capacitance + 3 * idle) * currents.sum() * width / line
    assert charge == pytest.approx(expected, rel=1e-12)
    # Without loads the same call gives the plain product.
    bare = mac_charge(coefficients[..., :-1], np.zeros((1, 3, 1)), widths, capacitance, (-1, 1))
    assert bare[0, 0] == pytest.approx(currents.sum() * width, rel=1e-12)


def test_a_row_that_stops_keeps_its_conducting_load_charge():
    """A row that conducts only at the start takes its extra load's share of the early drop
    with it: Euler reference with the line's capacitance changing at the pulse end."""
    capacitance, idle, extra = 2e-12, 0.6e-15, 50e-15  # a large extra load to see it
    coefficients = np.array([[[[4e-6, 0, 0, 0, extra]], [[0.0, 0, 0, 0, extra]]]])
    widths = np.array([[15e-9, 4e-9]])
    charge = mac_charge(
        coefficients,
        np.zeros((1, 2, 1)),
        widths,
        capacitance,
        (-1, 1),
        idle_load=idle,
        conducting_load=True,
    )[0, 0]
    u, dt = 0.0, 1e-12
    for t in np.arange(0, 15e-9, dt):
        line = capacitance + 2 * idle + extra * ((t < 15e-9) + (t < 4e-9))
        u += dt * 4e-6 / line
    assert charge == pytest.approx((capacitance + 2 * idle) * u, rel=1e-4)


def test_rows_stop_conducting_at_their_own_pulse_end():
    # Two rows, constant current plus a column term: the second only for its own width.
    capacitance = 2e-12
    coefficients = np.array([[[[4e-6, 20e-6, 0, 0]], [[3e-6, 20e-6, 0, 0]]]])
    widths = np.array([[15e-9, 5e-9]])
    charge = mac_charge(coefficients, np.zeros((1, 2, 1)), widths, capacitance, (-1, 1))[0, 0]
    # Reference: explicit Euler on a fine grid.
    q, dt = 0.0, 1e-13
    for t in np.arange(0, 15e-9, dt):
        x = -q / capacitance
        rows = zip(coefficients[0, :, 0], widths[0], strict=True)
        q += dt * sum(c[0] + c[1] * x for c, w in rows if t < w)
    assert charge == pytest.approx(q, rel=2e-4)


def test_turn_off_charge_arrives_when_each_pulse_ends():
    """The edge charge split: its turn-on part at the start, the turn-off part at each row's
    end. The total is the same; the column's path (and so the currents that depend on it)
    follows the split: Euler reference on a fine grid."""
    capacitance, g = 2e-12, 40e-6
    edge, q_off = np.array([-2.0e-15, 1.0e-15]), np.array([0.4e-15, 0.5e-15])
    coefficients = np.zeros((1, 2, 1, 5))
    coefficients[0, :, 0, 0] = [3e-6, -1e-6]
    coefficients[0, :, 0, 1] = g
    coefficients[0, :, 0, -1] = q_off
    widths = np.array([[15e-9, 6e-9]])
    edges = edge.reshape(1, 2, 1)
    path = mac_charge(
        coefficients, edges, widths, capacitance, (-1, 1), turn_off_charge=True, trajectory=True
    )
    q, dt = float((edge - q_off).sum()), 1e-12
    for t in np.arange(0, 15e-9, dt):
        on = [t < w for w in widths[0]]
        x = -q / capacitance
        q += dt * sum(c[0] + c[1] * x for c, o in zip(coefficients[0, :, 0], on, strict=True) if o)
        if not on[1] and t - dt < widths[0, 1]:  # row 1 just stopped: its turn-off part
            q += q_off[1]
    q += q_off[0]
    assert path.charge[0, 0] == pytest.approx(q, rel=2e-3)
    # The path starts at the turn-on charges and ends at the final drop.
    assert path.drop[0, 0, 0] * capacitance == pytest.approx((edge - q_off).sum())
    assert path.drop[0, 0, -1] * capacitance == pytest.approx(path.charge[0, 0])
    plain = mac_charge(coefficients[..., :-1], edges, widths, capacitance, (-1, 1))
    assert abs(plain[0, 0] - path.charge[0, 0]) > 0.05e-15  # the split changes the charge


def test_comparator_model_switches_later_after_an_excursion():
    """surrogate.recovery: a rested comparator switches at its static point; after the
    column was above mid-rail it needs more charge, the more the shorter the gap, and the
    first-order hold matches a fine explicit integration."""
    from gaincell.surrogate.recovery import FIT_SUBSTEPS, ComparatorRecovery, switching_points

    model = ComparatorRecovery(tau=1.4e-9, soft=4.0e-15, static=3e-15, center=7e-15)
    timing = np.array([15e-9, 32e-9, 1e-9, 12e-9, 2e-12])
    rested = switching_points(model, np.array([0.0]), np.array([12e-9]), timing)
    assert rested[0] == pytest.approx(3e-15, abs=0.01e-15)
    gaps = np.array([1.5e-9, 3e-9, 4.5e-9])
    after = switching_points(model, np.full(3, 100e-15), gaps, timing)
    assert np.all(np.diff(after) < 0) and np.all(after > 3.05e-15)
    # pulses() on the testbench's own path (lifted over 1 ns, ramp back ending 2 ns before
    # the window) agrees with the bisected point either side of it.
    point = switching_points(model, np.array([100e-15]), np.array([2e-9]), timing)[0]
    times = np.array([0.0, 1e-9, 14e-9, 15e-9])
    charges = np.array([[0.0, -100e-15, -100e-15, point + d] for d in (0.05e-15, -0.05e-15)])
    assert list(model.pulses(times, charges, 17e-9, FIT_SUBSTEPS)) == [True, False]
    # The array simulation's coarser cuts (4 per 1 ns) move it by less than 0.3 fC here.
    margin = np.array([[0.0, -100e-15, -100e-15, point + d] for d in (0.3e-15, -0.3e-15)])
    assert list(model.pulses(times, margin, 17e-9)) == [True, False]
    # The first-order hold against a fine explicit integration of the same path.
    for final in (point + 0.3e-15, point - 0.3e-15):
        fine = np.linspace(0, 15e-9, 6001)
        path = np.interp(fine, times, [0.0, -100e-15, -100e-15, final])
        drive = model.drive(path)
        state = model.rested_state()
        for a, b in itertools.pairwise(drive):
            state += (0.5 * (a + b) - state) * (1 - np.exp(-2.5e-12 / model.tau))
        state += (drive[-1] - state) * (1 - np.exp(-2e-9 / model.tau))
        path_knots = np.array([[0.0, -100e-15, -100e-15, final]])
        assert (state > 0) == model.pulses(times, path_knots, 17e-9)[0]


def _converter(widths: np.ndarray, aux: dict[str, float]):
    from gaincell.surrogate.models import Domain, GridSurrogate

    nodes = np.array([-30e-15, -20e-15, -10e-15, 0.0, 10e-15, 20e-15, 30e-15])
    temperatures = np.array([27.0, 85.0])
    model = GridSurrogate(
        nodes={"charge": nodes, "temperature": temperatures},
        values=np.stack([widths, widths], axis=-1)[None],
        circuit="c2p",
        quantity="width",
        units="s",
        domain=Domain(
            {"charge": (nodes[0], nodes[-1]), "temperature": (27.0, 85.0)},
            {"charge": "C", "temperature": "degC"},
            ("tt",),
        ),
    )
    for name, value in aux.items():
        model.aux[name] = (np.full((1, 2), value), "C", "")
    model.aux["temperatures"] = (temperatures, "degC", "")
    return model


def test_relu_converter_switches_on_at_its_threshold():
    from gaincell.surrogate.converter import ConverterTransfer

    widths = np.array([0.0, 0.0, 0.0, 0.0, 0.93e-9, 1.11e-9, 1.27e-9])
    relu = ConverterTransfer.from_surrogate(_converter(widths, {"on_threshold": 5e-15}), "tt", 50)
    slope = (1.11e-9 - 0.93e-9) / 10e-15
    width, negative = relu(np.array([4.9e-15, 5.1e-15, 15e-15, -1e-12, 1e-12]))
    assert width[0] == 0.0  # linear interpolation would give 0.45 ns here
    assert width[1] == pytest.approx(0.93e-9 - slope * 4.9e-15, rel=1e-6)
    assert width[2] == pytest.approx(1.02e-9, rel=1e-6)
    assert width[3] == 0.0 and width[4] == pytest.approx(1.27e-9)  # flat beyond the nodes
    assert not negative.any()


def test_signed_converter_flanks_meet_at_the_sign_flip():
    from gaincell.surrogate.converter import ConverterTransfer

    widths = np.array([1.41e-9, 1.26e-9, 1.09e-9, 0.80e-9, 1.05e-9, 1.24e-9, 1.40e-9])
    model = _converter(widths, {"sign_threshold": 4e-15})
    signed = ConverterTransfer.from_surrogate(model, "tt", 27)
    width, negative = signed(np.array([3.9e-15, 4.1e-15, -15e-15]))
    left = 0.80e-9 + (0.80e-9 - 1.09e-9) / 10e-15 * 3.9e-15  # the negative flank, continued
    right = 1.05e-9 - (1.24e-9 - 1.05e-9) / 10e-15 * 5.9e-15
    assert width[0] == pytest.approx(left, rel=1e-6) and negative[0]
    assert width[1] == pytest.approx(right, rel=1e-6) and not negative[1]
    assert width[2] == pytest.approx(1.175e-9, rel=1e-6) and negative[2]


def test_pulse_end_drops_read_the_path_at_each_pulse():
    """A row's column drop at its pulse's end and its mean over the pulse, from the path at the
    mesh points (linear between, held after the last): against a fine numerical reading."""
    times = np.linspace(0.0, 6e-9, 7)
    rng = np.random.default_rng(4)
    drop = rng.uniform(-0.2, 0.3, (2, 3, times.size))  # (B, cols, S + 1)
    widths = np.array([[0.0, 0.4e-9, 2.5e-9, 6e-9, 7e-9], [1e-9, 3.3e-9, 5.9e-9, 0.0, 0.1e-9]])
    end, mean = pulse_end_drops(times, drop, widths)
    assert end.shape == mean.shape == (2, 5, 3)
    for b in range(2):
        for r, w in enumerate(widths[b]):
            for col in range(3):
                at_end = np.interp(w, times, drop[b, col])
                assert end[b, r, col] == pytest.approx(at_end, abs=1e-12)
                if w > 0:
                    fine = np.linspace(0.0, w, 20001)
                    over = np.trapezoid(np.interp(fine, times, drop[b, col]), fine) / w
                    assert mean[b, r, col] == pytest.approx(over, abs=1e-7)
