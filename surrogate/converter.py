"""A charge-to-pulse converter's transfer at one corner and temperature, with its step.

Neither converter is continuous at small charge: the ReLU converter gives no pulse up to a
threshold charge and then at once its minimum pulse (the comparator's delay, about 0.7 ns,
Phi of about 0.05); the signed converter's output is a V whose two flanks meet at the sign
flip. Interpolating the characterized grid linearly across the step smears it over a whole
grid interval, so a column charge a few fC above the threshold would come out as a fraction
of the minimum pulse. :class:`ConverterTransfer` keeps the step where the characterization
located it (``on_threshold`` / ``sign_threshold`` in the surrogate's aux data, see
``surrogate.fit``) and continues each branch linearly from its two nearest grid nodes up to it.
With a ``*-c2p-step`` surrogate (:mod:`characterize.converter_step`: the switching point found
by bisection to 0.03 fC, and the output at 0.05 .. 3.2 fC either side of it) the step sits at
that point and the transfer within those offsets comes from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gaincell.surrogate.models import GridSurrogate, SurrogateError

Array = NDArray[np.float64]


NEAR_SAMPLES = 25
"""Offsets (log-spaced over the step surrogate's range) at which the transfer near a
switching point is tabulated."""


def aux_at(model: GridSurrogate, name: str, corner: str, temperature: float) -> Any:
    """A per-corner-and-temperature aux entry of ``model`` at ``temperature`` (linear in
    temperature between the characterized ones, like the surrogates themselves): a float,
    or an array for entries with more axes after temperature (e.g. offset)."""
    if name not in model.aux:
        raise SurrogateError(f"{model.name} has no {name!r}; refit it from a current file")
    values = np.asarray(model.aux[name][0], dtype=np.float64)
    temperatures = np.asarray(model.aux["temperatures"][0], dtype=np.float64)
    rows = values[model.domain.corners.index(corner)]  # (temperature, ...)
    if rows.ndim == 1:
        return float(np.interp(temperature, temperatures, rows))
    flat = rows.reshape(rows.shape[0], -1)
    at = [np.interp(temperature, temperatures, column) for column in flat.T]
    return np.array(at).reshape(rows.shape[1:])


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
        cls,
        model: GridSurrogate,
        corner: str,
        temperature: float,
        *,
        step: bool = True,
        near: GridSurrogate | None = None,
    ) -> ConverterTransfer:
        """The converter of a ``relu-c2p`` or ``signed-c2p`` width surrogate at one corner
        and temperature; ``step=False`` interpolates across the threshold like any grid.
        ``near``: the converter's ``*-c2p-step`` surrogate (the switching point and the
        transfer around it), used with ``step``."""
        signed = "sign_threshold" in model.aux
        one = model.at(corner=corner, temperature=temperature)
        nodes, widths = one.nodes["charge"], one.values[0]
        name = "sign_threshold" if signed else "on_threshold"
        if step and near is not None:
            return cls._from_near(nodes, widths, near, corner, temperature, signed)
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

    @classmethod
    def _from_near(
        cls,
        nodes: Array,
        widths: Array,
        near: GridSurrogate,
        corner: str,
        temperature: float,
        signed: bool,
    ) -> ConverterTransfer:
        """The charge grid with the switching points and the transfer around them from a
        ``*-c2p-step`` surrogate: below the sign flip the negative flank (signed), from the
        flip (or for the ReLU from below) up to where the pulse appears nothing, above it the
        surrogate's width; each branch continued linearly from its two nearest nodes to its
        switching point, and each switch a step (two nodes an ulp apart)."""
        if "on_threshold" not in near.aux or signed != ("sign_threshold" in near.aux):
            raise SurrogateError(f"{near.name} is not this converter's step surrogate")
        on = aux_at(near, "on_threshold", corner, temperature)
        one = near.at(corner=corner, temperature=temperature)
        # The surrogate between its offsets (it may interpolate on a log scale), sampled
        # densely for the piecewise-linear table.
        nodes_offset = one.nodes["offset"]
        offsets = np.geomspace(nodes_offset[0], nodes_offset[-1], NEAR_SAMPLES)
        above = np.asarray(one(offset=offsets), dtype=np.float64).ravel()
        reach = offsets[-1]
        pieces_q: list[Array] = []
        pieces_w: list[Array] = []
        if signed:
            flip = aux_at(near, "sign_threshold", corner, temperature)
            below_nodes = aux_at(near, "width_below", corner, temperature)
            below = np.interp(np.log(offsets), np.log(nodes_offset), below_nodes)
            far_below = nodes < flip - reach
            flank_q = np.concatenate([nodes[far_below], (flip - offsets)[::-1]])
            flank_w = np.concatenate([widths[far_below], below[::-1]])
            end = max(_extend(flank_q[-2:], flank_w[-2:], flip), 0.0)
            threshold = flip
            after_flip = np.nextafter(flip, np.inf)
            on = max(on, after_flip)  # no dead band: the pulse right after the flip
            from_nothing = on > after_flip  # a dead band: no pulse up to ``on``
            pieces_q += [flank_q, np.array([flip, after_flip][: 1 + from_nothing])]
            pieces_w += [flank_w, np.array([end, 0.0][: 1 + from_nothing])]
        else:
            far_below = nodes < on - reach
            pieces_q.append(nodes[far_below])
            pieces_w.append(np.zeros(int(far_below.sum())))
            threshold, from_nothing = on, True
        far_above = nodes > on + reach
        rise_q = np.concatenate([on + offsets, nodes[far_above]])
        rise_w = np.concatenate([above, widths[far_above]])
        start = max(_extend(rise_q[:2], rise_w[:2], on), 0.0)
        # The pulse switches on at ``on``: from nothing, or (no dead band) right after the flip.
        switch_on = [0.0, start] if from_nothing else [start]
        pieces_q += [np.array([on, np.nextafter(on, np.inf)][: len(switch_on)]), rise_q]
        pieces_w += [np.array(switch_on), rise_w]
        charge, width = np.concatenate(pieces_q), np.concatenate(pieces_w)
        order = np.argsort(charge, kind="stable")
        return cls(charge[order], width[order], threshold, signed)

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
