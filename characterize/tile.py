"""SPICE ground truth for whole attention tiles (the paper's Fig. 5a/b) on sky130 with ngspice.

One query step of the hardware is two tiles:

- **Phi(Q.K^T) tile** (kind ``"k"``): one column per token ``j``, one row per dimension ``d``.
  Column ``j`` stores ``k[j, d]``, row ``d`` gets the query's input pulse, and each column's
  charge goes into its own ReLU charge-to-pulse converter (``relu_c2p``), whose output pulse
  width is ``Phi_j * T_MAX``.
- **Phi(S).V tile** (kind ``"v"``): one column per dimension ``d``, one row per token ``j``.
  Column ``d`` stores ``v[j, d]``, row ``j`` gets the Phi pulse of token ``j`` (the widths
  measured in the K tile's run, re-applied as ideal pulses), and each column's charge goes into
  a signed charge-to-pulse converter (``signed_c2p``) giving an output width and a sign.

Mapping from the paper's model units to the circuit
    The model takes ``q`` in [0, 1] and ``k``, ``v`` in [0, 0.9] V with signed weight
    ``y = k - 0.45``. Our sky130 cell runs from 1.8 V with mid-rail 0.9 V, so a model value
    ``k`` is stored as ``V_store = k + 0.45`` V (signed weight ``V_store - 0.9`` V, range
    0.45 .. 1.35 V), and ``q`` becomes an input pulse of width ``q * T_MAX`` (``T_MAX`` = 15 ns)
    at the full 1.8 V amplitude, with the complementary enable from an ideal inverting source
    (as in ``netlists/mac_chain_tb.sp``). The outputs map back as ``phi = width / T_MAX``
    (the ReLU converter saturates near 1, i.e. at ``Q_sat = I_ramp * T_MAX``, about 1 pC at tt)
    and ``output = (1 - 2 * sign) * width / T_MAX`` in [-1, 1] for the V tile.

    The circuit's scales are not the model's: a cell gives about -5 .. +6 uA at full input (the
    paper's cell +-10 uA), the ReLU converter saturates at about 68 uA x T_MAX of summed cell
    current (the model's ``S_sat = 80``) and the signed converter at the same charge (the
    model's output scale 40). Comparisons with the behavioural model must fit or state them.

Phases of one run (the write protocol of ``leakage_tb`` / ``multiplier_pulse_tb``, whose
characterizations drive the array simulation; then the windows of the converter testbenches)
    ==============  =======================================================================
    0 .. 11 ns      cells start at mid-rail (the previous content); write word line rises
                    1 .. 1.5 ns to 3.3 V, every cell takes its value from its own write bit
                    line, the word line falls 10 .. 11 ns (the stored value includes the
                    real write feedthrough).
    12 .. 13 ns     the write bit lines return to mid-rail (as idle bit lines do).
    0 .. 14 ns      converter reset high: the column is held at mid-rail (0.9 V).
    15 .. 30 ns     MAC: row ``r`` gets a pulse of width ``widths[r]`` starting at 15 ns
                    (50 ps edges, width at the 50 % points); the cells integrate their signed
                    charge on the column (the converter's integration node).
    32 .. 47 ns     conversion window (``T_MAX`` long); the output pulse is measured from 32 ns
                    to the end of the transient (53 ns; the signed converter delays its
                    window by about 1.1 ns).
    ==============  =======================================================================

Running
    Production runs simulate one column per ngspice run, in parallel worker processes
    (:func:`run_columns`, :func:`run_tile_case`, :func:`run_tile_cases`); each worker holds one
    libngspice and keeps one template deck per tile shape loaded, setting each column's values
    with ``alter`` (loading the sky130 models costs about as much as a column's transient).
    :func:`run_tile` simulates a whole tile in one deck (every column with its own converter,
    rows shared); on 16-row tiles the two agree to 2 ps in width (``tests/test_spice_tile.py``).
    A column whose run fails is NaN, with ngspice's reason in
    :attr:`ColumnMeasurements.reasons`; the run goes on. Decks are loaded in ngspice's ``hs``
    mode (see :func:`_binned_models_once`): 5 .. 10x faster and leaner, identical results.

    Cost (tt, 27 C, 20 ps step, 2 shared cores): a 64-row K column 2.6 s and a V column 2.8 s
    once the template is loaded (+2 .. 3 s for the first column of each kind in a worker),
    peak 260 MB (K) and 390 MB (V) per worker. A 64 x 64 case (128 column runs) takes 3 min
    with ``jobs=2``. Whole tiles grow faster than linearly: 16 x 16 K in one deck 62 s and
    1.7 GB, 16 x 16 V 105 s and 3.7 GB; 64 x 64 in one deck is out of reach.

What a random 64 x 64 case shows (seed 2025, tt, 27 C)
    The columns are not at a virtual ground: with 64 rows the K columns end the MAC anywhere
    from 0.59 V to 1.34 V (-0.87 .. +0.62 pC). A cell's current depends on the column voltage
    (DC, full input, relative to 0.9 V): sinking cells give 0.95 at 0.6 V and 0.89 at 0.5 V,
    sourcing cells 0.94 at 1.2 V and 0.87 at 1.3 V, so large column charges are compressed
    (the negative K ones are cut by the ReLU anyway). The V columns stay within 0.80 .. 1.04 V
    (under 2 % effect). The converters add a constant delay: the
    smallest non-zero Phi was 0.045 (0.68 ns) and every V output was at least 0.91 ns wide
    (|output| >= 0.06), so a zero charge does not give a zero output. The write feedthrough
    lowers every stored value by 15 .. 20 mV (more for higher values).

Storage
    :func:`write_tile_results` writes cases, SPICE results and the caller's extra arrays (array
    simulation, behavioural model) to one HDF5 file, atomically and with the provenance of the
    characterization files; :func:`read_tile_results` reads it back.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.characterize.measure import (
    control_energy,
    drawn_power,
    energy,
    metered_charge,
    pulse_width,
)
from gaincell.characterize.parallel import run_parallel
from gaincell.circuits.design import (
    GEAR,
    KV_RANGE,
    LOGIC_THRESHOLD_V,
    Q_RANGE,
    STORE_OFFSET,
    STORE_RANGE,
    T_MAX,
    V_DD,
    V_MID,
    V_WRITE,
)
from gaincell.circuits.files import sha256_file, sha256_text, stamp
from gaincell.circuits.h5 import StoreError, atomic_h5, check_writable, open_h5
from gaincell.circuits.montecarlo import derived_seed, switch_lines, with_sample
from gaincell.circuits.netlist import Deck, Netlist, assemble_deck, load_netlist
from gaincell.circuits.pdk import PDK_NAME
from gaincell.circuits.runner import SpiceError, get_runner
from gaincell.errors import InputError

__all__ = [
    "KV_RANGE",
    "Q_RANGE",
    "STORE_OFFSET",
    "STORE_RANGE",
    "TIME_STEP",
    "T_MAX",
    "ColumnMeasurements",
    "TileCase",
    "TileResult",
    "TileResultsFile",
    "check_case",
    "column_deck",
    "draw_case",
    "k_tile_stored",
    "read_tile_results",
    "run_cases",
    "run_columns",
    "run_tile",
    "run_tile_case",
    "run_tile_cases",
    "tile_deck",
    "tile_provenance",
    "v_tile_stored",
    "write_tile_results",
]

Kind = Literal["k", "v"]
"""Tile kind: ``"k"`` = Phi(Q.K^T) tile (ReLU converters), ``"v"`` = Phi(S).V tile (signed)."""


WRITE_RISE = (1e-9, 1.5e-9)
"""Write word line rises between these times [s] (cells start at mid-rail, the previous
content). The write protocol is that of leakage_tb and multiplier_pulse_tb, whose
characterizations the array simulation uses: rise, write, fall, park the bit line, wait."""
WRITE_FALL = (10e-9, 11e-9)
"""Write word line falls between these times [s]."""
PARK = (12e-9, 13e-9)
"""The write bit lines return to mid-rail over this interval, after the word line is off [s]."""
RESET_END = 14e-9
"""Converter reset released [s]."""
MAC_START = 15e-9
"""Input pulses start [s]; they end by ``MAC_START + T_MAX``."""
CONV_START = 32e-9
"""Conversion window opens [s] (``T_MAX`` long)."""
T_STOP = 53e-9
"""End of the transient [s]; the output pulse is measured over ``CONV_START .. T_STOP``."""
EDGE = 50e-12
"""Rise and fall time of the ideal input pulses [s] (shorter for pulses under 100 ps)."""
MIN_WIDTH = 1e-12
"""Input widths below this are no pulse at all (the source stays at 0 V) [s]."""
TIME_STEP = 20e-12
"""Default transient step [s] (ngspice also uses it as the largest step), as mac_chain."""
I_BIAS = 10e-6
"""Reference current of each converter [A] (ideal source, as in the testbenches)."""
C_OUT = 0.2e-12
"""Load on each converter output [F]: the 64 enable gates of the next array."""
C_METER = 1e-12
"""Capacitor of each column's charge meter [F]: its voltage is the charge in units of 1 pC."""
C_SIGN = 10e-15
"""Load on each signed converter's sign output [F]."""

