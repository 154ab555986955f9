"""The analogues of the paper's Fig. 5c-e from a stored ``gaincell cost`` file: latency per
token (the GPUs, the paper's design, this one; log scale), energy per token of a layer (log
scale), and the energy of a head-token by module, the measured parts told apart from the
assumed digital part."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from gaincell.attention.cost import gpu_baselines
from gaincell.attention.token_cost import read_cost

GROUPS = {
    "Phi(Q.K^T) array": ("energy_k_array", "energy_relu_conversion"),
    "Phi(S).V array": ("energy_v_array", "energy_signed_conversion"),
    "DAC (writing K, V)": ("energy_write",),
    "digital control and routing (assumed)": ("energy_digital",),
}
"""The paper's groups of a head-token's energy and the stored parts in each."""


def _engineering(value: float, unit: str) -> str:
    """``value`` [unit] with an SI prefix, three digits."""
    for scale, prefix in ((1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def plot_cost(source: str | Path, out: str | Path) -> Path:
    """Three panels from the cost file ``source``: Fig. 5c, 5d and 5e analogues."""
    stored = read_cost(source)
    ours, paper = stored["cost"], stored["paper_cost"]
    heads = int(ours["heads"])
    gpus = gpu_baselines()
    names = [gpu.name for gpu in gpus] + ["paper (OSFET)", "this design (sky130)"]
    colours = ["#888888"] * len(gpus) + ["#4477aa", "#cc6677"]
    latency = [gpu.latency_per_token for gpu in gpus] + [paper["latency"], ours["latency"]]
    energy = [gpu.energy_per_token * heads / gpu.heads for gpu in gpus]
    energy += [paper["energy_layer"], ours["energy_layer"]]

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    for ax, values, unit, title in (
        (axes[0], latency, "s", "latency per token (log scale)"),
        (axes[1], energy, "J", f"energy per token, {heads}-head layer (log scale)"),
    ):
        bars = ax.bar(range(len(names)), values, color=colours)
        ax.set_yscale("log")
        ax.set_ylabel(f"[{unit}]")
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
        ax.set_title(title)
        for bar, value in zip(bars, values, strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                value * 1.2,
                _engineering(value, unit),
                ha="center",
            )
        ax.set_ylim(min(values) / 3, max(values) * 10)
    ax = axes[2]
    top = max(paper["energy_head"], ours["energy_head"]) * 1e12
    for column, cost in enumerate((paper, ours)):
        bottom = 0.0
        for index, (group, keys) in enumerate(GROUPS.items()):
            value = sum(cost[key] for key in keys) * 1e12
            assumed = "assumed" in group
            ax.bar(
                column,
                value,
                0.6,
                bottom=bottom,
                color=f"C{index}",
                hatch="//" if assumed else None,
                edgecolor="white" if assumed else None,
                label=group if column == 0 else None,
            )
            if value > 0.06 * top:
                ax.text(column, bottom + value / 2, f"{value:,.0f} pJ", ha="center", va="center")
            bottom += value
        ax.text(column, bottom * 1.01, _engineering(bottom * 1e-12, "J"), ha="center", va="bottom")
    static = stored["static_J"]
    bias = sum(static.values()) * 1e12
    ax.text(
        1.45,
        0.55 * top,
        f"of this design's {ours['energy_head'] * 1e9:.1f} nJ,\nthe converters' static bias\n"
        f"is {bias / 1e3:.1f} nJ ({bias / (ours['energy_head'] * 1e12):.0%})",
        fontsize=9,
        va="top",
    )
    ax.set_xticks([0, 1], ["paper", "this design"])
    ax.set_xlim(-0.6, 3.4)
    ax.set_ylim(0, 1.35 * top)
    ax.set_ylabel("energy per head-token [pJ]")
    ax.set_title("a head-token by module (hatched: assumed)")
    ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(
        f"Cost of a token: {stored['corner']}, {stored['temperature']:g} C "
        "(this design from its circuits' SPICE characterizations; GPUs: the authors' measurements)"
    )
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
