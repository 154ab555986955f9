"""``gaincell cost``: what a token costs on this design, from the array simulation's energy
bookkeeping (:mod:`attention.energy`) and the characterized schedule
(:class:`~gaincell.attention.cost.Schedule`), next to the paper's numbers and its GPUs.

One head is simulated token by token on the given (or random) q, k, v with every operation
charged from the energy surrogates; a layer is ``heads`` such heads in parallel. With random
inputs the heads of a layer are statistically alike, so one head is simulated and its energy
taken ``heads`` times (said in the report); a ``--qkv`` file with a leading head axis is
simulated head by head as a batch. The energy per token is the mean over the tokens whose
window is full (the steady state of decoding), or over all tokens if none is.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gaincell.attention.cost import (
    PAPER_COST,
    PAPER_DIGITAL_J,
    GpuBaseline,
    Schedule,
    TokenCost,
    TokenEnergy,
    as_dict,
    gpu_baselines,
)
from gaincell.attention.energy import ENERGY_KEYS
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig
from gaincell.errors import InputError

Array = NDArray[np.float64]

FORMAT = "gaincell-token-cost"
"""Root ``format`` attribute of a cost file."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CostReport:
    """What ``gaincell cost`` computed."""

    cost: TokenCost
    """Energy per head-token by module, latency, heads."""
    schedule: Schedule
    """The step's phases."""
    per_token: dict[str, Array]
    """Energy per token and module [J], (heads simulated, T)."""
    steady: NDArray[np.bool_]
    """Tokens whose window is full (what the means are over), (T,)."""
    static: dict[str, float]
    """Of the converters' parts, their static bias per head-token [J] (also in the totals)."""
    config: HeadConfig
    """The simulated head."""
    corner: str
    """Process corner."""
    temperature: float
    """Temperature [degC]."""
    heads_simulated: int
    """Heads simulated (1 for random inputs: the layer's heads taken alike)."""
    inputs: str
    """Where q, k, v came from."""
    converter_on_time: float | None
    """The power-gating assumption (None: biased the whole step)."""
    seconds: float
    """Wall time of the simulation [s]."""
    baselines: list[GpuBaseline] = field(default_factory=gpu_baselines)
    """The GPUs compared with."""