_TOLERANCE = 1e-9  # float slack on range checks, relative to the range
_CONVERTER = {"k": "relu_c2p", "v": "signed_c2p"}
_SUBCIRCUITS = ("gaincell_multiplier", "c2p_blocks")

FORMAT = "gaincell-tile-results"
"""Value of the root ``format`` attribute of a tile results file."""
FORMAT_VERSION = 1
"""Schema version of tile results files; readers reject newer files."""


# ---------------------------------------------------------------------------------------------
# Inputs and results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileCase:
    """One query step in model units: a query and the keys and values of the tile's tokens."""

    q: NDArray[np.float64]
    """Query, shape ``(dims,)``, in [0, 1] (input pulse width / T_MAX)."""
    k: NDArray[np.float64]
    """Keys [V], shape ``(tokens, dims)`` = [token j, dim d], in [0, 0.9]."""
    v: NDArray[np.float64]
    """Values [V], shape ``(tokens, dims)`` = [token j, dim d], in [0, 0.9]."""
    seed: int | None = None
    """Seed of the random draw (``None`` for a case given by hand)."""
    index: int | None = None
    """Index of the draw: case ``index`` of ``seed`` is ``rng([seed, index])``."""
    mismatch_seed: int | None = None
    """Monte Carlo mismatch: the base seed of this case's devices (every cell and converter its
    own draw; each column run's ngspice seed is :func:`column_seed` of it); None: nominal."""


@dataclass
class ColumnMeasurements:
    """What the SPICE runs measured on the columns of one tile (one entry per column)."""

    kind: Kind
    """``"k"`` (ReLU converters) or ``"v"`` (signed converters)."""
    width: NDArray[np.float64]
    """Converter output pulse width [s], shape ``(cols,)``; NaN where the run failed."""
    sign: NDArray[np.float64]
    """Latched sign, 1 = negative charge, shape ``(cols,)``; NaN for kind ``"k"``."""
    charge: NDArray[np.float64]
    """Charge the cells drew from the column from reset release to the conversion start [C]
    (positive discharges the column), shape ``(cols,)``: the cells' current through a 0 V
    sense source, integrated in the transient by a 1 pF meter (as accurate as the column's own
    charge; a trapezoid over the saved samples is off by up to 5 % at the pulse edges)."""
    v_col: NDArray[np.float64]
    """Column voltage when the conversion window opens [V], shape ``(cols,)``."""
    v_col_min: NDArray[np.float64]
    """Lowest column voltage between reset release and conversion start [V]."""
    v_col_max: NDArray[np.float64]
    """Highest column voltage between reset release and conversion start [V]."""
    stored: NDArray[np.float64]
    """Stored voltages at the start of the MAC [V] (after the write feedthrough),
    shape ``(rows, cols)``."""
    seconds: NDArray[np.float64]
    """Wall time of the ngspice run that simulated each column [s] (load + transient)."""
    peak_rss: NDArray[np.float64]
    """Peak resident memory of the process that ran each column, up to the end of its run [B]."""
    e_cells: NDArray[np.float64]
    """Energy the column's cells drew from their read supply, reset release to the end [J]
    (NaN in files written before energies were measured)."""
    e_rows: NDArray[np.float64]
    """Energy of the row drivers' pulses into the column's cells [J] (charge delivered x
    1.8 V)."""
    e_converter: NDArray[np.float64]
    """Energy of the column's converter over the whole transient [J]: supply, reference,
    output load, reset and window drivers."""
    reasons: list[str]
    """ngspice's reason per failed column, ``""`` where the column succeeded."""
    ngspice_version: str = ""
    """Version reported by the libngspice that ran the columns."""

    @property
    def failed(self) -> list[int]:
        """Indices of the columns whose run failed."""
        return [i for i, reason in enumerate(self.reasons) if reason]


