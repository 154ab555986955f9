"""A charge-to-pulse converter's transfer at one corner and temperature, with its step.

Neither converter is continuous at small charge: the ReLU converter gives no pulse up to a
threshold charge and then at once its minimum pulse (the comparator's delay, about 0.7 ns,
Phi of about 0.05); the signed converter's output is a V whose two flanks meet at the sign
flip. Interpolating the characterized grid linearly across the step smears it over a whole
grid interval, so a column charge a few fC above the threshold would come out as a fraction
of the minimum pulse. :class:`ConverterTransfer` keeps the step where the characterization
located it (``on_threshold`` / ``sign_threshold`` in the surrogate's aux data, see
``surrogate.fit``) and continues each branch linearly from its two nearest grid nodes up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.surrogate.models import GridSurrogate, SurrogateError

Array = NDArray[np.float64]


def aux_at(model: GridSurrogate, name: str, corner: str, temperature: float) -> float:
    """A per-corner-and-temperature aux entry of ``model`` at ``temperature`` (linear in
    temperature between the characterized ones, like the surrogates themselves)."""
    if name not in model.aux:
        raise SurrogateError(f"{model.name} has no {name!r}; refit it from a current file")
    values = np.asarray(model.aux[name][0], dtype=np.float64)
    temperatures = np.asarray(model.aux["temperatures"][0], dtype=np.float64)
    row = values[model.domain.corners.index(corner)]
    return float(np.interp(temperature, temperatures, row))


@dataclass(frozen=True)
class ConverterTransfer:
    """Output width over column charge, with the step at ``threshold``."""

    charge: Array
    """Table nodes [C], increasing; the step is a pair of nodes one ulp apart."""
    width: Array
    """Output width at the nodes [s]."""
    threshold: float
    """Charge of the step [C]: the ReLU's first pulse above it, the signed converter's
    negative sign below it."""
    signed: bool
    """Whether the converter outputs a sign (False: ReLU, no pulse below the threshold)."""

    @classmethod
    def from_surrogate(
        cls, model: GridSurrogate, corner: str, temperature: float, *, step: bool = True
    ) -> ConverterTransfer:
        """The converter of a ``relu-c2p`` or ``signed-c2p`` width surrogate at one corner
        and temperature; ``step=False`` interpolates across the threshold like any grid."""
        signed = "sign_threshold" in model.aux
        one = model.at(corner=corner, temperature=temperature)
        nodes, widths = one.nodes["charge"], one.values[0]
        name = "sign_threshold" if signed else "on_threshold"
        # Surrogates fitted before the step was characterized: no step (the sign at 0 C).
        threshold = aux_at(model, name, corner, temperature) if name in model.aux else np.nan
        if signed and not np.isfinite(threshold):
            threshold = 0.0
        if not step or not np.isfinite(threshold) or not nodes[1] < threshold < nodes[-2]:
            return cls(nodes, widths, threshold, signed)  # no step characterized
        below, above = nodes < threshold, nodes > threshold
        left_nodes, left_widths = nodes[below], widths[below]
        right_nodes, right_widths = nodes[above], widths[above]
        if signed:  # the negative flank continued to the flip
            left_end = _extend(left_nodes[-2:], left_widths[-2:], threshold)
        else:  # no pulse below the threshold
            left_widths = np.zeros_like(left_widths)
            left_end = 0.0
        right_end = _extend(right_nodes[:2], right_widths[:2], threshold)
        step = np.array([threshold, np.nextafter(threshold, np.inf)])
        charge = np.concatenate([left_nodes, step, right_nodes])
        ends = [max(left_end, 0.0), max(right_end, 0.0)]
        width = np.concatenate([left_widths, ends, right_widths])
        return cls(charge, width, threshold, signed)

    def __call__(self, charge: ArrayLike) -> tuple[Array, NDArray[np.bool_]]:
        """Width [s] (flat beyond the characterized charges) and the sign output (True =
        negative; always False for the ReLU converter)."""
        q = np.asarray(charge, dtype=np.float64)
        width = np.interp(q, self.charge, self.width)
        negative = q < self.threshold if self.signed else np.zeros(q.shape, dtype=bool)
        return width, negative


def _extend(nodes: Array, widths: Array, at: float) -> float:
    """The straight line through two nodes, evaluated at ``at``."""
    slope = (widths[1] - widths[0]) / (nodes[1] - nodes[0])
    return float(widths[0] + slope * (at - nodes[0]))
