"""Surrogate models: what :func:`gaincell.surrogate.load` returns.

A surrogate maps named numeric inputs (``v_store``, ``v_in``, ``charge``, ``time``,
``temperature``, ...) and a process corner to one output quantity. Subclasses implement
:meth:`Surrogate._evaluate` on flat, in-domain (or policy-treated) arrays; the base class does
argument handling, broadcasting and the out-of-domain policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.errors import GaincellError
from gaincell.surrogate.interpolate import METHODS, interpolate, reduce_axis

Array = NDArray[np.float64]

POLICIES = ("error", "clamp", "nan", "extrapolate")
"""Out-of-domain policies: raise, clamp inputs to the domain, return NaN there, or continue
the model (edge polynomial for grids, the polynomial itself for poly fits)."""


class SurrogateError(GaincellError, ValueError):
    """A surrogate file or an evaluation request is invalid."""


@dataclass(frozen=True)
class Domain:
    """Where a surrogate is defined."""

    ranges: dict[str, tuple[float, float]]
    """Numeric input -> (low, high), inclusive, in the input's units."""
    units: dict[str, str]
    """Numeric input -> units."""
    corners: tuple[str, ...]
    """Process corners the surrogate holds (a categorical input)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Numeric input names, in positional-argument order."""
        return tuple(self.ranges)

    def describe(self) -> str:
        """One line, e.g. ``v_store 0.45..1.35 V, v_in 0..1.8 V; corners tt,ss``."""
        parts = [
            f"{n} {lo:g}..{hi:g} {self.units.get(n, '')}".rstrip()
            for n, (lo, hi) in self.ranges.items()
        ]
        return ", ".join(parts) + f"; corners {','.join(self.corners)}"


@dataclass
class Metrics:
    """Error of a surrogate against held-out SPICE points (or in-sample data, see ``kind``)."""

    kind: str
    """``spice-holdout`` (fresh off-grid SPICE points) or ``in-sample`` (no netlist to
    re-simulate, e.g. the paper's data)."""
    full_scale: dict[str, float]
    """Corner -> the normalization: max |quantity| over that corner's training data."""
    rmse_fs: dict[str, float]
    """Corner -> root-mean-square error / full scale."""
    max_error_fs: dict[str, float]
    """Corner -> max |error| / full scale."""
    r2: dict[str, float]
    """Corner -> coefficient of determination."""
    points: dict[str, int]
    """Corner -> number of validation points used (failed SPICE points excluded)."""
    overall: dict[str, float] = field(default_factory=dict)
    """``rmse_fs``, ``max_error_fs``, ``r2`` over all corners' points (each normalized by its
    own corner's full scale)."""

    def worst(self, name: str = "max_error_fs") -> float:
        """The worst corner's value of ``name`` (lowest for ``r2``)."""
        values = list(getattr(self, name).values())
        return float(min(values) if name == "r2" else max(values))


def compute_metrics(
    predicted: Array,
    reference: Array,
    corner_of_point: NDArray[np.int_],
    corners: tuple[str, ...],
    full_scale: dict[str, float],
    kind: str,
) -> Metrics:
    """Metrics of ``predicted`` against ``reference`` per corner and overall (NaN reference
    points, i.e. failed simulations, are left out)."""
    rmse, worst, r2, points = {}, {}, {}, {}
    normalized_errors = []
    for index, corner in enumerate(corners):
        mask = (corner_of_point == index) & np.isfinite(reference)
        error, ref = predicted[mask] - reference[mask], reference[mask]
        points[corner] = int(mask.sum())
        if not mask.any():
            rmse[corner] = worst[corner] = r2[corner] = float("nan")
            continue
        scale = full_scale[corner]
        rmse[corner] = float(np.sqrt(np.mean(error**2)) / scale)
        worst[corner] = float(np.max(np.abs(error)) / scale)
        total = float(np.sum((ref - ref.mean()) ** 2))
        r2[corner] = float(1.0 - np.sum(error**2) / total) if total > 0 else float("nan")
        normalized_errors.append((error / scale, ref / scale))
    overall: dict[str, float] = {}
    if normalized_errors:
        err = np.concatenate([e for e, _ in normalized_errors])
        ref = np.concatenate([r for _, r in normalized_errors])
        overall = {
            "rmse_fs": float(np.sqrt(np.mean(err**2))),
            "max_error_fs": float(np.max(np.abs(err))),
            "r2": float(1.0 - np.sum(err**2) / np.sum((ref - ref.mean()) ** 2)),
        }
    return Metrics(kind, dict(full_scale), rmse, worst, r2, points, overall)