@dataclass
class TileResult:
    """SPICE result of one query step: the K tile's Phi and the V tile's output."""

    phi: NDArray[np.float64]
    """Activation per token, ``k_width / T_MAX``, shape ``(tokens,)`` (not clipped)."""
    k_width: NDArray[np.float64]
    """Raw ReLU converter output widths of the K tile [s], shape ``(tokens,)``."""
    v_in_width: NDArray[np.float64]
    """Input widths applied to the V tile's rows [s]: ``k_width`` clipped to [0, T_MAX]."""
    out_width: NDArray[np.float64]
    """Raw signed converter output widths of the V tile [s], shape ``(dims,)``."""
    out_sign: NDArray[np.float64]
    """Signs of the V tile's outputs, 1 = negative, shape ``(dims,)``."""
    k: ColumnMeasurements
    """Everything measured on the K tile's columns."""
    v: ColumnMeasurements
    """Everything measured on the V tile's columns."""
    corner: str = "tt"
    """Process corner."""
    temperature: float = 27.0
    """Simulation temperature [degC]."""
    time_step: float = TIME_STEP
    """Transient step of the runs [s]."""

    @property
    def output(self) -> NDArray[np.float64]:
        """Signed output in model units, ``(1 - 2 * sign) * out_width / T_MAX``."""
        return (1.0 - 2.0 * self.out_sign) * self.out_width / T_MAX

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Failed columns: ``{kind, column, reason}``."""
        return [
            {"kind": m.kind, "column": i, "reason": m.reasons[i]}
            for m in (self.k, self.v)
            for i in m.failed
        ]


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------
def _check_kind(kind: str) -> Kind:
    if kind not in _CONVERTER:
        raise InputError(f"kind must be 'k' or 'v', got {kind!r}")
    return kind  # type: ignore[return-value]


def _as_array(name: str, values: ArrayLike, ndim: int) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers") from None
    if array.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if array.size == 0 or min(array.shape) < 1:
        raise InputError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} holds NaN or infinite values")
    return array


def _check_range(name: str, array: NDArray[np.float64], lo: float, hi: float, unit: str) -> None:
    slack = _TOLERANCE * (hi - lo)
    bad = (array < lo - slack) | (array > hi + slack)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} must lie in [{lo:g}, {hi:g}]{unit}; {np.count_nonzero(bad)} value(s) "
            f"outside, e.g. {name}[{', '.join(map(str, where))}] = {array[where]:.6g}"
        )


def _check_column_inputs(
    stored: ArrayLike, widths: ArrayLike, ndim: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    stored_v = _as_array("stored", stored, ndim)
    widths_s = _as_array("widths", widths, 1)
    if widths_s.shape[0] != stored_v.shape[0]:
        raise InputError(
            f"widths has {widths_s.shape[0]} entries but stored has {stored_v.shape[0]} rows"
        )
    _check_range("stored", stored_v, *STORE_RANGE, " V")
    _check_range("widths", widths_s, 0.0, T_MAX, " s")
    return np.clip(stored_v, *STORE_RANGE), np.clip(widths_s, 0.0, T_MAX)


def check_case(q: ArrayLike, k: ArrayLike, v: ArrayLike) -> TileCase:
    """Validate one case in model units (shapes ``q (dims,)``, ``k`` and ``v`` ``(tokens,
    dims)``; ranges [0, 1] and [0, 0.9]); raises ``ValueError`` naming the problem."""
    q_a, k_a, v_a = _as_array("q", q, 1), _as_array("k", k, 2), _as_array("v", v, 2)
    if k_a.shape[1] != q_a.shape[0]:
        raise InputError(f"k must be (tokens, {q_a.shape[0]}) to match q, got {k_a.shape}")
    if v_a.shape != k_a.shape:
        raise InputError(f"v must have the shape of k {k_a.shape}, got {v_a.shape}")
    _check_range("q", q_a, *Q_RANGE, "")
    _check_range("k", k_a, *KV_RANGE, " V")
    _check_range("v", v_a, *KV_RANGE, " V")
    return TileCase(np.clip(q_a, *Q_RANGE), np.clip(k_a, *KV_RANGE), np.clip(v_a, *KV_RANGE))


# ---------------------------------------------------------------------------------------------
# Netlist generation
# ---------------------------------------------------------------------------------------------
def _pulse_points(width: float) -> list[tuple[float, float]]:
    """PWL points of an ideal input pulse of ``width`` at the 50 % points, starting at
    MAC_START. Always five points (amplitude 0 for no pulse), so a loaded deck's sources can be
    altered to any width."""
    t0 = MAC_START
    if width < MIN_WIDTH:
        return [(0.0, 0.0)] + [(t0 + i * EDGE, 0.0) for i in range(4)]
    # Edges shrink for very short pulses so the 50 % width stays exact and points stay ordered.
    edge = min(EDGE, width / 2)
    return [(0.0, 0.0), (t0, 0.0), (t0 + edge, V_DD), (t0 + width, V_DD), (t0 + width + edge, 0)]


def _pwl(width: float) -> str:
    return " ".join(f"{t:.12g} {v:.6g}" for t, v in _pulse_points(width))


def _testbench(kind: Kind, stored: NDArray[np.float64], widths: NDArray[np.float64]) -> str:
    """The generated testbench text: ``stored`` is ``(rows, cols)`` volts, ``widths`` ``(rows,)``
    seconds; every column gets its own converter, rows (input drivers) are shared."""
    rows, cols = stored.shape
    lines = [
        f"* spice_tile {kind} tile: {rows} rows x {cols} columns, generated by "
        "gaincell.characterize.tile",
        "* Per column c: cells on line cells_c, a 0 V sense source vsense_c from the converter's",
        "* integration node col_c to the cells (i(vsense_c) = the cells' summed current),",
        f"* converter {_CONVERTER[kind]} with its own 10 uA reference and output load.",
        f"vdd vdd 0 {V_DD:g}",
        f"vdda vdda 0 {V_DD:g}",
        f"vdrv vdrv 0 {V_DD:g}",
        "* energy meters (1 pF: 1 V = 1 pC, the simulator's own integration): v(qcells) the charge",
        "* the cells' read supply vdda delivered, v(dinr) / v(dinbr) what row r's enable drivers",
        "* delivered into their lines (einbr through vinbr); the converters' vdd and vmid, and the",
        "* control sources, are integrated from their currents (as in the converter testbenches)",
        "fqcells 0 qcells vdda -1",
        f"cqcells qcells 0 {C_METER:g}",
        "rqcells qcells 0 1e15",
        f"vmid vmid 0 {V_MID:g}",
        f"vwwl wwl 0 pwl(0 0 {WRITE_RISE[0]:.6g} 0 {WRITE_RISE[1]:.6g} {V_WRITE:g} "
        f"{WRITE_FALL[0]:.6g} {V_WRITE:g} {WRITE_FALL[1]:.6g} 0)",
        f"vrst rst 0 pulse({V_DD:g} 0 {RESET_END:.6g} 50p 50p 200n 400n)",
        f"vpark park 0 pwl(0 0 {PARK[0]:.6g} 0 {PARK[1]:.6g} 1)",
        f"vconv conv 0 pulse(0 {V_DD:g} {CONV_START:.6g} 50p 50p {T_MAX - 50e-12:.6g} 400n)",
        "* rows: input pulses and ideal inverting drivers for the complementary enables",
    ]
    lines.append(".model spice_tile_meter_reset sw vt=0.9 vh=0 ron=1 roff=1e15")
    for r in range(rows):
        lines.append(f"vin{r} in{r} 0 pwl({_pwl(float(widths[r]))})")
        lines.append(f"einb{r} inbd{r} vdrv in{r} 0 -1")
        lines.append(f"vinb{r} inb{r} inbd{r} 0")
        for meter, source in ((f"din{r}", f"vin{r}"), (f"dinb{r}", f"vinb{r}")):
            lines.append(f"f{meter} 0 {meter} {source} -1")
            lines.append(f"c{meter} {meter} 0 {C_METER:g}")
            lines.append(f"r{meter} {meter} 0 1e15")
    for c in range(cols):
        lines.append(f"* column {c}")
        for r in range(rows):
            # The bit line holds the value through the write, then parks at mid-rail like
            # every idle bit line (as in leakage_tb and multiplier_pulse_tb): its step couples
            # through the off write transistor into the storage node (about 15 mV).
            lines.append(f"vw_{r}_{c} wv_{r}_{c} 0 {stored[r, c]:.9g}")
            lines.append(
                f"bw_{r}_{c} w_{r}_{c} 0 v = v(wv_{r}_{c}) * (1 - v(park)) + {V_MID:g} * v(park)"
            )
            lines.append(
                f"xr{r}c{c} w_{r}_{c} wwl in{r} inb{r} cells_{c} vdda 0 gaincell_multiplier"
            )
        lines.append(f"vsense_{c} col_{c} cells_{c} 0")
        # Charge meter: the sense current integrated on 1 pF (1 V = 1 pC) by the simulator's
        # own integration, shorted while the converter is in reset.
        lines.append(f"fq_{c} 0 q_{c} vsense_{c} 1")
        lines.append(f"cq_{c} q_{c} 0 {C_METER:g}")
        lines.append(f"sq_{c} q_{c} 0 rst 0 spice_tile_meter_reset")
        lines.append(f"ib_{c} vdd ib_{c} {I_BIAS:g}")
        if kind == "k":
            lines.append(f"xc2p_{c} col_{c} rst conv out_{c} vmid ib_{c} vdd 0 relu_c2p")
        else:
            lines.append(f"xc2p_{c} col_{c} rst conv out_{c} sign_{c} vmid ib_{c} vdd 0 signed_c2p")
            lines.append(f"csign_{c} sign_{c} 0 {C_SIGN:g}")
        lines.append(f"cout_{c} out_{c} 0 {C_OUT:g}")
    # The cells held mid-rail before this write (as in leakage_tb / multiplier_pulse_tb).
    lines += [f".ic v(xr{r}c{c}.store)={V_MID:g}" for c in range(cols) for r in range(rows)]
    meters = ["qcells", *(f"{m}{r}" for r in range(rows) for m in ("din", "dinb"))]
    lines += [f".ic v({m})=0" for m in meters]
    return "\n".join(lines) + "\n"


def _deck(
    kind: Kind,
    stored: NDArray[np.float64],
    widths: NDArray[np.float64],
    corner: str,
    temperature: float,
) -> Deck:
    rows, cols = stored.shape
    generated = Netlist(
        name=f"spice_tile_{kind}_{rows}x{cols}",
        path=Path(__file__),
        text=_testbench(kind, stored, widths),
    )
    netlists = [load_netlist(n) for n in (*_SUBCIRCUITS, _CONVERTER[kind])] + [generated]
    return assemble_deck(
        netlists,
        corner,
        temperature=temperature,
        title=f"gaincell spice_tile {kind} tile {rows}x{cols}, corner {corner}, {temperature:g} C",
    )


def tile_deck(
    kind: Kind,
    stored: ArrayLike,
    widths: ArrayLike,
    *,
    corner: str = "tt",
    temperature: float = 27.0,
) -> Deck:
    """Deck of a whole tile in one circuit.

    ``stored``: ``(rows, cols)`` stored voltages [V] in 0.45 .. 1.35 (column ``c`` holds
    ``stored[:, c]``); ``widths``: ``(rows,)`` input pulse widths [s] in 0 .. T_MAX, shared by
    all columns. Every column has its own converter (``relu_c2p`` for ``"k"``,
    ``signed_c2p`` for ``"v"``). Node names: ``col_<c>``, ``out_<c>``, ``sign_<c>``; cell
    ``xr<r>c<c>``. The deck has no analysis; :func:`run_tile` sends it. Raises ``ValueError``
    for a bad kind, shape or value.
    """
    kind = _check_kind(kind)
    stored_v, widths_s = _check_column_inputs(stored, widths, 2)
    return _deck(kind, stored_v, widths_s, corner, float(temperature))


def column_deck(
    kind: Kind,
    stored: ArrayLike,
    widths: ArrayLike,
    *,
    corner: str = "tt",
    temperature: float = 27.0,
) -> Deck:
    """Deck of one column: ``stored`` ``(rows,)`` [V], ``widths`` ``(rows,)`` [s], ideal input
    drivers. The same circuit as a one-column :func:`tile_deck` (nodes ``col_0``, ``out_0``)."""
    kind = _check_kind(kind)
    stored_v, widths_s = _check_column_inputs(stored, widths, 1)
    return _deck(kind, stored_v[:, None], widths_s, corner, float(temperature))


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def _empty(kind: Kind, rows: int, cols: int) -> ColumnMeasurements:
    arrays = {
        name: np.full((rows, cols) if name == "stored" else (cols,), np.nan)
        for name in _COLUMN_FIELDS
    }
    return ColumnMeasurements(kind=kind, reasons=[""] * cols, **arrays)


@lru_cache(maxsize=4)
def _template(kind: Kind, rows: int, cols: int, corner: str, temperature: float) -> Deck:
    """The deck a worker keeps loaded for every tile of this shape: mid-rail values, no pulses;
    :func:`_alter_commands` sets a column's values without parsing the models again."""
    return _deck(kind, np.full((rows, cols), V_MID), np.zeros(rows), corner, temperature)


