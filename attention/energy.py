"""What the head's circuits draw, token by token: the energy models the array simulation
charges each operation with, and the bookkeeping of one step.

Every part comes from an energy surrogate fitted to SPICE (``gaincell surrogates`` shows each
one's hold-out error) except the digital control and routing, an explicit parameter:

- a cell's input pulse: ``multiplier-pulse-energy`` (the cell's own supply and its two enable
  drivers, the drivers counted as CMOS drivers: charge delivered x 1.8 V) as
  ``a(V, v_col) + b(V, v_col) x width`` for any width > 0 (``a``, ``b`` fitted per stored
  voltage over the surrogate's 1..15 ns nodes at each of its column voltages; the energy is
  within a few % of affine there). With a column model the column is where the MAC took it:
  ``a`` (the edges: the read pair's internal nodes settle from the column's voltage when the
  pulse ends) at the column's voltage at the pulse's end, ``b`` (the current while the row
  conducts) at its mean over the pulse (:func:`pulse_energy`); a cell sinking current 170 mV
  below mid-rail draws 5..8 % more than at mid-rail;
- a conversion: ``relu-c2p-energy`` / ``signed-c2p-energy``, the energy of the converter's
  testbench cycle (reset, MAC, conversion: supply and reference) over the column charge, less
  its static bias ``relu-c2p-static`` / ``signed-c2p-static`` [W] times that cycle's length:
  the cycle above the bias; and the bias for as long as the converter is powered: the whole
  step by default, or ``converter_on_time`` (a power-gating assumption). Both surrogates
  include the fine sweeps near zero charge, where the comparator lingers and draws more. The
  cycle holds the testbench's 2 ns of reset, whose power (``relu-c2p-reset`` /
  ``signed-c2p-reset``) is 20 .. 30 % above the static bias: a SPICE tile, which holds its
  converters in reset for the 14 ns of its write, is charged the difference
  (:meth:`EnergyModels.reset_beyond`; 3 .. 6 % of a converter's energy). (The
  reset and window drivers, tens of fJ against ~15 pJ, are in the characterizations'
  ``e_drivers``, not in these sums.)
- a cell write: ``write-energy`` over the written bit-line voltage, from ``write-line``: the
  DAC's share (its bit line of 64 cells and met2 wire, from mid-rail to the value and back,
  charge drawn x 1.8 V) and 1/64 of the word line's (64 written cells' gates and wire, pulsed
  to 3.3 V, charge drawn x 3.3 V). The DAC's own circuit (ladder, references) is not modelled.

A step writes one K and one V column (2 d cells), pulses every K cell whose row's query pulse
is non-zero and every V cell whose token's Phi pulse is, converts every K column (one ReLU
converter per window slot) and every V column of every tile (one signed converter each).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.attention import fused
from gaincell.attention.cost import PAPER_DIGITAL_J, TokenEnergy
from gaincell.characterize.c2p import TESTBENCH_RESET_S
from gaincell.circuits.design import V_MID
from gaincell.errors import InputError
from gaincell.surrogate.interpolate import uniform_step

Array = NDArray[np.float64]

PULSE_ENERGY_BIT_LINES = np.linspace(0.40, 1.40, 201)
"""Written bit-line values [V] the pulse energy's affine coefficients are tabulated at (5 mV;
the surrogate's input, continued past its 0.45 .. 1.35 V edges), then placed at the stored
voltages they leave (the write's feedthrough, as for the charge)."""
MODULES = TokenEnergy.MEASURED + TokenEnergy.ASSUMED
"""The parts of a head-token's energy, as :class:`~gaincell.attention.cost.TokenEnergy`."""
STATIC_PARTS = ("relu_static", "signed_static")
"""Of the conversions, the converters' static bias (their held charge's bias power x the
time they are powered): inside ``relu_conversion`` and ``signed_conversion``, reported
beside them."""
ENERGY_KEYS = MODULES + STATIC_PARTS
"""What a step's (and a trace's) energy breakdown holds: the modules, then the static parts
inside two of them (not added again in :func:`total`)."""


@dataclass(frozen=True)
class EnergyModels:
    """What each operation of the head draws, at one corner and temperature."""

    pulse: Callable[[Array], Array]
    """Stored voltage [V] -> (..., 2 J): with the column at :attr:`pulse_columns` ``[j]`` a
    pulse of width w > 0 costs ``[j] + [J + j] w`` [J, J/s] (:func:`pulse_energy`)."""
    relu_cycle: Callable[[Array], Array]
    """K column charge [C] -> its ReLU converter's cycle above the static bias [J]."""
    signed_cycle: Callable[[Array], Array]
    """V column charge [C] -> its signed converter's cycle above the static bias [J]."""
    relu_static: Callable[[Array], Array]
    """K column charge [C] -> the ReLU converter's static bias power [W]."""
    signed_static: Callable[[Array], Array]
    """V column charge [C] -> the signed converter's static bias power [W]."""
    write: Callable[[Array], Array]
    """Bit-line voltage [V] -> energy of writing one cell [J]."""
    digital: float = PAPER_DIGITAL_J
    """Digital control, counters and routing per head-token [J] (assumed)."""
    converter_on_time: float | None = None
    """How long each converter is biased per step [s]; None: the whole step (no power
    gating)."""
    description: str = ""
    """Where the models come from."""
    pulse_columns: tuple[float, ...] = (V_MID,)
    """Column voltages [V] :attr:`pulse` gives a pulse's energy at (J of them, increasing;
    linear between, flat beyond)."""
    relu_reset: Callable[[Array], Array] | None = None
    """K column charge [C] -> the ReLU converter's power while held in reset [W] (the cycles
    hold :data:`~gaincell.characterize.c2p.TESTBENCH_RESET_S` of it; a longer reset costs
    the difference to the static bias, :meth:`reset_beyond`); None: as the static bias."""
    signed_reset: Callable[[Array], Array] | None = None
    """V column charge [C] -> the signed converter's power while held in reset [W]."""

    def __post_init__(self) -> None:
        columns = np.asarray(self.pulse_columns, dtype=np.float64)
        if columns.ndim != 1 or columns.size < 1 or np.any(np.diff(columns) <= 0):
            raise InputError(
                f"EnergyModels.pulse_columns must be increasing column voltages, got "
                f"{self.pulse_columns!r}"
            )
        if not (np.isfinite(self.digital) and self.digital >= 0):
            raise InputError(f"EnergyModels.digital must be an energy >= 0 J, got {self.digital!r}")
        on = self.converter_on_time
        if on is not None and not (np.isfinite(on) and on >= 0):
            raise InputError(f"EnergyModels.converter_on_time must be >= 0 s or None, got {on!r}")

    @classmethod
    def from_surrogates(
        cls,
        corner: str = "tt",
        temperature: float = 27.0,
        *,
        pulse: str = "multiplier-pulse-energy",
        relu_cycle: str = "relu-c2p-energy",
        signed_cycle: str = "signed-c2p-energy",
        relu_static: str = "relu-c2p-static",
        signed_static: str = "signed-c2p-static",
        write: str = "write-energy",
        relu_reset: str | None = "relu-c2p-reset",
        signed_reset: str | None = "signed-c2p-reset",
        leakage: str = "leakage",
        digital: float = PAPER_DIGITAL_J,
        converter_on_time: float | None = None,
    ) -> EnergyModels:
        """The energy surrogates (shipped names or paths) at ``corner`` and ``temperature``;
        ``leakage`` maps the pulse surrogate's written bit-line value to the stored voltage
        the head looks cells up by."""
        from gaincell.surrogate import load

        def over_charge(model: Any) -> Callable[[Array], Array]:
            # Beyond the characterized charges the converter is flat (off or saturated).
            return _one_axis(model.at(corner=corner, temperature=temperature), "charge")

        def above_bias(total: Any, bias: Callable[[Array], Array]) -> Callable[[Array], Array]:
            """A converter's testbench cycle less its bias over the cycle's length (both
            linear between nodes: one table on the nodes of both, the same function)."""
            cycle, length = over_charge(total), _cycle_length(total)
            if isinstance(cycle, NodeTable) and isinstance(bias, NodeTable):
                cycle_on, bias_on = _shared_nodes(cycle, bias)
                return NodeTable(cycle_on.nodes, cycle_on.values - bias_on.values * length)

            def evaluate(charge: Array) -> Array:
                return cycle(charge) - bias(charge) * length

            return evaluate

        relu_bias, signed_bias = over_charge(load(relu_static)), over_charge(load(signed_static))
        write_energy = _one_axis(load(write).at(corner=corner, temperature=temperature), "v_store")

        pulse_table, pulse_columns = _pulse_affine(load(pulse), corner, temperature, load(leakage))
        return cls(
            pulse=pulse_table,
            pulse_columns=pulse_columns,
            relu_cycle=above_bias(load(relu_cycle), relu_bias),
            signed_cycle=above_bias(load(signed_cycle), signed_bias),
            relu_static=relu_bias,
            signed_static=signed_bias,
            write=write_energy,
            digital=digital,
            converter_on_time=converter_on_time,
            description=f"energy surrogates {pulse}, {relu_cycle}, {signed_cycle}, "
            f"{relu_static}, {signed_static}, {relu_reset}, {signed_reset}, {write} at "
            f"{corner}, {temperature:g} C",
            relu_reset=None if relu_reset is None else over_charge(load(relu_reset)),
            signed_reset=None if signed_reset is None else over_charge(load(signed_reset)),
        )

    def reset_beyond(self, kind: str, charges: Array, reset_time: float) -> Array:
        """What converters (``kind`` ``"relu"`` or ``"signed"``) of ``charges`` [C] draw
        beyond their cycle and static bias when held in reset for ``reset_time`` [s] instead of
        the characterization testbench's :data:`~gaincell.characterize.c2p.TESTBENCH_RESET_S`:
        (reset power - static bias) x the difference [J] (negative for a shorter reset)."""
        reset = self.relu_reset if kind == "relu" else self.signed_reset
        if reset is None:
            return np.zeros(np.shape(charges))
        static = self.relu_static if kind == "relu" else self.signed_static
        return (reset(charges) - static(charges)) * (reset_time - TESTBENCH_RESET_S)

    def on_time(self, step_time: float) -> float:
        """How long each converter is biased in a step of ``step_time`` [s]."""
        return step_time if self.converter_on_time is None else self.converter_on_time


ENERGY_SURROGATES = (
    "multiplier-pulse-energy",
    "relu-c2p-energy",
    "signed-c2p-energy",
    "relu-c2p-static",
    "signed-c2p-static",
    "write-energy",
    "relu-c2p-reset",
    "signed-c2p-reset",
)
"""The shipped energy surrogates :meth:`EnergyModels.from_surrogates` reads by default."""


def energy_shipped() -> bool:
    """Whether every default energy surrogate is shipped."""
    from gaincell.surrogate.store import shipped

    return set(ENERGY_SURROGATES) <= set(shipped())


@dataclass(frozen=True, eq=False)
class NodeTable:
    """A function linear between increasing ``nodes`` and flat beyond them (``np.interp``)."""

    nodes: Array
    """Where it is given, increasing."""
    values: Array
    """Its values there."""

    def __call__(self, points: ArrayLike) -> Array:
        x = np.asarray(points, dtype=np.float64)
        lookup = self._lookup if fused.ENABLED else None
        if lookup is None:
            return np.interp(x, self.nodes, self.values)
        flat = np.ascontiguousarray(x).reshape(-1)
        return fused.table_lookup(flat, *lookup).reshape(x.shape)

    @functools.cached_property
    def _lookup(self) -> tuple[Any, ...] | None:
        """What the compiled lookup (:func:`attention.fused.table_lookup`) takes: the nodes
        and values as contiguous floats, the slopes between nodes as ``np.interp`` works
        them out and the nodes' buckets (:func:`node_buckets`); None where np.interp must
        answer (nodes not strictly increasing, values not finite)."""
        nodes = np.ascontiguousarray(self.nodes, dtype=np.float64)
        values = np.ascontiguousarray(self.values, dtype=np.float64)
        if nodes.ndim != 1 or nodes.size < 2 or values.shape != nodes.shape:
            return None
        if not (np.all(np.diff(nodes) > 0) and np.all(np.isfinite(values))):
            return None
        with np.errstate(over="ignore"):  # nodes an ulp apart (a converter's flip)
            slopes = np.diff(values) / np.diff(nodes)
        return nodes, values, slopes, *node_buckets(nodes)


def _one_axis(sliced: Any, axis: str) -> Callable[[Array], Array]:
    """A surrogate sliced down to one ``axis``, clamped beyond its ends: for a linear grid,
    a :class:`NodeTable` of its node values (the same numbers, without the general lookup a
    step would pay on every call); otherwise the surrogate itself."""
    nodes = getattr(sliced, "nodes", {})
    if getattr(sliced, "method", None) == "linear" and list(nodes) == [axis]:
        x = np.asarray(nodes[axis], dtype=np.float64)
        return NodeTable(x, np.asarray(sliced(**{axis: x}), dtype=np.float64))

    def evaluate(points: Array) -> Array:
        return sliced(**{axis: np.asarray(points, dtype=np.float64)}, out_of_domain="clamp")

    return evaluate


def _cycle_length(model: Any) -> float:
    """The length of the converter testbench's transient a ``*-c2p-energy`` surrogate was
    characterized over (its ``e_total`` spans it) [s]."""
    try:
        return float(model.provenance["source_provenance"]["sweep_spec"]["settings"]["t_stop"])
    except (KeyError, TypeError) as error:
        raise InputError(f"{model.name}: no testbench length (t_stop) in its provenance") from error


def _pulse_affine(
    model: Any, corner: str, temperature: float, leak: Any
) -> tuple[Callable[[Array], Array], tuple[float, ...]]:
    """Stored voltage -> (a_0 .. a_J-1, b_0 .. b_J-1) of the pulse energy ``a + b w`` (w > 0)
    with the column at each of the surrogate's column voltages (returned too): least squares
    over the surrogate's width nodes from 1 ns (below them the surrogate itself continues its
    first cell the same way). The surrogate's input is the written bit-line value; ``leak``
    at t = 0 maps it to the stored voltage."""
    from gaincell.attention.head import CellTable, _written

    sliced = model.at(corner=corner, temperature=temperature)
    widths = sliced.nodes["width"]
    widths = widths[widths >= 1e-9 * (1 - 1e-9)]
    if widths.size < 2:
        raise InputError(f"{model.name}: needs width nodes from 1 ns on to fit a + b w")
    columns = np.asarray(sliced.nodes.get("v_col", [V_MID]), dtype=np.float64)
    bit_lines, w = np.meshgrid(PULSE_ENERGY_BIT_LINES, widths, indexing="ij")
    design = np.stack([np.ones_like(widths), widths], axis=1)
    fits = []  # (2, bit lines) per column voltage
    for v_col in columns:
        energies = sliced(
            v_store=bit_lines.ravel(), width=w.ravel(), v_col=v_col, out_of_domain="extrapolate"
        )
        coefficients, *_ = np.linalg.lstsq(design, energies.reshape(bit_lines.shape).T, rcond=None)
        fits.append(coefficients)
    table = np.concatenate([np.stack([f[0] for f in fits]), np.stack([f[1] for f in fits])])
    stored = _written(leak, PULSE_ENERGY_BIT_LINES, corner, temperature)
    order = np.argsort(stored)
    return CellTable(stored[order], np.ascontiguousarray(table.T[order])), tuple(
        map(float, columns)
    )


def node_interval(nodes: Array, x: ArrayLike) -> tuple[NDArray[np.intp], Array]:
    """For each ``x`` (...), the interval of increasing ``nodes`` (at least 2) it falls in and
    where in it (0..1), clamped to the ends: uniform nodes by arithmetic, others by search."""
    at = np.clip(np.asarray(x, dtype=np.float64), nodes[0], nodes[-1])
    step = uniform_step(nodes)
    if step is not None:
        position = (at - nodes[0]) / step
        low = np.minimum(position.astype(np.intp), nodes.size - 2)
        return low, position - low
    low = np.clip(np.searchsorted(nodes, at, side="right") - 1, 0, nodes.size - 2)
    return low, (at - nodes[low]) / np.diff(nodes)[low]


def hat_weights(nodes: Array, x: ArrayLike) -> Array:
    """(..., nodes) weights of ``x`` (...) on increasing ``nodes``: linear between the two
    around it, flat beyond the ends (as ``np.interp``)."""
    x = np.asarray(x, dtype=np.float64)
    if nodes.size == 1:
        return np.ones((*x.shape, 1))
    step = uniform_step(nodes)
    if step is not None:  # tents, no scatter
        position = np.clip((x - nodes[0]) / step, 0.0, nodes.size - 1.0)
        return np.clip(1.0 - np.abs(position[..., None] - np.arange(nodes.size)), 0.0, None)
    weights = np.zeros((*x.shape, nodes.size))
    low, fraction = node_interval(nodes, x)
    np.put_along_axis(weights, low[..., None], (1 - fraction)[..., None], axis=-1)
    np.put_along_axis(weights, low[..., None] + 1, fraction[..., None], axis=-1)
    return weights


def pulse_energy(
    entries: Array,
    widths: Array,
    columns: tuple[float, ...] = (V_MID,),
    end_volts: ArrayLike = V_MID,
    mean_volts: ArrayLike = V_MID,
) -> Array:
    """Energy of pulses [J]: per-cell ``entries`` (..., 2 J) from :attr:`EnergyModels.pulse`
    at the column voltages ``columns`` (:attr:`EnergyModels.pulse_columns`), ``widths`` [s]
    broadcasting against ``entries[..., 0]``; the edges' part at the column's voltage at the
    pulse's end ``end_volts``, the conducting part at its mean over the pulse ``mean_volts``
    [V] (mid-rail without a column model); nothing for width 0."""
    nodes = np.asarray(columns, dtype=np.float64)
    count = nodes.size
    a = between_nodes(entries, nodes, end_volts)
    b = between_nodes(entries, nodes, mean_volts, offset=count)
    return affine_pulse_energy(a, b, widths)


def affine_pulse_energy(edges: Array, conducting: Array, widths: ArrayLike) -> Array:
    """Energy of pulses [J] from their edges' part ``edges`` [J] and conducting part
    ``conducting`` [J / s] (the affine law of :attr:`EnergyModels.pulse`) and ``widths``
    [s]: nothing for width 0."""
    widths = np.asarray(widths, dtype=np.float64)
    return np.where(widths > 0, edges + conducting * widths, 0.0)


def table_pulse_energy(
    table: Array,
    index: tuple[NDArray[np.intp], ...],
    widths: Array,
    columns: tuple[float, ...],
    end_volts: Array,
    mean_volts: Array,
) -> Array:
    """:func:`pulse_energy` of cells whose entries are ``table[index]`` (a table of entries
    (..., 2 J) indexed by integer arrays broadcasting to the cells' shape), gathering only the
    two column nodes around each cell's voltages instead of every entry."""
    nodes = np.asarray(columns, dtype=np.float64)
    count = nodes.size
    if count == 1:
        return pulse_energy(table[index], widths, columns)
    shape = np.broadcast_shapes(*(np.shape(i) for i in index), np.shape(end_volts))
    # flat gathers: each cell's first entry, then the two nodes around its voltage
    flat = np.ascontiguousarray(table).reshape(-1)
    first = np.ravel_multi_index(np.broadcast_arrays(*index), table.shape[:-1]) * table.shape[-1]

    def part(offset: int, volts: Array) -> Array:
        low, fraction = node_interval(nodes, np.broadcast_to(volts, shape))
        at = first + (offset + low)
        below = np.take(flat, at)
        return below + fraction * (np.take(flat, at + 1) - below)

    return affine_pulse_energy(part(0, end_volts), part(count, mean_volts), widths)


def between_nodes(values: Array, nodes: Array, x: ArrayLike, offset: int = 0) -> Array:
    """``values[..., offset:offset + nodes.size]`` (the entries at ``nodes``) at ``x``
    (broadcasting against ``values[..., 0]``), linear between ``nodes``, flat beyond (as
    :func:`hat_weights`, by two gathers instead of a weight per node)."""
    if nodes.size == 1:
        return values[..., offset]
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), values.shape[:-1])
    low, fraction = node_interval(nodes, x)
    # flat gathers: np.take_along_axis builds an index array per axis
    flat = np.ascontiguousarray(values).reshape(-1)
    at = low.reshape(-1) + np.arange(offset, flat.size, values.shape[-1])
    below = np.take(flat, at).reshape(low.shape)
    above = np.take(flat, at + 1).reshape(low.shape)
    return below + fraction * (above - below)


