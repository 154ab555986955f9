"""Monte Carlo tiles: is the array simulation's mismatch the hardware's, in distribution?

SPICE's Monte Carlo tiles (:func:`gaincell.characterize.tile.run_tile_cases` with a mismatch
seed: every cell and converter its own sky130 draw) cannot be matched draw for draw: the array
simulation draws its own devices from the mismatch surrogates. So each Monte Carlo case is
paired with its nominal twin (the same inputs, nominal devices) and the per-column errors
against the nominal SPICE result are compared as distributions:

- ``spice``: Monte Carlo SPICE - nominal SPICE (what mismatch does to the hardware);
- ``array_mismatch``: the array simulation with drawn devices
  (:func:`gaincell.attention.head.tile_model` with a mismatch seed, :data:`DRAWS_PER_CASE` draws
  per case) - nominal SPICE;
- ``array_nominal``: the array simulation without mismatch - nominal SPICE (its model error
  alone: it must miss the spread).

Per operation (``phi``: each K column's Phi; ``output``: each V column's signed output, on
its own Phi pulses) the mean and sigma of each distribution; the array with mismatch must give
the sigma within :data:`SIGMA_TOLERANCE` and the mean within :data:`MEAN_TOLERANCE` of the
range of the nominal SPICE values (at least one counter level), and a two-sample
Kolmogorov-Smirnov test is reported. Few cases cannot show a miss: the verdict is ``ok``
(both within), ``missed``, or ``undecided`` when the miss is within what the same number of
cases gives with the model right (:func:`_null_intervals`: one of the array's own draws per
case in SPICE's place).

A case's columns share its inputs, so they are not independent samples, and statistics whose
uncertainty counts every column as one misjudge what the cases show. So the cases are the
units of the uncertainty: the mean difference's standard error is the spread of the cases'
mean differences over the root of their number; the sigma ratio gets a 95 % interval by
resampling whole cases (bootstrap); and beside the plain KS p-value (independent columns
assumed) one calibrated on the array's own draws (:func:`_ks_pvalue_over_cases`). Both of
its samples hold every case alike, which narrows its null, so on these files it is the
stricter of the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import ks_2samp

from gaincell.attention.head import HeadCircuits, tile_model
from gaincell.attention.validate import COUNTER_LEVEL, signed_output
from gaincell.characterize.tile import T_MAX, TileCase, TileResult
from gaincell.circuits.montecarlo import derived_seed
from gaincell.errors import InputError

Array = NDArray[np.float64]

SIGMA_TOLERANCE = 0.15
"""The array with mismatch must predict the sigma of SPICE's per-column error within 15 %."""
MEAN_TOLERANCE = 0.002
"""... and its mean within 0.2 % of the range of the nominal SPICE values."""
DRAWS_PER_CASE = 20
"""Drawn arrays per case for the predicted distribution (SPICE has one per case)."""
RESAMPLES = 1000
"""Resamples of the case bootstrap and null draws of the calibrated KS test (fixed seed: the
stored comparison is reproducible)."""
OPERATIONS = ("phi", "output")
"""Compared outputs: each K column's Phi, each V column's signed output (chained)."""
MODELS = ("spice", "array_mismatch", "array_nominal")
"""The three error distributions (each against the nominal SPICE result)."""


def _case_key(case: TileCase, result: TileResult) -> tuple[Any, ...]:
    return (case.seed, case.index, result.corner, round(result.temperature, 9))


def mismatch_pairs(
    cases: Sequence[TileCase], results: Sequence[TileResult]
) -> list[tuple[int, int]]:
    """(nominal index, Monte Carlo index) of every Monte Carlo case whose nominal twin (the
    same drawn inputs at the same corner and temperature) is in the file; empty if none."""
    nominal = {
        _case_key(c, r): i
        for i, (c, r) in enumerate(zip(cases, results, strict=True))
        if c.mismatch_seed is None and c.seed is not None
    }
    pairs = []
    for i, (case, result) in enumerate(zip(cases, results, strict=True)):
        twin = nominal.get(_case_key(case, result))
        if case.mismatch_seed is not None and twin is not None:
            if not (
                np.array_equal(cases[twin].k, case.k) and np.array_equal(cases[twin].q, case.q)
            ):
                raise InputError(f"case {i} and its nominal twin {twin} hold different inputs")
            pairs.append((twin, i))
    return pairs


def _spice(result: TileResult) -> dict[str, Array]:
    return {"phi": result.phi, "output": result.output}


def _array(circuits: HeadCircuits, case: TileCase, seed: int | None) -> dict[str, Array]:
    out = tile_model(circuits, case.q, case.k, case.v, mismatch_seed=seed)
    return {"phi": out["phi_width"] / T_MAX, "output": signed_output(out)}