def _alter_commands(stored: NDArray[np.float64], widths: NDArray[np.float64]) -> list[str]:
    """ngspice commands turning :func:`_template` into the deck of ``stored`` and ``widths``."""
    rows, cols = stored.shape
    commands = [f"alter vw_{r}_{c} dc={stored[r, c]:.9g}" for c in range(cols) for r in range(rows)]
    commands += [f"alter @vin{r}[pwl] = [ {_pwl(float(widths[r]))} ]" for r in range(rows)]
    return commands


def _chunked(command: str, words: Sequence[str], limit: int = 400) -> list[str]:
    """``command word word ...`` lines of at most ``limit`` characters (ngspice rejects long
    command lines)."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(f"{command} {word}")
    return lines


def _simulate(
    kind: Kind,
    stored: NDArray[np.float64],
    widths: NDArray[np.float64],
    corner: str,
    temperature: float,
    time_step: float,
    keep_run_dir: bool,
    reuse: bool,
    seed: int | None = None,
) -> ColumnMeasurements:
    """One ngspice run of a ``(rows, cols)`` tile (inputs already checked); a failure gives
    NaN columns with the reason. With ``seed`` every device is drawn with sky130's mismatch
    (:func:`gaincell.circuits.montecarlo.switch_lines`).

    With ``reuse`` the process keeps a template deck loaded and alters its sources (loading a
    64-row column takes 2 .. 3 s, its transient about as long); otherwise the deck with the
    values written in is loaded and removed afterwards.
    """
    rows, cols = stored.shape
    out = _empty(kind, rows, cols)
    started = time.perf_counter()
    if reuse:
        deck = _template(kind, rows, cols, corner, temperature)
        setup = _alter_commands(stored, widths)
    else:
        deck = _deck(kind, stored, widths, corner, temperature)
        setup = []
    text = deck.text
    if seed is not None:
        text = with_sample(text, switch_lines(seed, note=f"{kind} column, seed {seed}"))
    runner = get_runner()
    out.ngspice_version = runner.version
    col_names = [f"v(col_{c})" for c in range(cols)]
    names = ["time", *col_names]
    names += [f"v(q_{c})" for c in range(cols)] + [f"v(out_{c})" for c in range(cols)]
    if kind == "v":
        names += [f"v(sign_{c})" for c in range(cols)]
    names += ENERGY_VECTORS + [f"v({m}{r})" for r in range(rows) for m in ("din", "dinb")]
    store_names = [f"v(xr{r}c{c}.store)" for c in range(cols) for r in range(rows)]
    # Only the vectors measured below: a 64x64 tile has ~30 000 nodes otherwise.
    wanted = names[1:] + store_names
    setup += ["delete all", *_chunked("save", wanted)]
    vec: dict[str, NDArray[np.float64]] = {}
    try:
        with runner.loaded(text, keep_run_dir=keep_run_dir, reuse=reuse) as circuit:
            for command in setup:
                circuit.command(command)
            circuit.command(f"option temp={temperature:.12g}")
            circuit.command(GEAR)
            circuit.command(f"tran {time_step:.6g} {T_STOP:.6g}")
            vec = circuit.vectors(names + store_names)
    except SpiceError as error:
        out.reasons = [error.reason] * cols
    out.seconds[:] = time.perf_counter() - started
    out.peak_rss[:] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
    if not vec:
        return out
    t = vec["time"]
    mac = (t >= RESET_END) & (t <= CONV_START)
    for c in range(cols):
        col = vec[f"v(col_{c})"]
        out.width[c] = pulse_width(t, vec[f"v(out_{c})"], LOGIC_THRESHOLD_V, CONV_START, T_STOP)
        if kind == "v":
            out.sign[c] = float(vec[f"v(sign_{c})"][-1] > LOGIC_THRESHOLD_V)
        meter = np.interp([RESET_END, CONV_START], t, vec[f"v(q_{c})"]) * C_METER
        out.charge[c] = meter[1] - meter[0]
        out.v_col[c] = float(np.interp(CONV_START, t, col))
        out.v_col_min[c] = float(col[mac].min())
        out.v_col_max[c] = float(col[mac].max())
        for r in range(rows):
            out.stored[r, c] = float(np.interp(MAC_START, t, vec[f"v(xr{r}c{c}.store)"]))
    # One run's energy; a run of several columns shares its rows and supplies: split evenly.
    for name, value in _run_energy(t, vec, widths).items():
        getattr(out, name)[:] = value / cols
    return out


ENERGY_VECTORS = ["v(qcells)", "i(vdd)", "i(vmid)", "i(vrst)", "i(vconv)"]
"""What a tile run saves for its energy, besides the row drivers' meters."""


