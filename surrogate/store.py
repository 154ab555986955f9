"""Surrogate files: HDF5 with a schema version, the fitted data, the metrics, the held-out
points, the source file's hash and provenance. No pickle: everything is arrays and JSON text.

Layout (schema 1)::

    /                attrs: format, schema_version, kind, circuit, quantity, units,
                     description, policy, domain (JSON), defaults (JSON), provenance (JSON)
    /model/...       kind-specific: grid nodes + values; poly coefficients; leakage sub-grids
    /metrics         attrs kind, overall (JSON); datasets per corner (corner order of domain)
    /validation      inputs/<name>, corner, reference, predicted
    /aux/<name>      optional extra arrays (e.g. the signed converter's sign threshold)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from gaincell.circuits.files import SURROGATE_DIR
from gaincell.circuits.h5 import atomic_h5, open_h5

if TYPE_CHECKING:
    from gaincell.surrogate.mismatch import MismatchSurrogate
from gaincell.surrogate.models import (
    Domain,
    GridSurrogate,
    LeakageSurrogate,
    Metrics,
    PolySurrogate,
    Surrogate,
    SurrogateError,
    Validation,
)

FORMAT = "gaincell-surrogate"
"""Value of the root ``format`` attribute."""
SCHEMA_VERSION = 1
"""Bumped whenever the layout changes incompatibly."""


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a surrogate file")


def _write_grid(group: h5py.Group, model: GridSurrogate) -> None:
    group.attrs["method"] = model.method
    group.attrs["log_axes"] = _json(model.log_axes)
    group.attrs["step_axes"] = _json(list(model.step_axes))
    group.attrs["step_from"] = _json(model.step_from)
    group.attrs["axes"] = _json(list(model.nodes))
    nodes = group.create_group("nodes")
    for name, values in model.nodes.items():
        nodes.create_dataset(name, data=values).attrs["units"] = model.domain.units.get(name, "")
    dataset = group.create_dataset("values", data=model.values)
    dataset.attrs["units"] = model.units
    dataset.attrs["axes"] = _json(["corner", *model.nodes])


def _read_grid(group: h5py.Group, common: dict[str, Any]) -> GridSurrogate:
    axes = json.loads(group.attrs["axes"])
    return GridSurrogate(
        nodes={name: group["nodes"][name][()] for name in axes},
        values=group["values"][()],
        method=str(group.attrs["method"]),
        log_axes=json.loads(group.attrs["log_axes"]),
        step_axes=tuple(json.loads(group.attrs.get("step_axes", "[]"))),
        step_from=json.loads(group.attrs.get("step_from", "null")),
        **common,
    )


def save(model: Surrogate, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` atomically (nothing is left behind on failure), replacing an
    existing file only with ``overwrite``."""
    path = Path(path)
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs["format"] = FORMAT
        h5.attrs["schema_version"] = SCHEMA_VERSION
        h5.attrs["kind"] = model.kind
        h5.attrs["circuit"] = model.circuit
        h5.attrs["quantity"] = model.quantity
        h5.attrs["units"] = model.units
        h5.attrs["description"] = model.description
        h5.attrs["policy"] = model.policy
        h5.attrs["domain"] = _json(
            {
                "inputs": list(model.domain.inputs),  # positional order (JSON keys get sorted)
                "ranges": model.domain.ranges,
                "units": model.domain.units,
                "corners": list(model.domain.corners),
            }
        )
        h5.attrs["defaults"] = _json(model.defaults)
        h5.attrs["provenance"] = _json(model.provenance)
        group = h5.create_group("model")
        if isinstance(model, GridSurrogate):
            _write_grid(group, model)
        elif isinstance(model, PolySurrogate):
            group.create_dataset("coefficients", data=model.coefficients).attrs["axes"] = _json(
                ["corner", "temperature", "term"]
            )
            group.create_dataset("temperatures", data=model.temperatures).attrs["units"] = "degC"
            group.create_dataset("terms", data=np.array(model.terms)).attrs["meaning"] = (
                "(i, j): the term is c * x^j * y^i"
            )
            for key in ("order", "mid", "x_input", "y_input", "scale"):
                group.attrs[key] = getattr(model, key)
        elif isinstance(model, LeakageSurrogate):
            for name in ("waveform", "tau", "v_inf"):
                _write_grid(group.create_group(name), getattr(model, name))
                group[name].attrs["sub_units"] = getattr(model, name).units
        else:
            raise SurrogateError(f"cannot save a {type(model).__name__}")
        if model.metrics is not None:
            metrics = h5.create_group("metrics")
            metrics.attrs["kind"] = model.metrics.kind
            metrics.attrs["overall"] = _json(model.metrics.overall)
            metrics.attrs["corners"] = _json(list(model.domain.corners))
            for key in ("full_scale", "rmse_fs", "max_error_fs", "r2", "points"):
                values = getattr(model.metrics, key)
                metrics.create_dataset(key, data=[values[c] for c in model.domain.corners])
            metrics["full_scale"].attrs["units"] = model.units
        if model.validation is not None:
            validation = h5.create_group("validation")
            inputs = validation.create_group("inputs")
            for name, values in model.validation.inputs.items():
                inputs.create_dataset(name, data=values).attrs["units"] = model.domain.units.get(
                    name, ""
                )
            validation.create_dataset("corner", data=model.validation.corner)
            for key in ("reference", "predicted"):
                dataset = validation.create_dataset(key, data=getattr(model.validation, key))
                dataset.attrs["units"] = model.units
        aux = getattr(model, "aux", {})
        if aux:
            group = h5.create_group("aux")
            for name, (values, units, description) in aux.items():
                dataset = group.create_dataset(name, data=values)
                dataset.attrs["units"] = units
                dataset.attrs["description"] = description
    return path


