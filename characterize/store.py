"""HDF5 characterization files: one dataset per quantity and per axis, provenance as attributes.

Layout::

    /                       attrs: format, format_version, circuit, provenance (see below)
    /axes/<axis>            one dataset per axis (numbers, or strings for corner), attrs units,
                            description; attached as HDF5 dimension scales
    /<quantity>             float64, shape = axis lengths in the order of its ``axes`` attr;
                            attrs: axes (names), units, description

Provenance attributes: ngspice_version, pdk_name, pdk_version, model_files_sha256 (JSON
``{path: sha256}``), netlist (text), netlist_sha256, sweep_spec (JSON), package_version,
git_commit, created (UTC, ISO 8601), plus anything the writer adds (e.g. ``failures``).

Files are written to a temporary name in the same folder and renamed when complete, so a crash
or bad input never leaves a partial file at the requested path; an existing file is replaced
only with ``overwrite``. Every dataset carries a ``sha256`` attribute that reading verifies
(see :mod:`gaincell.circuits.h5`).
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gaincell.circuits.h5 import CHECKSUMS_ATTR, FILE_ATTRS, StoreError, atomic_h5, open_h5

FORMAT = "gaincell-characterization"
"""Value of the root ``format`` attribute."""
FORMAT_VERSION = 1
"""Schema version; readers reject newer files."""

REQUIRED_PROVENANCE = (
    "ngspice_version",
    "pdk_name",
    "pdk_version",
    "model_files_sha256",
    "netlist",
    "netlist_sha256",
    "sweep_spec",
    "package_version",
    "git_commit",
    "created",
)


def _attr(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True)
    return value


@dataclass
class AxisData:
    """One axis of a characterization."""

    values: np.ndarray
    """Axis values (strings for ``corner``)."""
    units: str
    """Units (``""`` for corner)."""
    description: str
    """What the axis is."""


@dataclass
class CharacterizationData:
    """A characterization file in memory."""

    circuit: str
    """Characterization name, e.g. ``multiplier``."""
    axes: dict[str, AxisData]
    """Axis name -> values, outermost first."""
    quantities: dict[str, np.ndarray]
    """Quantity name -> array over all axes."""
    quantity_axes: dict[str, tuple[str, ...]]
    """Quantity name -> the axis names of its dimensions."""
    units: dict[str, str]
    """Quantity name -> units."""
    descriptions: dict[str, str]
    """Quantity name -> description."""
    provenance: dict[str, Any]
    """Provenance attributes (JSON ones decoded)."""

    def select(self, quantity: str, **index: Any) -> np.ndarray:
        """Slice ``quantity`` by axis value: ``select("i_out", corner="tt", temperature=27)``."""
        data = self.quantities[quantity]
        slicer: list[Any] = []
        for axis in self.quantity_axes[quantity]:
            if axis in index:
                values = self.axes[axis].values
                wanted = index[axis]
                if values.dtype.kind in "OUS":
                    matches = np.flatnonzero(values == wanted)
                else:  # relative to the axis' scale: charges are ~1e-12, times ~1e-9
                    scale = float(np.max(np.abs(values))) or 1.0
                    matches = np.flatnonzero(
                        np.isclose(values, wanted, rtol=1e-9, atol=1e-9 * scale)
                    )
                if matches.size == 0:
                    raise StoreError(f"{axis}={wanted!r} not in {list(values)}")
                slicer.append(int(matches[0]))
            else:
                slicer.append(slice(None))
        return data[tuple(slicer)]


def write_characterization(
    path: str | Path, data: CharacterizationData, *, overwrite: bool = False
) -> Path:
    """Write ``data`` atomically, replacing an existing file only with ``overwrite``; raises
    :class:`StoreError` if provenance is incomplete."""
    missing = [key for key in REQUIRED_PROVENANCE if key not in data.provenance]
    if missing:
        raise StoreError(f"provenance lacks {', '.join(missing)}")
    path = Path(path)
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs["format"] = FORMAT
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["circuit"] = data.circuit
        for key, value in data.provenance.items():
            if key not in FILE_ATTRS:  # facts about the file it was read from
                h5.attrs[key] = _attr(value)
        axes_group = h5.create_group("axes")
        for name, axis in data.axes.items():
            values = axis.values
            if values.dtype.kind in "OUS":
                values = np.asarray(values, dtype=h5py.string_dtype())
            dataset = axes_group.create_dataset(name, data=values)
            dataset.attrs["units"] = axis.units
            dataset.attrs["description"] = axis.description
            dataset.make_scale(name)
        for name, array in data.quantities.items():
            names = data.quantity_axes[name]
            expected = tuple(len(data.axes[a].values) for a in names)
            if array.shape != expected:
                raise StoreError(f"{name} has shape {array.shape}, axes {names} say {expected}")
            dataset = h5.create_dataset(name, data=np.asarray(array, dtype=np.float64))
            dataset.attrs["axes"] = list(names)
            dataset.attrs["units"] = data.units[name]
            dataset.attrs["description"] = data.descriptions[name]
            for dim, axis_name in enumerate(names):
                dataset.dims[dim].attach_scale(axes_group[axis_name])
    return path


def read_characterization(path: str | Path) -> CharacterizationData:
    """Read a file written by :func:`write_characterization`; clear errors for anything else."""
    path = Path(path)
    with open_h5(path, "characterization", StoreError) as h5:
        if h5.attrs.get("format") != FORMAT:
            raise StoreError(f"{path} is not a gaincell characterization file")
        if int(h5.attrs.get("format_version", 0)) > FORMAT_VERSION:
            raise StoreError(
                f"{path} has format version {h5.attrs['format_version']}, newer than this code"
            )
        axes = {}
        for name, dataset in h5["axes"].items():
            values = dataset[()]
            if dataset.dtype.kind == "O":
                values = np.array([v.decode() if isinstance(v, bytes) else v for v in values])
            axes[name] = AxisData(
                values, str(dataset.attrs["units"]), str(dataset.attrs["description"])
            )
        quantities, quantity_axes, units, descriptions = {}, {}, {}, {}
        for name, dataset in h5.items():
            if isinstance(dataset, h5py.Dataset):
                quantities[name] = dataset[()]
                quantity_axes[name] = tuple(str(a) for a in dataset.attrs["axes"])
                units[name] = str(dataset.attrs["units"])
                descriptions[name] = str(dataset.attrs["description"])
        provenance: dict[str, Any] = {}
        for key, value in h5.attrs.items():
            if key in ("format", "format_version", "circuit", CHECKSUMS_ATTR):
                continue
            if isinstance(value, str) and value[:1] in "{[":
                with suppress(json.JSONDecodeError):
                    value = json.loads(value)
            provenance[key] = value
        order = list(quantity_axes[next(iter(quantity_axes))]) if quantity_axes else list(axes)
        axes = {name: axes[name] for name in order + [a for a in axes if a not in order]}
        return CharacterizationData(
            str(h5.attrs["circuit"]),
            axes,
            quantities,
            quantity_axes,
            units,
            descriptions,
            provenance,
        )
