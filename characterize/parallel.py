"""Process-parallel map with a progress bar; results come back in input order."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm import tqdm

Result = TypeVar("Result")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def resolve_jobs(jobs: int) -> int:
    """``jobs`` workers; 0 or negative means all cores (``-1`` = all, ``-2`` = all but one).
    More workers than cores only slow ngspice down (one libngspice per worker): capped at the
    cores available, saying so on stderr."""
    cores = available_cores()
    if jobs > cores:
        print(f"--jobs {jobs} capped at {cores} (the cores available)", file=sys.stderr)
        return cores
    if jobs > 0:
        return jobs
    return max(1, cores + 1 + jobs) if jobs < 0 else cores


def run_parallel(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int = 1,
    progress: bool = True,
    description: str = "",
) -> list[Result]:
    """``[function(*a) for a in arguments]`` over ``jobs`` worker processes (joblib loky).

    Each worker process holds its own libngspice; with ``jobs == 1`` the calls run in this
    process. ngspice and BLAS are limited to one thread per process.
    """
    jobs = resolve_jobs(jobs)
    from gaincell.circuits.runner import start_up

    start_up()  # one thread per process, inherited by the workers
    bar = tqdm(total=len(arguments), desc=description, disable=not progress, unit="task")
    results: list[Result] = []
    try:
        if jobs == 1 or len(arguments) <= 1:
            for args in arguments:
                results.append(function(*args))
                bar.update()
            return results
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=min(jobs, len(arguments)), backend="loky", return_as="generator")
        for result in parallel(delayed(function)(*args) for args in arguments):
            results.append(result)
            bar.update()
        return results
    finally:
        bar.close()
