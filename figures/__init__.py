"""Figures regenerated from stored HDF5 data alone (no ngspice needed).

To add a figure: write ``figures/<name>.py`` with a function ``plot_<name>(source, out)`` that
reads only stored files, and add a :class:`Figure` entry to :data:`FIGURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gaincell.circuits.h5 import StoreError


@dataclass(frozen=True)
class Figure:
    """One figure: which stored file it reads and where it goes."""

    source: str
    """Characterization file stem in the data folder, e.g. ``multiplier_sky130``; a stem with
    a folder, e.g. ``surrogates/multiplier_sky130``, names a file in that folder next to the
    data folder (``data/surrogates`` for ``data/characterization``)."""
    output: str
    """PNG file name."""
    draw: Callable[[Path, Path], Path]
    """``draw(source_file, out_png)``."""
    made_by: str
    """The command that writes the source file."""


class FigureDataMissing(StoreError, FileNotFoundError):
    """No data file for a figure in any of the folders given."""


def _multiplier(source: Path, out: Path) -> Path:
    from gaincell.circuits.files import REFERENCE_DIR
    from gaincell.figures.multiplier import plot_multiplier_iv

    return plot_multiplier_iv(source, REFERENCE_DIR / "paper_gain_cell_iv.npz", out)


def _leakage(source: Path, out: Path) -> Path:
    from gaincell.figures.leakage import plot_leakage

    return plot_leakage(source, out)


def _c2p(source: Path, out: Path) -> Path:
    from gaincell.figures.c2p import plot_c2p

    return plot_c2p(source, out)


def _mac_chain(source: Path, out: Path) -> Path:
    from gaincell.figures.mac_chain import plot_mac_chain

    return plot_mac_chain(source, out)


def _surrogate_parity(source: Path, out: Path) -> Path:
    from gaincell.figures.surrogates import plot_parity

    siblings = [source.parent / f"{stem}.h5" for stem in ("relu_c2p_sky130", "signed_c2p_sky130")]
    return plot_parity([source, *(p for p in siblings if p.is_file())], out)


def _surrogate_error_map(source: Path, out: Path) -> Path:
    from gaincell.figures.surrogates import plot_error_map

    return plot_error_map(source, out)


def _tiles(source: Path, out: Path) -> Path:
    from gaincell.figures.tiles import plot_tile_validation

    return plot_tile_validation(source, out)


def _tile_matrix(source: Path, out: Path) -> Path:
    from gaincell.figures.tiles import plot_tile_matrix

    return plot_tile_matrix(source, out)


def _tile_energy(source: Path, out: Path) -> Path:
    from gaincell.figures.tile_energy import plot_tile_energy

    return plot_tile_energy(source, out)


def _design_space(source: Path, out: Path) -> Path:
    from gaincell.figures.design_space import plot_design_space

    return plot_design_space(source, out)


def _cost(source: Path, out: Path) -> Path:
    from gaincell.figures.cost import plot_cost

    return plot_cost(source, out)


def _montecarlo(source: Path, out: Path) -> Path:
    from gaincell.figures.montecarlo import plot_montecarlo

    return plot_montecarlo(source, out)


def _tile_mismatch(source: Path, out: Path) -> Path:
    from gaincell.figures.tile_mismatch import plot_tile_mismatch

    return plot_tile_mismatch(source, out)


def _error_budget(source: Path, out: Path) -> Path:
    from gaincell.figures.error_budget import plot_error_budget

    return plot_error_budget(source, out)


_CHARACTERIZE = "gaincell characterize {circuit} --job {stem} --out {path}"
_VALIDATE_TILE = "gaincell validate-tile --out {path}"

FIGURES: tuple[Figure, ...] = (
    Figure("multiplier_sky130", "fig1e_multiplier_iv.png", _multiplier, _CHARACTERIZE),
    Figure("leakage_sky130", "fig1f_leakage.png", _leakage, _CHARACTERIZE),
    Figure("relu_c2p_sky130", "fig1g_relu_c2p.png", _c2p, _CHARACTERIZE),
    Figure("signed_c2p_sky130", "fig1h_signed_c2p.png", _c2p, _CHARACTERIZE),
    Figure("mac_chain_sky130", "fig2de_mac_chain.png", _mac_chain, _CHARACTERIZE),
    Figure(
        "multiplier_mc_sky130",
        "fig1e_mc_mismatch.png",
        _montecarlo,
        "gaincell characterize multiplier --job {stem} --out {path}",
    ),
    Figure(
        "surrogates/multiplier_sky130",
        "fig_s1_surrogate_parity.png",
        _surrogate_parity,
        "gaincell fit CHARACTERIZATION.h5 --out {path}",
    ),
    Figure(
        "surrogates/multiplier_sky130",
        "fig_s2_multiplier_error_map.png",
        _surrogate_error_map,
        "gaincell fit CHARACTERIZATION.h5 --out {path}",
    ),
    Figure("tiles/tile_matrix_64_sky130", "fig5ab_tile_parity.png", _tiles, _VALIDATE_TILE),
    Figure("tiles/tile_matrix_64_sky130", "fig5_tile_matrix.png", _tile_matrix, _VALIDATE_TILE),
    Figure(
        "tiles/tile_energy_64_sky130",
        "fig5f_tile_energy_parity.png",
        _tile_energy,
        _VALIDATE_TILE,
    ),
    Figure(
        "tiles/tile_mc_64_sky130",
        "fig5h_mc_tiles.png",
        _tile_mismatch,
        "gaincell validate-tile --cases 20 --mc-seed 1 --out {path}",
    ),
    Figure(
        "cost/error_budget_sky130",
        "fig5i_error_budget.png",
        _error_budget,
        "gaincell error-budget --out {path}",
    ),
    Figure(
        "cost/cost_sky130",
        "fig5cde_cost.png",
        _cost,
        "gaincell cost --tokens 1032 --seed 1 --out {path}",
    ),
    Figure(
        "cost/design_space_sky130",
        "fig5g_design_space.png",
        _design_space,
        "gaincell design-space --out {path}",
    ),
)
"""Every figure, in paper order."""


def source_path(figure: Figure, folder: Path) -> Path:
    """Where ``figure``'s source file would be for the data folder ``folder``: in it, or for a
    stem with a folder (``surrogates/...``) in that folder next to it."""
    if "/" in figure.source:
        return Path(folder).parent / f"{figure.source}.h5"
    return Path(folder) / f"{figure.source}.h5"


def missing_message(figure: Figure, data_dirs: list[Path]) -> str:
    """Which file ``figure`` needs, where it was looked for, and the command that makes it
    (into the first data folder given that is not the installed package's own data, else into
    ``build/characterization`` or next to it, read back with ``--data``)."""
    from gaincell.circuits.files import DATA_DIR

    shipped = DATA_DIR.resolve()
    user = [d for d in data_dirs if not Path(d).resolve().is_relative_to(shipped)]
    folder = user[0] if user else Path("build") / "characterization"
    stem = Path(figure.source).name
    command = figure.made_by.format(
        circuit=stem.removesuffix("_sky130").replace("_", "-"),
        stem=stem,
        path=source_path(figure, folder),
    )
    looked = ", ".join(str(source_path(figure, d)) for d in data_dirs)
    then = "" if user else f", then `gaincell figures --data {folder}`"
    return f"{figure.output} needs {looked} (missing; make it with `{command}`{then})"


def draw_all(
    data_dirs: list[Path], out_dir: Path, *, overwrite: bool = False
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Draw every figure whose source file exists in one of ``data_dirs`` (the first folder
    that has it wins) into ``out_dir`` (created); returns the (png, source) pairs drawn and a
    message per figure whose file is in none of them. A PNG that exists is replaced only with
    ``overwrite`` (all are checked before any is drawn); the folder is locked
    (``<out_dir>.lock``) while drawing and each PNG is written atomically."""
    from gaincell.circuits.h5 import atomic_output, check_writable, output_lock

    planned, missing = [], []
    for figure in FIGURES:
        for folder in data_dirs:
            source = source_path(figure, folder)
            if source.is_file():
                planned.append((figure, source))
                break
        else:
            missing.append(missing_message(figure, data_dirs))
    drawn: list[tuple[Path, Path]] = []
    if not planned:
        return drawn, missing
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with output_lock(out_dir):
        for figure, _ in planned:
            check_writable(out_dir / figure.output, overwrite=overwrite, suffixes=(".png",))
        for figure, source in planned:
            png = out_dir / figure.output
            with atomic_output(png, overwrite=overwrite, suffixes=(".png",)) as temporary:
                figure.draw(source, temporary)
            drawn.append((png, source))
    return drawn, missing
