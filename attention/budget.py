"""Error budget of a head: what each non-ideality alone does to its output.

The reference is the **ideal head** the circuits approximate: straight-line cells (the
least-squares line of the sky130 cell's effective current over the stored range), ideal
linear converters with the constants these sky130 converters implement
(:meth:`HeadCircuits.equivalent_constants`), no DAC or counter, no leakage, no mismatch. Each
effect is then switched on alone:

- ``nonlinearity``: the array simulation of the sky130 circuits (cells with their edge
  charges and column voltage, converters with their steps and comparator memory), no DAC,
  no leakage, no mismatch; ``nonlinearity_calibrated``: what is left of it after the best
  gain and offset (a least-squares affine map onto the ideal head's values, what a digital
  calibration could remove);
- ``quantization``: the ideal head with the DACs and the counter (:attr:`HeadConfig.levels`);
- ``leakage``: the ideal head whose cells hold their values through the sky130 leakage
  surrogate (write feedthrough and retention) for ``age x step_time``;
- ``mismatch``: what the drawn devices change in the sky130 head (mismatch on against off,
  no DAC, no leakage; the deviations are those of the sky130 cells, so they are measured on
  them), the RMS over :data:`MISMATCH_SEEDS` hardware draws;
- ``all``: the sky130 head with everything on, against the ideal head.

Each as the RMS difference of Phi and of the output over the tokens whose window is full,
relative to the ideal head's range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig
from gaincell.circuits.design import KV_RANGE, STORE_OFFSET, V_MID
from gaincell.errors import InputError

Array = NDArray[np.float64]

EFFECTS = ("nonlinearity", "nonlinearity_calibrated", "quantization", "leakage", "mismatch")
"""The non-idealities, each switched on alone (the second: the first after gain and offset)."""
ENTRIES = (*EFFECTS, "all")
"""A budget's entries: the effects and everything on."""
BUDGET_FORMAT = "gaincell error budget"
"""The ``format`` attribute of an error-budget file."""
MISMATCH_SEEDS = 4
"""Hardware draws the mismatch entry is the RMS over."""
NO_TIME = 1e-18
"""A step time [s] at which nothing leaks (the head needs a positive one)."""


@dataclass(frozen=True)
class ErrorBudget:
    """A head's error budget (:func:`error_budget`)."""

    phi: dict[str, float]
    """Effect (and ``all``) -> RMS Phi error relative to the ideal head's Phi range."""
    output: dict[str, float]
    """Effect (and ``all``) -> RMS output error relative to the ideal head's output range."""
    settings: dict[str, Any]
    """Tokens, window, d, step time, corner, temperature, seeds."""


def ideal_circuits(circuits: HeadCircuits) -> HeadCircuits:
    """The ideal head of ``circuits``: straight-line cells (the least-squares line of the
    cell's effective current over the stored range), linear converters with the circuits'
    equivalent constants, no leakage, no write path."""
    constants = circuits.equivalent_constants()
    volts = np.linspace(*KV_RANGE, 181) + STORE_OFFSET
    current = circuits.multiplier(volts) / circuits.current_scale
    slope, mid = np.polyfit(volts - V_MID, current, 1)  # at y = 0: the 0.9 V mid-rail
    # The paper's bivariate layout (x**j * y**i, i outer): the constant and the y term only.
    coefficients = (float(mid), 0.0, 0.0, 0.0, float(slope), 0.0, 0.0, 0.0, 0.0, 0.0)
    return HeadCircuits.ideal(
        coefficients=coefficients,
        s_sat=constants["s_sat"],
        out_scale=constants["out_scale"],
        decay_per_token=0.0,
        t_max=circuits.t_max,
        current_scale=circuits.current_scale,
    )


def _rms(a: Array, b: Array, span: float) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)) / span)


def _calibrated(model: Array, reference: Array) -> Array:
    """``model`` through the least-squares gain and offset onto ``reference``."""
    basis = np.stack([model.ravel(), np.ones(model.size)], axis=1)
    gain_offset = np.linalg.lstsq(basis, reference.ravel(), rcond=None)[0]
    return (basis @ gain_offset).reshape(model.shape)