@dataclass
class Validation:
    """The held-out points behind :class:`Metrics`, kept in the file for plots and audits."""

    inputs: dict[str, Array]
    """Numeric input -> value per point."""
    corner: NDArray[np.int_]
    """Index into the domain's corners per point."""
    reference: Array
    """SPICE (or source-data) value per point; NaN where the simulation failed."""
    predicted: Array
    """Surrogate value per point when it was fitted."""


def max_error_by(model: Surrogate, name: str) -> dict[float, float]:
    """Worst |error| / full scale of ``model``'s held-out points per value of input ``name``
    (e.g. ``temperature``: the off-grid hold-out temperatures); {} without validation."""
    validation, metrics = model.validation, model.metrics
    if validation is None or metrics is None or name not in validation.inputs:
        return {}
    scale = np.array([metrics.full_scale[c] for c in model.domain.corners])[validation.corner]
    error = np.abs(validation.predicted - validation.reference) / scale
    values = validation.inputs[name]
    levels = np.unique(values[np.isfinite(values)])
    return {float(v): float(np.nanmax(error[values == v])) for v in levels}


class Surrogate(ABC):
    """A fitted model of one quantity of one circuit.

    Call it with the numeric inputs as keywords or positionally (order :attr:`inputs`), plus
    ``corner`` (default ``tt`` if held) and optionally ``out_of_domain`` (one of
    :data:`POLICIES`; default the model's own :attr:`policy`, ``error`` unless set). Inputs
    broadcast against each other like numpy arrays; the result has their broadcast shape.
    """

    kind: ClassVar[str]
    """File-format name of the model kind (``grid``, ``poly``, ``leakage``)."""

    def __init__(
        self,
        *,
        circuit: str,
        quantity: str,
        units: str,
        domain: Domain,
        defaults: dict[str, float] | None = None,
        metrics: Metrics | None = None,
        validation: Validation | None = None,
        provenance: dict[str, Any] | None = None,
        policy: str = "error",
        description: str = "",
    ) -> None:
        if policy not in POLICIES:
            raise SurrogateError(f"unknown out-of-domain policy {policy!r}; known: {POLICIES}")
        self.circuit = circuit
        """Characterization name, e.g. ``multiplier``."""
        self.quantity = quantity
        """The modelled quantity, e.g. ``i_out``."""
        self.units = units
        """Units of the output."""
        self.domain = domain
        """Inputs, their ranges and the corners."""
        self.defaults = dict(defaults or {})
        """Input -> value used when a call omits it (``temperature`` -> 27 when held)."""
        self.metrics = metrics
        """Measured error against held-out points (``None`` if never validated)."""
        self.validation = validation
        """The held-out points themselves."""
        self.provenance = dict(provenance or {})
        """Source file, its SHA-256 and provenance, fit settings, package version, date."""
        self.policy = policy
        """Default out-of-domain policy."""
        self.description = description
        """What the output is (from the characterization file)."""
        self.aux: dict[str, tuple[Array, str, str]] = {}
        """Extra arrays saved with the model: name -> (values, units, description)."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Numeric input names, in positional order."""
        return self.domain.inputs

    def default_corner(self) -> str:
        """``tt`` if the surrogate holds it, else its first corner."""
        return "tt" if "tt" in self.domain.corners else self.domain.corners[0]

    def __call__(
        self,
        *args: ArrayLike,
        corner: str | None = None,
        out_of_domain: str | None = None,
        **kwargs: ArrayLike,
    ) -> Array:
        if len(args) > len(self.inputs):
            raise SurrogateError(
                f"{self.name}: at most {len(self.inputs)} positional inputs "
                f"({', '.join(self.inputs)}), got {len(args)}"
            )
        values: dict[str, ArrayLike] = dict(zip(self.inputs, args, strict=False))
        for name, value in kwargs.items():
            if name not in self.inputs:
                raise SurrogateError(
                    f"{self.name}: unknown input {name!r}; inputs are "
                    f"{', '.join(self.inputs)} and corner"
                )
            if name in values:
                raise SurrogateError(f"{self.name}: input {name!r} given twice")
            values[name] = value
        for name in self.inputs:
            if name not in values:
                if name not in self.defaults:
                    raise SurrogateError(f"{self.name}: input {name!r} is required")
                values[name] = self.defaults[name]
        corner = corner or self.default_corner()
        if corner not in self.domain.corners:
            raise SurrogateError(
                f"{self.name}: corner {corner!r} not in {', '.join(self.domain.corners)}"
            )
        policy = out_of_domain or self.policy
        if policy not in POLICIES:
            raise SurrogateError(f"unknown out-of-domain policy {policy!r}; known: {POLICIES}")
        given = [np.asarray(values[n], dtype=np.float64) for n in self.inputs]
        outer = self._outer_call(given, corner, policy)
        if outer is not None:
            return outer
        arrays = np.broadcast_arrays(*given)
        shape = arrays[0].shape
        flat = [a.ravel() for a in arrays]
        outside = np.zeros(flat[0].shape, dtype=bool)
        for name, array in zip(self.inputs, flat, strict=True):
            lo, hi = self.domain.ranges[name]
            bad = ~((array >= lo) & (array <= hi))  # NaN inputs count as outside
            if policy == "error" and bad.any():
                first = array[bad][0]
                raise SurrogateError(
                    f"{self.name}: {name}={first:g} {self.domain.units.get(name, '')} is outside "
                    f"the domain [{lo:g}, {hi:g}] ({int(bad.sum())} points); pass "
                    "out_of_domain='clamp', 'nan' or 'extrapolate' to allow it"
                )
            outside |= bad
        if policy in ("clamp", "nan"):
            flat = [
                np.clip(a, *self.domain.ranges[n]) for n, a in zip(self.inputs, flat, strict=True)
            ]
        result = self._evaluate(dict(zip(self.inputs, flat, strict=True)), corner)
        if policy == "nan":
            result = np.where(outside, np.nan, result)
        return result.reshape(shape)

    def _outer_call(self, given: list[Array], corner: str, policy: str) -> Array | None:
        """The call's result by :meth:`_evaluate_outer` when the inputs are an outer product
        (each varies along its own axis of the broadcast shape, or is a scalar), every input
        is in the domain or the policy clamps or extrapolates, and the grid of points is
        larger than its axes; else None (the general path)."""
        shape = np.broadcast_shapes(*(a.shape for a in given))
        owner: list[int | None] = []
        for a in given:
            padded = (1,) * (len(shape) - a.ndim) + a.shape
            varying = [d for d, size in enumerate(padded) if size != 1]
            if len(varying) > 1 or (varying and varying[0] in owner):
                return None
            owner.append(varying[0] if varying else None)
        axes = [a.reshape(-1) for a in given]
        if int(np.prod(shape)) < 4 * sum(a.size for a in axes):
            return None
        for i, (name, array) in enumerate(zip(self.inputs, axes, strict=True)):
            lo, hi = self.domain.ranges[name]
            if not np.all((array >= lo) & (array <= hi)):
                if policy not in ("clamp", "extrapolate"):
                    return None  # the general path says which point, or puts its NaN
                if policy == "clamp":
                    axes[i] = np.clip(array, lo, hi)
        result = self._evaluate_outer(dict(zip(self.inputs, axes, strict=True)), corner)
        if result is None:
            return None
        owned = [i for i, dim in enumerate(owner) if dim is not None]
        result = result.reshape([axes[i].size for i in owned])
        result = result.transpose(np.argsort([owner[i] for i in owned]))
        return result.reshape(shape)

    def _evaluate_outer(self, inputs: dict[str, Array], corner: str) -> Array | None:
        """The model at every combination of 1-D (policy-treated) ``inputs``, shape
        ``[inputs[n].size for n in self.inputs]``: the same numbers as :meth:`_evaluate`
        on the flattened outer product, or None where a model has no faster way."""
        return None

    @property
    def name(self) -> str:
        """``circuit:quantity``, for messages."""
        return f"{self.circuit}:{self.quantity}"

    @abstractmethod
    def _evaluate(self, inputs: dict[str, Array], corner: str) -> Array:
        """The model at flat, equally long input arrays (already policy-treated)."""

    def __repr__(self) -> str:
        worst = f", worst max error {self.metrics.worst():.2%} FS" if self.metrics else ""
        return (
            f"<{type(self).__name__} {self.name} [{self.units}]: {self.domain.describe()}{worst}>"
        )


