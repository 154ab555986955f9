"""The error budget of a head from a stored ``gaincell error-budget`` file: each non-ideality
alone against the ideal head, per corner and temperature (:mod:`gaincell.attention.budget`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.budget import ENTRIES, read_budgets

_NAMES = {
    "nonlinearity": "circuit transfer\n(nonlinearity)",
    "nonlinearity_calibrated": "... after gain\nand offset",
    "quantization": "quantization\n(DAC, counter)",
    "leakage": "leakage",
    "mismatch": "mismatch",
    "all": "all on",
}


def plot_error_budget(source: str | Path, out: str | Path) -> Path:
    """Two panels (Phi, output): the RMS error of each effect alone and of all together, a
    bar per condition, as a fraction of the ideal head's range."""
    budgets = read_budgets(source)
    settings = next(iter(budgets.values())).settings
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.4), sharey=True)
    width = 0.8 / len(budgets)
    x = np.arange(len(ENTRIES))
    for ax, quantity in zip(axes, ("phi", "output"), strict=True):
        for i, (condition, budget) in enumerate(budgets.items()):
            values = [getattr(budget, quantity)[e] * 100 for e in ENTRIES]
            bars = ax.bar(x + (i - (len(budgets) - 1) / 2) * width, values, width, label=condition)
            if i == 0:
                ax.bar_label(bars, fmt="%.2g", fontsize=6, padding=1)
        ax.set_xticks(x, [_NAMES[e] for e in ENTRIES], fontsize=8)
        ax.set_yscale("log")
        ax.set_title(
            "Phi (K tiles and ReLU converters)" if quantity == "phi" else "output (V tiles)",
            fontsize=10,
        )
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("RMS error against the ideal head [% of its range]")
    axes[0].legend(title="corner / temperature", fontsize=8)
    levels = settings.get("levels")
    figure.suptitle(
        f"Error budget of a head, each effect switched on alone: {settings['tokens']} random "
        f"tokens, window {settings['window']}, d {settings['d']}, DAC / counter levels "
        f"{levels}, step {settings['step_time_s'] * 1e9:g} ns, mismatch RMS over "
        f"{settings['mismatch_seeds']} draws",
        fontsize=9,
    )
    figure.tight_layout()
    out = Path(out)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out
