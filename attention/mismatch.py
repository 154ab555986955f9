"""Device mismatch of one head's hardware: a static deviation per physical cell and converter,
drawn once from the shipped mismatch surrogates (sky130 Monte Carlo at tt / 27 C, applied as
the same deviation at every corner and temperature).

- Cells: each cell an instance of ``multiplier-pulse-mc`` (its charge for a 15 ns pulse over
  stored voltage and column voltage); its deviation from the population's mean over 15 ns is
  an extra current, linear in the column voltage (the surrogate holds two column levels),
  added to the cell's current polynomial at the cell's written level. The deviation of a
  pulse's charge grows with its width (measured: sigma 0.26 fC at 3 ns, 1.32 fC at 15 ns), so
  the edge charges keep their nominal values.
- ReLU converters (one per window slot) and signed converters (one per V tile column): each
  an instance of ``relu-c2p-mc`` / ``signed-c2p-mc``; the line through its pulses shorter
  than T_max (:mod:`gaincell.characterize.spread`) against the population's gives a gain and
  an offset: the converter sees ``(1 + gain) (q - offset)`` where the nominal one sees ``q``
  (the saturation at T_max stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from gaincell.characterize.spread import SATURATION, converter_lines
from gaincell.errors import InputError

if TYPE_CHECKING:
    from gaincell.surrogate.mismatch import MismatchSurrogate

Array = NDArray[np.float64]

CELL_PULSE_WIDTH = 15e-9
"""Width of the pulse whose charge the cell mismatch surrogate holds [s]."""


@dataclass(frozen=True)
class ArrayMismatch:
    """Static per-device deviations of one head (drawn once, the same for every token)."""

    cell_k: Array
    """(window, d, codes, 2): each K cell's extra current at each DAC code: at mid-rail [A] and
    its slope in the column voltage [A/V]."""
    cell_v: Array
    """(window, d, codes, 2): the same for the V cells."""
    relu_gain: Array
    """(window,): each ReLU converter's relative gain deviation."""
    relu_offset: Array
    """(window,): its offset [C] (the charge it sees is reduced by it)."""
    signed_gain: Array
    """(tiles, d): each signed converter's relative gain deviation."""
    signed_offset: Array
    """(tiles, d): its offset [C]."""

    def relu_charge(self, charge: Array) -> Array:
        """What each ReLU converter converts, for column charges (..., window) [C]."""
        return (1.0 + self.relu_gain) * (charge - self.relu_offset)

    def signed_charge(self, charge: Array) -> Array:
        """What each signed converter converts, for tile charges (..., tiles, d) [C]."""
        return (1.0 + self.signed_gain) * (charge - self.signed_offset)


def _cell_deviation(model: MismatchSurrogate, n: int, seed: int, volts: Array) -> Array:
    """(n, codes, 2): extra current at mid-rail and its slope per volt of column, for n drawn
    cells at stored voltages ``volts``."""
    drawn = model.sample(n, seed)
    v_store, v_col = model.axes["v_store"], model.axes["v_col"]
    extra = (drawn.values - model.mean) / CELL_PULSE_WIDTH  # (n, v_store, v_col)
    # Linear in the stored voltage between the surrogate's nodes (the same for every cell).
    volts = np.clip(volts, v_store[0], v_store[-1])
    upper = np.clip(np.searchsorted(v_store, volts, side="right"), 1, len(v_store) - 1)
    weight = ((volts - v_store[upper - 1]) / (v_store[upper] - v_store[upper - 1]))[:, None]
    at = extra[:, upper - 1] * (1.0 - weight) + extra[:, upper] * weight  # (n, codes, v_col)
    slope = (at[..., -1] - at[..., 0]) / (v_col[-1] - v_col[0])
    mid = at[..., 0] + slope * (0.5 * (v_col[0] + v_col[-1]) - v_col[0])
    # The polynomial's x is the column's excursion from mid-rail (0.9 V = the two levels' mean).
    return np.stack([mid, slope], axis=-1)


def _converter_lines(model: MismatchSurrogate, n: int, seed: int) -> tuple[Array, Array]:
    """(relative gain, offset [C]) of n drawn converters against the population's mean line
    (for a signed converter the mean of its two polarities)."""
    charge = model.axes["charge"]
    drawn = model.sample(n, seed).values
    lines = converter_lines(
        model.circuit, charge, np.vstack([model.mean, drawn]), SATURATION * np.max(model.mean)
    )
    slopes, offsets = np.abs(lines[..., 0]).mean(axis=1), lines[..., 1].mean(axis=1)
    gain = slopes[1:] / slopes[0] - 1.0  # row 0: the population's mean curve
    offset = offsets[1:] - offsets[0]
    bad = ~np.isfinite(gain) | ~np.isfinite(offset)
    gain[bad], offset[bad] = 0.0, 0.0  # an instance without two pulses: nominal
    return gain, offset


def draw_array_mismatch(
    *, window: int, d: int, tile: int, code_volts: Array, seed: int
) -> ArrayMismatch:
    """Draw every cell and converter of a head with the shipped mismatch surrogates."""
    from gaincell.surrogate import load

    try:
        cells, relu, signed = (
            load(n) for n in ("multiplier-pulse-mc", "relu-c2p-mc", "signed-c2p-mc")
        )
    except Exception as error:  # a SurrogateError naming what is missing
        raise InputError(
            f"HeadConfig(mismatch=True) needs the mismatch surrogates: {error}"
        ) from None
    streams = np.random.SeedSequence(int(seed)).generate_state(4)
    n = window * d
    deviation = _cell_deviation(cells, 2 * n, int(streams[0]), np.asarray(code_volts, float))
    codes = len(code_volts)
    relu_gain, relu_offset = _converter_lines(relu, window, int(streams[1]))
    tiles = window // tile
    signed_gain, signed_offset = _converter_lines(signed, tiles * d, int(streams[2]))
    return ArrayMismatch(
        cell_k=deviation[:n].reshape(window, d, codes, 2),
        cell_v=deviation[n:].reshape(window, d, codes, 2),
        relu_gain=relu_gain,
        relu_offset=relu_offset,
        signed_gain=signed_gain.reshape(tiles, d),
        signed_offset=signed_offset.reshape(tiles, d),
    )
