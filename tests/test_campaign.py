"""Campaigns that survive: kill -9 and resume, Ctrl-C and SIGTERM, hung and crashing points,
worker recycling, and the Dask backend on a real LocalCluster (all with real ngspice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.parallel import PoolOptions, WorkerLost, imap_unordered, local_cluster
from gaincell.characterize.sweep import simulate_spec
from gaincell.circuits.runner import RunLimits

REPO = Path(__file__).resolve().parent.parent
GAINCELL = [sys.executable, "-m", "gaincell"]
# Ten blocks of a few hundred ms each on 2 workers: long enough to interrupt part way.
CAMPAIGN = [
    "characterize",
    "multiplier",
    "--corners",
    "tt,ss,ff,sf,fs",
    "--temps",
    "-40,27,85,125",
    "--v-store",
    "0.45:1.35:31",
    "--jobs",
    "2",
    "--quiet",
]


def _datasets(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path) as h5:
        return {k: v[()] for k, v in h5.items() if isinstance(v, h5py.Dataset)}


def _same(a: Path, b: Path) -> bool:
    first, second = _datasets(a), _datasets(b)
    return first.keys() == second.keys() and all(
        np.array_equal(first[k], second[k], equal_nan=True) for k in first
    )


def _start_and_stop(folder: Path, out: str, how: signal.Signals) -> tuple[int, str, set[int]]:
    """Start the campaign, let it commit two blocks, send ``how``; return its exit code,
    stderr and the pids of the workers that committed."""
    process = subprocess.Popen(
        [*GAINCELL, *CAMPAIGN, "--out", out], cwd=folder, stderr=subprocess.PIPE, text=True
    )
    journal = folder / f"{out}.journal"
    deadline = time.monotonic() + 120
    while len(list(journal.glob("block-*.h5"))) < 2:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(how)
    code = process.wait(60)
    pids = set()
    for block in journal.glob("block-*.h5"):
        with h5py.File(block) as h5:
            pids.add(int(h5.attrs["pid"]))
    return code, process.stderr.read(), pids


def _gone(pids: set[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.add(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("whole")
    subprocess.run([*GAINCELL, *CAMPAIGN, "--out", "whole.h5"], cwd=folder, check=True)
    return folder / "whole.h5"


@pytest.mark.spice
def test_kill_9_part_way_then_resume_equals_an_uninterrupted_run(tmp_path, uninterrupted):
    code, _, pids = _start_and_stop(tmp_path, "run.h5", signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert _gone(pids), "workers outlived their killed parent"
    assert not (tmp_path / "run.h5").exists()
    # Without --resume the journal is not silently discarded or reused.
    refused = subprocess.run(
        [*GAINCELL, *CAMPAIGN, "--out", "run.h5"], cwd=tmp_path, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "--resume" in refused.stderr
    # A damaged committed block fails its checksum and is simply run again.
    block = sorted((tmp_path / "run.h5.journal").glob("block-*.h5"))[0]
    with h5py.File(block, "r") as h5:
        offset = h5["i_out"].id.get_offset()
    with open(block, "r+b") as handle:
        handle.seek(offset + 8)
        byte = handle.read(1)
        handle.seek(offset + 8)
        handle.write(bytes([byte[0] ^ 0xFF]))
    subprocess.run([*GAINCELL, *CAMPAIGN, "--out", "run.h5", "--resume"], cwd=tmp_path, check=True)
    assert _same(tmp_path / "run.h5", uninterrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]  # journal gone, no temps


@pytest.mark.spice
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_every_worker_and_print_the_resume_command(
    tmp_path, uninterrupted, how
):
    code, stderr, pids = _start_and_stop(tmp_path, "run.h5", how)
    assert code == 130, stderr
    assert _gone(pids, within=2.0)
    command = f"gaincell {' '.join(CAMPAIGN)} --out run.h5 --resume"
    assert command in stderr
    assert len(list((tmp_path / "run.h5.journal").glob("block-*.h5"))) >= 2
    subprocess.run([*GAINCELL, *command.split()[1:]], cwd=tmp_path, check=True)
    assert _same(tmp_path / "run.h5", uninterrupted)


@pytest.mark.spice
def test_ctrl_c_stops_a_serial_run_inside_ngspice(tmp_path):
    """--jobs 1 runs ngspice in this process: Ctrl-C used to be swallowed by its callbacks."""
    args = [*CAMPAIGN[:-3], "--jobs", "1", "--quiet"]
    process = subprocess.Popen(
        [*GAINCELL, *args, "--out", "serial.h5"], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not list((tmp_path / "serial.h5.journal").glob("block-*.h5")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 130
    stderr = process.stderr.read()
    assert "resume with" in stderr and "Exception ignored" not in stderr


def _slow_first_block(original):
    def simulate(self, circuit, spec, task):
        if task.start == 0:
            circuit.command("tran 1f 1u")  # far longer than the limit below
        return original(self, circuit, spec, task)

    return simulate


@pytest.mark.spice
def test_a_hung_point_is_halted_stored_as_nan_with_its_reason_and_the_rest_goes_on(
    monkeypatch, small_spec
):
    from gaincell.characterize.multiplier import MultiplierCharacterization

    reference, _ = simulate_spec(small_spec, jobs=1, progress=False)
    monkeypatch.setattr(
        MultiplierCharacterization,
        "simulate",
        _slow_first_block(MultiplierCharacterization.simulate),
    )
    started = time.monotonic()
    arrays, report = simulate_spec(
        small_spec, jobs=1, progress=False, limits=RunLimits(timeout=1.0)
    )
    assert time.monotonic() - started < 30
    failures = [f for task in report.tasks for f in task.failures]
    assert failures and all("timed out after 1 s" in f["reason"] for f in failures)
    hung = np.isnan(arrays["i_out"]).any(axis=(1, 3))  # (corner, v_store)
    assert hung[:, 0].all() and not hung.all()
    ok = ~np.isnan(arrays["i_out"])
    np.testing.assert_allclose(arrays["i_out"][ok], reference["i_out"][ok], rtol=1e-9, atol=1e-18)


@pytest.mark.spice
@pytest.mark.slow
def test_runaway_memory_is_halted():
    """The case from the issue: the finest step over the longest window on relu-c2p grows
    past gigabytes; it is halted at the limit, stored as NaN with the reason."""
    from gaincell.circuits.runner import get_runner, resident_bytes

    get_runner()
    limit = resident_bytes() + 200 * 2**20  # this process already holds the test session
    spec = SweepSpec(
        circuit="relu-c2p",
        axes={"charge": Axis(1e-13, 2e-13, 2)},
        settings={"time_step": 1e-13, "t_stop": 1e-6},
    )
    started = time.monotonic()
    arrays, report = simulate_spec(spec, progress=False, limits=RunLimits(max_memory=limit))
    assert time.monotonic() - started < 120
    failures = [f for task in report.tasks for f in task.failures]
    assert len(failures) == 2 and all("memory above" in f["reason"] for f in failures)
    assert np.isnan(arrays["width"]).all()
    assert resident_bytes() < limit  # the halted runs' vectors were freed


def _crash_on_three(value: int) -> int:
    if value == 3:
        os.kill(os.getpid(), signal.SIGSEGV)
    return value * 10


def _pid(_: int) -> int:
    return os.getpid()


def test_a_crashing_task_is_reported_lost_and_its_worker_replaced():
    results = dict(imap_unordered(_crash_on_three, [(i,) for i in range(8)], jobs=2))
    lost = results.pop(3)
    assert isinstance(lost, WorkerLost) and "SIGSEGV" in lost.reason
    assert results == {i: i * 10 for i in range(8) if i != 3}


def test_workers_are_recycled_after_a_set_number_of_tasks():
    options = PoolOptions(recycle_after=2)
    pids = [pid for _, pid in imap_unordered(_pid, [(i,) for i in range(8)], 2, options)]
    assert max(pids.count(pid) for pid in pids) == 2  # no process runs more than 2 tasks
    assert len(set(pids)) >= 4


def test_a_lost_block_is_rerun_point_by_point(monkeypatch, small_spec):
    """Only the point that kills its worker ends up NaN, not its whole block."""
    import gaincell.characterize.sweep as sweep

    def fake_pool(function, arguments, jobs, options):
        for index, (spec_json, task, limits) in enumerate(arguments):
            if task.corner == "tt" and task.start <= 4 < task.stop:
                yield index, WorkerLost(index, "worker killed by SIGSEGV")
            else:
                yield index, function(spec_json, task, limits)

    monkeypatch.setattr(sweep, "imap_unordered", fake_pool)
    arrays, report = simulate_spec(small_spec, jobs=2, progress=False)
    nan = np.isnan(arrays["i_out"]).all(axis=(1, 3))  # (corner, v_store)
    assert nan[0].tolist() == [i == 4 for i in range(small_spec.v_store.points)]
    assert not nan[1].any()
    (failure,) = [f for task in report.tasks for f in task.failures]
    assert failure["reason"] == "worker killed by SIGSEGV" and failure["corner"] == "tt"


@pytest.mark.spice
def test_dask_local_cluster_gives_the_same_file_as_local_workers(tmp_path, small_spec):
    distributed = pytest.importorskip("distributed")
    from gaincell.characterize.sweep import run_sweep

    run_sweep(small_spec, tmp_path / "local.h5", jobs=2, progress=False)
    with local_cluster(2) as cluster:  # a real LocalCluster: 2 processes x 1 thread
        report = run_sweep(
            small_spec,
            tmp_path / "dask.h5",
            jobs=2,
            progress=False,
            options=PoolOptions("dask", cluster.scheduler_address),
        )
        with distributed.Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
    assert {task.pid for task in report.tasks} == worker_pids  # both workers, none of ours
    assert os.getpid() not in worker_pids
    assert _same(tmp_path / "local.h5", tmp_path / "dask.h5")


def test_job_file_run_table_is_type_checked(tmp_path):
    from gaincell.characterize.axes import SpecError
    from gaincell.characterize.spec import run_table

    good = tmp_path / "good.toml"
    good.write_text(
        '[sweep]\ncircuit = "multiplier"\n[run]\nbackend = "dask"\njobs = 2\ntimeout = 30\n'
    )
    assert run_table(good) == {"backend": "dask", "jobs": 2, "timeout": 30}
    for bad, message in (
        ('jobs = "2"', "jobs must be"),
        ("timeout = true", "timeout must be"),
        ("workers = 2", "unknown key 'workers'"),
    ):
        path = tmp_path / "bad.toml"
        path.write_text(f'[sweep]\ncircuit = "multiplier"\n[run]\n{bad}\n')
        with pytest.raises(SpecError, match=message):
            run_table(path)