def _run_energy(
    t: NDArray[np.float64], vec: dict[str, NDArray[np.float64]], widths: NDArray[np.float64]
) -> dict[str, float]:
    """Energy one tile run drew [J]: the cells' read supply over the MAC and the conversion
    (its metered charge x 1.8 V), the row drivers (the charge each delivered into its line,
    the enable on the pulse's rise, its complement on the pulse's end, x 1.8 V: CMOS drivers),
    and the converters (supply and reference as drawn power over the whole transient, as in
    the converter testbenches, plus their reset and window drivers)."""
    cells = metered_charge(t, vec["v(qcells)"], RESET_END, T_STOP)
    rows = 0.0
    for r, width in enumerate(widths):
        middle = MAC_START + 0.5 * float(width)
        rows += metered_charge(t, vec[f"v(din{r})"], RESET_END, middle)
        rows += metered_charge(t, vec[f"v(dinb{r})"], middle, T_STOP)
    supply = drawn_power(np.full_like(t, V_DD), vec["i(vdd)"]) + drawn_power(
        np.full_like(t, V_MID), vec["i(vmid)"]
    )
    control = control_energy(
        t,
        vec["i(vrst)"],
        vec["i(vconv)"],
        (0.0, MAC_START),
        (CONV_START - 1e-9, CONV_START + 0.5 * T_MAX),
    )
    return {
        "e_cells": V_DD * cells,
        "e_rows": V_DD * rows,
        "e_converter": energy(t, supply, 0.0, T_STOP) + control,
    }


def column_seed(mismatch_seed: int, kind: Kind, column: int) -> int:
    """ngspice seed of one column run of a Monte Carlo case: its cells and converter are drawn
    with it (so no two columns, and not the K and V tiles, share devices)."""
    return derived_seed(mismatch_seed, ("k", "v").index(kind), column)


def _run_one(
    kind: Kind,
    stored: NDArray[np.float64],
    widths: NDArray[np.float64],
    corner: str,
    temperature: float,
    time_step: float,
    keep_run_dir: bool,
    seed: int | None = None,
) -> ColumnMeasurements:
    """Worker entry point: one column, on the worker's reused template deck (with ``seed``,
    the template drawn with that ngspice seed: mismatched devices, loaded per column)."""
    return _simulate(kind, stored, widths, corner, temperature, time_step, keep_run_dir, True, seed)


def _merge(kind: Kind, parts: Sequence[ColumnMeasurements]) -> ColumnMeasurements:
    """Concatenate per-run measurements along the columns."""
    arrays = {
        name: np.concatenate([getattr(p, name) for p in parts], axis=1 if name == "stored" else 0)
        for name in _COLUMN_FIELDS
    }
    return ColumnMeasurements(
        kind=kind,
        reasons=[r for p in parts for r in p.reasons],
        ngspice_version=next((p.ngspice_version for p in parts if p.ngspice_version), ""),
        **arrays,
    )


def _check_run_settings(corner: str, temperature: float, time_step: float) -> None:
    from gaincell.circuits.pdk import CORNERS

    if corner not in CORNERS:
        raise InputError(f"unknown corner {corner!r}; choose one of {', '.join(CORNERS)}")
    if not np.isfinite(temperature) or not -55.0 <= temperature <= 150.0:
        raise InputError(f"temperature must lie in [-55, 150] degC, got {temperature!r}")
    if not np.isfinite(time_step) or not 1e-13 <= time_step <= 1e-9:
        raise InputError(f"time_step must lie in [0.1 ps, 1 ns], got {time_step!r}")


def _run_batches(
    batches: Sequence[tuple[Kind, NDArray[np.float64], NDArray[np.float64], int | None]],
    *,
    corner: str,
    temperature: float,
    jobs: int,
    time_step: float,
    progress: bool,
    keep_run_dirs: bool,
    description: str,
) -> list[ColumnMeasurements]:
    """Run every column of every ``(kind, stored (rows, cols), widths, mismatch seed or
    None)`` batch in one parallel map (so both workers stay busy across tiles) and regroup the
    columns per batch."""
    arguments = [
        (
            kind,
            stored[:, c : c + 1],
            widths,
            corner,
            temperature,
            time_step,
            keep_run_dirs,
            None if mismatch is None else column_seed(mismatch, kind, c),
        )
        for kind, stored, widths, mismatch in batches
        for c in range(stored.shape[1])
    ]
    columns = run_parallel(
        _run_one, arguments, jobs=jobs, progress=progress, description=description
    )
    out, position = [], 0
    for kind, stored, _, _ in batches:
        cols = stored.shape[1]
        out.append(_merge(kind, columns[position : position + cols]))
        position += cols
    return out


