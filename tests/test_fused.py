"""The compiled kernels (attention.fused, the ``fast`` extra) against the numpy code they
stand for: the Picard integration bit for bit, the K and V columns' sums and paths and the
pulse energies to a sum's rounding, through whole heads with and without mismatch, batched,
with energy."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from gaincell.attention import fused
from gaincell.attention.column import mac_charge
from gaincell.attention.energy import energy_shipped
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig

numba = pytest.importorskip("numba", reason="the fast extra (numba) is not installed")


@pytest.mark.parametrize("conducting_load", [False, True])
@pytest.mark.parametrize("turn_off_charge", [False, True])
def test_picard_kernel_is_the_numpy_integration_bit_for_bit(
    monkeypatch, conducting_load, turn_off_charge
):
    rng = np.random.default_rng(7)
    batch, rows, cols, order = 2, 24, 9, 5
    terms = order + 1 + int(conducting_load) + int(turn_off_charge)
    coefficients = rng.normal(0.0, 1e-6, (batch, rows, cols, terms))
    coefficients[..., 0] = rng.uniform(0, 8e-6, (batch, rows, cols))  # mostly discharging
    coefficients[..., 1:] *= rng.uniform(1, 40, terms - 1)  # slopes of tens of uA / V
    if conducting_load:
        coefficients[..., order + 1] = rng.uniform(0, 4e-15, (batch, rows, cols))
    if turn_off_charge:
        coefficients[..., -1] = rng.uniform(-2e-15, 2e-15, (batch, rows, cols))
    edge = rng.uniform(-3e-15, 3e-15, (batch, rows, cols))
    widths = rng.uniform(0, 15e-9, (batch, rows))
    widths[:, :3] = 0.0  # rows without a pulse
    paths = {}
    for enabled in (False, True):
        monkeypatch.setattr(fused, "ENABLED", enabled)
        paths[enabled] = mac_charge(
            coefficients,
            edge,
            widths,
            2e-12,
            (-0.35, 0.35),  # tight: the clip is exercised
            idle_load=1e-15,
            conducting_load=conducting_load,
            turn_off_charge=turn_off_charge,
            trajectory=True,
        )
    np.testing.assert_array_equal(paths[True].charge, paths[False].charge)
    np.testing.assert_array_equal(paths[True].drop, paths[False].drop)
    assert np.max(paths[False].drop) > 0.35  # the columns moved past the clip


def _steps(
    circuits: HeadCircuits, config: HeadConfig, batch: tuple[int, ...], enabled: bool
) -> list:
    """A head's step results over a sequence longer than its window, kernels on or off."""
    previous = fused.ENABLED
    fused.ENABLED = enabled
    try:
        head = GainCellHead(circuits, config)
        head.reset(batch)
        rng = np.random.default_rng(3)
        tokens = config.window + 40
        q = rng.uniform(-0.2, 1.0, (*batch, tokens, config.d))
        q[..., ::5, :] *= 0.08  # short Q pulses (the short-pulse edge entries)
        k, v = (rng.uniform(-0.1, 0.9, (*batch, tokens, config.d)) for _ in range(2))
        return [head.step(q[..., t, :], k[..., t, :], v[..., t, :]) for t in range(tokens)]
    finally:
        fused.ENABLED = previous


