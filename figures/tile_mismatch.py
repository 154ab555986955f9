"""Monte Carlo tiles: the per-column error distributions of SPICE's mismatched tiles against
their nominal twins, beside those the array simulation predicts with and without mismatch
(:mod:`gaincell.attention.tile_mismatch`), and the error budget of a head."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.tile_mismatch import mismatch_errors, mismatch_metrics
from gaincell.attention.validate import surrogate_circuits
from gaincell.characterize.tile import read_tile_results

_LABELS = {
    "spice": "SPICE Monte Carlo",
    "array_mismatch": "array simulation, drawn devices",
    "array_nominal": "array simulation, nominal devices",
}
_COLORS = {"spice": "black", "array_mismatch": "tab:red", "array_nominal": "tab:blue"}
_TITLES = {"phi": "K tile: Phi per token", "output": "V tile: signed output per dimension"}


def plot_tile_mismatch(source: str | Path, out: str | Path) -> Path:
    """Histograms of the per-column errors against nominal SPICE (each operation), and the
    sigma and mean of each model, from a tile file holding Monte Carlo cases with their
    nominal twins (the array's devices drawn again from the shipped mismatch surrogates)."""
    stored = read_tile_results(source)
    errors = mismatch_errors(stored.cases, stored.results, surrogate_circuits())
    metrics = mismatch_metrics(errors)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2), width_ratios=[1, 1, 0.8])
    for ax, (op, entry) in zip(axes[:2], metrics.items(), strict=True):
        span = entry["range"]
        values = {m: errors[f"{m}/{op}"].ravel() / span * 100 for m in _LABELS}
        values = {m: v[np.isfinite(v)] for m, v in values.items()}
        spread = np.percentile(np.abs(values["spice"]), 99.5)
        bins = np.linspace(-1.2 * spread, 1.2 * spread, 61)
        for model, label in _LABELS.items():
            ax.hist(
                values[model],
                bins=bins,
                density=True,
                histtype="step" if model != "spice" else "stepfilled",
                color=_COLORS[model],
                alpha=0.35 if model == "spice" else 1.0,
                lw=1.6,
                label=f"{label}: sigma {entry[model]['sigma'] / span:.2%}",
            )
        drawn = entry["array_mismatch"]
        ax.set_title(
            f"{_TITLES[op]} ({entry['pairs']} cases)\nsigma ratio {drawn['sigma_ratio']:.2f} "
            f"(95 % over the cases {drawn['sigma_ratio_interval'][0]:.2f} .. "
            f"{drawn['sigma_ratio_interval'][1]:.2f})\nmean difference "
            f"{drawn['mean_difference']:+.2%} ± {drawn['mean_difference_se']:.2%} of range",
            fontsize=9,
        )
        ax.set_xlabel("error against nominal SPICE [% of range]")
        ax.set_ylabel("density")
        ax.set_yscale("log")
        ax.legend(fontsize=7, loc="upper left")
    bars = axes[2]
    ops = list(metrics)
    width = 0.27
    for i, model in enumerate(_LABELS):
        sigmas = [metrics[op][model]["sigma"] / metrics[op]["range"] * 100 for op in ops]
        bars.bar(np.arange(len(ops)) + (i - 1) * width, sigmas, width, color=_COLORS[model])
    bars.set_xticks(np.arange(len(ops)), [_TITLES[op].split(":")[0] for op in ops])
    bars.set_ylabel("sigma of the per-column error [% of range]")
    bars.set_title("sigma: SPICE vs the array with and without mismatch", fontsize=9)
    figure.suptitle(
        "Monte Carlo 64x64 tiles (sky130 mismatch, tt / 27 C): per-column error against the "
        "nominal SPICE tile",
        fontsize=10,
    )
    figure.tight_layout()
    out = Path(out)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out
