"""Sweep specifications: validated dataclasses that round-trip to JSON and load from TOML."""

from __future__ import annotations

import json
import math
import sys
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from gaincell.characterize.axes import TEMPERATURE_RANGE_C, Axis, SpecError
from gaincell.characterize.registry import get_characterization
from gaincell.circuits.montecarlo import PROCESS_UNAVAILABLE, MonteCarlo, MonteCarloError
from gaincell.circuits.pdk import CORNERS

PRESET_DIR = Path(__file__).resolve().parent / "presets"
"""Shipped TOML job files."""


MAX_POINTS = 1_000_000
"""Largest sweep run without ``--max-points`` (the largest shipped preset has 101,010)."""


@dataclass(frozen=True)
class SweepSpec:
    """What to characterize: a circuit over in-ngspice axes, corners and temperatures."""

    circuit: str = "multiplier"
    """Registered characterization name (see ``gaincell.characterize.registry``)."""
    axes: dict[str, Axis] = field(default_factory=dict)
    """In-ngspice axes by name (e.g. ``v_in``, ``v_store``); missing ones take the circuit's
    defaults."""
    corners: tuple[str, ...] = ("tt",)
    """Process corners, from tt, ss, ff, sf, fs."""
    temperatures: tuple[float, ...] = (27.0,)
    """Temperatures in degrees Celsius."""
    settings: dict[str, float] = field(default_factory=dict)
    """Circuit settings (time step, hold time, ...); missing ones take the circuit's defaults."""
    monte_carlo: MonteCarlo | None = None
    """Monte Carlo samples (None: the nominal models). Each sample repeats the whole sweep."""

    def __post_init__(self) -> None:
        characterization = get_characterization(self.circuit)  # raises for an unknown circuit
        if self.monte_carlo is not None:
            try:
                object.__setattr__(self, "monte_carlo", MonteCarlo.from_dict(self.monte_carlo))
            except (MonteCarloError, TypeError) as error:
                raise SpecError(str(error)) from None
        object.__setattr__(self, "corners", tuple(self.corners))
        object.__setattr__(self, "temperatures", tuple(float(t) for t in self.temperatures))
        unknown = set(self.axes) - set(characterization.axis_specs)
        if unknown:
            raise SpecError(
                f"{self.circuit} has no axis {', '.join(sorted(unknown))}; its axes: "
                f"{', '.join(characterization.axis_specs)}"
            )
        unknown = set(self.settings) - set(characterization.setting_specs)
        if unknown:
            raise SpecError(
                f"{self.circuit} has no setting {', '.join(sorted(unknown))}; its settings: "
                f"{', '.join(characterization.setting_specs) or 'none'}"
            )
        axes = {name: a.default for name, a in characterization.axis_specs.items()}
        axes.update(self.axes)
        # floats throughout (mac-chain's seed defaults to an int): to_json is then the same
        # text after a round trip
        settings = {name: float(a.default) for name, a in characterization.setting_specs.items()}
        settings.update({k: float(v) for k, v in self.settings.items()})
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "settings", settings)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`SpecError` naming the first problem."""
        characterization = get_characterization(self.circuit)
        for name in characterization.axis_specs:
            self.axes[name].check_form(name)  # the circuit's own checks compute with the axes
        characterization.check_spec(self)  # next: its messages name the physical quantity
        for name, axis_spec in characterization.axis_specs.items():
            self.axes[name].validate(name, axis_spec.low, axis_spec.high, axis_spec.units)
        for name, setting in characterization.setting_specs.items():
            value = self.settings[name]
            if not math.isfinite(value):
                raise SpecError(f"setting {name} must be a finite number, got {value}")
            if setting.positive and value <= 0:
                raise SpecError(f"setting {name} must be positive, got {value:g} {setting.units}")
            if not setting.low <= value <= setting.high:
                raise SpecError(
                    f"setting {name} = {value:g} {setting.units} outside "
                    f"{setting.low:g}..{setting.high:g} {setting.units}"
                )
        if self.monte_carlo is not None and self.monte_carlo.process:
            raise SpecError(PROCESS_UNAVAILABLE)
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

    @property
    def v_in(self) -> Axis:
        """The ``v_in`` axis (multiplier)."""
        return self.axes["v_in"]

    @property
    def v_store(self) -> Axis:
        """The ``v_store`` axis (multiplier, leakage)."""
        return self.axes["v_store"]

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON and TOML compatible)."""
        return {
            "circuit": self.circuit,
            "axes": {name: asdict(axis) for name, axis in self.axes.items()},
            "corners": list(self.corners),
            "temperatures": list(self.temperatures),
            "settings": dict(self.settings),
        } | ({"monte_carlo": self.monte_carlo.to_dict()} if self.monte_carlo else {})

    def to_json(self) -> str:
        """JSON text; :meth:`from_json` reads it back to an equal spec."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepSpec:
        """Build from plain data, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict):
            raise SpecError(f"a sweep is a table of settings, got {type(data).__name__}")
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown sweep setting(s): {', '.join(sorted(unknown))}")
        _check_types(data)
        values = dict(data)
        axes = {}
        for name, axis in dict(values.get("axes", {})).items():
            if isinstance(axis, Axis):
                axes[name] = axis
                continue
            if (
                not isinstance(axis, dict)
                or not {"start", "stop", "points"} <= set(axis)
                or not (set(axis) <= {"start", "stop", "points", "scale"})
            ):
                raise SpecError(f"axis {name} needs start, stop and points, got {axis!r}")
            axes[name] = Axis(**axis)
        values["axes"] = axes
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except ValueError as error:  # not JSON, or an integer of thousands of digits
            raise SpecError(f"a sweep spec is JSON text: {error}") from None
        return cls.from_dict(data)

    @classmethod
    def from_recorded(cls, recorded: str | dict[str, Any]) -> SweepSpec:
        """The spec a characterization file records (its ``sweep_spec`` provenance: JSON text,
        or the dict :func:`read_characterization` decodes it to)."""
        return cls.from_dict(recorded) if isinstance(recorded, dict) else cls.from_json(recorded)

    @classmethod
    def from_toml(cls, path: str | Path) -> SweepSpec:
        """Read a TOML job file (see ``characterize/presets/``). A bare name loads a preset."""
        data = read_job(path)
        return cls.from_dict(data.get("sweep", {k: v for k, v in data.items() if k != "run"}))

    @property
    def inner_points(self) -> int:
        """Points per corner and temperature."""
        return int(np.prod([axis.points for axis in self.axes.values()]))

    @property
    def samples(self) -> int:
        """Monte Carlo samples (1 without Monte Carlo)."""
        return self.monte_carlo.samples if self.monte_carlo else 1

    @property
    def points(self) -> int:
        """Total number of simulated points."""
        return self.inner_points * len(self.corners) * len(self.temperatures) * self.samples

    def check_size(self, max_points: int = MAX_POINTS) -> None:
        """Refuse a sweep of more than ``max_points`` points (a typo in an axis can ask for
        days of SPICE)."""
        if self.points > max_points:
            raise SpecError(
                f"the sweep has {self.points:,} points (axes x corners x temperatures"
                f"{' x samples' if self.monte_carlo else ''}), over "
                f"the limit of {max_points:,}; --max-points raises it"
            )


