"""Run ngspice through PySpice's shared library, one instance per process.

libngspice keeps global state: it is loaded once per process, never shared between threads and
never initialised twice. Parallel sweeps therefore use worker *processes* (see
``gaincell.characterize.parallel``), each holding one :class:`NgSpiceRunner`.

Every simulation gets its own run directory holding the deck and ngspice's log; it is removed
after a successful run unless asked to keep it, and always kept after a failure. Failures raise
:class:`SpiceError`, which carries the deck, ngspice's stdout and stderr and the run directory.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np

from gaincell.errors import GaincellError

# One thread per ngspice instance: workers already fill the cores. ngspice calls
# omp_set_num_threads() itself (default: all cores), overriding OMP_NUM_THREADS, and OpenMP's
# spin-waiting threads then make two concurrent ngspice processes 10-50x slower on 2 cores.
# OMP_THREAD_LIMIT caps what ngspice may ask for; both must be set before libngspice loads:
# the runner sets them when it starts (and run_parallel before starting workers), never at
# import time.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OMP_THREAD_LIMIT": "1", "OMP_WAIT_POLICY": "passive"}


def start_up() -> None:
    """Prepare this process for libngspice: one thread, and PySpice's own logging silenced
    (it logs every stderr line of ngspice as an error and warns about ngspice 39; the runner
    captures that output itself and reports it through :class:`SpiceError`)."""
    os.environ.update(SINGLE_THREAD_ENV)
    for name in ("PySpice", "PySpice.Spice.NgSpice.Shared"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


_ERROR_LINE = re.compile(
    r"(error|undefined|unknown (sub)?circuit|could not find|not found|cannot|"
    r"singular matrix|timestep too small|no convergence|fatal|aborted)",
    re.IGNORECASE,
)
# What ngspice prints when a deck stops it for good (its shared library then refuses any
# further circuit: "cannot recover and awaits to be detached").
_FATAL = re.compile(r"fatal error in ngspice|cannot recover and awaits to be detached", re.I)
# Lines that contain an error word but are not errors.
_BENIGN_LINE = re.compile(
    r"(can't find init file|unsupported ngspice version|no compatibility mode|"
    r"reference value|no \.plot|using spice)",
    re.IGNORECASE,
)


class SpiceError(GaincellError, RuntimeError):
    """An ngspice run failed. Carries the deck and ngspice's output."""

    def __init__(
        self,
        reason: str,
        *,
        deck: str,
        stdout: str = "",
        stderr: str = "",
        run_dir: Path | None = None,
    ) -> None:
        self.reason = reason
        self.deck = deck
        self.stdout = stdout
        self.stderr = stderr
        self.run_dir = run_dir
        log_tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        where = f"\n(deck and log kept in {run_dir})" if run_dir else ""
        super().__init__(f"ngspice failed: {reason}{where}\n--- ngspice log (tail) ---\n{log_tail}")

    def __reduce__(self):  # keep the fields when the error crosses a process boundary
        return (
            _rebuild_spice_error,
            (type(self), self.reason, self.deck, self.stdout, self.stderr, self.run_dir),
        )


def _rebuild_spice_error(kind, reason, deck, stdout, stderr, run_dir) -> SpiceError:
    return kind(reason, deck=deck, stdout=stdout, stderr=stderr, run_dir=run_dir)


class SpiceLimitError(SpiceError):
    """An analysis ran past its time or memory limit and was halted (the point is stored as
    NaN with this reason; the campaign goes on)."""


