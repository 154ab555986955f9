"""Run tasks on worker processes: a local pool or a Dask cluster; results in input order.

libngspice is process-global, so every worker is a process holding one ngspice, and tasks in
one process never overlap (a lock serializes them even on a Dask worker started with several
threads). Two backends:

- ``local``: worker processes started here (``forkserver``), one task at a time each. A worker
  that dies (segfault, out of memory, killed) is replaced; its task is tried once more on a
  fresh worker and then reported as :class:`WorkerLost` in its slot, so the campaign goes on.
  Workers are recycled after :attr:`PoolOptions.recycle_after` tasks (memory stays flat), stop
  themselves when this process dies (even by ``kill -9``), and are killed when it is
  interrupted (Ctrl-C, SIGTERM).
- ``dask``: the tasks go to a ``distributed`` scheduler (``--scheduler ADDRESS``), or to a
  :class:`distributed.LocalCluster` of ``jobs`` single-threaded worker processes started here.
  Dask retries a task whose worker died and then reports it as :class:`WorkerLost`.

Joblib's loky pool, used before, could neither tell which task killed a worker (one dead worker
breaks the whole executor) nor recycle single workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from tqdm import tqdm

from gaincell.errors import GaincellError

Result = TypeVar("Result")

BACKENDS = ("local", "dask")
"""Where tasks run: worker processes started here, or a Dask ``distributed`` cluster."""


class WorkerLost(GaincellError, RuntimeError):
    """A worker process died while running a task (twice on the local pool): a segfault, the
    out-of-memory killer, a kill, or an ngspice that could not be halted."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"task {index}: worker lost ({reason})")

    def __reduce__(self):
        return (WorkerLost, (self.index, self.reason))


@dataclass(frozen=True)
class PoolOptions:
    """How a parallel run is executed."""

    backend: str = "local"
    """``local`` (worker processes started here) or ``dask``."""
    scheduler: str | None = None
    """Dask scheduler address (``tcp://host:8786``); None starts a local Dask cluster."""
    recycle_after: int = 50
    """Tasks a local worker runs before it is replaced by a fresh process."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.scheduler is not None and self.backend != "dask":
            raise ValueError("a scheduler address needs backend 'dask'")
        if self.recycle_after < 1:
            raise ValueError(f"recycle_after must be >= 1, got {self.recycle_after}")


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


_PROCESS_LOCK = threading.Lock()


def _serialized(function: Callable[..., Result], arguments: tuple[Any, ...]) -> Result:
    """Run one task holding the process lock: one libngspice per process, never two tasks."""
    with _PROCESS_LOCK:
        return function(*arguments)


def _exit_with_parent(parent: int) -> None:
    """Stop this worker when the process that started it is gone (killed with -9 included;
    workers are forked by the forkserver, so the parent is watched by its pid)."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # the pid was reused by another user's process
            os._exit(1)


def _worker(connection: Connection, parent: int) -> None:
    """Local worker: run tasks sent by the parent until told to stop (None)."""
    # Ctrl-C reaches the whole process group; the parent decides and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    while True:
        message = connection.recv()
        if message is None:
            return
        index, function, arguments = message
        try:
            connection.send((index, True, _serialized(function, arguments)))
        except Exception as error:
            connection.send((index, False, error))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    task: tuple[int, tuple[Any, ...]] | None = None
    runs: int = 0

    def stop(self, graceful: bool) -> None:
        if graceful and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.connection.send(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.connection.close()


def _death_reason(exitcode: int | None) -> str:
    from gaincell.circuits.runner import HALT_FAILED_EXIT

    if exitcode is None:
        return "worker vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    if exitcode == HALT_FAILED_EXIT:
        return "ngspice could not be halted after a limit; worker exited"
    return f"worker exited with status {exitcode}"


def _local(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int,
    options: PoolOptions,
) -> Iterator[tuple[int, Result | WorkerLost]]:
    context = multiprocessing.get_context("forkserver")
    pending: deque[tuple[int, tuple[Any, ...]]] = deque(enumerate(arguments))
    attempts: dict[int, int] = {}
    workers: list[_Worker] = []

    def start() -> _Worker:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_worker, args=(child_end, os.getpid()), daemon=True)
        process.start()
        child_end.close()
        return _Worker(process, parent_end)

    try:
        workers = [start() for _ in range(min(jobs, len(arguments)))]
        while pending or any(w.task for w in workers):
            for worker in workers:
                if worker.task is None and pending:
                    worker.task = pending.popleft()
                    worker.connection.send((worker.task[0], function, worker.task[1]))
            busy = [w for w in workers if w.task is not None]
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy], 1.0)
            for position, worker in enumerate(workers):
                if worker.task is None:
                    continue
                index, task_arguments = worker.task
                message = None
                if worker.connection in ready:
                    try:
                        message = worker.connection.recv()
                    except (EOFError, OSError):
                        message = None
                if message is not None:
                    worker.task = None
                    worker.runs += 1
                    _, ok, payload = message
                    if not ok:
                        raise payload
                    if worker.runs >= options.recycle_after:
                        worker.stop(graceful=True)
                        workers[position] = start()
                    yield index, payload
                elif worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join(5)
                    reason = _death_reason(worker.process.exitcode)
                    worker.stop(graceful=False)
                    workers[position] = start()
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] < 2:
                        pending.appendleft((index, task_arguments))
                    else:
                        yield index, WorkerLost(index, reason)
    finally:
        for worker in workers:
            worker.stop(graceful=not sys.exc_info()[0])