def shipped_file(folder: Path, name: str) -> Path:
    """Where the shipped surrogate ``name`` (``relu-c2p``) lives in ``folder``."""
    return folder / f"{name.replace('-', '_')}_sky130.h5"


def shipped_in(folder: Path) -> dict[str, Path]:
    """Shipped surrogate name -> file, for the files in ``folder`` (:func:`shipped_file`)."""
    return {
        p.name.removesuffix("_sky130.h5").replace("_", "-"): p
        for p in sorted(folder.glob("*_sky130.h5"))
    }


def shipped() -> dict[str, Path]:
    """Shipped surrogate name -> file (``multiplier``, ``leakage``, ``relu-c2p``, ...)."""
    return shipped_in(SURROGATE_DIR)


def load(name_or_path: str | Path) -> Surrogate | MismatchSurrogate:
    """Load a shipped surrogate by name (see :func:`shipped`, and the mismatch surrogates of
    :func:`~gaincell.surrogate.mismatch.shipped_mismatch`, e.g. ``multiplier-mc``) or any
    surrogate file by path. Needs neither ngspice nor the PDK."""
    from gaincell.surrogate.mismatch import FORMAT as MISMATCH_FORMAT
    from gaincell.surrogate.mismatch import load_mismatch, shipped_mismatch

    path = Path(name_or_path)
    if not path.suffix:
        known = shipped()
        statistical = shipped_mismatch()
        if str(name_or_path) in statistical:
            return load_mismatch(statistical[str(name_or_path)])
        if str(name_or_path) not in known:
            raise SurrogateError(
                f"no shipped surrogate {name_or_path!r}; shipped: "
                f"{', '.join([*known, *statistical]) or 'none'}"
                " (or pass a file path)"
            )
        path = known[str(name_or_path)]
    with open_h5(path, "surrogate", SurrogateError) as h5:
        if h5.attrs.get("format") == MISMATCH_FORMAT:
            return load_mismatch(path)
        if h5.attrs.get("format") != FORMAT:
            raise SurrogateError(
                f"{path} is not a gaincell surrogate file (format attribute "
                f"{h5.attrs.get('format')!r})"
            )
        version = int(h5.attrs.get("schema_version", 0))
        if version != SCHEMA_VERSION:
            raise SurrogateError(
                f"{path} has surrogate schema {version}; this code reads {SCHEMA_VERSION}"
            )
        try:
            return _read(h5)
        except (KeyError, ValueError, json.JSONDecodeError) as error:
            if isinstance(error, SurrogateError):
                raise SurrogateError(f"{path}: {error}") from None
            raise SurrogateError(f"{path} is a damaged surrogate file ({error!r})") from None


