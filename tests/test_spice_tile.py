"""SPICE attention tiles: netlist generator, bad input, whole tile = columns, HDF5 round trip."""

from __future__ import annotations

import hashlib
import re

import h5py
import numpy as np
import pytest

from gaincell.characterize import tile as st
from gaincell.characterize.measure import pulse_width
from gaincell.characterize.parallel import run_parallel
from gaincell.characterize.store import StoreError
from gaincell.circuits.runner import get_runner

ROWS, K_COLS, V_COLS = 16, 16, 8
"""Agreement check: a 16 x 16 K tile and a 16-row, 8-column V tile, at the production time
step. A whole 16 x 16 V tile takes ~60 s to load and 3.7 GB in ngspice, too much for the
suite; run by hand (at a 40 ps step) its widths were at most 4.4 ps from the column runs'."""


def _inputs(rows: int, cols: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    stored = rng.uniform(*st.STORE_RANGE, (rows, cols))
    widths = rng.uniform(0, st.T_MAX, rows)
    widths[:3] = (0.0, st.T_MAX, 30e-12)  # no pulse, full pulse, a pulse shorter than two edges
    return stored, widths


def _cells(text: str) -> list[tuple[int, int]]:
    return [(int(r), int(c)) for r, c in re.findall(r"^xr(\d+)c(\d+) ", text, re.MULTILINE)]


# -- netlist generation ----------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "converter"), [("k", "relu_c2p"), ("v", "signed_c2p")])
def test_tile_deck_has_every_cell_and_one_converter_per_column(kind, converter):
    stored, widths = _inputs(5, 3)
    deck = st.tile_deck(kind, stored, widths)
    text = deck.text
    assert sorted(_cells(text)) == [(r, c) for r in range(5) for c in range(3)]
    assert len(re.findall(rf"^xc2p_\d+ .* {converter}$", text, re.MULTILINE)) == 3
    assert len(re.findall(r"^vin\d+ ", text, re.MULTILINE)) == 5  # rows shared
    assert len(re.findall(r"^vw_\d+_\d+ ", text, re.MULTILINE)) == 15
    assert f"vw_4_2 wv_4_2 0 {stored[4, 2]:.9g}" in text
    assert len(re.findall(r"^bw_\d+_\d+ .*v\(park\)", text, re.MULTILINE)) == 15  # bit lines park
    assert ".subckt gaincell_multiplier" in text and f".subckt {converter}" in text
    assert ("sign_0" in text) == (kind == "v")
    assert text.rstrip().endswith(".end")


def test_column_deck_is_a_one_column_tile_deck():
    stored, widths = _inputs(4, 1)
    column = st.column_deck("v", stored[:, 0], widths)
    assert column.text == st.tile_deck("v", stored, widths).text
    assert _cells(column.text) == [(r, 0) for r in range(4)]
    assert _cells(st.column_deck("k", [0.9], [1e-9]).text) == [(0, 0)]


@pytest.mark.parametrize("width", [0.0, 5e-13, 30e-12, 99e-12, 1e-9, 15e-9])
def test_input_pulse_has_the_requested_width_at_half_supply(width):
    points = np.array(st._pulse_points(width))
    assert len(points) == 5  # the alter commands rely on a fixed point count
    t = np.concatenate((points[:, 0], [40e-9]))
    v = np.concatenate((points[:, 1], [0.0]))
    expected = width if width >= st.MIN_WIDTH else 0.0
    assert pulse_width(t, v, st.V_DD / 2, 0.0, 40e-9) == pytest.approx(expected, abs=1e-18)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: st.tile_deck("x", np.full((2, 2), 0.9), [0, 0]), "kind must be"),
        (lambda: st.tile_deck("k", [0.9, 0.9], [0, 0]), "stored must have 2 dimension"),
        (lambda: st.column_deck("k", np.full((2, 2), 0.9), [0, 0]), "stored must have 1"),
        (lambda: st.tile_deck("k", np.full((2, 2), 0.9), [0, 0, 0]), "widths has 3 entries"),
        (lambda: st.tile_deck("k", np.full((0, 2), 0.9), []), "must not be empty"),
        (lambda: st.column_deck("k", [0.9, 1.4], [0, 0]), r"stored must lie in \[0.45, 1.35\]"),
        (lambda: st.column_deck("v", [0.9, 0.4], [0, 0]), r"stored\[1\] = 0.4"),
        (lambda: st.column_deck("k", [0.9], [-1e-9]), r"widths must lie in \[0, 1.5e-08\]"),
        (lambda: st.column_deck("k", [0.9], [16e-9]), "widths"),
        (lambda: st.column_deck("k", [np.nan], [0]), "stored holds NaN"),
        (lambda: st.column_deck("k", ["a"], [0]), "stored must be numbers"),
        (lambda: st.column_deck("k", [0.9], [0], corner="xx"), "unknown corner"),
    ],
)
def test_bad_deck_input_is_a_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("q", "k", "v", "message"),
    [
        (np.full(4, 1.2), np.full((3, 4), 0.5), np.full((3, 4), 0.5), r"q must lie in \[0, 1\]"),
        (np.full(4, 0.5), np.full((3, 4), -0.1), np.full((3, 4), 0.5), r"k must lie in \[0, 0.9\]"),
        (np.full(4, 0.5), np.full((3, 4), 0.5), np.full((3, 4), 0.95), r"v\[0, 0\] = 0.95"),
        (np.full(4, 0.5), np.full((3, 5), 0.5), np.full((3, 5), 0.5), r"k must be \(tokens, 4\)"),
        (np.full(4, 0.5), np.full((3, 4), 0.5), np.full((4, 4), 0.5), "v must have the shape"),
        (np.full((4, 1), 0.5), np.full((3, 4), 0.5), np.full((3, 4), 0.5), "q must have 1"),
        (np.full(4, 0.5), np.full(4, 0.5), np.full((3, 4), 0.5), "k must have 2"),
    ],
)
def test_bad_case_is_a_value_error_before_any_simulation(q, k, v, message):
    with pytest.raises(ValueError, match=message):
        st.run_tile_case(q, k, v, jobs=1)