def mismatch_errors(
    cases: Sequence[TileCase],
    results: Sequence[TileResult],
    circuits: Callable[[str, float], HeadCircuits],
    *,
    draws: int = DRAWS_PER_CASE,
    seed: int = 0,
) -> dict[str, Array]:
    """``"<model>/<operation>"`` -> per-column errors against the nominal SPICE result, over
    every Monte Carlo pair (:func:`mismatch_pairs`): (pairs, columns), for ``array_mismatch``
    (pairs, draws, columns); and ``nominal/<operation>`` the nominal SPICE values. The array's
    devices of pair p, draw j are drawn with ``derived_seed(seed, p, j)``. Columns SPICE did not
    finish (NaN) are NaN."""
    pairs = mismatch_pairs(cases, results)
    if not pairs:
        raise InputError(
            "no Monte Carlo case with its nominal twin (same inputs, corner and temperature)"
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InputError(f"draws must be a positive whole number, got {draws!r}")
    out: dict[str, list[Array]] = {}
    for p, (twin, mc) in enumerate(pairs):
        case, result = cases[mc], results[mc]
        built = circuits(result.corner, result.temperature)
        nominal, measured = _spice(results[twin]), _spice(result)
        modelled = _array(built, case, None)
        drawn = [_array(built, case, derived_seed(seed, p, j)) for j in range(draws)]
        for op in OPERATIONS:
            out.setdefault(f"nominal/{op}", []).append(nominal[op])
            out.setdefault(f"spice/{op}", []).append(measured[op] - nominal[op])
            out.setdefault(f"array_nominal/{op}", []).append(modelled[op] - nominal[op])
            out.setdefault(f"array_mismatch/{op}", []).append(
                np.stack([d[op] for d in drawn]) - nominal[op]
            )
    return {name: np.stack(values) for name, values in out.items()}


def mismatch_metrics(errors: dict[str, Array]) -> dict[str, dict[str, Any]]:
    """Per operation: each model's error mean and sigma (in model units and as a fraction of the
    nominal SPICE range), the array models' sigma ratio and mean difference against SPICE's
    with its standard error over the cases (:func:`_mean_difference_se`), KS p-values (every
    column a sample), and for the array with mismatch the sigma ratio's 95 % interval over the
    cases (:func:`_sigma_ratio_interval`) and the KS p-value calibrated over the cases
    (:func:`_ks_pvalue_over_cases`); ``ok``: the array with mismatch within
    :data:`SIGMA_TOLERANCE` / :data:`MEAN_TOLERANCE`."""
    metrics: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        nominal = errors[f"nominal/{op}"]
        # The range, or one counter level where every value sits within one (as error_metrics)
        span = max(float(np.ptp(_finite(nominal))), COUNTER_LEVEL)
        spice = _finite(errors[f"spice/{op}"])
        entry: dict[str, Any] = {"range": span, "pairs": int(nominal.shape[0])}
        for model in MODELS:
            values = _finite(errors[f"{model}/{op}"])
            mean, sigma = float(values.mean()), float(values.std(ddof=1))
            entry[model] = {"mean": mean, "sigma": sigma, "points": int(values.size)}
            if model != "spice":
                entry[model] |= {
                    "sigma_ratio": sigma / float(spice.std(ddof=1)),
                    "mean_difference": (mean - float(spice.mean())) / span,
                    "mean_difference_se": _mean_difference_se(
                        errors[f"{model}/{op}"], errors[f"spice/{op}"]
                    )
                    / span,
                    "ks_pvalue": float(ks_2samp(values, spice).pvalue),
                }
        drawn, measured = errors[f"array_mismatch/{op}"], errors[f"spice/{op}"]
        null_sigma, null_mean = _null_intervals(drawn, span)
        entry["array_mismatch"] |= {
            "sigma_ratio_interval": _sigma_ratio_interval(drawn, measured),
            "ks_pvalue_cases": _ks_pvalue_over_cases(drawn, measured),
            "null_sigma_ratio_interval": null_sigma,
            "null_mean_difference_interval": null_mean,
        }
        predicted = entry["array_mismatch"]
        entry["ok"] = bool(
            abs(predicted["sigma_ratio"] - 1.0) <= SIGMA_TOLERANCE
            and abs(predicted["mean_difference"]) <= MEAN_TOLERANCE
        )
        consistent = (
            null_sigma[0] <= predicted["sigma_ratio"] <= null_sigma[1]
            and null_mean[0] <= predicted["mean_difference"] <= null_mean[1]
        )
        entry["verdict"] = "ok" if entry["ok"] else "undecided" if consistent else "missed"
        metrics[op] = entry
    return metrics


def _mean_difference_se(model: Array, spice: Array) -> float:
    """Standard error of the difference of two error means, over the cases: ``model``
    (cases, [draws,] columns) and ``spice`` (cases, columns); each case's mean difference
    (NaN columns left out), their sample sigma over the root of their number (NaN for fewer
    than two cases)."""
    per_case = _finite([np.nanmean(m) - np.nanmean(s) for m, s in zip(model, spice, strict=True)])
    if per_case.size < 2:
        return float("nan")
    return float(per_case.std(ddof=1) / np.sqrt(per_case.size))


def _finite(values: ArrayLike) -> Array:
    """The finite values of ``values``, flattened (SPICE columns that did not finish are NaN)."""
    values = np.ravel(values)
    return values[np.isfinite(values)]


def _spread(moments: Array) -> tuple[Array, Array]:
    """Sample sigma and mean from moments ``(..., 3)``: count, sum, sum of squares."""
    n, total, squares = np.moveaxis(moments, -1, 0)
    return np.sqrt((squares - total**2 / n) / (n - 1)), total / n


def _sigma_ratio_interval(drawn: Array, spice: Array) -> list[float]:
    """95 % interval of the sigma ratio (``drawn`` (cases, draws, columns) over ``spice``
    (cases, columns)), resampling whole cases with replacement :data:`RESAMPLES` times."""
    cases = spice.shape[0]
    moments = np.array(
        [
            [(v.size, v.sum(), (v * v).sum()) for v in (_finite(d), _finite(s))]
            for d, s in zip(drawn, spice, strict=True)
        ]
    )  # (cases, 2 models, count / sum / sum of squares)
    picks = np.random.default_rng(0).integers(0, cases, (RESAMPLES, cases))
    sigma, _ = _spread(moments[picks].sum(axis=1))  # (resamples, 2)
    low, high = np.percentile(sigma[:, 0] / sigma[:, 1], [2.5, 97.5])
    return [float(low), float(high)]


def _null_intervals(drawn: Array, span: float) -> tuple[list[float], list[float]]:
    """95 % intervals of the sigma ratio and the mean difference (as a fraction of ``span``)
    that these cases give when the model is right: one of the array's own draws per case
    (``drawn`` (cases, draws, columns)) taken as if it were SPICE's and compared with the
    others, :data:`RESAMPLES` times (as :func:`_ks_pvalue_over_cases`). A miss of the
    tolerances inside both is within what so few cases and columns can tell (NaN with fewer
    than two draws per case)."""
    cases, draws = drawn.shape[:2]
    if draws < 2:
        return [float("nan")] * 2, [float("nan")] * 2
    finite = np.isfinite(drawn)
    values = np.where(finite, drawn, 0.0)
    moments = np.stack(
        [finite.sum(axis=-1), values.sum(axis=-1), (values * values).sum(axis=-1)], axis=-1
    ).astype(np.float64)  # (cases, draws, count / sum / sum of squares)
    picks = np.random.default_rng(0).integers(0, draws, (RESAMPLES, cases))
    chosen = moments[np.arange(cases), picks].sum(axis=1)  # (resamples, 3): the pseudo-SPICE
    rest = moments.sum(axis=(0, 1)) - chosen
    (sigma_rest, mean_rest), (sigma_chosen, mean_chosen) = _spread(rest), _spread(chosen)
    ratio = np.percentile(sigma_rest / sigma_chosen, [2.5, 97.5])
    difference = np.percentile((mean_rest - mean_chosen) / span, [2.5, 97.5])
    return [float(v) for v in ratio], [float(v) for v in difference]


def _ks_pvalue_over_cases(drawn: Array, spice: Array) -> float:
    """Two-sample KS p-value of SPICE's errors against the drawn arrays', calibrated for
    columns that share their case: the statistic's null distribution is made of the array's
    own draws, one per case taken as if it were SPICE's and compared with the others
    (:data:`RESAMPLES` times); NaN with fewer than two draws per case."""
    cases, draws = drawn.shape[:2]
    if draws < 2:
        return float("nan")
    observed = ks_2samp(_finite(drawn), _finite(spice)).statistic
    rng = np.random.default_rng(0)
    exceed = 0
    for _ in range(RESAMPLES):
        chosen = np.zeros((cases, draws), dtype=bool)
        chosen[np.arange(cases), rng.integers(0, draws, cases)] = True
        exceed += ks_2samp(_finite(drawn[~chosen]), _finite(drawn[chosen])).statistic >= observed
    return float((exceed + 1) / (RESAMPLES + 1))
