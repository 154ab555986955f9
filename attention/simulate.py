"""One attention head end to end: the surrogate-driven array simulation against the paper's
behavioural model and floating-point softmax attention (``gaincell simulate-head``).

Models run on the same q, k, v (model units: q in [0, 1], k and v in [0, 0.9]):

- ``array``: :class:`gaincell.attention.head.GainCellHead` from the characterized circuits'
  surrogates;
- ``behavioural``: :func:`gaincell.attention.behavioural.behavioural_attention` with the paper's
  constants (s_sat 80, out_scale 40, decay 1.6e-4 per token);
- ``behavioural_matched``: the same with the ``s_sat`` and ``out_scale`` these circuits
  implement (:meth:`HeadCircuits.equivalent_constants`), the paper's decay;
- ``behavioural_no_decay``: the paper's constants without leakage (ideal retention);
- ``softmax``: the attention the hardware approximates,
  ``softmax(q (k - 0.45)^T / sqrt(d))`` over the sliding window, times ``v - 0.45``.

Errors: for ``output``, the NRMSE (RMSE over the reference's range), the Pearson correlation
and, since the scales differ (softmax), the NRMSE after the least-squares scale ``a*`` of the
model; for ``s`` and ``phi``, the same over the attended (in-window) entries. The error of ``s``
per token-age bin (age = t - s) separates what grows with age through leakage.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gaincell.attention.behavioural import (
    KV_RANGE,
    Q_RANGE,
    AttentionTrace,
    behavioural_attention,
)
from gaincell.attention.cost import PAPER_STEP_TIME
from gaincell.attention.head import GainCellHead, HeadCircuits, HeadConfig
from gaincell.circuits.design import STORE_OFFSET
from gaincell.errors import InputError

Array = NDArray[np.float64]

FORMAT = "gaincell-head-simulation"
"""Value of the output file's root ``format`` attribute."""
FORMAT_VERSION = 1
"""Schema version of the output file."""

PAPER_CONSTANTS: dict[str, float] = {"s_sat": 80.0, "out_scale": 40.0, "decay_per_token": 1.6e-4}
"""The paper's behavioural-model constants."""

OUTPUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("array", "behavioural"),
    ("array", "behavioural_matched"),
    ("array", "softmax"),
    ("behavioural", "softmax"),
)
"""(model, reference) pairs compared on the output."""
TRACE_PAIRS: tuple[tuple[str, str], ...] = (
    ("array", "behavioural"),
    ("array", "behavioural_matched"),
)
"""(model, reference) pairs compared on ``s`` and ``phi`` (in-window entries)."""
AGE_PAIRS: tuple[tuple[str, str], ...] = (
    ("array", "behavioural_no_decay"),
    ("behavioural", "behavioural_no_decay"),
    ("array", "behavioural"),
)
"""(model, reference) pairs compared on ``s`` per token-age bin."""
AGE_EDGES: tuple[int, ...] = (0, 16, 64, 256, 1024, 4096, 16384)
"""Age-bin edges [tokens]; clipped to the window (the last bin ends at the window)."""
STORE_TRACES_UP_TO = 1024
"""``s`` and ``phi`` (T x T) are stored only for at most this many tokens."""


@dataclass(frozen=True)
class PairError:
    """Errors of one model against a reference on one quantity."""

    model: str
    """Compared model."""
    reference: str
    """Reference model (its range normalizes the errors)."""
    quantity: str
    """``output``, ``s`` or ``phi``."""
    nrmse: float
    """RMSE over the reference's range."""
    pearson: float
    """Pearson correlation of model and reference."""
    scale: float | None = None
    """Least-squares scale a* minimizing ``|a model - reference|`` (output only)."""
    nrmse_scaled: float | None = None
    """NRMSE of ``a* model`` against the reference (output only)."""
    pearson_token: float | None = None
    """Mean over tokens of the correlation across d: blind to a token's common-mode offset
    (output only)."""


@dataclass(frozen=True)
class AgeError:
    """Error of ``s`` in one token-age bin."""

    model: str
    """Compared model."""
    reference: str
    """Reference model."""
    age_lo: int
    """First age of the bin [tokens]."""
    age_hi: int
    """End of the bin (exclusive) [tokens]."""
    entries: int
    """(t, s) entries in the bin."""
    nrmse: float
    """RMSE in the bin over the reference's in-window range of ``s`` (all ages)."""
    bias: float
    """Mean of model - reference in the bin, over the same range."""