def test_bad_run_settings_are_value_errors():
    case = st.draw_case(2, seed=1)
    with pytest.raises(ValueError, match="unknown corner"):
        st.run_tile_case(case.q, case.k, case.v, corner="typ")
    with pytest.raises(ValueError, match="temperature"):
        st.run_tile_case(case.q, case.k, case.v, temperature=float("nan"))
    with pytest.raises(ValueError, match="n_cases"):
        st.run_tile_cases(0, size=2)
    with pytest.raises(ValueError, match="size"):
        st.draw_case(0)


def test_draws_are_reproducible_and_in_range():
    a, b = st.draw_case(8, seed=5, index=2), st.draw_case(8, seed=5, index=2)
    np.testing.assert_array_equal(a.k, b.k)
    assert not np.array_equal(a.k, st.draw_case(8, seed=5, index=3).k)
    assert a.q.shape == (8,) and a.k.shape == a.v.shape == (8, 8)
    assert a.q.min() >= 0 and a.q.max() <= 1 and a.k.min() >= 0 and a.v.max() <= 0.9
    np.testing.assert_allclose(st.k_tile_stored(a), a.k.T + 0.45)
    np.testing.assert_allclose(st.v_tile_stored(a), a.v + 0.45)


# -- whole tile versus one column per run ----------------------------------------------------
def _job(mode: str, kind: str, stored: np.ndarray, widths: np.ndarray) -> st.ColumnMeasurements:
    if mode == "whole":
        return st.run_tile(kind, stored, widths)
    return st.run_columns(kind, stored, widths, jobs=1)


@pytest.fixture(scope="module")
def agreement() -> dict[str, st.ColumnMeasurements]:
    """Both whole tiles and both column-wise runs, over two worker processes (~65 s: the whole
    K tile alone takes ~60 s, the whole V tile and the 24 column runs share the other core)."""
    k_stored, k_widths = _inputs(ROWS, K_COLS)
    v_stored, v_widths = _inputs(ROWS, V_COLS, seed=4)
    jobs = [
        ("whole", "k", k_stored, k_widths),
        ("whole", "v", v_stored, v_widths),
        ("columns", "k", k_stored, k_widths),
        ("columns", "v", v_stored, v_widths),
    ]
    runs = run_parallel(_job, jobs, jobs=2, progress=False)
    return {f"{mode}_{kind}": run for (mode, kind, _, _), run in zip(jobs, runs, strict=True)}


