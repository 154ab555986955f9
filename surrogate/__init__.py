"""Surrogate models fitted from characterization files, validated against fresh SPICE.

    from surrogate import load
    multiplier = load("multiplier")            # shipped name, or load("path/to/file.h5")
    i_out = multiplier(v_store=1.2, v_in=1.8, temperature=27.0, corner="tt")
    multiplier.domain, multiplier.metrics, multiplier.provenance

Loading and evaluating need neither ngspice nor the PDK. See ``surrogate/README.md`` for the
model kinds, the file layout and how to add a kind.
"""

from surrogate.models import (
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
from surrogate.store import load, save, shipped

__all__ = [
    "POLICIES",
    "Domain",
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


def fit(*args, **kwargs):  # type: ignore[no-untyped-def]
    """:func:`surrogate.fit.fit` (imported lazily: fitting may need ngspice, loading never)."""
    from surrogate.fit import fit as _fit

    return _fit(*args, **kwargs)