def _distributed():
    """The ``distributed`` package, or an error saying which extra installs it."""
    try:
        import distributed
    except ImportError:
        raise GaincellError(
            "the dask backend needs dask and distributed: pip install 'gaincell[dask]'"
        ) from None
    return distributed


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` as gaincell needs one: ``workers`` processes of one thread each
    (one libngspice per process), on loopback, no dashboard, its own logs silent but for
    critical ones: a task's error reaches the caller as its exception and a lost worker as
    :class:`WorkerLost`, while a worker's heartbeat that missed the scheduler (on a loaded
    machine, or as the cluster closes) printed a traceback to the user's terminal."""
    return _distributed().LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )


def _dask(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int,
    options: PoolOptions,
) -> Iterator[tuple[int, Result | WorkerLost]]:
    distributed = _distributed()
    from distributed.scheduler import KilledWorker

    cluster = local_cluster(jobs) if options.scheduler is None else None
    client = distributed.Client(cluster if cluster is not None else options.scheduler)
    futures = []
    try:
        futures = [
            client.submit(_serialized, function, task_arguments, pure=False)
            for task_arguments in arguments
        ]
        slot = {future.key: index for index, future in enumerate(futures)}
        for future in distributed.as_completed(futures):
            index = slot[future.key]
            try:
                yield index, future.result()
            except KilledWorker as error:
                yield index, WorkerLost(index, f"dask worker died: {error}")
    finally:
        client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()


def imap_unordered(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int = 1,
    options: PoolOptions | None = None,
) -> Iterator[tuple[int, Result | WorkerLost]]:
    """``(index, function(*arguments[index]))`` as tasks finish, over ``jobs`` workers of
    ``options.backend``. A task whose worker died yields a :class:`WorkerLost`; an exception
    raised by ``function`` propagates (the workers are stopped). With ``jobs == 1`` on the local
    backend the calls run in this process."""
    options = options or PoolOptions()
    from gaincell.circuits.runner import start_up

    start_up()  # one thread per process, inherited by the workers
    if options.backend == "dask":
        yield from _dask(function, arguments, jobs, options)
    elif jobs == 1 or len(arguments) <= 1:
        for index, task_arguments in enumerate(arguments):
            yield index, function(*task_arguments)
    else:
        yield from _local(function, arguments, jobs, options)


def run_parallel(
    function: Callable[..., Result],
    arguments: Sequence[tuple[Any, ...]],
    jobs: int = 1,
    progress: bool = True,
    description: str = "",
    options: PoolOptions | None = None,
) -> list[Result]:
    """``[function(*a) for a in arguments]`` over ``jobs`` worker processes, in input order;
    raises :class:`WorkerLost` if a task's worker died."""
    jobs = resolve_jobs(jobs)
    results: list[Any] = [None] * len(arguments)
    with tqdm(total=len(arguments), desc=description, disable=not progress, unit="task") as bar:
        for index, result in imap_unordered(function, arguments, jobs, options):
            if isinstance(result, WorkerLost):
                raise result
            results[index] = result
            bar.update()
    return results
