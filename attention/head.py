"""A gain-cell attention head simulated from characterized circuits (the surrogates).

:class:`GainCellHead` holds K and V as stored voltages in ``window / tile`` physical tiles of
``tile x d`` cells and steps token by token as the hardware does:

1. the new token's K and V column is written through the write path (DAC quantization,
   3 bits by default) into the ring slot of the oldest token (sliding window);
2. every stored voltage has leaked for ``age x step_time`` since its write (leakage
   surrogate: the write's feedthrough at t = 0, then the retention waveform);
3. Q is applied as pulse widths ``q x T_max`` (4 bits); each column's charge is
   ``sum_d I_cell(V_store) x width_d`` with the multiplier surrogate's current at full input;
4. the ReLU charge-to-pulse surrogate turns each column's charge into the Phi pulse; the Phi
   pulses drive the V rows; per physical tile, each V column's charge goes through the signed
   charge-to-pulse surrogate and a counter (``out_levels``: 16 levels plus sign); the tiles
   are summed digitally (tiles holding no token yet are not converted).

Scale factors (derived from the surrogates by :meth:`HeadCircuits.from_surrogates`, not tuned):

- ``t_max``: the ReLU converter's saturated output width; Q pulses use the same full scale, so
  Phi = 1 is a full-scale input of the V array.
- ``current_scale`` [A per model unit]: ``(I(1.35 V) - I(0.45 V)) / (f(+0.45) - f(-0.45))``,
  the sky130 cell's full-scale current swing over the paper cubic's. The trace's ``s`` is
  ``charge / (t_max x current_scale)``, i.e. the paper's S in its units.
- ``s_sat`` and ``out_scale`` equivalents (:meth:`HeadCircuits.equivalent_constants`): the
  converters' slopes expressed in those units, for a like-for-like behavioural model.

Model units map to the circuit as: q -> pulse width ``q x t_max``; k, v in [0, 0.9] ->
stored voltage ``k + 0.45`` V (our 1.8 V cell's mid-rail is 0.9 V, the paper's 0.45 V).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.attention import fused
from gaincell.attention.behavioural import (
    KV_RANGE,
    OUT_RANGE,
    PAPER_COEFFICIENTS,
    Q_RANGE,
    AttentionTrace,
    cubic_current,
    quantize,
)
from gaincell.attention.column import (
    PICARD_ITERATIONS,
    ColumnSums,
    ColumnTrajectory,
    conduction,
    integrate_columns,
    mac_mesh,
    polynomial_order,
    pulse_end_drops,
    row_sums,
)
from gaincell.attention.cost import PAPER_STEP_TIME
from gaincell.attention.energy import (
    ENERGY_KEYS,
    EnergyModels,
    NodeTable,
    affine_pulse_energy,
    between_nodes,
    hat_weights,
    node_interval,
    pulse_energy,
    step_energy,
    table_pulse_energy,
)
from gaincell.attention.mismatch import (
    ArrayMismatch,
    ConverterMismatch,
    draw_array_mismatch,
    draw_tile_mismatch,
)
from gaincell.characterize.tile import CONV_START, MAC_START, RESET_END, T_STOP
from gaincell.circuits.design import STORE_OFFSET, V_DD, V_MID
from gaincell.errors import InputError
from gaincell.surrogate.converter import ConverterTransfer, aux_at
from gaincell.surrogate.interpolate import uniform_step
from gaincell.surrogate.recovery import (
    MESH_SUBSTEPS,
    ComparatorRecovery,
    cut_fractions,
    recovery_from_surrogate,
)

Array = NDArray[np.float64]

RECOVERY_MARGIN_C = 30e-15
"""K columns ending farther than this from the ReLU converter's switching point [C] are
decided by their final charge alone (the comparator model cannot change them)."""


@dataclass(frozen=True)
class HeadConfig:
    """Geometry, resolution and timing of one head."""

    d: int = 64
    """Head dimension: rows of a K tile, columns of a V tile."""
    window: int = 1024
    """Sliding-window length M (tokens held)."""
    tile: int = 64
    """Tokens per physical tile; ``window`` must be a multiple."""
    levels: tuple[int, int, int] | None = (16, 8, 32)
    """(Q pulse levels, K/V DAC levels, output levels), or None for ideal converters."""
    step_time: float = PAPER_STEP_TIME
    """Physical time of one token step [s] (sets the leakage per step)."""
    mismatch: bool = False
    """Draw a static deviation per physical cell and converter from the shipped mismatch
    surrogates (:mod:`gaincell.attention.mismatch`); False: every device nominal."""
    seed: int = 0
    """Seed of the mismatch draw (the same seed, the same hardware)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        for name in ("d", "window", "tile"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"HeadConfig.{name} must be a positive integer, got {value!r}")
        if self.window % self.tile:
            raise InputError(
                f"HeadConfig.window ({self.window}) must be a multiple of tile ({self.tile}): "
                "the window is made of whole physical tiles"
            )
        if self.levels is not None and (
            len(self.levels) != 3 or any(not isinstance(n, int) or n < 2 for n in self.levels)
        ):
            raise InputError(
                f"HeadConfig.levels must be None or 3 integers >= 2, got {self.levels!r}"
            )
        if not (np.isfinite(self.step_time) and self.step_time > 0):
            raise InputError(f"HeadConfig.step_time must be positive, got {self.step_time!r}")
        if not isinstance(self.mismatch, bool):
            raise InputError(f"HeadConfig.mismatch must be True or False, got {self.mismatch!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"HeadConfig.seed must be a whole number >= 0, got {self.seed!r}")

    def to_json(self) -> str:
        """JSON text that :meth:`from_json` reads back."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> HeadConfig:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        if data.get("levels") is not None:
            data["levels"] = tuple(data["levels"])
        return cls(**data)


COLUMN_POLY_ORDER = 5
"""Order of each cell's current polynomial in the column voltage: the current falls steeply
as the column nears 0.3 V (the read pair's output device leaves saturation). Fitted to the
pulse surrogate at :data:`COLUMN_LEVEL_STEP` over its column range, the residual is at most
0.66 % of a cell's full-scale current over 0.3 .. 1.5 V and 0.3 % within 0.2 V of mid-rail,
where 64-row columns spend the MAC, at every corner (a cubic: 1.9 % and 0.74 % at ff)."""
COLUMN_LEVEL_STEP = 0.1
"""Spacing of the column voltages [V] the current polynomial is fitted at: evenly spaced over
the pulse surrogate's column range, so every part of it weighs the same (its own nodes are
denser near 0.3 V, where the knee is)."""


@dataclass(frozen=True)
class CellTable:
    """Per-cell model entries tabulated over the stored voltage, linear between nodes and
    flat beyond the ends (as ``np.interp``), every entry found with one search."""

    stored: Array
    """Stored voltages [V], increasing, (n,)."""
    table: Array
    """Entries at each stored voltage, (n, entries)."""

    def __call__(self, volts: ArrayLike) -> Array:
        """The entries at ``volts``: shape ``(*volts.shape, entries)``."""
        v = np.asarray(volts, dtype=np.float64)
        flat = np.clip(v.ravel(), self.stored[0], self.stored[-1])
        index = np.clip(
            np.searchsorted(self.stored, flat, side="right") - 1, 0, self.stored.size - 2
        )
        low, high = self.stored[index], self.stored[index + 1]
        weight = ((flat - low) / (high - low))[:, None]
        below = self.table[index]
        return (below + weight * (self.table[index + 1] - below)).reshape(*v.shape, -1)

    def with_entry(self, stored: Array, values: Array) -> CellTable:
        """This table with one more entry last, ``values`` at ``stored`` interpolated onto
        this table's nodes."""
        column = np.interp(self.stored, stored, values)[:, None]
        return CellTable(self.stored, np.concatenate([self.table, column], axis=1))


SHORT_PULSE_S = 1e-9
"""Pulses shorter than this deliver what the pulse surrogate says, not ``a x width + b``
(the cell model's ``a`` and ``b`` are fitted over 1 .. 15 ns): below 1 ns the charge bends
away from that line by up to 0.4 fC (the enables' edges overlap), and on a 64-row column the
few rows with such pulses added up to -0.6 fC, with Phi pulses of 0.6 .. 1 ns in the V tile."""

WRITTEN_NODES = 3601
"""Nodes of :meth:`HeadCircuits.written_cells` over the written range (0.25 mV apart, 20 per
interval of the cell tables' 5 mV nodes)."""


@dataclass(frozen=True)
class UniformTable:
    """Entries tabulated on equally spaced nodes from ``start`` to ``stop``, linear between
    nodes and flat beyond the ends: the node found by arithmetic, not a search."""

    start: float
    """First node [V]."""
    stop: float
    """Last node [V]."""
    table: Array
    """Entries at each node, (n, entries)."""
    rise: Array = field(init=False, repr=False, compare=False)
    """Each node's step to the next, (n - 1, entries): the same subtraction a lookup would
    make, done once (lookups are the tile model's largest cost after the columns)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rise", np.diff(self.table, axis=0))

    def _locate(self, volts: Array) -> tuple[NDArray[np.intp], Array]:
        """Each of ``volts`` (flat) -> the node below it and where it is towards the next."""
        last = self.table.shape[0] - 1
        position = (np.clip(volts, self.start, self.stop) - self.start) * (
            last / (self.stop - self.start)
        )
        index = np.minimum(position.astype(np.intp), last - 1)
        return index, position - index

    def __call__(self, volts: ArrayLike) -> Array:
        """The entries at ``volts``: shape ``(*volts.shape, entries)``."""
        v = np.asarray(volts, dtype=np.float64)
        index, weight = self._locate(v.ravel())
        below = np.take(self.table, index, axis=0)
        return (below + weight[:, None] * np.take(self.rise, index, axis=0)).reshape(*v.shape, -1)

    def between(self, volts: ArrayLike, nodes: Array, x: ArrayLike, offset: int = 0) -> Array:
        """The entries ``offset .. offset + nodes.size`` (values at ``nodes``) at ``volts``,
        then linear between ``nodes`` at ``x`` (broadcasting to ``volts``' shape), flat
        beyond: ``between_nodes(self(volts), nodes, x, offset)`` by gathering the two
        entries around each ``x`` instead of every entry."""
        v = np.asarray(volts, dtype=np.float64)
        if nodes.size == 1:
            return self(v)[..., offset]
        index, weight = self._locate(v.ravel())
        low, fraction = node_interval(nodes, np.broadcast_to(x, v.shape).ravel())
        at = index * self.table.shape[1] + offset + low
        table, rise = self.table.reshape(-1), self.rise.reshape(-1)
        below = np.take(table, at) + weight * np.take(rise, at)
        above = np.take(table, at + 1) + weight * np.take(rise, at + 1)
        return (below + fraction * (above - below)).reshape(v.shape)


@dataclass(frozen=True)
class ColumnModel:
    """The column line the cells integrate on (:mod:`attention.column`): without it each
    column is an ideal virtual ground at mid-rail."""

    coefficients: CellTable
    """Stored voltage [V] -> (..., order + 1) coefficients of the cell's current during a
    pulse as a polynomial in ``x = V_col - 0.9 V`` [A / V^k]; entry 0 is the mid-rail current.
    With :attr:`conducting_load`, one more entry last: the capacitance the cell adds to its
    column while its input is on, beyond :attr:`idle_load` [F]."""
    capacitance_k: float
    """Column capacitance of the K array's ReLU converters [F]."""
    capacitance_v: float
    """Column capacitance of the V array's signed converters [F]."""
    x_range: tuple[float, float]
    """Column excursions from mid-rail the polynomials were fitted over [V]."""
    idle_load: float = 0.0
    """Capacitance every cell adds to its column with its input off [F] (``cell-load``)."""
    conducting_load: bool = False
    """Whether :attr:`coefficients` end with the conducting cell's extra load."""
    turn_off_charge: bool = False
    """Whether :attr:`coefficients` end (after the load) with the part of the cell's edge
    charge that comes when its pulse ends [C] (:func:`attention.column.mac_charge`)."""

    def integrate(self, sums: ColumnSums, kind: str, rows: int) -> ColumnTrajectory:
        """The columns' path on this line from their row sums
        (:func:`attention.column.integrate_columns`): ``kind`` ``"k"`` or ``"v"`` picks the
        converter's capacitance, ``rows`` cells on each column add their idle load."""
        capacitance = self.capacitance_k if kind == "k" else self.capacitance_v
        path = integrate_columns(
            sums,
            capacitance + rows * self.idle_load,
            self.x_range,
            conducting_load=self.conducting_load,
            turn_off_charge=self.turn_off_charge,
            trajectory=True,
        )
        assert isinstance(path, ColumnTrajectory)
        return path


@dataclass(frozen=True)
class HeadCircuits:
    """The circuit models a head is built from, in physical units."""

    multiplier: Callable[[Array], Array]
    """Stored voltage [V] -> cell current at full input [A] (positive discharges the column)."""
    leakage: Callable[[Array, Array], Array]
    """(hold time [s], written target [V]) -> stored voltage [V], feedthrough included."""
    relu: Callable[[Array], Array]
    """Column charge [C] -> Phi pulse width [s] (ReLU with saturation)."""
    signed: Callable[[Array], tuple[Array, NDArray[np.bool_]]]
    """Column charge [C] -> (pulse width [s], sign output: True = negative)."""
    t_max: float
    """Full-scale pulse width [s]: Phi = 1 and q = 1."""
    t_max_out: float
    """Saturated width of the signed converter [s] (the counter's full scale)."""
    current_scale: float
    """Amperes per model current unit (the paper's uA)."""
    bit_line: Callable[[Array], Array] | None = None
    """Desired stored voltage [V] -> bit-line voltage to write (pre-compensates the write's
    feedthrough); None writes the desired voltage itself."""
    edge_charge: Callable[[Array], Array] | None = None
    """Stored voltage [V] -> charge a pulse adds beyond ``multiplier x width`` [C] (the
    enable edges' and storage-node coupling's share, any width > 0), shape ``(..., 1)``, or
    with :attr:`short_pulses` ``(..., 1 + n)``: then also, at each of those widths, what a
    pulse that short adds beyond ``multiplier x width`` plus that; None for none."""
    short_pulses: Array | None = None
    """Width nodes [s] (increasing, the last :data:`SHORT_PULSE_S`) of the edge charge's
    short-pulse entries (:func:`_pulse_edge`); None: every pulse adds the same edge charge."""
    column: ColumnModel | None = None
    """The column line's voltage during the MAC; None: ideal virtual-ground columns."""
    relu_recovery: ComparatorRecovery | None = None
    """The ReLU converter's comparator memory (needs :attr:`column`): whether it gives a
    pulse depends on the column's path over the MAC, not only on its final charge; None:
    on the final charge alone (:attr:`relu`)."""
    relu_first_width: float = 0.0
    """The ReLU converter's width just above its switching point [s]: a pulse the comparator
    model lets through for a charge below that point gets it."""
    energy: EnergyModels | None = None
    """What each operation draws (:mod:`gaincell.attention.energy`); None: no bookkeeping."""
    description: str = ""
    """Where the models come from."""
    derivation: dict[str, float] = field(default_factory=dict)
    """The numbers the scale factors were derived from."""
    _written: dict[float, tuple[UniformTable, UniformTable | None]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Cache of :meth:`written_cells` per hold time (not copied by ``replace``)."""
    _written_energy: dict[float, UniformTable] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Cache of :meth:`written_energy` per hold time."""

    @property
    def edge_entries(self) -> int:
        """Entries of a cell's edge charge (:func:`_cell_models`): 1, or 1 + the short-pulse
        nodes."""
        return 1 if self.short_pulses is None else 1 + self.short_pulses.size

    def written_cells(self, hold_time: float) -> tuple[UniformTable, UniformTable | None]:
        """Written value (k or v + 0.45 V) [V] -> the cell's current coefficients and, last,
        its edge charge; and -> its short-pulse edge entries (None without
        :attr:`short_pulses`); after ``hold_time`` [s]. The leakage surrogate and the cell
        tables composed once on a 0.25 mV grid (:data:`WRITTEN_NODES`), so a tile looks each
        cell up with one index computation instead of three searches (the short-pulse
        entries only for rows with such pulses). For circuits whose cell entries are tables
        over the stored voltage (the column model's, piecewise linear at 5 mV nodes): on the
        shipped tile matrix the outputs agree to 1e-14 of their range."""
        key = float(hold_time)
        if key not in self._written:
            targets = np.linspace(KV_RANGE[0], KV_RANGE[1], WRITTEN_NODES) + STORE_OFFSET
            volts = self.leakage(np.full(targets.size, key), targets)
            coefficients, edge = _cell_models(self, volts)
            ends = float(targets[0]), float(targets[-1])
            cells = UniformTable(*ends, np.concatenate([coefficients, edge[:, :1]], axis=1))
            short = UniformTable(*ends, edge[:, 1:]) if edge.shape[1] > 1 else None
            self._written[key] = (cells, short)
        return self._written[key]

    def written_energy(self, hold_time: float) -> UniformTable:
        """Written value (k or v + 0.45 V) [V] -> the cell's pulse-energy entries
        (:attr:`EnergyModels.pulse`) after ``hold_time`` [s]: the leakage surrogate and the
        energy table composed once on the grid of :meth:`written_cells`."""
        assert self.energy is not None
        key = float(hold_time)
        if key not in self._written_energy:
            targets = np.linspace(KV_RANGE[0], KV_RANGE[1], WRITTEN_NODES) + STORE_OFFSET
            volts = self.leakage(np.full(targets.size, key), targets)
            ends = float(targets[0]), float(targets[-1])
            self._written_energy[key] = UniformTable(*ends, self.energy.pulse(volts))
        return self._written_energy[key]

    @classmethod
    def ideal(
        cls,
        *,
        coefficients: tuple[float, ...] = PAPER_COEFFICIENTS,
        s_sat: float = 80.0,
        out_scale: float = 40.0,
        decay_per_token: float | None = 1.6e-4,
        step_time: float = PAPER_STEP_TIME,
        t_max: float = 15e-9,
        current_scale: float = 1e-6,
    ) -> HeadCircuits:
        """The paper's model as circuits: cubic cell current, exponential leakage of the
        signed value at ``decay_per_token`` per ``step_time``, ideal linear converters."""
        rate = (decay_per_token or 0.0) / step_time
        q_relu = s_sat * t_max * current_scale
        q_out = out_scale * t_max * current_scale

        def multiplier(v: Array) -> Array:
            return current_scale * cubic_current(v - V_MID, coefficients)

        def leakage(t: Array, v0: Array) -> Array:
            return V_MID + (v0 - V_MID) * np.exp(-rate * t)

        def relu(q: Array) -> Array:
            return t_max * np.clip(q / q_relu, 0.0, 1.0)

        def signed(q: Array) -> tuple[Array, NDArray[np.bool_]]:
            return t_max * np.clip(np.abs(q) / q_out, 0.0, 1.0), q < 0

        return cls(
            multiplier,
            leakage,
            relu,
            signed,
            t_max,
            t_max,
            current_scale,
            description="ideal: the paper's cubic, exponential leakage, linear converters",
        )

    @classmethod
    def from_surrogates(
        cls,
        corner: str = "tt",
        temperature: float = 27.0,
        *,
        multiplier: str = "multiplier",
        leakage: str = "leakage",
        relu: str = "relu-c2p",
        signed: str = "signed-c2p",
        pulse: str | None = "multiplier-pulse",
        cell_load: str | None = "cell-load",
        relu_step: str | None = "relu-c2p-step",
        signed_step: str | None = "signed-c2p-step",
        relu_recovery: str | None = "relu-c2p-recovery",
        column: bool = True,
        converter_steps: bool = True,
        edge_split: bool = True,
        short_pulses: bool = True,
        energy: bool = False,
    ) -> HeadCircuits:
        """Circuits from surrogates (shipped names or file paths) at one corner and
        temperature, with the scale factors derived from them.

        With ``pulse`` (the floating-cell pulse characterization, default) each cell delivers
        ``a(V) x width + b(V)`` per pulse, ``a`` and ``b`` fitted per stored voltage to the
        pulse surrogate over 1..15 ns; with ``pulse=None`` the DC current at full input times
        the width (which misses the read's coupling into the floating storage node, ~20 %);
        with ``short_pulses`` a pulse under :data:`SHORT_PULSE_S` delivers what the surrogate
        says at its width instead (False: the line down to any width).
        ``column``: integrate each column's voltage through the MAC (:class:`ColumnModel`)
        when the pulse surrogate has a column-voltage axis, with the cells' own load on the
        line from ``cell_load`` (None: the converter's capacitance alone) and, with
        ``edge_split``, each pulse's edge charge split into its turn-on and turn-off parts
        (False: all of it at the MAC's start);
        ``converter_steps``: keep the converters' step at their characterized switching point
        (:mod:`surrogate.converter`), located by bisection in ``relu_step`` / ``signed_step``
        (None: the charge grids' own estimate); ``relu_recovery``: the ReLU comparator's
        memory of the column's path (:mod:`surrogate.recovery`, with the column model; None:
        the final charge alone decides). Switching these off is for measuring what each
        contributes. ``energy``: charge every operation with the energy surrogates
        (:meth:`EnergyModels.from_surrogates`, no power gating, the paper's digital part).
        """
        from gaincell.surrogate import load

        mult = load(multiplier)
        domain = getattr(mult, "domain", None)
        if domain is not None:  # say it in the caller's terms, not a surrogate's arguments
            if corner not in domain.corners:
                raise InputError(
                    f"corner {corner!r} is not characterized: {', '.join(domain.corners)}"
                )
            low, high = domain.ranges.get("temperature", (-np.inf, np.inf))
            if not low <= temperature <= high:
                raise InputError(
                    f"temperature {temperature:g} C is outside the characterized range "
                    f"[{low:g}, {high:g}] C"
                )
        cell = (
            mult.at(corner=corner, temperature=temperature, v_in=V_DD)
            if hasattr(mult, "at")
            else None
        )
        leak, relu_model, signed_model = load(leakage), load(relu), load(signed)

        def cell_current(v: Array) -> Array:
            # The write's feedthrough can leave V_store tens of mV below the characterized
            # 0.45 V: continue the edge cell linearly there rather than clamp.
            if cell is not None:
                return cell(v_store=v, out_of_domain="extrapolate")
            return mult(
                v_store=v,
                v_in=V_DD,
                temperature=temperature,
                corner=corner,
                out_of_domain="extrapolate",
            )

        derivation: dict[str, float] = {}
        edge_charge = None
        short_nodes = None
        column_model = None
        relu_transfer = ConverterTransfer.from_surrogate(
            relu_model,
            corner,
            temperature,
            step=converter_steps,
            near=load(relu_step) if relu_step and converter_steps else None,
        )
        signed_transfer = ConverterTransfer.from_surrogate(
            signed_model,
            corner,
            temperature,
            step=converter_steps,
            near=load(signed_step) if signed_step and converter_steps else None,
        )
        if pulse is not None:
            pulse_model = load(pulse)
            cell_current, edge_charge, fit_error, coefficients, x_range, short_nodes = (
                _pulse_cell_model(pulse_model, corner, temperature, leak)
            )
            if not short_pulses:
                edge_charge, short_nodes = _first_entry(edge_charge), None
            derivation["pulse_affine_max_error_C"] = fit_error
            capacitances = [
                aux_at(m, "column_capacitance", corner, temperature)
                for m in (relu_model, signed_model)
                if "column_capacitance" in m.aux
            ]
            if column and coefficients is not None and len(capacitances) == 2:
                column_model = ColumnModel(coefficients, *capacitances, x_range)
                derivation["column_capacitance_k_F"] = capacitances[0]
                derivation["column_capacitance_v_F"] = capacitances[1]
                if cell_load is not None:
                    column_model = _with_cell_load(
                        column_model, load(cell_load), corner, temperature, leak, edge_split
                    )
                    derivation["cell_idle_load_F"] = column_model.idle_load

        # the transfers' widths as tables (np.interp's numbers, compiled with the fast
        # extra); beyond the characterized charges flat (0 or saturated)
        relu_table = NodeTable(relu_transfer.charge, relu_transfer.width)
        signed_table = NodeTable(signed_transfer.charge, signed_transfer.width)

        relu_width = relu_table

        threshold = signed_transfer.threshold
        derivation["relu_on_threshold_C"] = relu_transfer.threshold
        recovery = None
        if relu_recovery is not None and column_model is not None:
            recovery = recovery_from_surrogate(load(relu_recovery), corner, temperature)
            derivation |= {
                "relu_recovery_tau_s": recovery.tau,
                "relu_recovery_soft_C": recovery.soft,
                "relu_recovery_static_C": recovery.static,
                "relu_recovery_fit_max_error_C": recovery.fit_max_error,
            }
        first_width = float(
            relu_transfer(np.array([np.nextafter(relu_transfer.threshold, 1.0)]))[0][0]
        )

        def signed_width(q: Array) -> tuple[Array, NDArray[np.bool_]]:
            q = np.asarray(q, dtype=np.float64)  # the sign as ConverterTransfer gives it
            signed = signed_transfer.signed
            return signed_table(q), q < threshold if signed else np.zeros(q.shape, dtype=bool)

        # Scale factors from the surrogates themselves.
        charges_r = np.linspace(*relu_model.domain.ranges["charge"], 2001)
        charges_s = np.linspace(*signed_model.domain.ranges["charge"], 2001)
        t_max = float(np.max(relu_width(charges_r)))
        t_max_out = float(np.max(signed_width(charges_s)[0]))
        swing = float(
            cell_current(np.array([STORE_OFFSET + 0.9]))[0]
            - cell_current(np.array([STORE_OFFSET]))[0]
        )
        paper_swing = float(cubic_current(0.45) - cubic_current(-0.45))
        current_scale = swing / paper_swing  # A per uA of the paper's cubic
        derivation |= {
            "t_max_s": t_max,
            "t_max_out_s": t_max_out,
            "cell_swing_A": swing,
            "paper_swing_uA": paper_swing,
            "current_scale_A_per_unit": current_scale,
            "relu_slope_s_per_C": _slope(relu_width, charges_r, t_max),
            "signed_slope_s_per_C": _slope(
                lambda q: signed_width(q)[0], charges_s[charges_s > threshold], t_max_out
            ),
            "sign_threshold_C": threshold,
        }

        def bit_line(target: Array) -> Array:
            # The write path's calibration: the word line's falling edge pulls V_store down by
            # 12..36 mV (leakage surrogate at t = 0); write that much higher so the stored
            # value is the DAC level. Three fixed-point steps converge to < 0.1 mV.
            volts = np.array(target, dtype=np.float64)
            for _ in range(3):
                volts = volts + (target - _written(leak, volts, corner, temperature))
            return volts

        def stored_from_bit_line(t: Array, v0: Array) -> Array:
            return leak(
                v_store=v0,
                time=t,
                temperature=temperature,
                corner=corner,
                out_of_domain="extrapolate",
            )

        return cls(
            cell_current,
            stored_from_bit_line,
            relu_width,
            signed_width,
            t_max,
            t_max_out,
            current_scale,
            bit_line,
            edge_charge=edge_charge,
            short_pulses=short_nodes,
            column=column_model,
            relu_recovery=recovery,
            relu_first_width=first_width if np.isfinite(first_width) else 0.0,
            energy=EnergyModels.from_surrogates(corner, temperature) if energy else None,
            description=f"surrogates {pulse or multiplier}, {leakage}, {relu}, {signed} at "
            f"{corner}, {temperature:g} C",
            derivation=derivation,
        )

    def equivalent_constants(self) -> dict[str, float]:
        """The behavioural model's ``s_sat`` and ``out_scale`` that these converters implement
        (from their mid-range slopes), in the paper's units."""
        if "relu_slope_s_per_C" not in self.derivation:
            raise InputError("only circuits from surrogates carry a derivation")
        cs = self.current_scale
        return {
            "s_sat": 1.0 / (self.derivation["relu_slope_s_per_C"] * cs),
            "out_scale": self.t_max_out
            / (self.derivation["signed_slope_s_per_C"] * self.t_max * cs),
        }


def _pulse_cell_model(
    pulse_model: Any, corner: str, temperature: float, leak: Any
) -> tuple[
    Callable[[Array], Array],
    Callable[[Array], Array],
    float,
    CellTable | None,
    tuple[float, float],
    Array,
]:
    """The cell as a pulse delivers charge, per stored voltage: the effective current ``a``
    and the per-pulse charge ``b`` of ``charge = a x width + b`` (least squares over widths
    1..15 ns of the pulse surrogate, column at mid-rail; the edge charge callable also gives,
    at the surrogate's width nodes under :data:`SHORT_PULSE_S`, what a pulse that short
    delivers beyond the line), the fit's worst residual [C], when the surrogate has a
    column-voltage axis the polynomial of ``a`` in the column's excursion ``x``
    (:data:`COLUMN_POLY_ORDER`, through ``a`` at x = 0), its x range, and the short-pulse
    width nodes [s].

    The pulse surrogate's input is the written bit-line value; the leakage surrogate at t = 0
    maps it to the stored voltage (feedthrough included)."""
    widths = np.linspace(SHORT_PULSE_S, 15e-9, 15)
    bit_lines = np.linspace(0.40, 1.40, 201)
    has_column = "v_col" in pulse_model.inputs
    if has_column:
        low, high = pulse_model.domain.ranges["v_col"]
        columns = np.linspace(low, high, round((high - low) / COLUMN_LEVEL_STEP) + 1)
    else:
        columns = np.array([V_MID])
    levels = np.unique(np.append(columns, V_MID))
    extra = {"v_col": levels[None, :, None]} if has_column else {}
    charge = pulse_model(
        v_store=bit_lines[:, None, None],
        width=widths[None, None, :],
        temperature=temperature,
        corner=corner,
        out_of_domain="extrapolate",
        **extra,
    )  # (bit line, column level, width)
    charge = np.broadcast_to(charge, (bit_lines.size, levels.size, widths.size))
    design = np.stack([widths, np.ones_like(widths)], axis=1)
    flat = charge.reshape(-1, widths.size).T
    (a, b), *_ = np.linalg.lstsq(design, flat, rcond=None)
    mid = int(np.argmin(np.abs(levels - V_MID)))
    misfit = (design @ np.stack([a, b]) - flat).reshape(widths.size, *charge.shape[:2])
    residual = float(np.max(np.abs(misfit[:, :, mid])))  # the column at mid-rail
    a, b = a.reshape(charge.shape[:2]), b.reshape(charge.shape[:2])
    nodes = pulse_model.nodes["width"]
    short = np.append(nodes[(nodes > 0) & (nodes < SHORT_PULSE_S)], SHORT_PULSE_S)
    short_charge = pulse_model(
        v_store=bit_lines[:, None],
        width=short[None, :],
        temperature=temperature,
        corner=corner,
        out_of_domain="extrapolate",
        **({"v_col": V_MID} if has_column else {}),
    )
    beyond = short_charge - (a[:, mid, None] * short + b[:, mid, None])  # (bit line, short)
    stored = _written(leak, bit_lines, corner, temperature)
    order = np.argsort(stored)
    stored, a, b, beyond = stored[order], a[order], b[order], beyond[order]
    a0, b0 = a[:, mid], b[:, mid]
    edges = CellTable(stored, np.concatenate([b0[:, None], beyond], axis=1))

    def current(v: Array) -> Array:
        return np.interp(v, stored, a0)

    x = levels - V_MID
    x_range = (float(x[0]), float(x[-1]))
    if not has_column or levels.size <= COLUMN_POLY_ORDER:
        return current, edges, residual, None, x_range, short
    # a(x) - a(0) = sum_{k>=1} c_k x^k, least squares per stored value.
    powers = np.stack([x**k for k in range(1, COLUMN_POLY_ORDER + 1)], axis=1)
    higher, *_ = np.linalg.lstsq(powers, (a - a0[:, None]).T, rcond=None)
    table = np.concatenate([a0[:, None], higher.T], axis=1)  # (stored, order + 1)
    return current, edges, residual, CellTable(stored, table), x_range, short


def _first_entry(function: Callable[[Array], Array]) -> Callable[[Array], Array]:
    """``function`` with only the first entry of its last axis kept (the axis kept)."""

    def first(v: Array) -> Array:
        return function(v)[..., :1]

    return first


def _written(leak: Any, bit_lines: Array, corner: str, temperature: float) -> Array:
    """Stored voltage right after writing ``bit_lines`` (the leakage surrogate at t = 0: the
    write's feedthrough), for surrogates whose input is the written bit-line value."""
    return leak(
        v_store=bit_lines,
        time=0.0,
        temperature=temperature,
        corner=corner,
        out_of_domain="extrapolate",
    )


def _with_cell_load(
    column: ColumnModel,
    model: Any,
    corner: str,
    temperature: float,
    leak: Any,
    edge_split: bool = True,
) -> ColumnModel:
    """``column`` with the cells' own load on the line from a ``cell-load`` surrogate: the
    idle load per corner and temperature, each conducting cell's extra load by its stored
    voltage, and with ``edge_split`` (surrogates that carry it) the part of its edge charge
    that comes at its pulse's end. The surrogate's input is the written bit-line value; the
    leakage surrogate at t = 0 maps it to the stored voltage, as for the pulse surrogate."""
    bit_lines = np.linspace(*model.domain.ranges["v_store"], 61)
    idle = aux_at(model, "c_off", corner, temperature)
    conducting = model(v_store=bit_lines, temperature=temperature, corner=corner) - idle
    stored = _written(leak, bit_lines, corner, temperature)
    order = np.argsort(stored)
    coefficients = column.coefficients.with_entry(stored[order], conducting[order])
    turn_off = edge_split and "q_off" in model.aux
    if turn_off:
        table_bit_lines = np.asarray(model.aux["v_store"][0], dtype=np.float64)
        table_stored = _written(leak, table_bit_lines, corner, temperature)
        q_off = aux_at(model, "q_off", corner, temperature)
        order = np.argsort(table_stored)
        coefficients = coefficients.with_entry(table_stored[order], q_off[order])
    return replace(
        column,
        coefficients=coefficients,
        idle_load=idle,
        conducting_load=True,
        turn_off_charge=turn_off,
    )


def _slope(width: Callable[[Array], Array], charges: Array, full: float) -> float:
    """Least-squares slope of width over charge where the width is 10..90 % of full scale."""
    w = width(charges)
    mid = (w > 0.1 * full) & (w < 0.9 * full)
    return float(np.polyfit(charges[mid], w[mid], 1)[0])


@dataclass(frozen=True)
class StepResult:
    """What one decode step computes (per batch element)."""

    positions: NDArray[np.int_]
    """Token position held in each ring slot (-1: empty), shape (window,)."""
    s: Array
    """First product per slot in model units, (..., window); 0 for empty slots."""
    phi: Array
    """Phi per slot (ReLU converter width / t_max), (..., window)."""
    output: Array
    """Summed tile outputs, (..., d)."""
    column_charge: Array
    """K column charges per slot [C], (..., window)."""
    tile_charge: Array
    """V column charges per tile [C], (..., tiles, d)."""
    energy: dict[str, Array] | None = None
    """This step's energy by module [J], each shaped like the batch
    (:func:`gaincell.attention.energy.step_energy`); None without energy models."""


class GainCellHead:
    """One attention head on gain-cell hardware, simulated from :class:`HeadCircuits`.

    ``run(q, k, v)`` processes a whole sequence and returns the behavioural model's trace type;
    ``reset()`` + ``step(q_t, k_t, v_t)`` is the decode mode, state kept between calls. Leading
    (batch) dimensions are supported in both.
    """

    def __init__(self, circuits: HeadCircuits, config: HeadConfig | None = None) -> None:
        self.circuits = circuits
        """The circuit models."""
        self.config = config or HeadConfig()
        """Geometry, resolution, timing."""
        self._table: Array | None = None
        self._main: Array | None = None
        self._short: tuple[Array, Array, float] | None = None
        self._pulse_energy: Array | None = None
        self._prices: tuple[Array, float, float, float, float] | None = None
        self._level_bit_lines: Array | None = None
        self.mismatch: ArrayMismatch | None = None
        """The hardware's drawn deviations (``config.mismatch``), None: nominal devices."""
        if self.config.mismatch:
            if circuits.column is None:
                raise InputError("HeadConfig(mismatch=True) needs circuits with a column model")
            c = self.config
            self.mismatch = draw_array_mismatch(
                window=c.window,
                d=c.d,
                tile=c.tile,
                code_volts=None
                if c.levels is None
                else np.linspace(*KV_RANGE, c.levels[1]) + STORE_OFFSET,
                seed=c.seed,
            )
        self.reset()

    def reset(self, batch_shape: tuple[int, ...] = ()) -> None:
        """Empty the window (no token written) for a batch of shape ``batch_shape``."""
        c = self.config
        self.batch_shape = tuple(batch_shape)
        batch = int(np.prod(batch_shape, dtype=int))
        self.position = 0
        """Position of the next token."""
        self.written_at = np.full(c.window, -1, dtype=np.int64)
        self._k = np.zeros((batch, c.window, c.d))
        self._v = np.zeros((batch, c.window, c.d))
        # With a DAC, each cell holds one of few codes: one-hot code maps turn both products
        # into small matrix products with the (age, code) table instead of 2 x W x d gathers
        # (without a column model; with one, none are kept).
        codes = c.levels[1] if c.levels is not None else 0
        maps = codes if self.circuits.column is None else 0
        self._onehot_k = np.zeros((batch, c.window, maps, c.d))
        self._onehot_v = np.zeros((batch, c.window, maps, c.d))
        self._v_per_code = np.zeros((batch, c.window, maps))  # a V row's cells per code
        # With a column model the products need each cell's polynomial: gathered by code.
        # (one byte each where the codes fit: the step reads every K and V code once or twice)
        code_type = np.uint8 if codes <= 256 else np.intp
        self._code_k = np.zeros((batch, c.window, c.d), dtype=code_type)
        self._code_v = np.zeros((batch, c.window, c.d), dtype=code_type)
        # With mismatch: each written cell's extra current (mid-rail, slope) at its code.
        self._extra_k = np.zeros((batch, c.window, c.d, 2))
        # and the K cells' again as the K kernel reads them, a block of slots at a time
        # (fused.k_paths: a row's cells across the block's columns, the block contiguous;
        # empty without mismatch, as the kernel takes none)
        blocks = -(-c.window // fused.BLOCK) if self.mismatch is not None else 0
        self._extra_k_blocks = np.zeros((batch if blocks else 0, blocks, c.d, 2, fused.BLOCK))
        self._extra_v = np.zeros((batch, c.window, c.d, 2))

    # -- the write path -------------------------------------------------------------------
    def _bit_line(self, target: Array) -> Array:
        write = self.circuits.bit_line
        return target if write is None else write(target)

    def _dac(self, x: Array) -> tuple[Array, NDArray[np.intp]]:
        """Bit-line voltages and DAC codes of model values (clamped to [0, 0.9])."""
        levels = self.config.levels
        if levels is None:
            target = np.clip(x, *KV_RANGE) + STORE_OFFSET
            return self._bit_line(target), np.zeros(x.shape, dtype=np.intp)
        step = (KV_RANGE[1] - KV_RANGE[0]) / (levels[1] - 1)
        codes = np.rint(quantize(x, *KV_RANGE, levels[1]) / step).astype(np.intp)
        if self._level_bit_lines is None:  # the DAC's levels, calibrated once
            self._level_bit_lines = self._bit_line(np.linspace(*KV_RANGE, levels[1]) + STORE_OFFSET)
        return self._level_bit_lines[codes], codes

    def _cell_table(self) -> Array:
        """Cell current coefficients (:meth:`_cell`) [A / V^k] and per-pulse edge charge [C]
        per (age in steps, DAC code), shape (window, codes, terms + 1): exact surrogate
        evaluations made once, so a step reads them instead of evaluating surrogates."""
        if self._table is None:
            c = self.config
            codes = c.levels[1]
            targets = self._dac(np.linspace(*KV_RANGE, codes))[0]
            ages = np.arange(c.window) * c.step_time
            hold, target = np.meshgrid(ages, targets, indexing="ij")
            volts = self.circuits.leakage(hold.ravel(), target.ravel())
            coefficients, edge = self._cell(volts)
            table = np.concatenate([coefficients, edge], axis=-1)
            self._table = table.reshape(c.window, codes, -1)
        return self._table

    def _main_entries(self, split: int) -> Array:
        """The cell table's current coefficients and edge charge (its first ``split + 1``
        entries) as one contiguous array, made once: gathering whole rows of it by slot is
        several times faster than gathering a slice of every row of the table."""
        if self._main is None or self._main.shape[-1] != split + 1:
            self._main = np.ascontiguousarray(self._cell_table()[..., : split + 1])
        return self._main

    def _table_parts(self, split: int) -> tuple[Array, Array, Array, float]:
        """The cell table as the compiled kernels read it, made once: :meth:`_main_entries`,
        the short-pulse entries (the rest) contiguous, their width nodes (none without
        them) and the nodes' spacing (0: not equally spaced)."""
        main = self._main_entries(split)
        if (
            self._short is None
            or self._short[0].shape[-1] != self._cell_table().shape[-1] - split - 1
        ):
            short = np.ascontiguousarray(self._cell_table()[..., split + 1 :])
            nodes = self.circuits.short_pulses
            if nodes is None or short.shape[-1] == 0:
                nodes = np.zeros(0)
            node_step = (uniform_step(nodes) if nodes.size > 1 else None) or 0.0
            self._short = (short, nodes, node_step)
        return (main, *self._short)

    def _cell(self, volts: Array) -> tuple[Array, Array]:
        """Per stored voltage: the cell's current during a pulse, as coefficients
        ``(..., terms)`` of a polynomial in the column's excursion from mid-rail (one term,
        the mid-rail current, without a column model) [A / V^k], and its edge charge entries
        [C] (:func:`_cell_models`)."""
        return _cell_models(self.circuits, volts)

    def _currents(self, ages: NDArray[np.int64]) -> tuple[Array, Array, Array, Array]:
        """K and V cell current coefficients (batch, window, d, terms) and edge charge
        entries (batch, window, d, entries) of every slot, of continuous (not DAC-coded)
        stored values: evaluated cell by cell."""
        c = self.config
        hold = (np.clip(ages, 0, None) * c.step_time)[None, :, None]
        hold_k = np.broadcast_to(hold, self._k.shape).ravel()
        k, edge_k = self._cell(self.circuits.leakage(hold_k, self._k.ravel()))
        v, edge_v = self._cell(self.circuits.leakage(hold_k, self._v.ravel()))
        shape = self._k.shape
        return (
            k.reshape(*shape, -1),
            v.reshape(*shape, -1),
            edge_k.reshape(*shape, -1),
            edge_v.reshape(*shape, -1),
        )

    # -- one step ---------------------------------------------------------------------------
    def step(self, q: ArrayLike, k: ArrayLike, v: ArrayLike) -> StepResult:
        """Write token ``self.position``'s K and V, then compute its attention output.
        q, k, v: shape ``(*batch_shape, d)`` in model units."""
        c = self.config
        arrays = [np.asarray(a, dtype=np.float64) for a in (q, k, v)]
        for name, a in zip("qkv", arrays, strict=True):
            if a.shape != (*self.batch_shape, c.d):
                raise InputError(
                    f"{name} must have shape {(*self.batch_shape, c.d)}, got "
                    f"{a.shape} (call reset(batch_shape) first)"
                )
            if not np.all(np.isfinite(a)):
                raise InputError(f"{name} holds non-finite values")
        q_t, k_t, v_t = (a.reshape(-1, c.d) for a in arrays)
        slot = self.position % c.window
        self._k[:, slot], code_k = self._dac(k_t)
        self._v[:, slot], code_v = self._dac(v_t)
        if c.levels is not None:
            if self.circuits.column is None:  # the one-hot maps only its products read
                rows, dims = np.arange(len(k_t))[:, None], np.arange(c.d)[None, :]
                for onehot, code in ((self._onehot_k, code_k), (self._onehot_v, code_v)):
                    onehot[:, slot] = 0.0
                    onehot[rows, slot, code, dims] = 1.0
                self._v_per_code[:, slot] = self._onehot_v[:, slot].sum(axis=-1)
            self._code_k[:, slot], self._code_v[:, slot] = code_k, code_v
            if self.mismatch is not None:
                dims = np.arange(c.d)[None, :]
                self._extra_k[:, slot] = self.mismatch.cell_k[slot, dims, code_k]
                self._extra_v[:, slot] = self.mismatch.cell_v[slot, dims, code_v]
        elif self.mismatch is not None:  # no DAC: each cell at its written voltage
            self._extra_k[:, slot], self._extra_v[:, slot] = self.mismatch.cells_at(
                slot, np.clip(k_t, *KV_RANGE) + STORE_OFFSET, np.clip(v_t, *KV_RANGE) + STORE_OFFSET
            )
        if self.mismatch is not None:
            self._extra_k_blocks[:, slot // fused.BLOCK, ..., slot % fused.BLOCK] = self._extra_k[
                :, slot
            ]
        self.written_at[slot] = self.position
        if c.levels is not None:  # quantize clamps to the range too
            q_t = quantize(q_t, *Q_RANGE, c.levels[0])
        else:
            q_t = np.clip(q_t, *Q_RANGE)
        widths = q_t * self.circuits.t_max
        ages = self.position - self.written_at
        valid = self.written_at >= 0
        if c.levels is not None:
            result = self._coded_products(widths, ages, valid)
        else:
            cur_k, cur_v, edge_k, edge_v = self._currents(ages)
            if self.mismatch is not None:
                cur_k[..., :2] += self._extra_k
                cur_v[..., :2] += self._extra_v
            result = _products(
                self.circuits,
                c,
                widths,
                cur_k.transpose(0, 2, 1, 3),
                cur_v,
                valid,
                edge_k.transpose(0, 2, 1, 3),
                edge_v,
                mismatch=self.mismatch,
            )
        energy = None
        if self.circuits.energy is not None:
            written = np.concatenate([self._k[:, slot], self._v[:, slot]], axis=1)
            energy = self._energy(widths, result, ages, valid, written)
        self.position += 1
        shape = self.batch_shape
        return StepResult(
            self.written_at.copy(),
            result["s"].reshape(*shape, c.window),
            result["phi"].reshape(*shape, c.window),
            result["output"].reshape(*shape, c.d),
            result["column_charge"].reshape(*shape, c.window),
            result["tile_charge"].reshape(*shape, c.window // c.tile, c.d),
            None if energy is None else {k: e.reshape(shape) for k, e in energy.items()},
        )

    # -- energy -----------------------------------------------------------------------------
    def _energy_table(self) -> Array:
        """Pulse energy entries per (age in steps, DAC code), (window, codes, 2 J) [J, J/s]
        (:attr:`EnergyModels.pulse`): the cells' stored voltages as in :meth:`_cell_table`."""
        if self._pulse_energy is None:
            c = self.config
            assert self.circuits.energy is not None and c.levels is not None
            targets = self._dac(np.linspace(*KV_RANGE, c.levels[1]))[0]
            hold, target = np.meshgrid(np.arange(c.window) * c.step_time, targets, indexing="ij")
            volts = self.circuits.leakage(hold.ravel(), target.ravel())
            entries = self.circuits.energy.pulse(volts)
            self._pulse_energy = entries.reshape(c.window, c.levels[1], -1)
        return self._pulse_energy

    def _energy(
        self,
        widths: Array,
        result: dict[str, Array],
        ages: NDArray[np.int64],
        valid: NDArray[np.bool_],
        written: Array,
    ) -> dict[str, Array]:
        """One step's energy by module (:func:`attention.energy.step_energy`), (batch,); each
        pulse at the column voltage the MAC took its column to (``result``'s paths,
        :func:`_path_entries`; mid-rail without a column model)."""
        models = self.circuits.energy
        assert models is not None
        return step_energy(
            models,
            self.config.step_time,
            *self._array_energies(widths, result, ages, valid),
            result["column_charge"],
            result["tile_charge"],
            written,
        )

    def _array_energies(
        self,
        widths: Array,
        result: dict[str, Array],
        ages: NDArray[np.int64],
        valid: NDArray[np.bool_],
    ) -> tuple[Array, Array]:
        """The K and V arrays' pulse energy [J] per batch element (:meth:`_energy`): as the
        path kernels priced them, else from ``result``'s paths here."""
        if "k_energy" in result and "v_energy" in result:  # priced by fused.k_paths/v_paths
            return result["k_energy"], result["v_energy"]
        c, models = self.config, self.circuits.energy
        assert models is not None
        columns = models.pulse_columns
        phi_width = result["phi"] * self.circuits.t_max  # (B, W), 0 in empty slots
        batch, tiles = widths.shape[0], c.window // c.tile
        if c.levels is not None:
            energy_table, age_index = self._energy_table(), np.clip(ages, 0, c.window - 1)
            nodes = np.asarray(columns, dtype=np.float64)

            @functools.cache
            def table() -> Array:
                # (W, codes, 2 J), empty slots drawing nothing
                return np.where(valid[:, None, None], energy_table[age_index], 0.0)

            # K: each of the rows' distinct widths at its column's voltage; the cells by how
            # many of each column's rows hold each code at each width (the products'
            # histogram), the entries summed per (column, width) first
            if "k_energy" in result:  # priced as the paths were made (fused.k_paths)
                k_array = result["k_energy"]
            else:
                if "k_counts" in result:  # (U,), (B, W, codes, U)
                    levels, counts = result["k_levels"], result["k_counts"]
                else:  # the compiled products and those without a column model take none
                    levels, counts = _code_width_counts(self._code_k, widths, table().shape[1])
                end, mean = _drops_at(
                    result, "k", np.broadcast_to(levels, (batch, levels.size)), c.window
                )
                per_width = np.matmul(counts.swapaxes(-1, -2), table())  # (B, W, U, 2 J)
                edges = between_nodes(per_width, nodes, V_MID - end.swapaxes(1, 2))
                slopes = between_nodes(per_width, nodes, V_MID - mean.swapaxes(1, 2), nodes.size)
                k_array = affine_pulse_energy(edges, slopes, levels).sum(axis=(1, 2))
            if "v_energy" in result:  # priced as the paths were made (fused.v_paths)
                v_array = result["v_energy"]
            elif "v_drop" in result:  # V: the rows Phi pulses (as the products found them),
                # each cell at its column's path
                row_widths, slot = result["v_row_widths"], result["v_slot"]
                end, mean = _drops_at(result, "v", row_widths, c.d)
                index = (slot[..., None], self._code_v[result["v_of_batch"], slot])
                cells = table_pulse_energy(
                    table(), index, row_widths[..., None], columns, V_MID - end, V_MID - mean
                )
                v_array = cells.reshape(batch, -1).sum(axis=1)
            else:  # every V cell at mid-rail: by each row's cells per code
                mid = hat_weights(nodes, V_MID)  # (J,)
                table_mid = table().reshape(*table().shape[:2], 2, -1) @ mid  # (W, codes, 2)
                rows = np.stack([(phi_width > 0).astype(np.float64), phi_width], axis=-1)
                per_row = np.einsum("wck,bwc->bwk", table_mid, self._v_per_code)
                v_array = np.einsum("bwk,bwk->b", per_row, rows)
        else:
            hold = (np.clip(ages, 0, None) * c.step_time)[None, :, None]
            hold = np.broadcast_to(hold, self._k.shape).ravel()
            k_entries = models.pulse(self.circuits.leakage(hold, self._k.ravel()))
            v_entries = models.pulse(self.circuits.leakage(hold, self._v.ravel()))
            k_entries = k_entries.reshape(*self._k.shape, -1) * valid[None, :, None, None]
            v_entries = v_entries.reshape(*self._v.shape, -1) * valid[None, :, None, None]
            end, mean = (
                x.swapaxes(1, 2) for x in _drops_at(result, "k", widths, c.window)
            )  # (B, W, d)
            k_array = pulse_energy(
                k_entries, widths[:, None, :], columns, V_MID - end, V_MID - mean
            ).sum(axis=(1, 2))
            end, mean = (
                x.reshape(batch, c.window, c.d)
                for x in _drops_at(result, "v", phi_width.reshape(batch * tiles, c.tile), c.d)
            )
            v_array = pulse_energy(
                v_entries, phi_width[:, :, None], columns, V_MID - end, V_MID - mean
            ).sum(axis=(1, 2))
        return k_array, v_array

    def _coded_products(
        self, widths: Array, ages: NDArray[np.int64], valid: NDArray[np.bool_]
    ) -> dict[str, Array]:
        """Both products for DAC-coded cells: cell = table[age, code] (current coefficients,
        edge charge). Without a column model, column charge = sum over codes of
        table[age, code] . (one-hot code map @ inputs); with one,
        :meth:`_coded_column_products`."""
        c = self.config
        if self.circuits.column is not None:
            return self._coded_column_products(widths, ages, valid)
        # The table's entries that multiply (mid-rail current, edge charge entries), and of
        # those only the ones some row's width weighs (a short-pulse node is used by few
        # rows): each gathered for the window's ages, not the whole table.
        cells = self._cell_table()
        edges = self.circuits.edge_entries
        entries = np.concatenate([[0], np.arange(cells.shape[-1] - edges, cells.shape[-1])])
        ages_index = np.clip(ages, 0, c.window - 1)

        def gathered(used: NDArray[np.intp]) -> Array:
            # the used entries first (a slice of the table's last axis), then the slots' ages:
            # two plain gathers instead of one three-axis np.ix_ (x5 slower)
            return np.take(cells[:, :, entries[used]], ages_index, axis=0)  # (W, codes, used)

        batch, codes = self._onehot_k.shape[0], cells.shape[1]
        inputs = _pulse_inputs(self.circuits, widths)  # (B, d, 1 + edges)
        used = _used_entries(inputs)
        per_code = np.matmul(
            self._onehot_k.reshape(batch, c.window * codes, c.d), inputs[..., used]
        )
        charge = np.einsum(
            "wck,bwck->bw", gathered(used), per_code.reshape(batch, c.window, codes, used.size)
        )
        tiles = c.window // c.tile

        def tile_charges(phi_width: Array) -> Array:
            pulses = _pulse_inputs(self.circuits, phi_width)
            used = _used_entries(pulses)
            weight = np.einsum("wck,bwk->bwc", gathered(used), pulses[..., used])  # (B, W, codes)
            onehot = self._onehot_v.reshape(batch, tiles, c.tile * codes, c.d)
            return np.matmul(weight.reshape(batch, tiles, 1, c.tile * codes), onehot)[:, :, 0]

        return _convert(self.circuits, c, charge, valid, tile_charges)

    def _coded_column_products(
        self, widths: Array, ages: NDArray[np.int64], valid: NDArray[np.bool_]
    ) -> dict[str, Array]:
        """Both products on the column model for DAC-coded cells. The K columns' row sums
        come from how many of each column's rows hold each code at each Q width (a
        histogram) times the (age, code) table (:func:`_coded_row_sums`), no cell gathered;
        the V tiles gather the polynomials of the rows that Phi pulses only (a row without a
        pulse adds nothing to its columns). The same sums as every cell gathered, in another
        order (:func:`attention.column.row_sums`). With the compiled kernels
        (:meth:`_fused_paths`) each cell is read from the table where it is and each block of
        columns integrated as its sums are made."""
        c, circuits = self.config, self.circuits
        column = circuits.column
        assert column is not None
        age_index = np.clip(ages, 0, c.window - 1)
        cells = self._cell_table()  # (window ages, codes, entries)
        split = cells.shape[-1] - circuits.edge_entries
        batch, tiles = widths.shape[0], c.window // c.tile

        @functools.cache
        def by_slot() -> tuple[Array, Array, Array]:
            # the numpy path's table: the coefficients and edge charge by slot; the
            # short-pulse entries (most of the table, used by few rows) stay by age and are
            # gathered where a row uses them
            table = np.take(self._main_entries(split), age_index, axis=0)
            return table[..., :split], table[..., split], cells[..., split + 1 :]

        times = mac_mesh(widths)
        priced: dict[str, Array] = {}  # the kernels' pulse energies (:meth:`_energy`)
        if fused.ENABLED and times.size > 1:  # sums and integration in one kernel
            k_path, k_energy = self._fused_paths(split, "k", widths, times, age_index, valid)
            if k_energy is not None:
                priced["k_energy"] = k_energy
            histogram = None  # the K energy makes its own (:meth:`_energy`)
        else:
            coefficients, edge, short = by_slot()
            extra_k = self._extra_k if self.mismatch is not None else None
            histogram = _code_width_counts(self._code_k, widths, coefficients.shape[1])
            sums = _coded_row_sums(
                coefficients,
                edge,
                (short, age_index),
                histogram,
                widths,
                circuits.short_pulses,
                extra_k,
            )
            k_path = column.integrate(sums, "k", c.d)
        charge, pulses = _k_decisions(circuits, k_path, self.mismatch)
        v_paths: list[ColumnTrajectory] = []
        rows: dict[str, Array] = {}  # the V rows Phi pulses (:func:`_pulsed_rows`), for the energy

        def tile_charges(phi_width: Array) -> Array:
            row_widths, slot, of_batch = _pulsed_rows(phi_width, tiles, c.tile)
            rows.update(v_row_widths=row_widths, v_slot=slot, v_of_batch=of_batch)
            times = mac_mesh(row_widths)
            if fused.ENABLED and times.size > 1:
                path, v_energy = self._fused_paths(
                    split, "v", row_widths, times, age_index, valid, slot
                )
                if v_energy is not None:
                    priced["v_energy"] = v_energy
            else:
                coefficients, edge, short = by_slot()
                codes = self._code_v[of_batch, slot]  # (B x tiles, kept, d)
                row_cells = coefficients[slot[..., None], codes]
                if self.mismatch is not None:
                    row_cells[..., :2] += self._extra_v[of_batch, slot]

                def short_rows(tile_of: NDArray[np.intp], row_of: NDArray[np.intp]) -> Array:
                    ages = age_index[slot[tile_of, row_of]]
                    return short[ages[:, None], codes[tile_of, row_of]]

                cell_edge = _pulse_edge(
                    circuits,
                    edge[slot[..., None], codes],
                    row_widths,
                    short_rows if short.shape[-1] > 0 else None,
                )
                path = column.integrate(row_sums(row_cells, cell_edge, row_widths), "v", c.tile)
            v_paths.append(path)
            return path.charge.reshape(batch, tiles, c.d)

        result = _convert(circuits, c, charge, valid, tile_charges, pulses, self.mismatch)
        paths = _path_entries(k_path, v_paths[0], batch, tiles, c.d) | rows | priced
        if histogram is None:
            return result | paths
        levels, counts = histogram  # the K energy's histogram too (:meth:`_energy`)
        return result | paths | {"k_levels": levels, "k_counts": counts}

    def _fused_paths(
        self,
        split: int,
        kind: str,
        widths: Array,
        times: Array,
        age_index: NDArray[np.intp],
        valid: NDArray[np.bool_],
        slot: NDArray[np.intp] | None = None,
    ) -> tuple[ColumnTrajectory, Array | None]:
        """The K columns' (``kind`` ``"k"``, rows of ``widths`` (B, d) [s]) or the V tiles'
        (``"v"``, the rows Phi pulses, :func:`_pulsed_rows`: ``widths`` and ``slot`` (B x
        tiles, kept)) path on the mesh ``times`` (:func:`attention.column.mac_mesh` of the
        widths) by the compiled kernels (:func:`attention.fused.k_paths`,
        :func:`attention.fused.v_paths`): each cell read from the (age, code) table
        (:meth:`_table_parts`, coefficients and edge charge before ``split + 1``) where it
        is, none gathered; ``age_index`` (W,) each slot's age in steps, ``valid`` (W,)
        which slots hold a token. With the energy models, the array's pulse energy per batch
        element [J] too (:meth:`_kernel_prices`; None: :meth:`_energy` prices them)."""
        c, column = self.config, self.circuits.column
        assert column is not None
        main, short, nodes, node_step = self._table_parts(split)
        cells = (main, short, age_index)
        rows = (times, nodes, node_step)
        line = (
            *column.x_range,
            fused.picard_inverses(
                polynomial_order(main.shape[2] - 1, column.conducting_load, column.turn_off_charge)
            ),
            column.conducting_load,
            column.turn_off_charge,
            PICARD_ITERATIONS,
        )
        prices, *on_nodes = self._kernel_prices()
        if kind == "k":
            idle = column.capacitance_k + c.d * column.idle_load
            charge, drop, energy = fused.k_paths(
                *cells,
                self._code_k,
                self._extra_k_blocks,
                widths,
                *rows,
                idle,
                *line,
                prices,
                valid,
                *on_nodes,
            )
        else:
            assert slot is not None
            extra = self._extra_v if self.mismatch is not None else np.zeros((0, 0, 0, 2))
            idle = column.capacitance_v + c.tile * column.idle_load
            tiles = c.window // c.tile
            charge, drop, energy = fused.v_paths(
                *cells,
                self._code_v,
                extra,
                slot,
                tiles,
                widths,
                *rows,
                idle,
                *line,
                prices,
                *on_nodes,
            )
        return ColumnTrajectory(charge, times, drop), energy if prices.shape[0] else None

    def _kernel_prices(self) -> tuple[Array, float, float, float, float]:
        """What the path kernels price the cells' pulses with (:func:`attention.fused.k_paths`),
        made once: the pulse energy table by (age, code) (:meth:`_energy_table`), mid-rail
        and the column nodes (first, spacing, last); an empty table when the step takes no
        energy or its column nodes are not equally spaced (then :meth:`_energy` prices them)."""
        if self._prices is None:
            models = self.circuits.energy
            self._prices = (np.zeros((0, 0, 0)), V_MID, 0.0, 0.0, 0.0)
            if models is not None and self.config.levels is not None:
                nodes = np.asarray(models.pulse_columns, dtype=np.float64)
                spacing = uniform_step(nodes) if nodes.size > 1 else None
                if spacing is not None:
                    self._prices = (self._energy_table(), V_MID, nodes[0], spacing, nodes[-1])
        return self._prices

    def run(self, q: ArrayLike, k: ArrayLike, v: ArrayLike) -> AttentionTrace:
        """Process a whole sequence from an empty window. q, k, v: ``(..., T, d)``; returns
        ``s``, ``phi`` (``(..., T, T)``, 0 outside the window) and ``output`` (``(..., T, d)``)."""
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (q, k, v)))
        if arrays[0].ndim < 2 or arrays[0].shape[-1] != self.config.d:
            raise InputError(
                f"q, k, v must be shaped (..., T, {self.config.d}), got {arrays[0].shape}"
            )
        *batch, tokens, d = arrays[0].shape
        self.reset(tuple(batch))
        s = np.zeros((*batch, tokens, tokens))
        phi = np.zeros_like(s)
        out = np.zeros((*batch, tokens, d))
        energy = None
        if self.circuits.energy is not None:
            energy = {name: np.zeros((*batch, tokens)) for name in ENERGY_KEYS}
        for t in range(tokens):
            step = self.step(*(a[..., t, :] for a in arrays))
            held = step.positions >= 0
            s[..., t, step.positions[held]] = step.s[..., held]
            phi[..., t, step.positions[held]] = step.phi[..., held]
            out[..., t, :] = step.output
            if energy is not None and step.energy is not None:
                for name, value in step.energy.items():
                    energy[name][..., t] = value
        return AttentionTrace(s, phi, out, energy)


def _cell_models(circuits: HeadCircuits, volts: Array) -> tuple[Array, Array]:
    """Per stored voltage: current coefficients ``(..., terms)`` [A / V^k] (the column
    model's polynomial, or the mid-rail current alone) and edge charge entries
    ``(..., circuits.edge_entries)`` [C] (:func:`_pulse_edge` turns them into a charge per
    pulse of a given width)."""
    volts = np.asarray(volts, dtype=np.float64)
    edge = circuits.edge_charge
    charge = np.zeros((*volts.shape, 1)) if edge is None else edge(volts)
    if circuits.column is not None:
        return circuits.column.coefficients(volts), charge
    return circuits.multiplier(volts)[..., None], charge


def _column_charges(
    circuits: HeadCircuits,
    cells: Array,
    edge: Array,
    widths: Array,
    kind: str,
    short: ShortEntries | None = None,
) -> tuple[Array, ColumnTrajectory | None]:
    """Charge each column draws over one MAC [C], (B, cols), and with a column model the
    columns' path (:class:`attention.column.ColumnTrajectory`, else None): cells (B, rows,
    cols, terms) current coefficients, edge (B, rows, cols), widths (B, rows) shared by the
    columns; kind ``"k"`` or ``"v"`` picks the converter's column capacitance. With a column
    model the
    column's voltage is integrated (:func:`attention.column.mac_charge`), else each cell
    gives its mid-rail current for its row's width. ``edge`` may also be the cells' edge
    entries (B, rows, cols, entries), or come with ``short`` (:func:`_pulse_edge`)."""
    edge = _pulse_edge(circuits, edge, widths, short)
    column = circuits.column
    if column is not None:
        path = column.integrate(row_sums(cells, edge, widths), kind, cells.shape[1])
        return path.charge, path
    pulses = (widths > 0).astype(np.float64)
    charge = np.einsum("brc,br->bc", cells[..., 0], widths)
    return charge + np.einsum("brc,br->bc", edge, pulses), None


ShortEntries = Callable[[NDArray[np.intp], NDArray[np.intp]], Array]
"""(batch indices, row indices) -> the short-pulse edge entries of those rows' cells,
(rows given, cols, nodes) [C]: gathered only for the rows that have a short pulse."""


def _pulse_edge(
    circuits: HeadCircuits, edge: Array, widths: Array, short: ShortEntries | None = None
) -> Array:
    """Each cell's charge per pulse beyond its current [C], (B, rows, cols), for its row's
    width (B, rows): the edge charge, plus for a pulse under :data:`SHORT_PULSE_S` the
    short-pulse entries interpolated at its width (flat below the first node). ``edge``: the
    edge charges (B, rows, cols) with the short-pulse entries from ``short``, or every edge
    entry ``(B, rows, cols, entries)`` (:func:`_cell_models`)."""
    edge = np.asarray(edge, dtype=np.float64)
    if edge.ndim == np.ndim(widths) + 2:
        entries = edge
        edge = edge[..., 0]
        if entries.shape[-1] > 1:
            short = _entries_of(entries)
    nodes = circuits.short_pulses
    if nodes is None or short is None:
        return edge
    w = np.asarray(widths, dtype=np.float64)
    batch_of, row_of = np.nonzero((w > 0) & (w < nodes[-1]))
    if batch_of.size == 0:
        return edge
    edge = edge.copy()
    weights = _short_weights(nodes, w[batch_of, row_of])  # (short rows, nodes)
    edge[batch_of, row_of] += _short_charge(short(batch_of, row_of), weights)
    return edge


def _entries_of(entries: Array) -> ShortEntries:
    """The short-pulse entries of rows of a full ``(B, rows, cols, entries)`` array."""

    def rows(batch_of: NDArray[np.intp], row_of: NDArray[np.intp]) -> Array:
        return entries[batch_of, row_of, :, 1:]

    return rows


def _short_charge(entries: Array, weights: Array) -> Array:
    """What short pulses add to their cells' edge charge [C], (rows, cols): the cells'
    short-pulse entries (rows, cols, nodes) weighted by their rows' (rows, nodes)."""
    return np.einsum("rcn,rn->rc", entries, weights)


def _short_weights(nodes: Array, widths: Array) -> Array:
    """(..., nodes) weights of each width on the short-pulse nodes (linear between them,
    flat below the first); all zero for no pulse and for pulses of the last node or longer."""
    short = (widths > 0) & (widths < nodes[-1])
    weights = np.zeros((*np.shape(widths), nodes.size))
    if short.any():  # few rows pulse short: the tents of those alone
        weights[short] = hat_weights(nodes, widths[short])
    return weights


def _pulse_inputs(circuits: HeadCircuits, widths: Array) -> Array:
    """What multiplies a cell's (mid-rail current, edge entries) for a row of ``widths``
    (..., ): (..., 1 + edge entries) = (width, pulsed, short-pulse weights)."""
    w = np.asarray(widths, dtype=np.float64)
    parts = [w[..., None], (w > 0).astype(np.float64)[..., None]]
    if circuits.short_pulses is not None:
        parts.append(_short_weights(circuits.short_pulses, w))
    return np.concatenate(parts, axis=-1)


def _used_entries(inputs: Array) -> NDArray[np.intp]:
    """Indices of the last axis of ``inputs`` (:func:`_pulse_inputs`) not zero everywhere:
    the width and pulse entries, and the short-pulse nodes some short pulse weighs."""
    return np.flatnonzero(np.any(inputs != 0, axis=tuple(range(inputs.ndim - 1))))


def _code_width_counts(codes: NDArray[np.intp], widths: Array, n_codes: int) -> tuple[Array, Array]:
    """The distinct row widths (U,) [s] and, per column, how many of its rows hold each code
    at each of them: (B, W, n_codes, U) for codes (B, W, d) of the cells and widths (B, d)
    of the rows."""
    batch, window, d = codes.shape
    levels, level_of = np.unique(widths, return_inverse=True)
    n_levels = levels.size
    if fused.ENABLED:
        counts = fused.code_width_counts(codes, level_of.reshape(batch, d), n_codes, n_levels)
        return levels, counts
    index = codes * n_levels + level_of.reshape(batch, 1, d)
    index += (np.arange(batch * window) * (n_codes * n_levels)).reshape(batch, window, 1)
    counts = np.bincount(index.ravel(), minlength=batch * window * n_codes * n_levels)
    return levels, counts.reshape(batch, window, n_codes, n_levels).astype(np.float64)


def _drops_at(result: dict[str, Array], kind: str, widths: Array, cols: int) -> tuple[Array, Array]:
    """The ``kind`` (``"k"``/``"v"``) columns' drop below mid-rail at the end of pulses of
    ``widths`` (B, rows) and over them [V], (B, rows, cols) (:func:`pulse_end_drops` of the
    step's paths, :func:`_path_entries`); zero (mid-rail) without a column model."""
    if f"{kind}_drop" not in result:
        return np.zeros((*widths.shape, cols)), np.zeros((*widths.shape, cols))
    return pulse_end_drops(result[f"{kind}_times"], result[f"{kind}_drop"], widths)


def _pulsed_rows(phi_width: Array, tiles: int, tile: int) -> tuple[Array, Array, Array]:
    """Per tile, the rows Phi pulses first (padded with rows of width 0 to the most any tile
    has): their widths (B x tiles, kept) [s], slots (B x tiles, kept) and batch index
    (B x tiles, 1), from ``phi_width`` (B, W)."""
    batch = phi_width.shape[0]
    per_tile = phi_width.reshape(batch * tiles, tile)
    of_batch = (np.arange(batch * tiles) // tiles)[:, None]
    if fused.ENABLED:
        return (*fused.pulsed_rows(np.ascontiguousarray(per_tile), tiles), of_batch)
    pulsed = per_tile > 0
    kept = max(1, int(pulsed.sum(axis=1).max()))
    row = np.argsort(~pulsed, axis=1, kind="stable")[:, :kept]
    slot = (np.arange(batch * tiles) % tiles)[:, None] * tile + row
    return np.take_along_axis(per_tile, row, axis=1), slot, of_batch


def _coded_row_sums(
    coefficients: Array,
    edge: Array,
    short: tuple[Array, NDArray[np.intp]],
    histogram: tuple[Array, Array],
    widths: Array,
    short_nodes: Array | None,
    extra: Array | None = None,
) -> ColumnSums:
    """The K columns' row sums (:class:`attention.column.ColumnSums`) when every cell is an
    (age, code) table entry: coefficients (W, codes, entries) and edge (W, codes) of the
    slots' ages, short the short-pulse entries (window ages, codes, nodes) and each slot's age
    (W,) (gathered only for the nodes some row's width uses); histogram the rows' distinct
    widths and each column's count of rows per (code, width) (:func:`_code_width_counts`);
    widths (B, d) the rows' Q pulses [s]; extra (B, W, d, 2) each cell's drawn deviation of
    its first two coefficients (mismatch). A row enters a column's sums through its width's
    conduction, pulse and short-pulse weights, so the sums are a histogram of (code, width)
    per column times those features, then times the table: no per-cell gather."""
    levels, counts = histogram
    short_table, age_index = short
    times = mac_mesh(widths)
    steps = times.size - 1
    features = [conduction(levels, times), (levels > 0).astype(np.float64)[:, None]]
    used = np.zeros(0, dtype=np.intp)
    if short_nodes is not None and short_table.shape[-1] > 0:
        weights = _short_weights(short_nodes, levels)
        used = np.flatnonzero(weights.any(axis=0))
        features.append(weights[:, used])
    per_code = np.matmul(counts, np.concatenate(features, axis=1))  # (B, W, codes, features)
    conducting = np.matmul(coefficients.transpose(0, 2, 1), per_code[..., :steps])
    pulsed_codes = per_code[..., steps]  # (B, W, codes): pulsed rows per code
    pulsed = np.einsum("wce,bwc->bwe", coefficients, pulsed_codes)
    edge_sums = np.einsum("wc,bwc->bw", edge, pulsed_codes)
    if used.size:
        short_used = short_table[:, :, used][age_index]  # (W, codes, used)
        edge_sums += np.einsum("wcn,bwcn->bw", short_used, per_code[..., steps + 1 :])
    if extra is not None:  # each cell's own deviation, summed over the rows as they conduct
        active = conduction(widths, times)  # (B, d, S)
        conducting[:, :, :2] += np.matmul(np.swapaxes(extra, -1, -2), active[:, None])
        pulsed[..., :2] += np.einsum("bwrk,br->bwk", extra, (widths > 0).astype(np.float64))
    return ColumnSums(times, conducting, pulsed, edge_sums)


def _k_columns(
    circuits: HeadCircuits,
    cells: Array,
    edge: Array,
    widths: Array,
    short: ShortEntries | None = None,
    mismatch: ConverterMismatch | None = None,
) -> tuple[Array, NDArray[np.bool_] | None, ColumnTrajectory | None]:
    """The K columns' charges and path (as :func:`_column_charges`) and, with the comparator
    model, whether each ReLU converter gives a pulse (:func:`_k_decisions`)."""
    edge = _pulse_edge(circuits, edge, widths, short)
    column = circuits.column
    if column is None:
        charge, _ = _column_charges(circuits, cells, edge, widths, "k")
        return charge, None, None
    path = column.integrate(row_sums(cells, edge, widths), "k", cells.shape[1])
    return (*_k_decisions(circuits, path, mismatch), path)


def _k_decisions(
    circuits: HeadCircuits,
    path: ColumnTrajectory,
    mismatch: ConverterMismatch | None = None,
) -> tuple[Array, NDArray[np.bool_] | None]:
    """The K columns' charges from their path on the line, and whether each ReLU converter
    gives a pulse with the comparator model (None: its final charge decides; with
    ``mismatch`` each converter judges the charge it sees,
    :meth:`ConverterMismatch.relu_charge`)."""
    column, recovery = circuits.column, circuits.relu_recovery
    assert column is not None
    if recovery is None:
        return path.charge, None
    # the comparator's view, as charge on its capacitor (with mismatch each column its own
    # converter): first where each column ends
    final = column.capacitance_k * path.drop[..., -1]  # (B, W)
    if mismatch is not None:
        final = mismatch.relu_charge(final)
    pulses = final > recovery.static
    # Only columns ending near the switching point can be decided by the path (the largest
    # shift characterized is 13 fC, a 300 mV excursion 1.5 ns before the window).
    near = np.abs(final - recovery.static) < RECOVERY_MARGIN_C
    if near.any():
        seen = column.capacitance_k * path.drop[near]  # (m, mesh)
        if mismatch is not None:
            seen = mismatch.relu_charge(seen, np.nonzero(near)[-1])
        pulses[near] = _recovered(recovery, path.times, seen)
    return path.charge, pulses


def _recovered(recovery: ComparatorRecovery, times: Array, seen: Array) -> NDArray[np.bool_]:
    """Whether the comparator gives a pulse for columns that saw charges ``seen`` (m, n)
    [C] at ``times`` (n,) [s] (:meth:`ComparatorRecovery.pulses`; with the compiled kernels,
    :func:`attention.fused.recovery_states`)."""
    window = CONV_START - MAC_START
    if not fused.ENABLED:
        return recovery.pulses(times, seen, window)
    # the drive at the cuts in numpy (its arcsinh vectorized), the steps compiled
    drive = recovery.drive(fused.cut_values(np.ascontiguousarray(seen), _SUBSTEP_FRACTIONS))
    states = fused.recovery_states(
        times, drive, window, _SUBSTEP_FRACTIONS, recovery.tau, _rested(recovery)
    )
    return states > 0


_SUBSTEP_FRACTIONS = cut_fractions(MESH_SUBSTEPS)
"""Where :meth:`ComparatorRecovery.state` cuts each mesh interval (its ``substeps``)."""


@functools.lru_cache(maxsize=64)
def _rested(recovery: ComparatorRecovery) -> float:
    """:meth:`ComparatorRecovery.rested_state`, once per model."""
    return recovery.rested_state()


def _phi_widths(circuits: HeadCircuits, charge: Array, pulses: NDArray[np.bool_] | None) -> Array:
    """ReLU converter widths [s] for K column charges [C]; with ``pulses`` (the comparator
    model's decision) no pulse where it says so, at least the first width where it gives
    one."""
    width = circuits.relu(charge.ravel()).reshape(charge.shape)
    if pulses is None:
        return width
    return np.where(pulses, np.maximum(width, circuits.relu_first_width), 0.0)


def _products(
    circuits: HeadCircuits,
    config: HeadConfig,
    widths: Array,
    cur_k: Array,
    cur_v: Array,
    valid: NDArray[np.bool_],
    edge_k: Array | None = None,
    edge_v: Array | None = None,
    short_k: ShortEntries | None = None,
    short_v: ShortEntries | None = None,
    mismatch: ConverterMismatch | None = None,
) -> dict[str, Array]:
    """Both analog products and the conversions, shared by the head and the single-tile
    model. widths (B, d) [s]; each cell's current coefficients (:func:`_cell_models`)
    [A / V^k] rows first: cur_k (B, d, W, terms) (the K array's rows are the dimensions),
    cur_v (B, W, d, terms) (the V array's rows are the tokens); valid (W,) slots holding a
    token; edge_k (B, d, W), edge_v (B, W, d) [C]: charge each cell adds per pulse of any
    width > 0, or the cells' edge entries (one more axis last, :func:`_pulse_edge`);
    short_k, short_v: the short-pulse entries of given rows in those layouts; mismatch: the
    converters' drawn deviations (the cells' are in their coefficients already)."""
    batch, d, window, _ = cur_k.shape
    tiles = window // config.tile
    edge_k = np.zeros(cur_k.shape[:-1]) if edge_k is None else edge_k
    edge_v = np.zeros(cur_v.shape[:-1]) if edge_v is None else edge_v
    charge, pulses, k_path = _k_columns(circuits, cur_k, edge_k, widths, short_k, mismatch)
    v_paths: list[ColumnTrajectory] = []
    # V rows are tokens: per tile, (B x tiles, tile rows, d columns, terms), a view.
    by_tile = cur_v.reshape(batch * tiles, config.tile, d, -1)
    edge_by_tile = edge_v.reshape(batch * tiles, config.tile, d, *edge_v.shape[3:])
    short_by_tile = None
    if short_v is not None:

        def short_by_tile(tile_of: NDArray[np.intp], row_of: NDArray[np.intp]) -> Array:
            return short_v(tile_of // tiles, (tile_of % tiles) * config.tile + row_of)

    def tile_charges(phi_width: Array) -> Array:
        charges, path = _column_charges(
            circuits,
            by_tile,
            edge_by_tile,
            phi_width.reshape(batch * tiles, config.tile),
            "v",
            short_by_tile,
        )
        if path is not None:
            v_paths.append(path)
        return charges.reshape(batch, tiles, d)

    result = _convert(circuits, config, charge, valid, tile_charges, pulses, mismatch)
    return result | _path_entries(k_path, v_paths[0] if v_paths else None, batch, tiles, d)


def _path_entries(
    k_path: ColumnTrajectory | None,
    v_path: ColumnTrajectory | None,
    batch: int,
    tiles: int,
    d: int,
) -> dict[str, Array]:
    """The columns' paths in a step's result, for its energy (each pulse at the column
    voltage it saw): ``k_times`` (S + 1,) [s] and ``k_drop`` (B, W, S + 1) [V] of the K
    columns, ``v_times`` and ``v_drop`` (B x tiles, d, S + 1) of the V tiles' columns; none
    without a column model (mid-rail)."""
    entries: dict[str, Array] = {}
    if k_path is not None:
        entries |= {"k_times": k_path.times, "k_drop": k_path.drop}
    if v_path is not None:
        entries |= {"v_times": v_path.times, "v_drop": v_path.drop.reshape(batch * tiles, d, -1)}
    return entries


def _convert(
    circuits: HeadCircuits,
    config: HeadConfig,
    charge: Array,
    valid: NDArray[np.bool_],
    tile_charges: Callable[[Array], Array],
    pulses: NDArray[np.bool_] | None = None,
    mismatch: ConverterMismatch | None = None,
) -> dict[str, Array]:
    """The conversions around the second product: K column charges (B, W) [C] -> Phi pulses
    (``pulses``: the comparator model's decisions, :func:`_phi_widths`);
    ``tile_charges(phi_widths)`` -> V column charges per tile (B, tiles, d) [C] -> counted,
    signed tile outputs, summed over the tiles that hold tokens."""
    charge = np.where(valid, charge, 0.0)
    seen = charge if mismatch is None else mismatch.relu_charge(charge)
    phi_width = np.where(valid, _phi_widths(circuits, seen, pulses), 0.0)
    tile_charge = tile_charges(phi_width)
    tiles = config.window // config.tile
    converted = tile_charge if mismatch is None else mismatch.signed_charge(tile_charge)
    width, negative = circuits.signed(converted.ravel())
    magnitude = np.minimum(width.reshape(tile_charge.shape) / circuits.t_max_out, 1.0)
    if config.levels is not None:  # the counter: 16 levels plus sign
        step = (OUT_RANGE[1] - OUT_RANGE[0]) / (config.levels[2] - 1)
        magnitude = step * np.round(magnitude / step)
    signed = np.where(negative.reshape(tile_charge.shape), -magnitude, magnitude)
    in_use = valid.reshape(tiles, config.tile).any(axis=1)  # empty tiles are not converted
    output = np.einsum("bnd,n->bd", signed, in_use.astype(np.float64))
    return {
        "s": charge / (circuits.t_max * circuits.current_scale),
        "phi": phi_width / circuits.t_max,
        "output": output,
        "column_charge": charge,
        "tile_charge": tile_charge,
    }


def tile_model(
    circuits: HeadCircuits,
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    *,
    hold_time: float = 0.0,
    v_input_widths: ArrayLike | None = None,
    mismatch_seed: int | None = None,
) -> dict[str, Array]:
    """One query against one freshly written tile, no quantization: the array-simulation
    counterpart of a SPICE tile (bit lines at k + 0.45 V, as the SPICE testbench writes them).

    q (dims,); k, v (tokens, dims) in model units. ``v_input_widths`` (tokens,) [s] replaces
    the V rows' input pulses (default: this model's own Phi widths), to compare the second
    product alone. Returns ``s`` and ``charge_k`` (tokens,), ``phi_width`` (tokens,) [s],
    ``charge_v`` (dims,) [C], ``out_width`` (dims,) [s] and ``out_negative`` (dims,); with
    energy models also ``energy_k_cells``, ``energy_k_converter`` (tokens,) and
    ``energy_v_cells``, ``energy_v_converter`` (dims,) [J] (:func:`_tile_energy`; nominal
    devices; each pulse at the column voltage it saw); with the column model also the
    columns' paths, ``k_times`` / ``v_times`` (S + 1,) [s] and ``k_drop`` (tokens, S + 1) /
    ``v_drop`` (dims, S + 1) [V] below mid-rail. With ``mismatch_seed`` every cell and
    converter is a drawn instance (:func:`gaincell.attention.mismatch.draw_tile_mismatch`,
    needs the column model): the tile-level counterpart of a Monte Carlo SPICE tile, to
    compare in distribution.
    """
    q_arr, k_arr, v_arr = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    if k_arr.ndim != 2 or v_arr.shape != k_arr.shape or q_arr.shape != k_arr.shape[1:]:
        raise InputError(
            f"tile_model needs q (dims,), k and v (tokens, dims); got {q_arr.shape}, "
            f"{k_arr.shape}, {v_arr.shape}"
        )

    # Tables over the stored voltage (the column model's) are composed with the leakage once.
    written = circuits.written_cells(hold_time) if circuits.column is not None else None

    def cells(x: Array) -> tuple[Array, Array]:
        """(rows, cols) cells in model units -> current coefficients (rows, cols, terms) and
        edge charge entries (rows, cols, entries; only the first from ``written``)."""
        target = np.clip(x, *KV_RANGE) + STORE_OFFSET
        if written is not None:
            entries = written[0](target)
            return entries[..., :-1], entries[..., -1:]
        volts = circuits.leakage(np.full(target.size, float(hold_time)), target.ravel())
        coefficients, edge = _cell_models(circuits, volts)
        return coefficients.reshape(*x.shape, -1), edge.reshape(*x.shape, -1)

    def short_of(x: Array) -> ShortEntries | None:
        """The short-pulse edge entries of given rows of the cells ``x`` (rows, cols), looked
        up in ``written`` for those rows only (:func:`_pulse_edge`)."""
        if written is None or written[1] is None:
            return None
        short = written[1]

        def rows(batch_of: NDArray[np.intp], row_of: NDArray[np.intp]) -> Array:
            return short(np.clip(x[row_of], *KV_RANGE) + STORE_OFFSET)

        return rows

    k_rows = k_arr.T  # K: rows are the dimensions, columns the tokens (rows first)
    cur_k, edge_k = cells(k_rows)
    cur_v, edge_v = cells(v_arr)  # V tile: column d, rows = tokens
    mismatch = None
    if mismatch_seed is not None:
        if written is None:
            raise InputError("tile_model(mismatch_seed=...) needs circuits with a column model")
        volts_k, volts_v = (np.clip(x, *KV_RANGE) + STORE_OFFSET for x in (k_arr, v_arr))
        mismatch = draw_tile_mismatch(volts_k, volts_v, mismatch_seed)
        cur_k[..., :2] += mismatch.cell_k.transpose(1, 0, 2)  # gathered above: new arrays
        cur_v[..., :2] += mismatch.cell_v
    q_widths = np.clip(q_arr, *Q_RANGE) * circuits.t_max
    charges, pulses, k_path = _k_columns(
        circuits, cur_k[None], edge_k[None], q_widths[None], short_of(k_rows), mismatch
    )
    charge_k = charges[0]
    seen = charges if mismatch is None else mismatch.relu_charge(charges)
    phi_width = _phi_widths(circuits, seen, pulses)[0]
    inputs = (
        np.clip(phi_width, 0.0, circuits.t_max)
        if v_input_widths is None
        else np.asarray(v_input_widths, dtype=np.float64)
    )
    charges_v, v_path = _column_charges(
        circuits, cur_v[None], edge_v[None], inputs[None], "v", short_of(v_arr)
    )
    charge_v = charges_v[0]
    converted = charge_v if mismatch is None else mismatch.signed_charge(charge_v[None])[0]
    out_width, negative = circuits.signed(converted)
    result = {
        "s": charge_k / (circuits.t_max * circuits.current_scale),
        "charge_k": charge_k,
        "phi_width": phi_width,
        "charge_v": charge_v,
        "out_width": out_width,
        "out_negative": np.asarray(negative, dtype=bool),
    }
    for kind, path in (("k", k_path), ("v", v_path)):
        if path is not None:
            result |= {f"{kind}_times": path.times, f"{kind}_drop": path.drop[0]}
    if circuits.energy is not None:
        k_cells = cell_pulse_energies(circuits, k_rows, q_widths, hold_time, k_path)
        v_cells = cell_pulse_energies(circuits, v_arr, inputs, hold_time, v_path)
        result |= _tile_energy(circuits, k_cells, v_cells, charge_k, charge_v)
    return result


def cell_pulse_energies(
    circuits: HeadCircuits,
    cells: Array,
    widths: Array,
    hold_time: float = 0.0,
    path: ColumnTrajectory | None = None,
) -> Array:
    """Energy of each cell's pulse in one MAC [J], (rows, cols): ``cells`` (rows, cols) in
    model units written ``hold_time`` [s] before, ``widths`` (rows,) [s], each pulse at the
    column voltage ``path`` (its columns', batch of one; mid-rail without) took it to
    (:func:`attention.energy.pulse_energy`)."""
    models = circuits.energy
    assert models is not None
    table = circuits.written_energy(hold_time)
    volts = np.clip(cells, *KV_RANGE) + STORE_OFFSET
    end = mean = np.zeros(cells.shape)
    if path is not None:
        end, mean = (x[0] for x in pulse_end_drops(path.times, path.drop, widths[None]))
    nodes = np.asarray(models.pulse_columns)
    edges = table.between(volts, nodes, V_MID - end)
    conducting = table.between(volts, nodes, V_MID - mean, offset=nodes.size)
    return affine_pulse_energy(edges, conducting, widths[:, None])


def _tile_energy(
    circuits: HeadCircuits,
    k_cells: Array,
    v_cells: Array,
    charge_k: Array,
    charge_v: Array,
) -> dict[str, Array]:
    """Per column of a SPICE-like tile [J]: the cells' pulses (supply and row drivers; the
    cells' energies (rows, cols) from :func:`cell_pulse_energies`) and the converter over the
    tile transient's length (its cycle above the bias, the bias for the whole transient, as
    the SPICE tile's converters are powered, and the reset held through the tile's write,
    longer than the characterization's: :meth:`EnergyModels.reset_beyond`)."""
    models = circuits.energy
    assert models is not None
    return {
        "energy_k_cells": k_cells.sum(axis=0),
        "energy_k_converter": models.relu_cycle(charge_k)
        + models.relu_static(charge_k) * T_STOP
        + models.reset_beyond("relu", charge_k, RESET_END),
        "energy_v_cells": v_cells.sum(axis=0),
        "energy_v_converter": models.signed_cycle(charge_v)
        + models.signed_static(charge_v) * T_STOP
        + models.reset_beyond("signed", charge_v, RESET_END),
    }