@dataclass(frozen=True)
class RunLimits:
    """Limits on one ngspice analysis (``tran``, ``dc``, ...); None means no limit."""

    timeout: float | None = None
    """Seconds one analysis may run before ngspice is halted."""
    max_memory: float | None = None
    """Bytes the process may hold (resident) while an analysis runs before it is halted."""

    def __post_init__(self) -> None:
        for name in ("timeout", "max_memory"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")


ANALYSES = frozenset({"tran", "dc", "op", "ac", "noise", "tf", "sens", "pz", "disto", "run"})
"""Commands run in ngspice's background thread, so that they can be timed out, limited in
memory and interrupted (Ctrl-C, SIGTERM) from Python."""

HALT_FAILED_EXIT = 70
"""Exit status of a worker whose ngspice could not be halted after a limit (the parent
replaces the worker and records the point as lost)."""


_INTERRUPTED = threading.Event()
_foreground_calls = 0  # ngspice calls in progress on the main thread


def interrupt_handler(signum: int, frame: object) -> None:
    """Signal handler for Ctrl-C and SIGTERM: raise KeyboardInterrupt. During a foreground
    ngspice call the exception would land in one of ngspice's callbacks into Python (its output
    lines), where cffi swallows it: it is remembered instead and raised when the call returns."""
    _INTERRUPTED.set()
    if _foreground_calls == 0:
        raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def _foreground_call() -> Iterator[None]:
    """Around a foreground ngspice call: an interrupt that arrives meanwhile is raised when the
    call returns (see :func:`interrupt_handler`)."""
    global _foreground_calls
    _INTERRUPTED.clear()
    _foreground_calls += 1
    try:
        yield
    finally:
        _foreground_calls -= 1
    if _INTERRUPTED.is_set():
        _INTERRUPTED.clear()
        raise KeyboardInterrupt("interrupted during an ngspice command")


def resident_bytes() -> int:
    """This process's resident memory (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _shared_class():
    """PySpice's NgSpiceShared with its error heuristics turned off: the runner decides what
    failed from the captured output and the vectors."""
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi

    class CapturingNgSpice(NgSpiceShared):
        background_done = threading.Event()
        """Set when ngspice's background thread ends (one class, and instance, per process)."""

        # ngspice calls this from its background thread when a bg_ command starts and ends
        # (the flag is "no longer running"); the runner waits on the event.
        @staticmethod
        def _background_thread_running(exited, ngspice_id, user_data):
            self = ffi.from_handle(user_data)
            if exited:
                self.background_done.set()
            return 0

        @staticmethod
        def _exit(exit_status, immediate_unloading, quit_exit, ngspice_id, user_data):
            # A fatal error inside the background thread ends it without the callback above.
            self = ffi.from_handle(user_data)
            self.background_done.set()
            return exit_status

        def exec_command(self, command: str, join_lines: bool = True):
            self._error_in_stdout = False
            self._error_in_stderr = False
            with _foreground_call():
                rc = self._ngspice_shared.ngSpice_Command(command.encode("ascii"))
            self.last_rc = rc
            return self.stdout if join_lines else self._stdout

    return CapturingNgSpice


_instance_lock = threading.Lock()
_instance: NgSpiceRunner | None = None
_instance_pid: int | None = None


def get_runner() -> NgSpiceRunner:
    """This process's runner (created on first use; one libngspice per process)."""
    global _instance, _instance_pid
    with _instance_lock:
        if _instance is None or _instance_pid != os.getpid():
            _instance = NgSpiceRunner()
            _instance_pid = os.getpid()
        return _instance


def ngspice_version() -> str:
    """Version string of the ngspice shared library this process uses (e.g. ``ngspice-39``)."""
    return get_runner().version


@dataclass
class LoadedCircuit:
    """A deck loaded into ngspice: run analyses on it, then read vectors."""

    runner: NgSpiceRunner
    deck: str
    run_dir: Path

    def command(self, command: str) -> str:
        """Run one ngspice command (``dc ...``, ``tran ...``, ``option temp=85``) and raise
        :class:`SpiceError` if ngspice reports a failure."""
        return self.runner._command(command, self.deck, self.run_dir)

    def vectors(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Real vectors of the current plot, by name (e.g. ``i(vout)``, ``v(out)``)."""
        return self.runner._vectors(names, self.deck, self.run_dir)


@contextmanager
def _private_start_folder() -> Iterator[None]:
    """Run the block from a fresh empty folder that is also HOME: libngspice reads and runs
    ``.spiceinit`` from the working folder and from HOME when it starts (``shell`` lines
    included), so a file left in the user's folder or home would run in every worker."""
    folder = tempfile.mkdtemp(prefix="gaincell-ngspice-home-")
    saved = {name: os.environ.get(name) for name in ("HOME", "USERPROFILE")}
    cwd = os.getcwd()
    try:
        os.environ["HOME"] = os.environ["USERPROFILE"] = folder
        os.chdir(folder)
        yield
    finally:
        os.chdir(cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)


class NgSpiceRunner:
    """One libngspice instance. Use :func:`get_runner` rather than constructing it."""

    def __init__(self) -> None:
        start_up()
        python_sigint = signal.getsignal(signal.SIGINT)
        if python_sigint is signal.default_int_handler:
            python_sigint = interrupt_handler
        with _private_start_folder():
            self._ng = _shared_class().new_instance()
        # libngspice installs its own SIGINT handler when it starts, which swallowed Ctrl-C;
        # Python's comes back (analyses run in ngspice's background thread, see _analysis).
        if threading.current_thread() is threading.main_thread() and python_sigint is not None:
            signal.signal(signal.SIGINT, python_sigint)
        self._ng.exec_command("set num_threads=1")
        self.limits = RunLimits()
        """Time and memory limits of each analysis (set by the sweep's worker)."""
        self._log: list[str] = []
        self._runs = count()
        self._current_deck: str | None = None
        self.loads = 0
        """How many decks this runner has parsed (benchmarks report it)."""
        self.unusable: str | None = None
        """Why this process's libngspice cannot run again (a fatal error while parsing a
        deck, e.g. an undefined parameter: ngspice then "cannot recover and awaits to be
        detached"), or None."""
        self._run_root = Path(
            os.environ.get("GAINCELL_RUN_DIR", Path(tempfile.gettempdir()) / "gaincell-runs")
        )
        self._work = Path(tempfile.mkdtemp(prefix="gaincell-ngspice-work-"))
        """ngspice's working folder while it loads and simulates: it writes files there (a
        BSIM4 model check's warnings, ``bsim4v5.out``), never into the user's folder."""
        weakref.finalize(self, shutil.rmtree, self._work, True)
        self.version = self._read_version()

    def _read_version(self) -> str:
        self._ng.clear_output()
        self._ng.exec_command("version -s")
        match = re.search(r"ngspice-(\d+[\w.+-]*)", self._ng.stdout)
        return f"ngspice-{match.group(1)}" if match else "ngspice-unknown"

    # -- log handling -------------------------------------------------------------------
    def _take_output(self) -> tuple[str, str]:
        stdout, stderr = self._ng.stdout, self._ng.stderr
        self._ng.clear_output()
        return stdout, stderr

    def _fail(
        self,
        reason: str,
        deck: str,
        run_dir: Path,
        stdout: str,
        stderr: str,
        kind: type[SpiceError] = SpiceError,
    ) -> SpiceError:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "deck.sp").write_text(deck)
        (run_dir / "ngspice.log").write_text(stdout + "\n--- stderr ---\n" + stderr)
        self._log.clear()
        return kind(reason, deck=deck, stdout=stdout, stderr=stderr, run_dir=run_dir)

    @staticmethod
    def _error_lines(text: str) -> list[str]:
        return [
            line.strip()
            for line in text.splitlines()
            if _ERROR_LINE.search(line) and not _BENIGN_LINE.search(line)
        ]

    # -- circuit lifetime ----------------------------------------------------------------
    @contextmanager
    def loaded(
        self, deck: str, *, keep_run_dir: bool = False, reuse: bool = False
    ) -> Iterator[LoadedCircuit]:
        """Load ``deck`` (netlist text with models; analyses are run with
        :meth:`LoadedCircuit.command`) and yield it.

        Afterwards the circuit is removed (PySpice 1.5 leaks memory otherwise), unless
        ``reuse`` is set: then it stays loaded, its plots are freed, and the next ``loaded``
        call with the same deck skips parsing the models again. At most one circuit is held.
        """
        run_dir = self._run_root / f"run-{os.getpid()}-{next(self._runs)}"
        if self.unusable is not None:
            raise SpiceError(
                f"libngspice stopped after a fatal error in an earlier deck ({self.unusable}); "
                "this process cannot simulate again: start a new one",
                deck=deck,
            )
        if keep_run_dir:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "deck.sp").write_text(deck)
        if not (reuse and self._current_deck == deck):
            self._remove_circuit()
            self._load(deck, run_dir)
        failed = True
        try:
            yield LoadedCircuit(self, deck, run_dir)
            failed = False
        finally:
            if reuse and not failed:
                self._ng.exec_command("destroy all")
                self._ng.clear_output()
            else:
                self._remove_circuit()
            if keep_run_dir:
                (run_dir / "ngspice.log").write_text("\n".join(self._log))
            self._log.clear()

    @contextmanager
    def _only_used_model_bins(self) -> Iterator[None]:
        """Parse decks with ngspice's ``ngbehavior=hs`` for the duration of the block.

        The sky130 MOSFETs are subcircuits holding every size bin's model card (~60 per device);
        by default ngspice copies them all for every instance: a 64-row column then takes ~10 s
        and ~1.5 GB to load, a 16 x 16 tile minutes and many GB. In ``hs`` mode ngspice keeps
        only the bin each instance uses (8 x 3 tile: 2.3 s / 0.4 GB instead of 22 s / 1.4 GB) with
        identical results (checked on whole columns and on the shipped characterizations).
        ngbehavior is read when a deck is loaded, so it is restored afterwards: the
        interpreter's other commands see ngspice's defaults.
        """
        ng = self._ng
        ng.clear_output()
        ng.exec_command("set")
        listed = ng.stdout
        ng.clear_output()
        previous = next(
            (line.split(None, 1) for line in listed.splitlines() if line.startswith("ngbehavior")),
            None,
        )
        ng.exec_command("set ngbehavior=hs")
        try:
            yield
        finally:
            # No clear_output here: the load's own output is read for errors afterwards.
            if previous is None or len(previous) < 2:
                ng.exec_command("unset ngbehavior")
            else:
                ng.exec_command(f"set ngbehavior={previous[1].strip()}")

    @contextmanager
    def _in_work_folder(self) -> Iterator[None]:
        """Run the block from :attr:`_work`, then give the process its folder back."""
        cwd = os.getcwd()
        os.chdir(self._work)
        try:
            yield
        finally:
            os.chdir(cwd)

    def _load(self, deck: str, run_dir: Path) -> None:
        self._ng.clear_output()
        lines = [line for line in deck.splitlines() if line.strip()]
        if not lines or not lines[-1].strip().lower().startswith(".end"):
            lines.append(".end")
        try:
            # Every deck parses keeping only the sky130 size bins its instances use.
            with self._only_used_model_bins(), _foreground_call(), self._in_work_folder():
                self._ng.load_circuit("\n".join(lines))
            load_failed = None
        except Exception as error:  # PySpice raises NameError on a non-zero return code
            load_failed = f"deck did not load ({error})"
        stdout, stderr = self._take_output()
        errors = self._error_lines(stdout + "\n" + stderr)
        if _FATAL.search(stdout + "\n" + stderr):
            # ngspice's fatal parse errors leave the shared library unusable for good.
            self.unusable = errors[0] if errors else "fatal error in ngspice"
            raise self._fail(
                f"{self.unusable}: a fatal ngspice error; libngspice cannot be used again in "
                "this process",
                deck,
                run_dir,
                stdout,
                stderr,
            )
        if load_failed or errors or not self._circuit_present():
            reason = load_failed or (errors[0] if errors else "no circuit after loading the deck")
            self._remove_circuit()
            raise self._fail(reason, deck, run_dir, stdout, stderr)
        self._current_deck = deck
        self.loads += 1

    def _circuit_present(self) -> bool:
        self._ng.exec_command("listing")
        present = bool(self._ng.stdout.strip())
        self._ng.clear_output()
        return present

    def _remove_circuit(self) -> None:
        self._current_deck = None
        self._ng.exec_command("destroy all")
        self._ng.exec_command("remcirc")
        self._ng.clear_output()

    @contextmanager
    def limited(self, limits: RunLimits) -> Iterator[None]:
        """Apply ``limits`` to every analysis run in the block."""
        saved, self.limits = self.limits, limits
        try:
            yield
        finally:
            self.limits = saved

    def _halt(self) -> bool:
        """Stop the background analysis; False if ngspice did not stop."""
        self._ng._ngspice_shared.ngSpice_Command(b"bg_halt")
        return not self._ng._ngspice_shared.ngSpice_running()

    def _analysis(self, command: str) -> str | None:
        """Run an analysis in ngspice's background thread and wait for it; Python's signal
        handlers run meanwhile (Ctrl-C, SIGTERM halt ngspice and propagate). Returns the reason
        when a limit stopped it."""
        ng, limits = self._ng, self.limits
        ng.background_done.clear()
        ng._ngspice_shared.ngSpice_Command(("bg_" + command).encode("ascii"))
        started = time.monotonic()
        exceeded = None
        try:
            while not ng.background_done.wait(0.05):
                if limits.timeout is not None and time.monotonic() - started > limits.timeout:
                    exceeded = f"timed out after {limits.timeout:g} s"
                elif limits.max_memory is not None and resident_bytes() > limits.max_memory:
                    exceeded = f"memory above {limits.max_memory / 2**20:.0f} MB"
                if exceeded:
                    break
        except BaseException:
            self._halt()
            raise
        if exceeded:
            if not self._halt():
                # ngspice ignores the halt: this process cannot be used again.
                os._exit(HALT_FAILED_EXIT)
            return exceeded
        ng._ngspice_shared.ngSpice_Command(b"bg_halt")  # joins the finished thread
        return None

    def _command(self, command: str, deck: str, run_dir: Path) -> str:
        self._ng.clear_output()
        with self._in_work_folder():
            if command.split(None, 1)[0].lower() in ANALYSES:
                # Every caller reads an analysis's vectors before the next one; ngspice would
                # keep every plot (a step characterization's 300 transients at 10 ps on one
                # circuit grew its worker past the 2 GB limit).
                self._ng.exec_command("destroy all")
                exceeded = self._analysis(command)
                rc = 0
            else:
                exceeded = None
                self._ng.exec_command(command)
                rc = getattr(self._ng, "last_rc", 0)
        stdout, stderr = self._take_output()
        if exceeded:
            self._log.append(f"> {command}\n{stdout}\n{stderr}")
            # The circuit stays loaded (a new analysis starts afresh); the halted run's
            # vectors are freed.
            self._ng.exec_command("destroy all")
            self._ng.clear_output()
            raise self._fail(
                f"{command}: {exceeded}", deck, run_dir, stdout, stderr, SpiceLimitError
            )
        self._log.append(f"> {command}\n{stdout}\n{stderr}")
        errors = self._error_lines(stdout + "\n" + stderr)
        if rc or errors:
            reason = errors[0] if errors else f"command {command!r} returned {rc}"
            raise self._fail(f"{command}: {reason}", deck, run_dir, stdout, stderr)
        return stdout

    def _vectors(self, names: Sequence[str], deck: str, run_dir: Path) -> dict[str, np.ndarray]:
        plot = self._ng.last_plot
        out: dict[str, np.ndarray] = {}
        for name in names:
            values = self._get_vector(f"{plot}.{name}")
            if values is None:
                raise self._fail(f"no vector {name!r} in plot {plot}", deck, run_dir, "", "")
            out[name] = values
        return out

    def _get_vector(self, full_name: str) -> np.ndarray | None:
        from PySpice.Spice.NgSpice.Shared import ffi

        info = self._ng._ngspice_shared.ngGet_Vec_Info(full_name.encode("utf8"))
        if info == ffi.NULL:
            return None
        length = info.v_length
        if info.v_realdata != ffi.NULL:
            buffer = ffi.buffer(info.v_realdata, length * 8)
            return np.frombuffer(buffer, dtype=np.float64).copy()
        if info.v_compdata != ffi.NULL:
            buffer = ffi.buffer(info.v_compdata, length * 16)
            return np.frombuffer(buffer, dtype=np.complex128).copy().real
        return None
