"""The analogue of the paper's Fig. 1e: the signed multiplier's output current versus V_store."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.characterize.store import read_characterization
from gaincell.circuits.design import STORE_OFFSET, V_MID
from gaincell.errors import InputError

PAPER_FULL_INPUT = 0.9
"""The paper's full input level, in volts."""


def _paper_curve(paper_npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """The paper's I_out(V_store) at full input: (signed weight in +-1, I / full scale)."""
    with np.load(paper_npz) as paper:
        v_store, v_in, i_out = paper["v_store"], paper["v_in"], paper["i_out"]
    column = int(np.argmin(np.abs(v_in - PAPER_FULL_INPUT)))
    current = i_out[:, column]
    return (v_store - STORE_OFFSET) / STORE_OFFSET, current / np.max(np.abs(current))


def plot_multiplier_iv(
    characterization: str | Path, paper_npz: str | Path, out: str | Path
) -> Path:
    """Write the Fig. 1e analogue to ``out`` (PNG) from a multiplier HDF5 file and the paper's
    I-V data. Left: normalised I_out versus signed weight at full input, tt at 27 C, the spread
    over corners (and over temperatures) as shaded bands, the paper's curve on the same axes.
    Right: I_out in uA versus V_store for several input levels (tt, 27 C)."""
    data = read_characterization(characterization)
    if data.circuit != "multiplier":
        raise InputError(f"{characterization} holds {data.circuit!r}, not the multiplier")
    v_store = data.axes["v_store"].values
    v_in = data.axes["v_in"].values
    corners = list(data.axes["corner"].values)
    temperatures = data.axes["temperature"].values
    room = float(temperatures[np.argmin(np.abs(temperatures - 27.0))])
    reference_corner = "tt" if "tt" in corners else corners[0]
    full = int(np.argmax(v_in))
    i_out = data.quantities["i_out"]  # corner, temperature, v_store, v_in
    t_room = int(np.flatnonzero(np.isclose(temperatures, room))[0])
    reference = i_out[corners.index(reference_corner), t_room, :, full]
    full_scale = float(np.max(np.abs(reference)))
    weight = (v_store - V_MID) / (V_MID - v_store.min()) if v_store.min() < V_MID else v_store

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    all_full = i_out[:, :, :, full] / full_scale
    corners_room = i_out[:, t_room, :, full] / full_scale
    if all_full.shape[0] * all_full.shape[1] > 1:
        left.fill_between(
            weight,
            all_full.min(axis=(0, 1)),
            all_full.max(axis=(0, 1)),
            color="tab:blue",
            alpha=0.15,
            lw=0,
            label=f"all corners, {temperatures.min():g}..{temperatures.max():g} °C",
        )
    if corners_room.shape[0] > 1:
        left.fill_between(
            weight,
            corners_room.min(axis=0),
            corners_room.max(axis=0),
            color="tab:blue",
            alpha=0.35,
            lw=0,
            label=f"corners {'/'.join(corners)}, {room:g} °C",
        )
    left.plot(
        weight,
        reference / full_scale,
        color="tab:blue",
        lw=2,
        label=f"sky130 {reference_corner}, {room:g} °C (full scale {full_scale * 1e6:.2f} µA)",
    )
    paper_x, paper_y = _paper_curve(Path(paper_npz))
    left.plot(paper_x, paper_y, "k--", lw=1.5, label="paper (Leroux et al.), normalised")
    left.axhline(0, color="0.6", lw=0.6)
    left.axvline(0, color="0.6", lw=0.6)
    left.set_xlabel("signed weight (V_store − V_mid) / 0.45 V")
    left.set_ylabel("I_out / full scale at full input")
    left.set_title("Gain-cell multiplier at full input (Fig. 1e analogue)")
    left.legend(fontsize=7.5, loc="upper left")
    left.grid(alpha=0.3)

    levels = [v for v in (0.6, 0.9, 1.2, 1.5, 1.8) if v <= v_in.max() + 1e-9]
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(levels)))
    for level, colour in zip(levels, colours, strict=True):
        column = int(np.argmin(np.abs(v_in - level)))
        right.plot(
            v_store,
            i_out[corners.index(reference_corner), t_room, :, column] * 1e6,
            color=colour,
            label=f"V_in = {v_in[column]:.2f} V",
        )
    right.axhline(0, color="0.6", lw=0.6)
    right.axvline(V_MID, color="0.6", lw=0.6)
    right.set_xlabel("V_store [V]")
    right.set_ylabel("I_out [µA]")
    right.set_title(f"Input-level dependence ({reference_corner}, {room:g} °C)")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out
