"""The ``gaincell`` command: the application on top of every layer.

Each subcommand is a ``cmd_*`` function from parsed arguments; the work itself is done by
plain functions (``characterize_to``, ``fit_to``, ``simulate_head_to``, ``draw_figures``) that
the main job (:func:`main_job`) calls directly. Errors a user can cause
(:class:`gaincell.GaincellError`) print as one line and exit 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaincell import __version__
from gaincell.circuits.files import CHARACTERIZATION_DIR, DATA_DIR, build_dir, shipped_files
from gaincell.errors import GaincellError, InputError

if TYPE_CHECKING:
    import numpy as np

    from gaincell.characterize import SweepSpec
    from gaincell.surrogate import FitOptions, Surrogate

VALUE_OPTIONS = ("--temps", "--temp", "--corners", "--v-in", "--v-store", "--axis", "--set", "--at")
"""Options whose value may start with ``-`` (``--temps -40,27,85``, ``--v-in -0.1:1.8:5``)."""


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def cmd_info(args: argparse.Namespace) -> int:
    from gaincell.circuits.pdk import PdkNotFoundError, find_models

    print(f"gaincell {__version__}")
    try:
        from gaincell.circuits.runner import ngspice_version

        print(f"ngspice: {ngspice_version()} (shared library via PySpice)")
    except Exception as error:  # report, do not crash: info is for diagnosing set-ups
        print(f"ngspice: not usable ({error.__class__.__name__}: {error})")
    from gaincell.attention.fused import backend

    print(f"array kernels: {backend()}")
    try:
        location = find_models()
        print(f"PDK models: {location.models_dir} ({location.source}, {location.version})")
    except PdkNotFoundError as error:
        print(f"PDK models: not found\n{error}")
    files = shipped_files()
    print(f"shipped data ({DATA_DIR}):")
    if not files:
        print("  none: this installation is missing its data files (reinstall gaincell)")
    for path in files:
        detail = ""
        if path.suffix == ".h5":
            try:
                import h5py

                with h5py.File(path, "r") as h5:
                    detail = f"  [{h5.attrs.get('circuit', '?')}, {h5.attrs.get('created', '?')}]"
            except OSError:
                detail = "  [unreadable]"
        print(f"  {path.relative_to(DATA_DIR)}  {path.stat().st_size / 1024:.0f} KiB{detail}")
    from gaincell.characterize.spec import PRESET_DIR
    from gaincell.circuits.files import NETLIST_DIR

    for label, folder, pattern in (
        ("netlists", NETLIST_DIR, "*.sp"),
        ("presets", PRESET_DIR, "*.toml"),
    ):
        names = sorted(p.name for p in folder.glob(pattern))
        print(f"shipped {label} ({folder}): {', '.join(names) or 'none'}")
    return 0


def cmd_deck(args: argparse.Namespace) -> int:
    from gaincell.characterize import SweepSpec
    from gaincell.characterize.registry import get_characterization

    base = _job_spec(args.job, args.circuit) if args.job else SweepSpec(circuit=args.circuit)
    spec = replace(base, corners=(args.corner,), temperatures=(args.temp,))
    characterization = get_characterization(args.circuit)
    deck = characterization.deck(args.corner)
    control = characterization.standalone_control(spec, args.at)
    build_dir().mkdir(parents=True, exist_ok=True)  # the deck's wrdata writes into build/
    text = deck.text.replace(
        "\n.end\n", f"\n.temp {args.temp:g}\n.control\n{control}\n.endc\n.end\n"
    )
    if args.inline:
        text = text.replace(deck.models.text, deck.models.inlined() + "\n")
    sys.stdout.write(text)
    return 0


def _job_spec(job: str, circuit: str) -> SweepSpec:
    """The sweep of a TOML job file or shipped preset name, or the one a characterization
    file (``.h5``) records."""
    from gaincell.characterize import SweepSpec, read_characterization

    if job.endswith((".h5", ".hdf5")):
        recorded = read_characterization(job).provenance.get("sweep_spec")
        if recorded is None:
            raise InputError(f"{job} records no sweep_spec")
        spec = SweepSpec.from_recorded(recorded)
    else:
        spec = SweepSpec.from_toml(job)
    if spec.circuit != circuit:
        raise InputError(f"job {job} is for {spec.circuit!r}, the command asks for {circuit!r}")
    return spec


def _spec_from_args(args: argparse.Namespace) -> SweepSpec:
    from gaincell.characterize import Axis, SpecError, SweepSpec

    base = _job_spec(args.job, args.circuit) if args.job else SweepSpec(circuit=args.circuit)
    data = base.to_dict()
    data["axes"] = dict(base.axes)
    if args.corners:
        data["corners"] = list(args.corners)
    if args.temps:
        data["temperatures"] = list(args.temps)
    axes = list(args.axis or [])
    if args.v_in:
        axes.append(f"v_in={args.v_in}")
    if args.v_store:
        axes.append(f"v_store={args.v_store}")
    for item in axes:
        name, _, text = item.partition("=")
        data["axes"][name.strip()] = Axis.parse(text, name=name.strip())
    for item in args.set or []:
        name, _, text = item.partition("=")
        try:
            data["settings"][name.strip()] = float(text)
        except ValueError:
            raise SpecError(f"setting {item!r}: expected NAME=NUMBER") from None
    monte_carlo = dict(data.get("monte_carlo") or {})
    for flag, key in (("mc", "samples"), ("mc_seed", "seed"), ("mc_kind", "kind")):
        if getattr(args, flag, None) is not None:
            monte_carlo[key] = getattr(args, flag)
    if monte_carlo:
        if "samples" not in monte_carlo:
            raise SpecError("--mc-seed and --mc-kind need --mc N (how many samples)")
        data["monte_carlo"] = monte_carlo
    return SweepSpec.from_dict(data)


def _default_out(given: str | None, name: str) -> Path:
    """``given``, or ``build/<name>`` under the current folder; ``build/`` is created when the
    output goes there (results go to ``./build/`` unless ``--out`` says otherwise), any other
    missing folder is an error."""
    path = Path(given) if given else build_dir() / name
    if path.parent.resolve() == build_dir().resolve():
        build_dir().mkdir(parents=True, exist_ok=True)
    return path


def _campaign(args: argparse.Namespace) -> Campaign:
    """How to run: the command line, then the job file's ``[run]`` table, then defaults."""
    from gaincell.characterize.spec import run_table

    table = run_table(args.job) if args.job and not args.job.endswith((".h5", ".hdf5")) else {}

    def pick(flag: str, key: str, default: object = None) -> object:
        value = getattr(args, flag)
        return value if value is not None else table.get(key, default)

    return Campaign(
        jobs=int(pick("jobs", "jobs", 1)),  # type: ignore[arg-type]
        backend=str(pick("backend", "backend", "local")),
        scheduler=pick("scheduler", "scheduler"),  # type: ignore[arg-type]
        timeout=pick("timeout", "timeout"),  # type: ignore[arg-type]
        max_memory_mb=pick("max_memory", "max_memory_mb"),  # type: ignore[arg-type]
        recycle_after=int(pick("recycle_after", "recycle_after", 50)),  # type: ignore[arg-type]
        resume=args.resume,
    )


