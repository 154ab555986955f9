"""The analogues of the paper's Fig. 1g (ReLU charge-to-pulse) and Fig. 1h (signed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.characterize.store import read_characterization
from gaincell.circuits.design import T_MAX
from gaincell.errors import InputError

T_MAX_NS = T_MAX * 1e9
"""Conversion window (maximum pulse width) in ns."""


def plot_c2p(characterization: str | Path, out: str | Path) -> Path:
    """Pulse width versus input charge: the tt curve at 27 C, every corner and temperature as a
    band, the ideal transfer (linear through the origin, clamped at T_max) from the tt slope;
    for the signed converter the width is drawn signed by the latched sign output. Right panel:
    conversion energy versus charge."""
    data = read_characterization(characterization)
    if data.circuit not in ("relu-c2p", "signed-c2p"):
        raise InputError(
            f"{characterization} holds {data.circuit!r}, not a charge-to-pulse converter"
        )
    signed = data.circuit == "signed-c2p"
    charge = data.axes["charge"].values
    corners = list(data.axes["corner"].values)
    temperatures = data.axes["temperature"].values
    reference = corners.index("tt") if "tt" in corners else 0
    room = int(np.argmin(np.abs(temperatures - 27.0)))
    width = data.quantities["width"] * 1e9  # corner, temperature, charge
    if signed:
        width = np.where(data.quantities["sign"] > 0.5, -width, width)
    q_pc = charge * 1e12

    figure, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    left.fill_between(
        q_pc,
        np.nanmin(width, axis=(0, 1)),
        np.nanmax(width, axis=(0, 1)),
        color="tab:orange",
        alpha=0.25,
        lw=0,
        label=f"all corners, {temperatures.min():g}..{temperatures.max():g} °C",
    )
    curve = width[reference, room]
    left.plot(
        q_pc,
        curve,
        color="tab:orange",
        lw=2,
        marker="o",
        ms=3,
        label=f"sky130 {corners[reference]}, {temperatures[room]:g} °C",
    )
    # Ideal transfer from the tt slope in the linear region (between 10 % and 90 % of T_max).
    linear = (np.abs(curve) > 0.1 * T_MAX_NS) & (np.abs(curve) < 0.9 * T_MAX_NS)
    if linear.sum() >= 2:
        slope = np.polyfit(q_pc[linear], curve[linear], 1)[0]
        ideal = np.clip(slope * q_pc, -T_MAX_NS if signed else 0.0, T_MAX_NS)
        left.plot(
            q_pc, ideal, "k--", lw=1, label=f"ideal, {slope:.1f} ns/pC, clamp at {T_MAX_NS:g} ns"
        )
        left.axvline(T_MAX_NS / slope, color="0.6", lw=0.6, ls=":")
    left.axhline(0, color="0.6", lw=0.6)
    left.axvline(0, color="0.6", lw=0.6)
    left.set_xlabel("input charge [pC] (positive = the cells sank current)")
    left.set_ylabel("signed pulse width [ns]" if signed else "output pulse width [ns]")
    left.set_title(
        "Signed charge-to-pulse (Fig. 1h analogue)"
        if signed
        else "ReLU charge-to-pulse: ReLU + saturation (Fig. 1g analogue)"
    )
    left.legend(fontsize=8, loc="upper left")
    left.grid(alpha=0.3)

    energy = data.quantities["e_conversion"] * 1e12
    for ci, corner in enumerate(corners):
        right.plot(q_pc, energy[ci, room], label=corner)
    right.set_xlabel("input charge [pC]")
    right.set_ylabel("energy per conversion [pJ]")
    right.set_title(f"Conversion energy at {temperatures[room]:g} °C (supply + reference)")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out
