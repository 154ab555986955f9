"""gaincell: SPICE-backed characterization of gain-cell analog in-memory-computing attention.

Layers, data flowing one way (each a subpackage; the CLI, :mod:`gaincell.cli`, sits on top):

- :mod:`gaincell.circuits`: design constants, sky130 model decks, netlists, the ngspice runner,
  file helpers (HDF5, SHA-256, provenance);
- :mod:`gaincell.characterize`: sweeps of each circuit (and whole SPICE tiles) into HDF5 files;
- :mod:`gaincell.surrogate`: models fitted to those files, validated on fresh SPICE points;
- :mod:`gaincell.attention`: numpy models of an attention head built on the surrogates;
- :mod:`gaincell.figures`: plots from stored files.

The main names are re-exported here (imported on first use, so ``import gaincell`` is cheap)::

    from gaincell import load, fit, SweepSpec, run_sweep, GainCellHead, GaincellError
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from gaincell.errors import GaincellError

try:
    __version__ = version("gaincell")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "load": "gaincell.surrogate",
    "fit": "gaincell.surrogate",
    "FitOptions": "gaincell.surrogate",
    "Surrogate": "gaincell.surrogate",
    "SweepSpec": "gaincell.characterize",
    "Axis": "gaincell.characterize",
    "run_sweep": "gaincell.characterize",
    "read_characterization": "gaincell.characterize",
    "GainCellHead": "gaincell.attention",
    "HeadConfig": "gaincell.attention",
    "HeadCircuits": "gaincell.attention",
    "behavioural_attention": "gaincell.attention",
}
"""Re-exported name -> the subpackage that defines it."""

__all__ = [
    "Axis",
    "FitOptions",
    "GainCellHead",
    "GaincellError",
    "HeadCircuits",
    "HeadConfig",
    "Surrogate",
    "SweepSpec",
    "__version__",
    "behavioural_attention",
    "fit",
    "load",
    "read_characterization",
    "run_sweep",
]

if TYPE_CHECKING:
    from gaincell.attention import (
        GainCellHead,
        HeadCircuits,
        HeadConfig,
        behavioural_attention,
    )
    from gaincell.characterize import Axis, SweepSpec, read_characterization, run_sweep
    from gaincell.surrogate import FitOptions, Surrogate, fit, load


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gaincell' has no attribute {name!r}")