def run_columns(
    kind: Kind,
    stored: ArrayLike,
    widths: ArrayLike,
    *,
    corner: str = "tt",
    temperature: float = 27.0,
    jobs: int = 2,
    time_step: float = TIME_STEP,
    progress: bool = False,
    keep_run_dirs: bool = False,
) -> ColumnMeasurements:
    """Simulate a tile one column per ngspice run, over ``jobs`` worker processes.

    ``stored`` ``(rows, cols)`` [V], ``widths`` ``(rows,)`` [s] as in :func:`tile_deck`.
    Results come in column order; a failed column is NaN with its reason. ``keep_run_dirs``
    keeps each run's folder (the template deck; the ``alter`` commands are in its log).
    """
    kind = _check_kind(kind)
    stored_v, widths_s = _check_column_inputs(stored, widths, 2)
    _check_run_settings(corner, temperature, time_step)
    return _run_batches(
        [(kind, stored_v, widths_s, None)],
        corner=corner,
        temperature=float(temperature),
        jobs=jobs,
        time_step=time_step,
        progress=progress,
        keep_run_dirs=keep_run_dirs,
        description=f"{kind} columns",
    )[0]


def run_tile(
    kind: Kind,
    stored: ArrayLike,
    widths: ArrayLike,
    *,
    corner: str = "tt",
    temperature: float = 27.0,
    time_step: float = TIME_STEP,
    keep_run_dir: bool = False,
) -> ColumnMeasurements:
    """Simulate a whole tile in one ngspice run in this process (:func:`tile_deck`); for
    checking the column runs. A 64x64 tile is a large circuit: prefer :func:`run_columns`."""
    kind = _check_kind(kind)
    stored_v, widths_s = _check_column_inputs(stored, widths, 2)
    _check_run_settings(corner, temperature, time_step)
    return _simulate(
        kind, stored_v, widths_s, corner, float(temperature), time_step, keep_run_dir, False
    )


# ---------------------------------------------------------------------------------------------
# Cases in model units
# ---------------------------------------------------------------------------------------------
def k_tile_stored(case: TileCase) -> NDArray[np.float64]:
    """Stored voltages of the K tile, ``(dims, tokens)``: column ``j`` holds ``k[j, :] + 0.45``."""
    return case.k.T + STORE_OFFSET


def v_tile_stored(case: TileCase) -> NDArray[np.float64]:
    """Stored voltages of the V tile, ``(tokens, dims)``: column ``d`` holds ``v[:, d] + 0.45``."""
    return case.v + STORE_OFFSET


def draw_case(size: int = 64, seed: int = 0, index: int = 0) -> TileCase:
    """A random case: ``q`` uniform in [0, 1], ``k``, ``v`` uniform in [0, 0.9], ``size`` tokens
    and dimensions. Case ``index`` of ``seed`` does not depend on how many are drawn."""
    if int(size) != size or size < 1:
        raise InputError(f"size must be a positive whole number, got {size!r}")
    rng = np.random.default_rng([int(seed), int(index)])
    size = int(size)
    return TileCase(
        q=rng.uniform(*Q_RANGE, size),
        k=rng.uniform(*KV_RANGE, (size, size)),
        v=rng.uniform(*KV_RANGE, (size, size)),
        seed=int(seed),
        index=int(index),
    )


def _v_inputs(k_runs: ColumnMeasurements) -> tuple[NDArray[np.float64], str]:
    """Row widths of the V tile from the K tile's widths, and why the V tile cannot run."""
    if k_runs.failed:
        return np.zeros_like(k_runs.width), (
            f"not run: K tile columns {k_runs.failed} failed, so the Phi pulses are unknown"
        )
    return np.clip(k_runs.width, 0.0, T_MAX), ""


def _result(
    k_runs: ColumnMeasurements,
    v_runs: ColumnMeasurements,
    v_in: NDArray[np.float64],
    corner: str,
    temperature: float,
    time_step: float,
) -> TileResult:
    return TileResult(
        phi=k_runs.width / T_MAX,
        k_width=k_runs.width.copy(),
        v_in_width=v_in,
        out_width=v_runs.width.copy(),
        out_sign=v_runs.sign.copy(),
        k=k_runs,
        v=v_runs,
        corner=corner,
        temperature=temperature,
        time_step=time_step,
    )


def run_cases(
    cases: Sequence[TileCase],
    *,
    corner: str = "tt",
    temperature: float = 27.0,
    jobs: int = 2,
    time_step: float = TIME_STEP,
    progress: bool = False,
) -> list[TileResult]:
    """Run the K tiles of all ``cases`` (one parallel map over every column, so the workers stay
    busy across cases), then their V tiles with the measured Phi widths as the rows' pulses.
    Results in the order of ``cases``. A case whose K tile has a failed column gets no V run
    (NaN outputs, the reason in ``result.v.reasons``)."""
    checked = [check_case(c.q, c.k, c.v) for c in cases]
    checked = [
        TileCase(c.q, c.k, c.v, given.seed, given.index, given.mismatch_seed)
        for c, given in zip(checked, cases, strict=True)
    ]
    _check_run_settings(corner, temperature, time_step)
    settings: dict[str, Any] = {
        "corner": corner,
        "temperature": float(temperature),
        "jobs": jobs,
        "time_step": time_step,
        "progress": progress,
        "keep_run_dirs": False,
    }
    k_runs = _run_batches(
        [("k", k_tile_stored(c), c.q * T_MAX, c.mismatch_seed) for c in checked],
        description=f"K tiles ({len(checked)} cases)",
        **settings,
    )
    v_inputs = [_v_inputs(runs) for runs in k_runs]
    runnable = [i for i, (_, why) in enumerate(v_inputs) if not why]
    v_done = _run_batches(
        [
            ("v", v_tile_stored(checked[i]), v_inputs[i][0], checked[i].mismatch_seed)
            for i in runnable
        ],
        description=f"V tiles ({len(runnable)} cases)",
        **settings,
    )
    done = dict(zip(runnable, v_done, strict=True))
    results = []
    for i, case in enumerate(checked):
        v_runs = done.get(i)
        if v_runs is None:
            v_runs = _empty("v", *case.v.shape)
            v_runs.reasons = [v_inputs[i][1]] * case.v.shape[1]
        results.append(
            _result(k_runs[i], v_runs, v_inputs[i][0], corner, float(temperature), time_step)
        )
    return results


def run_tile_case(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    *,
    corner: str = "tt",
    temperature: float = 27.0,
    jobs: int = 2,
    time_step: float = TIME_STEP,
    progress: bool = False,
) -> TileResult:
    """SPICE result of one query step in model units.

    ``q`` ``(dims,)`` in [0, 1]; ``k``, ``v`` ``(tokens, dims)`` = [token j, dim d] in
    [0, 0.9] V (64 x 64 for the paper's tile). Runs the K tile column by column, then the V
    tile with the measured Phi widths (clipped to [0, T_MAX]) as its rows' pulses.
    Raises ``ValueError`` for a bad shape or value.
    """
    return run_cases(
        [check_case(q, k, v)],
        corner=corner,
        temperature=temperature,
        jobs=jobs,
        time_step=time_step,
        progress=progress,
    )[0]


