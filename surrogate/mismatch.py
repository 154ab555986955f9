"""Statistical (mismatch) surrogates: draw new instances of a circuit whose devices mismatch.

Fitted from a Monte Carlo characterization (``gaincell characterize ... --mc N``): one corner,
one temperature, N samples of a quantity over the circuit's grid (the multiplier's current
over input level and stored voltage, a converter's pulse width over charge, ...). An instance
is one device set: where a testbench holds several cells (the pulse testbench: one per
width, ``Characterization.instance_axes``) one of them is selected (the 15 ns cell). The model is
the samples' mean curve plus the leading principal components of the per-sample deviations
(as many as hold :data:`CAPTURED_VARIANCE` of the variance), each with the empirical
distribution of its scores: a new instance is the mean plus a score drawn independently for
every component. Scores are drawn from their smoothed empirical distribution (a sample's
score plus Gaussian jitter of a tenth of the component's sigma), not a Gaussian: a current is
not linear in the threshold voltages, so the deviations are skewed.

:func:`validate` compares drawn instances with fresh held-out SPICE samples (another seed):
the mean curve (error in % of full scale); per curve (every grid line along the last axis) the
sigma (RMS over the curve) drawn versus fitted (the model's own error, within 5 %) and drawn
versus held out (within 5 % beyond what two finite SPICE sets can resolve: N = 200 fitted and
n = 100 held-out samples differ by ~9 % in sigma from sampling alone, reported beside it, with
the fitted SPICE's own ratio to the hold-out); and a two-sample Kolmogorov-Smirnov test, at
1 % family-wise (Bonferroni over the tests), of every component's score and of the most
variable output between the hold-out and as many drawn instances as the model was fitted on
(the same tests between the fitted SPICE samples and the hold-out are stored beside them).

Files: HDF5 (``format = gaincell-mismatch-surrogate``), with units, provenance and the
validation; no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from gaincell.circuits.files import CHARACTERIZATION_DIR, MISMATCH_DIR
from gaincell.circuits.h5 import atomic_h5, open_h5
from gaincell.surrogate.models import SurrogateError
from gaincell.surrogate.store import shipped_file, shipped_in

FORMAT = "gaincell-mismatch-surrogate"
"""Root ``format`` attribute of a mismatch surrogate file."""
SCHEMA_VERSION = 1
"""Layout version."""
CAPTURED_VARIANCE = 0.999
"""Share of the deviations' total variance the kept components hold."""
MAX_COMPONENTS = 12
"""At most this many components (the rest is sampling noise of N samples)."""
JITTER = 0.1
"""Jitter of a drawn score, in units of its component's sigma (smooths the empirical
distribution so that new instances are not copies of the fitted ones)."""
MEAN_TARGET = 0.05
"""A drawn population's mean curve may miss the held-out one by this share of full scale ..."""
SIGMA_TARGET = 0.05
"""... and each curve's sigma (RMS over its points) the fitted samples' by this ratio, and the
held-out samples' by this ratio beyond two standard errors of two finite SPICE sets."""
KS_ALPHA = 0.01
"""The two-sample tests, as a family (Bonferroni: each at this over their number), may not
reject at this level."""