@dataclass
class HeadComparison:
    """The array simulation against the behavioural models and softmax attention."""

    q: Array
    """Queries (T, d) as given (the models clamp them)."""
    k: Array
    """Keys (T, d) as given."""
    v: Array
    """Values (T, d) as given."""
    config: HeadConfig
    """The array's geometry, resolution and timing."""
    corner: str
    """Process corner of the surrogates."""
    temperature: float
    """Temperature of the surrogates [C]."""
    circuits_description: str
    """Where the array's circuit models come from."""
    circuits_derivation: dict[str, float]
    """The numbers the array's scale factors were derived from."""
    matched_constants: dict[str, float]
    """``s_sat`` and ``out_scale`` of ``behavioural_matched``."""
    traces: dict[str, AttentionTrace]
    """array, behavioural, behavioural_matched, behavioural_no_decay."""
    softmax_output: Array
    """Floating-point sliding-window softmax attention (T, d)."""
    array_seconds: float
    """Wall time of the array simulation [s]."""
    errors: list[PairError] = field(default_factory=list)
    """Output, s and phi errors of the compared pairs."""
    age_errors: list[AgeError] = field(default_factory=list)
    """Errors of ``s`` per token-age bin."""
    out_of_range: dict[str, int] = field(default_factory=dict)
    """Input values outside the circuits' ranges (clamped), per input."""

    @property
    def tokens(self) -> int:
        """Sequence length T."""
        return int(self.q.shape[0])

    def outputs(self) -> dict[str, Array]:
        """Every model's output (T, d), by name."""
        return {name: t.output for name, t in self.traces.items()} | {
            "softmax": self.softmax_output
        }