@pytest.mark.slow
@pytest.mark.spice
@pytest.mark.parametrize("kind", ["k", "v"])
def test_whole_tile_and_column_runs_agree(agreement, kind):
    whole, columns = agreement[f"whole_{kind}"], agreement[f"columns_{kind}"]
    assert not whole.failed and not columns.failed
    # Measured: widths at most 2.0 ps apart (K and V), from the different time steps a shared
    # transient takes; charges within 0.02 fC, column voltages within 0.01 mV.
    assert np.max(np.abs(whole.width - columns.width)) < 10e-12
    np.testing.assert_allclose(whole.charge, columns.charge, atol=0.2e-15)
    np.testing.assert_allclose(whole.v_col, columns.v_col, atol=0.1e-3)
    # The write now charges the cells from mid-rail inside the run: step-size differences
    # leave the stored values a few uV apart.
    np.testing.assert_allclose(whole.stored, columns.stored, atol=1e-5)
    if kind == "v":
        np.testing.assert_array_equal(whole.sign, columns.sign)
    # Column runs are timed one by one; the whole tile once.
    assert np.all(columns.seconds > 0) and np.ptp(whole.seconds) == 0


@pytest.mark.slow
@pytest.mark.spice
def test_columns_behave_like_converters(agreement):
    k, v = agreement["columns_k"], agreement["columns_v"]
    # ReLU: no pulse for charge drawn into the column (Q < 0), a pulse for clearly positive Q.
    assert np.all(k.width[k.charge < -10e-15] == 0)
    assert np.all(k.width[k.charge > 20e-15] > 0.5e-9)
    assert np.all(np.isnan(k.sign))
    clear = np.abs(v.charge) > 20e-15
    np.testing.assert_array_equal(v.sign[clear], (v.charge[clear] < 0).astype(float))
    assert np.all(v.width[clear] > 0.5e-9)
    # The column holds V_mid - Q / C_col with C_col ~ 2 pF at the conversion start.
    for m in (k, v):
        np.testing.assert_allclose(st.V_MID - m.v_col, m.charge / 1.97e-12, atol=5e-3)
        assert np.all((m.v_col_min <= m.v_col) & (m.v_col <= m.v_col_max))
    # The write feedthrough pulls every stored value down by a few tens of mV.
    target, _ = _inputs(ROWS, K_COLS)
    drop = target - k.stored
    assert np.all((drop > 0) & (drop < 0.1))


@pytest.mark.spice
@pytest.mark.parametrize("kind", ["k", "v"])
def test_small_whole_tile_and_column_runs_agree(kind):
    """The quick version of the agreement check above (which is slow): a 4 x 3 tile."""
    stored, widths = _inputs(4, 3, seed=7)
    whole = st.run_tile(kind, stored, widths)
    columns = st.run_columns(kind, stored, widths, jobs=1)
    assert not whole.failed and not columns.failed
    assert np.max(np.abs(whole.width - columns.width)) < 10e-12
    np.testing.assert_allclose(whole.charge, columns.charge, atol=0.2e-15)
    np.testing.assert_allclose(whole.stored, columns.stored, atol=1e-5)
    if kind == "v":
        np.testing.assert_array_equal(whole.sign, columns.sign)
    # Energy: a whole tile shares its rows and supplies (split evenly over its columns), the
    # column runs each drive one column: the tile's totals agree.
    for name in ("e_cells", "e_rows", "e_converter"):
        total = getattr(whole, name).sum()
        assert getattr(columns, name).sum() == pytest.approx(total, rel=0.02), name
    # each pulsed row's two enable drivers: a few fJ per cell (gate loads, 1.8 V)
    pulsed = np.count_nonzero(widths > 0)
    assert 3e-15 < columns.e_rows.mean() / pulsed < 12e-15
    # the converter: mostly its static bias over the 53 ns transient (~0.1 .. 1 mW)
    assert np.all(
        (columns.e_converter > 0.1e-3 * st.T_STOP) & (columns.e_converter < 1e-3 * st.T_STOP)
    )


# -- model units and storage -----------------------------------------------------------------
@pytest.fixture(scope="module")
def small_case() -> tuple[st.TileCase, st.TileResult]:
    case = st.draw_case(6, seed=11)
    return case, st.run_tile_case(case.q, case.k, case.v, jobs=2)


@pytest.mark.spice
def test_run_tile_case_chains_phi_into_the_v_tile(small_case):
    case, result = small_case
    assert result.phi.shape == (6,) and result.out_width.shape == (6,)
    assert not result.failures
    np.testing.assert_allclose(result.phi, result.k_width / st.T_MAX)
    np.testing.assert_allclose(result.v_in_width, np.clip(result.k_width, 0, st.T_MAX))
    assert np.all(np.abs(result.output) <= 1.05)
    np.testing.assert_allclose(result.k.stored, case.k.T + 0.45, atol=0.1)
    np.testing.assert_allclose(result.v.stored, case.v + 0.45, atol=0.1)


