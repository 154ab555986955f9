"""Monte Carlo mismatch: the Fig. 1e analogue with the mismatch band beside the corner band, and
histograms of the per-instance spread of the cell and the converters (tt, 27 C)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.characterize.spread import spread
from gaincell.characterize.store import read_characterization
from gaincell.circuits.design import V_MID
from gaincell.errors import InputError

_HISTOGRAMS = (
    ("multiplier_mc_sky130", "i_full_scale_pos", 1e6, "µA", "cell: full-scale current"),
    ("multiplier_mc_sky130", "v_zero", 1e3, "mV", "cell: stored voltage of zero weight"),
    ("multiplier_pulse_mc_sky130", "q_full_scale_pos", 1e15, "fC", "cell: charge of a 15 ns pulse"),
    ("relu_c2p_mc_sky130", "offset", 1e15, "fC", "ReLU converter: offset"),
    ("relu_c2p_mc_sky130", "slope", 1e-3, "ns/pC", "ReLU converter: slope"),
    ("signed_c2p_mc_sky130", "offset_pos", 1e15, "fC", "signed converter: offset (+)"),
    ("signed_c2p_mc_sky130", "slope_pos", 1e-3, "ns/pC", "signed converter: slope (+)"),
    ("leakage_mc_sky130", "tau_high", 1e3, "ms", "storage: time constant at 1.35 V"),
)
"""(file stem, figure of merit, scale, units, title) of each histogram panel."""


def plot_montecarlo(source: str | Path, out: str | Path) -> Path:
    """Write the Monte Carlo figure from the multiplier's Monte Carlo file ``source``; the
    other Monte Carlo files and the corner characterization are read from the same folder
    when they are there (a panel per file found)."""
    source = Path(source)
    data = read_characterization(source)
    if data.circuit != "multiplier" or "sample" not in data.axes:
        raise InputError(f"{source} is not a Monte Carlo multiplier characterization")
    folder = source.parent
    panels = [h for h in _HISTOGRAMS if (folder / f"{h[0]}.h5").is_file()]
    columns = 3
    rows = 1 + -(-len(panels) // columns)
    figure = plt.figure(figsize=(13, 3.4 * rows))
    grid = figure.add_gridspec(rows, columns)

    # Fig. 1e with the bands: corners at 27 C (shipped corner file) and mismatch at tt / 27 C.
    band = figure.add_subplot(grid[0, :2])
    v_store = data.axes["v_store"].values
    weight = (v_store - V_MID) / (V_MID - v_store.min())
    current = data.quantities["i_out"][0, :, 0, :, -1]  # sample, v_store at full input
    full_scale = float(np.max(np.abs(current.mean(axis=0))))
    mean, sigma = current.mean(axis=0) / full_scale, current.std(axis=0, ddof=1) / full_scale
    corner_file = folder / "multiplier_sky130.h5"
    if corner_file.is_file():
        corners = read_characterization(corner_file)
        temperatures = corners.axes["temperature"].values
        t_room = int(np.argmin(np.abs(temperatures - 27.0)))
        corner_v = corners.axes["v_store"].values
        corner_w = (corner_v - V_MID) / (V_MID - corner_v.min())
        by_corner = corners.quantities["i_out"][:, t_room, :, -1] / full_scale
        band.fill_between(
            corner_w,
            by_corner.min(axis=0),
            by_corner.max(axis=0),
            color="tab:orange",
            alpha=0.3,
            lw=0,
            label=f"corners {'/'.join(corners.axes['corner'].values)}, 27 °C",
        )
    samples = len(current)
    band.fill_between(
        weight,
        mean - 3 * sigma,
        mean + 3 * sigma,
        color="tab:blue",
        alpha=0.35,
        lw=0,
        label=f"mismatch ±3σ ({samples} Monte Carlo cells, tt, 27 °C)",
    )
    band.plot(weight, mean, color="tab:blue", lw=1.5, label="Monte Carlo mean")
    band.axhline(0, color="0.6", lw=0.6)
    band.set_xlabel("signed weight (V_store − V_mid) / 0.45 V")
    band.set_ylabel("I_out / full scale at full input")
    band.set_title("Fig. 1e analogue: process corners versus cell-to-cell mismatch")
    band.legend(fontsize=8, loc="upper left")
    band.grid(alpha=0.3)

    zoom = figure.add_subplot(grid[0, 2])
    zoom.plot(weight, 100 * sigma, color="tab:blue", label="mismatch σ")
    if corner_file.is_file():
        spread_corners = np.interp(weight, corner_w, by_corner.max(axis=0) - by_corner.min(axis=0))
        zoom.plot(weight, 100 * spread_corners / 2, color="tab:orange", label="corners: half range")
    zoom.set_xlabel("signed weight")
    zoom.set_ylabel("% of full scale")
    zoom.set_title("Spread of I_out at full input")
    zoom.legend(fontsize=8)
    zoom.grid(alpha=0.3)

    cache: dict[str, dict] = {}
    for index, (stem, name, scale, units, title) in enumerate(panels):
        if stem not in cache:
            cache[stem] = {s.name: s for s in spread(read_characterization(folder / f"{stem}.h5"))}
        item = cache[stem][name]
        axis = figure.add_subplot(grid[1 + index // columns, index % columns])
        values = item.values[np.isfinite(item.values)] * scale
        axis.hist(values, bins=24, color="tab:blue", alpha=0.75)
        axis.axvline(np.mean(values), color="k", lw=1)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel(units)
        axis.text(
            0.02,
            0.95,
            f"σ = {item.sigma * scale:.3g} {units}\n({item.relative:.2%} of the mean)\n"
            f"{len(values)} samples",
            transform=axis.transAxes,
            va="top",
            fontsize=8,
        )
        axis.grid(alpha=0.3)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=130)
    plt.close(figure)
    return out