def token_cost(
    q: Array,
    k: Array,
    v: Array,
    *,
    window: int,
    heads: int = 12,
    tile: int = 64,
    corner: str = "tt",
    temperature: float = 27.0,
    digital: float = PAPER_DIGITAL_J,
    converter_on_time: float | None = None,
    inputs: str = "",
    circuits: HeadCircuits | None = None,
) -> CostReport:
    """Simulate a head on ``q, k, v`` ((T, d), or (heads, T, d) for a layer's own heads) with
    energy bookkeeping at ``corner`` and ``temperature`` and cost a token."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    if q.ndim not in (2, 3) or not q.shape == k.shape == v.shape or 0 in q.shape:
        raise InputError(f"q, k and v must share one shape (T, d) or (heads, T, d), got {q.shape}")
    if q.ndim == 3 and q.shape[0] != heads:
        raise InputError(f"the q, k, v arrays hold {q.shape[0]} heads, --heads says {heads}")
    if circuits is None:
        circuits = HeadCircuits.from_surrogates(corner, temperature, energy=True)
    if circuits.energy is None:
        raise InputError("costing a token needs circuits with energy models")
    circuits = replace(
        circuits,
        energy=replace(circuits.energy, digital=digital, converter_on_time=converter_on_time),
    )
    schedule = Schedule.characterized(circuits.t_max, circuits.t_max_out)
    tokens, d = q.shape[-2:]
    # one token step is the schedule's latency (it sets the leakage between steps too)
    config = HeadConfig(d=d, window=window, tile=tile, step_time=schedule.latency)
    started = time.perf_counter()
    trace = GainCellHead(circuits, config).run(q, k, v)
    seconds = time.perf_counter() - started
    assert trace.energy is not None
    per_token = {name: trace.energy[name].reshape(-1, tokens) for name in ENERGY_KEYS}
    steady = np.arange(tokens) >= window - 1
    over = steady if steady.any() else np.ones(tokens, dtype=bool)
    means = {name: float(per_token[name][:, over].mean()) for name in ENERGY_KEYS}
    static = {
        "relu_conversion": means.pop("relu_static"),
        "signed_conversion": means.pop("signed_static"),
    }
    cost = TokenCost(TokenEnergy(**means), schedule.latency, heads)
    return CostReport(
        cost=cost,
        schedule=schedule,
        per_token=per_token,
        steady=steady,
        static=static,
        config=config,
        corner=corner,
        temperature=float(temperature),
        heads_simulated=1 if q.ndim == 2 else heads,
        inputs=inputs,
        converter_on_time=converter_on_time,
        seconds=seconds,
    )


DESIGN_WINDOWS = (64, 256, 1024, 4096)
"""Window lengths of the design space."""
DESIGN_DIMS = (32, 64, 128)
"""Head dimensions of the design space (at the paper's window)."""
DESIGN_CONDITIONS = (
    ("tt", 27.0),
    ("ss", 85.0),
    ("ff", -40.0),
    ("sf", 27.0),
    ("fs", 27.0),
    ("tt", 85.0),
    ("tt", -40.0),
)
"""Corner and temperature conditions of the design space (at the paper's geometry)."""
DESIGN_FORMAT = "gaincell-design-space"
"""Root ``format`` attribute of a design-space file."""
DESIGN_TEXT_FIELDS = ("varied", "value", "corner", "data")
"""The design-space rows' text fields (the others are numbers)."""


def data_window(tokens: int, tile: int = 64, longest: int = 1024) -> int:
    """The window the data comparison runs at for a file of ``tokens`` tokens: the longest
    power-of-two multiple of ``tile`` (at most ``longest``) that the file fills and then
    decodes past (so some tokens see a full window)."""
    window = tile
    while window * 2 < tokens and window * 2 <= longest:
        window *= 2
    if window >= tokens:
        raise InputError(
            f"the data comparison needs more than {tile} tokens (a full {tile}-slot window and "
            f"one more), the file has {tokens}"
        )
    return window


def design_space(
    *,
    windows: tuple[int, ...] = DESIGN_WINDOWS,
    dims: tuple[int, ...] = DESIGN_DIMS,
    conditions: tuple[tuple[str, float], ...] = DESIGN_CONDITIONS,
    qkv: tuple[Array, Array, Array] | None = None,
    extra_tokens: int = 8,
    seed: int = 1,
    heads: int = 12,
    tile: int = 64,
    window: int = 1024,
) -> list[dict[str, Any]]:
    """Energy and latency per token over the window (tt, 27 C, d 64), the head dimension
    (at ``window``), the corner and temperature (``window``, d 64), on random inputs (each
    point ``window + extra_tokens`` tokens, the means over the last ``extra_tokens + 1``), and
    the data: ``qkv`` (T, d) against random inputs of the same shape, both at
    :func:`data_window` (tt, 27 C). Each row: what varied, its value, the cost
    (:func:`~gaincell.attention.cost.as_dict`) and the converters' static parts."""
    from gaincell.attention.simulate import random_qkv

    points: list[tuple[str, Any, int, int, str, float, str]] = []
    points += [("window", str(w), w, 64, "tt", 27.0, "random") for w in windows]
    points += [("d", str(d), window, d, "tt", 27.0, "random") for d in dims]
    points += [("condition", f"{c}/{t:g}", window, 64, c, t, "random") for c, t in conditions]
    if qkv is not None:
        tokens, d = qkv[0].shape
        fits = data_window(tokens, tile, window)
        points.append(("data", "random", fits, d, "tt", 27.0, "random"))
        points.append(("data", "file", fits, d, "tt", 27.0, "file"))
    rows = []
    circuits: dict[tuple[str, float], HeadCircuits] = {}
    for varied, value, slots, d, corner, temperature, data in points:
        key = (corner, temperature)
        if key not in circuits:
            circuits[key] = HeadCircuits.from_surrogates(corner, temperature, energy=True)
        tokens = slots + extra_tokens if varied != "data" or qkv is None else len(qkv[0])
        q, k, v = qkv if data == "file" and qkv is not None else random_qkv(tokens, d, seed)
        report = token_cost(
            q,
            k,
            v,
            window=slots,
            heads=heads,
            tile=tile,
            corner=corner,
            temperature=temperature,
            circuits=circuits[key],
            inputs=data,
        )
        rows.append(
            {
                "varied": varied,
                "value": value,
                "window": slots,
                "d": d,
                "corner": corner,
                "temperature": temperature,
                "data": data,
                **as_dict(report.cost),
                **{f"static_{name}": joules for name, joules in report.static.items()},
                "seconds": report.seconds,
            }
        )
    return rows


def format_design_space(rows: list[dict[str, Any]]) -> str:
    """The design-space table: per point the energy per head-token by module, the static
    bias in it, the layer's energy and the latency, and the total against the paper's."""
    paper = PAPER_COST.energy.total
    lines = [
        f"  {'varied':9s} {'value':>7s} {'window':>6s} {'d':>4s}  {'K arr':>7s} {'ReLU':>7s} "
        f"{'V arr':>7s} {'signed':>7s} {'write':>6s} {'static':>7s} {'head':>7s} {'layer':>8s} "
        f"{'latency':>8s} {'x paper':>7s}",
        f"  {'':9s} {'':>7s} {'':>6s} {'':>4s}  {'pJ':>7s} {'pJ':>7s} {'pJ':>7s} {'pJ':>7s} "
        f"{'pJ':>6s} {'pJ':>7s} {'nJ':>7s} {'nJ':>8s} {'ns':>8s} {'':>7s}",
    ]
    for r in rows:
        static = r["static_relu_conversion"] + r["static_signed_conversion"]
        lines.append(
            f"  {r['varied']:9s} {r['value']:>7s} {r['window']:6d} {r['d']:4d}  "
            f"{r['energy_k_array'] * 1e12:7.0f} {r['energy_relu_conversion'] * 1e12:7.0f} "
            f"{r['energy_v_array'] * 1e12:7.0f} {r['energy_signed_conversion'] * 1e12:7.0f} "
            f"{r['energy_write'] * 1e12:6.1f} {static * 1e12:7.0f} "
            f"{r['energy_head'] * 1e9:7.2f} {r['energy_layer'] * 1e9:8.1f} "
            f"{r['latency'] * 1e9:8.1f} {r['energy_head'] / paper:7.2f}"
        )
    lines.append(
        f"  (paper: {paper * 1e9:.2f} nJ per head-token with its 4 nJ digital part, "
        f"{PAPER_COST.latency * 1e9:.0f} ns; ours includes the same assumed 4 nJ)"
    )
    return "\n".join(lines)


def write_design_space(
    path: str | Path,
    rows: list[dict[str, Any]],
    *,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the design-space rows to HDF5 atomically: one dataset per field (numbers with
    their units, the text fields as strings), the paper's cost and provenance as attributes."""
    from gaincell.circuits.files import stamp
    from gaincell.circuits.h5 import atomic_h5

    if not rows:
        raise InputError("no design-space rows to write")
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs.update(
            {
                "format": DESIGN_FORMAT,
                "format_version": FORMAT_VERSION,
                **stamp(),
                "paper_cost": json.dumps(as_dict(PAPER_COST)),
                "units": "energies J, times s, temperatures C",
            }
        )
        for key, value in (provenance or {}).items():
            h5.attrs[key] = json.dumps(value) if isinstance(value, dict) else value
        for name in rows[0]:
            values = [row[name] for row in rows]
            if name in DESIGN_TEXT_FIELDS:
                h5.create_dataset(name, data=np.array(values, dtype="S"))
                continue
            dataset = h5.create_dataset(name, data=np.asarray(values, dtype=np.float64))
            unit = {"latency": "s", "temperature": "C", "seconds": "s"}.get(name, "")
            dataset.attrs["units"] = "J" if name.startswith(("energy", "static")) else unit
    return Path(path)


def read_design_space(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a design-space file, as :func:`design_space` returned them."""
    from gaincell.circuits.h5 import open_h5

    with open_h5(Path(path), "gaincell design-space", InputError) as h5:
        if h5.attrs.get("format") != DESIGN_FORMAT:
            raise InputError(f"{path} is not a gaincell design-space file")
        columns = {name: ds[()] for name, ds in h5.items()}
    count = len(next(iter(columns.values())))
    rows = []
    for i in range(count):
        row: dict[str, Any] = {}
        for name, values in columns.items():
            value = values[i]
            if name in DESIGN_TEXT_FIELDS:
                row[name] = value.decode()
            elif name in ("window", "d", "heads"):
                row[name] = int(value)
            else:
                row[name] = float(value)
        rows.append(row)
    return rows


def _row(label: str, ours: str, paper: str = "", note: str = "") -> str:
    return f"  {label:34s} {ours:>14s} {paper:>14s}  {note}".rstrip()


def _pj(joules: float) -> str:
    return f"{joules * 1e12:.1f} pJ"


def format_cost(report: CostReport) -> str:
    """The cost table: per head-token by module (measured / assumed) beside the paper's
    breakdown, the layer, the latency, and the ratios against the paper's GPUs."""
    c, energy, paper = report.cost, report.cost.energy, PAPER_COST.energy
    steady = int(report.steady.sum())
    over = f"{steady} token(s) with a full window" if steady else "all tokens (window not full)"
    gated = (
        "converters biased the whole step"
        if report.converter_on_time is None
        else f"converters biased {report.converter_on_time * 1e9:g} ns per step"
    )
    config = report.config
    lines = [
        f"gaincell cost: {report.corner}, {report.temperature:g} C, window {config.window}, "
        f"d {config.d}, {c.heads} heads ({report.inputs}); mean over {over}; {gated}",
        "",
        _row("per head-token", "this design", "paper"),
    ]
    details = {
        "Phi(Q.K^T) array": [
            ("K cells' pulses", energy.k_array),
            ("ReLU converters", energy.relu_conversion),
            ("  of which static bias", report.static["relu_conversion"]),
        ],
        "Phi(S).V array": [
            ("V cells' pulses", energy.v_array),
            ("signed converters", energy.signed_conversion),
            ("  of which static bias", report.static["signed_conversion"]),
        ],
    }
    for (name, value), reference in zip(
        energy.paper_groups().items(), paper.paper_groups().values(), strict=True
    ):
        kind = "assumed" if name.startswith("digital") else "measured"
        lines.append(_row(name, _pj(value), _pj(reference), kind))
        lines += [_row(f"  {part}", _pj(part_value)) for part, part_value in details.get(name, [])]
    schedule = ", ".join(f"{k} {v * 1e9:.1f}" for k, v in vars(report.schedule).items())
    lines += [
        _row("measured parts", _pj(energy.measured)),
        _row("total per head-token", _pj(energy.total), _pj(paper.total)),
        _row(
            f"layer of {c.heads} heads per token",
            f"{c.layer_energy * 1e9:.2f} nJ",
            f"{paper.total * c.heads * 1e9:.2f} nJ",
            ""  # the paper's layer has 12 heads: its column holds as many heads as ours
            if c.heads == PAPER_COST.heads
            else f"(paper's {PAPER_COST.heads} heads: {PAPER_COST.layer_energy * 1e9:.2f} nJ)",
        ),
        _row(
            "latency per token", f"{c.latency * 1e9:.1f} ns", f"{PAPER_COST.latency * 1e9:.1f} ns"
        ),
        f"    ({schedule} ns)",
        "",
        f"  {'versus':10s} {'GPU latency':>12s} {'GPU energy':>11s} {'latency x':>10s} "
        f"{'energy x':>10s}   paper's: {'latency x':>9s} {'energy x':>9s}",
    ]
    for gpu in report.baselines:
        ours_vs, paper_vs = c.versus(gpu), PAPER_COST.versus(gpu)
        lines.append(
            f"  {gpu.name:10s} {gpu.latency_per_token * 1e6:9.1f} us "
            f"{gpu.energy_per_token * 1e3:8.2f} mJ {ours_vs['latency_ratio']:10,.0f} "
            f"{ours_vs['energy_ratio']:10,.0f}            {paper_vs['latency_ratio']:9,.0f} "
            f"{paper_vs['energy_ratio']:9,.0f}"
        )
    if report.baselines and any(gpu.heads != c.heads for gpu in report.baselines):
        lines.append(
            f"  (the GPUs ran a {report.baselines[0].heads}-head layer: our ratios take their "
            f"energy per head times {c.heads} heads, their latency as it is)"
        )
    alike = "; the layer's heads taken alike (random inputs)" if report.heads_simulated == 1 else ""
    tokens = report.per_token["digital"].shape[1]
    lines.append(
        f"\n  simulated {report.heads_simulated} head(s) x {tokens} tokens in "
        f"{report.seconds:.1f} s{alike}"
    )
    return "\n".join(lines)


def write_cost(
    path: str | Path,
    report: CostReport,
    *,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``report`` to HDF5 atomically: ``/per_token/<module>`` [J] (heads simulated, T),
    ``/steady`` (T,), root attributes the cost (JSON, J and s), the schedule, the static
    parts, the paper's cost and the GPU comparisons, the configuration and provenance."""
    from gaincell.circuits.files import stamp
    from gaincell.circuits.h5 import atomic_h5

    c = report.cost
    comparisons = {
        gpu.name: {"ours": c.versus(gpu), "paper": PAPER_COST.versus(gpu)}
        for gpu in report.baselines
    }
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                **stamp(),
                "cost": json.dumps(as_dict(c)),
                "paper_cost": json.dumps(as_dict(PAPER_COST)),
                "schedule_s": json.dumps(vars(report.schedule)),
                "static_J": json.dumps(report.static),
                "gpu_comparisons": json.dumps(comparisons),
                "config": report.config.to_json(),
                "corner": report.corner,
                "temperature": report.temperature,
                "heads_simulated": report.heads_simulated,
                "inputs": report.inputs,
                "converter_on_time": json.dumps(report.converter_on_time),
                "seconds": report.seconds,
                "units": "energies J, times s",
            }
        )
        for key, value in (provenance or {}).items():
            h5.attrs[key] = json.dumps(value) if isinstance(value, dict) else value
        group = h5.create_group("per_token")
        for name, values in report.per_token.items():
            dataset = group.create_dataset(name, data=values)
            dataset.attrs["units"] = "J"
        h5.create_dataset("steady", data=report.steady)
    return Path(path)


def read_cost(path: str | Path) -> dict[str, Any]:
    """The stored cost, schedule, static parts and comparisons of a cost file, and its
    per-token energies."""
    from gaincell.circuits.h5 import open_h5

    with open_h5(Path(path), "gaincell cost", InputError) as h5:
        if h5.attrs.get("format") != FORMAT:
            raise InputError(f"{path} is not a gaincell cost file")
        out: dict[str, Any] = {
            key: json.loads(h5.attrs[key])
            for key in ("cost", "paper_cost", "schedule_s", "static_J", "gpu_comparisons")
        }
        out["per_token"] = {name: ds[()] for name, ds in h5["per_token"].items()}
        out["steady"] = h5["steady"][()]
        out["corner"], out["temperature"] = str(h5.attrs["corner"]), float(h5.attrs["temperature"])
    return out