def read_job(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML job file: ``[sweep]`` (what to simulate) and optionally ``[run]``
    (how: :data:`RUN_KEYS`). A bare name is a shipped preset."""
    path = Path(path)
    try:
        if not path.suffix and not path.exists():
            path = PRESET_DIR / f"{path.name}.toml"
        found = path.is_file()
        # ValueError: not UTF-8, not TOML, or an integer of thousands of digits
        data = tomllib.loads(path.read_text()) if found else None
    except (OSError, ValueError) as error:  # OSError: a name too long, unreadable
        raise SpecError(f"job file {path}: {error}") from None
    if data is None:
        presets = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
        raise SpecError(f"job file {path} not found (shipped presets: {presets})")
    return data


RUN_KEYS: dict[str, str] = {
    "jobs": "worker processes (integer; 0 or -1 = all cores)",
    "backend": "local or dask",
    "scheduler": "Dask scheduler address, e.g. tcp://10.0.0.5:8786",
    "timeout": "seconds one analysis may run (number)",
    "max_memory_mb": "megabytes a worker may hold while an analysis runs (number)",
    "recycle_after": "tasks a local worker runs before it is replaced (integer)",
}
"""Keys of a job file's ``[run]`` table (the command line overrides them)."""


def run_table(path: str | Path) -> dict[str, Any]:
    """The ``[run]`` table of a job file, type-checked (empty if it has none)."""
    table = read_job(path).get("run", {})
    if not isinstance(table, dict):
        raise SpecError(f"[run] must be a table, got {table!r}")
    for key, value in table.items():
        if key not in RUN_KEYS:
            raise SpecError(f"[run] has unknown key {key!r}; known: {', '.join(RUN_KEYS)}")
        integer = key in ("jobs", "recycle_after")
        text = key in ("backend", "scheduler")
        ok = (
            isinstance(value, str)
            if text
            else (isinstance(value, int) and not isinstance(value, bool))
            if integer
            else _is_number(value)
        )
        if not ok:
            raise SpecError(f"[run] {key} must be {RUN_KEYS[key]}, got {value!r}")
    return table


def _is_number(value: Any) -> bool:
    """An int or float, not a bool, that converts to a float (JSON and TOML integers have
    any size: 10**400 would raise OverflowError later)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return isinstance(value, float) or abs(value) <= sys.float_info.max


def _check_types(data: dict[str, Any]) -> None:
    """Job files and recorded specs hold exactly these types: a string is never a list, a
    number is never a string (``temperatures = "27"`` would otherwise run at 2 and 7 C)."""
    if "circuit" in data and not isinstance(data["circuit"], str):
        raise SpecError(f"circuit must be a name (a string), got {data['circuit']!r}")
    for key, element, what in (
        ("corners", lambda v: isinstance(v, str), "names"),
        ("temperatures", _is_number, "numbers (degrees C)"),
    ):
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, list | tuple) or not all(element(v) for v in value):
            raise SpecError(f"{key} must be a list of {what}, e.g. [27, 85]; got {value!r}")
    for key in ("axes", "settings"):
        if key in data and not isinstance(data[key], dict):
            raise SpecError(f"{key} must be a table (name = ...), got {data[key]!r}")
    for name, value in data.get("settings", {}).items():
        if not _is_number(value):
            raise SpecError(f"setting {name} must be a number, got {value!r}")
    for name, axis in data.get("axes", {}).items():
        if isinstance(axis, Axis):
            continue
        if not isinstance(axis, dict):
            raise SpecError(f"axis {name} must be a table with start, stop, points, got {axis!r}")
        for key in ("start", "stop"):
            if key in axis and not _is_number(axis[key]):
                raise SpecError(f"axis {name}: {key} must be a number, got {axis[key]!r}")
        if "points" in axis and (
            not isinstance(axis["points"], int) or isinstance(axis["points"], bool)
        ):
            raise SpecError(f"axis {name}: points must be an integer, got {axis['points']!r}")
        if "scale" in axis and axis["scale"] not in ("linear", "log"):
            raise SpecError(f"axis {name}: scale must be linear or log, got {axis['scale']!r}")
