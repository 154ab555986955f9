"""Fig. 5a/b analogue: whole tiles in SPICE against the array simulation (surrogates) and the
behavioural model, a column of parity panels per corner and temperature, and a summary of the
validation matrix (every condition's NRMSE for each operation)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gaincell.attention.validate import COUNTER_LEVEL, error_metrics, load_validation

STYLE = {
    "array": ("array simulation (surrogates)", "tab:blue", 10, 0.8),
    "behavioural_matched": ("behavioural, these converters' gains", "tab:green", 6, 0.35),
}
ROWS = (
    ("phi", "phi", "phi", r"$\Phi(Q\cdot K^T)$ (5a)"),
    ("output", "output", "output_v_given_phi", r"$\Phi(S)\cdot V$ on SPICE's $\Phi$ (5b)"),
    ("chained", "output", "output", r"chained: own $\Phi$ into own V tile"),
)
"""(operation, SPICE output, model output, label) per row of the parity figure."""
TARGET_NRMSE = 0.02
"""The array simulation's target against SPICE, for every operation and condition."""


def _case_conditions(source: Path) -> np.ndarray:
    from gaincell.characterize.tile import read_tile_results

    results = read_tile_results(source).results
    return np.array([f"{r.corner}/{r.temperature:g}" for r in results])


def plot_tile_validation(source: str | Path, out: str | Path) -> Path:
    """Parity against SPICE of Phi(Q.K^T), Phi(S).V on SPICE's Phi and the chained step, one
    column of panels per corner and temperature in the file."""
    outputs, attrs = load_validation(source)
    conditions = _case_conditions(source)
    names = list(dict.fromkeys(conditions))
    tokens = outputs["spice/phi"].shape[1]
    fig, axes = plt.subplots(
        len(ROWS), len(names), figsize=(max(3.3 * len(names) + 0.8, 9.0), 9.6), squeeze=False
    )
    for column, condition in enumerate(names):
        mask = conditions == condition
        metrics = error_metrics(outputs, mask)
        for row, (operation, spice_key, model_key, label) in enumerate(ROWS):
            ax = axes[row, column]
            reference = outputs[f"spice/{spice_key}"][mask].ravel()
            lo, hi = float(np.nanmin(reference)), float(np.nanmax(reference))
            # At least one counter level wide (the metrics' floor): a condition whose SPICE
            # values all coincide (no Phi pulse at all) still shows its points.
            middle, half = 0.5 * (lo + hi), max(0.5 * (hi - lo), 0.5 * COUNTER_LEVEL)
            lo, hi = middle - half, middle + half
            pad = 0.06 * (hi - lo)
            text = []
            for model, (name, colour, size, alpha) in STYLE.items():
                predicted = outputs[f"{model}/{model_key}"][mask].ravel()
                ax.scatter(
                    reference, predicted, s=size, color=colour, alpha=alpha, label=name, lw=0
                )
                m = metrics[f"{model}/{operation}"]
                signs = f", {m['sign_errors']} sign" if "sign_errors" in m else ""
                text.append(
                    f"{model.split('_')[0]}: {m['nrmse']:.2%} ({m['max_error']:.1%}{signs})"
                )
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.7)
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - 3 * pad, hi + 3 * pad)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            ax.text(
                0.03,
                0.97,
                "\n".join(text),
                transform=ax.transAxes,
                va="top",
                fontsize=6.5,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"},
            )
            if row == 0:
                ax.set_title(f"{condition} °C, {int(mask.sum())} cases", fontsize=9)
            if column == 0:
                ax.set_ylabel(f"model: {label}", fontsize=8)
            if row == len(ROWS) - 1:
                ax.set_xlabel("SPICE", fontsize=8)
    axes[0, 0].legend(loc="lower right", fontsize=6)
    seconds = attrs.get("spice_seconds", float("nan"))
    array = attrs.get("array_seconds_per_case", float("nan"))
    fig.suptitle(
        f"Whole {tokens}x{tokens} tiles in ngspice vs the array simulation and the behavioural "
        "model:\nNRMSE (max error, sign errors above one counter level), normalized to the SPICE "
        f"range; SPICE {seconds / len(conditions):.0f} s per case on {attrs.get('jobs', 2)} "
        f"workers, array simulation {array * 1e3:.2f} ms per case",
        fontsize=9,
    )
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out


def plot_tile_matrix(source: str | Path, out: str | Path) -> Path:
    """NRMSE of the array simulation per condition and operation: the 64x64 matrix in
    ``source`` and, when beside it, the small-tile matrix (``tile_matrix_16_sky130.h5``)."""
    beside = Path(source).parent.glob("tile_matrix_*_sky130.h5")
    files = [source, *sorted(p for p in beside if p != Path(source))]
    fig, axes = plt.subplots(len(files), 1, figsize=(12, 3.4 * len(files)), squeeze=False)
    colours = {"phi": "tab:blue", "output": "tab:orange", "chained": "tab:red"}
    for ax, path in zip(axes[:, 0], files, strict=True):
        outputs, attrs = load_validation(path)
        by_condition = attrs.get("metrics_by_condition", {})
        names = list(dict.fromkeys(_case_conditions(path)))  # file order (JSON sorts keys)
        x = np.arange(len(names))
        for i, (operation, colour) in enumerate(colours.items()):
            values = [100 * by_condition[n][f"array/{operation}"]["nrmse"] for n in names]
            ax.bar(x + (i - 1) * 0.27, values, 0.27, color=colour, label=operation)
        worst_signs = sum(
            by_condition[n][f"array/{op}"]["sign_errors"]
            for n in names
            for op in ("output", "chained")
        )
        ax.axhline(100 * TARGET_NRMSE, color="black", ls="--", lw=0.8, label="target 2 %")
        ax.set_xticks(x, [f"{n} °C" for n in names], rotation=30, fontsize=8)
        ax.set_ylabel("NRMSE vs SPICE [%]")
        tokens = outputs["spice/phi"].shape[1]
        cases = outputs["spice/phi"].shape[0]
        ax.set_title(
            f"{tokens}x{tokens} tiles, {cases} cases: array simulation vs SPICE per corner and "
            f"temperature (sign errors above one counter level: {worst_signs})",
            fontsize=9,
        )
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=4, loc="upper left")
        ax.set_xlim(-0.6, max(len(names), 4) - 0.4)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    plt.close(fig)
    return out
