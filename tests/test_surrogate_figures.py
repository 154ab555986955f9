"""Surrogate figures: parity and error map drawn from the shipped surrogate files alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gaincell.figures import FIGURES, source_path
from gaincell.figures.surrogates import plot_error_map, plot_parity

REPO = Path(__file__).resolve().parent.parent
SURROGATES = REPO / "data" / "surrogates"
CHARACTERIZATION = REPO / "data" / "characterization"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 20_000


def test_parity_and_error_map_are_drawn_from_shipped_files(tmp_path: Path) -> None:
    files = [SURROGATES / f"{stem}_sky130.h5" for stem in ("multiplier", "relu_c2p", "signed_c2p")]
    parity = plot_parity(files, tmp_path / "parity.png")
    error_map = plot_error_map(SURROGATES / "multiplier_sky130.h5", tmp_path / "map.png")
    assert _is_png(parity) and _is_png(error_map)


def test_error_map_rejects_a_non_multiplier_surrogate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a multiplier surrogate"):
        plot_error_map(SURROGATES / "relu_c2p_sky130.h5", tmp_path / "map.png")


def test_registry_resolves_surrogates_next_to_the_data_folder() -> None:
    outputs = {figure.output: figure for figure in FIGURES}
    for name in ("fig_s1_surrogate_parity.png", "fig_s2_multiplier_error_map.png"):
        path = source_path(outputs[name], CHARACTERIZATION)
        assert path == CHARACTERIZATION.parent / "surrogates" / "multiplier_sky130.h5"
        assert path.is_file()
    # characterization figures still read the data folder itself
    multiplier = source_path(outputs["fig1e_multiplier_iv.png"], CHARACTERIZATION)
    assert multiplier == CHARACTERIZATION / "multiplier_sky130.h5"


def test_surrogate_figures_need_no_ngspice(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['PySpice'] = None  # any ngspice use would fail\n"
        "from pathlib import Path\n"
        "from gaincell.figures import FIGURES, source_path\n"
        f"data, out = Path({str(CHARACTERIZATION)!r}), Path({str(tmp_path)!r})\n"
        "for figure in FIGURES:\n"
        "    if figure.output.startswith('fig_s'):\n"
        "        figure.draw(source_path(figure, data), out / figure.output)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=REPO)
    for name in ("fig_s1_surrogate_parity.png", "fig_s2_multiplier_error_map.png"):
        assert _is_png(tmp_path / name)