def run_tile_cases(
    n_cases: int,
    size: int = 64,
    seed: int = 0,
    *,
    jobs: int = 2,
    corner: str = "tt",
    temperature: float = 27.0,
    time_step: float = TIME_STEP,
    progress: bool = False,
    mismatch_seed: int | None = None,
) -> tuple[list[TileCase], list[TileResult]]:
    """Draw ``n_cases`` random cases (:func:`draw_case`, indices 0 .. n_cases - 1 of ``seed``)
    and run them (:func:`run_cases`); returns the cases and their results, in the same order.
    With ``mismatch_seed`` each case is its own Monte Carlo array: case ``i``'s devices are
    drawn from ``derived_seed(mismatch_seed, i)``."""
    if isinstance(n_cases, bool) or int(n_cases) != n_cases or n_cases < 1:
        raise InputError(f"n_cases must be a positive whole number, got {n_cases!r}")
    cases = [draw_case(size, seed, i) for i in range(int(n_cases))]
    if mismatch_seed is not None:
        cases = [
            replace(c, mismatch_seed=derived_seed(mismatch_seed, i)) for i, c in enumerate(cases)
        ]
    results = run_cases(
        cases,
        corner=corner,
        temperature=temperature,
        jobs=jobs,
        time_step=time_step,
        progress=progress,
    )
    return cases, results


# ---------------------------------------------------------------------------------------------
# HDF5 storage
# ---------------------------------------------------------------------------------------------
@dataclass
class TileResultsFile:
    """A tile results file in memory."""

    cases: list[TileCase]
    """The cases, in file order."""
    results: list[TileResult]
    """Their SPICE results."""
    extra: dict[str, NDArray[Any]]
    """The caller's extra arrays (``extra/<name>``), by name."""
    provenance: dict[str, Any]
    """Root attributes (JSON ones decoded): provenance, seed, size, failures, ..."""


_COLUMN_FIELDS = {
    # name: (units, description; {cols} and {rows} name the axes)
    "width": ("s", "converter output pulse width, measured from the conversion start"),
    "sign": ("", "signed converter's latched sign, 1 = negative charge (NaN for the K tile)"),
    "charge": ("C", "charge the cells drew from the column, reset release to conversion start"),
    "v_col": ("V", "column voltage when the conversion window opens"),
    "v_col_min": ("V", "lowest column voltage between reset release and conversion start"),
    "v_col_max": ("V", "highest column voltage between reset release and conversion start"),
    "stored": ("V", "stored voltage of each cell at the MAC start, after the write feedthrough"),
    "seconds": ("s", "wall time of the ngspice run that simulated the column"),
    "peak_rss": ("B", "peak resident memory of the worker process up to the end of that run"),
    "e_cells": ("J", "energy the column's cells drew from their read supply (NaN: not measured)"),
    "e_rows": ("J", "energy of the row drivers' pulses into the column's cells (charge x 1.8 V)"),
    "e_converter": ("J", "energy of the column's converter over the transient, drivers included"),
}
_TILE_AXES = {"k": ("dim", "token"), "v": ("token", "dim")}  # (rows, cols) of each tile
_KV_TEXT = "{0} in model units [token j, dim d]; stored as {0} + 0.45 V"
_KV_AXES = ("case", "token", "dim")


def _generator_sha256() -> str:
    return sha256_file(__file__)


def tile_provenance(cases: Sequence[TileCase], results: Sequence[TileResult]) -> dict[str, Any]:
    """Provenance attributes for tile results, like the characterization files'.

    ``netlist`` holds the subcircuits and the generated column testbenches of the first case's
    first K and V columns (the other columns differ only in the values, stored in the file);
    ``generator_sha256`` is the hash of this module, which generates every deck.
    """
    case, result = cases[0], results[0]
    k_deck = column_deck("k", k_tile_stored(case)[:, 0], case.q * T_MAX, corner=result.corner)
    v_deck = column_deck("v", v_tile_stored(case)[:, 0], result.v_in_width, corner=result.corner)
    netlists = {n.name: n.text.rstrip() for deck in (k_deck, v_deck) for n in deck.netlists}
    netlist = "\n".join(netlists.values()) + "\n"
    hashes: dict[str, str] = {}
    for corner in dict.fromkeys(r.corner for r in results):
        deck = column_deck("k", [V_MID], [0.0], corner=corner)
        hashes |= deck.models.file_hashes()
        v_corner = column_deck("v", [V_MID], [0.0], corner=corner)
        hashes |= v_corner.models.file_hashes()
    version = next(
        (m.ngspice_version for r in results for m in (r.k, r.v) if m.ngspice_version), ""
    )
    return {
        "ngspice_version": version or "unknown",
        "pdk_name": PDK_NAME,
        "pdk_version": k_deck.models.location.version,
        "model_files_sha256": hashes,
        "netlist": netlist,
        "netlist_sha256": sha256_text(netlist),
        "netlist_files": list(netlists),
        "generator": __name__,
        "generator_sha256": _generator_sha256(),
        **stamp(),
    }


def _check_results(cases: Sequence[TileCase], results: Sequence[TileResult]) -> tuple[int, int]:
    if len(cases) == 0 or len(cases) != len(results):
        raise StoreError(
            f"need one result per case and at least one case, got {len(cases)} cases and "
            f"{len(results)} results"
        )
    tokens, dims = cases[0].k.shape
    for i, (case, result) in enumerate(zip(cases, results, strict=True)):
        if case.k.shape != (tokens, dims) or case.q.shape != (dims,):
            raise StoreError(f"case {i} has shape {case.k.shape}, case 0 {(tokens, dims)}")
        if result.phi.shape != (tokens,) or result.out_width.shape != (dims,):
            raise StoreError(f"result {i} does not match its case's shape {(tokens, dims)}")
    return tokens, dims


