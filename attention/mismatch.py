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

from dataclasses import dataclass, field
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
class ConverterMismatch:
    """Static gain and offset deviations of a head's (or a tile's) converters."""

    relu_gain: Array
    """(window,): each ReLU converter's relative gain deviation."""
    relu_offset: Array
    """(window,): its offset [C] (the charge it sees is reduced by it)."""
    signed_gain: Array
    """(tiles, d): each signed converter's relative gain deviation."""
    signed_offset: Array
    """(tiles, d): its offset [C]."""

    def relu_charge(self, charge: Array, columns: NDArray[np.intp] | None = None) -> Array:
        """What each ReLU converter converts, for column charges (..., window) [C]; or, given
        the ``columns`` (m,) they are of, charges (m, ...) of those columns."""
        if columns is None:
            return (1.0 + self.relu_gain) * (charge - self.relu_offset)
        shape = (-1,) + (1,) * (np.ndim(charge) - 1)
        gain, offset = (
            self.relu_gain[columns].reshape(shape),
            self.relu_offset[columns].reshape(shape),
        )
        return (1.0 + gain) * (charge - offset)

    def signed_charge(self, charge: Array) -> Array:
        """What each signed converter converts, for tile charges (..., tiles, d) [C]."""
        return (1.0 + self.signed_gain) * (charge - self.signed_offset)


@dataclass(frozen=True)
class ArrayMismatch(ConverterMismatch):
    """Static per-device deviations of one head (drawn once, the same for every token)."""

    cell_k: Array = field(default_factory=lambda: np.zeros((0, 0, 0, 2)))
    """(window, d, codes, 2): each K cell's extra current at each DAC code: at mid-rail [A] and
    its slope in the column voltage [A/V] (codes: 0 for a head without DAC, see ``table_k``)."""
    cell_v: Array = field(default_factory=lambda: np.zeros((0, 0, 0, 2)))
    """(window, d, codes, 2): the same for the V cells."""
    table_k: Array | None = None
    """Without DAC: (window, d, nodes, 2) each K cell's extra current at the surrogate's
    stored-voltage nodes ``v_store``, for :meth:`cells_at` (None with a DAC)."""
    table_v: Array | None = None
    """Without DAC: the same for the V cells."""
    v_store: Array | None = None
    """Without DAC: the stored-voltage nodes [V] of ``table_k`` and ``table_v``."""

    def cells_at(self, slot: int, volts_k: Array, volts_v: Array) -> tuple[Array, Array]:
        """Without DAC: the extra currents (..., d, 2) of slot ``slot``'s K and V cells written
        at stored voltages ``volts_k``, ``volts_v`` (..., d) [V]."""
        if self.table_k is None or self.table_v is None or self.v_store is None:
            raise InputError("cells_at needs a mismatch drawn without DAC codes")
        out = [
            _at_volts(table[slot], self.v_store, np.asarray(volts, dtype=np.float64), True)
            for table, volts in ((self.table_k, volts_k), (self.table_v, volts_v))
        ]
        return out[0], out[1]


@dataclass(frozen=True)
class TileMismatch(ConverterMismatch):
    """Static per-device deviations of one freshly written tile pair (K and V, no DAC: each
    cell's extra current at its own stored voltage)."""

    cell_k: Array = field(default_factory=lambda: np.zeros((0, 0, 2)))
    """(tokens, d, 2): each K cell's extra current at its stored voltage: at mid-rail [A] and
    its slope in the column voltage [A/V]."""
    cell_v: Array = field(default_factory=lambda: np.zeros((0, 0, 2)))
    """(tokens, d, 2): the same for the V cells."""


def _cell_table(model: MismatchSurrogate, n: int, seed: int) -> Array:
    """(n, stored-voltage nodes, 2): extra current at mid-rail and its slope per volt of column
    of n drawn cells at the surrogate's stored-voltage nodes."""
    drawn = model.sample(n, seed)
    v_col = model.axes["v_col"]
    extra = (drawn.values - model.mean) / CELL_PULSE_WIDTH  # (n, v_store, v_col)
    slope = (extra[..., -1] - extra[..., 0]) / (v_col[-1] - v_col[0])
    # The polynomial's x is the column's excursion from mid-rail (0.9 V = the two levels' mean).
    mid = extra[..., 0] + slope * (0.5 * (v_col[0] + v_col[-1]) - v_col[0])
    return np.stack([mid, slope], axis=-1)