def cmd_characterize(args: argparse.Namespace) -> int:
    spec = _spec_from_args(args)
    out = _default_out(args.out, f"{spec.circuit}_sky130.h5")
    campaign = _campaign(args)
    args.interrupted_hint = f"{out}.journal"
    characterize_to(spec, out, campaign.jobs, args.quiet, args.max_points, campaign, args.overwrite)
    return 0


@dataclass(frozen=True)
class Campaign:
    """How a characterization runs (``gaincell characterize`` flags or a job's ``[run]``)."""

    jobs: int = 1
    """Worker processes (0 or -1 = all cores; capped at the cores available)."""
    backend: str = "local"
    """``local`` worker processes, or ``dask``."""
    scheduler: str | None = None
    """Dask scheduler address; None starts a local Dask cluster."""
    timeout: float | None = None
    """Seconds one analysis may run (None: the circuit's default)."""
    max_memory_mb: float | None = None
    """Megabytes a worker may hold during an analysis (None: the circuit's default)."""
    recycle_after: int = 50
    """Tasks a local worker runs before it is replaced."""
    resume: bool = False
    """Finish an interrupted run from its journal."""


def characterize_to(
    spec: SweepSpec,
    out: Path,
    jobs: int,
    quiet: bool = False,
    max_points: int | None = None,
    campaign: Campaign | None = None,
    overwrite: bool = False,
) -> Path:
    """Run ``spec`` into ``out`` (an existing file is replaced only with ``overwrite``; the
    output is locked from the check to the write) and print a one-line summary; sweeps over
    ``max_points`` (default :data:`gaincell.characterize.spec.MAX_POINTS`) are refused."""
    from gaincell.characterize.parallel import PoolOptions, resolve_jobs
    from gaincell.characterize.registry import get_characterization
    from gaincell.characterize.spec import MAX_POINTS
    from gaincell.characterize.sweep import run_sweep
    from gaincell.circuits.h5 import claimed_output
    from gaincell.circuits.runner import RunLimits

    campaign = campaign or Campaign(jobs=jobs)
    max_points = MAX_POINTS if max_points is None else max_points
    spec.check_size(max_points)  # before the workers start
    try:
        options = PoolOptions(campaign.backend, campaign.scheduler, campaign.recycle_after)
        defaults = get_characterization(spec.circuit).run_limits
        memory = campaign.max_memory_mb
        limits = RunLimits(
            defaults.timeout if campaign.timeout is None else campaign.timeout,
            defaults.max_memory if memory is None else memory * 2**20,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    with claimed_output(out, overwrite=overwrite):
        # A Dask cluster elsewhere has its own cores: --jobs only sizes the blocks there.
        jobs = resolve_jobs(jobs) if options.scheduler is None else max(jobs, 1)
        started = time.perf_counter()
        report = run_sweep(
            spec,
            out,
            jobs=jobs,
            progress=not quiet,
            max_points=max_points,
            options=options,
            limits=limits,
            resume=campaign.resume,
            overwrite=overwrite,
        )
    seconds = time.perf_counter() - started
    print(
        f"{spec.circuit}: {report.points} points ({len(spec.corners)} corners x "
        f"{len(spec.temperatures)} temperatures"
        f"{f' x {spec.samples} samples' if spec.monte_carlo else ''}) in {seconds:.2f} s "
        f"with {jobs} worker(s) "
        f"-> {out}"
    )
    return out


def cmd_figures(args: argparse.Namespace) -> int:
    data_dirs = [Path(folder) for folder in args.data] if args.data else [CHARACTERIZATION_DIR]
    out = Path(args.out) if args.out else build_dir() / "figures"
    draw_figures(data_dirs, out, args.overwrite)
    return 0


def draw_figures(data_dirs: list[Path], out: Path, overwrite: bool = False) -> None:
    """Draw every figure whose data is in ``data_dirs`` into ``out`` (existing PNGs replaced
    only with ``overwrite``); print what was drawn and what was missing (and the command that
    makes it). Raises if nothing could be drawn."""
    from gaincell.figures import FigureDataMissing, draw_all

    drawn, missing = draw_all(data_dirs, out, overwrite=overwrite)
    for png, source in drawn:
        print(f"wrote {png} (from {source})")
    for problem in missing:
        print(f"skipped: {problem}")
    if not drawn:
        raise FigureDataMissing("no figure could be drawn: " + "; ".join(map(str, missing)))


def cmd_fit(args: argparse.Namespace) -> int:
    from gaincell.surrogate import FitOptions

    options = FitOptions(
        kind=args.kind,
        quantity=args.quantity,
        method=args.method,
        order=args.order,
        input_level=args.input_level,
        holdout=args.holdout,
        seed=args.seed,
    )
    out = _default_out(args.out, "surrogate_sky130.h5")
    fit_to([Path(p) for p in args.characterization], out, options, args.jobs, args.overwrite)
    return 0


def fit_to(
    sources: list[Path], out: Path, options: FitOptions, jobs: int, overwrite: bool = False
) -> Path:
    """Fit (and validate) a surrogate of ``sources`` with ``options`` into ``out`` (replaced
    only with ``overwrite``, never one of ``sources``); print its errors."""
    from gaincell.characterize.parallel import resolve_jobs
    from gaincell.circuits.h5 import claimed_output
    from gaincell.surrogate import fit, save

    started = time.perf_counter()
    with claimed_output(out, sources, overwrite=overwrite) as out:  # before any simulation
        model = fit(sources, options, jobs=resolve_jobs(jobs))
        save(model, out, overwrite=overwrite)
    print(f"{model!r}\nfitted and validated in {time.perf_counter() - started:.1f} s -> {out}")
    _print_metrics(model)
    return out


def _print_metrics(model: Surrogate) -> None:
    from gaincell.surrogate.models import max_error_by

    metrics = model.metrics
    if metrics is None:
        return
    header = f"  {'corner':8s} {'points':>7s} {'RMSE/FS':>9s} {'max/FS':>9s} {'R^2':>9s}"
    print(f"{header}  ({metrics.kind})")
    for corner in model.domain.corners:
        print(
            f"  {corner:8s} {metrics.points[corner]:7d} {metrics.rmse_fs[corner]:9.3%} "
            f"{metrics.max_error_fs[corner]:9.3%} {metrics.r2[corner]:9.6f}"
        )
    by_temperature = max_error_by(model, "temperature")
    if len(by_temperature) > 1:
        print(
            "  worst max/FS by hold-out temperature: "
            + ", ".join(f"{t:g} C {e:.3%}" for t, e in by_temperature.items())
        )


def cmd_mc_spread(args: argparse.Namespace) -> int:
    from gaincell.characterize import read_characterization
    from gaincell.characterize.spread import format_spread
    from gaincell.circuits.files import CHARACTERIZATION_DIR

    files = [Path(f) for f in args.files] or sorted(
        p for p in CHARACTERIZATION_DIR.glob("*_mc_sky130.h5")
    )
    if not files:
        raise InputError(f"no Monte Carlo files given or shipped in {CHARACTERIZATION_DIR}")
    for path in files:
        print(f"{path.name}: " + format_spread(read_characterization(path)))
    return 0


def cmd_surrogates(args: argparse.Namespace) -> int:
    from gaincell.surrogate import load, shipped

    known = shipped()
    if not known:
        print(f"no shipped surrogates in {DATA_DIR / 'surrogates'}")
        return 1
    for name, path in known.items():
        model = load(path)
        print(f"{name}: {path.name}")
        method = getattr(model, "method", None) or getattr(
            model.__dict__.get("waveform"), "method", ""
        )
        kind = f"{model.kind} ({method})" if method else model.kind
        print(f"  {kind} of {model.quantity} [{model.units}] over {model.domain.describe()}")
        _print_metrics(model)
    from gaincell.surrogate.mismatch import format_validation, load_mismatch, shipped_mismatch

    for name, path in shipped_mismatch().items():
        model = load_mismatch(path)
        grid = ", ".join(
            f"{a} {v[0]:g}..{v[-1]:g} {model.axis_units[a]}" for a, v in model.axes.items()
        )
        print(f"{name}: {path.name} (data/mismatch)")
        print(
            f"  mismatch model of {model.quantity} [{model.units}] at {model.corner} / "
            f"{model.temperature:g} C over {grid}; .sample(n, seed) draws new instances"
        )
        print(format_validation(model))
    return 0


def _qkv(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """q, k, v from ``--qkv``, or random from ``--tokens``, ``--d`` (default 64) and
    ``--seed``; and where they came from."""
    from gaincell.attention.simulate import load_qkv, random_qkv

    if args.qkv:
        q, k, v = load_qkv(args.qkv)
        for flag, wanted, got in (("--tokens", args.tokens, len(q)), ("--d", args.d, q.shape[1])):
            if wanted is not None and wanted != got:
                raise InputError(f"{flag} {wanted} disagrees with {args.qkv}: q is {q.shape}")
        source: dict[str, object] = {"qkv_file": str(Path(args.qkv).resolve())}
    else:
        if args.tokens is None or args.seed is None:
            raise InputError("--tokens and --seed are required unless --qkv gives the inputs")
        d = 64 if args.d is None else args.d
        if args.tokens < 1 or d < 1:
            raise InputError(f"--tokens and --d must be >= 1, got {args.tokens} and {d}")
        q, k, v = random_qkv(args.tokens, d, args.seed)
        source = {"seed": args.seed}
    return q, k, v, source


def cmd_simulate_head(args: argparse.Namespace) -> int:
    q, k, v, source = _qkv(args)
    simulate_head_to(
        (q, k, v),
        _default_out(args.out, "simulate_head.h5"),
        source,
        window=args.window,
        tile=args.tile,
        corner=args.corner,
        temperature=args.temp,
        step_time=args.step_time,
        overwrite=args.overwrite,
    )
    return 0


def _integers(text: str, flag: str) -> tuple[int, ...]:
    """A comma-separated list of positive integers from ``flag``."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise InputError(f"{flag} takes positive integers, got {text!r}")
    return values


def _conditions(text: str) -> tuple[tuple[str, float], ...]:
    """``corner/temperature`` pairs from ``--conditions``."""
    from gaincell.circuits.pdk import CORNERS

    pairs = []
    for part in text.split(","):
        corner, _, temperature = part.partition("/")
        try:
            value = float(temperature)
        except ValueError:
            raise InputError(f"--conditions takes corner/temperature pairs, got {part!r}") from None
        if corner not in CORNERS or not math.isfinite(value):
            raise InputError(f"--conditions: {part!r} is not a corner/temperature pair")
        pairs.append((corner, value))
    return tuple(pairs)


def cmd_design_space(args: argparse.Namespace) -> int:
    from gaincell.attention.simulate import load_qkv
    from gaincell.attention.token_cost import (
        design_space,
        format_design_space,
        write_design_space,
    )
    from gaincell.circuits.files import REFERENCE_DIR
    from gaincell.circuits.h5 import claimed_output

    windows = _integers(args.windows, "--windows")
    dims = _integers(args.dims, "--dims")
    conditions = _conditions(args.conditions)
    import numpy as np

    if args.qkv:
        qkv = load_qkv(args.qkv)
        source = str(Path(args.qkv).resolve())
    else:  # the paper's test arrays, one after another: (10 x 64 tokens, 64)
        with np.load(REFERENCE_DIR / "paper_64x64_arrays.npz") as paper:
            qkv = tuple(np.asarray(paper[name], dtype=np.float64).reshape(-1, 64) for name in "qkv")
        source = "data/reference/paper_64x64_arrays.npz (q, k, v of its 10 cases in order)"
    out = _default_out(args.out, "design_space.h5")
    with claimed_output(out, overwrite=args.overwrite) as out:  # before any work
        rows = design_space(
            windows=windows,
            dims=dims,
            conditions=conditions,
            qkv=qkv,
            seed=args.seed,
            window=args.window,
        )
        provenance = {"qkv_file": source, "seed": args.seed}
        write_design_space(out, rows, provenance=provenance, overwrite=args.overwrite)
    print(format_design_space(rows))
    print(f"-> {out}")
    return 0


def cmd_error_budget(args: argparse.Namespace) -> int:
    from gaincell.attention.budget import error_budget, format_budgets, write_budgets
    from gaincell.attention.head import HeadCircuits, HeadConfig
    from gaincell.attention.simulate import random_qkv
    from gaincell.circuits.h5 import claimed_output

    conditions = _conditions(args.conditions)
    config = HeadConfig(window=args.window)  # checks the window (positive, whole tiles)
    if args.tokens < args.window:
        raise InputError(f"--tokens ({args.tokens}) must be at least --window ({args.window})")
    q, k, v = random_qkv(args.tokens, config.d, args.seed)
    out = _default_out(args.out, "error_budget.h5")
    with claimed_output(out, overwrite=args.overwrite) as out:  # before any work
        budgets = {
            f"{corner}/{temperature:g}": error_budget(
                HeadCircuits.from_surrogates(corner, temperature),
                q,
                k,
                v,
                config=config,
                seed=args.seed,
            )
            for corner, temperature in conditions
        }
        write_budgets(
            out,
            budgets,
            provenance={"qkv": f"random_qkv({args.tokens}, {config.d}, {args.seed})"},
            overwrite=args.overwrite,
        )
    print(format_budgets(budgets))
    print(f"-> {out}")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from gaincell.attention.token_cost import format_cost, token_cost, write_cost
    from gaincell.circuits.h5 import claimed_output

    q, k, v, source = _qkv(args)
    inputs = (
        f"q, k, v from {args.qkv}" if args.qkv else f"{len(q)} random tokens, seed {source['seed']}"
    )
    if args.heads < 1:
        raise InputError(f"--heads must be >= 1, got {args.heads}")
    out = _default_out(args.out, "cost.h5")
    with claimed_output(out, overwrite=args.overwrite) as out:  # before any work
        report = token_cost(
            q,
            k,
            v,
            window=args.window,
            heads=args.heads,
            corner=args.corner,
            temperature=args.temp,
            digital=args.digital,
            converter_on_time=args.converter_on_time,
            inputs=inputs,
        )
        write_cost(out, report, provenance=source, overwrite=args.overwrite)
    print(format_cost(report))
    print(f"-> {out}")
    return 0


def simulate_head_to(
    qkv: tuple[np.ndarray, np.ndarray, np.ndarray],
    out: Path,
    source: dict[str, object],
    *,
    window: int,
    tile: int = 64,
    corner: str = "tt",
    temperature: float = 27.0,
    step_time: float = 65e-9,
    overwrite: bool = False,
) -> Path:
    """Run one head (array vs behavioural vs softmax) on ``qkv``, write ``out`` (replaced only
    with ``overwrite``) with ``source`` (where the inputs came from) and print the report."""
    from gaincell.attention.simulate import format_report, simulate_head, write_comparison
    from gaincell.circuits.h5 import claimed_output

    q, k, v = qkv
    started = time.perf_counter()
    with claimed_output(out, overwrite=overwrite) as out:  # before any work
        comparison = simulate_head(
            q,
            k,
            v,
            window=window,
            tile=tile,
            corner=corner,
            temperature=temperature,
            step_time=step_time,
        )
        write_comparison(out, comparison, provenance=source, overwrite=overwrite)
    print(format_report(comparison))
    print(f"\nwall time {time.perf_counter() - started:.1f} s -> {out}")
    return out


MAIN_JOB = ("multiplier_sky130", "leakage_sky130")
"""Presets the main job characterizes, in data-flow order."""


def print_tile_metrics(
    metrics: dict[str, dict[str, float]], by_condition: dict[str, dict[str, dict[str, float]]]
) -> None:
    """The tile validation's error tables: every model over all cases, then the array
    simulation per corner and temperature when there are several."""
    print(
        "  model/operation                NRMSE   max error   sign errors  (normalized to the "
        "SPICE range; signs where |SPICE| > one counter level)"
    )
    for name, m in metrics.items():
        signs = f"{m['sign_errors']:>5d} / {m['sign_checked']}" if "sign_errors" in m else ""
        print(f"  {name:28s} {m['nrmse']:7.2%} {m['max_error']:9.2%}   {signs}")
    if len(by_condition) < 2:
        return
    print("  array simulation per corner/temperature: NRMSE (max) of phi | output | chained")
    for condition, entry in by_condition.items():
        cells = "  ".join(
            f"{entry[f'array/{op}']['nrmse']:6.2%} ({entry[f'array/{op}']['max_error']:6.2%})"
            for op in ("phi", "output", "chained")
        )
        signs = entry["array/output"]["sign_errors"] + entry["array/chained"]["sign_errors"]
        print(f"  {condition:10s} {cells}   sign errors {signs}")


_VERDICTS = {"ok": "ok", "missed": "MISSED", "undecided": "outside the tolerance, undecided"}
"""How the Monte Carlo comparison's verdicts print."""


def print_mismatch_metrics(metrics: dict[str, Any]) -> None:
    """The Monte Carlo tiles' per-column error distributions (each against nominal SPICE)."""
    from gaincell.attention.tile_mismatch import MEAN_TOLERANCE, SIGMA_TOLERANCE

    pairs = next(iter(metrics.values()))["pairs"]
    print(
        f"  Monte Carlo tiles ({pairs} cases with their nominal twins): per-column error vs "
        f"nominal SPICE, mean / sigma as % of range; the array with mismatch must give sigma "
        f"within {SIGMA_TOLERANCE:.0%}, mean within {MEAN_TOLERANCE:.1%}"
    )
    for op, entry in metrics.items():
        span = entry["range"]
        cells = "  ".join(
            f"{model} {entry[model]['mean'] / span:+.2%} / {entry[model]['sigma'] / span:.2%}"
            for model in ("spice", "array_mismatch", "array_nominal")
        )
        mm = entry["array_mismatch"]
        low, high = mm["sigma_ratio_interval"]
        print(
            f"  {op:7s} {cells}   sigma ratio {mm['sigma_ratio']:.3f} (95% over the cases "
            f"{low:.3f} .. {high:.3f}; nominal array {entry['array_nominal']['sigma_ratio']:.3f}), "
            f"mean difference {mm['mean_difference']:+.2%} (standard error over the cases "
            f"{mm['mean_difference_se']:.2%}), KS p {mm['ks_pvalue']:.2g} (calibrated over the "
            f"cases {mm['ks_pvalue_cases']:.2g}): {_VERDICTS[entry['verdict']]}"
        )
        if entry["verdict"] == "undecided":
            sigma, mean = mm["null_sigma_ratio_interval"], mm["null_mean_difference_interval"]
            print(
                f"          ({pairs} case(s) with the model right give a sigma ratio of "
                f"{sigma[0]:.2f} .. {sigma[1]:.2f} and a mean difference of {mean[0]:+.2%} .. "
                f"{mean[1]:+.2%}, 95 %: more cases needed to tell)"
            )


def cmd_validate_tile(args: argparse.Namespace) -> int:
    from gaincell.attention.validate import PART_FLOOR, revalidate, validate_tiles
    from gaincell.characterize.parallel import resolve_jobs
    from gaincell.circuits.h5 import claimed_output

    out = _default_out(args.out, "tile_validation_sky130.h5")
    with claimed_output(out, args.reuse or (), overwrite=args.overwrite):
        if args.reuse:  # the stored SPICE results with the models recomputed: no SPICE runs
            result = revalidate(args.reuse, out=out, overwrite=args.overwrite)
        else:
            result = validate_tiles(
                args.cases,
                size=args.size,
                seed=args.seed,
                jobs=resolve_jobs(args.jobs),
                corner=args.corner,
                temperature=args.temp,
                out=out,
                progress=not args.quiet,
                overwrite=args.overwrite,
                mismatch_seed=args.mc_seed,
            )
    print(
        f"{result.cases} case(s) of {result.size}x{result.size} tiles: "
        f"SPICE {result.spice_seconds:.1f} s, "
        f"array simulation {result.array_seconds_per_case * 1e3:.2f} ms per case "
        f"(x{result.spice_seconds / result.cases / result.array_seconds_per_case:,.0f}) -> {out}"
    )
    print_tile_metrics(result.metrics, result.by_condition)
    if result.energy:
        print("  energy, array simulation vs SPICE (relative error per case; worst):")
        for name, entry in result.energy.items():
            errors = " ".join(
                "n/a" if e is None else f"{e:+.1%}" for e in entry["relative_error"][:8]
            )
            more = " ..." if len(entry["relative_error"]) > 8 else ""
            worst = "n/a" if entry["worst"] is None else f"{entry['worst']:.1%}"
            print(f"  {name:12s} {errors}{more}   worst {worst}")
        if any(e is None for entry in result.energy.values() for e in entry["relative_error"]):
            print(
                f"  (n/a: SPICE measured under {PART_FLOOR:.2%} of the tile's energy there, "
                "integration noise: no pulse to price)"
            )
    if result.mismatch:
        print_mismatch_metrics(result.mismatch)
    constants = result.equivalent_constants
    print(
        f"  these converters implement s_sat = {constants['s_sat']:.1f}, "
        f"out_scale = {constants['out_scale']:.1f} (the paper's model: 80, 40)"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    main_job(build_dir(), jobs=args.jobs, quiet=args.quiet)
    return 0


def main_job(build: Path, *, jobs: int = -1, quiet: bool = False) -> None:
    """The main job: characterize every preset of :data:`MAIN_JOB` into ``build``, fit and
    validate the multiplier surrogate from the fresh file, simulate a whole attention head from
    the shipped surrogates, then draw the figures (fresh data first, shipped data for circuits
    the job does not simulate). It replaces its own outputs in ``build`` (those of an earlier
    run), so it can be run again; each is still locked, written atomically, and never
    replaces a read-only file."""
    from gaincell.attention.simulate import random_qkv
    from gaincell.characterize import SweepSpec
    from gaincell.surrogate import FitOptions

    (build / "surrogates").mkdir(parents=True, exist_ok=True)
    for preset in MAIN_JOB:
        spec = SweepSpec.from_toml(preset)
        # A main job killed part way picks up its finished blocks when run again.
        campaign = Campaign(jobs=jobs, resume=True)
        characterize_to(spec, build / f"{preset}.h5", jobs, quiet, None, campaign, overwrite=True)
    fit_to(
        [build / "multiplier_sky130.h5"],
        build / "surrogates" / "multiplier_sky130.h5",
        FitOptions(),
        jobs,
        overwrite=True,
    )
    # A whole head (1024 tokens, 16 tiles) against the behavioural model and softmax attention.
    simulate_head_to(
        random_qkv(1024, 64, 0),
        build / "simulate_head.h5",
        {"seed": 0},
        window=1024,
        overwrite=True,
    )
    draw_figures([build, CHARACTERIZATION_DIR], build / "figures", overwrite=True)


def _add_overwrite(parser: argparse.ArgumentParser, what: str = "output file") -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace an existing {what} (refused otherwise; a symbolic link is replaced "
        "itself, never its target)",
    )


def build_parser() -> argparse.ArgumentParser:
    from gaincell.characterize.registry import available

    parser = argparse.ArgumentParser(prog="gaincell", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gaincell {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser(
        "info", help="ngspice version, PDK location, package version, shipped data"
    )
    info.set_defaults(handler=cmd_info)

    deck = commands.add_parser(
        "deck", help="print a self-contained deck that plain `ngspice -b` runs"
    )
    deck.add_argument("circuit", choices=available())
    deck.add_argument("--corner", default="tt")
    deck.add_argument("--temp", type=float, default=27.0, help="temperature in degrees C")
    deck.add_argument(
        "--job",
        help="sweep settings from a TOML job file, a shipped preset, or a characterization .h5",
    )
    deck.add_argument(
        "--at",
        type=float,
        help="value of the outer axis to simulate (transient circuits; default: its middle)",
    )
    deck.add_argument("--inline", action="store_true", help="paste the model files into the deck")
    deck.set_defaults(handler=cmd_deck)

    char = commands.add_parser("characterize", help="sweep a circuit in ngspice into an HDF5 file")
    char.add_argument("circuit", choices=available())
    char.add_argument("--job", help="TOML job file, or the name of a shipped preset")
    char.add_argument("--corners", type=_names, help="comma-separated, from tt,ss,ff,sf,fs")
    char.add_argument("--temps", type=_floats, help="comma-separated temperatures in C")
    char.add_argument("--v-in", help="input-level axis start:stop:points (V)")
    char.add_argument("--v-store", help="stored-voltage axis start:stop:points (V)")
    char.add_argument(
        "--axis",
        action="append",
        metavar="NAME=START:STOP:POINTS[:log]",
        help="any axis of the circuit (repeatable)",
    )
    char.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="a circuit setting, e.g. time_step=1e-9 (repeatable)",
    )
    char.add_argument(
        "--mc",
        type=int,
        metavar="N",
        help="Monte Carlo: repeat the sweep on N samples of the devices (a 'sample' axis)",
    )
    char.add_argument("--mc-seed", type=int, metavar="S", help="Monte Carlo base seed (default 1)")
    char.add_argument(
        "--mc-kind",
        choices=("mismatch", "process", "both"),  # MC_KINDS, not imported: it loads numpy
        help="what each sample draws: per-device mismatch (default), the die's process, or both",
    )
    char.add_argument("--jobs", type=int, help="worker processes (0 or -1 = all cores; default 1)")
    char.add_argument(
        "--backend",
        choices=("local", "dask"),
        help="local worker processes (default) or a Dask distributed cluster",
    )
    char.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default with --backend dask: a local "
        "cluster of --jobs single-threaded workers)",
    )
    char.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted run from <out>.journal/ (only the missing blocks run)",
    )
    char.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="halt an analysis after this long; the point is stored as NaN with the reason "
        "(default: the circuit's)",
    )
    char.add_argument(
        "--max-memory",
        type=float,
        metavar="MB",
        help="halt an analysis when its worker holds more than this (default: the circuit's)",
    )
    char.add_argument(
        "--recycle-after",
        type=int,
        metavar="TASKS",
        help="replace a local worker by a fresh process after this many tasks (default 50)",
    )
    char.add_argument(
        "--max-points",
        type=int,
        help="refuse sweeps of more points than this (default: the limit the error names)",
    )
    char.add_argument("--out", help="output .h5 file (default build/<circuit>_sky130.h5)")
    char.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_overwrite(char)
    char.set_defaults(handler=cmd_characterize)

    figs = commands.add_parser("figures", help="regenerate the figures from stored HDF5 data")
    figs.add_argument(
        "--data",
        nargs="+",
        help="folders of characterization files, the first that has a file wins "
        "(default: the shipped data)",
    )
    figs.add_argument("--out", help="output folder (default build/figures)")
    _add_overwrite(figs, "PNG files")
    figs.set_defaults(handler=cmd_figures)

    fit = commands.add_parser(
        "fit", help="fit a surrogate to a characterization file and validate it in ngspice"
    )
    fit.add_argument(
        "characterization",
        nargs="+",
        help="characterization .h5 (or the paper's I-V .npz); several files of one circuit "
        "that differ along one axis are merged",
    )
    fit.add_argument("--kind", choices=("grid", "poly"), default="grid")
    fit.add_argument(
        "--method",
        choices=("linear", "cubic", "pchip"),
        default="linear",
        help="grid interpolation method",
    )
    fit.add_argument("--order", type=int, default=3, help="poly: total order")
    fit.add_argument(
        "--input-level", type=float, help="poly: fit only this v_in column (the paper's procedure)"
    )
    fit.add_argument("--quantity", help="quantity to model (default: the circuit's main one)")
    fit.add_argument(
        "--holdout",
        type=int,
        help="fresh SPICE lattice points per axis and corner (0 = no validation)",
    )
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--jobs", type=int, default=-1, help="worker processes for validation")
    fit.add_argument("--out", required=True, help="output surrogate .h5")
    _add_overwrite(fit)
    fit.set_defaults(handler=cmd_fit)

    surrogates = commands.add_parser(
        "surrogates", help="list the shipped surrogates with their error metrics"
    )
    surrogates.set_defaults(handler=cmd_surrogates)

    spread = commands.add_parser(
        "mc-spread",
        help="per-instance spread (mean, sigma) of Monte Carlo characterizations",
    )
    spread.add_argument(
        "files", nargs="*", help="Monte Carlo .h5 files (default: the shipped ones)"
    )
    spread.set_defaults(handler=cmd_mc_spread)

    tile = commands.add_parser(
        "validate-tile",
        help="SPICE of whole tiles vs the surrogate-driven array and the behavioural model",
    )
    tile.add_argument("--cases", type=int, default=2, help="random cases (one query each)")
    tile.add_argument("--size", type=int, default=64, help="tile size (64 = the paper's)")
    tile.add_argument("--seed", type=int, default=0)
    tile.add_argument(
        "--mc-seed",
        type=int,
        metavar="S",
        help="Monte Carlo tiles: each case also runs as its own Monte Carlo array (every cell "
        "and converter its own sky130 mismatch draw, from a hash of S and the case index), "
        "compared in distribution with the array simulation's drawn devices",
    )
    tile.add_argument("--jobs", type=int, default=-1, help="worker processes (-1 = all cores)")
    tile.add_argument("--corner", default="tt")
    tile.add_argument("--temp", type=float, default=27.0)
    tile.add_argument("--out", help="output .h5 (default build/tile_validation_sky130.h5)")
    tile.add_argument(
        "--reuse",
        metavar="FILE.h5",
        nargs="+",
        help="recompute the models for the SPICE results stored in FILE(s) (no SPICE runs); "
        "several files of one tile size are merged into --out",
    )
    tile.add_argument("--quiet", action="store_true")
    _add_overwrite(tile)
    tile.set_defaults(handler=cmd_validate_tile)

    sim = commands.add_parser(
        "simulate-head",
        help="one head: the surrogate-driven array vs the behavioural model and softmax",
    )
    sim.add_argument("--tokens", type=int, help="sequence length T (required unless --qkv)")
    sim.add_argument(
        "--window", type=int, required=True, help="sliding window M (a multiple of --tile)"
    )
    sim.add_argument("--seed", type=int, help="seed of the random q, k, v (unless --qkv)")
    sim.add_argument("--d", type=int, help="head dimension (default 64, or the --qkv arrays')")
    sim.add_argument("--tile", type=int, default=64, help="tokens per physical tile")
    sim.add_argument("--corner", default="tt")
    sim.add_argument("--temp", type=float, default=27.0, help="temperature in degrees C")
    sim.add_argument(
        "--step-time", type=float, default=65e-9, help="time of one token step in s (leakage)"
    )
    sim.add_argument("--qkv", help=".npz with arrays q, k, v of shape (T, d) (not random)")
    sim.add_argument("--out", help="output .h5 (default build/simulate_head.h5)")
    _add_overwrite(sim)
    sim.set_defaults(handler=cmd_simulate_head)

    space = commands.add_parser(
        "design-space",
        help="energy and latency per token over window, head dimension, corner and "
        "temperature, and the data (a table and an HDF5 file)",
    )
    space.add_argument(
        "--qkv",
        help=".npz with q, k, v (T, d) for the data comparison (default: the paper's ten 64x64 "
        "test arrays, one after another)",
    )
    space.add_argument("--seed", type=int, default=1, help="seed of the random inputs")
    space.add_argument(
        "--windows", default="64,256,1024,4096", help="comma-separated window lengths"
    )
    space.add_argument("--dims", default="32,64,128", help="comma-separated head dimensions")
    space.add_argument(
        "--window",
        type=int,
        default=1024,
        help="the window of the head-dimension, condition and data points",
    )
    space.add_argument(
        "--conditions",
        default="tt/27,ss/85,ff/-40,sf/27,fs/27,tt/85,tt/-40",
        help="comma-separated corner/temperature pairs",
    )
    space.add_argument("--out", help="output .h5 (default build/design_space.h5)")
    _add_overwrite(space)
    space.set_defaults(handler=cmd_design_space)

    budget = commands.add_parser(
        "error-budget",
        help="what each non-ideality alone (nonlinearity, quantization, leakage, mismatch) "
        "does to a head's output, against the ideal head the circuits approximate",
    )
    budget.add_argument("--tokens", type=int, default=320, help="random tokens to run")
    budget.add_argument("--window", type=int, default=256, help="sliding window M")
    budget.add_argument("--seed", type=int, default=0, help="seed of the inputs and devices")
    budget.add_argument(
        "--conditions", default="tt/27,ss/85,ff/-40", help="comma-separated corner/temperature"
    )
    budget.add_argument("--out", help="output .h5 (default build/error_budget.h5)")
    _add_overwrite(budget)
    budget.set_defaults(handler=cmd_error_budget)

    cost = commands.add_parser(
        "cost",
        help="energy and latency per token of a head and a layer, from the circuits, against "
        "the paper and its GPUs",
    )
    cost.add_argument("--heads", type=int, default=12, help="heads per layer")
    cost.add_argument("--window", type=int, default=1024, help="sliding window M")
    cost.add_argument("--d", type=int, help="head dimension (default 64, or the --qkv arrays')")
    cost.add_argument("--corner", default="tt")
    cost.add_argument("--temp", type=float, default=27.0, help="temperature in degrees C")
    cost.add_argument("--tokens", type=int, help="tokens to simulate (required unless --qkv)")
    cost.add_argument("--seed", type=int, help="seed of the random q, k, v (unless --qkv)")
    cost.add_argument("--qkv", help=".npz with arrays q, k, v of shape (T, d) (not random)")
    cost.add_argument(
        "--digital",
        type=float,
        default=4e-9,
        help="digital control and routing per head-token in J (assumed; the paper's 4 nJ)",
    )
    cost.add_argument(
        "--converter-on-time",
        type=float,
        help="seconds each converter is biased per step (power gating); default: the whole step",
    )
    cost.add_argument("--out", help="output .h5 (default build/cost.h5)")
    _add_overwrite(cost)
    cost.set_defaults(handler=cmd_cost)

    run = commands.add_parser(
        "run",
        help="the main job: characterize, fit, simulate a head and draw the figures into "
        "build/, replacing the outputs of an earlier run there (so ./run.sh can be run again)",
    )
    run.add_argument("--jobs", type=int, default=-1)
    run.add_argument("--quiet", action="store_true")
    run.set_defaults(handler=cmd_run)
    return parser


def _join_values(argv: list[str]) -> list[str]:
    """``--temps -40,27,85`` -> ``--temps=-40,27,85``: argparse takes a value starting with
    ``-`` for an option unless it looks like one negative number."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item in VALUE_OPTIONS:
            value = next(items, None)
            joined.append(item if value is None else f"{item}={value}")
        else:
            joined.append(item)
    return joined


def main(argv: list[str] | None = None) -> int:
    """Run the ``gaincell`` command; returns the exit code (2 for errors a user can fix, 130
    when interrupted by Ctrl-C or SIGTERM)."""
    import shlex
    import signal

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(_join_values(argv))
    from gaincell.circuits.runner import interrupt_handler

    # SIGTERM stops a run like Ctrl-C: workers stopped, committed blocks kept.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt_handler)
        signal.signal(signal.SIGINT, interrupt_handler)
    try:
        return args.handler(args)
    except GaincellError as error:
        print(f"gaincell {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ngaincell {args.command}: interrupted; every worker stopped", file=sys.stderr)
        journal = getattr(args, "interrupted_hint", None)
        if journal:
            again = argv if "--resume" in argv else [*argv, "--resume"]
            print(
                f"finished blocks are kept in {journal}/; resume with:\n"
                f"  gaincell {shlex.join(again)}",
                file=sys.stderr,
            )
        return 130


if __name__ == "__main__":
    sys.exit(main())
