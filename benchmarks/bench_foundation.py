"""Foundation benchmarks: deck load time, multiplier sweep throughput and parallel efficiency,
and the overhead of the Python path over plain ``ngspice -b`` on the same deck.

Run: ``.venv/bin/python benchmarks/bench_foundation.py`` (about two minutes on 2 cores).
Prints a Markdown table and writes ``benchmarks/results/foundation.json``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from gaincell.characterize import Axis, SweepSpec
from gaincell.characterize.parallel import resolve_jobs
from gaincell.characterize.sweep import simulate_spec
from gaincell.circuits.netlist import assemble_deck, load_netlist
from gaincell.circuits.pdk import build_model_deck, full_library_deck
from gaincell.circuits.runner import get_runner

RESULTS = Path(__file__).resolve().parent / "results"
PROBE = "\nvprobe probe 0 0.9\nrprobe probe 0 1k\n.end\n"


def deck_load_seconds(repeats: int = 5) -> dict[str, float]:
    """Parse time of a deck holding nfet_01v8 and pfet_01v8: trimmed versus the whole library."""
    runner = get_runner()
    trimmed = "* load\n" + build_model_deck(["nfet_01v8", "pfet_01v8"], "tt").text + PROBE
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with runner.loaded(trimmed):
            pass
        times.append(time.perf_counter() - started)
    whole = "* load\n" + full_library_deck("tt").text + PROBE
    started = time.perf_counter()
    with runner.loaded(whole):
        pass
    whole_seconds = time.perf_counter() - started
    return {"trimmed_s": statistics.median(times), "whole_library_s": whole_seconds}


def sweep_throughput(spec: SweepSpec, jobs: int) -> dict[str, float]:
    """Points per second of ``simulate_spec``; the worker pool is warmed first so that process
    start-up (paid once per session) is reported separately."""
    cold_started = time.perf_counter()
    simulate_spec(
        SweepSpec(axes={"v_in": Axis(0, 1.8, 3), "v_store": Axis(0.45, 1.35, 9)}),
        jobs=jobs,
        progress=False,
    )
    warm_up = time.perf_counter() - cold_started
    started = time.perf_counter()
    _, report = simulate_spec(spec, jobs=jobs, progress=False)
    seconds = time.perf_counter() - started
    loads = sum(t.load_seconds for t in report.tasks)
    simulate = sum(t.simulate_seconds for t in report.tasks)
    return {
        "jobs": jobs,
        "points": spec.points,
        "seconds": seconds,
        "points_per_s": spec.points / seconds,
        "pool_start_s": warm_up,
        "deck_load_s_total": loads,
        "simulate_s_total": simulate,
        "tasks": len(report.tasks),
    }


def python_overhead(spec: SweepSpec) -> dict[str, float]:
    """One corner, one temperature, the whole grid: plain ``ngspice -b`` on the deck that
    ``gaincell deck`` prints versus (a) the in-process Python path (deck build, load, dc,
    vectors into numpy) and (b) the whole CLI in a fresh interpreter, HDF5 file included."""
    from gaincell.characterize.multiplier import MultiplierCharacterization

    characterization = MultiplierCharacterization()
    netlists = [load_netlist(n) for n in characterization.netlists]
    control = characterization.standalone_control(spec)
    deck = assemble_deck(netlists, "tt", temperature=27.0, control=control)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "deck.sp").write_text(deck.text)
        plain = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                ["ngspice", "-b", "deck.sp"], cwd=folder, check=True, capture_output=True
            )
            plain.append(time.perf_counter() - started)
        in_process = []
        for _ in range(3):
            started = time.perf_counter()
            simulate_spec(spec, jobs=1, progress=False)
            in_process.append(time.perf_counter() - started)
        cli = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gaincell",
                    "characterize",
                    "multiplier",
                    "--corners",
                    "tt",
                    "--temps",
                    "27",
                    "--v-in",
                    f"{spec.v_in.start}:{spec.v_in.stop}:{spec.v_in.points}",
                    "--v-store",
                    f"{spec.v_store.start}:{spec.v_store.stop}:{spec.v_store.points}",
                    "--jobs",
                    "1",
                    "--quiet",
                    "--overwrite",  # the same file each repetition
                    "--out",
                    str(Path(folder) / "o.h5"),
                ],
                check=True,
                capture_output=True,
            )
            cli.append(time.perf_counter() - started)
    plain_s, in_s, cli_s = (statistics.median(x) for x in (plain, in_process, cli))
    return {
        "points": spec.points,
        "plain_ngspice_s": plain_s,
        "python_in_process_s": in_s,
        "python_cli_s": cli_s,
        "in_process_overhead": in_s / plain_s - 1,
        "cli_overhead": cli_s / plain_s - 1,
    }


def main() -> None:
    cores = resolve_jobs(-1)
    big = SweepSpec.from_dict(
        SweepSpec.from_toml("multiplier_sky130").to_dict()
        | {"axes": {"v_in": Axis(0.0, 1.8, 91), "v_store": Axis(0.45, 1.35, 361)}}
    )
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "ngspice": get_runner().version,
        "deck_load": deck_load_seconds(),
        "sweep_jobs1": sweep_throughput(big, 1),
        "sweep_jobs_all": sweep_throughput(big, cores),
        "overhead": python_overhead(
            SweepSpec(axes={"v_in": Axis(0.0, 1.8, 181), "v_store": Axis(0.45, 1.35, 901)})
        ),
    }
    one, many = results["sweep_jobs1"], results["sweep_jobs_all"]
    results["parallel_efficiency"] = one["seconds"] / (many["seconds"] * cores)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "foundation.json").write_text(json.dumps(results, indent=2))
    load, over = results["deck_load"], results["overhead"]
    print(f"machine: {results['machine']}; {results['ngspice']}; {results['date']}")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| deck load, nfet+pfet trimmed | {load['trimmed_s'] * 1e3:.0f} ms | < 500 ms |")
    print(f"| deck load, whole sky130.lib.spice | {load['whole_library_s']:.1f} s | (reference) |")
    print(f"| load speed-up | {load['whole_library_s'] / load['trimmed_s']:.0f}x | |")
    for row in (one, many):
        print(
            f"| sweep {row['points']} points, jobs={row['jobs']} | {row['seconds']:.2f} s, "
            f"{row['points_per_s']:.3g} points/s | |"
        )
    print(f"| parallel efficiency, jobs={cores} | {results['parallel_efficiency']:.0%} | >= 85 % |")
    print(f"| worker pool start (once per session) | {many['pool_start_s']:.2f} s | |")
    print(f"| plain ngspice -b, {over['points']} points | {over['plain_ngspice_s']:.2f} s | |")
    print(
        f"| Python path in process | {over['python_in_process_s']:.2f} s "
        f"({over['in_process_overhead']:+.0%}) | <= +15 % |"
    )
    print(
        f"| whole CLI, fresh interpreter, HDF5 written | {over['python_cli_s']:.2f} s "
        f"({over['cli_overhead']:+.0%}) | |"
    )


if __name__ == "__main__":
    main()
