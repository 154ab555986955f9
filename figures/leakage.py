"""The analogue of the paper's Fig. 1f: V_store decay over the hold, corners and temperatures."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.characterize.store import read_characterization
from gaincell.circuits.design import V_MID
from gaincell.errors import InputError

PAPER_RETENTION_S = 5e-3
"""The paper's retention time constant for CMOS gain cells."""


def plot_leakage(characterization: str | Path, out: str | Path) -> Path:
    """Left: V_store(t) for a few written values at tt (one colour per temperature), the spread
    over corners as a band, and the paper's y*exp(-t/5 ms) model from the same start (dashed).
    Right: time to lose half and one 3-bit level versus written value, per corner at 27 C."""
    data = read_characterization(characterization)
    if data.circuit != "leakage":
        raise InputError(f"{characterization} holds {data.circuit!r}, not leakage")
    corners = list(data.axes["corner"].values)
    temperatures = data.axes["temperature"].values
    v_store = data.axes["v_store"].values
    hold = data.axes["time"].values
    v_t = data.quantities["v_store_t"]  # corner, temperature, v_store, time
    reference = corners.index("tt") if "tt" in corners else 0
    room = int(np.argmin(np.abs(temperatures - 27.0)))

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    picks = [int(np.argmin(np.abs(v_store - v))) for v in (0.45, 0.9, 1.35)]
    colours = {
        t: c for t, c in zip(temperatures, ("tab:blue", "tab:green", "tab:red"), strict=False)
    }
    for pick in picks:
        band = v_t[:, :, pick, :]
        left.fill_between(
            hold * 1e3, band.min(axis=(0, 1)), band.max(axis=(0, 1)), color="0.5", alpha=0.15, lw=0
        )
        for ti, temperature in enumerate(temperatures):
            left.plot(
                hold * 1e3,
                v_t[reference, ti, pick],
                color=colours.get(temperature, "k"),
                lw=1.5,
                label=f"{corners[reference]}, {temperature:g} °C" if pick == picks[0] else None,
            )
        start = v_t[reference, room, pick, 0]
        left.plot(
            hold * 1e3,
            V_MID + (start - V_MID) * np.exp(-hold / PAPER_RETENTION_S),
            "k--",
            lw=1,
            label="paper model, τ = 5 ms" if pick == picks[0] else None,
        )
        left.annotate(
            f"written {v_store[pick]:.2f} V",
            (hold[0] * 1e3, start),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    left.fill_between([], [], [], color="0.5", alpha=0.15, label="all corners and temperatures")
    left.set_xscale("log")
    left.set_xlabel("hold time [ms]")
    left.set_ylabel("V_store [V]")
    left.set_title("Storage-node retention (Fig. 1f analogue)")
    left.axhline(V_MID, color="0.6", lw=0.6)
    left.legend(fontsize=7.5, loc="lower left")
    left.grid(alpha=0.3, which="both")

    level = data.quantities["t_level_loss"]
    half = data.quantities["t_half_level"]
    for ci, corner in enumerate(corners):
        (line,) = right.plot(
            v_store, level[ci, room] * 1e3, marker="o", ms=3, label=f"{corner}: one level"
        )
        right.plot(v_store, half[ci, room] * 1e3, ls=":", color=line.get_color())
    right.axhline(PAPER_RETENTION_S * 1e3, color="k", ls="--", lw=1, label="paper: 5 ms retention")
    right.set_yscale("log")
    right.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    right.set_xlabel("written V_store [V]")
    right.set_ylabel("time to lose a 3-bit level [ms]")
    right.set_title(f"Level loss at {temperatures[room]:g} °C (solid: 1 level, dotted: ½ level)")
    right.legend(fontsize=7.5, ncol=2)
    right.grid(alpha=0.3, which="both")
    tau = data.quantities["tau"]
    figure.text(
        0.5,
        0.005,
        f"Fitted retention time constant τ over all corners/temperatures/values: "
        f"{np.nanmin(tau) * 1e3:.0f}–{np.nanmax(tau) * 1e3:.0f} ms (paper, CMOS gain cell: 5 ms). "
        "Values drift toward ~0.1 V (substrate leakage), not toward mid-rail "
        "as the paper's model assumes.",
        ha="center",
        fontsize=8,
    )
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out