@pytest.mark.skipif(not energy_shipped(), reason="the energy surrogates are not shipped")
@pytest.mark.parametrize(
    ("mismatch", "batch"),
    [(False, ()), (True, ()), (False, (2,))],
    ids=["nominal", "mismatch", "batch"],
)
def test_fused_head_is_the_numpy_head(mismatch, batch):
    circuits = HeadCircuits.from_surrogates("tt", 27.0, energy=True)
    config = HeadConfig(window=128, mismatch=mismatch, seed=5)
    numpy_steps = _steps(circuits, config, batch, enabled=False)
    fused_steps = _steps(circuits, config, batch, enabled=True)
    pulsed_short = 0
    for reference, step in zip(numpy_steps, fused_steps, strict=True):
        # the kernels' sums are the numpy path's terms in another order: equal to a sum's
        # rounding, and the converters' outputs (a pulse or none, 16 levels) the same
        np.testing.assert_array_equal(step.output, reference.output, "output")
        np.testing.assert_array_equal(step.phi > 0, reference.phi > 0, "phi pulses")
        np.testing.assert_allclose(step.phi, reference.phi, rtol=1e-12, atol=1e-15)
        for name in ("column_charge", "tile_charge"):
            np.testing.assert_allclose(
                getattr(step, name), getattr(reference, name), rtol=1e-12, atol=1e-27, err_msg=name
            )
        for name, value in reference.energy.items():
            np.testing.assert_allclose(step.energy[name], value, rtol=1e-12, err_msg=name)
        pulsed_short += int(np.sum((reference.phi > 0) & (reference.phi < 0.05)))
    assert np.any(fused_steps[-1].phi > 0) and np.any(fused_steps[-1].output != 0)
    assert pulsed_short > 0  # Phi gave short pulses too


def test_kernels_switch_off_by_environment():
    code = "from gaincell.attention import fused; print(fused.ENABLED, fused.backend())"
    env = dict(os.environ, GAINCELL_KERNELS="numpy")
    off = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert off.stdout.startswith("False numpy")
    env["GAINCELL_KERNELS"] = "numba"
    on = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert on.stdout.startswith(f"True numba {numba.__version__}")


def _compile_helpers() -> None:
    """Compile the kernels' helpers (the first kernel call binds the module's names to the
    compiled functions), so a test calls what the kernels call."""
    fused.code_width_counts(np.zeros((1, 1, 1), dtype=np.intp), np.zeros((1, 1), np.intp), 1, 1)


@pytest.mark.parametrize("uniform", [False, True], ids=["shipped-nodes", "equal-nodes"])
def test_row_helpers_are_the_numpy_weights(uniform):
    """The V kernel works out each row's conduction and short-pulse weights itself
    (fused._row_conduction, fused._short_tent): the numpy functions' values, bit for bit."""
    from gaincell.attention.column import conduction, mac_mesh
    from gaincell.attention.head import _short_weights
    from gaincell.surrogate.interpolate import uniform_step

    _compile_helpers()
    if uniform:
        nodes = np.linspace(4e-12, 6e-11, 15)
    else:  # as the shipped surrogates: two spacings, the last node repeated
        nodes = np.concatenate([np.arange(1, 16) * 4e-12, np.arange(2, 16) * 6e-11, [1e-9]])
    step = uniform_step(nodes) or 0.0
    assert (step > 0) == uniform
    rng = np.random.default_rng(11)
    widths = np.concatenate([rng.uniform(0, 1.3e-9, 300), rng.uniform(0, 7e-11, 300), nodes])
    widths = np.concatenate([widths, [1e-15, nodes[0] / 2, 0.0, 14.7e-9]])
    times = mac_mesh(widths)
    steps = times.size - 1
    expected_weights = _short_weights(nodes, widths)
    active = conduction(widths, times)
    for width, weights, row in zip(widths, expected_weights, active, strict=True):
        low, w_low, w_high = fused._short_tent(width, nodes, step)
        got = np.zeros(nodes.size)
        if low >= 0 and width > 0:
            got[low], got[low + 1] = w_low, w_high
        np.testing.assert_array_equal(got, weights, err_msg=f"width {width}")
        if width > 0:
            full, fraction = fused._row_conduction(width, times, steps)
            assert full == np.sum(row == 1.0)
            assert fraction == (row[full] if full < steps else 0.0)


