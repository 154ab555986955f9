"""The command line: a deck plain ngspice runs, figures without ngspice, info."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gaincell.characterize import SweepSpec
from gaincell.characterize.sweep import simulate_spec
from gaincell.circuits.files import CHARACTERIZATION_DIR
from gaincell.cli import main


@pytest.mark.spice
def test_printed_deck_runs_in_plain_ngspice_and_matches_the_runner(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["deck", "multiplier", "--corner", "ss", "--temp", "85"]) == 0
    deck = capsys.readouterr().out
    assert ".include" in deck and ".control" in deck and ".temp 85" in deck
    (tmp_path / "deck.sp").write_text(deck)
    subprocess.run(
        ["ngspice", "-b", "deck.sp"], cwd=tmp_path, capture_output=True, check=True, timeout=120
    )
    table = np.loadtxt(tmp_path / "build" / "multiplier_dc.txt", skiprows=1)
    spec = SweepSpec(corners=("ss",), temperatures=(85.0,))
    arrays, _ = simulate_spec(spec, jobs=1, progress=False)
    expected = arrays["i_out"][0, 0].ravel()  # v_store outer, v_in inner: ngspice's order
    # wrdata prints 9 significant digits: equal to that precision
    np.testing.assert_allclose(table[:, -1], expected, rtol=2e-8, atol=1e-17)


def test_inlined_deck_needs_no_pdk_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["deck", "multiplier", "--inline"]) == 0
    deck = capsys.readouterr().out
    assert ".include" not in deck.lower().replace("* ---- begin", "")
    (tmp_path / "deck.sp").write_text(deck)
    subprocess.run(
        ["ngspice", "-b", "deck.sp"], cwd=tmp_path, capture_output=True, check=True, timeout=120
    )
    assert (tmp_path / "build" / "multiplier_dc.txt").stat().st_size > 0
    assert not (tmp_path / "multiplier_dc.txt").exists()


@pytest.mark.slow  # every figure: about 45 s (the main job draws them too)
def test_figures_come_from_hdf5_alone(tmp_path):
    code = (
        "import sys\n"
        "sys.modules['PySpice'] = None  # any ngspice use would fail\n"
        "from gaincell.cli import main\n"
        f"sys.exit(main(['figures', '--out', {str(tmp_path)!r}]))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    from gaincell.figures import FIGURES, source_path

    shipped = [f.output for f in FIGURES if source_path(f, CHARACTERIZATION_DIR).is_file()]
    assert {"fig1e_multiplier_iv.png", "fig1f_leakage.png"} <= set(shipped)
    for name in shipped:
        png = tmp_path / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 20_000


@pytest.mark.spice
def test_info_reports_versions_models_and_data(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "ngspice-39" in text or "ngspice-" in text
    assert "PDK models:" in text and "sky130" in text
    assert "multiplier_sky130.h5" in text


@pytest.mark.parametrize("preset", ["multiplier_sky130", "multiplier_tt"])
def test_presets_load(preset):
    spec = SweepSpec.from_toml(preset)
    assert spec.circuit == "multiplier"


@pytest.mark.parametrize(
    "preset",
    sorted(p.stem for p in CHARACTERIZATION_DIR.glob("*_sky130.h5")),
)
def test_shipped_preset_matches_shipped_file(preset):
    """Every shipped characterization was made by the preset of its name, as it is now."""
    from gaincell.characterize.store import read_characterization

    data = read_characterization(CHARACTERIZATION_DIR / f"{preset}.h5")
    assert SweepSpec.from_dict(data.provenance["sweep_spec"]) == SweepSpec.from_toml(preset)


@pytest.mark.spice
def test_build_folder_is_created_for_outputs_that_go_there(tmp_path, monkeypatch):
    """Results go to ./build/ unless --out says otherwise: ``--out build/x.h5`` works in a
    fresh folder (as every README line must on its own); any other missing folder is an
    error, and nothing is created for it."""
    monkeypatch.chdir(tmp_path)
    small = ["--corners", "tt", "--v-in", "0:1.8:2", "--v-store", "0.45:1.35:2", "--quiet"]
    assert main(["characterize", "multiplier", *small, "--out", "build/m.h5"]) == 0
    assert (tmp_path / "build" / "m.h5").is_file()
    assert main(["characterize", "multiplier", *small, "--out", "elsewhere/m.h5"]) == 2
    assert not (tmp_path / "elsewhere").exists()
