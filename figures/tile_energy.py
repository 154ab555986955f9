"""Tile energy parity: what whole 64x64 K and V tiles draw in ngspice (each column's cells,
supply and row drivers, and its converter) against the array simulation's energy models for
the same cases, per column, and each tile's total error per case against the 5 % target; and
the MAC-chain transients' cells likewise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.validate import (
    ENERGY_PARTS,
    ENERGY_TOLERANCE,
    energy_metrics,
    load_validation,
    mac_chain_energy,
)
from gaincell.figures.tiles import _case_conditions

TITLES = {
    "k_cells": "K tile: each column's cells (supply + Q row drivers)",
    "k_converter": "K tile: each column's ReLU converter",
    "v_cells": "V tile: each column's cells (supply + Phi row drivers)",
    "v_converter": "V tile: each column's signed converter",
}


MAC_CHAIN_FILE = "mac_chain_energy_sky130.h5"
"""The MAC-chain transients the figure also compares, in the characterization folder beside
the tiles' folder."""


def _mac_chain_panel(ax: Any, path: Path) -> None:
    """SPICE against the array simulation for the MAC-chain transients' cells (K column: 8
    cells on Q pulses; V column: rows 1..7 on Phi pulses), every corner, temperature and
    case (:func:`~gaincell.attention.validate.mac_chain_energy`)."""
    result = mac_chain_energy(path)
    for kind, colour in (("k", "tab:blue"), ("v", "tab:orange")):
        entry = result[kind]
        ax.scatter(
            entry["spice_J"].ravel() * 1e12,
            entry["array_J"].ravel() * 1e12,
            s=10,
            lw=0,
            color=colour,
            label=f"{kind.upper()} column: worst {entry['worst']:.1%}",
        )
    spice = np.concatenate([result[k]["spice_J"].ravel() for k in "kv"]) * 1e12
    lo, hi = float(spice.min()), float(spice.max())
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.7)
    conditions = result["conditions"]
    count = len(conditions["corners"]) * len(conditions["temperatures"])
    ax.set_title(
        f"MAC-chain transients: a column's ideally driven cells,\n{count} corner/temperature "
        f"conditions x {len(conditions['cases'])} cases (target 5 %)",
        fontsize=8.5,
    )
    ax.set_xlabel("SPICE [pJ]")
    ax.set_ylabel("array simulation [pJ]")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def plot_tile_energy(source: str | Path, out: str | Path) -> Path:
    """Four parity panels (one per energy part, every column of every case, coloured by
    condition), beside them each case's K and V tile totals' relative error and, when the
    characterization folder beside holds :data:`MAC_CHAIN_FILE`, the MAC-chain parity."""
    outputs, attrs = load_validation(source)
    metrics = energy_metrics(outputs)
    if not metrics:
        raise ValueError(f"{source} holds no SPICE tile energies (run with energy models)")
    conditions = _case_conditions(source)
    names = list(dict.fromkeys(conditions))
    colours = dict(zip(names, plt.get_cmap("tab10")(np.arange(len(names))), strict=True))
    fig = plt.figure(figsize=(15, 8.5))
    grid = fig.add_gridspec(2, 3)
    panels = [fig.add_subplot(grid[row, col]) for row in range(2) for col in range(2)]
    for ax, part in zip(panels, ENERGY_PARTS, strict=True):
        spice = outputs[f"spice/energy_{part}"] * 1e12
        array = outputs[f"array/energy_{part}"] * 1e12
        for name in names:
            mask = conditions == name
            ax.scatter(
                spice[mask].ravel(),
                array[mask].ravel(),
                s=9,
                lw=0,
                color=colours[name],
                label=f"{name} °C",
            )
        lo = float(min(spice.min(), array.min()))
        hi = float(max(spice.max(), array.max()))
        pad = 0.05 * (hi - lo)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.7)
        worst = metrics[part]["worst"]
        shown = "not compared" if worst is None else f"{worst:.1%}"
        ax.set_title(f"{TITLES[part]}\nworst case total {shown}", fontsize=8.5)
        ax.set_xlabel("SPICE [pJ]")
        ax.set_ylabel("array simulation [pJ]")
        ax.grid(alpha=0.3)
    panels[0].legend(fontsize=7, loc="upper left")
    chain = Path(source).parent.parent / "characterization" / MAC_CHAIN_FILE
    ax = fig.add_subplot(grid[0, 2] if chain.is_file() else grid[:, 2])
    if chain.is_file():
        _mac_chain_panel(fig.add_subplot(grid[1, 2]), chain)
    x = np.arange(len(conditions))
    for offset, tile, colour in ((-0.2, "k", "tab:blue"), (0.2, "v", "tab:orange")):
        error = 100 * np.asarray(metrics[f"{tile}_tile"]["relative_error"])
        ax.bar(x + offset, error, 0.4, color=colour, label=f"{tile.upper()} tile")
    for sign in (-1, 1):
        ax.axhline(sign * 100 * ENERGY_TOLERANCE, color="black", ls="--", lw=0.8)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xticks(x, [f"{c} °C" for c in conditions], rotation=30, fontsize=8)
    ax.set_ylabel("array vs SPICE, tile total [%]")
    worst = max(metrics["k_tile"]["worst"], metrics["v_tile"]["worst"])
    ax.set_title(f"each case's tiles (target ±5 %): worst {worst:.1%}", fontsize=8.5)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    tokens = outputs["spice/phi"].shape[1]
    fig.suptitle(
        f"Energy of whole {tokens}x{tokens} tiles in ngspice (metered supplies and ideal "
        f"drivers: charge x swing)\nvs the array simulation's energy surrogates, "
        f"{len(conditions)} cases; SPICE {attrs.get('spice_seconds', float('nan')):.0f} s",
        fontsize=9.5,
    )
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