def conversion_energy(
    cycle: Callable[[Array], Array],
    static: Callable[[Array], Array],
    charges: Array,
    on_time: float,
    axes: tuple[int, ...],
) -> tuple[Array, Array]:
    """Energy of converters [J] summed over ``axes`` of their ``charges`` [C]: each its cycle
    plus its static bias for ``on_time``; and of that, the static bias alone."""
    if (
        fused.ENABLED
        and isinstance(cycle, NodeTable)
        and isinstance(static, NodeTable)
        and axes == tuple(range(1, charges.ndim))
    ):  # compiled: both tables on one node set, one lookup per converter
        cycle_on, static_on = _shared_nodes(cycle, static)
        cycle_lookup, static_lookup = cycle_on._lookup, static_on._lookup
        if cycle_lookup is not None and static_lookup is not None:
            nodes, cycle_values, cycle_slopes, *buckets = cycle_lookup
            static_values, static_slopes = static_lookup[1:3]
            rows = np.ascontiguousarray(charges, dtype=np.float64).reshape(charges.shape[0], -1)
            return fused.table_pair_sums(
                rows,
                nodes,
                cycle_values,
                cycle_slopes,
                static_values,
                static_slopes,
                *buckets,
                on_time,
            )
    flat = charges.ravel()
    bias = (static(flat) * on_time).reshape(charges.shape)
    per = cycle(flat).reshape(charges.shape) + bias
    return per.sum(axis=axes), bias.sum(axis=axes)