def random_qkv(tokens: int, d: int, seed: int) -> tuple[Array, Array, Array]:
    """Random inputs over the circuits' ranges: q uniform [0, 1], k and v uniform [0, 0.9]."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(*Q_RANGE, (tokens, d))
    k = rng.uniform(*KV_RANGE, (tokens, d))
    v = rng.uniform(*KV_RANGE, (tokens, d))
    return q, k, v


def load_qkv(path: str | Path) -> tuple[Array, Array, Array]:
    """Arrays ``q``, ``k``, ``v`` (T, d) from an .npz; ValueError naming any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--qkv file {path} not found")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as error:  # zip, pickle and I/O errors of a file that is not an .npz
        raise InputError(f"cannot read {path} as an .npz file ({error})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputError(f"{path} is a single .npy array, not an .npz with q, k and v")
    with data:
        missing = [name for name in "qkv" if name not in data.files]
        if missing:
            raise InputError(
                f"{path} lacks array(s) {', '.join(missing)} "
                f"(it has: {', '.join(data.files) or 'none'})"
            )
        try:
            raw = {name: data[name] for name in "qkv"}
        except Exception as error:  # object arrays (pickles) or a damaged member
            raise InputError(f"cannot read q, k, v from {path} ({error})") from None
    arrays = []
    for name, value in raw.items():
        if value.dtype.kind not in "biuf":
            raise InputError(f"{path}: {name} has dtype {value.dtype}, expected numbers")
        if value.ndim != 2 or 0 in value.shape:
            raise InputError(f"{path}: {name} must have shape (T, d), got {value.shape}")
        arr = value.astype(np.float64)
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise InputError(f"{path}: {name} holds {bad} non-finite value(s) (NaN or inf)")
        arrays.append(arr)
    if not arrays[0].shape == arrays[1].shape == arrays[2].shape:
        raise InputError(
            f"{path}: q, k and v must have the same shape (T, d), got "
            f"{arrays[0].shape}, {arrays[1].shape} and {arrays[2].shape}"
        )
    return arrays[0], arrays[1], arrays[2]


def window_mask(tokens: int, window: int) -> NDArray[np.bool_]:
    """``mask[t, s]``: token t attends to s, ``t - window < s <= t``."""
    age = np.subtract.outer(np.arange(tokens), np.arange(tokens))
    return (age >= 0) & (age < window)


def softmax_attention(q: Array, k: Array, v: Array, window: int) -> Array:
    """Floating-point sliding-window attention on the signed values the hardware holds:
    ``softmax(q (k - 0.45)^T / sqrt(d))`` over the window, times ``v - 0.45`` (inputs
    clamped to the circuits' ranges, as the models do)."""
    q = np.clip(q, *Q_RANGE)
    k = np.clip(k, *KV_RANGE) - STORE_OFFSET
    v = np.clip(v, *KV_RANGE) - STORE_OFFSET
    scores = q @ k.T / math.sqrt(q.shape[-1])
    scores = np.where(window_mask(q.shape[0], window), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v


def _nrmse(model: Array, reference: Array) -> float:
    rmse = float(np.sqrt(np.mean((model - reference) ** 2)))
    span = float(np.ptp(reference)) if reference.size else 0.0
    if span == 0:
        return 0.0 if rmse == 0 else math.inf
    return rmse / span


def _pearson(model: Array, reference: Array) -> float:
    if model.size < 2 or np.std(model) == 0 or np.std(reference) == 0:
        return math.nan
    return float(np.corrcoef(model.ravel(), reference.ravel())[0, 1])


def _pearson_per_token(model: Array, reference: Array) -> float:
    # rows where either side is constant (e.g. no token attended) have no correlation
    xc = model - model.mean(axis=-1, keepdims=True)
    yc = reference - reference.mean(axis=-1, keepdims=True)
    norm = np.sqrt((xc**2).sum(axis=-1) * (yc**2).sum(axis=-1))
    valid = norm > 0
    if not valid.any():
        return math.nan
    return float(np.mean((xc * yc).sum(axis=-1)[valid] / norm[valid]))


def pair_error(
    model: str, reference: str, quantity: str, x: Array, y: Array, *, scaled: bool
) -> PairError:
    """Errors of ``x`` (model) against ``y`` (reference), flattened; with ``scaled`` (for
    outputs, (T, d)) also the least-squares scale and the per-token correlation."""
    scale = nrmse_scaled = per_token = None
    if scaled:
        per_token = _pearson_per_token(np.atleast_2d(x), np.atleast_2d(y))
    x, y = np.ravel(x), np.ravel(y)
    if scaled:
        norm = float(x @ x)
        scale = float(x @ y) / norm if norm > 0 else 0.0
        nrmse_scaled = _nrmse(scale * x, y)
    return PairError(
        model, reference, quantity, _nrmse(x, y), _pearson(x, y), scale, nrmse_scaled, per_token
    )


def age_errors(
    model: str, reference: str, s_model: Array, s_reference: Array, window: int
) -> list[AgeError]:
    """NRMSE and bias of ``s`` per token-age bin, normalized by the reference's in-window
    range over all ages (so the bins are comparable)."""
    tokens = s_model.shape[-1]
    age = np.subtract.outer(np.arange(tokens), np.arange(tokens))
    mask = (age >= 0) & (age < window)
    span = float(np.ptp(s_reference[mask])) or 1.0
    edges = [e for e in AGE_EDGES if e < window] + [window]
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inside = mask & (age >= lo) & (age < hi)
        n = int(np.count_nonzero(inside))
        if n == 0:
            continue  # the sequence is shorter than the bin's ages
        diff = s_model[inside] - s_reference[inside]
        rows.append(
            AgeError(
                model,
                reference,
                lo,
                hi,
                n,
                float(np.sqrt(np.mean(diff**2))) / span,
                float(np.mean(diff)) / span,
            )
        )
    return rows


def simulate_head(
    q: Array,
    k: Array,
    v: Array,
    *,
    window: int,
    tile: int = 64,
    corner: str = "tt",
    temperature: float = 27.0,
    step_time: float = PAPER_STEP_TIME,
    circuits: HeadCircuits | None = None,
) -> HeadComparison:
    """Run the array simulation, the behavioural models and softmax attention on q, k, v
    (T, d) and compare them.

    ``circuits`` overrides the surrogates at ``corner`` and ``temperature`` (e.g.
    :meth:`HeadCircuits.ideal`); if it carries no derivation, ``behavioural_matched`` uses the
    paper's constants. Raises ValueError on bad shapes, non-finite inputs or configuration.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    if q.ndim != 2 or not q.shape == k.shape == v.shape or 0 in q.shape:
        raise InputError(
            f"q, k and v must share one shape (T, d), got {q.shape}, {k.shape} and {v.shape}"
        )
    for name, a in zip("qkv", (q, k, v), strict=True):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{name} holds non-finite values")
    tokens, d = q.shape
    config = HeadConfig(d=d, window=window, tile=tile, step_time=step_time)
    if circuits is None:
        circuits = HeadCircuits.from_surrogates(corner, temperature)
    try:
        matched = circuits.equivalent_constants()
    except ValueError:  # ideal circuits: no derivation, the paper's constants
        matched = {key: PAPER_CONSTANTS[key] for key in ("s_sat", "out_scale")}

    started = time.perf_counter()
    array = GainCellHead(circuits, config).run(q, k, v)
    array_seconds = time.perf_counter() - started

    common: dict[str, Any] = {"window": window, "tile": tile, "levels": config.levels}
    paper = {"s_sat": PAPER_CONSTANTS["s_sat"], "out_scale": PAPER_CONSTANTS["out_scale"]}
    decay = PAPER_CONSTANTS["decay_per_token"]
    traces = {
        "array": array,
        "behavioural": behavioural_attention(q, k, v, **common, **paper, decay_per_token=decay),
        "behavioural_matched": behavioural_attention(
            q, k, v, **common, **matched, decay_per_token=decay
        ),
        "behavioural_no_decay": behavioural_attention(
            q, k, v, **common, **paper, decay_per_token=0.0
        ),
    }
    softmax = softmax_attention(q, k, v, window)
    outputs = {name: t.output for name, t in traces.items()} | {"softmax": softmax}

    errors = [
        pair_error(m, r, "output", outputs[m], outputs[r], scaled=True) for m, r in OUTPUT_PAIRS
    ]
    mask = window_mask(tokens, window)
    for quantity in ("s", "phi"):
        for m, r in TRACE_PAIRS:
            x = getattr(traces[m], quantity)[mask]
            y = getattr(traces[r], quantity)[mask]
            errors.append(pair_error(m, r, quantity, x, y, scaled=False))
    by_age = [
        row for m, r in AGE_PAIRS for row in age_errors(m, r, traces[m].s, traces[r].s, window)
    ]
    out_of_range = {
        name: int(np.count_nonzero((a < lo) | (a > hi)))
        for name, a, (lo, hi) in (("q", q, Q_RANGE), ("k", k, KV_RANGE), ("v", v, KV_RANGE))
    }
    return HeadComparison(
        q=q,
        k=k,
        v=v,
        config=config,
        corner=corner,
        temperature=float(temperature),
        circuits_description=circuits.description,
        circuits_derivation=dict(circuits.derivation),
        matched_constants=dict(matched),
        traces=traces,
        softmax_output=softmax,
        array_seconds=array_seconds,
        errors=errors,
        age_errors=by_age,
        out_of_range=out_of_range,
    )


def _json_rows(rows: list[PairError] | list[AgeError]) -> str:
    # NaN and inf are not JSON: stored as null
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return json.dumps([{k: clean(x) for k, x in asdict(row).items()} for row in rows])


def write_comparison(
    path: str | Path,
    comparison: HeadComparison,
    *,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``comparison`` to an HDF5 file atomically (nothing at ``path`` on failure; an
    existing file is replaced only with ``overwrite``).

    Layout: ``/inputs/{q,k,v}``; ``/<model>/output`` for every model, ``/<model>/{s,phi}``
    for the simulated ones if T <= :data:`STORE_TRACES_UP_TO`; root attributes: format,
    provenance (package version, git commit, created, circuits' description and derivation,
    config, corner, temperature, matched constants, plus ``provenance``), and the error tables
    as JSON (``errors``, ``age_errors``).
    """
    from gaincell.circuits.files import stamp
    from gaincell.circuits.h5 import atomic_h5

    c = comparison
    with atomic_h5(path, overwrite=overwrite) as h5:
        attrs = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **stamp(),
            "tokens": c.tokens,
            "config": c.config.to_json(),
            "corner": c.corner,
            "temperature": c.temperature,
            "circuits_description": c.circuits_description,
            "circuits_derivation": json.dumps(c.circuits_derivation, sort_keys=True),
            "paper_constants": json.dumps(PAPER_CONSTANTS, sort_keys=True),
            "matched_constants": json.dumps(c.matched_constants, sort_keys=True),
            "array_seconds": c.array_seconds,
            "out_of_range": json.dumps(c.out_of_range, sort_keys=True),
            "errors": _json_rows(c.errors),
            "age_errors": _json_rows(c.age_errors),
        }
        for key, value in (provenance or {}).items():
            attrs[key] = json.dumps(value) if value is None or isinstance(value, dict) else value
        h5.attrs.update(attrs)
        inputs = h5.create_group("inputs")
        for name in "qkv":
            inputs.create_dataset(name, data=getattr(c, name))
        store_traces = c.tokens <= STORE_TRACES_UP_TO
        for name, trace in c.traces.items():
            group = h5.create_group(name)
            group.create_dataset("output", data=trace.output)
            if store_traces:
                group.create_dataset("s", data=trace.s, compression="gzip", shuffle=True)
                group.create_dataset("phi", data=trace.phi, compression="gzip", shuffle=True)
        h5.create_group("softmax").create_dataset("output", data=c.softmax_output)
    return Path(path)


def _fmt(value: float | None, spec: str) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return format(value, spec)


def format_report(comparison: HeadComparison) -> str:
    """A readable summary: run, output errors, s/phi errors, s error by token age."""
    c = comparison
    cfg = c.config
    matched = ", ".join(f"{k} {v:.1f}" for k, v in c.matched_constants.items())
    lines = [
        f"head: {c.tokens} tokens, window {cfg.window}, d {cfg.d}, tile {cfg.tile}, "
        f"levels {cfg.levels}, step {cfg.step_time:g} s",
        f"circuits: {c.circuits_description}",
        f"array simulation: {c.array_seconds:.2f} s "
        f"({1e3 * c.array_seconds / c.tokens:.2f} ms per token)",
        f"behavioural: paper s_sat 80, out_scale 40; matched: {matched}; "
        f"decay {PAPER_CONSTANTS['decay_per_token']:g}/token",
    ]
    clamped = {k: n for k, n in c.out_of_range.items() if n}
    if clamped:
        lines.append(
            "inputs outside the circuits' ranges (clamped): "
            + ", ".join(f"{k} {n}" for k, n in clamped.items())
        )
    lines += [
        "",
        "output (NRMSE = RMSE / reference range; a* = least-squares scale of the model;",
        "        Pearson/tok = mean over tokens of the correlation across d)",
        f"  {'model':20s} {'reference':20s} {'NRMSE':>8s} {'Pearson':>8s} {'a*':>9s} "
        f"{'NRMSE(a*)':>9s} {'Pearson/tok':>11s}",
    ]
    for e in c.errors:
        if e.quantity == "output":
            lines.append(
                f"  {e.model:20s} {e.reference:20s} {_fmt(e.nrmse, '8.4f')} "
                f"{_fmt(e.pearson, '8.4f')} {_fmt(e.scale, '9.4g')} "
                f"{_fmt(e.nrmse_scaled, '9.4f')} {_fmt(e.pearson_token, '11.4f')}"
            )
    lines += [
        "",
        "s and phi over the attended (in-window) entries",
        f"  {'quantity':8s} {'model':20s} {'reference':20s} {'NRMSE':>8s} {'Pearson':>8s}",
    ]
    for e in c.errors:
        if e.quantity != "output":
            lines.append(
                f"  {e.quantity:8s} {e.model:20s} {e.reference:20s} {_fmt(e.nrmse, '8.4f')} "
                f"{_fmt(e.pearson, '8.4f')}"
            )
    lines += [
        "",
        "s by token age t - s (NRMSE and mean error over the reference's in-window s range)",
        f"  {'model':20s} {'reference':20s} {'ages':>11s} {'entries':>8s} {'NRMSE':>8s} "
        f"{'bias':>8s}",
    ]
    for a in c.age_errors:
        ages = f"[{a.age_lo},{a.age_hi})"
        lines.append(
            f"  {a.model:20s} {a.reference:20s} {ages:>11s} {a.entries:8d} "
            f"{_fmt(a.nrmse, '8.4f')} {_fmt(a.bias, '+8.4f')}"
        )
    return "\n".join(lines)
