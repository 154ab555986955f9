"""The analogue of the paper's Fig. 2d/e: transients of the MAC-plus-conversion chain."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.characterize.store import read_characterization
from gaincell.errors import InputError


def plot_mac_chain(characterization: str | Path, out: str | Path, case: int = 0) -> Path:
    """Four stacked panels sharing the time axis, for one case at tt / 27 C:
    (d) first product: Q pulse on row 0, K column voltage, the Phi pulse out of the ReLU
    converter; (e) second product: V column voltage, the signed converter's output and sign."""
    data = read_characterization(characterization)
    if data.circuit != "mac-chain":
        raise InputError(f"{characterization} holds {data.circuit!r}, not the MAC chain")
    corners = list(data.axes["corner"].values)
    temperatures = data.axes["temperature"].values
    cases = data.axes["case"].values.round().astype(int)
    ci = corners.index("tt") if "tt" in corners else 0
    ti = int(np.argmin(np.abs(temperatures - 27.0)))
    k = int(np.flatnonzero(cases == case)[0]) if case in cases else 0
    t_ns = data.axes["time"].values * 1e9
    wave = {
        name: data.quantities[name][ci, ti, k]
        for name in ("v_q0", "v_colk", "v_phi", "v_colv", "v_out", "v_sign")
    }
    scalar = {
        name: float(data.quantities[name][ci, ti, k])
        for name in (
            "phi_width",
            "out_width",
            "out_sign",
            "e_mac_cell",
            "e_relu_conversion",
            "e_signed_conversion",
            "e_write_cell",
        )
    }

    figure, axes = plt.subplots(
        4, 1, figsize=(10, 8.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1, 1.4]}
    )
    phases = [
        (0, 9, "write K, V"),
        (10, 25, "Q·Kᵀ MAC"),
        (27, 42, "ReLU conversion = Φ·V MAC"),
        (45, 60, "signed conversion"),
    ]
    for ax in axes:
        for start, stop, _ in phases:
            ax.axvspan(start, stop, color="0.92", lw=0)
        ax.grid(alpha=0.3)
    for start, stop, label in phases:
        axes[0].text((start + stop) / 2, 1.95, label, ha="center", va="bottom", fontsize=8)
    axes[0].plot(t_ns, wave["v_q0"], color="tab:purple", label="Q input, row 0 (PWM)")
    axes[0].set_ylim(-0.1, 2.3)
    axes[0].set_ylabel("V")
    axes[0].legend(fontsize=8, loc="center right")
    axes[0].set_title(
        f"MAC chain transient, case {cases[k]}, {corners[ci]} {temperatures[ti]:g} °C "
        "(Fig. 2d/e analogue)",
        fontsize=11,
    )
    axes[1].plot(t_ns, wave["v_colk"], color="tab:blue", label="K column (8 cells, 2 pF)")
    axes[1].axhline(0.9, color="0.5", lw=0.7, ls="--")
    axes[1].set_ylabel("V")
    axes[1].legend(fontsize=8, loc="lower left")
    axes[2].plot(
        t_ns,
        wave["v_phi"],
        color="tab:orange",
        label=f"Φ pulse (ReLU converter), {scalar['phi_width'] * 1e9:.2f} ns",
    )
    axes[2].set_ylabel("V")
    axes[2].legend(fontsize=8, loc="center right")
    axes[3].plot(t_ns, wave["v_colv"], color="tab:green", label="V column (8 cells, 2 pF)")
    axes[3].plot(
        t_ns,
        wave["v_out"] / 1.8 * 0.4 + 0.5,
        color="tab:red",
        label=f"signed output pulse (scaled), {scalar['out_width'] * 1e9:.2f} ns",
    )
    axes[3].plot(
        t_ns,
        wave["v_sign"] / 1.8 * 0.4 + 0.5,
        color="k",
        ls=":",
        label=f"sign (scaled): {'negative' if scalar['out_sign'] > 0.5 else 'positive'}",
    )
    axes[3].axhline(0.9, color="0.5", lw=0.7, ls="--")
    axes[3].set_ylabel("V")
    axes[3].set_xlabel("time [ns]")
    axes[3].legend(fontsize=8, loc="upper left")
    figure.text(
        0.5,
        0.005,
        f"Energy: {scalar['e_mac_cell'] * 1e15:.1f} fJ per cell per MAC (read supply + input "
        f"drivers), {scalar['e_write_cell'] * 1e15:.1f} fJ per cell write (ideal lines), "
        f"{scalar['e_relu_conversion'] * 1e12:.2f} pJ per ReLU conversion, "
        f"{scalar['e_signed_conversion'] * 1e12:.2f} pJ per signed conversion.",
        ha="center",
        fontsize=8.5,
    )
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out
