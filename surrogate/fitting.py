"""Fit surrogates from characterization files and validate them against fresh SPICE points.

``fit(path, kind="grid" | "poly")`` reads a characterization HDF5 file, builds the model, and
(when the file names a registered circuit and ``holdout`` > 0) re-simulates a fresh set of
off-grid points in ngspice: per corner, every in-ngspice axis gets a lattice whose start lies
in the first grid cell, whose stop lies in the last, and whose spacing is random, redrawn
until no point lies within 2 % of a cell of a grid node. The hold-out runs at off-grid
temperatures too: the midpoint of each pair of neighbouring grid temperatures, where the
surrogates' linear interpolation in temperature errs most (:func:`holdout_temperatures`).
The errors are stored with the model (:class:`gaincell.surrogate.models.Metrics`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gaincell.characterize.axes import Axis
from gaincell.characterize.base import Characterization
from gaincell.characterize.spec import SweepSpec
from gaincell.characterize.store import AxisData, CharacterizationData, read_characterization
from gaincell.circuits.design import STORE_OFFSET, V_MID
from gaincell.circuits.files import sha256_file, stamp
from gaincell.circuits.h5 import content_sha256
from gaincell.surrogate.interpolate import METHODS
from gaincell.surrogate.models import (
    POLICIES,
    Domain,
    GridSurrogate,
    LeakageSurrogate,
    PolySurrogate,
    Surrogate,
    SurrogateError,
    Validation,
    compute_metrics,
    poly_terms,
)
from gaincell.surrogate.recovery import recovery_extras

MODELS_FITTED_ON_SURROGATES = {"relu-c2p-recovery": recovery_extras}
"""Circuit -> a model fitted on its grid surrogate when the surrogate is fitted, returning
aux entries (the ReLU comparator's memory, :mod:`surrogate.recovery`)."""

SAMPLED_AXIS_POINTS = 15
"""Held-out lattice points along the other axes (cheap: samples of one analysis)."""
PAPER_CIRCUIT = "paper-multiplier"
"""Circuit name of the paper's published I-V data (not a registered characterization)."""
KINDS = ("grid", "poly")
"""Surrogate kinds :func:`fit` builds."""


@dataclass(frozen=True)
class FitOptions:
    """How :func:`fit` builds and validates a surrogate (validated on construction)."""

    kind: str = "grid"
    """``grid`` (interpolation; a leakage file gives a :class:`LeakageSurrogate`) or ``poly``."""
    quantity: str | None = None
    """Quantity to model; None: the circuit's own (``Characterization.surrogate_quantity``)."""
    method: str = "linear"
    """Grid interpolation: ``linear``, ``cubic`` or ``pchip``."""
    order: int = 3
    """Polynomial total order (poly)."""
    mid: float | None = None
    """Polynomial y = v_store - mid [V]; None: the circuit's mid-rail."""
    input_level: float | None = None
    """Poly: fit only this v_in column [V], as the paper did (the model is valid there only)."""
    holdout: int | None = None
    """Fresh SPICE lattice points per axis and corner; None: the circuit's own; 0: no SPICE
    validation (in-sample metrics instead)."""
    seed: int = 0
    """Seed of the hold-out lattice."""
    policy: str = "error"
    """Out-of-domain policy of the fitted model (see :data:`POLICIES`)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SurrogateError(f"unknown surrogate kind {self.kind!r}; use grid or poly")
        if self.method not in METHODS:
            raise SurrogateError(
                f"unknown interpolation method {self.method!r}; use {', '.join(METHODS)}"
            )
        if not isinstance(self.order, int) or self.order < 1:
            raise SurrogateError(f"polynomial order must be at least 1, got {self.order}")
        if self.holdout is not None and (not isinstance(self.holdout, int) or self.holdout < 0):
            raise SurrogateError(f"holdout must be a whole number >= 0, got {self.holdout!r}")
        if self.policy not in POLICIES:
            raise SurrogateError(f"unknown policy {self.policy!r}; use {', '.join(POLICIES)}")
        if self.input_level is not None and self.kind != "poly":
            raise SurrogateError("input_level applies to poly surrogates only")


def _characterization(circuit: str) -> Characterization | None:
    """The registered characterization of ``circuit`` (None for the paper's data)."""
    from gaincell.characterize.registry import available, get_characterization

    return get_characterization(circuit) if circuit in available() else None


def paper_characterization(path: str | Path) -> CharacterizationData:
    """The paper's published I-V data (``paper_gain_cell_iv.npz``: v_store, v_in, i_out) as a
    characterization (one pseudo-corner ``paper``, 27 C) so it fits like SPICE data."""
    try:
        data = np.load(path)
        v_store, v_in, i_out = data["v_store"], data["v_in"], data["i_out"]
    except (OSError, KeyError, ValueError) as error:
        raise SurrogateError(f"{path} is not the paper's I-V file ({error})") from None
    return CharacterizationData(
        circuit=PAPER_CIRCUIT,
        axes={
            "corner": AxisData(np.array(["paper"]), "", "the paper's own SPICE data"),
            "temperature": AxisData(np.array([27.0]), "degC", "assumed"),
            "v_store": AxisData(v_store, "V", "stored voltage (signed weight v_store - 0.45)"),
            "v_in": AxisData(v_in, "V", "input amplitude"),
        },
        quantities={"i_out": i_out[None, None]},
        quantity_axes={"i_out": ("corner", "temperature", "v_store", "v_in")},
        units={"i_out": "A"},
        descriptions={"i_out": "the paper's gain-cell output current"},
        provenance={"source": "Leroux et al., GainCellAttention (MIT), paper_gain_cell_iv.npz"},
    )


def merge_characterizations(parts: list[CharacterizationData]) -> CharacterizationData:
    """Merge files of one circuit (e.g. a coarse charge sweep and a fine one near zero):
    two files that differ along exactly one axis are merged along it, values sorted, the
    earlier file winning where they coincide, until one is left (so files that cover a grid
    in blocks, e.g. two column ranges each at three width ranges, merge too), on the
    quantities every file has. The first
    file's provenance is kept; the others' sweep specs are listed under
    ``merged_sweep_specs``."""
    first = parts[0]
    for other in parts[1:]:
        if other.circuit != first.circuit:
            raise SurrogateError(f"cannot merge a {other.circuit} file into a {first.circuit} file")
    shared = set.intersection(*(set(p.quantities) for p in parts))
    if not shared:
        raise SurrogateError(f"the {first.circuit} files to merge share no quantity")
    # a file with more quantities (e.g. energies measured since) merges on the shared ones
    merged = [_only(p, shared) for p in parts]
    while len(merged) > 1:
        pair = next(
            (
                (i, j)
                for i in range(len(merged))
                for j in range(i + 1, len(merged))
                if len(_differing(merged[i], merged[j])) == 1
            ),
            None,
        )
        if pair is None:
            along = sorted(set().union(*(_differing(merged[0], p) for p in merged[1:])))
            raise SurrogateError(
                "files to merge must pair up along one axis at a time; these differ along "
                f"{along or 'none'}"
            )
        i, j = pair
        merged[i] = _merge_pair(merged[i], merged[j])
        del merged[j]
    return merged[0]


def _only(data: CharacterizationData, names: set[str]) -> CharacterizationData:
    """``data`` with only the quantities ``names``."""
    if set(data.quantities) == names:
        return data
    return replace(
        data,
        **{
            field: {n: v for n, v in getattr(data, field).items() if n in names}
            for field in ("quantities", "quantity_axes", "units", "descriptions")
        },
    )


def _differing(one: CharacterizationData, other: CharacterizationData) -> set[str]:
    """Axes whose values differ between two files of one circuit."""
    return {
        name
        for name, axis in one.axes.items()
        if name not in other.axes
        or axis.values.shape != other.axes[name].values.shape
        or np.any(axis.values != other.axes[name].values)
    }


def _merge_pair(first: CharacterizationData, other: CharacterizationData) -> CharacterizationData:
    """Two files that differ along one axis, merged along it (``first`` wins on ties)."""
    (axis,) = _differing(first, other)
    values = np.concatenate([first.axes[axis].values, other.axes[axis].values])
    _, keep = np.unique(values, return_index=True)  # first occurrence, sorted by value
    quantities = {}
    for name, array in first.quantities.items():
        dims = first.quantity_axes[name]
        if axis not in dims:
            quantities[name] = array
            continue
        position = dims.index(axis)
        joined = np.concatenate([array, other.quantities[name]], axis=position)
        quantities[name] = np.take(joined, keep, axis=position)
    axes = dict(first.axes)
    axes[axis] = replace(first.axes[axis], values=values[keep])
    provenance = dict(first.provenance)
    provenance["merged_sweep_specs"] = [
        *first.provenance.get("merged_sweep_specs", []),
        other.provenance.get("sweep_spec"),
        *other.provenance.get("merged_sweep_specs", []),
    ]
    return replace(first, axes=axes, quantities=quantities, provenance=provenance)


def _source(
    source: str | Path | CharacterizationData | list[str | Path],
) -> tuple[CharacterizationData, dict]:
    if isinstance(source, list | tuple):
        if len(source) == 1:
            return _source(source[0])
        paths = [Path(p) for p in source]
        data = merge_characterizations([read_characterization(p) for p in paths])
        return data, {
            "source_file": [p.name for p in paths],
            "source_sha256": [sha256_file(p) for p in paths],
            "source_content_sha256": [content_sha256(p) for p in paths],
        }
    if isinstance(source, CharacterizationData):
        return source, {"source_file": None, "source_sha256": None}
    path = Path(source)
    if path.suffix == ".npz":
        return paper_characterization(path), {
            "source_file": path.name,
            "source_sha256": sha256_file(path),
        }
    # the file's hash, and its contents' (which attribute edits, e.g. checksums, keep)
    return read_characterization(path), {
        "source_file": path.name,
        "source_sha256": sha256_file(path),
        "source_content_sha256": content_sha256(path),
    }


def _numeric_axes(data: CharacterizationData, quantity: str) -> list[str]:
    return [a for a in data.quantity_axes[quantity] if a != "corner"]


def _common(
    data: CharacterizationData, quantity: str, source_info: dict, settings: dict, policy: str
) -> dict[str, Any]:
    if quantity not in data.quantities:
        raise SurrogateError(
            f"{data.circuit} file has no quantity {quantity!r}; it has {', '.join(data.quantities)}"
        )
    axes = _numeric_axes(data, quantity)
    axes = [a for a in axes if a != "temperature"] + [a for a in axes if a == "temperature"]
    ranges = {
        a: (float(np.min(data.axes[a].values)), float(np.max(data.axes[a].values))) for a in axes
    }
    if "time" in ranges:  # leakage: any hold time (the fitted exponential continues it)
        ranges["time"] = (0.0, math.inf)
    corners = (
        tuple(str(c) for c in data.axes["corner"].values)
        if "corner" in data.quantity_axes[quantity]
        else ("nominal",)
    )
    domain = Domain(ranges, {a: data.axes[a].units for a in axes}, corners)
    defaults = {}
    if "temperature" in ranges and ranges["temperature"][0] <= 27.0 <= ranges["temperature"][1]:
        defaults["temperature"] = 27.0
    if "v_col" in ranges and ranges["v_col"][0] <= V_MID <= ranges["v_col"][1]:
        defaults["v_col"] = V_MID  # the characterizations' virtual-ground column
    provenance = source_info | {
        "source_circuit": data.circuit,
        "source_provenance": {k: v for k, v in data.provenance.items() if k != "netlist"},
        "fit": settings,
        **stamp(),
    }
    return {
        "circuit": data.circuit,
        "quantity": quantity,
        "units": data.units[quantity],
        "domain": domain,
        "defaults": defaults,
        "provenance": provenance,
        "policy": policy,
        "description": data.descriptions.get(quantity, ""),
    }


def _grid_values(data: CharacterizationData, quantity: str) -> np.ndarray:
    values = data.quantities[quantity]
    return values if "corner" in data.quantity_axes[quantity] else values[None]


def _leakage(data: CharacterizationData, common: dict[str, Any], method: str) -> LeakageSurrogate:
    """Waveforms with the t = 0 row (the written value) prepended, interpolated in log time;
    exponential tail fitted per point."""
    from scipy.optimize import curve_fit

    time = data.axes["time"].values
    v_t = data.quantities["v_store_t"]  # (corner, temperature, v_store, time)
    v0 = data.quantities["v_written"][..., None]
    waveform = np.concatenate([v0, v_t], axis=-1)
    nodes_t = np.concatenate([[0.0], time])
    tau = np.full(v0.shape[:-1], np.nan)
    v_inf = v_t[..., -1].copy()
    for index in np.ndindex(tau.shape):
        v = waveform[index]

        def model(t: np.ndarray, v_end: float, log_tau: float, v=v) -> np.ndarray:
            return v_end + (v[0] - v_end) * np.exp(-t / np.exp(log_tau))

        if abs(v[-1] - v[0]) < 5e-4:  # no measurable decay: constant continuation
            continue
        try:
            (v_end, log_tau), _ = curve_fit(
                model, nodes_t, v, p0=(v[-1], np.log(time[-1] / 3)), maxfev=5000
            )
        except (RuntimeError, ValueError):
            continue
        tau[index], v_inf[index] = math.exp(log_tau), v_end
    # Where the fit failed, no decay beyond the hold (tau = inf is stored as 0 = "none").
    tau = np.where(np.isfinite(tau), tau, 0.0)
    domain = common["domain"]
    v_axes = [a for a in domain.inputs if a != "time"]
    order = ["temperature", "v_store", "time"]  # the file's axis order after corner
    grid = GridSurrogate(
        nodes={
            "temperature": data.axes["temperature"].values,
            "v_store": data.axes["v_store"].values,
            "time": nodes_t,
        },
        values=waveform,
        method=method,
        log_axes={"time": float(time[0])},
        **common | {"quantity": "v_store_t"},
    )
    sub = Domain(
        {a: domain.ranges[a] for a in v_axes}, {a: domain.units[a] for a in v_axes}, domain.corners
    )
    parts = {}
    for name, values, units in (("tau", tau, "s"), ("v_inf", v_inf, "V")):
        parts[name] = GridSurrogate(
            nodes={
                "temperature": data.axes["temperature"].values,
                "v_store": data.axes["v_store"].values,
            },
            values=values,
            method="linear",
            **common
            | {
                "domain": sub,
                "quantity": name,
                "units": units,
                "defaults": {k: v for k, v in common["defaults"].items() if k in v_axes},
            },
        )
    assert list(grid.nodes) == order
    return LeakageSurrogate(waveform=grid, **parts, **common)


def fit_poly_arrays(x: np.ndarray, y: np.ndarray, z: np.ndarray, order: int = 3) -> np.ndarray:
    """Least-squares coefficients (paper's term order) of sum c x^j y^i to samples z.
    Uses numpy's minimum-norm solution, so when x is constant (the paper's fit at one input
    level) the otherwise undetermined split over powers of x is the minimum-norm one."""
    terms = poly_terms(order)
    design = np.stack([x**j * y**i for i, j in terms], axis=-1)
    ok = np.isfinite(z)
    coefficients, *_ = np.linalg.lstsq(design[ok], z[ok], rcond=None)
    return coefficients


def _poly(
    data: CharacterizationData,
    common: dict[str, Any],
    order: int,
    mid: float,
    input_level: float | None,
) -> PolySurrogate:
    quantity = common["quantity"]
    axes = _numeric_axes(data, quantity)
    if set(axes) - {"temperature"} != {"v_store", "v_in"}:
        raise SurrogateError(
            f"a poly surrogate needs v_store and v_in axes; {data.circuit} has {axes}"
        )
    values = _grid_values(data, quantity)  # (corner, temperature, v_store, v_in)
    v_store, v_in = data.axes["v_store"].values, data.axes["v_in"].values
    scale = 1e-6 if common["units"] == "A" else 1.0
    if input_level is not None:
        column = np.flatnonzero(np.isclose(v_in, input_level))
        if column.size == 0:
            raise SurrogateError(f"input_level {input_level:g} V is not a v_in grid value")
        v_in_used = v_in[column[:1]]
    else:
        v_in_used = v_in
    xx, yy = np.meshgrid(v_in_used, v_store - mid)
    coefficients = np.empty((values.shape[0], values.shape[1], len(poly_terms(order))))
    for corner, temperature in np.ndindex(values.shape[:2]):
        z = values[corner, temperature]
        z = z[:, column[:1]] if input_level is not None else z
        coefficients[corner, temperature] = fit_poly_arrays(
            xx.ravel(), yy.ravel(), z.ravel() / scale, order
        )
    return PolySurrogate(
        coefficients=coefficients,
        order=order,
        mid=mid,
        temperatures=data.axes["temperature"].values,
        scale=scale,
        **common,
    )


def _lattice(nodes: np.ndarray, points: int, log: bool, rng: np.random.Generator) -> Axis:
    """An off-grid lattice spanning nearly the whole axis."""
    coordinate = np.log(nodes) if log else nodes
    step = np.min(np.diff(coordinate))
    for _ in range(200):
        start = rng.uniform(coordinate[0], coordinate[1])
        stop = rng.uniform(coordinate[-2], coordinate[-1])
        candidate = np.linspace(start, stop, points)
        distance = np.min(np.abs(candidate[:, None] - coordinate[None, :]))
        if distance > 0.02 * step:
            break
    if log:
        return Axis(float(np.exp(start)), float(np.exp(stop)), points, "log")
    return Axis(float(start), float(stop), points)


def holdout_temperatures(nodes: np.ndarray) -> tuple[float, ...]:
    """Temperatures of the SPICE hold-out: the midpoint of each pair of neighbouring grid
    temperatures (off the grid, where linear interpolation in temperature errs most), or the
    grid's only temperature."""
    nodes = np.sort(np.asarray(nodes, dtype=np.float64))
    if nodes.size < 2:
        return tuple(float(t) for t in nodes)
    return tuple(float(t) for t in 0.5 * (nodes[:-1] + nodes[1:]))


def holdout_points(
    data: CharacterizationData,
    quantity: str,
    per_axis: int,
    seed: int,
    jobs: int,
    fixed: dict[str, float] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Simulate fresh off-grid points of ``data``'s circuit; returns per-point inputs, corner
    index and the SPICE value of ``quantity`` (NaN where a point failed). Axes in ``fixed``
    are held at that value instead (a surrogate fitted at one input level)."""
    fixed = fixed or {}
    from gaincell.characterize.registry import get_characterization
    from gaincell.characterize.sweep import simulate_spec

    spec = SweepSpec.from_recorded(data.provenance["sweep_spec"])
    characterization = get_characterization(spec.circuit)
    spec = replace(spec, temperatures=holdout_temperatures(data.axes["temperature"].values))
    rng = np.random.default_rng(seed)
    quantity_axes = data.quantity_axes[quantity]
    inputs: dict[str, list[np.ndarray]] = {a: [] for a in quantity_axes if a != "corner"}
    corner_index, reference = [], []
    for index, corner in enumerate(spec.corners):
        axes = {}
        for position, name in enumerate(characterization.axis_specs):
            source_axis = spec.axes[name]
            count = per_axis if position == 0 else max(per_axis, SAMPLED_AXIS_POINTS)
            count = characterization.axis_specs[name].holdout_points or count
            nodes = data.axes[name].values
            if name in fixed:  # two points (sweeps need two); the other one is dropped below
                value, delta = fixed[name], 1e-3 * (nodes[-1] - nodes[0])
                pair = (value, value + delta) if value < nodes[-1] else (value - delta, value)
                axes[name] = Axis(*pair, 2)
                continue
            axes[name] = _lattice(nodes, count, source_axis.scale == "log", rng)
        sub = replace(spec, axes=axes, corners=(corner,))
        arrays, _ = simulate_spec(sub, jobs=jobs, progress=False)
        value = arrays[quantity][0]  # (temperature, *in-ngspice axes of the quantity)
        grids = {"temperature": np.array(spec.temperatures)} | {
            name: axes[name].values() for name in characterization.axis_specs
        }
        mesh = np.meshgrid(*(grids[a] for a in quantity_axes[1:]), indexing="ij")
        for name, m in zip(quantity_axes[1:], mesh, strict=True):
            inputs[name].append(m.ravel())
        corner_index.append(np.full(value.size, index))
        reference.append(value.ravel())
    merged = {k: np.concatenate(v) for k, v in inputs.items()}
    keep = np.ones(merged[next(iter(merged))].size, dtype=bool)
    for name, value in fixed.items():
        keep &= np.isclose(merged[name], value, rtol=0.0, atol=1e-9)
    return (
        {k: v[keep] for k, v in merged.items()},
        np.concatenate(corner_index)[keep],
        np.concatenate(reference)[keep],
    )


def _full_scale(
    data: CharacterizationData, quantity: str, corners: tuple[str, ...]
) -> dict[str, float]:
    values = _grid_values(data, quantity)
    return {c: float(np.nanmax(np.abs(values[i]))) for i, c in enumerate(corners)}


def fit(
    source: str | Path | CharacterizationData | list[str | Path],
    options: FitOptions | None = None,
    *,
    jobs: int = 1,
) -> Surrogate:
    """Fit a surrogate of ``quantity`` from a characterization file (or the paper's ``.npz``,
    or a list of files of one circuit that differ along one axis: merged first).

    ``options`` (:class:`FitOptions`, default: a linear grid of the circuit's own quantity,
    validated on the circuit's own number of fresh SPICE points) says what to build; ``jobs``
    worker processes run the hold-out simulations.
    """
    options = options or FitOptions()
    kind, method, order, input_level = (
        options.kind,
        options.method,
        options.order,
        options.input_level,
    )
    seed, policy = options.seed, options.policy
    data, source_info = _source(source)
    circuit = _characterization(data.circuit)
    if circuit is not None and circuit.surrogate_quantity is None:
        raise SurrogateError(f"cannot fit {data.circuit}: {circuit.no_surrogate_reason}")
    quantity = options.quantity or (circuit.surrogate_quantity if circuit else "i_out")
    mid = options.mid
    if mid is None:
        mid = circuit.mid_rail if circuit and circuit.mid_rail is not None else STORE_OFFSET
    settings = {
        "kind": kind,
        "method": method,
        "order": order,
        "mid": mid,
        "input_level": input_level,
        "seed": seed,
    }
    common = _common(data, quantity, source_info, settings, policy)
    if kind == "poly" and input_level is not None:  # fitted (and valid) at that level only
        common["domain"].ranges["v_in"] = (float(input_level), float(input_level))
        common["defaults"]["v_in"] = float(input_level)
    corners = common["domain"].corners
    if kind == "poly":
        model: Surrogate = _poly(data, common, order, mid, input_level)
    elif (
        circuit is not None
        and circuit.surrogate_model == "leakage"
        and quantity == circuit.surrogate_quantity
    ):
        model = _leakage(data, common, method)
    else:
        nodes = {a: data.axes[a].values for a in _numeric_axes(data, quantity)}
        log_axes = circuit.surrogate_log_axes if circuit else ()
        model = GridSurrogate(
            nodes=nodes,
            values=_grid_values(data, quantity),
            method=method,
            log_axes={a: float(nodes[a][0]) for a in log_axes if a in nodes},
            step_axes=circuit.surrogate_step_axes if circuit else (),
            step_from=circuit.surrogate_step_from if circuit else None,
            **common,
        )
    if circuit is not None and quantity == circuit.surrogate_quantity:
        model.aux.update(circuit.surrogate_extras(data))
        if circuit.name in MODELS_FITTED_ON_SURROGATES:
            model.aux.update(MODELS_FITTED_ON_SURROGATES[circuit.name](model))
    default_holdout = circuit.holdout_points if circuit else 0
    holdout = default_holdout if options.holdout is None else options.holdout
    can_simulate = "sweep_spec" in data.provenance and default_holdout > 0
    if holdout > 0 and can_simulate:
        fixed = {"v_in": float(input_level)} if kind == "poly" and input_level is not None else {}
        inputs, corner_of_point, reference = holdout_points(
            data, quantity, holdout, seed, jobs, fixed
        )
        kind_of_metrics = "spice-holdout"
        model.provenance["holdout"] = {
            "per_axis": holdout,
            "seed": seed,
            "points": int(reference.size),
        }
    else:
        values = _grid_values(data, quantity)
        axes = _numeric_axes(data, quantity)
        mesh = np.meshgrid(*(data.axes[a].values for a in axes), indexing="ij")
        inputs = {a: np.tile(m.ravel(), len(corners)) for a, m in zip(axes, mesh, strict=True)}
        corner_of_point = np.repeat(np.arange(len(corners)), mesh[0].size)
        reference = values.reshape(-1)
        if kind == "poly" and input_level is not None:
            used = np.isclose(inputs["v_in"], input_level)
            inputs = {a: v[used] for a, v in inputs.items()}
            corner_of_point, reference = corner_of_point[used], reference[used]
        kind_of_metrics = "in-sample"
    predicted = np.empty_like(reference)
    for index, corner in enumerate(corners):
        mask = corner_of_point == index
        predicted[mask] = model(
            **{a: v[mask] for a, v in inputs.items()}, corner=corner, out_of_domain="extrapolate"
        )
    model.metrics = compute_metrics(
        predicted,
        reference,
        corner_of_point,
        corners,
        _full_scale(data, quantity, corners),
        kind_of_metrics,
    )
    model.validation = Validation(inputs, corner_of_point, reference, predicted)
    return model