def _read(h5: h5py.File) -> Surrogate:
    domain_json = json.loads(h5.attrs["domain"])
    domain = Domain(
        {
            k: (float(domain_json["ranges"][k][0]), float(domain_json["ranges"][k][1]))
            for k in domain_json.get("inputs", list(domain_json["ranges"]))
        },
        dict(domain_json["units"]),
        tuple(domain_json["corners"]),
    )
    metrics = validation = None
    if "metrics" in h5:
        group = h5["metrics"]
        corners = json.loads(group.attrs["corners"])
        per_corner = {
            key: {
                c: (int(v) if key == "points" else float(v))
                for c, v in zip(corners, group[key][()], strict=True)
            }
            for key in ("full_scale", "rmse_fs", "max_error_fs", "r2", "points")
        }
        metrics = Metrics(
            str(group.attrs["kind"]), overall=json.loads(group.attrs["overall"]), **per_corner
        )
    if "validation" in h5:
        group = h5["validation"]
        validation = Validation(
            {name: d[()] for name, d in group["inputs"].items()},
            group["corner"][()],
            group["reference"][()],
            group["predicted"][()],
        )
    common: dict[str, Any] = {
        "circuit": str(h5.attrs["circuit"]),
        "quantity": str(h5.attrs["quantity"]),
        "units": str(h5.attrs["units"]),
        "domain": domain,
        "defaults": json.loads(h5.attrs["defaults"]),
        "metrics": metrics,
        "validation": validation,
        "provenance": json.loads(h5.attrs["provenance"]),
        "policy": str(h5.attrs["policy"]),
        "description": str(h5.attrs["description"]),
    }
    kind = str(h5.attrs["kind"])
    group = h5["model"]
    if kind == "grid":
        model: Surrogate = _read_grid(group, common)
    elif kind == "poly":
        model = PolySurrogate(
            coefficients=group["coefficients"][()],
            temperatures=group["temperatures"][()],
            order=int(group.attrs["order"]),
            mid=float(group.attrs["mid"]),
            x_input=str(group.attrs["x_input"]),
            y_input=str(group.attrs["y_input"]),
            scale=float(group.attrs["scale"]),
            **common,
        )
    elif kind == "leakage":
        parts = {}
        for name in ("waveform", "tau", "v_inf"):
            sub = group[name]
            axes = json.loads(sub.attrs["axes"])
            sub_domain = Domain(
                {a: domain.ranges[a] for a in axes},
                {a: domain.units[a] for a in axes},
                domain.corners,
            )
            parts[name] = _read_grid(
                sub,
                common
                | {
                    "domain": sub_domain,
                    "quantity": name,
                    "units": str(sub.attrs["sub_units"]),
                    "metrics": None,
                    "validation": None,
                    "defaults": {k: v for k, v in common["defaults"].items() if k in axes},
                },
            )
        model = LeakageSurrogate(**parts, **common)
    else:
        raise SurrogateError(f"unknown surrogate kind {kind!r}")
    if "aux" in h5:
        model.aux = {
            name: (d[()], str(d.attrs["units"]), str(d.attrs["description"]))
            for name, d in h5["aux"].items()
        }
    return model
