"""Surrogate accuracy figures: parity against held-out SPICE points and the multiplier's
error map. Drawn from the surrogate files alone (each holds its fresh off-grid SPICE
validation points and the surrogate's prediction there), so no ngspice is needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from gaincell.errors import InputError
from gaincell.surrogate.models import GridSurrogate, PolySurrogate, Surrogate
from gaincell.surrogate.store import load

TARGET_FS = 0.01
"""Accuracy target: max |surrogate - SPICE| <= 1 % of full scale."""
CORNER_COLORS = {
    "tt": "black",
    "ss": "tab:blue",
    "ff": "tab:red",
    "sf": "tab:green",
    "fs": "tab:purple",
}
"""Colour of each process corner (others fall back to grey)."""
DISPLAY_UNITS = {"A": (1e6, "µA"), "s": (1e9, "ns"), "V": (1.0, "V"), "C": (1e12, "pC")}
"""SI unit -> (factor, display unit) for axis labels."""
QUANTITY_LABELS = {"i_out": "I_out", "width": "pulse width", "v_store_t": "V_store(t)"}
"""Quantity name -> axis label."""
TITLES = {
    "multiplier": "Multiplier I_out (Fig. 1e analogue)",
    "relu-c2p": "ReLU charge-to-pulse width (Fig. 1g analogue)",
    "signed-c2p": "Signed charge-to-pulse width (Fig. 1h analogue)",
    "leakage": "Storage-node leakage (Fig. 1f analogue)",
}
"""Circuit -> panel title."""


def _display(units: str) -> tuple[float, str]:
    """(factor, display unit) for values in SI ``units``."""
    return DISPLAY_UNITS.get(units, (1.0, units))


def _checked(model: Surrogate, path: str | Path) -> Surrogate:
    """``model`` if it holds validation points and metrics, else a ValueError."""
    if model.validation is None or model.metrics is None:
        raise InputError(f"{path} holds no validation points (fitted without metrics)")
    return model


def _describe(model: Surrogate) -> str:
    """``linear grid, 91 x 37 x 3 nodes`` or ``order-3 poly``."""
    if isinstance(model, GridSurrogate):
        sizes = " × ".join(str(n.size) for n in model.nodes.values())
        return f"{model.method} grid, {sizes} nodes over {', '.join(model.nodes)}"
    if isinstance(model, PolySurrogate):
        return f"order-{model.order} polynomial"
    return model.kind


def _metrics_text(model: Surrogate) -> str:
    """The metrics box of one parity panel."""
    metrics = model.metrics
    assert metrics is not None
    worst_corner = max(metrics.max_error_fs, key=lambda c: metrics.max_error_fs[c])
    worst = metrics.max_error_fs[worst_corner]
    points = sum(metrics.points.values())
    what = (
        "fresh off-grid SPICE points"
        if metrics.kind == "spice-holdout"
        else f"{metrics.kind} points"
    )
    verdict = "met" if worst <= TARGET_FS else "MISSED"
    return "\n".join(
        [
            f"max |error| {worst:.2%} FS (worst corner: {worst_corner})",
            f"RMSE {metrics.overall.get('rmse_fs', float('nan')):.3%} FS (all corners)",
            f"R² {metrics.worst('r2'):.6f} (worst corner)",
            f"{points} {what}",
            f"target max |error| ≤ {TARGET_FS:.0%} FS: {verdict}",
        ]
    )


def _parity_panel(model: Surrogate, top: Axes, bottom: Axes) -> None:
    """Surrogate versus SPICE (``top``) and the residual in % FS versus SPICE (``bottom``)."""
    validation, metrics = model.validation, model.metrics
    assert validation is not None and metrics is not None
    factor, unit = _display(model.units)
    label = QUANTITY_LABELS.get(model.quantity, model.quantity)
    reference, predicted = validation.reference, validation.predicted
    for index, corner in enumerate(model.domain.corners):
        mask = (validation.corner == index) & np.isfinite(reference)
        if not mask.any():
            continue
        color = CORNER_COLORS.get(corner, "0.5")
        ref = reference[mask] * factor
        top.scatter(
            ref,
            predicted[mask] * factor,
            s=7,
            color=color,
            alpha=0.55,
            lw=0,
            label=f"{corner} ({int(mask.sum())})",
        )
        residual = (predicted[mask] - reference[mask]) / metrics.full_scale[corner] * 100
        bottom.scatter(ref, residual, s=5, color=color, alpha=0.55, lw=0)
    finite = reference[np.isfinite(reference)] * factor
    low, high = float(finite.min()), float(finite.max())
    pad = 0.04 * (high - low)
    line = np.array([low - pad, high + pad])
    top.plot(line, line, color="0.45", lw=0.9, ls="--", zorder=0, label="y = x")
    top.set_xlim(*line)
    top.set_ylim(*line)
    top.set_aspect("equal", adjustable="box")
    top.set_ylabel(f"surrogate {label} [{unit}]")
    top.set_title(TITLES.get(model.circuit, model.name), fontsize=10)
    top.grid(alpha=0.3)
    top.text(
        0.03,
        0.97,
        _metrics_text(model),
        transform=top.transAxes,
        va="top",
        ha="left",
        fontsize=7.5,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    top.legend(
        fontsize=7, loc="lower right", title="corner (points)", title_fontsize=7, markerscale=1.8
    )
    for level in (-TARGET_FS * 100, TARGET_FS * 100):
        bottom.axhline(level, color="tab:red", lw=0.8, ls=":")
    bottom.axhline(0, color="0.45", lw=0.6)
    bottom.set_xlim(*line)
    scale = np.array([metrics.full_scale[c] for c in model.domain.corners])[validation.corner]
    worst = float(np.nanmax(np.abs(predicted - reference) / scale)) * 100
    span = max(1.15 * TARGET_FS * 100, 1.1 * worst)
    bottom.set_ylim(-span, span)
    bottom.set_xlabel(f"SPICE {label} [{unit}]")
    bottom.set_ylabel("surrogate − SPICE\n[% FS]")
    bottom.grid(alpha=0.3)


def plot_parity(surrogate_files: Sequence[str | Path], out: str | Path) -> Path:
    """One column per surrogate file: surrogate versus its held-out SPICE points (coloured by
    corner, every temperature, with the y = x line and the accuracy metrics), and below it the
    residual in % of the corner's full scale with the ±1 % FS target."""
    models = [_checked(load(path), path) for path in surrogate_files]
    if not models:
        raise InputError("plot_parity needs at least one surrogate file")
    columns = len(models)
    figure, axes = plt.subplots(
        2,
        columns,
        figsize=(4.9 * columns, 7.4),
        squeeze=False,
        gridspec_kw={"height_ratios": [3.0, 1.25]},
    )
    for column, model in enumerate(models):
        _parity_panel(model, axes[0, column], axes[1, column])
    figure.suptitle(
        "Surrogates versus fresh off-grid SPICE points (held out of the fit; all corners and "
        "temperatures)",
        fontsize=11,
    )
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out