def test_recovery_kernel_is_the_comparator_model():
    """fused.recovery_states against ComparatorRecovery.state (numpy) on random column paths
    ending near the switching point, where the comparator's memory decides."""
    from gaincell.surrogate.recovery import MESH_SUBSTEPS, cut_fractions, cut_points

    recovery = HeadCircuits.from_surrogates("ss", 85.0).relu_recovery
    assert recovery is not None
    rng = np.random.default_rng(12)
    times = np.linspace(0.0, 14.2e-9, 16)
    steps = rng.normal(0.0, 6e-15, (400, 16))
    charges = np.cumsum(steps, axis=1)
    charges += recovery.static - charges[:, -1:] + rng.normal(0.0, 4e-15, (400, 1))
    window = 17e-9
    expected = recovery.state(times, charges, window, MESH_SUBSTEPS)
    fractions = cut_fractions(MESH_SUBSTEPS)
    cuts = fused.cut_values(charges, fractions)
    np.testing.assert_array_equal(cuts, cut_points(charges, MESH_SUBSTEPS).T)
    drive = recovery.drive(cuts)
    got = fused.recovery_states(
        times, drive, window, fractions, recovery.tau, recovery.rested_state()
    )
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * scale)
    decided = np.abs(expected) > 1e-12 * scale
    assert np.array_equal(got[decided] > 0, expected[decided] > 0)
    assert 0.2 < np.mean(expected > 0) < 0.8  # both decisions are exercised


def test_width_nodes_are_the_numpy_weights():
    """fused._width_nodes (where each column stands on the energy's column nodes at the end
    of a pulse and over it, from its path) is attention.column.pulse_end_drops then
    attention.energy.node_interval, to a sum's rounding, widths past the mesh included."""
    from gaincell.attention.column import pulse_end_drops
    from gaincell.attention.energy import node_interval

    _compile_helpers()
    rng = np.random.default_rng(13)
    times = np.linspace(0.0, 12.5e-9, 14)
    drop = rng.normal(0.1, 0.45, (1, 5, times.size))
    widths = np.concatenate([[1e-12, times[5], times[-1], 14e-9], rng.uniform(0, 13e-9, 40)])
    nodes = np.linspace(0.3, 1.5, 5)
    v_mid = 0.9
    end, mean = pulse_end_drops(times, drop, widths[None])  # (1, widths, columns)
    path = np.ascontiguousarray(drop[0].T)  # columns last, as the kernels hold them
    integral = np.empty_like(path)
    step = times[1] - times[0]
    fused._trapezoids_block(path, step, integral, path.shape[1])
    lows = np.empty((2, path.shape[1]), dtype=np.intp)
    fractions = np.empty((2, path.shape[1]))
    for r, width in enumerate(widths):
        column_nodes = (v_mid, nodes[0], nodes[1] - nodes[0], nodes[-1], nodes.size)
        fused._width_nodes(
            path, integral, width, step, times[-1], path.shape[1], column_nodes, lows, fractions
        )
        for half, drops in enumerate((end[0, r], mean[0, r])):
            low, fraction = node_interval(nodes, v_mid - drops)
            np.testing.assert_array_equal(lows[half], low)
            np.testing.assert_allclose(fractions[half], fraction, rtol=0, atol=1e-12)
    assert len(np.unique(lows)) > 2  # the columns stand between several pairs of nodes


def test_pulsed_rows_kernel_is_the_stable_sort():
    """fused.pulsed_rows picks the same rows in the same order as head._pulsed_rows' numpy
    stable sort (pulsed rows first, then the first rows without a pulse as padding)."""
    from gaincell.attention.head import _pulsed_rows

    rng = np.random.default_rng(14)
    phi_width = np.where(rng.random((3, 256)) < 0.3, rng.uniform(0, 15e-9, (3, 256)), 0.0)
    phi_width[1, :64] = 0.0  # a tile without any pulse
    expected = _pulsed_rows(phi_width, 4, 64)  # fused.ENABLED is read at each call
    previous = fused.ENABLED
    fused.ENABLED = False
    try:
        reference = _pulsed_rows(phi_width, 4, 64)
    finally:
        fused.ENABLED = previous
    for got, want in zip(expected, reference, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(not energy_shipped(), reason="the energy surrogates are not shipped")
def test_conversion_sums_kernel_is_the_numpy_sum():
    """The converters' energy (energy.conversion_energy) by fused.table_pair_sums, both tables
    on one node set, is the numpy sum of the two np.interp lookups to a sum's rounding: at
    their nodes, between them and beyond both ends, one and two batch axes."""
    from gaincell.attention.energy import EnergyModels, conversion_energy

    models = EnergyModels.from_surrogates("ss", 85.0)
    rng = np.random.default_rng(15)
    for cycle, static in (
        (models.relu_cycle, models.relu_static),
        (models.signed_cycle, models.signed_static),
    ):
        nodes = static.nodes
        span = nodes[-1] - nodes[0]
        charges = rng.uniform(nodes[0] - 0.2 * span, nodes[-1] + 0.2 * span, 1200)
        charges[: min(nodes.size, 600)] = nodes[:600]  # at the nodes too
        for shaped, axes in ((charges.reshape(2, -1), (1,)), (charges.reshape(2, 3, -1), (1, 2))):
            got = conversion_energy(cycle, static, shaped, 65e-9, axes)
            previous = fused.ENABLED
            fused.ENABLED = False
            try:
                want = conversion_energy(cycle, static, shaped, 65e-9, axes)
            finally:
                fused.ENABLED = previous
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=1e-13)