def write_tile_results(
    path: str | Path,
    cases: Sequence[TileCase],
    results: Sequence[TileResult],
    extra: Mapping[str, ArrayLike] | None = None,
    extra_attrs: Mapping[str, Mapping[str, str]] | None = None,
    root_attrs: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write cases, their SPICE results and ``extra`` arrays to HDF5, atomically (an existing
    file is replaced only with ``overwrite``).

    Layout: ``inputs/{q,k,v,seed,index}``, ``spice/{phi,output,v_in_width,corner,
    temperature,time_step}``, ``spice/k/*`` and ``spice/v/*`` (every
    :class:`ColumnMeasurements` field per case), ``extra/<name>``; every dataset has
    ``units``, ``description`` and ``axes`` attributes. ``extra`` arrays (e.g. the array
    simulation's and the behavioural model's outputs for the same cases; names may contain
    ``/`` for groups) must have one entry per case along their first axis; ``extra_attrs``
    may give their ``units`` and ``description``. Root attributes: the provenance of
    :func:`tile_provenance`, ``seed`` (-1 if the cases have different or no seeds),
    ``size``, ``tokens``, ``dims``, ``t_max``, ``mapping`` and ``failures`` (JSON list of
    ``{case, kind, column, reason}``). Raises ``StoreError`` before writing anything if
    the path or the data is unusable.
    """
    path = check_writable(path, overwrite=overwrite)
    tokens, dims = _check_results(cases, results)
    n = len(cases)
    extra_arrays = {}
    for name, values in (extra or {}).items():
        array = np.asarray(values)
        clean = name.strip("/")
        if not clean or array.ndim == 0 or array.shape[0] != n:
            raise StoreError(
                f"extra {name!r} must be a named array with one entry per case ({n}) along "
                f"its first axis, got shape {array.shape}"
            )
        if array.dtype.kind not in "biuf":
            raise StoreError(f"extra {name!r} must hold numbers, got dtype {array.dtype}")
        extra_arrays[clean] = array
    seeds = {c.seed for c in cases}
    seed = seeds.pop() if len(seeds) == 1 and None not in seeds else -1
    failures = [
        {"case": i} | failure for i, result in enumerate(results) for failure in result.failures
    ]
    attrs = (
        tile_provenance(cases, results)
        | {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "seed": int(seed),  # type: ignore[arg-type]
            "size": int(dims) if tokens == dims else -1,
            "tokens": int(tokens),
            "dims": int(dims),
            "t_max": T_MAX,
            "mapping": (
                "q -> input pulse width q * t_max at 1.8 V; k, v -> stored voltage value + 0.45 V "
                "(signed weight V_store - 0.9 V); phi = K tile output width / t_max; output = "
                "(1 - 2 sign) * V tile output width / t_max"
            ),
            "failures": failures,
        }
        | dict(root_attrs or {})
    )  # e.g. the caller's error metrics (dicts are stored as JSON)
    stack = np.stack
    tables: dict[str, tuple[Any, str, str, tuple[str, ...]]] = {
        # path: (data, units, description, axes)
        "inputs/q": (
            stack([c.q for c in cases]),
            "",
            "query = input width / t_max",
            ("case", "dim"),
        ),
        "inputs/k": (stack([c.k for c in cases]), "V", _KV_TEXT.format("k"), _KV_AXES),
        "inputs/v": (stack([c.v for c in cases]), "V", _KV_TEXT.format("v"), _KV_AXES),
        "inputs/seed": (
            np.array([-1 if c.seed is None else c.seed for c in cases]),
            "",
            "seed of the random draw (-1: given by hand)",
            ("case",),
        ),
        "inputs/index": (
            np.array([-1 if c.index is None else c.index for c in cases]),
            "",
            "index of the draw within its seed (-1: given by hand)",
            ("case",),
        ),
        "inputs/mismatch_seed": (
            np.array([-1 if c.mismatch_seed is None else c.mismatch_seed for c in cases]),
            "",
            "Monte Carlo: base seed of the case's mismatched devices (column runs drawn with "
            "column_seed(it, kind, column)); -1: nominal devices",
            ("case",),
        ),
        "spice/phi": (
            stack([r.phi for r in results]),
            "",
            "K tile: ReLU converter output width / t_max (not clipped)",
            ("case", "token"),
        ),
        "spice/output": (
            stack([r.output for r in results]),
            "",
            "V tile: (1 - 2 sign) * output width / t_max",
            ("case", "dim"),
        ),
        "spice/v_in_width": (
            stack([r.v_in_width for r in results]),
            "s",
            "input pulse widths of the V tile's rows: K tile widths clipped to [0, t_max]",
            ("case", "token"),
        ),
        "spice/corner": (
            np.array([r.corner for r in results], dtype=h5py.string_dtype()),
            "",
            "process corner",
            ("case",),
        ),
        "spice/temperature": (
            np.array([r.temperature for r in results]),
            "degC",
            "simulation temperature",
            ("case",),
        ),
        "spice/time_step": (
            np.array([r.time_step for r in results]),
            "s",
            "transient step (ngspice's largest step)",
            ("case",),
        ),
    }
    for kind, tile in (("k", "K (Phi(Q.K^T)) tile"), ("v", "V (Phi(S).V) tile")):
        rows, cols = _TILE_AXES[kind]
        for name, (units, text) in _COLUMN_FIELDS.items():
            data = stack([getattr(getattr(r, kind), name) for r in results])
            axes = ("case", rows, cols) if name == "stored" else ("case", cols)
            tables[f"spice/{kind}/{name}"] = (data, units, f"{tile}: {text}", axes)
    for name, array in extra_arrays.items():
        meta = (extra_attrs or {}).get(name, {})
        tables[f"extra/{name}"] = (
            array,
            meta.get("units", ""),
            meta.get("description", "supplied by the caller"),
            ("case", *(f"axis{i}" for i in range(1, array.ndim))),
        )
    with atomic_h5(path, overwrite=overwrite) as h5:
        for key, value in attrs.items():
            h5.attrs[key] = (
                json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value
            )
        for name, (data, units, description, axes) in tables.items():
            dataset = h5.create_dataset(name, data=data)
            dataset.attrs["units"] = units
            dataset.attrs["description"] = description
            dataset.attrs["axes"] = list(axes)
    return path


def read_tile_results(path: str | Path) -> TileResultsFile:
    """Read a file written by :func:`write_tile_results`; ``StoreError`` for anything else."""
    path = Path(path)
    with open_h5(path, "tile results", StoreError) as h5:
        if h5.attrs.get("format") != FORMAT:
            raise StoreError(f"{path} is not a gaincell tile results file")
        if int(h5.attrs.get("format_version", 0)) > FORMAT_VERSION:
            raise StoreError(f"{path} has format version {h5.attrs['format_version']}, newer")
        attrs: dict[str, Any] = {}
        for key, value in h5.attrs.items():
            if isinstance(value, str) and value[:1] in "{[":
                with suppress(json.JSONDecodeError):
                    value = json.loads(value)
            attrs[key] = value.item() if isinstance(value, np.generic) else value
        inputs, spice = h5["inputs"], h5["spice"]
        q, k, v = inputs["q"][()], inputs["k"][()], inputs["v"][()]
        seeds, indices = inputs["seed"][()], inputs["index"][()]
        # files written before Monte Carlo tiles have nominal devices
        mismatch = inputs["mismatch_seed"][()] if "mismatch_seed" in inputs else np.full(len(q), -1)
        cases = [
            TileCase(
                q[i],
                k[i],
                v[i],
                None if seeds[i] < 0 else int(seeds[i]),
                None if indices[i] < 0 else int(indices[i]),
                None if mismatch[i] < 0 else int(mismatch[i]),
            )
            for i in range(len(q))
        ]
        reasons: dict[tuple[int, str, int], str] = {
            (f["case"], f["kind"], f["column"]): f["reason"] for f in attrs.get("failures", [])
        }
        corners = [c.decode() if isinstance(c, bytes) else str(c) for c in spice["corner"][()]]
        results = []
        for i in range(len(cases)):
            measured = {}
            for kind in ("k", "v"):
                cols = spice[kind]["width"].shape[1]
                fields = {  # files written before energies were measured lack them
                    name: spice[kind][name][i] if name in spice[kind] else np.full(cols, np.nan)
                    for name in _COLUMN_FIELDS
                }
                measured[kind] = ColumnMeasurements(
                    kind=kind,  # type: ignore[arg-type]
                    reasons=[reasons.get((i, kind, c), "") for c in range(cols)],
                    ngspice_version=str(attrs.get("ngspice_version", "")),
                    **fields,
                )
            results.append(
                _result(
                    measured["k"],
                    measured["v"],
                    spice["v_in_width"][i],
                    corners[i],
                    float(spice["temperature"][i]),
                    float(spice["time_step"][i]),
                )
            )
        extra: dict[str, NDArray[Any]] = {}
        if "extra" in h5:
            h5["extra"].visititems(
                lambda name, item: (
                    extra.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
                )
            )
        return TileResultsFile(cases, results, extra, attrs)