@dataclass
class Instances:
    """Drawn instances of a circuit: one curve per instance over the surrogate's grid."""

    values: np.ndarray
    """(n, *grid) values, in :attr:`units`."""
    axes: dict[str, np.ndarray]
    """The grid's axes, in order."""
    units: str
    """Units of the values."""

    def __len__(self) -> int:
        return len(self.values)

    def __call__(self, **coordinates: float | np.ndarray) -> np.ndarray:
        """Every instance at the given point(s), linearly interpolated on the grid:
        shape (n, *broadcast shape of the coordinates)."""
        missing = set(self.axes) - set(coordinates)
        extra = set(coordinates) - set(self.axes)
        if missing or extra:
            raise SurrogateError(
                f"give exactly the inputs {', '.join(self.axes)} (missing: "
                f"{', '.join(sorted(missing)) or 'none'}, "
                f"unknown: {', '.join(sorted(extra)) or 'none'})"
            )
        arrays = np.broadcast_arrays(*(np.asarray(coordinates[a], float) for a in self.axes))
        for name, array in zip(self.axes, arrays, strict=True):
            low, high = self.axes[name][0], self.axes[name][-1]
            if np.any((array < low) | (array > high)) or not np.all(np.isfinite(array)):
                raise SurrogateError(f"{name} outside the characterized {low:g}..{high:g}")
        points = np.stack([a.ravel() for a in arrays], axis=-1)
        moved = np.moveaxis(self.values, 0, -1)  # grid first, instances last
        interpolate = RegularGridInterpolator(tuple(self.axes.values()), moved)
        return np.moveaxis(interpolate(points), -1, 0).reshape(len(self), *arrays[0].shape)


@dataclass
class MismatchSurrogate:
    """Mean curve plus principal deviation shapes with empirical score distributions."""

    circuit: str
    """Characterization the samples came from."""
    quantity: str
    """Modelled quantity (a dataset of the Monte Carlo file)."""
    units: str
    """Its units."""
    description: str
    """What it is."""
    corner: str
    """Process corner of the samples."""
    temperature: float
    """Temperature of the samples [degC]."""
    axes: dict[str, np.ndarray]
    """The grid (the characterization's in-ngspice axes)."""
    axis_units: dict[str, str]
    """Units of each axis."""
    mean: np.ndarray
    """Mean over the fitted samples, shape of the grid."""
    components: np.ndarray
    """(k, *grid) orthonormal deviation shapes."""
    scores: np.ndarray
    """(N, k) every fitted sample's score on each component (the empirical distribution)."""
    seeds: np.ndarray
    """ngspice seed of each fitted sample."""
    captured: float
    """Share of the deviation variance the components hold."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """Source file, its checksum and provenance; how the model was fitted."""
    validation: dict[str, Any] = field(default_factory=dict)
    """Result of :func:`validate` (empty until validated)."""

    kind = "mismatch"

    @property
    def score_sigma(self) -> np.ndarray:
        """Standard deviation of each component's score."""
        return self.scores.std(axis=0, ddof=1)

    def sample(self, n: int, seed: int) -> Instances:
        """``n`` new instances, reproducibly from ``seed``."""
        if not isinstance(n, int | np.integer) or n < 1:
            raise SurrogateError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(self.scores), size=(n, self.scores.shape[1]))
        drawn = self.scores[picks, np.arange(self.scores.shape[1])]
        drawn = drawn + JITTER * self.score_sigma * rng.standard_normal(drawn.shape)
        values = self.mean + np.tensordot(drawn, self.components, axes=1)
        return Instances(values, dict(self.axes), self.units)

    def project(self, values: np.ndarray) -> np.ndarray:
        """Scores of curves (n, *grid) on the components."""
        flat = (values - self.mean).reshape(len(values), -1)
        return flat @ self.components.reshape(len(self.components), -1).T


