"""Fig. 5a/b analogue: whole 64x64 tiles in SPICE against the array simulation (surrogates)
and the behavioural model, one parity panel per operation."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.validate import error_metrics, load_validation

STYLE = {
    "array": ("array simulation (surrogates)", "tab:blue", 14, 0.8),
    "behavioural": ("behavioural model, paper constants", "tab:orange", 10, 0.55),
    "behavioural_matched": ("behavioural, these converters' gains", "tab:green", 8, 0.45),
}


def plot_tile_validation(source: Path, out: Path) -> Path:
    """Parity of Phi(Q.K^T) and Phi(S).V (on SPICE's Phi pulses) against SPICE."""
    outputs, attrs = load_validation(source)
    metrics = error_metrics(outputs)
    tokens = outputs["spice/phi"].shape[1]
    cases = outputs["spice/phi"].shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
    panels = (
        ("phi", "phi", r"$\Phi(Q\cdot K^T)$ per token (width / $T_{max}$)", "Fig. 5a analogue"),
        (
            "output",
            "output_v_given_phi",
            r"$\Phi(S)\cdot V$ per dimension (signed width / "
            r"$T_{max}$)",
            "Fig. 5b analogue",
        ),
    )
    for ax, (operation, key, label, title) in zip(axes, panels, strict=True):
        reference = outputs[f"spice/{operation}"].ravel()
        lo, hi = float(np.nanmin(reference)), float(np.nanmax(reference))
        pad = 0.05 * (hi - lo)
        lines = []
        for model, (name, colour, size, alpha) in STYLE.items():
            predicted = outputs[f"{model}/{key}"].ravel()
            ax.scatter(
                reference, predicted, s=size, color=colour, alpha=alpha, label=name, linewidths=0
            )
            m = metrics[f"{model}/{operation}"]
            lines.append(f"{model}: NRMSE {m['nrmse']:.1%}, max {m['max_error']:.1%}")
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.8)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_xlabel(f"SPICE: {label}")
        ax.set_ylabel("model")
        ax.set_title(f"{title}: {cases} cases, {tokens}x{tokens} tiles")
        ax.grid(alpha=0.3)
        ax.text(
            0.02,
            0.98,
            "\n".join(lines) + "\n(normalized to the SPICE range)",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"},
        )
        ax.legend(loc="lower right", fontsize=8)
    constants = attrs.get("equivalent_constants", {})
    seconds = attrs.get("spice_seconds", float("nan"))
    array = attrs.get("array_seconds_per_case", float("nan"))
    fig.suptitle(
        f"Whole tiles in ngspice vs the surrogate-driven array and the behavioural model "
        f"(tt, 27 °C); converters implement s_sat = {constants.get('s_sat', float('nan')):.0f}, "
        f"out_scale = {constants.get('out_scale', float('nan')):.0f} (paper: 80, 40)\n"
        f"SPICE {seconds / cases:.0f} s per case on {attrs.get('jobs', 2)} workers, array "
        f"simulation {array * 1e3:.2f} ms per case",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out