def _at_volts(table: Array, v_store: Array, volts: Array, per_cell: bool) -> Array:
    """``table`` (n, nodes, 2) linear in the stored voltage between its nodes: at ``volts``
    (codes,) for every cell -> (n, codes, 2), or each cell at its own (``per_cell``, volts
    (..., n)) -> (..., n, 2)."""
    volts = np.clip(volts, v_store[0], v_store[-1])
    upper = np.clip(np.searchsorted(v_store, volts, side="right"), 1, len(v_store) - 1)
    weight = ((volts - v_store[upper - 1]) / (v_store[upper] - v_store[upper - 1]))[..., None]
    if per_cell:
        cells = np.arange(table.shape[0])
        return table[cells, upper - 1] * (1.0 - weight) + table[cells, upper] * weight
    return table[:, upper - 1] * (1.0 - weight) + table[:, upper] * weight


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


def _draw(window: int, d: int, tile: int, seed: int) -> tuple[Array, Array, dict[str, Array]]:
    """Every device of ``window`` x ``d`` K and V cells (K cells first, slot-major) and their
    converters: the cells' :func:`_cell_table`, its stored-voltage nodes and the converters'
    :class:`ConverterMismatch` fields. One seed, one hardware: a tile pair drawn with a seed is
    the first tile of a head of that seed."""
    from gaincell.surrogate import load

    try:
        cells, relu, signed = (
            load(n) for n in ("multiplier-pulse-mc", "relu-c2p-mc", "signed-c2p-mc")
        )
    except Exception as error:  # a SurrogateError naming what is missing
        raise InputError(f"mismatch needs the mismatch surrogates: {error}") from None
    streams = np.random.SeedSequence(int(seed)).generate_state(4)
    table = _cell_table(cells, 2 * window * d, int(streams[0]))
    relu_gain, relu_offset = _converter_lines(relu, window, int(streams[1]))
    tiles = window // tile
    signed_gain, signed_offset = _converter_lines(signed, tiles * d, int(streams[2]))
    converters = {
        "relu_gain": relu_gain,
        "relu_offset": relu_offset,
        "signed_gain": signed_gain.reshape(tiles, d),
        "signed_offset": signed_offset.reshape(tiles, d),
    }
    return table, cells.axes["v_store"], converters


def draw_array_mismatch(
    *, window: int, d: int, tile: int, code_volts: Array | None, seed: int
) -> ArrayMismatch:
    """Draw every cell and converter of a head with the shipped mismatch surrogates (each cell
    at every DAC code's stored voltage ``code_volts`` [V]; None: a head without DAC, each cell
    looked up at its written voltage, :meth:`ArrayMismatch.cells_at`)."""
    table, v_store, converters = _draw(window, d, tile, seed)
    if code_volts is None:
        n = window * d
        nodes = table.shape[1]
        return ArrayMismatch(
            cell_k=np.zeros((window, d, 0, 2)),
            cell_v=np.zeros((window, d, 0, 2)),
            table_k=table[:n].reshape(window, d, nodes, 2),
            table_v=table[n:].reshape(window, d, nodes, 2),
            v_store=v_store,
            **converters,
        )
    volts = np.asarray(code_volts, dtype=np.float64)
    deviation = _at_volts(table, v_store, volts, per_cell=False)
    n = window * d
    return ArrayMismatch(
        cell_k=deviation[:n].reshape(window, d, len(volts), 2),
        cell_v=deviation[n:].reshape(window, d, len(volts), 2),
        **converters,
    )


def draw_tile_mismatch(k_volts: Array, v_volts: Array, seed: int) -> TileMismatch:
    """Draw the cells and converters of one K and one V tile, (tokens, d) cells each at its
    stored voltage [V] (the same devices as the first tile of a head drawn with ``seed``)."""
    k_volts, v_volts = (np.asarray(a, dtype=np.float64) for a in (k_volts, v_volts))
    if k_volts.ndim != 2 or v_volts.shape != k_volts.shape:
        raise InputError(
            f"tile mismatch needs K and V stored voltages of one (tokens, d) shape, got "
            f"{k_volts.shape} and {v_volts.shape}"
        )
    tokens, d = k_volts.shape
    table, v_store, converters = _draw(tokens, d, tokens, seed)
    n = tokens * d
    volts = np.concatenate([k_volts.ravel(), v_volts.ravel()])
    deviation = _at_volts(table, v_store, volts, per_cell=True)
    return TileMismatch(
        cell_k=deviation[:n].reshape(tokens, d, 2),
        cell_v=deviation[n:].reshape(tokens, d, 2),
        **converters,
    )