def error_budget(
    circuits: HeadCircuits,
    q: Array,
    k: Array,
    v: Array,
    *,
    config: HeadConfig | None = None,
    seed: int = 0,
) -> ErrorBudget:
    """The error budget of a head of ``circuits`` (from surrogates, with the column model) on
    ``q, k, v`` (tokens, d); ``config``: geometry, DAC levels and step time of the head with
    everything on (default :class:`HeadConfig` of ``d``); mismatch draws from ``seed``."""
    tokens, d = np.shape(q)
    config = config or HeadConfig(d=d)
    plain = replace(config, levels=None, step_time=NO_TIME, mismatch=False)
    ideal = ideal_circuits(circuits)
    leaky = replace(ideal, leakage=circuits.leakage, bit_line=circuits.bit_line)

    def run(built: HeadCircuits, head_config: HeadConfig) -> tuple[Array, Array]:
        trace = GainCellHead(built, head_config).run(q, k, v)
        full = slice(min(config.window, tokens) - 1, None)  # tokens with a full window
        return trace.phi[full], trace.output[full]

    reference = run(ideal, plain)
    spans = [max(float(np.ptp(r)), 1e-12) for r in reference]

    def errors(model: tuple[Array, Array], against: tuple[Array, Array] = reference) -> Array:
        """RMS Phi and output errors of ``model`` against ``against``, each / its span."""
        return np.array([_rms(m, a, s) for m, a, s in zip(model, against, spans, strict=True)])

    sky130 = run(circuits, plain)
    calibrated = (_calibrated(sky130[0], reference[0]), _calibrated(sky130[1], reference[1]))
    drawn = [
        errors(run(circuits, replace(plain, mismatch=True, seed=seed + i)), sky130)
        for i in range(MISMATCH_SEEDS)
    ]
    entries = {
        "nonlinearity": errors(sky130),
        "nonlinearity_calibrated": errors(calibrated),
        "quantization": errors(run(ideal, replace(plain, levels=config.levels))),
        "leakage": errors(run(leaky, replace(plain, step_time=config.step_time))),
        "mismatch": np.sqrt(np.mean(np.square(drawn), axis=0)),  # RMS over the draws
        "all": errors(run(circuits, replace(config, mismatch=True, seed=seed))),
    }
    settings = {
        "tokens": int(tokens),
        "window": config.window,
        "d": config.d,
        "levels": list(config.levels) if config.levels is not None else None,
        "step_time_s": config.step_time,
        "seed": seed,
        "mismatch_seeds": MISMATCH_SEEDS,
    }
    return ErrorBudget(
        {n: float(entries[n][0]) for n in ENTRIES},
        {n: float(entries[n][1]) for n in ENTRIES},
        settings,
    )


def write_budgets(
    path: str | Path,
    budgets: dict[str, ErrorBudget],
    *,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``"<corner>/<temperature>"`` -> budget to HDF5 atomically: ``phi`` and ``output``
    (conditions, entries) as fractions of the ideal head's range, the conditions and entries
    as strings, each budget's settings and the provenance as attributes."""
    from gaincell.circuits.files import stamp
    from gaincell.circuits.h5 import atomic_h5

    if not budgets:
        raise InputError("no error budget to write")
    names = list(budgets)
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs.update({"format": BUDGET_FORMAT, **stamp()})
        h5.attrs["settings"] = json.dumps({n: b.settings for n, b in budgets.items()})
        for key, value in (provenance or {}).items():
            h5.attrs[key] = json.dumps(value) if isinstance(value, dict) else value
        h5.create_dataset("condition", data=np.array(names, dtype="S"))
        h5.create_dataset("entry", data=np.array(ENTRIES, dtype="S"))
        for quantity in ("phi", "output"):
            values = [[getattr(budgets[n], quantity)[e] for e in ENTRIES] for n in names]
            dataset = h5.create_dataset(quantity, data=np.asarray(values, dtype=np.float64))
            dataset.attrs["units"] = "fraction of the ideal head's range"
            dataset.attrs["description"] = (
                f"RMS {quantity} error of each effect alone (and all on) against the ideal head"
            )
    return Path(path)


def read_budgets(path: str | Path) -> dict[str, ErrorBudget]:
    """The budgets of a file written by :func:`write_budgets`."""
    from gaincell.circuits.h5 import open_h5

    with open_h5(Path(path), BUDGET_FORMAT, InputError) as h5:
        if h5.attrs.get("format") != BUDGET_FORMAT:
            raise InputError(f"{path} is not a gaincell error-budget file")
        names = [n.decode() for n in h5["condition"][()]]
        entries = [e.decode() for e in h5["entry"][()]]
        phi, output = h5["phi"][()], h5["output"][()]
        settings = json.loads(h5.attrs["settings"])
    return {
        name: ErrorBudget(
            dict(zip(entries, map(float, phi[i]), strict=True)),
            dict(zip(entries, map(float, output[i]), strict=True)),
            settings[name],
        )
        for i, name in enumerate(names)
    }


def format_budgets(budgets: dict[str, ErrorBudget]) -> str:
    """A table: one row per entry, Phi and output error per condition (% of range)."""
    names = list(budgets)
    head = "".join(f"{n:>22s}" for n in names)
    lines = [
        f"RMS error vs the ideal head, % of its range (Phi / output){'':4s}",
        f"{'':26s}{head}",
    ]
    for entry in ENTRIES:
        cells = "".join(
            f"{budgets[n].phi[entry]:10.2%} /{budgets[n].output[entry]:8.2%}  " for n in names
        )
        lines.append(f"  {entry:24s}{cells}")
    return "\n".join(lines)
