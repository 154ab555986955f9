"""``gaincell deck CIRCUIT`` for every circuit: plain ``ngspice -b`` runs the printed deck, and
its waveforms, measured as the characterization measures them, reproduce one point of the
shipped file (tt, 27 C)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from gaincell.characterize import available, read_characterization
from gaincell.characterize.c2p import ChargeToPulseCharacterization
from gaincell.characterize.cell_load import measure_loads
from gaincell.characterize.leakage import LeakageCharacterization
from gaincell.characterize.mac_chain import RELU_CONVERSION, SIGNED_CONVERSION
from gaincell.characterize.measure import energy, pulse_width
from gaincell.characterize.multiplier_pulse import MultiplierPulseCharacterization
from gaincell.characterize.spec import SweepSpec
from gaincell.characterize.write_line import V_WORD_LINE
from gaincell.circuits.design import LOGIC_THRESHOLD_V, V_DD
from gaincell.circuits.files import CHARACTERIZATION_DIR
from gaincell.cli import main

TRANSIENTS = (
    "relu-c2p",
    "signed-c2p",
    "relu-c2p-step",
    "signed-c2p-step",
    "relu-c2p-recovery",
    "cell-load",
    "leakage",
    "multiplier-pulse",
    "mac-chain",
    "write-line",
)
"""Circuits whose deck simulates one point of the outer axis."""


def _shipped(circuit: str):
    return read_characterization(CHARACTERIZATION_DIR / f"{circuit.replace('-', '_')}_sky130.h5")


def _run_deck(circuit: str, tmp_path, monkeypatch, capsys, at: float | None = None):
    """Print the deck (sweep settings from the shipped file), run it in plain ngspice from
    ``tmp_path``; returns the wrdata table as {column name: values}."""
    monkeypatch.chdir(tmp_path)
    path = CHARACTERIZATION_DIR / f"{circuit.replace('-', '_')}_sky130.h5"
    argv = ["deck", circuit, "--job", str(path)] + ([] if at is None else ["--at", repr(at)])
    assert main(argv) == 0
    (tmp_path / "deck.sp").write_text(capsys.readouterr().out)
    # The timeout only guards against a hang: the write-line deck takes about 6 min on a quiet
    # machine and 11 on a busy one (a 600 s limit failed there).
    run = subprocess.run(
        ["ngspice", "-b", "deck.sp"], cwd=tmp_path, capture_output=True, text=True, timeout=3600
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (table,) = (tmp_path / "build").glob("*.txt")  # written under build/, nothing else
    assert not list(tmp_path.glob("*.txt"))
    names = table.read_text().split("\n", 1)[0].split()
    values = np.loadtxt(table, skiprows=1)
    return {name: values[:, i] for i, name in enumerate(names)}


def test_every_characterized_circuit_has_a_deck():
    assert set(available()) == {"multiplier", *TRANSIENTS}


@pytest.mark.spice
def test_multiplier_deck_reproduces_the_shipped_grid(tmp_path, monkeypatch, capsys):
    data = _shipped("multiplier")
    table = _run_deck("multiplier", tmp_path, monkeypatch, capsys)
    shipped = data.select("i_out", corner="tt", temperature=27.0).ravel()
    np.testing.assert_allclose(table["i_out"], shipped, rtol=2e-8, atol=1e-17)


@pytest.mark.spice
@pytest.mark.parametrize("circuit", ["relu-c2p", "signed-c2p"])
def test_converter_deck_reproduces_a_shipped_point(circuit, tmp_path, monkeypatch, capsys):
    data = _shipped(circuit)
    charges = data.axes["charge"].values
    charge = float(charges[3 * len(charges) // 4])  # clearly positive: a pulse
    w = _run_deck(circuit, tmp_path, monkeypatch, capsys, at=charge)
    settings = SweepSpec.from_recorded(data.provenance["sweep_spec"]).settings
    width = pulse_width(
        w["time"], w["v(out)"], LOGIC_THRESHOLD_V, settings["conv_start"], settings["t_stop"]
    )
    shipped = data.select("width", corner="tt", temperature=27.0, charge=charge)
    assert width > 1e-9
    assert width == pytest.approx(float(shipped), abs=1e-13)
    assert isinstance(ChargeToPulseCharacterization.standalone_vectors, property)


@pytest.mark.spice
def test_leakage_deck_reproduces_a_shipped_point(tmp_path, monkeypatch, capsys):
    data = _shipped("leakage")
    value = float(data.axes["v_store"].values[-1])
    w = _run_deck("leakage", tmp_path, monkeypatch, capsys, at=value)
    spec = SweepSpec.from_recorded(data.provenance["sweep_spec"])
    hold_start = LeakageCharacterization.hold_start(spec)
    held = w["time"] >= hold_start
    v_t = np.interp(
        data.axes["time"].values, w["time"][held] - hold_start, w["v(xcell.store)"][held]
    )
    shipped = data.select("v_store_t", corner="tt", temperature=27.0, v_store=value)
    np.testing.assert_allclose(v_t, shipped, atol=1e-7)


@pytest.mark.spice
def test_multiplier_pulse_deck_reproduces_a_shipped_point(tmp_path, monkeypatch, capsys):
    data = _shipped("multiplier-pulse")
    value = float(data.axes["v_store"].values[-1])
    w = _run_deck("multiplier-pulse", tmp_path, monkeypatch, capsys, at=value)
    spec = SweepSpec.from_recorded(data.provenance["sweep_spec"])
    before = np.searchsorted(w["time"], MultiplierPulseCharacterization.t_pulse(spec) - 0.5e-9)
    widths = data.axes["width"].values[:16]
    charge = [(w[f"v(q{k})"][-1] - w[f"v(q{k})"][before]) * 1e-12 for k in range(len(widths))]
    columns = data.axes["v_col"].values
    column = float(columns[len(columns) // 2])  # the deck's column: the middle of its axis
    shipped = data.select("charge", corner="tt", temperature=27.0, v_store=value, v_col=column)
    shipped = shipped[: len(widths)]
    # the shipped charges predate the testbench's energy meters, which move ngspice's time
    # steps a little: 2e-5 of the charge
    np.testing.assert_allclose(charge, shipped, rtol=1e-4, atol=1e-18)


@pytest.mark.slow
@pytest.mark.spice
def test_write_line_deck_reproduces_a_shipped_point(tmp_path, monkeypatch, capsys):
    """Plain ngspice on the printed deck: the DAC's and the word line's energy of writing the
    highest value at tt / 27 C, as the shipped file has them. About six minutes: plain
    ngspice parses the 128-cell deck with every sky130 size bin."""
    data = _shipped("write-line")
    value = float(data.axes["v_store"].values[-1])
    w = _run_deck("write-line", tmp_path, monkeypatch, capsys, at=value)
    t = w["time"]
    dac = V_DD * energy(t, np.maximum(-w["i(vdacs)"], 0.0), 0.0, t[-1])
    word = V_WORD_LINE * energy(t, np.maximum(-w["i(vwwl)"], 0.0), 0.0, t[-1])
    for name, got in (("e_dac", dac), ("e_word_line", word)):
        shipped = float(data.select(name, corner="tt", temperature=27.0, v_store=value))
        assert got == pytest.approx(shipped, rel=1e-6), name


@pytest.mark.slow
@pytest.mark.spice
def test_mac_chain_deck_reproduces_a_shipped_point(tmp_path, monkeypatch, capsys):
    """About two minutes: plain ngspice parses the 16-cell deck with every sky130 size bin."""
    data = _shipped("mac-chain")
    w = _run_deck("mac-chain", tmp_path, monkeypatch, capsys, at=0.0)
    phi = pulse_width(w["time"], w["v(phi)"], LOGIC_THRESHOLD_V, *RELU_CONVERSION)
    out = pulse_width(w["time"], w["v(out)"], LOGIC_THRESHOLD_V, *SIGNED_CONVERSION)
    assert phi == pytest.approx(
        float(data.select("phi_width", corner="tt", temperature=27.0, case=0)), abs=1e-13
    )
    assert out == pytest.approx(
        float(data.select("out_width", corner="tt", temperature=27.0, case=0)), abs=1e-13
    )


@pytest.mark.spice
def test_cell_load_deck_reproduces_a_shipped_point(tmp_path, monkeypatch, capsys):
    data = _shipped("cell-load")
    value = float(data.axes["v_store"].values[-1])
    w = _run_deck("cell-load", tmp_path, monkeypatch, capsys, at=value)
    settings = SweepSpec.from_recorded(data.provenance["sweep_spec"]).settings
    measured = measure_loads(w, settings["dv"])
    for name in ("c_off", "c_on", "i_on"):
        shipped = float(data.select(name, corner="tt", temperature=27.0, v_store=value))
        assert measured[name] == pytest.approx(shipped, rel=1e-6), name


@pytest.mark.slow
@pytest.mark.spice
@pytest.mark.parametrize("circuit", ["relu-c2p-step", "signed-c2p-step"])
def test_converter_step_deck_reproduces_a_shipped_point(circuit, tmp_path, monkeypatch, capsys):
    """The step circuits' deck simulates one absolute charge (``--at``): the shipped point just
    above the switching point gives the shipped width."""
    data = _shipped(circuit)
    offset = float(data.axes["offset"].values[1])
    point = float(data.select("point", corner="tt", temperature=27.0, offset=offset))
    w = _run_deck(circuit, tmp_path, monkeypatch, capsys, at=point + offset)
    settings = SweepSpec.from_recorded(data.provenance["sweep_spec"]).settings
    width = pulse_width(
        w["time"], w["v(out)"], LOGIC_THRESHOLD_V, settings["conv_start"], settings["t_stop"]
    )
    shipped = float(data.select("width", corner="tt", temperature=27.0, offset=offset))
    assert width > 0.3e-9  # just above the switching point: the minimum pulse, not nothing
    assert width == pytest.approx(shipped, abs=1e-13)


@pytest.mark.slow
@pytest.mark.spice
def test_recovery_deck_matches_the_characterization(tmp_path, monkeypatch, capsys):
    """The recovery deck (an excursion, the first gap, 10 fC; tt, 27 C as every deck here) in
    plain ngspice gives the width the characterization's own run gives in libngspice."""
    from gaincell.characterize.converter_recovery import DECK_CHARGE_C, ReluConverterRecovery
    from gaincell.characterize.tile import CONV_START, T_STOP
    from gaincell.circuits.runner import get_runner

    data = _shipped("relu-c2p-recovery")
    spec = SweepSpec.from_recorded(data.provenance["sweep_spec"])
    excursion = float(data.axes["excursion"].values[-1])
    w = _run_deck("relu-c2p-recovery", tmp_path, monkeypatch, capsys, at=excursion)
    width = pulse_width(w["time"], w["v(out)"], LOGIC_THRESHOLD_V, CONV_START, T_STOP)
    characterization = ReluConverterRecovery()
    with get_runner().loaded(characterization.deck("tt").text) as circuit:
        gap = float(spec.axes["gap"].values()[0])
        direct = characterization._run(circuit, spec, "tt", 27.0, excursion, gap, DECK_CHARGE_C)
    assert width > 0.3e-9
    assert width == pytest.approx(direct, abs=2e-12)