def _lattice(
    model: Surrogate, corner: str, temperature: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out lattice of one corner and temperature: (v_store nodes, v_in nodes,
    |error| in % FS with shape (v_in, v_store); NaN where SPICE failed or no point)."""
    validation, metrics = model.validation, model.metrics
    assert validation is not None and metrics is not None
    index = model.domain.corners.index(corner)
    mask = (validation.corner == index) & np.isclose(validation.inputs["temperature"], temperature)
    v_store, store_at = np.unique(validation.inputs["v_store"][mask], return_inverse=True)
    v_in, in_at = np.unique(validation.inputs["v_in"][mask], return_inverse=True)
    error = np.full((v_in.size, v_store.size), np.nan)
    error[in_at, store_at] = (
        np.abs(validation.predicted[mask] - validation.reference[mask])
        / metrics.full_scale[corner]
        * 100
    )
    return v_store, v_in, error


def plot_error_map(
    multiplier_surrogate_file: str | Path, out: str | Path, temperature: float = 27.0
) -> Path:
    """|surrogate - SPICE| in % of full scale over the multiplier's (V_store, V_in) domain at
    ``temperature``, one panel per corner (tt first) on the held-out lattice, plus a summary
    of the worst and RMS error per corner and temperature against the 1 % FS target."""
    model = _checked(load(multiplier_surrogate_file), multiplier_surrogate_file)
    if not {"v_store", "v_in", "temperature"} <= set(model.inputs):
        raise InputError(
            f"{multiplier_surrogate_file} is not a multiplier surrogate "
            f"(inputs {', '.join(model.inputs)})"
        )
    validation, metrics = model.validation, model.metrics
    assert validation is not None and metrics is not None
    corners = sorted(model.domain.corners, key=lambda c: (c != "tt", model.domain.corners.index(c)))
    temperatures = np.unique(validation.inputs["temperature"])
    room = float(temperatures[np.argmin(np.abs(temperatures - temperature))])
    maps = {c: _lattice(model, c, room) for c in corners}
    vmax = max(float(np.nanmax(e)) for _, _, e in maps.values())

    panels = len(corners) + 1
    columns = 3
    rows = -(-panels // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.6 * columns, 3.9 * rows), squeeze=False, layout="constrained"
    )
    flat = axes.ravel()
    mesh = None
    for axis, corner in zip(flat, corners, strict=False):
        v_store, v_in, error = maps[corner]
        mesh = axis.pcolormesh(
            v_store, v_in, error, shading="nearest", cmap="magma_r", vmin=0.0, vmax=vmax
        )
        worst = np.unravel_index(np.nanargmax(error), error.shape)
        axis.plot(v_store[worst[1]], v_in[worst[0]], marker="x", color="tab:cyan", ms=8, mew=2)
        axis.set_title(
            f"{corner}, {room:g} °C: max {np.nanmax(error):.3f} % FS "
            f"({np.isfinite(error).sum()} points)",
            fontsize=9,
        )
        axis.set_xlabel("V_store [V]")
        axis.set_ylabel("V_in [V]")
        axis.axvline(0.9, color="0.5", lw=0.6, ls=":")  # mid-rail: zero weight
    assert mesh is not None
    colorbar = figure.colorbar(mesh, ax=list(flat[: len(corners)]), shrink=0.9, pad=0.02)
    colorbar.set_label("|surrogate − SPICE| [% FS]")

    summary = flat[len(corners)]
    markers = ("v", "o", "^", "s", "D")
    colors = ("tab:blue", "tab:green", "tab:red", "tab:orange", "tab:purple")
    offsets = np.linspace(-0.22, 0.22, temperatures.size)
    for t_index, t in enumerate(temperatures):
        worst, rms = [], []
        for corner in corners:
            index = model.domain.corners.index(corner)
            mask = (validation.corner == index) & np.isclose(validation.inputs["temperature"], t)
            mask &= np.isfinite(validation.reference)
            error = (validation.predicted[mask] - validation.reference[mask]) / (
                metrics.full_scale[corner]
            )
            worst.append(np.max(np.abs(error)) * 100)
            rms.append(np.sqrt(np.mean(error**2)) * 100)
        x = np.arange(len(corners)) + offsets[t_index]
        marker = markers[t_index % len(markers)]
        color = colors[t_index % len(colors)]
        summary.scatter(x, worst, marker=marker, color=color, s=30, label=f"max, {t:g} °C")
        summary.scatter(
            x, rms, marker=marker, facecolor="none", edgecolor=color, s=30, label=f"RMS, {t:g} °C"
        )
    summary.axhline(TARGET_FS * 100, color="tab:red", lw=1, ls="--", label="target 1 % FS")
    summary.set_yscale("log")
    summary.set_ylim(5e-3, 2.0)
    summary.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    summary.set_xticks(np.arange(len(corners)), corners)
    summary.set_xlabel("corner")
    summary.set_ylabel("|error| [% FS]")
    summary.set_title("All held-out points, per corner and temperature", fontsize=9)
    summary.grid(alpha=0.3, which="both", axis="y")
    summary.legend(fontsize=6.5, ncol=2, loc="lower center")
    for axis in flat[panels:]:
        axis.set_visible(False)

    figure.suptitle(
        f"Multiplier surrogate error on the held-out SPICE lattice (target max |error| ≤ "
        f"{TARGET_FS:.0%} FS): worst {metrics.worst():.2%} FS over "
        f"{sum(metrics.points.values())} points\n{_describe(model)}; × = worst point of the "
        "panel; dotted line = mid-rail (zero weight)",
        fontsize=11,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=150)
    plt.close(figure)
    return out