class GridSurrogate(Surrogate):
    """Interpolation of gridded data, one grid per corner, over every numeric axis."""

    kind = "grid"

    def __init__(
        self,
        *,
        nodes: dict[str, Array],
        values: Array,
        method: str = "linear",
        log_axes: dict[str, float] | None = None,
        step_axes: tuple[str, ...] = (),
        step_from: float | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if method not in METHODS:
            raise SurrogateError(f"unknown interpolation method {method!r}; known: {METHODS}")
        if values.shape != (len(self.domain.corners), *(n.size for n in nodes.values())):
            raise SurrogateError(
                f"grid values have shape {values.shape}, axes say "
                f"{(len(self.domain.corners), *(n.size for n in nodes.values()))}"
            )
        if not np.all(np.isfinite(values)):
            raise SurrogateError(
                f"{self.name}: grid holds NaN (failed points); refit without "
                "them or re-run the characterization"
            )
        self.nodes = {name: np.asarray(n, dtype=np.float64) for name, n in nodes.items()}
        """Input -> grid nodes (increasing)."""
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        """Grid values, shape (corner, *nodes)."""
        self.method = method
        """``linear``, ``cubic`` or ``pchip`` (see :mod:`gaincell.surrogate.interpolate`)."""
        self.log_axes = dict(log_axes or {})
        """Input -> t0: interpolate in ``log(1 + x / t0)`` (for log-spaced hold times)."""
        self.step_axes = tuple(step_axes)
        """Inputs whose first node stands apart (a pulse of zero width delivers nothing, any
        pulse its edge charge): at the first node the value there, above it the grid from the
        second node on, continued linearly down to the first."""
        self.step_from = None if step_from is None else float(step_from)
        """On the step axis: inputs up to this value are the first node's (the testbench's
        no-pulse threshold); None: only the first node itself."""
        unknown = set(self.step_axes) - set(self.nodes)
        too_short = any(self.nodes[n].size < 3 for n in self.step_axes)
        if unknown or len(self.step_axes) > 1 or too_short:
            raise SurrogateError(
                f"step axes {list(self.step_axes)}: at most one grid axis of 3 or more nodes"
            )

    def _coordinate(self, name: str, x: Array) -> Array:
        if name in self.log_axes:
            return np.log1p(x / self.log_axes[name])
        return x

    def _step_points(self, name: str, x: Array, points: Array) -> tuple[Array, NDArray[np.bool_]]:
        """On the step axis ``name``: its inputs ``x`` as interpolation coordinates (``points``
        with those up to :attr:`step_from` moved to the first node: what the testbench gives
        there) and which inputs are above the step (interpolated on the grid from the second
        node on)."""
        threshold = float(self.nodes[name][0])
        if self.step_from is not None:
            first = self._coordinate(name, self.nodes[name][:1])[0]
            points = np.where(x <= self.step_from, first, points)
            threshold = max(threshold, self.step_from)
        return points, x > threshold

    def _evaluate(self, inputs: dict[str, Array], corner: str) -> Array:
        names = list(self.nodes)
        grid = self.values[self.domain.corners.index(corner)]
        nodes = [self._coordinate(n, self.nodes[n]) for n in names]
        points = [self._coordinate(n, inputs[n]) for n in names]
        steps = []  # (axis, inputs above the step), at most one step axis
        for axis, name in enumerate(names):
            if name in self.step_axes:
                points[axis], above = self._step_points(name, inputs[name], points[axis])
                steps.append((axis, above))
        result = interpolate(nodes, grid, points, self.method)
        for axis, above in steps:
            # Above the step: the grid without its first node, its first cell continued down.
            if above.any():
                sub_nodes = [v[1:] if i == axis else v for i, v in enumerate(nodes)]
                sub_grid = np.ascontiguousarray(grid[(slice(None),) * axis + (slice(1, None),)])
                result[above] = interpolate(
                    sub_nodes, sub_grid, [p[above] for p in points], self.method
                )
        return result

    def _evaluate_outer(self, inputs: dict[str, Array], corner: str) -> Array | None:
        """One axis at a time, last first (:func:`surrogate.interpolate.reduce_axis`), as
        :meth:`_evaluate` reduces each point's stencil: each axis's nodes interpolated once
        per point of that axis instead of once per combination of points."""
        names = list(self.nodes)
        values = self.values[self.domain.corners.index(corner)]
        for axis in reversed(range(len(names))):
            name = names[axis]
            nodes = self._coordinate(name, self.nodes[name])
            points = self._coordinate(name, inputs[name])
            if name not in self.step_axes:
                values = reduce_axis(values, axis, nodes, points, self.method)
                continue
            points, above = self._step_points(name, inputs[name], points)
            full = reduce_axis(values, axis, nodes, points, self.method)
            if above.any():
                on_axis = (slice(None),) * axis
                sub = values[(*on_axis, slice(1, None))]
                full[(*on_axis, above)] = reduce_axis(
                    sub, axis, nodes[1:], points[above], self.method
                )
            values = full
        order = [names.index(n) for n in self.inputs]
        return values.transpose(order)

    def at(self, corner: str | None = None, **fixed: float) -> GridSurrogate:
        """A lower-dimensional surrogate with some inputs fixed (e.g. ``temperature=27``) at
        one corner: the grid is interpolated once, so evaluating the rest is faster."""
        corner = corner or self.default_corner()
        keep = [n for n in self.nodes if n not in fixed]
        unknown = set(fixed) - set(self.nodes)
        if unknown:
            raise SurrogateError(f"{self.name}: cannot fix unknown inputs {sorted(unknown)}")
        mesh = np.meshgrid(*(self.nodes[n] for n in keep), indexing="ij")
        full = {n: m.ravel() for n, m in zip(keep, mesh, strict=True)}
        full |= {n: np.full(mesh[0].size if mesh else 1, float(v)) for n, v in fixed.items()}
        sliced = self(**full, corner=corner).reshape([self.nodes[n].size for n in keep])
        domain = Domain(
            {n: self.domain.ranges[n] for n in keep},
            {n: self.domain.units[n] for n in keep},
            (corner,),
        )
        return GridSurrogate(
            nodes={n: self.nodes[n] for n in keep},
            values=sliced[None],
            method=self.method,
            log_axes={n: t for n, t in self.log_axes.items() if n in keep},
            step_axes=tuple(n for n in self.step_axes if n in keep),
            step_from=self.step_from if set(self.step_axes) <= set(keep) else None,
            circuit=self.circuit,
            quantity=self.quantity,
            units=self.units,
            domain=domain,
            defaults={n: v for n, v in self.defaults.items() if n in keep},
            metrics=self.metrics,
            provenance=self.provenance | {"fixed": fixed, "corner": corner},
            policy=self.policy,
            description=self.description,
        )


def poly_terms(order: int) -> list[tuple[int, int]]:
    """(i, j) exponents of y^i x^j, i outer 0..order, j inner 0..order-i: the paper's order."""
    return [(i, j) for i in range(order + 1) for j in range(order + 1 - i)]


class PolySurrogate(Surrogate):
    """The paper's bivariate polynomial sum c_k x^j y^i (i + j <= order) in the input level x
    and the signed weight y = v_store - mid, one coefficient set per corner and temperature
    (temperature interpolated linearly; the polynomial is linear in its coefficients)."""

    kind = "poly"

    def __init__(
        self,
        *,
        coefficients: Array,
        order: int,
        mid: float,
        temperatures: Array,
        x_input: str = "v_in",
        y_input: str = "v_store",
        scale: float = 1.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        """Shape (corner, temperature, term), in output units / ``scale``."""
        self.order = order
        """Total order."""
        self.mid = mid
        """Mid-rail: y = v_store - mid."""
        self.temperatures = np.asarray(temperatures, dtype=np.float64)
        """Temperatures of the coefficient sets."""
        self.x_input, self.y_input = x_input, y_input
        self.scale = scale
        """Output = scale * polynomial (1e-6 when the coefficients are in uA, as the paper's)."""
        self.terms = poly_terms(order)
        if self.coefficients.shape != (
            len(self.domain.corners),
            self.temperatures.size,
            len(self.terms),
        ):
            raise SurrogateError(f"poly coefficients have shape {self.coefficients.shape}")

    def basis(self, x: Array, y: Array) -> Array:
        """The design matrix, shape (points, terms)."""
        return np.stack([x**j * y**i for i, j in self.terms], axis=-1)

    def _evaluate(self, inputs: dict[str, Array], corner: str) -> Array:
        coefficients = self.coefficients[self.domain.corners.index(corner)]
        x, y = inputs[self.x_input], inputs[self.y_input] - self.mid
        t = inputs.get("temperature")
        if self.temperatures.size == 1 or (t is not None and t.size and np.all(t == t[0])):
            # One coefficient set for every point: sum the terms directly (no basis matrix).
            c0 = (
                coefficients[0]
                if self.temperatures.size == 1
                else self._coefficients_at_temperature(coefficients, np.array([t[0]]))[0]
            )
            x_powers = [np.ones_like(x)] + [x**j for j in range(1, self.order + 1)]
            y_powers = [np.ones_like(y)] + [y**i for i in range(1, self.order + 1)]
            total = np.zeros_like(x)
            for k, (i, j) in enumerate(self.terms):
                total += c0[k] * (x_powers[j] * y_powers[i])
            return self.scale * total
        return self.scale * np.einsum(
            "pk,pk->p", self.basis(x, y), self._coefficients_at_temperature(coefficients, t)
        )

    def _coefficients_at_temperature(self, coefficients: Array, t: Array) -> Array:
        """Coefficient sets (points, terms) linearly interpolated in temperature, continued
        linearly beyond the characterized range (the extrapolate policy)."""
        c = np.stack(
            [np.interp(t, self.temperatures, coefficients[:, k]) for k in range(len(self.terms))],
            axis=-1,
        )
        # np.interp clamps; continue linearly beyond the ends (extrapolate policy)
        for end, neighbour in ((0, 1), (-1, -2)):
            beyond = t < self.temperatures[0] if end == 0 else t > self.temperatures[-1]
            if beyond.any():
                slope = (coefficients[end] - coefficients[neighbour]) / (
                    self.temperatures[end] - self.temperatures[neighbour]
                )
                c[beyond] = coefficients[end] + (t[beyond, None] - self.temperatures[end]) * slope
        return c

    def coefficients_at(self, corner: str | None = None, temperature: float | None = None) -> Array:
        """The coefficient vector (paper's order) of one corner and temperature."""
        coefficients = self.coefficients[self.domain.corners.index(corner or self.default_corner())]
        if self.temperatures.size == 1 or temperature is None:
            return coefficients[0].copy()
        return np.array(
            [
                np.interp(temperature, self.temperatures, coefficients[:, k])
                for k in range(len(self.terms))
            ]
        )


class LeakageSurrogate(Surrogate):
    """V_store after a hold time: the stored waveforms interpolated in (written value,
    log hold time, temperature), the write's feedthrough at t = 0, and beyond the simulated
    hold the fitted exponential v_inf + (v(t_end) - v_inf) exp(-(t - t_end) / tau), so any
    hold time is allowed."""

    kind = "leakage"

    def __init__(
        self,
        *,
        waveform: GridSurrogate,
        tau: GridSurrogate,
        v_inf: GridSurrogate,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.waveform = waveform
        """V_store over (v_store, time, temperature), t = 0 row = the written value."""
        self.tau = tau
        """Fitted retention time constant over (v_store, temperature)."""
        self.v_inf = v_inf
        """Fitted asymptote over (v_store, temperature)."""

    @property
    def t_end(self) -> float:
        """Last simulated hold time, in seconds."""
        return float(self.waveform.nodes["time"][-1])

    def _evaluate(self, inputs: dict[str, Array], corner: str) -> Array:
        time = inputs["time"]
        within = np.minimum(time, self.t_end)
        others = {n: inputs[n] for n in inputs if n != "time"}
        v = self.waveform._evaluate(others | {"time": within}, corner)
        late = time > self.t_end
        if late.any():
            sub = {n: a[late] for n, a in others.items()}
            tau = self.tau._evaluate(sub, corner)
            v_inf = self.v_inf._evaluate(sub, corner)
            decay = np.where(
                np.isfinite(tau) & (tau > 0),
                np.exp(-(time[late] - self.t_end) / np.where(tau > 0, tau, 1.0)),
                1.0,
            )
            v[late] = v_inf + (v[late] - v_inf) * decay
        return v

    def v_store(
        self,
        time: ArrayLike,
        v_written: ArrayLike,
        *,
        temperature: ArrayLike = 27.0,
        corner: str | None = None,
        out_of_domain: str | None = None,
    ) -> Array:
        """Storage-node voltage ``time`` seconds after writing ``v_written``."""
        return self(
            v_store=v_written,
            time=time,
            temperature=temperature,
            corner=corner,
            out_of_domain=out_of_domain,
        )