def test_the_node_search_is_numpys_searchsorted():
    """fused._last_at_or_below (table_pair_sums' lookup, from energy.node_buckets) finds the
    node np.searchsorted does, on uniform, near-uniform and uneven nodes (nodes an ulp
    apart, repeated nodes, one node), at and between them, beyond both ends, at infinities
    and NaN."""
    from gaincell.attention.energy import node_buckets

    _compile_helpers()
    rng = np.random.default_rng(7)
    grids = [
        np.arange(54) * 1e-13 - 2e-12,
        np.union1d(np.arange(40) * 1e-13, np.arange(25) * 1.6e-13 + 3e-15),
        np.sort(rng.uniform(-1, 1, 30)),
        np.array([0.5]),
        np.array([0.0, 0.0, 1.0, 1.0, 2.0]),
        np.array([-1.0, 0.25, np.nextafter(0.25, 1.0), 0.26, 3.0]),
    ]
    for nodes in grids:
        probes = np.concatenate(
            [nodes, rng.uniform(nodes[0] - 1, nodes[-1] + 1, 500), [-np.inf, np.inf, np.nan]]
        )
        want = np.searchsorted(nodes, probes, side="right") - 1
        buckets = node_buckets(nodes)
        got = [fused._last_at_or_below(nodes, float(x), *buckets) for x in probes]
        np.testing.assert_array_equal(got, want)


def test_node_table_lookups_are_np_interp_bit_for_bit():
    """energy.NodeTable (the converters' widths, the energy tables) looks up by the compiled
    fused.table_lookup with the kernels on: np.interp's numbers bit for bit on even, uneven
    and ulp-spaced nodes (a converter's flip), at the nodes, between, beyond both ends and
    at infinities, for any input shape; np.interp itself where nodes repeat."""
    from gaincell.attention.energy import NodeTable

    rng = np.random.default_rng(21)
    grids = [
        np.arange(54) * 1e-13 - 2e-12,
        np.sort(rng.uniform(-1.0, 1.0, 40)),
        np.array([-3e-14, 0.0, np.nextafter(0.0, 1.0), 1e-15, 4e-14]),
        np.array([0.0, 1.0, 1.0, 2.0]),  # repeated: np.interp answers
    ]
    for nodes in grids:
        values = rng.normal(size=nodes.size)
        table = NodeTable(nodes, values)
        points = np.concatenate(
            [nodes, rng.uniform(nodes[0] - 1.0, nodes[-1] + 1.0, 3000), [-np.inf, np.inf]]
        )
        np.testing.assert_array_equal(table(points), np.interp(points, nodes, values))
        np.testing.assert_array_equal(
            table(points[:3000].reshape(3, 10, 100)),
            np.interp(points[:3000], nodes, values).reshape(3, 10, 100),
        )
        assert table(np.float64(nodes[0])).shape == ()
    assert NodeTable(grids[0], np.ones(54))._lookup is not None
    assert NodeTable(grids[3], np.ones(4))._lookup is None
