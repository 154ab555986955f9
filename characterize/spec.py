"""Sweep specifications: validated dataclasses that round-trip to JSON and load from TOML."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from circuits.pdk import CORNERS

CORE_DEVICE_MAX_V = 1.8
"""Highest terminal voltage of sky130's 1.8 V core devices (nfet_01v8, pfet_01v8[_lvt])."""
TEMPERATURE_RANGE_C = (-55.0, 150.0)
"""Temperatures the sky130 models are meant for, in degrees Celsius."""
MAX_POINTS_PER_AXIS = 2001
"""Upper bound on one swept axis, to catch typos such as 1e6 points."""

PRESET_DIR = Path(__file__).resolve().parent / "presets"
"""Shipped TOML job files."""


class SpecError(ValueError):
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

    def validate(self, name: str, low: float, high: float, unit: str = "V") -> None:
        """Raise :class:`SpecError` if the axis is empty, reversed or outside ``[low, high]``."""
        for label, value in (("start", self.start), ("stop", self.stop)):
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise SpecError(f"axis {name}: {label} must be a finite number, got {value!r}")
        if not isinstance(self.points, int) or isinstance(self.points, bool):
            raise SpecError(f"axis {name}: points must be an integer, got {self.points!r}")
        if self.points < 2:
            raise SpecError(f"axis {name} is empty: it needs at least 2 points, got {self.points}")
        if self.points > MAX_POINTS_PER_AXIS:
            raise SpecError(f"axis {name}: {self.points} points exceeds {MAX_POINTS_PER_AXIS}")
        if self.stop <= self.start:
            raise SpecError(
                f"axis {name} is reversed or empty: start {self.start} {unit} must be below "
                f"stop {self.stop} {unit}"
            )
        if self.start < low or self.stop > high:
            raise SpecError(
                f"axis {name} spans {self.start}..{self.stop} {unit}, outside the devices' "
                f"rating {low}..{high} {unit}"
            )

    @property
    def step(self) -> float:
        """Spacing between values."""
        return (self.stop - self.start) / (self.points - 1)

    def values(self) -> np.ndarray:
        """The axis values."""
        return np.linspace(self.start, self.stop, self.points)

    @classmethod
    def parse(cls, text: str) -> Axis:
        """``"start:stop:points"`` (CLI form) to an axis."""
        parts = text.split(":")
        if len(parts) != 3:
            raise SpecError(f"axis {text!r}: expected start:stop:points, e.g. 0:1.8:37")
        try:
            return cls(float(parts[0]), float(parts[1]), int(parts[2]))
        except ValueError as error:
            raise SpecError(f"axis {text!r}: {error}") from None


@dataclass(frozen=True)
class SweepSpec:
    """What to characterize: a circuit over inner (in-ngspice) axes, corners and temperatures."""

    circuit: str = "multiplier"
    """Registered characterization name (see ``characterize.registry``)."""
    v_in: Axis = Axis(0.0, 1.8, 37)
    """Input level on the read enables, in volts (0 = input inactive, 1.8 = full PWM level)."""
    v_store: Axis = Axis(0.45, 1.35, 91)
    """Stored voltage, in volts (mid-rail 0.9 V; signed weight = v_store - 0.9)."""
    corners: tuple[str, ...] = ("tt",)
    """Process corners, from tt, ss, ff, sf, fs."""
    temperatures: tuple[float, ...] = (27.0,)
    """Temperatures in degrees Celsius."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Circuit-specific settings (kept in the provenance JSON)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "corners", tuple(self.corners))
        object.__setattr__(self, "temperatures", tuple(float(t) for t in self.temperatures))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` naming the first problem."""
        from characterize.registry import get_characterization

        get_characterization(self.circuit)  # raises for an unknown circuit
        self.v_in.validate("v_in", 0.0, CORE_DEVICE_MAX_V)
        self.v_store.validate("v_store", 0.0, CORE_DEVICE_MAX_V)
        if not self.corners:
            raise SpecError("no corners given; choose from " + ", ".join(CORNERS))
        for corner in self.corners:
            if corner not in CORNERS:
                raise SpecError(f"unknown corner {corner!r}; choose from {', '.join(CORNERS)}")
        if len(set(self.corners)) != len(self.corners):
            raise SpecError(f"corners repeat: {', '.join(self.corners)}")
        if not self.temperatures:
            raise SpecError("no temperatures given")
        low, high = TEMPERATURE_RANGE_C
        for temperature in self.temperatures:
            if not math.isfinite(temperature) or not low <= temperature <= high:
                raise SpecError(f"temperature {temperature} C outside {low}..{high} C")
        if len(set(self.temperatures)) != len(self.temperatures):
            raise SpecError("temperatures repeat")

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON and TOML compatible)."""
        data = asdict(self)
        data["corners"] = list(self.corners)
        data["temperatures"] = list(self.temperatures)
        return data

    def to_json(self) -> str:
        """JSON text; :meth:`from_json` reads it back to an equal spec."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepSpec:
        """Build from plain data, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown sweep setting(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        for name in ("v_in", "v_store"):
            if name in values and not isinstance(values[name], Axis):
                axis = values[name]
                if not isinstance(axis, dict) or set(axis) != {"start", "stop", "points"}:
                    raise SpecError(f"axis {name} needs start, stop and points, got {axis!r}")
                values[name] = Axis(**axis)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_toml(cls, path: str | Path) -> SweepSpec:
        """Read a TOML job file (see ``characterize/presets/``). A bare name loads a preset."""
        path = Path(path)
        if not path.suffix and not path.exists():
            path = PRESET_DIR / f"{path.name}.toml"
        if not path.is_file():
            presets = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
            raise SpecError(f"job file {path} not found (shipped presets: {presets})")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise SpecError(f"job file {path}: {error}") from None
        return cls.from_dict(data.get("sweep", data))

    @property
    def points(self) -> int:
        """Total number of simulated points."""
        return self.v_in.points * self.v_store.points * len(self.corners) * len(self.temperatures)
