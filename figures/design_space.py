"""The design space from a stored ``gaincell design-space`` file: energy per head-token by
module over the window, the head dimension, corner and temperature and the data; latency per
condition; and where this sky130 design costs more than the paper's OSFET numbers, by how much
and which module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.cost import PAPER_COST
from gaincell.attention.token_cost import read_design_space

STACK = (
    ("K cells' pulses", "#4477aa", None, lambda r: r["energy_k_array"]),
    (
        "ReLU converters, cycle",
        "#66ccee",
        None,
        lambda r: r["energy_relu_conversion"] - r["static_relu_conversion"],
    ),
    ("ReLU converters, static bias", "#66ccee", "//", lambda r: r["static_relu_conversion"]),
    ("V cells' pulses", "#228833", None, lambda r: r["energy_v_array"]),
    (
        "signed converters, cycle",
        "#ccbb44",
        None,
        lambda r: r["energy_signed_conversion"] - r["static_signed_conversion"],
    ),
    ("signed converters, static bias", "#ccbb44", "//", lambda r: r["static_signed_conversion"]),
    ("writes (DAC, word lines)", "#ee6677", None, lambda r: r["energy_write"]),
    ("digital (assumed, the paper's)", "#bbbbbb", "..", lambda r: r["energy_digital"]),
)
"""The stacked parts of a head-token's energy: label, colour, hatch, value of a row [J]."""


def _stacked(ax: Any, rows: list[dict[str, Any]], labels: list[str], title: str) -> None:
    """Stacked bars of the energy parts per row [nJ], each bar's total written above it."""
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for label, colour, hatch, value in STACK:
        heights = np.array([value(r) for r in rows]) * 1e9
        ax.bar(
            x,
            heights,
            0.7,
            bottom=bottom,
            color=colour,
            hatch=hatch,
            label=label,
            edgecolor="white",
            lw=0.3,
        )
        bottom += heights
    for xi, total in zip(x, bottom, strict=True):
        ax.text(xi, total * 1.01, f"{total:.1f}", ha="center", va="bottom", fontsize=7)
    paper = PAPER_COST.energy.total * 1e9
    ax.axhline(paper, color="black", ls="--", lw=0.8)
    ax.text(x[-1] + 0.45, paper, f"paper {paper:.2f} nJ", ha="right", va="bottom", fontsize=7)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("energy per head-token [nJ]")
    ax.set_ylim(0, bottom.max() * 1.12)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)


def _versus_paper(ax: Any, row: dict[str, Any]) -> None:
    """Ours against the paper's breakdown at the paper's geometry, log scale, with the ratio
    and the static bias's share of each converter group."""
    groups = {
        "Phi(Q.K^T)\narray": (
            row["energy_k_array"] + row["energy_relu_conversion"],
            PAPER_COST.energy.k_array,
            row["static_relu_conversion"],
        ),
        "Phi(S).V\narray": (
            row["energy_v_array"] + row["energy_signed_conversion"],
            PAPER_COST.energy.v_array,
            row["static_signed_conversion"],
        ),
        "DAC /\nwrites": (row["energy_write"], PAPER_COST.energy.write, 0.0),
        "digital\n(assumed)": (row["energy_digital"], PAPER_COST.energy.digital, 0.0),
    }
    x = np.arange(len(groups))
    ours = np.array([g[0] for g in groups.values()]) * 1e12
    paper = np.array([g[1] for g in groups.values()]) * 1e12
    ax.bar(x - 0.2, paper, 0.4, color="#4477aa", label="paper (OSFET)")
    ax.bar(x + 0.2, ours, 0.4, color="#cc6677", label="this design (sky130)")
    for xi, (name, (mine, theirs, static)) in zip(x, groups.items(), strict=True):
        note = f"x{mine / theirs:.2g}"
        if static > 0:
            note += f"\n{static / mine:.0%} static\nbias"
        ax.text(xi + 0.2, mine * 1e12 * 1.15, note, ha="center", va="bottom", fontsize=7)
        del name
    ax.set_yscale("log")
    ax.set_ylim(min(ours.min(), paper.min()) / 3, max(ours.max(), paper.max()) * 20)
    ax.set_xticks(x, list(groups), fontsize=8)
    ax.set_ylabel("per head-token [pJ] (log scale)")
    extra = row["energy_head"] - PAPER_COST.energy.total
    static = row["static_relu_conversion"] + row["static_signed_conversion"]
    ax.set_title(
        f"vs the paper at {row['corner']}/{row['temperature']:g} C, window {row['window']}, "
        f"d {row['d']}:\n{extra * 1e9:+.1f} nJ per head-token, of which the converters' "
        f"static bias {static * 1e9:.1f} nJ",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)


def plot_design_space(source: str | Path, out: str | Path) -> Path:
    """Six panels from the design-space file ``source``."""
    rows = read_design_space(source)

    def of(varied: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["varied"] == varied]

    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    windows = of("window")
    _stacked(axes[0, 0], windows, [r["value"] for r in windows], "over the window (tt/27 C, d 64)")
    dims = of("d")
    _stacked(axes[0, 1], dims, [r["value"] for r in dims], "over the head dimension (window 1024)")
    conditions = of("condition")
    _stacked(
        axes[0, 2],
        conditions,
        [r["value"] for r in conditions],
        "over corner / temperature (window 1024, d 64)",
    )
    data = of("data")
    if data:
        labels = ["random" if r["value"] == "random" else "the paper's\narrays" for r in data]
        _stacked(axes[1, 0], data, labels, f"the data (window {data[0]['window']}, tt/27 C, d 64)")
    else:
        axes[1, 0].set_axis_off()
    reference = next(
        (r for r in conditions if r["corner"] == "tt" and r["temperature"] == 27.0), rows[0]
    )
    _versus_paper(axes[1, 1], reference)
    ax = axes[1, 2]
    x = np.arange(len(conditions))
    ax.bar(x, [r["latency"] * 1e9 for r in conditions], 0.6, color="#cc6677")
    ax.axhline(PAPER_COST.latency * 1e9, color="black", ls="--", lw=0.8)
    ax.text(
        x[-1] + 0.3, PAPER_COST.latency * 1e9, "paper 65 ns", ha="right", va="bottom", fontsize=7
    )
    for xi, r in zip(x, conditions, strict=True):
        ax.text(xi, r["latency"] * 1e9 + 0.5, f"{r['latency'] * 1e9:.1f}", ha="center", fontsize=7)
    ax.set_xticks(x, [r["value"] for r in conditions], fontsize=8)
    ax.set_ylabel("latency per token [ns]")
    ax.set_title(
        "latency per token (the characterized schedule; the same for every window and d)",
        fontsize=9,
    )
    ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(
        "Design space of this sky130 design: energy per head-token by module (measured parts "
        "from the circuits' SPICE; the digital part assumed) and latency",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