@pytest.mark.spice
def test_tile_results_round_trip_with_provenance_and_extra(tmp_path, small_case):
    case, result = small_case
    out = tmp_path / "tiles.h5"
    extra = {"behavioural/phi": np.zeros((1, 6)), "array/output": np.ones((1, 6))}
    st.write_tile_results(out, [case], [result], extra, {"array/output": {"units": "1"}})
    data = st.read_tile_results(out)
    back = data.results[0]
    np.testing.assert_array_equal(back.phi, result.phi)
    np.testing.assert_array_equal(back.output, result.output)
    np.testing.assert_array_equal(back.v.stored, result.v.stored)
    np.testing.assert_array_equal(back.k.seconds, result.k.seconds)
    np.testing.assert_array_equal(data.cases[0].k, case.k)
    assert data.cases[0].seed == 11 and data.cases[0].index == 0
    assert set(data.extra) == {"behavioural/phi", "array/output"}
    prov = data.provenance
    assert prov["ngspice_version"].startswith("ngspice-")
    assert hashlib.sha256(prov["netlist"].encode()).hexdigest() == prov["netlist_sha256"]
    assert ".subckt signed_c2p" in prov["netlist"] and "xr5c0" in prov["netlist"]
    for key in ("pdk_version", "model_files_sha256", "git_commit", "created", "package_version"):
        assert prov[key], key
    assert prov["seed"] == 11 and prov["size"] == 6 and prov["failures"] == []
    with h5py.File(out) as h5:
        assert h5["spice/k/width"].attrs["units"] == "s"
        assert list(h5["spice/k/stored"].attrs["axes"]) == ["case", "dim", "token"]
        assert h5["extra/array/output"].attrs["units"] == "1"


@pytest.mark.spice
def test_bad_output_leaves_no_file(tmp_path, small_case):
    case, result = small_case
    with pytest.raises(StoreError, match=r"must end in \.h5"):
        st.write_tile_results(tmp_path / "tiles.txt", [case], [result])
    with pytest.raises(StoreError, match="one entry per case"):
        st.write_tile_results(tmp_path / "x.h5", [case], [result], {"bad": np.zeros((2, 6))})
    with pytest.raises(StoreError, match="one result per case"):
        st.write_tile_results(tmp_path / "x.h5", [case, case], [result])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="not found"):
        st.read_tile_results(tmp_path / "missing.h5")


# -- failures ---------------------------------------------------------------------------------
def _failing_on(marker: float):
    """An _alter_commands that breaks the run of any column whose first cell stores ``marker``."""
    original = st._alter_commands

    def alter(stored: np.ndarray, widths: np.ndarray) -> list[str]:
        extra = ["alter no_such_source dc=1"] if np.isclose(stored[0, 0], marker) else []
        return original(stored, widths) + extra

    return alter


@pytest.mark.spice
def test_failed_column_is_nan_with_reason_and_the_rest_runs(monkeypatch):
    monkeypatch.setattr(st, "_alter_commands", _failing_on(0.5))
    stored = np.array([[1.2, 0.5, 0.7], [1.0, 1.0, 1.0]])
    runs = st.run_columns("k", stored, [5e-9, 5e-9], jobs=1)  # in this process: patch applies
    assert runs.failed == [1] and "no_such_source" in runs.reasons[1]
    assert np.isnan(runs.width[1]) and np.isnan(runs.stored[:, 1]).all()
    assert np.isfinite(runs.width[[0, 2]]).all() and runs.reasons[0] == ""
    # ngspice's hs mode was only on while loading: other code's decks load as before.
    ng = get_runner()._ng
    ng.clear_output()
    ng.exec_command("set")
    assert "ngbehavior" not in ng.stdout


@pytest.mark.spice
def test_failed_k_column_means_no_v_run(monkeypatch):
    monkeypatch.setattr(st, "_alter_commands", _failing_on(0.45))
    k = np.full((2, 2), 0.6)
    k[1, 0] = 0.0  # token 1's K column stores 0.45 V in its first cell
    result = st.run_tile_case(np.full(2, 0.5), k, np.full((2, 2), 0.3), jobs=1)
    assert [f["column"] for f in result.failures if f["kind"] == "k"] == [1]
    assert np.isnan(result.out_width).all()
    assert all("K tile columns [1] failed" in reason for reason in result.v.reasons)