def _instances(
    data: Any, quantity: str, select: dict[str, float], path: str | Path
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(samples, *grid) values of one instance each and the grid's axes: ``select`` fixes
    axes at one value each; an axis along which the testbench holds different cells
    (``instance_axes``) must be fixed (a curve along it is not one instance)."""
    from gaincell.characterize.registry import get_characterization

    names = data.quantity_axes[quantity]
    if names[:3] != ("corner", "sample", "temperature"):
        raise SurrogateError(f"{quantity} of {path} is over {names}, not corner, sample, ...")
    values = data.quantities[quantity][0, :, 0]
    grid = list(names[3:])
    for axis in get_characterization(data.circuit).instance_axes:
        if axis in grid and axis not in select:
            raise SurrogateError(
                f"{data.circuit}'s testbench holds a different cell at each {axis}: select one "
                f"{axis} (a curve along it is not one instance)"
            )
    for axis, wanted in select.items():
        if axis not in grid:
            raise SurrogateError(f"{path} has no axis {axis!r} to select from")
        nodes = np.asarray(data.axes[axis].values, float)
        match = np.flatnonzero(np.isclose(nodes, wanted, rtol=1e-9, atol=0.0))
        if match.size == 0:
            raise SurrogateError(f"{axis} = {wanted:g} is not a node of {path}: {nodes}")
        values = np.take(values, int(match[0]), axis=1 + grid.index(axis))
        grid.remove(axis)
    return values, tuple(grid)


def fit_mismatch(
    path: str | Path, quantity: str | None = None, select: dict[str, float] | None = None
) -> MismatchSurrogate:
    """Fit a mismatch surrogate to a Monte Carlo characterization file (one corner and one
    temperature; ``quantity`` defaults to the circuit's surrogate quantity; ``select`` fixes
    axes, e.g. ``{"width": 15e-9}``: required for the axes a testbench holds several cells
    along)."""
    from gaincell.characterize import read_characterization
    from gaincell.characterize.registry import get_characterization
    from gaincell.circuits.files import sha256_file, stamp

    data = read_characterization(path)
    if "sample" not in data.axes:
        raise SurrogateError(f"{path} holds no Monte Carlo samples (no 'sample' axis)")
    quantity = quantity or get_characterization(data.circuit).surrogate_quantity
    if quantity not in data.quantities:
        raise SurrogateError(f"{path} has no quantity {quantity!r}: {', '.join(data.quantities)}")
    if len(data.axes["corner"].values) != 1 or len(data.axes["temperature"].values) != 1:
        raise SurrogateError(
            f"{path}: a mismatch surrogate is fitted at one corner and temperature"
        )
    select = {axis: float(value) for axis, value in (select or {}).items()}
    values, names = _instances(data, quantity, select, path)
    good = np.all(np.isfinite(values.reshape(len(values), -1)), axis=1)
    if good.sum() < 20:
        raise SurrogateError(f"{path}: {good.sum()} complete samples; at least 20 are needed")
    values = values[good]
    mean = values.mean(axis=0)
    flat = (values - mean).reshape(len(values), -1)
    _, singular, rows = np.linalg.svd(flat, full_matrices=False)
    share = np.cumsum(singular**2) / np.sum(singular**2)
    k = int(min(MAX_COMPONENTS, np.searchsorted(share, CAPTURED_VARIANCE) + 1))
    components = rows[:k].reshape(k, *mean.shape)
    model = MismatchSurrogate(
        circuit=data.circuit,
        quantity=quantity,
        units=data.units[quantity],
        description=data.descriptions[quantity],
        corner=str(data.axes["corner"].values[0]),
        temperature=float(data.axes["temperature"].values[0]),
        axes={a: np.asarray(data.axes[a].values, float) for a in names},
        axis_units={a: data.axes[a].units for a in names},
        mean=mean,
        components=components,
        scores=np.zeros((len(values), k)),
        seeds=np.asarray(data.axes["sample"].values)[good],
        captured=float(share[k - 1]),
        provenance={
            "source_file": Path(path).name,
            "source_sha256": sha256_file(Path(path)),
            "source_provenance": {
                key: data.provenance.get(key)
                for key in ("sweep_spec", "git_commit", "ngspice_version", "pdk_version")
            },
            "samples": int(good.sum()),
            "select": select,
            **stamp(),
            "method": f"mean + {k} principal components, empirical scores (+{JITTER} sigma jitter)",
        },
    )
    model.scores = model.project(values)
    return model


def _curves(values: np.ndarray) -> np.ndarray:
    """(n, lines, points along the last axis)."""
    return values.reshape(len(values), -1, values.shape[-1])


def validate(
    model: MismatchSurrogate, holdout: str | Path, draws: int = 20_000, seed: int = 0
) -> dict[str, Any]:
    """Compare ``draws`` drawn instances with the held-out SPICE samples of another Monte
    Carlo file of the same sweep (another seed). Stores the result in ``model.validation``."""
    from gaincell.characterize import read_characterization
    from gaincell.circuits.files import sha256_file

    data = read_characterization(holdout)
    select = model.provenance.get("select", {})
    reference, _ = _instances(data, model.quantity, select, holdout)
    reference = reference[np.all(np.isfinite(reference.reshape(len(reference), -1)), axis=1)]
    if reference.shape[1:] != model.mean.shape:
        raise SurrogateError(f"{holdout}'s grid {reference.shape[1:]} is not the model's")
    shared = set(data.axes["sample"].values.tolist()) & set(model.seeds.tolist())
    if shared:
        raise SurrogateError(f"{holdout} shares {len(shared)} sample seeds with the fitted file")
    drawn = model.sample(draws, seed).values
    fitted = model.mean + np.tensordot(model.scores, model.components, axes=1)
    n, n_fit = len(reference), len(fitted)

    def curve_sigma(values: np.ndarray) -> np.ndarray:
        """Per curve: the RMS over its points of the sigma over instances."""
        return np.sqrt(np.mean(_curves(values).std(axis=0, ddof=1) ** 2, axis=1))

    sigma_ref, sigma_model, sigma_fit = map(curve_sigma, (reference, drawn, fitted))
    sigma_ratio = sigma_model / sigma_ref
    fidelity = sigma_model / sigma_fit  # the model against the samples it was fitted on
    # Two finite SPICE sets differ by sampling alone: sigma ratios by ~sqrt(1/2N + 1/2n).
    sampling = float(np.sqrt(1 / (2 * (n_fit - 1)) + 1 / (2 * (n - 1))))
    mean_error = np.abs(_curves(drawn).mean(axis=0) - _curves(reference).mean(axis=0))
    full_scale = float(np.max(np.abs(model.mean)))
    mean_error_fs = float(mean_error.max() / full_scale)
    # The two-sample tests use as many drawn instances as the model was fitted on: the model
    # knows the distribution to that many samples, and 20,000 draws against a finite hold-out
    # would test the fitted samples' own sampling error, not the model.
    from scipy.stats import ks_2samp  # here: scipy.stats costs 0.6 s to import

    matched = model.sample(n_fit, seed + 1).values
    scores_ref, scores_model = model.project(reference), model.project(matched)
    ks = [
        float(ks_2samp(scores_ref[:, j], scores_model[:, j]).pvalue)
        for j in range(scores_ref.shape[1])
    ]
    # The output that varies most between instances (the full-scale current of a cell; the
    # last grid point can be a clipped pulse that hardly varies).
    widest = np.unravel_index(int(np.argmax(fitted.std(axis=0))), model.mean.shape)
    ks_full_scale = float(
        ks_2samp(reference[(slice(None), *widest)], matched[(slice(None), *widest)]).pvalue
    )
    result = {
        "holdout_file": Path(holdout).name,
        "holdout_sha256": sha256_file(Path(holdout)),
        "holdout_samples": int(n),
        "fitted_samples": int(n_fit),
        "draws": int(draws),
        "draw_seed": int(seed),
        "curves": len(sigma_ratio),
        "sigma_ratio_min": float(sigma_ratio.min()),
        "sigma_ratio_max": float(sigma_ratio.max()),
        "sigma_ratio_median": float(np.median(sigma_ratio)),
        "sigma_sampling_error": sampling,
        "sigma_fidelity_min": float(fidelity.min()),
        "sigma_fidelity_max": float(fidelity.max()),
        "spice_sigma_ratio_min": float((sigma_fit / sigma_ref).min()),
        "spice_sigma_ratio_max": float((sigma_fit / sigma_ref).max()),
        "mean_error_fs_max": mean_error_fs,
        "full_scale": full_scale,
        "ks_pvalues_components": ks,
        "ks_pvalue_full_scale": ks_full_scale,
        "ks_point": {a: float(model.axes[a][i]) for a, i in zip(model.axes, widest, strict=True)},
        "sigma_ok": bool(
            np.all(np.abs(fidelity - 1) <= SIGMA_TARGET)
            and np.all(np.abs(sigma_ratio - 1) <= SIGMA_TARGET + 2 * sampling)
        ),
        "mean_ok": bool(mean_error_fs <= MEAN_TARGET),
        # Bonferroni: the family of tests may not reject at KS_ALPHA
        "ks_tests": len(ks) + 1,
        "ks_ok": bool(min([*ks, ks_full_scale]) > KS_ALPHA / (len(ks) + 1)),
        # the same tests between the fitted SPICE samples and the hold-out, for reference
        "ks_spice_pvalues_components": [
            float(ks_2samp(scores_ref[:, j], model.scores[:, j]).pvalue)
            for j in range(scores_ref.shape[1])
        ],
    }
    model.validation = result
    return result


def save_mismatch(model: MismatchSurrogate, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` atomically (an existing file is replaced only with ``overwrite``)."""
    path = Path(path)
    with atomic_h5(path, overwrite=overwrite) as h5:
        h5.attrs["format"] = FORMAT
        h5.attrs["schema_version"] = SCHEMA_VERSION
        for key in ("circuit", "quantity", "units", "description", "corner"):
            h5.attrs[key] = getattr(model, key)
        h5.attrs["temperature"] = model.temperature
        h5.attrs["captured"] = model.captured
        h5.attrs["provenance"] = json.dumps(model.provenance, sort_keys=True)
        h5.attrs["created"] = str(model.provenance.get("created", ""))
        h5.attrs["validation"] = json.dumps(model.validation, sort_keys=True)
        h5.attrs["axes"] = json.dumps(list(model.axes))
        axes = h5.create_group("axes")
        for name, values in model.axes.items():
            axes.create_dataset(name, data=values).attrs["units"] = model.axis_units[name]
        for name, values, units, text in (
            ("mean", model.mean, model.units, "mean over the fitted samples"),
            ("components", model.components, "", "orthonormal deviation shapes (k, *grid)"),
            ("scores", model.scores, model.units, "each fitted sample's score per component"),
            ("seeds", model.seeds, "", "ngspice seed of each fitted sample"),
        ):
            dataset = h5.create_dataset(name, data=values)
            dataset.attrs["units"] = units
            dataset.attrs["description"] = text
    return path


def load_mismatch(path: str | Path) -> MismatchSurrogate:
    """Read a file written by :func:`save_mismatch`."""
    with open_h5(Path(path), "mismatch surrogate", SurrogateError) as h5:
        if h5.attrs.get("format") != FORMAT:
            raise SurrogateError(f"{path} is not a gaincell mismatch surrogate file")
        if int(h5.attrs.get("schema_version", 0)) != SCHEMA_VERSION:
            raise SurrogateError(f"{path} has schema {h5.attrs.get('schema_version')}")
        names = json.loads(h5.attrs["axes"])
        return MismatchSurrogate(
            circuit=str(h5.attrs["circuit"]),
            quantity=str(h5.attrs["quantity"]),
            units=str(h5.attrs["units"]),
            description=str(h5.attrs["description"]),
            corner=str(h5.attrs["corner"]),
            temperature=float(h5.attrs["temperature"]),
            axes={n: h5["axes"][n][()] for n in names},
            axis_units={n: str(h5["axes"][n].attrs["units"]) for n in names},
            mean=h5["mean"][()],
            components=h5["components"][()],
            scores=h5["scores"][()],
            seeds=h5["seeds"][()],
            captured=float(h5.attrs["captured"]),
            provenance=json.loads(h5.attrs["provenance"]),
            validation=json.loads(h5.attrs["validation"]),
        )


@dataclass(frozen=True)
class MismatchFit:
    """How one shipped mismatch surrogate is made."""

    name: str
    """Shipped name (``load(name)``); the file is ``data/mismatch/<name with _>_sky130.h5``."""
    source: str
    """Monte Carlo characterization it is fitted on (stem in ``data/characterization``)."""
    holdout: str
    """Monte Carlo characterization of fresh samples it is validated against."""
    select: tuple[tuple[str, float], ...] = ()
    """Axes fixed at one value (``instance_axes`` must be)."""


MISMATCH_FITS = tuple(
    MismatchFit(
        f"{stem.replace('_', '-')}-mc", f"{stem}_mc_sky130", f"{stem}_mc_holdout_sky130", select
    )
    for stem, select in (
        ("multiplier", ()),
        # one cell per width in the pulse testbench: the 15 ns cell over v_store and v_col
        ("multiplier_pulse", (("width", 15e-9),)),
        ("relu_c2p", ()),
        ("signed_c2p", ()),
        ("leakage", ()),
    )
)
"""Every shipped mismatch surrogate."""


def mismatch_target(item: MismatchFit) -> Path:
    """Where a shipped mismatch surrogate is written."""
    return shipped_file(MISMATCH_DIR, item.name)


def shipped_mismatch() -> dict[str, Path]:
    """Shipped mismatch surrogate name -> file (``multiplier-mc``, ...)."""
    return shipped_in(MISMATCH_DIR)


def ship_mismatch(item: MismatchFit, *, overwrite: bool = False) -> MismatchSurrogate:
    """Fit ``item`` on its shipped Monte Carlo file, validate it on the shipped hold-out and
    save it (no SPICE runs: both files are shipped data)."""
    model = fit_mismatch(CHARACTERIZATION_DIR / f"{item.source}.h5", select=dict(item.select))
    validate(model, CHARACTERIZATION_DIR / f"{item.holdout}.h5")
    MISMATCH_DIR.mkdir(parents=True, exist_ok=True)
    save_mismatch(model, mismatch_target(item), overwrite=overwrite)
    return model


def format_validation(model: MismatchSurrogate) -> str:
    """One line per check of a validated mismatch surrogate."""
    v = model.validation
    if not v:
        return "  not validated"
    ks = min([*v["ks_pvalues_components"], v["ks_pvalue_full_scale"]])
    return "\n".join(
        [
            f"  {len(model.components)} components ({model.captured:.2%} of the variance), "
            f"{model.provenance['samples']} samples; hold-out {v['holdout_samples']} fresh "
            f"samples ({v['holdout_file']})",
            f"  sigma per curve, drawn / fitted: {v['sigma_fidelity_min']:.3f} .. "
            f"{v['sigma_fidelity_max']:.3f}; drawn / held out: {v['sigma_ratio_min']:.3f} .. "
            f"{v['sigma_ratio_max']:.3f} over {v['curves']} curves (fitted SPICE / held out: "
            f"{v['spice_sigma_ratio_min']:.3f} .. {v['spice_sigma_ratio_max']:.3f}; sampling "
            f"error {v['sigma_sampling_error']:.1%}) {'ok' if v['sigma_ok'] else 'MISSES'}",
            f"  mean curve: max error {v['mean_error_fs_max']:.3%} of full scale "
            f"{'ok' if v['mean_ok'] else 'MISSES 5 %'}",
            "  two-sample KS (component scores; the most variable output, at "
            + ", ".join(f"{a} = {x:.3g}" for a, x in v["ks_point"].items())
            + f"): smallest p = {ks:.4f} of {v['ks_tests']} tests "
            f"({'not rejected' if v['ks_ok'] else 'REJECTED'} at 1 % family-wise; fitted SPICE "
            f"vs hold-out: smallest p = {min(v['ks_spice_pvalues_components']):.4f})",
        ]
    )
