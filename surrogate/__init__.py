"""Surrogate models fitted from characterization files, validated against fresh SPICE.

    from gaincell.surrogate import load, fit, FitOptions
    multiplier = load("multiplier")            # shipped name, or load("path/to/file.h5")
    i_out = multiplier(v_store=1.2, v_in=1.8, temperature=27.0, corner="tt")
    multiplier.domain, multiplier.metrics, multiplier.provenance

    model = fit("data.h5", FitOptions(kind="poly", order=3), jobs=2)   # + fresh SPICE hold-out

Loading and evaluating need neither ngspice nor the PDK. See ``surrogate/README.md`` for the
model kinds, the file layout and how to add a kind.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from gaincell.surrogate.models import (
    POLICIES,
    Domain,
    GridSurrogate,
    LeakageSurrogate,
    Metrics,
    PolySurrogate,
    Surrogate,
    SurrogateError,
    Validation,
)
from gaincell.surrogate.store import load, save, shipped

if TYPE_CHECKING:
    from gaincell.surrogate.fitting import FitOptions, fit

__all__ = [
    "POLICIES",
    "Domain",
    "FitOptions",
    "GridSurrogate",
    "LeakageSurrogate",
    "Metrics",
    "PolySurrogate",
    "Surrogate",
    "SurrogateError",
    "Validation",
    "fit",
    "load",
    "save",
    "shipped",
]


def __getattr__(name: str) -> Any:
    """``fit`` and ``FitOptions`` (the real ones) are imported on first use: fitting needs
    the characterization layer, loading and evaluating never do."""
    if name in ("fit", "FitOptions"):
        return getattr(import_module("gaincell.surrogate.fitting"), name)
    raise AttributeError(f"module 'gaincell.surrogate' has no attribute {name!r}")