@functools.lru_cache(maxsize=64)
def _shared_nodes(first: NodeTable, second: NodeTable) -> tuple[NodeTable, NodeTable]:
    """Two tables on the union of their nodes (the same functions: each is linear between
    its own nodes), so one lookup serves both."""
    nodes = np.union1d(first.nodes, second.nodes)
    return NodeTable(nodes, first(nodes)), NodeTable(nodes, second(nodes))


def node_buckets(nodes: Array, per_node: int = 8) -> tuple[float, float, NDArray[np.intp]]:
    """Equal buckets over increasing ``nodes``' span, ``per_node`` as many as nodes: the
    first bucket's start, buckets per unit, and each bucket's last node at or below its
    start (-1: none), so a lookup starts at most a node or two from its answer
    (:meth:`NodeTable._lookup`, for :func:`attention.fused.table_lookup` and
    :func:`attention.fused.table_pair_sums`)."""
    count = per_node * nodes.size
    span = float(nodes[-1] - nodes[0])
    scale = count / span if span > 0 else 0.0
    starts = nodes[0] + np.arange(count) / scale if span > 0 else nodes[:1]
    return float(nodes[0]), scale, np.searchsorted(nodes, starts, side="right") - 1


def step_energy(
    models: EnergyModels,
    step_time: float,
    k_array: Array,
    v_array: Array,
    column_charge: Array,
    tile_charge: Array,
    written: Array,
) -> dict[str, Array]:
    """One step's energy per module [J] (:data:`ENERGY_KEYS`), each shaped like the batch:
    the arrays' pulses (``k_array``, ``v_array``: already summed per batch element), the K
    columns' ReLU conversions (``column_charge`` (B, W): every converter, empty slots at 0 C), the V
    columns' signed conversions (``tile_charge`` (B, tiles, d)), the writes (``written`` (B,
    2 d) bit-line voltages) and the digital part."""
    on = models.on_time(step_time)
    relu, relu_static = conversion_energy(
        models.relu_cycle, models.relu_static, column_charge, on, (1,)
    )
    signed, signed_static = conversion_energy(
        models.signed_cycle, models.signed_static, tile_charge, on, (1, 2)
    )
    return {
        "k_array": k_array,
        "relu_conversion": relu,
        "v_array": v_array,
        "signed_conversion": signed,
        "write": models.write(written.ravel()).reshape(written.shape).sum(axis=1),
        "digital": np.full(k_array.shape, models.digital),
        "relu_static": relu_static,
        "signed_static": signed_static,
    }


def total(energy: dict[str, Array]) -> Array:
    """Sum over the modules of a step's (or a trace's) energy [J]."""
    return sum(energy[name] for name in MODULES)  # type: ignore[return-value]
