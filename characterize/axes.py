"""Swept axes, per-circuit axis and setting limits, and the error bad specifications raise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaincell.errors import GaincellError

CORE_DEVICE_MAX_V = 1.8
"""Highest terminal voltage of sky130's 1.8 V core devices (nfet_01v8, pfet_01v8[_lvt])."""
TEMPERATURE_RANGE_C = (-55.0, 150.0)
"""Temperatures the sky130 models are meant for, in degrees Celsius."""
MAX_POINTS_PER_AXIS = 2001
"""Upper bound on one swept axis, to catch typos such as 1e6 points."""
RESOLUTION = 1e-9
"""Smallest spacing of adjacent axis values, relative to the larger of the two."""


class SpecError(GaincellError, ValueError):
    """A sweep specification that cannot be run."""


@dataclass(frozen=True)
class Axis:
    """A linearly spaced swept axis: ``points`` values from ``start`` to ``stop`` inclusive."""

    start: float
    """First value (volts for voltage axes)."""
    stop: float
    """Last value; must be greater than ``start``."""
    points: int
    """Number of values, at least 2."""
    scale: str = "linear"
    """``linear`` or ``log`` (geometric spacing; needs a positive start)."""

    def check_form(self, name: str) -> None:
        """Raise :class:`SpecError` unless :meth:`values` and :attr:`step` can be computed:
        finite ends, an integer number of points in 2..:data:`MAX_POINTS_PER_AXIS`, a known
        scale. Runs before a characterization's own checks, which use them."""
        for label, value in (("start", self.start), ("stop", self.stop)):
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise SpecError(f"axis {name}: {label} must be a finite number, got {value!r}")
        if not isinstance(self.points, int) or isinstance(self.points, bool):
            raise SpecError(f"axis {name}: points must be an integer, got {self.points!r}")
        if self.points < 2:
            raise SpecError(f"axis {name} is empty: it needs at least 2 points, got {self.points}")
        if self.points > MAX_POINTS_PER_AXIS:
            raise SpecError(f"axis {name}: {self.points} points exceeds {MAX_POINTS_PER_AXIS}")
        if self.scale not in ("linear", "log"):
            raise SpecError(f"axis {name}: scale must be linear or log, got {self.scale!r}")

    def validate(self, name: str, low: float, high: float, unit: str = "V") -> None:
        """Raise :class:`SpecError` if the axis is empty, reversed or outside ``[low, high]``."""
        self.check_form(name)
        if self.stop <= self.start:
            raise SpecError(
                f"axis {name} is reversed or empty: start {self.start} {unit} must be below "
                f"stop {self.stop} {unit}"
            )
        if self.scale == "log" and self.start <= 0:
            raise SpecError(f"axis {name}: a log axis needs a positive start, got {self.start}")
        if self.start < low or self.stop > high:
            raise SpecError(
                f"axis {name} spans {self.start}..{self.stop} {unit}, outside the devices' "
                f"rating {low}..{high} {unit}"
            )
        # Decks carry values to 9..12 digits: neighbours that close would be one value to
        # ngspice (or to numpy: 0.1 .. 0.1 + 1e-17 in 5 points is five equal values).
        values = self.values()
        magnitude = np.maximum(np.abs(values[:-1]), np.abs(values[1:]))
        if not np.all(np.diff(values) > RESOLUTION * magnitude):
            raise SpecError(
                f"axis {name}: {self.points} points over {self.start}..{self.stop} {unit} are "
                f"closer than {RESOLUTION:g} of its values; use fewer points or a wider span"
            )

    @property
    def step(self) -> float:
        """Spacing between values (linear axes)."""
        return (self.stop - self.start) / (self.points - 1)

    def values(self) -> np.ndarray:
        """The axis values."""
        if self.scale == "log":
            return np.geomspace(self.start, self.stop, self.points)
        return np.linspace(self.start, self.stop, self.points)

    @classmethod
    def parse(cls, text: str, name: str = "") -> Axis:
        """``"start:stop:points[:log]"`` (CLI form) to an axis; ``name`` labels errors."""
        label = f"axis {name} = {text!r}" if name else f"axis {text!r}"
        parts = text.split(":")
        if len(parts) not in (3, 4):
            raise SpecError(f"{label}: expected start:stop:points, e.g. 0:1.8:37")
        try:
            scale = parts[3] if len(parts) == 4 else "linear"
            return cls(float(parts[0]), float(parts[1]), int(parts[2]), scale)
        except ValueError as error:
            raise SpecError(f"{label}: {error}") from None


@dataclass(frozen=True)
class AxisSpec:
    """What a characterization accepts on one in-ngspice axis."""

    default: Axis
    """Axis used when a spec does not give one."""
    low: float
    """Lowest allowed value (device rating or physical limit)."""
    high: float
    """Highest allowed value."""
    units: str
    """Units of the values."""
    description: str
    """What the axis is."""
    holdout_points: int | None = None
    """Lattice points along this axis in a surrogate's SPICE hold-out (None: the fit's
    default); set for axes that cost one transient per value."""


@dataclass(frozen=True)
class SettingSpec:
    """A scalar setting of a characterization (time step, hold time, ...)."""

    default: float
    """Value used when a spec does not give one."""
    low: float
    """Smallest allowed value."""
    high: float
    """Largest allowed value."""
    units: str
    """Units."""
    description: str
    """What it sets."""
    positive: bool = True
    """Whether zero is excluded."""
