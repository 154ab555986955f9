"""Per-instance spread of a Monte Carlo characterization: the figures of merit a designer reads
off each sample (full-scale current, zero crossing, converter offset and slope, ...), with their
mean and sigma over the samples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gaincell.characterize.store import CharacterizationData, StoreError


@dataclass(frozen=True)
class Spread:
    """One figure of merit over the Monte Carlo samples."""

    name: str
    """Short name, e.g. ``i_full_scale``."""
    units: str
    """SI units."""
    description: str
    """How it is read off each sample."""
    values: np.ndarray
    """Per sample (NaN where a sample has none)."""

    @property
    def mean(self) -> float:
        """Mean over the samples."""
        return float(np.nanmean(self.values))

    @property
    def sigma(self) -> float:
        """Standard deviation over the samples (n - 1)."""
        return float(np.nanstd(self.values, ddof=1))

    @property
    def relative(self) -> float:
        """sigma / |mean|."""
        return self.sigma / abs(self.mean) if self.mean else float("inf")


def _zero_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """Where y (increasing through zero somewhere along x) crosses zero, linearly."""
    sign = np.flatnonzero(np.diff(np.sign(y)) != 0)
    if sign.size == 0:
        return float("nan")
    i = int(sign[0])
    return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))


def line_fit(charge: np.ndarray, width: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    """(slope, charge where the fitted line reaches zero width) over the kept points."""
    if keep.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(charge[keep], width[keep], 1)
    return float(slope), float(-intercept / slope)


def _signed_cell(
    values: np.ndarray, v_store: np.ndarray, prefix: str, units: str, what: str
) -> list[Spread]:
    """A signed cell's output over the stored voltage (sample, v_store): both full scales and
    the stored voltage of zero weight."""
    return [
        Spread(f"{prefix}_full_scale_pos", units, f"{what}, highest v_store", values[:, -1]),
        Spread(f"{prefix}_full_scale_neg", units, f"{what}, lowest v_store", values[:, 0]),
        Spread(
            "v_zero",
            "V",
            f"stored voltage where the {what} crosses zero (the weight's zero)",
            np.array([_zero_crossing(v_store, row) for row in values]),
        ),
    ]


def _multiplier(data: CharacterizationData) -> list[Spread]:
    current = data.quantities["i_out"][0, :, 0, :, -1]  # sample, v_store at full input
    return _signed_cell(current, data.axes["v_store"].values, "i", "A", "i_out at full input")


def _multiplier_pulse(data: CharacterizationData) -> list[Spread]:
    longest = data.quantities["charge"][0, :, 0, :, 0, -1]  # sample, v_store; first v_col
    return _signed_cell(
        longest, data.axes["v_store"].values, "q", "C", "charge of the longest pulse"
    )


SATURATION = 0.97
"""A converter's pulse this close to the longest one in the file is clipped at T_max."""


def converter_sides(circuit: str, charge: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """A converter's polarities as (name suffix, charges of that side): the positive charges,
    and for the signed converter the negative ones too."""
    if circuit == "relu-c2p":
        return [("", charge > 0)]
    return [("_pos", charge > 0), ("_neg", charge < 0)]


def converter_lines(
    circuit: str, charge: np.ndarray, widths: np.ndarray, clipped: float
) -> np.ndarray:
    """(instances, sides, 2): per instance (a row of ``widths`` over ``charge``) and side
    (:func:`converter_sides`) the :func:`line_fit` through its pulses shorter than ``clipped``
    (pulses at the window's end, T_max, are clipped, not converted)."""
    sides = converter_sides(circuit, charge)
    fits = [
        [line_fit(charge, row, side & (row > 0) & (row < clipped)) for _, side in sides]
        for row in widths
    ]
    return np.array(fits, dtype=float).reshape(len(widths), len(sides), 2)


def _converter(data: CharacterizationData) -> list[Spread]:
    width = data.quantities["width"][0, :, 0]  # sample, charge
    charge = data.axes["charge"].values
    fits = converter_lines(data.circuit, charge, width, SATURATION * np.nanmax(width))
    out: list[Spread] = []
    for index, (suffix, _) in enumerate(converter_sides(data.circuit, charge)):
        out += [
            Spread(
                f"slope{suffix}",
                "s/C",
                "pulse width per charge, line through the pulses shorter than T_max"
                + (
                    f" of {'positive' if suffix == '_pos' else 'negative'} charge" if suffix else ""
                ),
                fits[:, index, 0],
            ),
            Spread(
                f"offset{suffix}",
                "C",
                "charge where that line reaches zero width (the converter's offset)",
                fits[:, index, 1],
            ),
        ]
    return out


def _leakage(data: CharacterizationData) -> list[Spread]:
    tau = data.quantities["tau"][0, :, 0]  # sample, v_store
    v_store = data.axes["v_store"].values
    return [
        Spread(
            "tau_high", "s", f"storage time constant at v_store = {v_store[-1]:g} V", tau[:, -1]
        ),
        Spread("tau_low", "s", f"storage time constant at v_store = {v_store[0]:g} V", tau[:, 0]),
        Spread(
            "t_level_loss",
            "s",
            "hold time until the highest stored level has lost one level",
            data.quantities["t_level_loss"][0, :, 0, -1],
        ),
    ]


SPREADS: dict[str, Callable[[CharacterizationData], list[Spread]]] = {
    "multiplier": _multiplier,
    "multiplier-pulse": _multiplier_pulse,
    "relu-c2p": _converter,
    "signed-c2p": _converter,
    "leakage": _leakage,
}
"""Circuits whose Monte Carlo files have a spread report, and how it is read."""


def spread(data: CharacterizationData) -> list[Spread]:
    """The per-instance figures of merit of a Monte Carlo characterization (first corner and
    temperature)."""
    if "sample" not in data.axes:
        raise StoreError(f"this {data.circuit} file holds no Monte Carlo samples")
    if data.circuit not in SPREADS:
        raise StoreError(
            f"no spread report for {data.circuit}; there is one for {', '.join(SPREADS)}"
        )
    return SPREADS[data.circuit](data)


def format_spread(data: CharacterizationData) -> str:
    """A table of :func:`spread`: mean, sigma and sigma/|mean| of each figure."""
    items = spread(data)  # checks that it is a Monte Carlo file first
    samples = len(data.axes["sample"].values)
    corner = data.axes["corner"].values[0]
    temperature = data.axes["temperature"].values[0]
    lines = [f"{data.circuit}: {samples} Monte Carlo samples at {corner} / {temperature:g} C"]
    for item in items:
        lines.append(
            f"  {item.name:18s} mean {item.mean: .4g} {item.units:4s} sigma {item.sigma:.3g} "
            f"({item.relative:.2%})  {item.description}"
        )
    return "\n".join(lines)
